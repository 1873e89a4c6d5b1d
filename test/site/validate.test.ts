/**
 * Proves: every cross-field rule of issue #2 (numbered 1–12) and the schema's
 * key-path error format, with the exact message an operator sees; that all
 * problems of one run are reported together; that a secret written in plain
 * text is refused; that defaults are applied once into the typed Site.
 * Does not prove: how the Pulumi CLI itself hands config to the program
 * (see test/site/program.test.ts for the mock-runtime path).
 */
import { describe, it } from "node:test";
import * as assert from "node:assert/strict";
import { validateSite, type Problem } from "../../components/validate";
import { mutate, referenceRaw, type Raw } from "./fixtures";

function problems(raw: Raw, secretKeys: string[] = []): Problem[] {
    return [...validateSite(raw, new Set(secretKeys)).problems];
}

/** Asserts that exactly these problems are reported. */
function expectProblems(raw: Raw, expected: [path: string, message: string][], secretKeys: string[] = []) {
    assert.deepEqual(
        problems(raw, secretKeys).map((p) => [p.path, p.message]),
        expected,
    );
}

describe("the reference site", () => {
    it("validates with no problems and applies defaults", () => {
        const r = validateSite(referenceRaw());
        assert.deepEqual(r.problems, []);
        const site = r.site!;
        assert.equal(site.nodes[0]!.watchdog, "softdog");
        assert.equal(site.nodes[0]!.zfs.ashift, 12);
        assert.equal(site.nodes[0]!.zfs.compression, "lz4");
        assert.deepEqual(site.nodes[0]!.links, [{ address: "10.10.10.11" }]);
        assert.equal(site.replication.worstCaseRpoMinutes, 5);
        assert.deepEqual(site.guests[0]!.replicateTo, ["prox2"]);
        assert.deepEqual(site.guests[0]!.ha, {
            state: "started",
            maxRestart: 1,
            maxRelocate: 1,
            failback: true,
            nodes: { prox1: 2, prox2: 1 },
            strict: false,
        });
        assert.deepEqual(site.guests[0]!.disks, [{ slot: "scsi0", sizeGb: 32, storage: "pool1", ssd: true, discard: true }]);
        assert.equal(site.storage.zfsPath, "pool1");
        assert.equal(site.zrepl.rootFs, "pool1/zrepl");
        assert.equal(site.guests[0]!.protect, true);
    });
});

describe("rule 1: node names, addresses, links", () => {
    it("refuses a name that is not a hostname", () => {
        expectProblems(
            mutate((r) => (r.nodes[1].name = "Prox_2")),
            [["proxmox-ha:nodes[1].name", "must be a host name: lowercase letters, digits and '-' (not first or last), e.g. prox1"]],
        );
    });
    it("refuses the name reserved for the QDevice host", () => {
        expectProblems(
            mutate((r) => (r.nodes[1].name = "qnetd")),
            [["proxmox-ha:nodes[1].name", `"qnetd" is reserved for the QDevice host's steps; give the node its real host name`]],
        );
    });
    it("refuses duplicate names", () => {
        expectProblems(
            mutate((r) => (r.nodes[1].name = "prox1")),
            [["proxmox-ha:nodes[1].name", `"prox1" is already the name of nodes[0]; node names must be unique`]],
        );
    });
    it("refuses an invalid address", () => {
        expectProblems(
            mutate((r) => (r.nodes[0].address = "10.0.0.300")),
            [["proxmox-ha:nodes[0].address", "must be an IPv4 or IPv6 address, e.g. 10.0.0.11"]],
        );
    });
    it("refuses duplicate addresses", () => {
        expectProblems(
            mutate((r) => (r.nodes[1].address = "10.0.0.11")),
            [["proxmox-ha:nodes[1].address", "10.0.0.11 is already the address of prox1; node addresses must be unique"]],
        );
    });
    it("refuses different link counts", () => {
        expectProblems(
            mutate((r) => (r.nodes[1].links = ["10.10.10.12", "10.0.0.12"])),
            [
                [
                    "proxmox-ha:nodes[1].links",
                    `has 2 corosync link(s) but prox1 has 1; every node needs the same links (pvecm add refuses "link N exists in cluster config but wasn't specified for new node")`,
                ],
            ],
        );
    });
    it("refuses a link address used twice", () => {
        expectProblems(
            mutate((r) => (r.nodes[1].links = ["10.10.10.11"])),
            [["proxmox-ha:nodes[1].links[0]", "10.10.10.11 is already used by prox1 link0; corosync link addresses must be unique"]],
        );
    });
    it("accepts link objects with a priority and keeps the priority", () => {
        const r = validateSite(
            mutate((x) => x.nodes.forEach((n: any, i: number) => (n.links = [{ address: `10.10.10.1${i + 1}`, priority: 20 }]))),
        );
        assert.deepEqual(r.problems, []);
        assert.deepEqual(r.site!.nodes[1]!.links, [{ address: "10.10.10.12", priority: 20 }]);
    });
});

