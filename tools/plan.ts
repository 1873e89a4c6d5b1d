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
import { readStack, stackNameOf, SECRET_PLACEHOLDER, StackFileError } from "./lib/stack";
import { requiredSecrets } from "../components/config";
import { stepTitle } from "./lib/steps";
import type { Site } from "../components/model";
import { describeAccess } from "../components/access";

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
    /** How the program reaches the API: endpoint, TLS mode, hosts declared down, and what the operator must do. */
    readonly access?: { readonly api: Site["api"]; readonly lines: readonly string[] };
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

export async function plan(stack: string, file?: string): Promise<PlanResult & { records?: RecordedResource[]; site?: Site }> {
    const cfg = readStack(stack, file);
    const config = { ...cfg.config };
    const secretKeys = [...cfg.secretKeys];
    // Secrets the stack does not carry are shown as required, and stand in as
    // placeholders. An absent apiToken is not required: the bootstrap creates one,
    // and the plan shows that step.
    for (const k of cfg.missingSecrets) {
        if (k === `${PROJECT}:apiToken` || k === `${PROJECT}:sshKeyPassphrase`) continue;
        config[k] = SECRET_PLACEHOLDER;
        secretKeys.push(k);
    }
    let evaluation;
    try {
        evaluation = await evaluate(() => main({ warn: () => undefined }), {
            config,
            secretKeys,
            stack,
            outputs: () => ({ stdout: "", stderr: "" }),
        });
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
            failures: failureCases(site).map((f) => ({
                failure: f.failure,
                survives: f.survives,
                manualRecovery: f.manualRecovery,
                summary: f.summary,
                guests: f.guests,
            })),
            rpo: guestRpos(site),
        },
        access: { api: site.api, lines: describeAccess(site) },
    };
}

interface FactsJson {
    expectedVotes: number;
    quorum: number;
    qdevice: { address: string } | null;
    failures: { failure: string; survives: boolean; manualRecovery: boolean; summary: string; guests: string[] }[];
    rpo: { vmid: number; name: string; text: string }[];
}

/** ✓ survives on its own, ⚠ survives but something comes back only by hand, ✗ the cluster stops. */
export function failureMark(f: { survives: boolean; manualRecovery: boolean }): string {
    return !f.survives ? "✗" : f.manualRecovery ? "⚠" : "✓";
}

/** Section renderers, in the order they print; each returns its lines (none to skip). */
type Section = (p: Awaited<ReturnType<typeof plan>>, opts: { details: boolean }) => string[];

const factsSection: Section = (p) => {
    const f = p.facts as unknown as FactsJson;
    const site = p.site!;
    const voters = [...site.nodes.map((n) => n.name), ...(site.qdevice ? [`the QDevice ${site.qdevice.address}`] : [])];
    const out = ["Site facts", `  Quorum: ${f.quorum} of ${f.expectedVotes} votes needed (${voters.join(", ")}: one vote each).`];
    out.push("  What happens when one thing fails (✓ runs on by itself, ⚠ needs manual recovery, ✗ the cluster stops):");
    for (const c of f.failures) {
        out.push(`  ${failureMark(c)} lose ${c.failure}: ${c.summary}`);
        for (const g of c.guests) out.push(`      ${g}`);
    }
    out.push("  Worst-case data loss (RPO) per guest:");
    for (const r of f.rpo) out.push(`    ${site.guests.find((g) => g.vmid === r.vmid)?.type ?? "vm"} ${r.vmid} (${r.name}): ${r.text}`);
    if (f.rpo.length === 0) out.push("    no guests");
    out.push(
        `  Replication schedule ${site.replication.schedule}: worst case ${formatMinutes(site.replication.worstCaseRpoMinutes)} between runs`,
    );
    return out;
};

