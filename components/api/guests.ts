/**
 * Guests, their storage replication jobs, HA resources and HA rules.
 */
import * as pulumi from "@pulumi/pulumi";
import * as proxmox from "@muhlba91/pulumi-proxmoxve";
import { replicationJobs, type Guest, type GuestDisk, type GuestNic } from "../model";
import { childOpts, defined, membership, type ApiContext } from "./context";
import { managedBridge, type HostNetworks, type Sdn } from "./network";

export interface Guests {
    readonly vms: ReadonlyMap<number, proxmox.VmLegacy>;
    /** Key: job id `<vmid>-<n>` (model.ts replicationJobs). */
    readonly replications: ReadonlyMap<string, proxmox.Replication>;
    readonly haResources: ReadonlyMap<number, proxmox.Haresource>;
    /** Key: rule id (`ha-guest-<vmid>` for node affinity, the stack's id for resource affinity). */
    readonly haRules: ReadonlyMap<string, proxmox.Harule>;
}

export const sid = (vmid: number) => `vm:${vmid}`;
export const nodeAffinityRuleId = (vmid: number) => `ha-guest-${vmid}`;

/**
 * A generic CPU model every node can provide, so HA can start (and live
 * migration can move) a guest on any node. x86-64-v2-AES is what the PVE
 * GUI proposes for new VMs; the API's own default (kvm64) lacks AES.
 */
const CPU_TYPE = "x86-64-v2-AES";

/**
 * How long a read waits for the QEMU guest agent to report addresses. The
 * provider waits this long on every refresh of a running VM whose agent is
 * not (yet) answering, e.g. while its OS is still being installed from the
 * ISO; its default of 15 minutes would stall every `pulumi up`. Nothing here
 * uses the reported addresses.
 */
const AGENT_TIMEOUT = "1m";

export function createGuests(ctx: ApiContext, storage: pulumi.Resource, networks: HostNetworks, sdn: Sdn | undefined): Guests {
    const { site, name } = ctx;
    const vms = new Map<number, proxmox.VmLegacy>();
    const replications = new Map<string, proxmox.Replication>();
    const haResources = new Map<number, proxmox.Haresource>();
    const haRules = new Map<string, proxmox.Harule>();

    // Watchdogs and the QDevice, for every HA resource: HA must never arm
    // fencing on a node without its watchdog, or on a two-node cluster whose
    // third vote is not there yet.
    const haPrerequisites = [ctx.after.qdevice, ...ctx.after.watchdogs];

    for (const g of site.guests) {
        // Proxmox VmLegacy, not the new Vm: in 8.6.0 `Vm` has no disks, network
        // devices, memory, agent, started or onBoot yet; VmLegacy covers all of them.
        const deps: (pulumi.Resource | undefined)[] = [storage, ...membership(ctx, g.node)];
        for (const nic of g.nics) {
            if (nic.bridge) deps.push(managedBridge(networks, g.node, nic.bridge));
            if (nic.vnet) deps.push(sdn?.apply);
        }
        const vm = new proxmox.VmLegacy(
            `${name}-vm-${g.vmid}`,
            vmArgs(ctx, g),
            childOpts(ctx, deps, {
                protect: g.protect,
                // HA moves guests: after a failover nodeName differs and must
                // not plan a replacement (nodeName is create-only; the provider
                // reads the VM's current node back into state).
                ignoreChanges: ["nodeName"],
            }),
        );
        vms.set(g.vmid, vm);

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
            const ha = new proxmox.Haresource(
                `${name}-ha-${g.vmid}`,
                {
                    resourceId: sid(g.vmid),
                    type: "vm",
                    state: g.ha.state,
                    maxRestart: g.ha.maxRestart,
                    maxRelocate: g.ha.maxRelocate,
                    failback: g.ha.failback,
                },
                childOpts(ctx, [vm, ...jobs, ...haPrerequisites]),
            );
            haResources.set(g.vmid, ha);
            const ruleId = nodeAffinityRuleId(g.vmid);
            haRules.set(
                ruleId,
                new proxmox.Harule(
                    `${name}-harule-${ruleId}`,
                    {
                        rule: ruleId,
                        type: "node-affinity",
                        resources: [sid(g.vmid)],
                        nodes: { ...g.ha.nodes },
                        strict: g.ha.strict,
                        comment: `home ${g.node} (proxmox-ha)`,
                    },
                    // "cannot use unmanaged resource(s)": the HA resource first.
                    childOpts(ctx, [ha]),
                ),
            );
        }
    }

    for (const rule of site.haRules) {
        const members = rule.guests.map((vmid) => {
            const ha = haResources.get(vmid);
            if (!ha) throw new Error(`API layer: HA rule ${rule.id} lists guest ${vmid}, which is not an HA guest`);
            return ha;
        });
        haRules.set(
            rule.id,
            new proxmox.Harule(
                `${name}-harule-${rule.id}`,
                defined({
                    rule: rule.id,
                    type: "resource-affinity",
                    affinity: rule.affinity,
                    resources: rule.guests.map(sid),
                    comment: rule.comment,
                }),
                childOpts(ctx, members),
            ),
        );
    }
    return { vms, replications, haResources, haRules };
}

function vmArgs(ctx: ApiContext, g: Guest): proxmox.VmLegacyArgs {
    return defined({
        nodeName: g.node,
        vmId: g.vmid,
        name: g.name,
        cpu: { cores: g.cores, type: CPU_TYPE },
        memory: { dedicated: g.memoryMb },
        operatingSystem: { type: g.osType },
        agent: { enabled: g.agent, timeout: AGENT_TIMEOUT },
        disks: g.disks.map((d) => diskArgs(ctx, d)),
        networkDevices: g.nics.map(nicArgs),
        cdrom: g.cdrom !== undefined ? { fileId: g.cdrom, interface: "ide2" } : undefined,
        started: g.started,
        onBoot: g.startOnBoot,
        // Proxmox's own protection flag: blocks removing the VM and its disks
        // from the GUI/CLI too, not only from Pulumi.
        protection: g.protect,
    });
}

function diskArgs(ctx: ApiContext, d: GuestDisk): proxmox.types.input.VmLegacyDisk {
    const replicated = d.storage === ctx.site.storage.id;
    return defined({
        interface: d.slot,
        datastoreId: d.storage,
        size: d.sizeGb,
        // A zfspool storage holds raw zvols only.
        fileFormat: replicated ? "raw" : undefined,
        // "SSD emulation is not supported on VirtIO Block drives."
        ssd: d.slot.startsWith("virtio") ? undefined : d.ssd,
        discard: d.discard ? "on" : "ignore",
        // pvesr fails on a volume without the replicate feature ("missing
        // replicate feature on volume"): only disks on the ZFS storage replicate.
        replicate: replicated,
    });
}

function nicArgs(n: GuestNic): proxmox.types.input.VmLegacyNetworkDevice {
    return defined({
        // An SDN vnet appears on every node as a bridge named like the vnet.
        bridge: n.bridge ?? n.vnet,
        model: n.model,
        firewall: n.firewall,
        mtu: n.mtu,
        vlanId: n.vlan,
        macAddress: n.macAddress,
    });
}
