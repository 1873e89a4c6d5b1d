/**
 * The API certificate the stack supplies (issue #11 point 3), checked before
 * any resource exists, the way the provider will judge it.
 *
 * The provider (bpg/terraform-provider-proxmox, `proxmox/api/client.go`
 * `NewConnection`, the same from v0.84 to today) builds its HTTP client with
 * `tls.Config{MinVersion: …, InsecureSkipVerify: insecure}` and nothing else:
 * no CA option, so Go's crypto/x509 verifies pveproxy's certificate against
 * the system trust store of the machine that runs `pulumi`, and matches the
 * endpoint's host against the certificate's subject alternative names only
 * (an IP endpoint needs an IP SAN; the common name is ignored).
 *
 * Pure functions: the certificate text, the node addresses, the time and the
 * trust store are arguments.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { isIP } from "node:net";

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
const SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
const ANY_EKU = "2.5.29.37.0";

export interface CertificateProblem {
    /** Which of the two keys: apiCertificate or apiCertificateKey. */
    readonly key: "apiCertificate" | "apiCertificateKey";
    readonly message: string;
}

export interface CertificateFacts {
    readonly subject: string;
    readonly issuer: string;
    readonly notAfter: Date;
    readonly sha256: string;
    /** The chain's certificates, leaf first. */
    readonly chain: readonly crypto.X509Certificate[];
}

/** Every PEM certificate in `text`, in order; throws when one does not parse. */
export function parseChain(text: string): crypto.X509Certificate[] {
    return (text.match(PEM_CERT) ?? []).map((pem) => new crypto.X509Certificate(pem));
}

/** Does the leaf name `address` the way Go's crypto/x509 VerifyHostname matches it (SANs only)? */
export function namesAddress(leaf: crypto.X509Certificate, address: string): boolean {
    if (isIP(address)) return leaf.checkIP(address) !== undefined;
    return leaf.checkHost(address, { subject: "never" }) !== undefined;
}

/**
 * Checks the chain and key against every address the provider may use as
 * its endpoint (every node's: the endpoint can move to a surviving node).
 * Returns the facts for the plan and every problem, each with its fix.
 */
export function checkCertificate(
    certText: string,
    /** The certificate's key; undefined in a preview, which never holds it (nothing is installed). */
    keyText: string | undefined,
    addresses: readonly { node: string; address: string }[],
    now: Date,
): { facts?: CertificateFacts; problems: CertificateProblem[] } {
    const problems: CertificateProblem[] = [];
    let chain: crypto.X509Certificate[];
    try {
        chain = parseChain(certText);
    } catch (e) {
        return { problems: [{ key: "apiCertificate", message: `does not parse as PEM certificates (${(e as Error).message})` }] };
    }
    if (chain.length === 0) {
        return {
            problems: [
                {
                    key: "apiCertificate",
                    message:
                        "holds no PEM certificate; set it to the certificate chain, leaf first: `pulumi config set --secret apiCertificate < fullchain.pem`",
                },
            ],
        };
    }
    const leaf = chain[0]!;
    let key: crypto.KeyObject | undefined;
    try {
        if (keyText !== undefined) key = crypto.createPrivateKey(keyText);
    } catch (e) {
        problems.push({
            key: "apiCertificateKey",
            message: `is not a PEM private key (${(e as Error).message}); set it with \`pulumi config set --secret apiCertificateKey < privkey.pem\` (unencrypted: pveproxy reads it without a passphrase)`,
        });
    }
    if (key && !leaf.checkPrivateKey(key)) {
        problems.push({
            key: "apiCertificateKey",
            message: `does not belong to the certificate ${leaf.subject.replace(/\n/g, ", ")} (pvenode cert set refuses it: "key does not match the certificate"); supply the key of the first certificate in apiCertificate`,
        });
    }
    const notBefore = new Date(leaf.validFrom);
    const notAfter = new Date(leaf.validTo);
    if (now < notBefore) problems.push({ key: "apiCertificate", message: `is not valid before ${leaf.validFrom}` });
    if (now > notAfter) problems.push({ key: "apiCertificate", message: `expired on ${leaf.validTo}; renew it and set it again` });
    const missing = addresses.filter((a) => !namesAddress(leaf, a.address));
    if (missing.length > 0) {
        problems.push({
            key: "apiCertificate",
            message: `does not name ${missing.map((a) => `${a.address} (${a.node})`).join(", ")} in its subject alternative names (it has: ${leaf.subjectAltName ?? "none"}); the provider connects to the node address and Go checks SANs only, so issue it with ${missing.map((a) => (isIP(a.address) ? `IP:${a.address}` : `DNS:${a.address}`)).join(", ")}`,
        });
    }
    const eku = leaf.keyUsage;
    if (eku && eku.length > 0 && !eku.includes(SERVER_AUTH) && !eku.includes(ANY_EKU)) {
        problems.push({ key: "apiCertificate", message: `is not for TLS servers (extended key usage ${eku.join(", ")} lacks serverAuth)` });
    }
    for (let i = 0; i + 1 < chain.length; i++) {
        if (!issuedBy(chain[i]!, chain[i + 1]!)) {
            problems.push({
                key: "apiCertificate",
                message: `certificate ${i + 2} of the chain did not issue certificate ${i + 1}; order the chain leaf first, then each issuer`,
            });
            break;
        }
    }
    return {
        facts: {
            subject: leaf.subject.replace(/\n/g, ", "),
            issuer: leaf.issuer.replace(/\n/g, ", "),
            notAfter,
            sha256: leaf.fingerprint256,
            chain,
        },
        problems,
    };
}

