/**
 * qnetd-authorize.sh and qdevice-setup.sh over real OpenSSH on loopback, with
 * the exact component command text, on a two-node fake cluster.
 *
 * Proves:
 * - without the node's key authorized on the qnetd host, setup fails at once
 *   with a one-line reason (pvecm's ssh-copy-id step is the real
 *   ssh-copy-id, without a terminal) and configures nothing; once authorized,
 *   the real ssh/scp steps to the qnetd host and the real certutils work;
 * - qnetd-authorize refuses malformed key lines (options, unknown type,
 *   corrupt key material, several lines, empty) without touching
 *   authorized_keys; appends a valid one once (another comment = present),
 *   keeping a last line that lacked its newline intact;
 * - an interrupted setup leaves /etc/corosync/qdevice/net/nssdb; pvecm alone
 *   then refuses ("QDevice certificate store already initialised, set force
 *   to delete!"), the script's re-run moves the store aside (kept) and converges;
 * - a configured QDevice is skipped (pvecm alone would say "QDevice already
 *   configured!"); one for another host is an error naming that host; a known_hosts
 *   entry with a different key for the qnetd address is an error, not replaced;
 * - verification needs the QDevice to cast its vote: with the real
 *   corosync-qnetd stopped (Flags still "Quorate Qdevice") the script fails,
 *   after it is started again it passes.
 *
 * Corosync, corosync-qdevice, corosync-qnetd and the certutils are the real
 * Debian binaries (test/harness/hosts.ts); pvecm is the fake of
 * test/fakes/sbin/_fakepve.py following pve-cluster src/PVE/CLI/pvecm.pm
 * setup_qdevice, including its intra-cluster ssh to every node.
 * Does NOT prove: the odd-node-count refusal path.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { spawnSync } from "node:child_process";
import { startHosts, type Hosts } from "../harness/hosts";
import { clusterFile, created, lastLine, ok, pvecmStatus, qnetdInstalled, refused, step, waitStatus } from "./cluster-steps";

const PASSWORD = "qdevice-test-pw";
const QNETD = "127.0.4.20";
/** The nodes' addresses as the component lists them (management, then links: here the same). */
const FROM = "127.0.4.11,127.0.4.12";

