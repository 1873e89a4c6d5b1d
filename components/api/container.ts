/**
 * The inputs of one LXC container (ContainerLegacy) from its validated model.
 * Input semantics: bpg/terraform-provider-proxmox v0.111.x
 * proxmoxtf/resource/container/container.go (what @muhlba91/pulumi-proxmoxve
 * 8.6.0 bundles).
 *
 * What differs from a VM: the root file system is a ZFS subvolume (a
 * dataset, not a zvol) on the replicated storage, which pvesr replicates like
 * a VM disk; HA manages it as `ct:<vmid>`; and a container cannot
 * live-migrate: HA moves it by shutting it down, migrating it offline and
 * starting it on the target (pve-ha-manager src/PVE/HA/Resources/PVECT.pm
 * `migrate`: "we cannot migrate CT (yet) online, only relocate"), so every
 * HA migration of a container, failback included, is a short outage.
 */
import type * as proxmox from "@muhlba91/pulumi-proxmoxve";
import type { CtGuest } from "../model";
import { defined, type ApiContext } from "./context";
import { ipArgs } from "./vm";

export function containerArgs(ctx: ApiContext, g: CtGuest): proxmox.ContainerLegacyArgs {
    const rootfs = g.disks[0]!;
    const c = g.cloudInit;
    return defined({
        nodeName: g.node,
        vmId: g.vmid,
        cpu: { cores: g.cores },
        memory: defined({ dedicated: g.memoryMb, swap: g.swapMb }),
        disk: {
            datastoreId: rootfs.storage,
            size: rootfs.sizeGb,
            // Only volumes on the ZFS storage have the replicate feature.
            replicate: rootfs.storage === ctx.site.storage.id,
        },
        // `type` tells Proxmox how to write hostname, network and SSH keys
        // into the container (pve-container PVE::LXC::Setup); the provider's
        // default, unmanaged, writes none of them.
        operatingSystem: { templateFileId: g.template.volumeId, type: g.osType },
        initialization: defined({
            hostname: g.name,
            ipConfigs: c?.ipConfig.length ? c.ipConfig.map(ipArgs) : undefined,
            dns: c?.dns ? defined({ domain: c.dns.domain, servers: c.dns.servers.length ? [...c.dns.servers] : undefined }) : undefined,
            userAccount: c?.sshKeys.length ? { keys: [...c.sshKeys] } : undefined,
        }),
        networkInterfaces: g.nics.map((n, i) =>
            defined({
                name: `eth${i}`,
                // An SDN vnet appears on every node as a bridge named like the vnet.
                bridge: n.bridge ?? n.vnet,
                firewall: n.firewall,
                mtu: n.mtu,
                vlanId: n.vlan,
                macAddress: n.macAddress,
            }),
        ),
        unprivileged: g.unprivileged,
        features: { nesting: g.nesting },
        started: g.started,
        startOnBoot: g.startOnBoot,
        // Proxmox's protection flag: blocks removing the container and its volumes.
        protection: g.protect,
    });
}
