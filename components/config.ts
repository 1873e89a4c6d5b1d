/**
 * Reads the stack's config once, validates it, and returns the typed site
 * plus the secrets as secret Outputs. Nothing else reads config.
 */
import * as pulumi from "@pulumi/pulumi";
import type { Site } from "./model";
import { checkSiteCertificate, withEnvironment } from "./access";
import { systemTrustStore } from "./certificate";
import type { SecretKey } from "./schema";
import type { SshCredentials } from "./remote";
import { rootOnlySettings } from "./hosts/steps";
import { PROJECT, SiteValidationError, keyPath, rawFromConfig, validateSite, type Problem, type RawConfig } from "./validate";

// isConfigSecret is exported by the SDK at runtime but marked @internal in its types.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const runtimeConfig = require("@pulumi/pulumi/runtime/config") as { isConfigSecret(key: string): boolean };

export interface SiteSecrets {
    /** How every remote command logs in as root (key, key + passphrase, or the SSH agent). */
    readonly ssh: SshCredentials;
    /** Root password of the first node, for `pvecm add` (sites with more than one node). */
    readonly rootPassword?: pulumi.Output<string>;
    /** `user@realm!tokenid=uuid`; when absent, the bootstrap step creates a token. */
    readonly apiToken?: pulumi.Output<string>;
    /** Certificate chain (leaf first) and key for pveproxy, PEM (with apiInsecure: false). */
    readonly apiCertificate?: pulumi.Output<string>;
    readonly apiCertificateKey?: pulumi.Output<string>;
    /**
     * Only in a preview: a read-only token (PVEAuditor) for the provider, from
     * the environment variable PREVIEW_API_TOKEN_ENV. It replaces every other
     * token for that run, so the preview's refresh never holds a token that can write.
     */
    readonly previewApiToken?: pulumi.Output<string>;
}

/** Environment variables the program reads (documented in docs/pull-requests.md). */
export const PREVIEW_API_TOKEN_ENV = "PROXMOX_HA_PREVIEW_API_TOKEN";
export const ROOT_PASSWORD_ENV = "PROXMOX_HA_ROOT_PASSWORD";

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

/** What the process offers besides the stack's config: read once, here. */
export interface ProcessInputs {
    /** `pulumi preview` (true) or `pulumi up` (false). */
    readonly preview: boolean;
    /** SSH_AUTH_SOCK: an SSH agent the command provider uses when no key is configured. */
    readonly sshAgent: boolean;
    readonly previewApiToken?: string;
    readonly rootPassword?: string;
}

export function processInputs(env: NodeJS.ProcessEnv = process.env): ProcessInputs {
    const nonEmpty = (v: string | undefined) => (v !== undefined && v !== "" ? v : undefined);
    const previewApiToken = nonEmpty(env[PREVIEW_API_TOKEN_ENV]);
    const rootPassword = nonEmpty(env[ROOT_PASSWORD_ENV]);
    return {
        preview: pulumi.runtime.isDryRun(),
        sshAgent: nonEmpty(env.SSH_AUTH_SOCK) !== undefined,
        ...(previewApiToken ? { previewApiToken } : {}),
        ...(rootPassword ? { rootPassword } : {}),
    };
}

const TOKEN_FORMAT = /^[A-Za-z0-9._-]+@[A-Za-z0-9._-]+![A-Za-z][A-Za-z0-9._-]+=[A-Za-z0-9-]+$/;