describe("rule 2: votes and the QDevice", () => {
    it("requires a qdevice for two nodes with HA guests", () => {
        expectProblems(
            mutate((r) => delete r.qdevice),
            [
                [
                    "proxmox-ha:qdevice",
                    "is required: a two-node cluster with HA guests loses quorum when either node fails, and HA then fences the survivor. Add qdevice: { address, sshHostKey } for a corosync-qnetd host",
                ],
            ],
        );
    });
    it("only warns for two nodes without HA guests", () => {
        const r = validateSite(
            mutate((x) => {
                delete x.qdevice;
                delete x.guests[0].ha;
            }),
        );
        assert.deepEqual(r.problems, []);
        assert.deepEqual(r.site!.warnings, [
            "proxmox-ha:qdevice: a two-node cluster without a QDevice stops (no quorum) when either node fails",
        ]);
    });
    it("refuses a qdevice on an odd node count", () => {
        expectProblems(
            mutate((r) =>
                r.nodes.push({
                    ...r.nodes[1],
                    name: "prox3",
                    address: "10.0.0.13",
                    links: ["10.10.10.13"],
                    zfs: { ...r.nodes[1].zfs, disks: ["/dev/disk/by-id/c1", "/dev/disk/by-id/c2"] },
                }),
            ),
            [
                [
                    "proxmox-ha:qdevice",
                    `a QDevice on a cluster with an odd node count (3) is refused (pvecm: "Clusters with an odd node count are not officially supported!"); remove qdevice or add a node`,
                ],
            ],
        );
    });
    it("warns that pvecm reaches the qnetd host on port 22 only", () => {
        const r = validateSite(mutate((x) => (x.qdevice.sshPort = 2222)));
        assert.deepEqual(r.problems, []);
        assert.deepEqual(r.site!.warnings, [
            "proxmox-ha:qdevice.sshPort: pvecm qdevice setup reaches the qnetd host on port 22 whatever this says (its ssh-copy-id and scp take no port); port 2222 serves proxmox-ha's own steps and the health check, so port 22 must also be open from prox1",
        ]);
    });
    it("refuses a qdevice on a node's address", () => {
        expectProblems(
            mutate((r) => (r.qdevice.address = "10.0.0.12")),
            [["proxmox-ha:qdevice.address", "10.0.0.12 belongs to node prox2; the QDevice must be a third host"]],
        );
    });
});

describe("rule 3: one pool name everywhere", () => {
    it("refuses a node whose pool differs from the storage pool", () => {
        expectProblems(
            mutate((r) => (r.nodes[1].zfs.pool = "tank")),
            [
                [
                    "proxmox-ha:nodes[1].zfs.pool",
                    `is "tank" but storage.pool is "pool1"; replication needs the same pool on every node ("storage not available on target node"): write pool: pool1`,
                ],
            ],
        );
    });
    it("puts the storage entry on pool/dataset", () => {
        const r = validateSite(mutate((x) => (x.storage.dataset = "vmstore")));
        assert.equal(r.site!.storage.zfsPath, "pool1/vmstore");
    });
});

