/**
 * Offline plan: runs the real program under Pulumi's mock runtime with a
 * committed stack's config and prints what `pulumi up` would create on an empty
 * site, in order, plus the site facts. Exit 2 on validation errors.
 *
 *   npm run plan                      # stack prod
 *   npm run plan -- --stack lab       # another stack
 *   npm run plan -- --json            # machine output
 *
 * It does not show: diffs against a running site, provider-side validation,
 * or anything a remote command would find on the hosts.
 */
import * as path from "node:path";
import { main } from "../components/program";
import { failureCases, guestRpos, quorumFacts } from "../components/facts";
import { formatMinutes } from "../components/schedule";
import { PROJECT, SiteValidationError } from "../components/validate";
import { evaluate, urnName, type RecordedResource } from "./lib/mock-runtime";
import { stages } from "./lib/graph";
import { readStack, stackFile, SECRET_PLACEHOLDER } from "./lib/stack";
import { requiredSecrets } from "../components/config";
import type { Site } from "../components/model";

export interface PlanResult {
    readonly stack: string;
    readonly ok: boolean;
    readonly problems?: readonly { path: string; message: string }[];
    readonly warnings?: readonly string[];
    readonly secretsRequired?: readonly string[];
    readonly resources?: readonly { type: string; name: string; parent?: string; stage?: number }[];
    readonly stages?: readonly { stage: number; steps: string[] }[];
    readonly counts?: Record<string, number>;
    readonly facts?: Record<string, unknown>;
}

function maskSecrets(r: RecordedResource): Record<string, unknown> {
    const inputs = JSON.parse(JSON.stringify(r.inputs)) as Record<string, unknown>;
    for (const p of r.secretInputs) {
        const parts = p.split(".");
        let o: Record<string, unknown> = inputs;
        for (const k of parts.slice(0, -1)) o = (o[k] ?? {}) as Record<string, unknown>;
        o[parts[parts.length - 1]!] = SECRET_PLACEHOLDER;
    }
    return inputs;
}

export async function plan(stack: string, file = stackFile(stack)): Promise<PlanResult & { records?: RecordedResource[]; site?: Site }> {
    const cfg = readStack(stack, file);
    const config = { ...cfg.config };
    const secretKeys = [...cfg.secretKeys];
    // Secrets the stack does not carry are shown as required, and stand in as
    // placeholders. An absent apiToken is not required: the bootstrap creates one,
    // and the plan shows that step.
    for (const k of cfg.missingSecrets) {
        if (k === `${PROJECT}:apiToken`) continue;
        config[k] = SECRET_PLACEHOLDER;
        secretKeys.push(k);
    }
    let evaluation;
    try {
        evaluation = await evaluate(() => main(), { config, secretKeys, stack, outputs: () => ({ stdout: "", stderr: "" }) });
    } catch (e) {
        if (e instanceof SiteValidationError) return { stack, ok: false, problems: e.problems };
        throw e;
    }
    const site = evaluation.result.site;
    const records = evaluation.resources;
    const st = stages(records);
    const stageOf = new Map<string, number>();
    for (const s of st) for (const r of s.resources) stageOf.set(r.urn, s.index);
    const counts: Record<string, number> = {};
    for (const r of records) if (r.custom) counts[r.type] = (counts[r.type] ?? 0) + 1;
    const q = quorumFacts(site);
    const needed = requiredSecrets(site).map((k) => `proxmox-ha:${k}`);
    return {
        stack,
        ok: true,
        site,
        records,
        warnings: site.warnings,
        secretsRequired: cfg.missingSecrets.filter((k) => needed.includes(k)),
        resources: records.map((r) => ({
            type: r.type,
            name: r.name,
            ...(r.parent ? { parent: urnName(r.parent) } : {}),
            ...(stageOf.has(r.urn) ? { stage: stageOf.get(r.urn)! } : {}),
            inputs: maskSecrets(r),
        })),
        stages: st.map((s) => ({ stage: s.index, steps: s.resources.map((r) => r.name) })),
        counts,
        facts: {
            expectedVotes: q.expectedVotes,
            quorum: q.quorum,
            qdevice: site.qdevice ? { address: site.qdevice.address, algorithm: q.qdeviceAlgorithm } : null,
            failures: failureCases(site).map((f) => ({ failure: f.failure, survives: f.survives, summary: f.summary, guests: f.guests })),
            rpo: guestRpos(site),
        },
    };
}

