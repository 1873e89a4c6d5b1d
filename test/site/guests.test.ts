/**
 * Proves: the guest rules of issue #15, each with the exact key path and
 * message an operator sees — VM-only and container-only keys not mixed (and
 * OS types of the other kind), a container needs a template, vmids unique
 * across VMs and containers, cloud-init only with a cloud image or a
 * cloud-init-ready template (and no cloud-init user in a container), an HA
 * guest's ISO on every node of its HA node set (source.iso.nodes, and the
 * pre-existing `cdrom` volume refused for HA guests), one source per file,
 * file names derived from URLs, ip configuration per NIC; the plan warnings
 * for an attached ISO and for passthrough that pins a guest; and the typed
 * guests the site is built with (defaults per type, volume ids, media nodes).
 * Does not prove: the provider inputs (test/api/guests.test.ts).
 */
import { describe, it } from "node:test";
import * as assert from "node:assert/strict";
import { validateSite, type Problem } from "../../components/validate";
import { guestMedia, guestNodes, pinnedBy, type CtGuest, type VmGuest } from "../../components/model";
import { mutate, type Raw } from "./fixtures";

const ISO_URL = "https://mirror.example.net/opnsense/OPNsense-25.1-dvd-amd64.iso";
const IMAGE_URL = "https://cloud.debian.org/images/cloud/trixie/latest/debian-13-genericcloud-amd64.qcow2";
const TEMPLATE_URL = "http://download.proxmox.com/images/system/debian-13-standard_13.1-2_amd64.tar.zst";
const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHC8inZ8ScQrA4Q0A5+TZX7lsrTuZtQk3fwlp5hzkX3Z ops@example.com";

function problems(raw: Raw): [string, string][] {
    return validateSite(raw).problems.map((p: Problem) => [p.path, p.message]);
}

function expectProblems(raw: Raw, expected: [string, string][]) {
    assert.deepEqual(problems(raw), expected);
}

function warningsOf(raw: Raw): string[] {
    const r = validateSite(raw);
    assert.deepEqual(r.problems, []);
    return [...r.site!.warnings];
}

/** A container on prox2, replicated to prox1, HA. */
const ct = (extra: Record<string, unknown> = {}) => ({
    vmid: 301,
    name: "dns",
    type: "ct",
    node: "prox2",
    template: { url: TEMPLATE_URL },
    nics: [{ bridge: "vmbr0" }],
    ha: {},
    ...extra,
});

describe("VM keys and container keys are not mixed", () => {
    it("refuses every VM-only key on a container, naming the key and both fixes", () => {
        expectProblems(
            mutate((r) => r.guests.push(ct({ disks: [{ sizeGb: 8 }], agent: true, bios: "ovmf", source: { iso: { url: ISO_URL } } }))),
            [
                ["proxmox-ha:guests[1].disks", "is a VM key, but guest 301 is a container (type: ct): remove disks, or set type: vm"],
                ["proxmox-ha:guests[1].agent", "is a VM key, but guest 301 is a container (type: ct): remove agent, or set type: vm"],
                ["proxmox-ha:guests[1].source", "is a VM key, but guest 301 is a container (type: ct): remove source, or set type: vm"],
                ["proxmox-ha:guests[1].bios", "is a VM key, but guest 301 is a container (type: ct): remove bios, or set type: vm"],
            ],
        );
    });
    it("refuses container-only keys on a VM (type vm is the default)", () => {
        expectProblems(
            mutate((r) => Object.assign(r.guests[0], { rootfs: { sizeGb: 8 }, unprivileged: true })),
            [
                [
                    "proxmox-ha:guests[0].rootfs",
                    "is a container key, but guest 101 is a VM (type: vm, the default): remove rootfs, or set type: ct",
                ],
                [
                    "proxmox-ha:guests[0].unprivileged",
                    "is a container key, but guest 101 is a VM (type: vm, the default): remove unprivileged, or set type: ct",
                ],
            ],
        );
    });
    it("refuses an OS type of the other kind", () => {
        expectProblems(
            mutate((r) => {
                r.guests[0].osType = "debian";
                r.guests.push(ct({ osType: "l26" }));
            }),
            [
                ["proxmox-ha:guests[0].osType", `"debian" is not an OS type of a VM; write one of l26, other, win11, win10, solaris`],
                [
                    "proxmox-ha:guests[1].osType",
                    `"l26" is not an OS type of a container; write one of alpine, archlinux, centos, debian, devuan, fedora, gentoo, nixos, opensuse, ubuntu`,
                ],
            ],
        );
    });
    it("requires a template for a container", () => {
        expectProblems(
            mutate((r) => r.guests.push(ct({ template: undefined }))),
            [
                [
                    "proxmox-ha:guests[1].template",
                    "is required for a container: give the template to download, e.g. template: { url: http://download.proxmox.com/images/system/debian-13-standard_13.1-2_amd64.tar.zst }",
                ],
            ],
        );
    });
});

