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
import { validateSite } from "../../components/validate";
import { SECRET_KEYS } from "../../components/schema";
import type { Site } from "../../components/model";
import { readStack } from "../../tools/lib/stack";
import {
    repairUnits,
    zreplConfigYaml,
    zreplPorts,
    type KeepRule,
} from "../../components/zrepl/config";

/** The committed reference stack as raw config, with a change applied. */
function prodSite(change: (raw: Record<string, any>) => void = () => {}): Site {
    const st = readStack("prod");
    const raw: Record<string, any> = {};
    for (const [full, text] of Object.entries(st.config)) {
        const key = full.slice(full.indexOf(":") + 1);
        if ((SECRET_KEYS as readonly string[]).includes(key)) continue;
        try {
            raw[key] = JSON.parse(text);
        } catch {
            raw[key] = text;
        }
    }
    raw.zrepl = { enabled: true };
    change(raw);
    const r = validateSite(raw);
    assert.deepEqual(r.problems, []);
    return r.site!;
}

const node = (site: Site, name: string) => site.nodes.find((n) => n.name === name)!;

const KEEP_SENDER = [
    { type: "not_replicated" },
    { type: "regex", regex: "^zrepl_", negate: true },
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
    pruning: { keep_sender: KEEP_SENDER, keep_receiver: KEEP_RECEIVER },
};
const GLOBAL = { logging: [{ type: "syslog", format: "human", level: "warn" }] };
const SNAPSHOTTING = { type: "periodic", prefix: "zrepl_", interval: "10m" };

