/**
 * Proves: for each OS source and for containers, the real program declares
 * exactly these provider inputs (whole objects compared):
 * - an installer ISO: one download.File per node the guest may run on, the
 *   CD drive on ide2 with the disk first in the boot order, the VM waiting
 *   for every download; detached, the drive is unplugged and the boot order
 *   left to Proxmox;
 * - a cloud image: a download.File (content import) on the home node only,
 *   imported as scsi0, cloud-init (user, keys, static IP, DNS) on the
 *   replicated storage;
 * - a template clone: a full clone onto the replicated storage, the
 *   template's node passed only when it is another node (the provider then
 *   clones there and migrates, bpg vm.go vmCreateClone);
 * - UEFI with the EFI disk and TPM state on the replicated storage, q35,
 *   USB and PCI passthrough;
 * - a container: ContainerLegacy from its downloaded template, rootfs on the
 *   replicated storage, its replication job, HA as ct:<vmid> with the same
 *   node-affinity rule, and a resource-affinity rule mixing vm: and ct:;
 * - the agent: refreshes never wait for it (waitForIp.disabled), and a guest
 *   without it sends only enabled: false;
 * - protection: HA resource and rules carry the guest's protect (a
 *   resource-affinity rule while all its members are), and an
 *   unprotected guest leaves all of them unprotected (step one of removal).
 * Does not prove: that Proxmox or the provider accept these inputs (no PVE,
 * no provider plugin), nor what `pulumi destroy` does on a live site.
 */
import { describe, it, before } from "node:test";
import * as assert from "node:assert/strict";
import type { RecordedResource } from "../../tools/lib/mock-runtime";
import { derivedJobNumber } from "../../components/model";
import { directDeps, runRaw, variant, type Run } from "./harness";

/** A job id the stack does not pin: derived from the two node names (model.ts). */
const JOB = derivedJobNumber("prox1", "prox2");

const T = {
    vm: "proxmoxve:index/vmLegacy:VmLegacy",
    ct: "proxmoxve:index/containerLegacy:ContainerLegacy",
    file: "proxmoxve:download/file:File",
    replication: "proxmoxve:index/replication:Replication",
    haresource: "proxmoxve:index/haresource:Haresource",
    harule: "proxmoxve:index/harule:Harule",
} as const;

const ISO_URL = "https://mirror.example.net/opnsense/OPNsense-25.1-dvd-amd64.iso";
const ISO_SHA = "d1".repeat(32);
const IMAGE_URL = "https://cloud.debian.org/images/cloud/trixie/latest/debian-13-genericcloud-amd64.qcow2";
const TEMPLATE_URL = "http://download.proxmox.com/images/system/debian-13-standard_13.1-2_amd64.tar.zst";
const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHC8inZ8ScQrA4Q0A5+TZX7lsrTuZtQk3fwlp5hzkX3Z ops@example.com";

function get(run: Run, type: string, name: string): RecordedResource {
    const r = run.api.find((x) => x.type === type && x.name === name);
    assert.ok(
        r,
        `${type} ${name}; have ${run.api
            .filter((x) => x.type === type)
            .map((x) => x.name)
            .join(", ")}`,
    );
    return r;
}

const names = (run: Run, type: string) =>
    run.api
        .filter((r) => r.type === type)
        .map((r) => r.name)
        .sort();

const AGENT = { enabled: true, timeout: "1m", waitForIp: { disabled: true } };
const CPU = { cores: 2, type: "x86-64-v2-AES" };
const NIC = { bridge: "vmbr0", model: "virtio", firewall: true };
const disk = (size: number, extra: Record<string, unknown> = {}) => ({
    interface: "scsi0",
    datastoreId: "pool1",
    size,
    ...extra,
    fileFormat: "raw",
    ssd: true,
    discard: "on",
    replicate: true,
});

