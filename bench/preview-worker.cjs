/**
 * One measured evaluation the way `pulumi preview` runs this program
 * (spawned by bench/run.ts, never under tsx):
 *
 *   node [runtime.options.nodeargs] --expose-gc bench/preview-worker.cjs JOB.json
 *
 * What the Pulumi CLI does, and what this worker does in its place:
 * - The CLI's Node.js language host (pulumi/pulumi sdk/nodejs/cmd/pulumi-language-nodejs,
 *   parseOptions and Run) starts `node <nodeargs> @pulumi/pulumi/cmd/run` with
 *   PULUMI_NODEJS_TYPESCRIPT=true unless Pulumi.yaml sets `typescript: false`, and
 *   PULUMI_NODEJS_TSCONFIG_PATH from `tsconfig`: the parent passes those as they follow
 *   from Pulumi.yaml (job.env, job.nodeargs).
 * - @pulumi/pulumi cmd/run/index.js loads its instrumentation and then
 *   `source-map-support/register` before anything else: done here the same way, from the
 *   SDK's own directory.
 * - cmd/run/run.js `run()` registers ts-node (vendored 7.0.1 with the project's TypeScript,
 *   type checking unless the tsconfig says `noCheck`, source maps on), requires the program
 *   (package.json `main`) and runs it inside the root Stack: this worker calls that very
 *   `run()`. The SDK's per-promise stack capture (runtime/debuggable.js) stays as the SDK has it.
 * - Instead of the engine's gRPC monitor, the SDK's own mock monitor
 *   (`pulumi.runtime.setMocks`, preview mode) answers the registrations.
 *
 * Phases: a warm-up `run()` on job.warmup (compiles and loads every module; its time is
 * reported as `loadMs`, the cold start a user waits for before evaluation), then gc() and
 * one timed `run()` on job.input with the entry module evaluated afresh (the program's other
 * modules stay loaded, as the mock-mode worker's do). Prints one line `BENCH-RESULT <json>`.
 */
"use strict";
const path = require("node:path");

const ROOT = path.join(__dirname, "..");
const SDK_RUN = path.dirname(require.resolve("@pulumi/pulumi/cmd/run/run.js", { paths: [ROOT] }));

/** @typedef {{ config: Record<string, string>, secretKeys: string[] }} StackConfig */

function cpuMs(u) {
    return (u.user + u.system) / 1000;
}

async function main() {
    /** @type {{ input: StackConfig, warmup: StackConfig, env: Record<string, string> }} */
    const job = JSON.parse(require("node:fs").readFileSync(process.argv[2], "utf8"));
    const gc = globalThis.gc;
    if (!gc) throw new Error("preview-worker: run with --expose-gc");
    for (const [k, v] of Object.entries(job.env || {})) process.env[k] = v;
    // Warnings of the program (e.g. kernel disk names) are not results.
    console.warn = (...args) => process.stderr.write(args.join(" ") + "\n");
    process.chdir(ROOT);

    const l0 = performance.now();
    // cmd/run/index.js, first two lines.
    require(path.join(SDK_RUN, "instrumentation.js"));
    require(require.resolve("source-map-support/register", { paths: [SDK_RUN] }));
    const pulumi = require(require.resolve("@pulumi/pulumi", { paths: [ROOT] }));
    const settings = require(require.resolve("@pulumi/pulumi/runtime/settings", { paths: [ROOT] }));
    const debuggable = require(require.resolve("@pulumi/pulumi/runtime/debuggable", { paths: [ROOT] }));
    // run.js requires cmd/run/index.js, whose body parses process.argv as the CLI's and starts
    // a run against a gRPC monitor. Its other export, the exit code, is all run.js uses: that
    // module is taken as already loaded, with what its body sets up done here.
    const index = path.join(SDK_RUN, "index.js");
    require.cache[index] = Object.assign(new (require("node:module"))(index), {
        filename: index,
        loaded: true,
        exports: { nodeJSProcessExitedAfterLoggingUserActionableMessage: 32 },
    });
    await require(require.resolve("@pulumi/pulumi/runtime/closure/v8Hooks", { paths: [ROOT] })).isInitializedAsync();
    const { run } = require(path.join(SDK_RUN, "run.js"));

    let registered = 0;
    /** Mocks answer as tools/lib/mock-runtime.ts does; every registration is counted once it is answered. */
    async function evaluate(stack) {
        pulumi.runtime.setAllConfig(stack.config, stack.secretKeys);
        await pulumi.runtime.setMocks(
            {
                newResource(args) {
                    return { id: args.custom ? `${args.name}-id` : undefined, state: { ...args.inputs, stdout: "", stderr: "" } };
                },
                call(args) {
                    throw new Error(`Mock not implemented: ${args.token}`);
                },
            },
            "proxmox-ha",
            "bench",
            true,
        );
        const monitor = settings.getMonitor();
        const original = monitor.registerResource.bind(monitor);
        const pending = [];
        let count = 0;
        monitor.registerResource = (req, cb) => {
            let done;
            pending.push(new Promise((r) => (done = r)));
            return original(req, (err, res) => {
                if (!err && res) count++;
                cb(err, res);
                done();
            });
        };
        // The entry module runs the program when it is loaded: evaluate it afresh.
        for (const id of Object.keys(require.cache)) if (id === path.join(ROOT, "index.ts")) delete require.cache[id];
        let failed;
        await run(
            { _: ["."] },
            () => undefined,
            (err) => (failed = err),
            () => false,
        );
        for (let seen = -1; seen !== pending.length;) {
            seen = pending.length;
            await Promise.all(pending);
            await settings.waitForRPCs();
            await new Promise((r) => setImmediate(r));
        }
        if (failed) throw failed;
        registered = count;
        return count;
    }

    await evaluate(job.warmup);
    const loadMs = performance.now() - l0;

    gc();
    const rssBefore = process.memoryUsage.rss();
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await evaluate(job.input);
    const evalMs = performance.now() - t0;
    const cpu = cpuMs(process.cpuUsage(c0));
    const result = {
        mode: "preview",
        loadMs,
        evalMs,
        cpuMs: cpu,
        resources: registered,
        rssBeforeMb: rssBefore / 2 ** 20,
        maxRssMb: process.resourceUsage().maxRSS / 1024,
        typescriptRunner: Object.keys(require.extensions).includes(".ts"),
        sourceMapSupport: typeof Error.prepareStackTrace === "function",
        promiseStacks: !debuggable.debuggablePromise.stackless,
    };
    process.stdout.write(`BENCH-RESULT ${JSON.stringify(result)}\n`);
}

main().then(
    () => process.exit(0),
    (e) => {
        process.stderr.write(`preview-worker failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
        process.exit(1);
    },
);
