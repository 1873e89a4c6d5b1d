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

/**
 * How a command logs in as root. With `privateKey` the key (and its
 * passphrase, for an encrypted key) is part of each command's connection in
 * the state, as secrets. Without it the command provider uses the SSH agent of
 * the `pulumi` process (SSH_AUTH_SOCK, @pulumi/command 1.2.1 remote
 * connection: agentSocketPath defaults to it), and no key reaches the state.
 */
export interface SshCredentials {
    readonly privateKey?: pulumi.Output<string>;
    readonly privateKeyPassword?: pulumi.Output<string>;
    /**
     * A preview run without the SSH login or the root password: commands never
     * connect in a preview (the provider's Create/Update return before running
     * when DryRun), so they are declared as usual and their `connection` and
     * `stdin` are left out of the diff, which would otherwise show every
     * command as an update only because the secrets are absent.
     */
    readonly previewOnly: boolean;
}

/** Connection for a host: root, pinned host key, key or agent. */
export function connectionFor(
    host: SshHost,
    ssh: SshCredentials,
    extra: Partial<command.types.input.remote.ConnectionArgs> = {},
): command.types.input.remote.ConnectionArgs {
    return {
        host: host.address,
        port: host.sshPort,
        user: "root",
        ...(ssh.privateKey ? { privateKey: ssh.privateKey } : {}),
        ...(ssh.privateKey && ssh.privateKeyPassword ? { privateKeyPassword: ssh.privateKeyPassword } : {}),
        hostKey: host.sshHostKey,
        dialErrorLimit: 10,
        perDialTimeout: 15,
        ...extra,
    };
}

export interface ScriptCommandArgs {
    readonly host: SshHost;
    readonly ssh: SshCredentials;
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
    /**
     * Script to run on destroy (never one that removes data). A command with
     * one is replaced delete-first: the old command's delete runs before the
     * new command's create, so a replacement never undoes what the new
     * command just configured (create-then-delete would).
     */
    readonly deleteScript?: { script: string; args?: readonly pulumi.Input<string | number>[] };
    /** Extra values that replace the command when they change (the host identity is always included). */
    readonly triggers?: pulumi.Input<unknown>[];
    /**
     * A step that runs once and again only when `triggers` change (not when
     * its script, arguments or connection change): the API token, whose
     * re-run would rotate it. Its triggers are exactly `triggers` (no host
     * identity: the token lives in the cluster, not on the host).
     */
    readonly once?: boolean;
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

/** `scriptInvocation`, an Output when an argument is one (e.g. a value parsed from an earlier command's stdout). */
function invocation(script: string, args: readonly pulumi.Input<string | number>[]): pulumi.Input<string> {
    const plain = args.every((x): x is string | number => typeof x === "string" || typeof x === "number");
    return plain ? scriptInvocation(script, args) : pulumi.all([...args]).apply((values) => scriptInvocation(script, values));
}

/**
 * What replaces a command. A command is bound to one machine: a new host
 * identity (address, host key) means a new command, not an update — except
 * for a command with a delete script: replacing it would run its delete on
 * the old identity (which, with a new host key, cannot even connect and then
 * blocks every later `up`), so there the address and host key are left to
 * the connection, whose change is an update that re-runs the idempotent
 * script on the new identity. Only the host's name (another machine) replaces it.
 */
export function commandTriggers(a: Pick<ScriptCommandArgs, "host" | "deleteScript" | "once" | "triggers">): pulumi.Input<unknown>[] {
    if (a.once) return [...(a.triggers ?? [])];
    const identity = a.deleteScript ? [a.host.name] : [a.host.name, a.host.address, a.host.sshHostKey];
    return [...identity, ...(a.triggers ?? [])];
}

/**
 * A `remote.Command` that runs one script file. `update` re-runs the same
 * idempotent script, so a changed script or argument converges the host.
 */
export function scriptCommand(name: string, a: ScriptCommandArgs, opts: pulumi.CustomResourceOptions): command.remote.Command {
    const text = invocation(a.script, a.args ?? []);
    const secret = a.secretOutput === true || a.stdin !== undefined;
    const connection = a.down ? { ...a.connection, ...DOWN_CONNECTION } : a.connection;
    const ignoreChanges = [
        ...(opts.ignoreChanges ?? []),
        ...(a.ssh.previewOnly ? ["connection", "stdin"] : []),
        ...(a.once ? ["create", "update", "delete", "connection"] : []),
        ...(a.down ? DOWN_IGNORE_CHANGES : []),
    ];
    const options: pulumi.CustomResourceOptions = {
        ...opts,
        ...(secret ? { additionalSecretOutputs: [...(opts.additionalSecretOutputs ?? []), "stdout", "stderr"] } : {}),
        // A once-only step (the token) is replaced create-first: the new token exists before the old one is revoked.
        ...(a.deleteScript && !a.once ? { deleteBeforeReplace: true } : {}),
        ...(ignoreChanges.length ? { ignoreChanges: [...new Set(ignoreChanges)] } : {}),
    };
    return new command.remote.Command(
        name,
        {
            connection: connectionFor(a.host, a.ssh, connection),
            create: text,
            update: text,
            ...(a.deleteScript ? { delete: invocation(a.deleteScript.script, a.deleteScript.args ?? []) } : {}),
            ...(a.stdin ? { stdin: a.stdin } : {}),
            addPreviousOutputInEnv: false,
            // stderr carries the one-line reason on failure; stdout is data. With secrets, nothing is logged.
            logging: secret ? "none" : "stderr",
            triggers: commandTriggers(a),
        },
        options,
    );
}
