/**
 * Fake hosts for the health check's end-to-end test: real OpenSSH servers on
 * loopback, each in its own `unshare --mount --uts --propagation private`
 * namespace with its own host name, a throwaway ed25519 host key and a
 * throwaway client key, and REPLAY fakes of the read-only commands the health
 * check runs, bind-mounted over /usr/local/sbin (first on root's PATH).
 *
 * Why not test/harness/hosts.ts: that harness binds the shared STATEFUL fakes
 * (test/fakes/sbin) read-only over /usr/local/sbin and has no way to
 * substitute other fakes or bind other paths; the health check needs answers
 * of pvesr, ha-manager and zpool (which those fakes do not simulate) and
 * its own /etc/default and sysfs views. So this is a small private harness
 * modelled on it.
 *
 * Per host, below its directory:
 *   sbin/                 bound over /usr/local/sbin: `_replay` and one symlink
 *                         per replayed tool (pvecm, corosync-qdevice-tool,
 *                         pvesr, zpool, ha-manager, date, systemctl)
 *   sbin/replay/<key>.*   the answer for one command: .stdout, .stderr, .code
 *                         (keys are tools/health/commands.ts's command names)
 *   sbin/calls.log        one line per fake call: "<tool> <args>"
 *   etc-default/          bound over /etc/default (pve-ha-manager lives here)
 *   sys-class-watchdog/   bound over /sys/class/watchdog
 *   sys-module/           bound over /sys/module
 *   watchdog-mux          a stand-in holding the private /dev/watchdog (see BOOT)
 *   root-home/            bound over /root: an empty home, as on a fresh node
 *                         (the test machine's own ~/.bashrc, which bash
 *                         sources for SSH commands, stays out)
 *
 * A replay fake answers exactly one argument list per key and refuses
 * anything else with "fake <tool>: not replayed: <args>" (exit 99), so an
 * unexpected (e.g. writing) command can never pass unnoticed. It prints what
 * the test recorded, nothing of its own: the recorded answers come from
 * fixtures.ts (the documented formats of docs/proxmox-facts.md and real zfs-fuse
 * output). Needs root (mount namespaces, sshd) and OpenSSH.
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { CommandResult } from "../../tools/health/parsers";
import { canConnect, freePort, sh, stopChildren } from "../harness/processes";
import { WATCHDOG_MUX_STANDIN } from "../scripts/watchdog-fakes";

export { freePort };

/** The argument lists each replayed command key answers (as tools/health/commands.ts sends them). */
export const REPLAYED: Readonly<Record<string, readonly [tool: string, args: string]>> = {
    pvecm: ["pvecm", "status"],
    qdevice: ["corosync-qdevice-tool", "-s"],
    pvesr: ["pvesr", "status"],
    clock: ["date", "+%Y-%m-%d_%H:%M:%S"],
    zpoolList: ["zpool", "list -H -o name,health"],
    zpoolStatus: ["zpool", "status -x"],
    ha: ["ha-manager", "status"],
    qnetd: ["systemctl", "is-active corosync-qnetd"],
};

const REPLAY_SCRIPT = `#!/bin/bash
# Replay fake (TESTS ONLY, see test/health/replay-hosts.ts): prints the answer
# the test recorded for this exact command line, refuses anything else.
set -u
dir=/usr/local/sbin
tool=\${0##*/}
args="$*"
printf '%s %s\\n' "$tool" "$args" >>"$dir/calls.log"
key=
case "$tool $args" in
${Object.entries(REPLAYED)
    .map(([key, [tool, args]]) => `    '${tool} ${args}') key=${key} ;;`)
    .join("\n")}
esac
if [[ -z $key ]]; then
    printf 'fake %s: not replayed: %s\\n' "$tool" "$args" >&2
    exit 99
fi
if [[ ! -e $dir/replay/$key.code ]]; then
    printf 'fake %s: no answer recorded for %s\\n' "$tool" "$key" >&2
    exit 99
fi
cat "$dir/replay/$key.stdout"
cat "$dir/replay/$key.stderr" >&2
exit "$(cat "$dir/replay/$key.code")"
`;

