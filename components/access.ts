/**
 * How the program reaches a site (issue #11 points 3 and 5): which node's API
 * the provider talks to, how its TLS certificate is verified, and which hosts
 * the operator has declared unreachable for this run.
 *
 * The endpoint is chosen deterministically, so the offline plan and a
 * preview show it: `PROXMOX_HA_API_NODE` (this run only) over the stack's
 * `apiNode` over the first node that is not declared down. The environment
 * overrides exist so that an operator can manage a site with a node down
 * without editing the stack file (`pulumi up --config` would save the value
 * into it).
 */
import * as net from "node:net";
import type { ApiAccess, Site, SiteNode } from "./model";
import { chainTrusted, checkCertificate, systemTrustStore, type CertificateFacts, type TrustStore } from "./certificate";
import { PROJECT, keyPath, type Problem } from "./validate";

/** This run's API node (a node name); overrides the stack's `apiNode`. */
export const ENV_API_NODE = "PROXMOX_HA_API_NODE";
/** Comma-separated hosts (node names, or `qnetd`) that are down for this run: their steps are not run. */
export const ENV_DOWN = "PROXMOX_HA_DOWN_NODES";
/** Name that stands for the QDevice host in ENV_DOWN (the bootstrap's name for its steps). */
const QNETD = "qnetd";

/** Port of pveproxy (the Proxmox API). */
export const API_PORT = 8006;

/** `https://<address>:8006` (IPv6 in brackets). */
export function endpointUrl(address: string): string {
    return `https://${net.isIPv6(address) ? `[${address}]` : address}:${API_PORT}`;
}

/** The access the stack alone describes (no environment): validate.ts builds the Site with it. */
export function stackAccess(
    nodes: readonly Pick<SiteNode, "name" | "address">[],
    apiNode: string | undefined,
    insecure: boolean,
): ApiAccess {
    const node = nodes.find((n) => n.name === apiNode) ?? nodes[0]!;
    return {
        tls: insecure ? "insecure" : "certificate",
        node: node.name,
        address: node.address,
        endpoint: endpointUrl(node.address),
        nodeSource: apiNode !== undefined ? "stack" : "first node",
        down: [],
    };
}

/**
 * Applies this run's environment (ENV_API_NODE, ENV_DOWN) to a validated
 * site. Problems name the variable, the value and the fix.
 */
export function withEnvironment(site: Site, env: NodeJS.ProcessEnv): { site: Site; problems: Problem[] } {
    const problems: Problem[] = [];
    const names = site.nodes.map((n) => n.name);
    const hosts = site.qdevice ? [...names, QNETD] : names;
    const down: string[] = [];
    for (const raw of (env[ENV_DOWN] ?? "").split(",")) {
        const h = raw.trim();
        if (h === "" || down.includes(h)) continue;
        if (!hosts.includes(h)) {
            problems.push({ path: ENV_DOWN, message: `names "${h}", which is not a host of this site (hosts: ${hosts.join(", ")})` });
            continue;
        }
        down.push(h);
    }
    let { node, nodeSource } = site.api;
    const wanted = env[ENV_API_NODE]?.trim();
    if (wanted) {
        if (!names.includes(wanted)) {
            problems.push({
                path: ENV_API_NODE,
                message: `names "${wanted}", which is not a node of this site (nodes: ${names.join(", ")})`,
            });
        } else if (down.includes(wanted)) {
            problems.push({ path: ENV_API_NODE, message: `names ${wanted}, which ${ENV_DOWN} declares down; choose a node that is up` });
        } else {
            node = wanted;
            nodeSource = "environment";
        }
    } else if (down.includes(node)) {
        const up = names.find((n) => !down.includes(n));
        if (up === undefined) {
            problems.push({ path: ENV_DOWN, message: `declares every node down (${names.join(", ")}); nothing can be managed` });
        } else {
            node = up;
            nodeSource = "first node up";
        }
    }
    const address = site.nodes.find((n) => n.name === node)!.address;
    const warnings = [
        ...site.warnings,
        ...down.map(
            (h) =>
                `${ENV_DOWN}: ${h} is declared down for this run: its steps keep their recorded state (changes to them wait for a run without it), and a step it does not have yet fails after one 5 s dial`,
        ),
        ...(nodeSource === "environment"
            ? [`${ENV_API_NODE}: the API is reached through ${node} (${endpointUrl(address)}) for this run`]
            : []),
    ];
    return { site: { ...site, warnings, api: { ...site.api, node, address, endpoint: endpointUrl(address), nodeSource, down } }, problems };
}

