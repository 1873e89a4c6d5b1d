/**
 * The health check of the optional zrepl path (issue #14): on each node, the
 * daemon is active and each of the node's pull jobs (components/zrepl/config.ts
 * pullTargets) has a last replication run that finished without an error.
 *
 * `zrepl status --mode raw` prints the daemon's status as JSON, unchanged
 * (zrepl v0.7.0 internal/client/status/status_raw.go `raw`: the bytes of the
 * control socket's status response go to stdout). Its shape (Go's default JSON
 * field names, no tags):
 *   internal/daemon/daemon.go    Status { Jobs: map[name]*job.Status, Global }
 *   internal/daemon/job/job.go   Status marshals as {"type": <t>, <t>: <job specific>}
 *   internal/daemon/job/active.go ActiveSideStatus { Replication *report.Report,
 *                                PruningSender, PruningReceiver, Snapshotting }
 *   internal/replication/report/replication_report.go Report { StartAt, FinishAt,
 *     WaitReconnectSince, WaitReconnectUntil, WaitReconnectError *TimedError,
 *     Attempts []*AttemptReport }; AttemptReport { State (planning |
 *     planning-error | fan-out-filesystems | filesystem-error | done), StartAt,
 *     FinishAt, PlanError *TimedError, Filesystems []*FilesystemReport };
 *     FilesystemReport { Info {Name}, State (planning | planning-error |
 *     stepping | step-error | done), PlanError, StepError *TimedError, … };
 *     TimedError { Err, Time }.
 * Output that does not have that shape is "cannot tell", never a guess.
 */
import type { Site, SiteNode } from "../../components/model";
import type { CommandResult, Parsed } from "./parsers";

/** Go's zero time.Time, as encoding/json writes it: "not set". */
const ZERO_TIME = "0001-01-01T00:00:00Z";

export const ZREPL_COMMANDS = {
    zreplActive: "systemctl is-active zrepl.service",
    zreplStatus: "LC_ALL=C zrepl status --mode raw",
} as const;
export type ZreplCommand = keyof typeof ZREPL_COMMANDS;

export interface ZreplJobRun {
    readonly type: string;
    /** Absent: the job has not started a replication yet. */
    readonly lastAttempt?: {
        readonly state: string;
        readonly startAt: string;
        readonly finishAt?: string;
        /** Every error of the attempt: the plan's, each filesystem's plan or step error, a reconnect error. */
        readonly errors: readonly string[];
    };
}

type Dict = Record<string, unknown>;
const isDict = (v: unknown): v is Dict => v !== null && typeof v === "object" && !Array.isArray(v);
const timedError = (v: unknown): string | undefined => (isDict(v) && typeof v.Err === "string" && v.Err !== "" ? v.Err : undefined);
const time = (v: unknown): string | undefined => (typeof v === "string" && v !== ZERO_TIME ? v : undefined);

/** Jobs by name, from `zrepl status --mode raw`. */
export function parseZreplStatus(r: CommandResult): Parsed<Map<string, ZreplJobRun>> {
    if (r.code !== 0) {
        const why = (r.stderr || r.stdout).trim().split("\n")[0] || `exit ${r.code}`;
        return { ok: false, reason: `zrepl status failed: ${why}` };
    }
    let doc: unknown;
    try {
        doc = JSON.parse(r.stdout);
    } catch {
        return { ok: false, reason: "zrepl status --mode raw printed no JSON" };
    }
    if (!isDict(doc) || !isDict(doc.Jobs)) return { ok: false, reason: "zrepl status: no Jobs object" };
    const jobs = new Map<string, ZreplJobRun>();
    for (const [name, raw] of Object.entries(doc.Jobs)) {
        if (!isDict(raw) || typeof raw.type !== "string") return { ok: false, reason: `zrepl status: job ${name} has no type` };
        const specific = raw[raw.type];
        const rep = isDict(specific) ? specific.Replication : undefined;
        if (!isDict(rep)) {
            jobs.set(name, { type: raw.type });
            continue;
        }
        const attempts = Array.isArray(rep.Attempts) ? rep.Attempts.filter(isDict) : [];
        const last = attempts[attempts.length - 1];
        if (!last) {
            jobs.set(name, { type: raw.type });
            continue;
        }
        const errors: string[] = [];
        const plan = timedError(last.PlanError);
        if (plan) errors.push(`plan: ${plan}`);
        for (const fs of Array.isArray(last.Filesystems) ? last.Filesystems.filter(isDict) : []) {
            const fsName = isDict(fs.Info) && typeof fs.Info.Name === "string" ? fs.Info.Name : "?";
            for (const e of [timedError(fs.PlanError), timedError(fs.StepError)]) if (e) errors.push(`${fsName}: ${e}`);
        }
        const reconnect = timedError(rep.WaitReconnectError);
        if (reconnect) errors.push(`reconnect: ${reconnect}`);
        const finishAt = time(last.FinishAt);
        jobs.set(name, {
            type: raw.type,
            lastAttempt: {
                state: typeof last.State === "string" ? last.State : "?",
                startAt: time(last.StartAt) ?? "?",
                ...(finishAt ? { finishAt } : {}),
                errors,
            },
        });
    }
    return { ok: true, value: jobs };
}

