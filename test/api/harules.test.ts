/**
 * Proves: the HA rules the program actually declares for each committed stack
 * (the Harule resources recorded under the mock runtime, with their exact
 * inputs) pass Proxmox VE 9's feasibility checks, ported in
 * components/harules.ts from pve-ha-manager src/PVE/HA/Rules.pm
 * `check_feasibility` (the check src/PVE/API2/HA/Rules.pm runs on every
 * create and update, answering HTTP 400 "Rule '<id>' is invalid."); that each
 * resource-affinity rule is created only after the node-affinity rules of its
 * guests (so every intermediate rule set Proxmox sees is a subset that passes
 * too) and after the HA-manager wait; and that the stack summary lists the
 * same rules.
 * Before this change, lab and dc2 failed here: every HA guest had a
 * node-affinity rule with two priority classes, and their negative rules share
 * those guests ("resources are in node affinity rules with multiple
 * priorities", Rules.pm check_single_priority_node_affinity_in_resource_affinity_rules).
 * Does not prove: that a real Proxmox accepts them (no PVE here); the ported
 * checks are tested against Proxmox's own examples in test/site/harules.test.ts.
 */
import { describe, it, before } from "node:test";
import * as assert from "node:assert/strict";
import { checkFeasibility, dropMessages, type HaRuleSpec } from "../../components/harules";
import type { RecordedResource } from "../../tools/lib/mock-runtime";
import { runStack, waitsForAll, type Run } from "./harness";

const HARULE = "proxmoxve:index/harule:Harule";

/** A recorded Harule's inputs as the rule Proxmox would store (strict/disable default false). */
export function ruleOf(r: RecordedResource): HaRuleSpec {
    const i = r.inputs as Record<string, unknown>;
    const truthy = (v: unknown) => v === true || v === "true";
    if (i.type === "node-affinity") {
        return {
            type: "node-affinity",
            id: String(i.rule),
            resources: i.resources as string[],
            nodes: i.nodes as Record<string, number>,
            strict: truthy(i.strict),
            disabled: truthy(i.disable),
        };
    }
    assert.equal(i.type, "resource-affinity", `${r.name}: unknown rule type ${String(i.type)}`);
    return {
        type: "resource-affinity",
        id: String(i.rule),
        affinity: i.affinity as "positive" | "negative",
        resources: i.resources as string[],
        disabled: truthy(i.disable),
    };
}

for (const stack of ["prod", "lab", "dc2"]) {
    describe(`HA rules of Pulumi.${stack}.yaml`, () => {
        let run: Run;
        let recorded: RecordedResource[];
        let rules: HaRuleSpec[];
        before(async () => {
            run = await runStack(stack);
            recorded = run.api.filter((r) => r.type === HARULE);
            rules = recorded.map(ruleOf);
        });

        it("declares at least one rule per HA guest and every stack rule", () => {
            const haGuests = run.site.guests.filter((g) => g.ha);
            for (const g of haGuests)
                assert.ok(
                    rules.some((r) => r.type === "node-affinity" && r.resources.includes(`${g.type}:${g.vmid}`)),
                    `${g.type}:${g.vmid}`,
                );
            for (const r of run.site.haRules)
                assert.ok(
                    rules.some((x) => x.id === r.id),
                    r.id,
                );
        });

        it("passes every ported Proxmox check (Rules.pm check_feasibility) with the site's nodes", () => {
            const nodes = run.site.nodes.map((n) => n.name);
            assert.deepEqual(dropMessages(checkFeasibility(rules, nodes)), []);
        });

        it("creates each resource-affinity rule after the node-affinity rules of its guests", () => {
            for (const ra of recorded.filter((r) => ruleOf(r).type === "resource-affinity")) {
                const sids = new Set(ruleOf(ra).resources);
                for (const na of recorded.filter((r) => ruleOf(r).type === "node-affinity")) {
                    if (!ruleOf(na).resources.some((s) => sids.has(s))) continue;
                    assert.ok(waitsForAll(run.records, ra.urn, na.urn), `${ra.name} waits for ${na.name}`);
                }
            }
        });

        it("summarizes exactly the declared rules", () => {
            assert.deepEqual(run.layer.summary.ha.rules.map((r) => r.id).sort(), rules.map((r) => r.id).sort());
        });
    });
}
