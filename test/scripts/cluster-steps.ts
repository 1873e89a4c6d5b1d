/**
 * Helpers for the cluster-script scenario tests: run one shipped script on a
 * fake host with the exact command text a component sends
 * (`scriptInvocation`, components/remote.ts), over the harness's real SSH.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { stdoutValue } from "../../components/hosts/steps";
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

export interface CreateResult {
    readonly cluster: string;
    readonly action: string;
    readonly fingerprint: string;
    readonly pubkey: string;
}

/**
 * Asserts that cluster-create succeeded, silently on stderr, with exactly its
 * documented lines in order — `cluster=… action=…`, `fingerprint=…`,
 * `pubkey=…` (no token: that is api-token.sh's) — and that the component's
 * own parser (`stdoutValue`) reads the same values from this real output.
 */
export function created(r: StepResult, what: string): CreateResult {
    assert.equal(r.code, 0, `${what} failed: ${r.stderr}${r.stdout}`);
    assert.equal(r.stderr, "", `${what} printed on stderr`);
    assert.match(r.stdout, /\n$/, `${what}: stdout ends with a newline`);
    const lines = r.stdout.slice(0, -1).split("\n");
    const patterns = [
        /^cluster=([A-Za-z0-9-]+) action=(created|exists)$/,
        /^fingerprint=((?:[0-9A-F]{2}:){31}[0-9A-F]{2})$/,
        /^pubkey=(ssh-rsa [A-Za-z0-9+/]+=* \S+)$/,
    ];
    assert.equal(lines.length, patterns.length, `${what}: expected ${patterns.length} result lines, got ${JSON.stringify(r.stdout)}`);
    const m = lines.map((l, i) => {
        const hit = patterns[i]!.exec(l);
        assert.ok(hit, `${what}: line ${i + 1} ${JSON.stringify(l)} does not match ${patterns[i]}`);
        return hit;
    });
    const result: CreateResult = {
        cluster: m[0]![1]!,
        action: m[0]![2]!,
        fingerprint: m[1]![1]!,
        pubkey: m[2]![1]!,
    };
    assert.equal(stdoutValue(r.stdout, "fingerprint"), result.fingerprint, "the component parses the fingerprint");
    assert.equal(stdoutValue(r.stdout, "pubkey", true), result.pubkey, "the component parses the public key");
    return result;
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

/**
 * The qnetd host as `apt-get install corosync-qnetd` leaves it on Debian: the
 * package's postinst (/var/lib/dpkg/info/corosync-qnetd.postinst) runs
 * `corosync-qnetd-certutil -i -G`, then starts the service. Real tools, run
 * inside the host (the harness's fake systemctl starts the real daemon).
 */
export function qnetdInstalled(site: Hosts, host: string): void {
    const r = site.exec(host, "corosync-qnetd-certutil -i -G >/dev/null 2>&1 && systemctl start corosync-qnetd");
    assert.equal(r.code, 0, `corosync-qnetd on ${host}: ${r.stderr}`);
}

/**
 * Polls `pvecm status` on `host` until `until` holds for its output (state
 * changes of a real cluster take seconds: token timeouts, reconnects); fails
 * after `seconds` with the last output.
 */
export async function waitStatus(
    site: Hosts,
    host: string,
    until: (r: RunResult) => boolean,
    what: string,
    seconds = 60,
): Promise<RunResult> {
    let last: RunResult = { code: -1, stdout: "", stderr: "" };
    for (let i = 0; i < seconds * 4; i++) {
        last = await site.run(host, "pvecm status");
        if (until(last)) return last;
        await new Promise((r) => setTimeout(r, 250));
    }
    assert.fail(`${host}: ${what} not reached in ${seconds} s; last pvecm status (exit ${last.code}):\n${last.stdout}${last.stderr}`);
}

/** The last non-empty line of a text (real pvecm passes ssh-copy-id's chatter through on stderr). */
export function lastLine(text: string): string {
    return (
        text
            .split("\n")
            .filter((l) => l.trim() !== "")
            .pop() ?? ""
    );
}
