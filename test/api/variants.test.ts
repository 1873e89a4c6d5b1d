/**
 * Proves: on stacks built here (not committed), the API layer declares exactly
 * the expected objects with exact inputs for what the committed stacks do not
 * exercise — bridges (IPv4 and IPv6 addresses, VLAN-aware, per-node subsets),
 * VLANs on a node subset, every cluster option (insecure migration, all five
 * bandwidth limits incl. a fractional MiB/s, static CRS with rebalance,
 * shutdown policy, e-mail sender), a guest with a virtio disk, a disk on
 * another storage (not replicated), a CD-ROM, a VLAN-tagged NIC with MAC,
 * started/onBoot/protect/agent off; a three-node IPv6 site without QDevice or
 * firewall, with strict node affinity, a positive resource-affinity rule and
 * two replication targets per guest; and the refusals (an interface that
 * would carry a node's management address, an over-long VLAN name).
 * Does not prove: that Proxmox accepts these inputs (no PVE, no provider).
 */
import { describe, it, before } from "node:test";
import * as assert from "node:assert/strict";
import type { RecordedResource } from "../../tools/lib/mock-runtime";
import { failureOf, referenceRaw, runRaw, variant, type Run } from "./harness";

const HK = (referenceRaw().nodes as { sshHostKey: string }[]).map((n) => n.sshHostKey);

function byName(run: Run): Map<string, RecordedResource> {
    return new Map(run.api.map((r) => [r.name, r]));
}

function names(run: Run, type: string): string[] {
    return run.api
        .filter((r) => r.type === type)
        .map((r) => r.name)
        .sort();
}