export interface LoadOptions {
    /** This run's environment (PROXMOX_HA_API_NODE, PROXMOX_HA_DOWN_NODES, SSL_CERT_FILE…). */
    readonly env?: NodeJS.ProcessEnv;
    readonly now?: Date;
    /** `pulumi preview` or `up`, the SSH agent, the preview token, the root password from the environment. */
    readonly proc?: ProcessInputs;
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
    const proc = options.proc ?? processInputs(env);
    const hasKey = raw.sshPrivateKey !== undefined;
    const hasPassword = raw.rootPassword !== undefined || proc.rootPassword !== undefined;
    for (const key of requiredSecrets(forSecrets as Pick<Site, "nodes" | "apiInsecure">)) {
        if (raw[key] !== undefined) continue;
        // The SSH login and the root password: `up` only (a preview never connects), and each has an alternative.
        if (key === "sshPrivateKey") {
            if (!proc.preview && !proc.sshAgent)
                problems.push({
                    path: keyPath(key),
                    message:
                        "is required, or an SSH agent holding the key (SSH_AUTH_SOCK); set it with `pulumi config set --secret sshPrivateKey < ~/.ssh/id_ed25519`, or run `ssh-add` before `pulumi up`",
                });
            continue;
        }
        // The certificate's private key is what the install step hands pveproxy: `up` only. A
        // preview still needs the certificate itself, to verify TLS and check it against the nodes.
        if (key === "apiCertificateKey" && proc.preview) continue;
        if (key === "rootPassword") {
            if (!proc.preview && !hasPassword)
                problems.push({
                    path: keyPath(key),
                    message: `is required to join nodes; set it with \`pulumi config set --secret rootPassword\` or the environment variable ${ROOT_PASSWORD_ENV}`,
                });
            continue;
        }
        problems.push({ path: keyPath(key), message: `is required; set it with ${secretHint(key)}` });
    }
    if (raw.sshKeyPassphrase !== undefined && !hasKey) {
        problems.push({
            path: keyPath("sshKeyPassphrase"),
            message: "is set but sshPrivateKey is not; remove it (an SSH agent holds decrypted keys) or set sshPrivateKey",
        });
    }
    if (proc.preview && proc.previewApiToken !== undefined && !TOKEN_FORMAT.test(proc.previewApiToken)) {
        problems.push({
            path: PREVIEW_API_TOKEN_ENV,
            message: "must be a Proxmox API token `user@realm!tokenid=secret` (a read-only PVEAuditor token for previews)",
        });
    }
    // The bootstrapped token is proxmox-ha@pve's: what only root@pam may set needs the stack's own token.
    if (result.site && raw.apiToken === undefined) {
        for (const r of rootOnlySettings(result.site)) {
            problems.push({
                path: keyPath("guests", r.path),
                message: `${r.message}, and the bootstrapped token is not root@pam's: use a resource mapping (mapping:) or an unprivileged container, or set apiToken to a root@pam token (\`pulumi config set --secret apiToken\`)`,
            });
        }
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
    const rootPassword =
        config.getSecret("rootPassword") ?? (proc.rootPassword !== undefined ? pulumi.secret(proc.rootPassword) : undefined);
    const privateKey = config.getSecret("sshPrivateKey");
    const privateKeyPassword = config.getSecret("sshKeyPassphrase");
    // A preview without the login or the password the commands would need: nothing connects, nothing is diffed on them.
    const previewOnly = proc.preview && ((!privateKey && !proc.sshAgent) || (site.nodes.length > 1 && !rootPassword));
    const apiCertificate = site.api.tls === "certificate" ? config.getSecret("apiCertificate") : undefined;
    const apiCertificateKey = site.api.tls === "certificate" ? config.getSecret("apiCertificateKey") : undefined;
    return {
        site,
        secrets: {
            ssh: {
                ...(privateKey ? { privateKey } : {}),
                ...(privateKeyPassword ? { privateKeyPassword } : {}),
                previewOnly,
            },
            ...(rootPassword ? { rootPassword } : {}),
            ...(apiToken ? { apiToken } : {}),
            ...(apiCertificate ? { apiCertificate } : {}),
            ...(apiCertificateKey ? { apiCertificateKey } : {}),
            ...(proc.preview && proc.previewApiToken ? { previewApiToken: pulumi.secret(proc.previewApiToken) } : {}),
        },
    };
}