describe("vmids are unique across VMs and containers", () => {
    it("refuses a container with a VM's vmid", () => {
        expectProblems(
            mutate((r) => r.guests.push(ct({ vmid: 101 }))),
            [
                [
                    "proxmox-ha:guests[1].vmid",
                    "101 is already used by guests[0]; vmids must be unique across VMs and containers (Proxmox has one id space for both): choose another vmid",
                ],
            ],
        );
    });
    it("refuses a clone source that names a guest of the stack instead of a template", () => {
        expectProblems(
            mutate((r) => r.guests.push({ vmid: 102, name: "web", node: "prox1", replicateTo: [], source: { clone: { vmid: 101 } } })),
            [["proxmox-ha:guests[1].source.clone.vmid", "101 is guests[0] of this stack, not a template: give the vmid of a template VM"]],
        );
    });
});

describe("cloud-init only where something reads it", () => {
    const ci = { user: "debian", sshKeys: [KEY], ipConfig: [{ ipv4: { address: "dhcp" } }] };
    it("refuses cloud-init on an empty VM", () => {
        expectProblems(
            mutate((r) => (r.guests[0].cloudInit = ci)),
            [
                [
                    "proxmox-ha:guests[0].cloudInit",
                    "needs a guest that reads it: a cloud image (source.cloudImage) or a cloud-init-ready template (source.clone with cloudInitReady: true); an empty VM has none. Remove cloudInit or change the source",
                ],
            ],
        );
    });
    it("refuses cloud-init on an ISO install", () => {
        expectProblems(
            mutate((r) => Object.assign(r.guests[0], { cloudInit: ci, source: { iso: { url: ISO_URL } } })),
            [
                [
                    "proxmox-ha:guests[0].cloudInit",
                    "needs a guest that reads it: a cloud image (source.cloudImage) or a cloud-init-ready template (source.clone with cloudInitReady: true); an OS installed from an ISO has no cloud-init. Remove cloudInit or change the source",
                ],
            ],
        );
    });
    it("refuses cloud-init on a template not marked cloud-init-ready, and says how to mark it", () => {
        expectProblems(
            mutate((r) => Object.assign(r.guests[0], { cloudInit: ci, source: { clone: { vmid: 9000 } } })),
            [
                [
                    "proxmox-ha:guests[0].cloudInit",
                    "needs a guest that reads it: a cloud image (source.cloudImage) or a cloud-init-ready template (source.clone with cloudInitReady: true); if the template has cloud-init and its drive, set source.clone.cloudInitReady: true. Remove cloudInit or change the source",
                ],
            ],
        );
    });
    it("accepts cloud-init with a cloud image and with a cloud-init-ready template", () => {
        assert.deepEqual(
            problems(mutate((r) => Object.assign(r.guests[0], { cloudInit: ci, source: { cloudImage: { url: IMAGE_URL } } }))),
            [],
        );
        assert.deepEqual(
            problems(mutate((r) => Object.assign(r.guests[0], { cloudInit: ci, source: { clone: { vmid: 9000, cloudInitReady: true } } }))),
            [],
        );
    });
    it("refuses a cloud-init user in a container, more IP configurations than NICs, and a gateway with DHCP", () => {
        expectProblems(
            mutate((r) => {
                r.guests[0].source = { cloudImage: { url: IMAGE_URL } };
                r.guests[0].cloudInit = { ipConfig: [{ ipv4: { address: "dhcp", gateway: "10.0.0.1" } }, { ipv6: { address: "auto" } }] };
                r.guests.push(ct({ cloudInit: { user: "admin", sshKeys: [KEY] } }));
            }),
            [
                ["proxmox-ha:guests[0].cloudInit.ipConfig", "has 2 entries but the guest has 1 NIC(s): one entry per NIC, in order"],
                ["proxmox-ha:guests[0].cloudInit.ipConfig[0].ipv4.gateway", "must be left out with address: dhcp (DHCP gives the gateway)"],
                ["proxmox-ha:guests[1].cloudInit.user", "a container has no cloud-init user: Proxmox sets root's SSH keys. Remove user"],
            ],
        );
    });
});

