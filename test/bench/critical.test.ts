/**
 * Proves: the bench's critical-path logic on hand-built recorded graphs:
 * stage counts agree with tools/lib/graph.ts, the printed chain is a longest
 * one with its tight alternatives, unchanged steps cost nothing in an update,
 * what-if merges and dropped edges shorten exactly what they should, provider
 * edges (from graph.ts) reach the chain, diffs by URN ignore key order while
 * the determinism check does not, every edge of the reference chain has a
 * recorded reason, and guest ownership by name; summary statistics.
 * Does not prove: that the recorded graph of the real program is right (the
 * API and bootstrap tests do that), nor anything about timing.
 */
import { describe, it } from "node:test";
import * as assert from "node:assert/strict";
import type { RecordedResource } from "../../tools/lib/mock-runtime";
import { stages } from "../../tools/lib/graph";
import {
    canonicalJson,
    changedWeight,
    compareEvaluations,
    constraintFor,
    criticalChain,
    diffByUrn,
    dropEdge,
    levels,
    roleOf,
    stageCount,
    stepGraph,
} from "../../bench/lib/critical";
import { ownedByGuest } from "../../bench/lib/ownership";
import { ratio, round, summarize } from "../../bench/lib/stats";
import { runStack } from "../api/harness";

const CMD = "command:remote:Command";

function rec(name: string, dependsOn: string[] = [], extra: Partial<RecordedResource> = {}): RecordedResource {
    return {
        urn: `urn:${name}`,
        type: CMD,
        name,
        custom: true,
        dependsOn: dependsOn.map((d) => `urn:${d}`),
        inputs: {},
        secretInputs: [],
        protect: false,
        retainOnDelete: false,
        propertyDependencies: {},
        deleteBeforeReplace: false,
        ignoreChanges: [],
        replaceOnChanges: [],
        additionalSecretOutputs: [],
        ...extra,
    };
}

//   a ─▶ b ─▶ d
//   a ─▶ c ─▶ d        (b and c both tight for d)
//   e (alone)
const diamond = [rec("a"), rec("b", ["a"]), rec("c", ["a"]), rec("d", ["b", "c"]), rec("e")];

describe("stages and chains", () => {
    it("counts stages as graph.ts does", () => {
        assert.equal(stageCount(stepGraph(diamond)), 3);
        assert.equal(stages(diamond).length, 3);
    });

    it("prints one longest chain, first registered predecessor, with the other tight one", () => {
        const chain = criticalChain(diamond, stepGraph(diamond));
        assert.deepEqual(
            chain.map((c) => [c.name, c.stage]),
            [
                ["a", 1],
                ["b", 2],
                ["d", 3],
            ],
        );
        assert.deepEqual(chain[2]!.alsoTight, ["c"]);
    });

    it("expands a dependency on a component to its custom children", () => {
        const comp = rec("comp", [], { custom: false, type: "x:y:Comp" });
        const kids = [rec("k1", [], { parent: "urn:comp" }), rec("k2", ["k1"], { parent: "urn:comp" })];
        const after = rec("after", ["comp"]);
        assert.equal(stageCount(stepGraph([comp, ...kids, after])), 3);
    });

    it("unchanged steps cost nothing but pass their dependencies on", () => {
        // x (changed) ─▶ y (unchanged) ─▶ z (changed): two stages, in order.
        const recs = [rec("x"), rec("y", ["x"]), rec("z", ["y"])];
        const w = (u: string) => (u === "urn:y" ? 0 : 1);
        assert.equal(stageCount(stepGraph(recs), w), 2);
        const chain = criticalChain(recs, stepGraph(recs), w);
        assert.deepEqual(
            chain.map((c) => [c.name, c.via]),
            [
                ["x", []],
                ["z", ["y"]],
            ],
        );
        assert.deepEqual([...levels(stepGraph(recs), w).values()], [1, 1, 2]);
    });

    it("changed weight comes from a diff", () => {
        const before = [rec("x"), rec("y", ["x"])];
        const after = [rec("x"), rec("y", ["x"], { inputs: { v: 2 } }), rec("n", ["y"])];
        const w = changedWeight(diffByUrn(before, after));
        assert.deepEqual(["urn:x", "urn:y", "urn:n"].map(w), [0, 1, 1]);
        assert.equal(stageCount(stepGraph(after), w), 2);
    });

    it("dropping an edge shortens only when it was the long one", () => {
        const g = stepGraph(diamond);
        assert.equal(stageCount(dropEdge(g, "urn:d", "urn:b")), 3);
        assert.equal(stageCount(dropEdge(dropEdge(g, "urn:d", "urn:b"), "urn:d", "urn:c")), 2);
        assert.equal(g.get("urn:d")!.size, 2, "the original graph is not modified");
    });

    it("refuses cycles", () => {
        assert.throws(() => stageCount(stepGraph([rec("p", ["q"]), rec("q", ["p"])])), /cycle/);
    });

    it("provider edges (graph.ts): a resource also waits for what its provider waits for", () => {
        const token = rec("token");
        const provider = rec("prov", ["token"], { type: "pulumi:providers:proxmoxve" });
        const res = rec("res", [], { type: "proxmoxve:index/vmLegacy:VmLegacy", provider: "urn:prov::prov-id" });
        const recs = [token, provider, res];
        assert.equal(stageCount(stepGraph(recs)), 2);
        assert.deepEqual(
            criticalChain(recs, stepGraph(recs)).map((c) => c.name),
            ["token", "res"],
        );
    });
});

