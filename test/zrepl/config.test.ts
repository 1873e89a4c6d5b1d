/**
 * Proves: the zrepl configuration generated for the reference stack
 * (Pulumi.prod.yaml with `zrepl: { enabled: true }`), parsed back with the
 * yaml library, is exactly the intended one on both nodes: job names and
 * types, serve/connect addresses on the replication VLAN and the port,
 * client map, filesystems filters (the storage subtree minus its root, minus
 * rootFs, minus the other node's guest disks that pvesr replicates here),
 * periodic `zrepl_` snapshotting, placeholder encryption, protection, and the
 * keep rules. Evaluating the keep rules the way zrepl documents them ("a
 * snapshot that is not kept by any rule is destroyed"; prune.rst) keeps
 * Proxmox's `__replicate_101-0_1700000000__` snapshot on the sender in every
 * case and on the receiver while it is among the newest `keep`. Also: the
 * documented fan-out shape for three nodes (one source per receiver on its own
 * port plus a snap job), IPv6 addresses in brackets, rootFs outside the
 * storage not excluded twice, the repair units pass `systemd-analyze verify`,
 * and the text is byte-identical across two generations.
 * Does NOT prove: that zrepl itself accepts the file (no zrepl binary here;
 * `zrepl configcheck` runs on the node before the file goes live, see
 * scripts/zrepl-config.sh), nor how zrepl's pruner orders snapshots by
 * creation time (the evaluator below takes the list in creation order).
 */
import { describe, it } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { parse } from "yaml";
import { nodeOf, prodSite } from "./site";
import { validateSite } from "../../components/validate";
import { repairUnits, zreplConfigYaml, zreplPorts, type KeepRule } from "../../components/zrepl/config";

const node = nodeOf;

// The snap job prunes the sender: every snapshot zrepl did not make, and its newest senderKeep (144).
const KEEP_SENDER = [
    { type: "regex", regex: "^zrepl_", negate: true },
    { type: "last_n", count: 144, regex: "^zrepl_" },
];
const KEEP_RECEIVER = [
    { type: "regex", regex: "^(zrepl_|__replicate_)", negate: true },
    { type: "last_n", count: 24, regex: "^zrepl_" },
    { type: "last_n", count: 24, regex: "^__replicate_" },
];
const PULL_COMMON = {
    type: "pull",
    interval: "10m",
    recv: { placeholder: { encryption: "inherit" } },
    replication: { protection: { initial: "guarantee_incremental", incremental: "guarantee_incremental" } },
    pruning: { keep_sender: [{ type: "regex", regex: ".*" }], keep_receiver: KEEP_RECEIVER },
};
const GLOBAL = { logging: [{ type: "syslog", format: "human", level: "warn" }] };
const SNAPSHOTTING = { type: "periodic", prefix: "zrepl_", interval: "10m" };
const snapJob = (filesystems: Record<string, boolean>) => ({
    name: "pve_snap",
    type: "snap",
    filesystems,
    snapshotting: SNAPSHOTTING,
    pruning: { keep: KEEP_SENDER },
});