const BOOT = String.raw`
set -euo pipefail
H=$1 NAME=$2
hostname "$NAME"
mount --bind "$H/sbin" /usr/local/sbin
mount --bind "$H/etc-default" /etc/default
mount --bind "$H/sys-class-watchdog" /sys/class/watchdog
mount --bind "$H/sys-module" /sys/module
mount --bind "$H/root-home" /root
# A private /dev with /dev/watchdog (a regular file: never a real watchdog)
# held by a stand-in watchdog-mux, as on a node whose HA watchdog runs.
mount -t tmpfs -o mode=755 replaydev /dev
mknod -m 666 /dev/null c 1 3; mknod -m 666 /dev/zero c 1 5; mknod -m 666 /dev/random c 1 8; mknod -m 666 /dev/urandom c 1 9
ln -s /proc/self/fd /dev/fd
: >/dev/watchdog
mkdir -p /run/sshd
"$H/watchdog-mux" "$H/watchdog-mux.ready" &
holder=$!
/usr/sbin/sshd -D -e -f "$H/sshd_config" &
sshd=$!
trap 'kill $holder $sshd 2>/dev/null' TERM EXIT
wait $sshd
`;

export interface ReplayHost {
    readonly name: string;
    readonly address: string;
    readonly port: number;
    /** `<type> <base64>`: what a stack file pins. */
    readonly hostKey: string;
    readonly dir: string;
    /** Records the answer of one command key (see REPLAYED). */
    answer(key: string, r: CommandResult): void;
    /** Forgets every recorded answer and call. */
    reset(): void;
    /** Every fake call so far, "<tool> <args>". */
    calls(): string[];
    /** Writes a file below the host's /etc/default. */
    etcDefault(file: string, text: string): void;
    /** Lays out /sys/class/watchdog and /sys/module as softdog in use (watchdog0 identity "Software Watchdog"). */
    softdogInUse(): void;
}

export interface ReplayHosts {
    readonly root: string;
    /** The client's private key file (OpenSSH format) and its text. */
    readonly clientKeyFile: string;
    host(name: string): ReplayHost;
    close(): Promise<void>;
}

