/**
 * Proves: with zrepl enabled and the firewall on, the cluster rules admit the
 * zrepl source ports (as the zrepl component computes them) from the cluster
 * nodes only, before the firewall is enabled; with zrepl off there is no such
 * rule. Does not prove: that pve-firewall accepts the comma list (documented
 * syntax, not run here).
 */
import { describe, it } from "node:test";
import * as assert from "node:assert/strict";
import { one, runRaw, variant, waitsForAll } from "./harness";

const ZREPL_COMMENT = "zrepl source jobs: pulls between nodes";

function zreplRules(records: Parameters<typeof one>[0]) {
    const rules = one(records, "proxmoxve:firewall/rulesLegacy:RulesLegacy", "prod-api-fw-rules");
    return (rules.inputs.rules as { comment?: string; dport?: string; source?: string; proto?: string; type?: string }[]).filter(
        (r) => r.comment === ZREPL_COMMENT,
    );
}

describe("firewall and zrepl", () => {
    it("admits the zrepl port from the nodes when zrepl is on", async () => {
        const run = await runRaw(
            variant((r) => (r.zrepl = { enabled: true, port: 9000 })),
            "prod",
        );
        assert.deepEqual(
            zreplRules(run.records).map((r) => [r.type, r.proto, r.dport, r.source]),
            [["in", "tcp", "9000", "+cluster-nodes"]],
        );
        const enable = one(run.records, "proxmoxve:cluster/firewallLegacy:FirewallLegacy", "prod-api-fw-enable");
        const rules = one(run.records, "proxmoxve:firewall/rulesLegacy:RulesLegacy", "prod-api-fw-rules");
        assert.ok(waitsForAll(run.records, enable.urn, rules.urn), "the firewall is enabled only after the rules");
    });
    it("has no zrepl rule when zrepl is off", async () => {
        const run = await runRaw(
            variant(() => undefined),
            "prod",
        );
        assert.deepEqual(zreplRules(run.records), []);
    });
});
