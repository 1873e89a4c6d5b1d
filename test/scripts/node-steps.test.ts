/**
 * cluster-create.sh and the API token scripts (api-access.sh, api-token.sh,
 * api-token-remove.sh) on one fake Proxmox VE node, over real OpenSSH with
 * the exact component command text.
 *
 * Proves: bad names and links (and the previous version's call with a token
 * argument) are refused by cluster-create before any PVE command runs, and it
 * calls no pveum at all; a create task that fails with exit 0 is reported and
 * the re-run converges, handing the links over in order as --link0/--link1
 * with their priority; the fingerprint is the SHA-256 of pve-ssl.pem, or of
 * pveproxy-ssl.pem once a custom certificate is installed (as
 * PVE::Cluster::get_node_fingerprint picks it); the public key is root's
 * id_rsa.pub, and a missing file or one with several keys is refused; the
 * token scripts refuse invalid ids before any PVE command; api-token leaves an
 * existing role alone (api-access owns it) and fails with pveum's reason for a
 * privilege pveum refuses; api-token refuses a token that came back with privilege separation
 * off; api-token-remove of a user that does not exist is a no-op.
 *
 * Does NOT prove: real pveum/pve-access-control behaviour (fake of
 * test/fakes/sbin following its API2 modules), that the token works against a
 * real API.
 */
import * as assert from "node:assert/strict";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { startHosts, type Hosts } from "../harness/hosts";
import { clusterFile, created, fakeCommands, ok, refused, step } from "./cluster-steps";
import { API_ROLE, API_USER, apiPrivilegeList } from "../../components/hosts/steps";
import { scriptInvocation } from "../../components/remote";

const LINKS = ["127.0.7.11", "address=10.9.9.11,priority=20"];

