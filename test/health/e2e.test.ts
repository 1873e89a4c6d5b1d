/**
 * End to end: the real CLI (`tsx tools/health/cli.ts --file … --identity …`)
 * against real OpenSSH servers (127.0.60.x, the fake hosts of
 * test/harness/hosts.ts in replay-only mode: one sshd per host in its own
 * network/mount/UTS namespace, throwaway host and client keys, host keys
 * pinned in a test stack file derived from Pulumi.prod.yaml; the CLI runs in
 * the harness's switch namespace), whose PATH carries replay fakes of pvecm,
 * corosync-qdevice-tool, pvesr, zpool, ha-manager, date and systemctl
 * answering with the documented outputs of fixtures.ts. The watchdog rows are
 * not replayed: the CLI's own probe reads the host's /etc/default/pve-ha-manager,
 * a sysfs layout with softdog in use and a stand-in watchdog-mux holding its
 * /dev/watchdog. The same checks against the REAL corosync, QDevice and QNetd
 * states: test/scripts/quorum.test.ts.
 *
 * Proves: a healthy site exits 0 and prints exactly the table the checks
 * compute from those outputs (so SSH carries stdout, stderr and exit codes
 * faithfully), and --json is the same report; one node down (corosync
 * stopped, SSH up), a failing replication job and a degraded pool exit 1
 * with the right ✗ rows; unrecognised output exits 2; a host with nothing
 * listening, a host whose key differs from the pinned one ("host key
 * mismatch", and not one command runs there) and a host that accepts TCP but
 * never speaks SSH (per-host timeout) each exit 2 with a one-line message
 * while the other hosts are still fully reported; the key is taken from
 * --identity, PROXMOX_HA_SSH_KEY or an SSH agent, and without any the CLI
 * exits 2 with a clear message; no run ever prints a stack trace; every host
 * only ever ran the read-only commands the replay fakes answer.
 * Does NOT prove: that real Proxmox nodes print these outputs (see
 * parsers.test.ts and the reference), nor anything about networks other than
 * loopback. Needs root (namespaces, sshd).
 */
import { after, before, describe, it } from "node:test";
import * as assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse, stringify } from "yaml";
import { evaluate, type HealthReport, type HostProbe } from "../../tools/health/checks";
import { loadStackSite } from "../../tools/health/load";
import { renderReport } from "../../tools/health/report";
import { fingerprint } from "../../tools/health/ssh";
import type { Site } from "../../components/model";
import { ROOT } from "../../tools/lib/stack";
import { keyPair, startHosts, type Hosts } from "../harness/hosts";
import { res, SCENARIOS, WATCHDOG_DEFAULT_SOFTDOG, WATCHDOG_PROBE_SOFTDOG, type Scenario } from "./fixtures";

/** The argument lists each replayed command key answers (as tools/health/commands.ts sends them). */
const REPLAYED: Readonly<Record<string, readonly [tool: string, args: string]>> = {
    pvecm: ["pvecm", "status"],
    qdevice: ["corosync-qdevice-tool", "-s"],
    pvesr: ["pvesr", "status"],
    clock: ["date", "+%Y-%m-%d_%H:%M:%S"],
    zpoolList: ["zpool", "list -H -o name,health"],
    zpoolStatus: ["zpool", "status -x"],
    ha: ["ha-manager", "status"],
    qnetd: ["systemctl", "is-active corosync-qnetd"],
};

const NET = "127.0.60";
const TSX = path.join(ROOT, "node_modules", ".bin", "tsx");
const CLI = path.join(ROOT, "tools", "health", "cli.ts");
/** The read-only command lines every node runs (the qnetd host runs the last one only). */
const NODE_CALLS = Object.entries(REPLAYED)
    .filter(([k]) => k !== "qnetd")
    .map(([, [t, a]]) => `${t} ${a}`)
    .sort();

let hosts: Hosts;
let dir: string;
let agent: ChildProcess | undefined;
let silentServer: ChildProcess | undefined;

interface Run {
    readonly code: number | null;
    readonly stdout: string;
    readonly stderr: string;
}

