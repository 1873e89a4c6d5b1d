/**
 * Proves, against real ZFS (zfs-fuse, file-backed vdev), that the repair tool
 * scripts/zrepl-repair.py, fed a `zrepl status --mode raw` document in the
 * shape docs/proxmox-facts.md §8 documents (error texts from zrepl v0.7.0
 * internal/replication/logic/diff/diff.go, and the zfs receive error zrepl
 * reports for "destination already exists"):
 * - destroys a receiver dataset whose chain is broken ("no common snapshot…",
 *   "the receiver's latest snapshot is not present on sender") after releasing
 *   the pull job's zrepl hold, leaves its sibling copies (with their holds),
 *   the root_fs and everything outside root_fs intact, and sends
 *   `zrepl signal wakeup <job>` once;
 * - destroys only the snapshot named by "cannot restore to …: destination
 *   already exists", releasing its hold, and keeps the dataset;
 * - changes nothing and sends nothing with --dry-run, on a healthy status, on a
 *   second run, and when the status names a path outside root_fs, root_fs
 *   itself or a '..' path (refused, exit 1, even for the legitimate items);
 * - refuses to destroy a dataset that still carries a hold that is not zrepl's.
 * The `zrepl` binary is a fake on PATH that prints the status file and records
 * its arguments and signals (refusing unknown jobs with zrepl's message
 * "Job <name> does not exist").
 * Does NOT prove: the classification against a live zrepl daemon (no zrepl
 * here), hold discovery through `zfs holds` (zfs-fuse lacks it: "pyzfs.py not
 * found"; the tool then releases the job's own tag), zvols (zfs-fuse has none:
 * filesystems stand in for Proxmox's zvols, unmounted like the copies under a
 * rootFs with mountpoint=none).
 */
import { after, before, describe, it } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { run, zfsSandbox, type ZfsSandbox } from "../harness/zfs";
import { SCRIPTS_DIR } from "../../components/remote";

const TOOL = path.join(SCRIPTS_DIR, "zrepl-repair.py");
const JOB = "pve_pull_prox1";
const HOLD = `zrepl_last_received_J_${JOB}`;
const T = "2026-01-01T10:00:00.000000000Z";

const NO_COMMON =
    "no common snapshot or suitable bookmark between sender and receiver:\n  sorted sender versions:\n    @zrepl_20260101_100000_000\n  sorted receiver versions:\n    @zrepl_20251231_090000_000\n";
const DIVERGED =
    "the receiver's latest snapshot is not present on sender:\n  last common: @zrepl_20251231_080000_000\n  sender-only:\n    @zrepl_20260101_100000_000\n  receiver-only:\n    @zrepl_20251231_090000_000\n";
const destExists = (snap: string) =>
    `zfs exited with error: exit status 1\nstderr:\ncannot restore to ${snap}: destination already exists\n`;

interface Fs {
    name: string;
    state: "done" | "planning-error" | "step-error";
    err?: string;
}

/** A raw status document (daemon.Status as JSON: Go field names, no tags). */
function statusDoc(fss: Fs[]): unknown {
    const failed = fss.some((f) => f.state !== "done");
    return {
        Jobs: {
            _control: { type: "internal", internal: null },
            _prometheus: { type: "internal", internal: null },
            pve_source: { type: "source", source: { Snapper: null } },
            [JOB]: {
                type: "pull",
                pull: {
                    Replication: {
                        StartAt: T,
                        FinishAt: T,
                        WaitReconnectSince: "0001-01-01T00:00:00Z",
                        WaitReconnectUntil: "0001-01-01T00:00:00Z",
                        WaitReconnectError: null,
                        Attempts: [
                            {
                                State: failed ? "filesystem-error" : "done",
                                StartAt: T,
                                FinishAt: T,
                                PlanError: null,
                                Filesystems: fss.map((f) => ({
                                    Info: { Name: f.name },
                                    State: f.state,
                                    BlockedOn: "nothing",
                                    PlanError: f.state === "planning-error" ? { Err: f.err, Time: T } : null,
                                    StepError: f.state === "step-error" ? { Err: f.err, Time: T } : null,
                                    CurrentStep: 0,
                                    Steps: [],
                                })),
                            },
                        ],
                    },
                    PruningSender: null,
                    PruningReceiver: null,
                    Snapshotting: null,
                },
            },
        },
        Global: { ZFSCmds: null, Envconst: null, OsEnviron: [] },
    };
}

