/**
 * qdevice-setup.sh after a half-done `pvecm qdevice setup`, and the
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
 */
import * as assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { REAL, startHosts, type Hosts } from "../harness/hosts";
import { clusterFile, created, ok, pvecmStatus, qnetdInstalled, step } from "./cluster-steps";

const NET = "127.0.9";
const QNETD = `${NET}.20`;
const LINK = { prox1: "10.42.0.11", prox2: "10.42.0.12" } as const;
const NODES = ["prox1", "prox2"] as const;
const PASSWORD = "resume-test-pw";

describe("qdevice-setup resumes a half-done pvecm qdevice setup (real corosync)", () => {
    let site: Hosts;
    const setup = (...extra: string[]) => step(site, "prox1", "qdevice-setup", [QNETD, site.host("qnetd").hostKey, 3, ...extra]);

    before(async () => {
        site = await startHosts("resume", [
            { name: "prox1", address: `${NET}.11`, rootPassword: PASSWORD },
            { name: "prox2", address: `${NET}.12` },
            { name: "qnetd", address: QNETD, pve: false },
        ]);
        qnetdInstalled(site, "qnetd");
        for (const n of NODES) ok(await step(site, n, "corosync-vlan", ["vmbr0", 4001, `${LINK[n]}/24`, ""]), `vlan ${n}`);
        const c = created(await step(site, "prox1", "cluster-create", ["prod", "-", LINK.prox1]), "create", false);
        ok(await step(site, "prox2", "cluster-join", ["prod", `${NET}.11`, c.fingerprint, LINK.prox2], `${PASSWORD}\n`), "join");
        ok(await step(site, "qnetd", "qnetd-authorize", [c.pubkey]), "authorize");
    });
    after(async () => site?.close());

    it("interrupted right after the device block was written: pvecm refuses, the script's re-run finishes and verifies", async () => {
        site.fault("prox1", "qdevice-interrupt-after-write");
        const first = await setup();
        assert.notEqual(first.code, 0, "the interrupted run fails");
        assert.match(clusterFile(site, "corosync.conf"), /device \{/, "the device block was written");
        for (const n of NODES) assert.deepEqual(site.pids(n, REAL["corosync-qdevice"]), [], `${n}: no corosync-qdevice yet`);

        const direct = await site.run("prox1", `pvecm qdevice setup ${QNETD}`);
        assert.notEqual(direct.code, 0);
        assert.equal(direct.stderr, "QDevice already configured!\n");

        const again = await setup();
        assert.equal(again.code, 0, again.stderr);
        assert.equal(again.stdout, `qdevice=${QNETD} action=configured\n`);
        for (const n of NODES) {
            const r = await site.run(n, "pvecm status");
            assert.equal(r.code, 0, r.stderr);
            const s = pvecmStatus(r.stdout);
            assert.deepEqual([s.expected, s.total, s.flags], [3, 3, ["Quorate", "Qdevice"]], n);
            assert.ok(site.pids(n, REAL["corosync-qdevice"]).length >= 1, `${n}: the real corosync-qdevice runs`);
            assert.equal(site.exec(n, "systemctl is-enabled corosync-qdevice").stdout, "enabled\n", `${n}: enabled, as pvecm does`);
        }
        assert.deepEqual(ok(await setup(), "re-run"), { qdevice: QNETD, action: "present" });
    });
});