function cli(args: readonly string[], env: Record<string, string> = {}): Promise<Run> {
    const base = { ...process.env };
    delete base.SSH_AUTH_SOCK;
    delete base.PROXMOX_HA_SSH_KEY;
    return new Promise((resolve, reject) => {
        const p = spawn(hosts.switchPrefix[0]!, [...hosts.switchPrefix.slice(1), TSX, CLI, ...args], {
            cwd: ROOT,
            env: { ...base, ...env },
            stdio: ["ignore", "pipe", "pipe"],
        });
        let stdout = "";
        let stderr = "";
        p.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
        p.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
        p.once("error", reject);
        p.once("close", (code) => {
            if (process.env.HEALTH_E2E_RECORD) {
                fs.appendFileSync(
                    process.env.HEALTH_E2E_RECORD,
                    `$ npm run health -- ${args.join(" ")}\n${stdout}${stderr}(exit ${code})\n\n`,
                );
            }
            resolve({ code, stdout, stderr });
        });
    });
}

/** The test stack: Pulumi.prod.yaml with the node and qnetd addresses, ports and host keys of the fake hosts. */
function writeStack(
    name: string,
    change: (nodes: Record<string, unknown>[], qdevice: Record<string, unknown>) => void = () => undefined,
): string {
    const doc = parse(fs.readFileSync(path.join(ROOT, "Pulumi.prod.yaml"), "utf8")) as { config: Record<string, unknown> };
    const nodes = doc.config["proxmox-ha:nodes"] as Record<string, unknown>[];
    for (const n of nodes) {
        const h = hosts.host(n.name as string);
        Object.assign(n, { address: h.address, sshPort: h.port, sshHostKey: h.hostKey });
    }
    const qd = doc.config["proxmox-ha:qdevice"] as Record<string, unknown>;
    const q = hosts.host("qnetd");
    Object.assign(qd, { address: q.address, sshPort: q.port, sshHostKey: q.hostKey });
    change(nodes, qd);
    const file = path.join(dir, `Pulumi.${name}.yaml`);
    fs.writeFileSync(file, stringify(doc));
    return file;
}

/** corosync-qdevice-tool names the qnetd host it talks to: the fake qnetd's address, not prod's. */
function localise(key: string, stdout: string): string {
    return key === "qdevice" ? stdout.replace("10.0.0.120:5403", `${hosts.host("qnetd").address}:5403`) : stdout;
}

/** Records the scenario's answers on every fake host (watchdog rows come from the real files). */
function replay(s: Scenario): void {
    for (const name of ["prox1", "prox2", "qnetd"]) {
        hosts.resetReplay(name);
        const results = name === "qnetd" ? (s.qnetd ?? {}) : (s.nodes[name] ?? SCENARIOS.healthy.nodes[name as "prox1"]);
        for (const [key, r] of Object.entries(results)) {
            const cmd = REPLAYED[key];
            if (cmd && r) hosts.replay(name, cmd[0], cmd[1], { stdout: localise(key, r.stdout), stderr: r.stderr, code: r.code ?? 255 });
        }
    }
}

/** What the checks compute in-process from the same outputs (the watchdog ones as the real files produce them). */
function expected(stack: string, file: string, s: Scenario): HealthReport {
    const l = loadStackSite(stack, file);
    assert.ok(l.site, JSON.stringify(l.problems));
    const site: Site = l.site;
    const nodes = new Map<string, HostProbe>();
    for (const n of site.nodes) {
        const results = Object.fromEntries(
            Object.entries(s.nodes[n.name] ?? {}).map(([k, r]) => [k, { ...r!, stdout: localise(k, r!.stdout) }]),
        );
        nodes.set(n.name, {
            results: { ...results, watchdogConf: res(WATCHDOG_DEFAULT_SOFTDOG), watchdogInUse: res(WATCHDOG_PROBE_SOFTDOG) },
        });
    }
    return evaluate(stack, site, { nodes, ...(s.qnetd ? { qdevice: { results: s.qnetd } } : {}) });
}