describe("an HA guest's media on every node of its HA node set", () => {
    it("refuses an ISO node list that leaves out a node HA may start the guest on", () => {
        expectProblems(
            mutate((r) => (r.guests[0].source = { iso: { url: ISO_URL, nodes: ["prox1"] } })),
            [
                [
                    "proxmox-ha:guests[0].source.iso.nodes",
                    "lacks prox2: guest 101 may run there (HA), and a start with the ISO attached fails where the ISO is missing. Add prox2, or leave nodes out (it defaults to every node the guest may run on)",
                ],
            ],
        );
    });
    it("accepts a shorter list when strict node affinity keeps the guest off the missing node", () => {
        const raw = mutate((r) => {
            r.nodes.push({ ...r.nodes[1], name: "prox3", address: "10.0.0.13", links: ["10.10.10.13"] });
            delete r.qdevice;
            r.guests[0].source = { iso: { url: ISO_URL, nodes: ["prox1", "prox2"] } };
            r.guests[0].ha = { nodes: { prox1: 2, prox2: 1 }, strict: true };
            r.guests[0].replicateTo = ["prox2"];
        });
        assert.deepEqual(problems(raw), []);
    });
    it("refuses a pre-existing ISO volume (cdrom) on an HA guest: nothing puts it on the other nodes", () => {
        expectProblems(
            mutate((r) => (r.guests[0].cdrom = "local:iso/opnsense.iso")),
            [
                [
                    "proxmox-ha:guests[0].cdrom",
                    "local:iso/opnsense.iso is on one node's storage, and HA may start guest 101 on prox2 where it is missing (the start fails). Declare source.iso: { url } so the ISO is downloaded to every node the guest may run on, or remove cdrom",
                ],
            ],
        );
    });
    it("refuses cdrom next to source.iso, and an unknown node in the ISO list", () => {
        expectProblems(
            mutate((r) => {
                r.guests[0].source = { iso: { url: ISO_URL, nodes: ["prox1", "prox2", "prox9"] } };
                r.guests[0].cdrom = "local:iso/other.iso";
            }),
            [
                ["proxmox-ha:guests[0].source.iso.nodes[2]", `"prox9" is not a node of this site (nodes: prox1, prox2)`],
                ["proxmox-ha:guests[0].cdrom", "the VM has one CD drive and source.iso already uses it: remove cdrom"],
            ],
        );
    });
    it("refuses one file on one node from two sources", () => {
        expectProblems(
            mutate((r) => {
                r.guests[0].source = { iso: { url: ISO_URL } };
                r.guests.push({
                    vmid: 102,
                    name: "fw2",
                    node: "prox2",
                    ha: {},
                    source: { iso: { url: "https://other.example.org/OPNsense-25.1-dvd-amd64.iso" } },
                });
            }),
            [
                [
                    "proxmox-ha:guests[1].source.iso",
                    "downloads local:iso/OPNsense-25.1-dvd-amd64.iso on prox1 from https://other.example.org/OPNsense-25.1-dvd-amd64.iso, but proxmox-ha:guests[0].source.iso downloads the same file there from https://mirror.example.net/opnsense/OPNsense-25.1-dvd-amd64.iso: one file, one source. Give one of them another fileName",
                ],
                [
                    "proxmox-ha:guests[1].source.iso",
                    "downloads local:iso/OPNsense-25.1-dvd-amd64.iso on prox2 from https://other.example.org/OPNsense-25.1-dvd-amd64.iso, but proxmox-ha:guests[0].source.iso downloads the same file there from https://mirror.example.net/opnsense/OPNsense-25.1-dvd-amd64.iso: one file, one source. Give one of them another fileName",
                ],
            ],
        );
    });
    it("asks for a file name when the URL does not end in one", () => {
        expectProblems(
            mutate((r) => (r.guests[0].source = { cloudImage: { url: "https://images.example.net/download?id=42" } })),
            [
                [
                    "proxmox-ha:guests[0].source.cloudImage.fileName",
                    `is required: the URL's last segment "download" is not a file name ending in .qcow2, .raw, .vmdk, .img; write fileName: <name>.qcow2`,
                ],
            ],
        );
    });
    it("refuses two sources at once", () => {
        expectProblems(
            mutate((r) => (r.guests[0].source = { iso: { url: ISO_URL }, clone: { vmid: 9000 } })),
            [["proxmox-ha:guests[0].source", "give exactly one of clone, cloudImage or iso"]],
        );
    });
});

