/**
 * Which HA rules a site gets, in shapes Proxmox VE 9 accepts, and what
 * validation says when a stack asks for a shape Proxmox refuses. Pure.
 *
 * Every HA guest prefers its home node through a node-affinity rule. Proxmox
 * checks those rules against the resource-affinity rules of the stack
 * (components/harules.ts, ported from pve-ha-manager src/PVE/HA/Rules.pm):
 *
 * - A guest in no resource-affinity rule keeps two priority classes: home 2,
 *   every other node 1 (unless the stack lists `ha.nodes`).
 * - A guest in a resource-affinity rule may only be in a node-affinity rule
 *   with ONE priority class (`check_single_priority_node_affinity_in_resource_affinity_rules`).
 *   Its default is therefore the home node alone, priority 1, non-strict:
 *   Proxmox gives every node a non-strict rule does not list the lowest
 *   priority (-1; NodeAffinity.pm `plugin_compile`), so the guest still runs
 *   on its home node when it can and on any other node when it cannot — the
 *   same order as home 2 / others 1. What an operator loses: an order AMONG
 *   the other nodes (three or more nodes), which needs a second class. With
 *   `strict: true` and no `ha.nodes` every node gets priority 1 (strict means
 *   "only these nodes": the home node alone would forbid every failover), so
 *   the home preference is lost; list the nodes to keep both.
 * - Guests kept together by positive rules (connected through shared guests)
 *   may share at most ONE node-affinity rule
 *   (`check_single_node_affinity_per_positive_resource_affinity_rule`): they
 *   get one rule together, `ha-guest-<lowest vmid>`. Its default lists the
 *   home nodes of the group's guests, priority 1, non-strict: the group
 *   prefers the nodes its guests are homed on, with no order among them.
 *   Guests of a group whose `ha.nodes`/`ha.strict` differ cannot share a rule:
 *   validation refuses them.
 */
import { checkFeasibility, hasMultiplePriorities, type NodeAffinityRule, type ResourceAffinityRule } from "./harules";

/** The node-affinity rule id of a guest (or of the group of guests whose lowest vmid it is). */
export const nodeAffinityRuleId = (vmid: number) => `ha-guest-${vmid}`;

/** An HA guest as the planner needs it. */
export interface HaGuestInput {
    readonly vmid: number;
    /** HA resource id, e.g. `vm:101`. */
    readonly sid: string;
    /** Home node. */
    readonly node: string;
    /** Resolved node → priority. */
    readonly nodes: Readonly<Record<string, number>>;
    readonly strict: boolean;
}

export interface ResourceAffinityInput {
    readonly id: string;
    readonly affinity: "positive" | "negative";
    readonly guests: readonly number[];
    readonly comment?: string;
}

export type PlannedRule = (NodeAffinityRule | ResourceAffinityRule) & {
    /** The guests whose HA resources the rule lists (its creation waits for them). */
    readonly vmids: readonly number[];
    readonly comment?: string;
};

/**
 * Each HA guest's node affinity when the stack lists no `ha.nodes` (see the
 * module comment): two classes when the guest is in no resource-affinity
 * rule; one class otherwise — its home node, or, for guests kept together by
 * positive rules, the home nodes of all guests of the group (they have one
 * rule together); every node when `strict`. Guests with `ha.nodes` keep them.
 */
export function resolveHaNodes(
    nodes: readonly string[],
    guests: readonly {
        readonly vmid: number;
        readonly node: string;
        readonly ha?: { readonly nodes?: Readonly<Record<string, number>>; readonly strict: boolean };
    }[],
    rules: readonly ResourceAffinityInput[],
): Map<number, Record<string, number>> {
    const inRule = new Set(rules.flatMap((r) => r.guests));
    const groupOf = new Map<number, number[]>();
    for (const group of positiveGroups(rules)) for (const v of group) groupOf.set(v, group);
    const homeOf = new Map(guests.map((g) => [g.vmid, g.node]));
    const out = new Map<number, Record<string, number>>();
    for (const g of guests) {
        if (!g.ha) continue;
        if (g.ha.nodes) out.set(g.vmid, { ...g.ha.nodes });
        else if (!inRule.has(g.vmid)) out.set(g.vmid, Object.fromEntries(nodes.map((n) => [n, n === g.node ? 2 : 1])));
        else if (g.ha.strict) out.set(g.vmid, Object.fromEntries(nodes.map((n) => [n, 1])));
        else {
            const homes = (groupOf.get(g.vmid) ?? [g.vmid]).map((v) => homeOf.get(v) ?? g.node);
            out.set(g.vmid, Object.fromEntries(nodes.filter((n) => homes.includes(n)).map((n) => [n, 1])));
        }
    }
    return out;
}

