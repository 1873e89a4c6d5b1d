/**
 * A fresh two-node site from nothing to quorate-with-QDevice, over real OpenSSH
 * on loopback, running the shipped scripts with the exact command text the
 * components send (`scriptInvocation`), in the order of the bootstrap's graph:
 * corosync-vlan, api-token (the provider's user, role, ACLs and
 * privilege-separated token, as for a stack without apiToken, on the still
 * standalone first node) → cluster-create (prints fingerprint and root key) →
 * api-access (reads only: nothing differs) →
 * cluster-join (password on stdin) → qnetd-authorize → qdevice-setup; then
 * every step again, then a token rotation and two failed ones.
 *
 * Proves: the steps chain through cluster-create's outputs (fingerprint →
 * join, root key → qnetd authorization → the QDevice setup's real
 * non-interactive ssh/scp to the qnetd host; pinned qnetd host key →
 * known_hosts), and the component's parser reads them from the real output;
 * the fingerprint is the SHA-256 of the node's API certificate and the key is
 * root's id_rsa.pub; the token (privilege separation on, ACL with exactly
 * the program's privileges on `/`, for the token and its user) exists before
 * the cluster does and stays valid through the create, the join and the
 * QDevice setup; the
 * end state is what docs/proxmox-facts.md §3 says a healthy 2-node + QDevice site
 * shows (Flags Quorate Qdevice, Expected votes 3, Total 3, Quorum 2) on both
 * nodes; every re-run reports exists/member/present/unchanged, prints the same
 * fingerprint and key, and leaves corosync.conf, authorized_keys and
 * known_hosts byte for byte as they were, and no re-run runs a state-changing
 * PVE command (cluster-create calls no pveum at all); a rotation (next
 * generation's token, then the old one's delete) keeps the old token valid
 * until the new one exists with its ACL, and a rotation that fails at the
 * token add or at its ACL leaves the current token valid, and its re-run
 * converges; a changed privilege list converges the role to exactly that
 * list; the root password reaches `pvecm add` on stdin and appears in no
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
import { clusterFile, created, fakeCommands, ok, pvecmStatus, qnetdInstalled, refused, step, type StepResult } from "./cluster-steps";
import { API_PRIVILEGES, API_ROLE, API_USER, apiPrivilegeList, stdoutValue } from "../../components/hosts/steps";

// Quotes, spaces, a dollar and a backslash: the password must survive stdin untouched.
const PASSWORD = `pa$$ w'rd "x" \\ ;x`;
/** The nodes' addresses, as the component's nodeSourceAddresses lists them: management then link, per node. */
const FROM = "127.0.3.11,10.40.1.11,127.0.3.12,10.40.1.12";
const STATE_CHANGING = /^(pvecm (create|add|qdevice)|pveum (user (add|token (add|remove|delete))|role (add|modify)|acl modify)|ifreload)/;
/** What the component sends (components/hosts/steps.ts API_USER, API_ROLE, apiPrivilegeList, apiTokenId). */
const USER = API_USER;
const PRIVS = apiPrivilegeList();
const accessArgs = (tokenid: string, privs = PRIVS) => [USER, API_ROLE, privs, tokenid];
const tokenArgs = (tokenid: string) => [USER, tokenid, API_ROLE, PRIVS];
const tokenDb = (site: Hosts, cluster = true) =>
    JSON.parse(
        cluster
            ? clusterFile(site, "priv/fake-pveum-tokens.json")
            : fs.readFileSync(path.join(site.stateDir, "hosts", "prox1", "pve-local", "priv", "fake-pveum-tokens.json"), "utf8"),
    ) as {
        users: Record<string, { tokens: Record<string, { privsep: number }> }>;
        secrets: Record<string, string>;
        roles: Record<string, string[]>;
        acl: { path: string; type: string; ugid: string; roleid: string; propagate: number }[];
    };
/** The `token=` line api-token prints, checked and split. */
function tokenLine(r: StepResult, what: string): string {
    assert.equal(r.code, 0, `${what} failed: ${r.stderr}`);
    assert.equal(r.stderr, "", `${what} printed on stderr`);
    const m = /^token=([^=\n]+=[0-9a-f-]{36})\n$/.exec(r.stdout);
    assert.ok(m, `${what}: unexpected stdout ${JSON.stringify(r.stdout)}`);
    assert.equal(stdoutValue(r.stdout, "token", true), m[1], "the component parses the token");
    return m[1]!;
}

