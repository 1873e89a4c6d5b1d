/**
 * Real ZFS for tests: the Debian `zfs-fuse` daemon with file-backed vdevs.
 *
 * Shared by every test file that needs ZFS (pool creation, zrepl, …):
 *
 *   const zfs = await zfsSandbox("zpool");          // unique names per test file
 *   after(() => zfs.cleanup());                     // also runs at process exit as a backstop
 *   const a = zfs.disk("a"), b = zfs.disk("b");      // sparse files in a private temp dir
 *   const pool = zfs.poolName("p1");                 // e.g. "pht-zpool-3f2a-p1"
 *   zfs.zpool(["create", pool, "mirror", a, b]);     // or let a script under test create it
 *
 * Cleanup destroys every imported pool whose name starts with the sandbox's
 * prefix (whoever created it), removes the vdev files (which also disposes of
 * exported pools, whose only trace is their labels), and removes leftover
 * mountpoint directories. It is synchronous so it also works from an `exit`
 * handler when a test throws or the runner aborts.
 *
 * The daemon itself is the machine's ZFS service (like the kernel module on a
 * real host): it is started when absent and left running, because test files
 * run in parallel processes that share it. zfs-fuse is old ZFS (pool version
 * 23): no lz4, no `zpool status -P`, no acltype/relatime. Tests say so where
 * it matters.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export interface RunResult {
    readonly code: number;
    readonly stdout: string;
    readonly stderr: string;
}

/** Runs a program synchronously, never throwing on a non-zero exit. */
export function run(cmd: string, args: readonly string[], opts: { input?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {}): RunResult {
    const r = spawnSync(cmd, [...args], {
        encoding: "utf8",
        input: opts.input ?? "",
        env: opts.env ?? process.env,
        cwd: opts.cwd,
        maxBuffer: 64 * 1024 * 1024,
    });
    if (r.error) throw r.error;
    return { code: r.status ?? (r.signal ? 128 : 1), stdout: r.stdout, stderr: r.stderr };
}

function sleepSync(ms: number): void {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function daemonRunning(): boolean {
    return run("pgrep", ["-x", "zfs-fuse"]).code === 0;
}

function daemonAnswers(): boolean {
    // `zpool list` talks to the daemon over its socket; it fails while the daemon is starting.
    const r = run("zpool", ["list", "-H", "-o", "name"]);
    return r.code === 0 || /no pools available/.test(r.stdout + r.stderr);
}

/**
 * Starts zfs-fuse when no instance runs, and waits until it answers.
 * Safe to call from parallel processes: a second daemon refuses to start
 * (its socket is taken) and the caller then waits for the first one.
 */
export async function ensureZfsDaemon(maxWaitMs = 30_000): Promise<void> {
    if (!daemonRunning()) {
        const r = run("zfs-fuse", []);
        if (r.code !== 0 && !daemonRunning()) {
            throw new Error(`zfs-fuse failed to start (exit ${r.code}): ${(r.stderr || r.stdout).trim()}`);
        }
    }
    const deadline = Date.now() + maxWaitMs;
    while (!daemonAnswers()) {
        if (Date.now() > deadline) throw new Error("zfs-fuse runs but `zpool list` does not answer");
        await new Promise((r) => setTimeout(r, 200));
    }
}

export interface ZfsSandbox {
    /** Private temp directory holding the vdev files. */
    readonly dir: string;
    /** Every pool name handed out starts with this (unique per process and sandbox). */
    readonly prefix: string;
    /** A unique, valid pool name: `${prefix}-${tag}`. */
    poolName(tag: string): string;
    /** Creates an empty sparse file vdev (default 128 MiB, above zfs-fuse's 64 MiB minimum) and returns its absolute path. */
    disk(tag: string, sizeMiB?: number): string;
    /** `zpool …` / `zfs …`, never throwing. */
    zpool(args: readonly string[]): RunResult;
    zfs(args: readonly string[]): RunResult;
    /** Imported pools of this sandbox. */
    pools(): string[];
    /** Destroys this sandbox's pools and files. Idempotent. */
    cleanup(): void;
}

let sandboxCounter = 0;

/**
 * A private place for pools: unique names, file vdevs in a temp dir, and a
 * cleanup that runs even when the test fails (call it from `after`, and it is
 * also registered for process exit).
 */
export async function zfsSandbox(label: string): Promise<ZfsSandbox> {
    if (!/^[a-z][a-z0-9]{0,11}$/.test(label)) throw new Error(`sandbox label must be 1-12 of [a-z0-9], starting with a letter: ${label}`);
    await ensureZfsDaemon();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `zfs-${label}-`));
    // "pht" = proxmox-ha test; pid + counter make it unique across parallel test files.
    const prefix = `pht-${label}-${process.pid.toString(36)}${(sandboxCounter++).toString(36)}`;
    let cleaned = false;

    const zpool = (args: readonly string[]) => run("zpool", args);
    const zfs = (args: readonly string[]) => run("zfs", args);
    const pools = () =>
        zpool(["list", "-H", "-o", "name"])
            .stdout.split("\n")
            .map((s) => s.trim())
            .filter((n) => n === prefix || n.startsWith(`${prefix}-`));

    const cleanup = () => {
        if (cleaned) return;
        cleaned = true;
        process.removeListener("exit", cleanup);
        const mountpoints: string[] = [];
        for (const pool of pools()) {
            const mp = zfs(["list", "-H", "-o", "mountpoint", "-r", pool])
                .stdout.split("\n")
                .filter((m) => m.startsWith("/"));
            mountpoints.push(...mp);
            // Test cleanup only: the scripts under test never destroy anything.
            // zfs-fuse answers "pool is busy" for a moment after a dataset was created or mounted: retry.
            let r = zpool(["destroy", "-f", pool]);
            for (let i = 0; i < 40 && r.code !== 0 && /busy/.test(r.stderr); i++) {
                sleepSync(250);
                r = zpool(["destroy", "-f", pool]);
            }
            if (r.code !== 0) process.stderr.write(`zfs sandbox: could not destroy ${pool}: ${r.stderr.trim()}\n`);
        }
        fs.rmSync(dir, { recursive: true, force: true });
        // zfs-fuse may leave empty mountpoint directories behind; remove only empty ones, deepest first.
        for (const mp of [...new Set(mountpoints)].sort((a, b) => b.length - a.length)) {
            try {
                fs.rmdirSync(mp);
            } catch {
                /* not empty or already gone */
            }
        }
    };
    process.once("exit", cleanup);

    return {
        dir,
        prefix,
        poolName(tag: string) {
            if (!/^[A-Za-z0-9_.-]+$/.test(tag)) throw new Error(`bad pool tag ${tag}`);
            return `${prefix}-${tag}`;
        },
        disk(tag: string, sizeMiB = 128) {
            if (!/^[A-Za-z0-9_.-]+$/.test(tag)) throw new Error(`bad disk tag ${tag}`);
            const file = path.join(dir, tag);
            const fd = fs.openSync(file, "wx");
            fs.ftruncateSync(fd, sizeMiB * 1024 * 1024);
            fs.closeSync(fd);
            return file;
        },
        zpool,
        zfs,
        pools,
        cleanup,
    };
}
