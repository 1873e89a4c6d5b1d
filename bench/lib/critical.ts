/**
 * Converge critical path analysis over recorded resources: the step graph of
 * tools/lib/graph.ts, longest chains with
 * names, which predecessors are tight on each edge, which documented
 * constraint requires each edge, what-if merges of steps, and the diff of two
 * evaluations by URN. Pure: works on RecordedResource values only.
 */
import { isStep, levels, stepDependencies } from "../../tools/lib/graph";
import type { RecordedResource } from "../../tools/lib/mock-runtime";

/** Step URN → the step URNs it waits for. */
export type StepGraph = Map<string, Set<string>>;

/** graph.ts's step dependencies (explicit, input, component and provider edges). */
export function stepGraph(records: readonly RecordedResource[]): StepGraph {
    return stepDependencies(records);
}

export { levels };

/** Number of sequential stages: the highest level (0 for no steps). */
export function stageCount(graph: StepGraph, weight?: (urn: string) => 0 | 1): number {
    return Math.max(0, ...levels(graph, weight).values());
}

export interface ChainLink {
    readonly urn: string;
    readonly name: string;
    readonly type: string;
    readonly stage: number;
    /** Other predecessors that end in the stage just before this one (removing only the chosen one would not shorten the path). */
    readonly alsoTight: readonly string[];
    /** Unchanged steps (weight 0) between the previous link and this one, in order: the wait runs through them. */
    readonly via: readonly string[];
}

/**
 * One longest chain of weighted steps, first to last. Ties are broken by
 * registration order (the first recorded step wins), so the chain is
 * deterministic. Only steps of weight 1 are listed.
 */
export function criticalChain(
    records: readonly RecordedResource[],
    graph: StepGraph,
    weight: (urn: string) => 0 | 1 = () => 1,
): ChainLink[] {
    const lv = levels(graph, weight);
    const order = new Map(records.map((r, i) => [r.urn, i]));
    const byUrn = new Map(records.map((r) => [r.urn, r]));
    const byOrder = (a: string, b: string) => (order.get(a) ?? 0) - (order.get(b) ?? 0);
    const max = Math.max(0, ...lv.values());
    if (max === 0) return [];
    let at: string | undefined = [...lv.entries()]
        .filter(([urn, l]) => l === max && weight(urn) === 1)
        .map(([urn]) => urn)
        .sort(byOrder)[0];
    const chain: { urn: string; name: string; type: string; stage: number; alsoTight: string[]; via: string[] }[] = [];
    while (at !== undefined) {
        const l = lv.get(at)!;
        const before = l - weight(at);
        // Predecessors that end exactly where this one starts.
        const tight = [...(graph.get(at) ?? [])].filter((d) => lv.get(d) === before).sort(byOrder);
        const rec = byUrn.get(at);
        if (weight(at) === 1) {
            // Among tight predecessors, the weighted ones that reach the previous stage directly.
            const tightNames = tight.filter((d) => weight(d) === 1).map((d) => byUrn.get(d)?.name ?? d);
            chain.push({ urn: at, name: rec?.name ?? at, type: rec?.type ?? "", stage: l, alsoTight: tightNames.slice(1), via: [] });
        } else if (chain.length > 0) {
            chain[chain.length - 1]!.via.unshift(rec?.name ?? at);
        }
        at = before > 0 ? (tight.find((d) => weight(d) === 1) ?? tight[0]) : undefined;
    }
    return chain.reverse();
}

/** What-if: `step` no longer waits for `dep` (removes one edge). Returns a new graph. */
export function dropEdge(graph: StepGraph, step: string, dep: string): StepGraph {
    const out: StepGraph = new Map([...graph].map(([k, v]) => [k, new Set(v)]));
    out.get(step)?.delete(dep);
    return out;
}

// ---------- diffs between two evaluations -----------------------------------

/** JSON with object keys sorted: equal for inputs the engine would see as equal. */
export function canonicalJson(value: unknown): string {
    return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
    if (Array.isArray(value)) return value.map(sortKeys);
    if (value !== null && typeof value === "object") {
        return Object.fromEntries(
            Object.keys(value as object)
                .sort()
                .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
        );
    }
    return value;
}

