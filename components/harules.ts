/**
 * Proxmox VE 9's feasibility checks of HA rules, ported as pure functions.
 *
 * Proxmox checks every rule against all the others whenever a rule is created
 * or updated (pve-ha-manager src/PVE/API2/HA/Rules.pm, `$assert_feasibility`:
 * HTTP 400 "Rule '<id>' is invalid." with the messages below), and the HA
 * manager drops rules that fail them at run time (src/PVE/HA/Rules.pm
 * `transform`: "Drop rule '<id>', because <message>."). The program plans its
 * rules with these checks (components/haplan.ts), so a stack never sends a
 * rule set Proxmox would refuse.
 *
 * Sources (pve-ha-manager, version 5.2.0):
 * - src/PVE/HA/Rules.pm: `check_feasibility` (order: plugins in registration
 *   order — node-affinity, then resource-affinity, src/PVE/HA/Env/PVE2.pm —
 *   then the inter-plugin checks), `foreach_rule` (disabled rules are left
 *   out), and the three inter-plugin checks named below.
 * - src/PVE/HA/Rules/NodeAffinity.pm: `check_single_resource_reference`.
 * - src/PVE/HA/Rules/ResourceAffinity.pm: `check_resource_affinity_resources_count`,
 *   `check_negative_resource_affinity_resources_count`,
 *   `check_inter_resource_affinity_rules_consistency`.
 * - src/PVE/HA/Rules/Helpers.pm: `find_disjoint_rules_resource_sets`.
 * - src/PVE/HA/Tools.pm: `parse_node_priority` (a node without priority has 0).
 * The messages are Proxmox's own, quoted so that the project's tests can
 * compare them with Proxmox's test expectations (src/test/rules_cfgs/*.expect).
 */

export interface NodeAffinityRule {
    readonly type: "node-affinity";
    readonly id: string;
    /** HA resource ids, e.g. `vm:101`. */
    readonly resources: readonly string[];
    /** Node → priority (Proxmox: a node written without priority has 0). */
    readonly nodes: Readonly<Record<string, number>>;
    readonly strict: boolean;
    readonly disabled?: boolean;
}

export interface ResourceAffinityRule {
    readonly type: "resource-affinity";
    readonly id: string;
    readonly affinity: "positive" | "negative";
    readonly resources: readonly string[];
    readonly disabled?: boolean;
}

export type HaRuleSpec = NodeAffinityRule | ResourceAffinityRule;

/** Rule id → Proxmox's messages for it, in the order Proxmox's checks run. */
export type RuleErrors = Map<string, string[]>;

type Conflict = readonly [kind: string, ruleId: string];

const byKindThenId = (a: Conflict, b: Conflict) => cmp(a[0], b[0]) || cmp(a[1], b[1]);

function cmp(a: string, b: string): number {
    return a < b ? -1 : a > b ? 1 : 0;
}

function disjoint(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
    for (const x of a) if (b.has(x)) return false;
    return true;
}

function intersect(a: ReadonlySet<string>, b: ReadonlySet<string>): Set<string> {
    return new Set([...a].filter((x) => b.has(x)));
}

/** Rules.pm `$has_multiple_priorities`: more than one priority class among the nodes. */
export function hasMultiplePriorities(rule: Pick<NodeAffinityRule, "nodes">): boolean {
    return new Set(Object.values(rule.nodes)).size > 1;
}

interface DisjointSet {
    readonly ruleIds: string[];
    readonly resources: Set<string>;
}

/**
 * Helpers.pm `find_disjoint_rules_resource_sets`: rules sorted by their lowest
 * resource id (then by id), each merged into the FIRST set it overlaps, else a
 * new set. (Greedy, as in Proxmox: two sets are not merged afterwards.)
 */
export function findDisjointRulesResourceSets(rules: ReadonlyMap<string, { readonly resources: ReadonlySet<string> }>): DisjointSet[] {
    const lowest = new Map([...rules].map(([id, r]) => [id, [...r.resources].sort(cmp)[0] ?? ""]));
    const ids = [...rules.keys()].sort(cmp).sort((a, b) => cmp(lowest.get(a)!, lowest.get(b)!));
    const sets: DisjointSet[] = [];
    for (const id of ids) {
        const resources = rules.get(id)!.resources;
        const entry = sets.find((s) => !disjoint(resources, s.resources));
        if (entry) {
            entry.ruleIds.push(id);
            for (const r of resources) entry.resources.add(r);
        } else sets.push({ ruleIds: [id], resources: new Set(resources) });
    }
    return sets;
}

interface NaRule {
    readonly resources: ReadonlySet<string>;
    readonly nodes: Readonly<Record<string, number>>;
}
interface RaRule {
    readonly resources: ReadonlySet<string>;
}