/** The table row of one check, as printed: "  ✗  <check>  <measured> …". */
function line(out: string, mark: "✓" | "✗" | "?", check: string): string {
    const l = out.split("\n").find((x) => x.startsWith(`  ${mark}  ${check}  `));
    assert.ok(l, `no row "${mark}  ${check}" in:\n${out}`);
    return l;
}

/** The block of one host's table. */
function table(out: string, title: RegExp): string {
    const block = out.split("\n\n").find((b) => title.test(b.split("\n")[0]!));
    assert.ok(block, `no table ${title} in:\n${out}`);
    return block;
}

function noTrace(r: Run): void {
    assert.doesNotMatch(r.stdout + r.stderr, /\n\s+at .+:\d+:\d+/, "a stack trace was printed");
}

before(async () => {
    hosts = await startHosts("health", [
        { name: "prox1", address: `${NET}.11`, replayOnly: true },
        { name: "prox2", address: `${NET}.12`, replayOnly: true },
        { name: "qnetd", address: `${NET}.20`, pve: false, replayOnly: true },
    ]);
    dir = path.join(hosts.root, "stacks");
    fs.mkdirSync(dir);
    for (const n of ["prox1", "prox2"]) {
        fs.writeFileSync(path.join(hosts.host(n).dir, "tmp", "pve-ha-manager"), WATCHDOG_DEFAULT_SOFTDOG);
        assert.equal(hosts.exec(n, "cp /tmp/pve-ha-manager /etc/default/pve-ha-manager && rm /tmp/pve-ha-manager").code, 0);
        hosts.softdogInUse(n);
    }
});

after(async () => {
    agent?.kill();
    silentServer?.kill();
    await hosts?.close();
});

