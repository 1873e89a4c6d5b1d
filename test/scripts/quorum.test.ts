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
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { parse, stringify } from "yaml";
import { failureCases } from "../../components/facts";
import type { Site } from "../../components/model";
import { loadStackSite } from "../../tools/health/load";
import { ROOT } from "../../tools/lib/stack";
import { REAL, startHosts, type Hosts, type RunResult } from "../harness/hosts";
import { SCENARIOS, WATCHDOG_DEFAULT_SOFTDOG } from "../health/fixtures";
import { created, ok, pvecmStatus, qnetdInstalled, step, waitStatus } from "./cluster-steps";

const NET = "127.0.8";
const QNETD = `${NET}.20`;
const LINK = { prox1: "10.41.0.11", prox2: "10.41.0.12" } as const;
const NODES = ["prox1", "prox2"] as const;
const PASSWORD = "quorum-test-pw";
const TSX = path.join(ROOT, "node_modules", ".bin", "tsx");
const CLI = path.join(ROOT, "tools", "health", "cli.ts");

/** The test stack: Pulumi.prod.yaml with this site's addresses, host keys and link0 addresses. */
function writeStack(site: Hosts, tieBreaker: "lowest" | "highest"): string {
    const doc = parse(fs.readFileSync(path.join(ROOT, "Pulumi.prod.yaml"), "utf8")) as { config: Record<string, unknown> };
    const nodes = doc.config["proxmox-ha:nodes"] as Record<string, unknown>[];
    for (const n of nodes) {
        const h = site.host(n.name as string);
        Object.assign(n, { address: h.address, sshPort: 22, sshHostKey: h.hostKey, links: [{ address: LINK[h.name as "prox1"] }] });
    }
    const q = site.host("qnetd");
    Object.assign(doc.config["proxmox-ha:qdevice"] as Record<string, unknown>, {
        address: q.address,
        sshPort: 22,
        sshHostKey: q.hostKey,
        tieBreaker,
    });
    const file = path.join(site.root, `Pulumi.quorum-${tieBreaker}.yaml`);
    fs.writeFileSync(file, stringify(doc));
    return file;
}

/** Nodes whose `pvecm status` exits 0 (quorate) right now. */
async function quorateNodes(site: Hosts): Promise<string[]> {
    const out: string[] = [];
    for (const n of NODES) if ((await site.run(n, "pvecm status")).code === 0) out.push(n);
    return out;
}

/** Polls until the set of quorate nodes is `want` and `also` holds (real state changes take seconds). */
async function settle(site: Hosts, want: readonly string[], what: string, also: () => Promise<boolean> = async () => true): Promise<void> {
    let got: string[] = [];
    for (let i = 0; i < 240; i++) {
        got = await quorateNodes(site);
        if (JSON.stringify(got) === JSON.stringify(want) && (await also())) return;
        await new Promise((r) => setTimeout(r, 250));
    }
    const status = await Promise.all(NODES.map((n) => site.run(n, "pvecm status")));
    assert.fail(
        `${what}: quorate ${JSON.stringify(got)}, expected ${JSON.stringify(want)}\n${status.map((s) => s.stdout + s.stderr).join("\n")}`,
    );
}

const votingEverywhere = (site: Hosts) => async () => {
    for (const n of NODES) {
        const r = await site.run(n, "pvecm status");
        if (r.code !== 0) return false;
        const s = pvecmStatus(r.stdout);
        if (s.total !== 3 || !/^0x00000000\s+1\s+Qdevice$/m.test(r.stdout)) return false;
    }
    return true;
};

/** Back to the healthy state: links up, every daemon running, both nodes quorate with 3 votes. */
async function restore(site: Hosts): Promise<void> {
    site.link("prox1", "eno1", true);
    site.link("prox2", "eno1", true);
    assert.equal(site.exec("qnetd", "systemctl start corosync-qnetd").code, 0);
    for (const n of NODES) {
        const r = site.exec(n, "systemctl start corosync corosync-qdevice");
        assert.equal(r.code, 0, `${n}: ${r.stderr}`);
    }
    await settle(site, ["prox1", "prox2"], "healthy again", votingEverywhere(site));
}

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
    let site: Hosts;
    let stack = "";
    let model: Site;

    before(async () => {
        site = await startHosts("quorum", [
            { name: "prox1", address: `${NET}.11`, rootPassword: PASSWORD },
            { name: "prox2", address: `${NET}.12` },
            { name: "qnetd", address: QNETD, pve: false },
        ]);
        qnetdInstalled(site, "qnetd");
        for (const n of NODES) {
            ok(await step(site, n, "corosync-vlan", ["vmbr0", 4001, `${LINK[n]}/24`, ""]), `vlan ${n}`);
            site.exec(n, `printf '%s' '${WATCHDOG_DEFAULT_SOFTDOG.replace(/\n/g, "\\n")}' >/etc/default/pve-ha-manager`);
            site.softdogInUse(n);
        }
        const c = created(await step(site, "prox1", "cluster-create", ["prod", "-", LINK.prox1]), "create", false);
        ok(await step(site, "prox2", "cluster-join", ["prod", `${NET}.11`, c.fingerprint, LINK.prox2], `${PASSWORD}\n`), "join");
        ok(await step(site, "qnetd", "qnetd-authorize", [c.pubkey]), "authorize");
        ok(await step(site, "prox1", "qdevice-setup", [QNETD, site.host("qnetd").hostKey, 3]), "qdevice");
        stack = writeStack(site, "lowest");
        const l = loadStackSite("quorum-lowest", stack);
        assert.ok(l.site, JSON.stringify(l.problems));
        model = l.site;
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
