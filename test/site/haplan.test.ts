/**
 * Proves: validation refuses, with the key path, Proxmox's reason and the fix,
 * each HA rule shape Proxmox VE 9 refuses (pve-ha-manager src/PVE/HA/Rules.pm
 * and Rules/*.pm checks, ported in components/harules.ts), and accepts the
 * shapes it plans instead (components/haplan.ts): one priority class for a
 * guest in a resource-affinity rule, one shared node-affinity rule for guests
 * kept together. Over every combination of a small grid (3 nodes, 3 HA
 * guests, their homes, ha.nodes and ha.strict, and a set of rules), a stack
 * validates exactly when the ported Proxmox checks accept the rules planned
 * for it — and the refusals always come from the specific checks, never from
 * the generic last pass.
 * Does not prove: that a real Proxmox agrees (no PVE here); the ported checks
 * are compared with Proxmox's own examples in test/site/harules.test.ts.
 */
import { describe, it } from "node:test";
import * as assert from "node:assert/strict";
import { validateSite } from "../../components/validate";
import { checkFeasibility } from "../../components/harules";
import { planHaRules, resolveHaNodes } from "../../components/haplan";
import type { Site } from "../../components/model";
import { mutate, referenceRaw, type Raw } from "./fixtures";

function problems(raw: Raw): [string, string][] {
    return validateSite(raw).problems.map((p) => [p.path, p.message]);
}

function siteOf(raw: Raw): Site {
    const r = validateSite(raw);
    assert.deepEqual(r.problems, []);
    return r.site!;
}

const plan = (site: Site) =>
    planHaRules(
        site.guests.flatMap((g) =>
            g.ha ? [{ vmid: g.vmid, sid: `vm:${g.vmid}`, node: g.node, nodes: g.ha.nodes, strict: g.ha.strict }] : [],
        ),
        site.haRules,
    );

/** The reference site plus a second HA guest on prox2. */
const twoGuests = (fn: (raw: any) => void) =>
    mutate((r) => {
        r.guests.push({ vmid: 102, name: "fw2", node: "prox2", disks: [{ sizeGb: 8 }], ha: {} });
        fn(r);
    });

describe("HA rule shapes Proxmox VE refuses, refused by validation", () => {
    it("two priority classes for a guest in a resource-affinity rule (Rules.pm check_single_priority_node_affinity_in_resource_affinity_rules)", () => {
        assert.deepEqual(
            problems(
                twoGuests((r) => {
                    r.guests[0].ha = { nodes: { prox1: 2, prox2: 1 } };
                    r.haRules = [{ id: "apart", affinity: "negative", guests: [101, 102] }];
                }),
            ),
            [
                [
                    "proxmox-ha:guests[0].ha.nodes",
                    'has 2 priority classes (2, 1), but guest 101 is in the resource-affinity rule "apart"; Proxmox VE refuses that ("resources are in node affinity rules with multiple priorities", pve-ha-manager Rules.pm). Give every listed node the same priority (e.g. prox1: 1, prox2: 1), or remove ha.nodes: the home node is then preferred by a rule of one priority class',
                ],
            ],
        );
    });

    it("guests kept together whose node affinity differs (Rules.pm check_single_node_affinity_per_positive_resource_affinity_rule)", () => {
        assert.deepEqual(
            problems(
                twoGuests((r) => {
                    r.guests[0].ha = { nodes: { prox1: 1 } };
                    r.haRules = [{ id: "together", affinity: "positive", guests: [101, 102] }];
                }),
            ),
            [
                [
                    "proxmox-ha:haRules[0].guests",
                    'keeps guests together whose node affinity differs: 101 (home prox1, ha.nodes prox1:1) and 102 (home prox2, default prox1:1,prox2:1); Proxmox VE allows the guests of positive rules at most one node-affinity rule ("resources are in multiple node affinity rules", pve-ha-manager Rules.pm), so they must share one. Give them the same ha.nodes and ha.strict, or remove ha.nodes from all of them (the group then prefers its guests\' home nodes)',
                ],
            ],
        );
    });

    it("a negative rule whose guests' node affinity lists fewer nodes than guests (Rules.pm check_negative_resource_affinity_node_affinity_consistency)", () => {
        assert.deepEqual(
            problems(
                twoGuests((r) => {
                    r.guests[1].node = "prox1";
                    r.haRules = [{ id: "apart", affinity: "negative", guests: [101, 102] }];
                }),
            ),
            [
                [
                    "proxmox-ha:haRules[0].guests",
                    'keeps 2 guests apart, but their node-affinity rules list only 1 node(s) (prox1); Proxmox VE refuses that ("two or more resources are restricted to less nodes than available to the resources", pve-ha-manager Rules.pm). Give the guests different home nodes, or list more nodes in their ha.nodes',
                ],
            ],
        );
    });

    it("a negative rule splitting guests that positive rules keep together (ResourceAffinity.pm check_inter_resource_affinity_rules_consistency)", () => {
        assert.deepEqual(
            problems(
                twoGuests((r) => {
                    r.haRules = [
                        { id: "together", affinity: "positive", guests: [101, 102] },
                        { id: "apart", affinity: "negative", guests: [102, 101] },
                    ];
                }),
            ),
            [
                [
                    "proxmox-ha:haRules[1].guests",
                    'keeps 102, 101 apart, but "together" keeps them together; Proxmox VE refuses both ("rule shares two or more resources with a positive resource affinity rule"). Remove the guests from one of the rules',
                ],
            ],
        );
    });
});