const FAKE_ZREPL = `#!/usr/bin/env bash
# Fake zrepl: serves the status file, records arguments and signals.
set -euo pipefail
printf '%s\\n' "$*" >>"$FAKE_ZREPL_DIR/calls"
case "\${1:-}" in
status)
    if [[ "$*" != "status --mode raw" ]]; then echo "error: stdout is not a tty, please use --mode dump or --mode raw" >&2; exit 1; fi
    cat "$FAKE_ZREPL_DIR/status.json" ;;
signal)
    if [[ $# -ne 3 ]]; then echo "Expected 2 arguments: [wakeup|reset] JOB" >&2; exit 1; fi
    if ! grep -q "\\"$3\\":" "$FAKE_ZREPL_DIR/status.json"; then echo "Job $3 does not exist" >&2; exit 1; fi
    printf '%s %s\\n' "$2" "$3" >>"$FAKE_ZREPL_DIR/signals" ;;
*) echo "fake zrepl: unsupported: $*" >&2; exit 2 ;;
esac
`;

let zfs: ZfsSandbox;
let pool: string;
let fake: string;
let caseNo = 0;

before(async () => {
    zfs = await zfsSandbox("zrepair");
    pool = zfs.poolName("p");
    const r = zfs.zpool(["create", pool, zfs.disk("d0")]);
    assert.equal(r.code, 0, r.stderr);
    fake = fs.mkdtempSync(path.join(os.tmpdir(), "fake-zrepl-"));
    fs.mkdirSync(path.join(fake, "bin"));
    fs.writeFileSync(path.join(fake, "bin", "zrepl"), FAKE_ZREPL, { mode: 0o755 });
});
after(() => {
    zfs?.cleanup();
    if (fake) fs.rmSync(fake, { recursive: true, force: true });
});

