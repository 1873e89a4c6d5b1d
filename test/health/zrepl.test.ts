/**
 * The zrepl part of the health check (tools/health/zrepl.ts).
 *
 * Proves: with zrepl enabled the node runs `systemctl is-active zrepl.service`
 * and `zrepl status --mode raw` (and not without); the daemon's state is
 * checked; each of the node's pull jobs reports its last run: done without
 * errors is ✓ with its finish time, a filesystem step error, a plan error or a
 * reconnect error is ✗ naming the filesystem and the error text, a run in
 * progress is ✓ (in progress), no run yet or output that is not the raw
 * status JSON is "cannot tell", a job the daemon does not have is ✗.
 * The JSON fixtures follow zrepl v0.7.0's structs as encoding/json writes them
 * (field names as in internal/daemon/daemon.go Status, internal/daemon/job/job.go
 * Status.MarshalJSON, internal/daemon/job/active.go ActiveSideStatus,
 * internal/replication/report/replication_report.go; Go's zero time is
 * 0001-01-01T00:00:00Z).
 * Does not prove: a real zrepl daemon's output (no zrepl package here).
 */
import { describe, it } from "node:test";
import * as assert from "node:assert/strict";
import { parseZreplStatus, zreplChecks, ZREPL_COMMANDS } from "../../tools/health/zrepl";
import { nodeCommands } from "../../tools/health/commands";
import { validateSite } from "../../components/validate";
import { readStack } from "../../tools/lib/stack";
import { rawFromConfig } from "../../components/validate";

const ZERO = "0001-01-01T00:00:00Z";
const fsReport = (name: string, state: string, extra: Record<string, unknown> = {}) => ({
    Info: { Name: name },
    State: state,
    BlockedOn: "nothing",
    PlanError: null,
    StepError: null,
    CurrentStep: 0,
    Steps: [],
    ...extra,
});
const attempt = (state: string, fss: unknown[], extra: Record<string, unknown> = {}) => ({
    State: state,
    StartAt: "2026-11-25T10:00:00.1+01:00",
    FinishAt: state === "done" || /error/.test(state) ? "2026-11-25T10:00:07.5+01:00" : ZERO,
    PlanError: null,
    Filesystems: fss,
    ...extra,
});
const pull = (attempts: unknown[] | null, extra: Record<string, unknown> = {}) => ({
    type: "pull",
    pull: {
        Replication:
            attempts === null
                ? null
                : {
                      StartAt: "2026-11-25T10:00:00+01:00",
                      FinishAt: ZERO,
                      WaitReconnectSince: ZERO,
                      WaitReconnectUntil: ZERO,
                      WaitReconnectError: null,
                      Attempts: attempts,
                      ...extra,
                  },
        PruningSender: null,
        PruningReceiver: null,
        Snapshotting: null,
    },
});
const status = (jobs: Record<string, unknown>) =>
    JSON.stringify({
        Jobs: { _control: { type: "internal" }, pve_source: { type: "source", source: { Snapshotting: null } }, ...jobs },
        Global: { ZFSCmds: null, Envconst: null, OsEnviron: [] },
    });
const res = (stdout: string, code = 0) => ({ stdout, stderr: "", code });
const on = { zrepl: { enabled: true } } as never;
const run = (jobs: Record<string, unknown>, active = "active\n") =>
    zreplChecks(on, { name: "prox1" }, ["pve_pull_prox2"], { zreplActive: res(active), zreplStatus: res(status(jobs)) });

