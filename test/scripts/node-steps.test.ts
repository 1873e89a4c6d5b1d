/**
 * api-token.sh, root-pubkey.sh, cluster-fingerprint.sh and cluster-create.sh edge cases on one
 * fake Proxmox VE node, over real OpenSSH with the exact component command text.
 *
 * Proves: api-token replaces an existing hand-made token (privilege separation
 * on) by one with it off and prints the new secret, which is the one the fake
 * stores; unknown users and invalid ids are refused with pveum's reason and no
 * secret on any stream; root-pubkey refuses a node without /root/.ssh/id_rsa.pub
 * (before the cluster exists) and a file with several keys; cluster-fingerprint
 * prefers pveproxy-ssl.pem (a custom certificate) over pve-ssl.pem, as
 * PVE::Cluster::get_node_fingerprint does; cluster-create refuses bad names
 * and links before running pvecm, reports a create task that failed with exit 0
 * (and converges on the re-run), and hands the links over in order as
 * --link0/--link1 with their priority.
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
import { ok, refused, step } from "./cluster-steps";

describe("single-node steps (real SSH, fake PVE)", () => {
    let site: Hosts;
    const pveLocal = () => path.join(site.stateDir, "hosts", "pve1", "pve-local");

    before(async () => {
        site = await startHosts("nodesteps", [{ name: "pve1", address: "127.0.7.11" }]);
    });
    after(async () => site?.close());

    it("api-token replaces a hand-made privilege-separated token and prints the new secret", async () => {
        const made = await site.run("pve1", "pveum user token add root@pam pulumi --privsep 1 --output-format json");
        assert.equal(made.code, 0, made.stderr);
        const old = JSON.parse(made.stdout).value as string;
        const line = ok(await step(site, "pve1", "api-token", ["root@pam", "pulumi"]), "token");
        const [id, secret] = [line.token!.slice(0, line.token!.indexOf("=")), line.token!.slice(line.token!.indexOf("=") + 1)];
        assert.equal(id, "root@pam!pulumi");
        assert.notEqual(secret, old);
        const db = JSON.parse(fs.readFileSync(path.join(pveLocal(), "priv", "fake-pveum-tokens.json"), "utf8"));
        assert.deepEqual(db.users["root@pam"].tokens, { pulumi: { privsep: "0" } });
        assert.deepEqual(db.secrets, { "root@pam!pulumi": secret });
    });

    it("api-token refuses unknown users and invalid ids without printing a secret", async () => {
        const db = fs.readFileSync(path.join(pveLocal(), "priv", "fake-pveum-tokens.json"), "utf8");
        const secret = (JSON.parse(db).secrets as Record<string, string>)["root@pam!pulumi"]!;
        const cases: [string[], RegExp][] = [
            [["nobody@pve", "pulumi"], /^api-token: cannot list the tokens of nobody@pve: no such user \('nobody@pve'\)$/],
            [["root", "pulumi"], /invalid user id 'root'/],
            [["root@pam", "1bad"], /invalid token id '1bad'/],
            [["root@pam", "bad;rm"], /invalid token id/],
        ];
        for (const [args, reason] of cases) {
            const r = await step(site, "pve1", "api-token", args);
            refused(r, reason, args.join(" "));
            assert.ok(!r.stderr.includes(secret));
        }
        assert.equal(fs.readFileSync(path.join(pveLocal(), "priv", "fake-pveum-tokens.json"), "utf8"), db);
    });

    it("root-pubkey refuses a node without the key, and a file with several keys", async () => {
        refused(
            await step(site, "pve1", "root-pubkey", []),
            /\/root\/\.ssh\/id_rsa\.pub does not exist \(pvecm create\/add creates it/,
            "missing",
        );
        await site.run("pve1", "ssh-keygen -q -t rsa -b 2048 -N '' -f /root/.ssh/id_rsa -C root@pve1");
        const r = await step(site, "pve1", "root-pubkey", []);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout, `pubkey=${fs.readFileSync(path.join(site.host("pve1").dir, "root-ssh", "id_rsa.pub"), "utf8")}`);
        await site.run("pve1", "cat /root/.ssh/id_rsa.pub /root/.ssh/id_rsa.pub > /tmp/two && cp /tmp/two /root/.ssh/id_rsa.pub");
        refused(await step(site, "pve1", "root-pubkey", []), /must hold exactly one key line, found 2/, "two keys");
    });

    it("cluster-fingerprint uses pveproxy-ssl.pem when a custom certificate is installed", async () => {
        const nodeDir = path.join(pveLocal(), "nodes", "pve1");
        const standard = ok(await step(site, "pve1", "cluster-fingerprint", []), "fp").fingerprint;
        assert.equal(standard, new crypto.X509Certificate(fs.readFileSync(path.join(nodeDir, "pve-ssl.pem"))).fingerprint256);
        const gen = await site.run(
            "pve1",
            "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=custom -days 1 " +
                "-keyout /etc/pve/nodes/pve1/pveproxy-ssl.key -out /etc/pve/nodes/pve1/pveproxy-ssl.pem 2>/dev/null",
        );
        assert.equal(gen.code, 0, gen.stderr);
        const custom = ok(await step(site, "pve1", "cluster-fingerprint", []), "fp custom").fingerprint;
        assert.equal(custom, new crypto.X509Certificate(fs.readFileSync(path.join(nodeDir, "pveproxy-ssl.pem"))).fingerprint256);
        assert.notEqual(custom, standard);
    });

    it("cluster-create passes links in order as --link0, --link1 (priority kept) and refuses bad arguments", async () => {
        refused(await step(site, "pve1", "cluster-create", ["Bad_Name", "127.0.7.11"]), /invalid cluster name 'Bad_Name'/, "name");
        refused(await step(site, "pve1", "cluster-create", ["lab", "127.0.7.11;reboot"]), /invalid link '127\.0\.7\.11;reboot'/, "link");
        refused(await step(site, "pve1", "cluster-create", ["lab"]), /usage: cluster-create\.sh/, "no link");
        assert.ok(!fs.existsSync(path.join(pveLocal(), "corosync.conf")));
        // pvecm create's worker fails (exit 0, message on stderr): reported; the re-run creates.
        site.fault("pve1", "create-task-error", "can't create shared ssh key database '/etc/pve/priv/authorized_keys'");
        refused(
            await step(site, "pve1", "cluster-create", ["lab", "127.0.7.11", "address=10.9.9.11,priority=20"]),
            /^cluster-create: pvecm create failed \(exit 0, no \/etc\/pve\/corosync\.conf afterwards\): can't create shared ssh key database '\/etc\/pve\/priv\/authorized_keys'$/,
            "create task error",
        );
        const line = ok(await step(site, "pve1", "cluster-create", ["lab", "127.0.7.11", "address=10.9.9.11,priority=20"]), "create");
        assert.deepEqual(line, { cluster: "lab", action: "created" });
        const create = site.calls("pve1").find((c) => c.argv[1] === "create");
        assert.deepEqual(create?.argv.slice(1), ["create", "lab", "--link0", "127.0.7.11", "--link1", "address=10.9.9.11,priority=20"]);
        const conf = (await site.run("pve1", "cat /etc/pve/corosync.conf")).stdout;
        assert.match(conf, /ring0_addr: 127\.0\.7\.11\n\s+ring1_addr: 10\.9\.9\.11/);
        assert.match(conf, /interface \{\n\s+knet_link_priority: 20\n\s+linknumber: 1\n/);
    });
});