/** A fresh ed25519 key pair: the private key file and the public `<type> <base64>`. */
export function keyPair(file: string): string {
    sh("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "", "-f", file]);
    return fs.readFileSync(`${file}.pub`, "utf8").trim().split(/\s+/).slice(0, 2).join(" ");
}

export async function startReplayHosts(label: string, specs: readonly { name: string; address: string }[]): Promise<ReplayHosts> {
    if (process.getuid?.() !== 0) throw new Error("startReplayHosts needs root (mount namespaces, sshd)");
    const root = fs.mkdtempSync(path.join(os.tmpdir(), `replayhosts-${label}-`));
    fs.chmodSync(root, 0o755);
    const children: ChildProcess[] = [];
    const backstop = () => {
        for (const c of children) {
            try {
                c.kill("SIGKILL");
            } catch {
                /* gone */
            }
        }
        fs.rmSync(root, { recursive: true, force: true });
    };
    process.once("exit", backstop);
    try {
        const clientKeyFile = path.join(root, "client_ed25519");
        const clientPub = keyPair(clientKeyFile);
        const hosts: ReplayHost[] = [];
        for (const s of specs) {
            const dir = path.join(root, s.name);
            const sbin = path.join(dir, "sbin");
            for (const d of ["sbin/replay", "etc-default", "sys-class-watchdog", "sys-module", "ssh", "root-home"])
                fs.mkdirSync(path.join(dir, d), { recursive: true });
            fs.writeFileSync(path.join(sbin, "_replay"), REPLAY_SCRIPT, { mode: 0o755 });
            fs.writeFileSync(path.join(dir, "watchdog-mux"), WATCHDOG_MUX_STANDIN, { mode: 0o755 });
            for (const tool of new Set(Object.values(REPLAYED).map(([t]) => t))) fs.symlinkSync("_replay", path.join(sbin, tool));
            const hostKey = keyPair(path.join(dir, "ssh", "host_ed25519"));
            fs.writeFileSync(path.join(dir, "ssh", "authorized_keys"), `${clientPub}\n`, { mode: 0o600 });
            const port = await freePort(s.address);
            fs.writeFileSync(
                path.join(dir, "sshd_config"),
                [
                    `ListenAddress ${s.address}:${port}`,
                    `HostKey ${path.join(dir, "ssh", "host_ed25519")}`,
                    "PidFile none",
                    "PermitRootLogin prohibit-password",
                    "PasswordAuthentication no",
                    "KbdInteractiveAuthentication no",
                    "PubkeyAuthentication yes",
                    `AuthorizedKeysFile ${path.join(dir, "ssh", "authorized_keys")}`,
                    "StrictModes no",
                    "UsePAM no",
                    "PrintMotd no",
                    "LogLevel ERROR",
                    "",
                ].join("\n"),
            );
            const write = (p: string, text: string) => {
                fs.mkdirSync(path.dirname(p), { recursive: true });
                fs.writeFileSync(p, text);
            };
            hosts.push({
                name: s.name,
                address: s.address,
                port,
                hostKey,
                dir,
                answer: (key, r) => {
                    if (!REPLAYED[key]) throw new Error(`no replayed command ${key}`);
                    write(path.join(sbin, "replay", `${key}.stdout`), r.stdout);
                    write(path.join(sbin, "replay", `${key}.stderr`), r.stderr);
                    write(path.join(sbin, "replay", `${key}.code`), `${r.code ?? 255}\n`);
                },
                reset: () => {
                    fs.rmSync(path.join(sbin, "replay"), { recursive: true, force: true });
                    fs.mkdirSync(path.join(sbin, "replay"));
                    fs.rmSync(path.join(sbin, "calls.log"), { force: true });
                },
                calls: () => {
                    const f = path.join(sbin, "calls.log");
                    return fs.existsSync(f)
                        ? fs
                              .readFileSync(f, "utf8")
                              .split("\n")
                              .filter((l) => l !== "")
                        : [];
                },
                etcDefault: (file, text) => write(path.join(dir, "etc-default", file), text),
                softdogInUse: () => {
                    write(path.join(dir, "sys-module", "softdog", "initstate"), "live\n");
                    write(path.join(dir, "sys-class-watchdog", "watchdog0", "identity"), "Software Watchdog\n");
                },
            });
        }
        for (const h of hosts) {
            const log = fs.openSync(path.join(h.dir, "boot.log"), "a");
            const child = spawn(
                "unshare",
                ["--mount", "--uts", "--propagation", "private", "--", "bash", "-c", BOOT, "boot", h.dir, h.name],
                {
                    stdio: ["ignore", log, log],
                },
            );
            fs.closeSync(log);
            children.push(child);
        }
        for (const [i, h] of hosts.entries()) {
            const child = children[i]!;
            for (;;) {
                if (child.exitCode !== null || child.signalCode !== null) {
                    throw new Error(`replay host ${h.name} did not start: ${fs.readFileSync(path.join(h.dir, "boot.log"), "utf8")}`);
                }
                if (await canConnect(h.address, h.port)) break;
                await new Promise((r) => setTimeout(r, 50));
            }
        }
        const byName = new Map(hosts.map((h) => [h.name, h]));
        let closed = false;
        return {
            root,
            clientKeyFile,
            host: (name) => {
                const h = byName.get(name);
                if (!h) throw new Error(`no replay host ${name}`);
                return h;
            },
            close: async () => {
                if (closed) return;
                closed = true;
                await stopChildren(children);
                fs.rmSync(root, { recursive: true, force: true });
                process.removeListener("exit", backstop);
            },
        };
    } catch (e) {
        backstop();
        process.removeListener("exit", backstop);
        throw e;
    }
}
