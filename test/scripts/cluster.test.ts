/**
 * A fresh two-node site from nothing to quorate-with-QDevice, over real OpenSSH
 * on loopback, running the shipped scripts with the exact command text the
 * components send (`scriptInvocation`), in the order of the bootstrap's graph:
 * corosync-vlan → cluster-create (asked for the API token, as for a stack
 * without apiToken; prints fingerprint, root key and token) → cluster-join
 * (password on stdin) → qnetd-authorize → qdevice-setup; then every step again.
 *
 * Proves: the steps chain through cluster-create's outputs (fingerprint →
 * join, root key → qnetd authorization → the QDevice setup's real
 * non-interactive ssh/scp to the qnetd host; pinned qnetd host key →
 * known_hosts), and the component's parser reads them from the real output;
 * the fingerprint is the SHA-256 of the node's API certificate and the key is
 * root's id_rsa.pub; the token exists with privilege separation off before
 * the first join and stays valid through the join and the QDevice setup; the
 * end state is what docs/proxmox-facts.md §3 says a healthy 2-node + QDevice site
 * shows (Flags Quorate Qdevice, Expected votes 3, Total 3, Quorum 2) on both
 * nodes; every re-run reports exists/member/present/unchanged, prints the same
 * fingerprint and key, and leaves corosync.conf, authorized_keys and
 * known_hosts byte for byte as they were; the only state-changing PVE commands
 * of all re-runs are cluster-create's documented token rotation (remove, add:
 * a new valid secret, one token), and none at all with `-` (a stack that gives
 * apiToken); the root password reaches `pvecm add` on stdin and appears in no
 * process's argv or environment (of any fake PVE command and all its
 * ancestors, on every host) and in no file; the token's secret in no argv or
 * environment and in no file but the fake pveum's own token store;
 * authorized_keys stays a link into /etc/pve/priv; root password login is
 * never configured on the qnetd host.
 *
 * Corosync is real: corosync, corosync-qdevice, corosync-qnetd, the
 * certutils and corosync-quorumtool (behind `pvecm status`) are the Debian
 * binaries, one network namespace per host, the link on the VLAN segment
 * (test/harness/hosts.ts); the end state is read from them.
 * Does NOT prove: anything about real Proxmox VE beyond corosync, or
 * ifupdown2 — the PVE commands are the stateful fakes of test/fakes/sbin,
 * which reproduce only what docs/proxmox-facts.md and pve-cluster's source
 * document (the TLS join API and pmxcfs are simulated); that the VLAN stanza is valid
 * ifupdown2 syntax; that a process outside the fakes' ancestry (e.g. a
 * short-lived sibling) never saw the password — only the fakes record argv.
 */
import * as assert from "node:assert/strict";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { startHosts, type Hosts } from "../harness/hosts";
import { clusterFile, created, fakeCommands, ok, pvecmStatus, qnetdInstalled, step } from "./cluster-steps";

// Quotes, spaces, a dollar and a backslash: the password must survive stdin untouched.
const PASSWORD = `pa$$ w'rd "x" \\ ;x`;
const STATE_CHANGING = /^(pvecm (create|add|qdevice)|pveum user token (add|remove|delete)|ifreload)/;
/** The token cluster-create creates when the stack has no apiToken (components/hosts/steps.ts BOOTSTRAP_TOKEN). */
const TOKEN = "root@pam!pulumi";

