/**
 * The quorum behaviour of a two-node site with a QDevice, with the REAL
 * corosync, corosync-qdevice and corosync-qnetd (Debian binaries, one network
 * namespace per host: test/harness/hosts.ts), the site built by the project's
 * own scripts with the exact component command text: corosync-vlan →
 * cluster-create (link0 on the VLAN) → cluster-join → qnetd-authorize →
 * qdevice-setup.
 *
 * Proves:
 * - the fresh site is "Quorate Qdevice" with 3 expected and 3 total votes on
 *   both nodes, and the processes are the real binaries (/proc/<pid>/exe);
 * - every failure row `components/facts.ts` (`failureCases`, what the plan
 *   prints) gives for this site, produced for real, leaves exactly the nodes
 *   the row names quorate: a node lost (its corosync SIGKILLed: the survivor
 *   keeps quorum on the QDevice vote), the QNetd lost (the QDevice stops
 *   voting, both stay quorate; started again, it votes again), the link
 *   between the nodes cut (`ip link set eno1 down` in prox2's namespace, both
 *   still reach the QNetd on vmbr0: ffsplit gives the vote to the tie-breaker's
 *   node, the other loses quorum);
 * - a node and the QNetd lost together: the survivor is inquorate;
 * - the health check (the real CLI over real SSH) reads these real states:
 *   healthy exits 0; node + QNetd lost exits 1 with ✗ quorate on the
 *   survivor, ✗ corosync on the lost node and ✗ corosync-qnetd. Its other
 *   inputs (pvesr, zpool, ha-manager, the clock) are replayed healthy
 *   answers of test/health/fixtures.ts: only the corosync rows are asserted.
 *
 * Does NOT prove: pmxcfs or HA behaviour (fakes), the pool-loss rows (no
 * corosync effect), anything about real networks beyond these namespaces.
 */
import * as assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { failureCases } from "../../components/facts";
import type { Site } from "../../components/model";
import { ROOT } from "../../tools/lib/stack";
import { REAL, type Hosts, type RunResult } from "../harness/hosts";
import { SCENARIOS, WATCHDOG_DEFAULT_SOFTDOG } from "../health/fixtures";
import { ok, pvecmStatus, step, waitStatus } from "./cluster-steps";
import { NODES, quorateNodes, restore, settle, siteModel, twoNodeSite, votingEverywhere, type TwoNodeSite } from "./two-node-site";

const TSX = path.join(ROOT, "node_modules", ".bin", "tsx");
const CLI = path.join(ROOT, "tools", "health", "cli.ts");

function killCorosync(site: Hosts, node: string): void {
    const pids = site.pids(node, REAL.corosync);
    assert.equal(pids.length, 1, `${node}: one real corosync`);
    process.kill(pids[0]!, "SIGKILL");
}

/** The health CLI, run where the hosts' addresses are reachable (the switch namespace). */
function health(site: Hosts, file: string): Promise<RunResult> {
    for (const n of NODES) {
        const r = SCENARIOS.healthy.nodes[n];
        const answer = (x: { stdout: string; stderr: string; code: number | null } | undefined) => ({ ...x!, code: x!.code ?? 255 });
        site.replay(n, "pvesr", "status", answer(r.pvesr));
        site.replay(n, "date", "+%Y-%m-%d_%H:%M:%S", answer(r.clock));
        site.replay(n, "zpool", "list -H -o name,health", answer(r.zpoolList));
        site.replay(n, "zpool", "status -x", answer(r.zpoolStatus));
        site.replay(n, "ha-manager", "status", answer(r.ha));
    }
    return new Promise((resolve, reject) => {
        const env = { ...process.env };
        delete env.SSH_AUTH_SOCK;
        delete env.PROXMOX_HA_SSH_KEY;
        const p = spawn(
            site.switchPrefix[0]!,
            [...site.switchPrefix.slice(1), TSX, CLI, "--file", file, "--identity", site.clientKeyFile],
            {
                cwd: ROOT,
                env,
                stdio: ["ignore", "pipe", "pipe"],
            },
        );
        let stdout = "";
        let stderr = "";
        p.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
        p.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
        p.once("error", reject);
        p.once("close", (code) => {
            for (const n of NODES) site.resetReplay(n);
            resolve({ code: code ?? 128, stdout, stderr });
        });
    });
}

/** The table row of one check: "  ✗  <check>  <measured> …" inside the block of one host. */
function row(out: string, host: RegExp, mark: "✓" | "✗" | "?", check: string): string {
    const block = out.split("\n\n").find((b) => host.test(b.split("\n")[0]!));
    assert.ok(block, `no table ${host} in:\n${out}`);
    const l = block.split("\n").find((x) => x.startsWith(`  ${mark}  ${check}  `));
    assert.ok(l, `no row "${mark}  ${check}" in:\n${block}`);
    return l;
}

