/**
 * Shared by the API layer tests: runs the real program (or the ApiLayer alone)
 * under the mock runtime and gives the recorded resources, the validated site
 * and lookups by name. Secrets are distinct placeholder values, so a test can
 * search every recorded input for them.
 */
import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { main } from "../../components/program";
import type { Site } from "../../components/model";
import type { BootstrapStages } from "../../components/hosts/bootstrap";
import { ApiLayer } from "../../components/api/apiLayer";
import { validateSite, PROJECT } from "../../components/validate";
import { evaluate, type RecordedResource } from "../../tools/lib/mock-runtime";
import { stepDependencies } from "../../tools/lib/graph";
import { readStack } from "../../tools/lib/stack";

/** Placeholder secret values: unique strings that must never show up in plain text. */
export const SECRETS = {
    apiToken: "root@pam!pulumi=7d3f0c2e-placeholder-api-token-5b1a",
    rootPassword: "placeholder-root-password-9c4e71",
    sshPrivateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nplaceholder-private-key-2f8d\n-----END OPENSSH PRIVATE KEY-----",
    // Not PEM: the program leaves their content to the install step (components/access.ts).
    apiCertificate: "placeholder-api-certificate-chain-61e0",
    apiCertificateKey: "placeholder-api-certificate-key-a93b",
} as const;

export interface Run {
    readonly records: RecordedResource[];
    readonly site: Site;
    /** Recorded children of the ApiLayer component. */
    readonly api: RecordedResource[];
    readonly apiUrn: string;
    /** The ApiLayer instance (for its plain summary) and the bootstrap stages the program passed it. */
    readonly layer: ApiLayer;
    readonly stages: BootstrapStages;
}

function outputs() {
    return { stdout: "", stderr: "" };
}

function withSecrets(config: Record<string, string>): { config: Record<string, string>; secretKeys: string[] } {
    const out = { ...config };
    const secretKeys: string[] = [];
    for (const [k, v] of Object.entries(SECRETS)) {
        out[`${PROJECT}:${k}`] = v;
        secretKeys.push(`${PROJECT}:${k}`);
    }
    return { config: out, secretKeys };
}

async function runProgram(config: Record<string, string>, stack: string): Promise<Run> {
    const { config: c, secretKeys } = withSecrets(config);
    const ev = await evaluate(() => main(), { config: c, secretKeys, stack, outputs });
    const apiRec = ev.resources.filter((r) => r.type === "proxmox-ha:api:ApiLayer");
    assert.equal(apiRec.length, 1, "exactly one ApiLayer component");
    const apiUrn = apiRec[0]!.urn;
    const component = ev.result.component;
    return {
        records: ev.resources,
        site: ev.result.site,
        api: ev.resources.filter((r) => r.parent === apiUrn),
        apiUrn,
        layer: component.api,
        stages: component.hosts.stages,
    };
}

/** The real program on a committed stack file (Pulumi.<stack>.yaml), secrets as placeholders. */
export async function runStack(stack: string): Promise<Run> {
    const cfg = readStack(stack);
    assert.deepEqual(cfg.secretKeys, [], "committed stacks carry no secrets");
    return runProgram(cfg.config, stack);
}

/** The real program on a stack built in the test (raw config: key without project prefix → value). */
export async function runRaw(raw: Record<string, unknown>, stack = "variant"): Promise<Run> {
    const config: Record<string, string> = {};
    for (const [k, v] of Object.entries(raw)) config[`${PROJECT}:${k}`] = typeof v === "string" ? v : JSON.stringify(v);
    return runProgram(config, stack);
}

/**
 * The error the program throws for a raw config. The program runs to its
 * throw inside the evaluation, so the registrations it started before are
 * drained within this test (no stray activity afterwards).
 */