/** Groups of guests connected through positive rules (each guest in at most one group). */
export function positiveGroups(rules: readonly ResourceAffinityInput[]): number[][] {
    const parent = new Map<number, number>();
    const find = (x: number): number => {
        const p = parent.get(x) ?? x;
        if (p === x) return x;
        const root = find(p);
        parent.set(x, root);
        return root;
    };
    for (const r of rules.filter((x) => x.affinity === "positive")) {
        for (const g of r.guests) if (!parent.has(g)) parent.set(g, g);
        for (const g of r.guests.slice(1)) {
            const a = find(r.guests[0]!);
            const b = find(g);
            if (a !== b) parent.set(Math.max(a, b), Math.min(a, b));
        }
    }
    const groups = new Map<number, number[]>();
    for (const g of [...parent.keys()].sort((a, b) => a - b)) groups.set(find(g), [...(groups.get(find(g)) ?? []), g]);
    return [...groups.values()];
}

const sameAffinity = (a: HaGuestInput, b: HaGuestInput) => a.strict === b.strict && sameNodes(a.nodes, b.nodes);

function sameNodes(a: Readonly<Record<string, number>>, b: Readonly<Record<string, number>>): boolean {
    const ka = Object.keys(a).sort();
    const kb = Object.keys(b).sort();
    return ka.length === kb.length && ka.every((k, i) => k === kb[i] && a[k] === b[k]);
}

function homeComment(homes: readonly string[]): string {
    const unique = [...new Set(homes)];
    return `home ${unique.join(", ")} (proxmox-ha)`;
}

/**
 * The site's HA rules: node-affinity rules first (one per guest, or one per
 * positive group whose guests agree), then the stack's resource-affinity
 * rules. Guests of a positive group that disagree keep their own rules — a
 * set Proxmox refuses and validation reports (haRuleProblems).
 */
export function planHaRules(haGuests: readonly HaGuestInput[], rules: readonly ResourceAffinityInput[]): PlannedRule[] {
    const byVmid = new Map(haGuests.map((g) => [g.vmid, g]));
    const shared = new Map<number, number[]>(); // first vmid of an agreeing group → its vmids
    const covered = new Set<number>();
    for (const group of positiveGroups(rules)) {
        const members = group.map((v) => byVmid.get(v)).filter((g): g is HaGuestInput => g !== undefined);
        if (members.length !== group.length || members.some((m) => !sameAffinity(m, members[0]!))) continue;
        shared.set(group[0]!, group);
        for (const v of group) covered.add(v);
    }
    const out: PlannedRule[] = [];
    for (const g of haGuests) {
        const group = shared.get(g.vmid);
        if (covered.has(g.vmid) && !group) continue;
        const members = (group ?? [g.vmid]).map((v) => byVmid.get(v)!);
        out.push({
            type: "node-affinity",
            id: nodeAffinityRuleId(g.vmid),
            resources: members.map((m) => m.sid),
            nodes: { ...g.nodes },
            strict: g.strict,
            vmids: members.map((m) => m.vmid),
            comment: homeComment(members.map((m) => m.node)),
        });
    }
    for (const r of rules) {
        out.push({
            type: "resource-affinity",
            id: r.id,
            affinity: r.affinity,
            resources: r.guests.map((v) => byVmid.get(v)?.sid ?? `vm:${v}`),
            vmids: [...r.guests],
            ...(r.comment !== undefined ? { comment: r.comment } : {}),
        });
    }
    return out;
}

/** A validation problem: `section` is `guests` or `haRules`, `path` the key path below it. */
export interface HaRuleProblem {
    readonly section: "guests" | "haRules";
    readonly path: readonly (string | number)[];
    readonly message: string;
}

export interface HaGuestStackInput extends HaGuestInput {
    /** Index in the stack's guests list. */
    readonly index: number;
    /** Whether the stack lists ha.nodes itself (else they are the default). */
    readonly explicitNodes: boolean;
}

/**
 * Everything Proxmox VE 9 would refuse in the rules planned for this stack,
 * as problems with the key path, Proxmox's reason and the fix. The specific
 * checks name the stack's keys; a last pass runs the ported checks on the
 * plan itself, so nothing Proxmox refuses passes unreported.
 */
