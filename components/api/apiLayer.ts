/**
 * The Proxmox API layer (issue #4): storage, networks, SDN, cluster options,
 * firewall, guests, replication, HA. Skeleton.
 */
import * as pulumi from "@pulumi/pulumi";
import type { Site } from "../model";
import type { BootstrapStages } from "../hosts/bootstrap";

export interface ApiLayerArgs {
    readonly site: Site;
    /** `user@realm!tokenid=uuid`, secret. */
    readonly apiToken: pulumi.Output<string>;
    /** For the few API gaps that need `pvesh` over SSH. */
    readonly sshPrivateKey: pulumi.Output<string>;
    readonly after: BootstrapStages;
}

export class ApiLayer extends pulumi.ComponentResource {
    constructor(name: string, args: ApiLayerArgs, opts?: pulumi.ComponentResourceOptions) {
        super("proxmox-ha:api:ApiLayer", name, {}, opts);
        void args;
        this.registerOutputs({});
    }
}
