/**
 * Proves: (1) determinism — evaluating the same stack twice (each committed
 * stack and two variants) gives byte-identical recorded resources: type, name,
 * parent, inputs, dependencies, secrecy, protect, ignoreChanges, provider and
 * replacement trigger of every resource of the whole program, so a second
 * `pulumi up` would see no input changes; (2) secrets — the API token, the
 * root password and the SSH private key occur in recorded inputs only under
 * paths recorded as secret (for every resource of the whole program, not only
 * the API layer), and the API token and SSH key do reach the resources that
 * need them (the search is not vacuous).
 * Does not prove: what the engine stores in state or prints (no engine here),
 * nor secrecy of resource outputs produced by real providers.
 */
import { describe, it } from "node:test";
import * as assert from "node:assert/strict";
import type { RecordedResource } from "../../tools/lib/mock-runtime";
import { SECRETS, runRaw, runStack, variant, type Run } from "./harness";

function canonical(run: Run): string {
    const rows = run.records.map((r) => ({
        urn: r.urn,
        type: r.type,
        name: r.name,
        parent: r.parent ?? null,
        custom: r.custom,
        inputs: r.inputs,
        dependsOn: r.dependsOn,
        secretInputs: r.secretInputs,
        provider: r.provider ?? null,
        protect: r.protect,
        ignoreChanges: r.ignoreChanges,
        replaceOnChanges: r.replaceOnChanges,
        additionalSecretOutputs: r.additionalSecretOutputs,
        replacementTrigger: r.replacementTrigger ?? null,
    }));
    rows.sort((a, b) => (a.urn < b.urn ? -1 : a.urn > b.urn ? 1 : 0));
    return JSON.stringify(rows, null, 1);
}

const RUNS: Record<string, () => Promise<Run>> = {
    prod: () => runStack("prod"),
    lab: () => runStack("lab"),
    dc2: () => runStack("dc2"),
    "bridges and every option": () =>
        runRaw(
            variant((r) => {
                r.cluster = { name: "prod", bandwidthLimitMBps: { migration: 12.5 }, crs: { ha: "static", rebalanceOnStart: true } };
                r.network = {
                    vlans: [
                        {
                            tag: 20,
                            interface: "eno1",
                            purpose: "replication",
                            addresses: { prox1: "10.0.20.11/24", prox2: "10.0.20.12/24" },
                        },
                    ],
                    bridges: [{ name: "vmbr1", ports: ["eno2"], addresses: { prox2: "fd00:50::12/64" } }],
                };
                r.alerts = { email: "ops@example.com", from: "pve@example.com" };
            }),
        ),
};

/** Two evaluations per run, shared by both suites below. */
const evaluated = new Map<string, Promise<[Run, Run]>>();
function twice(label: string): Promise<[Run, Run]> {
    let p = evaluated.get(label);
    if (!p) {
        const make = RUNS[label]!;
        p = (async () => [await make(), await make()] as [Run, Run])();
        evaluated.set(label, p);
    }
    return p;
}

describe("determinism: two evaluations, byte-identical records", () => {
    for (const label of Object.keys(RUNS)) {
        it(label, async () => {
            const [a, b] = await twice(label);
            assert.ok(a.api.length > 5, "the API layer declared its objects");
            assert.equal(canonical(a), canonical(b));
        });
    }
});

/** Every string leaf of `value`, with its dotted path. */
function leaves(value: unknown, path: string, out: { path: string; text: string }[]): void {
    if (typeof value === "string") out.push({ path, text: value });
    else if (Array.isArray(value)) value.forEach((v, i) => leaves(v, path ? `${path}.${i}` : String(i), out));
    else if (value !== null && typeof value === "object") {
        for (const [k, v] of Object.entries(value)) leaves(v, path ? `${path}.${k}` : k, out);
    }
}

function underSecret(r: RecordedResource, path: string): boolean {
    return r.secretInputs.some((s) => path === s || path.startsWith(`${s}.`));
}

describe("secrets appear only as secret inputs", () => {
    for (const label of Object.keys(RUNS)) {
        it(label, async () => {
            const [run] = await twice(label);
            const found: Record<keyof typeof SECRETS, string[]> = {
                apiToken: [],
                rootPassword: [],
                sshPrivateKey: [],
                apiCertificate: [],
                apiCertificateKey: [],
            };
            for (const r of run.records) {
                const ls: { path: string; text: string }[] = [];
                leaves(r.inputs, "", ls);
                if (r.replacementTrigger !== undefined) leaves({ replacementTrigger: r.replacementTrigger }, "", ls);
                for (const l of ls) {
                    for (const key of Object.keys(SECRETS) as (keyof typeof SECRETS)[]) {
                        // Any line of the secret (a key's body line too) counts as a leak.
                        const parts = SECRETS[key].split("\n").filter((p) => p.length >= 8 && !p.startsWith("-----"));
                        if (!parts.some((p) => l.text.includes(p))) continue;
                        assert.ok(underSecret(r, l.path), `${key} in plain text at ${r.name}.${l.path}`);
                        found[key].push(`${r.name}.${l.path}`);
                    }
                }
            }
            const provider = `${run.site.cluster.name}-api-provider`;
            assert.ok(
                found.apiToken.some((p) => p.startsWith(`${provider}.apiToken`)),
                "the provider receives the API token, as a secret",
            );
            assert.ok(found.sshPrivateKey.length > 0, "the SSH key reaches the remote commands, as a secret");
            if (run.site.alerts.email) {
                assert.ok(found.sshPrivateKey.some((p) => p.startsWith(`${run.site.cluster.name}-api-notifications.connection`)));
            }
            // Verified TLS: the certificate and its key reach every node's install step by stdin only (issue #11 point 3).
            if (run.site.api.tls === "certificate") {
                for (const n of run.site.nodes) {
                    const stdin = `${run.site.cluster.name}-hosts-${n.name}-api-certificate.stdin.value`;
                    assert.ok(found.apiCertificateKey.includes(stdin), `${stdin} carries the key, as a secret`);
                    assert.ok(found.apiCertificate.includes(stdin), `${stdin} carries the chain, as a secret`);
                }
                assert.ok(
                    [...found.apiCertificate, ...found.apiCertificateKey].every((p) => p.includes("-api-certificate.stdin")),
                    "nowhere else",
                );
            }
        });
    }
});
