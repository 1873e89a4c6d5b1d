/**
 * Proves: the health check's parsers read the formats documented in
 * docs/proxmox-facts.md (pvecm status §4 — including the reference's
 * verbatim example —, corosync-qdevice-tool §3, ha-manager status §5, pvesr
 * status §6) and real zfs-fuse `zpool` output (captured in fixtures, and
 * produced live on a file-backed pool that is then degraded); that one node
 * down still reads as quorate with Total votes 2; that `Activity blocked`
 * with exit 2 reads as not quorate; that a failing replication job (error
 * text in State, `-` for LastSync) is read with its text; and that anything
 * not in the documented shape is "cannot tell" (ok: false), never a verdict.
 * Does not prove: that a real Proxmox node prints exactly this (no PVE here;
 * the formats come from the reference and the Proxmox/corosync sources it
 * cites), nor anything about SSH (see e2e.test.ts).
 */
import { after, describe, it } from "node:test";
import * as assert from "node:assert/strict";
import {
    minutesBetween,
    parseHaStatus,
    parseNodeClock,
    parsePvecmStatus,
    parsePvesrStatus,
    parseQdeviceTool,
    parseWatchdogDefault,
    parseWatchdogProbe,
    parseZpoolList,
    parseZpoolStatusX,
    type Parsed,
} from "../../tools/health/parsers";
import {
    haStatus,
    JOB_FAILING,
    JOB_OK,
    pvecmStatus,
    pvesrStatus,
    QDEVICE_SOCKET_MISSING,
    qdeviceTool,
    REFERENCE_PVECM_EXAMPLE,
    REFERENCE_PVESR_EXAMPLE,
    res,
    SCENARIOS,
    ZPOOL_STATUS_X_DEGRADED,
} from "./fixtures";
import { zfsSandbox, type ZfsSandbox } from "../harness/zfs";

function value<T>(p: Parsed<T>): T {
    if (!p.ok) assert.fail(`expected a value, got cannot tell: ${p.reason}`);
    return p.value;
}

function cannotTell<T>(p: Parsed<T>, reason: RegExp): void {
    assert.equal(p.ok, false, `expected cannot tell, got ${JSON.stringify(p)}`);
    if (!p.ok) assert.match(p.reason, reason);
}

