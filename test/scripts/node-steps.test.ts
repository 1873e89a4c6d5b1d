/**
 * cluster-create.sh edge cases on one fake Proxmox VE node, over real OpenSSH
 * with the exact component command text: its arguments, the create itself,
 * and what it prints afterwards (fingerprint, root's public key, API token).
 *
 * Proves: bad names, links and token arguments (including the old call
 * without a token argument) are refused before any PVE command runs; a create
 * task that fails with exit 0 is reported, creates no token, and the re-run
 * converges, handing the links over in order as --link0/--link1 with their
 * priority; the fingerprint is the SHA-256 of pve-ssl.pem, or of
 * pveproxy-ssl.pem once a custom certificate is installed (as
 * PVE::Cluster::get_node_fingerprint picks it); the public key is root's
 * id_rsa.pub, and a missing file or one with several keys is refused without
 * touching the token; the token is created with privilege separation off
 * and a re-run replaces an existing hand-made token (privilege separation on)
 * by such a one, printing the new secret the fake stores; unknown users and
 * invalid ids are refused with pveum's (or the script's) reason and no secret
 * on any stream, leaving the token store as it was.
 *
 * Does NOT prove: real pveum/pve-access-control behaviour (fake of
 * test/fakes/sbin following API2/User.pm), that the token works against a
 * real API.
 */
import * as assert from "node:assert/strict";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { startHosts, type Hosts } from "../harness/hosts";
import { clusterFile, created, fakeCommands, refused, step } from "./cluster-steps";

const LINKS = ["127.0.7.11", "address=10.9.9.11,priority=20"];