describe("rule 4: disks and layouts", () => {
    it("refuses a mirror of one disk", () => {
        expectProblems(
            mutate((r) => (r.nodes[0].zfs.disks = ["/dev/disk/by-id/ata-A1"])),
            [["proxmox-ha:nodes[0].zfs.disks", "a mirror needs at least 2 disks, 1 given; add disks or choose another layout"]],
        );
    });
    it("refuses a raidz1 of two disks", () => {
        expectProblems(
            mutate((r) => (r.nodes[0].zfs.layout = "raidz1")),
            [["proxmox-ha:nodes[0].zfs.disks", "a raidz1 needs at least 3 disks, 2 given; add disks or choose another layout"]],
        );
    });
    it("refuses an odd raid10", () => {
        expectProblems(
            mutate((r) => {
                r.nodes[0].zfs.layout = "raid10";
                r.nodes[0].zfs.disks = [
                    "/dev/disk/by-id/a",
                    "/dev/disk/by-id/b",
                    "/dev/disk/by-id/c",
                    "/dev/disk/by-id/d",
                    "/dev/disk/by-id/e",
                ];
            }),
            [["proxmox-ha:nodes[0].zfs.disks", "raid10 needs an even number of disks, 5 given"]],
        );
    });
    it("refuses a disk listed twice", () => {
        expectProblems(
            mutate((r) => (r.nodes[0].zfs.disks = ["/dev/disk/by-id/ata-A1", "/dev/disk/by-id/ata-A1"])),
            [["proxmox-ha:nodes[0].zfs.disks[1]", "/dev/disk/by-id/ata-A1 is listed twice (also disks[0]); each disk once"]],
        );
    });
    it("refuses a relative disk path", () => {
        expectProblems(
            mutate((r) => (r.nodes[0].zfs.disks[0] = "sda")),
            [
                [
                    "proxmox-ha:nodes[0].zfs.disks[0]",
                    "must be an absolute device path such as /dev/disk/by-id/ata-SAMSUNG_MZ7LH960_S45NNA0R123456",
                ],
            ],
        );
    });
    it("warns about kernel disk names", () => {
        const r = validateSite(mutate((x) => (x.nodes[0].zfs.disks = ["/dev/sda", "/dev/nvme0n1"])));
        assert.deepEqual(r.problems, []);
        assert.deepEqual(r.site!.warnings, [
            "proxmox-ha:nodes[0].zfs.disks[0]: /dev/sda is a kernel name that can change across reboots; prefer /dev/disk/by-id/…",
            "proxmox-ha:nodes[0].zfs.disks[1]: /dev/nvme0n1 is a kernel name that can change across reboots; prefer /dev/disk/by-id/…",
        ]);
    });
});

describe("rule 5: watchdog", () => {
    it("defaults to softdog and refuses a non-module", () => {
        expectProblems(
            mutate((r) => (r.nodes[0].watchdog = "soft dog")),
            [["proxmox-ha:nodes[0].watchdog", "must be a kernel module name such as softdog, ipmi_watchdog or iTCO_wdt"]],
        );
    });
});

describe("rule 6: guests", () => {
    it("refuses duplicate vmids", () => {
        expectProblems(
            mutate((r) => r.guests.push({ vmid: 101, name: "fw2", node: "prox2", replicateTo: [] })),
            [
                [
                    "proxmox-ha:guests[1].vmid",
                    "101 is already used by guests[0]; vmids must be unique across VMs and containers (Proxmox has one id space for both): choose another vmid",
                ],
            ],
        );
    });
    it("refuses a vmid out of range", () => {
        expectProblems(
            mutate((r) => (r.guests[0].vmid = 99)),
            [["proxmox-ha:guests[0].vmid", "must be at least 100"]],
        );
    });
    it("refuses an unknown home node", () => {
        expectProblems(
            mutate((r) => (r.guests[0].node = "prox9")),
            [["proxmox-ha:guests[0].node", `"prox9" is not a node of this site (nodes: prox1, prox2)`]],
        );
    });
    it("refuses replicating to the home node and to unknown nodes", () => {
        expectProblems(
            mutate((r) => (r.guests[0].replicateTo = ["prox1", "prox9", "prox2"])),
            [
                ["proxmox-ha:guests[0].replicateTo[0]", `"prox1" is the guest's home node; list only the other nodes`],
                ["proxmox-ha:guests[0].replicateTo[1]", `"prox9" is not a node of this site (nodes: prox1, prox2)`],
            ],
        );
    });
    it("refuses replication without a disk on the replicated storage", () => {
        expectProblems(
            mutate((r) => (r.guests[0].disks = [{ sizeGb: 8, storage: "local-lvm" }])),
            [
                [
                    "proxmox-ha:guests[0].disks",
                    `no disk on the replicated storage "pool1"; pvesr would fail with "No replicatable volumes found". Put a disk on pool1 or set replicateTo: []`,
                ],
            ],
        );
    });
});

