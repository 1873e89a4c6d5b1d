/**
 * join-check.sh (issue #11 points 8 and 12) over real OpenSSH on fake hosts,
 * with the exact component command text, then the joins it prepares.
 *
 * Proves:
 * - the fingerprint is the one of the certificate pveproxy serves now: read
 *   before the cluster exists it equals the create's (pve-cluster
 *   API2/ClusterConfig.pm create calls Setup.pm gen_pve_node_files without
 *   force, so the certificate is kept); after a renewal as pveupdate does it
 *   (pve-manager bin/pveupdate: gen_pve_ssl_cert(1, …) when the certificate
 *   expires soon) the create's stored value fails the join with pvecm's
 *   "fingerprint '…' not verified, abort!" (pve-apiclient; the fake compares
 *   the peer's certificate at join time) — what the component did before —
 *   and the value read right before the join passes;
 * - reading it runs no PVE command at all (no pveum: the API token cannot
 *   rotate), writes nothing;
 * - with a QDevice configured (a `device {` block in corosync.conf's quorum
 *   section, as `pvecm qdevice setup` writes it: pve-cluster CLI/pvecm.pm) a
 *   node that is not yet a member is refused with pvecm.adoc's advice, before
 *   any join; a member passes (its join only confirms membership);
 * - a cluster of another name is refused.
 *
 * Does NOT prove: a real pveproxy serving the renewed certificate (the fake
 * pvecm reads the file, as PVE::Cluster::get_node_fingerprint does).
 */
import * as assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startHosts, type Hosts } from "../harness/hosts";
import { created, fakeCommands, ok, refused, step } from "./cluster-steps";

const PASSWORD = "join-check pw";
const FP_RE = /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/;

describe("join-check: the fingerprint right before each join, and no join under a QDevice (real SSH, fake PVE)", () => {
    let site: Hosts;
    const check = (joiner: string, cluster = "prod") => step(site, "prox1", "join-check", [cluster, joiner]);
    const join = (node: string, address: string, fingerprint: string) =>
        step(site, node, "cluster-join", ["prod", "127.0.8.11", fingerprint, address], `${PASSWORD}\n`);
    let createdFp = "";

    before(async () => {
        site = await startHosts("joincheck", [
            { name: "prox1", address: "127.0.8.11", rootPassword: PASSWORD },
            { name: "prox2", address: "127.0.8.12" },
            { name: "prox3", address: "127.0.8.13" },
        ]);
    });
    after(async () => site?.close());

    it("before the cluster exists it reads the certificate the create keeps", async () => {
        const r = ok(await check("prox2"), "check before create");
        assert.match(r.fingerprint!, FP_RE);
        assert.deepEqual({ ...r, fingerprint: "" }, { fingerprint: "", cluster: "none", member: "no", qdevice: "none" });
        createdFp = created(await step(site, "prox1", "cluster-create", ["prod", "127.0.8.11"]), "create").fingerprint;
        assert.equal(createdFp, r.fingerprint, "pvecm create does not change the certificate");
    });

    it("after pveupdate renewed pve-ssl.pem the create's fingerprint fails the join; the one read now passes", async () => {
        // What pveupdate's renewal does (gen_pve_ssl_cert with force): a new certificate for the same key file name.
        const renew = await site.run(
            "prox1",
            "cd /etc/pve/nodes/prox1 && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=prox1 -days 700 -keyout pve-ssl.key -out pve-ssl.pem 2>/dev/null",
        );
        assert.equal(renew.code, 0, renew.stderr);

        refused(
            await join("prox2", "127.0.8.12", createdFp),
            /failed \(pvecm add exit 0\): fingerprint '([0-9A-F]{2}:){31}[0-9A-F]{2}' not verified, abort!$/,
            "stale fingerprint",
        );

        const calls = site.calls("prox1").length;
        const now = ok(await check("prox2"), "check after renewal");
        assert.deepEqual(fakeCommands(site, "prox1", calls), [], "no PVE command ran: nothing written, no token touched");
        assert.notEqual(now.fingerprint, createdFp);
        assert.deepEqual({ ...now, fingerprint: "" }, { fingerprint: "", cluster: "prod", member: "no", qdevice: "none" });
        assert.deepEqual(ok(await join("prox2", "127.0.8.12", now.fingerprint!), "join with the fresh fingerprint"), {
            node: "prox2",
            action: "joined",
        });
        assert.equal(ok(await check("prox2"), "check of a member").member, "yes");
    });

    it("with a QDevice configured a new node is refused before any join; a member still passes", async () => {
        // The quorum section as `pvecm qdevice setup` writes it (pve-cluster CLI/pvecm.pm: model net, votes 1, net { … }).
        const add = await site.run(
            "prox1",
            String.raw`sed -i 's/^quorum {$/quorum {\n  device {\n    model: net\n    net {\n      algorithm: ffsplit\n      host: 127.0.8.20\n      tls: on\n    }\n    votes: 1\n  }/' /etc/pve/corosync.conf && grep -c 'device {' /etc/pve/corosync.conf`,
        );
        assert.equal(add.stdout.trim(), "1", add.stderr);
        refused(
            await check("prox3"),
            /^join-check: cluster 'prod' has a QDevice configured; Proxmox advises removing it before a node is added \(pvecm\.adoc, Adding\/Deleting Nodes After QDevice Setup\), so prox3 is not joined: on prox1 run 'pvecm qdevice remove', then re-run 'pulumi up' \(it joins prox3, then sets the QDevice up again\)$/,
            "qdevice",
        );
        const member = ok(await check("prox2"), "member under a QDevice");
        assert.equal(member.member, "yes");
        assert.equal(member.qdevice, "configured");
    });

    it("a cluster of another name, or invalid arguments, are refused", async () => {
        refused(
            await check("prox3", "other"),
            /^join-check: node prox1 is in cluster 'prod', not 'other'; refusing to prepare a join$/,
            "name",
        );
        refused(await check("Prox3"), /^join-check: invalid node name 'Prox3'$/, "node name");
        refused(
            await step(site, "prox1", "join-check", ["prod"]),
            /^join-check: usage: join-check\.sh <cluster-name> <joining-node>$/,
            "usage",
        );
    });
});
