/**
 * Text rendering of a health report: one table per host (✓ ✗ ?, check,
 * measured, expected, remedy) and a one-line summary.
 */
import type { Check, HealthReport, HostReport } from "./checks";

const MARK: Record<Check["verdict"], string> = { ok: "✓", fail: "✗", unknown: "?" };

function pad(s: string, n: number): string {
    // Code points, not UTF-16 units: "≤" and "→" are one column each.
    return s + " ".repeat(Math.max(0, n - [...s].length));
}

function width(rows: readonly string[]): number {
    return Math.max(...rows.map((r) => [...r].length));
}

function hostTitle(h: HostReport): string {
    if (h.role === "cluster") return `cluster ${h.name}: HA and replication (cluster-wide)`;
    if (h.role === "qdevice") return `qnetd host ${h.address}:${h.port}`;
    return `node ${h.name} ${h.address}:${h.port}`;
}

export function renderTable(h: HostReport): string {
    const head = { check: "CHECK", measured: "MEASURED", expected: "EXPECTED" };
    const rows = [head, ...h.checks];
    const wc = width(rows.map((r) => r.check));
    const wm = width(rows.map((r) => r.measured));
    const we = width(rows.map((r) => r.expected));
    const out = [hostTitle(h)];
    out.push(`     ${pad(head.check, wc)}  ${pad(head.measured, wm)}  ${pad(head.expected, we)}  REMEDY`);
    for (const c of h.checks) {
        const line = `  ${MARK[c.verdict]}  ${pad(c.check, wc)}  ${pad(c.measured, wm)}  ${pad(c.expected, we)}  ${c.verdict === "ok" ? "" : (c.remedy ?? "")}`;
        out.push(line.trimEnd());
    }
    return out.join("\n");
}

export function renderReport(r: HealthReport): string {
    const checks = r.hosts.flatMap((h) => h.checks);
    const n = (v: Check["verdict"]) => checks.filter((c) => c.verdict === v).length;
    const tables = r.hosts.map(renderTable).join("\n\n");
    const summary = `${r.stack} (cluster ${r.cluster}): ${r.status.toUpperCase()} (exit ${r.exitCode}): ${n("ok")} ✓, ${n("fail")} ✗, ${n("unknown")} ?`;
    return `${tables}\n\n${summary}\n`;
}
