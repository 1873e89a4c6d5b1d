/**
 * Reads the stack's config once, validates it, and returns the typed site
 * plus the secrets as secret Outputs. Nothing else reads config.
 */
import * as pulumi from "@pulumi/pulumi";
import type { Site } from "./model";
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
export function requiredSecrets(site: Pick<Site, "nodes">): SecretKey[] {
    return site.nodes.length > 1 ? ["sshPrivateKey", "rootPassword"] : ["sshPrivateKey"];
}

/**
 * Loads and validates the site. Throws one SiteValidationError listing every
 * problem (config and missing secrets) before any resource exists.
 */
export function loadSite(): LoadedSite {
    const { raw, secretKeys } = readRawConfig();
    const result = validateSite(raw, secretKeys);
    const problems: Problem[] = [...result.problems];
    const nodesForSecrets = result.site ?? { nodes: Array.isArray(raw.nodes) ? raw.nodes : [] };
    for (const key of requiredSecrets(nodesForSecrets as Pick<Site, "nodes">)) {
        if (raw[key] === undefined) {
            problems.push({
                path: keyPath(key),
                message: `is required; set it with \`pulumi config set --secret ${key}${key === "sshPrivateKey" ? " < ~/.ssh/id_ed25519" : ""}\``,
            });
        }
    }
    if (problems.length > 0 || !result.site) throw new SiteValidationError(problems);
    const config = new pulumi.Config(PROJECT);
    const apiToken = config.getSecret("apiToken");
    const rootPassword = config.getSecret("rootPassword");
    return {
        site: result.site,
        secrets: {
            sshPrivateKey: config.requireSecret("sshPrivateKey"),
            ...(rootPassword ? { rootPassword } : {}),
            ...(apiToken ? { apiToken } : {}),
        },
    };
}
