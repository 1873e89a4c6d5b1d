/**
 * Fake hosts on one machine, each with its own network, mount and UTS
 * namespace, reached over real OpenSSH; Proxmox VE nodes run the REAL
 * corosync, corosync-qdevice and (on the qnetd host) corosync-qnetd.
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
 * Network (nothing outside the namespaces this harness creates is touched):
 * a "switch" namespace holds two bridges without uplink — `mgmt` (the hosts'
 * addresses: SSH, the QNetd connection, corosync links on the host address)
 * and `links` (the corosync link VLANs). Every host has a veth `vmbr0` into
 * `mgmt` carrying `<address>/24`; a PVE node also has a veth `eno1` into
 * `links`, where the fake `ifreload` puts the addresses of the VLAN
 * stanzas that scripts/corosync-vlan.sh writes (this kernel has no 8021q:
 * the VLAN is modelled by its own segment). In every namespace lo holds
 * 127.0.0.1/32 instead of /8 and route_localnet=1, so 127.x addresses on
 * veths are routed, not delivered locally. Cutting a host's corosync link is
 * `site.link(host, "eno1", false)`, a real `ip link set eno1 down` in its
 * namespace. The test process itself stays in the machine's namespaces:
 * `run()` starts its ssh client inside the switch namespace (nsenter), and
 * `exec()` runs a command directly inside a host (e.g. while its links are
 * down).
 *
 * Each host is `unshare --net --mount --uts --propagation private` running
 * sshd on <address>:22 (key auth only, throwaway ed25519 host key:
 * `site.host(name).hostKey` is its public `<type> <base64>`, the form the
 * stack file pins), with private views of the file system: /etc, /root,
 * /var and /run are overlays whose changes stay in the host's directory
 * (so each corosync has its own /run/corosync.pid, /var/lib/corosync,
 * /var/log/corosync, /run/corosync-qdevice, /run/corosync-qnetd), with these
 * bind mounts on top —
 *   /etc/pve         <state>/hosts/<name>/pve-local   (standalone pmxcfs content; a
 *                    PVE node starts with nodes/<name>/pve-ssl.pem and priv/authorized_keys)
 *   /etc/corosync    <state>/hosts/<name>/corosync    (the real certutils' hard-coded paths)
 *   /root/.ssh       <dir>/root-ssh   (on a PVE node authorized_keys is a link into
 *                    /etc/pve/priv, as on a fresh install; on a plain host a file)
 *   /etc/network     <dir>/network    (interfaces with `source /etc/network/interfaces.d/*`)
 *   /tmp             <dir>/tmp
 *   /usr/local/sbin  test/fakes/sbin, read-only (the fake PVE commands and the fake
 *                    systemctl that starts the real corosync daemons; first on root's PATH)
 *   /usr/local/bin   <dir>/replay     (second on root's PATH: `site.replay()` answers for
 *                    tools this harness cannot run for real, e.g. pvesr or ha-manager)
 *   /sys/class/watchdog, /sys/module  <dir>/sys-class-watchdog, <dir>/sys-module
 *                    (empty unless `site.softdogInUse()`)
 *   /var/lib/fakepve <state>        the ONE directory every host shares: the fakes keep
 *                    the simulated pmxcfs there (see test/fakes/sbin/_fakepve.py)
 *
 * `run(host, command, stdin)` executes `command` exactly as a
 * @pulumi/command remote.Command does: one SSH exec request carrying the
 * command text, no TTY, stdin piped then closed, BatchMode, the host key
 * checked against a known_hosts file holding only the pinned keys.
 *
 * Test files run in parallel: give each file its own 127.0.N.0/24 and its own
 * label (namespaces are anonymous, interface names live inside them, so
 * nothing else is global). Needs root, iproute2, util-linux (unshare,
 * nsenter), OpenSSH server and client, openssl, /usr/bin/python3 (the fakes)
 * and the Debian packages corosync, corosync-qdevice, corosync-qnetd.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { WATCHDOG_MUX_STANDIN } from "../scripts/watchdog-fakes";
import { sh, stopChildren } from "./processes";

export const FAKES_DIR = path.join(__dirname, "..", "fakes", "sbin");

/** The real daemons (Debian packages corosync, corosync-qdevice, corosync-qnetd). */
export const REAL = {
    corosync: "/usr/sbin/corosync",
    "corosync-qdevice": "/usr/sbin/corosync-qdevice",
    "corosync-qnetd": "/usr/bin/corosync-qnetd",
} as const;