describe("HA rule shapes the program plans", () => {
    it("lab's shape: a negative rule, each guest preferring its home node with one priority class, non-strict", () => {
        const site = siteOf(twoGuests((r) => (r.haRules = [{ id: "apart", affinity: "negative", guests: [101, 102] }])));
        assert.deepEqual(
            site.guests.map((g) => g.ha!.nodes),
            [{ prox1: 1 }, { prox2: 1 }],
        );
        assert.equal(checkFeasibility(plan(site), ["prox1", "prox2"]).size, 0);
    });

    it("a guest in no rule keeps home 2, others 1", () => {
        const site = siteOf(referenceRaw());
        assert.deepEqual(site.guests[0]!.ha!.nodes, { prox1: 2, prox2: 1 });
    });

    it("guests kept together share one node-affinity rule listing their home nodes", () => {
        const site = siteOf(twoGuests((r) => (r.haRules = [{ id: "together", affinity: "positive", guests: [101, 102] }])));
        assert.deepEqual(
            plan(site).map((r) => [r.id, r.resources, r.type === "node-affinity" ? r.nodes : r.affinity]),
            [
                ["ha-guest-101", ["vm:101", "vm:102"], { prox1: 1, prox2: 1 }],
                ["together", ["vm:101", "vm:102"], "positive"],
            ],
        );
        assert.equal(checkFeasibility(plan(site), ["prox1", "prox2"]).size, 0);
    });

    it("strict without ha.nodes in a rule: every node at priority 1 (the home node alone would forbid every failover)", () => {
        const site = siteOf(
            twoGuests((r) => {
                r.guests[0].ha = { strict: true };
                r.haRules = [{ id: "apart", affinity: "negative", guests: [101, 102] }];
            }),
        );
        assert.deepEqual(site.guests[0]!.ha!.nodes, { prox1: 1, prox2: 1 });
    });
});