export function haRuleProblems(
    nodes: readonly string[],
    haGuests: readonly HaGuestStackInput[],
    rules: readonly ResourceAffinityInput[],
): HaRuleProblem[] {
    const out: HaRuleProblem[] = [];
    const byVmid = new Map(haGuests.map((g) => [g.vmid, g]));
    const ruleAt = (id: string) => rules.findIndex((r) => r.id === id);

    // One priority class for every guest in a resource-affinity rule.
    for (const g of haGuests) {
        const r = rules.find((x) => x.guests.includes(g.vmid));
        if (!r || !hasMultiplePriorities(g)) continue;
        const classes = [...new Set(Object.values(g.nodes))].sort((a, b) => b - a).join(", ");
        out.push({
            section: "guests",
            path: [g.index, "ha", "nodes"],
            message:
                `has ${new Set(Object.values(g.nodes)).size} priority classes (${classes}), but guest ${g.vmid} is in the resource-affinity rule "${r.id}"; ` +
                `Proxmox VE refuses that ("resources are in node affinity rules with multiple priorities", pve-ha-manager Rules.pm). ` +
                `Give every listed node the same priority (e.g. ${Object.keys(g.nodes)
                    .map((n) => `${n}: 1`)
                    .join(", ")}), or remove ha.nodes: the home node is then preferred by a rule of one priority class`,
        });
    }

    // One node-affinity rule per group of guests kept together.
    for (const group of positiveGroups(rules)) {
        const members = group.map((v) => byVmid.get(v)).filter((g): g is HaGuestStackInput => g !== undefined);
        const first = members[0];
        const other = members.find((m) => first && !sameAffinity(m, first));
        if (!first || !other) continue;
        const j = rules.findIndex((r) => r.affinity === "positive" && r.guests.some((v) => group.includes(v)));
        const describe = (m: HaGuestStackInput) =>
            `${m.vmid} (home ${m.node}, ${m.explicitNodes ? "ha.nodes" : "default"} ${Object.entries(m.nodes)
                .map(([n, p]) => `${n}:${p}`)
                .join(",")}${m.strict ? ", strict" : ""})`;
        out.push({
            section: "haRules",
            path: [j, "guests"],
            message:
                `keeps guests together whose node affinity differs: ${describe(first)} and ${describe(other)}; ` +
                `Proxmox VE allows the guests of positive rules at most one node-affinity rule ("resources are in multiple node affinity rules", pve-ha-manager Rules.pm), ` +
                `so they must share one. Give them the same ha.nodes and ha.strict, or remove ha.nodes from all of them (the group then prefers its guests' home nodes)`,
        });
    }

    const plan = planHaRules(haGuests, rules);
    const naRules = plan.filter((r): r is PlannedRule & NodeAffinityRule => r.type === "node-affinity");

    rules.forEach((r, j) => {
        if (r.affinity !== "negative") return;
        // Not more guests than nodes.
        if (r.guests.length > nodes.length) {
            out.push({
                section: "haRules",
                path: [j, "guests"],
                message:
                    `a negative rule keeps ${r.guests.length} guests on different nodes but the site has ${nodes.length}; ` +
                    `Proxmox VE refuses it ("rule defines more resources than available nodes"). Keep at most ${nodes.length} guests in it`,
            });
            return;
        }
        // Enough nodes in the guests' node affinity to keep them apart.
        const sids = new Set(r.guests.map((v) => byVmid.get(v)?.sid));
        const located = new Set<string>();
        const allowed = new Set<string>();
        for (const na of naRules) {
            const common = na.resources.filter((s) => sids.has(s));
            if (common.length === 0) continue;
            common.forEach((s) => located.add(s));
            Object.keys(na.nodes).forEach((n) => allowed.add(n));
        }
        if (allowed.size < located.size) {
            out.push({
                section: "haRules",
                path: [j, "guests"],
                message:
                    `keeps ${located.size} guests apart, but their node-affinity rules list only ${allowed.size} node(s) (${[...allowed].sort().join(", ")}); ` +
                    `Proxmox VE refuses that ("two or more resources are restricted to less nodes than available to the resources", pve-ha-manager Rules.pm). ` +
                    `Give the guests different home nodes, or list more nodes in their ha.nodes`,
            });
        }
    });

    // A negative rule must not split guests that positive rules keep together.
    for (const group of positiveGroups(rules)) {
        rules.forEach((r, j) => {
            if (r.affinity !== "negative") return;
            const shared = r.guests.filter((v) => group.includes(v));
            if (shared.length < 2) return;
            const positives = rules
                .filter((p) => p.affinity === "positive" && p.guests.some((v) => group.includes(v)))
                .map((p) => `"${p.id}"`);
            out.push({
                section: "haRules",
                path: [j, "guests"],
                message:
                    `keeps ${shared.join(", ")} apart, but ${positives.join(", ")} keep${positives.length === 1 ? "s" : ""} them together; ` +
                    `Proxmox VE refuses both ("rule shares two or more resources with a positive resource affinity rule"). Remove the guests from one of the rules`,
            });
        });
    }

    // Last pass: whatever else Proxmox's own checks refuse in the plan.
    if (out.length === 0) {
        for (const [id, messages] of checkFeasibility(plan, nodes)) {
            const j = ruleAt(id);
            out.push({
                section: "haRules",
                path: j >= 0 ? [j] : [],
                message: `Proxmox VE would refuse the rule "${id}": ${messages.join("; ")} (pve-ha-manager Rules.pm check_feasibility)`,
            });
        }
    }
    return out;
}