describe("zrepl health", () => {
    it("a last run done without errors: daemon ✓, job ✓ with its finish time", () => {
        const c = run({ pve_pull_prox2: pull([attempt("done", [fsReport("pool1/data/vm-101-disk-0", "done")])]) });
        assert.deepEqual(
            c.map((x) => [x.check, x.verdict, x.measured]),
            [
                ["zrepl daemon", "ok", "active"],
                ["zrepl job pve_pull_prox2", "ok", "done, finished 2026-11-25T10:00:07.5+01:00"],
            ],
        );
    });
    it("a filesystem step error fails the job, naming the filesystem and the error", () => {
        const c = run({
            pve_pull_prox2: pull([
                attempt("filesystem-error", [
                    fsReport("pool1/data/vm-101-disk-0", "step-error", {
                        StepError: {
                            Err: "cannot receive incremental stream: most recent snapshot does not match",
                            Time: "2026-11-25T10:00:07+01:00",
                        },
                    }),
                    fsReport("pool1/data/vm-102-disk-0", "done"),
                ]),
            ]),
        });
        assert.equal(c[1]!.verdict, "fail");
        assert.equal(
            c[1]!.measured,
            "filesystem-error (finished 2026-11-25T10:00:07.5+01:00): pool1/data/vm-101-disk-0: cannot receive incremental stream: most recent snapshot does not match",
        );
        assert.match(c[1]!.remedy!, /zrepl status --job pve_pull_prox2/);
    });
    it("a plan error and a reconnect error fail the job too", () => {
        const plan = run({
            pve_pull_prox2: pull([
                attempt("planning-error", [], { PlanError: { Err: "dial tcp 10.0.20.12:8888: connect: connection refused", Time: "x" } }),
            ]),
        });
        assert.equal(plan[1]!.verdict, "fail");
        assert.match(plan[1]!.measured, /plan: dial tcp 10\.0\.20\.12:8888: connect: connection refused/);
        const reconnect = run({ pve_pull_prox2: pull([attempt("stepping", [])], { WaitReconnectError: { Err: "timeout", Time: "x" } }) });
        assert.equal(reconnect[1]!.verdict, "fail");
        assert.match(reconnect[1]!.measured, /reconnect: timeout/);
    });
    it("a run in progress is ✓ (in progress); no run yet is cannot tell", () => {
        const running = run({ pve_pull_prox2: pull([attempt("fan-out-filesystems", [fsReport("pool1/data/vm-101-disk-0", "stepping")])]) });
        assert.deepEqual(
            [running[1]!.verdict, running[1]!.measured],
            ["ok", "fan-out-filesystems (started 2026-11-25T10:00:00.1+01:00, running)"],
        );
        assert.equal(run({ pve_pull_prox2: pull(null) })[1]!.verdict, "unknown");
        assert.equal(run({ pve_pull_prox2: pull([]) })[1]!.verdict, "unknown");
    });
    it("a stopped daemon, a missing job and output that is not the raw JSON", () => {
        const stopped = run({ pve_pull_prox2: pull([attempt("done", [])]) }, "inactive\n");
        assert.deepEqual([stopped[0]!.verdict, stopped[0]!.measured], ["fail", "inactive"]);
        const missing = run({});
        assert.deepEqual([missing[1]!.verdict, missing[1]!.measured], ["fail", "not in the daemon's jobs"]);
        const garbled = zreplChecks(on, { name: "prox1" }, ["pve_pull_prox2"], {
            zreplActive: res("active\n"),
            zreplStatus: res("Job: pve_pull_prox2 …"),
        });
        assert.deepEqual([garbled[1]!.verdict, garbled[1]!.measured], ["unknown", "zrepl status --mode raw printed no JSON"]);
        const refused = parseZreplStatus({
            stdout: "",
            stderr: 'connect to daemon socket at "/var/run/zrepl/control": no such file\n',
            code: 1,
        });
        assert.deepEqual(refused, {
            ok: false,
            reason: 'zrepl status failed: connect to daemon socket at "/var/run/zrepl/control": no such file',
        });
    });
    it("runs the zrepl commands only when zrepl is enabled", () => {
        const cfg = readStack("prod");
        const { raw, secretKeys } = rawFromConfig(cfg.config, (k) => cfg.secretKeys.includes(k));
        const off = validateSite(raw, secretKeys).site!;
        assert.equal(off.zrepl.enabled, false);
        const node = off.nodes[0]!;
        assert.equal(nodeCommands(off, node).zreplStatus, undefined);
        assert.deepEqual(zreplChecks(off, node, ["x"], {}), []);
        const onSite = { ...off, zrepl: { ...off.zrepl, enabled: true } };
        assert.equal(nodeCommands(onSite, node).zreplStatus, ZREPL_COMMANDS.zreplStatus);
        assert.equal(nodeCommands(onSite, node).zreplActive, "systemctl is-active zrepl.service");
    });
});
