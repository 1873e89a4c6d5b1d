/**
 * `npm run bench`: cost of planning a site, how it grows, and the converge
 * critical path (issue #8). Prints a table and writes JSON:
 *
 *   bench/out/…            per-run inputs, records and raw results (git-ignored)
 *   bench/results.json     the summary of this run (committed from the final run)
 *
 * Options: --runs N (overhead runs per side, default 9), --scale-runs N
 * (scaling runs per size and side, default 5), --sizes 2x10,2x100,…
 * (default 2x10,2x100,2x1000,32x100), --quick (runs 3, scale-runs 1, sizes
 * 2x10,2x100), --out FILE (results file, default bench/results.json).
 *
 * Every measured evaluation runs in a fresh process (bench/worker.ts), one at a
 * time. See docs/performance.md for what is measured and why.
 */
import { execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { validateSite } from "../components/validate";
import type { RecordedResource } from "../tools/lib/mock-runtime";
import { readStack, ROOT } from "../tools/lib/stack";
import { stages } from "../tools/lib/graph";
import { programConfig, rawFromConfig, withExtraGuest, withExtraNode, withoutSecrets } from "./lib/config";
import { chainReport, compareEvaluations, diffByUrn, changedWeight, stageCount, stepGraph, whatIfs } from "./lib/critical";
import { floorSpec } from "./lib/floor";
import { formatReport } from "./lib/report";
import { previewWorker, runtimeOptions, type PreviewResult } from "./lib/preview";
import { ownedByGuest } from "./lib/ownership";
import { round, summarize, type Summary } from "./lib/stats";
import { syntheticRaw, type SiteSize } from "./lib/synthetic";

const OUT = path.join(ROOT, "bench", "out");

interface Options {
    runs: number;
    scaleRuns: number;
    /** Preview-mode runs per size with the SDK's stack capture left on (PULUMI_DEBUG_PROMISE_LEAKS). */
    sdkRuns: number;
    /** Pulumi.yaml's runtime options, as the language host applies them. */
    runtime: ReturnType<typeof runtimeOptions>;
    sizes: SiteSize[];
    out: string;
}

function parseArgs(argv: string[]): Options {
    const o: Options = {
        runs: 9,
        scaleRuns: 5,
        sdkRuns: 1,
        runtime: runtimeOptions(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8")),
        sizes: parseSizes("2x10,2x100,2x1000,32x100"),
        out: path.join(ROOT, "bench", "results.json"),
    };
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i]!;
        const next = () => {
            const v = argv[++i];
            if (v === undefined) throw new Error(`${a} needs a value`);
            return v;
        };
        if (a === "--runs") o.runs = positive(next(), a);
        else if (a === "--scale-runs") o.scaleRuns = positive(next(), a);
        else if (a === "--sdk-runs") o.sdkRuns = count(next(), a);
        else if (a === "--sizes") o.sizes = parseSizes(next());
        else if (a === "--out") o.out = path.resolve(next());
        else if (a === "--quick") {
            o.runs = 3;
            o.scaleRuns = 1;
            o.sdkRuns = 0;
            o.sizes = parseSizes("2x10,2x100");
        } else
            throw new Error(
                `unknown argument ${a}; usage: npm run bench -- [--runs N] [--scale-runs N] [--sdk-runs N] [--sizes 2x10,…] [--quick] [--out FILE]`,
            );
    }
    return o;
}

function count(v: string, flag: string): number {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new Error(`${flag}: a whole number, got ${v}`);
    return n;
}