export interface HostSpec {
    readonly name: string;
    /** A loopback address, unique to the test file (127.0.N.x, all in one /24). */
    readonly address: string;
    /** A Proxmox VE node (default) or a plain Debian host such as the qnetd host. */
    readonly pve?: boolean;
    /** Root password the fake API checks when another node joins through this one. Default: random. */
    readonly rootPassword?: string;
    /**
     * Replay only: /usr/local/sbin is the host's replay directory instead of
     * the fakes, so every tool `replay()` records (pvecm, corosync-qdevice-tool,
     * systemctl, …) answers with the recorded output and nothing real runs.
     * For tests of a reader (the health check) against documented outputs.
     */
    readonly replayOnly?: boolean;
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
    /** The test client's private key file (OpenSSH format), authorized on every host. */
    readonly clientKeyFile: string;
    /** False when the kernel refused overlays on disk and tmpfs was used (then files written outside the bind mounts are not visible in `root`). */
    readonly overlaysOnDisk: boolean;
    host(name: string): FakeHost;
    /** Runs `command` on the host over SSH, as remote.Command would; `stdin` is written then closed. */
    run(host: string, command: string, stdin?: string): Promise<RunResult>;
    /** Runs `bash -c command` inside the host's namespaces directly (no SSH: works while its links are down). */
    exec(host: string, command: string): RunResult;
    /** The command line prefix that runs a program inside the switch namespace (where the hosts' addresses are reachable). */
    readonly switchPrefix: readonly string[];
    /** Brings one of the host's interfaces (`vmbr0`, `eno1`) down or up: a real `ip link set`. */
    link(host: string, iface: "vmbr0" | "eno1", up: boolean): void;
    /** PIDs of the processes in the host's namespaces whose /proc/<pid>/exe is `exe`. */
    pids(host: string, exe: string): number[];
    /** Arms a one-shot fault of the fakes on that host (see _fakepve.py); `message` is the error text. */
    fault(host: string, fault: string, message?: string): void;
    /** Records the answer of `tool <args>` on that host (a replay fake in /usr/local/bin; anything else it refuses). */
    replay(host: string, tool: string, args: string, answer: RunResult): void;
    /** Every replayed call on that host so far, "<tool> <args>". */
    replayCalls(host: string): string[];
    /** Forgets the host's replay answers and calls, and removes its replayed tools (the real ones are seen again). */
    resetReplay(host: string): void;
    /** Lays out the host's /sys/class/watchdog and /sys/module as softdog in use, with a stand-in watchdog-mux holding its /dev/watchdog. */
    softdogInUse(host: string): void;
    /** Every fake command run on the host so far. */
    calls(host: string): FakeCall[];
    /** Files below `root` whose bytes contain `needle`. */
    filesContaining(needle: string): string[];
    close(): Promise<void>;
}

const SWITCH = String.raw`
set -euo pipefail
ADDR=$1
ip link set lo up
ip addr del 127.0.0.1/8 dev lo 2>/dev/null || true
ip addr add 127.0.0.1/32 dev lo
for k in all default; do sysctl -qw "net.ipv4.conf.$k.route_localnet=1"; done
ip link add mgmt type bridge
ip link add links type bridge
sysctl -qw net.ipv4.conf.mgmt.route_localnet=1
ip addr add "$ADDR/24" dev mgmt
ip link set mgmt up
ip link set links up
exec sleep infinity
`;