describe("zrepl config for the reference stack", () => {
    const site = prodSite();

    it("prox1: serves its guests to prox2 and pulls prox2's into pool1/zrepl/prox2", () => {
        assert.deepEqual(parse(zreplConfigYaml(site, node(site, "prox1"))), {
            global: GLOBAL,
            jobs: [
                snapJob({ "pool1<": true, pool1: false, "pool1/zrepl<": false }),
                {
                    name: "pve_source",
                    type: "source",
                    serve: { type: "tcp", listen: "10.0.20.11:8888", listen_freebind: true, clients: { "10.0.20.12": "prox2" } },
                    filesystems: { "pool1<": true, pool1: false, "pool1/zrepl<": false },
                    snapshotting: { type: "manual" },
                },
                {
                    name: "pve_pull_prox2",
                    ...PULL_COMMON,
                    connect: { type: "tcp", address: "10.0.20.12:8888" },
                    root_fs: "pool1/zrepl/prox2",
                },
            ],
        });
    });

    it("prox2: does not serve the replica of vm 101 that pvesr keeps there", () => {
        assert.deepEqual(parse(zreplConfigYaml(site, node(site, "prox2"))), {
            global: GLOBAL,
            jobs: [
                snapJob({ "pool1<": true, pool1: false, "pool1/zrepl<": false, "pool1/vm-101-disk-0": false }),
                {
                    name: "pve_source",
                    type: "source",
                    serve: { type: "tcp", listen: "10.0.20.12:8888", listen_freebind: true, clients: { "10.0.20.11": "prox1" } },
                    filesystems: { "pool1<": true, pool1: false, "pool1/zrepl<": false, "pool1/vm-101-disk-0": false },
                    snapshotting: { type: "manual" },
                },
                {
                    name: "pve_pull_prox1",
                    ...PULL_COMMON,
                    connect: { type: "tcp", address: "10.0.20.11:8888" },
                    root_fs: "pool1/zrepl/prox1",
                },
            ],
        });
    });

    it("starts with a do-not-edit comment and is identical on every generation", () => {
        const text = zreplConfigYaml(site, node(site, "prox1"));
        assert.match(text, /^# Generated by proxmox-ha from the Pulumi stack; changes made here are overwritten\.\n/);
        assert.equal(zreplConfigYaml(prodSite(), node(prodSite(), "prox1")), text);
        assert.deepEqual(zreplPorts(site), [8888]);
    });
});

describe("zrepl config variants", () => {
    it("uses node addresses without a replication VLAN, brackets IPv6, and honours port, interval, keep, senderKeep, rateMBps, rootFs and a storage dataset", () => {
        const site = prodSite((raw) => {
            raw.network = { vlans: [] };
            raw.nodes[1].address = "fd00::12";
            raw.storage = { id: "vmstore", pool: "pool1", dataset: "vmstore" };
            raw.guests[0].disks = [{ sizeGb: 32 }, { sizeGb: 8 }, { sizeGb: 8, storage: "local-zfs" }];
            raw.zrepl = { enabled: true, port: 9000, interval: "15m", keep: 5, senderKeep: 12, rateMBps: 40.5, rootFs: "pool1/copies" };
        });
        const prox2 = parse(zreplConfigYaml(site, node(site, "prox2")));
        assert.deepEqual(prox2.jobs[0].snapshotting, { type: "periodic", prefix: "zrepl_", interval: "15m" });
        assert.deepEqual(prox2.jobs[0].pruning.keep[1], { type: "last_n", count: 12, regex: "^zrepl_" });
        prox2.jobs.shift();
        assert.deepEqual(prox2.jobs[1].recv, { placeholder: { encryption: "inherit" }, bandwidth_limit: { max: "40.5 MiB" } });
        assert.deepEqual(prox2.jobs[0].serve, {
            type: "tcp",
            listen: "[fd00::12]:9000",
            listen_freebind: true,
            clients: { "10.0.0.11": "prox1" },
        });
        // rootFs lies outside the storage dataset: nothing to exclude for it; vm 101's two disks on the storage are.
        assert.deepEqual(prox2.jobs[0].filesystems, {
            "pool1/vmstore<": true,
            "pool1/vmstore": false,
            "pool1/vmstore/vm-101-disk-0": false,
            "pool1/vmstore/vm-101-disk-1": false,
        });
        assert.deepEqual(prox2.jobs[0].snapshotting, { type: "manual" });
        assert.equal(prox2.jobs[1].interval, "15m");
        assert.equal(prox2.jobs[1].root_fs, "pool1/copies/prox1");
        assert.deepEqual(prox2.jobs[1].pruning.keep_receiver[1], { type: "last_n", count: 5, regex: "^zrepl_" });
        const prox1 = parse(zreplConfigYaml(site, node(site, "prox1")));
        prox1.jobs.shift();
        assert.deepEqual(prox1.jobs[1].connect, { type: "tcp", address: "[fd00::12]:9000" });
        assert.deepEqual(prox1.jobs[0].serve.clients, { "fd00::12": "prox2" });
    });

    it("three nodes: zrepl's documented fan-out (one source per receiver, own port, snap job prunes)", () => {
        const site = prodSite((raw) => {
            delete raw.qdevice;
            raw.nodes.push({
                ...structuredClone(raw.nodes[1]),
                name: "prox3",
                address: "10.0.0.13",
                links: [{ address: "10.10.10.13" }, { address: "10.0.0.13" }],
            });
            raw.network.vlans[0].addresses.prox3 = "10.0.20.13/24";
            raw.guests.push({ vmid: 102, name: "db", node: "prox3" });
        });
        const cfg = parse(zreplConfigYaml(site, node(site, "prox2")));
        assert.deepEqual(
            cfg.jobs.map((j: any) => [j.name, j.type]),
            [
                ["pve_snap", "snap"],
                ["pve_source_prox1", "source"],
                ["pve_source_prox3", "source"],
                ["pve_pull_prox1", "pull"],
                ["pve_pull_prox3", "pull"],
            ],
        );
        const fsFilter = {
            "pool1<": true,
            pool1: false,
            "pool1/zrepl<": false,
            "pool1/vm-101-disk-0": false,
            "pool1/vm-102-disk-0": false,
        };
        assert.deepEqual(cfg.jobs[0], {
            name: "pve_snap",
            type: "snap",
            filesystems: fsFilter,
            snapshotting: SNAPSHOTTING,
            pruning: { keep: KEEP_SENDER },
        });
        assert.deepEqual(cfg.jobs[1], {
            name: "pve_source_prox1",
            type: "source",
            serve: { type: "tcp", listen: "10.0.20.12:8888", listen_freebind: true, clients: { "10.0.20.11": "prox1" } },
            filesystems: fsFilter,
            snapshotting: { type: "manual" },
        });
        assert.equal(cfg.jobs[2].serve.listen, "10.0.20.12:8890");
        // prox2 (index 1) pulls from each peer's source for prox2: port + 1.
        assert.deepEqual(cfg.jobs[3].connect, { type: "tcp", address: "10.0.20.11:8889" });
        assert.deepEqual(cfg.jobs[4].connect, { type: "tcp", address: "10.0.20.13:8889" });
        assert.deepEqual(cfg.jobs[3].pruning.keep_sender, [{ type: "regex", regex: ".*" }]);
        assert.deepEqual(zreplPorts(site), [8888, 8889, 8890]);
    });
});

// ---------- keep rules, evaluated as zrepl documents them (prune.rst) ----------

interface Snap {
    name: string;
    replicated: boolean;
}

/** Names of the snapshots kept: a snapshot is kept when any rule keeps it. `snaps` is oldest first. */
function kept(rules: readonly KeepRule[], snaps: readonly Snap[]): Set<string> {
    const keep = new Set<string>();
    for (const rule of rules) {
        if (rule.type === "not_replicated") {
            for (const s of snaps) if (!s.replicated) keep.add(s.name);
            // keep_snapshot_at_cursor (default true): the snapshot at the cursor, the newest
            // replicated one, counts as not replicated (internal/daemon/pruner/pruner.go).
            const cursor = [...snaps].reverse().find((s) => s.replicated);
            if (cursor) keep.add(cursor.name);
        } else if (rule.type === "regex") {
            const re = new RegExp(rule.regex);
            for (const s of snaps) if (re.test(s.name) !== (rule.negate ?? false)) keep.add(s.name);
        } else {
            const re = new RegExp(rule.regex ?? ".*");
            const matching = snaps.filter((s) => re.test(s.name));
            for (const s of matching.slice(Math.max(0, matching.length - rule.count))) keep.add(s.name);
        }
    }
    return keep;
}

describe("keep rules", () => {
    const site = prodSite();
    const cfg = parse(zreplConfigYaml(site, node(site, "prox1")));
    const sender: KeepRule[] = cfg.jobs[0].pruning.keep;
    const receiver: KeepRule[] = cfg.jobs[2].pruning.keep_receiver;
    assert.equal(cfg.jobs[0].name, "pve_snap");
    assert.deepEqual(cfg.jobs[2].pruning.keep_sender, [{ type: "regex", regex: ".*" }], "the pull job leaves the sender to the snap job");
    const PVE = "__replicate_101-0_1700000000__";
    const zrepl = (i: number) => `zrepl_20260101_${String(100000 + i * 1000)}_000`;

    it("the sender keeps Proxmox's replication snapshot, replicated or not, old or new", () => {
        for (const replicated of [true, false]) {
            const oldest: Snap[] = [
                { name: PVE, replicated },
                ...Array.from({ length: 40 }, (_, i) => ({ name: zrepl(i), replicated: true })),
            ];
            const newest: Snap[] = [...oldest.slice(1), oldest[0]!];
            for (const snaps of [oldest, newest]) assert.ok(kept(sender, snaps).has(PVE), `replicated=${replicated}`);
        }
    });

    it("the sender keeps vzdump's and users' snapshots and the newest 144 zrepl ones, replicated or not: a capped pile while a peer is away", () => {
        // A peer away for two days at the 10-minute interval: 288 unreplicated zrepl snapshots.
        const away: Snap[] = [
            { name: "vzdump", replicated: true },
            { name: PVE, replicated: true },
            ...Array.from({ length: 288 }, (_, i) => ({ name: zrepl(i), replicated: false })),
        ];
        const k = kept(sender, away);
        assert.equal([...k].filter((n) => n.startsWith("zrepl_")).length, 144);
        assert.ok(k.has("vzdump") && k.has(PVE) && k.has(zrepl(287)) && !k.has(zrepl(143)));
        // Before the cap: nothing the peer has not received is pruned.
        const brief: Snap[] = away.slice(0, 2 + 100);
        assert.equal([...kept(sender, brief)].filter((n) => n.startsWith("zrepl_")).length, 100);
    });

    it("the receiver keeps the newest 24 zrepl and 24 pvesr snapshots and every other one", () => {
        const snaps: Snap[] = [
            { name: "before-upgrade", replicated: true },
            ...Array.from({ length: 30 }, (_, i) => ({ name: `__replicate_101-0_${1700000000 + i * 300}__`, replicated: true })),
            ...Array.from({ length: 30 }, (_, i) => ({ name: zrepl(i), replicated: true })),
            { name: PVE.replace("1700000000", "1800000000"), replicated: true },
        ];
        const k = kept(receiver, snaps);
        assert.ok(k.has("before-upgrade"));
        assert.equal([...k].filter((n) => n.startsWith("zrepl_")).length, 24);
        assert.equal([...k].filter((n) => n.startsWith("__replicate_")).length, 24);
        assert.ok(k.has(zrepl(29)) && !k.has(zrepl(5)));
        assert.ok(k.has(PVE.replace("1700000000", "1800000000")));
        assert.ok(kept(receiver, [{ name: PVE, replicated: true }]).has(PVE));
    });
});

describe("the attic (zrepl.attic)", () => {
    const problems = (attic: string) => {
        let raw: Record<string, any> = {};
        prodSite((r) => (raw = structuredClone(r)));
        raw.zrepl = { enabled: true, attic };
        return validateSite(raw).problems.map((p) => `${p.path}: ${p.message}`);
    };

    it("is passed to the repair tool when set, and absent otherwise", () => {
        const withAttic = repairUnits(
            prodSite((raw) => (raw.zrepl = { enabled: true, attic: "pool1/zrepl-attic" })),
            node(prodSite(), "prox1"),
        );
        assert.match(
            withAttic.service,
            /^ExecStart=.* --served-node prox1 --storage-path pool1 --job pve_pull_prox2 --root-fs pool1\/zrepl\/prox2 --attic pool1\/zrepl-attic$/m,
        );
        assert.doesNotMatch(repairUnits(prodSite(), node(prodSite(), "prox1")).service, /--attic/);
    });

    it("must be in the storage pool, outside zrepl's receive root and not above it", () => {
        assert.deepEqual(problems("pool1/zrepl-attic"), []);
        assert.deepEqual(problems("tank/attic"), [
            "proxmox-ha:zrepl.attic: must be inside the pool pool1 (a copy is renamed there, and ZFS renames only within a pool), e.g. pool1/zrepl-attic",
        ]);
        for (const bad of ["pool1/zrepl/attic", "pool1/zrepl"]) {
            assert.deepEqual(problems(bad), [
                "proxmox-ha:zrepl.attic: must lie outside pool1/zrepl (zrepl's receive root) and not contain it, e.g. pool1/zrepl-attic",
            ]);
        }
    });
});

describe("repair units", () => {
    it("run the tool for every pull job every repairInterval, logged to the journal, and pass systemd-analyze verify", () => {
        const site = prodSite((raw) => (raw.zrepl = { enabled: true, repairInterval: "30m" }));
        const u = repairUnits(site, node(site, "prox1"));
        assert.deepEqual(
            u.service.split("\n").filter((l) => /^(ExecStart|Type|StandardOutput|StandardError|SyslogIdentifier|After)=/.test(l)),
            [
                "After=zrepl.service",
                "Type=oneshot",
                "ExecStart=/usr/bin/python3 /usr/local/sbin/zrepl-repair --served-node prox1 --storage-path pool1 --job pve_pull_prox2 --root-fs pool1/zrepl/prox2",
                "StandardOutput=journal",
                "StandardError=journal",
                "SyslogIdentifier=zrepl-repair",
            ],
        );
        assert.deepEqual(
            u.timer.split("\n").filter((l) => /^On/.test(l)),
            ["OnBootSec=30m", "OnUnitActiveSec=30m"],
        );
        // Three nodes: both pull jobs in one invocation (a oneshot unit would stop at a failing first line).
        const three = prodSite((raw) => {
            delete raw.qdevice;
            raw.nodes.push({
                ...structuredClone(raw.nodes[1]),
                name: "prox3",
                address: "10.0.0.13",
                links: [{ address: "10.10.10.13" }, { address: "10.0.0.13" }],
            });
        });
        assert.deepEqual(
            repairUnits(three, node(three, "prox3"))
                .service.split("\n")
                .filter((l) => l.startsWith("ExecStart=")),
            [
                "ExecStart=/usr/bin/python3 /usr/local/sbin/zrepl-repair --served-node prox3 --storage-path pool1 --job pve_pull_prox1 --root-fs pool1/zrepl/prox1 --job pve_pull_prox2 --root-fs pool1/zrepl/prox2",
            ],
        );
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "zrepl-units-"));
        try {
            fs.writeFileSync(path.join(dir, "zrepl-repair.service"), u.service);
            fs.writeFileSync(path.join(dir, "zrepl-repair.timer"), u.timer);
            const r = spawnSync("systemd-analyze", ["verify", "./zrepl-repair.timer", "./zrepl-repair.service"], {
                cwd: dir,
                encoding: "utf8",
            });
            assert.equal(r.status, 0, r.stderr);
            assert.equal(r.stderr, "");
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
