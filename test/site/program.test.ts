/**
 * Proves: every committed stack validates and plans under the mock runtime;
 * the offline plan CLI prints the site and exits 0, exits 2 with every message
 * for a broken stack, prints JSON with --json, and never prints a secret value;
 * the program refuses a secret written in plain text before any resource is
 * registered.
 * Does not prove: what the real Pulumi engine or providers do with the
 * resources (no engine here), nor decryption of `secure:` values.
 */
import { describe, it } from "node:test";
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { plan } from "../../tools/plan";
import { listStacks, ROOT } from "../../tools/lib/stack";

const tsx = path.join(ROOT, "node_modules", ".bin", "tsx");
const broken = path.join(ROOT, "test", "fixtures", "Pulumi.broken.yaml");

function runPlan(args: string[]) {
    return spawnSync(tsx, ["tools/plan.ts", ...args], { cwd: ROOT, encoding: "utf8" });
}

describe("committed stacks", () => {
    const stacks = listStacks();
    it("are the three example sites", () => {
        assert.deepEqual(stacks, ["dc2", "lab", "prod"]);
    });
    for (const stack of stacks) {
        it(`${stack} validates and plans`, async () => {
            const p = await plan(stack);
            assert.equal(p.ok, true, JSON.stringify(p.problems));
            assert.ok(p.resources!.length > 3, "the plan has resources");
            assert.equal((p.facts as { quorum: number }).quorum, 2);
            // Verified TLS (every stack but the lab, which says apiInsecure: true) needs the certificate and its key.
            const tls = stack === "lab" ? [] : ["proxmox-ha:apiCertificate", "proxmox-ha:apiCertificateKey"];
            assert.deepEqual(p.secretsRequired, ["proxmox-ha:rootPassword", "proxmox-ha:sshPrivateKey", ...tls]);
        });
    }
});

describe("npm run plan", () => {
    it("prints the reference site and exits 0", () => {
        const r = runPlan([]);
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stdout, /^Plan for stack prod/);
        assert.match(
            r.stdout,
            /^Plan for stack prod: [^\n]*\n\(An example stack: `pulumi up` refuses it\.[^\n]*\n\nSite facts\n {2}Quorum: 2 of 3 votes needed \(prox1, prox2, the QDevice 10\.0\.0\.120: one vote each\)\./,
        );
        assert.match(r.stdout, /✓ lose node prox1: quorate on prox2 \(2 of 3 votes, 2 needed\)/);
        assert.match(r.stdout, /vm 101 \(fw\): 5 min \(schedule \*\/5\)/);
        assert.match(r.stdout, /proxmox-ha:sshPrivateKey: pulumi config set --secret sshPrivateKey/);
    });
    it("names steps in plain language in stage order; type tokens only with --details (issue #13)", () => {
        const r = runPlan([]);
        assert.equal(r.status, 0, r.stderr);
        assert.doesNotMatch(r.stdout, /command:remote:Command|proxmoxve:/);
        const steps = r.stdout.slice(r.stdout.indexOf("Steps, in the order they run"));
        assert.match(steps, /^ {3}1\. prox1: wait until SSH answers with the pinned host key$/m);
        assert.ok(steps.indexOf("prox1: create the cluster") < steps.indexOf("prox2: join the cluster"));
        assert.ok(steps.indexOf("VM 101 (fw) on prox1") < steps.indexOf("make VM 101 (fw) an HA resource"));
        assert.ok(r.stdout.indexOf("Site facts") < r.stdout.indexOf("Steps, in the order"), "facts first");
        const d = runPlan(["--details"]);
        assert.match(d.stdout, /\+ prod-api-vm-101 {2}\(proxmoxve:index\/vmLegacy:VmLegacy\)/);
    });
    it("marks a failure that needs manual recovery with ⚠ (issue #13)", () => {
        const r = runPlan([]);
        assert.match(r.stdout, /^ {2}⚠ lose pool pool1 on prox1: /m);
        assert.match(r.stdout, /^ {2}✓ lose node prox1: /m);
    });
    it("exits 2 with every problem of a broken stack", () => {
        const r = runPlan(["--file", broken, "--stack", "broken"]);
        assert.equal(r.status, 2);
        assert.equal(r.stdout, "");
        const lines = r.stderr.trim().split("\n");
        assert.deepEqual(lines, [
            "Stack broken: 4 problem(s); nothing would be applied:",
            "  ✗ proxmox-ha:rootPassword: is stored in plain text; remove it and store it encrypted with `pulumi config set --secret rootPassword`",
            "  ✗ proxmox-ha:nodes[0].zfs.disks: a mirror needs at least 2 disks, 1 given; add disks or choose another layout",
            "  ✗ proxmox-ha:qdevice: is required: a two-node cluster with HA guests loses quorum when either node fails, and HA then fences the survivor. Add qdevice: { address, sshHostKey } for a corosync-qnetd host",
            `  ✗ proxmox-ha:nodes[1].zfs.pool: is "tank" but storage.pool is "pool1"; replication needs the same pool on every node ("storage not available on target node"): write pool: pool1`,
        ]);
        assert.doesNotMatch(r.stderr, /hunter2/);
    });
    it("prints JSON with --json, secrets masked", () => {
        const r = runPlan(["--stack", "dc2", "--json"]);
        assert.equal(r.status, 0, r.stderr);
        const out = JSON.parse(r.stdout) as { ok: boolean; stack: string; resources: { inputs: unknown }[] };
        assert.equal(out.ok, true);
        assert.equal(out.stack, "dc2");
        assert.doesNotMatch(r.stdout, /BEGIN OPENSSH PRIVATE KEY/);
    });
    it("refuses unknown arguments", () => {
        const r = runPlan(["--bogus"]);
        assert.equal(r.status, 2);
        assert.match(r.stderr, /unknown argument --bogus/);
    });
});
