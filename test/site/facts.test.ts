/**
 * Proves: quorum maths (votequorum: floor(expected/2)+1, QDevice ffsplit = 1
 * vote) and the single-failure table derived from the stack, for the
 * reference site, a site without a QDevice and a four-node site.
 * Does not prove: what corosync actually does on a real network split (the
 * tie-breaker rule is from corosync-qdevice(8), not observed here).
 */
import { describe, it } from "node:test";
import * as assert from "node:assert/strict";
import { failureCases, guestRpos, quorumFacts } from "../../components/facts";
import { validateSite } from "../../components/validate";
import { mutate, referenceRaw } from "./fixtures";
import type { Site } from "../../components/model";

function site(raw = referenceRaw()): Site {
    const r = validateSite(raw);
    assert.deepEqual(r.problems, []);
    return r.site!;
}

describe("quorum", () => {
    it("two nodes and a QDevice: 3 expected votes, quorum 2", () => {
        assert.deepEqual(quorumFacts(site()), { nodeVotes: 2, qdeviceVotes: 1, expectedVotes: 3, quorum: 2, qdeviceAlgorithm: "ffsplit" });
    });
    it("two nodes without QDevice: 2 expected votes, quorum 2", () => {
        const s = site(
            mutate((r) => {
                delete r.qdevice;
                delete r.guests[0].ha;
            }),
        );
        assert.deepEqual(quorumFacts(s), { nodeVotes: 2, qdeviceVotes: 0, expectedVotes: 2, quorum: 2 });
    });
});

describe("failure table", () => {
    it("the reference site survives every single failure", () => {
        const cases = failureCases(site());
        assert.deepEqual(
            cases.map((c) => [c.failure, c.survives, c.quorateNodes]),
            [
                ["node prox1", true, ["prox2"]],
                ["node prox2", true, ["prox1"]],
                ["qdevice 10.0.0.120", true, ["prox1", "prox2"]],
                ["link prox1–prox2", true, ["prox1"]],
                ["pool pool1 on prox1", true, ["prox1", "prox2"]],
                ["pool pool1 on prox2", true, ["prox1", "prox2"]],
            ],
        );
        assert.deepEqual(cases[0]!.guests, ["vm 101 (fw) restarts on prox2 from the last replica: up to 5 min of writes lost"]);
        assert.equal(cases[0]!.summary, "quorate on prox2 (2 of 3 votes, 2 needed)");
    });
    it("without a QDevice, losing either node stops the cluster", () => {
        const cases = failureCases(
            site(
                mutate((r) => {
                    delete r.qdevice;
                    delete r.guests[0].ha;
                }),
            ),
        );
        assert.deepEqual(
            cases.filter((c) => c.kind !== "pool").map((c) => [c.failure, c.survives]),
            [
                ["node prox1", false],
                ["node prox2", false],
                ["link prox1–prox2", false],
            ],
        );
        assert.equal(cases[0]!.summary, "no partition has 2 of 2 votes: the cluster stops, HA guests fence");
    });
    it("with tie-breaker highest, prox2 wins a split", () => {
        const cases = failureCases(site(mutate((r) => (r.qdevice.tieBreaker = "highest"))));
        const link = cases.find((c) => c.kind === "link")!;
        assert.deepEqual(link.quorateNodes, ["prox2"]);
        assert.deepEqual(link.guests, ["vm 101 (fw) restarts on prox2 from the last replica: up to 5 min of writes lost"]);
    });
    it("a negative resource-affinity rule keeps a guest off its partner's node", () => {
        const s = site(
            mutate((r) => {
                r.guests.push({ vmid: 102, name: "fw2", node: "prox2", disks: [{ sizeGb: 8 }], ha: {} });
                r.haRules = [{ id: "apart", affinity: "negative", guests: [101, 102] }];
            }),
        );
        const lose1 = failureCases(s)[0]!;
        assert.deepEqual(lose1.guests, [
            "vm 101 (fw) stays down: its resource-affinity rule keeps it off prox2 (where its replica is) until prox1 returns",
            "vm 102 (fw2) keeps running on prox2",
        ]);
    });
    it("a positive rule moves a guest only to its partner's node", () => {
        const s = site(
            mutate((r) => {
                r.guests.push({ vmid: 102, name: "app", node: "prox2", disks: [{ sizeGb: 8 }], ha: {} });
                r.haRules = [{ id: "together", affinity: "positive", guests: [101, 102] }];
            }),
        );
        assert.deepEqual(failureCases(s)[0]!.guests[0], "vm 101 (fw) restarts on prox2 from the last replica: up to 5 min of writes lost");
    });
    it("a guest that is not HA appears in the node-loss rows and waits for its node (issue #13)", () => {
        const s = site(mutate((r) => r.guests.push({ vmid: 102, name: "app", node: "prox2", disks: [{ sizeGb: 8 }] })));
        assert.deepEqual(failureCases(s)[1]!.guests, [
            "vm 101 (fw) keeps running on prox1",
            "vm 102 (app) is down until prox2 returns (not an HA guest), or until you start it by hand from its replica on prox1 (up to 5 min lost)",
        ]);
        assert.equal(failureCases(s)[1]!.manualRecovery, true, "losing prox2 needs a manual step for vm 102");
        assert.deepEqual(failureCases(s)[0]!.guests.slice(1), ["vm 102 (app) keeps running on prox2"]);
        assert.equal(failureCases(s)[0]!.manualRecovery, false, "losing prox1: HA restarts vm 101 by itself");
        assert.deepEqual(
            guestRpos(s).map((g) => [g.vmid, g.worstCaseRpoMinutes]),
            [
                [101, 5],
                [102, 5],
            ],
        );
    });
});
