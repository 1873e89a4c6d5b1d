/**
 * Synthetic stacks for the scaling measurements and the converge scenarios,
 * built as raw config (what a stack file holds) from the reference stack, so
 * everything except the nodes, guests and rules is the reference site's. Pure:
 * no Pulumi, no files. Callers validate the result with `validateSite`.
 *
 * Shape of a synthetic site with N nodes and G guests:
 * - nodes pve1…pveN shaped like the reference nodes (two corosync links,
 *   mirror of two disks, softdog); a QDevice when N is even (validation refuses
 *   one on an odd node count and requires one for two nodes with HA);
 * - the reference's replication VLAN, with an address on every node;
 * - G guests shaped like the reference guest (2 cores, 4 GiB, one 32 GB disk,
 *   one NIC), round-robin over the nodes, every one HA with replication:
 *   on two nodes exactly as the reference (HA may use every node, replicated to
 *   the other one); on more nodes each guest is tied to a pair of nodes (strict
 *   node affinity home 2 / partner 1, replicated to the partner), since
 *   replicating every guest to every node of a large cluster is not a site
 *   anyone runs, and so that every size has the same resources per guest;
 * - one negative resource-affinity rule per ten guests (two guests that live on
 *   different nodes of one pair), at most as many guests per rule as nodes.
 */
import type { RawConfig } from "../../components/validate";

export interface SiteSize {
    readonly nodes: number;
    readonly guests: number;
}

/** Raw config of a synthetic site; `reference` is the reference stack's raw config. */
export function syntheticRaw(reference: RawConfig, size: SiteSize, clusterName = "bench"): Record<string, unknown> {
    const { nodes: n, guests: g } = size;
    if (!Number.isInteger(n) || n < 2 || n > 200) throw new Error(`synthetic site: 2–200 nodes, got ${n}`);
    if (!Number.isInteger(g) || g < 0 || g > 100_000) throw new Error(`synthetic site: 0–100000 guests, got ${g}`);
    const refNodes = reference.nodes as Record<string, unknown>[] | undefined;
    const refGuests = reference.guests as Record<string, unknown>[] | undefined;
    if (!refNodes?.[0] || !refGuests?.[0]) throw new Error("synthetic site: the reference stack needs at least one node and one guest");

    const names = Array.from({ length: n }, (_, i) => nodeName(i));
    const nodes = names.map((name, i) => syntheticNode(refNodes[0]!, name, i));
    const network = structuredClone((reference.network ?? { vlans: [] }) as { vlans?: Record<string, unknown>[] });
    for (const v of network.vlans ?? []) {
        // Every VLAN of the reference gets one address per node in its own /24.
        const addresses = (v.addresses ?? {}) as Record<string, string>;
        const first = Object.values(addresses)[0];
        const prefix = first ? first.split(".").slice(0, 3).join(".") : `10.0.${Number(v.tag) % 250}`;
        v.addresses = Object.fromEntries(names.map((name, i) => [name, `${prefix}.${11 + i}/24`]));
        delete v.nodes;
    }
    // Guests 10k and 10k+1 are kept apart by rule apart-k (below).
    const inRule = (j: number) => j % 10 < 2 && j < 10 * Math.floor(g / 10);
    const guests = Array.from({ length: g }, (_, j) => syntheticGuest(refGuests[0]!, j, names, inRule(j)));
    const haRules = Array.from({ length: Math.floor(g / 10) }, (_, k) => ({
        id: `apart-${k}`,
        affinity: "negative",
        guests: [vmidOf(10 * k), vmidOf(10 * k + 1)],
    }));

    const raw: Record<string, unknown> = { ...structuredClone(reference) };
    raw.cluster = { ...(reference.cluster as object), name: clusterName };
    raw.nodes = nodes;
    if (n % 2 === 0) raw.qdevice = { ...(reference.qdevice as object), address: "10.0.0.250" };
    else delete raw.qdevice;
    raw.network = network;
    raw.guests = guests;
    raw.haRules = haRules;
    return raw;
}

export function nodeName(i: number): string {
    return `pve${i + 1}`;
}

export function vmidOf(j: number): number {
    return 1000 + j;
}

/** The node a guest's replica (and HA fallback) lives on: the other node of its pair. */
export function partnerOf(i: number, n: number): number {
    const p = i ^ 1;
    return p < n ? p : i === 0 ? 1 : i - 1;
}

function syntheticNode(ref: Record<string, unknown>, name: string, i: number): Record<string, unknown> {
    const octet = 11 + i;
    const zfs = structuredClone(ref.zfs as { disks: string[] });
    zfs.disks = zfs.disks.map((_, d) => `/dev/disk/by-id/ata-BENCH_DISK_${String(i + 1).padStart(3, "0")}_${d + 1}`);
    return {
        ...structuredClone(ref),
        name,
        address: `10.0.0.${octet}`,
        links: [
            { address: `10.10.10.${octet}`, priority: 20 },
            { address: `10.0.0.${octet}`, priority: 10 },
        ],
        sshHostKey: hostKey(i),
        zfs,
    };
}

/** A syntactically valid, distinct ed25519 host key per index. */
export function hostKey(i: number): string {
    const body = Buffer.concat([Buffer.from("000000", "hex"), Buffer.from(`proxmox-ha-bench-host-${String(i).padStart(6, "0")}-key`)]);
    return `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI${body.toString("base64").replace(/=+$/, "")}`;
}

function syntheticGuest(ref: Record<string, unknown>, j: number, names: readonly string[], inRule: boolean): Record<string, unknown> {
    const n = names.length;
    const home = j % n;
    const guest: Record<string, unknown> = {
        ...structuredClone(ref),
        vmid: vmidOf(j),
        name: `vm${j}`,
        node: names[home]!,
        ha: { ...((ref.ha as object | undefined) ?? {}) },
    };
    delete guest.replicateTo;
    if (n > 2) {
        const partner = names[partnerOf(home, n)]!;
        guest.replicateTo = [partner];
        // A guest in a resource-affinity rule gets one priority class (Proxmox
        // refuses two: pve-ha-manager Rules.pm, components/haplan.ts).
        guest.ha = { ...(guest.ha as object), nodes: { [names[home]!]: inRule ? 1 : 2, [partner]: 1 }, strict: true };
    }
    return guest;
}