const BOOT = String.raw`
set -euo pipefail
H=$1 STATE=$2 FAKES=$3 NAME=$4 PVE=$5 REPLAY_ONLY=$6
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
# The machine's own daemons' runtime files must not show through the overlay.
rm -rf /run/corosync-qdevice /run/corosync-qnetd /run/corosync.pid /var/lib/corosync/* /var/log/corosync/*
mkdir -p /etc/pve /etc/corosync /root/.ssh /etc/network /var/lib/fakepve /run/sshd /etc/ssh/fakehost
chmod 755 /run/sshd
mount --bind "$STATE" /var/lib/fakepve
mount --bind "$STATE/hosts/$NAME/pve-local" /etc/pve
mount --bind "$STATE/hosts/$NAME/corosync" /etc/corosync
mount --bind "$H/root-ssh" /root/.ssh
mount --bind "$H/network" /etc/network
if [[ $REPLAY_ONLY == 1 ]]; then
    mount --bind "$H/replay" /usr/local/sbin
else
    mount --bind "$FAKES" /usr/local/sbin
    mount -o remount,bind,ro /usr/local/sbin
    mount --bind "$H/replay" /usr/local/bin
fi
mount --bind "$H/sys-class-watchdog" /sys/class/watchdog
mount --bind "$H/sys-module" /sys/module
# A private /dev (the machine's own devices stay out, /dev/shm of libqb's IPC is per host):
# the usual character devices, and /dev/watchdog as a regular file (never a real watchdog)
# for the stand-in watchdog-mux of softdogInUse().
mount -t tmpfs -o mode=755 fakedev /dev
mknod -m 666 /dev/null c 1 3; mknod -m 666 /dev/zero c 1 5; mknod -m 666 /dev/full c 1 7
mknod -m 666 /dev/random c 1 8; mknod -m 666 /dev/urandom c 1 9; mknod -m 666 /dev/tty c 5 0
ln -s /proc/self/fd /dev/fd; ln -s /proc/self/fd/0 /dev/stdin; ln -s /proc/self/fd/1 /dev/stdout; ln -s /proc/self/fd/2 /dev/stderr
mkdir -m 1777 /dev/shm; mount -t tmpfs -o mode=1777 fakeshm /dev/shm
: >/dev/watchdog
cp "$H/sshd/"* /etc/ssh/fakehost/
: >"$H/ns-ready"
# The harness now plugs the veths in and addresses them (see startHosts).
while [[ ! -e $H/net-ready ]]; do sleep 0.02; done
mount --bind "$H/tmp" /tmp
# pmxcfs's corosync.conf propagation (see pmxcfs_loop in test/fakes/sbin/_fakepve.py)
if [[ $PVE == 1 && $REPLAY_ONLY == 0 ]]; then setsid /usr/local/sbin/pvecm __pmxcfs </dev/null >>/var/log/fakepmxcfs.log 2>&1 & fi
exec /usr/sbin/sshd -D -e -f /etc/ssh/fakehost/sshd_config
`;

const INTERFACES = (address: string) => `auto lo
iface lo inet loopback

iface eno1 inet manual

auto vmbr0
iface vmbr0 inet static
	address ${address}/24
	bridge-ports eno1
	bridge-stp off
	bridge-fd 0

source /etc/network/interfaces.d/*
`;

const REPLAY_SCRIPT = `#!/bin/bash
# Replay fake (TESTS ONLY, see test/harness/hosts.ts): prints the answer the
# test recorded for this exact command line, refuses anything else (exit 99).
set -u
dir=$(dirname "$(readlink -f "$0")")
tool=\${0##*/}
args="$*"
printf '%s %s\\n' "$tool" "$args" >>"$dir/calls.log"
key=$(printf '%s %s' "$tool" "$args" | sha256sum | cut -c1-16)
if [[ ! -e $dir/answers/$key.code ]]; then
    printf 'fake %s: not replayed: %s\\n' "$tool" "$args" >&2
    exit 99
fi
cat "$dir/answers/$key.stdout"
cat "$dir/answers/$key.stderr" >&2
exit "$(cat "$dir/answers/$key.code")"
`;

/** The network namespace identity of a process ("net:[4026532…]"), or undefined when it is gone. */
function netnsOf(pid: number): string | undefined {
    try {
        return fs.readlinkSync(`/proc/${pid}/ns/net`);
    } catch {
        return undefined;
    }
}

/** Every PID in the network namespace `ns`. */
function pidsIn(ns: string): number[] {
    const out: number[] = [];
    for (const e of fs.readdirSync("/proc")) {
        if (!/^\d+$/.test(e)) continue;
        if (netnsOf(Number(e)) === ns) out.push(Number(e));
    }
    return out;
}

function killNamespace(ns: string | undefined): void {
    if (!ns) return;
    for (const pid of pidsIn(ns)) {
        try {
            process.kill(pid, "SIGKILL");
        } catch {
            /* gone */
        }
    }
}