describe("pvecm status", () => {
    it("the fixture builder reproduces the reference's example byte for byte", () => {
        const built = pvecmStatus({
            nodes: 2,
            expected: 3,
            total: 3,
            quorum: 2,
            quorate: true,
            flags: ["Quorate", "Qdevice"],
            members: [
                ["0x00000001", 1, "A,V,NMW", "10.0.0.1", true],
                ["0x00000002", 1, "A,V,NMW", "10.0.0.2", false],
            ],
            qdevice: { votes: 1 },
        }).replace("Thu Jan  1 10:02:00 2026", "Tue Sep 14 11:06:47 2021");
        assert.equal(built, REFERENCE_PVECM_EXAMPLE);
    });

    it("healthy two nodes with a QDevice: quorate, 3 of 3 votes, Qdevice voting", () => {
        const s = value(parsePvecmStatus(res(REFERENCE_PVECM_EXAMPLE)));
        assert.equal(s.state, "status");
        if (s.state !== "status") return;
        assert.equal(s.quorate, true);
        assert.equal(s.clusterName, "prod");
        assert.deepEqual([s.nodes, s.expectedVotes, s.totalVotes, s.quorum], [2, 3, 3, 2]);
        assert.equal(s.activityBlocked, false);
        assert.deepEqual(s.flags, ["Quorate", "Qdevice"]);
        assert.deepEqual(s.members, [
            { nodeId: 1, votes: 1, qdeviceFlags: "A,V,NMW", address: "10.0.0.1", local: true },
            { nodeId: 2, votes: 1, qdeviceFlags: "A,V,NMW", address: "10.0.0.2", local: false },
        ]);
        assert.deepEqual(s.qdevice, { votes: 1, casting: true });
    });

    it("one node down: Total votes 2 and still quorate (the QDevice vote counts)", () => {
        const s = value(parsePvecmStatus(SCENARIOS.nodeDown.nodes.prox1.pvecm!));
        assert.ok(s.state === "status");
        assert.equal(s.quorate, true);
        assert.equal(s.totalVotes, 2);
        assert.equal(s.nodes, 1);
        assert.deepEqual(
            s.members.map((m) => m.address),
            ["10.10.10.11"],
        );
        assert.deepEqual(s.qdevice, { votes: 1, casting: true });
    });

    it("not quorate: Quorate No, `Activity blocked`, exit 2, QDevice not casting", () => {
        const r = SCENARIOS.notQuorate.nodes.prox1.pvecm!;
        assert.equal(r.code, 2);
        assert.match(r.stdout, /^Quorum: {11}2 Activity blocked$/m);
        const s = value(parsePvecmStatus(r));
        assert.ok(s.state === "status");
        assert.equal(s.quorate, false);
        assert.equal(s.activityBlocked, true);
        assert.deepEqual(s.flags, ["Qdevice"]);
        assert.deepEqual(s.qdevice, { votes: 1, casting: false });
        assert.equal(s.members[0]!.qdeviceFlags, "NA,NV,NMW");
    });

    it("a cluster without QDevice has no Qdevice column and no Qdevice line", () => {
        const text = pvecmStatus({
            nodes: 2,
            expected: 2,
            total: 2,
            quorum: 2,
            quorate: true,
            flags: ["Quorate"],
            members: [
                ["0x00000001", 1, undefined, "10.0.0.1", true],
                ["0x00000002", 1, undefined, "10.0.0.2", false],
            ],
        });
        const s = value(parsePvecmStatus(res(text)));
        assert.ok(s.state === "status");
        assert.equal(s.qdevice, undefined);
        assert.deepEqual(
            s.members.map((m) => [m.address, m.qdeviceFlags]),
            [
                ["10.0.0.1", undefined],
                ["10.0.0.2", undefined],
            ],
        );
    });

    it("documented failures are findings: corosync down (exit 1) and not in a cluster", () => {
        const down = value(parsePvecmStatus(res("", 1, "Cannot initialize CMAP service\n")));
        assert.deepEqual(down, { state: "corosync-down", message: "Cannot initialize CMAP service" });
        const alone = value(
            parsePvecmStatus(
                res("", 2, "Error: Corosync config '/etc/pve/corosync.conf' does not exist - is this node part of a cluster?\n"),
            ),
        );
        assert.equal(alone.state, "not-clustered");
    });

    it("unrecognised output is cannot tell, never a verdict", () => {
        cannotTell(parsePvecmStatus(res("Segmentation fault\n", 139)), /exited 139/);
        cannotTell(parsePvecmStatus(res("something else\n", 1)), /failed \(exit 1\)/);
        cannotTell(parsePvecmStatus(res("hello\n")), /no Name, Quorate, Nodes/);
        // Exit code and Quorate line contradict each other.
        cannotTell(parsePvecmStatus(res(REFERENCE_PVECM_EXAMPLE, 2)), /exit 2 but Quorate: Yes/);
        // A flag votequorum does not print.
        cannotTell(
            parsePvecmStatus(res(REFERENCE_PVECM_EXAMPLE.replace("Quorate Qdevice ", "Quorate Qdevice Turbo "))),
            /unknown flag Turbo/,
        );
        // A truncated membership table.
        cannotTell(parsePvecmStatus(res(REFERENCE_PVECM_EXAMPLE.replace(/Membership information[\s\S]*$/, ""))), /no membership table/);
        // A mangled member line.
        cannotTell(
            parsePvecmStatus(res(REFERENCE_PVECM_EXAMPLE.replace("0x00000002          1    A,V,NMW", "0x00000002          1    ?????"))),
            /Qdevice column/,
        );
    });
});

