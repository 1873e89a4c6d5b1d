/**
 * Reads the stack's config once, validates it, and returns the typed site
 * plus the secrets as secret Outputs. Nothing else reads config.
 */
import * as pulumi from "@pulumi/pulumi";
import type { Site } from "./model";
import { checkSiteCertificate, withEnvironment } from "./access";
import { systemTrustStore } from "./certificate";
import type { SecretKey } from "./schema";
import { PROJECT, SiteValidationError, keyPath, rawFromConfig, validateSite, type Problem, type RawConfig } from "./validate";

// isConfigSecret is exported by the SDK at runtime but marked @internal in its types.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const runtimeConfig = require("@pulumi/pulumi/runtime/config") as { isConfigSecret(key: string): boolean };

export interface SiteSecrets {
    /** Private key for root SSH to every node and the qnetd host. */
    readonly sshPrivateKey: pulumi.Output<string>;
    /** Root password of the first node, for `pvecm add` (sites with more than one node). */
    readonly rootPassword?: pulumi.Output<string>;
    /** `user@realm!tokenid=uuid`; when absent, the bootstrap step creates a token. */
    readonly apiToken?: pulumi.Output<string>;
    /** Certificate chain (leaf first) and key for pveproxy, PEM (with apiInsecure: false). */
    readonly apiCertificate?: pulumi.Output<string>;
    readonly apiCertificateKey?: pulumi.Output<string>;
}

export interface LoadedSite {
    readonly site: Site;
    readonly secrets: SiteSecrets;
}

/** Reads every `proxmox-ha:*` key of the running stack. */
export function readRawConfig(): { raw: RawConfig; secretKeys: Set<string> } {
    return rawFromConfig(pulumi.runtime.allConfig(), (k) => runtimeConfig.isConfigSecret(k));
}

/** Which secrets a site needs before `pulumi up`. */
export function requiredSecrets(site: Pick<Site, "nodes"> & Partial<Pick<Site, "apiInsecure">>): SecretKey[] {
    const keys: SecretKey[] = site.nodes.length > 1 ? ["sshPrivateKey", "rootPassword"] : ["sshPrivateKey"];
    // Verified TLS (the default) needs the certificate pveproxy will serve (issue #11 point 3).
    if (site.apiInsecure !== true) keys.push("apiCertificate", "apiCertificateKey");
    return keys;
}

/** How to set a missing secret, and the alternative where there is one. */
function secretHint(key: SecretKey): string {
    switch (key) {
        case "sshPrivateKey":
            return "`pulumi config set --secret sshPrivateKey < ~/.ssh/id_ed25519`";
        case "apiCertificate":
            return "`pulumi config set --secret apiCertificate < fullchain.pem` (the certificate pveproxy serves, for every node address, from a CA this machine trusts), or set apiInsecure: true to skip TLS verification";
        case "apiCertificateKey":
            return "`pulumi config set --secret apiCertificateKey < privkey.pem` (the key of apiCertificate), or set apiInsecure: true to skip TLS verification";
        default:
            return `\`pulumi config set --secret ${key}\``;
    }
}

export interface LoadOptions {
    /** This run's environment (PROXMOX_HA_API_NODE, PROXMOX_HA_DOWN_NODES, SSL_CERT_FILE…). */
    readonly env?: NodeJS.ProcessEnv;
    readonly now?: Date;
}

/**
 * Loads and validates the site. Throws one SiteValidationError listing every
 * problem (config and missing secrets) before any resource exists.
 */
export function loadSite(options: LoadOptions = {}): LoadedSite {
    const env = options.env ?? process.env;
    const { raw, secretKeys } = readRawConfig();
    const result = validateSite(raw, secretKeys);
    const problems: Problem[] = [...result.problems];
    const forSecrets = result.site ?? { nodes: Array.isArray(raw.nodes) ? raw.nodes : [], apiInsecure: raw.apiInsecure === true };
    for (const key of requiredSecrets(forSecrets as Pick<Site, "nodes" | "apiInsecure">)) {
        if (raw[key] === undefined) problems.push({ path: keyPath(key), message: `is required; set it with ${secretHint(key)}` });
    }
    let site = result.site;
    if (site) {
        const applied = withEnvironment(site, env);
        site = applied.site;
        problems.push(...applied.problems);
        const check = checkSiteCertificate(
            site,
            raw.apiCertificate as string | undefined,
            raw.apiCertificateKey as string | undefined,
            options.now ?? new Date(),
            systemTrustStore(env),
        );
        problems.push(...check.problems);
    }
    if (problems.length > 0 || !site) throw new SiteValidationError(problems);
    const config = new pulumi.Config(PROJECT);
    const apiToken = config.getSecret("apiToken");
    const rootPassword = config.getSecret("rootPassword");
    const apiCertificate = site.api.tls === "certificate" ? config.getSecret("apiCertificate") : undefined;
    const apiCertificateKey = site.api.tls === "certificate" ? config.getSecret("apiCertificateKey") : undefined;
    return {
        site,
        secrets: {
            sshPrivateKey: config.requireSecret("sshPrivateKey"),
            ...(rootPassword ? { rootPassword } : {}),
            ...(apiToken ? { apiToken } : {}),
            ...(apiCertificate ? { apiCertificate } : {}),
            ...(apiCertificateKey ? { apiCertificateKey } : {}),
        },
    };
}
