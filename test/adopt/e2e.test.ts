/**
 * Proves, end to end over real OpenSSH on the fake hosts (test/harness/hosts.ts):
 * a prod-like site built by hand the way operators build it — `pvecm create`,
 * `pvecm add` with the certificate fingerprint and the root password,
 * ssh-copy-id of the node's key to the qnetd host and `pvecm qdevice setup`
 * (the fakes' pvecm, a port of pve-cluster, with the real corosync, qdevice and
 * qnetd daemons), then the pool (`zpool`/`zfs` replayed in OpenZFS's output
 * format: no ZFS runs inside the fake hosts), the storage, the
 * guest, its replication job `101-0` and its HA resource and rule in the
 * formats their tools write (handbuilt.ts) — is adopted by `npm run adopt`:
 * run as its own process in the hosts' network (the harness's switch namespace),
 * an unpinned host key stops it (exit 2, fingerprint shown, nothing written);
 * with the keys pinned it reads the site with read-only commands only (no
 * fake command that changes state runs), writes a stack that validates, whose
 * corosync facts are the ones pvecm wrote, whose job keeps its id 101-0 and
 * whose imports cover every existing object; a second run leaves the file
 * unchanged; the plan of that stack under the mock runtime imports every
 * existing object and creates none of them.
 * Does not prove: the provider's reads of those ids.
 */
import { after, before, describe, it } from "node:test";
import * as assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { validateSite } from "../../components/validate";
import { loadStackSite } from "../../tools/health/load";
import { ROOT } from "../../tools/lib/stack";
import { startHosts, type Hosts } from "../harness/hosts";
import { runRaw } from "../api/harness";
import { handBuilt } from "./handbuilt";

const NET = "127.0.61";
const TSX = path.join(ROOT, "node_modules", ".bin", "tsx");
const CLI = path.join(ROOT, "tools", "adopt", "cli.ts");
const PASSWORD = "adopt-root-password-61";