function printText(p: Awaited<ReturnType<typeof plan>>): void {
    const out: string[] = [];
    if (!p.ok) {
        out.push(`Stack ${p.stack}: ${p.problems!.length} problem(s); nothing would be applied:`);
        for (const x of p.problems!) out.push(`  ✗ ${x.path}: ${x.message}`);
        console.error(out.join("\n"));
        return;
    }
    const records = p.records!;
    out.push(`Plan for stack ${p.stack}: what \`pulumi up\` creates on an empty site`, "");
    // Tree
    const children = new Map<string, RecordedResource[]>();
    const roots: RecordedResource[] = [];
    const recorded = new Set(records.map((r) => r.urn));
    for (const r of records) {
        if (r.parent && recorded.has(r.parent)) {
            const list = children.get(r.parent);
            if (list) list.push(r);
            else children.set(r.parent, [r]);
        } else roots.push(r);
    }
    const stageOf = new Map<string, number>();
    for (const r of p.resources!) if (r.stage !== undefined) stageOf.set(`${r.type}::${r.name}`, r.stage);
    const walk = (r: RecordedResource, depth: number) => {
        const stage = stageOf.get(`${r.type}::${r.name}`);
        out.push(`${"  ".repeat(depth)}${r.custom ? "+" : "■"} ${r.name}  (${r.type})${stage ? `  [stage ${stage}]` : ""}`);
        for (const c of children.get(r.urn) ?? []) walk(c, depth + 1);
    };
    out.push("Resources (■ component, + resource):");
    for (const r of roots) walk(r, 1);
    out.push("", `Stages (steps in one stage run in parallel; critical path ${p.stages!.length} stages):`);
    for (const s of p.stages!) out.push(`  ${String(s.stage).padStart(2)}. ${s.steps.join(", ")}`);
    out.push("", "Summary:");
    const total = Object.values(p.counts!).reduce((a, b) => a + b, 0);
    for (const [t, n] of Object.entries(p.counts!).sort()) out.push(`  ${String(n).padStart(4)}  ${t}`);
    out.push(`  ${String(total).padStart(4)}  resources to create`);
    const f = p.facts! as ReturnType<typeof Object> & {
        expectedVotes: number;
        quorum: number;
        failures: { failure: string; survives: boolean; summary: string; guests: string[] }[];
        rpo: { vmid: number; name: string; text: string }[];
    };
    out.push("", "Site facts:");
    out.push(`  expected votes ${f.expectedVotes}, quorum ${f.quorum}`);
    for (const c of f.failures) {
        out.push(`  ${c.survives ? "✓" : "✗"} lose ${c.failure}: ${c.summary}`);
        for (const g of c.guests) out.push(`      ${g}`);
    }
    out.push("  Worst-case RPO per guest:");
    for (const r of f.rpo) out.push(`    vm ${r.vmid} (${r.name}): ${r.text}`);
    if (p.site)
        out.push(
            `  Replication schedule ${p.site.replication.schedule}: worst case ${formatMinutes(p.site.replication.worstCaseRpoMinutes)} between runs`,
        );
    if (p.warnings!.length) {
        out.push("", "Warnings:");
        for (const w of p.warnings!) out.push(`  ! ${w}`);
    }
    if (p.secretsRequired!.length) {
        out.push("", "Secrets required before `pulumi up` (shown here as [secret]):");
        for (const k of p.secretsRequired!) out.push(`  ${k}: pulumi config set --secret ${k.split(":")[1]}`);
    }
    console.log(out.join("\n"));
}

async function cli(argv: string[]): Promise<number> {
    let stack = "prod";
    let json = false;
    let file: string | undefined;
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i]!;
        if (a === "--json") json = true;
        else if (a === "--stack" || a === "-s") stack = argv[++i] ?? "";
        else if (a.startsWith("--stack=")) stack = a.slice(8);
        else if (a === "--file") file = argv[++i];
        else {
            console.error(`unknown argument ${a}; usage: npm run plan -- [--stack NAME] [--file PATH] [--json]`);
            return 2;
        }
    }
    const p = await plan(stack, file ? path.resolve(file) : undefined);
    if (json) {
        const { records: _r, site: _s, ...rest } = p;
        void _r;
        void _s;
        console.log(JSON.stringify(rest, null, 2));
    } else {
        printText(p);
    }
    return p.ok ? 0 : 2;
}

if (require.main === module) {
    // Warnings from the program go to stderr so --json stays parseable.
    console.warn = (...args: unknown[]) => process.stderr.write(args.join(" ") + "\n");
    cli(process.argv.slice(2)).then(
        // exitCode, not exit(): a large --json document on a pipe must be flushed first.
        (code) => {
            process.exitCode = code;
        },
        (e: unknown) => {
            console.error(e instanceof Error ? e.message : String(e));
            process.exit(1);
        },
    );
}
