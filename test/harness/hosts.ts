/**
 * Fake hosts on one machine, reached over real OpenSSH on loopback.
 *
 *   const site = await startHosts("cluster", [
 *       { name: "prox1", address: "127.0.3.11" },          // a Proxmox VE node (fake PVE commands)
 *       { name: "prox2", address: "127.0.3.12" },
 *       { name: "qnetd", address: "127.0.3.20", pve: false }, // a plain Debian host
 *   ]);
 *   after(() => site.close());                              // also runs at process exit as a backstop
 *   const r = await site.run("prox1", scriptInvocation("cluster-create", ["prod", "127.0.3.11"]));
 *   // r.code, r.stdout, r.stderr; stdin: site.run(host, command, "secret\n")
 *
 * Each host is a process tree started by `unshare --mount --uts --propagation private`:
 * its own host name, its own sshd on <address>:<free port> (key auth only,
 * throwaway ed25519 host key: `site.host(name).hostKey` is its public
 * `<type> <base64>`, the form the stack file pins), and private views of the
 * file system: /etc, /root, /var and /run are overlays whose changes stay in
 * the host's directory, with these bind mounts on top —
 *   /etc/pve         <state>/hosts/<name>/pve-local   (standalone pmxcfs content; a
 *                    PVE node starts with nodes/<name>/pve-ssl.pem and priv/authorized_keys)
 *   /etc/corosync    <state>/hosts/<name>/corosync
 *   /root/.ssh       <dir>/root-ssh   (on a PVE node authorized_keys is a link into
 *                    /etc/pve/priv, as on a fresh install; on a plain host a file)
 *   /etc/network     <dir>/network    (interfaces with `source /etc/network/interfaces.d/*`)
 *   /tmp             <dir>/tmp
 *   /usr/local/sbin  test/fakes/sbin, read-only (the fake PVE commands, first on root's PATH)
 *   /var/lib/fakepve <state>        the ONE directory every host shares: the fakes keep
 *                    the simulated cluster there (see test/fakes/sbin/_fakepve.py)
 * — and /etc/ssh/ssh_config.d/fakehosts.conf maps every host's address to its
 * sshd port (`HostKeyAlias <address>`, so known_hosts entries keyed by the bare
 * address, as on port 22, are the ones checked).
 *
 * `run(host, command, stdin)` executes `command` exactly as a
 * @pulumi/command remote.Command does: one SSH exec request carrying the
 * command text, no TTY, stdin piped then closed, BatchMode, the host key
 * checked against a known_hosts file holding only the pinned keys.
 *
 * Test files run in parallel: give each file its own 127.0.N.0/24 and its own
 * label. Needs root (mount namespaces, sshd), OpenSSH server and client,
 * openssl and /usr/bin/python3 (the fakes).
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { canConnect, freePort, sh, stopChildren } from "./processes";

export const FAKES_DIR = path.join(__dirname, "..", "fakes", "sbin");

export interface HostSpec {
    readonly name: string;
    /** A loopback address, unique to the test file (127.0.N.x). */
    readonly address: string;
    /** A Proxmox VE node (default) or a plain Debian host such as the qnetd host. */
    readonly pve?: boolean;
    /** Root password the fake API checks when another node joins through this one. Default: random. */
    readonly rootPassword?: string;
}

export interface FakeHost {
    readonly name: string;
    readonly address: string;
    readonly port: number;
    readonly pve: boolean;
    readonly rootPassword: string;
    /** Public host key, `<type> <base64>` (what the stack file pins). */
    readonly hostKey: string;
    /** The host's directory outside its namespace. */
    readonly dir: string;
}

export interface RunResult {
    readonly code: number;
    readonly stdout: string;
    readonly stderr: string;
}

/** One record of calls.jsonl: a fake command's argv and environment and those of all its ancestors. */
export interface FakeCall {
    readonly argv: string[];
    readonly env: string[];
    readonly cwd: string | null;
    readonly ancestors: { pid: number; argv: string[]; env: string[] }[];
    readonly event?: string;
    readonly passwordSha256?: string;
}

