/**
 * Proves: the bench's synthetic stacks (2×10, 2×100, 2×1000, 32×100 and odd
 * sizes) and its scenario variants (one more guest, one more node) are valid
 * stacks by the project's own validateSite, with the shape the bench claims
 * (guest and rule counts, HA with replication on every guest, negative rules
 * within the node count, QDevice exactly on even node counts); the config map
 * carries placeholder secrets only; the size and address helpers.
 * Does not prove: anything about timing (no evaluation runs here), nor that
 * the synthetic sites are the ones operators run.
 */
import { describe, it } from "node:test";
import * as assert from "node:assert/strict";
import { validateSite } from "../../components/validate";
import { readStack } from "../../tools/lib/stack";
import { syntheticRaw, partnerOf, hostKey } from "../../bench/lib/synthetic";
import { nextAddress, nextName, programConfig, rawFromConfig, withExtraGuest, withExtraNode, withoutSecrets } from "../../bench/lib/config";
import { parseSizes } from "../../bench/run";

const reference = () => withoutSecrets(rawFromConfig(readStack("prod").config));

function valid(raw: Record<string, unknown>) {
    const r = validateSite(raw, new Set());
    assert.deepEqual(r.problems, [], "stack must validate");
    return r.site!;
}

describe("synthetic stacks", () => {
    for (const size of [
        { nodes: 2, guests: 10 },
        { nodes: 2, guests: 100 },
        { nodes: 2, guests: 1000 },
        { nodes: 32, guests: 100 },
        { nodes: 3, guests: 20 },
    ]) {
        it(`${size.nodes} nodes × ${size.guests} guests validates with the claimed shape`, () => {
            const site = valid(syntheticRaw(reference(), size));
            assert.equal(site.nodes.length, size.nodes);
            assert.equal(site.guests.length, size.guests);
            assert.equal(site.qdevice !== undefined, size.nodes % 2 === 0);
            for (const g of site.guests) {
                assert.ok(g.ha, `guest ${g.vmid} is HA`);
                assert.ok(g.replicateTo.length >= 1, `guest ${g.vmid} replicates`);
                // Every node HA may start it on holds a replica (rule 7 restated).
                const allowed = g.ha.strict ? Object.keys(g.ha.nodes) : site.nodes.map((n) => n.name);
                for (const n of allowed) assert.ok(n === g.node || g.replicateTo.includes(n), `${g.vmid}: ${n} has a replica`);
            }
            assert.equal(site.haRules.length, Math.floor(size.guests / 10));
            for (const r of site.haRules) {
                assert.equal(r.affinity, "negative");
                assert.ok(r.guests.length <= size.nodes);
                const homes = r.guests.map((v) => site.guests.find((g) => g.vmid === v)!.node);
                assert.equal(new Set(homes).size, homes.length, `rule ${r.id} keeps guests that live on different nodes`);
            }
            // Every guest has the same number of resources: one replication job.
            assert.ok(site.guests.every((g) => g.replicateTo.length === 1));
        });
    }

    it("keeps the reference's other sections", () => {
        const ref = reference();
        const raw = syntheticRaw(ref, { nodes: 2, guests: 10 });
        for (const k of ["storage", "replication", "firewall", "alerts"]) assert.deepEqual(raw[k], ref[k], k);
    });

    it("refuses sizes it cannot address", () => {
        assert.throws(() => syntheticRaw(reference(), { nodes: 1, guests: 1 }), /2–200 nodes/);
        assert.throws(() => syntheticRaw(reference(), { nodes: 201, guests: 1 }), /2–200 nodes/);
    });

    it("pairs nodes for replication, the last odd node with its neighbour", () => {
        assert.deepEqual(
            [0, 1, 2, 3].map((i) => partnerOf(i, 4)),
            [1, 0, 3, 2],
        );
        assert.equal(partnerOf(4, 5), 3);
        assert.notEqual(hostKey(1), hostKey(2));
    });
});

describe("scenario variants", () => {
    it("one more guest: valid, on the second node, next vmid", () => {
        const { raw, vmid } = withExtraGuest(reference());
        const site = valid(raw);
        assert.equal(vmid, 102);
        const g = site.guests.find((x) => x.vmid === 102)!;
        assert.equal(g.node, "prox2");
        assert.deepEqual(g.replicateTo, ["prox1"]);
        assert.ok(g.ha);
    });

    it("one more node on the reference: valid, QDevice dropped for the odd count", () => {
        const { raw, name, droppedQdevice } = withExtraNode(reference());
        const site = valid(raw);
        assert.equal(name, "prox3");
        assert.equal(droppedQdevice, true);
        assert.equal(site.qdevice, undefined);
        const n = site.nodes[2]!;
        assert.equal(n.address, "10.0.0.13");
        assert.deepEqual(
            n.links.map((l) => l.address),
            ["10.10.10.13", "10.0.0.13"],
        );
        assert.equal(site.network.vlans[0]!.addresses.prox3, "10.0.20.13/24");
    });

    it("a fourth node keeps the stack without QDevice", () => {
        const three = withExtraNode(reference()).raw;
        const { raw, name, droppedQdevice } = withExtraNode(three);
        const site = valid(raw);
        assert.equal(name, "prox4");
        assert.equal(droppedQdevice, false);
        assert.equal(site.nodes.length, 4);
    });

    it("config map: placeholder secrets, never the stack's own", () => {
        const { config, secretKeys } = programConfig(reference());
        assert.deepEqual(secretKeys.sort(), [
            "proxmox-ha:apiCertificate",
            "proxmox-ha:apiCertificateKey",
            "proxmox-ha:rootPassword",
            "proxmox-ha:sshPrivateKey",
        ]);
        assert.equal(config["proxmox-ha:sshPrivateKey"], "[secret]");
        assert.equal(config["proxmox-ha:apiToken"], undefined);
        assert.throws(() => programConfig({ ...reference(), apiToken: "x" }), /must not carry the secret apiToken/);
    });

    it("address and name helpers", () => {
        assert.equal(nextAddress("10.0.0.12"), "10.0.0.13");
        assert.equal(nextAddress("10.0.20.12/24"), "10.0.20.13/24");
        assert.throws(() => nextAddress("10.0.0.254"), /no next address/);
        assert.throws(() => nextAddress("fe80::1"), /not an IPv4/);
        assert.equal(nextName("prox2", ["prox1", "prox2"]), "prox3");
        assert.equal(nextName("prox2", ["prox2", "prox3"]), "prox4");
        assert.equal(nextName("alpha", ["alpha"]), "alpha-2");
    });

    it("size option", () => {
        assert.deepEqual(parseSizes("2x10, 32x100"), [
            { nodes: 2, guests: 10 },
            { nodes: 32, guests: 100 },
        ]);
        assert.throws(() => parseSizes("2by10"), /NODESxGUESTS/);
    });
});
