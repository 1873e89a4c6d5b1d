/**
 * One measured evaluation in a fresh process (spawned by bench/run.ts):
 *
 *   node --expose-gc --import tsx bench/worker.ts '<json job>'
 *
 * job.mode "program": the real program (`main` of components/program.ts) on a
 * raw stack config (JSON file), secrets as the offline plan gives them.
 * job.mode "floor": the same custom resources registered bare (bench/lib/floor.ts)
 * from a floor spec (JSON file).
 *
 * Phases: load (import of the modules the mode needs, timed, not part of the
 * evaluation time), optional untimed warm-up evaluation, then gc() and one
 * timed evaluation under the mock runtime (tools/lib/mock-runtime.ts).
 * Prints one line `BENCH-RESULT <json>` on stdout; program warnings go to stderr.
 */
import * as fs from "node:fs";
import * as inspector from "node:inspector/promises";

interface Job {
    readonly mode: "program" | "floor";
    /** Raw stack config (program) or floor spec (floor), JSON file. */
    readonly input: string;
    /** Evaluated once, untimed, before the measured evaluation. */
    readonly warmup?: string;
    /** Write the measured evaluation's records here (program mode). */
    readonly dump?: string;
    /** Write a CPU profile of the measured evaluation only (node:inspector) here. */
    readonly profile?: string;
}

const gc = (globalThis as { gc?: () => void }).gc;

function cpuMs(u: NodeJS.CpuUsage): number {
    return (u.user + u.system) / 1000;
}

async function main(): Promise<void> {
    const job = JSON.parse(process.argv[2] ?? "{}") as Job;
    if (job.mode !== "program" && job.mode !== "floor") throw new Error(`worker: unknown mode ${String(job.mode)}`);
    if (!gc) throw new Error("worker: run with --expose-gc");
    // Warnings of the program (e.g. kernel disk names) are not results.
    console.warn = (...args: unknown[]) => process.stderr.write(args.join(" ") + "\n");

    // ---- load
    const l0 = performance.now();
    const mr = await import("../tools/lib/mock-runtime");
    type Run = () => Promise<{ resources: import("../tools/lib/mock-runtime").RecordedResource[] }>;
    let makeRun: (file: string) => Run;
    if (job.mode === "program") {
        const { main: program } = await import("../components/program");
        const { programConfig } = await import("./lib/config");
        makeRun = (file) => {
            const { config, secretKeys } = programConfig(JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>);
            return () => mr.evaluate(() => program(), { config, secretKeys, stack: "bench", outputs: () => ({ stdout: "", stderr: "" }) });
        };
    } else {
        const { floorProgram } = await import("./lib/floor-program");
        makeRun = (file) => {
            const spec = JSON.parse(fs.readFileSync(file, "utf8")) as import("./lib/floor").FloorResource[];
            return () => mr.evaluate(() => floorProgram(spec), { config: {}, stack: "bench", outputs: () => ({ stdout: "", stderr: "" }) });
        };
    }
    const loadMs = performance.now() - l0;

    // ---- optional warm-up (untimed for the result, reported as the cold figure)
    let cold: { evalMs: number; cpuMs: number; resources: number } | undefined;
    if (job.warmup) {
        const run = makeRun(job.warmup);
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        const ev = await run();
        cold = { evalMs: performance.now() - t0, cpuMs: cpuMs(process.cpuUsage(c0)), resources: ev.resources.length };
    }

    // ---- measured evaluation
    const run = makeRun(job.input);
    gc();
    const rssBefore = process.memoryUsage.rss();
    const heapBefore = process.memoryUsage().heapUsed;
    const session = job.profile ? new inspector.Session() : undefined;
    if (session) {
        session.connect();
        await session.post("Profiler.enable");
        await session.post("Profiler.setSamplingInterval", { interval: 500 });
        await session.post("Profiler.start");
    }
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const ev = await run();
    const evalMs = performance.now() - t0;
    const cpu = cpuMs(process.cpuUsage(c0));
    if (session) {
        const { profile } = await session.post("Profiler.stop");
        fs.writeFileSync(job.profile!, JSON.stringify(profile));
        session.disconnect();
    }
    const maxRssKb = process.resourceUsage().maxRSS;
    gc();
    const heapRetained = process.memoryUsage().heapUsed - heapBefore;

    let fidelity: { compared: number; differing: string[] } | undefined;
    if (job.mode === "floor") {
        const { floorFidelity } = await import("./lib/floor-program");
        fidelity = floorFidelity(JSON.parse(fs.readFileSync(job.input, "utf8")), ev.resources);
    }
    if (job.dump) fs.writeFileSync(job.dump, JSON.stringify(ev.resources));

    const result = {
        mode: job.mode,
        input: job.input,
        loadMs,
        evalMs,
        cpuMs: cpu,
        resources: ev.resources.length,
        custom: ev.resources.filter((r) => r.custom).length,
        rssBeforeMb: rssBefore / 2 ** 20,
        maxRssMb: maxRssKb / 1024,
        heapRetainedMb: heapRetained / 2 ** 20,
        ...(cold ? { cold } : {}),
        ...(fidelity ? { fidelity } : {}),
    };
    process.stdout.write(`BENCH-RESULT ${JSON.stringify(result)}\n`);
}

main().then(
    () => process.exit(0),
    (e: unknown) => {
        process.stderr.write(`worker failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
        process.exit(1);
    },
);
