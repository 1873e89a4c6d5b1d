/**
 * Proves (issue #13, errors): every type error names the key, the expected type
 * and the value given (never "is required" for a value that is present); a
 * section that fails its schema causes no follow-on message from the
 * cross-field rules; the cross-field gaps that used to plan with exit 0 (a
 * QDevice on a node's VLAN address, a NIC on a bridge missing where the guest
 * may run, VXLAN peers falling back to management addresses, partitions as
 * pool disks, ssh-rsa host keys, shell-bound URLs) are refused with one exact
 * message each.
 * Does not prove: how the YAML reaches the validator (test/tools/stack-errors.test.ts).
 */
import { describe, it } from "node:test";
import * as assert from "node:assert/strict";
import { validateSite } from "../../components/validate";
import { mutate, type Raw } from "./fixtures";

function expectProblems(raw: Raw, expected: [path: string, message: string][]) {
    assert.deepEqual(
        validateSite(raw).problems.map((p) => [p.path, p.message]),
        expected,
    );
}

describe("type errors name the key, the expected type and the value", () => {
    it("a number written in quotes", () => {
        expectProblems(
            mutate((r) => (r.nodes[0].sshPort = "2222")),
            [["proxmox-ha:nodes[0].sshPort", 'must be a number, not the text "2222"; write 2222 without quotes']],
        );
    });
    it("a fraction where a whole number belongs", () => {
        expectProblems(
            mutate((r) => (r.nodes[0].zfs.ashift = 12.5)),
            [["proxmox-ha:nodes[0].zfs.ashift", "must be a whole number, not 12.5 (a fraction)"]],
        );
    });
    it("text where a mapping belongs", () => {
        expectProblems(
            mutate((r) => (r.nodes[0].zfs = "pool1")),
            [["proxmox-ha:nodes[0].zfs", 'must be a mapping of keys to values, not the text "pool1"']],
        );
        expectProblems(
            mutate((r) => (r.storage = "pool1")),
            [["proxmox-ha:storage", 'must be a mapping of keys to values, not the text "pool1"']],
        );
    });
    it("a list where a mapping belongs", () => {
        expectProblems(
            mutate((r) => (r.cluster = ["prod"])),
            [["proxmox-ha:cluster", 'must be a mapping of keys to values, not a list ["prod"]']],
        );
    });
    it("yes/no or quoted booleans", () => {
        expectProblems(
            mutate((r) => (r.firewall.enabled = "yes")),
            [["proxmox-ha:firewall.enabled", 'must be true or false, not the text "yes"']],
        );
        expectProblems(
            mutate((r) => (r.guests[0].started = "false")),
            [["proxmox-ha:guests[0].started", 'must be true or false, not the text "false"; write false without quotes']],
        );
    });
    it("an empty value where a list belongs", () => {
        expectProblems(
            mutate((r) => (r.nodes[0].zfs.disks = null)),
            [["proxmox-ha:nodes[0].zfs.disks", "must be a list, not an empty value (null)"]],
        );
    });
    it("keeps a schema's own wording and adds the value", () => {
        expectProblems(
            mutate((r) => (r.guests[0].vmid = "101")),
            [["proxmox-ha:guests[0].vmid", 'must be a whole number from 100 to 999999999, not the text "101"; write 101 without quotes']],
        );
        expectProblems(
            mutate((r) => (r.nodes[0].address = 10)),
            [["proxmox-ha:nodes[0].address", "must be an IPv4 or IPv6 address, e.g. 10.0.0.11, not 10"]],
        );
        expectProblems(
            mutate((r) => (r.nodes[0].links = [5])),
            [
                [
                    "proxmox-ha:nodes[0].links[0]",
                    "must be an IP address, or { address, priority } with priority 0–255 (higher is preferred), not 5",
                ],
            ],
        );
    });
    it("a missing key is still 'is required'", () => {
        expectProblems(
            mutate((r) => delete r.nodes[0].address),
            [["proxmox-ha:nodes[0].address", "is required"]],
        );
        expectProblems(
            mutate((r) => delete r.nodes[0].zfs),
            [["proxmox-ha:nodes[0].zfs", "is required"]],
        );
    });
});

