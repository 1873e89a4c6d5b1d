/**
 * Proves: the ported rule checks (components/harules.ts) give Proxmox's own
 * verdicts on Proxmox's own examples. Every case below is a rules config of
 * pve-ha-manager src/test/rules_cfgs/<name>.cfg (version 5.2.0), rewritten as
 * data, and its expected "Drop rule ..." lines are the "--- Log ---" section of
 * <name>.cfg.expect, produced by src/test/test_rules_config.pl, which runs
 * PVE::HA::Rules->transform (check_feasibility, then drop) with the nodes
 * node1, node2, node3. The order and repetition of the lines are Proxmox's
 * (sorted by rule id, one line per conflict).
 * Also: the single checks by their Proxmox names, disabled rules left out
 * (Rules.pm foreach_rule exclude_disabled_rules), and the node count the API
 * passes (API2/HA/Rules.pm $check_feasibility: keys of the manager status'
 * node_status, empty on a fresh site before a CRM became master).
 * Does not prove: Proxmox's transforms (merging, inferred rules), which change
 * no verdict.
 */
import { describe, it } from "node:test";
import * as assert from "node:assert/strict";
import {
    checkFeasibility,
    checkSingleResourceReference,
    dropMessages,
    findDisjointRulesResourceSets,
    type HaRuleSpec,
} from "../../components/harules";

const NODES = ["node1", "node2", "node3"];

/** `node-affinity: <id>` with resources "vm:1,vm:2", nodes "node1:2,node2" (no priority = 0, Tools.pm parse_node_priority). */
function na(id: string, resources: string, nodes: string, opts: { strict?: boolean; disable?: boolean } = {}): HaRuleSpec {
    return {
        type: "node-affinity",
        id,
        resources: resources.split(","),
        nodes: Object.fromEntries(
            nodes.split(",").map((n) => {
                const [name, prio] = n.split(":");
                return [name!, Number(prio ?? 0)];
            }),
        ),
        strict: opts.strict ?? false,
        disabled: opts.disable ?? false,
    };
}

function ra(id: string, resources: string, affinity: "positive" | "negative", opts: { disable?: boolean } = {}): HaRuleSpec {
    return { type: "resource-affinity", id, resources: resources.split(","), affinity, disabled: opts.disable ?? false };
}

const drops = (rules: HaRuleSpec[]) => dropMessages(checkFeasibility(rules, NODES));

