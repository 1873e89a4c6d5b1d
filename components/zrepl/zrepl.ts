/**
 * Optional second replication path with zrepl (issue #5). Skeleton.
 */
import * as pulumi from "@pulumi/pulumi";
import type { Site } from "../model";
import type { BootstrapStages } from "../hosts/bootstrap";

export interface ZreplArgs {
    readonly site: Site;
    readonly sshPrivateKey: pulumi.Output<string>;
    readonly after: BootstrapStages;
}

export class ZreplReplication extends pulumi.ComponentResource {
    constructor(name: string, args: ZreplArgs, opts?: pulumi.ComponentResourceOptions) {
        super("proxmox-ha:zrepl:Zrepl", name, {}, opts);
        void args;
        this.registerOutputs({});
    }
}
