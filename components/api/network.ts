/**
 * Host networking per node (VLAN interfaces, bridges) and the VXLAN SDN zone
 * with its vnet and apply.
 */
import * as pulumi from "@pulumi/pulumi";
import * as proxmox from "@muhlba91/pulumi-proxmoxve";
import type { Bridge, Vlan } from "../model";
import { childOpts, clusterFormed, defined, hostPart, isIpv6, membership, type ApiContext } from "./context";

export interface HostNetworks {
    /** Key `<node>/<interface>.<tag>`. */
    readonly vlans: ReadonlyMap<string, proxmox.network.linux.Vlan>;
    /** Key `<node>/<bridge>`. */
    readonly bridges: ReadonlyMap<string, proxmox.network.linux.Bridge>;
    /** The VLANs with purpose vxlan (the VXLAN underlay), on every node that has them. */
    readonly underlay: readonly proxmox.network.linux.Vlan[];
}

/** Linux limits interface names to 15 characters (IFNAMSIZ − 1). */
const IFNAMSIZ = 15;

/** `address` or `address6` for one node's interface address (the schema allows both families). */
function addressArgs(cidr: string | undefined): { address?: string; address6?: string } {
    if (cidr === undefined) return {};
    return isIpv6(cidr) ? { address6: cidr } : { address: cidr };
}

/**
 * Refuses, as a second line of defence behind validation, any interface that
 * would carry a node's management address: the API call that changes it runs
 * over that very address, so a mistake cuts Pulumi off the node.
 */
function refuseManagementAddress(ctx: ApiContext, what: string, node: string, cidr: string | undefined, allowed: boolean): void {
    const n = ctx.site.nodes.find((x) => x.name === node)!;
    if (cidr !== undefined && hostPart(cidr) === n.address && !allowed) {
        throw new Error(
            `API layer: ${what} on ${node} would carry ${node}'s management address ${n.address}; Pulumi does not manage that interface`,
        );
    }
}

export function createHostNetworks(ctx: ApiContext): HostNetworks {
    const { site, name } = ctx;
    const vlans = new Map<string, proxmox.network.linux.Vlan>();
    const bridges = new Map<string, proxmox.network.linux.Bridge>();
    const underlay: proxmox.network.linux.Vlan[] = [];
    for (const node of site.nodes) {
        // A node's interfaces are changed through the API of nodes[0], which
        // reaches the node only once it is a member (pveproxy forwards to it).
        const member = membership(ctx, node.name);
        for (const v of site.network.vlans) {
            // Corosync VLANs carry the cluster links, so they exist before the
            // cluster does: the bootstrap's corosync-vlan.sh creates them. Two
            // owners of one interface would fight, so they are not managed here.
            if (v.purpose === "corosync" || !v.nodes.includes(node.name)) continue;
            const vlan = vlanArgs(ctx, v, node.name);
            const res = new proxmox.network.linux.Vlan(`${name}-vlan-${node.name}-${v.tag}`, vlan, childOpts(ctx, member));
            vlans.set(`${node.name}/${vlan.name}`, res);
            if (v.purpose === "vxlan") underlay.push(res);
        }
        for (const b of site.network.bridges) {
            if (!b.nodes.includes(node.name)) continue;
            bridges.set(
                `${node.name}/${b.name}`,
                new proxmox.network.linux.Bridge(
                    `${name}-bridge-${node.name}-${b.name}`,
                    bridgeArgs(ctx, b, node.name),
                    childOpts(ctx, member),
                ),
            );
        }
    }
    return { vlans, bridges, underlay };
}

function vlanArgs(ctx: ApiContext, v: Vlan, node: string): proxmox.network.linux.VlanArgs & { name: string } {
    // The provider's documented form: `<raw device>.<tag>` as the name, with
    // neither `interface` nor `vlan` set (they are derived from the name).
    const ifname = `${v.interface}.${v.tag}`;
    if (ifname.length > IFNAMSIZ) {
        throw new Error(
            `API layer: VLAN interface name ${ifname} is longer than ${IFNAMSIZ} characters; use a shorter parent interface name`,
        );
    }
    const cidr = v.addresses[node];
    refuseManagementAddress(ctx, `VLAN ${ifname}`, node, cidr, false);
    return defined({
        nodeName: node,
        name: ifname,
        ...addressArgs(cidr),
        mtu: v.mtu,
        comment: v.comment ?? `${v.purpose} (proxmox-ha)`,
        autostart: true,
    });
}

