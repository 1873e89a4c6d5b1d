/**
 * qdevice-setup.sh after a half-done `pvecm qdevice setup`, and the stack's
 * tie-breaker, with the REAL corosync, corosync-qdevice and corosync-qnetd
 * (test/harness/hosts.ts).
 *
 * pvecm qdevice setup (pve-cluster src/PVE/CLI/pvecm.pm, setup_qdevice)
 * writes the `device` block into /etc/pve/corosync.conf, THEN starts and
 * enables corosync-qdevice on each node over SSH, THEN runs
 * `corosync-cfgtool -R`. The fake pvecm does exactly that with the real tools
 * and can be killed right after the write (fault qdevice-interrupt-after-write).
 *
 * Proves (issue #11 point 9): interrupted after the write, pvecm itself refuses
 * a second run ("QDevice already configured!"), and the script's re-run
 * finishes the remaining steps (corosync-qdevice started and enabled on every
 * node, cluster-wide reload), then verifies: Quorate Qdevice, 3 votes on both
 * nodes (action=configured); a further re-run is a no-op (action=present).
 *
 * Proves (issue #11 point 10): pvecm writes no tie_breaker, and
 * corosync-qdevice's default is the lowest node id (man corosync-qdevice;
 * pve-docs pvecm.adoc "Tie Breaking"). With the stack's tie-breaker as the
 * script's fourth argument (what components/hosts/bootstrap.ts passes), the
 * script sets `tie_breaker` in quorum.device.net of /etc/pve/corosync.conf
 * (pvecm.adoc "Edit corosync.conf": a copy, config_version raised, moved
 * over) and restarts corosync-qdevice on every node (pvecm.adoc: the option
 * "requires a restart of corosync-qdevice.service on all nodes"); then the
 * real link split (`ip link set eno1 down`, both nodes still reach the QNetd)
 * leaves exactly the node quorate that the plan's failure row
 * (components/facts.ts) names: prox2 for highest, prox1 for lowest. Re-runs
 * are no-ops.
 */
import * as assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { failureCases } from "../../components/facts";
import { REAL, type Hosts } from "../harness/hosts";
import { clusterFile, ok, pvecmStatus, step } from "./cluster-steps";
import { NODES, restore, settle, siteModel, twoNodeSite, type TieBreaker, type TwoNodeSite } from "./two-node-site";

describe("qdevice-setup resumes a half-done pvecm qdevice setup and applies the tie-breaker (real corosync)", () => {
    let s: TwoNodeSite;
    let site: Hosts;
    const setup = (tb: TieBreaker = "lowest") => step(site, "prox1", "qdevice-setup", s.qdeviceArgs(tb));

    before(async () => {
        s = await twoNodeSite("resume", "127.0.9", "10.42.0");
        site = s.site;
    });
    after(async () => site?.close());

    it("interrupted right after the device block was written: pvecm refuses, the script's re-run finishes and verifies", async () => {
        site.fault("prox1", "qdevice-interrupt-after-write");
        const first = await setup();
        assert.notEqual(first.code, 0, "the interrupted run fails");
        assert.match(clusterFile(site, "corosync.conf"), /device \{/, "the device block was written");
        for (const n of NODES) assert.deepEqual(site.pids(n, REAL["corosync-qdevice"]), [], `${n}: no corosync-qdevice yet`);

        const direct = await site.run("prox1", `pvecm qdevice setup ${s.qnetd}`);
        assert.notEqual(direct.code, 0);
        assert.equal(direct.stderr, "QDevice already configured!\n");

        const again = await setup();
        assert.equal(again.code, 0, again.stderr);
        assert.equal(again.stdout, `qdevice=${s.qnetd} action=configured\n`);
        for (const n of NODES) {
            const r = await site.run(n, "pvecm status");
            assert.equal(r.code, 0, r.stderr);
            const st = pvecmStatus(r.stdout);
            assert.deepEqual([st.expected, st.total, st.flags], [3, 3, ["Quorate", "Qdevice"]], n);
            assert.ok(site.pids(n, REAL["corosync-qdevice"]).length >= 1, `${n}: the real corosync-qdevice runs`);
            assert.equal(site.exec(n, "systemctl is-enabled corosync-qdevice").stdout, "enabled\n", `${n}: enabled, as pvecm does`);
        }
        assert.deepEqual(ok(await setup(), "re-run"), { qdevice: s.qnetd, action: "present" });
        assert.doesNotMatch(clusterFile(site, "corosync.conf"), /tie_breaker/, "lowest is corosync-qdevice's default: nothing written");
    });

    for (const tb of ["highest", "lowest"] as const) {
        it(`tieBreaker ${tb}: applied on every node; a real link split leaves the node the plan names quorate`, async () => {
            const version = Number(/config_version: (\d+)/.exec(clusterFile(site, "corosync.conf"))![1]);
            assert.deepEqual(ok(await setup(tb), "apply"), { qdevice: s.qnetd, action: "configured" });
            const conf = clusterFile(site, "corosync.conf");
            assert.match(conf, new RegExp(`^ +net \\{\\n(?: +\\S+: \\S+\\n)*? +tie_breaker: ${tb}\\n`, "m"));
            assert.equal(Number(/config_version: (\d+)/.exec(conf)![1]), version + 1);
            for (const n of NODES) {
                assert.match(site.exec(n, "corosync-qdevice-tool -s").stdout, new RegExp(`Tie-breaker:\\s+Node with ${tb} node ID`), n);
            }
            const row = failureCases(siteModel(s, tb).model).find((c) => c.kind === "link")!;
            assert.deepEqual(row.quorateNodes, [tb === "lowest" ? "prox1" : "prox2"], "the plan's row");
            site.link("prox1", "eno1", false);
            await settle(site, row.quorateNodes, `${row.failure} with tie-breaker ${tb}`);
            await restore(site);
            assert.deepEqual(ok(await setup(tb), "re-run"), { qdevice: s.qnetd, action: "present" });
            assert.equal(clusterFile(site, "corosync.conf"), conf, "the re-run changes nothing");
        });
    }
});