describe("guests of every kind on the reference site", () => {
    let run: Run;
    before(async () => {
        run = await runRaw(
            variant((r) => {
                // 101: the firewall from an ISO on both nodes (HA).
                r.guests[0].source = { iso: { url: ISO_URL, checksum: ISO_SHA } };
                r.guests.push(
                    // 102: a cloud image with cloud-init, HA.
                    {
                        vmid: 102,
                        name: "web",
                        node: "prox2",
                        memoryMb: 1024,
                        disks: [{ sizeGb: 20 }],
                        nics: [{ bridge: "vmbr0" }],
                        source: { cloudImage: { url: IMAGE_URL } },
                        cloudInit: {
                            user: "debian",
                            sshKeys: [KEY],
                            ipConfig: [{ ipv4: { address: "10.0.0.50/24", gateway: "10.0.0.1" } }],
                            dns: { domain: "example.com", servers: ["10.0.0.53", "10.0.0.54"] },
                        },
                        ha: {},
                    },
                    // 103: a clone of template 9000 on prox2's local storage, created on prox1; UEFI, TPM, q35, passthrough.
                    {
                        vmid: 103,
                        name: "win",
                        node: "prox1",
                        osType: "win11",
                        nics: [{ bridge: "vmbr0" }],
                        source: { clone: { vmid: 9000, node: "prox2", cloudInitReady: true } },
                        cloudInit: { ipConfig: [{ ipv4: { address: "dhcp" } }] },
                        bios: "ovmf",
                        secureBoot: true,
                        machine: "q35",
                        tpm: "v2.0",
                        usb: [{ mapping: "ups", usb3: true }],
                        pci: [{ id: "0000:01:00.0", pcie: true, xvga: true }],
                        replicateTo: ["prox2"],
                    },
                    // 104: a clone of a template on its own node, no agent.
                    {
                        vmid: 104,
                        name: "tool",
                        node: "prox2",
                        agent: false,
                        source: { clone: { vmid: 9001 } },
                        replicateTo: [],
                        disks: [{ sizeGb: 10, storage: "pool1" }],
                    },
                    // 301: a container from a template, replicated and HA.
                    {
                        vmid: 301,
                        name: "dns",
                        type: "ct",
                        node: "prox2",
                        cores: 1,
                        memoryMb: 512,
                        swapMb: 256,
                        template: { url: TEMPLATE_URL },
                        rootfs: { sizeGb: 8 },
                        nics: [{ bridge: "vmbr0", firewall: false }],
                        cloudInit: {
                            sshKeys: [KEY],
                            ipConfig: [{ ipv4: { address: "10.0.0.53/24", gateway: "10.0.0.1" } }],
                            dns: { servers: ["10.0.0.1"] },
                        },
                        // Kept apart from 102, which has the same home node: Proxmox
                        // needs as many nodes in their node affinity as guests, in one
                        // priority class (pve-ha-manager Rules.pm, components/haplan.ts).
                        ha: { nodes: { prox1: 1, prox2: 1 } },
                    },
                );
                r.haRules = [{ id: "web-dns-apart", affinity: "negative", guests: [102, 301] }];
            }),
        );
    });

    it("downloads each file once per node that needs it: the ISO on both HA nodes, image and template on the home node", () => {
        assert.deepEqual(names(run, T.file), [
            "prod-api-import-prox2-debian-13-genericcloud-amd64.qcow2",
            "prod-api-iso-prox1-OPNsense-25.1-dvd-amd64.iso",
            "prod-api-iso-prox2-OPNsense-25.1-dvd-amd64.iso",
            "prod-api-vztmpl-prox2-debian-13-standard_13.1-2_amd64.tar.zst",
        ]);
        for (const node of ["prox1", "prox2"]) {
            const f = get(run, T.file, `prod-api-iso-${node}-OPNsense-25.1-dvd-amd64.iso`);
            assert.deepEqual(f.inputs, {
                nodeName: node,
                datastoreId: "local",
                contentType: "iso",
                url: ISO_URL,
                fileName: "OPNsense-25.1-dvd-amd64.iso",
                checksum: ISO_SHA,
                checksumAlgorithm: "sha256",
                overwrite: false,
            });
            assert.equal(f.protect, false, "media are not guest data");
        }
        assert.deepEqual(get(run, T.file, "prod-api-import-prox2-debian-13-genericcloud-amd64.qcow2").inputs, {
            nodeName: "prox2",
            datastoreId: "local",
            contentType: "import",
            url: IMAGE_URL,
            fileName: "debian-13-genericcloud-amd64.qcow2",
            overwrite: false,
        });
        assert.deepEqual(get(run, T.file, "prod-api-vztmpl-prox2-debian-13-standard_13.1-2_amd64.tar.zst").inputs, {
            nodeName: "prox2",
            datastoreId: "local",
            contentType: "vztmpl",
            url: TEMPLATE_URL,
            fileName: "debian-13-standard_13.1-2_amd64.tar.zst",
            overwrite: false,
        });
        // A download waits for its node's membership only.
        assert.deepEqual(directDeps(run.records, get(run, T.file, "prod-api-iso-prox2-OPNsense-25.1-dvd-amd64.iso")), [
            "prod-hosts-cluster-create",
            "prod-hosts-prox2-join",
        ]);
    });

    it("ISO: the CD drive on ide2, the disk first in the boot order, after the ISO is on every node", () => {
        const vm = get(run, T.vm, "prod-api-vm-101");
        assert.deepEqual(vm.inputs, {
            nodeName: "prox1",
            vmId: 101,
            name: "fw",
            cpu: CPU,
            memory: { dedicated: 4096 },
            operatingSystem: { type: "l26" },
            agent: AGENT,
            disks: [disk(32)],
            networkDevices: [NIC],
            cdrom: { fileId: "local:iso/OPNsense-25.1-dvd-amd64.iso", interface: "ide2" },
            bootOrders: ["scsi0", "ide2"],
            started: true,
            onBoot: true,
            protection: true,
        });
        const deps = directDeps(run.records, vm);
        assert.ok(deps.includes("prod-api-iso-prox1-OPNsense-25.1-dvd-amd64.iso"));
        assert.ok(deps.includes("prod-api-iso-prox2-OPNsense-25.1-dvd-amd64.iso"));
    });

    it("cloud image: imported as scsi0, cloud-init with user, keys, static IP and DNS on the replicated storage", () => {
        const vm = get(run, T.vm, "prod-api-vm-102");
        assert.deepEqual(vm.inputs, {
            nodeName: "prox2",
            vmId: 102,
            name: "web",
            cpu: CPU,
            memory: { dedicated: 1024 },
            operatingSystem: { type: "l26" },
            agent: AGENT,
            disks: [disk(20, { importFrom: "local:import/debian-13-genericcloud-amd64.qcow2" })],
            networkDevices: [NIC],
            initialization: {
                datastoreId: "pool1",
                userAccount: { username: "debian", keys: [KEY] },
                ipConfigs: [{ ipv4: { address: "10.0.0.50/24", gateway: "10.0.0.1" } }],
                dns: { domain: "example.com", servers: ["10.0.0.53", "10.0.0.54"] },
            },
            started: true,
            onBoot: true,
            protection: true,
        });
        assert.ok(directDeps(run.records, vm).includes("prod-api-import-prox2-debian-13-genericcloud-amd64.qcow2"));
    });

    it("clone from another node: full clone onto the replicated storage, with UEFI, TPM, q35 and passthrough", () => {
        assert.deepEqual(get(run, T.vm, "prod-api-vm-103").inputs, {
            nodeName: "prox1",
            vmId: 103,
            name: "win",
            clone: { vmId: 9000, nodeName: "prox2", full: true, datastoreId: "pool1" },
            bios: "ovmf",
            machine: "q35",
            efiDisk: { datastoreId: "pool1", fileFormat: "raw", type: "4m", preEnrolledKeys: true },
            tpmState: { datastoreId: "pool1", version: "v2.0" },
            cpu: CPU,
            memory: { dedicated: 2048 },
            operatingSystem: { type: "win11" },
            agent: AGENT,
            disks: [disk(32)],
            networkDevices: [NIC],
            initialization: { datastoreId: "pool1", ipConfigs: [{ ipv4: { address: "dhcp" } }] },
            usbs: [{ mapping: "ups", usb3: true }],
            hostpcis: [{ device: "hostpci0", id: "0000:01:00.0", pcie: true, xvga: true }],
            started: true,
            onBoot: true,
            protection: true,
        });
    });

    it("clone on the template's own node: no source node; no agent: only enabled: false", () => {
        assert.deepEqual(get(run, T.vm, "prod-api-vm-104").inputs, {
            nodeName: "prox2",
            vmId: 104,
            name: "tool",
            clone: { vmId: 9001, full: true, datastoreId: "pool1" },
            cpu: CPU,
            memory: { dedicated: 2048 },
            operatingSystem: { type: "l26" },
            agent: { enabled: false },
            disks: [disk(10)],
            networkDevices: [],
            started: true,
            onBoot: true,
            protection: true,
        });
    });

    it("container: ContainerLegacy from the downloaded template, rootfs on the replicated storage, protected, nodeName ignored", () => {
        const c = get(run, T.ct, "prod-api-ct-301");
        assert.deepEqual(c.inputs, {
            nodeName: "prox2",
            vmId: 301,
            cpu: { cores: 1 },
            memory: { dedicated: 512, swap: 256 },
            disk: { datastoreId: "pool1", size: 8, replicate: true },
            operatingSystem: { templateFileId: "local:vztmpl/debian-13-standard_13.1-2_amd64.tar.zst", type: "debian" },
            initialization: {
                hostname: "dns",
                ipConfigs: [{ ipv4: { address: "10.0.0.53/24", gateway: "10.0.0.1" } }],
                dns: { servers: ["10.0.0.1"] },
                userAccount: { keys: [KEY] },
            },
            networkInterfaces: [{ name: "eth0", bridge: "vmbr0", firewall: false }],
            unprivileged: true,
            features: { nesting: true },
            started: true,
            startOnBoot: true,
            protection: true,
        });
        assert.equal(c.protect, true);
        assert.deepEqual(c.ignoreChanges, ["nodeName"]);
        assert.ok(directDeps(run.records, c).includes("prod-api-vztmpl-prox2-debian-13-standard_13.1-2_amd64.tar.zst"));
    });

    it("container: replicated like a VM, HA as ct:301 with its node-affinity rule, in a rule with a VM", () => {
        const job = get(run, T.replication, `prod-api-replication-301-${JOB}`);
        assert.deepEqual(job.inputs, { resourceId: `301-${JOB}`, type: "local", target: "prox1", schedule: "*/5", rate: 100 });
        assert.deepEqual(directDeps(run.records, job), ["prod-api-ct-301", "prod-hosts-cluster-create"]);
        const ha = get(run, T.haresource, "prod-api-ha-301");
        assert.deepEqual(ha.inputs, { resourceId: "ct:301", type: "ct", state: "started", maxRestart: 1, maxRelocate: 1, failback: true });
        assert.ok(directDeps(run.records, ha).includes("prod-api-ct-301"));
        assert.ok(directDeps(run.records, ha).includes(`prod-api-replication-301-${JOB}`));
        assert.deepEqual(get(run, T.harule, "prod-api-harule-ha-guest-301").inputs, {
            rule: "ha-guest-301",
            type: "node-affinity",
            resources: ["ct:301"],
            nodes: { prox1: 1, prox2: 1 },
            strict: false,
            comment: "home prox2 (proxmox-ha)",
        });
        assert.deepEqual(get(run, T.harule, "prod-api-harule-web-dns-apart").inputs, {
            rule: "web-dns-apart",
            type: "resource-affinity",
            affinity: "negative",
            resources: ["vm:102", "ct:301"],
        });
        assert.deepEqual(run.layer.summary.ha.resources.map((r) => r.sid).sort(), ["ct:301", "vm:101", "vm:102"]);
        assert.deepEqual(
            run.layer.summary.guests.map((g) => `${g.type} ${g.vmid}`),
            ["vm 101", "vm 102", "vm 103", "vm 104", "ct 301"],
        );
    });

    it("protection: HA resources and rules are protected like their guests", () => {
        for (const n of ["prod-api-ha-101", "prod-api-ha-102", "prod-api-ha-301"]) assert.equal(get(run, T.haresource, n).protect, true, n);
        for (const n of ["prod-api-harule-ha-guest-101", "prod-api-harule-ha-guest-301", "prod-api-harule-web-dns-apart"])
            assert.equal(get(run, T.harule, n).protect, true, n);
    });
});

