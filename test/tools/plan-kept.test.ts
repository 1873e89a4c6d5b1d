/**
 * `npm run plan` says plainly what stays on the hosts when a feature is off or
 * removed (issue #14: "removing a feature ... either removes what it configured
 * on the hosts or the plan says plainly that it stays"), with the stack's own
 * values, in the text and through the same function the --json carries none of.
 * What stays is what the scripts' delete paths leave: zrepl-disable.sh stops and
 * disables only; notifications.sh, corosync-vlan.sh and qdevice-setup.sh have no
 * delete script.
 * Does NOT prove: anything about a real site's previous state (the plan is offline).
 */
import * as assert from "node:assert/strict";
import { describe, it } from "node:test";
import { cli, keptOnHosts } from "../../tools/plan";
import { loadStackSite } from "../../tools/health/load";

describe("plan: what stays on the hosts", () => {
    it("prod (QDevice, alerts, corosync VLAN, zrepl off) names each with its own values", async () => {
        const r = await cli(["--stack", "prod"]);
        assert.equal(r.code, 0, r.stderr);
        const lines = r.stdout.split("\n");
        const at = lines.indexOf("What stays on the hosts when a feature is off or removed (the program never undoes these):");
        assert.ok(at > 0, r.stdout);
        const site = loadStackSite("prod").site!;
        const section = lines.slice(at + 1, at + 5);
        assert.deepEqual(
            section,
            keptOnHosts(site).map((l) => `  - ${l}`),
        );
        assert.match(section[0]!, /^ {2}- zrepl is off\. .*the copies and zrepl's snapshots, holds and bookmarks stay\.$/);
        assert.match(
            section[2]!,
            new RegExp(
                `QDevice on ${site.qdevice!.address.replace(/\./g, "\\.")}\\. Removing it from the stack runs no \`pvecm qdevice remove\``,
            ),
        );
    });

    it("follows the stack: zrepl on, no alerts, no QDevice, no corosync VLAN", () => {
        const site = loadStackSite("prod").site!;
        const other = {
            ...site,
            zrepl: { ...site.zrepl, enabled: true },
            alerts: {},
            qdevice: undefined,
            network: { ...site.network, vlans: [] },
        };
        const k = keptOnHosts(other);
        assert.match(k[0]!, /^zrepl is on\. Turning it off/);
        assert.match(k[1]!, /^No alerts\.email\./);
        assert.match(k[2]!, /^No QDevice\./);
        assert.match(k[3]!, /^No corosync VLANs\./);
    });
});
