/**
 * `npm test` runs this first: the tests execute real tools (zfs-fuse, sshd,
 * corosync, …) as root, and `.ci/run` is what installs them. Rather than fail
 * test by test on a machine without them, say in one line what is missing and
 * the command that installs it. The package list is read from `.ci/run`
 * itself, so the two cannot drift apart.
 *
 * Exit 0 when everything is there, 1 otherwise (with the one line on stderr).
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

const ROOT = path.resolve(__dirname, "..");

/** The Debian packages `.ci/run` installs: its `packages=(…)` line. */
export function ciPackages(ciRun = fs.readFileSync(path.join(ROOT, ".ci", "run"), "utf8")): string[] {
    const m = /^packages=\(([^)]*)\)/m.exec(ciRun);
    if (!m) throw new Error(".ci/run has no packages=(…) line");
    return m[1]!.split(/\s+/).filter(Boolean);
}

/** What this machine lacks for `npm test`. */
export function missingPrerequisites(
    packages: readonly string[],
    env: { uid: number; nodeMajor: number; installed: (pkg: string) => boolean | undefined },
): string[] {
    const missing: string[] = [];
    if (env.uid !== 0) missing.push("root");
    if (env.nodeMajor < 22) missing.push(`Node 22 or later (this is ${env.nodeMajor})`);
    const state = packages.map((p) => [p, env.installed(p)] as const);
    if (state.some(([, s]) => s === undefined)) missing.push("a Debian machine (dpkg-query not found)");
    else missing.push(...state.filter(([, s]) => !s).map(([p]) => p));
    return missing;
}

function dpkgInstalled(pkg: string): boolean | undefined {
    const r = spawnSync("dpkg-query", ["-W", "-f=${Status}", pkg], { encoding: "utf8" });
    if (r.error) return undefined;
    return r.status === 0 && r.stdout.includes("install ok installed");
}

export function prerequisiteLine(missing: readonly string[]): string {
    return `npm test needs ${missing.join(", ")}: run \`sudo bash .ci/run\` on Debian, which installs the packages and Node 22 and then runs the tests (set SKIP_PREREQUISITES=1 to try anyway)`;
}

if (require.main === module) {
    if (process.env.SKIP_PREREQUISITES !== "1") {
        const missing = missingPrerequisites(ciPackages(), {
            uid: process.getuid?.() ?? -1,
            nodeMajor: Number(process.versions.node.split(".")[0]),
            installed: dpkgInstalled,
        });
        if (missing.length > 0) {
            process.stderr.write(`${prerequisiteLine(missing)}\n`);
            process.exitCode = 1;
        }
    }
}
