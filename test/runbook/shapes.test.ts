/**
 * Proves (issue #13): the runbook is true for every site shape, not only the
 * committed examples: a site without HA guests gets no watchdog drill that
 * expects resets (its LRMs are idle) and a by-hand recovery of a lost node's
 * guests from their replicas; guests kept apart by a negative rule are not
 * promised a downtime-free maintenance, a move back, or a migration the rule
 * forbids; guests without HA appear in the failure table's node-loss rows.
 * Does not prove: that the commands behave so on a real cluster (the facts
 * behind them are in docs/proxmox-facts.md §5 and §6).
 */
import { describe, it } from "node:test";
import * as assert from "node:assert/strict";
import { validateSite } from "../../components/validate";
import { renderRunbook } from "../../tools/runbook/render";
import { mutate, type Raw } from "../site/fixtures";

function runbook(raw: Raw): string {
    const r = validateSite(raw);
    assert.deepEqual(r.problems, []);
    return renderRunbook("shape", r.site!);
}

/** The text of one `### title` section (up to the next `### ` or `## `). */
function section(text: string, title: string): string {
    const start = text.indexOf(`### ${title}\n`);
    assert.ok(start >= 0, `section ${title}`);
    const rest = text.slice(start + 4 + title.length);
    const end = rest.search(/\n#{2,3} /);
    return end < 0 ? rest : rest.slice(0, end);
}

/** The lines of the failure table whose first cell is `failure`. */
function failureRow(text: string, failure: string): string {
    const row = text.split("\n").find((l) => l.startsWith(`| ${failure} |`));
    assert.ok(row, `failure row ${failure}`);
    return row;
}

describe("a site without HA guests", () => {
    const text = runbook(mutate((r) => delete r.guests[0].ha));

    it("has no watchdog drill that expects a reset: the LRMs are idle", () => {
        const w = section(text, "Watchdog test");
        assert.doesNotMatch(w, /resets by itself|iptables/);
        assert.match(w, /every node's HA LRM stays `idle` and holds no watchdog, and a node that loses quorum is \*\*not\*\* reset/);
        assert.match(w, /ha-manager status {3}# lrm prox1 \(idle, …\), lrm prox2 \(idle, …\)/);
    });
    it("recovers a lost node's guests from their replicas by hand", () => {
        const r = section(text, "Recovering guests of a lost node");
        assert.match(r, /#### prox1 lost/);
        assert.ok(
            r.includes(
                "```sh\nssh root@10.0.0.12\nmv /etc/pve/nodes/prox1/qemu-server/101.conf /etc/pve/nodes/prox2/qemu-server/101.conf\nqm start 101\n```\n",
            ),
            r,
        );
        assert.match(r, /Only when the node is really off/);
    });
    it("its failover drill promises no restart", () => {
        const f = section(text, "Failover drill");
        assert.match(f, /This site has no HA guests: nothing restarts by itself/);
        assert.doesNotMatch(f, /Proves that HA restarts/);
    });
    it("its node-loss rows name the guest that stays down", () => {
        assert.match(
            failureRow(text, "node prox1"),
            /vm 101 \(fw\) is down until prox1 returns \(not an HA guest\), or until you start it by hand from its replica on prox2 \(up to 5 min lost\)/,
        );
    });
});

describe("the reference site (HA guest)", () => {
    const text = runbook(mutate(() => undefined));
    it("keeps the watchdog drill that expects a reset, and needs no by-hand recovery", () => {
        assert.match(section(text, "Watchdog test"), /prox1 resets by itself/);
        assert.doesNotMatch(text, /### Recovering guests of a lost node/);
    });
});

describe("guests kept apart by a negative rule", () => {
    const text = runbook(
        mutate((r) => {
            r.guests.push({ vmid: 102, name: "fw2", node: "prox2", disks: [{ sizeGb: 32 }], nics: [{ bridge: "vmbr0" }], ha: {} });
            r.haRules = [{ id: "fw-apart", affinity: "negative", guests: [101, 102] }];
        }),
    );
    const m = section(text, "Planned maintenance and migration");

    it("maintenance promises no downtime-free move for a guest that cannot move", () => {
        assert.doesNotMatch(m, /without downtime for HA guests/);
        assert.match(m, /vm 101 \(fw\) cannot go to prox2: rule `fw-apart` keeps it apart from vm 102 \(fw2\)/);
        assert.match(m, /vm 101 \(fw\) never left prox1 \(nowhere it may run\) and was down during the maintenance/);
    });
    it("maintenance says nothing moves back, flips no replication, migrates nothing the rule forbids", () => {
        assert.doesNotMatch(m, /HA moves vm 101 \(fw\) back/);
        assert.doesNotMatch(m, /lists `101-/);
        assert.doesNotMatch(m, /ha-manager migrate vm:101/);
        assert.match(m, /# vm 101 \(fw\) cannot move: a rule keeps it off prox2/);
    });
    it("failback does not claim HA moves it back", () => {
        const f = section(text, "Failback");
        assert.doesNotMatch(f, /vm 101 \(fw\): failback is on, HA migrates it/);
        assert.match(f, /vm 101 \(fw\) had nowhere to go while prox1 was away and stayed down/);
    });
});

describe("guests without HA next to HA guests", () => {
    const text = runbook(mutate((r) => r.guests.push({ vmid: 102, name: "app", node: "prox2", disks: [{ sizeGb: 8 }] })));
    it("appear in the node-loss rows, and get a by-hand recovery", () => {
        assert.match(failureRow(text, "node prox2"), /vm 102 \(app\) is down until prox2 returns \(not an HA guest\)/);
        assert.match(failureRow(text, "node prox1"), /vm 102 \(app\) keeps running on prox2/);
        const r = section(text, "Recovering guests of a lost node");
        assert.match(r, /#### prox2 lost/);
        assert.doesNotMatch(r, /#### prox1 lost/, "the HA guest on prox1 is HA's job");
        assert.ok(r.includes("mv /etc/pve/nodes/prox2/qemu-server/102.conf /etc/pve/nodes/prox1/qemu-server/102.conf"));
    });
});