export interface Diff {
    readonly added: readonly RecordedResource[];
    readonly changed: readonly RecordedResource[];
    readonly removed: readonly RecordedResource[];
    readonly unchanged: number;
}

/** Resources of `after` that are new or whose inputs differ from `before`, by URN (key order ignored). */
export function diffByUrn(before: readonly RecordedResource[], after: readonly RecordedResource[]): Diff {
    const old = new Map(before.map((r) => [r.urn, r]));
    const now = new Set(after.map((r) => r.urn));
    const added: RecordedResource[] = [];
    const changed: RecordedResource[] = [];
    let unchanged = 0;
    for (const r of after) {
        const o = old.get(r.urn);
        if (!o) added.push(r);
        else if (canonicalJson(o.inputs) !== canonicalJson(r.inputs)) changed.push(r);
        else unchanged++;
    }
    const removed = before.filter((r) => !now.has(r.urn));
    return { added, changed, removed, unchanged };
}

export interface DeterminismResult {
    readonly resources: number;
    /** Resources whose inputs are not byte-identical (JSON text, key order included), or that exist in one evaluation only. */
    readonly differingInputs: readonly string[];
    /** Resources whose recorded dependencies differ. */
    readonly differingDependencies: readonly string[];
}

/** Byte-level comparison of two evaluations of the same stack. */
export function compareEvaluations(a: readonly RecordedResource[], b: readonly RecordedResource[]): DeterminismResult {
    const bm = new Map(b.map((r) => [r.urn, r]));
    const am = new Set(a.map((r) => r.urn));
    const differingInputs: string[] = [];
    const differingDependencies: string[] = [];
    for (const r of a) {
        const o = bm.get(r.urn);
        if (!o || JSON.stringify(o.inputs) !== JSON.stringify(r.inputs)) differingInputs.push(r.urn);
        if (o && JSON.stringify(o.dependsOn) !== JSON.stringify(r.dependsOn)) differingDependencies.push(r.urn);
    }
    for (const r of b) if (!am.has(r.urn)) differingInputs.push(r.urn);
    return { resources: a.length, differingInputs, differingDependencies };
}

/** The steps of `after` that an update runs (new or changed), as a weight for `levels`. */
export function changedWeight(diff: Diff): (urn: string) => 0 | 1 {
    const touched = new Set([...diff.added, ...diff.changed].filter(isStep).map((r) => r.urn));
    return (urn) => (touched.has(urn) ? 1 : 0);
}

// ---------- what each edge means --------------------------------------------

/** The role of a step, from its type and the name suffix the components give it. */
export function roleOf(r: Pick<RecordedResource, "type" | "name">): string {
    const byType: Record<string, string> = {
        "proxmoxve:storage/zfspool:Zfspool": "storage",
        "proxmoxve:index/vmLegacy:VmLegacy": "vm",
        "proxmoxve:index/vm:Vm": "vm",
        "proxmoxve:index/replication:Replication": "replication",
        "proxmoxve:index/haresource:Haresource": "ha-resource",
        "proxmoxve:index/harule:Harule": "ha-rule",
        "proxmoxve:network/linux/vlan:Vlan": "host-vlan",
        "proxmoxve:network/linux/bridge:Bridge": "host-bridge",
        "proxmoxve:cluster/options:Options": "cluster-options",
    };
    const t = byType[r.type];
    if (t) return t;
    if (r.type === "command:remote:Command") {
        const suffixes: [RegExp, string][] = [
            [/-ssh-ready$/, "ssh-ready"],
            [/-cluster-create$/, "cluster-create"],
            [/-api-token$/, "api-token"],
            [/-api-certificate$/, "api-certificate"],
            [/-join$/, "join"],
            [/-zpool$/, "zpool"],
            [/-watchdog$/, "watchdog"],
            [/-qnetd-packages$/, "qnetd-packages"],
            [/-packages$/, "packages"],
            [/-qnetd-authorize$/, "qnetd-authorize"],
            [/-qdevice-setup$/, "qdevice-setup"],
            [/-corosync-vlan-\d+$/, "corosync-vlan"],
            [/-notifications$/, "notifications"],
            [/-ha-manager-ready$/, "ha-manager-ready"],
            [/-install$/, "zrepl-install"],
            [/-config$/, "zrepl-config"],
            [/-repair$/, "zrepl-repair"],
        ];
        for (const [re, role] of suffixes) if (re.test(r.name)) return role;
        return "command";
    }
    return r.type.split(":").pop()!.toLowerCase();
}

