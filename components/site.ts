/**
 * The whole site: host bootstrap over SSH, then the Proxmox API objects, then
 * (optionally) zrepl. Only true dependencies are edges: see docs/design.md §3.
 */
import * as pulumi from "@pulumi/pulumi";
import type { SiteSecrets } from "./config";
import { failureCases, guestRpos, quorumFacts } from "./facts";
import type { Site } from "./model";
import { HostBootstrap } from "./hosts/bootstrap";
import { ApiLayer } from "./api/apiLayer";
import { ZreplReplication } from "./zrepl/zrepl";

export interface ProxmoxSiteArgs {
    /** The validated site (see components/validate.ts). */
    readonly site: Site;
    readonly secrets: SiteSecrets;
}

export class ProxmoxSite extends pulumi.ComponentResource {
    readonly hosts: HostBootstrap;
    readonly api: ApiLayer;
    readonly zrepl?: ZreplReplication;
    /** Stack outputs, plain data computed from the stack plus the bootstrap's reboot report. */
    readonly summary: pulumi.Output<Record<string, unknown>>;

    constructor(name: string, args: ProxmoxSiteArgs, opts?: pulumi.ComponentResourceOptions) {
        super("proxmox-ha:index:Site", name, {}, opts);
        const { site, secrets } = args;

        this.hosts = new HostBootstrap(`${name}-hosts`, { site, secrets }, { parent: this });

        this.api = new ApiLayer(
            `${name}-api`,
            {
                site,
                // A preview with a read-only token uses it for every API read; otherwise the bootstrapped or given token.
                apiToken: secrets.previewApiToken ?? this.hosts.apiToken,
                apiReady: this.hosts.apiReady,
                ssh: secrets.ssh,
                after: this.hosts.stages,
            },
            { parent: this },
        );

        if (site.zrepl.enabled) {
            this.zrepl = new ZreplReplication(`${name}-zrepl`, { site, ssh: secrets.ssh, after: this.hosts.stages }, { parent: this });
        }

        const q = quorumFacts(site);
        const zreplCopies = this.zrepl ? this.zrepl.copies : pulumi.output([]);
        this.summary = pulumi.all([this.hosts.rebootRequired, zreplCopies]).apply(([rebootRequired, copies]): Record<string, unknown> => ({
            cluster: site.cluster.name,
            nodes: site.nodes.map((n) => ({ name: n.name, address: n.address, pool: n.zfs.pool, watchdog: n.watchdog })),
            // What the API layer declares: storage, guests with their home node,
            // replication jobs with worst-case RPO, HA resources and rules.
            ...this.api.summary,
            quorum: q,
            survives: failureCases(site).map((f) => ({ failure: f.failure, survives: f.survives })),
            rpo: guestRpos(site).map((r) => ({ vmid: r.vmid, worstCaseRpoMinutes: r.worstCaseRpoMinutes ?? null })),
            rebootRequired,
            zrepl: site.zrepl.enabled ? { enabled: true, copies } : { enabled: false },
        }));

        this.registerOutputs({ summary: this.summary });
    }
}