/** True when `host` (a node name or "qnetd") is declared down for this run. */
export function isDown(site: Site, host: string): boolean {
    return site.api.down.includes(host);
}

/** What the start of `pulumi preview`/`up` found about the certificate. */
export interface CertificateCheck {
    readonly facts?: CertificateFacts;
    /** Where Go's trust store was read from, and whether it verifies the chain (undefined: not a Linux machine). */
    readonly trust?: { readonly source: string; readonly trusted: boolean };
    readonly problems: Problem[];
}

/**
 * Checks the supplied certificate before any resource exists: parse, key
 * match, validity, every node address in the SANs, chain order and, on
 * Linux, that this machine's trust store (the one Go and so the provider
 * uses) verifies it. Text without a PEM block (the offline plan's
 * placeholders never hold one) is left to the install step, which refuses it
 * with its reason before the API layer starts.
 */
export function checkSiteCertificate(
    site: Site,
    certText: string | undefined,
    keyText: string | undefined,
    now: Date,
    store: TrustStore | undefined = systemTrustStore(),
): CertificateCheck {
    if (site.api.tls !== "certificate" || certText === undefined) return { problems: [] };
    if (!certText.includes("-----BEGIN") && !keyText?.includes("-----BEGIN")) return { problems: [] };
    const r = checkCertificate(
        certText,
        keyText,
        site.nodes.map((n) => ({ node: n.name, address: n.address })),
        now,
    );
    const problems: Problem[] = r.problems.map((p) => ({ path: keyPath(p.key), message: p.message }));
    if (!r.facts || !store) return { ...(r.facts ? { facts: r.facts } : {}), problems };
    const trusted = chainTrusted(r.facts.chain, store);
    if (!trusted) {
        problems.push({
            path: keyPath("apiCertificate"),
            message: `is issued by ${r.facts.issuer}, which this machine's trust store (${store.source}) does not hold: the provider verifies against that store only, so every API call would fail with "x509: certificate signed by unknown authority". Add the issuing CA to this machine's trust store (Debian: copy it to /usr/local/share/ca-certificates/ and run update-ca-certificates), or point SSL_CERT_FILE at a bundle that holds it`,
        });
    }
    return { facts: r.facts, trust: { source: store.source, trusted }, problems };
}

/** One line per fact the plan prints under "API access". */
export function describeAccess(site: Site): string[] {
    const a = site.api;
    const lines: string[] = [];
    const source =
        a.nodeSource === "environment"
            ? `from ${ENV_API_NODE}`
            : a.nodeSource === "stack"
              ? `from ${PROJECT}:apiNode`
              : a.nodeSource === "first node up"
                ? `the first node not declared down in ${ENV_DOWN}`
                : "the first node; override for one run with " + `${ENV_API_NODE}=<node>`;
    lines.push(`endpoint ${a.endpoint} (${a.node}: ${source})`);
    if (a.tls === "certificate") {
        lines.push(
            "TLS verified: the certificate in apiCertificate/apiCertificateKey is installed for pveproxy on every node by the bootstrap (api-certificate), before the first API call",
            `  the operator must: issue it for ${site.nodes.map((n) => (net.isIP(n.address) ? `IP:${n.address}` : `DNS:${n.address}`)).join(", ")} from a CA the machine running \`pulumi\` trusts (its system store or SSL_CERT_FILE), then \`pulumi config set --secret apiCertificate < fullchain.pem\` and \`pulumi config set --secret apiCertificateKey < privkey.pem\``,
            "  `pulumi preview`/`up` check key, validity, names and trust before any resource exists (this offline plan never decrypts secrets)",
        );
    } else {
        lines.push(
            "TLS NOT verified (apiInsecure: true): anyone on the path to the endpoint can read the API token",
            "  the operator must: accept that, or supply apiCertificate/apiCertificateKey and set apiInsecure: false",
        );
    }
    for (const h of a.down) {
        lines.push(
            `${h} declared down (${ENV_DOWN}): its steps are left as they are this run; a step it does not have yet fails after one 5 s dial`,
        );
    }
    return lines;
}