describe("variant A: bridges, every cluster option, an unusual guest", () => {
    let run: Run;
    before(async () => {
        run = await runRaw(
            variant((r) => {
                r.cluster = {
                    name: "prod",
                    migrationType: "insecure",
                    migrationNetwork: "10.0.30.0/24",
                    bandwidthLimitMBps: { migration: 100, restore: 50, clone: 12.5, move: 25, default: 400 },
                    crs: { ha: "static", rebalanceOnStart: true },
                    haShutdownPolicy: "migrate",
                };
                r.network = {
                    vlans: [
                        {
                            tag: 30,
                            interface: "eno1",
                            purpose: "migration",
                            mtu: 9000,
                            addresses: { prox1: "10.0.30.11/24", prox2: "10.0.30.12/24" },
                            comment: "live migration",
                        },
                    ],
                    bridges: [
                        {
                            name: "vmbr1",
                            ports: ["eno2"],
                            vlanAware: true,
                            mtu: 9000,
                            addresses: { prox1: "10.50.0.11/24", prox2: "fd00:50::12/64" },
                            comment: "storage net",
                        },
                        { name: "vmbr2", nodes: ["prox2"] },
                    ],
                };
                r.alerts = { email: "ops@example.com", from: "pve@example.com" };
                r.guests.push({
                    vmid: 150,
                    name: "db",
                    node: "prox1",
                    cores: 4,
                    memoryMb: 8192,
                    osType: "other",
                    disks: [
                        { slot: "virtio0", sizeGb: 16 },
                        { sizeGb: 4, storage: "local-lvm", ssd: false, discard: false },
                    ],
                    nics: [{ bridge: "vmbr1", vlan: 30, model: "e1000", firewall: false, macAddress: "BC:24:11:00:00:01" }],
                    cdrom: "local:iso/debian-13.iso",
                    started: false,
                    startOnBoot: false,
                    protect: false,
                    agent: false,
                    replicateTo: ["prox2"],
                });
            }),
        );
    });

    it("declares VLAN 30 and the bridges on exactly their nodes, IPv6 as address6", () => {
        const m = byName(run);
        assert.deepEqual(names(run, "proxmoxve:network/linux/vlan:Vlan"), ["prod-api-vlan-prox1-30", "prod-api-vlan-prox2-30"]);
        assert.deepEqual(m.get("prod-api-vlan-prox1-30")!.inputs, {
            nodeName: "prox1",
            name: "eno1.30",
            address: "10.0.30.11/24",
            mtu: 9000,
            comment: "live migration",
            autostart: true,
        });
        assert.deepEqual(m.get("prod-api-vlan-prox2-30")!.inputs, {
            nodeName: "prox2",
            name: "eno1.30",
            address: "10.0.30.12/24",
            mtu: 9000,
            comment: "live migration",
            autostart: true,
        });
        assert.deepEqual(names(run, "proxmoxve:network/linux/bridge:Bridge"), [
            "prod-api-bridge-prox1-vmbr1",
            "prod-api-bridge-prox2-vmbr1",
            "prod-api-bridge-prox2-vmbr2",
        ]);
        assert.deepEqual(m.get("prod-api-bridge-prox1-vmbr1")!.inputs, {
            nodeName: "prox1",
            name: "vmbr1",
            ports: ["eno2"],
            vlanAware: true,
            address: "10.50.0.11/24",
            mtu: 9000,
            comment: "storage net",
            autostart: true,
        });
        assert.deepEqual(m.get("prod-api-bridge-prox2-vmbr1")!.inputs, {
            nodeName: "prox2",
            name: "vmbr1",
            ports: ["eno2"],
            vlanAware: true,
            address6: "fd00:50::12/64",
            mtu: 9000,
            comment: "storage net",
            autostart: true,
        });
        assert.deepEqual(m.get("prod-api-bridge-prox2-vmbr2")!.inputs, {
            nodeName: "prox2",
            name: "vmbr2",
            ports: [],
            vlanAware: false,
            comment: "proxmox-ha",
            autostart: true,
        });
    });

    it("sets every cluster option, bandwidth limits in KiB/s", () => {
        assert.deepEqual(byName(run).get("prod-api-cluster-options")!.inputs, {
            migrationType: "insecure",
            migrationCidr: "10.0.30.0/24",
            bandwidthLimitMigration: 102400,
            bandwidthLimitRestore: 51200,
            bandwidthLimitClone: 12800,
            bandwidthLimitMove: 25600,
            bandwidthLimitDefault: 409600,
            haShutdownPolicy: "migrate",
            crsHa: "static",
            crsHaRebalanceOnStart: true,
            emailFrom: "pve@example.com",
        });
    });

    it("admits bridge addresses and insecure migration between nodes", () => {
        const m = byName(run);
        assert.deepEqual((m.get("prod-api-fw-ipset-nodes")!.inputs as { cidrs: unknown }).cidrs, [
            { name: "10.0.0.11", comment: "prox1" },
            { name: "10.10.10.11", comment: "prox1" },
            { name: "10.0.30.11", comment: "prox1" },
            { name: "10.50.0.11", comment: "prox1" },
            { name: "10.0.0.12", comment: "prox2" },
            { name: "10.10.10.12", comment: "prox2" },
            { name: "10.0.30.12", comment: "prox2" },
            { name: "fd00:50::12", comment: "prox2" },
        ]);
        const rules = (m.get("prod-api-fw-rules")!.inputs as { rules: Record<string, string>[] }).rules;
        assert.deepEqual(
            rules.map((x) => `${x.type} ${x.proto} ${x.dport} ${x.source ?? ""}${x.dest ?? ""}`),
            [
                "in tcp 22 +mgmt-allowlist",
                "in tcp 8006 +mgmt-allowlist",
                "in udp 5405:5412 +cluster-nodes",
                "in tcp 22 +cluster-nodes",
                "in tcp 8006 +cluster-nodes",
                "in tcp 60000:60050 +cluster-nodes",
                "out tcp 5403 10.0.0.120",
            ],
        );
    });

    it("declares the unusual guest exactly: virtio disk without SSD flag, an unreplicated disk, CD-ROM, tagged NIC, everything off", () => {
        const vm = byName(run).get("prod-api-vm-150")!;
        assert.deepEqual(vm.inputs, {
            nodeName: "prox1",
            vmId: 150,
            name: "db",
            cpu: { cores: 4, type: "x86-64-v2-AES" },
            memory: { dedicated: 8192 },
            operatingSystem: { type: "other" },
            // No agent: nothing for a refresh to wait for (vm.go ReadNetworkValues asks only an enabled agent).
            agent: { enabled: false },
            disks: [
                { interface: "virtio0", datastoreId: "pool1", size: 16, fileFormat: "raw", discard: "on", replicate: true },
                { interface: "scsi0", datastoreId: "local-lvm", size: 4, ssd: false, discard: "ignore", replicate: false },
            ],
            networkDevices: [{ bridge: "vmbr1", model: "e1000", firewall: false, vlanId: 30, macAddress: "BC:24:11:00:00:01" }],
            cdrom: { fileId: "local:iso/debian-13.iso", interface: "ide2" },
            // The disk first: the installer boots while it is empty, the installed OS afterwards.
            bootOrders: ["virtio0", "ide2"],
            started: false,
            onBoot: false,
            protection: false,
        });
        assert.equal(vm.protect, false, "protect: false is honoured");
        assert.deepEqual(vm.ignoreChanges, ["nodeName"]);
        const job = byName(run).get("prod-api-replication-150-492612")!;
        assert.deepEqual(job.inputs, { resourceId: "150-492612", type: "local", target: "prox2", schedule: "*/5", rate: 100 });
        assert.equal(job.protect, false, "an unprotected guest's replica is unprotected too");
        assert.equal(run.api.filter((r) => r.type === "proxmoxve:index/haresource:Haresource").length, 1, "only vm 101 is an HA resource");
    });
});

