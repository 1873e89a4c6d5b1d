/**
 * Proves: (1) components/promiseStacks.ts takes effect on the SDK as installed: while
 * it is on, no stack the SDK's debuggablePromise captures carries a frame, and with it
 * off (or restored) they do — so the test fails when the SDK renames that function,
 * stops calling it through its module, or captures elsewhere under the same name;
 * (2) the program as `pulumi preview` runs it (the SDK's own runner, cmd/run/run.js,
 * with Pulumi.yaml's runtime options, bench/preview-worker.cjs) registers every
 * resource of the reference stack with the capture off, and with
 * PULUMI_DEBUG_PROMISE_LEAKS set keeps the SDK's full capture (its leak report's
 * diagnostics); (3) the bench reads Pulumi.yaml's runtime options as the language
 * host does (pulumi/pulumi sdk/nodejs/cmd/pulumi-language-nodejs parseOptions), and the
 * committed options compile modules one by one safely (isolatedModules).
 * Does not prove: timings (the bench measures those, not the tests).
 */
import { describe, it } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as ts from "typescript";
import { main } from "../../components/program";
import { promiseStacksSkipped, skipPromiseStacks } from "../../components/promiseStacks";
import { evaluate } from "../../tools/lib/mock-runtime";
import { readStack, ROOT } from "../../tools/lib/stack";
import { programConfig, rawFromConfig, withoutSecrets } from "../../bench/lib/config";
import { languageHostEnv, previewWorker, runtimeOptions } from "../../bench/lib/preview";

class Thing extends pulumi.CustomResource {
    constructor(name: string, props: pulumi.Inputs) {
        super("test:index:Thing", name, props);
    }
}

/** Registers a few resources under the mock runtime and counts the stacks debuggable.js captured with frames. */
async function debuggableFramesWhileRegistering(): Promise<{ withFrames: number; without: number }> {
    let withFrames = 0;
    let without = 0;
    const previous = Error.prepareStackTrace;
    // V8 hands every formatted stack to prepareStackTrace, frames as call sites.
    Error.prepareStackTrace = (err, sites) => {
        const top = sites[0]?.getFileName() ?? "";
        if (top.endsWith(path.join("runtime", "debuggable.js"))) withFrames++;
        else if (sites.length === 0) without++;
        return previous ? previous(err, sites) : `${String(err)}\n${sites.map((s) => `    at ${String(s)}`).join("\n")}`;
    };
    try {
        await pulumi.runtime.setMocks(
            { newResource: (a) => ({ id: `${a.name}-id`, state: a.inputs }), call: () => ({}) },
            "proxmox-ha",
            "test",
            true,
        );
        for (let i = 0; i < 3; i++) new Thing(`thing-${i}`, { value: i, nested: { a: "b" } });
        await new Promise((r) => setTimeout(r, 50));
    } finally {
        Error.prepareStackTrace = previous;
    }
    return { withFrames, without };
}

describe("the SDK's per-promise stack capture (components/promiseStacks.ts)", () => {
    it("captures frames in runtime/debuggable.js as the SDK has it, and none while skipped; restoring brings them back", async () => {
        assert.equal(promiseStacksSkipped(), false);
        const asIs = await debuggableFramesWhileRegistering();
        assert.ok(asIs.withFrames > 0, "the SDK no longer captures a stack in runtime/debuggable.js: review components/promiseStacks.ts");

        const restore = skipPromiseStacks();
        try {
            assert.equal(promiseStacksSkipped(), true);
            const skipped = await debuggableFramesWhileRegistering();
            assert.equal(
                skipped.withFrames,
                0,
                "a capture still carries frames: the SDK does not call debuggablePromise through its module",
            );
            assert.ok(skipped.without > 0, "the captures did not happen at all");
        } finally {
            restore();
        }
        assert.equal(promiseStacksSkipped(), false);
        assert.ok((await debuggableFramesWhileRegistering()).withFrames > 0);
    });

    it("a second skip is a no-op, and the mock runtime restores the capture after an evaluation", async () => {
        const restore = skipPromiseStacks();
        const again = skipPromiseStacks();
        again();
        assert.equal(promiseStacksSkipped(), true, "the inner restore must not undo the outer skip");
        restore();
        assert.equal(promiseStacksSkipped(), false);
        let during: boolean | undefined;
        await evaluate(
            () => {
                during = promiseStacksSkipped();
            },
            { config: {} },
        );
        assert.equal(during, true);
        assert.equal(promiseStacksSkipped(), false);
    });
});

