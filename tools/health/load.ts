/**
 * Loads a committed stack file into the validated `Site`, the way the program
 * sees it: tools/lib/stack.ts reads the file (structured values as JSON text,
 * secrets as placeholders), each value is parsed as components/config.ts
 * `readRawConfig` does, then components/validate.ts `validateSite` applies the
 * schema and every default. Shared by the health check and the runbook.
 */
import { SECRET_KEYS } from "../../components/schema";
import { PROJECT, validateSite, type Problem } from "../../components/validate";
import type { Site } from "../../components/model";
import { readStack, stackFile } from "../lib/stack";

export type LoadedStack =
    { readonly site: Site; readonly problems?: undefined } | { readonly site?: undefined; readonly problems: readonly Problem[] };

export function loadStackSite(stack: string, file = stackFile(stack)): LoadedStack {
    const cfg = readStack(stack, file);
    const raw: Record<string, unknown> = {};
    const secretKeys = new Set<string>();
    for (const [full, text] of Object.entries(cfg.config)) {
        if (!full.startsWith(`${PROJECT}:`)) continue;
        const key = full.slice(PROJECT.length + 1);
        if (cfg.secretKeys.includes(full)) secretKeys.add(key);
        raw[key] = (SECRET_KEYS as readonly string[]).includes(key) ? text : parseValue(text);
    }
    const result = validateSite(raw, secretKeys);
    if (result.problems.length > 0 || !result.site) return { problems: result.problems };
    return { site: result.site };
}

function parseValue(text: string): unknown {
    try {
        return JSON.parse(text);
    } catch {
        return text;
    }
}