describe("rule 7: HA guests replicate wherever HA may run them", () => {
    it("refuses an HA guest not replicated to a node it may run on", () => {
        expectProblems(
            mutate((r) => (r.guests[0].replicateTo = [])),
            [
                [
                    "proxmox-ha:guests[0].replicateTo",
                    "HA may start guest 101 on prox2 but its disks are not replicated there (failover would find no disk); add prox2 to replicateTo, or make ha.nodes strict",
                ],
            ],
        );
    });
    it("accepts strict affinity to the home node alone without replicas", () => {
        const r = validateSite(
            mutate((x) => {
                x.guests[0].replicateTo = [];
                x.guests[0].ha = { nodes: { prox1: 1 }, strict: true };
            }),
        );
        assert.deepEqual(r.problems, []);
    });
});

describe("rule 8: replication schedule", () => {
    it("refuses a schedule that is not a calendar event", () => {
        expectProblems(
            mutate((r) => (r.replication.schedule = "every 5 minutes")),
            [
                [
                    "proxmox-ha:replication.schedule",
                    `"every 5 minutes" is not a Proxmox calendar event ("every" is not a weekday or weekday range (mon..sun)); write e.g. */5, */15, */2:00 or "*-*-* 02:00"`,
                ],
            ],
        );
    });
    it("computes the worst-case RPO", () => {
        for (const [spec, minutes] of [
            ["*/5", 5],
            ["*/15", 15],
            ["*/2:00", 120],
            ["*-*-* 02:00", 1440],
            ["daily", 1440],
            ["mon..fri 22:00", 3 * 1440],
            ["8..17:0/15", 14 * 60 + 15],
        ] as const) {
            const r = validateSite(mutate((x) => (x.replication.schedule = spec)));
            assert.deepEqual(r.problems, [], spec);
            assert.equal(r.site!.replication.worstCaseRpoMinutes, minutes, spec);
        }
    });
    it("refuses a schedule above the RPO target", () => {
        expectProblems(
            mutate((r) => (r.replication = { schedule: "*/15", rpoTarget: "10m" })),
            [
                [
                    "proxmox-ha:replication.schedule",
                    `"*/15" allows a worst-case RPO of 15 min, above replication.rpoTarget 10m; use a schedule such as */10`,
                ],
            ],
        );
    });
    it("refuses a schedule with gaps over a week", () => {
        expectProblems(
            mutate((r) => (r.replication.schedule = "monthly")),
            [
                [
                    "proxmox-ha:replication.schedule",
                    `"monthly" leaves up to 31 d between runs; pvesr intervals range from 1 minute to 1 week`,
                ],
            ],
        );
    });
});

