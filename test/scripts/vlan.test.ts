/**
 * corosync-vlan.sh over real OpenSSH on one fake host, with the exact
 * component command text.
 *
 * Proves: the stanza file is written once (created → unchanged, no reload on
 * the re-run), rewritten when the address or MTU changes (updated), written
 * atomically without leftovers; a failed `ifreload -a` is reported and the
 * re-run reloads again and converges; /etc/network/interfaces is never edited
 * and one that does not include interfaces.d is refused; an interface defined
 * elsewhere is refused (or, with this very address, left alone); invalid
 * arguments are refused before anything is written; IPv6 addresses compare in
 * their canonical form (the fake `ip` prints them as iproute2 does).
 *
 * Does NOT prove: that ifupdown2 accepts the stanza or that the kernel creates
 * the VLAN device — `ifreload` and `ip -o addr show dev` are stand-ins
 * (test/fakes/sbin) that only read the stanzas back.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { startHosts, type Hosts } from "../harness/hosts";
import { fakeCommands, ok, refused, step } from "./cluster-steps";

describe("corosync-vlan (real SSH, fake ifreload)", () => {
    let site: Hosts;
    let net = "";
    const vlan = (...args: (string | number)[]) => step(site, "pve1", "corosync-vlan", args);
    const reloads = (from: number) => fakeCommands(site, "pve1", from).filter((c) => c === "ifreload -a").length;

    before(async () => {
        site = await startHosts("vlan", [{ name: "pve1", address: "127.0.6.11" }]);
        net = path.join(site.host("pve1").dir, "network");
    });
    after(async () => site?.close());

    it("creates the stanza and applies it; the re-run changes nothing and does not reload", async () => {
        const main = fs.readFileSync(path.join(net, "interfaces"), "utf8");
        let from = site.calls("pve1").length;
        assert.deepEqual(ok(await vlan("eno1", 4001, "10.40.1.11/24", 1400), "vlan"), { iface: "eno1.4001", action: "created" });
        assert.equal(reloads(from), 1);
        const file = path.join(net, "interfaces.d", "proxmox-ha-eno1-4001");
        assert.equal(
            fs.readFileSync(file, "utf8"),
            "# Managed by proxmox-ha (scripts/corosync-vlan.sh): corosync link VLAN.\nauto eno1.4001\niface eno1.4001 inet static\n\taddress 10.40.1.11/24\n\tmtu 1400\n",
        );
        from = site.calls("pve1").length;
        assert.deepEqual(ok(await vlan("eno1", 4001, "10.40.1.11/24", 1400), "vlan again"), { iface: "eno1.4001", action: "unchanged" });
        assert.equal(reloads(from), 0);
        assert.equal(fs.readFileSync(path.join(net, "interfaces"), "utf8"), main);
        assert.deepEqual(fs.readdirSync(path.join(net, "interfaces.d")), ["proxmox-ha-eno1-4001"]);
    });

    it("rewrites the stanza when the address or MTU changes", async () => {
        assert.deepEqual(ok(await vlan("eno1", 4001, "10.40.1.21/24", ""), "vlan changed"), { iface: "eno1.4001", action: "updated" });
        const text = fs.readFileSync(path.join(net, "interfaces.d", "proxmox-ha-eno1-4001"), "utf8");
        assert.match(text, /\taddress 10\.40\.1\.21\/24\n$/);
        assert.doesNotMatch(text, /mtu/);
        const r = await site.run("pve1", "ip -o addr show dev eno1.4001");
        assert.match(r.stdout, / inet 10\.40\.1\.21\/24 /);
    });

    it("a failed ifreload is reported; the re-run reloads and converges", async () => {
        site.fault("pve1", "ifreload-error", "error: eno1.4002: link set failed");
        refused(
            await vlan("eno1", 4002, "10.40.2.11/24", ""),
            /^corosync-vlan: ifreload -a failed after writing \/etc\/network\/interfaces\.d\/proxmox-ha-eno1-4002: error: eno1\.4002: link set failed$/,
            "reload fails",
        );
        const from = site.calls("pve1").length;
        // The stanza is already there (unchanged), but the address is not up: reload again.
        assert.deepEqual(ok(await vlan("eno1", 4002, "10.40.2.11/24", ""), "re-run"), { iface: "eno1.4002", action: "unchanged" });
        assert.equal(reloads(from), 1);
    });

    it("an interface defined elsewhere is refused, or left alone when it has this address", async () => {
        fs.writeFileSync(path.join(net, "interfaces.d", "by-hand"), "auto eno2.30\niface eno2.30 inet static\n\taddress 10.30.0.11/24\n");
        refused(
            await vlan("eno2", 30, "10.30.0.99/24", ""),
            /interface eno2\.30 is already defined in \/etc\/network\/interfaces\.d\/by-hand with another address/,
            "elsewhere",
        );
        assert.deepEqual(ok(await vlan("eno2", 30, "10.30.0.11/24", ""), "same address"), { iface: "eno2.30", action: "unchanged" });
        assert.ok(!fs.existsSync(path.join(net, "interfaces.d", "proxmox-ha-eno2-30")));
    });

    it("IPv6 addresses compare in their canonical form, whatever the stack's spelling (issue #11 point 13)", async () => {
        // The fake `ip` prints IPv6 as iproute2 does (inet_ntop, RFC 5952): before the fix the
        // script compared "FD00:0010:0:0::11/64" with "fd00:10::11/64" and failed after a good reload.
        assert.deepEqual(ok(await vlan("eno1", 4006, "FD00:0010:0:0::11/64", ""), "v6"), { iface: "eno1.4006", action: "created" });
        assert.match(fs.readFileSync(path.join(net, "interfaces.d", "proxmox-ha-eno1-4006"), "utf8"), /\taddress fd00:10::11\/64\n$/);
        const from = site.calls("pve1").length;
        assert.deepEqual(ok(await vlan("eno1", 4006, "fd00:10:0:0:0:0:0:11/64", ""), "v6 again"), {
            iface: "eno1.4006",
            action: "unchanged",
        });
        assert.equal(reloads(from), 0);
        // Defined by hand in another spelling: the same address, left alone.
        fs.writeFileSync(
            path.join(net, "interfaces.d", "by-hand-v6"),
            "auto eno2.31\niface eno2.31 inet6 static\n\taddress FD00:31:0::11/64\n",
        );
        assert.deepEqual(ok(await vlan("eno2", 31, "fd00:31::11/64", ""), "v6 by hand"), { iface: "eno2.31", action: "unchanged" });
        refused(
            await vlan("eno2", 31, "fd00:31::12/64", ""),
            /interface eno2\.31 is already defined in .*by-hand-v6 with another address/,
            "v6 other",
        );
        fs.rmSync(path.join(net, "interfaces.d", "by-hand-v6"));
    });

    it("refuses when /etc/network/interfaces does not include interfaces.d, without editing it", async () => {
        const main = path.join(net, "interfaces");
        const original = fs.readFileSync(main, "utf8");
        const without = original.replace("source /etc/network/interfaces.d/*\n", "");
        fs.writeFileSync(main, without);
        refused(
            await vlan("eno1", 4003, "10.40.3.11/24", ""),
            /does not include \/etc\/network\/interfaces\.d .*not editing it$/,
            "no source line",
        );
        assert.equal(fs.readFileSync(main, "utf8"), without);
        assert.ok(!fs.existsSync(path.join(net, "interfaces.d", "proxmox-ha-eno1-4003")));
        fs.writeFileSync(main, original);
    });

    it("refuses invalid arguments before writing anything", async () => {
        const before = fs.readdirSync(path.join(net, "interfaces.d")).sort();
        refused(await vlan("eno1", 4095, "10.40.1.11/24", ""), /invalid VLAN tag '4095'/, "tag");
        refused(await vlan("eno1", 10, "10.40.1.11", ""), /invalid address '10\.40\.1\.11'/, "no prefix");
        refused(await vlan("eno1;x", 10, "10.40.1.11/24", ""), /invalid parent interface/, "parent");
        refused(await vlan("eno1", 10, "10.40.1.11/24", "9x"), /invalid MTU '9x'/, "mtu");
        refused(await vlan("averylongname", 4000, "10.40.1.11/24", ""), /longer than 15 characters/, "name length");
        assert.deepEqual(fs.readdirSync(path.join(net, "interfaces.d")).sort(), before);
    });
});
