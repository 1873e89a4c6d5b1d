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
import { screenshot } from "./browser";
import { renderRunbookHtml } from "./html";
import { renderRunbook } from "./render";

export const RUNBOOK_HELP = `usage: npm run runbook -- (--stack NAME | --file PATH) [--out FILE]

Writes the site's runbook from its stack file alone (no SSH, no Pulumi CLI): a
topology diagram, the failure table and the procedures with the site's own names
and addresses.

  --stack NAME   the stack file Pulumi.NAME.yaml next to Pulumi.yaml
  --file PATH    a stack file kept elsewhere (the stack is the NAME of Pulumi.NAME.yaml)
  --out FILE     write to FILE (missing directories are created) instead of stdout
  --html FILE    also (or only) write a self-contained HTML page with the diagram drawn;
                 it loads nothing from the network: open it in any browser
  --screenshot PNG  with --html: a picture of the page's top (needs Debian's chromium)
  --help         this text

Exit codes: 0 written; 2 bad input (unknown stack, a file that is not YAML, a
stack that does not validate, an --out path that cannot be written).
`;

export function main(argv: string[]): { code: number; stdout: string; stderr: string } {
    let args;
    try {
        args = parseArgs({
            args: argv,
            options: {
                stack: { type: "string" },
                file: { type: "string" },
                out: { type: "string" },
                html: { type: "string" },
                screenshot: { type: "string" },
                help: { type: "boolean", default: false },
            },
            strict: true,
        }).values;
    } catch (e) {
        return { code: 2, stdout: "", stderr: `runbook: ${(e as Error).message}\n` };
    }
    if (args.help) return { code: 0, stdout: RUNBOOK_HELP, stderr: "" };
    const target = cliStackSite("runbook", args);
    if ("code" in target) return { code: target.code, stdout: "", stderr: target.stderr };
    if (args.screenshot && !args.html) return { code: 2, stdout: "", stderr: "runbook: --screenshot needs --html FILE\n" };
    if (args.html) {
        try {
            makeParents(args.html);
            fs.writeFileSync(args.html, renderRunbookHtml(target.stack, target.site));
        } catch (e) {
            return { code: 2, stdout: "", stderr: `runbook: cannot write ${args.html}: ${(e as Error).message}\n` };
        }
        let note = `runbook: wrote ${args.html}\n`;
        if (args.screenshot) {
            try {
                makeParents(args.screenshot);
                screenshot(args.html, args.screenshot);
            } catch (e) {
                return { code: 2, stdout: "", stderr: `${note}runbook: no screenshot: ${(e as Error).message}\n` };
            }
            note += `runbook: wrote ${args.screenshot}\n`;
        }
        if (!args.out) return { code: 0, stdout: "", stderr: note };
    }
    const text = renderRunbook(target.stack, target.site);
    if (!args.out) return { code: 0, stdout: text, stderr: "" };
    try {
        makeParents(args.out);
        fs.writeFileSync(args.out, text);
    } catch (e) {
        return { code: 2, stdout: "", stderr: `runbook: cannot write ${args.out}: ${(e as Error).message}\n` };
    }
    return { code: 0, stdout: "", stderr: `runbook: wrote ${args.out}\n` };
}

/**
 * Creates the missing parent directories of `file`, one level at a time.
 * Not `mkdirSync(…, { recursive: true })`: under /proc (e.g. /proc/x/y.md) it
 * never returns, as each mkdir fails with ENOENT and Node retries the parent.
 */
export function makeParents(file: string): void {
    const missing: string[] = [];
    let dir = path.dirname(path.resolve(file));
    while (!fs.existsSync(dir)) {
        missing.unshift(dir);
        const up = path.dirname(dir);
        if (up === dir) break;
        dir = up;
    }
    for (const d of missing) fs.mkdirSync(d);
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