export interface Constraint {
    /** `required`: a documented constraint needs this order; `design`: a choice of this program, removable without breaking one. */
    readonly kind: "required" | "design";
    readonly why: string;
}

const QUORUM_WINDOW =
    "while a node joins, the first node has 1 of 2 expected votes (no two_node, docs/proxmox-facts.md §1) and pmxcfs is read-only without quorum (pve-docs pmxcfs.adoc), so no /etc/pve write may overlap a join";

/** Why `to` waits for `from`, by role. */
export const CONSTRAINTS: Readonly<Record<string, Constraint>> = {
    "ssh-ready>*": { kind: "design", why: "docs/design.md §3: every step on a host waits for its ssh-ready (a wait, not work)" },
    "cluster-create>join": {
        kind: "required",
        why: `a join needs the cluster (join info is refused on a standalone node) and its certificate fingerprint for --fingerprint, which cluster-create.sh prints (docs/proxmox-facts.md §2); the bootstrapped token it writes is an /etc/pve write: ${QUORUM_WINDOW}`,
    },
    "join>join": { kind: "required", why: "nodes join one at a time (pvecm lock, docs/proxmox-facts.md §2)" },
    "corosync-vlan>cluster-create": {
        kind: "required",
        why: "every link IP must exist locally (docs/proxmox-facts.md §2 refusal conditions)",
    },
    "corosync-vlan>join": { kind: "required", why: "every link IP must exist locally (docs/proxmox-facts.md §2 refusal conditions)" },
    "join>storage": {
        kind: "required",
        why: `storage.cfg is cluster-wide, added once after the cluster is formed (docs/proxmox-facts.md §7); ${QUORUM_WINDOW}`,
    },
    "cluster-create>storage": { kind: "required", why: "storage.cfg lives in /etc/pve of the cluster (docs/proxmox-facts.md §7)" },
    "zpool>storage": {
        kind: "required",
        why: "adding the storage activates it on the API node and fails without the pool (docs/proxmox-facts.md §7)",
    },
    "api-token>cluster-create": {
        kind: "required",
        why: "the bootstrapped token is an /etc/pve write (user.cfg, priv/token.cfg) that must not overlap pvecm create restarting pve-cluster, nor a join (the quorum window), so it runs once before the create (components/hosts/bootstrap.ts); a stack with its own apiToken has no such step",
    },
    "join>api-certificate": {
        kind: "required",
        why: "a join replaces the joiner's /etc/pve (where pveproxy-ssl.pem lives) by the cluster's, pvecm add checks the peer's served certificate against the create's fingerprint, and pvenode's /etc/pve write needs the quorum a join takes away (docs/performance.md, issue #11 point 3)",
    },
    "api-certificate>*": {
        kind: "required",
        why: "with verified TLS the provider checks pveproxy's certificate against the runner's trust store, which holds the stack's CA, not the cluster's own: no API call before the certificate is served (bpg/terraform-provider-proxmox proxmox/api/client.go)",
    },
    "file>vm": {
        kind: "required",
        why: "the VM's CD drive or imported disk names the downloaded file (qemu-server: a volume that does not exist is refused)",
    },
    "storage>vm": { kind: "required", why: "the VM's disks are allocated on the storage id (docs/design.md §3: storage entry ─▶ VMs)" },
    "join>vm": { kind: "required", why: `the VM's home node must be a member (API of nodes[0] forwards to it); ${QUORUM_WINDOW}` },
    "cluster-create>vm": { kind: "required", why: "the VM config is written to /etc/pve of the cluster" },
    "vm>replication": {
        kind: "required",
        why: 'pvesr: "Guest \'<id>\' does not exist." / "No replicatable volumes found" (docs/proxmox-facts.md §6)',
    },
    "join>replication": { kind: "required", why: "pvesr: \"Target '<node>' does not exist.\" (docs/proxmox-facts.md §6)" },
    "replication>ha-resource": { kind: "required", why: "docs/design.md §4: HA resources only after the guest's replication job exists" },
    "qdevice-setup>ha-resource": { kind: "required", why: "docs/design.md §4: HA resources only once the QDevice gives quorum" },
    "watchdog>ha-resource": {
        kind: "required",
        why: "docs/design.md §4 / guests.ts: HA never arms fencing on a node without its watchdog",
    },
    "vm>ha-resource": { kind: "required", why: "ha-manager: \"resource 'vm:<id>' does not exist in cluster\" (docs/proxmox-facts.md §5)" },
    "ha-resource>ha-rule": { kind: "required", why: 'ha-manager rules: "cannot use unmanaged resource(s)" (docs/proxmox-facts.md §5)' },
    "ha-rule>ha-rule": {
        kind: "required",
        why: "a resource-affinity rule after the node-affinity rules of its guests: Proxmox checks each new rule against the rules that exist (pve-ha-manager API2/HA/Rules.pm $assert_feasibility), so every set it sees on the way must pass (components/api/rules.ts)",
    },
    "ha-resource>ha-manager-ready": {
        kind: "required",
        why: "a CRM becomes master, and writes the HA manager status, only once an HA service is configured (pve-ha-manager CRM.pm can_get_active)",
    },
    "join>ha-manager-ready": { kind: "required", why: "the HA manager lists only cluster members; the wait is for every node" },
    "cluster-create>ha-manager-ready": { kind: "required", why: "the HA manager lists only cluster members; the wait is for every node" },
    "ha-manager-ready>ha-rule": {
        kind: "required",
        why: 'Proxmox counts a resource-affinity rule\'s nodes from the HA manager status (API2/HA/Rules.pm $check_feasibility), empty on a fresh site until a CRM became master: "rule defines more resources than available nodes"',
    },
    "join>qdevice-setup": {
        kind: "required",
        why: "qdevice setup needs every node online and an even member count (docs/proxmox-facts.md §3)",
    },
    "packages>qdevice-setup": {
        kind: "required",
        why: "corosync-qdevice must be installed on all nodes (docs/proxmox-facts.md §3, step 9)",
    },
    "qnetd-authorize>qdevice-setup": {
        kind: "required",
        why: "ssh-copy-id to the qnetd host prompts unless key auth already works (docs/proxmox-facts.md §3, step 4; docs/design.md §4)",
    },
    "cluster-create>qnetd-authorize": {
        kind: "required",
        why: "the key being authorized is the first node's root key, which cluster-create.sh prints (pvecm create makes it if missing, docs/proxmox-facts.md §1)",
    },
    "qnetd-packages>qnetd-authorize": {
        kind: "design",
        why: "the qnetd host is prepared before its key is authorized (docs/design.md §3)",
    },
    "join>host-vlan": {
        kind: "required",
        why: "a node's interfaces are changed through nodes[0]'s API, which reaches the node once it is a member",
    },
    "join>cluster-options": { kind: "required", why: `datacenter.cfg is an /etc/pve write: ${QUORUM_WINDOW}` },
};

