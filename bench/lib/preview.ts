/**
 * Preview mode of the bench: the program evaluated the way `pulumi preview` runs
 * it (bench/preview-worker.cjs), next to the mock mode the rest of the bench
 * measures. This module turns Pulumi.yaml's runtime options into what the CLI's
 * Node.js language host hands the SDK's runner (pulumi/pulumi
 * sdk/nodejs/cmd/pulumi-language-nodejs: parseOptions, Run): the environment
 * (PULUMI_NODEJS_TYPESCRIPT, PULUMI_NODEJS_TSCONFIG_PATH) and the node arguments.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse } from "yaml";

export interface RuntimeOptions {
    /** `runtime.options.typescript` (the language host's default: true). */
    readonly typescript: boolean;
    /** `runtime.options.tsconfig`, if set. */
    readonly tsconfig?: string;
    /** `runtime.options.nodeargs`, split into words. */
    readonly nodeargs: readonly string[];
}

/** Runtime options of a Pulumi.yaml text, as the Node.js language host reads them. */
export function runtimeOptions(pulumiYaml: string): RuntimeOptions {
    const doc = (parse(pulumiYaml) ?? {}) as { runtime?: unknown };
    const runtime = doc.runtime;
    const options = (typeof runtime === "object" && runtime !== null ? (runtime as { options?: unknown }).options : undefined) ?? {};
    if (typeof options !== "object" || options === null) throw new Error("Pulumi.yaml: runtime.options must be a map");
    const o = options as Record<string, unknown>;
    if (o.typescript !== undefined && typeof o.typescript !== "boolean")
        throw new Error("Pulumi.yaml: runtime.options.typescript must be a boolean");
    if (o.tsconfig !== undefined && typeof o.tsconfig !== "string")
        throw new Error("Pulumi.yaml: runtime.options.tsconfig must be a string");
    if (o.nodeargs !== undefined && typeof o.nodeargs !== "string")
        throw new Error("Pulumi.yaml: runtime.options.nodeargs must be a string");
    const nodeargs = typeof o.nodeargs === "string" ? o.nodeargs.trim() : "";
    // The language host splits with shlex; the bench takes plain words only.
    if (/["'\\]/.test(nodeargs)) throw new Error("Pulumi.yaml: the bench takes runtime.options.nodeargs without quotes or escapes");
    return {
        typescript: o.typescript ?? true,
        ...(typeof o.tsconfig === "string" ? { tsconfig: o.tsconfig } : {}),
        nodeargs: nodeargs ? nodeargs.split(/\s+/) : [],
    };
}

/** The environment the language host adds for these options. */
export function languageHostEnv(o: RuntimeOptions): Record<string, string> {
    return {
        ...(o.typescript ? { PULUMI_NODEJS_TYPESCRIPT: "true" } : {}),
        ...(o.tsconfig ? { PULUMI_NODEJS_TSCONFIG_PATH: o.tsconfig } : {}),
    };
}

export interface StackConfigJob {
    readonly config: Record<string, string>;
    readonly secretKeys: readonly string[];
}

export interface PreviewResult {
    mode: "preview";
    /** Cold start: SDK runner, ts-node compiling every module (fresh cache), the warm-up evaluation. */
    loadMs: number;
    evalMs: number;
    cpuMs: number;
    /** Registrations, the root Stack included (the mock mode records no Stack). */
    resources: number;
    rssBeforeMb: number;
    maxRssMb: number;
    typescriptRunner: boolean;
    sourceMapSupport: boolean;
    /** Whether the SDK's per-promise stack capture was on during the measured evaluation. */
    promiseStacks: boolean;
}

/**
 * One measured preview-mode evaluation in a fresh process. `leakDebugging` sets
 * PULUMI_DEBUG_PROMISE_LEAKS, which leaves the SDK's stack capture as the SDK has
 * it: the figure without this project's lever (components/promiseStacks.ts).
 */
export function previewWorker(
    root: string,
    jobFile: string,
    job: { input: StackConfigJob; warmup: StackConfigJob },
    options: RuntimeOptions,
    leakDebugging = false,
): Promise<PreviewResult> {
    fs.mkdirSync(path.dirname(jobFile), { recursive: true });
    // The bench measures the example site as if it were a real one: without the example
    // guard (index.ts refuses example stacks) and without the host-key probe (no network).
    const real = (j: StackConfigJob): StackConfigJob => ({
        ...j,
        config: Object.fromEntries(Object.entries(j.config).filter(([k]) => k !== "proxmox-ha:example")),
    });
    fs.writeFileSync(
        jobFile,
        JSON.stringify({
            input: real(job.input),
            warmup: real(job.warmup),
            env: { ...languageHostEnv(options), PROXMOX_HA_SKIP_HOST_KEY_CHECK: "1" },
        }),
    );
    // A fresh ts-node cache: every module is compiled as on a fresh machine or CI runner.
    const cache = fs.mkdtempSync(path.join(os.tmpdir(), "bench-ts-node-"));
    const env: NodeJS.ProcessEnv = { ...process.env, TS_NODE_CACHE_DIRECTORY: cache };
    delete env.PULUMI_DEBUG_PROMISE_LEAKS;
    if (leakDebugging) env.PULUMI_DEBUG_PROMISE_LEAKS = "true";
    return new Promise((resolve, reject) => {
        const child = spawn(
            process.execPath,
            [...options.nodeargs, "--expose-gc", path.join(root, "bench", "preview-worker.cjs"), jobFile],
            {
                cwd: root,
                env,
                stdio: ["ignore", "pipe", "pipe"],
            },
        );
        let out = "";
        let err = "";
        child.stdout.on("data", (d: Buffer) => (out += d.toString()));
        child.stderr.on("data", (d: Buffer) => (err += d.toString()));
        child.on("error", reject);
        child.on("close", (code) => {
            fs.rmSync(cache, { recursive: true, force: true });
            const line = out.split("\n").find((l) => l.startsWith("BENCH-RESULT "));
            if (code !== 0 || !line) {
                reject(
                    new Error(`preview worker ${path.basename(jobFile)} exited ${code}: ${err.trim().split("\n").slice(-5).join(" | ")}`),
                );
                return;
            }
            resolve(JSON.parse(line.slice("BENCH-RESULT ".length)) as PreviewResult);
        });
    });
}
