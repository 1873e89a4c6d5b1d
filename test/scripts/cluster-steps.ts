/**
 * Helpers for the cluster-script scenario tests: run one shipped script on a
 * fake host with the exact command text a component sends
 * (`scriptInvocation`, components/remote.ts), over the harness's real SSH.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { scriptInvocation } from "../../components/remote";
import type { Hosts, RunResult } from "../harness/hosts";
import { parseLines } from "./lib";

export interface StepResult extends RunResult {
    /** stdout `key=value` lines (empty when the script failed). */
    readonly lines: Record<string, string>[];
}

export async function step(
    site: Hosts,
    host: string,
    script: string,
    args: readonly (string | number)[],
    stdin?: string,
): Promise<StepResult> {
    const r = await site.run(host, scriptInvocation(script, args), stdin);
    let lines: Record<string, string>[] = [];
    try {
        if (r.code === 0) lines = parseLines(r.stdout);
    } catch {
        lines = []; // e.g. pubkey=<a line with spaces>: the caller reads stdout itself
    }
    return { ...r, lines };
}

/** Asserts success, silence on stderr and exactly one result line; returns it. */
export function ok(r: StepResult, what: string): Record<string, string> {
    assert.equal(r.code, 0, `${what} failed: ${r.stderr}${r.stdout}`);
    assert.equal(r.stderr, "", `${what} printed on stderr`);
    assert.equal(r.lines.length, 1, `${what}: expected one result line, got ${JSON.stringify(r.stdout)}`);
    return r.lines[0]!;
}

/** Asserts a failure with a one-line reason on stderr that matches `reason`, and nothing on stdout. */
export function refused(r: StepResult, reason: RegExp, what: string): void {
    assert.notEqual(r.code, 0, `${what} should have failed: ${r.stdout}`);
    assert.equal(r.stdout, "", `${what}: no result line on failure`);
    const lines = r.stderr.split("\n").filter((l) => l !== "");
    assert.equal(lines.length, 1, `${what}: expected a one-line reason, got ${JSON.stringify(r.stderr)}`);
    assert.match(lines[0]!, reason, what);
}

/** Content of a file of the cluster filesystem (what every member's /etc/pve shows); `cluster` picks one by name. */
export function clusterFile(site: Hosts, rel: string, cluster?: string): string {
    const clusters = fs
        .readdirSync(path.join(site.stateDir, "clusters"))
        .filter((c) => cluster === undefined || c.startsWith(`${cluster}-`));
    assert.equal(clusters.length, 1, `expected one simulated cluster${cluster ? ` named ${cluster}` : ""}, got ${clusters.join(", ")}`);
    return fs.readFileSync(path.join(site.stateDir, "clusters", clusters[0]!, "pve", rel), "utf8");
}

/** The fake commands (argv[0] basename + args) run on a host since call number `from`. */
export function fakeCommands(site: Hosts, host: string, from = 0): string[] {
    return site
        .calls(host)
        .slice(from)
        .filter((c) => c.event === undefined)
        .map((c) => [path.basename(c.argv[0] ?? ""), ...c.argv.slice(1)].join(" "));
}

/** Parses `pvecm status` text into the fields the scripts check. */
export function pvecmStatus(text: string): {
    quorate: string;
    expected: number;
    total: number;
    quorum: string;
    flags: string[];
    qdeviceLine?: string;
} {
    const field = (label: string) => {
        const m = new RegExp(`^${label}:\\s*(.*)$`, "m").exec(text);
        assert.ok(m, `no "${label}:" in pvecm status:\n${text}`);
        return m[1]!;
    };
    return {
        quorate: field("Quorate"),
        expected: Number(field("Expected votes")),
        total: Number(field("Total votes")),
        quorum: field("Quorum"),
        flags: field("Flags")
            .trim()
            .split(/\s+/)
            .filter((f) => f !== ""),
        qdeviceLine: /^0x00000000 .*$/m.exec(text)?.[0],
    };
}
