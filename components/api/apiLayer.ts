/**
 * The Proxmox API layer (issue #4): every API object of the site through one
 * explicit `@muhlba91/pulumi-proxmoxve` provider, ordered after the host
 * bootstrap (docs/design.md §3):
 *
 *   cluster formed + every pool ─▶ storage ─▶ VMs ─▶ replication ─▶ HA resources ─▶ HA rules
 *   node i member ─▶ node i's VLANs/bridges            ▲ QDevice, watchdogs ┘
 *   cluster formed ─▶ cluster options, alerts, SDN zone/vnet ─▶ SDN apply,
 *                     firewall IP sets + rules ─▶ firewall enable
 */
import * as pulumi from "@pulumi/pulumi";
import * as proxmox from "@muhlba91/pulumi-proxmoxve";
import type * as command from "@pulumi/command";
import type { BootstrapStages } from "../hosts/bootstrap";
import { firstNode, guestSid, replicationJobs, type Site } from "../model";
import { scriptCommand, type SshCredentials } from "../remote";
import { isDown } from "../access";
import { childOpts, clusterFormed, defined, type ApiContext } from "./context";
import { createFirewall, type Firewall } from "./firewall";
import { createGuests } from "./guests";
import { createHaRules, siteHaPlan } from "./rules";
import { createHostNetworks, createSdn, type HostNetworks, type Sdn } from "./network";

export interface ApiLayerArgs {
    readonly site: Site;
    /** `user@realm!tokenid=uuid`, secret. */
    readonly apiToken: pulumi.Output<string>;
    /** Steps the provider waits for before its first call (the token's user, role and ACLs). */
    readonly apiReady?: readonly pulumi.Resource[];
    /** For the few API gaps that need `pvesh` over SSH. */
    readonly ssh: SshCredentials;
    readonly after: BootstrapStages;
}

/** Plain facts about what this layer declares, for the stack outputs. */
export interface ApiSummary {
    readonly storage: { readonly id: string; readonly pool: string; readonly nodes: readonly string[]; readonly thinProvision: boolean };
    readonly guests: readonly {
        readonly vmid: number;
        readonly name: string;
        /** vm (QEMU) or ct (LXC container). */
        readonly type: "vm" | "ct";
        readonly homeNode: string;
        readonly ha: boolean;
        readonly protect: boolean;
        readonly replicateTo: readonly string[];
    }[];
    readonly replicationJobs: readonly {
        readonly id: string;
        readonly vmid: number;
        readonly target: string;
        readonly schedule: string;
        readonly rateMBps?: number;
        /** Longest gap between two runs: the data a failover may lose. */
        readonly worstCaseRpoMinutes: number;
    }[];
    readonly ha: {
        readonly resources: readonly {
            readonly sid: string;
            readonly state: string;
            readonly maxRestart: number;
            readonly maxRelocate: number;
            readonly failback: boolean;
        }[];
        readonly rules: readonly {
            readonly id: string;
            readonly type: "node-affinity" | "resource-affinity";
            readonly resources: readonly string[];
            readonly nodes?: Readonly<Record<string, number>>;
            readonly strict?: boolean;
            readonly affinity?: "positive" | "negative";
        }[];
    };
}

/** Names of the notification entries scripts/notifications.sh maintains. */
export const NOTIFY_ENDPOINT = "proxmox-ha-mail";
export const NOTIFY_MATCHER = "proxmox-ha-alerts";

/** MiB/s (the stack's unit) → KiB/s (datacenter.cfg bwlimit's unit). */
export function mibToKib(mib: number | undefined): number | undefined {
    return mib === undefined ? undefined : Math.round(mib * 1024);
}

export class ApiLayer extends pulumi.ComponentResource {
    readonly provider: proxmox.Provider;
    readonly storage: proxmox.storage.Zfspool;
    readonly networks: HostNetworks;
    readonly sdn?: Sdn;
    readonly clusterOptions: proxmox.cluster.Options;
    /** Fencing/replication e-mail routing (only with alerts.email). */
    readonly notifications?: command.remote.Command;
    readonly firewall?: Firewall;
    readonly vms: ReadonlyMap<number, proxmox.VmLegacy>;
    readonly containers: ReadonlyMap<number, proxmox.ContainerLegacy>;
    /** Installer ISOs, cloud images and container templates, by node and volume id. */
    readonly media: ReadonlyMap<string, proxmox.download.File>;
    readonly replications: ReadonlyMap<string, proxmox.Replication>;
    readonly haResources: ReadonlyMap<number, proxmox.Haresource>;
    readonly haRules: ReadonlyMap<string, proxmox.Harule>;
    /** Waits until the HA manager lists every node, before resource-affinity rules (rules.ts). */
    readonly haManagerReady?: command.remote.Command;
    readonly summary: ApiSummary;