describe("variant B: three IPv6 nodes, no QDevice, firewall off, strict affinity, two targets", () => {
    let run: Run;
    before(async () => {
        const node = (name: string, address: string, key: string) => ({
            name,
            address,
            sshHostKey: key,
            zfs: { pool: "pool1", disks: [`/dev/disk/by-id/ata-${name}-a`, `/dev/disk/by-id/ata-${name}-b`] },
        });
        run = await runRaw({
            cluster: { name: "edge" },
            nodes: [node("n1", "fd00::11", HK[0]!), node("n2", "fd00::12", HK[1]!), node("n3", "fd00::13", HK[0]!)],
            storage: { id: "pool1", pool: "pool1", thinProvision: false, blocksize: "16k" },
            replication: { schedule: "*/10" },
            network: {
                vlans: [{ tag: 40, interface: "eno3", purpose: "storage", nodes: ["n1", "n3"], addresses: { n1: "fd00:40::11/64" } }],
            },
            guests: [
                {
                    vmid: 101,
                    name: "app",
                    node: "n2",
                    ha: { state: "stopped", maxRelocate: 2, failback: false, nodes: { n2: 1, n1: 1 }, strict: true },
                },
                { vmid: 102, name: "scratch", node: "n1", replicateTo: [] },
                { vmid: 103, name: "web", node: "n3", replicateTo: ["n1"], ha: { nodes: { n3: 1, n1: 1 }, strict: true } },
            ],
            // One priority class each: both are in a resource-affinity rule
            // (pve-ha-manager Rules.pm check_single_priority_node_affinity_in_resource_affinity_rules).
            haRules: [{ id: "app-web-apart", affinity: "negative", guests: [101, 103] }],
            apiInsecure: true,
        });
    });

    it("uses a bracketed IPv6 endpoint", () => {
        const p = run.api.find((r) => r.type === "pulumi:providers:proxmoxve")!;
        assert.equal(p.inputs.endpoint, "https://[fd00::11]:8006");
        assert.equal(p.inputs.insecure, "true");
    });

    it("declares exactly these objects (no firewall, no alerts, no SDN, no bridges)", () => {
        assert.deepEqual(run.api.map((r) => `${r.type} ${r.name}`).sort(), [
            "command:remote:Command edge-api-ha-manager-ready",
            "proxmoxve:cluster/options:Options edge-api-cluster-options",
            "proxmoxve:index/haresource:Haresource edge-api-ha-101",
            "proxmoxve:index/haresource:Haresource edge-api-ha-103",
            "proxmoxve:index/harule:Harule edge-api-harule-app-web-apart",
            "proxmoxve:index/harule:Harule edge-api-harule-ha-guest-101",
            "proxmoxve:index/harule:Harule edge-api-harule-ha-guest-103",
            "proxmoxve:index/replication:Replication edge-api-replication-101-844130",
            "proxmoxve:index/replication:Replication edge-api-replication-101-995878",
            "proxmoxve:index/replication:Replication edge-api-replication-103-773497",
            "proxmoxve:index/vmLegacy:VmLegacy edge-api-vm-101",
            "proxmoxve:index/vmLegacy:VmLegacy edge-api-vm-102",
            "proxmoxve:index/vmLegacy:VmLegacy edge-api-vm-103",
            "proxmoxve:network/linux/vlan:Vlan edge-api-vlan-n1-40",
            "proxmoxve:network/linux/vlan:Vlan edge-api-vlan-n3-40",
            "proxmoxve:storage/zfspool:Zfspool edge-api-storage",
            "pulumi:providers:proxmoxve edge-api-provider",
        ]);
    });

    it("has exact storage, VLAN, replication, HA resource and rule inputs", () => {
        const m = byName(run);
        assert.deepEqual(m.get("edge-api-storage")!.inputs, {
            resourceId: "pool1",
            zfsPool: "pool1",
            contents: ["images", "rootdir"],
            thinProvision: false,
            blocksize: "16k",
            nodes: ["n1", "n2", "n3"],
        });
        assert.deepEqual(m.get("edge-api-vlan-n1-40")!.inputs, {
            nodeName: "n1",
            name: "eno3.40",
            address6: "fd00:40::11/64",
            comment: "storage (proxmox-ha)",
            autostart: true,
        });
        assert.deepEqual(m.get("edge-api-vlan-n3-40")!.inputs, {
            nodeName: "n3",
            name: "eno3.40",
            comment: "storage (proxmox-ha)",
            autostart: true,
        });
        assert.deepEqual(m.get("edge-api-replication-101-995878")!.inputs, {
            resourceId: "101-995878",
            type: "local",
            target: "n1",
            schedule: "*/10",
        });
        assert.deepEqual(m.get("edge-api-replication-101-844130")!.inputs, {
            resourceId: "101-844130",
            type: "local",
            target: "n3",
            schedule: "*/10",
        });
        assert.deepEqual(m.get("edge-api-replication-103-773497")!.inputs, {
            resourceId: "103-773497",
            type: "local",
            target: "n1",
            schedule: "*/10",
        });
        assert.deepEqual(m.get("edge-api-ha-101")!.inputs, {
            resourceId: "vm:101",
            type: "vm",
            state: "stopped",
            maxRestart: 1,
            maxRelocate: 2,
            failback: false,
        });
        assert.deepEqual(m.get("edge-api-ha-103")!.inputs, {
            resourceId: "vm:103",
            type: "vm",
            state: "started",
            maxRestart: 1,
            maxRelocate: 1,
            failback: true,
        });
        assert.deepEqual(m.get("edge-api-harule-ha-guest-101")!.inputs, {
            rule: "ha-guest-101",
            type: "node-affinity",
            resources: ["vm:101"],
            nodes: { n2: 1, n1: 1 },
            strict: true,
            comment: "home n2 (proxmox-ha)",
        });
        assert.deepEqual(m.get("edge-api-harule-ha-guest-103")!.inputs, {
            rule: "ha-guest-103",
            type: "node-affinity",
            resources: ["vm:103"],
            nodes: { n3: 1, n1: 1 },
            strict: true,
            comment: "home n3 (proxmox-ha)",
        });
        assert.deepEqual(m.get("edge-api-harule-app-web-apart")!.inputs, {
            rule: "app-web-apart",
            type: "resource-affinity",
            affinity: "negative",
            resources: ["vm:101", "vm:103"],
        });
        assert.deepEqual(run.layer.summary.replicationJobs, [
            { id: "101-995878", vmid: 101, target: "n1", schedule: "*/10", worstCaseRpoMinutes: 10 },
            { id: "101-844130", vmid: 101, target: "n3", schedule: "*/10", worstCaseRpoMinutes: 10 },
            { id: "103-773497", vmid: 103, target: "n1", schedule: "*/10", worstCaseRpoMinutes: 10 },
        ]);
    });
});