export async function failureOf(raw: Record<string, unknown>, stack = "variant"): Promise<Error> {
    const config: Record<string, string> = {};
    for (const [k, v] of Object.entries(raw)) config[`${PROJECT}:${k}`] = typeof v === "string" ? v : JSON.stringify(v);
    const { config: c, secretKeys } = withSecrets(config);
    const ev = await evaluate(
        () => {
            try {
                main();
            } catch (e) {
                return e;
            }
            return undefined;
        },
        { config: c, secretKeys, stack, outputs },
    );
    assert.ok(ev.result instanceof Error, "the program refused the stack");
    return ev.result;
}

/** The site a raw config validates to (throws with the problems otherwise). */
export function siteOf(raw: Record<string, unknown>): Site {
    const r = validateSite(raw);
    if (!r.site) throw new Error(`variant does not validate: ${JSON.stringify(r.problems)}`);
    return r.site;
}

export interface SyntheticRun {
    readonly records: RecordedResource[];
    readonly api: RecordedResource[];
    /** URN of each synthetic bootstrap step, by role: `pool:<node>`, `watchdog:<node>`, `cluster:<i>`, `qdevice`. */
    readonly steps: ReadonlyMap<string, string>;
}

/** A stand-in bootstrap step: a custom resource the mock runtime records like any other. */
class SyntheticStep extends pulumi.CustomResource {
    constructor(name: string) {
        super("test:bootstrap:Step", name, {});
    }
}

/**
 * The ApiLayer alone, after synthetic bootstrap steps (one custom resource per
 * stage entry, deliberately NOT chained to each other), so order tests show
 * what the API layer itself waits for.
 */
export async function runSynthetic(site: Site, name = "t-api"): Promise<SyntheticRun> {
    const ev = await evaluate(
        () => {
            const step = (n: string) => new SyntheticStep(n);
            const stages: BootstrapStages = {
                pools: site.nodes.map((n) => step(`pool-${n.name}`)),
                watchdogs: site.nodes.map((n) => step(`watchdog-${n.name}`)),
                cluster: site.nodes.map((n, i) => step(i === 0 ? `create-${n.name}` : `join-${n.name}`)),
                ...(site.qdevice ? { qdevice: step("qdevice") } : {}),
            };
            return new ApiLayer(name, {
                site,
                apiToken: pulumi.secret(SECRETS.apiToken),
                ssh: { privateKey: pulumi.secret(SECRETS.sshPrivateKey), previewOnly: false },
                after: stages,
            });
        },
        { config: {}, outputs },
    );
    const byName = (n: string) => {
        const r = ev.resources.find((x) => x.type === "test:bootstrap:Step" && x.name === n);
        assert.ok(r, `synthetic step ${n} recorded`);
        return r.urn;
    };
    const steps = new Map<string, string>();
    site.nodes.forEach((n, i) => {
        steps.set(`pool:${n.name}`, byName(`pool-${n.name}`));
        steps.set(`watchdog:${n.name}`, byName(`watchdog-${n.name}`));
        steps.set(`cluster:${i}`, byName(i === 0 ? `create-${n.name}` : `join-${n.name}`));
    });
    if (site.qdevice) steps.set("qdevice", byName("qdevice"));
    const apiUrn = ev.resources.find((r) => r.type === "proxmox-ha:api:ApiLayer")!.urn;
    return { records: ev.resources, api: ev.resources.filter((r) => r.parent === apiUrn), steps };
}

/** The one record of this type and name; fails with the names that exist otherwise. */
export function one(records: readonly RecordedResource[], type: string, name: string): RecordedResource {
    const hits = records.filter((r) => r.type === type && r.name === name);
    assert.equal(
        hits.length,
        1,
        `one ${type} named ${name}; have: ${records
            .filter((r) => r.type === type)
            .map((r) => r.name)
            .join(", ")}`,
    );
    return hits[0]!;
}

export function ofType(records: readonly RecordedResource[], type: string): RecordedResource[] {
    return records.filter((r) => r.type === type);
}

/** Sorted names of the records of one type. */
export function namesOf(records: readonly RecordedResource[], type: string): string[] {
    return ofType(records, type)
        .map((r) => r.name)
        .sort();
}