describe("hardware rules", () => {
    it("refuses secure boot without UEFI and PCIe without q35", () => {
        expectProblems(
            mutate((r) => Object.assign(r.guests[0], { secureBoot: true, pci: [{ mapping: "gpu", pcie: true }] })),
            [
                ["proxmox-ha:guests[0].secureBoot", "needs UEFI: set bios: ovmf, or remove secureBoot"],
                ["proxmox-ha:guests[0].pci[0].pcie", "PCIe passthrough needs machine: q35; set it, or pcie: false"],
            ],
        );
    });
});

describe("plan warnings", () => {
    it("warns while an ISO is attached (local cdrom image blocks migration), and not once it is detached", () => {
        const attached = warningsOf(mutate((r) => (r.guests[0].source = { iso: { url: ISO_URL } })));
        assert.deepEqual(
            attached.filter((w) => w.includes("ISO") || w.includes("CD drive")),
            [
                `proxmox-ha:guests[0].source.iso.attached: OPNsense-25.1-dvd-amd64.iso is in guest 101's CD drive: Proxmox refuses to migrate it ("local cdrom image", qemu-server QemuMigrate.pm) and an HA recovery needs the ISO on the target node. Once the OS is installed, set attached: false (the site runbook, "Installing from an ISO, then detaching it")`,
            ],
        );
        const detached = warningsOf(mutate((r) => (r.guests[0].source = { iso: { url: ISO_URL, attached: false } })));
        assert.deepEqual(
            detached.filter((w) => w.includes("CD drive")),
            [],
        );
    });
    it("warns for a non-HA guest's cdrom", () => {
        const w = warningsOf(
            mutate((r) =>
                r.guests.push({ vmid: 150, name: "db", node: "prox1", replicateTo: ["prox2"], cdrom: "local:iso/debian-13.iso" }),
            ),
        );
        assert.deepEqual(
            w.filter((x) => x.includes("CD drive")),
            [
                `proxmox-ha:guests[1].cdrom: local:iso/debian-13.iso is in guest 150's CD drive: Proxmox refuses to migrate it ("local cdrom image", qemu-server QemuMigrate.pm). Remove cdrom once the OS is installed`,
            ],
        );
    });
    it("warns for every passthrough device, host or mapped", () => {
        const w = warningsOf(
            mutate((r) =>
                Object.assign(r.guests[0], {
                    machine: "q35",
                    usb: [{ host: "0529:0001" }, { mapping: "ups" }],
                    pci: [{ id: "0000:01:00.0", pcie: true }, { mapping: "nic-x710" }],
                }),
            ),
        );
        assert.deepEqual(
            w.filter((x) => x.includes("passes") || x.includes("mapping")),
            [
                "proxmox-ha:guests[0]: usb[0] passes host USB device 0529:0001 through: the guest cannot migrate and an HA recovery elsewhere starts without it",
                "proxmox-ha:guests[0]: usb[1] uses mapping ups: HA and migration can only use nodes where that mapping has a device, and a running guest cannot live-migrate",
                "proxmox-ha:guests[0]: pci[0] passes host PCI device 0000:01:00.0 through: the guest cannot migrate and an HA recovery elsewhere fails to start or gets whatever sits at 0000:01:00.0 there",
                "proxmox-ha:guests[0]: pci[1] uses mapping nic-x710: HA and migration can only use nodes where that mapping has a device; live migration only if the mapping is live-migration-capable",
            ],
        );
    });
});

