/**
 * Writes the Markdown runbook of a site from its stack.
 *
 *   npm run runbook -- --stack prod                      # to stdout
 *   npm run runbook -- --stack prod --out docs/runbooks/prod.md
 *   npm run runbook -- --file path/to/Pulumi.site.yaml   # a stack file kept elsewhere
 *
 * Exit 0 on success; 2 when the stack cannot be read or is not valid (the
 * validation problems are listed), never a stack trace.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { cliStackSite } from "../health/load";
import { renderRunbook } from "./render";

export function main(argv: string[]): { code: number; stdout: string; stderr: string } {
    let args;
    try {
        args = parseArgs({
            args: argv,
            options: {
                stack: { type: "string" },
                file: { type: "string" },
                out: { type: "string" },
                help: { type: "boolean", default: false },
            },
            strict: true,
        }).values;
    } catch (e) {
        return { code: 2, stdout: "", stderr: `runbook: ${(e as Error).message}\n` };
    }
    if (args.help)
        return { code: 0, stdout: "usage: npm run runbook -- --stack NAME [--file Pulumi.NAME.yaml] [--out FILE]\n", stderr: "" };
    const target = cliStackSite("runbook", args);
    if ("code" in target) return { code: target.code, stdout: "", stderr: target.stderr };
    const text = renderRunbook(target.stack, target.site);
    if (!args.out) return { code: 0, stdout: text, stderr: "" };
    try {
        fs.mkdirSync(path.dirname(args.out), { recursive: true });
        fs.writeFileSync(args.out, text);
    } catch (e) {
        return { code: 2, stdout: "", stderr: `runbook: cannot write ${args.out}: ${(e as Error).message}\n` };
    }
    return { code: 0, stdout: "", stderr: `runbook: wrote ${args.out}\n` };
}

if (require.main === module) {
    try {
        const r = main(process.argv.slice(2));
        process.stdout.write(r.stdout);
        process.stderr.write(r.stderr);
        process.exitCode = r.code;
    } catch (e) {
        process.stderr.write(`runbook: internal error: ${(e as Error)?.message ?? String(e)}\n`);
        process.exitCode = 2;
    }
}