describe("validation and the ported Proxmox checks agree over a grid of stacks", () => {
    const NODES = ["prox1", "prox2", "prox3"];
    const AFFINITIES: (Record<string, number> | undefined)[] = [
        undefined,
        { prox1: 1 },
        { prox2: 1, prox3: 1 },
        { prox1: 2, prox2: 1 },
        { prox1: 1, prox2: 1, prox3: 1 },
    ];
    const RULESETS: { id: string; affinity: "positive" | "negative"; guests: number[] }[][] = [
        [],
        [{ id: "apart", affinity: "negative", guests: [101, 102] }],
        [{ id: "apart", affinity: "negative", guests: [101, 102, 103] }],
        [{ id: "together", affinity: "positive", guests: [101, 102] }],
        [
            { id: "together", affinity: "positive", guests: [101, 102] },
            { id: "apart", affinity: "negative", guests: [102, 103] },
        ],
        [
            { id: "t1", affinity: "positive", guests: [101, 102] },
            { id: "t2", affinity: "positive", guests: [102, 103] },
        ],
        [
            { id: "together", affinity: "positive", guests: [101, 102] },
            { id: "apart", affinity: "negative", guests: [101, 102, 103] },
        ],
    ];

    function rawOf(homes: string[], affinity: (Record<string, number> | undefined)[], strict: boolean[], rules: object[]): Raw {
        return mutate((r) => {
            r.nodes.push({ ...structuredClone(r.nodes[1]), name: "prox3", address: "10.0.0.13", links: ["10.10.10.13"] });
            r.nodes[2].zfs.disks = ["/dev/disk/by-id/ata-C1", "/dev/disk/by-id/ata-C2"];
            delete r.qdevice;
            r.guests = [101, 102, 103].map((vmid, i) => ({
                vmid,
                name: `g${vmid}`,
                node: homes[i],
                disks: [{ sizeGb: 8 }],
                ha: { ...(affinity[i] ? { nodes: affinity[i] } : {}), strict: strict[i] },
            }));
            r.haRules = rules;
        });
    }

    it("valid ⇔ Proxmox accepts the planned rules; every refusal is a specific one", () => {
        let valid = 0;
        let refused = 0;
        let cases = 0;
        for (const rules of RULESETS) {
            for (const homes of [
                ["prox1", "prox2", "prox3"],
                ["prox1", "prox1", "prox2"],
            ]) {
                for (const a0 of AFFINITIES) {
                    for (const a1 of AFFINITIES) {
                        for (const s of [false, true]) {
                            const affinity = [a0, a1, undefined];
                            // strict node affinity must list the home node (rule 7): skip shapes refused for that reason.
                            if (s && [a0, a1].some((a, i) => a && !(homes[i]! in a))) continue;
                            const raw = rawOf(homes, affinity, [s, s, false], rules);
                            const r = validateSite(raw);
                            const ruleProblems = r.problems.filter((p) => /haRules|ha\.nodes/.test(p.path));
                            const other = r.problems.filter((p) => !ruleProblems.includes(p));
                            if (other.length > 0) continue; // refused for another reason (e.g. replication)
                            cases++;
                            for (const p of ruleProblems)
                                assert.doesNotMatch(p.message, /Proxmox VE would refuse the rule/, JSON.stringify(p));
                            if (r.site) {
                                valid++;
                                const errors = checkFeasibility(plan(r.site), NODES);
                                assert.equal(
                                    errors.size,
                                    0,
                                    `${JSON.stringify({ homes, affinity, s, rules })}: ${JSON.stringify([...errors])}`,
                                );
                            } else {
                                refused++;
                                // Refused only when Proxmox refuses the rules this stack would get.
                                const rawGuests = (raw as any).guests as {
                                    vmid: number;
                                    node: string;
                                    ha: { nodes?: Record<string, number>; strict: boolean };
                                }[];
                                const resolved = resolveHaNodes(NODES, rawGuests, rules);
                                const planned = planHaRules(
                                    rawGuests.map((g) => ({
                                        vmid: g.vmid,
                                        sid: `vm:${g.vmid}`,
                                        node: g.node,
                                        nodes: resolved.get(g.vmid)!,
                                        strict: g.ha.strict,
                                    })),
                                    rules,
                                );
                                assert.ok(
                                    checkFeasibility(planned, NODES).size > 0,
                                    `over-refused: ${JSON.stringify({ homes, affinity, s, rules, ruleProblems })}`,
                                );
                            }
                        }
                    }
                }
            }
        }
        // The grid covers both outcomes.
        assert.ok(valid > 20 && refused > 20, `valid ${valid}, refused ${refused}, of ${cases}`);
    });
});
