/**
 * How the program reaches the API (issue #11 points 3 and 5), checked before
 * any resource exists: components/access.ts and components/certificate.ts,
 * with real certificates from openssl (test/harness/pki.ts).
 *
 * Proves: the endpoint is the first node, the stack's apiNode, or this run's
 * PROXMOX_HA_API_NODE, and moves to the first node up when
 * PROXMOX_HA_DOWN_NODES names it, each with one clear problem for a name
 * that is not a host, an API node declared down, or every node down; the
 * certificate check refuses, naming the key and the fix, a key of another
 * certificate, a certificate that lacks a node address in its SANs (an IP
 * endpoint needs an IP SAN; the common name does not count, as in Go), one
 * that is expired or not yet valid, one not for TLS servers, a chain out of
 * order, and — the provider's "x509: certificate signed by unknown
 * authority" — an issuer this machine's trust store (read as Go reads it:
 * SSL_CERT_FILE) does not hold, while the same chain passes with the CA in
 * that store; placeholders (the offline plan's) and insecure stacks are not
 * inspected; a whole program run (`main()` under the mock runtime) with a
 * real certificate passes with SSL_CERT_FILE pointing at the CA and stops
 * with a SiteValidationError, registering nothing, without it.
 * Does NOT prove: Go's verifier itself (the chain walk is ours; the script
 * test validates a served chain with Node's TLS client and OpenSSL).
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { ENV_API_NODE, ENV_DOWN, checkSiteCertificate, withEnvironment } from "../../components/access";
import { chainTrusted, parseChain, systemTrustStore, type TrustStore } from "../../components/certificate";
import { main } from "../../components/program";
import { SiteValidationError, validateSite } from "../../components/validate";
import type { Site } from "../../components/model";
import { evaluate } from "../../tools/lib/mock-runtime";
import { readStack } from "../../tools/lib/stack";
import { makePki, type Pki } from "../harness/pki";
import { prodSite } from "../zrepl/site";

const prod = (): Site => prodSite((raw) => (raw.zrepl = { enabled: false }));
const NODES = "IP:10.0.0.11,IP:10.0.0.12";

describe("API endpoint (PROXMOX_HA_API_NODE, PROXMOX_HA_DOWN_NODES, apiNode)", () => {
    it("is the first node by default, with the stack's TLS mode", () => {
        const s = prod();
        assert.deepEqual(s.api, {
            tls: "certificate",
            node: "prox1",
            address: "10.0.0.11",
            endpoint: "https://10.0.0.11:8006",
            nodeSource: "first node",
            down: [],
        });
        const r = withEnvironment(s, {});
        assert.deepEqual([r.site.api, r.problems], [s.api, []]);
    });
    it("follows the stack's apiNode, refusing a name that is not a node", () => {
        const s = prodSite((raw) => (raw.apiNode = "prox2"));
        assert.deepEqual([s.api.node, s.api.endpoint, s.api.nodeSource], ["prox2", "https://10.0.0.12:8006", "stack"]);
        const r = validateSite({ ...rawProd(), apiNode: "prox9" });
        assert.deepEqual(r.problems, [
            { path: "proxmox-ha:apiNode", message: `"prox9" is not a node of this site; use one of prox1, prox2 or remove the key` },
        ]);
    });
    it("takes this run's PROXMOX_HA_API_NODE over the stack, and says so", () => {
        const r = withEnvironment(
            prodSite((raw) => (raw.apiNode = "prox1")),
            { [ENV_API_NODE]: "prox2" },
        );
        assert.deepEqual(r.problems, []);
        assert.deepEqual([r.site.api.node, r.site.api.endpoint, r.site.api.nodeSource], ["prox2", "https://10.0.0.12:8006", "environment"]);
        assert.ok(r.site.warnings.includes("PROXMOX_HA_API_NODE: the API is reached through prox2 (https://10.0.0.12:8006) for this run"));
    });
    it("moves to the first node up when the API node is declared down; lists the hosts down", () => {
        const r = withEnvironment(prod(), { [ENV_DOWN]: " prox1 , qnetd,prox1" });
        assert.deepEqual(r.problems, []);
        assert.deepEqual([r.site.api.node, r.site.api.nodeSource, r.site.api.down], ["prox2", "first node up", ["prox1", "qnetd"]]);
        assert.ok(r.site.warnings.some((w) => w.startsWith("PROXMOX_HA_DOWN_NODES: prox1 is declared down for this run")));
    });
    it("refuses, with the variable and the fix, names that are not hosts, a down API node, and every node down", () => {
        const s = prod();
        assert.deepEqual(withEnvironment(s, { [ENV_API_NODE]: "prox3" }).problems, [
            { path: ENV_API_NODE, message: `names "prox3", which is not a node of this site (nodes: prox1, prox2)` },
        ]);
        assert.deepEqual(withEnvironment(s, { [ENV_DOWN]: "prox3" }).problems, [
            { path: ENV_DOWN, message: `names "prox3", which is not a host of this site (hosts: prox1, prox2, qnetd)` },
        ]);
        assert.deepEqual(withEnvironment(s, { [ENV_API_NODE]: "prox2", [ENV_DOWN]: "prox2" }).problems, [
            { path: ENV_API_NODE, message: "names prox2, which PROXMOX_HA_DOWN_NODES declares down; choose a node that is up" },
        ]);
        assert.deepEqual(withEnvironment(s, { [ENV_DOWN]: "prox1,prox2" }).problems, [
            { path: ENV_DOWN, message: "declares every node down (prox1, prox2); nothing can be managed" },
        ]);
    });
});

function rawProd(): Record<string, unknown> {
    const raw: Record<string, unknown> = {};
    for (const [full, text] of Object.entries(readStack("prod").config)) {
        const key = full.slice(full.indexOf(":") + 1);
        if (["sshPrivateKey", "rootPassword", "apiToken", "apiCertificate", "apiCertificateKey"].includes(key)) continue;
        raw[key] = JSON.parse(text);
    }
    return raw;
}

describe("API certificate check (before any resource exists)", () => {
    let pki: Pki;
    let good: ReturnType<Pki["leaf"]>;
    let store: TrustStore;
    /** A fixed point inside the certificates' 30-day validity: one day after the first one starts. */
    let now: Date;
    before(() => {
        pki = makePki();
        good = pki.leaf("good", `${NODES},DNS:prox1.example.test`);
        store = { source: "test CA", roots: parseChain(pki.caPem) };
        now = new Date(new Date(parseChain(good.chain)[0]!.validFrom).getTime() + 86400_000);
    });
    after(() => pki?.close());
    const messages = (r: { problems: { path: string; message: string }[] }) => r.problems.map((p) => `${p.path}: ${p.message}`);

    it("passes a chain for every node address from a CA the trust store holds", () => {
        const r = checkSiteCertificate(prod(), good.chain, good.key, now, store);
        assert.deepEqual(messages(r), []);
        assert.deepEqual(r.trust, { source: "test CA", trusted: true });
        assert.equal(r.facts!.sha256, good.fingerprint);
    });
    it("refuses an issuer the trust store lacks: the provider's x509 unknown-authority failure, predicted", () => {
        const empty: TrustStore = { source: "/etc/ssl/certs/ca-certificates.crt", roots: [] };
        const r = checkSiteCertificate(prod(), good.chain, good.key, now, empty);
        assert.equal(r.trust!.trusted, false);
        assert.equal(r.problems.length, 1);
        assert.equal(r.problems[0]!.path, "proxmox-ha:apiCertificate");
        assert.match(
            r.problems[0]!.message,
            /^is issued by CN=Test Intermediate, which this machine's trust store \(\/etc\/ssl\/certs\/ca-certificates\.crt\) does not hold/,
        );
        assert.match(r.problems[0]!.message, /"x509: certificate signed by unknown authority"/);
        assert.match(r.problems[0]!.message, /update-ca-certificates/);
    });
    it("reads the trust store as Go does: SSL_CERT_FILE replaces the system bundle", () => {
        const s = systemTrustStore({ SSL_CERT_FILE: pki.caFile, SSL_CERT_DIR: path.join(pki.dir, "no-such-dir") }, "linux")!;
        assert.equal(s.source, pki.caFile);
        assert.equal(chainTrusted(parseChain(good.chain), s), true);
        assert.equal(systemTrustStore({}, "darwin"), undefined, "elsewhere Go asks the platform verifier");
    });
    it("refuses a key of another certificate", () => {
        const other = pki.leaf("other", NODES);
        assert.deepEqual(messages(checkSiteCertificate(prod(), good.chain, other.key, now, store)), [
            `proxmox-ha:apiCertificateKey: does not belong to the certificate CN=good (pvenode cert set refuses it: "key does not match the certificate"); supply the key of the first certificate in apiCertificate`,
        ]);
    });
    it("refuses a certificate that does not name every node address (IP SANs; the common name does not count)", () => {
        const one = pki.leaf("10.0.0.11", "IP:10.0.0.11");
        const byName = pki.leaf("dnsonly", "DNS:10.0.0.11,DNS:10.0.0.12");
        assert.deepEqual(messages(checkSiteCertificate(prod(), one.chain, one.key, now, store)), [
            "proxmox-ha:apiCertificate: does not name 10.0.0.12 (prox2) in its subject alternative names (it has: IP Address:10.0.0.11); the provider connects to the node address and Go checks SANs only, so issue it with IP:10.0.0.12",
        ]);
        assert.match(
            messages(checkSiteCertificate(prod(), byName.chain, byName.key, now, store))[0]!,
            /does not name 10\.0\.0\.11 \(prox1\), 10\.0\.0\.12 \(prox2\)/,
        );
    });
    it("refuses an expired or not yet valid certificate, one not for servers, and a chain out of order", () => {
        const later = new Date(now.getTime() + 40 * 86400_000);
        assert.match(
            messages(checkSiteCertificate(prod(), good.chain, good.key, later, store))[0]!,
            /^proxmox-ha:apiCertificate: expired on /,
        );
        const earlier = new Date(now.getTime() - 2 * 86400_000);
        assert.match(
            messages(checkSiteCertificate(prod(), good.chain, good.key, earlier, store))[0]!,
            /^proxmox-ha:apiCertificate: is not valid before /,
        );
        const client = pki.leaf("client", NODES, { eku: "clientAuth" });
        assert.deepEqual(messages(checkSiteCertificate(prod(), client.chain, client.key, now, store)), [
            "proxmox-ha:apiCertificate: is not for TLS servers (extended key usage 1.3.6.1.5.5.7.3.2 lacks serverAuth)",
        ]);
        const reversed = pki.intermediatePem + good.chain.slice(0, good.chain.indexOf(pki.intermediatePem));
        const r = checkSiteCertificate(prod(), reversed, good.key, now, store);
        assert.ok(
            messages(r).some((m) => m.includes("order the chain leaf first")),
            messages(r).join("\n"),
        );
    });
    it("leaves placeholders (the offline plan's) and insecure stacks alone", () => {
        assert.deepEqual(checkSiteCertificate(prod(), "[secret]", "[secret]", now, store), { problems: [] });
        const lab = prodSite((raw) => (raw.apiInsecure = true));
        assert.equal(lab.api.tls, "insecure");
        assert.deepEqual(checkSiteCertificate(lab, "junk -----BEGIN", "junk", now, store), { problems: [] });
    });

    describe("a whole run (main() under the mock runtime)", () => {
        const run = async (env: Record<string, string | undefined>) => {
            const cfg = readStack("prod");
            const config = {
                ...cfg.config,
                "proxmox-ha:sshPrivateKey": "k",
                "proxmox-ha:rootPassword": "p",
                "proxmox-ha:apiCertificate": good.chain,
                "proxmox-ha:apiCertificateKey": good.key,
            };
            const saved = { SSL_CERT_FILE: process.env.SSL_CERT_FILE, SSL_CERT_DIR: process.env.SSL_CERT_DIR };
            Object.assign(process.env, env);
            for (const [k, v] of Object.entries(env)) if (v === undefined) delete process.env[k];
            try {
                return await evaluate(() => main(), {
                    config,
                    secretKeys: Object.keys(config).filter((k) => /sshPrivateKey|rootPassword|apiCertificate/.test(k)),
                    stack: "prod",
                    outputs: () => ({ stdout: "", stderr: "" }),
                });
            } finally {
                for (const [k, v] of Object.entries(saved)) {
                    if (v === undefined) delete process.env[k];
                    else process.env[k] = v;
                }
            }
        };
        it("passes when this machine's trust store (SSL_CERT_FILE) holds the CA", async () => {
            const noDir = path.join(pki.dir, "none");
            const ev = await run({ SSL_CERT_FILE: pki.caFile, SSL_CERT_DIR: noDir });
            assert.ok(ev.resources.some((r) => r.name === "prod-hosts-prox1-api-certificate"));
        });
        it("stops before any resource when it does not", async () => {
            const empty = path.join(pki.dir, "empty.pem");
            fs.writeFileSync(empty, "");
            await assert.rejects(
                run({ SSL_CERT_FILE: empty, SSL_CERT_DIR: path.join(pki.dir, "none") }),
                (e: unknown) =>
                    e instanceof SiteValidationError &&
                    e.problems.length === 1 &&
                    e.problems[0]!.path === "proxmox-ha:apiCertificate" &&
                    e.problems[0]!.message.includes("x509: certificate signed by unknown authority"),
            );
        });
    });
});