const stepsSection: Section = (p) => {
    const site = p.site!;
    const out = [`Steps, in the order they run (steps of one stage run in parallel; ${p.stages!.length} stages):`];
    for (const s of p.stages!) {
        s.steps.forEach((name, i) => out.push(`  ${i === 0 ? `${String(s.stage).padStart(2)}.` : "   "} ${stepTitle(site, name)}`));
    }
    const total = Object.values(p.counts!).reduce((a, b) => a + b, 0);
    out.push(`  ${total} resources to create; \`--details\` lists them with their Pulumi types.`);
    return out;
};

const detailsSection: Section = (p, opts) => {
    if (!opts.details) return [];
    const records = p.records!;
    const out = ["Resources (■ component, + resource):"];
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
    for (const r of roots) walk(r, 1);
    out.push("", "Count per resource type:");
    const total = Object.values(p.counts!).reduce((a, b) => a + b, 0);
    for (const [t, n] of Object.entries(p.counts!).sort()) out.push(`  ${String(n).padStart(4)}  ${t}`);
    out.push(`  ${String(total).padStart(4)}  resources to create`);
    return out;
};

const warningsSection: Section = (p) => (p.warnings!.length ? ["Warnings:", ...p.warnings!.map((w) => `  ! ${w}`)] : []);

const secretsSection: Section = (p) =>
    p.secretsRequired!.length
        ? [
              "Secrets required before `pulumi up` (shown here as [secret]):",
              ...p.secretsRequired!.map((k) => `  ${k}: pulumi config set --secret ${k.split(":")[1]}`),
          ]
        : [];

// ---- API access: TLS mode and endpoint (issue #11 points 3 and 5): components/access.ts says what applies and what the operator must do.
const accessSection: Section = (p) => ["API access (TLS and endpoint):", ...p.access!.lines.map((l) => `  ${l}`)];

// ---- What stays on the hosts when a feature is off or removed (issue #14): the program never
// undoes these; docs/operations.md "Replacing a command, and removing a feature" has the table.
export function keptOnHosts(site: Site): string[] {
    const corosyncVlans = site.network.vlans.filter((v) => v.purpose === "corosync");
    return [
        site.zrepl.enabled
            ? "zrepl is on. Turning it off (zrepl.enabled: false) stops and disables the daemon and the repair timer; the package, /etc/zrepl/zrepl.yml, the copies and zrepl's snapshots, holds and bookmarks stay."
            : "zrepl is off. If an earlier `pulumi up` turned it on, this one stops and disables the daemon and the repair timer; the package, /etc/zrepl/zrepl.yml, the copies and zrepl's snapshots, holds and bookmarks stay.",
        site.alerts.email
            ? `Alerts go to ${site.alerts.email}. Removing alerts.email stops managing them; the endpoint proxmox-ha-mail and matcher proxmox-ha-alerts stay configured (remove them in Datacenter → Notifications).`
            : "No alerts.email. An endpoint proxmox-ha-mail and matcher proxmox-ha-alerts an earlier `pulumi up` configured stay (remove them in Datacenter → Notifications).",
        site.qdevice
            ? `QDevice on ${site.qdevice.address}. Removing it from the stack runs no \`pvecm qdevice remove\`: the QDevice stays in corosync until you run it (then remove the first node's key from the qnetd host's authorized_keys).`
            : "No QDevice. One configured earlier stays in corosync until you run `pvecm qdevice remove`.",
        corosyncVlans.length
            ? `Corosync VLANs ${corosyncVlans.map((v) => `${v.interface}.${v.tag}`).join(", ")}: removing one from the stack leaves its stanza in /etc/network/interfaces.d (remove it and run \`ifreload -a\` once corosync no longer uses the link).`
            : "No corosync VLANs. A stanza an earlier `pulumi up` wrote in /etc/network/interfaces.d stays.",
    ];
}

const keptSection: Section = (p) =>
    p.site
        ? [
              "What stays on the hosts when a feature is off or removed (the program never undoes these):",
              ...keptOnHosts(p.site).map((l) => `  - ${l}`),
          ]
        : [];

/** The plan's sections in print order: facts first, then the steps, then what to fix or supply. */
export const SECTIONS: readonly Section[] = [
    factsSection,
    stepsSection,
    detailsSection,
    accessSection,
    keptSection,
    warningsSection,
    secretsSection,
];