describe("fresh site to quorate with QDevice (real SSH, fake PVE)", () => {
    let site: Hosts;
    let qnetdKey = "";
    let fingerprint = "";
    let pubkey = "";
    let firstToken = "";
    let secondToken = "";
    const snapshot: Record<string, string> = {};
    const callsBeforeRerun: Record<string, number> = {};

    before(async () => {
        site = await startHosts("cluster", [
            { name: "prox1", address: "127.0.3.11", rootPassword: PASSWORD },
            { name: "prox2", address: "127.0.3.12" },
            { name: "qnetd", address: "127.0.3.20", pve: false },
        ]);
        qnetdKey = site.host("qnetd").hostKey;
        qnetdInstalled(site, "qnetd");
    });
    after(async () => site?.close());

    it("corosync-vlan brings up the link VLAN on both nodes", async () => {
        for (const [node, addr] of [
            ["prox1", "10.40.1.11/24"],
            ["prox2", "10.40.1.12/24"],
        ] as const) {
            const line = ok(await step(site, node, "corosync-vlan", ["vmbr0", 4001, addr, 1400]), `vlan ${node}`);
            assert.deepEqual(line, { iface: "vmbr0.4001", action: "created" });
            const stanza = fs.readFileSync(path.join(site.host(node).dir, "network", "interfaces.d", "proxmox-ha-vmbr0-4001"), "utf8");
            assert.match(
                stanza,
                new RegExp(
                    `^auto vmbr0\\.4001\\niface vmbr0\\.4001 inet static\\n\\taddress ${addr.replace(/\./g, "\\.")}\\n\\tmtu 1400\\n$`,
                    "m",
                ),
            );
        }
    });

    it("cluster-create creates the cluster on the first node, on the VLAN link", async () => {
        const c = created(await step(site, "prox1", "cluster-create", ["prod", TOKEN, "10.40.1.11"]), "create", true);
        assert.deepEqual([c.cluster, c.action], ["prod", "created"]);
        const conf = clusterFile(site, "corosync.conf");
        assert.match(conf, /cluster_name: prod/);
        assert.match(conf, /ring0_addr: 10\.40\.1\.11/);
        ({ fingerprint, pubkey } = c);
        firstToken = c.token!;
    });

    it("cluster-create prints the SHA-256 of the node's API certificate", () => {
        // Independent computation (Node's X509) from the certificate file itself.
        const pem = clusterFile(site, "nodes/prox1/pve-ssl.pem");
        assert.equal(fingerprint, new crypto.X509Certificate(pem).fingerprint256);
    });

    it("cluster-create prints the first node's root RSA key", () => {
        const onDisk = fs.readFileSync(path.join(site.host("prox1").dir, "root-ssh", "id_rsa.pub"), "utf8").trim();
        assert.equal(pubkey, onDisk);
        assert.match(pubkey, /^ssh-rsa [A-Za-z0-9+/]+=* root@prox1$/);
    });

    it("cluster-create writes a privilege-separation-off token before any join, and prints it", () => {
        assert.match(firstToken, /^root@pam!pulumi=[0-9a-f-]{36}$/);
        const db = JSON.parse(clusterFile(site, "priv/fake-pveum-tokens.json"));
        assert.equal(db.users["root@pam"].tokens.pulumi.privsep, "0");
        assert.equal(db.secrets["root@pam!pulumi"], firstToken.split("=")[1]);
        assert.equal(site.calls("prox2").filter((c) => c.argv[1] === "add").length, 0, "no node has joined yet");
    });

    it("cluster-join joins the second node with the password on stdin only", async () => {
        const r = await step(site, "prox2", "cluster-join", ["prod", "127.0.3.11", fingerprint, "10.40.1.12"], `${PASSWORD}\n`);
        assert.deepEqual(ok(r, "join"), { node: "prox2", action: "joined" });
        const conf = clusterFile(site, "corosync.conf");
        assert.match(conf, /name: prox2\n\s+nodeid: 2\n\s+quorum_votes: 1\n\s+ring0_addr: 10\.40\.1\.12/);
        // The fake received exactly this password on its stdin.
        const got = site.calls("prox2").filter((c) => c.event === "password-read");
        assert.equal(got.length, 1);
        assert.equal(got[0]!.passwordSha256, crypto.createHash("sha256").update(PASSWORD).digest("hex"));
        // Joining replaced prox2's /etc/pve with the cluster's: it sees prox1's node directory.
        const ls = await site.run("prox2", "ls /etc/pve/nodes");
        assert.deepEqual(ls.stdout.split("\n").filter(Boolean).sort(), ["prox1", "prox2"]);
    });

    it("qnetd-authorize trusts that key on the qnetd host", async () => {
        assert.deepEqual(ok(await step(site, "qnetd", "qnetd-authorize", [pubkey]), "authorize"), { authorized: "yes", action: "added" });
        const keys = fs.readFileSync(path.join(site.host("qnetd").dir, "root-ssh", "authorized_keys"), "utf8");
        assert.equal(keys.split("\n").filter((l) => l === pubkey).length, 1);
    });

    it("qdevice-setup adds the QDevice: quorate with Qdevice, expected votes 3, on both nodes", async () => {
        assert.deepEqual(ok(await step(site, "prox1", "qdevice-setup", ["127.0.3.20", qnetdKey, 3, "lowest"]), "qdevice"), {
            qdevice: "127.0.3.20",
            action: "configured",
        });
        assert.match(
            clusterFile(site, "corosync.conf"),
            /device \{\n\s+model: net\n\s+net \{\n\s+algorithm: ffsplit\n\s+host: 127\.0\.3\.20\n\s+tls: on\n\s+\}\n\s+votes: 1\n/,
        );
        const kh = fs.readFileSync(path.join(site.host("prox1").dir, "root-ssh", "known_hosts"), "utf8");
        assert.equal(kh, `127.0.3.20 ${qnetdKey}\n`);
        for (const node of ["prox1", "prox2"]) {
            const r = await site.run(node, "pvecm status");
            assert.equal(r.code, 0, r.stderr);
            const s = pvecmStatus(r.stdout);
            assert.deepEqual([s.quorate, s.expected, s.total, s.quorum.trim(), s.flags], ["Yes", 3, 3, "2", ["Quorate", "Qdevice"]]);
            assert.match(s.qdeviceLine ?? "", /^0x00000000\s+1\s+Qdevice$/);
            // Lines exactly as docs/proxmox-facts.md §4 shows them (padding included).
            for (const line of [
                "Quorum:           2  ",
                "Flags:            Quorate Qdevice ",
                "    Nodeid      Votes    Qdevice Name",
                "0x00000000          1            Qdevice",
            ]) {
                assert.ok(r.stdout.split("\n").includes(line), `${node}: no line ${JSON.stringify(line)} in:\n${r.stdout}`);
            }
        }
    });

    it("the token written before the join is still the valid one, seen from both nodes", async () => {
        const db = JSON.parse(clusterFile(site, "priv/fake-pveum-tokens.json"));
        assert.deepEqual(db.secrets, { "root@pam!pulumi": firstToken.split("=")[1] });
        assert.equal(db.users["root@pam"].tokens.pulumi.privsep, "0");
        for (const node of ["prox1", "prox2"]) {
            const r = await site.run(node, "pveum user token list root@pam --output-format json");
            assert.equal(r.code, 0, r.stderr);
            assert.deepEqual(JSON.parse(r.stdout), [{ privsep: "0", tokenid: "pulumi" }], node);
        }
    });

    it("every step re-run is a no-op, but for cluster-create's documented token rotation", async () => {
        const files = {
            conf: () => clusterFile(site, "corosync.conf"),
            clusterKeys: () => clusterFile(site, "priv/authorized_keys"),
            qnetdKeys: () => fs.readFileSync(path.join(site.host("qnetd").dir, "root-ssh", "authorized_keys"), "utf8"),
            knownHosts: () => fs.readFileSync(path.join(site.host("prox1").dir, "root-ssh", "known_hosts"), "utf8"),
            vlan1: () => fs.readFileSync(path.join(site.host("prox1").dir, "network", "interfaces.d", "proxmox-ha-vmbr0-4001"), "utf8"),
            vlan2: () => fs.readFileSync(path.join(site.host("prox2").dir, "network", "interfaces.d", "proxmox-ha-vmbr0-4001"), "utf8"),
        };
        for (const [k, f] of Object.entries(files)) snapshot[k] = f();
        for (const h of ["prox1", "prox2", "qnetd"]) callsBeforeRerun[h] = site.calls(h).length;

        assert.deepEqual(ok(await step(site, "prox1", "corosync-vlan", ["vmbr0", 4001, "10.40.1.11/24", 1400]), "vlan1"), {
            iface: "vmbr0.4001",
            action: "unchanged",
        });
        assert.deepEqual(ok(await step(site, "prox2", "corosync-vlan", ["vmbr0", 4001, "10.40.1.12/24", 1400]), "vlan2"), {
            iface: "vmbr0.4001",
            action: "unchanged",
        });
        // Exactly the component's command: with the token argument (rotates the token, see below) …
        const again = created(await step(site, "prox1", "cluster-create", ["prod", TOKEN, "10.40.1.11"]), "create", true);
        assert.deepEqual([again.cluster, again.action, again.fingerprint, again.pubkey], ["prod", "exists", fingerprint, pubkey]);
        secondToken = again.token!;
        const afterTokenRerun = site.calls("prox1").length;
        // … and as a stack that gives apiToken sends it: no token at all.
        const plain = created(await step(site, "prox1", "cluster-create", ["prod", "-", "10.40.1.11"]), "create -", false);
        assert.deepEqual([plain.cluster, plain.action, plain.fingerprint, plain.pubkey], ["prod", "exists", fingerprint, pubkey]);
        assert.deepEqual(
            fakeCommands(site, "prox1", afterTokenRerun).filter((c) => c.startsWith("pveum")),
            [],
            "without a token argument cluster-create calls no pveum",
        );
        assert.deepEqual(
            ok(await step(site, "prox2", "cluster-join", ["prod", "127.0.3.11", fingerprint, "10.40.1.12"], `${PASSWORD}\n`), "join"),
            { node: "prox2", action: "member" },
        );
        assert.deepEqual(ok(await step(site, "qnetd", "qnetd-authorize", [pubkey]), "authorize"), { authorized: "yes", action: "present" });
        assert.deepEqual(ok(await step(site, "prox1", "qdevice-setup", ["127.0.3.20", qnetdKey, 3, "lowest"]), "qdevice"), {
            qdevice: "127.0.3.20",
            action: "present",
        });

        for (const [k, f] of Object.entries(files)) assert.equal(f(), snapshot[k], `${k} changed on re-run`);
        for (const h of ["prox1", "prox2", "qnetd"]) {
            const changing = fakeCommands(site, h, callsBeforeRerun[h]).filter((c) => STATE_CHANGING.test(c));
            // The one documented exception: cluster-create asked for a token re-creates it (next test).
            const expected =
                h === "prox1"
                    ? ["pveum user token remove root@pam pulumi", "pveum user token add root@pam pulumi --privsep 0 --output-format json"]
                    : [];
            assert.deepEqual(changing, expected, `state-changing PVE commands on ${h} during re-runs`);
        }
    });

    it("cluster-create re-run with the token argument rotates the secret, as its header documents", async () => {
        assert.match(secondToken, /^root@pam!pulumi=[0-9a-f-]{36}$/);
        assert.notEqual(secondToken, firstToken);
        const db = JSON.parse(clusterFile(site, "priv/fake-pveum-tokens.json"));
        assert.deepEqual(Object.keys(db.users["root@pam"].tokens), ["pulumi"]);
        assert.equal(db.users["root@pam"].tokens.pulumi.privsep, "0");
        assert.deepEqual(db.secrets, { "root@pam!pulumi": secondToken.split("=")[1] });
    });

    it("the root password is in no argv, environment or file; authorized_keys is still a link; sshd untouched", async () => {
        let records = 0;
        for (const h of ["prox1", "prox2", "qnetd"]) {
            for (const call of site.calls(h)) {
                records += 1 + call.ancestors.length;
                for (const p of [{ argv: call.argv, env: call.env }, ...call.ancestors]) {
                    assert.ok(!p.argv.some((a) => a.includes(PASSWORD)), `password in an argv on ${h}: ${p.argv[0]}`);
                    assert.ok(!p.env.some((e) => e.includes(PASSWORD)), `password in an environment on ${h}`);
                }
            }
        }
        // The join's pvecm ran under the script's bash (its ancestors were recorded, with the script text).
        const add = site.calls("prox2").find((c) => c.argv[1] === "add");
        assert.ok(
            add?.ancestors.some((a) => a.argv.includes("cluster-join")),
            "the script is among pvecm add's ancestors",
        );
        assert.ok(records > 50);
        assert.deepEqual(site.filesContaining(PASSWORD), []);

        // The token's secrets (both issued) never in an argv or environment, and in no file
        // but the fake pveum's own token store (a real node keeps tokens in /etc/pve/priv too).
        for (const secret of [firstToken, secondToken].map((t) => t.split("=")[1]!)) {
            for (const h of ["prox1", "prox2", "qnetd"]) {
                for (const call of site.calls(h)) {
                    for (const p of [{ argv: call.argv, env: call.env }, ...call.ancestors]) {
                        assert.ok(!p.argv.some((a) => a.includes(secret)), `token secret in an argv on ${h}: ${p.argv[0]}`);
                        assert.ok(!p.env.some((e) => e.includes(secret)), `token secret in an environment on ${h}`);
                    }
                }
            }
            const files = site.filesContaining(secret);
            assert.ok(
                files.every((f) => f.endsWith("/priv/fake-pveum-tokens.json")),
                `token secret in a file other than the token store: ${files.join(", ")}`,
            );
            // Not vacuous: the scan does see the valid secret, in the store.
            if (secret === secondToken.split("=")[1]) assert.ok(files.length > 0, "the valid secret is in the token store");
        }
        if (!site.overlaysOnDisk) console.log("note: overlays on tmpfs — files outside the bind mounts were not scanned");

        for (const node of ["prox1", "prox2"]) {
            const r = await site.run(node, "readlink /root/.ssh/authorized_keys");
            assert.equal(r.stdout.trim(), "/etc/pve/priv/authorized_keys", node);
        }
        if (site.overlaysOnDisk) {
            const upper = path.join(site.host("qnetd").dir, "ov", "etc", "upper", "ssh");
            assert.ok(!fs.existsSync(path.join(upper, "sshd_config")), "qnetd sshd_config changed");
            assert.ok(!fs.existsSync(path.join(upper, "sshd_config.d")), "qnetd sshd_config.d changed");
        }
    });
});