/** A fresh ed25519 key pair: the private key file and the public `<type> <base64>`. */
export function keyPair(file: string): string {
    sh("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "", "-f", file]);
    return fs.readFileSync(`${file}.pub`, "utf8").trim().split(/\s+/).slice(0, 2).join(" ");
}

export async function startHosts(label: string, specs: readonly HostSpec[]): Promise<Hosts> {
    if (process.getuid?.() !== 0) throw new Error("startHosts needs root (namespaces, sshd)");
    const prefix = specs[0]!.address.split(".").slice(0, 3).join(".");
    for (const s of specs) {
        if (s.address.split(".").slice(0, 3).join(".") !== prefix)
            throw new Error(`${s.name}: every host of a site must be in ${prefix}.0/24`);
    }
    const root = fs.mkdtempSync(path.join(os.tmpdir(), `fakehosts-${label}-`));
    fs.chmodSync(root, 0o755);
    const stateDir = path.join(root, "state");
    const children: ChildProcess[] = [];
    const namespaces: string[] = [];
    let closed = false;

    const backstop = () => {
        for (const ns of namespaces) killNamespace(ns);
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

    const waitFor = async (what: string, cond: () => boolean, child?: ChildProcess, log?: string) => {
        for (let i = 0; ; i++) {
            if (cond()) return;
            if (child && (child.exitCode !== null || child.signalCode !== null)) {
                throw new Error(`${what} did not start: ${log ? fs.readFileSync(log, "utf8") : ""}`);
            }
            if (i > 1500) throw new Error(`${what}: not ready after 30 s`);
            await new Promise((r) => setTimeout(r, 20));
        }
    };

    try {
        // the switch: two bridges, the test client's address on mgmt
        const swLog = path.join(root, "switch.log");
        const swFd = fs.openSync(swLog, "a");
        const sw = spawn("unshare", ["--net", "--", "bash", "-c", SWITCH, "switch", `${prefix}.254`], { stdio: ["ignore", swFd, swFd] });
        fs.closeSync(swFd);
        children.push(sw);
        const myNs = netnsOf(process.pid);
        await waitFor(
            "switch namespace",
            () => {
                const ns = sw.pid !== undefined ? netnsOf(sw.pid) : undefined;
                return (
                    ns !== undefined &&
                    ns !== myNs &&
                    spawnSync("nsenter", [`--net=/proc/${sw.pid}/ns/net`, "ip", "link", "show", "links"]).status === 0
                );
            },
            sw,
            swLog,
        );
        namespaces.push(netnsOf(sw.pid!)!);
        const inSwitch = ["nsenter", `--net=/proc/${sw.pid}/ns/net`, "--"];

        // client key and the pinned known_hosts
        const client = path.join(root, "client");
        fs.mkdirSync(client, { mode: 0o700 });
        const clientKeyFile = path.join(client, "id_ed25519");
        keyPair(clientKeyFile);
        const clientPub = fs.readFileSync(`${clientKeyFile}.pub`, "utf8").trim();

        const hosts: FakeHost[] = [];
        for (const s of specs) {
            const dir = path.join(root, "hosts", s.name);
            fs.mkdirSync(path.join(dir, "sshd"), { recursive: true });
            const hostKey = keyPair(path.join(dir, "sshd", "ssh_host_ed25519_key"));
            hosts.push({
                name: s.name,
                address: s.address,
                port: 22,
                pve: s.pve ?? true,
                rootPassword: s.rootPassword ?? crypto.randomBytes(12).toString("base64url"),
                hostKey,
                dir,
            });
        }
        fs.writeFileSync(path.join(client, "known_hosts"), hosts.map((h) => `${h.address} ${h.hostKey}\n`).join(""));

        for (const h of hosts) {
            const sd = path.join(stateDir, "hosts", h.name);
            for (const d of ["pve-local", "corosync", "faults"]) fs.mkdirSync(path.join(sd, d), { recursive: true });
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
            for (const d of ["network/interfaces.d", "tmp", "replay/answers", "sys-class-watchdog", "sys-module"]) {
                fs.mkdirSync(path.join(h.dir, d), { recursive: true });
            }
            fs.writeFileSync(path.join(h.dir, "network", "interfaces"), INTERFACES(h.address));
            fs.chmodSync(path.join(h.dir, "tmp"), 0o1777);
            fs.writeFileSync(path.join(h.dir, "replay", "_replay"), REPLAY_SCRIPT, { mode: 0o755 });
            fs.writeFileSync(
                path.join(h.dir, "sshd", "sshd_config"),
                [
                    `ListenAddress ${h.address}:22`,
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

        const replayOnly = new Set(specs.filter((s) => s.replayOnly).map((s) => s.name));
        const hostPid = new Map<string, number>();
        const hostNs = new Map<string, string>();
        for (const [i, h] of hosts.entries()) {
            const logFile = path.join(h.dir, "boot.log");
            const log = fs.openSync(logFile, "a");
            const child = spawn(
                "unshare",
                [
                    "--net",
                    "--mount",
                    "--uts",
                    "--propagation",
                    "private",
                    "--",
                    "bash",
                    "-c",
                    BOOT,
                    "boot",
                    h.dir,
                    stateDir,
                    FAKES_DIR,
                    h.name,
                    h.pve ? "1" : "0",
                    replayOnly.has(h.name) ? "1" : "0",
                ],
                { stdio: ["ignore", log, log] },
            );
            fs.closeSync(log);
            children.push(child);
            await waitFor(`fake host ${h.name}`, () => fs.existsSync(path.join(h.dir, "ns-ready")), child, logFile);
            const pid = child.pid!;
            const ns = netnsOf(pid)!;
            namespaces.push(ns);
            hostPid.set(h.name, pid);
            hostNs.set(h.name, ns);
            const inHost = ["nsenter", `--net=/proc/${pid}/ns/net`, "--"];
            // veths from the switch into the host (names exist only inside the two namespaces)
            sh(inSwitch[0]!, [
                ...inSwitch.slice(1),
                "ip",
                "link",
                "add",
                `m${i}`,
                "type",
                "veth",
                "peer",
                "name",
                "vmbr0",
                "netns",
                String(pid),
            ]);
            sh(inSwitch[0]!, [...inSwitch.slice(1), "ip", "link", "set", `m${i}`, "master", "mgmt", "up"]);
            if (h.pve) {
                sh(inSwitch[0]!, [
                    ...inSwitch.slice(1),
                    "ip",
                    "link",
                    "add",
                    `l${i}`,
                    "type",
                    "veth",
                    "peer",
                    "name",
                    "eno1",
                    "netns",
                    String(pid),
                ]);
                sh(inSwitch[0]!, [...inSwitch.slice(1), "ip", "link", "set", `l${i}`, "master", "links", "up"]);
            }
            const setup = [
                "set -e",
                "ip link set lo up",
                "ip addr del 127.0.0.1/8 dev lo 2>/dev/null || true",
                "ip addr add 127.0.0.1/32 dev lo",
                "for k in all default vmbr0; do sysctl -qw net.ipv4.conf.$k.route_localnet=1; done",
                `ip addr add ${h.address}/24 dev vmbr0`,
                "ip link set vmbr0 up",
                ...(h.pve ? ["sysctl -qw net.ipv4.conf.eno1.route_localnet=1", "ip link set eno1 up"] : []),
            ].join("\n");
            sh(inHost[0]!, [...inHost.slice(1), "bash", "-c", setup]);
            fs.writeFileSync(
                path.join(stateDir, "hosts", h.name, "host.json"),
                JSON.stringify({
                    name: h.name,
                    address: h.address,
                    pve: h.pve,
                    sshPort: h.port,
                    hostKey: h.hostKey,
                    pid,
                    rootPasswordSha256: crypto.createHash("sha256").update(h.rootPassword).digest("hex"),
                }),
            );
            fs.writeFileSync(path.join(h.dir, "net-ready"), "");
        }

        // Ready = every sshd accepts connections, seen from the switch.
        for (const [i, h] of hosts.entries()) {
            const probe = `for i in $(seq 1500); do (exec 3<>/dev/tcp/${h.address}/22) 2>/dev/null && exit 0; sleep 0.02; done; exit 1`;
            const r = spawnSync(inSwitch[0]!, [...inSwitch.slice(1), "bash", "-c", probe]);
            if (r.status !== 0) {
                throw new Error(
                    `fake host ${h.name} did not start (${children[i + 1]?.exitCode}): ${fs.readFileSync(path.join(h.dir, "boot.log"), "utf8")}`,
                );
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
                    inSwitch[0]!,
                    [
                        ...inSwitch.slice(1),
                        "ssh",
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
                        `IdentityFile=${clientKeyFile}`,
                        "-o",
                        "ConnectTimeout=10",
                        "-o",
                        "LogLevel=ERROR",
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

        const exec = (name: string, command: string): RunResult => {
            get(name);
            const pid = hostPid.get(name)!;
            const r = spawnSync("nsenter", [`--target=${pid}`, "--net", "--mount", "--uts", "--", "bash", "-c", command], {
                encoding: "utf8",
                env: { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", HOME: "/root", LC_ALL: "C" },
                cwd: "/",
            });
            return { code: r.status ?? 128, stdout: r.stdout, stderr: r.stderr };
        };

        const hostState = (name: string) => path.join(stateDir, "hosts", get(name).name);
        const replayDir = (name: string) => path.join(get(name).dir, "replay");

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
            for (const ns of namespaces.slice(1)) killNamespace(ns);
            await stopChildren(children);
            fs.rmSync(root, { recursive: true, force: true });
            process.removeListener("exit", backstop);
        };

        const write = (p: string, text: string) => {
            fs.mkdirSync(path.dirname(p), { recursive: true });
            fs.writeFileSync(p, text);
        };

        return {
            root,
            stateDir,
            clientKeyFile,
            switchPrefix: inSwitch,
            overlaysOnDisk: hosts.every((h) => fs.readFileSync(path.join(h.dir, "overlays-on-disk"), "utf8").trim() === "1"),
            host: get,
            run,
            exec,
            link: (name, iface, up) => {
                const r = exec(name, `ip link set ${iface} ${up ? "up" : "down"}`);
                if (r.code !== 0) throw new Error(`ip link set ${iface} on ${name}: ${r.stderr}`);
            },
            pids: (name, exe) => {
                get(name);
                return pidsIn(hostNs.get(name)!).filter((pid) => {
                    try {
                        return fs.readlinkSync(`/proc/${pid}/exe`) === exe;
                    } catch {
                        return false;
                    }
                });
            },
            fault: (name, fault, message) => fs.writeFileSync(path.join(hostState(name), "faults", fault), message ?? ""),
            replay: (name, tool, args, answer) => {
                const dir = replayDir(name);
                if (!fs.existsSync(path.join(dir, tool))) fs.symlinkSync("_replay", path.join(dir, tool));
                const key = crypto.createHash("sha256").update(`${tool} ${args}`).digest("hex").slice(0, 16);
                write(path.join(dir, "answers", `${key}.stdout`), answer.stdout);
                write(path.join(dir, "answers", `${key}.stderr`), answer.stderr);
                write(path.join(dir, "answers", `${key}.code`), `${answer.code}\n`);
            },
            replayCalls: (name) => {
                const f = path.join(replayDir(name), "calls.log");
                return fs.existsSync(f)
                    ? fs
                          .readFileSync(f, "utf8")
                          .split("\n")
                          .filter((l) => l !== "")
                    : [];
            },
            resetReplay: (name) => {
                const dir = replayDir(name);
                for (const e of fs.readdirSync(dir)) {
                    if (fs.lstatSync(path.join(dir, e)).isSymbolicLink()) fs.rmSync(path.join(dir, e));
                }
                fs.rmSync(path.join(dir, "answers"), { recursive: true, force: true });
                fs.mkdirSync(path.join(dir, "answers"));
                fs.rmSync(path.join(dir, "calls.log"), { force: true });
            },
            softdogInUse: (name) => {
                const dir = get(name).dir;
                write(path.join(dir, "sys-module", "softdog", "initstate"), "live\n");
                write(path.join(dir, "sys-class-watchdog", "watchdog0", "identity"), "Software Watchdog\n");
                fs.writeFileSync(path.join(dir, "tmp", "watchdog-mux"), WATCHDOG_MUX_STANDIN, { mode: 0o755 });
                const r = exec(
                    name,
                    "setsid -f /tmp/watchdog-mux /tmp/watchdog-mux.ready </dev/null >/dev/null 2>&1; while [ ! -e /tmp/watchdog-mux.ready ]; do sleep 0.05; done",
                );
                if (r.code !== 0) throw new Error(`watchdog-mux stand-in on ${name}: ${r.stderr}`);
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