describe("one cause, one message", () => {
    it("an invalid node entry does not make zrepl say it needs two nodes", () => {
        expectProblems(
            mutate((r) => {
                r.nodes[1].name = "Prox_2";
                r.zrepl = { enabled: true };
            }),
            [["proxmox-ha:nodes[1].name", "must be a host name: lowercase letters, digits and '-' (not first or last), e.g. prox1"]],
        );
    });
    it("a node list that is not a list: one message", () => {
        expectProblems(
            mutate((r) => {
                r.nodes = "prox1";
                r.zrepl = { enabled: true };
            }),
            [["proxmox-ha:nodes", 'must be a list, not the text "prox1"']],
        );
    });
    it("a broken qdevice section does not also say the qdevice is required", () => {
        expectProblems(
            mutate((r) => (r.qdevice.address = "10.0.0.300")),
            [["proxmox-ha:qdevice.address", "must be an IPv4 or IPv6 address, e.g. 10.0.0.11"]],
        );
    });
    it("a broken network section does not also call every guest bridge unknown", () => {
        expectProblems(
            mutate((r) => {
                r.network = { bridges: [{ name: "vmbr1", ports: ["eno2"], mtu: "9000" }] };
                r.guests[0].nics = [{ bridge: "vmbr1" }];
            }),
            [["proxmox-ha:network.bridges[0].mtu", 'must be a number, not the text "9000"; write 9000 without quotes']],
        );
    });
});

