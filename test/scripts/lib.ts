/**
 * Runs a shipped script exactly as a component sends it: the text of
 * `scriptInvocation(name, args)` (components/remote.ts) executed by bash, as
 * the remote login shell would. Optional: extra PATH entries (fakes, logging
 * shims) and a private mount namespace with bind mounts, so a test can give
 * the script its own /etc/default, /sys/module, … without touching the host.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { scriptInvocation } from "../../components/remote";
import { run, type RunResult } from "../harness/zfs";

export interface ScriptRunOptions {
    /** First line of stdin (secrets), as a command's `stdin` would send it. */
    readonly input?: string;
    /** Directories put in front of PATH. */
    readonly pathPrefix?: readonly string[];
    readonly env?: Record<string, string>;
    /** [source, target] pairs bind-mounted in a private mount namespace for this run only. */
    readonly binds?: readonly (readonly [string, string])[];
    /** Shell text run first, in the same shell (and namespace) as the script, e.g. to start a helper process. */
    readonly prelude?: string;
    /**
     * With binds: also a private PID namespace with its own /proc, so a script that scans
     * /proc sees only this run's processes (not those of test files running in parallel).
     */
    readonly privateProc?: boolean;
}

export interface ScriptResult extends RunResult {
    /** stdout lines parsed as `key=value key=value`. */
    readonly lines: Record<string, string>[];
}

/** `key=value key=value` lines → objects (values contain no spaces by contract). */
export function parseLines(stdout: string): Record<string, string>[] {
    return stdout
        .split("\n")
        .filter((l) => l.trim() !== "")
        .map((l) => {
            const out: Record<string, string> = {};
            for (const field of l.trim().split(/\s+/)) {
                const i = field.indexOf("=");
                if (i <= 0) throw new Error(`not a key=value line: ${JSON.stringify(l)}`);
                out[field.slice(0, i)] = field.slice(i + 1);
            }
            return out;
        });
}

const NAMESPACE_WRAPPER = 'set -e; while [ "$1" != "--" ]; do mount --bind "$1" "$2"; shift 2; done; shift; exec bash -c "$1"';

export function runScript(name: string, args: readonly (string | number)[], o: ScriptRunOptions = {}): ScriptResult {
    const invocation = o.prelude ? `${o.prelude}\n${scriptInvocation(name, args)}` : scriptInvocation(name, args);
    const env: NodeJS.ProcessEnv = { ...process.env, ...(o.env ?? {}) };
    if (o.pathPrefix?.length) env.PATH = [...o.pathPrefix, process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin"].join(":");
    const r = o.binds?.length
        ? run(
              "unshare",
              [
                  "--mount",
                  ...(o.privateProc ? ["--pid", "--fork", "--mount-proc"] : []),
                  "--propagation",
                  "private",
                  "--",
                  "bash",
                  "-c",
                  NAMESPACE_WRAPPER,
                  "ns",
                  ...o.binds.flatMap(([s, t]) => [s, t]),
                  "--",
                  invocation,
              ],
              { env, ...(o.input !== undefined ? { input: o.input } : {}) },
          )
        : run("bash", ["-c", invocation], { env, ...(o.input !== undefined ? { input: o.input } : {}) });
    let lines: Record<string, string>[] = [];
    try {
        lines = parseLines(r.stdout);
    } catch {
        lines = [];
    }
    return { ...r, lines };
}

/** A temp dir removed at process exit (and by the returned cleanup). */
export function tempDir(label: string): { dir: string; cleanup: () => void } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${label}-`));
    const cleanup = () => {
        fs.rmSync(dir, { recursive: true, force: true });
        process.removeListener("exit", cleanup);
    };
    process.once("exit", cleanup);
    return { dir, cleanup };
}

/**
 * A PATH shim that logs every call of `tool` (one line of arguments) to
 * `log`, then runs the real tool. Lets a test prove what a script did NOT run.
 */
export function loggingShim(binDir: string, tool: string, log: string): void {
    const real = run("bash", ["-c", `command -v ${tool}`]).stdout.trim();
    if (!real) throw new Error(`${tool} not found`);
    fs.mkdirSync(binDir, { recursive: true });
    fs.writeFileSync(
        path.join(binDir, tool),
        `#!/bin/bash\nprintf '%s\\n' "${tool} $*" >> ${JSON.stringify(log)}\nexec ${JSON.stringify(real)} "$@"\n`,
        { mode: 0o755 },
    );
}