function renderText(p: Awaited<ReturnType<typeof plan>>, opts: { details: boolean }): string {
    if (!p.ok) {
        const out = [`Stack ${p.stack}: ${p.problems!.length} problem(s); nothing would be applied:`];
        for (const x of p.problems!) out.push(`  ✗ ${x.path}: ${x.message}`);
        return out.join("\n") + "\n";
    }
    const blocks = [[`Plan for stack ${p.stack}: what \`pulumi up\` does on an empty site`]];
    if (p.site?.example)
        blocks[0]!.push(
            "(An example stack: `pulumi up` refuses it. Copy it to Pulumi.<site>.yaml with your own values and delete `proxmox-ha:example: true`.)",
        );
    for (const section of SECTIONS) {
        const lines = section(p, opts);
        if (lines.length) blocks.push(lines);
    }
    return blocks.map((b) => b.join("\n")).join("\n\n") + "\n";
}

export const PLAN_HELP = `usage: npm run plan -- [--stack NAME | --file PATH] [--details] [--json]

Evaluates the program offline (Pulumi's mock runtime: no Pulumi CLI, no network,
no secrets) with a stack file and prints what \`pulumi up\` would do on an empty site:
the site facts (quorum, what survives which failure, worst-case data loss), the
steps in the order they run, and the warnings.

  --stack NAME   the stack file Pulumi.NAME.yaml next to Pulumi.yaml (default: prod)
  --file PATH    a stack file kept elsewhere; labelled with the NAME of Pulumi.NAME.yaml
  --details      also the resource tree with Pulumi type tokens and counts per type
  --json         everything as one JSON document on stdout
  --help         this text

Exit codes: 0 the stack is valid and planned; 2 bad input (unknown stack, a file
that is not YAML, a stack that does not validate: every problem is listed).
`;

export async function cli(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    let stack: string | undefined;
    let json = false;
    let details = false;
    let file: string | undefined;
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i]!;
        if (a === "--json") json = true;
        else if (a === "--details") details = true;
        else if (a === "--help" || a === "-h") return { code: 0, stdout: PLAN_HELP, stderr: "" };
        else if (a === "--stack" || a === "-s") stack = argv[++i] ?? "";
        else if (a.startsWith("--stack=")) stack = a.slice(8);
        else if (a === "--file") file = argv[++i];
        else if (a.startsWith("--file=")) file = a.slice(7);
        else {
            return {
                code: 2,
                stdout: "",
                stderr: `plan: unknown argument ${a}; usage: npm run plan -- [--stack NAME] [--file PATH] [--details] [--json] (--help explains)\n`,
            };
        }
    }
    const name = stack ?? (file ? (stackNameOf(file) ?? path.basename(file)) : "prod");
    let p;
    try {
        p = await plan(name, file ? path.resolve(file) : undefined);
    } catch (e) {
        if (e instanceof StackFileError) return { code: 2, stdout: "", stderr: `plan: ${e.message}\n` };
        throw e;
    }
    if (json) {
        const { records: _r, site: _s, ...rest } = p;
        void _r;
        void _s;
        return { code: p.ok ? 0 : 2, stdout: JSON.stringify(rest, null, 2) + "\n", stderr: "" };
    }
    const text = renderText(p, { details });
    return p.ok ? { code: 0, stdout: text, stderr: "" } : { code: 2, stdout: "", stderr: text };
}

if (require.main === module) {
    // Warnings from the program go to stderr so --json stays parseable.
    console.warn = (...args: unknown[]) => process.stderr.write(args.join(" ") + "\n");
    cli(process.argv.slice(2)).then(
        // exitCode, not exit(): a large --json document on a pipe must be flushed first.
        (r) => {
            process.stdout.write(r.stdout);
            process.stderr.write(r.stderr);
            process.exitCode = r.code;
        },
        (e: unknown) => {
            console.error(`plan: internal error: ${e instanceof Error ? e.message : String(e)}`);
            process.exitCode = 1;
        },
    );
}
