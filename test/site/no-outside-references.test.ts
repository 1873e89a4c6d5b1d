/**
 * Proves (issue #13): the repository explains itself. No tracked file points
 * outside the repository (the team's shared folder, absolute work paths, a
 * "steering" repository), every mention of the design or facts documents names
 * the project's own docs/design.md or docs/proxmox-facts.md, and every relative
 * Markdown link in README.md and docs/ resolves to a file in the repository.
 * Does not prove: that the docs say everything a user needs.
 */
import { describe, it } from "node:test";
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { ROOT } from "../../tools/lib/stack";

const SELF = "test/site/no-outside-references.test.ts";
const files = execFileSync("git", ["ls-files"], { cwd: ROOT, encoding: "utf8" })
    .split("\n")
    .filter((f) => f && f !== SELF && f !== "package-lock.json" && fs.existsSync(path.join(ROOT, f)));

function read(f: string): string {
    return fs.readFileSync(path.join(ROOT, f), "utf8");
}

/** Where a pattern occurs, as `file:line: text`. */
function hits(re: RegExp): string[] {
    const out: string[] = [];
    for (const f of files) {
        read(f)
            .split("\n")
            .forEach((line, i) => {
                if (re.test(line)) out.push(`${f}:${i + 1}: ${line.trim().slice(0, 120)}`);
            });
    }
    return out;
}

describe("nothing outside the repository", () => {
    it("no file points to the team folder beside the repository or to a work path", () => {
        assert.deepEqual(hits(/\.\.\/shared|(^|[\s`'"(])shared\/|\/work\/|steering/i), []);
    });
    it("design and facts are cited as the project's own docs", () => {
        assert.deepEqual(hits(/DESIGN\.md|DESIGN §|(?<!docs\/)proxmox-facts(?!\.md)|(?<![\w/[(])proxmox-facts\.md/), []);
        assert.ok(fs.existsSync(path.join(ROOT, "docs", "design.md")));
        assert.ok(fs.existsSync(path.join(ROOT, "docs", "proxmox-facts.md")));
    });
    it("every section a file cites exists in the cited document", () => {
        const sections = (doc: string) => new Set([...read(doc).matchAll(/^## (\d+)\./gm)].map((m) => m[1]!));
        const have = { "docs/design.md": sections("docs/design.md"), "docs/proxmox-facts.md": sections("docs/proxmox-facts.md") };
        const bad: string[] = [];
        for (const f of files) {
            for (const m of read(f).matchAll(/(docs\/design\.md|docs\/proxmox-facts\.md) §(\d+)/g)) {
                if (!have[m[1] as keyof typeof have].has(m[2]!)) bad.push(`${f}: ${m[0]}`);
            }
        }
        assert.deepEqual(bad, []);
    });
    it("every relative link of the README and docs resolves inside the repository", () => {
        const bad: string[] = [];
        for (const f of files.filter((x) => x === "README.md" || (x.startsWith("docs/") && x.endsWith(".md")))) {
            for (const m of read(f).matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)) {
                const target = m[1]!;
                if (/^[a-z]+:/.test(target)) continue;
                const resolved = path.resolve(path.dirname(path.join(ROOT, f)), target);
                if (!resolved.startsWith(ROOT + path.sep) || !fs.existsSync(resolved)) bad.push(`${f}: ${target}`);
            }
        }
        assert.deepEqual(bad, []);
    });
});
