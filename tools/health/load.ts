/**
 * Loads a committed stack file into the validated `Site`, the way the program
 * sees it: tools/lib/stack.ts reads the file (structured values as JSON text,
 * secrets as placeholders), each value is parsed as components/config.ts
 * `readRawConfig` does, then components/validate.ts `validateSite` applies the
 * schema and every default. Shared by the health check and the runbook.
 */
import { rawFromConfig, validateSite, type Problem } from "../../components/validate";
import type { Site } from "../../components/model";
import { readStack, stackNameOf, StackFileError } from "../lib/stack";

export type LoadedStack =
    { readonly site: Site; readonly problems?: undefined } | { readonly site?: undefined; readonly problems: readonly Problem[] };

export function loadStackSite(stack: string, file?: string): LoadedStack {
    const cfg = readStack(stack, file);
    const { raw, secretKeys } = rawFromConfig(cfg.config, (k) => cfg.secretKeys.includes(k));
    const result = validateSite(raw, secretKeys);
    if (result.problems.length > 0 || !result.site) return { problems: result.problems };
    return { site: result.site };
}

/**
 * The stack a CLI works on: `--stack NAME`, or the name in `--file Pulumi.NAME.yaml`,
 * loaded and validated. On failure, the exit code 2 and the message to print.
 */
export function cliStackSite(
    tool: string,
    args: { stack?: string | undefined; file?: string | undefined },
): { stack: string; site: Site } | { code: 2; stderr: string } {
    const file = args.file;
    const stack = args.stack ?? (file ? stackNameOf(file) : undefined);
    if (!stack) return { code: 2, stderr: `${tool}: --stack NAME is required (or --file Pulumi.NAME.yaml)\n` };
    let loaded: LoadedStack;
    try {
        loaded = loadStackSite(stack, file);
    } catch (e) {
        if (e instanceof StackFileError) return { code: 2, stderr: `${tool}: ${e.message}\n` };
        return { code: 2, stderr: `${tool}: cannot read stack ${stack}: ${(e as Error).message}\n` };
    }
    if (!loaded.site) {
        const lines = loaded.problems.map((p) => `  - ${p.path}: ${p.message}`).join("\n");
        const n = loaded.problems.length;
        return { code: 2, stderr: `${tool}: stack ${stack} is not valid (${n} problem${n === 1 ? "" : "s"}):\n${lines}\n` };
    }
    return { stack, site: loaded.site };
}
