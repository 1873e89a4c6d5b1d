/**
 * Health check of a running site against its stack.
 *
 *   npm run health -- --stack prod [--json] [--timeout 15] [--identity ~/.ssh/id_ed25519]
 *   npm run health -- --file path/to/Pulumi.site.yaml …     # a stack file kept elsewhere
 *
 * Connects as root over SSH to every node and the qnetd host in parallel
 * (host keys pinned from the stack), runs read-only commands only, and prints
 * one table per host. Key: --identity FILE, else the PROXMOX_HA_SSH_KEY
 * environment variable (the private key text, e.g. from
 * `pulumi config get sshPrivateKey`), else the SSH agent (SSH_AUTH_SOCK).
 *
 * Exit 0 healthy, 1 degraded, 2 cannot tell (a host unreachable, refused,
 * timed out or its output not understood; also an invalid stack or no key).
 */
import * as fs from "node:fs";
import { parseArgs } from "node:util";
import { utils } from "ssh2";
import type { Site } from "../../components/model";
import { evaluate, type HealthReport, type HostProbe } from "./checks";
import { nodeCommands, QNETD_COMMANDS } from "./commands";
import { cliStackSite } from "./load";
import { renderReport } from "./report";
import { runOnHost, type SshAuth } from "./ssh";

export const DEFAULT_TIMEOUT_S = 15;

/** Probes every host of the site in parallel and evaluates the answers. */
export async function checkSite(stack: string, site: Site, auth: SshAuth, timeoutMs: number): Promise<HealthReport> {
    const nodeRuns = site.nodes.map(async (n) => {
        const run = await runOnHost({ address: n.address, port: n.sshPort, hostKey: n.sshHostKey }, auth, nodeCommands(site, n), timeoutMs);
        return [n.name, { ...(run.error ? { error: run.error } : {}), results: run.results } as HostProbe] as const;
    });
    const qd = site.qdevice;
    const qdeviceRun = qd
        ? runOnHost({ address: qd.address, port: qd.sshPort, hostKey: qd.sshHostKey }, auth, QNETD_COMMANDS, timeoutMs).then(
              (run): HostProbe => ({ ...(run.error ? { error: run.error } : {}), results: run.results }),
          )
        : Promise.resolve(undefined);
    const [nodes, qdevice] = await Promise.all([Promise.all(nodeRuns), qdeviceRun]);
    return evaluate(stack, site, { nodes: new Map(nodes), ...(qdevice ? { qdevice } : {}) });
}

class UsageError extends Error {}

/** The SSH credentials, in order: --identity, PROXMOX_HA_SSH_KEY, the agent. */
export function resolveAuth(identity: string | undefined, env: NodeJS.ProcessEnv): SshAuth {
    let key: string | undefined;
    let from = "";
    if (identity !== undefined) {
        try {
            key = fs.readFileSync(identity, "utf8");
        } catch (e) {
            throw new UsageError(`cannot read --identity ${identity}: ${(e as Error).message}`);
        }
        from = `--identity ${identity}`;
    } else if (env.PROXMOX_HA_SSH_KEY) {
        key = env.PROXMOX_HA_SSH_KEY;
        from = "PROXMOX_HA_SSH_KEY";
    }
    if (key !== undefined) {
        const parsed = utils.parseKey(key);
        if (parsed instanceof Error) {
            const agent = /passphrase/i.test(parsed.message)
                ? `; a passphrase-protected key goes through the SSH agent: eval "$(ssh-agent)"; ssh-add ${identity ?? "KEYFILE"}, then run without ${from}`
                : "";
            throw new UsageError(`the private key from ${from} cannot be used: ${parsed.message}${agent}`);
        }
        return { privateKey: key };
    }
    if (env.SSH_AUTH_SOCK) return { agent: env.SSH_AUTH_SOCK };
    throw new UsageError(
        "no SSH key: pass --identity FILE, set PROXMOX_HA_SSH_KEY to the private key, or start an SSH agent (SSH_AUTH_SOCK)",
    );
}

export const HEALTH_HELP = `usage: npm run health -- (--stack NAME | --file PATH) [--json] [--timeout SECONDS] [--identity KEYFILE]

Connects as root over SSH to every node and the QDevice host (host keys pinned
from the stack file), runs read-only commands and compares quorum, the QDevice,
replication, pools, HA and the watchdog with the stack.

  --stack NAME        the stack file Pulumi.NAME.yaml next to Pulumi.yaml
  --file PATH         a stack file kept elsewhere
  --json              the report as JSON
  --timeout SECONDS   per host (default ${DEFAULT_TIMEOUT_S})
  --identity KEYFILE  the private key file to log in with
  --help              this text

The SSH key, first found wins:
  1. --identity KEYFILE (a key without passphrase);
  2. PROXMOX_HA_SSH_KEY, the private key text, e.g.
       PROXMOX_HA_SSH_KEY="$(pulumi config get sshPrivateKey)" npm run health -- --stack prod
  3. the SSH agent (SSH_AUTH_SOCK). A passphrase-protected key goes this way:
       eval "$(ssh-agent)"; ssh-add ~/.ssh/id_ed25519; npm run health -- --stack prod

Exit codes: 0 healthy; 1 degraded (the table says what and the remedy); 2 cannot
tell (a host unreachable, a refused login, a timeout, output not understood) or
bad input (unknown stack, invalid stack file, no usable key).
`;

export async function main(
    argv: string[],
    env: NodeJS.ProcessEnv = process.env,
): Promise<{ code: number; stdout: string; stderr: string }> {
    let args;
    try {
        args = parseArgs({
            args: argv,
            options: {
                stack: { type: "string" },
                file: { type: "string" },
                json: { type: "boolean", default: false },
                timeout: { type: "string", default: String(DEFAULT_TIMEOUT_S) },
                identity: { type: "string" },
                help: { type: "boolean", default: false },
            },
            strict: true,
        }).values;
    } catch (e) {
        return { code: 2, stdout: "", stderr: `health: ${(e as Error).message}\n` };
    }
    if (args.help) return { code: 0, stdout: HEALTH_HELP, stderr: "" };
    const target = cliStackSite("health", args);
    if ("code" in target) return { code: target.code, stdout: "", stderr: target.stderr };
    const timeout = Number(args.timeout);
    if (!Number.isFinite(timeout) || timeout <= 0)
        return { code: 2, stdout: "", stderr: `health: --timeout must be a number of seconds, not "${args.timeout}"\n` };
    let auth: SshAuth;
    try {
        auth = resolveAuth(args.identity, env);
    } catch (e) {
        if (e instanceof UsageError) return { code: 2, stdout: "", stderr: `health: ${e.message}\n` };
        throw e;
    }
    const report = await checkSite(target.stack, target.site, auth, timeout * 1000);
    return { code: report.exitCode, stdout: args.json ? `${JSON.stringify(report, null, 2)}\n` : renderReport(report), stderr: "" };
}

if (require.main === module) {
    main(process.argv.slice(2)).then(
        (r) => {
            process.stdout.write(r.stdout);
            process.stderr.write(r.stderr);
            process.exitCode = r.code;
        },
        (e: unknown) => {
            // Never a stack trace: an unexpected failure is "cannot tell".
            process.stderr.write(`health: internal error: ${(e as Error)?.message ?? String(e)}\n`);
            process.exitCode = 2;
        },
    );
}
