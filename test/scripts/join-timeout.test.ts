/**
 * A join whose corosync traffic cannot pass (issue #11 point 7), over real
 * OpenSSH with the real corosync of the fake hosts (test/harness/hosts.ts):
 * the corosync link is a VLAN address on each node's `eno1` segment, the API
 * and SSH go over `vmbr0`, and the joiner's `eno1` is taken down.
 *
 * The fake pvecm add blocks where the real one blocks: once the peer's
 * addnode has written the joiner into corosync.conf, finish_join waits for
 * quorum without limit (pve-cluster src/PVE/Cluster/Setup.pm finish_join,
 * "waiting for quorum..."), and the peer, now expecting a second vote that
 * never arrives, is inquorate (real votequorum). `pvecm delnode` checks
 * quorum first (API2/ClusterConfig.pm delnode: check_cfs_quorum) and
 * `pvecm expected` is corosync-quorumtool -e (CLI/pvecm.pm expected).
 *
 * Proves:
 * - with the peer's link addresses given, cluster-join refuses before pvecm
 *   runs when this node cannot reach them on the link (and lets pvecm run
 *   when it can);
 * - without that check, the join is bounded: pvecm add is stopped after
 *   --timeout seconds and the script prints the recovery; before this change
 *   the script waited as long as pvecm (for ever);
 * - the recovery's order is the one that works on the peer: `pvecm delnode`
 *   fails with "cluster not ready - no quorum?", `pvecm expected 1` then
 *   `pvecm delnode` succeeds and the peer is quorate again.
 *
 * Does NOT prove: the joiner's own separation commands (pmxcfs -l, …;
 * pvecm.adoc "Separate a Node Without Reinstalling") — the fakes have no
 * pmxcfs; UDP blocked while ICMP passes (no packet filter in the test hosts:
 * the link is down instead, so the pre-check is skipped to reach the hang).
 */
import * as assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startHosts, type Hosts } from "../harness/hosts";
import { created, fakeCommands, ok, refused, step, waitStatus } from "./cluster-steps";

const PASSWORD = "join-timeout pw";

describe("join bounded in time, links checked first (real SSH, real corosync, fake PVE)", () => {
    let site: Hosts;
    let fp = "";
    const join = (opts: string[], stdin = `${PASSWORD}\n`) =>
        step(site, "prox2", "cluster-join", [...opts, "prod", "127.0.9.11", fp, "10.90.0.12"], stdin);
    const pvecmAdds = (from: number) => fakeCommands(site, "prox2", from).filter((c) => c.startsWith("pvecm add"));

    before(async () => {
        site = await startHosts("jointime", [
            { name: "prox1", address: "127.0.9.11", rootPassword: PASSWORD },
            { name: "prox2", address: "127.0.9.12" },
        ]);
        ok(await step(site, "prox1", "corosync-vlan", ["vmbr0", 90, "10.90.0.11/24", ""]), "vlan prox1");
        ok(await step(site, "prox2", "corosync-vlan", ["vmbr0", 90, "10.90.0.12/24", ""]), "vlan prox2");
        fp = created(await step(site, "prox1", "cluster-create", ["prod", "10.90.0.11"]), "create").fingerprint;
    });
    after(async () => site?.close());

    it("the link check lets pvecm run when the peer's link address answers", async () => {
        const from = site.calls("prox2").length;
        // A wrong password stops pvecm right after the check, changing nothing.
        refused(
            await join(["--peer-link", "10.90.0.11"], "wrong\n"),
            /failed \(pvecm add exit 0\): 401 authentication failure$/,
            "wrong pw",
        );
        assert.equal(pvecmAdds(from).length, 1, "pvecm add ran");
    });

    it("with the corosync link down, the join is refused before pvecm runs", async () => {
        site.link("prox2", "eno1", false);
        const from = site.calls("prox2").length;
        refused(
            await join(["--peer-link", "10.90.0.11"]),
            /^cluster-join: node prox2 cannot reach the first node's link0 address 10\.90\.0\.11 from its own 10\.90\.0\.12 \(.*\): corosync could not pass, the join would hang and leave 127\.0\.9\.11 without quorum; fix the link \(address, VLAN, cabling, firewall\) and re-run; nothing was changed$/,
            "link down",
        );
        assert.deepEqual(pvecmAdds(from), [], "pvecm add never ran");
        assert.equal((await site.run("prox1", "pvecm status")).code, 0, "prox1 is still quorate");
    });

    it("unchecked, pvecm add hangs after the peer added the node; the bound stops it and prints the recovery", async () => {
        const r = await join(["--timeout", "20"]);
        refused(
            r,
            /^cluster-join: pvecm add did not finish within 20s: 127\.0\.9\.11 added prox2, but the cluster never became quorate with it .*; recovery: on prox2 separate it: systemctl stop pve-cluster corosync; pmxcfs -l; .* On 127\.0\.9\.11 \(the first node\) restore quorum, then remove prox2: pvecm expected 1; pvecm delnode prox2 .*re-run pulumi up$/,
            "hung join",
        );
        await waitStatus(site, "prox1", (x) => x.code === 2, "prox1 inquorate: it counts prox2's vote that never comes");
    });

    it("the recovery on the peer: delnode alone fails for lack of quorum; expected 1, then delnode, works", async () => {
        const del = await site.run("prox1", "pvecm delnode prox2");
        assert.notEqual(del.code, 0);
        assert.equal(del.stderr, "cluster not ready - no quorum?\n");
        const exp = await site.run("prox1", "pvecm expected 1");
        assert.equal(exp.code, 0, exp.stderr);
        await waitStatus(site, "prox1", (x) => x.code === 0, "prox1 quorate with expected 1");
        const del2 = await site.run("prox1", "pvecm delnode prox2");
        assert.equal(del2.code, 0, del2.stderr);
        const conf = await site.run("prox1", "grep -c 'name: prox2' /etc/pve/corosync.conf");
        assert.equal(conf.stdout.trim(), "0", "prox2 is gone from the nodelist");
        await waitStatus(site, "prox1", (x) => x.code === 0 && /Expected votes:\s+1$/m.test(x.stdout), "prox1 quorate alone");
    });
});
