/**
 * Proves: the README's stack file reference names every key the schema
 * accepts (top-level sections, their keys, and node zfs / guest ha keys), so
 * the documentation cannot silently fall behind the schema; and that the README
 * keeps its two set-up commands at the top.
 * Does not prove: that each documented default or meaning is right (the
 * validation tests pin the defaults).
 */
import { describe, it } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { z } from "zod";
import { SECRET_KEYS, SECTIONS, guestSchema, haSchema, nodeSchema, zfsSchema } from "../../components/schema";
import { ROOT } from "../../tools/lib/stack";

const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
const reference = readme.slice(readme.indexOf("## Stack file reference"));

/** Unwraps optional/default/array wrappers down to an object schema's keys. */
function keysOf(schema: z.ZodType): string[] {
    let s: z.ZodType = schema;
    for (let i = 0; i < 5; i++) {
        const def = (s as unknown as { _zod: { def: { type: string; innerType?: z.ZodType; element?: z.ZodType; in?: z.ZodType } } })._zod
            .def;
        if (def.type === "object") return Object.keys((s as z.ZodObject).shape);
        const inner = def.innerType ?? def.element ?? def.in;
        if (!inner) return [];
        s = inner;
    }
    return [];
}

describe("README", () => {
    it("starts with the two set-up commands", () => {
        const block = /```sh\n([\s\S]*?)```/
            .exec(readme)![1]!
            .trim()
            .split("\n")
            .map((l) => l.replace(/\s+#.*$/, ""));
        assert.deepEqual(block, ["npm ci && npm run plan", "npm test"]);
    });
    it("documents every section and secret", () => {
        for (const key of [...Object.keys(SECTIONS), ...SECRET_KEYS]) {
            assert.ok(reference.includes(`\`${key}\``) || reference.includes(`\`${key}[]\``), `README stack reference lacks \`${key}\``);
        }
    });
    it("documents every key of every section", () => {
        const missing: string[] = [];
        for (const [section, schema] of Object.entries(SECTIONS)) {
            for (const key of keysOf(schema as z.ZodType)) if (!reference.includes(`\`${key}`)) missing.push(`${section}.${key}`);
        }
        for (const key of keysOf(nodeSchema)) if (!reference.includes(`\`${key}`)) missing.push(`nodes[].${key}`);
        for (const key of keysOf(zfsSchema)) if (!reference.includes(`\`zfs.${key}`)) missing.push(`nodes[].zfs.${key}`);
        for (const key of keysOf(guestSchema)) if (!reference.includes(`\`${key}`)) missing.push(`guests[].${key}`);
        for (const key of keysOf(haSchema)) if (!reference.includes(`\`ha.${key}`)) missing.push(`guests[].ha.${key}`);
        assert.deepEqual(missing, []);
    });
});
