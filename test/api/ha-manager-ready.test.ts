/**
 * Proves: the wait before resource-affinity rules. The exact command text the
 * API layer records for the lab stack runs for real in bash against a fake
 * `pvesh` and succeeds once the HA manager's status lists every node; on a
 * fresh site (no status yet, then a master listing part of the nodes) it keeps
 * polling and succeeds when all are listed; a node counts whatever its state
 * (the rule check counts keys); when the status never lists every node, or
 * pvesh keeps failing, it stops after its bound with one message naming the
 * missing nodes, why it matters and what to check; wrong arguments exit 2.
 * In the program: every resource-affinity rule of lab and dc2 waits for the
 * step, which waits for the HA resources of the rules and every membership
 * step; prod (no resource-affinity rule) has no such step.
 * The fake serves what Proxmox serves: `pvesh get
 * /cluster/ha/status/manager_status` is pve-ha-manager src/PVE/API2/HA/Status.pm
 * `manager_status` — { manager_status: <ha/manager_status JSON, {} while the
 * file does not exist (src/PVE/HA/Config.pm json_reader)>, quorum: { node,
 * quorate }, lrm_status: { <node>: … } per listed node }; the file holds
 * master_node, node_status (node → online|unknown|fence|gone|maintenance),
 * service_status and timestamp (src/PVE/HA/Manager.pm flush_master_status,
 * src/PVE/HA/NodeStatus.pm). Before this change the rules did not wait: the
 * order test below failed (no such step), and Proxmox's check with the empty
 * status refuses every negative rule (test/site/harules.test.ts, "counts the
 * nodes it is given").
 * Does not prove: how long a real CRM takes to become master (no PVE here).
 */
import { describe, it, before, beforeEach, afterEach } from "node:test";
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { scriptInvocation } from "../../components/remote";
import { HA_MANAGER_POLL_SECONDS, HA_MANAGER_TIMEOUT_SECONDS } from "../../components/api/rules";
import { runStack, stepsOf, waitsForAll, type Run } from "./harness";

/** Fake pvesh: answers the n-th call with responses[min(n, last)]; `{ fail }` exits 255 with the text (a Perl die). */
const FAKE_PVESH = `#!${process.execPath}
const fs = require("fs");
const statePath = process.env.FAKE_PVESH_STATE;
const state = JSON.parse(fs.readFileSync(statePath, "utf8"));
const argv = process.argv.slice(2);
if (argv.join(" ") !== "get /cluster/ha/status/manager_status --output-format json") {
    process.stderr.write("fake pvesh: unsupported invocation " + JSON.stringify(argv) + "\\n");
    process.exit(2);
}
const r = state.responses[Math.min(state.calls, state.responses.length - 1)];
state.calls++;
fs.writeFileSync(statePath, JSON.stringify(state));
if (r.fail) { process.stderr.write(r.fail + "\\n"); process.exit(255); }
process.stdout.write(JSON.stringify(r) + "\\n");
`;

/** What Status.pm manager_status returns for a manager status file (undefined: no file yet). */
function status(self: string, file?: { master_node: string; node_status: Record<string, string> }) {
    return {
        manager_status: file ? { ...file, service_status: { "vm:201": { node: "lab1", state: "started" } }, timestamp: 1764079200 } : {},
        quorum: { node: self, quorate: 1 },
        ...(file
            ? { lrm_status: Object.fromEntries(Object.keys(file.node_status).map((n) => [n, { mode: "active", state: "active" }])) }
            : {}),
    };
}

let dir: string;

function run(text: string, responses: unknown[]): { code: number | null; stdout: string; stderr: string; calls: number } {
    fs.writeFileSync(path.join(dir, "state.json"), JSON.stringify({ calls: 0, responses }));
    const r = spawnSync("bash", ["-c", text], {
        encoding: "utf8",
        env: {
            ...process.env,
            PATH: `${path.join(dir, "bin")}:${process.env.PATH ?? "/usr/bin:/bin"}`,
            FAKE_PVESH_STATE: path.join(dir, "state.json"),
        },
    });
    const calls = (JSON.parse(fs.readFileSync(path.join(dir, "state.json"), "utf8")) as { calls: number }).calls;
    return { code: r.status, stdout: r.stdout, stderr: r.stderr, calls };
}

/** The script with a short bound and a 1 s poll (the recorded text polls every 5 s for 600 s). */
const quick = (timeout: number) => scriptInvocation("ha-manager-ready", [timeout, 1, "lab1", "lab2"]);