describe("diffs", () => {
    it("by URN, key order ignored", () => {
        const before = [rec("a", [], { inputs: { x: 1, y: 2 } }), rec("gone")];
        const after = [rec("a", [], { inputs: { y: 2, x: 1 } }), rec("b", [], { inputs: { z: 1 } })];
        const d = diffByUrn(before, after);
        assert.deepEqual(
            d.added.map((r) => r.name),
            ["b"],
        );
        assert.deepEqual(d.changed, []);
        assert.deepEqual(
            d.removed.map((r) => r.name),
            ["gone"],
        );
        assert.equal(d.unchanged, 1);
        assert.equal(canonicalJson({ b: [{ d: 1, c: 2 }], a: null }), '{"a":null,"b":[{"c":2,"d":1}]}');
    });

    it("determinism is byte-level: key order, missing resources and dependencies count", () => {
        const a = [rec("a", [], { inputs: { x: 1, y: 2 } }), rec("b", ["a"]), rec("only-a")];
        const b = [rec("a", [], { inputs: { y: 2, x: 1 } }), rec("b", []), rec("only-b")];
        const c = compareEvaluations(a, b);
        assert.deepEqual(c.differingInputs, ["urn:a", "urn:only-a", "urn:only-b"]);
        assert.deepEqual(c.differingDependencies, ["urn:b"]);
        assert.deepEqual(compareEvaluations(a, a).differingInputs, []);
    });
});