describe("removing a guest on purpose, step one: protect: false", () => {
    let run: Run;
    before(async () => {
        run = await runRaw(
            variant((r) => {
                r.guests[0].protect = false;
                r.guests[0].source = { iso: { url: ISO_URL, attached: false } };
                r.guests.push({ vmid: 102, name: "web", node: "prox2", ha: {}, protect: true });
                r.haRules = [{ id: "apart", affinity: "negative", guests: [101, 102] }];
            }),
        );
    });
    it("unprotects the guest, its replica, its HA resource and its node-affinity rule together", () => {
        const vm = get(run, T.vm, "prod-api-vm-101");
        assert.equal(vm.protect, false);
        assert.equal((vm.inputs as { protection: boolean }).protection, false);
        assert.equal(get(run, T.replication, `prod-api-replication-101-${JOB}`).protect, false);
        assert.equal(get(run, T.haresource, "prod-api-ha-101").protect, false);
        assert.equal(get(run, T.harule, "prod-api-harule-ha-guest-101").protect, false);
    });
    it("frees its resource-affinity rule too (step two removes or shortens it), and nothing of the other guest", () => {
        assert.equal(get(run, T.harule, "prod-api-harule-apart").protect, false);
        assert.equal(get(run, T.haresource, "prod-api-ha-102").protect, true);
        assert.equal(get(run, T.harule, "prod-api-harule-ha-guest-102").protect, true);
    });
    it("a detached ISO: the drive unplugged (none), no boot order, the ISO still on both nodes for a reinstall", () => {
        const vm = get(run, T.vm, "prod-api-vm-101").inputs as Record<string, unknown>;
        assert.deepEqual(vm.cdrom, { fileId: "none", interface: "ide2" });
        assert.equal(vm.bootOrders, undefined);
        assert.deepEqual(names(run, T.file), [
            "prod-api-iso-prox1-OPNsense-25.1-dvd-amd64.iso",
            "prod-api-iso-prox2-OPNsense-25.1-dvd-amd64.iso",
        ]);
    });
});