export interface Hosts {
    /** Everything lives below this directory (removed by close()). */
    readonly root: string;
    /** The shared fake state directory (/var/lib/fakepve inside every host). */
    readonly stateDir: string;
    /** False when the kernel refused overlays on disk and tmpfs was used (then files written outside the bind mounts are not visible in `root`). */
    readonly overlaysOnDisk: boolean;
    host(name: string): FakeHost;
    /** Runs `command` on the host over SSH, as remote.Command would; `stdin` is written then closed. */
    run(host: string, command: string, stdin?: string): Promise<RunResult>;
    /** Arms a one-shot fault of the fakes on that host (see _fakepve.py); `message` is the error text. */
    fault(host: string, fault: string, message?: string): void;
    /** Cuts the host off from the others (its corosync is unreachable) or reconnects it. */
    setDown(host: string, down: boolean): void;
    /** Every fake command run on the host so far. */
    calls(host: string): FakeCall[];
    /** Files below `root` whose bytes contain `needle`. */
    filesContaining(needle: string): string[];
    close(): Promise<void>;
}

const BOOT = String.raw`
set -euo pipefail
H=$1 STATE=$2 FAKES=$3 NAME=$4
hostname "$NAME"
# Private writable views of /etc, /root, /var, /run: upper dirs on disk (inspectable), else tmpfs.
ondisk=1
for d in etc root var run; do
    mkdir -p "$H/ov/$d/upper" "$H/ov/$d/work"
    if ! mount -t overlay overlay -o "lowerdir=/$d,upperdir=$H/ov/$d/upper,workdir=$H/ov/$d/work" "/$d" 2>/dev/null; then
        ondisk=0
        mkdir -p "$H/ovt/$d"
        mount -t tmpfs -o mode=755 fakehost "$H/ovt/$d"
        mkdir -p "$H/ovt/$d/upper" "$H/ovt/$d/work"
        mount -t overlay overlay -o "lowerdir=/$d,upperdir=$H/ovt/$d/upper,workdir=$H/ovt/$d/work" "/$d"
    fi
done
echo "$ondisk" >"$H/overlays-on-disk"
mkdir -p /etc/pve /etc/corosync /root/.ssh /etc/network /var/lib/fakepve /run/sshd /etc/ssh/ssh_config.d /etc/ssh/fakehost
chmod 755 /run/sshd
mount --bind "$STATE" /var/lib/fakepve
mount --bind "$STATE/hosts/$NAME/pve-local" /etc/pve
mount --bind "$STATE/hosts/$NAME/corosync" /etc/corosync
mount --bind "$H/root-ssh" /root/.ssh
mount --bind "$H/network" /etc/network
mount --bind "$FAKES" /usr/local/sbin
mount -o remount,bind,ro /usr/local/sbin
cp "$H/sshd/"* /etc/ssh/fakehost/
cp "$H/ssh_client.conf" /etc/ssh/ssh_config.d/fakehosts.conf
mount --bind "$H/tmp" /tmp
exec /usr/sbin/sshd -D -e -f /etc/ssh/fakehost/sshd_config
`;

const INTERFACES = (address: string) => `auto lo
iface lo inet loopback

iface eno1 inet manual

auto vmbr0
iface vmbr0 inet static
	address ${address}/8
	bridge-ports eno1
	bridge-stp off
	bridge-fd 0

source /etc/network/interfaces.d/*
`;