describe("refusals", () => {
    it("refuses a VLAN that would carry a node's management address", async () => {
        const raw = variant((r) => {
            r.network = { vlans: [{ tag: 20, interface: "eno1", addresses: { prox1: "10.0.0.11/24" } }] };
        });
        assert.equal(
            (await failureOf(raw)).message,
            "API layer: VLAN eno1.20 on prox1 would carry prox1's management address 10.0.0.11; Pulumi does not manage that interface",
        );
    });
    it("refuses a VLAN interface name longer than 15 characters", async () => {
        const raw = variant((r) => {
            r.network = { vlans: [{ tag: 4001, interface: "enp129s0f1np1" }] };
        });
        assert.equal(
            (await failureOf(raw)).message,
            "API layer: VLAN interface name enp129s0f1np1.4001 is longer than 15 characters; use a shorter parent interface name",
        );
    });
    it("manages the management bridge only when the stack says managesManagementAddress", async () => {
        const run = await runRaw(
            variant((r) => {
                r.network = {
                    bridges: [
                        {
                            name: "vmbr0",
                            ports: ["eno1"],
                            addresses: { prox1: "10.0.0.11/24" },
                            nodes: ["prox1"],
                            managesManagementAddress: true,
                        },
                    ],
                };
            }),
        );
        assert.deepEqual(byName(run).get("prod-api-bridge-prox1-vmbr0")!.inputs, {
            nodeName: "prox1",
            name: "vmbr0",
            ports: ["eno1"],
            vlanAware: false,
            address: "10.0.0.11/24",
            comment: "proxmox-ha",
            autostart: true,
        });
    });
});