function positive(v: string, flag: string): number {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${flag}: a positive whole number, got ${v}`);
    return n;
}

export function parseSizes(text: string): SiteSize[] {
    return text.split(",").map((s) => {
        const m = /^(\d+)x(\d+)$/.exec(s.trim());
        if (!m) throw new Error(`size "${s}": write NODESxGUESTS, e.g. 2x100`);
        return { nodes: Number(m[1]), guests: Number(m[2]) };
    });
}

// ---------- workers ----------------------------------------------------------

interface WorkerResult {
    mode: "program" | "floor";
    loadMs: number;
    evalMs: number;
    cpuMs: number;
    resources: number;
    custom: number;
    rssBeforeMb: number;
    maxRssMb: number;
    heapRetainedMb: number;
    cold?: { evalMs: number; cpuMs: number; resources: number };
    fidelity?: { compared: number; differing: string[] };
}

function worker(job: { mode: "program" | "floor"; input: string; warmup?: string; dump?: string }): Promise<WorkerResult> {
    return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, ["--expose-gc", "--import", "tsx", path.join("bench", "worker.ts"), JSON.stringify(job)], {
            cwd: ROOT,
            stdio: ["ignore", "pipe", "pipe"],
        });
        let out = "";
        let err = "";
        child.stdout.on("data", (d: Buffer) => (out += d.toString()));
        child.stderr.on("data", (d: Buffer) => (err += d.toString()));
        child.on("error", reject);
        child.on("close", (code) => {
            const line = out.split("\n").find((l) => l.startsWith("BENCH-RESULT "));
            if (code !== 0 || !line) {
                reject(
                    new Error(
                        `worker ${job.mode} ${path.basename(job.input)} exited ${code}: ${err.trim().split("\n").slice(-5).join(" | ")}`,
                    ),
                );
                return;
            }
            resolve(JSON.parse(line.slice("BENCH-RESULT ".length)) as WorkerResult);
        });
    });
}

function writeJson(file: string, value: unknown): string {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, JSON.stringify(value, null, 1));
    return file;
}

function readRecords(file: string): RecordedResource[] {
    return JSON.parse(fs.readFileSync(file, "utf8")) as RecordedResource[];
}

function log(msg: string): void {
    process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

/** A validated raw stack written for the workers; refuses an invalid one. */
function stackInput(name: string, raw: Record<string, unknown>): string {
    const { problems } = validateSite(raw, new Set());
    if (problems.length) throw new Error(`bench stack ${name} is invalid:\n${problems.map((p) => `  ${p.path}: ${p.message}`).join("\n")}`);
    programConfig(raw); // refuses raw secrets
    return writeJson(path.join(OUT, "stacks", `${name}.json`), raw);
}

// ---------- measurements -----------------------------------------------------

const sizeName = (s: SiteSize) => `${s.nodes}x${s.guests}`;

interface Side {
    evalMs: Summary;
    cpuMs: Summary;
    loadMs: Summary;
    maxRssMb: Summary;
    evalRssMb: Summary;
    heapRetainedMb: Summary;
    resources: number;
    custom: number;
}

function side(results: WorkerResult[]): Side {
    const counts = new Set(results.map((r) => r.resources));
    if (counts.size !== 1) throw new Error(`runs recorded different resource counts: ${[...counts].join(", ")}`);
    return {
        evalMs: summarize(results.map((r) => r.evalMs)),
        cpuMs: summarize(results.map((r) => r.cpuMs)),
        loadMs: summarize(results.map((r) => r.loadMs)),
        maxRssMb: summarize(results.map((r) => r.maxRssMb)),
        evalRssMb: summarize(results.map((r) => r.maxRssMb - r.rssBeforeMb)),
        heapRetainedMb: summarize(results.map((r) => r.heapRetainedMb)),
        resources: results[0]!.resources,
        custom: results[0]!.custom,
    };
}

async function overhead(o: Options, referenceInput: string, reference: RecordedResource[]) {
    const spec = writeJson(path.join(OUT, "floor", "reference.json"), floorSpec(reference));
    const program: WorkerResult[] = [];
    const floor: WorkerResult[] = [];
    for (let i = 0; i < o.runs; i++) {
        // Interleaved, so a change in machine load hits both sides alike.
        program.push(await worker({ mode: "program", input: referenceInput }));
        floor.push(await worker({ mode: "floor", input: spec }));
        log(`overhead run ${i + 1}/${o.runs}: program ${program[i]!.evalMs.toFixed(0)} ms, floor ${floor[i]!.evalMs.toFixed(0)} ms`);
    }
    const fid = floor[0]!.fidelity!;
    return { program: side(program), floor: side(floor), floorFidelity: { compared: fid.compared, differing: fid.differing } };
}

async function scaling(o: Options, determinism: Map<string, [RecordedResource[], RecordedResource[]]>) {
    // Smallest first: it is every run's warm-up and the base of the ratios.
    const sizes = [...o.sizes].sort((a, b) => a.nodes * a.guests - b.nodes * b.guests || a.nodes - b.nodes);
    const inputs = sizes.map((s) => ({ size: s, input: stackInput(`synthetic-${sizeName(s)}`, syntheticRaw(referenceRaw(), s)) }));
    const warmProgram = inputs[0]!.input;
    let warmFloor: string | undefined;
    const rows = [];
    for (const { size, input } of inputs) {
        const name = sizeName(size);
        const dumpA = path.join(OUT, "records", `synthetic-${name}.a.json`);
        const dumpB = path.join(OUT, "records", `synthetic-${name}.b.json`);
        const program: WorkerResult[] = [];
        const floor: WorkerResult[] = [];
        const preview: PreviewResult[] = [];
        const previewJob = { input: configOf(input), warmup: configOf(warmProgram) };
        const previewFile = path.join(OUT, "preview", `synthetic-${name}.json`);
        program.push(await worker({ mode: "program", input, warmup: warmProgram, dump: dumpA }));
        const spec = writeJson(path.join(OUT, "floor", `synthetic-${name}.json`), floorSpec(readRecords(dumpA)));
        warmFloor ??= spec;
        for (let i = 0; i < o.scaleRuns; i++) {
            if (i > 0) program.push(await worker({ mode: "program", input, warmup: warmProgram, ...(i === 1 ? { dump: dumpB } : {}) }));
            floor.push(await worker({ mode: "floor", input: spec, warmup: warmFloor }));
            preview.push(await previewWorker(ROOT, previewFile, previewJob, o.runtime));
            log(
                `scaling ${name} run ${i + 1}/${o.scaleRuns}: program ${program[i]!.evalMs.toFixed(0)} ms, floor ${floor[i]!.evalMs.toFixed(0)} ms, preview ${preview[i]!.evalMs.toFixed(0)} ms (${program[i]!.resources} resources)`,
            );
        }
        // The SDK as it is (stack capture on): PULUMI_DEBUG_PROMISE_LEAKS leaves it on.
        const sdkAsIs: PreviewResult[] = [];
        for (let i = 0; i < o.sdkRuns; i++) {
            sdkAsIs.push(await previewWorker(ROOT, previewFile, previewJob, o.runtime, true));
            log(`scaling ${name} preview with PULUMI_DEBUG_PROMISE_LEAKS, run ${i + 1}/${o.sdkRuns}: ${sdkAsIs[i]!.evalMs.toFixed(0)} ms`);
        }
        checkPreview(name, program[0]!.resources, o.runtime.typescript, preview, sdkAsIs);
        if (o.scaleRuns < 2) await worker({ mode: "program", input, dump: dumpB });
        const recordsA = readRecords(dumpA);
        determinism.set(`synthetic ${name}`, [recordsA, readRecords(dumpB)]);
        rows.push({
            size,
            program: side(program),
            floor: side(floor),
            cold: program.map((p) => p.cold!),
            preview: previewSide(preview),
            sdkAsIs: sdkAsIs.length ? previewSide(sdkAsIs) : undefined,
            freshStages: stageCount(stepGraph(recordsA)),
        });
    }
    return rows;
}

/** The text map a preview-mode worker gets for a raw stack file written by stackInput. */
function configOf(input: string) {
    return programConfig(JSON.parse(fs.readFileSync(input, "utf8")) as Record<string, unknown>);
}

interface PreviewSide {
    evalMs: Summary;
    cpuMs: Summary;
    loadMs: Summary;
    maxRssMb: Summary;
    resources: number;
}

function previewSide(results: PreviewResult[]): PreviewSide {
    return {
        evalMs: summarize(results.map((r) => r.evalMs)),
        cpuMs: summarize(results.map((r) => r.cpuMs)),
        loadMs: summarize(results.map((r) => r.loadMs)),
        maxRssMb: summarize(results.map((r) => r.maxRssMb)),
        resources: results[0]!.resources,
    };
}

/**
 * A preview-mode figure is only reported for what it claims: the same resources as
 * the mock mode (plus the root Stack the SDK's runner registers), the SDK runner's
 * source-map support and TypeScript runner as Pulumi.yaml asks, and the stack capture
 * off with this project's lever, on without it.
 */
function checkPreview(name: string, mockResources: number, typescript: boolean, lever: PreviewResult[], sdkAsIs: PreviewResult[]): void {
    for (const [r, capture] of [...lever.map((r) => [r, false] as const), ...sdkAsIs.map((r) => [r, true] as const)]) {
        const problems = [
            r.resources !== mockResources + 1 && `${r.resources} registrations, mock mode ${mockResources} + the root Stack`,
            r.typescriptRunner !== typescript && `TypeScript runner ${r.typescriptRunner}, Pulumi.yaml says ${typescript}`,
            !r.sourceMapSupport && "no source-map support installed (the SDK's runner installs it)",
            r.promiseStacks !== capture && `stack capture ${r.promiseStacks ? "on" : "off"}, expected ${capture ? "on" : "off"}`,
        ].filter(Boolean);
        if (problems.length) throw new Error(`preview mode ${name}: ${problems.join("; ")}`);
    }
}

let referenceRawCache: Record<string, unknown> | undefined;
function referenceRaw(): Record<string, unknown> {
    referenceRawCache ??= withoutSecrets(rawFromConfig(readStack("prod").config));
    return structuredClone(referenceRawCache);
}

// ---------- main --------------------------------------------------------------

async function main(): Promise<void> {
    const o = parseArgs(process.argv.slice(2));
    const started = Date.now();
    const loadStart = os.loadavg();
    for (const d of ["stacks", "records", "floor"]) fs.mkdirSync(path.join(OUT, d), { recursive: true });
    console.warn = (...args: unknown[]) => process.stderr.write(args.join(" ") + "\n");

    const determinism = new Map<string, [RecordedResource[], RecordedResource[]]>();

    // Reference stack, twice (records for the floor, the critical path and determinism).
    const refInput = stackInput("reference", referenceRaw());
    const refA = path.join(OUT, "records", "reference.a.json");
    const refB = path.join(OUT, "records", "reference.b.json");
    await worker({ mode: "program", input: refInput, dump: refA });
    await worker({ mode: "program", input: refInput, dump: refB });
    const reference = readRecords(refA);
    determinism.set("reference", [reference, readRecords(refB)]);
    log(`reference: ${reference.length} resources recorded`);

    // 3. Converge critical path.
    const fresh = chainReport(reference, stepGraph(reference));
    const fresh2 = stages(reference).length;
    if (fresh2 !== fresh.stages) throw new Error(`critical path: graph.ts says ${fresh2} stages, bench says ${fresh.stages}`);
    const ifs = whatIfs(reference);

    const { raw: guestRaw, vmid } = withExtraGuest(referenceRaw());
    const guestDump = path.join(OUT, "records", "reference-plus-guest.json");
    await worker({ mode: "program", input: stackInput("reference-plus-guest", guestRaw), dump: guestDump });
    const withGuest = readRecords(guestDump);
    const gDiff = diffByUrn(reference, withGuest);
    const touched = [...gDiff.added, ...gDiff.changed];
    const outside = [...touched.filter((r) => !ownedByGuest(r.name, vmid)), ...gDiff.removed].map((r) => r.name);
    const addGuest = {
        guest: vmid,
        added: gDiff.added.map((r) => r.name),
        changed: gDiff.changed.map((r) => r.name),
        removed: gDiff.removed.map((r) => r.name),
        outsideGuest: outside,
        ...chainReport(withGuest, stepGraph(withGuest), changedWeight(gDiff)),
    };

    const addNode = [];
    const nodeBases: { label: string; before: Record<string, unknown> }[] = [
        { label: "reference (2 nodes + QDevice) → 3 nodes", before: referenceRaw() },
        { label: "3 nodes → 4 nodes (no QDevice)", before: withExtraNode(referenceRaw()).raw },
    ];
    for (const [i, b] of nodeBases.entries()) {
        const { raw: after, name, droppedQdevice } = withExtraNode(b.before);
        const beforeDump = path.join(OUT, "records", `node-${i}.before.json`);
        const afterDump = path.join(OUT, "records", `node-${i}.after.json`);
        const beforeRecords =
            i === 0
                ? reference
                : (await worker({ mode: "program", input: stackInput(`node-${i}-before`, b.before), dump: beforeDump }),
                  readRecords(beforeDump));
        await worker({ mode: "program", input: stackInput(`node-${i}-after`, after), dump: afterDump });
        const afterRecords = readRecords(afterDump);
        const d = diffByUrn(beforeRecords, afterRecords);
        addNode.push({
            label: b.label,
            node: name,
            droppedQdevice,
            added: d.added.map((r) => r.name),
            changed: d.changed.map((r) => r.name),
            removed: d.removed.map((r) => r.name),
            ...chainReport(afterRecords, stepGraph(afterRecords), changedWeight(d)),
        });
    }
    log("critical paths done");

    // 1. Overhead.
    const over = await overhead(o, refInput, reference);
    // 2. Scaling.
    const scale = await scaling(o, determinism);

    // 4. Determinism.
    const det = [...determinism].map(([label, [a, b]]) => {
        const c = compareEvaluations(a, b);
        return {
            stack: label,
            resources: c.resources,
            differingInputs: c.differingInputs.length,
            differingDependencies: c.differingDependencies.length,
            examples: c.differingInputs.slice(0, 5),
        };
    });

    const smallest = scale[0];
    const perRes = (s: Side, key: "evalMs" | "cpuMs") => s[key].median / s.resources;
    const scaleRows = scale.map((r, i) => ({
        size: sizeName(r.size),
        resources: r.program.resources,
        /** (T(size) − T(previous size)) / (R(size) − R(previous size)): cost of one more resource, fixed costs cancelled. */
        marginalMsPerResource:
            i === 0
                ? null
                : round(
                      (r.program.evalMs.median - scale[i - 1]!.program.evalMs.median) /
                          (r.program.resources - scale[i - 1]!.program.resources),
                      3,
                  ),
        program: {
            evalMs: r.program.evalMs,
            cpuMs: r.program.cpuMs,
            perResourceMs: round(perRes(r.program, "evalMs"), 3),
            perResourceCpuMs: round(perRes(r.program, "cpuMs"), 3),
            maxRssMb: r.program.maxRssMb,
            heapRetainedMb: r.program.heapRetainedMb,
        },
        floor: {
            evalMs: r.floor.evalMs,
            cpuMs: r.floor.cpuMs,
            perResourceMs: round(perRes(r.floor, "evalMs"), 3),
            perResourceCpuMs: round(perRes(r.floor, "cpuMs"), 3),
            maxRssMb: r.floor.maxRssMb,
            heapRetainedMb: r.floor.heapRetainedMb,
        },
        programVsFloor: round(perRes(r.program, "evalMs") / perRes(r.floor, "evalMs"), 3),
        vsSmallest: smallest
            ? {
                  wall: round(perRes(r.program, "evalMs") / perRes(smallest.program, "evalMs"), 3),
                  cpu: round(perRes(r.program, "cpuMs") / perRes(smallest.program, "cpuMs"), 3),
                  floorWall: round(perRes(r.floor, "evalMs") / perRes(smallest.floor, "evalMs"), 3),
                  floorCpu: round(perRes(r.floor, "cpuMs") / perRes(smallest.floor, "cpuMs"), 3),
              }
            : undefined,
        coldOfWarmup: r.cold[0],
        preview: {
            resources: r.preview.resources,
            evalMs: r.preview.evalMs,
            cpuMs: r.preview.cpuMs,
            coldLoadMs: r.preview.loadMs,
            maxRssMb: r.preview.maxRssMb,
            perResourceMs: round(r.preview.evalMs.median / r.preview.resources, 3),
            /** Per-resource eval wall time, preview mode over mock mode. */
            vsMock: round(r.preview.evalMs.median / r.preview.resources / perRes(r.program, "evalMs"), 3),
        },
        sdkAsIs: r.sdkAsIs
            ? {
                  evalMs: r.sdkAsIs.evalMs,
                  perResourceMs: round(r.sdkAsIs.evalMs.median / r.sdkAsIs.resources, 3),
                  vsMock: round(r.sdkAsIs.evalMs.median / r.sdkAsIs.resources / perRes(r.program, "evalMs"), 3),
              }
            : undefined,
        freshSiteStages: r.freshStages,
    }));
    const big = scaleRows.find((r) => r.size === "2x1000");
    const small = scaleRows.find((r) => r.size === "2x10");

    const results = {
        issues: [8, 17],
        date: new Date(started).toISOString(),
        durationSeconds: round((Date.now() - started) / 1000, 1),
        environment: {
            node: process.version,
            cpu: os.cpus()[0]?.model,
            cpus: os.cpus().length,
            loadAverageAtStart: loadStart.map((x) => round(x)),
            loadAverageAtEnd: os.loadavg().map((x) => round(x)),
            runner: "mock mode: tsx under node, --expose-gc; preview mode: the SDK's own runner (cmd/run) with Pulumi.yaml's runtime options, a fresh ts-node cache; one process per measured evaluation",
            runtimeOptions: o.runtime,
            commit: gitDescribe(),
        },
        options: { runs: o.runs, scaleRuns: o.scaleRuns, sizes: o.sizes.map(sizeName) },
        overhead: {
            resources: over.program.resources,
            customResources: over.program.custom,
            program: over.program,
            floor: over.floor,
            floorFidelity: over.floorFidelity,
            ratio: {
                wall: round(over.program.evalMs.median / over.floor.evalMs.median, 3),
                cpu: round(over.program.cpuMs.median / over.floor.cpuMs.median, 3),
                maxRss: round(over.program.maxRssMb.median / over.floor.maxRssMb.median, 3),
                evalRss: round(over.program.evalRssMb.median / Math.max(over.floor.evalRssMb.median, 0.001), 3),
            },
        },
        scaling: scaleRows,
        critical: { fresh, whatIf: ifs, addGuest, addNode },
        determinism: det,
        targets: {
            overheadWall: {
                target: "≤ 1.5× floor",
                value: round(over.program.evalMs.median / over.floor.evalMs.median, 3),
                met: over.program.evalMs.median / over.floor.evalMs.median <= 1.5,
            },
            overheadCpu: {
                target: "≤ 1.5× floor",
                value: round(over.program.cpuMs.median / over.floor.cpuMs.median, 3),
                met: over.program.cpuMs.median / over.floor.cpuMs.median <= 1.5,
            },
            ...(big && small
                ? {
                      scalingWall: {
                          target: "per-resource at 2x1000 ≤ 1.2× 2x10",
                          value: big.vsSmallest!.wall,
                          met: big.vsSmallest!.wall <= 1.2,
                      },
                      scalingCpu: {
                          target: "per-resource at 2x1000 ≤ 1.2× 2x10",
                          value: big.vsSmallest!.cpu,
                          met: big.vsSmallest!.cpu <= 1.2,
                      },
                  }
                : {}),
            ...(big
                ? {
                      previewVsMock: {
                          target: "preview-mode per-resource cost at 2x1000 ≤ 1.5× mock mode",
                          value: big.preview.vsMock,
                          met: big.preview.vsMock <= 1.5,
                      },
                      previewEval: {
                          target: "preview-mode evaluation of 2x1000 ≤ 15000 ms",
                          value: round(big.preview.evalMs.median),
                          met: big.preview.evalMs.median <= 15000,
                      },
                  }
                : {}),
            freshStages: { target: "≤ 6", value: fresh.stages, met: fresh.stages <= 6 },
            addGuestOutside: { target: "0 resources outside the guest's own", value: outside.length, met: outside.length === 0 },
            determinism: {
                target: "0 differing resources",
                value: det.reduce((a, d) => a + d.differingInputs, 0),
                met: det.every((d) => d.differingInputs === 0),
            },
        },
    };
    writeJson(path.join(OUT, `results-${results.date.replace(/[:.]/g, "-")}.json`), results);
    // The committed summary is formatted as the repository's prettier check wants it.
    const prettier = await import("prettier");
    const style = (await prettier.resolveConfig(o.out)) ?? {};
    fs.writeFileSync(o.out, await prettier.format(JSON.stringify(results), { ...style, filepath: o.out }));
    console.log(formatReport(results));
    log(`wrote ${path.relative(ROOT, o.out)} (${results.durationSeconds} s)`);
}

/** The measured commit, with "+changes" when the working tree differs from it. */
function gitDescribe(): string {
    try {
        const head = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: ROOT, encoding: "utf8" }).trim();
        const dirty = execFileSync(
            "git",
            ["status", "--porcelain", "--", "components", "tools", "bench", "scripts", ":(exclude)bench/results.json"],
            {
                cwd: ROOT,
                encoding: "utf8",
            },
        ).trim();
        return dirty ? `${head}+changes` : head;
    } catch {
        return "unknown";
    }
}

if (require.main === module) {
    main().catch((e: unknown) => {
        console.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
        process.exit(1);
    });
}
