/**
 * Every workflow file, parsed by GitHub's own workflow parser
 * (@actions/workflow-parser, the package GitHub's Actions language services
 * are built on), against GitHub's workflow schema, not only against our own
 * expectations (workflows.test.ts, credentials.test.ts).
 *
 * Proves: the three workflows parse with no error; the parser is not
 * vacuous here: a misspelt `runs-on` in a copy of deploy.yml is reported as
 * an unexpected key with its line and column (and the job as missing
 * `runs-on`), an unknown top-level key and a wrong type are reported too.
 * Does not prove: that expressions evaluate as intended at run time, nor what
 * GitHub does with a repository's environments and secrets.
 */
import { describe, it, before } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { ROOT } from "../../tools/lib/stack";

interface ParseError {
    readonly message: string;
    readonly range?: { readonly start: { readonly line: number; readonly column: number } };
}
interface WorkflowParser {
    parseWorkflow(
        file: { name: string; content: string },
        trace: unknown,
    ): { context: { errors: { getErrors(): ParseError[] } }; value: unknown };
    NoOperationTraceWriter: new () => unknown;
}

const DIR = path.join(ROOT, ".github", "workflows");
const files = fs.readdirSync(DIR).filter((f) => /\.ya?ml$/.test(f));

describe("GitHub's workflow parser (@actions/workflow-parser)", () => {
    let parser: WorkflowParser;
    before(async () => {
        // The package is ESM-only (exports with an `import` condition only), so it is loaded with a dynamic import;
        // the specifier is a variable so that tsc (moduleResolution node, CommonJS) does not try to resolve it.
        const specifier = "@actions/workflow-parser";
        parser = (await import(specifier)) as WorkflowParser;
    });
    const errors = (name: string, content: string) =>
        parser.parseWorkflow({ name, content }, new parser.NoOperationTraceWriter()).context.errors.getErrors();

    it("is the exact devDependency version", () => {
        const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { devDependencies: Record<string, string> };
        assert.match(pkg.devDependencies["@actions/workflow-parser"] ?? "", /^\d+\.\d+\.\d+$/);
    });

    for (const f of files) {
        it(`${f} parses without errors`, () => {
            assert.deepEqual(
                errors(f, fs.readFileSync(path.join(DIR, f), "utf8")).map((e) => e.message),
                [],
            );
        });
    }

    it("reports a misspelt runs-on with its line and column", () => {
        const text = fs.readFileSync(path.join(DIR, "deploy.yml"), "utf8");
        const lines = text.split("\n");
        const at = lines.findIndex((l) => l === "    runs-on: ubuntu-latest");
        assert.ok(at >= 0, "deploy.yml has a job with `runs-on: ubuntu-latest`");
        lines[at] = "    run-on: ubuntu-latest";
        const found = errors("deploy.yml", lines.join("\n"));
        const unexpected = found.find((e) => /Unexpected value 'run-on'/.test(e.message));
        assert.ok(unexpected, JSON.stringify(found.map((e) => e.message)));
        assert.equal(unexpected.message, `deploy.yml (Line: ${at + 1}, Col: 5): Unexpected value 'run-on'`);
        assert.deepEqual(unexpected.range?.start, { line: at + 1, column: 5 });
        assert.ok(
            found.some((e) => /Required property is missing: runs-on/.test(e.message)),
            "the job is reported as missing runs-on",
        );
    });

    it("reports an unknown top-level key and a wrong type", () => {
        const text = fs.readFileSync(path.join(DIR, "checks.yml"), "utf8");
        const unknown = errors("checks.yml", `${text}\nenvironments: prod\n`).map((e) => e.message);
        assert.ok(
            unknown.some((m) => /Unexpected value 'environments'/.test(m)),
            JSON.stringify(unknown),
        );
        const wrongType = errors("checks.yml", text.replace("timeout-minutes: 60", "timeout-minutes: [60]")).map((e) => e.message);
        assert.ok(wrongType.length > 0, "a sequence where a number belongs is an error");
    });
});
