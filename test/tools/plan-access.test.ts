/**
 * `npm run plan` says per stack how the API is reached and what the operator
 * must do (issue #11 points 3 and 5): the "API access" section of
 * tools/plan.ts, printed by its real CLI entry (`cli`), and the same facts
 * in --json.
 *
 * Proves: prod and dc2 (apiInsecure false) say TLS is verified, that the
 * bootstrap installs apiCertificate/apiCertificateKey on every node before
 * the first API call, for which addresses the certificate must be issued,
 * and list both secrets as required; lab (apiInsecure true) says TLS is NOT
 * verified and warns; the endpoint line names the node and why it was
 * chosen, and follows PROXMOX_HA_API_NODE and PROXMOX_HA_DOWN_NODES; a bad
 * variable exits 2 naming it.
 * Does NOT prove: anything about a real site.
 */
import * as assert from "node:assert/strict";
import { describe, it } from "node:test";
import { cli } from "../../tools/plan";

async function plan(args: string[], env: Record<string, string> = {}) {
    const keys = ["PROXMOX_HA_API_NODE", "PROXMOX_HA_DOWN_NODES"];
    const saved = Object.fromEntries(keys.map((k) => [k, process.env[k]]));
    for (const k of keys) delete process.env[k];
    Object.assign(process.env, env);
    try {
        return await cli(args);
    } finally {
        for (const [k, v] of Object.entries(saved)) {
            if (v === undefined) delete process.env[k];
            else process.env[k] = v;
        }
    }
}

/** The lines of the "API access" section. */
function section(stdout: string): string[] {
    const lines = stdout.split("\n");
    const start = lines.indexOf("API access (TLS and endpoint):");
    assert.ok(start >= 0, stdout);
    const end = lines.findIndex((l, i) => i > start && l === "");
    return lines.slice(start + 1, end < 0 ? undefined : end);
}

describe("npm run plan: API access", () => {
    it("prod: verified TLS, the certificate the operator must supply, and the endpoint", async () => {
        const r = await plan(["--stack", "prod"]);
        assert.equal(r.code, 0, r.stderr);
        const s = section(r.stdout);
        assert.equal(
            s[0],
            "  endpoint https://10.0.0.11:8006 (prox1: the first node; override for one run with PROXMOX_HA_API_NODE=<node>)",
        );
        assert.match(
            s[1]!,
            /^ {2}TLS verified: the certificate in apiCertificate\/apiCertificateKey is installed for pveproxy on every node by the bootstrap/,
        );
        assert.match(s[2]!, /issue it for IP:10\.0\.0\.11, IP:10\.0\.0\.12 from a CA the machine running `pulumi` trusts/);
        assert.match(r.stdout, /proxmox-ha:apiCertificate: pulumi config set --secret apiCertificate/);
        assert.match(r.stdout, /proxmox-ha:apiCertificateKey: pulumi config set --secret apiCertificateKey/);
    });
    it("dc2: verified, for both datacentres' node addresses", async () => {
        const s = section((await plan(["--stack", "dc2"])).stdout);
        assert.match(s[1]!, /^ {2}TLS verified/);
        assert.match(s[2]!, /issue it for IP:172\.16\.1\.11, IP:172\.16\.2\.11 /);
    });
    it("lab: NOT verified, said in the section and as a warning; no certificate secret required", async () => {
        const r = await plan(["--stack", "lab"]);
        assert.equal(r.code, 0, r.stderr);
        const s = section(r.stdout);
        assert.equal(s[1], "  TLS NOT verified (apiInsecure: true): anyone on the path to the endpoint can read the API token");
        assert.match(r.stdout, /! proxmox-ha:apiInsecure: true: the Proxmox API's TLS certificate is not verified/);
        assert.doesNotMatch(r.stdout, /proxmox-ha:apiCertificate/);
    });
    it("follows PROXMOX_HA_DOWN_NODES and PROXMOX_HA_API_NODE, in text and JSON", async () => {
        const down = section((await plan(["--stack", "prod"], { PROXMOX_HA_DOWN_NODES: "prox1" })).stdout);
        assert.equal(down[0], "  endpoint https://10.0.0.12:8006 (prox2: the first node not declared down in PROXMOX_HA_DOWN_NODES)");
        assert.ok(down.some((l) => l.startsWith("  prox1 declared down (PROXMOX_HA_DOWN_NODES): its steps are left as they are this run")));
        const j = JSON.parse((await plan(["--stack", "prod", "--json"], { PROXMOX_HA_API_NODE: "prox2" })).stdout);
        assert.deepEqual(j.access.api, {
            tls: "certificate",
            node: "prox2",
            address: "10.0.0.12",
            endpoint: "https://10.0.0.12:8006",
            nodeSource: "environment",
            down: [],
        });
    });
    it("exits 2 naming a variable that names no node", async () => {
        const r = await plan(["--stack", "prod"], { PROXMOX_HA_API_NODE: "prox7" });
        assert.equal(r.code, 2);
        assert.match(r.stderr, /PROXMOX_HA_API_NODE: names "prox7", which is not a node of this site \(nodes: prox1, prox2\)/);
    });
});