describe("scripts/ha-manager-ready.sh", () => {
    let recorded: string;
    before(async () => {
        const lab = await runStack("lab");
        const cmd = lab.api.find((r) => r.name === "lab-api-ha-manager-ready");
        assert.ok(cmd, "lab records the wait");
        recorded = cmd.inputs.create as string;
        assert.equal(recorded, scriptInvocation("ha-manager-ready", [HA_MANAGER_TIMEOUT_SECONDS, HA_MANAGER_POLL_SECONDS, "lab1", "lab2"]));
    });
    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "api-ha-ready-"));
        fs.mkdirSync(path.join(dir, "bin"));
        fs.writeFileSync(path.join(dir, "bin", "pvesh"), FAKE_PVESH, { mode: 0o755 });
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("the recorded text succeeds at once when the status lists every node", () => {
        const r = run(recorded, [status("lab1", { master_node: "lab1", node_status: { lab1: "online", lab2: "online" } })]);
        assert.deepEqual(r, { code: 0, stdout: "master=lab1\nnodes=lab1=online lab2=online\n", stderr: "", calls: 1 });
    });

    it("on a fresh site polls through 'no status yet' and 'one node listed' until every node is", () => {
        const r = run(quick(60), [
            status("lab1"),
            status("lab1", { master_node: "lab2", node_status: { lab2: "online" } }),
            status("lab1", { master_node: "lab2", node_status: { lab1: "online", lab2: "online" } }),
        ]);
        assert.deepEqual(r, { code: 0, stdout: "master=lab2\nnodes=lab1=online lab2=online\n", stderr: "", calls: 3 });
    });

    it("counts a listed node whatever its state (the rule check counts the keys)", () => {
        const r = run(quick(0), [status("lab1", { master_node: "lab1", node_status: { lab1: "online", lab2: "unknown" } })]);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout, "master=lab1\nnodes=lab1=online lab2=unknown\n");
    });

    it("stops after its bound with the missing node, the reason and what to check", () => {
        const r = run(quick(2), [status("lab1", { master_node: "lab1", node_status: { lab1: "online" } })]);
        assert.equal(r.code, 1);
        assert.equal(r.stdout, "");
        assert.ok(r.calls >= 2, `polled ${r.calls} times`);
        assert.equal(
            r.stderr,
            "ha-manager-ready.sh: after 2s the HA manager status still lacks lab2; it lists lab1=online (master lab1). " +
                "Proxmox counts the nodes of a resource-affinity rule from this status, so the rules would be refused " +
                '("rule defines more resources than available nodes"). Check on every node that the cluster is quorate ' +
                "and pve-ha-crm and pve-ha-lrm run (pvecm status; systemctl status pve-ha-crm pve-ha-lrm; ha-manager status), then run pulumi up again.\n",
        );
    });

    it("with no status at all names every node; a failing pvesh is reported with its message", () => {
        const none = run(quick(0), [status("lab1")]);
        assert.equal(none.code, 1);
        assert.match(none.stderr, /still lacks lab1 lab2; it lists no node\./);
        const failing = run(quick(0), [{ fail: "ipcc_send_rec[1] failed: Connection refused" }]);
        assert.equal(failing.code, 1);
        assert.match(failing.stderr, /still lacks lab1 lab2; pvesh failed: ipcc_send_rec\[1\] failed: Connection refused/);
    });

    it("refuses wrong arguments with exit 2, before asking pvesh", () => {
        for (const args of [[], [10, 1], ["x", 1, "lab1"], [10, 0, "lab1"], [10, 1, "bad name"]]) {
            const r = run(scriptInvocation("ha-manager-ready", args), [status("lab1")]);
            assert.equal(r.code, 2, JSON.stringify(args));
            assert.equal(r.calls, 0);
        }
    });
});

describe("the wait in the program", () => {
    const runs = new Map<string, Run>();
    before(async () => {
        for (const s of ["prod", "lab", "dc2"]) runs.set(s, await runStack(s));
    });

    for (const stack of ["lab", "dc2"]) {
        it(`${stack}: every resource-affinity rule waits for it; it waits for the rules' HA resources and every membership step`, () => {
            const run = runs.get(stack)!;
            const step = run.api.find((r) => r.name === `${stack}-api-ha-manager-ready`)!;
            assert.ok(step);
            for (const rule of run.site.haRules) {
                const rec = run.api.find((r) => r.name === `${stack}-api-harule-${rule.id}`)!;
                assert.ok(waitsForAll(run.records, rec.urn, step.urn), rule.id);
                for (const vmid of rule.guests) {
                    const ha = run.api.find((r) => r.name === `${stack}-api-ha-${vmid}`)!;
                    assert.ok(waitsForAll(run.records, step.urn, ha.urn), `${vmid}`);
                }
            }
            const membership = run.records.filter((r) => /-cluster-create$|-join$/.test(r.name));
            assert.ok(membership.length >= 1);
            // Explicitly, not only through the guests' storage (only members are listed).
            for (const m of membership) assert.ok(step.dependsOn.includes(m.urn), m.name);
            // Node-affinity rules do not wait for it (they are not counted against nodes).
            for (const r of run.api.filter((x) => x.name.startsWith(`${stack}-api-harule-ha-guest-`))) {
                assert.ok(!stepsOf(run.records, step.urn).some((u) => waitsForAll(run.records, r.urn, u)), r.name);
            }
        });
    }

    it("prod has no resource-affinity rule and no wait", () => {
        const run = runs.get("prod")!;
        assert.equal(run.site.haRules.length, 0);
        assert.ok(!run.api.some((r) => r.name.endsWith("-ha-manager-ready")));
    });
});
