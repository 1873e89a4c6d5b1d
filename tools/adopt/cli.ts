/**
 * Adopt a running site: read it over SSH (read-only) and write the stack file
 * that describes it, with the import ids of every existing object.
 *
 *   npm run adopt -- --host 10.0.0.11 [--host-key 10.0.0.11='ssh-ed25519 AAAA…'] \
 *       [--node prox2=10.0.0.12] [--port ADDRESS=PORT] [--identity ~/.ssh/id_ed25519] \
 *       [--stack prod] [--out Pulumi.prod.yaml] [--force]
 *
 * --host is a node of the cluster; the other nodes are read at the address
 * given with --node NAME=ADDRESS, else at their corosync link 0 address, and
 * the QDevice host at the address corosync.conf names. Every host key is
 * pinned: from --host-key ADDRESS=KEY, or, when absent, the key the host
 * presents is shown with its fingerprint and used only after an explicit "yes"
 * on a terminal; without a terminal adopt stops (exit 2) and prints the
 * --host-key options to re-run with once the fingerprints are verified.
 * Never trusted silently. The SSH key: --identity FILE, PROXMOX_HA_SSH_KEY or
 * the agent, as for `npm run health`.
 *
 * Exit 0: stack written (or unchanged); 2: nothing written (usage, a host
 * unreachable or unverified, output not understood, an existing different
 * file without --force).
 */
import * as fs from "node:fs";
import * as readline from "node:readline/promises";
import { parseArgs } from "node:util";
import { Client } from "ssh2";
import { resolveAuth } from "../health/cli";
import { fingerprint, runOnHost, type SshAuth } from "../health/ssh";
import { buildAdoption, chooseStorage, type NodeRead, type SiteRead } from "./build";
import { corosyncFacts } from "./formats";
import { CLUSTER_COMMANDS, nodeCommands, QNETD_COMMANDS, splitGuestConfigs } from "./read";
import { renderStack } from "./render";

export interface CliResult {
    readonly code: number;
    readonly stdout: string;
    readonly stderr: string;
}

class Stop extends Error {}

/** The host key a server presents (nothing is run, the connection is refused after the key exchange). */
export function presentedHostKey(address: string, port: number, timeoutMs: number): Promise<string> {
    return new Promise((resolve, reject) => {
        const c = new Client();
        let key: string | undefined;
        const done = (err?: Error) => {
            clearTimeout(t);
            c.removeAllListeners("error");
            c.on("error", () => undefined);
            c.end();
            if (key) resolve(key);
            else reject(err ?? new Error(`no host key from ${address}:${port}`));
        };
        const t = setTimeout(() => done(new Error(`no SSH handshake from ${address}:${port} in time`)), timeoutMs);
        c.on("error", (e) => done(e));
        c.on("ready", () => done());
        c.connect({
            host: address,
            port,
            username: "root",
            readyTimeout: timeoutMs,
            algorithms: { serverHostKey: ["ssh-ed25519"] },
            hostVerifier: (blob: Buffer) => {
                const type = blob.subarray(4, 4 + blob.readUInt32BE(0)).toString("latin1");
                key = `${type} ${blob.toString("base64")}`;
                return false;
            },
        });
    });
}

function keyValue(list: readonly string[] | undefined, what: string): Map<string, string> {
    const m = new Map<string, string>();
    for (const item of list ?? []) {
        const eq = item.indexOf("=");
        if (eq <= 0) throw new Stop(`${what} must be NAME=VALUE, not "${item}"`);
        m.set(item.slice(0, eq), item.slice(eq + 1));
    }
    return m;
}

interface Ctx {
    readonly auth: SshAuth;
    readonly timeoutMs: number;
    readonly keys: Map<string, string>;
    readonly ports: Map<string, number>;
    readonly interactive: boolean;
    readonly log: string[];
}