describe("roles and constraints", () => {
    it("names every role of the reference chains and gives each edge a reason", () => {
        // The two equally long prefixes of the fresh reference site's path into the storage.
        const viaPool: [string, string][] = [
            [CMD, "prod-hosts-prox1-ssh-ready"],
            [CMD, "prod-hosts-prox1-zpool"],
        ];
        const viaJoin: [string, string][] = [
            [CMD, "prod-hosts-cluster-create"],
            [CMD, "prod-hosts-prox2-join"],
        ];
        const rest: [string, string][] = [
            ["proxmoxve:storage/zfspool:Zfspool", "prod-api-storage"],
            ["proxmoxve:index/vmLegacy:VmLegacy", "prod-api-vm-101"],
            ["proxmoxve:index/replication:Replication", "prod-api-replication-101-492612"],
            ["proxmoxve:index/haresource:Haresource", "prod-api-ha-101"],
            ["proxmoxve:index/harule:Harule", "prod-api-harule-ha-guest-101"],
        ];
        const rolesOf = (chain: [string, string][]) => chain.map(([type, name]) => roleOf({ type, name }));
        const kindsOf = (roles: string[]) => roles.slice(1).map((to, i) => constraintFor(roles[i]!, to)?.kind);
        const pool = rolesOf([...viaPool, ...rest]);
        assert.deepEqual(pool, ["ssh-ready", "zpool", "storage", "vm", "replication", "ha-resource", "ha-rule"]);
        assert.deepEqual(kindsOf(pool), ["design", "required", "required", "required", "required", "required"]);
        const join = rolesOf([...viaJoin, ...rest]);
        assert.deepEqual(join, ["cluster-create", "join", "storage", "vm", "replication", "ha-resource", "ha-rule"]);
        assert.deepEqual(kindsOf(join), ["required", "required", "required", "required", "required", "required"]);
        assert.equal(constraintFor("cluster-create", "qnetd-authorize")?.kind, "required");
        assert.equal(roleOf({ type: CMD, name: "prod-hosts-qnetd-packages" }), "qnetd-packages");
        assert.equal(roleOf({ type: CMD, name: "prod-hosts-prox1-packages" }), "packages");
        assert.equal(constraintFor("vm", "cluster-create"), undefined);
    });

    it("lab's fresh path ends HA resource ▶ (node-affinity rule | HA manager wait) ▶ resource-affinity rule, each edge with a reason", async () => {
        const lab = await runStack("lab");
        const chain = criticalChain(lab.records, stepGraph(lab.records));
        const roles = chain.map((l) => roleOf(l));
        assert.deepEqual(roles.slice(-3), ["ha-resource", "ha-rule", "ha-rule"]);
        assert.equal(chain.at(-1)!.name, "lab-api-harule-dns-apart");
        // The wait ends in the same stage as the node-affinity rule: it adds no stage of its own.
        assert.ok(chain.at(-1)!.alsoTight.includes("lab-api-ha-manager-ready"), JSON.stringify(chain.slice(-3)));
        assert.equal(roleOf({ type: CMD, name: "lab-api-ha-manager-ready" }), "ha-manager-ready");
        for (const [from, to] of [
            ["ha-resource", "ha-rule"],
            ["ha-rule", "ha-rule"],
            ["ha-resource", "ha-manager-ready"],
            ["join", "ha-manager-ready"],
            ["cluster-create", "ha-manager-ready"],
            ["ha-manager-ready", "ha-rule"],
        ]) {
            assert.equal(constraintFor(from!, to!)?.kind, "required", `${from}>${to}`);
        }
        assert.equal(stageCount(stepGraph(lab.records)), 8);
    });

    it("a guest owns its VM, replication jobs, HA resource and node-affinity rule only", () => {
        for (const n of ["prod-api-vm-102", "prod-api-replication-102-0", "prod-api-ha-102", "prod-api-harule-ha-guest-102"]) {
            assert.ok(ownedByGuest(n, 102), n);
        }
        for (const n of [
            "prod-api-vm-1020",
            "prod-api-replication-1102-0",
            "prod-api-harule-keep-apart",
            "prod-api-storage",
            "prod-api-ha-1102",
        ]) {
            assert.ok(!ownedByGuest(n, 102), n);
        }
    });
});

describe("statistics", () => {
    it("median, min, max", () => {
        assert.deepEqual(summarize([3, 1, 2]), { median: 2, min: 1, max: 3, n: 3 });
        assert.equal(summarize([4, 1, 3, 2]).median, 2.5);
        assert.throws(() => summarize([]), /no values/);
        assert.throws(() => summarize([1, NaN]), /non-finite/);
        assert.equal(ratio(summarize([6]), summarize([4])), 1.5);
        assert.equal(round(1.23456, 3), 1.235);
    });
});