describe("fresh site to quorate with QDevice (real SSH, fake PVE)", () => {
    let site: Hosts;
    let qnetdKey = "";
    let fingerprint = "";
    let pubkey = "";
    let firstToken = "";
    let secondToken = "";
    let thirdToken = "";
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

    it("api-token makes the provider's user, role, ACLs and token on the standalone first node", async () => {
        firstToken = tokenLine(await step(site, "prox1", "api-token", tokenArgs("pulumi-1")), "token");
        assert.match(firstToken, /^proxmox-ha@pve!pulumi-1=[0-9a-f-]{36}$/);
        const db = tokenDb(site, false);
        assert.equal(db.users[USER]!.tokens["pulumi-1"]!.privsep, 1, "privilege separation on");
        assert.deepEqual(
            db.roles[API_ROLE],
            API_PRIVILEGES.map((p) => p.privilege).sort(),
            "the role has exactly the program's privileges",
        );
        assert.deepEqual(
            db.acl.map((e) => [e.path, e.type, e.ugid, e.roleid, e.propagate]),
            [
                ["/", "user", USER, API_ROLE, 1],
                ["/", "token", `${USER}!pulumi-1`, API_ROLE, 1],
            ],
        );
        assert.deepEqual(db.users["root@pam"]!.tokens, {}, "root@pam gets no token");
    });

    it("cluster-create creates the cluster on the first node, on the VLAN link", async () => {
        const c = created(await step(site, "prox1", "cluster-create", ["prod", "10.40.1.11"]), "create");
        assert.deepEqual([c.cluster, c.action], ["prod", "created"]);
        const conf = clusterFile(site, "corosync.conf");
        assert.match(conf, /cluster_name: prod/);
        assert.match(conf, /ring0_addr: 10\.40\.1\.11/);
        ({ fingerprint, pubkey } = c);
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

    it("the cluster keeps the token made before it (pvecm create keeps the node's /etc/pve)", () => {
        const db = tokenDb(site);
        assert.equal(db.secrets[`${USER}!pulumi-1`], firstToken.split("=")[1]);
        assert.equal(site.calls("prox2").filter((c) => c.argv[1] === "add").length, 0, "no node has joined yet");
    });

    it("api-access after the create finds nothing to change and writes nothing (it may overlap a join)", async () => {
        const from = site.calls("prox1").length;
        assert.deepEqual(ok(await step(site, "prox1", "api-access", accessArgs("pulumi-1")), "access"), {
            access: USER,
            role: API_ROLE,
            changed: "none",
        });
        assert.deepEqual(
            fakeCommands(site, "prox1", from).filter((c) => STATE_CHANGING.test(c)),
            [],
        );
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
        assert.deepEqual(ok(await step(site, "qnetd", "qnetd-authorize", [pubkey, FROM]), "authorize"), {
            authorized: "yes",
            action: "added",
        });
        const keys = fs.readFileSync(path.join(site.host("qnetd").dir, "root-ssh", "authorized_keys"), "utf8");
        // Restricted to the nodes' addresses (the component's nodeSourceAddresses), no forwarding or PTY.
        assert.equal(keys.split("\n").filter((l) => l === `from="${FROM}",restrict ${pubkey}`).length, 1);
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
        const db = tokenDb(site);
        assert.deepEqual(db.secrets, { [`${USER}!pulumi-1`]: firstToken.split("=")[1] });
        for (const node of ["prox1", "prox2"]) {
            const r = await site.run(node, `pveum user token list ${USER} --output-format json`);
            assert.equal(r.code, 0, r.stderr);
            assert.deepEqual(JSON.parse(r.stdout), [{ comment: "Pulumi proxmox-ha", privsep: 1, tokenid: "pulumi-1" }], node);
        }
    });

    it("every step re-run is a no-op", async () => {
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
        assert.deepEqual(ok(await step(site, "prox1", "api-access", accessArgs("pulumi-1")), "access"), {
            access: USER,
            role: API_ROLE,
            changed: "none",
        });
        // api-token is not re-run: the component declares it once per rotation (components/remote.ts `once`).
        const beforeCreate = site.calls("prox1").length;
        const again = created(await step(site, "prox1", "cluster-create", ["prod", "10.40.1.11"]), "create");
        assert.deepEqual([again.cluster, again.action, again.fingerprint, again.pubkey], ["prod", "exists", fingerprint, pubkey]);
        assert.deepEqual(
            fakeCommands(site, "prox1", beforeCreate).filter((c) => c.startsWith("pveum")),
            [],
            "cluster-create calls no pveum",
        );
        assert.deepEqual(
            ok(await step(site, "prox2", "cluster-join", ["prod", "127.0.3.11", fingerprint, "10.40.1.12"], `${PASSWORD}\n`), "join"),
            { node: "prox2", action: "member" },
        );
        assert.deepEqual(ok(await step(site, "qnetd", "qnetd-authorize", [pubkey, FROM]), "authorize"), {
            authorized: "yes",
            action: "present",
        });
        assert.deepEqual(ok(await step(site, "prox1", "qdevice-setup", ["127.0.3.20", qnetdKey, 3, "lowest"]), "qdevice"), {
            qdevice: "127.0.3.20",
            action: "present",
        });

        for (const [k, f] of Object.entries(files)) assert.equal(f(), snapshot[k], `${k} changed on re-run`);
        for (const h of ["prox1", "prox2", "qnetd"]) {
            const changing = fakeCommands(site, h, callsBeforeRerun[h]).filter((c) => STATE_CHANGING.test(c));
            assert.deepEqual(changing, [], `state-changing PVE commands on ${h} during re-runs`);
        }
    });

    it("a rotation makes the next generation's token first, and only then removes the old one", async () => {
        secondToken = tokenLine(await step(site, "prox1", "api-token", tokenArgs("pulumi-2")), "token 2");
        assert.notEqual(secondToken, firstToken);
        let db = tokenDb(site);
        assert.deepEqual(
            Object.keys(db.secrets).sort(),
            [`${USER}!pulumi-1`, `${USER}!pulumi-2`],
            "both valid until the old command's delete",
        );
        assert.deepEqual(
            ok(await step(site, "prox1", "api-access", accessArgs("pulumi-2")), "access 2").changed,
            "none",
            "the token step gave its ACL",
        );
        assert.deepEqual(ok(await step(site, "prox1", "api-token-remove", [USER, "pulumi-1"]), "remove 1"), {
            token: `${USER}!pulumi-1`,
            action: "removed",
        });
        db = tokenDb(site);
        assert.deepEqual(db.secrets, { [`${USER}!pulumi-2`]: secondToken.split("=")[1] });
        assert.ok(!db.acl.some((e) => e.ugid === `${USER}!pulumi-1`), "the old token's ACL went with it");
        assert.deepEqual(ok(await step(site, "prox1", "api-token-remove", [USER, "pulumi-1"]), "remove 1 again"), {
            token: `${USER}!pulumi-1`,
            action: "absent",
        });
    });

    it("a rotation that fails at the token add or at its ACL leaves the current token valid; its re-run converges", async () => {
        site.fault("prox1", "pveum-token-add", "500 could not write user.cfg (simulated)");
        refused(
            await step(site, "prox1", "api-token", tokenArgs("pulumi-3")),
            /^api-token: pveum user token add .* failed: 500 could not write/,
            "add fails",
        );
        assert.deepEqual(Object.keys(tokenDb(site).secrets), [`${USER}!pulumi-2`]);

        site.fault("prox1", "pveum-acl-modify", "500 could not write user.cfg (simulated)");
        refused(
            await step(site, "prox1", "api-token", tokenArgs("pulumi-3")),
            /^api-token: pveum acl modify \/ for token .* failed/,
            "ACL fails",
        );
        let db = tokenDb(site);
        assert.equal(db.secrets[`${USER}!pulumi-2`], secondToken.split("=")[1], "the recorded token is untouched");
        assert.ok(
            db.acl.some((e) => e.type === "token" && e.ugid === `${USER}!pulumi-2`),
            "and keeps its ACL",
        );

        // The re-run (the next `pulumi up`) replaces the unrecorded pulumi-3 and prints a secret that works.
        thirdToken = tokenLine(await step(site, "prox1", "api-token", tokenArgs("pulumi-3")), "token 3");
        db = tokenDb(site);
        assert.equal(db.secrets[`${USER}!pulumi-3`], thirdToken.split("=")[1]);
        assert.ok(db.acl.some((e) => e.type === "token" && e.ugid === `${USER}!pulumi-3`));
    });

    it("api-access converges the role to exactly a changed privilege list; an unknown privilege is refused", async () => {
        const fewer = API_PRIVILEGES.filter((p) => p.privilege !== "VM.Replicate")
            .map((p) => p.privilege)
            .join(",");
        assert.equal(ok(await step(site, "prox1", "api-access", accessArgs("pulumi-3", fewer)), "fewer").changed, "privileges");
        assert.ok(!tokenDb(site).roles[API_ROLE]!.includes("VM.Replicate"));
        assert.equal(ok(await step(site, "prox1", "api-access", accessArgs("pulumi-3")), "back").changed, "privileges");
        assert.deepEqual(tokenDb(site).roles[API_ROLE], API_PRIVILEGES.map((p) => p.privilege).sort());
        refused(
            await step(site, "prox1", "api-access", accessArgs("pulumi-3", `${PRIVS},VM.Monitor`)),
            /^api-access: pveum role modify ProxmoxHA failed: .*invalid privilege 'VM\.Monitor'/,
            "unknown privilege",
        );
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
        for (const secret of [firstToken, secondToken, thirdToken].map((t) => t.split("=")[1]!)) {
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
            if (secret === thirdToken.split("=")[1]) assert.ok(files.length > 0, "the valid secret is in the token store");
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