export interface ZreplCheck {
    readonly check: string;
    readonly verdict: "ok" | "fail" | "unknown";
    readonly measured: string;
    readonly expected: string;
    readonly remedy?: string;
}

/** The checks of one node; `jobs` are the node's pull job names (pullTargets). */
export function zreplChecks(
    site: Pick<Site, "zrepl">,
    node: Pick<SiteNode, "name">,
    jobNames: readonly string[],
    results: Partial<Record<ZreplCommand, CommandResult>>,
): ZreplCheck[] {
    if (!site.zrepl.enabled) return [];
    const out: ZreplCheck[] = [];
    const active = results.zreplActive;
    const state = active?.stdout.trim() ?? "";
    out.push(
        !active || !/^[a-z-]+$/.test(state)
            ? {
                  check: "zrepl daemon",
                  verdict: "unknown",
                  measured: `systemctl is-active not understood: ${state || "no output"}`,
                  expected: "active",
              }
            : state === "active"
              ? { check: "zrepl daemon", verdict: "ok", measured: "active", expected: "active" }
              : {
                    check: "zrepl daemon",
                    verdict: "fail",
                    measured: state,
                    expected: "active",
                    remedy: `on ${node.name}: \`systemctl start zrepl\`; \`journalctl -u zrepl\``,
                },
    );
    const status = results.zreplStatus ? parseZreplStatus(results.zreplStatus) : ({ ok: false, reason: "command did not run" } as const);
    const expected = "last run done, no errors";
    for (const job of jobNames) {
        const check = `zrepl job ${job}`;
        if (!status.ok) {
            out.push({ check, verdict: "unknown", measured: status.reason, expected });
            continue;
        }
        const j = status.value.get(job);
        if (!j) {
            out.push({
                check,
                verdict: "fail",
                measured: "not in the daemon's jobs",
                expected,
                remedy: `on ${node.name}: \`zrepl configcheck\`; re-run \`pulumi up\` (zrepl-config)`,
            });
            continue;
        }
        const a = j.lastAttempt;
        if (!a) {
            out.push({
                check,
                verdict: "unknown",
                measured: "no replication run yet",
                expected,
                remedy: `on ${node.name}: \`zrepl status\` after the job's interval`,
            });
            continue;
        }
        const when = a.finishAt ? `finished ${a.finishAt}` : `started ${a.startAt}, running`;
        if (a.errors.length > 0 || /error/.test(a.state)) {
            out.push({
                check,
                verdict: "fail",
                measured: `${a.state} (${when}): ${a.errors.join("; ") || "no error text"}`,
                expected,
                remedy: `on ${node.name}: \`zrepl status --job ${job}\`; a broken incremental chain: see docs/zrepl.md`,
            });
            continue;
        }
        if (a.state !== "done") {
            out.push({ check, verdict: "ok", measured: `${a.state} (${when})`, expected: `${expected} (a run is in progress)` });
            continue;
        }
        out.push({ check, verdict: "ok", measured: `done, ${when}`, expected });
    }
    return out;
}