describe("cross-field gaps", () => {
    it("a QDevice address that is a node's VLAN address", () => {
        expectProblems(
            mutate((r) => {
                r.qdevice.address = "10.40.1.11";
                r.network = {
                    vlans: [
                        {
                            tag: 4001,
                            interface: "eno1",
                            purpose: "corosync",
                            addresses: { prox1: "10.40.1.11/24", prox2: "10.40.1.12/24" },
                        },
                    ],
                };
            }),
            [
                [
                    "proxmox-ha:qdevice.address",
                    "10.40.1.11 is node prox1's address in network.vlans[0] (VLAN 4001); the QDevice must be a third host",
                ],
            ],
        );
    });
    it("a QDevice address that is a node's bridge address", () => {
        expectProblems(
            mutate((r) => {
                r.qdevice.address = "192.168.50.12";
                r.network = { bridges: [{ name: "vmbr1", ports: ["eno2"], addresses: { prox2: "192.168.50.12/24" } }] };
            }),
            [
                [
                    "proxmox-ha:qdevice.address",
                    "192.168.50.12 is node prox2's address in network.bridges[0] (vmbr1); the QDevice must be a third host",
                ],
            ],
        );
    });
    it("a NIC on a bridge that HA's other node lacks", () => {
        expectProblems(
            mutate((r) => {
                r.network = { bridges: [{ name: "vmbr1", ports: ["eno2"], nodes: ["prox1"] }] };
                r.guests[0].nics = [{ bridge: "vmbr1" }];
            }),
            [
                [
                    "proxmox-ha:guests[0].nics[0].bridge",
                    "vmbr1 exists only on prox1 (network.bridges[0].nodes) but guest 101 may be started by HA on prox2; add prox2 to the bridge's nodes or keep the guest there with strict ha.nodes",
                ],
            ],
        );
    });
    it("a NIC on a bridge that the home node lacks", () => {
        expectProblems(
            mutate((r) => {
                r.network = { bridges: [{ name: "vmbr1", ports: ["eno2"], nodes: ["prox2"] }] };
                r.guests[0].nics = [{ bridge: "vmbr1" }];
                delete r.guests[0].ha;
            }),
            [
                [
                    "proxmox-ha:guests[0].nics[0].bridge",
                    "vmbr1 exists only on prox2 (network.bridges[0].nodes) but guest 101 lives on prox1; add prox1 to the bridge's nodes",
                ],
            ],
        );
    });
    it("a NIC on a bridge of exactly the nodes strict HA allows is fine", () => {
        expectProblems(
            mutate((r) => {
                r.network = { bridges: [{ name: "vmbr1", ports: ["eno2"], nodes: ["prox1"] }] };
                r.guests[0].nics = [{ bridge: "vmbr1" }];
                r.guests[0].ha = { nodes: { prox1: 2 }, strict: true };
                r.guests[0].replicateTo = ["prox2"];
            }),
            [],
        );
    });
    it("VXLAN peers whose underlay VLAN lacks a node's address", () => {
        expectProblems(
            mutate((r) => {
                r.network = {
                    vlans: [{ tag: 4003, interface: "eno1", purpose: "vxlan", addresses: { prox1: "10.40.3.11/24" } }],
                    vxlan: { zone: "vxz1", vnet: "vxnet1", tag: 100, mtu: 1450 },
                };
            }),
            [
                [
                    "proxmox-ha:network.vlans[0].addresses",
                    "lacks prox2: the VXLAN zone would peer over that node's management address instead of VLAN 4003; add an address for prox2, or list every node in network.vxlan.peers",
                ],
            ],
        );
    });
    it("VXLAN without any underlay warns that it peers over the management addresses", () => {
        const r = validateSite(mutate((r) => (r.network = { vxlan: { zone: "vxz1", vnet: "vxnet1", tag: 100, mtu: 1450 } })));
        assert.deepEqual(r.problems, []);
        assert.deepEqual(
            r.site!.warnings.filter((w) => w.includes("vxlan")),
            [
                "proxmox-ha:network.vxlan.peers: not set and no VLAN has purpose vxlan, so the VXLAN zone peers over the nodes' management addresses (10.0.0.11, 10.0.0.12); guest traffic then crosses the management network unencrypted",
            ],
        );
    });
    for (const [disk, whole] of [
        ["/dev/sda1", "/dev/sda"],
        ["/dev/nvme0n1p2", "/dev/nvme0n1"],
        ["/dev/disk/by-id/ata-SAMSUNG_MZ7LH960_S45N-part1", "/dev/disk/by-id/ata-SAMSUNG_MZ7LH960_S45N"],
    ] as const) {
        it(`refuses the partition ${disk}`, () => {
            expectProblems(
                mutate((r) => (r.nodes[0].zfs.disks[1] = disk)),
                [["proxmox-ha:nodes[0].zfs.disks[1]", `${disk} is a partition; the pool takes whole, empty disks: list ${whole} instead`]],
            );
        });
    }
    it("a by-id name that merely ends in a digit is a whole disk", () => {
        expectProblems(
            mutate((r) => (r.nodes[0].zfs.disks = ["/dev/disk/by-id/ata-A1", "/dev/disk/by-id/nvme-eui.0025388b91b4f2a1"])),
            [],
        );
    });
    it("refuses an ssh-rsa host key", () => {
        expectProblems(
            mutate((r) => (r.nodes[1].sshHostKey = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7")),
            [
                [
                    "proxmox-ha:nodes[1].sshHostKey",
                    "is an ssh-rsa key: @pulumi/command 1.2.1 verifies RSA host keys only with SHA-1 signatures, which current OpenSSH refuses (every step would retry its dial and fail). Pin the host's ed25519 key: `ssh-keyscan -t ed25519 <host> | cut -d' ' -f2-`",
                ],
            ],
        );
    });
    it("refuses a repository URL with characters a shell would read", () => {
        expectProblems(
            mutate((r) => (r.zrepl = { enabled: true, apt: { url: "https://apt.example.org/$(id)" } })),
            [
                [
                    "proxmox-ha:zrepl.apt.url",
                    "must be an https URL of letters, digits and . _ ~ % + - / only (it reaches a shell), e.g. https://apt.example.org/debian",
                ],
            ],
        );
    });
});