describe("corosync-qdevice-tool -s", () => {
    it("connected, ffsplit, lowest node id", () => {
        assert.deepEqual(value(parseQdeviceTool(res(qdeviceTool()))), {
            state: "running",
            connection: "Connected",
            algorithm: "ffsplit",
            tieBreaker: "lowest",
            qnetdHost: "10.0.0.120:5403",
        });
    });
    it("tab-separated values (as the C source prints them) read the same", () => {
        const tabs = qdeviceTool().replace(/: +/g, ":\t\t");
        assert.equal(value(parseQdeviceTool(res(tabs))).state, "running");
    });
    it("exit 3 (no socket) means the daemon is not running", () => {
        assert.deepEqual(value(parseQdeviceTool(QDEVICE_SOCKET_MISSING)), {
            state: "not-running",
            message: "Can't connect to QDevice socket (is QDevice running?)",
        });
    });
    it("unknown algorithm, tie-breaker text, missing block or other exit codes: cannot tell", () => {
        cannotTell(parseQdeviceTool(res(qdeviceTool({ algorithm: "Quantum" }))), /Algorithm: Quantum/);
        cannotTell(parseQdeviceTool(res(qdeviceTool({ tieBreaker: "Coin toss" }))), /Tie-breaker: Coin toss/);
        cannotTell(parseQdeviceTool(res("Qdevice information\n-------------------\nModel: Net\n")), /no Qdevice/);
        cannotTell(parseQdeviceTool(res("", 2, "internal error\n")), /exited 2/);
    });
});

describe("pvesr status", () => {
    it("the fixture builder reproduces the reference's example byte for byte", () => {
        const built = pvesrStatus([
            {
                id: "100-0",
                target: "pve2",
                last: "2026-01-01_10:00:02",
                next: "2026-01-01_10:15:00",
                duration: "2.345678",
                fails: 0,
                state: "OK",
            },
        ]);
        assert.equal(built, REFERENCE_PVESR_EXAMPLE);
    });
    it("a healthy job", () => {
        assert.deepEqual(value(parsePvesrStatus(res(pvesrStatus([JOB_OK])))), [
            {
                id: JOB_OK.id,
                enabled: true,
                target: "local/prox2",
                lastSync: "2026-01-01_10:00:02",
                nextSync: "2026-01-01_10:05:00",
                durationSeconds: 2.345678,
                failCount: 0,
                state: "OK",
            },
        ]);
    });
    it("a failing job: the error text in State, `-` for LastSync and Duration", () => {
        const [j] = value(parsePvesrStatus(res(pvesrStatus([JOB_FAILING]))));
        assert.equal(j!.state, "No common base snapshot on volume(s) pool1:vm-101-disk-0");
        assert.equal(j!.lastSync, undefined);
        assert.equal(j!.durationSeconds, undefined);
        assert.equal(j!.failCount, 3);
    });
    it("a disabled job, SYNCING and `pending`", () => {
        const [a, b] = value(
            parsePvesrStatus(
                res(
                    pvesrStatus([
                        { ...JOB_OK, enabled: false },
                        { ...JOB_OK, id: "102-1", next: "pending", state: "SYNCING" },
                    ]),
                ),
            ),
        );
        assert.equal(a!.enabled, false);
        assert.deepEqual([b!.nextSync, b!.state], ["pending", "SYNCING"]);
    });
    it("no jobs: the header alone", () => {
        assert.deepEqual(value(parsePvesrStatus(res(pvesrStatus([])))), []);
    });
    it("unrecognised output is cannot tell", () => {
        cannotTell(parsePvesrStatus(res("")), /header/);
        // The pre-9 layout without the Enabled column is not the documented one.
        cannotTell(
            parsePvesrStatus(
                res("JobID                Target                           LastSync             NextSync   Duration  FailCount State\n"),
            ),
            /header/,
        );
        cannotTell(parsePvesrStatus(res(pvesrStatus([{ ...JOB_OK, last: "yesterday" }]))), /LastSync "yesterday"/);
        cannotTell(parsePvesrStatus(res(`${pvesrStatus([JOB_OK])}garbage line\n`)), /garbage line/);
        cannotTell(parsePvesrStatus(res("", 255, "ipcc_send_rec failed\n")), /exited 255/);
    });
    it("node clock and age in minutes, in the node's own time", () => {
        assert.equal(value(parseNodeClock(res("2026-01-01_10:02:00\n"))), "2026-01-01_10:02:00");
        cannotTell(parseNodeClock(res("Thu Jan 1 10:02:00 UTC 2026\n")), /clock not understood/);
        assert.equal(minutesBetween("2026-01-01_10:00:02", "2026-01-01_10:02:00"), 118 / 60);
        assert.equal(minutesBetween("2025-12-31_23:55:00", "2026-01-01_00:05:00"), 10);
    });
});

