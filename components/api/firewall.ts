/**
 * The cluster firewall (when site.firewall.enabled): IP sets, datacenter-level
 * rules that every node's host firewall applies, and the cluster options that
 * switch it on.
 *
 * Lock-out safety. Everything the nodes need from each other, and everything
 * the operator needs, is admitted by the rules, and the resource that enables
 * the firewall (input policy DROP) depends on the IP sets and the rules: the
 * engine creates it last, so there is no moment at which DROP is in force
 * without the ACCEPTs. On top of ours, pve-firewall itself always admits
 * 8006/22/VNC/SPICE/migration from its `management` IP set plus the detected
 * `local_network`, and corosync UDP 5404:5405 between ring addresses
 * (pve-firewall src/PVE/Firewall.pm); our rules do not rely on that detection
 * (it covers neither other knet ports nor nodes in different subnets).
 * What no stack can tell us: the machine that runs `pulumi up` must itself be
 * in the allowlist (or in the nodes' local network), or the next run cannot
 * reach SSH and the API.
 *
 * v8 names: the provider has only the *Legacy firewall resources for the
 * cluster level (cluster.FirewallLegacy, firewall.IpsetLegacy/RulesLegacy).
 */
import * as proxmox from "@muhlba91/pulumi-proxmoxve";
import { childOpts, clusterFormed, defined, hostPart, type ApiContext } from "./context";
import { zreplPorts } from "../zrepl/config";

/** IP set names (pve-firewall: [A-Za-z][A-Za-z0-9-_]+, at most 64). */
export const IPSET_ALLOWLIST = "mgmt-allowlist";
export const IPSET_NODES = "cluster-nodes";
export const IPSET_VXLAN = "vxlan-peers";

export interface Firewall {
    readonly ipsets: readonly proxmox.firewall.IpsetLegacy[];
    readonly rules: proxmox.firewall.RulesLegacy;
    /** Cluster firewall options: enabled, input DROP. Created after the IP sets and rules. */
    readonly enable: proxmox.cluster.FirewallLegacy;
}

/** Every address of every node (management, corosync links, VLANs, VXLAN underlay), once, in node order. */
export function nodeAddresses(ctx: ApiContext): { address: string; node: string }[] {
    const { site } = ctx;
    const seen = new Set<string>();
    const out: { address: string; node: string }[] = [];
    const add = (address: string, node: string) => {
        if (seen.has(address)) return;
        seen.add(address);
        out.push({ address, node });
    };
    for (const n of site.nodes) {
        add(n.address, n.name);
        for (const l of n.links) add(l.address, n.name);
        for (const v of site.network.vlans) {
            const a = v.addresses[n.name];
            if (a !== undefined) add(hostPart(a), n.name);
        }
        for (const b of site.network.bridges) {
            const a = b.addresses[n.name];
            if (a !== undefined) add(hostPart(a), n.name);
        }
        const peer = site.network.vxlan?.peers[n.name];
        if (peer !== undefined) add(peer, n.name);
    }
    return out;
}

export function createFirewall(ctx: ApiContext): Firewall | undefined {
    const { site, name } = ctx;
    if (!site.firewall.enabled) return undefined;
    // cluster.fw lives in /etc/pve: written once the cluster is fully formed.
    const formed = clusterFormed(ctx);
    const ipsets: proxmox.firewall.IpsetLegacy[] = [];
    ipsets.push(
        new proxmox.firewall.IpsetLegacy(
            `${name}-fw-ipset-allowlist`,
            {
                name: IPSET_ALLOWLIST,
                comment: "operators: SSH and web UI/API (proxmox-ha)",
                cidrs: site.firewall.managementAllowlist.map((c) => ({ name: c })),
            },
            childOpts(ctx, formed),
        ),
    );
    ipsets.push(
        new proxmox.firewall.IpsetLegacy(
            `${name}-fw-ipset-nodes`,
            {
                name: IPSET_NODES,
                comment: "every address of every cluster node (proxmox-ha)",
                cidrs: nodeAddresses(ctx).map((a) => ({ name: a.address, comment: a.node })),
            },
            childOpts(ctx, formed),
        ),
    );
    const vx = site.network.vxlan;
    if (vx) {
        ipsets.push(
            new proxmox.firewall.IpsetLegacy(
                `${name}-fw-ipset-vxlan`,
                {
                    name: IPSET_VXLAN,
                    comment: `VXLAN underlay peers of zone ${vx.zone} (proxmox-ha)`,
                    cidrs: site.nodes.map((n) => ({ name: vx.peers[n.name]!, comment: n.name })),
                },
                childOpts(ctx, formed),
            ),
        );
    }

    const rule = (r: proxmox.types.input.firewall.RulesLegacyRule) => defined({ action: "ACCEPT", ...r });
    const rules: proxmox.types.input.firewall.RulesLegacyRule[] = [
        rule({ type: "in", proto: "tcp", dport: "22", source: `+${IPSET_ALLOWLIST}`, comment: "SSH from the management allowlist" }),
        rule({
            type: "in",
            proto: "tcp",
            dport: "8006",
            source: `+${IPSET_ALLOWLIST}`,
            comment: "web UI and API from the management allowlist",
        }),
        rule({ type: "in", proto: "udp", dport: "5405:5412", source: `+${IPSET_NODES}`, comment: "corosync (knet) between cluster nodes" }),
        rule({
            type: "in",
            proto: "tcp",
            dport: "22",
            source: `+${IPSET_NODES}`,
            comment: "SSH between nodes: migration, replication, QDevice setup",
        }),
        rule({
            type: "in",
            proto: "tcp",
            dport: "8006",
            source: `+${IPSET_NODES}`,
            comment: "API between nodes: pveproxy forwards requests to the owning node",
        }),
    ];
    if (site.cluster.migrationType === "insecure") {
        rules.push(
            rule({
                type: "in",
                proto: "tcp",
                dport: "60000:60050",
                source: `+${IPSET_NODES}`,
                comment: "insecure (unencrypted) migration between nodes",
            }),
        );
    }
    if (site.qdevice) {
        rules.push(rule({ type: "out", proto: "tcp", dport: "5403", dest: site.qdevice.address, comment: "corosync-qdevice to qnetd" }));
    }
    if (vx) {
        rules.push(
            rule({ type: "in", proto: "udp", dport: "4789", source: `+${IPSET_VXLAN}`, comment: `VXLAN (zone ${vx.zone}) between peers` }),
        );
    }
    if (site.zrepl.enabled) {
        rules.push(
            rule({
                type: "in",
                proto: "tcp",
                dport: zreplPorts(site).join(","),
                source: `+${IPSET_NODES}`,
                comment: "zrepl source jobs: pulls between nodes",
            }),
        );
    }
    const rulesRes = new proxmox.firewall.RulesLegacy(`${name}-fw-rules`, { rules }, childOpts(ctx, [...formed, ...ipsets]));

    const enable = new proxmox.cluster.FirewallLegacy(
        `${name}-fw-enable`,
        { enabled: true, inputPolicy: "DROP", outputPolicy: "ACCEPT" },
        childOpts(ctx, [...formed, ...ipsets, rulesRes]),
    );
    return { ipsets, rules: rulesRes, enable };
}