/** The pinned key of a host: given, or shown and confirmed on a terminal. */
async function pinnedKey(ctx: Ctx, address: string): Promise<string> {
    const given = ctx.keys.get(address);
    if (given) return given;
    const port = ctx.ports.get(address) ?? 22;
    const key = await presentedHostKey(address, port, ctx.timeoutMs).catch((e: Error) => {
        throw new Stop(`cannot read the host key of ${address}:${port}: ${e.message}`);
    });
    const fp = fingerprint(Buffer.from(key.split(" ")[1]!, "base64"));
    const pin = `--host-key ${address}='${key}'`;
    if (!ctx.interactive) {
        throw new Stop(
            `${address}:${port} presents ${key.split(" ")[0]} ${fp}, which nothing pins. Compare it with \`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub\` on that host's console; if it matches, re-run with\n  ${pin}`,
        );
    }
    const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
    const answer = await rl.question(`${address}:${port} presents ${key.split(" ")[0]} ${fp}. Is this that host's key? (yes/no) `);
    rl.close();
    if (answer.trim() !== "yes") throw new Stop(`host key of ${address} not confirmed; nothing written`);
    ctx.log.push(`pinned ${address}: ${fp} (confirmed on the terminal; next time: ${pin})`);
    // Asked once per host: later connections to it use the confirmed key.
    ctx.keys.set(address, key);
    return key;
}

async function run(
    ctx: Ctx,
    address: string,
    commands: Readonly<Record<string, string>>,
): Promise<{ key: string; out: Record<string, string> }> {
    const key = await pinnedKey(ctx, address);
    const port = ctx.ports.get(address) ?? 22;
    const r = await runOnHost({ address, port, hostKey: key }, ctx.auth, commands, ctx.timeoutMs);
    if (r.error) throw new Stop(r.error);
    const out: Record<string, string> = {};
    for (const [k, cmd] of Object.entries(commands)) {
        const res = r.results[k];
        if (!res || res.code !== 0)
            throw new Stop(`on ${address}: \`${cmd}\` failed (exit ${res?.code ?? "?"}): ${res?.stderr.trim() || "no output"}`);
        out[k] = res.stdout;
    }
    return { key, out };
}

export async function readSite(ctx: Ctx, host: string, nodeAddresses: Map<string, string>): Promise<SiteRead> {
    const first = await run(ctx, host, CLUSTER_COMMANDS);
    const c = first.out;
    const coro = corosyncFacts(c.corosyncConf!);
    const guestConfigs = splitGuestConfigs(c.guestConfigs!);
    const pool = chooseStorage(c.storageCfg!, guestConfigs).props.pool!.split("/")[0]!;
    const nodes: NodeRead[] = [];
    for (const n of coro.nodes) {
        const address = nodeAddresses.get(n.name) ?? (n.links[0] === undefined ? undefined : n.links[0]);
        if (!address) throw new Stop(`no address for node ${n.name}: pass --node ${n.name}=ADDRESS`);
        if (!nodeAddresses.has(n.name) && address !== host)
            ctx.log.push(`node ${n.name}: read at its corosync link 0 address ${address} (pass --node ${n.name}=ADDRESS for another)`);
        const r = await run(ctx, address, nodeCommands(pool));
        nodes.push({
            name: n.name,
            address,
            port: ctx.ports.get(address) ?? 22,
            hostKey: r.key,
            interfaces: r.out.interfaces!,
            haManagerDefault: r.out.haManagerDefault!,
            zpoolStatus: r.out.zpoolStatus!,
            ashift: r.out.ashift!,
            compression: r.out.compression!,
        });
    }
    let qdevice: SiteRead["qdevice"];
    if (coro.qdevice) {
        const q = await run(ctx, coro.qdevice.host, QNETD_COMMANDS);
        if (q.out.qnetd!.trim() !== "qnetd-nssdb")
            ctx.log.push(`${coro.qdevice.host} has no /etc/corosync/qnetd/nssdb: is it the QDevice host corosync.conf names?`);
        qdevice = { address: coro.qdevice.host, port: ctx.ports.get(coro.qdevice.host) ?? 22, hostKey: q.key };
    }
    return {
        corosyncConf: c.corosyncConf!,
        storageCfg: c.storageCfg!,
        replicationCfg: c.replicationCfg!,
        haResourcesCfg: c.haResourcesCfg!,
        haRulesCfg: c.haRulesCfg!,
        datacenterCfg: c.datacenterCfg!,
        sdnZonesCfg: c.sdnZonesCfg!,
        sdnVnetsCfg: c.sdnVnetsCfg!,
        guestConfigs,
        customCertificate: c.certificate!.trim() === "custom",
        nodes,
        ...(qdevice ? { qdevice } : {}),
    };
}