describe("Proxmox's rules_cfgs examples (pve-ha-manager src/test/rules_cfgs, test_rules_config.pl)", () => {
    it("defaults-for-node-affinity-rules: nothing dropped (disabled rules included)", () => {
        assert.deepEqual(
            drops([
                na("node-affinity-defaults", "vm:101", "node1"),
                na("node-affinity-disabled", "vm:102", "node2", { disable: true }),
                na("node-affinity-disabled-explicit", "vm:103", "node2", { disable: true }),
                na("node-affinity-strict", "vm:104", "node3", { strict: true }),
            ]),
            [],
        );
    });

    it("defaults-for-resource-affinity-rules: nothing dropped", () => {
        assert.deepEqual(
            drops([
                ra("resource-affinity-defaults", "vm:101,vm:102", "negative"),
                ra("resource-affinity-disabled", "vm:201,vm:202", "negative", { disable: true }),
                ra("resource-affinity-disabled-explicit", "vm:301,vm:302", "negative", { disable: true }),
            ]),
            [],
        );
    });

    it("inconsistent-node-resource-affinity-rules", () => {
        assert.deepEqual(
            drops([
                na("vm101-vm102-must-be-on-node1", "vm:101,vm:102", "node1", { strict: true }),
                ra("vm101-vm102-must-be-kept-together", "vm:101,vm:102", "positive"),
                na("vm201-must-be-on-node1", "vm:201", "node1", { strict: true }),
                na("vm202-must-be-on-node2", "vm:202", "node2", { strict: true }),
                ra("vm201-vm202-must-be-kept-separate", "vm:201,vm:202", "negative"),
                na("vm301-must-be-on-node1", "vm:301", "node1", { strict: true }),
                na("vm301-must-be-on-node2", "vm:302", "node2", { strict: true }),
                ra("vm301-vm302-must-be-kept-together", "vm:301,vm:302", "positive"),
                na("vm401-must-be-on-node1", "vm:401", "node1", { strict: true }),
                na("vm402-must-be-on-node1", "vm:402", "node1", { strict: true }),
                ra("vm401-vm402-must-be-kept-separate", "vm:401,vm:402", "negative"),
                na("vm501-must-be-on-node1", "vm:501", "node1", { strict: true }),
                na("vm503-must-be-on-node2", "vm:503", "node2", { strict: true }),
                ra("vm501-vm502-must-be-kept-together", "vm:501,vm:502", "positive"),
                ra("vm502-vm503-must-be-kept-together", "vm:502,vm:503", "positive"),
            ]),
            [
                "Drop rule 'vm301-must-be-on-node1', because at least one resource is in a positive resource affinity rule and there are other resources in at least one other node affinity rule already.",
                "Drop rule 'vm301-must-be-on-node2', because at least one resource is in a positive resource affinity rule and there are other resources in at least one other node affinity rule already.",
                "Drop rule 'vm301-vm302-must-be-kept-together', because resources are in multiple node affinity rules.",
                "Drop rule 'vm401-must-be-on-node1', because at least one resource is in a negative resource affinity rule and this rule would restrict these to less nodes than available to the resources.",
                "Drop rule 'vm401-vm402-must-be-kept-separate', because two or more resources are restricted to less nodes than available to the resources.",
                "Drop rule 'vm402-must-be-on-node1', because at least one resource is in a negative resource affinity rule and this rule would restrict these to less nodes than available to the resources.",
                "Drop rule 'vm501-must-be-on-node1', because at least one resource is in a positive resource affinity rule and there are other resources in at least one other node affinity rule already.",
                "Drop rule 'vm501-vm502-must-be-kept-together', because resources are in multiple node affinity rules.",
                "Drop rule 'vm502-vm503-must-be-kept-together', because resources are in multiple node affinity rules.",
                "Drop rule 'vm503-must-be-on-node2', because at least one resource is in a positive resource affinity rule and there are other resources in at least one other node affinity rule already.",
            ],
        );
    });

    it("inconsistent-resource-affinity-rules (a positive rule listed once per conflicting negative rule)", () => {
        assert.deepEqual(
            drops([
                ra("keep-apart1", "vm:102,vm:103", "negative"),
                ra("keep-apart2", "vm:102,vm:104,vm:106", "negative"),
                ra("stick-together1", "vm:101,vm:102,vm:103,vm:104,vm:106", "positive"),
                ra("split-stick-together1", "vm:201,vm:202", "positive"),
                ra("split-stick-together2", "vm:202,vm:203", "positive"),
                ra("split-keep-apart1", "vm:201,vm:203", "negative"),
            ]),
            [
                "Drop rule 'keep-apart1', because rule shares two or more resources with a positive resource affinity rule.",
                "Drop rule 'keep-apart2', because rule shares two or more resources with a positive resource affinity rule.",
                "Drop rule 'split-keep-apart1', because rule shares two or more resources with a positive resource affinity rule.",
                "Drop rule 'split-stick-together1', because rule shares two or more resources with a negative resource affinity rule.",
                "Drop rule 'split-stick-together2', because rule shares two or more resources with a negative resource affinity rule.",
                "Drop rule 'stick-together1', because rule shares two or more resources with a negative resource affinity rule.",
                "Drop rule 'stick-together1', because rule shares two or more resources with a negative resource affinity rule.",
            ],
        );
    });

    it("ineffective-negative-resource-affinity-rules (three nodes)", () => {
        assert.deepEqual(
            drops([
                ra("do-not-remove-me1", "vm:101,vm:102", "negative"),
                ra("do-not-remove-me2", "vm:101,vm:102,vm:103", "negative"),
                ra("remove-me1", "vm:101,vm:102,vm:103,vm:104", "negative"),
                ra("remove-me2", "vm:101,vm:102,vm:103,vm:104,vm:105", "negative"),
            ]),
            [
                "Drop rule 'remove-me1', because rule defines more resources than available nodes.",
                "Drop rule 'remove-me2', because rule defines more resources than available nodes.",
            ],
        );
    });

    it("ineffective-resource-affinity-rules", () => {
        assert.deepEqual(drops([ra("lonely-resource1", "vm:101", "positive"), ra("lonely-resource2", "vm:101", "negative")]), [
            "Drop rule 'lonely-resource1', because rule is ineffective as there are less than two resources.",
            "Drop rule 'lonely-resource2', because rule is ineffective as there are less than two resources.",
        ]);
    });

    it("infer-implicit-negative-resource-affinity-rules", () => {
        assert.deepEqual(
            drops([
                ra("do-not-infer-positive1", "vm:101,vm:102,vm:103", "positive"),
                ra("infer-simple-positive1", "vm:201,vm:202,vm:203", "positive"),
                ra("infer-simple-negative1", "vm:201,vm:204", "negative"),
                ra("infer-two-positive1", "vm:301,vm:302,vm:303", "positive"),
                ra("infer-two-negative1", "vm:303,vm:304", "negative"),
                ra("infer-two-negative2", "vm:302,vm:305", "negative"),
                ra("do-not-infer-inconsistent-positive1", "vm:401,vm:402,vm:403", "positive"),
                ra("do-not-infer-inconsistent-negative1", "vm:401,vm:404", "negative"),
                ra("do-not-infer-inconsistent-negative2", "vm:402,vm:403,vm:405", "negative"),
            ]),
            [
                "Drop rule 'do-not-infer-inconsistent-negative2', because rule shares two or more resources with a positive resource affinity rule.",
                "Drop rule 'do-not-infer-inconsistent-positive1', because rule shares two or more resources with a negative resource affinity rule.",
            ],
        );
    });

    it("infer-node-affinity-for-positive-resource-affinity-rules: nothing dropped", () => {
        assert.deepEqual(
            drops([
                ra("do-not-infer-positive1", "vm:101,vm:102,vm:103", "positive"),
                na("do-not-infer-negative1", "vm:203", "node1,node2", { strict: true }),
                na("do-not-infer-negative2", "vm:201", "node3"),
                ra("do-not-infer-negative3", "vm:201,vm:203", "negative"),
                na("infer-single-resource1", "vm:302", "node3"),
                ra("infer-single-resource2", "vm:301,vm:302,vm:303", "positive"),
                na("infer-multi-resources1", "vm:402,vm:404,vm:405", "node1,node3", { strict: true }),
                ra("infer-multi-resources2", "vm:401,vm:402,vm:403,vm:404", "positive"),
            ]),
            [],
        );
    });

    it("merge-and-infer-implicit-negative-resource-affinity-rules: nothing dropped", () => {
        assert.deepEqual(
            drops([
                ra("infer-connected-positive1", "vm:101,vm:102", "positive"),
                ra("infer-connected-positive2", "vm:102,vm:103", "positive"),
                ra("infer-connected-negative1", "vm:101,vm:104", "negative"),
                ra("infer-connected-negative2", "vm:102,vm:105", "negative"),
            ]),
            [],
        );
    });

    it("merge-connected-positive-resource-affinity-rules: nothing dropped", () => {
        assert.deepEqual(
            drops([
                ra("do-not-merge-negative1", "vm:101,vm:102", "negative"),
                ra("do-not-merge-negative2", "vm:102,vm:103", "negative"),
                ra("do-not-merge-negative3", "vm:104,vm:105", "negative"),
                ra("do-not-merge-positive1", "vm:201,vm:202", "positive"),
                ra("do-not-merge-positive2", "vm:203,vm:204", "positive"),
                ra("merge-positive1", "vm:301,vm:302", "positive"),
                ra("merge-positive2", "vm:303,vm:305,vm:307", "positive"),
                ra("merge-positive3", "vm:302,vm:303", "positive"),
                ra("merge-positive4", "vm:302,vm:304,vm:306", "positive"),
                ra("merge-positive5", "vm:307,vm:308,vm:309", "positive"),
            ]),
            [],
        );
    });

    it("multi-priority-node-affinity-with-resource-affinity-rules", () => {
        assert.deepEqual(
            drops([
                na("vm101-vm102-should-be-on-node1-or-node2", "vm:101,vm:102", "node1:1,node2:2"),
                ra("vm101-vm102-must-be-kept-separate", "vm:101,vm:102", "negative"),
                na("vm201-vm202-must-be-on-node1-or-node2", "vm:201,vm:202", "node1:1,node2:2", { strict: true }),
                ra("vm201-vm202-must-be-kept-together", "vm:201,vm:202", "positive"),
                na("vm301-must-be-on-node1-with-prio-1", "vm:301", "node1:1", { strict: true }),
                na("vm302-must-be-on-node2-with-prio-2", "vm:302", "node2:2", { strict: true }),
                ra("vm301-vm302-must-be-kept-together", "vm:301,vm:302", "negative"),
            ]),
            [
                "Drop rule 'vm101-vm102-must-be-kept-separate', because resources are in node affinity rules with multiple priorities.",
                "Drop rule 'vm101-vm102-should-be-on-node1-or-node2', because resources are in a resource affinity rule and cannot be in a node affinity rule with multiple priorities.",
                "Drop rule 'vm201-vm202-must-be-kept-together', because resources are in node affinity rules with multiple priorities.",
                "Drop rule 'vm201-vm202-must-be-on-node1-or-node2', because resources are in a resource affinity rule and cannot be in a node affinity rule with multiple priorities.",
            ],
        );
    });

    it("multiple-resource-refs-in-node-affinity-rules (a node without priority has 0, so node1,node2:2 is two classes)", () => {
        assert.deepEqual(
            drops([
                na("no-same-resource1", "vm:101,vm:102,vm:103", "node1,node2:2"),
                na("no-same-resource2", "vm:104,vm:105", "node1,node2:2"),
                na("no-same-resource3", "vm:106", "node1,node2:2", { strict: true }),
                na("same-resource1", "vm:201", "node1,node2:2"),
                na("same-resource2", "vm:201,vm:202", "node3", { strict: true }),
                na("same-resource3", "vm:201,vm:203,vm:204", "node1:2,node3:3"),
            ]),
            [
                "Drop rule 'same-resource1', because resource 'vm:201' is already used in another node affinity rule.",
                "Drop rule 'same-resource2', because resource 'vm:201' is already used in another node affinity rule.",
                "Drop rule 'same-resource3', because resource 'vm:201' is already used in another node affinity rule.",
            ],
        );
    });
});