describe("ha-manager status", () => {
    it("quorum, master, lrms and services", () => {
        assert.deepEqual(value(parseHaStatus(res(haStatus()))), {
            quorate: true,
            quorumText: "OK",
            master: { node: "prox1", status: "active" },
            lrms: [
                { node: "prox1", status: "active" },
                { node: "prox2", status: "idle" },
            ],
            services: [{ sid: "vm:101", node: "prox1", state: "started" }],
        });
    });
    it("pve-ha-manager ≥ 5.1.3 lines: fencing, watchdog state in lrm lines, maintenance mode", () => {
        const text = [
            "quorum OK",
            "master prox1 (active, Thu Jan  1 10:01:58 2026)",
            "fencing armed (CRM watchdog active)",
            "lrm prox1 (active, watchdog active, Thu Jan  1 10:01:57 2026)",
            "lrm prox2 (maintenance mode, watchdog released, Thu Jan  1 10:01:56 2026)",
            "service vm:101 (prox1, started)",
        ].join("\n");
        const s = value(parseHaStatus(res(text)));
        assert.deepEqual(s.lrms, [
            { node: "prox1", status: "active", watchdog: "active" },
            { node: "prox2", status: "maintenance mode", watchdog: "released" },
        ]);
    });
    it("no quorum, a dead lrm, a service in transition", () => {
        const s = value(
            parseHaStatus(
                res(haStatus({ quorum: "No quorum on node 'prox1'!", lrm2: "old timestamp - dead?", service: "prox2, recovery" })),
            ),
        );
        assert.equal(s.quorate, false);
        assert.equal(s.lrms[1]!.status, "old timestamp - dead?");
        assert.deepEqual(s.services[0], { sid: "vm:101", node: "prox2", state: "recovery" });
    });
    it("unrecognised output is cannot tell", () => {
        cannotTell(parseHaStatus(res("")), /no quorum line/);
        cannotTell(parseHaStatus(res(`${haStatus()}something new\n`)), /something new/);
        cannotTell(parseHaStatus(res("", 255, "ipcc_send_rec[1] failed: Connection refused\n")), /exited 255/);
    });
});

describe("zpool", () => {
    it("list -H -o name,health", () => {
        assert.deepEqual(value(parseZpoolList(res("pool1\tONLINE\nrpool\tDEGRADED\n"))), [
            { name: "pool1", health: "ONLINE" },
            { name: "rpool", health: "DEGRADED" },
        ]);
        assert.deepEqual(value(parseZpoolList(res("no pools available\n"))), []);
        cannotTell(parseZpoolList(res("pool1 ONLINE\n")), /not understood/);
        cannotTell(parseZpoolList(res("pool1\tSPLENDID\n")), /not understood/);
    });
    it("status -x: healthy, and a degraded pool with its status text", () => {
        assert.deepEqual(value(parseZpoolStatusX(res("all pools are healthy\n"))), []);
        assert.deepEqual(value(parseZpoolStatusX(res(ZPOOL_STATUS_X_DEGRADED))), [
            {
                name: "pool1",
                state: "DEGRADED",
                status: "One or more devices has been taken offline by the administrator. Sufficient replicas exist for the pool to continue functioning in a degraded state.",
                errors: "No known data errors",
            },
        ]);
        cannotTell(parseZpoolStatusX(res("the pools are fine, probably\n")), /not understood/);
        cannotTell(parseZpoolStatusX(res("  pool: pool1\nerrors: No known data errors\n")), /no state for pool pool1/);
    });

    describe("real zfs-fuse output (root; file-backed mirror, one side taken offline)", () => {
        let zfs: ZfsSandbox | undefined;
        after(() => zfs?.cleanup());
        it("healthy, then degraded", async () => {
            zfs = await zfsSandbox("health");
            const pool = zfs.poolName("p");
            const a = zfs.disk("a");
            const b = zfs.disk("b");
            assert.equal(zfs.zpool(["create", pool, "mirror", a, b]).code, 0);
            const list = () => value(parseZpoolList(zfs!.zpool(["list", "-H", "-o", "name,health"]))).find((p) => p.name === pool);
            const problems = () => value(parseZpoolStatusX(zfs!.zpool(["status", "-x"]))).filter((p) => p.name === pool);
            assert.deepEqual(list(), { name: pool, health: "ONLINE" });
            assert.deepEqual(problems(), []);
            assert.equal(zfs.zpool(["offline", pool, b]).code, 0);
            assert.deepEqual(list(), { name: pool, health: "DEGRADED" });
            const [p] = problems();
            assert.equal(p!.state, "DEGRADED");
            assert.match(p!.status!, /taken offline/);
            assert.equal(p!.errors, "No known data errors");
        });
    });
});