function zfsOk(args: string[]): string {
    const r = zfs.zfs(args);
    assert.equal(r.code, 0, `zfs ${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
}

/** Every dataset and snapshot of the pool with its hold count: the whole state the tool could change. */
function state(): string {
    return zfsOk(["list", "-H", "-o", "name,userrefs", "-t", "all", "-r", pool]);
}
const exists = (name: string) => zfs.zfs(["list", "-H", "-o", "name", name]).code === 0;
const userrefs = (snap: string) => zfsOk(["get", "-H", "-o", "value", "userrefs", snap]).trim();

/**
 * A fresh world per test: `<pool>/c<n>/zrepl/prox1` is root_fs (mountpoint=none, as
 * zrepl-config.sh creates it) holding copies of pool1/vm-101/102/103-disk-0, each
 * with two zrepl snapshots, the newest held by the pull job; and
 * `<pool>/c<n>/guests/vm-101-disk-0` outside root_fs, with a snapshot held by the
 * same tag.
 */
function world() {
    const base = `${pool}/c${caseNo++}`;
    const root = `${base}/zrepl/prox1`;
    zfsOk(["create", "-p", "-o", "mountpoint=none", root]);
    const copy = (vm: number) => `${root}/pool1/vm-${vm}-disk-0`;
    for (const vm of [101, 102, 103]) {
        zfsOk(["create", "-p", copy(vm)]);
        zfsOk(["snapshot", `${copy(vm)}@zrepl_20251231_080000_000`]);
        zfsOk(["snapshot", `${copy(vm)}@zrepl_20251231_090000_000`]);
        zfsOk(["hold", HOLD, `${copy(vm)}@zrepl_20251231_090000_000`]);
    }
    const outside = `${base}/guests/vm-101-disk-0`;
    zfsOk(["create", "-p", "-o", "mountpoint=none", outside]);
    zfsOk(["snapshot", `${outside}@zrepl_20251231_090000_000`]);
    zfsOk(["hold", HOLD, `${outside}@zrepl_20251231_090000_000`]);
    return { base, root, copy, outside };
}

/** Runs the tool for JOB on `root` (or with `jobArgs` instead of `--job JOB --root-fs root`). */
function repair(root: string, doc: unknown, extra: string[] = [], jobArgs = ["--job", JOB, "--root-fs", root]) {
    fs.writeFileSync(path.join(fake, "status.json"), JSON.stringify(doc));
    for (const f of ["calls", "signals"]) fs.rmSync(path.join(fake, f), { force: true });
    const r = run("python3", [TOOL, ...jobArgs, ...extra], {
        env: { ...process.env, PATH: `${path.join(fake, "bin")}:${process.env.PATH}`, FAKE_ZREPL_DIR: fake },
    });
    const read = (f: string) => (fs.existsSync(path.join(fake, f)) ? fs.readFileSync(path.join(fake, f), "utf8").trim().split("\n") : []);
    return { ...r, calls: read("calls"), signals: read("signals") };
}

describe("zrepl-repair against real ZFS", () => {
    it("destroys a copy whose chain is broken, after releasing the zrepl hold, and wakes the job", () => {
        const w = world();
        const doc = statusDoc([
            { name: "pool1/vm-101-disk-0", state: "planning-error", err: NO_COMMON },
            { name: "pool1/vm-102-disk-0", state: "done" },
            { name: "pool1/vm-103-disk-0", state: "done" },
        ]);
        const r = repair(w.root, doc);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stderr, "");
        assert.deepEqual(r.stdout.trim().split("\n"), [
            `pool1/vm-101-disk-0: no common snapshot or suitable bookmark between sender and receiver:`,
            `released ${HOLD} ${w.copy(101)}@zrepl_20251231_090000_000`,
            `destroyed ${w.copy(101)}`,
            `woke up ${JOB}`,
        ]);
        assert.equal(exists(w.copy(101)), false, "the broken copy is gone");
        for (const vm of [102, 103]) {
            assert.equal(userrefs(`${w.copy(vm)}@zrepl_20251231_090000_000`), "1", `sibling vm-${vm} keeps its hold`);
            assert.ok(exists(`${w.copy(vm)}@zrepl_20251231_080000_000`));
        }
        assert.ok(exists(w.root) && exists(`${w.root}/pool1`), "root_fs and the placeholder parent stay");
        assert.equal(userrefs(`${w.outside}@zrepl_20251231_090000_000`), "1", "outside root_fs untouched");
        assert.deepEqual(r.signals, [`wakeup ${JOB}`]);
        assert.deepEqual(r.calls, ["status --mode raw", `signal wakeup ${JOB}`]);

        // A second run over the same (not yet refreshed) status is a no-op.
        const before = state();
        const again = repair(w.root, doc);
        assert.equal(again.code, 0, again.stderr);
        assert.equal(again.stdout, "");
        assert.deepEqual(again.signals, []);
        assert.equal(state(), before);
    });

    it("repairs a diverged copy reported as a step error too", () => {
        const w = world();
        const r = repair(w.root, statusDoc([{ name: "pool1/vm-102-disk-0", state: "step-error", err: DIVERGED }]));
        assert.equal(r.code, 0, r.stderr);
        assert.equal(exists(w.copy(102)), false);
        assert.ok(exists(w.copy(101)) && exists(w.copy(103)));
        assert.deepEqual(r.signals, [`wakeup ${JOB}`]);
    });

    it("destroys only the snapshot named by 'destination already exists'", () => {
        const w = world();
        const snap = `${w.copy(103)}@zrepl_20251231_090000_000`;
        const r = repair(w.root, statusDoc([{ name: "pool1/vm-103-disk-0", state: "step-error", err: destExists(snap) }]));
        assert.equal(r.code, 0, r.stderr);
        assert.equal(exists(snap), false);
        assert.ok(exists(w.copy(103)) && exists(`${w.copy(103)}@zrepl_20251231_080000_000`), "the dataset and its other snapshot stay");
        assert.deepEqual(r.signals, [`wakeup ${JOB}`]);
    });

    it("--dry-run prints the plan and changes nothing", () => {
        const w = world();
        const before = state();
        const r = repair(w.root, statusDoc([{ name: "pool1/vm-101-disk-0", state: "planning-error", err: NO_COMMON }]), ["--dry-run"]);
        assert.equal(r.code, 0, r.stderr);
        assert.deepEqual(r.stdout.trim().split("\n"), [
            `pool1/vm-101-disk-0: no common snapshot or suitable bookmark between sender and receiver:`,
            `plan: zfs release ${HOLD} ${w.copy(101)}@zrepl_20251231_090000_000 (if held)`,
            `plan: zfs destroy -r ${w.copy(101)}`,
            `plan: zrepl signal wakeup ${JOB}`,
        ]);
        assert.equal(state(), before);
        assert.deepEqual(r.signals, []);
        assert.deepEqual(r.calls, ["status --mode raw"]);
    });

    it("does nothing on a healthy status", () => {
        const w = world();
        const before = state();
        const r = repair(w.root, statusDoc([101, 102, 103].map((vm) => ({ name: `pool1/vm-${vm}-disk-0`, state: "done" as const }))));
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout + r.stderr, "");
        assert.equal(state(), before);
        assert.deepEqual(r.calls, ["status --mode raw"]);
    });

    it("refuses a status naming a path outside root_fs, and then changes nothing at all", () => {
        const w = world();
        const before = state();
        const outsideSnap = `${w.outside}@zrepl_20251231_090000_000`;
        const r = repair(
            w.root,
            statusDoc([
                { name: "pool1/vm-101-disk-0", state: "planning-error", err: NO_COMMON },
                { name: "pool1/vm-102-disk-0", state: "step-error", err: destExists(outsideSnap) },
            ]),
        );
        assert.equal(r.code, 1);
        assert.match(r.stderr, new RegExp(`refused, nothing changed: pool1/vm-102-disk-0: snapshot ${outsideSnap} is not below ${w.root}`));
        assert.equal(state(), before, "not even the legitimate repair ran");
        assert.deepEqual(r.signals, []);
    });

    it("refuses '..' paths and root_fs itself", () => {
        const w = world();
        const before = state();
        for (const name of ["../../guests/vm-101-disk-0", ""]) {
            const r = repair(w.root, statusDoc([{ name, state: "planning-error", err: NO_COMMON }]));
            assert.equal(r.code, 1, `name '${name}'`);
            assert.match(r.stderr, /refused, nothing changed: .* is not below /);
        }
        assert.equal(state(), before);
    });

    it("does not destroy a copy that carries a hold that is not zrepl's", () => {
        const w = world();
        zfsOk(["hold", "operator-keep", `${w.copy(101)}@zrepl_20251231_080000_000`]);
        const r = repair(w.root, statusDoc([{ name: "pool1/vm-101-disk-0", state: "planning-error", err: NO_COMMON }]));
        assert.equal(r.code, 1);
        assert.match(r.stderr, /still has holds that are not zrepl's .*not destroying it/);
        assert.ok(exists(w.copy(101)));
        assert.equal(userrefs(`${w.copy(101)}@zrepl_20251231_080000_000`), "1");
        zfsOk(["release", "operator-keep", `${w.copy(101)}@zrepl_20251231_080000_000`]);
    });

    it("repairs every job given, even when another one fails, and exits with the worst status", () => {
        const w = world();
        const doc = statusDoc([{ name: "pool1/vm-101-disk-0", state: "planning-error", err: NO_COMMON }]);
        const both = repair(
            w.root,
            doc,
            [],
            ["--job", "pve_pull_prox3", "--root-fs", `${w.base}/zrepl/prox3`, "--job", JOB, "--root-fs", w.root],
        );
        assert.equal(both.code, 2);
        assert.match(both.stderr, /job pve_pull_prox3 is not in zrepl's status \(jobs: pve_pull_prox1, pve_source\)/);
        assert.equal(exists(w.copy(101)), false, "the other job was still repaired");
        assert.deepEqual(both.signals, [`wakeup ${JOB}`]);
    });

    it("exits 2 when the job is not in the status", () => {
        const w = world();
        const r = repair(w.root, { Jobs: { _control: { type: "internal", internal: null } }, Global: {} });
        assert.equal(r.code, 2);
        assert.match(r.stderr, /job pve_pull_prox1 is not in zrepl's status \(jobs: none\)/);
    });
});
