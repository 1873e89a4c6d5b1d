/**
 * Host bootstrap over SSH (issue #3): everything the Proxmox API cannot do.
 * Skeleton: the stages the API layer waits for.
 */
import * as pulumi from "@pulumi/pulumi";
import type { SiteSecrets } from "../config";
import type { Site } from "../model";

/** What later layers wait for, by meaning. */
export interface BootstrapStages {
    /** One per node: the ZFS pool and dataset exist. */
    readonly pools: readonly pulumi.Resource[];
    /** One per node: the watchdog module is configured. */
    readonly watchdogs: readonly pulumi.Resource[];
    /**
     * Membership, index-aligned with `site.nodes`: `cluster[0]` creates the
     * cluster on the first node, `cluster[i]` is the step after which node i is
     * a member (its join). Joins run one at a time, in this order.
     */
    readonly cluster: readonly pulumi.Resource[];
    /** The QDevice gives its vote (absent on odd-sized clusters). */
    readonly qdevice?: pulumi.Resource;
}

export interface HostBootstrapArgs {
    readonly site: Site;
    readonly secrets: SiteSecrets;
}

export class HostBootstrap extends pulumi.ComponentResource {
    readonly stages: BootstrapStages;
    /** API token for the provider: from the stack secret, or bootstrapped (secret). */
    readonly apiToken: pulumi.Output<string>;
    /** Nodes whose configured watchdog module differs from the loaded one. */
    readonly rebootRequired: pulumi.Output<string[]>;

    constructor(name: string, args: HostBootstrapArgs, opts?: pulumi.ComponentResourceOptions) {
        super("proxmox-ha:hosts:HostBootstrap", name, {}, opts);
        this.stages = { pools: [], watchdogs: [], cluster: [] };
        this.apiToken = args.secrets.apiToken ?? pulumi.secret("");
        this.rebootRequired = pulumi.output([]);
        this.registerOutputs({ rebootRequired: this.rebootRequired });
    }
}
