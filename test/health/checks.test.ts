/**
 * Proves: the health check's verdicts for the committed prod stack, computed
 * from documented command outputs (fixtures.ts) without any network: a
 * healthy two-node site with QDevice is healthy (exit 0) and never "without
 * quorum"; one node down (its corosync stopped, SSH up) keeps "quorate ✓" on
 * the survivor but flags total votes, members, corosync, the QDevice daemon
 * and the LRM as the quorate node sees it (exit 1); with the node unreachable
 * the same site ends in exit 2; a partition without quorum,
 * a failing replication job, a stale job, a missing job, a degraded pool, an
 * HA guest in error, a pending watchdog reboot each give ✗ with a remedy that
 * names the site's own nodes/jobs/pools; unrecognised output gives ? and
 * exit 2; and the rendered table carries ✓/✗/?, measured, expected, remedy.
 * Does not prove: SSH, host keys or timeouts (e2e.test.ts), nor that the
 * fixture outputs match a real Proxmox node beyond what the reference
 * documents.
 */
import { describe, it } from "node:test";
import * as assert from "node:assert/strict";
import { evaluate, type Check, type HealthReport, type HostProbe } from "../../tools/health/checks";
import { loadStackSite } from "../../tools/health/load";
import { renderReport } from "../../tools/health/report";
import type { Site } from "../../components/model";
import { haStatus, JOB_OK, pvesrStatus, res, SCENARIOS, type Scenario } from "./fixtures";

function prod(): Site {
    const l = loadStackSite("prod");
    assert.ok(l.site, JSON.stringify(l.problems));
    return l.site;
}

function run(s: Scenario, site = prod(), unreachable: Record<string, string> = {}): HealthReport {
    const nodes = new Map<string, HostProbe>();
    for (const n of site.nodes) {
        const results = s.nodes[n.name];
        nodes.set(
            n.name,
            results && !unreachable[n.name] ? { results } : { error: unreachable[n.name] ?? "unreachable: test", results: {} },
        );
    }
    return evaluate("prod", site, { nodes, ...(s.qnetd ? { qdevice: { results: s.qnetd } } : {}) });
}

function row(r: HealthReport, host: string, check: string | RegExp): Check {
    const h = r.hosts.find((x) => x.name === host);
    assert.ok(h, `no table for ${host}`);
    const c = h.checks.find((x) => (typeof check === "string" ? x.check === check : check.test(x.check)));
    assert.ok(c, `no check ${check} for ${host}: ${h.checks.map((x) => x.check).join(", ")}`);
    return c;
}

const verdicts = (r: HealthReport) => r.hosts.flatMap((h) => h.checks.map((c) => `${h.name}/${c.check}:${c.verdict}`));

describe("healthy site", () => {
    const r = run(SCENARIOS.healthy);
    it("every check passes, exit 0", () => {
        assert.deepEqual(
            verdicts(r).filter((v) => !v.endsWith(":ok")),
            [],
        );
        assert.equal(r.exitCode, 0);
        assert.equal(r.status, "healthy");
    });
    it("quorum counts the QDevice vote: 3 of 3, and both nodes are members", () => {
        for (const n of ["prox1", "prox2"]) {
            assert.equal(row(r, n, "quorate").measured, "Yes (3 of 3 votes, quorum 2)");
            assert.equal(row(r, n, "members").measured, "prox1, prox2 (2 nodes)");
            assert.equal(row(r, n, "QDevice vote").verdict, "ok");
        }
    });
    it("the cluster table: vm 101 started on prox1, job 101-492612 synced 2 min ago", () => {
        assert.equal(row(r, "prod", "HA vm:101 (fw)").measured, "started on prox1");
        assert.equal(row(r, "prod", "replication 101-492612 (vm 101 fw)").measured, "OK, last sync 2 min ago (on prox1 → local/prox2)");
        assert.equal(row(r, "prod", "replication 101-492612 (vm 101 fw)").expected, "enabled, OK, 0 failures, last sync ≤ 10 min ago");
    });
    it("renders one table per host with marks, measured, expected", () => {
        const text = renderReport(r);
        for (const title of [
            "node prox1 10.0.0.11:22",
            "node prox2 10.0.0.12:22",
            "qnetd host 10.0.0.120:22",
            "cluster prod: HA and replication",
        ]) {
            assert.ok(text.includes(title), title);
        }
        assert.match(text, /✓ {2}quorate +Yes \(3 of 3 votes, quorum 2\) +Yes/);
        assert.match(text, /HEALTHY \(exit 0\)/);
        assert.doesNotMatch(text, /^ {2}[✗?] /m);
    });
});