    constructor(name: string, args: ApiLayerArgs, opts?: pulumi.ComponentResourceOptions) {
        super("proxmox-ha:api:ApiLayer", name, {}, opts);
        const { site, after } = args;
        const first = firstNode(site);

        // One explicit provider; every resource below names it. No `ssh`
        // block: the provider needs SSH only for snippet/file uploads, disk
        // imports from local files and container idmaps (provider docs, "When
        // is SSH Required?"), none of which this layer uses.
        //
        // The endpoint is site.api's node (components/access.ts: the first node
        // unless the stack's apiNode or PROXMOX_HA_API_NODE names a surviving
        // one). With verified TLS the provider, and so every resource that uses
        // it, waits until that node's pveproxy serves the stack's certificate:
        // the provider verifies against the runner's trust store only.
        const apiNode = site.nodes.findIndex((n) => n.name === site.api.node);
        const certificate = after.apiCertificates?.[apiNode];
        this.provider = new proxmox.Provider(
            `${name}-provider`,
            {
                endpoint: site.api.endpoint,
                apiToken: args.apiToken,
                insecure: site.api.tls === "insecure",
            },
            { parent: this, dependsOn: [...(certificate ? [certificate] : []), ...(args.apiReady ?? [])] },
        );
        const ctx: ApiContext = { name, site, parent: this, provider: this.provider, after };
        const formed = clusterFormed(ctx);

        // Storage: /etc/pve/storage.cfg is cluster-wide, and a joining node's
        // /etc/pve is replaced by the cluster's, so one entry reaches every
        // node whenever it is written; a join needs nothing from it. It is
        // still written only after the last join: while a node joins, the
        // cluster briefly expects the new vote and the first node alone is not
        // quorate, and a write to /etc/pve in that window fails ("no quorum").
        // Adding the entry activates it on the API node, which needs that
        // node's pool, and guests on any node need theirs: every pool first.
        const nodeNames = site.nodes.map((n) => n.name);
        this.storage = new proxmox.storage.Zfspool(
            `${name}-storage`,
            defined({
                resourceId: site.storage.id,
                zfsPool: site.storage.zfsPath,
                contents: ["images", "rootdir"],
                thinProvision: site.storage.thinProvision,
                blocksize: site.storage.blocksize,
                nodes: nodeNames,
            }),
            childOpts(ctx, [...formed, ...after.pools]),
        );

        this.networks = createHostNetworks(ctx);
        this.sdn = createSdn(ctx, this.networks);

        // datacenter.cfg, cluster-wide: once the cluster is fully formed.
        const c = site.cluster;
        this.clusterOptions = new proxmox.cluster.Options(
            `${name}-cluster-options`,
            defined({
                migrationType: c.migrationType,
                migrationCidr: c.migrationNetwork,
                bandwidthLimitMigration: mibToKib(c.bandwidthLimitMBps.migration),
                bandwidthLimitRestore: mibToKib(c.bandwidthLimitMBps.restore),
                bandwidthLimitClone: mibToKib(c.bandwidthLimitMBps.clone),
                bandwidthLimitMove: mibToKib(c.bandwidthLimitMBps.move),
                bandwidthLimitDefault: mibToKib(c.bandwidthLimitMBps.default),
                haShutdownPolicy: c.haShutdownPolicy,
                crsHa: c.crs.ha,
                crsHaRebalanceOnStart: c.crs.rebalanceOnStart,
                // Sender of every notification mail (sendmail targets fall back to it).
                emailFrom: site.alerts.from,
                // `notify` is not set: datacenter.cfg documents it as "UNUSED -
                // Use datacenter notification settings instead" (see below).
            }),
            childOpts(ctx, formed),
        );

        // Alerts. The provider (8.6.0) has no resource for notification
        // endpoints or matchers, so an idempotent remote command on the first
        // node runs `pvesh` through scripts/notifications.sh.
        if (site.alerts.email !== undefined) {
            this.notifications = scriptCommand(
                `${name}-notifications`,
                {
                    host: first,
                    ssh: args.ssh,
                    script: "notifications",
                    args: [NOTIFY_ENDPOINT, NOTIFY_MATCHER, site.alerts.email],
                    down: isDown(site, first.name),
                },
                { parent: this, dependsOn: formed },
            );
        }

        this.firewall = createFirewall(ctx);

        const guests = createGuests(ctx, this.storage, this.networks, this.sdn);
        this.vms = guests.vms;
        this.containers = guests.containers;
        this.media = guests.media;
        this.replications = guests.replications;
        this.haResources = guests.haResources;
        const ha = createHaRules(ctx, guests.haResources, args.ssh);
        this.haRules = ha.rules;
        this.haManagerReady = ha.haManagerReady;

        this.summary = summarize(site);
        this.registerOutputs({ summary: this.summary });
    }
}

function summarize(site: Site): ApiSummary {
    const haGuests = site.guests.filter((g) => g.ha !== undefined);
    return {
        storage: {
            id: site.storage.id,
            pool: site.storage.zfsPath,
            nodes: site.nodes.map((n) => n.name),
            thinProvision: site.storage.thinProvision,
        },
        guests: site.guests.map((g) => ({
            vmid: g.vmid,
            name: g.name,
            type: g.type,
            homeNode: g.node,
            ha: g.ha !== undefined,
            protect: g.protect,
            replicateTo: [...g.replicateTo],
        })),
        replicationJobs: site.guests.flatMap((g) =>
            replicationJobs(site, g).map((j) =>
                defined({
                    id: j.id,
                    vmid: g.vmid,
                    target: j.target,
                    schedule: site.replication.schedule,
                    rateMBps: site.replication.rateMBps,
                    worstCaseRpoMinutes: site.replication.worstCaseRpoMinutes,
                }),
            ),
        ),
        ha: {
            resources: haGuests.map((g) => ({
                sid: guestSid(g),
                state: g.ha!.state,
                maxRestart: g.ha!.maxRestart,
                maxRelocate: g.ha!.maxRelocate,
                failback: g.ha!.failback,
            })),
            rules: siteHaPlan(site).map((r) =>
                r.type === "node-affinity"
                    ? { id: r.id, type: r.type, resources: [...r.resources], nodes: { ...r.nodes }, strict: r.strict }
                    : { id: r.id, type: r.type, resources: [...r.resources], affinity: r.affinity },
            ),
        },
    };
}
