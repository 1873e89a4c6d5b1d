/**
 * Reads a committed stack file (Pulumi.<stack>.yaml) the way the Pulumi CLI
 * hands it to the program: every `proxmox-ha:*` value as text (objects as
 * JSON), and which keys are secrets (`secure:` values).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { PROJECT } from "../../components/validate";
import { SECRET_KEYS } from "../../components/schema";

export const ROOT = path.resolve(__dirname, "..", "..");

export interface StackConfig {
    readonly stack: string;
    readonly file: string;
    /** Full key → value text, as PULUMI_CONFIG carries it. */
    readonly config: Record<string, string>;
    /** Full keys whose values are secrets. */
    readonly secretKeys: string[];
    /** Secret keys the stack file does not set (shown as required by the plan). */
    readonly missingSecrets: string[];
}

/** Placeholder the offline plan uses for a secret whose value it cannot or must not know. */
export const SECRET_PLACEHOLDER = "[secret]";

export function stackFile(stack: string, dir = ROOT): string {
    return path.join(dir, `Pulumi.${stack}.yaml`);
}

export function listStacks(dir = ROOT): string[] {
    return fs
        .readdirSync(dir)
        .map((f) => /^Pulumi\.([A-Za-z0-9_.-]+)\.yaml$/.exec(f)?.[1])
        .filter((s): s is string => s !== undefined)
        .sort();
}

/**
 * Loads a stack file. Secret values (`secure: …`) are replaced by a
 * placeholder: the offline plan never decrypts anything.
 */
export function readStack(stack: string, file = stackFile(stack)): StackConfig {
    const doc = (parse(fs.readFileSync(file, "utf8")) ?? {}) as { config?: Record<string, unknown> };
    const config: Record<string, string> = {};
    const secretKeys: string[] = [];
    for (const [key, value] of Object.entries(doc.config ?? {})) {
        const full = key.includes(":") ? key : `${PROJECT}:${key}`;
        if (value !== null && typeof value === "object" && !Array.isArray(value) && Object.keys(value).length === 1 && "secure" in value) {
            config[full] = SECRET_PLACEHOLDER;
            secretKeys.push(full);
        } else {
            config[full] = typeof value === "string" ? value : JSON.stringify(value);
        }
    }
    const missingSecrets = SECRET_KEYS.map((k) => `${PROJECT}:${k}`).filter((k) => !(k in config));
    return { stack, file, config, secretKeys, missingSecrets };
}