describe("the built guests", () => {
    it("names a decompressed ISO without the compression suffix, as Proxmox's download dialog does", () => {
        const r = validateSite(
            mutate(
                (raw) =>
                    (raw.guests[0].source = {
                        iso: { url: "https://pkg.opnsense.org/releases/25.1/OPNsense-25.1-dvd-amd64.iso.bz2", decompression: "bz2" },
                    }),
            ),
        );
        assert.deepEqual(r.problems, []);
        const fw = r.site!.guests[0] as VmGuest;
        assert.ok(fw.source?.kind === "iso");
        assert.deepEqual(
            [fw.source.iso.fileName, fw.source.iso.volumeId, fw.source.iso.decompression],
            ["OPNsense-25.1-dvd-amd64.iso", "local:iso/OPNsense-25.1-dvd-amd64.iso", "bz2"],
        );
    });
    it("applies each type's defaults, resolves volume ids and the nodes each medium goes to", () => {
        const r = validateSite(
            mutate((raw) => {
                raw.guests[0].source = { iso: { url: ISO_URL, checksum: "ab".repeat(32) } };
                raw.guests.push(ct());
                raw.guests.push({
                    vmid: 103,
                    name: "app",
                    node: "prox1",
                    replicateTo: ["prox2"],
                    source: { cloudImage: { url: IMAGE_URL } },
                });
            }),
        );
        assert.deepEqual(r.problems, []);
        const [fw, dns, app] = r.site!.guests as [VmGuest, CtGuest, VmGuest];
        assert.equal(fw.type, "vm");
        assert.deepEqual(fw.source, {
            kind: "iso",
            iso: {
                url: ISO_URL,
                fileName: "OPNsense-25.1-dvd-amd64.iso",
                checksum: "ab".repeat(32),
                checksumAlgorithm: "sha256",
                storage: "local",
                content: "iso",
                volumeId: "local:iso/OPNsense-25.1-dvd-amd64.iso",
            },
            nodes: ["prox1", "prox2"],
            attached: true,
        });
        assert.deepEqual([fw.agent, fw.osType, fw.bios, fw.secureBoot, fw.usb, fw.pci], [true, "l26", "seabios", false, [], []]);
        assert.deepEqual(
            guestMedia(fw).map((m) => `${m.node} ${m.media.volumeId}`),
            ["prox1 local:iso/OPNsense-25.1-dvd-amd64.iso", "prox2 local:iso/OPNsense-25.1-dvd-amd64.iso"],
        );
        assert.equal(dns.type, "ct");
        assert.deepEqual(dns.disks, [{ slot: "rootfs", sizeGb: 8, storage: "pool1", ssd: false, discard: false }]);
        assert.deepEqual([dns.osType, dns.unprivileged, dns.nesting], ["debian", true, true]);
        assert.deepEqual(
            guestMedia(dns).map((m) => `${m.node} ${m.media.volumeId}`),
            ["prox2 local:vztmpl/debian-13-standard_13.1-2_amd64.tar.zst"],
        );
        assert.deepEqual(guestNodes(r.site!, dns), ["prox1", "prox2"]);
        assert.deepEqual(
            guestMedia(app).map((m) => `${m.node} ${m.media.volumeId}`),
            ["prox1 local:import/debian-13-genericcloud-amd64.qcow2"],
        );
        assert.deepEqual(guestNodes(r.site!, app), ["prox1"], "a guest without HA runs on its home node");
        assert.deepEqual(pinnedBy(app), []);
    });
});
