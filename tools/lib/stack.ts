/**
 * Reads a committed stack file (Pulumi.<stack>.yaml) the way the Pulumi CLI
 * hands it to the program: every `proxmox-ha:*` value as text (objects as
 * JSON), and which keys are secrets (`secure:` values).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { isPair, isScalar, LineCounter, parseDocument, visit } from "yaml";
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
 * A stack file that cannot be used: missing, unreadable or not YAML. The
 * message names the file (and line and column for a parse error); the CLIs
 * print it and exit 2, like every other bad input.
 */
export class StackFileError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "StackFileError";
    }
}

/** The stack a file belongs to: `NAME` of `Pulumi.NAME.yaml`, else undefined. */
export function stackNameOf(file: string): string | undefined {
    return /^Pulumi\.(.+)\.yaml$/.exec(path.basename(file))?.[1];
}

function readText(stack: string, file: string, byName: boolean): string {
    try {
        return fs.readFileSync(file, "utf8");
    } catch (e) {
        const err = e as NodeJS.ErrnoException;
        if (err.code === "ENOENT" && byName) {
            const known = listStacks(path.dirname(file));
            throw new StackFileError(
                `there is no stack "${stack}": ${path.relative(process.cwd(), file) || file} does not exist (stacks here: ${known.join(", ") || "none"}); pass --stack with one of them, or --file PATH`,
            );
        }
        if (err.code === "ENOENT") throw new StackFileError(`${file} does not exist`);
        throw new StackFileError(`cannot read ${file}: ${err.message}`);
    }
}

/** Parses the YAML text, turning every parse error into one message with file, line and column. */
function parseYaml(text: string, file: string): unknown {
    const lineCounter = new LineCounter();
    const doc = parseDocument(text, { lineCounter, prettyErrors: false });
    const where = (offset: number) => {
        const { line, col } = lineCounter.linePos(offset);
        return `${file}:${line}:${col}`;
    };
    const first = doc.errors[0];
    if (first) throw new StackFileError(`${where(first.pos[0])}: not valid YAML: ${first.message.split("\n")[0]}`);
    // `schedule: */5` is the classic slip: an unquoted value starting with * is a YAML alias.
    let alias: string | undefined;
    visit(doc, {
        Alias(_key, node, ancestors) {
            const pair = ancestors[ancestors.length - 1];
            const key = isPair(pair) && isScalar(pair.key) ? String(pair.key.value) : undefined;
            const written = `*${node.source}`;
            alias = `${where(node.range?.[0] ?? 0)}: ${written} is read as a YAML alias (an unquoted value that starts with * refers to an anchor); quote it: ${key ? `${key}: ` : ""}"${written}"`;
            return visit.BREAK;
        },
    });
    if (alias) throw new StackFileError(alias);
    return doc.toJS();
}

/**
 * Loads a stack file. Secret values (`secure: …`) are replaced by a
 * placeholder: the offline plan never decrypts anything. Throws a
 * StackFileError when the file is missing or not YAML.
 */
export function readStack(stack: string, file?: string): StackConfig {
    const path_ = file ?? stackFile(stack);
    const doc = (parseYaml(readText(stack, path_, file === undefined), path_) ?? {}) as { config?: Record<string, unknown> };
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
    return { stack, file: path_, config, secretKeys, missingSecrets };
}