/** The constraint behind `to` waiting for `from`, or undefined when none is recorded. */
export function constraintFor(fromRole: string, toRole: string): Constraint | undefined {
    return CONSTRAINTS[`${fromRole}>${toRole}`] ?? CONSTRAINTS[`${fromRole}>*`];
}

// ---------- reports of the bench (bench/run.ts) -------------------------------

export interface ChainReport {
    stages: number;
    chain: { stage: number; name: string; role: string; alsoTight: readonly string[]; via: readonly string[] }[];
    edges: { from: string; to: string; kind: string; why: string }[];
}

export function chainReport(records: RecordedResource[], graph: StepGraph, weight?: (urn: string) => 0 | 1): ChainReport {
    const chain: ChainLink[] = criticalChain(records, graph, weight);
    const byUrn = new Map(records.map((r) => [r.urn, r]));
    const role = (urn: string) => roleOf(byUrn.get(urn)!);
    const edges = chain.slice(1).map((to, i) => {
        const from = chain[i]!;
        if (to.via.length > 0) {
            return {
                from: from.name,
                to: to.name,
                kind: "through unchanged",
                why: `waits through the unchanged ${to.via.join(" ▶ ")}: the engine runs an unchanged resource's (no-op) step after its dependencies' updates`,
            };
        }
        const c = constraintFor(role(from.urn), role(to.urn));
        return {
            from: from.name,
            to: to.name,
            kind: c?.kind ?? "unknown",
            why: c?.why ?? `no documented constraint recorded for ${role(from.urn)} ▶ ${role(to.urn)}`,
        };
    });
    return {
        stages: stageCount(graph, weight),
        chain: chain.map((c) => ({ stage: c.stage, name: c.name, role: role(c.urn), alsoTight: c.alsoTight, via: c.via })),
        edges,
    };
}

