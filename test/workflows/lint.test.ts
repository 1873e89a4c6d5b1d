/**
 * Proves: the lint set-up is wired as `npm run lint` promises: the ESLint
 * config applies @pulumi/eslint-plugin's no-output-in-template-literal as an
 * error with type information (an Output in a plain template literal is
 * reported; the same text tagged with pulumi.interpolate is not); Prettier's
 * config gives TypeScript 4-space indentation and YAML 2; the lint script runs
 * ESLint, the Prettier check and shellcheck.
 * Does not prove: that the tree is lint-clean (that is `npm run lint` itself),
 * nor anything about rules other than the ones named.
 */
import { describe, it } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { ESLint } from "eslint";
import * as prettier from "prettier";
import { ROOT } from "../../tools/lib/stack";

const probeSource = (tag: string) =>
    [
        'import * as pulumi from "@pulumi/pulumi";',
        'const host: pulumi.Output<string> = pulumi.output("10.0.0.11");',
        `export const url = ${tag}\`https://\${host}:8006\`;`,
        "",
    ].join("\n");

/**
 * Lints a probe as if it were the text of this very file: type-aware rules need a path inside the
 * project, and ESLint's lintText takes the text from memory, so nothing is written to the tree.
 */
let eslint: ESLint | undefined;
async function lint(source: string) {
    eslint ??= new ESLint({ cwd: ROOT });
    const [result] = await eslint.lintText(source, { filePath: path.join(ROOT, "test", "workflows", "lint.test.ts") });
    return result!.messages.map((m) => ({ ruleId: m.ruleId, severity: m.severity, message: m.message }));
}

describe("ESLint", () => {
    it("reports an Output in a plain template literal as an error", async () => {
        assert.deepEqual(await lint(probeSource("")), [
            {
                ruleId: "@pulumi/no-output-in-template-literal",
                severity: 2,
                message: "pulumi.Output<T> not permitted in template literals.",
            },
        ]);
    });
    it("accepts the same text tagged with pulumi.interpolate", async () => {
        assert.deepEqual(await lint(probeSource("pulumi.interpolate")), []);
    });
});

describe("Prettier", () => {
    it("formats TypeScript with 4 spaces and YAML with 2", async () => {
        const ts = await prettier.resolveConfig(path.join(ROOT, "components", "site.ts"));
        assert.equal(ts?.tabWidth, 4);
        assert.equal(ts?.printWidth, 140);
        const yml = await prettier.resolveConfig(path.join(ROOT, ".github", "workflows", "checks.yml"));
        assert.equal(yml?.tabWidth, 2);
    });
});

describe("npm run lint", () => {
    it("runs ESLint, the Prettier check and shellcheck", () => {
        const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> };
        const lintScript = pkg.scripts.lint ?? "";
        for (const tool of [/\beslint --max-warnings 0 \./, /\bprettier --check \./, /\bshellcheck\b/]) assert.match(lintScript, tool);
    });
});
