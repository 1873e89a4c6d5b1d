/**
 * Proves the order of the API layer, twice:
 * 1. The ApiLayer alone after synthetic bootstrap steps that are NOT chained
 *    to each other, so every wait shown is the API layer's own: storage after
 *    every membership step and every pool; each node's VLANs/bridges after
 *    that node's membership (and not waiting for later joins); SDN zone/vnet,
 *    cluster options, alerts and firewall after the whole cluster; SDN apply
 *    after zone, vnet and the VXLAN underlay VLANs, zone/vnet after the
 *    destroy-time finalizer; firewall enable after every IP set and the rules;
 *    each VM after storage, its home node, its managed bridge and (with a vnet
 *    NIC) the SDN apply; each replication job after its VM and its target's
 *    membership; each HA resource after all its guest's replication jobs, the
 *    QDevice and every watchdog; each HA rule after its HA resources.
 * 2. The real program on each committed stack against the real bootstrap
 *    stages (components/hosts/bootstrap.ts): the same key waits through the
 *    recorded graph. These fail loudly (not skip) while the bootstrap exposes
 *    empty stages.
 * Does not prove: what the engine does at run time (ordering is the graph the
 * engine receives; nothing executes here).
 */
import { describe, it, before } from "node:test";
import * as assert from "node:assert/strict";
import type { Site } from "../../components/model";
import { guestMedia, replicationJobs } from "../../components/model";
import { mediaName } from "../../components/api/media";
import { waitsFor } from "../../tools/lib/graph";
import type { RecordedResource } from "../../tools/lib/mock-runtime";
import { readStack } from "../../tools/lib/stack";
import { runStack, runSynthetic, siteOf, urnOf, variant, waitsForAll, type Run, type SyntheticRun } from "./harness";

function stackSite(stack: string): Site {
    const cfg = readStack(stack);
    const raw: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(cfg.config)) {
        const key = k.split(":")[1]!;
        try {
            raw[key] = JSON.parse(v);
        } catch {
            raw[key] = v;
        }
    }
    return siteOf(raw);
}

const SITES: Record<string, () => Site> = {
    prod: () => stackSite("prod"),
    lab: () => stackSite("lab"),
    dc2: () => stackSite("dc2"),
    "three nodes, bridges, no QDevice": () =>
        siteOf(
            variant((r) => {
                r.nodes.push({
                    name: "prox3",
                    address: "10.0.0.13",
                    links: [{ address: "10.10.10.13", priority: 20 }],
                    sshHostKey: r.nodes[0].sshHostKey,
                    zfs: { pool: "pool1", layout: "mirror", disks: ["/dev/disk/by-id/ata-C1", "/dev/disk/by-id/ata-C2"] },
                });
                delete r.qdevice;
                r.network = {
                    vlans: [{ tag: 20, interface: "eno1", purpose: "replication" }],
                    bridges: [{ name: "vmbr1", ports: ["eno2"] }],
                };
                r.guests[0].nics = [{ bridge: "vmbr1" }];
                r.guests.push({ vmid: 102, name: "b", node: "prox3", ha: {} });
                r.haRules = [{ id: "apart", affinity: "negative", guests: [101, 102] }];
            }),
        ),
};

function api(run: SyntheticRun, name: string): RecordedResource {
    const r = run.api.find((x) => x.name === name);
    assert.ok(r, `${name} recorded`);
    return r;
}

function step(run: SyntheticRun, key: string): string {
    const u = run.steps.get(key);
    assert.ok(u, `synthetic step ${key}`);
    return u;
}

