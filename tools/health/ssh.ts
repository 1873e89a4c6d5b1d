/**
 * Runs read-only commands on one host over SSH (the `ssh2` library) as root,
 * with the host key pinned from the stack: the key the server presents is
 * compared byte for byte with the pinned key blob, and a different key is
 * refused and reported as "host key mismatch" (never accepted, never learned).
 *
 * One connection per host; its commands run on parallel channels (at most
 * four at a time, below OpenSSH's default MaxSessions of 10). A deadline per
 * host ends the connection, so a dead host cannot hold up the report. Every
 * failure becomes a one-line message; nothing here throws.
 */
import { createHash } from "node:crypto";
import { Client, type Algorithms, type ConnectConfig } from "ssh2";
import type { CommandResult } from "./parsers";

export interface SshTarget {
    readonly address: string;
    readonly port: number;
    /** `<type> <base64>` as the stack pins it. */
    readonly hostKey: string;
}

export type SshAuth = { readonly privateKey: string } | { readonly agent: string };

export interface SshRun {
    /** Connection-level failure; when set, no command ran. */
    readonly error?: string;
    readonly results: Record<string, CommandResult>;
}

/** OpenSSH-style fingerprint of a key blob: `SHA256:<base64 without padding>`. */
export function fingerprint(blob: Buffer): string {
    return `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;
}

/** The algorithm names that make the server present a key of the pinned type. */
function hostKeyAlgorithms(type: string): Algorithms["serverHostKey"] {
    if (type === "ssh-rsa") return ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"];
    return [type as "ssh-ed25519"];
}

/** The key type named inside an SSH public key blob (first length-prefixed string). */
function blobType(blob: Buffer): string {
    if (blob.length < 4) return "?";
    const n = blob.readUInt32BE(0);
    return blob.subarray(4, 4 + n).toString("latin1");
}

function describeError(err: Error & { level?: string; code?: string }, target: SshTarget): string {
    const where = `${target.address}:${target.port}`;
    if (err.level === "client-authentication")
        return `authentication failed as root@${where}: the server accepted none of the offered keys`;
    if (err.level === "client-timeout") return `no SSH handshake from ${where} in time (timed out)`;
    if (err.level === "agent") return `SSH agent error: ${err.message}`;
    if (err.code === "ECONNREFUSED") return `unreachable: ${where} refused the connection (no sshd?)`;
    if (err.code === "EHOSTUNREACH" || err.code === "ENETUNREACH") return `unreachable: no route to ${where}`;
    if (err.code === "ETIMEDOUT") return `unreachable: connecting to ${where} timed out`;
    if (err.code === "ECONNRESET") return `unreachable: connection to ${where} reset`;
    if (/Connection lost before handshake/.test(err.message)) return `unreachable: connection to ${where} lost before the SSH handshake`;
    if (err.level === "handshake" && /host key|no matching/i.test(err.message)) {
        const type = target.hostKey.split(" ")[0];
        return `host key mismatch: ${where} offers no ${type} host key (${err.message})`;
    }
    return `SSH to ${where} failed: ${err.message}`;
}

function runOne(client: Client, command: string): Promise<CommandResult> {
    return new Promise((resolve) => {
        client.exec(command, (err, stream) => {
            if (err) {
                resolve({ stdout: "", stderr: `could not start the command: ${err.message}`, code: null });
                return;
            }
            const out: Buffer[] = [];
            const errOut: Buffer[] = [];
            let code: number | null = null;
            stream.on("data", (d: Buffer) => out.push(d));
            stream.stderr.on("data", (d: Buffer) => errOut.push(d));
            stream.on("exit", (c: number | null) => {
                code = typeof c === "number" ? c : null;
            });
            stream.on("close", () =>
                resolve({ stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(errOut).toString("utf8"), code }),
            );
        });
    });
}

async function runAll(client: Client, commands: Readonly<Record<string, string>>, parallel = 4): Promise<Record<string, CommandResult>> {
    const entries = Object.entries(commands);
    const results: Record<string, CommandResult> = {};
    let next = 0;
    const worker = async () => {
        while (next < entries.length) {
            const [key, command] = entries[next++]!;
            results[key] = await runOne(client, command);
        }
    };
    await Promise.all(Array.from({ length: Math.min(parallel, entries.length) }, worker));
    return results;
}

/** Connects, runs the commands, disconnects. Resolves (never rejects) within about `timeoutMs`. */
export function runOnHost(
    target: SshTarget,
    auth: SshAuth,
    commands: Readonly<Record<string, string>>,
    timeoutMs: number,
): Promise<SshRun> {
    return new Promise((resolve) => {
        const [type = "", b64 = ""] = target.hostKey.split(" ");
        const pinned = Buffer.from(b64, "base64");
        const client = new Client();
        let presented: Buffer | undefined;
        let settled = false;
        const finish = (run: SshRun) => {
            if (settled) return;
            settled = true;
            clearTimeout(deadline);
            client.removeAllListeners("error");
            client.on("error", () => {
                /* late errors after the verdict are irrelevant */
            });
            client.end();
            resolve(run);
        };
        const deadline = setTimeout(() => {
            finish({ error: `timed out after ${Math.round(timeoutMs / 1000)} s (${target.address}:${target.port})`, results: {} });
            client.destroy();
        }, timeoutMs);
        client.on("ready", () => {
            runAll(client, commands).then(
                (results) => finish({ results }),
                (e: unknown) => finish({ error: `SSH to ${target.address}:${target.port} failed: ${(e as Error).message}`, results: {} }),
            );
        });
        client.on("error", (err: Error & { level?: string; code?: string }) => {
            if (presented && !presented.equals(pinned)) {
                finish({
                    error: `host key mismatch: ${target.address}:${target.port} presented ${blobType(presented)} ${fingerprint(presented)}, the stack pins ${type} ${fingerprint(pinned)}; refused (update sshHostKey only if the host was reinstalled)`,
                    results: {},
                });
                return;
            }
            finish({ error: describeError(err, target), results: {} });
        });
        client.on("close", () =>
            finish({ error: `connection to ${target.address}:${target.port} closed before the commands finished`, results: {} }),
        );
        const config: ConnectConfig = {
            host: target.address,
            port: target.port,
            username: "root",
            readyTimeout: timeoutMs,
            algorithms: { serverHostKey: hostKeyAlgorithms(type) },
            hostVerifier: (key: Buffer) => {
                presented = Buffer.from(key);
                return presented.equals(pinned);
            },
            ...("privateKey" in auth ? { privateKey: auth.privateKey } : { agent: auth.agent }),
        };
        try {
            client.connect(config);
        } catch (e) {
            finish({ error: `SSH to ${target.address}:${target.port} failed: ${(e as Error).message}`, results: {} });
        }
    });
}
