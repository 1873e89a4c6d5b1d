/**
 * The bench's printed table, from the results object bench/run.ts writes to
 * bench/results.json. Pure: no files, no processes.
 */
import type { Summary } from "./stats";

type Side = Record<"evalMs" | "cpuMs" | "maxRssMb" | "evalRssMb" | "loadMs", Summary>;

const f = (x: number, d = 0) => x.toFixed(d);
const mmm = (s: Summary, d = 0) => `${f(s.median, d)} (${f(s.min, d)}–${f(s.max, d)})`;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function formatReport(r: any): string {
    const out: string[] = [];
    const ov = r.overhead;
    out.push(
        `Program overhead: reference stack, ${ov.resources} resources (${ov.customResources} custom); median (min–max) of ${r.options.runs} fresh processes`,
    );
    out.push(
        `  ${"".padEnd(10)} ${"eval wall ms".padEnd(20)} ${"eval CPU ms".padEnd(20)} ${"peak RSS MB".padEnd(18)} ${"RSS growth MB".padEnd(16)} load ms (excluded)`,
    );
    for (const [label, s] of [
        ["program", ov.program],
        ["floor", ov.floor],
    ] as [string, Side][]) {
        out.push(
            `  ${label.padEnd(10)} ${mmm(s.evalMs).padEnd(20)} ${mmm(s.cpuMs).padEnd(20)} ${mmm(s.maxRssMb).padEnd(18)} ${mmm(s.evalRssMb, 1).padEnd(16)} ${mmm(s.loadMs)}`,
        );
    }
    out.push(
        `  ratio      wall ${ov.ratio.wall}×, CPU ${ov.ratio.cpu}×, peak RSS ${ov.ratio.maxRss}×, RSS growth ${ov.ratio.evalRss}×   (target ≤ 1.5×)`,
    );
    out.push(
        `  floor fidelity: ${ov.floorFidelity.compared - ov.floorFidelity.differing.length}/${ov.floorFidelity.compared} resources with byte-identical recorded inputs`,
    );
    out.push("");
    out.push(`Scaling (warm: one untimed evaluation of the smallest stack first; ${r.options.scaleRuns} run(s) per size, medians)`);
    out.push(
        `  ${"size".padEnd(7)} ${"res.".padStart(5)} ${"wall ms".padStart(8)} ${"ms/res".padStart(6)} ${"CPU/res".padStart(7)} ${"×smallest".padStart(9)} ${"marginal".padStart(8)} ${"floor/res".padStart(9)} ${"floor ×".padStart(9)} ${"prog/floor".padStart(10)} ${"peak RSS".padStart(8)} ${"floor RSS".padStart(9)} ${"stages".padStart(6)}`,
    );
    for (const s of r.scaling) {
        out.push(
            `  ${s.size.padEnd(7)} ${String(s.resources).padStart(5)} ${f(s.program.evalMs.median).padStart(8)} ${f(s.program.perResourceMs, 2).padStart(6)} ${f(s.program.perResourceCpuMs, 2).padStart(7)} ${`${f(s.vsSmallest.wall, 2)}/${f(s.vsSmallest.cpu, 2)}`.padStart(9)} ${(s.marginalMsPerResource === null ? "–" : f(s.marginalMsPerResource, 2)).padStart(8)} ${f(s.floor.perResourceMs, 2).padStart(9)} ${`${f(s.vsSmallest.floorWall, 2)}/${f(s.vsSmallest.floorCpu, 2)}`.padStart(9)} ${f(s.programVsFloor, 2).padStart(10)} ${f(s.program.maxRssMb.median).padStart(8)} ${f(s.floor.maxRssMb.median).padStart(9)} ${String(s.freshSiteStages).padStart(6)}`,
        );
    }
    out.push(
        "  ms/res: eval wall ms per recorded resource; ×smallest: that per-resource cost over the smallest size's (wall/CPU; target at 2x1000 ≤ 1.2×);",
        "  marginal: ms per added resource since the previous size; peak RSS in MB; stages: converge stages of that site fresh",
    );
    out.push("");
    out.push(
        `Preview mode: the program as \`pulumi preview\` runs it (the SDK's runner, ${r.environment.runtimeOptions.typescript ? "ts-node" : "plain node"}${r.environment.runtimeOptions.tsconfig ? ` with ${r.environment.runtimeOptions.tsconfig}` : ""}, source maps, the SDK's stack capture as this program leaves it); medians`,
    );
    out.push(
        `  ${"size".padEnd(7)} ${"mock ms".padStart(8)} ${"preview ms".padStart(10)} ${"ms/res".padStart(6)} ${"×mock/res".padStart(9)} ${"cold load ms".padStart(12)} ${"peak RSS".padStart(8)} ${"SDK as is ms".padStart(12)} ${"×mock/res".padStart(9)}`,
    );
    for (const s of r.scaling) {
        out.push(
            `  ${s.size.padEnd(7)} ${f(s.program.evalMs.median).padStart(8)} ${f(s.preview.evalMs.median).padStart(10)} ${f(s.preview.perResourceMs, 2).padStart(6)} ${f(s.preview.vsMock, 2).padStart(9)} ${f(s.preview.coldLoadMs.median).padStart(12)} ${f(s.preview.maxRssMb.median).padStart(8)} ${(s.sdkAsIs ? f(s.sdkAsIs.evalMs.median) : "–").padStart(12)} ${(s.sdkAsIs ? f(s.sdkAsIs.vsMock, 2) : "–").padStart(9)}`,
        );
    }
    out.push(
        "  ×mock/res: per-resource eval wall time over the mock mode's (target at 2x1000 ≤ 1.5×; 2x1000 preview ≤ 15000 ms);",
        "  cold load: SDK runner start, every module compiled by ts-node with an empty cache, one warm-up evaluation of the smallest stack;",
        "  SDK as is: with PULUMI_DEBUG_PROMISE_LEAKS set, the SDK's stack capture on (what a preview cost before components/promiseStacks.ts)",
    );
    out.push("");
    const c = r.critical;
    out.push(`Converge critical path, fresh reference site: ${c.fresh.stages} stages (target ≤ 6)`);
    for (const l of c.fresh.chain)
        out.push(`  ${String(l.stage).padStart(2)}. ${l.name}${l.alsoTight.length ? `   (also tight: ${l.alsoTight.join(", ")})` : ""}`);
    out.push("  edges:");
    for (const e of c.fresh.edges) out.push(`    ${e.from} ▶ ${e.to}: [${e.kind}] ${e.why}`);
    out.push("  what if:");
    for (const w of c.whatIf) out.push(`    ${w.stages} stages: ${w.change} — breaks: ${w.breaks}`);
    const chainText = (chain: { name: string; via: string[] }[]) =>
        chain
            .map((l) => (l.via.length ? `(via unchanged ${l.via.join(", ")}) ▶ ${l.name}` : l.name))
            .join(" ▶ ")
            .replace(/▶ \(via/g, "(via");
    out.push(
        `Add guest ${c.addGuest.guest}: ${c.addGuest.added.length} new, ${c.addGuest.changed.length} changed, ${c.addGuest.removed.length} removed; outside the guest's own: ${c.addGuest.outsideGuest.length}${c.addGuest.outsideGuest.length ? ` (${c.addGuest.outsideGuest.join(", ")})` : ""}`,
        `  ${c.addGuest.stages} stages: ${chainText(c.addGuest.chain)}`,
    );
    for (const n of c.addNode) {
        out.push(
            `Add node, ${n.label}: ${n.added.length} new, ${n.changed.length} changed (${n.changed.join(", ")}), ${n.removed.length} removed${n.removed.length ? ` (${n.removed.join(", ")})` : ""}${n.droppedQdevice ? "; the stack drops the QDevice (odd node count)" : ""}`,
            `  ${n.stages} stages: ${chainText(n.chain)}`,
        );
    }
    out.push("");
    out.push(
        `Determinism: ${r.determinism.map((d: { stack: string; differingInputs: number; resources: number }) => `${d.stack} ${d.differingInputs}/${d.resources} differ`).join("; ")}`,
    );
    out.push("");
    out.push("Targets:");
    for (const [k, t] of Object.entries(r.targets) as [string, { target: string; value: number; met: boolean }][]) {
        out.push(`  ${t.met ? "✓" : "✗"} ${k}: ${t.value} (${t.target})`);
    }
    return out.join("\n");
}
