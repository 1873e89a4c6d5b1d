/**
 * Proves, against real ZFS (zfs-fuse, file-backed vdev), that the repair tool
 * scripts/zrepl-repair.py, fed a `zrepl status --mode raw` document in zrepl
 * v0.7.0's daemon.Status shape (conflict texts of internal/replication/logic/diff
 * /diff.go ConflictDiverged and ConflictNoCommonAncestor, the resume-token error
 * of replication/logic/replication_logic.go, and the zfs receive error zrepl
 * reports for "destination already exists"), never loses a copy's data: every
 * case lists every dataset and snapshot by GUID before and after (`kept()`), and
 * - diverged: rolls the copy back to the last common snapshot only when every
 *   later snapshot is zrepl's or pvesr's and they are exactly the receiver-only
 *   ones zrepl named; refuses (nothing changed) over a vzdump or operator
 *   snapshot, or when zrepl's list is not what the receiver has;
 * - no common snapshot: refuses and keeps the copy without an attic; with
 *   --attic releases zrepl's holds and renames the copy into the attic (exit 3);
 * - "destination already exists": renames the old snapshot, destroys nothing;
 * - "resume token … not found on sender": aborts the partial receive
 *   (`zfs receive -A`) where ZFS has resumable receive, refuses where it has not;
 * - acts only when a second reading of status and receiver agrees with the first;
 * - --dry-run, a healthy status and a second run change nothing; paths outside
 *   root_fs, root_fs itself and '..' are refused for the whole job; a hold that is
 *   not zrepl's stops the change.
 * The `zrepl` binary is a fake on PATH that prints the status file and records
 * its arguments and signals (refusing unknown jobs with zrepl's message
 * "Job <name> does not exist").
 * Does NOT prove: the classification against a live zrepl daemon (no zrepl
 * here); hold discovery through `zfs holds` (zfs-fuse lacks it: "pyzfs.py not
 * found"; the tool then releases the job's own tag); `zfs receive -A` itself and
 * bookmarks (zfs-fuse is pool version 23: no resumable receive, no bookmarks —
 * the abort is shown with a `zfs` wrapper that answers receive_resume_token and
 * records the call, and passes everything else to the real zfs); zvols
 * (filesystems stand in for Proxmox's zvols).
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
const RESUME_GONE =
    'resume token `toguid` = 5432109876543210987 not found on sender (`toname` = "pool1/vm-101-disk-0@__replicate_101-0_1767225600__")';
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
    n=$(grep -c '^status' "$FAKE_ZREPL_DIR/calls")
    if [[ $n == 2 && -x "$FAKE_ZREPL_DIR/on-second-status" ]]; then "$FAKE_ZREPL_DIR/on-second-status"; fi
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
/**
 * Every dataset and snapshot of the pool by GUID (GUIDs survive renames): what
 * must still be there after a repair, wherever it now lives.
 */