describe("scenarios over real OpenSSH", () => {
    it("healthy site: exit 0, exactly the computed table, only read-only commands ran", async () => {
        const file = writeStack("e2e");
        replay(SCENARIOS.healthy);
        const r = await cli(["--file", file, "--identity", hosts.clientKeyFile]);
        assert.equal(r.stderr, "");
        assert.equal(r.code, 0, r.stdout);
        assert.equal(r.stdout, renderReport(expected("e2e", file, SCENARIOS.healthy)));
        assert.match(line(r.stdout, "✓", "quorate"), /Yes \(3 of 3 votes, quorum 2\) +Yes$/);
        assert.match(line(r.stdout, "✓", "watchdog in use"), /softdog \(reboot pending: no\) +softdog$/);
        assert.match(r.stdout, /e2e \(cluster prod\): HEALTHY \(exit 0\)/);
        for (const n of ["prox1", "prox2"]) assert.deepEqual(hosts.replayCalls(n).sort(), NODE_CALLS, n);
        assert.deepEqual(hosts.replayCalls("qnetd"), ["systemctl is-active corosync-qnetd"]);
    });

    it("--json is the same report", async () => {
        const file = writeStack("e2e");
        replay(SCENARIOS.healthy);
        const r = await cli(["--file", file, "--identity", hosts.clientKeyFile, "--json"]);
        assert.equal(r.code, 0);
        assert.deepEqual(JSON.parse(r.stdout), JSON.parse(JSON.stringify(expected("e2e", file, SCENARIOS.healthy))));
    });

    it("one node down (prox2's corosync stopped, SSH up): exit 1, prox1 still quorate with 2 votes", async () => {
        const file = writeStack("e2e");
        replay(SCENARIOS.nodeDown);
        const r = await cli(["--file", file, "--identity", hosts.clientKeyFile]);
        assert.equal(r.code, 1, r.stdout);
        noTrace(r);
        assert.equal(r.stdout, renderReport(expected("e2e", file, SCENARIOS.nodeDown)));
        const p1 = table(r.stdout, /^node prox1 /);
        assert.match(line(p1, "✓", "quorate"), /Yes \(2 of 3 votes, quorum 2\)/);
        assert.match(line(p1, "✗", "total votes"), /2 +3 +a vote is missing/);
        assert.match(line(p1, "✗", "members"), /prox1 \(1 node\) +prox1, prox2 +prox2 not in prox1's partition/);
        const p2 = table(r.stdout, /^node prox2 /);
        assert.match(line(p2, "✗", "corosync"), /not running \(Cannot initialize CMAP service\)/);
        assert.match(line(p2, "✗", "QDevice daemon"), /Can't connect to QDevice socket/);
        assert.match(line(p2, "✗", "HA LRM"), /old timestamp - dead\? \(seen from prox1\)/);
        assert.match(r.stdout, /DEGRADED \(exit 1\)/);
    });

    it("replication failing: exit 1 with the error text and `never` synced", async () => {
        const file = writeStack("e2e");
        replay(SCENARIOS.replicationFailing);
        const r = await cli(["--file", file, "--identity", hosts.clientKeyFile]);
        assert.equal(r.code, 1, r.stdout);
        assert.match(
            line(r.stdout, "✗", "replication 101-492612 (vm 101 fw)"),
            /No common base snapshot on volume\(s\) pool1:vm-101-disk-0 \(3 failures, last sync never, on prox1 → local\/prox2\).*pvesr schedule-now 101-492612/,
        );
        assert.equal(r.stdout.split("\n").filter((l) => /^ {2}[✗?] /.test(l)).length, 1, r.stdout);
    });

    it("degraded pool on prox2: exit 1, ✗ pool pool1 with zpool's status text", async () => {
        const file = writeStack("e2e");
        replay(SCENARIOS.degradedPool);
        const r = await cli(["--file", file, "--identity", hosts.clientKeyFile]);
        assert.equal(r.code, 1, r.stdout);
        assert.match(
            line(table(r.stdout, /^node prox2 /), "✗", "pool pool1"),
            /DEGRADED: One or more devices has been taken offline.*zpool status -v pool1/,
        );
        assert.match(line(table(r.stdout, /^node prox1 /), "✓", "pool pool1"), /ONLINE, no errors/);
    });

    it("unrecognised output: exit 2 (cannot tell), never a verdict on it", async () => {
        const file = writeStack("e2e");
        replay(SCENARIOS.unrecognised);
        const r = await cli(["--file", file, "--identity", hosts.clientKeyFile]);
        assert.equal(r.code, 2, r.stdout);
        assert.match(line(table(r.stdout, /^node prox2 /), "?", "cluster (pvecm status)"), /pvecm status exited 139: Segmentation fault/);
        assert.match(r.stdout, /CANNOT TELL \(exit 2\)/);
    });
});

describe("hosts that cannot be asked", () => {
    it("nothing listening at prox2's address: exit 2, a clear message, prox1 and qnetd still reported", async () => {
        // prox2's address, a port where nothing listens
        const port = 2222;
        const file = writeStack("e2e", (nodes) => Object.assign(nodes[1]!, { sshPort: port }));
        replay(SCENARIOS.healthy);
        const r = await cli(["--file", file, "--identity", hosts.clientKeyFile]);
        assert.equal(r.code, 2, r.stdout);
        noTrace(r);
        assert.match(
            line(table(r.stdout, /^node prox2 /), "?", "ssh"),
            new RegExp(`unreachable: ${NET}\\.12:${port} refused the connection \\(no sshd\\?\\)`),
        );
        assert.match(line(table(r.stdout, /^node prox1 /), "✓", "quorate"), /Yes \(3 of 3 votes/);
        assert.match(line(table(r.stdout, /^qnetd host /), "✓", "corosync-qnetd"), /active/);
        assert.deepEqual(hosts.replayCalls("prox1").sort(), NODE_CALLS);
    });

    it("prox2's host key differs from the pinned one: 'host key mismatch', refused, not one command ran there", async () => {
        const other = keyPair(path.join(dir, `other-${Date.now()}`));
        const file = writeStack("e2e", (nodes) => Object.assign(nodes[1]!, { sshHostKey: other }));
        replay(SCENARIOS.healthy);
        const r = await cli(["--file", file, "--identity", hosts.clientKeyFile]);
        assert.equal(r.code, 2, r.stdout);
        noTrace(r);
        const h = hosts.host("prox2");
        const fp = (k: string) => fingerprint(Buffer.from(k.split(" ")[1]!, "base64"));
        const row = line(table(r.stdout, /^node prox2 /), "?", "ssh");
        assert.ok(
            row.includes(
                `host key mismatch: ${h.address}:${h.port} presented ssh-ed25519 ${fp(h.hostKey)}, the stack pins ssh-ed25519 ${fp(other)}; refused`,
            ),
            row,
        );
        assert.deepEqual(hosts.replayCalls("prox2"), [], "no command may run on a host whose key does not match");
        assert.match(line(table(r.stdout, /^node prox1 /), "✓", "quorate"), /Yes/);
        assert.match(line(table(r.stdout, /^qnetd host /), "✓", "corosync-qnetd"), /active/);
    });

    it("a host that accepts TCP but never speaks SSH is cut off by the per-host timeout; the others are reported", async () => {
        // The switch's own address, in the switch namespace: accepts TCP, never says a word.
        const address = `${NET}.254`;
        const port = 2200;
        const listen = `import socket, sys\ns = socket.socket()\ns.bind(("${address}", ${port}))\ns.listen()\nprint("ready", flush=True)\nc = []\nwhile True:\n    c.append(s.accept())\n`;
        silentServer = spawn(hosts.switchPrefix[0]!, [...hosts.switchPrefix.slice(1), "python3", "-c", listen], {
            stdio: ["ignore", "pipe", "ignore"],
        });
        await new Promise<void>((resolve) => silentServer!.stdout!.once("data", () => resolve()));
        const file = writeStack("e2e", (_nodes, qd) => Object.assign(qd, { address, sshPort: port }));
        replay(SCENARIOS.healthy);
        const r = await cli(["--file", file, "--identity", hosts.clientKeyFile, "--timeout", "10"]);
        assert.equal(r.code, 2, r.stdout);
        noTrace(r);
        assert.match(line(table(r.stdout, /^qnetd host /), "?", "ssh"), /timed out/);
        for (const n of ["prox1", "prox2"]) assert.deepEqual(hosts.replayCalls(n).sort(), NODE_CALLS, n);
        // The nodes' own QDevice view is still read and judged.
        assert.match(line(table(r.stdout, /^node prox1 /), "✗", "QDevice connection"), /Connected to 127\.0\.60\.20:5403/);
    });
});

describe("where the SSH key comes from", () => {
    it("PROXMOX_HA_SSH_KEY (the private key text)", async () => {
        const file = writeStack("e2e");
        replay(SCENARIOS.healthy);
        const r = await cli(["--file", file], { PROXMOX_HA_SSH_KEY: fs.readFileSync(hosts.clientKeyFile, "utf8") });
        assert.equal(r.code, 0, r.stdout + r.stderr);
    });

    it("an SSH agent (SSH_AUTH_SOCK)", async () => {
        const sock = path.join(dir, "agent.sock");
        agent = spawn("ssh-agent", ["-D", "-a", sock], { stdio: "ignore" });
        for (let i = 0; i < 200 && !fs.existsSync(sock); i++) await new Promise((r) => setTimeout(r, 25));
        const add = spawnSync("ssh-add", [hosts.clientKeyFile], { env: { ...process.env, SSH_AUTH_SOCK: sock }, encoding: "utf8" });
        assert.equal(add.status, 0, add.stderr);
        const file = writeStack("e2e");
        replay(SCENARIOS.healthy);
        const r = await cli(["--file", file], { SSH_AUTH_SOCK: sock });
        assert.equal(r.code, 0, r.stdout + r.stderr);
        agent.kill();
    });

    it("no key at all: exit 2 with what to do, nothing printed as a verdict", async () => {
        const file = writeStack("e2e");
        const r = await cli(["--file", file]);
        assert.equal(r.code, 2);
        assert.equal(r.stdout, "");
        assert.equal(
            r.stderr,
            "health: no SSH key: pass --identity FILE, set PROXMOX_HA_SSH_KEY to the private key, or start an SSH agent (SSH_AUTH_SOCK)\n",
        );
    });
});