describe("QDevice setup (real SSH, fake PVE)", () => {
    let site: Hosts;
    let pubkey = "";
    let qnetdKey = "";
    const keysFile = () => path.join(site.host("qnetd").dir, "root-ssh", "authorized_keys");
    const restricted = (from: string) => `from="${from}",restrict ${pubkey}`;
    const setup = (address = QNETD, hostKey = qnetdKey) => step(site, "prox1", "qdevice-setup", [address, hostKey, 3, "lowest"]);
    const hasDevice = () => /device \{/.test(clusterFile(site, "corosync.conf"));
    const nssdbEntries = () => fs.readdirSync(path.join(site.stateDir, "hosts", "prox1", "corosync", "qdevice", "net")).sort();

    before(async () => {
        site = await startHosts("qdevice", [
            { name: "prox1", address: "127.0.4.11", rootPassword: PASSWORD },
            { name: "prox2", address: "127.0.4.12" },
            { name: "qnetd", address: QNETD, pve: false },
        ]);
        qnetdKey = site.host("qnetd").hostKey;
        qnetdInstalled(site, "qnetd");
        const c = created(await step(site, "prox1", "cluster-create", ["prod", "127.0.4.11"]), "create");
        ok(await step(site, "prox2", "cluster-join", ["prod", "127.0.4.11", c.fingerprint, "127.0.4.12"], `${PASSWORD}\n`), "join");
        pubkey = c.pubkey;
    });
    after(async () => site?.close());

    it("setup before the qnetd host trusts the node's key fails without prompting and configures nothing", async () => {
        const r = await setup();
        refused(
            r,
            /^qdevice-setup: pvecm qdevice setup 127\.0\.4\.20 failed \(exit 255\): .*command 'ssh-copy-id -i \/root\/\.ssh\/id_rsa root@127\.0\.4\.20' failed: exit code 1$/,
            "untrusted",
        );
        assert.equal(hasDevice(), false);
        assert.ok(!fs.existsSync(path.join(site.stateDir, "hosts", "prox1", "corosync", "qdevice")));
    });

    it("qnetd-authorize refuses malformed key lines and leaves authorized_keys alone", async () => {
        const before = fs.readFileSync(keysFile(), "utf8");
        const blob = pubkey.split(" ")[1]!;
        const cases: [string, RegExp][] = [
            [`command="/bin/sh" ${pubkey}`, /not a public key line/],
            [`ssh-dss ${blob} root@prox1`, /not a public key line/],
            [`ssh-rsa ${blob.slice(0, 60)} root@prox1`, /ssh-keygen cannot parse the ssh-rsa key/],
            [`${pubkey}\n${pubkey}`, /must be a single line/],
            ["", /not a public key line/],
        ];
        for (const [line, reason] of cases) {
            refused(await step(site, "qnetd", "qnetd-authorize", [line, FROM]), reason, JSON.stringify(line.slice(0, 30)));
        }
        for (const from of ["", "127.0.4.11;reboot", '127.0.4.11",command="/bin/sh']) {
            refused(
                await step(site, "qnetd", "qnetd-authorize", [pubkey, from]),
                /^qnetd-authorize: invalid from-list/,
                JSON.stringify(from),
            );
        }
        assert.equal(fs.readFileSync(keysFile(), "utf8"), before);
    });

    it("qnetd-authorize appends the key once, restricted, after a last line without newline", async () => {
        // Drop the final newline of the existing file (the harness client key).
        const before = fs.readFileSync(keysFile(), "utf8");
        fs.writeFileSync(keysFile(), before.trimEnd());
        assert.deepEqual(ok(await step(site, "qnetd", "qnetd-authorize", [pubkey, FROM]), "authorize"), {
            authorized: "yes",
            action: "added",
        });
        assert.equal(fs.readFileSync(keysFile(), "utf8"), `${before.trimEnd()}\n${restricted(FROM)}\n`);
        const otherComment = pubkey.replace(/ root@prox1$/, " renamed@elsewhere");
        assert.deepEqual(ok(await step(site, "qnetd", "qnetd-authorize", [otherComment, FROM]), "authorize"), {
            authorized: "yes",
            action: "present",
        });
        assert.equal(fs.readFileSync(keysFile(), "utf8"), `${before.trimEnd()}\n${restricted(FROM)}\n`);
    });

    it("sshd enforces the restriction: not from another address, no PTY, no forwarding; commands as pvecm runs them work", async () => {
        const ssh = (extra: string) =>
            site.run("prox1", `ssh -o BatchMode=yes ${extra} -lroot ${QNETD} corosync-qnetd-certutil -h >/dev/null 2>&1; echo rc=$?`);
        // From the node's own address: pvecm's plain command runs (corosync-qnetd-certutil -h exits 0 or 1, not ssh's 255).
        assert.doesNotMatch((await ssh("")).stdout, /rc=255/);
        const pty = await site.run("prox1", `ssh -tt -o BatchMode=yes -lroot ${QNETD} true 2>&1`);
        assert.match(pty.stdout, /PTY allocation request failed/);
        const fwd = await site.run(
            "prox1",
            `ssh -o BatchMode=yes -o ExitOnForwardFailure=yes -R 0:127.0.0.1:22 -lroot ${QNETD} true 2>&1; echo rc=$?`,
        );
        assert.match(fwd.stdout, /remote port forwarding failed[\s\S]*rc=255/);
        // Another from= list: the same key is refused outright.
        assert.equal(ok(await step(site, "qnetd", "qnetd-authorize", [pubkey, "192.0.2.7"]), "elsewhere").action, "restricted");
        assert.match((await ssh("")).stdout, /rc=255/);
        assert.equal(ok(await step(site, "qnetd", "qnetd-authorize", [pubkey, FROM]), "back").action, "restricted");
        assert.doesNotMatch((await ssh("")).stdout, /rc=255/);
    });

    it("an older unrestricted line is rewritten in place; qnetd-deauthorize removes the key and keeps the rest", async () => {
        const others = fs
            .readFileSync(keysFile(), "utf8")
            .split("\n")
            .filter((l) => l !== "" && !l.includes(pubkey.split(" ")[1]!));
        fs.writeFileSync(keysFile(), [...others, pubkey, "# a comment"].join("\n") + "\n");
        assert.equal(ok(await step(site, "qnetd", "qnetd-authorize", [pubkey, FROM]), "rewrite").action, "restricted");
        assert.equal(fs.readFileSync(keysFile(), "utf8"), [...others, restricted(FROM), "# a comment"].join("\n") + "\n");
        assert.deepEqual(ok(await step(site, "qnetd", "qnetd-deauthorize", [pubkey]), "remove"), {
            deauthorized: "yes",
            action: "removed",
        });
        assert.equal(fs.readFileSync(keysFile(), "utf8"), [...others, "# a comment"].join("\n") + "\n");
        assert.deepEqual(ok(await step(site, "qnetd", "qnetd-deauthorize", [pubkey]), "again"), { deauthorized: "yes", action: "absent" });
        assert.equal(ok(await step(site, "qnetd", "qnetd-authorize", [pubkey, FROM]), "re-add").action, "added");
    });

    it("an interrupted setup leaves a certificate store: pvecm alone refuses, the script's re-run recovers", async () => {
        site.fault("prox1", "qdevice-interrupt");
        refused(await setup(), /^qdevice-setup: pvecm qdevice setup 127\.0\.4\.20 failed \(exit 130\)/, "interrupted");
        assert.equal(hasDevice(), false);
        assert.deepEqual(nssdbEntries(), ["nssdb"]);

        const direct = await site.run("prox1", `pvecm qdevice setup ${QNETD}`);
        assert.notEqual(direct.code, 0);
        assert.equal(lastLine(direct.stderr), "QDevice certificate store already initialised, set force to delete!");

        const r = await setup();
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout, `qdevice=${QNETD} action=configured\n`);
        assert.match(
            r.stderr,
            /^qdevice-setup: moved leftover certificate store \/etc\/corosync\/qdevice\/net\/nssdb to \/etc\/corosync\/qdevice\/net\/nssdb\.stale-\d{8}T\d{6}Z \(no QDevice configured; setup re-creates it\)\n$/,
        );
        const entries = nssdbEntries();
        assert.equal(entries.length, 2);
        assert.equal(entries[0], "nssdb");
        assert.match(entries[1]!, /^nssdb\.stale-/);
        for (const node of ["prox1", "prox2"]) {
            const s = pvecmStatus((await site.run(node, "pvecm status")).stdout);
            assert.deepEqual([s.flags, s.expected, s.total], [["Quorate", "Qdevice"], 3, 3], node);
        }
    });

    it("a configured QDevice is skipped: re-run is a no-op where pvecm alone would fail", async () => {
        const conf = clusterFile(site, "corosync.conf");
        const direct = await site.run("prox1", `pvecm qdevice setup ${QNETD}`);
        assert.notEqual(direct.code, 0);
        assert.equal(direct.stderr, "QDevice already configured!\n", "refused before ssh-copy-id runs (pvecm.pm order)");
        assert.deepEqual(ok(await setup(), "re-run"), { qdevice: QNETD, action: "present" });
        assert.equal(clusterFile(site, "corosync.conf"), conf);
    });

    it("a QDevice for another host is an error naming it; nothing changes", async () => {
        const conf = clusterFile(site, "corosync.conf");
        refused(
            await setup("127.0.4.21"),
            /^qdevice-setup: the cluster already has a QDevice on '127\.0\.4\.20', not '127\.0\.4\.21'; remove it with 'pvecm qdevice remove' first/,
            "other host",
        );
        assert.equal(clusterFile(site, "corosync.conf"), conf);
    });

    it("a different pinned key for the qnetd address is an error, known_hosts is not rewritten", async () => {
        const kh = path.join(site.host("prox1").dir, "root-ssh", "known_hosts");
        const before = fs.readFileSync(kh, "utf8");
        const tmp = fs.mkdtempSync(path.join(site.root, "key-"));
        spawnSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", path.join(tmp, "k")]);
        const otherKey = fs.readFileSync(path.join(tmp, "k.pub"), "utf8").split(" ").slice(0, 2).join(" ");
        refused(await setup(QNETD, otherKey), /already holds a different ssh-ed25519 key for 127\.0\.4\.20/, "key conflict");
        assert.equal(fs.readFileSync(kh, "utf8"), before);
    });

    it("verification requires the QDevice's vote: qnetd cut off fails, reconnected passes", async () => {
        assert.equal(site.exec("qnetd", "systemctl stop corosync-qnetd").code, 0);
        const down = await waitStatus(site, "prox1", (r) => /^0x00000000\s+0\s+Qdevice/m.test(r.stdout), "QDevice not voting");
        const status = pvecmStatus(down.stdout);
        assert.deepEqual(status.flags, ["Quorate", "Qdevice"]);
        assert.match(status.qdeviceLine ?? "", /^0x00000000\s+0\s+Qdevice \(votes 1\)$/);
        refused(
            await setup(),
            /^qdevice-setup: QDevice 127\.0\.4\.20 is configured but the cluster does not show it voting: .*Total votes: 2/,
            "qnetd down",
        );
        assert.equal(site.exec("qnetd", "systemctl start corosync-qnetd").code, 0);
        assert.deepEqual(ok(await setup(), "reconnected"), { qdevice: QNETD, action: "present" });
    });
});