function guids(): Map<string, string> {
    const out = zfsOk(["get", "-Hp", "-r", "-o", "name,value", "guid", pool]);
    return new Map(
        out
            .trim()
            .split("\n")
            .map((l) => l.split("\t").reverse() as [string, string]),
    );
}
/** Asserts nothing of `before` is gone except `dropped` (names as they were); returns what was renamed. */
function kept(before: Map<string, string>, dropped: string[] = []): string[] {
    const after = guids();
    const gone = [...before].filter(([g]) => !after.has(g)).map(([, n]) => n);
    assert.deepEqual(gone.sort(), [...dropped].sort(), "datasets and snapshots gone");
    return [...before].filter(([g, n]) => after.has(g) && after.get(g) !== n).map(([g, n]) => `${n} -> ${after.get(g)}`);
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
function repair(
    root: string,
    doc: unknown,
    extra: string[] = [],
    jobArgs = ["--job", JOB, "--root-fs", root],
    hook?: string,
    pathPrefix = "",
) {
    fs.writeFileSync(path.join(fake, "status.json"), JSON.stringify(doc));
    for (const f of ["calls", "signals", "on-second-status"]) fs.rmSync(path.join(fake, f), { force: true });
    if (hook) fs.writeFileSync(path.join(fake, "on-second-status"), `#!/bin/sh\n${hook}\n`, { mode: 0o755 });
    const r = run("python3", [TOOL, ...jobArgs, ...extra], {
        env: { ...process.env, PATH: `${pathPrefix}${path.join(fake, "bin")}:${process.env.PATH}`, FAKE_ZREPL_DIR: fake },
    });
    const read = (f: string) => (fs.existsSync(path.join(fake, f)) ? fs.readFileSync(path.join(fake, f), "utf8").trim().split("\n") : []);
    return { ...r, calls: read("calls"), signals: read("signals") };
}

describe("zrepl-repair against real ZFS", () => {
    it("no common snapshot, no attic: refuses, keeps the copy, says how to move it aside", () => {
        const w = world();
        const before = guids();
        const holds = state();
        const r = repair(w.root, statusDoc([{ name: "pool1/vm-101-disk-0", state: "planning-error", err: NO_COMMON }]));
        assert.equal(r.code, 1);
        assert.match(
            r.stderr,
            new RegExp(`no common snapshot: ${w.copy(101)} cannot be continued and is kept.*zfs rename ${w.copy(101)} .*zrepl\\.attic`),
        );
        assert.deepEqual(kept(before), []);
        assert.equal(state(), holds, "not even a hold was released");
        assert.deepEqual(r.signals, []);
    });

    it("no common snapshot with --attic: releases zrepl's holds, renames the copy into the attic, exit 3, wakes the job", () => {
        const w = world();
        const attic = `${w.base}/attic`;
        const before = guids();
        const r = repair(
            w.root,
            statusDoc([
                { name: "pool1/vm-101-disk-0", state: "planning-error", err: NO_COMMON },
                { name: "pool1/vm-102-disk-0", state: "done" },
            ]),
            ["--attic", attic],
        );
        assert.equal(r.code, 3, r.stderr);
        const moved = kept(before);
        assert.equal(moved.length, 3, moved.join("\n"));
        const dest = /-> (\S+)$/.exec(moved.find((m) => m.startsWith(`${w.copy(101)} `))!)![1]!;
        assert.match(dest, new RegExp(`^${attic}/${JOB}/pool1--vm-101-disk-0-\\d{8}T\\d{6}Z$`));
        assert.ok(
            exists(`${dest}@zrepl_20251231_080000_000`) && exists(`${dest}@zrepl_20251231_090000_000`),
            "every snapshot moved with it",
        );
        assert.equal(userrefs(`${dest}@zrepl_20251231_090000_000`), "0", "zrepl's hold released");
        assert.equal(exists(w.copy(101)), false, "zrepl replicates afresh into the old place");
        assert.equal(userrefs(`${w.copy(102)}@zrepl_20251231_090000_000`), "1", "sibling keeps its hold");
        assert.equal(userrefs(`${w.outside}@zrepl_20251231_090000_000`), "1", "outside root_fs untouched");
        assert.match(
            r.stderr,
            new RegExp(`WARNING: ${w.copy(101)} had no snapshot in common with its sender; the old copy is kept at ${dest}`),
        );
        assert.deepEqual(r.calls, ["status --mode raw", "status --mode raw", `signal wakeup ${JOB}`]);

        // The status still names it (zrepl has not run yet): nothing more to do.
        const again = guids();
        const second = repair(w.root, statusDoc([{ name: "pool1/vm-101-disk-0", state: "planning-error", err: NO_COMMON }]), [
            "--attic",
            attic,
        ]);
        assert.equal(second.code, 0, second.stderr);
        assert.deepEqual(kept(again), []);
        assert.deepEqual(second.signals, []);
    });

    it("refuses an attic inside or above a root_fs, or in another pool", () => {
        const w = world();
        for (const attic of [`${w.root}/attic`, `${w.base}/zrepl`, "otherpool/attic", pool]) {
            const r = repair(w.root, statusDoc([]), ["--attic", attic]);
            assert.equal(r.code, 2, attic);
            assert.match(r.stderr, /invalid --attic/);
        }
    });

    it("diverged: rolls back over receiver-only zrepl and pvesr snapshots to the last common one", () => {
        const w = world();
        zfsOk(["snapshot", `${w.copy(102)}@__replicate_102-0_1767225600__`]);
        const before = guids();
        const err = DIVERGED.replace(
            "    @zrepl_20251231_090000_000\n",
            "    @zrepl_20251231_090000_000\n    @__replicate_102-0_1767225600__\n",
        );
        const r = repair(w.root, statusDoc([{ name: "pool1/vm-102-disk-0", state: "step-error", err }]));
        assert.equal(r.code, 0, r.stderr);
        assert.deepEqual(kept(before, [`${w.copy(102)}@zrepl_20251231_090000_000`, `${w.copy(102)}@__replicate_102-0_1767225600__`]), []);
        assert.ok(exists(`${w.copy(102)}@zrepl_20251231_080000_000`), "the last common snapshot and the copy stay");
        assert.deepEqual(r.stdout.trim().split("\n"), [
            `pool1/vm-102-disk-0: the receiver's latest snapshot is not present on sender (last common @zrepl_20251231_080000_000; rolling back over @zrepl_20251231_090000_000, @__replicate_102-0_1767225600__)`,
            `released ${HOLD} ${w.copy(102)}@zrepl_20251231_090000_000`,
            `rolled back ${w.copy(102)} to @zrepl_20251231_080000_000`,
            `woke up ${JOB}`,
        ]);
    });

    it("diverged: refuses to roll back over a snapshot neither zrepl nor pvesr made", () => {
        const w = world();
        zfsOk(["snapshot", `${w.copy(102)}@vzdump`]);
        const before = guids();
        const holds = state();
        const err = DIVERGED.replace("    @zrepl_20251231_090000_000\n", "    @zrepl_20251231_090000_000\n    @vzdump\n");
        const r = repair(w.root, statusDoc([{ name: "pool1/vm-102-disk-0", state: "planning-error", err }]));
        assert.equal(r.code, 1);
        assert.match(r.stderr, /snapshots after @zrepl_20251231_080000_000 that neither zrepl nor pvesr made \(@vzdump\)/);
        assert.deepEqual(kept(before), []);
        assert.equal(state(), holds);
        assert.deepEqual(r.signals, []);
    });

    it("diverged: refuses when zrepl's receiver-only list is not what the receiver has", () => {
        const w = world();
        zfsOk(["snapshot", `${w.copy(102)}@zrepl_20251231_100000_000`]);
        const before = guids();
        const r = repair(w.root, statusDoc([{ name: "pool1/vm-102-disk-0", state: "planning-error", err: DIVERGED }]));
        assert.equal(r.code, 1);
        assert.match(r.stderr, /the status is stale, next run/);
        assert.deepEqual(kept(before), []);
    });

    it("renames the snapshot named by 'destination already exists' instead of destroying it", () => {
        const w = world();
        const snap = `${w.copy(103)}@zrepl_20251231_090000_000`;
        const before = guids();
        const r = repair(w.root, statusDoc([{ name: "pool1/vm-103-disk-0", state: "step-error", err: destExists(snap) }]));
        assert.equal(r.code, 0, r.stderr);
        const moved = kept(before);
        assert.equal(moved.length, 1);
        assert.match(moved[0]!, new RegExp(`^${snap} -> ${w.copy(103)}@displaced_\\d{8}T\\d{6}Z_zrepl_20251231_090000_000$`));
        assert.equal(exists(snap), false, "the name is free for the receive");
        assert.deepEqual(r.signals, [`wakeup ${JOB}`]);
    });

    it("resume token not found on sender: refuses where ZFS has no resumable receive (zfs-fuse), nothing changed", () => {
        const w = world();
        const before = guids();
        const r = repair(w.root, statusDoc([{ name: "pool1/vm-101-disk-0", state: "planning-error", err: RESUME_GONE }]));
        assert.equal(r.code, 1);
        assert.match(r.stderr, /pool1\/vm-101-disk-0: refused: this ZFS has no resumable receive/);
        assert.deepEqual(kept(before), []);
        assert.deepEqual(r.signals, []);
    });

    it("resume token not found on sender: aborts the partial receive where there is one", () => {
        const w = world();
        // zfs-fuse has no receive_resume_token and no `receive -A`: a wrapper answers those two and passes the rest to the real zfs.
        const wrap = fs.mkdtempSync(path.join(os.tmpdir(), "zfs-wrap-"));
        const real = run("sh", ["-c", "command -v zfs"]).stdout.trim();
        fs.writeFileSync(
            path.join(wrap, "zfs"),
            `#!/bin/bash\nif [[ "$*" == "get -H -o value receive_resume_token ${w.copy(101)}" ]]; then [[ -e ${wrap}/aborted ]] && echo - || echo 1-deadbeef-c8-789c; exit 0; fi\nif [[ "$*" == "receive -A ${w.copy(101)}" ]]; then touch ${wrap}/aborted; exit 0; fi\nexec ${real} "$@"\n`,
            { mode: 0o755 },
        );
        const before = guids();
        const doc = statusDoc([{ name: "pool1/vm-101-disk-0", state: "planning-error", err: RESUME_GONE }]);
        const r = repair(w.root, doc, [], undefined, undefined, `${wrap}:`);
        assert.equal(r.code, 0, r.stderr);
        assert.ok(fs.existsSync(path.join(wrap, "aborted")), "zfs receive -A ran");
        assert.match(r.stdout, new RegExp(`aborted the partial receive into ${w.copy(101)}`));
        assert.deepEqual(kept(before), []);
        assert.deepEqual(r.signals, [`wakeup ${JOB}`]);
        const again = repair(w.root, doc, [], undefined, undefined, `${wrap}:`);
        assert.equal(again.code, 0, again.stderr);
        assert.deepEqual(again.signals, [], "nothing partial any more: nothing to do");
        fs.rmSync(wrap, { recursive: true, force: true });
    });

    it("acts only on what a second reading confirms: a receiver changed meanwhile is left for the next run", () => {
        const w = world();
        const hook = `zfs snapshot ${w.copy(102)}@zrepl_20251231_093000_000`;
        const err = DIVERGED;
        const r = repair(w.root, statusDoc([{ name: "pool1/vm-102-disk-0", state: "planning-error", err }]), [], undefined, hook);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /pool1\/vm-102-disk-0: changed since it was read; left for the next run/);
        assert.ok(exists(`${w.copy(102)}@zrepl_20251231_090000_000`) && exists(`${w.copy(102)}@zrepl_20251231_093000_000`));
        assert.deepEqual(r.signals, []);
    });

    it("--dry-run prints the plan and changes nothing", () => {
        const w = world();
        const before = state();
        const r = repair(w.root, statusDoc([{ name: "pool1/vm-102-disk-0", state: "planning-error", err: DIVERGED }]), ["--dry-run"]);
        assert.equal(r.code, 0, r.stderr);
        assert.deepEqual(r.stdout.trim().split("\n"), [
            `pool1/vm-102-disk-0: the receiver's latest snapshot is not present on sender (last common @zrepl_20251231_080000_000; rolling back over @zrepl_20251231_090000_000)`,
            `plan: zfs release ${HOLD} ${w.copy(102)}@zrepl_20251231_090000_000 (if held)`,
            `plan: zfs rollback -r ${w.copy(102)}@zrepl_20251231_080000_000`,
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
                { name: "pool1/vm-102-disk-0", state: "planning-error", err: DIVERGED },
                { name: "pool1/vm-103-disk-0", state: "step-error", err: destExists(outsideSnap) },
            ]),
        );
        assert.equal(r.code, 1);
        assert.match(r.stderr, new RegExp(`refused, nothing changed: pool1/vm-103-disk-0: snapshot ${outsideSnap} is not below ${w.root}`));
        assert.equal(state(), before, "not even the legitimate repair ran");
        assert.deepEqual(r.signals, []);
    });

    it("refuses '..' paths and root_fs itself", () => {
        const w = world();
        const before = state();
        for (const name of ["../../guests/vm-101-disk-0", ""]) {
            const r = repair(w.root, statusDoc([{ name, state: "planning-error", err: NO_COMMON }]), ["--attic", `${w.base}/attic`]);
            assert.equal(r.code, 1, `name '${name}'`);
            assert.match(r.stderr, /refused, nothing changed: .* is not below /);
        }
        assert.equal(state(), before);
    });

    it("changes nothing on a copy that carries a hold that is not zrepl's", () => {
        const w = world();
        zfsOk(["hold", "operator-keep", `${w.copy(102)}@zrepl_20251231_090000_000`]);
        const before = guids();
        const r = repair(w.root, statusDoc([{ name: "pool1/vm-102-disk-0", state: "planning-error", err: DIVERGED }]));
        assert.equal(r.code, 1);
        assert.match(r.stderr, /holds that are not zrepl's remain \(.*@zrepl_20251231_090000_000: 1\)/);
        assert.deepEqual(kept(before), []);
        assert.equal(userrefs(`${w.copy(102)}@zrepl_20251231_090000_000`), "1");
        zfsOk(["release", "operator-keep", `${w.copy(102)}@zrepl_20251231_090000_000`]);
    });

    it("repairs every job given, even when another one fails, and exits with the worst status", () => {
        const w = world();
        const doc = statusDoc([{ name: "pool1/vm-102-disk-0", state: "planning-error", err: DIVERGED }]);
        const both = repair(
            w.root,
            doc,
            [],
            ["--job", "pve_pull_prox3", "--root-fs", `${w.base}/zrepl/prox3`, "--job", JOB, "--root-fs", w.root],
        );
        assert.equal(both.code, 2);
        assert.match(both.stderr, /job pve_pull_prox3 is not in zrepl's status \(jobs: pve_pull_prox1, pve_source\)/);
        assert.equal(exists(`${w.copy(102)}@zrepl_20251231_090000_000`), false, "the other job was still repaired");
        assert.deepEqual(both.signals, [`wakeup ${JOB}`]);
    });

    it("exits 2 when the job is not in the status", () => {
        const w = world();
        const r = repair(w.root, { Jobs: { _control: { type: "internal", internal: null } }, Global: {} });
        assert.equal(r.code, 2);
        assert.match(r.stderr, /job pve_pull_prox1 is not in zrepl's status \(jobs: none\)/);
    });
});