export async function startHosts(label: string, specs: readonly HostSpec[]): Promise<Hosts> {
    if (process.getuid?.() !== 0) throw new Error("startHosts needs root (mount namespaces, sshd)");
    const root = fs.mkdtempSync(path.join(os.tmpdir(), `fakehosts-${label}-`));
    fs.chmodSync(root, 0o755);
    const stateDir = path.join(root, "state");
    const children: ChildProcess[] = [];
    const pids: number[] = [];
    let closed = false;

    const backstop = () => {
        for (const pid of pids) {
            try {
                process.kill(pid, "SIGKILL");
            } catch {
                /* gone */
            }
        }
        fs.rmSync(root, { recursive: true, force: true });
    };
    process.once("exit", backstop);

    try {
        // client key and the pinned known_hosts
        const client = path.join(root, "client");
        fs.mkdirSync(client, { mode: 0o700 });
        sh("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "fakehosts-client", "-f", path.join(client, "id_ed25519")]);
        const clientPub = fs.readFileSync(path.join(client, "id_ed25519.pub"), "utf8").trim();

        const hosts: FakeHost[] = [];
        for (const s of specs) {
            const dir = path.join(root, "hosts", s.name);
            fs.mkdirSync(path.join(dir, "sshd"), { recursive: true });
            const keyFile = path.join(dir, "sshd", "ssh_host_ed25519_key");
            sh("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "", "-f", keyFile]);
            const hostKey = fs.readFileSync(`${keyFile}.pub`, "utf8").trim().split(/\s+/).slice(0, 2).join(" ");
            hosts.push({
                name: s.name,
                address: s.address,
                port: await freePort(s.address),
                pve: s.pve ?? true,
                rootPassword: s.rootPassword ?? crypto.randomBytes(12).toString("base64url"),
                hostKey,
                dir,
            });
        }

        const clientConf = hosts.map((h) => `Host ${h.address}\n    Port ${h.port}\n    HostKeyAlias ${h.address}\n`).join("");
        fs.writeFileSync(path.join(client, "known_hosts"), hosts.map((h) => `[${h.address}]:${h.port} ${h.hostKey}\n`).join(""));

        for (const h of hosts) {
            const sd = path.join(stateDir, "hosts", h.name);
            for (const d of ["pve-local", "corosync", "faults"]) fs.mkdirSync(path.join(sd, d), { recursive: true });
            fs.writeFileSync(
                path.join(sd, "host.json"),
                JSON.stringify({
                    name: h.name,
                    address: h.address,
                    pve: h.pve,
                    sshPort: h.port,
                    hostKey: h.hostKey,
                    rootPasswordSha256: crypto.createHash("sha256").update(h.rootPassword).digest("hex"),
                }),
            );
            const rootSsh = path.join(h.dir, "root-ssh");
            fs.mkdirSync(rootSsh, { mode: 0o700 });
            if (h.pve) {
                const nodeDir = path.join(sd, "pve-local", "nodes", h.name);
                for (const d of ["qemu-server", "lxc"]) fs.mkdirSync(path.join(nodeDir, d), { recursive: true });
                sh("openssl", [
                    "req",
                    "-x509",
                    "-newkey",
                    "ec",
                    "-pkeyopt",
                    "ec_paramgen_curve:prime256v1",
                    "-nodes",
                    "-subj",
                    `/CN=${h.name}`,
                    "-days",
                    "3650",
                    "-keyout",
                    path.join(nodeDir, "pve-ssl.key"),
                    "-out",
                    path.join(nodeDir, "pve-ssl.pem"),
                ]);
                fs.mkdirSync(path.join(sd, "pve-local", "priv"), { mode: 0o700 });
                fs.writeFileSync(path.join(sd, "pve-local", "priv", "authorized_keys"), `${clientPub}\n`, { mode: 0o600 });
                fs.symlinkSync("/etc/pve/priv/authorized_keys", path.join(rootSsh, "authorized_keys"));
            } else {
                fs.writeFileSync(path.join(rootSsh, "authorized_keys"), `${clientPub}\n`, { mode: 0o600 });
            }
            fs.mkdirSync(path.join(h.dir, "network", "interfaces.d"), { recursive: true });
            fs.writeFileSync(path.join(h.dir, "network", "interfaces"), INTERFACES(h.address));
            fs.mkdirSync(path.join(h.dir, "tmp"));
            fs.chmodSync(path.join(h.dir, "tmp"), 0o1777);
            fs.writeFileSync(path.join(h.dir, "ssh_client.conf"), clientConf);
            fs.writeFileSync(
                path.join(h.dir, "sshd", "sshd_config"),
                [
                    `ListenAddress ${h.address}:${h.port}`,
                    "HostKey /etc/ssh/fakehost/ssh_host_ed25519_key",
                    "PidFile none",
                    "PermitRootLogin prohibit-password",
                    "PasswordAuthentication no",
                    "KbdInteractiveAuthentication no",
                    "PubkeyAuthentication yes",
                    "AuthorizedKeysFile .ssh/authorized_keys",
                    "StrictModes no",
                    "UsePAM no",
                    "PrintMotd no",
                    "Subsystem sftp internal-sftp",
                    "LogLevel ERROR",
                    "",
                ].join("\n"),
            );
        }

        for (const h of hosts) {
            const log = fs.openSync(path.join(h.dir, "boot.log"), "a");
            const child = spawn(
                "unshare",
                ["--mount", "--uts", "--propagation", "private", "--", "bash", "-c", BOOT, "boot", h.dir, stateDir, FAKES_DIR, h.name],
                { stdio: ["ignore", log, log] },
            );
            fs.closeSync(log);
            children.push(child);
            if (child.pid !== undefined) pids.push(child.pid);
        }

        // Ready = every sshd accepts connections (each boot either gets there or exits).
        for (const [i, h] of hosts.entries()) {
            const child = children[i]!;
            for (;;) {
                if (child.exitCode !== null || child.signalCode !== null) {
                    throw new Error(`fake host ${h.name} did not start: ${fs.readFileSync(path.join(h.dir, "boot.log"), "utf8")}`);
                }
                if (await canConnect(h.address, h.port)) break;
                await new Promise((r) => setTimeout(r, 50));
            }
        }

        const byName = new Map(hosts.map((h) => [h.name, h]));
        const get = (name: string): FakeHost => {
            const h = byName.get(name);
            if (!h) throw new Error(`no fake host ${name}`);
            return h;
        };

        const run = (name: string, command: string, stdin?: string): Promise<RunResult> => {
            const h = get(name);
            return new Promise((resolve, reject) => {
                const p = spawn(
                    "ssh",
                    [
                        "-F",
                        "/dev/null",
                        "-T",
                        "-o",
                        "BatchMode=yes",
                        "-o",
                        "StrictHostKeyChecking=yes",
                        "-o",
                        `UserKnownHostsFile=${path.join(client, "known_hosts")}`,
                        "-o",
                        "GlobalKnownHostsFile=/dev/null",
                        "-o",
                        "IdentitiesOnly=yes",
                        "-o",
                        `IdentityFile=${path.join(client, "id_ed25519")}`,
                        "-o",
                        "ConnectTimeout=10",
                        "-o",
                        "LogLevel=ERROR",
                        "-p",
                        String(h.port),
                        `root@${h.address}`,
                        "--",
                        command,
                    ],
                    { stdio: ["pipe", "pipe", "pipe"] },
                );
                let stdout = "";
                let stderr = "";
                p.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
                p.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
                p.once("error", reject);
                p.once("close", (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr }));
                p.stdin.on("error", () => undefined); // the remote side may exit without reading stdin
                p.stdin.end(stdin ?? "");
            });
        };

        const hostState = (name: string) => path.join(stateDir, "hosts", get(name).name);

        const filesContaining = (needle: string): string[] => {
            const hits: string[] = [];
            const bytes = Buffer.from(needle);
            const walk = (p: string) => {
                let st: fs.Stats;
                try {
                    st = fs.lstatSync(p);
                } catch {
                    return;
                }
                if (st.isDirectory()) {
                    for (const e of fs.readdirSync(p)) walk(path.join(p, e));
                } else if (st.isFile()) {
                    if (fs.readFileSync(p).includes(bytes)) hits.push(p);
                } else if (st.isSymbolicLink()) {
                    if (fs.readlinkSync(p).includes(needle)) hits.push(p);
                }
            };
            walk(root);
            return hits;
        };

        const close = async () => {
            if (closed) return;
            closed = true;
            await stopChildren(children);
            fs.rmSync(root, { recursive: true, force: true });
            process.removeListener("exit", backstop);
        };

        return {
            root,
            stateDir,
            overlaysOnDisk: hosts.every((h) => fs.readFileSync(path.join(h.dir, "overlays-on-disk"), "utf8").trim() === "1"),
            host: get,
            run,
            fault: (name, fault, message) => fs.writeFileSync(path.join(hostState(name), "faults", fault), message ?? ""),
            setDown: (name, down) => {
                const f = path.join(hostState(name), "down");
                if (down) fs.writeFileSync(f, "");
                else fs.rmSync(f, { force: true });
            },
            calls: (name) => {
                const f = path.join(hostState(name), "calls.jsonl");
                if (!fs.existsSync(f)) return [];
                return fs
                    .readFileSync(f, "utf8")
                    .split("\n")
                    .filter((l) => l !== "")
                    .map((l) => JSON.parse(l) as FakeCall);
            },
            filesContaining,
            close,
        };
    } catch (e) {
        backstop();
        process.removeListener("exit", backstop);
        throw e;
    }
}