function issuedBy(cert: crypto.X509Certificate, issuer: crypto.X509Certificate): boolean {
    return cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
}

/** The roots Go would load on this machine, and where they came from. */
export interface TrustStore {
    readonly source: string;
    readonly roots: readonly crypto.X509Certificate[];
}

/**
 * Go's system roots on Linux (crypto/x509 root_unix.go `loadSystemRoots` with
 * the lists of root_linux.go): SSL_CERT_FILE, else the first of the usual
 * bundle files that exists; plus every file in SSL_CERT_DIR (colon-separated),
 * else in /etc/ssl/certs and /etc/pki/tls/certs. Undefined on other systems:
 * there Go asks the platform verifier, which this program cannot consult.
 */
export function systemTrustStore(
    env: NodeJS.ProcessEnv = process.env,
    platform: NodeJS.Platform = process.platform,
): TrustStore | undefined {
    if (platform !== "linux") return undefined;
    const files = env.SSL_CERT_FILE
        ? [env.SSL_CERT_FILE]
        : [
              "/etc/ssl/certs/ca-certificates.crt",
              "/etc/pki/tls/certs/ca-bundle.crt",
              "/etc/ssl/ca-bundle.pem",
              "/etc/pki/tls/cacert.pem",
              "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
              "/etc/ssl/cert.pem",
          ];
    const dirs = env.SSL_CERT_DIR ? env.SSL_CERT_DIR.split(":") : ["/etc/ssl/certs", "/etc/pki/tls/certs"];
    const roots: crypto.X509Certificate[] = [];
    const sources: string[] = [];
    const add = (text: string) => {
        for (const pem of text.match(PEM_CERT) ?? []) {
            try {
                roots.push(new crypto.X509Certificate(pem));
            } catch {
                /* Go's AppendCertsFromPEM skips what does not parse, too */
            }
        }
    };
    for (const f of files) {
        let text: string;
        try {
            text = fs.readFileSync(f, "utf8");
        } catch {
            continue;
        }
        add(text);
        sources.push(f);
        break;
    }
    for (const d of dirs) {
        let names: string[];
        try {
            names = fs.readdirSync(d);
        } catch {
            continue;
        }
        sources.push(`${d}/`);
        for (const n of names) {
            try {
                add(fs.readFileSync(path.join(d, n), "utf8"));
            } catch {
                /* a directory or unreadable entry: Go skips it */
            }
        }
    }
    return { source: sources.join(" + ") || "(no trust store found)", roots };
}

/** Does the chain end in a root of `store` (or is a certificate of it itself a root there)? */
export function chainTrusted(chain: readonly crypto.X509Certificate[], store: TrustStore): boolean {
    const isRoot = (c: crypto.X509Certificate) => store.roots.some((r) => r.fingerprint256 === c.fingerprint256);
    let current = chain[0];
    for (let depth = 0; current && depth < 10; depth++) {
        if (isRoot(current)) return true;
        const cur: crypto.X509Certificate = current;
        if (store.roots.some((r) => issuedBy(cur, r))) return true;
        current = chain.find((c) => c !== cur && issuedBy(cur, c));
    }
    return false;
}
