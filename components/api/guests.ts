/**
 * Guests (VMs and containers), the media they need, their storage
 * replication jobs and HA resources (HA rules: rules.ts).
 */
import * as pulumi from "@pulumi/pulumi";
import * as proxmox from "@muhlba91/pulumi-proxmoxve";
import { guestMedia, guestSid, replicationJobs, type Site } from "../model";
import { containerArgs } from "./container";
import { childOpts, defined, membership, type ApiContext } from "./context";
import { createMedia, mediaKey } from "./media";
import { managedBridge, type HostNetworks, type Sdn } from "./network";
import { vmArgs } from "./vm";

export interface Guests {
    readonly vms: ReadonlyMap<number, proxmox.VmLegacy>;
    readonly containers: ReadonlyMap<number, proxmox.ContainerLegacy>;
    /** Key: node and volume id (media.ts `mediaKey`). */
    readonly media: ReadonlyMap<string, proxmox.download.File>;
    /** Key: job id `<vmid>-<n>` (model.ts replicationJobs). */
    readonly replications: ReadonlyMap<string, proxmox.Replication>;
    readonly haResources: ReadonlyMap<number, proxmox.Haresource>;
}

/** The HA resource id of the site's guest `vmid`: `vm:<vmid>` or `ct:<vmid>`. */
export function sid(site: Pick<Site, "guests">, vmid: number): string {
    const g = site.guests.find((x) => x.vmid === vmid);
    return guestSid(g ?? { type: "vm", vmid });
}

export function createGuests(ctx: ApiContext, storage: pulumi.Resource, networks: HostNetworks, sdn: Sdn | undefined): Guests {
    const { site, name } = ctx;
    const vms = new Map<number, proxmox.VmLegacy>();
    const containers = new Map<number, proxmox.ContainerLegacy>();
    const replications = new Map<string, proxmox.Replication>();
    const haResources = new Map<number, proxmox.Haresource>();

    // Watchdogs and the QDevice, for every HA resource: HA must never arm
    // fencing on a node without its watchdog, or on a two-node cluster whose
    // third vote is not there yet.
    const haPrerequisites = [ctx.after.qdevice, ...ctx.after.watchdogs];

    const media = createMedia(ctx);

    for (const g of site.guests) {
        // Proxmox VmLegacy, not the new Vm: in 8.6.0 `Vm` has no disks, network
        // devices, memory, agent, started or onBoot yet; VmLegacy covers all of them.
        const deps: (pulumi.Resource | undefined)[] = [storage, ...membership(ctx, g.node)];
        for (const nic of g.nics) {
            if (nic.bridge) deps.push(managedBridge(networks, g.node, nic.bridge));
            if (nic.vnet) deps.push(sdn?.apply);
        }
        // The media it boots or is created from, on every node they must be on.
        for (const { node, media: m } of guestMedia(g)) deps.push(media.get(mediaKey(node, m)));
        const opts = childOpts(ctx, deps, {
            protect: g.protect,
            // HA moves guests: after a failover nodeName differs and must
            // not plan a replacement (nodeName is create-only; the provider
            // reads the guest's current node back into state).
            ignoreChanges: ["nodeName"],
        });
        let vm: pulumi.Resource;
        if (g.type === "ct") {
            const ct = new proxmox.ContainerLegacy(`${name}-ct-${g.vmid}`, containerArgs(ctx, g), opts);
            containers.set(g.vmid, ct);
            vm = ct;
        } else {
            const v = new proxmox.VmLegacy(`${name}-vm-${g.vmid}`, vmArgs(ctx, g), opts);
            vms.set(g.vmid, v);
            vm = v;
        }

        const jobs = replicationJobs(site, g).map((job) => {
            const r = new proxmox.Replication(
                `${name}-replication-${job.id}`,
                defined({
                    resourceId: job.id,
                    type: "local",
                    target: job.target,
                    schedule: site.replication.schedule,
                    rate: site.replication.rateMBps,
                }),
                childOpts(ctx, [vm, ...membership(ctx, job.target)], {
                    // Removing a job removes its replicated volumes on the
                    // target (pvesr), so a protected guest protects its replicas.
                    protect: g.protect,
                    // Migration and HA recovery switch the job's direction
                    // (pve-guest-common: AbstractMigrate::switch_replication_job_target,
                    // and ReplicationState "fix jobs for stolen guest"): after a
                    // failover `target` is the old home node. That is Proxmox
                    // keeping the replica where it belongs, not drift; the job id
                    // (pinned, or derived from the node pair: model.ts) stays stable.
                    ignoreChanges: ["target"],
                }),
            );
            replications.set(job.id, r);
            return r;
        });

        if (g.ha) {
            // The HA resource and its rule are protected like the guest: a
            // guest removed from the stack while still protected fails its
            // `up` before HA lets go of it, instead of after (two-step
            // removal: protect: false, then remove; docs/operations.md).
            const ha = new proxmox.Haresource(
                `${name}-ha-${g.vmid}`,
                {
                    resourceId: guestSid(g),
                    type: g.type,
                    state: g.ha.state,
                    maxRestart: g.ha.maxRestart,
                    maxRelocate: g.ha.maxRelocate,
                    failback: g.ha.failback,
                },
                childOpts(ctx, [vm, ...jobs, ...haPrerequisites], { protect: g.protect }),
            );
            haResources.set(g.vmid, ha);
        }
    }

    return { vms, containers, media, replications, haResources };
}