/**
 * What-if analyses of the fresh-site graph: the stage count after moving a
 * step's work into another step or dropping an edge (each applicable change
 * builds on the previous ones; the last two each on the first ones only), with
 * the documented constraint it would break, if any.
 */
export function whatIfs(records: RecordedResource[]) {
    const g = stepGraph(records);
    const all = (re: RegExp) => records.filter((r) => re.test(r.name) && g.has(r.urn)).map((r) => r.urn);
    const one = (re: RegExp) => all(re)[0];
    const create = one(/-cluster-create$/);
    const out: { change: string; stages: number; breaks: string }[] = [];
    if (!create) return out;
    // (The read steps between create and join that earlier what-ifs merged into the
    // create are gone: cluster-create.sh prints the fingerprint, key and token itself.)
    const merged = g;
    const ready = [...(merged.get(create) ?? [])].filter((u) => /-ssh-ready$/.test(records.find((r) => r.urn === u)?.name ?? ""));
    let selfDial = merged;
    for (const u of ready) selfDial = dropEdge(selfDial, create, u);
    if (ready.length) {
        out.push({
            change: "cluster-create dials with ssh-ready's retry and timeout itself instead of waiting for the first node's ssh-ready",
            stages: stageCount(selfDial),
            breaks: "nothing documented (docs/design.md §3 draws ssh-ready first on every host: a design choice, not a Proxmox constraint)",
        });
    }
    const readySteps = all(/-ssh-ready$/);
    if (readySteps.length) {
        // Every step that waited for its host's ssh-ready dials with the same poll pattern itself.
        const noReady: StepGraph = new Map(
            [...selfDial]
                .filter(([k]) => !readySteps.includes(k))
                .map(([k, v]) => [k, new Set([...v].filter((d) => !readySteps.includes(d)))]),
        );
        out.push({
            change: "no ssh-ready stage at all: every host's first steps dial with its poll pattern themselves",
            stages: stageCount(noReady),
            breaks: "nothing documented (a docs/design.md §3 drawing); shows whether the ssh-ready stage is what binds",
        });
    }
    const storage = one(/-api-storage$/);
    const joins = all(/-join$/);
    if (storage && joins.length) {
        let g2 = selfDial;
        for (const j of joins) g2 = dropEdge(g2, storage, j);
        out.push({
            change: "storage after the create only, not after the joins",
            stages: stageCount(g2),
            breaks: "the quorum window: a storage.cfg write while a node joins fails (pmxcfs is read-only without quorum; docs/proxmox-facts.md §7: add storage once the cluster is formed)",
        });
    }
    const ha = all(/-api-ha-\d+$/);
    const repl = all(/-api-replication-/);
    if (ha.length && repl.length) {
        let g3 = selfDial;
        for (const h of ha) for (const r of repl) g3 = dropEdge(g3, h, r);
        out.push({
            change: "HA resources not waiting for the replication jobs",
            stages: stageCount(g3),
            breaks: "docs/design.md §4: HA resources only after the guest's replication job exists",
        });
    }
    return out;
}