describe("rule 9: VLANs, MTU, SDN ids", () => {
    it("refuses a VLAN tag out of range", () => {
        expectProblems(
            mutate((r) => (r.network = { vlans: [{ tag: 4095, interface: "eno1" }] })),
            [["proxmox-ha:network.vlans[0].tag", "must be a VLAN tag from 1 to 4094"]],
        );
    });
    it("refuses a VLAN tag twice on one node", () => {
        expectProblems(
            mutate(
                (r) =>
                    (r.network = {
                        vlans: [
                            { tag: 20, interface: "eno1" },
                            { tag: 20, interface: "eno2", nodes: ["prox2"] },
                        ],
                    }),
            ),
            [["proxmox-ha:network.vlans[1].tag", "VLAN 20 is defined twice on node prox2 (also vlans[0])"]],
        );
    });
    it("refuses a VXLAN MTU above underlay − 50", () => {
        expectProblems(
            mutate((r) => (r.network = { vxlan: { zone: "vxz1", vnet: "vnet1", tag: 100, mtu: 1351, underlayMtu: 1400 } })),
            [
                [
                    "proxmox-ha:network.vxlan.mtu",
                    "1351 is too large for an underlay MTU of 1400: VXLAN needs 50 bytes, so write mtu: 1350 or less",
                ],
            ],
        );
    });
    it("accepts 1350 on a 1400 underlay", () => {
        assert.deepEqual(
            problems(mutate((r) => (r.network = { vxlan: { zone: "vxz1", vnet: "vnet1", tag: 100, mtu: 1350, underlayMtu: 1400 } }))),
            [],
        );
    });
    it("refuses SDN ids outside 2–8 lowercase characters", () => {
        expectProblems(
            mutate((r) => (r.network = { vxlan: { zone: "VXZONE123", vnet: "v", tag: 100, mtu: 1350, underlayMtu: 1400 } })),
            [
                [
                    "proxmox-ha:network.vxlan.zone",
                    "must be 2–8 characters of a-z and 0-9 starting with a letter (Proxmox SDN id), e.g. vxz1",
                ],
                [
                    "proxmox-ha:network.vxlan.vnet",
                    "must be 2–8 characters of a-z and 0-9 starting with a letter (Proxmox SDN id), e.g. vxz1",
                ],
            ],
        );
    });
    it("refuses a bridge on a node's management address", () => {
        expectProblems(
            mutate((r) => (r.network = { bridges: [{ name: "vmbr0", ports: ["eno1"], addresses: { prox1: "10.0.0.11/24" } }] })),
            [
                [
                    "proxmox-ha:network.bridges[0].addresses.prox1",
                    "10.0.0.11/24 is prox1's management address: changing this bridge can cut Pulumi off the node. Leave vmbr0 to the installer, or set managesManagementAddress: true if you really mean it",
                ],
            ],
        );
    });
    it("derives VXLAN peers from the vxlan VLAN", () => {
        const r = validateSite(
            mutate(
                (x) =>
                    (x.network = {
                        vlans: [
                            {
                                tag: 4003,
                                interface: "bond0",
                                mtu: 1400,
                                purpose: "vxlan",
                                addresses: { prox1: "172.31.3.11/24", prox2: "172.31.3.12/24" },
                            },
                        ],
                        vxlan: { zone: "dcvx", vnet: "guests", tag: 100001, mtu: 1332, underlayMtu: 1400 },
                    }),
            ),
        );
        assert.deepEqual(r.problems, []);
        assert.deepEqual(r.site!.network.vxlan!.peers, { prox1: "172.31.3.11", prox2: "172.31.3.12" });
    });
});

describe("rule 10: resource-affinity rules", () => {
    it("refuses unknown and non-HA guests", () => {
        expectProblems(
            mutate((r) => {
                r.guests.push({ vmid: 102, name: "app", node: "prox2" });
                r.haRules = [{ id: "apart", affinity: "negative", guests: [101, 102, 103] }];
            }),
            [
                ["proxmox-ha:haRules[0].guests[1]", "guest 102 has no ha section; add ha: {} to it (rules only apply to HA resources)"],
                ["proxmox-ha:haRules[0].guests[2]", "103 is not a guest of this site"],
                [
                    "proxmox-ha:haRules[0].guests",
                    "a negative rule keeps 3 guests on different nodes but the site has 2; Proxmox would disable the rule. Keep at most 2 guests in it",
                ],
            ],
        );
    });
});

describe("rule 11: firewall", () => {
    it("refuses an enabled firewall with an empty allowlist", () => {
        expectProblems(
            mutate((r) => (r.firewall = { enabled: true, managementAllowlist: [] })),
            [
                [
                    "proxmox-ha:firewall.managementAllowlist",
                    "is empty while the firewall is enabled: you would lock yourself out of SSH and the web UI. List your management networks, e.g. [192.0.2.0/24]",
                ],
            ],
        );
    });
});