describe("adopt over SSH, a site built by hand", () => {
    let site: Hosts;
    let dir: string;
    let keyFile: string;
    const out = () => path.join(dir, "Pulumi.prod.yaml");
    const pins = () => ["prox1", "prox2", "qnetd"].flatMap((h) => ["--host-key", `${site.host(h).address}=${site.host(h).hostKey}`]);
    const ports = (): string[] => [];
    /** `npm run adopt` as a separate process, inside the switch namespace where the hosts' addresses are reachable. */
    const adopt = (args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> =>
        new Promise((resolve, reject) => {
            const env = { ...process.env };
            delete env.SSH_AUTH_SOCK;
            delete env.PROXMOX_HA_SSH_KEY;
            const [cmd, ...pre] = site.switchPrefix;
            const p = spawn(cmd!, [...pre, TSX, CLI, ...args], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
            let stdout = "";
            let stderr = "";
            p.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
            p.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
            p.once("error", reject);
            p.once("close", (code) => resolve({ code, stdout, stderr }));
        });

    before(async () => {
        site = await startHosts("adopt", [
            { name: "prox1", address: `${NET}.11`, rootPassword: PASSWORD },
            { name: "prox2", address: `${NET}.12` },
            { name: "qnetd", address: `${NET}.20`, pve: false },
        ]);
        dir = fs.mkdtempSync(path.join(site.root, "out-"));
        keyFile = site.clientKeyFile;
        const must = async (host: string, cmd: string, stdin?: string) => {
            const r = await site.run(host, cmd, stdin);
            assert.equal(r.code, 0, `${host}: ${cmd}: ${r.stderr}${r.stdout}`);
            return r.stdout;
        };
        // The cluster, as an operator forms it.
        await must("prox1", `pvecm create prod --link0 ${NET}.11`);
        const fp = (await must("prox1", "openssl x509 -noout -fingerprint -sha256 -in /etc/pve/nodes/prox1/pve-ssl.pem"))
            .trim()
            .split("=")[1]!;
        await must("prox2", `pvecm add ${NET}.11 --link0 ${NET}.12 --fingerprint ${fp}`, `${PASSWORD}\n`);
        // ssh-copy-id root@qnetd (the operator types the qnetd root password) and accepting its host key.
        const pub = await must("prox1", "cat /root/.ssh/id_rsa.pub");
        fs.appendFileSync(path.join(site.host("qnetd").dir, "root-ssh", "authorized_keys"), pub);
        await must("prox1", `printf '%s %s\\n' ${NET}.20 '${site.host("qnetd").hostKey}' >>/root/.ssh/known_hosts`);
        await must("prox1", `pvecm qdevice setup ${NET}.20`);

        // The rest, as pvesm/qm/pvesr/ha-manager and the node's ZFS leave it.
        const prod = loadStackSite("prod").site!;
        const example = {
            ...prod,
            nodes: prod.nodes.map((n, i) => ({ ...n, address: `${NET}.1${i + 1}`, links: [{ address: `${NET}.1${i + 1}` }] })),
            qdevice: { ...prod.qdevice!, address: `${NET}.20` },
        };
        const hb = handBuilt(example);
        const files: Record<string, string> = {
            "storage.cfg": hb.storageCfg,
            "replication.cfg": hb.replicationCfg,
            "ha/resources.cfg": hb.haResourcesCfg,
            "ha/rules.cfg": hb.haRulesCfg,
            "datacenter.cfg": hb.datacenterCfg,
            ...Object.fromEntries(Object.entries(hb.guestConfigs).map(([p, t]) => [`nodes/${p}`, t])),
        };
        for (const [rel, text] of Object.entries(files)) {
            await must("prox1", `mkdir -p "$(dirname /etc/pve/${rel})" && cat >/etc/pve/${rel}`, text);
        }
        for (const n of hb.nodes) {
            fs.writeFileSync(path.join(site.host(n.name).dir, "network", "interfaces"), n.interfaces);
            // The node's pool as OpenZFS prints it (no ZFS runs inside the fake hosts).
            site.replay(n.name, "zpool", "status -P pool1", { code: 0, stdout: n.zpoolStatus, stderr: "" });
            site.replay(n.name, "zpool", "get -H -p -o value ashift pool1", { code: 0, stdout: n.ashift, stderr: "" });
            site.replay(n.name, "zfs", "get -H -o value compression pool1", { code: 0, stdout: n.compression, stderr: "" });
        }
    });
    after(async () => site?.close());

    it("stops on a host key nothing pins, shows its fingerprint and writes nothing", async () => {
        const r = await adopt(["--host", `${NET}.11`, ...ports(), "--identity", keyFile, "--out", out()]);
        assert.equal(r.code, 2);
        assert.match(r.stderr, new RegExp(`${NET.replace(/\./g, "\\.")}\\.11:\\d+ presents ssh-ed25519 SHA256:\\S+, which nothing pins`));
        assert.ok(r.stderr.includes(`--host-key ${NET}.11='${site.host("prox1").hostKey}'`));
        assert.equal(fs.existsSync(out()), false);
    });

    it("refuses a pinned key the host does not have", async () => {
        const wrong = ["--host-key", `${NET}.11=${site.host("prox2").hostKey}`];
        const r = await adopt(["--host", `${NET}.11`, ...wrong, ...ports(), "--identity", keyFile, "--out", out()]);
        assert.equal(r.code, 2);
        assert.match(r.stderr, /host key mismatch/);
        assert.equal(fs.existsSync(out()), false);
    });

    it("adopts: a valid stack with pvecm's cluster, the job 101-0 and an import for every existing object; read-only", async () => {
        const before = Object.fromEntries(["prox1", "prox2"].map((h) => [h, site.calls(h).length]));
        const r = await adopt([
            "--host",
            `${NET}.11`,
            "--node",
            `prox2=${NET}.12`,
            ...pins(),
            ...ports(),
            "--identity",
            keyFile,
            "--out",
            out(),
        ]);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /wrote .*Pulumi\.prod\.yaml: 8 existing objects to import/);
        // Only the replayed status commands and file reads ran; no pvecm/pvesh/pveum/ip/ifreload call.
        for (const h of ["prox1", "prox2"]) {
            assert.deepEqual(site.calls(h).slice(before[h]), [], `${h}: no stateful fake ran`);
            assert.deepEqual(site.replayCalls(h).sort(), [
                "zfs get -H -o value compression pool1",
                "zpool get -H -p -o value ashift pool1",
                "zpool status -P pool1",
            ]);
        }
        const doc = parse(fs.readFileSync(out(), "utf8")) as { config: Record<string, unknown> };
        const raw = Object.fromEntries(Object.entries(doc.config).map(([k, v]) => [k.replace(/^proxmox-ha:/, ""), v]));
        const v = validateSite(raw);
        assert.deepEqual(v.problems, []);
        const s = v.site!;
        assert.equal(s.cluster.name, "prod");
        assert.deepEqual(
            s.nodes.map((n) => [n.name, n.address, n.links.map((l) => l.address), n.sshHostKey, n.sshPort]),
            ["prox1", "prox2"].map((h) => [h, site.host(h).address, [site.host(h).address], site.host(h).hostKey, site.host(h).port]),
        );
        assert.deepEqual(s.qdevice, {
            address: `${NET}.20`,
            sshHostKey: site.host("qnetd").hostKey,
            sshPort: site.host("qnetd").port,
            tieBreaker: "lowest",
        });
        assert.deepEqual(s.guests[0]!.replicationJobIds, { prox2: "101-0" });
        assert.deepEqual(raw.import, {
            "prod-api-cluster-options": "cluster",
            "prod-api-ha-101": "vm:101",
            "prod-api-harule-ha-guest-101": "ha-guest-101",
            "prod-api-replication-101-0": "101-0",
            "prod-api-storage": "pool1",
            "prod-api-vlan-prox1-20": "prox1:eno1.20",
            "prod-api-vlan-prox2-20": "prox2:eno1.20",
            "prod-api-vm-101": "prox1/101",
        });
    });

    /** adopt on a terminal (util-linux `script` gives it a pty), typing `answer` at its question. */
    const adoptOnTerminal = (args: readonly string[], answer: string): Promise<{ code: number | null; output: string }> =>
        new Promise((resolve, reject) => {
            const env = { ...process.env };
            delete env.SSH_AUTH_SOCK;
            delete env.PROXMOX_HA_SSH_KEY;
            const q = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`;
            const [cmd, ...pre] = site.switchPrefix;
            const line = [TSX, CLI, ...args].map(q).join(" ");
            const p = spawn(cmd!, [...pre, "script", "-qec", line, "/dev/null"], { cwd: ROOT, env, stdio: ["pipe", "pipe", "pipe"] });
            let output = "";
            let answered = false;
            p.stdout.setEncoding("utf8").on("data", (d: string) => {
                output += d;
                // readline moves the cursor after the prompt, so the prompt is not the last bytes.
                if (!answered && /\(yes\/no\) /.test(output)) {
                    answered = true;
                    p.stdin.write(`${answer}\n`);
                }
            });
            p.stderr.setEncoding("utf8").on("data", (d: string) => (output += d));
            p.once("error", reject);
            p.once("close", (code) => resolve({ code, output }));
            setTimeout(() => p.kill("SIGKILL"), 60_000).unref();
        });

    it("on a terminal, shows the unpinned key's fingerprint and pins it only after an explicit yes", async () => {
        const other = path.join(dir, "Pulumi.tty.yaml");
        const partial = ["prox2", "qnetd"].flatMap((h) => ["--host-key", `${site.host(h).address}=${site.host(h).hostKey}`]);
        const args = ["--host", `${NET}.11`, "--node", `prox2=${NET}.12`, ...partial, "--identity", keyFile, "--out", other];
        const no = await adoptOnTerminal(args, "y");
        assert.equal(no.code, 2, no.output);
        assert.match(
            no.output,
            new RegExp(`${NET.replace(/\./g, "\\.")}\\.11:22 presents ssh-ed25519 SHA256:\\S+\\. Is this that host's key\\? \\(yes/no\\)`),
        );
        assert.match(no.output, /host key of \S+ not confirmed; nothing written/);
        assert.equal(fs.existsSync(other), false, "anything but yes writes nothing");
        const yes = await adoptOnTerminal(args, "yes");
        assert.equal(yes.code, 0, yes.output);
        assert.match(yes.output, /pinned 127\.0\.61\.11: SHA256:\S+ \(confirmed on the terminal/);
        assert.equal(fs.readFileSync(other, "utf8"), fs.readFileSync(out(), "utf8"), "the same stack as with every key pinned");
    });

    it("a second run leaves the file unchanged", async () => {
        const first = fs.readFileSync(out(), "utf8");
        const r = await adopt([
            "--host",
            `${NET}.11`,
            "--node",
            `prox2=${NET}.12`,
            ...pins(),
            ...ports(),
            "--identity",
            keyFile,
            "--out",
            out(),
        ]);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /unchanged .*Pulumi\.prod\.yaml/);
        assert.equal(fs.readFileSync(out(), "utf8"), first);
    });

    it("the plan imports every existing object and creates none of them", async () => {
        const doc = parse(fs.readFileSync(out(), "utf8")) as { config: Record<string, unknown> };
        const raw = Object.fromEntries(Object.entries(doc.config).map(([k, v]) => [k.replace(/^proxmox-ha:/, ""), v]));
        const run = await runRaw(raw, "prod");
        const imported = run.records.filter((r) => r.importId !== undefined).map((r) => `${r.name}=${r.importId}`);
        assert.deepEqual(
            imported.sort(),
            Object.entries(raw.import as Record<string, string>)
                .map(([k, v]) => `${k}=${v}`)
                .sort(),
        );
        const created = run.records.filter(
            (r) => r.custom && r.importId === undefined && r.type.startsWith("proxmoxve:") && !r.type.startsWith("proxmoxve:sdn/applier"),
        );
        assert.deepEqual(
            created.map((r) => r.name),
            [],
            "every Proxmox object of the plan exists and is imported",
        );
    });
});