describe("zrepl config for the reference stack", () => {
    const site = prodSite();

    it("prox1: serves its guests to prox2 and pulls prox2's into pool1/zrepl/prox2", () => {
        assert.deepEqual(parse(zreplConfigYaml(site, node(site, "prox1"))), {
            global: GLOBAL,
            jobs: [
                {
                    name: "pve_source",
                    type: "source",
                    serve: { type: "tcp", listen: "10.0.20.11:8888", listen_freebind: true, clients: { "10.0.20.12": "prox2" } },
                    filesystems: { "pool1<": true, pool1: false, "pool1/zrepl<": false },
                    snapshotting: SNAPSHOTTING,
                },
                { name: "pve_pull_prox2", ...PULL_COMMON, connect: { type: "tcp", address: "10.0.20.12:8888" }, root_fs: "pool1/zrepl/prox2" },
            ],
        });
    });

    it("prox2: does not serve the replica of vm 101 that pvesr keeps there", () => {
        assert.deepEqual(parse(zreplConfigYaml(site, node(site, "prox2"))), {
            global: GLOBAL,
            jobs: [
                {
                    name: "pve_source",
                    type: "source",
                    serve: { type: "tcp", listen: "10.0.20.12:8888", listen_freebind: true, clients: { "10.0.20.11": "prox1" } },
                    filesystems: { "pool1<": true, pool1: false, "pool1/zrepl<": false, "pool1/vm-101-disk-0": false },
                    snapshotting: SNAPSHOTTING,
                },
                { name: "pve_pull_prox1", ...PULL_COMMON, connect: { type: "tcp", address: "10.0.20.11:8888" }, root_fs: "pool1/zrepl/prox1" },
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
    it("uses node addresses without a replication VLAN, brackets IPv6, and honours port, interval, keep, rootFs and a storage dataset", () => {
        const site = prodSite((raw) => {
            raw.network = { vlans: [] };
            raw.nodes[1].address = "fd00::12";
            raw.storage = { id: "vmstore", pool: "pool1", dataset: "vmstore" };
            raw.guests[0].disks = [{ sizeGb: 32 }, { sizeGb: 8 }, { sizeGb: 8, storage: "local-zfs" }];
            raw.zrepl = { enabled: true, port: 9000, interval: "15m", keep: 5, rootFs: "pool1/copies" };
        });
        const prox2 = parse(zreplConfigYaml(site, node(site, "prox2")));
        assert.deepEqual(prox2.jobs[0].serve, { type: "tcp", listen: "[fd00::12]:9000", listen_freebind: true, clients: { "10.0.0.11": "prox1" } });
        // rootFs lies outside the storage dataset: nothing to exclude for it; vm 101's two disks on the storage are.
        assert.deepEqual(prox2.jobs[0].filesystems, {
            "pool1/vmstore<": true,
            "pool1/vmstore": false,
            "pool1/vmstore/vm-101-disk-0": false,
            "pool1/vmstore/vm-101-disk-1": false,
        });
        assert.deepEqual(prox2.jobs[0].snapshotting, { type: "periodic", prefix: "zrepl_", interval: "15m" });
        assert.equal(prox2.jobs[1].interval, "15m");
        assert.equal(prox2.jobs[1].root_fs, "pool1/copies/prox1");
        assert.deepEqual(prox2.jobs[1].pruning.keep_receiver[1], { type: "last_n", count: 5, regex: "^zrepl_" });
        const prox1 = parse(zreplConfigYaml(site, node(site, "prox1")));
        assert.deepEqual(prox1.jobs[1].connect, { type: "tcp", address: "[fd00::12]:9000" });
        assert.deepEqual(prox1.jobs[0].serve.clients, { "fd00::12": "prox2" });
    });

    it("three nodes: zrepl's documented fan-out (one source per receiver, own port, snap job prunes)", () => {
        const site = prodSite((raw) => {
            delete raw.qdevice;
            raw.nodes.push({ ...structuredClone(raw.nodes[1]), name: "prox3", address: "10.0.0.13", links: [{ address: "10.10.10.13" }, { address: "10.0.0.13" }] });
            raw.network.vlans[0].addresses.prox3 = "10.0.20.13/24";
            raw.guests.push({ vmid: 102, name: "db", node: "prox3" });
        });
        const cfg = parse(zreplConfigYaml(site, node(site, "prox2")));
        assert.deepEqual(
            cfg.jobs.map((j: any) => [j.name, j.type]),
            [["pve_snap", "snap"], ["pve_source_prox1", "source"], ["pve_source_prox3", "source"], ["pve_pull_prox1", "pull"], ["pve_pull_prox3", "pull"]],
        );
        const fsFilter = { "pool1<": true, pool1: false, "pool1/zrepl<": false, "pool1/vm-101-disk-0": false, "pool1/vm-102-disk-0": false };
        assert.deepEqual(cfg.jobs[0], {
            name: "pve_snap",
            type: "snap",
            filesystems: fsFilter,
            snapshotting: SNAPSHOTTING,
            pruning: { keep: [{ type: "regex", regex: "^zrepl_", negate: true }, { type: "last_n", count: 24, regex: "^zrepl_" }] },
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
    const sender: KeepRule[] = cfg.jobs[1].pruning.keep_sender;
    const receiver: KeepRule[] = cfg.jobs[1].pruning.keep_receiver;
    const PVE = "__replicate_101-0_1700000000__";
    const zrepl = (i: number) => `zrepl_20260101_${String(100000 + i * 1000)}_000`;

    it("the sender keeps Proxmox's replication snapshot, replicated or not, old or new", () => {
        for (const replicated of [true, false]) {
            const oldest: Snap[] = [{ name: PVE, replicated }, ...Array.from({ length: 40 }, (_, i) => ({ name: zrepl(i), replicated: true }))];
            const newest: Snap[] = [...oldest.slice(1), oldest[0]!];
            for (const snaps of [oldest, newest]) assert.ok(kept(sender, snaps).has(PVE), `replicated=${replicated}`);
        }
    });

    it("the sender keeps unreplicated zrepl snapshots and the cursor, drops replicated ones, keeps vzdump's and users'", () => {
        const snaps: Snap[] = [
            { name: zrepl(1), replicated: true },
            { name: "vzdump", replicated: true },
            { name: zrepl(2), replicated: true },
            { name: PVE, replicated: true },
            { name: zrepl(3), replicated: false },
        ];
        // The cursor (newest replicated) is PVE's snapshot here; zrepl(1) and zrepl(2) are replicated and go.
        assert.deepEqual([...kept(sender, snaps)].sort(), [PVE, "vzdump", zrepl(3)].sort());
        const cursorIsZrepl = snaps.filter((s) => s.name !== PVE);
        assert.deepEqual([...kept(sender, cursorIsZrepl)].sort(), ["vzdump", zrepl(2), zrepl(3)].sort());
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

describe("repair units", () => {
    it("run the tool for every pull job every repairInterval, logged to the journal, and pass systemd-analyze verify", () => {
        const site = prodSite((raw) => (raw.zrepl = { enabled: true, repairInterval: "30m" }));
        const u = repairUnits(site, node(site, "prox1"));
        assert.deepEqual(
            u.service.split("\n").filter((l) => /^(ExecStart|Type|StandardOutput|StandardError|SyslogIdentifier|After)=/.test(l)),
            [
                "After=zrepl.service",
                "Type=oneshot",
                "ExecStart=/usr/bin/python3 /usr/local/sbin/zrepl-repair --job pve_pull_prox2 --root-fs pool1/zrepl/prox2",
                "StandardOutput=journal",
                "StandardError=journal",
                "SyslogIdentifier=zrepl-repair",
            ],
        );
        assert.deepEqual(u.timer.split("\n").filter((l) => /^On/.test(l)), ["OnBootSec=30m", "OnUnitActiveSec=30m"]);
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "zrepl-units-"));
        try {
            fs.writeFileSync(path.join(dir, "zrepl-repair.service"), u.service);
            fs.writeFileSync(path.join(dir, "zrepl-repair.timer"), u.timer);
            const r = spawnSync("systemd-analyze", ["verify", "./zrepl-repair.timer", "./zrepl-repair.service"], { cwd: dir, encoding: "utf8" });
            assert.equal(r.status, 0, r.stderr);
            assert.equal(r.stderr, "");
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