describe("watchdog", () => {
    it("/etc/default/pve-ha-manager: shipped file means softdog; the last active line wins", () => {
        assert.equal(
            value(parseWatchdogDefault("# select watchdog module (default is softdog)\n#WATCHDOG_MODULE=ipmi_watchdog\n")),
            "softdog",
        );
        assert.equal(value(parseWatchdogDefault("")), "softdog");
        assert.equal(value(parseWatchdogDefault("WATCHDOG_MODULE=iTCO_wdt\n")), "iTCO_wdt");
        assert.equal(value(parseWatchdogDefault('WATCHDOG_MODULE="ipmi_watchdog"\n')), "ipmi_watchdog");
        assert.equal(value(parseWatchdogDefault("WATCHDOG_MODULE=softdog\nOTHER=1\n  export WATCHDOG_MODULE=iTCO_wdt\n")), "iTCO_wdt");
    });
    it("an active WATCHDOG_MODULE line that is not a module name is cannot tell", () => {
        cannotTell(parseWatchdogDefault("WATCHDOG_MODULE=\n"), /not understood: "WATCHDOG_MODULE="/);
        cannotTell(parseWatchdogDefault("WATCHDOG_MODULE=soft dog\n"), /not understood/);
        cannotTell(parseWatchdogDefault("WATCHDOG_MODULE=$MOD\n"), /not understood/);
    });
    it("the sysfs probe: driver module, softdog identity, unattributable watchdog0, legacy loaded module, none", () => {
        assert.deepEqual(value(parseWatchdogProbe(res("driver-module /sys/module/iTCO_wdt\n"))), { state: "module", module: "iTCO_wdt" });
        assert.deepEqual(value(parseWatchdogProbe(res("identity Software Watchdog\n"))), { state: "module", module: "softdog" });
        // As scripts/watchdog.sh: a watchdog0 without driver module and another identity is "unknown".
        assert.deepEqual(value(parseWatchdogProbe(res("identity iTCO_wdt\n"))), { state: "unknown", identity: "iTCO_wdt" });
        assert.deepEqual(value(parseWatchdogProbe(res("identity \n"))), { state: "unknown", identity: "" });
        assert.deepEqual(value(parseWatchdogProbe(res("no-watchdog0\nloaded ipmi_watchdog\n"))), {
            state: "module",
            module: "ipmi_watchdog",
        });
        assert.deepEqual(value(parseWatchdogProbe(res("no-watchdog0\n"))), { state: "none" });
        assert.deepEqual(value(parseWatchdogProbe(res("not-held\n"))), { state: "none" });
        cannotTell(parseWatchdogProbe(res("no-watchdog0\nloaded ipmi watchdog\n")), /not understood/);
        cannotTell(parseWatchdogProbe(res("sh: 1: syntax error\n", 2)), /exited 2/);
    });
});
