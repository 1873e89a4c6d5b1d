/**
 * How remote steps are shipped: every step is one script file under
 * `scripts/`, sent as the `create` text `bash -c '<script>' <name> '<arg>' …`.
 * Parameters are shell-quoted literals of values the schema already restricted;
 * secrets never appear in the text, they go by `stdin` as secret Outputs.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";

export const SCRIPTS_DIR = path.join(__dirname, "..", "scripts");

const scriptCache = new Map<string, string>();

/** The text of `scripts/<name>.sh`. */
export function scriptText(name: string): string {
    let text = scriptCache.get(name);
    if (text === undefined) {
        text = fs.readFileSync(path.join(SCRIPTS_DIR, `${name}.sh`), "utf8");
        scriptCache.set(name, text);
    }
    return text;
}

/** POSIX single-quote quoting: safe for any string. */
export function shq(value: string | number): string {
    return `'${String(value).replace(/'/g, `'\\''`)}'`;
}

/** The exact command line that runs `scripts/<name>.sh` with these arguments on the remote host. */
export function scriptInvocation(name: string, args: readonly (string | number)[] = []): string {
    return ["bash", "-c", shq(scriptText(name)), shq(name), ...args.map(shq)].join(" ");
}

/** Anything we connect to over SSH: a node or the qnetd host. */
export interface SshHost {
    readonly name: string;
    readonly address: string;
    readonly sshPort: number;
    readonly sshHostKey: string;
}

/** Connection for a host: root, pinned host key, key from the secret config. */
export function connectionFor(
    host: SshHost,
    privateKey: pulumi.Input<string>,
    extra: Partial<command.types.input.remote.ConnectionArgs> = {},
): command.types.input.remote.ConnectionArgs {
    return {
        host: host.address,
        port: host.sshPort,
        user: "root",
        privateKey,
        hostKey: host.sshHostKey,
        dialErrorLimit: 10,
        perDialTimeout: 15,
        ...extra,
    };
}

export interface ScriptCommandArgs {
    readonly host: SshHost;
    readonly privateKey: pulumi.Input<string>;
    /** Script name under scripts/, without `.sh`. */
    readonly script: string;
    /**
     * Positional arguments. An Output (e.g. a value parsed from an earlier
     * command's stdout) makes the command text an Output too; never pass a
     * secret here: secrets go by `stdin`.
     */
    readonly args?: readonly pulumi.Input<string | number>[];
    /** Secret input for the script (first line of stdin). Must be a secret Output. */
    readonly stdin?: pulumi.Output<string>;
    /** When true, stdout/stderr may carry secrets: logging off and outputs secret. */
    readonly secretOutput?: boolean;
    /** Script to run on destroy (never one that removes data). */
    readonly deleteScript?: { script: string; args?: readonly (string | number)[] };
    /** Extra values that replace the command when they change (the host identity is always included). */
    readonly triggers?: pulumi.Input<unknown>[];
    readonly connection?: Partial<command.types.input.remote.ConnectionArgs>;
    /**
     * The host is declared down for this run (PROXMOX_HA_DOWN_NODES, issue #11
     * point 5): the step keeps its recorded state (every input is in
     * ignoreChanges, so no update or replacement is planned and nothing dials
     * the host), and a step the host does not have yet dials once for 5 s and
     * fails instead of polling.
     */
    readonly down?: boolean;
}

/** One dial of 5 s: what a step on a host declared down gets instead of the poll pattern. */
export const DOWN_CONNECTION = { dialErrorLimit: 1, perDialTimeout: 5 } as const;
/** Every input of a script command: none of them may plan work on a host declared down. */
export const DOWN_IGNORE_CHANGES = ["connection", "create", "update", "delete", "stdin", "triggers", "logging", "addPreviousOutputInEnv"];

/**
 * A `remote.Command` that runs one script file. `update` re-runs the same
 * idempotent script, so a changed script or argument converges the host.
 */
export function scriptCommand(name: string, a: ScriptCommandArgs, opts: pulumi.CustomResourceOptions): command.remote.Command {
    const args = a.args ?? [];
    const plain = args.every((x): x is string | number => typeof x === "string" || typeof x === "number");
    const text: pulumi.Input<string> = plain
        ? scriptInvocation(a.script, args)
        : pulumi.all([...args]).apply((values) => scriptInvocation(a.script, values));
    const secret = a.secretOutput === true || a.stdin !== undefined;
    const connection = a.down ? { ...a.connection, ...DOWN_CONNECTION } : a.connection;
    let options = secret ? pulumi.mergeOptions(opts, { additionalSecretOutputs: ["stdout", "stderr"] }) : opts;
    if (a.down) options = pulumi.mergeOptions(options, { ignoreChanges: DOWN_IGNORE_CHANGES });
    return new command.remote.Command(
        name,
        {
            connection: connectionFor(a.host, a.privateKey, connection),
            create: text,
            update: text,
            ...(a.deleteScript ? { delete: scriptInvocation(a.deleteScript.script, a.deleteScript.args ?? []) } : {}),
            ...(a.stdin ? { stdin: a.stdin } : {}),
            addPreviousOutputInEnv: false,
            // stderr carries the one-line reason on failure; stdout is data. With secrets, nothing is logged.
            logging: secret ? "none" : "stderr",
            // A command is bound to one machine: a new host identity means a new command, not an update.
            triggers: [a.host.name, a.host.address, a.host.sshHostKey, ...(a.triggers ?? [])],
        },
        options,
    );
}