describe("cluster-create on a single node (real SSH, fake PVE)", () => {
    let site: Hosts;
    let standardFp = "";
    const pveumSince = (from: number) => fakeCommands(site, "pve1", from).filter((c) => c.startsWith("pveum"));

    before(async () => {
        site = await startHosts("nodesteps", [{ name: "pve1", address: "127.0.7.11" }]);
    });
    after(async () => site?.close());

    it("refuses bad names and links (and the previous version's token argument) before running any PVE command", async () => {
        const cases: [(string | number)[], RegExp][] = [
            [["Bad_Name", "127.0.7.11"], /^cluster-create: invalid cluster name 'Bad_Name'/],
            [["lab", "127.0.7.11;reboot"], /^cluster-create: invalid link '127\.0\.7\.11;reboot'/],
            [["lab"], /^cluster-create: usage: cluster-create\.sh/],
            // The previous version's call (a token argument before the links) is refused, not misread.
            [["lab", "-", "127.0.7.11"], /^cluster-create: invalid link '-'/],
            [["lab", "root@pam!pulumi", "127.0.7.11"], /^cluster-create: invalid link 'root@pam!pulumi'/],
        ];
        for (const [args, reason] of cases) refused(await step(site, "pve1", "cluster-create", args), reason, args.join(" "));
        assert.deepEqual(fakeCommands(site, "pve1"), [], "no PVE command ran");
        assert.ok(!fs.existsSync(path.join(site.stateDir, "hosts", "pve1", "pve-local", "corosync.conf")));
    });

    it("reports a create task that failed with exit 0; the re-run creates, links in order, and no pveum runs", async () => {
        // pvecm create's worker fails (exit 0, message on stderr): reported; the re-run creates.
        site.fault("pve1", "create-task-error", "can't create shared ssh key database '/etc/pve/priv/authorized_keys'");
        refused(
            await step(site, "pve1", "cluster-create", ["lab", ...LINKS]),
            /^cluster-create: pvecm create failed \(exit 0, no \/etc\/pve\/corosync\.conf afterwards\): can't create shared ssh key database '\/etc\/pve\/priv\/authorized_keys'$/,
            "create task error",
        );

        const c = created(await step(site, "pve1", "cluster-create", ["lab", ...LINKS]), "create");
        assert.deepEqual([c.cluster, c.action], ["lab", "created"]);
        const create = site.calls("pve1").find((x) => x.argv[1] === "create");
        assert.deepEqual(create?.argv.slice(1), ["create", "lab", "--link0", "127.0.7.11", "--link1", "address=10.9.9.11,priority=20"]);
        const conf = (await site.run("pve1", "cat /etc/pve/corosync.conf")).stdout;
        assert.match(conf, /ring0_addr: 127\.0\.7\.11\n\s+ring1_addr: 10\.9\.9\.11/);
        assert.match(conf, /interface \{\n\s+knet_link_priority: 20\n\s+linknumber: 1\n/);

        // What it printed: the certificate's fingerprint, root's key as on disk; no token is cluster-create's business.
        standardFp = c.fingerprint;
        assert.equal(c.fingerprint, new crypto.X509Certificate(clusterFile(site, "nodes/pve1/pve-ssl.pem")).fingerprint256);
        assert.equal(c.pubkey, fs.readFileSync(path.join(site.host("pve1").dir, "root-ssh", "id_rsa.pub"), "utf8").trim());
        assert.deepEqual(pveumSince(0), [], "cluster-create calls no pveum");
    });

    it("refuses a missing public key or one with several keys", async () => {
        await site.run("pve1", "mv /root/.ssh/id_rsa.pub /root/.ssh/id_rsa.pub.aside");
        refused(
            await step(site, "pve1", "cluster-create", ["lab", ...LINKS]),
            /^cluster-create: \/root\/\.ssh\/id_rsa\.pub does not exist \(pvecm create creates it when missing/,
            "missing",
        );
        await site.run("pve1", "cat /root/.ssh/id_rsa.pub.aside /root/.ssh/id_rsa.pub.aside > /root/.ssh/id_rsa.pub");
        refused(
            await step(site, "pve1", "cluster-create", ["lab", ...LINKS]),
            /^cluster-create: \/root\/\.ssh\/id_rsa\.pub must hold exactly one key line, found 2$/,
            "two keys",
        );
        await site.run("pve1", "mv /root/.ssh/id_rsa.pub.aside /root/.ssh/id_rsa.pub");
        const c = created(await step(site, "pve1", "cluster-create", ["lab", ...LINKS]), "key restored");
        assert.equal(c.pubkey, fs.readFileSync(path.join(site.host("pve1").dir, "root-ssh", "id_rsa.pub"), "utf8").trim());
    });

    it("prints the fingerprint of pveproxy-ssl.pem when a custom certificate is installed", async () => {
        const gen = await site.run(
            "pve1",
            "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=custom -days 1 " +
                "-keyout /etc/pve/nodes/pve1/pveproxy-ssl.key -out /etc/pve/nodes/pve1/pveproxy-ssl.pem 2>/dev/null",
        );
        assert.equal(gen.code, 0, gen.stderr);
        const custom = created(await step(site, "pve1", "cluster-create", ["lab", ...LINKS]), "custom cert").fingerprint;
        assert.equal(custom, new crypto.X509Certificate(clusterFile(site, "nodes/pve1/pveproxy-ssl.pem")).fingerprint256);
        assert.notEqual(custom, standardFp);
    });

    it("the token scripts refuse invalid ids before any PVE command", async () => {
        const from = site.calls("pve1").length;
        const cases: [string, (string | number)[], RegExp][] = [
            ["api-access", [API_USER, API_ROLE, apiPrivilegeList()], /^api-access: usage: api-access\.sh/],
            ["api-access", ["root", API_ROLE, apiPrivilegeList(), "pulumi-1"], /^api-access: invalid user id 'root'/],
            ["api-access", [API_USER, "bad role", apiPrivilegeList(), "pulumi-1"], /^api-access: invalid role id 'bad role'/],
            ["api-access", [API_USER, API_ROLE, "Sys.Audit;reboot", "pulumi-1"], /^api-access: invalid privilege list/],
            ["api-token", [API_USER, "pulumi-1", API_ROLE], /^api-token: usage: api-token\.sh/],
            ["api-token", [API_USER, "1bad", API_ROLE, apiPrivilegeList()], /^api-token: invalid token id '1bad'/],
            ["api-token", [API_USER, "bad;rm", API_ROLE, apiPrivilegeList()], /^api-token: invalid token id 'bad;rm'/],
            ["api-token", ["nobody!x", "pulumi-1", API_ROLE, apiPrivilegeList()], /^api-token: invalid user id 'nobody!x'/],
            ["api-token", [API_USER, "pulumi-1", API_ROLE, "Sys.Audit;x"], /^api-token: invalid privilege list/],
            ["api-token-remove", [API_USER], /^api-token-remove: usage/],
        ];
        for (const [script, args, reason] of cases) refused(await step(site, "pve1", script, args), reason, `${script} ${args.join(" ")}`);
        assert.deepEqual(pveumSince(from), [], "no pveum ran");
    });

    it("api-token leaves an existing role to api-access; a role pveum refuses fails with its reason; remove of an unknown user is a no-op", async () => {
        // An existing role with other privileges is not touched by api-token (api-access converges it).
        const made = await site.run("pve1", "pveum user add other@pve && pveum role add Other --privs Sys.Audit");
        assert.equal(made.code, 0, made.stderr);
        const t = await step(site, "pve1", "api-token", ["other@pve", "pulumi-1", "Other", apiPrivilegeList()]);
        assert.equal(t.code, 0, t.stderr);
        assert.deepEqual(
            JSON.parse((await site.run("pve1", "pveum role list --output-format json")).stdout).find(
                (r: { roleid: string }) => r.roleid === "Other",
            ),
            { roleid: "Other", privs: "Sys.Audit", special: 0 },
        );
        refused(
            await step(site, "pve1", "api-token", ["third@pve", "pulumi-1", "Third", "Sys.Audit,VM.Monitor"]),
            /^api-token: pveum role add Third failed: create role failed: invalid privilege 'VM\.Monitor'$/,
            "invalid privilege",
        );
        assert.deepEqual(ok(await step(site, "pve1", "api-token-remove", ["ghost@pve", "pulumi-1"]), "remove"), {
            token: "ghost@pve!pulumi-1",
            action: "absent",
        });
    });

    it("api-token refuses a token that came back with privilege separation off, printing no secret", async () => {
        // A pveum whose add ignores --privsep 1 (the fake honours the option; a wrapper drops it, as a misbehaving pveum would).
        const wrap = await site.run(
            "pve1",
            "mkdir -p /root/wrap && printf '%s\\n' '#!/bin/bash' 'args=(); for a in \"$@\"; do [[ $a == 1 && ${args[-1]:-} == --privsep ]] && a=0; args+=(\"$a\"); done; exec /usr/local/sbin/pveum \"${args[@]}\"' > /root/wrap/pveum && chmod +x /root/wrap/pveum && command -v pveum",
        );
        assert.equal(wrap.code, 0, wrap.stderr);
        const r = await site.run(
            "pve1",
            `PATH=/root/wrap:$PATH ${scriptInvocation("api-token", [API_USER, "pulumi-1", API_ROLE, apiPrivilegeList()])}`,
        );
        assert.notEqual(r.code, 0);
        assert.equal(r.stdout, "");
        assert.match(r.stderr, /^api-token: the token was created with privilege separation off\n$/);
        await site.run("pve1", "rm -rf /root/wrap");
    });
});