describe("rule 12: nothing that reaches a shell can carry shell syntax", () => {
    const cases: [string, (r: any) => void, string, string][] = [
        [
            "pool",
            (r) => {
                r.nodes[0].zfs.pool = "pool1;rm";
                r.nodes[1].zfs.pool = "pool1;rm";
                r.storage.pool = "pool1;rm";
            },
            "proxmox-ha:nodes[0].zfs.pool",
            "must be a ZFS pool name: a letter, then letters, digits, '_', '.', ':' or '-', e.g. pool1",
        ],
        [
            "disk",
            (r) => (r.nodes[0].zfs.disks[0] = "/dev/disk/by-id/a$(reboot)"),
            "proxmox-ha:nodes[0].zfs.disks[0]",
            "must be an absolute device path such as /dev/disk/by-id/ata-SAMSUNG_MZ7LH960_S45NNA0R123456",
        ],
        [
            "cluster name",
            (r) => (r.cluster.name = "prod`id`"),
            "proxmox-ha:cluster.name",
            "must be a cluster name of at most 15 lowercase letters, digits and '-', e.g. prod",
        ],
        [
            "host key comment",
            (r) => (r.nodes[0].sshHostKey += " root@prox1"),
            "proxmox-ha:nodes[0].sshHostKey",
            "must be a public host key '<type> <base64>' without comment, as printed by `ssh-keyscan -t ed25519 <host> | cut -d' ' -f2-`",
        ],
        [
            "dataset",
            (r) => (r.storage.dataset = "vm store"),
            "proxmox-ha:storage.dataset",
            "must be a dataset path below the pool, e.g. vmstore or data/vms",
        ],
        [
            "guest name",
            (r) => (r.guests[0].name = "fw'x"),
            "proxmox-ha:guests[0].name",
            "must be a host name: lowercase letters, digits and '-' (not first or last), e.g. prox1",
        ],
        [
            "interface",
            (r) => (r.network = { vlans: [{ tag: 5, interface: "eno1 eno2" }] }),
            "proxmox-ha:network.vlans[0].interface",
            "must be a Linux interface name of at most 15 characters, e.g. eno1 or bond0",
        ],
    ];
    for (const [what, fn, path, message] of cases) {
        it(`restricts the ${what}`, () => {
            const found = problems(mutate(fn));
            assert.deepEqual(
                found.filter((p) => p.path === path).map((p) => p.message),
                [message],
            );
        });
    }
});

describe("reporting", () => {
    it("reports all problems of one run together", () => {
        const found = problems(
            mutate((r) => {
                r.nodes[1].name = "prox1";
                r.qdevice.address = "10.0.0.11";
                r.firewall.managementAllowlist = [];
                r.replication.schedule = "bogus";
            }),
        );
        assert.deepEqual(
            found.map((p) => p.path),
            [
                "proxmox-ha:nodes[1].name",
                "proxmox-ha:qdevice.address",
                "proxmox-ha:replication.schedule",
                "proxmox-ha:firewall.managementAllowlist",
            ],
        );
    });
    it("names unknown keys, top-level and nested, with a suggestion", () => {
        expectProblems(
            mutate((r) => {
                r.guestz = [];
                r.nodes[0].zfs.pooll = "x";
            }),
            [
                [
                    "proxmox-ha:guestz",
                    "unknown key; did you mean proxmox-ha:guests? (known keys: cluster, nodes, qdevice, storage, replication, guests, haRules, network, firewall, alerts, zrepl, apiInsecure, import, example, apiNode, apiTokenRotation, apiToken, rootPassword, sshPrivateKey, sshKeyPassphrase, apiCertificate, apiCertificateKey)",
                ],
                ["proxmox-ha:nodes[0].zfs", "unknown key 'pooll'; remove or correct it"],
            ],
        );
    });
    it("names missing required sections", () => {
        expectProblems(
            mutate((r) => delete r.storage),
            [["proxmox-ha:storage", 'is required; add `proxmox-ha:storage:` to the stack file (see README, "Stack file reference")']],
        );
    });
    it("refuses a secret written in plain text", () => {
        expectProblems(
            mutate((r) => (r.rootPassword = "hunter2")),
            [
                [
                    "proxmox-ha:rootPassword",
                    "is stored in plain text; remove it and store it encrypted with `pulumi config set --secret rootPassword`",
                ],
            ],
        );
        assert.deepEqual(
            problems(
                mutate((r) => (r.rootPassword = "hunter2")),
                ["rootPassword"],
            ),
            [],
        );
    });
});