for (const [label, makeSite] of Object.entries(SITES)) {
    describe(`API layer order after synthetic, unchained bootstrap steps: ${label}`, () => {
        const site = makeSite();
        const n = "t-api";
        const nodes = site.nodes.map((x) => x.name);
        const clusterSteps = nodes.map((_, i) => `cluster:${i}`);
        let run: SyntheticRun;
        const waits = (a: string, stepKey: string) => waitsFor(run.records, api(run, a).urn, step(run, stepKey));
        const waitsApi = (a: string, b: string) => waitsFor(run.records, api(run, a).urn, api(run, b).urn);
        before(async () => {
            run = await runSynthetic(site, n);
        });

        it("storage waits for every membership step and every pool", () => {
            for (const k of [...clusterSteps, ...nodes.map((x) => `pool:${x}`)]) assert.ok(waits(`${n}-storage`, k), `storage after ${k}`);
        });

        it("each node's VLANs and bridges wait for that node's membership, not for later joins", () => {
            let count = 0;
            site.nodes.forEach((node, i) => {
                for (const r of run.api.filter(
                    (x) => x.name.startsWith(`${n}-vlan-${node.name}-`) || x.name.startsWith(`${n}-bridge-${node.name}-`),
                )) {
                    count++;
                    assert.ok(waits(r.name, `cluster:${i}`), `${r.name} after ${node.name} is a member`);
                    for (let j = i + 1; j < nodes.length; j++)
                        assert.ok(!waits(r.name, `cluster:${j}`), `${r.name} does not wait for join ${j}`);
                }
            });
            const expected =
                site.network.vlans.filter((v) => v.purpose !== "corosync").reduce((a, v) => a + v.nodes.length, 0) +
                site.network.bridges.reduce((a, b) => a + b.nodes.length, 0);
            assert.equal(count, expected, "every managed VLAN and bridge was checked");
        });

        it("cluster options, alerts, SDN and firewall objects wait for the whole cluster", () => {
            const names = [`${n}-cluster-options`];
            if (site.alerts.email) names.push(`${n}-notifications`);
            if (site.network.vxlan) names.push(`${n}-sdn-finalizer`, `${n}-sdn-zone`, `${n}-sdn-vnet`);
            if (site.firewall.enabled) names.push(`${n}-fw-ipset-allowlist`, `${n}-fw-ipset-nodes`, `${n}-fw-rules`);
            if (site.firewall.enabled && site.network.vxlan) names.push(`${n}-fw-ipset-vxlan`);
            for (const name of names) for (const k of clusterSteps) assert.ok(waits(name, k), `${name} after ${k}`);
        });

        it("SDN apply runs after zone, vnet and the underlay VLANs; zone and vnet are destroyed before the finalizer applies", (t) => {
            if (!site.network.vxlan) {
                assert.equal(run.api.filter((r) => r.name.startsWith(`${n}-sdn-`)).length, 0, "no SDN objects without network.vxlan");
                return;
            }
            void t;
            assert.ok(waitsApi(`${n}-sdn-apply`, `${n}-sdn-zone`));
            assert.ok(waitsApi(`${n}-sdn-apply`, `${n}-sdn-vnet`));
            assert.ok(waitsApi(`${n}-sdn-vnet`, `${n}-sdn-zone`));
            const underlay = site.network.vlans.filter((v) => v.purpose === "vxlan");
            assert.ok(underlay.length > 0);
            for (const v of underlay) for (const node of v.nodes) assert.ok(waitsApi(`${n}-sdn-apply`, `${n}-vlan-${node}-${v.tag}`));
            assert.ok(waitsApi(`${n}-sdn-zone`, `${n}-sdn-finalizer`));
            assert.ok(waitsApi(`${n}-sdn-vnet`, `${n}-sdn-finalizer`));
            assert.ok(!waitsApi(`${n}-sdn-finalizer`, `${n}-sdn-apply`));
        });

        it("the firewall is enabled only after every IP set and the allow rules", () => {
            const fw = run.api.filter((r) => r.name.startsWith(`${n}-fw-`));
            if (!site.firewall.enabled) {
                assert.equal(fw.length, 0, "no firewall objects when disabled");
                return;
            }
            const before = fw.filter((r) => r.name !== `${n}-fw-enable`);
            assert.equal(before.length, site.network.vxlan ? 4 : 3);
            for (const r of before) assert.ok(waitsApi(`${n}-fw-enable`, r.name), `enable after ${r.name}`);
            assert.ok(waitsApi(`${n}-fw-rules`, `${n}-fw-ipset-allowlist`));
            assert.ok(waitsApi(`${n}-fw-rules`, `${n}-fw-ipset-nodes`));
        });

        it("each guest waits for storage, its home node, its managed bridges, (vnet NIC) the SDN apply and its media on every node", () => {
            for (const g of site.guests) {
                const vm = `${n}-${g.type}-${g.vmid}`;
                for (const { node, media } of guestMedia(g)) {
                    assert.ok(waitsApi(vm, mediaName(n, node, media)), `${vm} after ${media.fileName} on ${node}`);
                }
                assert.ok(waitsApi(vm, `${n}-storage`));
                assert.ok(waits(vm, `cluster:${nodes.indexOf(g.node)}`));
                for (const nic of g.nics) {
                    if (nic.bridge && site.network.bridges.some((b) => b.name === nic.bridge && b.nodes.includes(g.node))) {
                        assert.ok(waitsApi(vm, `${n}-bridge-${g.node}-${nic.bridge}`), `${vm} after its bridge ${nic.bridge}`);
                    }
                    if (nic.vnet) assert.ok(waitsApi(vm, `${n}-sdn-apply`), `${vm} after the SDN apply`);
                }
            }
        });

        it("each replication job waits for its VM and its target's membership", () => {
            let jobs = 0;
            for (const g of site.guests) {
                for (const j of replicationJobs(site, g)) {
                    jobs++;
                    const r = `${n}-replication-${j.id}`;
                    assert.ok(waitsApi(r, `${n}-${g.type}-${g.vmid}`));
                    assert.ok(waits(r, `cluster:${nodes.indexOf(j.target)}`));
                }
            }
            assert.equal(run.api.filter((r) => r.type === "proxmoxve:index/replication:Replication").length, jobs);
        });

        it("each HA resource waits for all its guest's replication jobs, the QDevice and every watchdog", () => {
            const ha = site.guests.filter((g) => g.ha);
            assert.ok(ha.length > 0);
            for (const g of ha) {
                const r = `${n}-ha-${g.vmid}`;
                for (const j of replicationJobs(site, g)) assert.ok(waitsApi(r, `${n}-replication-${j.id}`), `${r} after ${j.id}`);
                for (const node of nodes) assert.ok(waits(r, `watchdog:${node}`), `${r} after the watchdog on ${node}`);
                if (site.qdevice) assert.ok(waits(r, "qdevice"), `${r} after the QDevice`);
            }
        });

        it("each HA rule waits for every HA resource it names", () => {
            for (const g of site.guests.filter((x) => x.ha)) {
                assert.ok(waitsApi(`${n}-harule-ha-guest-${g.vmid}`, `${n}-ha-${g.vmid}`));
            }
            for (const rule of site.haRules) {
                for (const vmid of rule.guests) assert.ok(waitsApi(`${n}-harule-${rule.id}`, `${n}-ha-${vmid}`));
            }
        });

        it("no API object runs before the cluster exists", () => {
            for (const r of run.api.filter((x) => x.custom && !x.type.startsWith("pulumi:providers:"))) {
                assert.ok(waitsFor(run.records, r.urn, step(run, "cluster:0")), `${r.name} after cluster create`);
            }
        });
    });
}

