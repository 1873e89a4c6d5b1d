/**
 * Proves: a replication job keeps its id and its Pulumi resource when the
 * guest's home node changes, when nodes are reordered and when another node
 * is removed, and an id the stack pins (an existing job, Proxmox's own
 * `<vmid>-0`) is the one declared. Source of the rules: pve-guest-common
 * src/PVE/ReplicationConfig.pm — parse_replication_job_id (`<GUEST>-<JOBNUM>`,
 * job number up to 9 digits), write_config (one job per guest and target),
 * switch_replication_job_target_nolock (a migration keeps the job id and swaps
 * source and target between old and new home).
 * Does not prove: what Proxmox does with a job whose id changes (nothing here
 * lets it change); that is why the id must not.
 * Before this change (ids `<vmid>-<index of the target in nodes>`) the first
 * three cases failed: 101-1 became 101-0 when the home moved to prox2, and
 * every id shifted with the node order.
 */
import { describe, it } from "node:test";
import * as assert from "node:assert/strict";
import { replicationJobs } from "../../components/model";
import { validateSite } from "../../components/validate";
import { ofType, runRaw, siteOf, variant } from "./harness";

const REPL = "proxmoxve:index/replication:Replication";

function jobs(raw: Record<string, unknown>): { id: string; target: string }[] {
    const site = siteOf(raw);
    return site.guests.flatMap((g) => replicationJobs(site, g).map((j) => ({ id: j.id, target: j.target })));
}

function threeNodes(raw: any): void {
    delete raw.qdevice;
    raw.nodes.push({
        name: "prox3",
        address: "10.0.0.13",
        links: [{ address: "10.10.10.13", priority: 20 }],
        sshHostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJCJt07ooVS+U+A18crerN85aY1FVoJ3maeZTPn04uf5",
        zfs: { pool: "pool1", layout: "mirror", disks: ["/dev/disk/by-id/ata-C1", "/dev/disk/by-id/ata-C2"] },
    });
}

describe("replication job identity", () => {
    it("does not change when the guest's home node changes (two nodes: the job's source and target swap, as Proxmox swaps them)", async () => {
        const before = jobs(variant(() => {}));
        const after = jobs(variant((r) => (r.guests[0].node = "prox2")));
        assert.equal(before.length, 1);
        assert.equal(after[0]!.id, before[0]!.id);
        assert.equal(after[0]!.target, "prox1");
        // The same Pulumi resource (name and resourceId); only `target` differs, which the program ignores.
        const a = ofType((await runRaw(variant(() => {}))).api, REPL);
        const b = ofType((await runRaw(variant((r) => (r.guests[0].node = "prox2")))).api, REPL);
        assert.deepEqual(
            b.map((r) => [r.name, r.inputs.resourceId]),
            a.map((r) => [r.name, r.inputs.resourceId]),
        );
        assert.ok(b[0]!.ignoreChanges.includes("target"));
    });

    it("does not change when nodes are reordered or another node is removed", () => {
        const three = variant(threeNodes);
        const base = jobs(three);
        assert.equal(base.length, 2);
        const reordered = jobs(
            variant((r) => {
                threeNodes(r);
                r.nodes.reverse();
            }),
        );
        const byTarget = (js: { id: string; target: string }[]) => Object.fromEntries(js.map((j) => [j.target, j.id]));
        assert.deepEqual(byTarget(reordered), byTarget(base));
        // prox3 leaves: the job to prox2 keeps its id.
        assert.equal(byTarget(jobs(variant(() => {})))["prox2"], byTarget(base)["prox2"]);
    });

    it("uses the id the stack pins for an existing job", async () => {
        const raw = variant((r) => (r.guests[0].replicationJobIds = { prox2: "101-0" }));
        assert.deepEqual(jobs(raw), [{ id: "101-0", target: "prox2" }]);
        const recs = ofType((await runRaw(raw)).api, REPL);
        assert.deepEqual(
            recs.map((r) => [r.name, r.inputs.resourceId, r.inputs.target]),
            [["prod-api-replication-101-0", "101-0", "prox2"]],
        );
    });

    it("refuses a pinned id of another guest, a pin for a node that gets no replica, and two jobs with one id", () => {
        const problems = (fn: (r: any) => void) =>
            validateSite(variant(fn)).problems.map((p) => [p.path, p.message.split(";")[0]!.split(",")[0]!]);
        assert.deepEqual(
            problems((r) => (r.guests[0].replicationJobIds = { prox2: "102-0" })),
            [["proxmox-ha:guests[0].replicationJobIds.prox2", `"102-0" is not a job of guest 101`]],
        );
        assert.deepEqual(
            problems((r) => (r.guests[0].replicationJobIds = { prox1: "101-0" })),
            [["proxmox-ha:guests[0].replicationJobIds.prox1", `"prox1" does not receive replicas of guest 101 (replicateTo: prox2)`]],
        );
        assert.deepEqual(
            problems((r) => (r.guests[0].replicationJobIds = { prox2: "101-007" })),
            [["proxmox-ha:guests[0].replicationJobIds.prox2", "must be a Proxmox replication job id <vmid>-<number>"]],
        );
        assert.deepEqual(
            problems((r) => {
                threeNodes(r);
                r.guests[0].ha = { strict: true, nodes: { prox1: 2, prox2: 1, prox3: 1 } };
                r.guests[0].replicationJobIds = { prox2: "101-0", prox3: "101-0" };
            }),
            [["proxmox-ha:guests[0].replicationJobIds", "jobs to prox2 and prox3 would both be 101-0"]],
        );
    });
});