describe("one node down", () => {
    const r = run(SCENARIOS.nodeDown);
    it("prox1 stays quorate with 2 votes; total votes and members are flagged", () => {
        assert.equal(row(r, "prox1", "quorate").verdict, "ok");
        assert.equal(row(r, "prox1", "quorate").measured, "Yes (2 of 3 votes, quorum 2)");
        const total = row(r, "prox1", "total votes");
        assert.deepEqual([total.verdict, total.measured, total.expected], ["fail", "2", "3"]);
        const members = row(r, "prox1", "members");
        assert.equal(members.verdict, "fail");
        assert.match(members.remedy!, /prox2 not in prox1's partition/);
    });
    it("prox2 answers on SSH with corosync stopped: ✗ corosync, ✗ QDevice daemon, ✗ LRM as prox1 sees it; exit 1", () => {
        const c = row(r, "prox2", "corosync");
        assert.deepEqual([c.verdict, c.measured], ["fail", "not running (Cannot initialize CMAP service)"]);
        assert.match(c.remedy!, /systemctl status corosync/);
        assert.equal(row(r, "prox2", "QDevice daemon").verdict, "fail");
        // prox2's own HA view is not quorate: the LRM row comes from the quorate prox1.
        const lrm = row(r, "prox2", "HA LRM");
        assert.deepEqual([lrm.verdict, lrm.measured], ["fail", "old timestamp - dead? (seen from prox1)"]);
        assert.equal(row(r, "prod", "HA vm:101 (fw)").verdict, "ok");
        assert.equal(r.exitCode, 1);
        assert.equal(r.status, "degraded");
    });
});

describe("one node unreachable", () => {
    const r = run(SCENARIOS.nodeUnreachable);
    it("the unreachable node is cannot tell, so the site is exit 2; the others are still reported", () => {
        assert.equal(row(r, "prox2", "ssh").verdict, "unknown");
        assert.equal(r.exitCode, 2);
        assert.equal(row(r, "prox1", "quorate").verdict, "ok");
        assert.equal(row(r, "prox1", "members").verdict, "fail");
        assert.equal(row(r, "qnetd", "corosync-qnetd").verdict, "ok");
        assert.equal(row(r, "prod", "HA vm:101 (fw)").verdict, "ok");
    });
});

describe("degraded and broken states", () => {
    it("not quorate: ✗ quorate with activity blocked, QDevice vote not cast, QDevice not connected", () => {
        const r = run(SCENARIOS.notQuorate);
        const q = row(r, "prox1", "quorate");
        assert.deepEqual([q.verdict, q.measured], ["fail", "No, activity blocked (1 of 3 votes, quorum 2)"]);
        assert.match(q.remedy!, /10\.0\.0\.120/);
        assert.equal(row(r, "prox1", "QDevice vote").measured, "not cast (votes 1)");
        assert.equal(row(r, "prox1", "QDevice connection").measured, "Connect failed to 10.0.0.120:5403");
        // The authoritative HA view comes from the quorate node.
        assert.equal(row(r, "prod", "HA vm:101 (fw)").verdict, "ok");
        assert.equal(r.exitCode, 1);
    });
    it("failing replication: the error text, never synced, and the job id in the remedy", () => {
        const r = run(SCENARIOS.replicationFailing);
        const c = row(r, "prod", "replication 101-492612 (vm 101 fw)");
        assert.equal(c.verdict, "fail");
        assert.equal(
            c.measured,
            "No common base snapshot on volume(s) pool1:vm-101-disk-0 (3 failures, last sync never, on prox1 → local/prox2)",
        );
        assert.match(c.remedy!, /pvesr schedule-now 101-492612/);
        assert.equal(r.exitCode, 1);
    });
    it("stale replication: older than twice the worst-case gap (10 min for */5)", () => {
        const s: Scenario = {
            ...SCENARIOS.healthy,
            nodes: {
                ...SCENARIOS.healthy.nodes,
                prox1: { ...SCENARIOS.healthy.nodes.prox1, pvesr: res(pvesrStatus([{ ...JOB_OK, last: "2026-01-01_09:51:59" }])) },
            },
        };
        const c = row(run(s), "prod", /^replication 101-492612/);
        assert.deepEqual([c.verdict, c.measured], ["fail", "OK, last sync 10 min ago (on prox1 → local/prox2)"]);
        const fresh: Scenario = {
            ...SCENARIOS.healthy,
            nodes: {
                ...SCENARIOS.healthy.nodes,
                prox1: { ...SCENARIOS.healthy.nodes.prox1, pvesr: res(pvesrStatus([{ ...JOB_OK, last: "2026-01-01_09:52:00" }])) },
            },
        };
        assert.equal(row(run(fresh), "prod", /^replication 101-492612/).verdict, "ok");
    });
    it("a job missing on every node is ✗; missing on the nodes asked while one is unreachable is ?", () => {
        const none: Scenario = {
            ...SCENARIOS.healthy,
            nodes: { ...SCENARIOS.healthy.nodes, prox1: { ...SCENARIOS.healthy.nodes.prox1, pvesr: res(pvesrStatus([])) } },
        };
        const c = row(run(none), "prod", /^replication 101-492612/);
        assert.deepEqual([c.verdict, c.measured], ["fail", "missing on every node"]);
        assert.match(c.remedy!, /pvesr create-local-job 101-492612 prox2 --schedule '\*\/5'/);
        const blind = row(run(none, prod(), { prox2: "unreachable: test" }), "prod", /^replication 101-492612/);
        assert.equal(blind.verdict, "unknown");
        assert.match(blind.measured, /not on prox1; cannot ask prox2/);
    });
    it("a job that moved with its guest (failover to prox2) is found on prox2", () => {
        const s: Scenario = {
            ...SCENARIOS.healthy,
            nodes: {
                prox1: { ...SCENARIOS.healthy.nodes.prox1, pvesr: res(pvesrStatus([])), ha: res(haStatus({ service: "prox2, started" })) },
                prox2: {
                    ...SCENARIOS.healthy.nodes.prox2,
                    pvesr: res(pvesrStatus([{ ...JOB_OK, target: "prox1" }])),
                    ha: res(haStatus({ service: "prox2, started" })),
                },
            },
        };
        const r = run(s);
        assert.equal(row(r, "prod", /^replication 101-492612/).measured, "OK, last sync 2 min ago (on prox2 → local/prox1)");
        assert.equal(row(r, "prod", "HA vm:101 (fw)").measured, "started on prox2");
        assert.equal(r.exitCode, 0);
    });
    it("degraded pool on prox2: ✗ with the zpool status text and a remedy naming pool1", () => {
        const r = run(SCENARIOS.degradedPool);
        const c = row(r, "prox2", "pool pool1");
        assert.equal(c.verdict, "fail");
        assert.match(c.measured, /^DEGRADED: One or more devices has been taken offline/);
        assert.match(c.remedy!, /zpool status -v pool1/);
        assert.equal(row(r, "prox1", "pool pool1").verdict, "ok");
        assert.equal(r.exitCode, 1);
    });
    it("a pool not imported: the remedy names 'zpool import' and, for a pool another host imported last, '-f'", () => {
        const s: Scenario = {
            ...SCENARIOS.healthy,
            nodes: { ...SCENARIOS.healthy.nodes, prox2: { ...SCENARIOS.healthy.nodes.prox2, zpoolList: res("") } },
        };
        const c = row(run(s), "prox2", "pool pool1");
        assert.equal(c.verdict, "fail");
        assert.equal(c.measured, "not imported");
        assert.match(c.remedy!, /`zpool import pool1`, or `zpool import -f pool1` when it says "last accessed by another system"/);
    });
    it("HA guest in error and an LRM in maintenance mode", () => {
        const s: Scenario = {
            ...SCENARIOS.healthy,
            nodes: {
                prox1: { ...SCENARIOS.healthy.nodes.prox1, ha: res(haStatus({ service: "prox1, error", lrm2: "maintenance mode" })) },
                prox2: { ...SCENARIOS.healthy.nodes.prox2, ha: res(haStatus({ service: "prox1, error", lrm2: "maintenance mode" })) },
            },
        };
        const r = run(s);
        const g = row(r, "prod", "HA vm:101 (fw)");
        assert.deepEqual([g.verdict, g.measured], ["fail", "error on prox1"]);
        assert.match(g.remedy!, /ha-manager set vm:101 --state disabled/);
        assert.match(row(r, "prox2", "HA LRM").remedy!, /node-maintenance disable prox2/);
    });
    it("watchdog: another module configured and not yet in use means a reboot is pending", () => {
        const s: Scenario = {
            ...SCENARIOS.healthy,
            nodes: {
                ...SCENARIOS.healthy.nodes,
                prox2: { ...SCENARIOS.healthy.nodes.prox2, watchdogConf: res("WATCHDOG_MODULE=ipmi_watchdog\n") },
            },
        };
        const r = run(s);
        const conf = row(r, "prox2", "watchdog configured");
        assert.deepEqual([conf.verdict, conf.measured, conf.expected], ["fail", "ipmi_watchdog", "softdog"]);
        const use = row(r, "prox2", "watchdog in use");
        assert.deepEqual([use.verdict, use.measured, use.expected], ["fail", "softdog (reboot pending: yes)", "ipmi_watchdog"]);
        assert.match(use.remedy!, /never restart watchdog-mux/);
    });
    it("watchdog: a watchdog0 nobody can attribute is 'unknown' and needs a reboot, as scripts/watchdog.sh says", () => {
        const s: Scenario = {
            ...SCENARIOS.healthy,
            nodes: {
                ...SCENARIOS.healthy.nodes,
                prox1: { ...SCENARIOS.healthy.nodes.prox1, watchdogInUse: res("identity Some Builtin WDT\n") },
            },
        };
        const use = row(run(s), "prox1", "watchdog in use");
        assert.deepEqual(
            [use.verdict, use.measured],
            ["fail", 'unknown (watchdog0 "Some Builtin WDT" has no driver module) (reboot pending: yes)'],
        );
    });
    it("watchdog: a configuration line that is not a module name is ?", () => {
        const s: Scenario = {
            ...SCENARIOS.healthy,
            nodes: {
                ...SCENARIOS.healthy.nodes,
                prox1: { ...SCENARIOS.healthy.nodes.prox1, watchdogConf: res("WATCHDOG_MODULE=$(pick)\n") },
            },
        };
        const r = run(s);
        assert.equal(row(r, "prox1", "watchdog configured").verdict, "unknown");
        assert.equal(r.exitCode, 2);
    });
    it("a qnetd host whose service is inactive", () => {
        const r = run({ ...SCENARIOS.healthy, qnetd: { qnetd: res("inactive\n", 3) } });
        assert.deepEqual([row(r, "qnetd", "corosync-qnetd").verdict, r.exitCode], ["fail", 1]);
    });
});

describe("cannot tell", () => {
    it("unrecognised pvecm output is ? (exit 2), not a quorum verdict", () => {
        const r = run(SCENARIOS.unrecognised);
        const c = row(r, "prox2", "cluster (pvecm status)");
        assert.equal(c.verdict, "unknown");
        assert.match(c.measured, /exited 139/);
        assert.equal(r.exitCode, 2);
        assert.equal(r.status, "cannot tell");
        assert.ok(!r.hosts.find((h) => h.name === "prox2")!.checks.some((x) => x.check === "quorate"));
    });
    it("every node unreachable: every row is ? and nothing is called healthy or degraded", () => {
        const r = run({ nodes: {}, qnetd: SCENARIOS.healthy.qnetd });
        assert.equal(r.exitCode, 2);
        assert.deepEqual(
            verdicts(r).filter((v) => v.endsWith(":fail")),
            [],
        );
        assert.equal(row(r, "prod", "HA vm:101 (fw)").verdict, "unknown");
    });
});

/**
 * Jobs are identified by guest and target (pve-guest-common
 * src/PVE/ReplicationConfig.pm write_config: one job per guest and target; ids
 * `<vmid>-<jobnum>`, parse_replication_job_id; the GUI and `pvesr
 * create-local-job` users name a guest's first job `<vmid>-0`, pve-manager
 * www/manager6/grid/Replication.js). Before this change a healthy `101-0` was
 * reported "missing on every node" with a `pvesr create-local-job` remedy that
 * Proxmox refuses ("replication job for guest '101' to target 'local/prox2'
 * already exists"), and a job not in the stack was not reported at all.
 */
describe("replication jobs with Proxmox's own ids", () => {
    const withJobs = (jobs: Parameters<typeof pvesrStatus>[0]): Scenario => ({
        ...SCENARIOS.healthy,
        nodes: { ...SCENARIOS.healthy.nodes, prox1: { ...SCENARIOS.healthy.nodes.prox1, pvesr: res(pvesrStatus(jobs)) } },
    });
    const adopted = (): Site => {
        const site = prod();
        return { ...site, guests: site.guests.map((g) => ({ ...g, replicationJobIds: { prox2: "101-0" } })) };
    };

    it("a site whose stack pins 101-0 is healthy with Proxmox's job 101-0", () => {
        const r = run(withJobs([{ ...JOB_OK, id: "101-0" }]), adopted());
        assert.deepEqual(
            verdicts(r).filter((v) => !v.endsWith(":ok")),
            [],
        );
        assert.equal(row(r, "prod", "replication 101-0 (vm 101 fw)").measured, "OK, last sync 2 min ago (on prox1 → local/prox2)");
        assert.equal(r.exitCode, 0);
    });

    it("the job to prox2 under another id than the stack's: ✗ naming the existing id and the stack key to pin it, never a create", () => {
        const r = run(withJobs([{ ...JOB_OK, id: "101-0" }]));
        const c = row(r, "prod", /^replication 101-492612/);
        assert.equal(c.verdict, "fail");
        assert.equal(c.measured, "the job to prox2 is 101-0 (on prox1 → local/prox2)");
        assert.match(c.remedy!, /set guests\[0\]\.replicationJobIds\.prox2: 101-0/);
        assert.doesNotMatch(c.remedy!, /create-local-job/);
        assert.equal(
            r.hosts.flatMap((h) => h.checks).filter((x) => x.check.includes("unknown job")).length,
            0,
            "the job is the stack's, not unknown",
        );
    });

    it("a job the stack does not declare is reported as unknown, with a remedy Proxmox accepts", () => {
        const r = run(withJobs([JOB_OK, { ...JOB_OK, id: "105-0", target: "prox2" }, { ...JOB_OK, id: "101-3", target: "prox3" }]));
        const other = row(r, "prod", "replication 105-0 (unknown job: vm 105 → prox2)");
        assert.equal(other.verdict, "fail");
        assert.equal(other.expected, "not in the stack");
        assert.match(other.remedy!, /guest 105 is not in the stack: `npm run adopt`.*`pvesr delete 105-0 --keep`/);
        const extra = row(r, "prod", "replication 101-3 (unknown job: vm 101 → prox3)");
        assert.match(extra.remedy!, /add prox3 to guests\[0\]\.replicateTo and set guests\[0\]\.replicationJobIds\.prox3: 101-3/);
        assert.equal(row(r, "prod", /^replication 101-492612/).verdict, "ok");
        assert.equal(r.exitCode, 1);
    });
});