/** URN of a Pulumi resource object (resolves under mocks). */
export function urnOf(r: pulumi.Resource): Promise<string> {
    return new Promise((resolve) => r.urn.apply((u) => resolve(u)));
}

/**
 * The custom resources a dependency on `urn` stands for: itself when it is a
 * custom resource, every custom descendant when it is a component (as the
 * engine waits for all of them).
 */
export function stepsOf(records: readonly RecordedResource[], urn: string): string[] {
    const rec = records.find((r) => r.urn === urn);
    assert.ok(rec, `resource ${urn} was recorded`);
    if (rec.custom) return [urn];
    const out: string[] = [];
    const walk = (u: string) => {
        for (const c of records.filter((r) => r.parent === u)) {
            if (c.custom) out.push(c.urn);
            walk(c.urn);
        }
    };
    walk(urn);
    return out;
}

/**
 * True when `a` waits (directly or transitively) for everything `b` stands for.
 * A component `b` without custom descendants stands for nothing to wait for:
 * that is reported as false, so an empty bootstrap never passes an order test.
 */
export function waitsForAll(records: readonly RecordedResource[], a: string, b: string): boolean {
    const targets = stepsOf(records, b);
    if (targets.length === 0) return false;
    const deps = stepDependencies(records);
    const reach = new Set<string>();
    const stack = [a];
    while (stack.length) {
        const x = stack.pop()!;
        for (const d of deps.get(x) ?? []) {
            if (!reach.has(d)) {
                reach.add(d);
                stack.push(d);
            }
        }
    }
    return targets.every((t) => reach.has(t));
}

/** Direct, explicit dependencies of a record by short name (`type::name` → name). */
export function directDeps(records: readonly RecordedResource[], r: RecordedResource): string[] {
    return r.dependsOn
        .map((u) => records.find((x) => x.urn === u))
        .filter((x): x is RecordedResource => x !== undefined)
        .map((x) => x.name)
        .sort();
}

/** The reference site as raw config (the shape of Pulumi.prod.yaml), for variants. */
export function referenceRaw(): Record<string, unknown> {
    return {
        cluster: { name: "prod" },
        nodes: [
            {
                name: "prox1",
                address: "10.0.0.11",
                links: [{ address: "10.10.10.11", priority: 20 }],
                sshHostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHC8inZ8ScQrA4Q0A5+TZX7lsrTuZtQk3fwlp5hzkX3Z",
                zfs: { pool: "pool1", layout: "mirror", disks: ["/dev/disk/by-id/ata-A1", "/dev/disk/by-id/ata-A2"] },
            },
            {
                name: "prox2",
                address: "10.0.0.12",
                links: [{ address: "10.10.10.12", priority: 20 }],
                sshHostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJCJt07ooVS+U+A18crerN85aY1FVoJ3maeZTPn04uf4",
                zfs: { pool: "pool1", layout: "mirror", disks: ["/dev/disk/by-id/ata-B1", "/dev/disk/by-id/ata-B2"] },
            },
        ],
        qdevice: { address: "10.0.0.120", sshHostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAuPy3I59t7g+4LeGfv+VWS+sD3UyZYkF3IIKlzolgRo" },
        storage: { id: "pool1", pool: "pool1" },
        replication: { schedule: "*/5", rateMBps: 100, network: "10.0.20.0/24" },
        guests: [
            {
                vmid: 101,
                name: "fw",
                node: "prox1",
                memoryMb: 4096,
                disks: [{ sizeGb: 32 }],
                nics: [{ bridge: "vmbr0" }],
                ha: { maxRestart: 2 },
            },
        ],
        firewall: { enabled: true, managementAllowlist: ["10.0.0.0/24"] },
        alerts: { email: "ops@example.com" },
    };
}

/** A deep copy of the reference raw config with one change applied. */
export function variant(fn: (raw: any) => void): Record<string, unknown> {
    const raw = structuredClone(referenceRaw());
    fn(raw);
    return raw;
}