describe("single checks and inputs", () => {
    it("leaves disabled rules out of every check (Rules.pm foreach_rule exclude_disabled_rules)", () => {
        const rules = [na("a", "vm:1", "node1:2,node2:1"), ra("apart", "vm:1,vm:2", "negative")];
        assert.equal(checkFeasibility(rules, NODES).size, 2);
        assert.equal(checkFeasibility([rules[0]!, ra("apart", "vm:1,vm:2", "negative", { disable: true })], NODES).size, 0);
        assert.equal(checkFeasibility([na("a", "vm:1", "node1:2,node2:1", { disable: true }), rules[1]!], NODES).size, 0);
    });

    it("counts the nodes it is given: with none (a fresh site's empty manager status) every negative rule is refused", () => {
        const rules = [ra("apart", "vm:1,vm:2", "negative")];
        assert.deepEqual(dropMessages(checkFeasibility(rules, [])), [
            "Drop rule 'apart', because rule defines more resources than available nodes.",
        ]);
        assert.deepEqual(dropMessages(checkFeasibility(rules, ["n1"])), [
            "Drop rule 'apart', because rule defines more resources than available nodes.",
        ]);
        assert.deepEqual(dropMessages(checkFeasibility(rules, ["n1", "n2"])), []);
    });

    it("check_single_resource_reference returns [rule, resource] pairs sorted", () => {
        const rules = new Map([
            ["b", { resources: new Set(["vm:1", "vm:2"]), nodes: { n1: 1 } }],
            ["a", { resources: new Set(["vm:2"]), nodes: { n1: 1 } }],
        ]);
        assert.deepEqual(checkSingleResourceReference(rules), [
            ["a", "vm:2"],
            ["b", "vm:2"],
        ]);
    });

    it("find_disjoint_rules_resource_sets merges into the first overlapping set, in order of the lowest resource", () => {
        const sets = findDisjointRulesResourceSets(
            new Map([
                ["r2", { resources: new Set(["vm:102", "vm:103"]) }],
                ["r1", { resources: new Set(["vm:101", "vm:102"]) }],
                ["r3", { resources: new Set(["vm:201", "vm:202"]) }],
            ]),
        );
        assert.deepEqual(
            sets.map((s) => ({ ruleIds: s.ruleIds, resources: [...s.resources].sort() })),
            [
                { ruleIds: ["r1", "r2"], resources: ["vm:101", "vm:102", "vm:103"] },
                { ruleIds: ["r3"], resources: ["vm:201", "vm:202"] },
            ],
        );
    });
});