describe("Pulumi.yaml runtime options, as the language host reads them", () => {
    it("reads typescript (default true), tsconfig and nodeargs; refuses what the bench cannot mirror", () => {
        assert.deepEqual(runtimeOptions("runtime: nodejs\n"), { typescript: true, nodeargs: [] });
        assert.deepEqual(
            runtimeOptions(
                "runtime:\n  name: nodejs\n  options:\n    typescript: false\n    nodeargs: --max-old-space-size=4096 --no-warnings\n",
            ),
            {
                typescript: false,
                nodeargs: ["--max-old-space-size=4096", "--no-warnings"],
            },
        );
        assert.throws(
            () => runtimeOptions("runtime:\n  name: nodejs\n  options:\n    typescript: 'yes'\n"),
            /typescript must be a boolean/,
        );
        assert.throws(() => runtimeOptions("runtime:\n  name: nodejs\n  options:\n    nodeargs: \"--title 'a b'\"\n"), /without quotes/);
        assert.deepEqual(languageHostEnv({ typescript: true, tsconfig: "t.json", nodeargs: [] }), {
            PULUMI_NODEJS_TYPESCRIPT: "true",
            PULUMI_NODEJS_TSCONFIG_PATH: "t.json",
        });
        assert.deepEqual(languageHostEnv({ typescript: false, nodeargs: [] }), {});
    });

    it("the committed project compiles without type checking at run time, module by module, from a config that extends the checked one", () => {
        const o = runtimeOptions(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8"));
        assert.equal(o.typescript, true);
        assert.equal(o.tsconfig, "tsconfig.pulumi.json");
        // @pulumi/pulumi cmd/run/run.js: transpileOnly = the tsconfig's own compilerOptions.noCheck (read without `extends`).
        const own = ts.parseConfigFileTextToJson(o.tsconfig!, fs.readFileSync(path.join(ROOT, o.tsconfig!), "utf8")).config as {
            extends?: string;
            compilerOptions?: Record<string, unknown>;
        };
        assert.equal(own.compilerOptions?.noCheck, true);
        assert.equal(own.extends, "./tsconfig.json");
        const base = ts.parseConfigFileTextToJson("tsconfig.json", fs.readFileSync(path.join(ROOT, "tsconfig.json"), "utf8")).config as {
            compilerOptions: Record<string, unknown>;
        };
        assert.equal(base.compilerOptions.isolatedModules, true, "transpile-only compilation needs isolatedModules checked by tsc");
    });
});

describe("the program as `pulumi preview` runs it (SDK runner, bench/preview-worker.cjs)", () => {
    const reference = programConfig(withoutSecrets(rawFromConfig(readStack("prod").config)));
    const options = runtimeOptions(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8"));
    const job = { input: reference, warmup: reference };
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "preview-test-"));

    it("registers the reference site, the root Stack included, with ts-node, source maps and the capture off", async () => {
        const mock = await evaluate(() => main(), { ...reference, stack: "bench" });
        const r = await previewWorker(ROOT, path.join(dir, "job.json"), job, options);
        assert.equal(r.resources, mock.resources.length + 1);
        assert.equal(r.typescriptRunner, true);
        assert.equal(r.sourceMapSupport, true);
        assert.equal(r.promiseStacks, false);
    });

    it("with PULUMI_DEBUG_PROMISE_LEAKS set, the SDK keeps its full capture", async () => {
        const r = await previewWorker(ROOT, path.join(dir, "job-leaks.json"), job, options, true);
        assert.equal(r.promiseStacks, true);
        assert.equal(r.sourceMapSupport, true);
    });
});
