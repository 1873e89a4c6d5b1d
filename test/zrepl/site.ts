/**
 * The committed reference stack (Pulumi.prod.yaml) as a validated Site with
 * zrepl enabled, for the zrepl tests; `change` edits the raw config first.
 */
import * as assert from "node:assert/strict";
import { validateSite } from "../../components/validate";
import { SECRET_KEYS } from "../../components/schema";
import type { Site, SiteNode } from "../../components/model";
import { readStack } from "../../tools/lib/stack";

export function prodSite(change: (raw: Record<string, any>) => void = () => {}): Site {
    const st = readStack("prod");
    const raw: Record<string, any> = {};
    for (const [full, text] of Object.entries(st.config)) {
        const key = full.slice(full.indexOf(":") + 1);
        if ((SECRET_KEYS as readonly string[]).includes(key)) continue;
        try {
            raw[key] = JSON.parse(text);
        } catch {
            raw[key] = text;
        }
    }
    raw.zrepl = { enabled: true };
    change(raw);
    const r = validateSite(raw);
    assert.deepEqual(r.problems, []);
    return r.site!;
}

export function nodeOf(site: Site, name: string): SiteNode {
    const n = site.nodes.find((x) => x.name === name);
    assert.ok(n, `no node ${name}`);
    return n;
}