/** NodeAffinity.pm `check_single_resource_reference`: [rule id, resource] for every resource in two or more node-affinity rules. */
export function checkSingleResourceReference(nodeAffinity: ReadonlyMap<string, NaRule>): [string, string][] {
    const bySid = new Map<string, string[]>();
    for (const [id, r] of nodeAffinity) for (const sid of r.resources) bySid.set(sid, [...(bySid.get(sid) ?? []), id]);
    const out: [string, string][] = [];
    for (const [sid, ids] of bySid) if (ids.length > 1) for (const id of ids) out.push([id, sid]);
    return out.sort((a, b) => cmp(a[0], b[0]) || cmp(a[1], b[1]));
}

/** ResourceAffinity.pm `check_resource_affinity_resources_count`: rules with fewer than two resources. */
export function checkResourceAffinityResourcesCount(rules: ReadonlyMap<string, RaRule>): string[] {
    return [...rules]
        .filter(([, r]) => r.resources.size < 2)
        .map(([id]) => id)
        .sort(cmp);
}

/** ResourceAffinity.pm `check_negative_resource_affinity_resources_count`: negative rules with more resources than nodes. */
export function checkNegativeResourceAffinityResourcesCount(negative: ReadonlyMap<string, RaRule>, nodes: readonly string[]): string[] {
    return [...negative]
        .filter(([, r]) => r.resources.size > nodes.length)
        .map(([id]) => id)
        .sort(cmp);
}

/**
 * ResourceAffinity.pm `check_inter_resource_affinity_rules_consistency`: a
 * negative rule sharing two or more resources with a set of connected positive
 * rules conflicts with every rule of that set.
 */
export function checkInterResourceAffinityRulesConsistency(
    positive: ReadonlyMap<string, RaRule>,
    negative: ReadonlyMap<string, RaRule>,
): Conflict[] {
    const out: Conflict[] = [];
    for (const entry of findDisjointRulesResourceSets(positive)) {
        for (const [negId, neg] of negative) {
            if (intersect(entry.resources, neg.resources).size < 2) continue;
            out.push(["negative", negId]);
            for (const id of entry.ruleIds) out.push(["positive", id]);
        }
    }
    return out.sort(byKindThenId);
}

/**
 * Rules.pm `check_single_priority_node_affinity_in_resource_affinity_rules`: a
 * resource-affinity rule sharing a resource with a node-affinity rule that has
 * more than one priority class conflicts, together with every node-affinity
 * rule it shares resources with.
 */
export function checkSinglePriorityNodeAffinityInResourceAffinityRules(
    resourceAffinity: ReadonlyMap<string, RaRule>,
    nodeAffinity: ReadonlyMap<string, NaRule>,
): Conflict[] {
    const out: Conflict[] = [];
    for (const [raId, ra] of resourceAffinity) {
        let conflict = false;
        const paired: string[] = [];
        for (const [naId, na] of nodeAffinity) {
            if (disjoint(ra.resources, na.resources)) continue;
            conflict ||= hasMultiplePriorities(na);
            paired.push(naId);
        }
        if (conflict) {
            out.push(["resource-affinity", raId]);
            for (const id of paired) out.push(["node-affinity", id]);
        }
    }
    return out.sort(byKindThenId);
}

/**
 * Rules.pm `check_single_node_affinity_per_positive_resource_affinity_rule`:
 * the resources of a set of connected positive rules may share at most one
 * node-affinity rule.
 */
export function checkSingleNodeAffinityPerPositiveResourceAffinityRule(
    positive: ReadonlyMap<string, RaRule>,
    nodeAffinity: ReadonlyMap<string, NaRule>,
): Conflict[] {
    const out: Conflict[] = [];
    for (const entry of findDisjointRulesResourceSets(positive)) {
        const paired = [...nodeAffinity].filter(([, na]) => !disjoint(entry.resources, na.resources)).map(([id]) => id);
        if (paired.length > 1) {
            for (const id of entry.ruleIds) out.push(["positive", id]);
            for (const id of paired) out.push(["node-affinity", id]);
        }
    }
    return out.sort(byKindThenId);
}

/**
 * Rules.pm `check_negative_resource_affinity_node_affinity_consistency`: the
 * resources of a negative rule that are in node-affinity rules need at least
 * as many nodes, counted over every node those rules list (strict or not,
 * whatever the priority), as there are such resources.
 */