export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env, interactive = false): Promise<CliResult> {
    let args;
    try {
        args = parseArgs({
            args: argv,
            options: {
                host: { type: "string" },
                "host-key": { type: "string", multiple: true },
                node: { type: "string", multiple: true },
                port: { type: "string", multiple: true },
                identity: { type: "string" },
                stack: { type: "string" },
                out: { type: "string" },
                force: { type: "boolean", default: false },
                timeout: { type: "string", default: "15" },
                help: { type: "boolean", default: false },
            },
            strict: true,
        }).values;
    } catch (e) {
        return { code: 2, stdout: "", stderr: `adopt: ${(e as Error).message}\n` };
    }
    const usage =
        "usage: npm run adopt -- --host ADDRESS [--host-key ADDRESS=KEY]… [--node NAME=ADDRESS]… [--port ADDRESS=PORT]… [--identity KEYFILE] [--stack NAME] [--out FILE] [--force]\n";
    if (args.help) return { code: 0, stdout: usage, stderr: "" };
    if (!args.host) return { code: 2, stdout: "", stderr: `adopt: --host ADDRESS is required\n${usage}` };
    const log: string[] = [];
    try {
        const ports = new Map([...keyValue(args.port, "--port")].map(([a, p]) => [a, Number(p)] as const));
        for (const [a, p] of ports) if (!Number.isInteger(p) || p < 1 || p > 65535) throw new Stop(`--port ${a}=${p}: not a TCP port`);
        let auth: SshAuth;
        try {
            auth = resolveAuth(args.identity, env);
        } catch (e) {
            throw new Stop((e as Error).message);
        }
        const ctx: Ctx = {
            auth,
            timeoutMs: Number(args.timeout) * 1000,
            keys: keyValue(args["host-key"], "--host-key"),
            ports,
            interactive,
            log,
        };
        const read = await readSite(ctx, args.host, keyValue(args.node, "--node"));
        const adoption = buildAdoption(read, args.stack);
        const text = renderStack(adoption);
        const out = args.out ?? `Pulumi.${adoption.stack}.yaml`;
        const existing = fs.existsSync(out) ? fs.readFileSync(out, "utf8") : undefined;
        if (existing !== undefined && existing !== text && !args.force) {
            throw new Stop(`${out} exists and differs from what adopt would write; pass --force to replace it, or --out another file`);
        }
        if (existing !== text) fs.writeFileSync(out, text);
        const lines = [
            ...log,
            `${existing === text ? "unchanged" : "wrote"} ${out}: ${Object.keys(adoption.imports).length} existing objects to import`,
            ...(adoption.notes.length
                ? ["not adopted (see the file's header):", ...adoption.notes.map((n) => `  - ${n.where}: ${n.message}`)]
                : []),
            "next: review the file, set the secrets, then `pulumi preview` (it must show only imports and the bootstrap's checks) and `pulumi up`",
        ];
        return { code: 0, stdout: `${lines.join("\n")}\n`, stderr: "" };
    } catch (e) {
        if (e instanceof Stop || e instanceof Error)
            return { code: 2, stdout: log.length ? `${log.join("\n")}\n` : "", stderr: `adopt: ${e.message}\nnothing written\n` };
        throw e;
    }
}

if (require.main === module) {
    main(process.argv.slice(2), process.env, Boolean(process.stdin.isTTY)).then(
        (r) => {
            process.stdout.write(r.stdout);
            process.stderr.write(r.stderr);
            process.exitCode = r.code;
        },
        (e: unknown) => {
            process.stderr.write(`adopt: internal error: ${(e as Error)?.message ?? String(e)}\n`);
            process.exitCode = 2;
        },
    );
}