describe("cluster-create on a single node (real SSH, fake PVE)", () => {
    let site: Hosts;
    let standardFp = "";
    const tokens = () => clusterFile(site, "priv/fake-pveum-tokens.json");
    const pveumSince = (from: number) => fakeCommands(site, "pve1", from).filter((c) => c.startsWith("pveum"));

    before(async () => {
        site = await startHosts("nodesteps", [{ name: "pve1", address: "127.0.7.11" }]);
    });
    after(async () => site?.close());

    it("refuses bad names, links and token arguments before running any PVE command", async () => {
        const cases: [(string | number)[], RegExp][] = [
            [["Bad_Name", "-", "127.0.7.11"], /^cluster-create: invalid cluster name 'Bad_Name'/],
            [["lab", "-", "127.0.7.11;reboot"], /^cluster-create: invalid link '127\.0\.7\.11;reboot'/],
            [["lab", "-"], /^cluster-create: usage: cluster-create\.sh/],
            // The call of the previous version (no token argument) is refused, not misread.
            [["lab", "127.0.7.11"], /^cluster-create: usage: cluster-create\.sh/],
            [["lab", ...LINKS], /^cluster-create: invalid token argument '127\.0\.7\.11' \(expected <userid>!<tokenid>/],
            [["lab", "root@pam", "127.0.7.11"], /^cluster-create: invalid token argument 'root@pam'/],
            [["lab", "root!pulumi", "127.0.7.11"], /^cluster-create: invalid user id 'root'/],
            [["lab", "root@pam!1bad", "127.0.7.11"], /^cluster-create: invalid token id '1bad'/],
            [["lab", "root@pam!bad;rm", "127.0.7.11"], /^cluster-create: invalid token id 'bad;rm'/],
        ];
        for (const [args, reason] of cases) refused(await step(site, "pve1", "cluster-create", args), reason, args.join(" "));
        assert.deepEqual(fakeCommands(site, "pve1"), [], "no PVE command ran");
        assert.ok(!fs.existsSync(path.join(site.stateDir, "hosts", "pve1", "pve-local", "corosync.conf")));
    });

    it("reports a create task that failed with exit 0 (no token made); the re-run creates, links in order", async () => {
        // pvecm create's worker fails (exit 0, message on stderr): reported; the re-run creates.
        site.fault("pve1", "create-task-error", "can't create shared ssh key database '/etc/pve/priv/authorized_keys'");
        refused(
            await step(site, "pve1", "cluster-create", ["lab", "root@pam!pulumi", ...LINKS]),
            /^cluster-create: pvecm create failed \(exit 0, no \/etc\/pve\/corosync\.conf afterwards\): can't create shared ssh key database '\/etc\/pve\/priv\/authorized_keys'$/,
            "create task error",
        );
        assert.deepEqual(pveumSince(0), [], "no token is made when the create failed");

        const c = created(await step(site, "pve1", "cluster-create", ["lab", "root@pam!pulumi", ...LINKS]), "create", true);
        assert.deepEqual([c.cluster, c.action], ["lab", "created"]);
        const create = site.calls("pve1").find((x) => x.argv[1] === "create");
        assert.deepEqual(create?.argv.slice(1), ["create", "lab", "--link0", "127.0.7.11", "--link1", "address=10.9.9.11,priority=20"]);
        const conf = (await site.run("pve1", "cat /etc/pve/corosync.conf")).stdout;
        assert.match(conf, /ring0_addr: 127\.0\.7\.11\n\s+ring1_addr: 10\.9\.9\.11/);
        assert.match(conf, /interface \{\n\s+knet_link_priority: 20\n\s+linknumber: 1\n/);

        // What it printed: the certificate's fingerprint, root's key as on disk, a privsep-off token the fake stores.
        standardFp = c.fingerprint;
        assert.equal(c.fingerprint, new crypto.X509Certificate(clusterFile(site, "nodes/pve1/pve-ssl.pem")).fingerprint256);
        assert.equal(c.pubkey, fs.readFileSync(path.join(site.host("pve1").dir, "root-ssh", "id_rsa.pub"), "utf8").trim());
        const db = JSON.parse(tokens());
        assert.deepEqual(db.users["root@pam"].tokens, { pulumi: { privsep: "0" } });
        assert.deepEqual(db.secrets, { "root@pam!pulumi": c.token!.split("=")[1] });
    });

    it("a re-run replaces a hand-made privilege-separated token and prints the new secret", async () => {
        const made = await site.run(
            "pve1",
            "pveum user token remove root@pam pulumi && pveum user token add root@pam pulumi --privsep 1 --output-format json",
        );
        assert.equal(made.code, 0, made.stderr);
        const old = JSON.parse(made.stdout).value as string;
        const c = created(await step(site, "pve1", "cluster-create", ["lab", "root@pam!pulumi", ...LINKS]), "create again", true);
        assert.equal(c.action, "exists");
        const [id, secret] = [c.token!.slice(0, c.token!.indexOf("=")), c.token!.slice(c.token!.indexOf("=") + 1)];
        assert.equal(id, "root@pam!pulumi");
        assert.notEqual(secret, old);
        const db = JSON.parse(tokens());
        assert.deepEqual(db.users["root@pam"].tokens, { pulumi: { privsep: "0" } });
        assert.deepEqual(db.secrets, { "root@pam!pulumi": secret });
    });

    it("refuses unknown users and invalid ids without printing a secret, leaving the tokens alone", async () => {
        const db = tokens();
        const secret = (JSON.parse(db).secrets as Record<string, string>)["root@pam!pulumi"]!;
        const cases: [string, RegExp][] = [
            ["nobody@pve!pulumi", /^cluster-create: cannot list the tokens of nobody@pve: no such user \('nobody@pve'\)$/],
            ["root!pulumi", /invalid user id 'root'/],
            ["root@pam!1bad", /invalid token id '1bad'/],
            ["root@pam!bad;rm", /invalid token id/],
        ];
        for (const [token, reason] of cases) {
            const r = await step(site, "pve1", "cluster-create", ["lab", token, ...LINKS]);
            refused(r, reason, token);
            assert.ok(!r.stderr.includes(secret));
        }
        assert.equal(tokens(), db);
    });

    it("refuses a missing public key or one with several keys, before touching the token", async () => {
        const db = tokens();
        const from = site.calls("pve1").length;
        await site.run("pve1", "mv /root/.ssh/id_rsa.pub /root/.ssh/id_rsa.pub.aside");
        refused(
            await step(site, "pve1", "cluster-create", ["lab", "root@pam!pulumi", ...LINKS]),
            /^cluster-create: \/root\/\.ssh\/id_rsa\.pub does not exist \(pvecm create creates it when missing/,
            "missing",
        );
        await site.run("pve1", "cat /root/.ssh/id_rsa.pub.aside /root/.ssh/id_rsa.pub.aside > /root/.ssh/id_rsa.pub");
        refused(
            await step(site, "pve1", "cluster-create", ["lab", "root@pam!pulumi", ...LINKS]),
            /^cluster-create: \/root\/\.ssh\/id_rsa\.pub must hold exactly one key line, found 2$/,
            "two keys",
        );
        assert.deepEqual(pveumSince(from), [], "the token is not touched when the key cannot be read");
        assert.equal(tokens(), db);
        await site.run("pve1", "mv /root/.ssh/id_rsa.pub.aside /root/.ssh/id_rsa.pub");
        const c = created(await step(site, "pve1", "cluster-create", ["lab", "-", ...LINKS]), "key restored", false);
        assert.equal(c.pubkey, fs.readFileSync(path.join(site.host("pve1").dir, "root-ssh", "id_rsa.pub"), "utf8").trim());
    });

    it("prints the fingerprint of pveproxy-ssl.pem when a custom certificate is installed", async () => {
        const gen = await site.run(
            "pve1",
            "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=custom -days 1 " +
                "-keyout /etc/pve/nodes/pve1/pveproxy-ssl.key -out /etc/pve/nodes/pve1/pveproxy-ssl.pem 2>/dev/null",
        );
        assert.equal(gen.code, 0, gen.stderr);
        const custom = created(await step(site, "pve1", "cluster-create", ["lab", "-", ...LINKS]), "custom cert", false).fingerprint;
        assert.equal(custom, new crypto.X509Certificate(clusterFile(site, "nodes/pve1/pveproxy-ssl.pem")).fingerprint256);
        assert.notEqual(custom, standardFp);
    });
});