for (const stack of ["prod", "lab", "dc2"]) {
    describe(`order against the real bootstrap stages: ${stack}`, () => {
        let run: Run;
        let cluster: string[];
        let pools: string[];
        let watchdogs: string[];
        let qdevice: string | undefined;
        const rec = (name: string) => {
            const r = run.api.find((x) => x.name === name);
            assert.ok(r, `${name} recorded`);
            return r.urn;
        };
        before(async () => {
            run = await runStack(stack);
            cluster = await Promise.all(run.stages.cluster.map(urnOf));
            pools = await Promise.all(run.stages.pools.map(urnOf));
            watchdogs = await Promise.all(run.stages.watchdogs.map(urnOf));
            qdevice = run.stages.qdevice ? await urnOf(run.stages.qdevice) : undefined;
        });

        it("the bootstrap exposes one membership step, pool and watchdog per node, and the QDevice step", () => {
            const k = run.site.nodes.length;
            assert.equal(cluster.length, k, "stages.cluster has one step per node (empty: bootstrap not landed yet)");
            assert.equal(pools.length, k, "stages.pools has one step per node");
            assert.equal(watchdogs.length, k, "stages.watchdogs has one step per node");
            assert.equal(qdevice !== undefined, run.site.qdevice !== undefined, "stages.qdevice exactly when the stack has a qdevice");
        });

        it("storage waits for every join and every pool", () => {
            assert.equal(cluster.length, run.site.nodes.length);
            const storage = rec(`${stack}-api-storage`);
            for (const u of [...cluster, ...pools]) assert.ok(waitsForAll(run.records, storage, u), `storage after ${u}`);
        });

        it("every HA resource waits for its replication jobs, the QDevice and every watchdog", () => {
            assert.ok(qdevice, "the committed stacks all have a QDevice");
            assert.equal(watchdogs.length, run.site.nodes.length);
            for (const g of run.site.guests.filter((x) => x.ha)) {
                const ha = rec(`${stack}-api-ha-${g.vmid}`);
                for (const j of replicationJobs(run.site, g))
                    assert.ok(waitsForAll(run.records, ha, rec(`${stack}-api-replication-${j.id}`)));
                assert.ok(waitsForAll(run.records, ha, qdevice), `ha ${g.vmid} after the QDevice step`);
                for (const w of watchdogs) assert.ok(waitsForAll(run.records, ha, w), `ha ${g.vmid} after ${w}`);
            }
        });

        it("every HA rule waits for its resources", () => {
            for (const g of run.site.guests.filter((x) => x.ha)) {
                assert.ok(waitsForAll(run.records, rec(`${stack}-api-harule-ha-guest-${g.vmid}`), rec(`${stack}-api-ha-${g.vmid}`)));
            }
            for (const rule of run.site.haRules) {
                for (const vmid of rule.guests)
                    assert.ok(waitsForAll(run.records, rec(`${stack}-api-harule-${rule.id}`), rec(`${stack}-api-ha-${vmid}`)));
            }
        });

        it("SDN apply after zone and vnet; firewall enable after the allow rules", () => {
            if (run.site.network.vxlan) {
                assert.ok(waitsForAll(run.records, rec(`${stack}-api-sdn-apply`), rec(`${stack}-api-sdn-zone`)));
                assert.ok(waitsForAll(run.records, rec(`${stack}-api-sdn-apply`), rec(`${stack}-api-sdn-vnet`)));
            }
            if (run.site.firewall.enabled) {
                assert.ok(waitsForAll(run.records, rec(`${stack}-api-fw-enable`), rec(`${stack}-api-fw-rules`)));
            }
        });

        it("no API object runs before the cluster is created", () => {
            assert.ok(cluster.length > 0, "stages.cluster is empty");
            for (const r of run.api.filter((x) => x.custom && !x.type.startsWith("pulumi:providers:"))) {
                assert.ok(waitsForAll(run.records, r.urn, cluster[0]!), `${r.name} after cluster create`);
            }
        });
    });
}