function bridgeArgs(ctx: ApiContext, b: Bridge, node: string): proxmox.network.linux.BridgeArgs {
    const cidr = b.addresses[node];
    refuseManagementAddress(ctx, `bridge ${b.name}`, node, cidr, b.managesManagementAddress);
    return defined({
        nodeName: node,
        name: b.name,
        ports: [...b.ports],
        vlanAware: b.vlanAware,
        ...addressArgs(cidr),
        mtu: b.mtu,
        comment: b.comment ?? "proxmox-ha",
        autostart: true,
    });
}

export interface Sdn {
    readonly zone: proxmox.sdn.zone.Vxlan;
    readonly vnet: proxmox.sdn.Vnet;
    /** Runs the SDN apply after the zone and vnet exist, and again whenever they change. */
    readonly apply: proxmox.sdn.Applier;
    /** Applies on destroy only, after zone and vnet are gone, so their removal takes effect. */
    readonly finalizer: proxmox.sdn.Applier;
}

export function createSdn(ctx: ApiContext, networks: HostNetworks): Sdn | undefined {
    const { site, name } = ctx;
    const vx = site.network.vxlan;
    if (!vx) return undefined;
    const nodeNames = site.nodes.map((n) => n.name);
    // SDN lives in /etc/pve/sdn: a cluster-wide write, so after every member
    // joined (a join leaves the first node briefly without quorum, and then
    // /etc/pve is read-only).
    const formed = clusterFormed(ctx);
    // The provider's documented finalizer pattern: zone and vnet depend on an
    // applier that applies only on destroy. Destroyed after them, it makes a
    // removed zone/vnet actually disappear from the nodes.
    const finalizer = new proxmox.sdn.Applier(`${name}-sdn-finalizer`, { onCreate: false, onDestroy: true }, childOpts(ctx, formed));
    const zoneArgs: proxmox.sdn.zone.VxlanArgs = {
        resourceId: vx.zone,
        // "All nodes in the cluster need to be mentioned here" (pvesdn.adoc).
        peers: nodeNames.map((n) => vx.peers[n]!),
        mtu: vx.mtu,
        nodes: nodeNames,
    };
    const zone = new proxmox.sdn.zone.Vxlan(`${name}-sdn-zone`, zoneArgs, childOpts(ctx, [...formed, finalizer]));
    const vnetArgs: proxmox.sdn.VnetArgs = { resourceId: vx.vnet, zone: vx.zone, tag: vx.tag };
    const vnet = new proxmox.sdn.Vnet(`${name}-sdn-vnet`, vnetArgs, childOpts(ctx, [...formed, zone, finalizer]));
    // The apply writes the vxlan interfaces with each node's local tunnel
    // address, so the underlay VLANs (purpose vxlan) must be up first.
    const apply = new proxmox.sdn.Applier(
        `${name}-sdn-apply`,
        { onCreate: true, onDestroy: true },
        childOpts(ctx, [zone, vnet, ...networks.underlay], {
            // Pending SDN changes take effect only on apply. The engine replaces
            // (= re-runs) the applier whenever this value changes, i.e. whenever
            // the zone or vnet definition changes (the provider's documented use
            // is Terraform's replace_triggered_by).
            replacementTrigger: JSON.stringify({ zone: zoneArgs, vnet: vnetArgs }),
        }),
    );
    return { zone, vnet, apply, finalizer };
}

/** The bridge resource a guest NIC on `bridge` needs on `node`, when this stack manages it. */
export function managedBridge(networks: HostNetworks, node: string, bridge: string): pulumi.Resource | undefined {
    return networks.bridges.get(`${node}/${bridge}`);
}
