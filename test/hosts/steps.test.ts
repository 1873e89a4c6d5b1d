/**
 * Pure helpers of the host bootstrap (components/hosts/steps.ts).
 *
 * Proves: values are read from the scripts' `key=value` stdout as the
 * contract prints them (several fields per line, or one field whose value holds
 * spaces and '=': pubkey, token); a missing key gives "" (so the next script
 * refuses the empty argument); pvecm link strings; corosync VLAN selection.
 * Does NOT prove: anything about the scripts themselves.
 */
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { corosyncVlans, linkArg, stdoutValue } from "../../components/hosts/steps";
import type { Site, SiteNode } from "../../components/model";

test("stdoutValue reads single and multi-field lines", () => {
    const out = "module=softdog active=none reboot-required=yes\n";
    assert.equal(stdoutValue(out, "reboot-required"), "yes");
    assert.equal(stdoutValue(out, "active"), "none");
    assert.equal(stdoutValue(out, "module"), "softdog");
    assert.equal(stdoutValue("fingerprint=AA:BB:CC\n", "fingerprint"), "AA:BB:CC");
    assert.equal(stdoutValue("pool=p action=created\ndataset=p/vm action=exists\n", "dataset"), "p/vm");
});

test("stdoutValue keeps the rest of the line for values with spaces and '='", () => {
    assert.equal(stdoutValue("pubkey=ssh-rsa AAAAB3Nza+/x== root@prox1\n", "pubkey", true), "ssh-rsa AAAAB3Nza+/x== root@prox1");
    assert.equal(stdoutValue("token=root@pam!pulumi=0d6c-4f4e\n", "token", true), "root@pam!pulumi=0d6c-4f4e");
});

test("stdoutValue does not match a key that only ends like the one asked for, and gives '' when missing", () => {
    assert.equal(stdoutValue("not-active=x\n", "active"), "");
    assert.equal(stdoutValue("", "fingerprint"), "");
    assert.equal(stdoutValue(undefined, "fingerprint"), "");
});

test("linkArg writes pvecm link property strings", () => {
    assert.equal(linkArg({ address: "10.0.0.11" }), "10.0.0.11");
    assert.equal(linkArg({ address: "10.0.0.11", priority: 0 }), "address=10.0.0.11,priority=0");
});

test("corosyncVlans selects corosync VLANs that give the node an address", () => {
    const vlan = (tag: number, purpose: string, addresses: Record<string, string>, nodes = ["a", "b"], mtu?: number) => ({
        tag,
        interface: "bond0",
        purpose,
        addresses,
        nodes,
        ...(mtu ? { mtu } : {}),
    });
    const site = {
        network: {
            vlans: [
                vlan(10, "corosync", { a: "10.1.0.1/24", b: "10.1.0.2/24" }, ["a", "b"], 1400),
                vlan(11, "replication", { a: "10.2.0.1/24" }),
                vlan(12, "corosync", { b: "10.3.0.2/24" }),
                vlan(13, "corosync", { a: "10.4.0.1/24" }, ["b"]),
            ],
            bridges: [],
        },
    } as unknown as Site;
    const a = { name: "a" } as SiteNode;
    const b = { name: "b" } as SiteNode;
    assert.deepEqual(corosyncVlans(site, a), [{ tag: 10, args: ["bond0", 10, "10.1.0.1/24", 1400] }]);
    assert.deepEqual(corosyncVlans(site, b), [
        { tag: 10, args: ["bond0", 10, "10.1.0.2/24", 1400] },
        { tag: 12, args: ["bond0", 12, "10.3.0.2/24", ""] },
    ]);
});