export function checkNegativeResourceAffinityNodeAffinityConsistency(
    negative: ReadonlyMap<string, RaRule>,
    nodeAffinity: ReadonlyMap<string, NaRule>,
): Conflict[] {
    const out: Conflict[] = [];
    for (const [negId, neg] of negative) {
        const allowed = new Set<string>();
        const located = new Set<string>();
        const paired: string[] = [];
        for (const [naId, na] of nodeAffinity) {
            const common = intersect(neg.resources, na.resources);
            if (common.size < 1) continue;
            for (const r of common) located.add(r);
            for (const n of Object.keys(na.nodes)) allowed.add(n);
            paired.push(naId);
        }
        if (allowed.size < located.size) {
            out.push(["negative", negId]);
            for (const id of paired) out.push(["node-affinity", id]);
        }
    }
    return out.sort(byKindThenId);
}

/** Proxmox's messages, by check and conflict kind (quoted from the collect-errors subs). */
export const MESSAGES = {
    resourceReference: (sid: string) => `resource '${sid}' is already used in another node affinity rule`,
    tooFewResources: "rule is ineffective as there are less than two resources",
    moreResourcesThanNodes: "rule defines more resources than available nodes",
    interPositive: "rule shares two or more resources with a negative resource affinity rule",
    interNegative: "rule shares two or more resources with a positive resource affinity rule",
    multiPriorityNodeAffinity: "resources are in a resource affinity rule and cannot be in a node affinity rule with multiple priorities",
    multiPriorityResourceAffinity: "resources are in node affinity rules with multiple priorities",
    positiveMultipleNodeAffinity: "resources are in multiple node affinity rules",
    nodeAffinityWithPositive:
        "at least one resource is in a positive resource affinity rule and there are other resources in at least one other node affinity rule already",
    negativeTooFewNodes: "two or more resources are restricted to less nodes than available to the resources",
    nodeAffinityWithNegative:
        "at least one resource is in a negative resource affinity rule and this rule would restrict these to less nodes than available to the resources",
} as const;

/**
 * Rules.pm `check_feasibility($rules, $nodes)`: every check over the enabled
 * rules; returns the erroneous rules with their messages. `nodes` is what the
 * caller counts as the cluster's nodes: the API passes the keys of the HA
 * manager status's `node_status` (API2/HA/Rules.pm `$check_feasibility`),
 * which is empty until a CRM became master.
 */
export function checkFeasibility(rules: readonly HaRuleSpec[], nodes: readonly string[]): RuleErrors {
    const enabled = rules.filter((r) => !r.disabled);
    const na = new Map<string, NaRule>();
    const ra = new Map<string, RaRule & { affinity: string }>();
    for (const r of enabled) {
        if (r.type === "node-affinity") na.set(r.id, { resources: new Set(r.resources), nodes: r.nodes });
        else ra.set(r.id, { resources: new Set(r.resources), affinity: r.affinity });
    }
    const positive = new Map([...ra].filter(([, r]) => r.affinity === "positive"));
    const negative = new Map([...ra].filter(([, r]) => r.affinity === "negative"));

    const errors: RuleErrors = new Map();
    const push = (id: string, message: string) => errors.set(id, [...(errors.get(id) ?? []), message]);
    const collect = (conflicts: Conflict[], messages: Readonly<Record<string, string>>) => {
        for (const [kind, id] of conflicts) if (messages[kind]) push(id, messages[kind]);
    };

    // node-affinity plugin
    for (const [id, sid] of checkSingleResourceReference(na)) push(id, MESSAGES.resourceReference(sid));
    // resource-affinity plugin
    for (const id of checkResourceAffinityResourcesCount(ra)) push(id, MESSAGES.tooFewResources);
    for (const id of checkNegativeResourceAffinityResourcesCount(negative, nodes)) push(id, MESSAGES.moreResourcesThanNodes);
    collect(checkInterResourceAffinityRulesConsistency(positive, negative), {
        positive: MESSAGES.interPositive,
        negative: MESSAGES.interNegative,
    });
    // inter-plugin ("global") checks
    collect(checkSinglePriorityNodeAffinityInResourceAffinityRules(ra, na), {
        "node-affinity": MESSAGES.multiPriorityNodeAffinity,
        "resource-affinity": MESSAGES.multiPriorityResourceAffinity,
    });
    collect(checkSingleNodeAffinityPerPositiveResourceAffinityRule(positive, na), {
        positive: MESSAGES.positiveMultipleNodeAffinity,
        "node-affinity": MESSAGES.nodeAffinityWithPositive,
    });
    collect(checkNegativeResourceAffinityNodeAffinityConsistency(negative, na), {
        negative: MESSAGES.negativeTooFewNodes,
        "node-affinity": MESSAGES.nodeAffinityWithNegative,
    });
    return errors;
}

/** Rules.pm `transform`'s log lines for the dropped rules: sorted by rule id, then in check order. */
export function dropMessages(errors: RuleErrors): string[] {
    return [...errors.keys()].sort(cmp).flatMap((id) => errors.get(id)!.map((m) => `Drop rule '${id}', because ${m}.`));
}