describe("real corosync, QNetd and QDevice: a two-node site under failures", () => {
    let s: TwoNodeSite;
    let site: Hosts;
    let stack = "";
    let model: Site;
    let QNETD = "";
    let LINK: TwoNodeSite["link"];

    before(async () => {
        s = await twoNodeSite("quorum", "127.0.8", "10.41.0");
        site = s.site;
        QNETD = s.qnetd;
        LINK = s.link;
        for (const n of NODES) {
            site.exec(n, `printf '%s' '${WATCHDOG_DEFAULT_SOFTDOG.replace(/\n/g, "\\n")}' >/etc/default/pve-ha-manager`);
            site.softdogInUse(n);
        }
        ok(await step(site, "prox1", "qdevice-setup", s.qdeviceArgs("lowest")), "qdevice");
        ({ file: stack, model } = siteModel(s, "lowest"));
    });
    after(async () => site?.close());

    it("fresh site: Quorate Qdevice, 3 expected votes, on both nodes; the daemons are the real binaries", async () => {
        for (const n of NODES) {
            const r = await site.run(n, "pvecm status");
            assert.equal(r.code, 0, r.stderr);
            const s = pvecmStatus(r.stdout);
            assert.deepEqual([s.quorate, s.expected, s.total, s.flags], ["Yes", 3, 3, ["Quorate", "Qdevice"]], n);
            assert.match(s.qdeviceLine ?? "", /^0x00000000\s+1\s+Qdevice$/);
            assert.equal(site.pids(n, REAL.corosync).length, 1, `${n}: ${REAL.corosync}`);
            // corosync-qdevice forks its heuristics worker: two processes of the same binary.
            assert.ok(site.pids(n, REAL["corosync-qdevice"]).length >= 1, `${n}: ${REAL["corosync-qdevice"]}`);
            const link = site.exec(n, "corosync-cfgtool -s");
            assert.match(link.stdout, new RegExp(`addr\\s*=\\s*${LINK[n].replace(/\./g, "\\.")}`), `${n}: link0 on the VLAN address`);
        }
        assert.equal(site.pids("qnetd", REAL["corosync-qnetd"]).length, 1);
        const tool = site.exec("prox1", "corosync-qdevice-tool -s");
        assert.match(tool.stdout, /Algorithm:\s+Fifty-Fifty split/);
        assert.match(tool.stdout, /State:\s+Connected/);
    });

    it("health check against the real healthy site: exit 0", async () => {
        const r = await health(site, stack);
        assert.equal(r.code, 0, r.stdout + r.stderr);
        for (const n of NODES) {
            assert.match(row(r.stdout, new RegExp(`^node ${n} `), "✓", "quorate"), /Yes \(3 of 3 votes, quorum 2\)/);
            assert.match(
                row(r.stdout, new RegExp(`^node ${n} `), "✓", "QDevice connection"),
                new RegExp(`Connected to ${QNETD.replace(/\./g, "\\.")}:5403`),
            );
        }
        assert.match(row(r.stdout, /^qnetd host /, "✓", "corosync-qnetd"), /active/);
    });

    it("every failure row the plan prints for this site (but pool loss) leaves exactly its quorate nodes", async () => {
        const rows = failureCases(model).filter((c) => c.kind !== "pool");
        assert.deepEqual(
            rows.map((c) => c.failure),
            ["node prox1", "node prox2", `qdevice ${QNETD}`, "link prox1–prox2"],
        );
        for (const c of rows) {
            if (c.kind === "node") killCorosync(site, c.failure.replace("node ", ""));
            else if (c.kind === "qdevice") assert.equal(site.exec("qnetd", "systemctl stop corosync-qnetd").code, 0);
            else site.link("prox2", "eno1", false);
            const noVote = async () =>
                c.kind !== "qdevice" || /^0x00000000\s+0\s+Qdevice \(votes 1\)$/m.test((await site.run("prox1", "pvecm status")).stdout);
            await settle(site, c.quorateNodes, c.failure, noVote);
            await restore(site);
        }
    });

    it("QNetd lost: the QDevice stops voting, both stay quorate; QNetd back: voting again", async () => {
        assert.equal(site.exec("qnetd", "systemctl stop corosync-qnetd").code, 0);
        const down = await waitStatus(site, "prox1", (r) => /^0x00000000\s+0\s+Qdevice \(votes 1\)$/m.test(r.stdout), "QDevice not voting");
        assert.deepEqual([pvecmStatus(down.stdout).quorate, pvecmStatus(down.stdout).total], ["Yes", 2]);
        assert.deepEqual(await quorateNodes(site), ["prox1", "prox2"]);
        assert.equal(site.exec("qnetd", "systemctl start corosync-qnetd").code, 0);
        await settle(site, ["prox1", "prox2"], "voting again", votingEverywhere(site));
    });

    it("a node and the QNetd lost: the survivor is inquorate, and the health check says so", async () => {
        killCorosync(site, "prox2");
        assert.equal(site.exec("qnetd", "systemctl stop corosync-qnetd").code, 0);
        await settle(site, [], "node + QNetd lost");
        const r = await health(site, stack);
        assert.equal(r.code, 1, r.stdout + r.stderr);
        assert.match(row(r.stdout, /^node prox1 /, "✗", "quorate"), /No, activity blocked \(1 of 3 votes, quorum 2\)/);
        assert.match(row(r.stdout, /^node prox2 /, "✗", "corosync"), /not running/);
        assert.match(row(r.stdout, /^qnetd host /, "✗", "corosync-qnetd"), /inactive/);
        assert.match(r.stdout, /DEGRADED \(exit 1\)/);
        await restore(site);
    });
});
