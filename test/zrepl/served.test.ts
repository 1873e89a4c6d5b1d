/**
 * Proves, against real ZFS (zfs-fuse) and the filter lines the generator writes
 * (components/zrepl/config.ts zreplConfigYaml), that the repair tool's served-set
 * sync (scripts/zrepl-repair.py --served-node) follows where guests are now:
 * - the guest disks below the storage dataset whose guest has no config in
 *   /etc/pve/nodes/<this node>/{qemu-server,lxc} (pmxcfs keeps a guest's config
 *   under the node that runs it: pve-cluster, PVE::Cluster / pmxcfs) are excluded
 *   from every `filesystems` filter, the generator's other keys kept, and zrepl is
 *   restarted; nothing changes and nothing restarts when the set is unchanged;
 * - a disk that changed hands since the last run (local -> replica after a
 *   failover, replica -> local after a failback) gets `zrepl zfs-abstraction
 *   release-all --fs <disk>:ok` (zrepl v0.7.0 internal/client/zfsabstractions_release.go),
 *   so zrepl does not send from a replication cursor of a history pvesr's forced
 *   receive discarded;
 * - no dataset or snapshot is touched (GUID listing before and after).
 * Does NOT prove: zrepl's own reaction (no zrepl here: `zrepl`, `systemctl` and
 * `systemd-run` are PATH fakes that record their calls), nor bookmarks — zfs-fuse
 * (pool version 23) has no `zfs bookmark` ("unrecognized command 'bookmark'"),
 * so the stale cursor itself cannot be produced here; what is proven is that its
 * release is requested for exactly the disks that changed hands.
 */
import { after, before, describe, it } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { run, zfsSandbox, type ZfsSandbox } from "../harness/zfs";
import { SCRIPTS_DIR } from "../../components/remote";
import { zreplConfigYaml } from "../../components/zrepl/config";
import { nodeOf, prodSite } from "./site";

const TOOL = path.join(SCRIPTS_DIR, "zrepl-repair.py");

const FAKES: Record<string, string> = {
    zrepl: `#!/bin/bash
printf 'zrepl %s\\n' "$*" >>"$FAKE_DIR/calls"
if [[ "$*" == "status --mode raw" ]]; then echo '{"Jobs":{"pve_pull_prox2":{"type":"pull","pull":{"Replication":null}}}}'; exit 0; fi
exit 0
`,
    systemctl: `#!/bin/bash
printf 'systemctl %s\\n' "$*" >>"$FAKE_DIR/calls"
[[ $1 == is-active ]] && exit 3
exit 0
`,
    "systemd-run": `#!/bin/bash
printf 'systemd-run %s\\n' "$*" >>"$FAKE_DIR/calls"
`,
};

let zfs: ZfsSandbox;
let pool: string;
let dir: string;
let caseNo = 0;

before(async () => {
    zfs = await zfsSandbox("zserved");
    pool = zfs.poolName("p");
    const r = zfs.zpool(["create", pool, zfs.disk("d0")]);
    assert.equal(r.code, 0, r.stderr);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "zrepl-served-"));
    fs.mkdirSync(path.join(dir, "bin"));
    for (const [name, text] of Object.entries(FAKES)) fs.writeFileSync(path.join(dir, "bin", name), text, { mode: 0o755 });
});
after(() => {
    zfs?.cleanup();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

function zfsOk(args: string[]): string {
    const r = zfs.zfs(args);
    assert.equal(r.code, 0, `zfs ${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
}

/**
 * A node "prox1" whose storage dataset holds vm-101, vm-102 and ct 103 disks, and
 * its zrepl.yml as the generator writes it for the reference site, with the
 * reference's pool1 replaced by this storage dataset.
 */
function world() {
    const c = `${dir}/c${caseNo}`;
    const storage = `${pool}/s${caseNo++}`;
    for (const ds of ["vm-101-disk-0", "vm-101-disk-1", "vm-102-disk-0", "subvol-103-disk-0"]) {
        zfsOk(["create", "-p", "-o", "mountpoint=none", `${storage}/${ds}`]);
        zfsOk(["snapshot", `${storage}/${ds}@zrepl_20260101_100000_000`]);
    }
    zfsOk(["create", "-p", "-o", "mountpoint=none", `${storage}/zrepl/prox2`]);
    const site = prodSite();
    const yaml = zreplConfigYaml(site, nodeOf(site, "prox1")).replaceAll('"pool1', `"${storage}`);
    fs.mkdirSync(path.join(c, "etc"), { recursive: true });
    const config = path.join(c, "etc", "zrepl.yml");
    fs.writeFileSync(config, yaml, { mode: 0o600 });
    const runsHere = (kind: "qemu-server" | "lxc", vmid: number, here: boolean) => {
        const d = path.join(c, "nodes", "prox1", kind);
        fs.mkdirSync(d, { recursive: true });
        const f = path.join(d, `${vmid}.conf`);
        if (here) fs.writeFileSync(f, "");
        else fs.rmSync(f, { force: true });
    };
    fs.mkdirSync(path.join(c, "nodes", "prox2", "qemu-server"), { recursive: true });
    const filters = () =>
        fs
            .readFileSync(config, "utf8")
            .split("\n")
            .filter((l) => /^\s*filesystems: /.test(l))
            .map((l) => JSON.parse(l.replace(/^\s*filesystems: /, "")) as Record<string, boolean>);
    const sync = (extra: string[] = []) => {
        fs.rmSync(path.join(dir, "calls"), { force: true });
        const r = run(
            "python3",
            [
                TOOL,
                "--served-node",
                "prox1",
                "--storage-path",
                storage,
                "--config",
                config,
                "--pve-nodes-dir",
                path.join(c, "nodes"),
                "--served-state",
                path.join(c, "state", "served.json"),
                "--job",
                "pve_pull_prox2",
                "--root-fs",
                `${storage}/zrepl/prox2`,
                ...extra,
            ],
            { env: { ...process.env, PATH: `${path.join(dir, "bin")}:${process.env.PATH}`, FAKE_DIR: dir } },
        );
        const calls = fs.existsSync(path.join(dir, "calls")) ? fs.readFileSync(path.join(dir, "calls"), "utf8").trim().split("\n") : [];
        return { ...r, calls: calls.filter((l) => l !== "zrepl status --mode raw") };
    };
    const guids = () => zfsOk(["get", "-Hp", "-r", "-o", "name,value", "guid", storage]);
    return { storage, config, runsHere, filters, sync, guids };
}

describe("served set follows where guests run (issue #18 point 2)", () => {
    it("the generator writes each filter on one line as JSON, which is what the sync rewrites", () => {
        const site = prodSite();
        const lines = zreplConfigYaml(site, nodeOf(site, "prox2"))
            .split("\n")
            .filter((l) => /^\s*filesystems: /.test(l));
        assert.equal(lines.length, 2, "snap and source jobs");
        for (const l of lines) {
            assert.deepEqual(JSON.parse(l.replace(/^\s*filesystems: /, "")), {
                "pool1<": true,
                pool1: false,
                "pool1/zrepl<": false,
                "pool1/vm-101-disk-0": false,
            });
        }
    });

    it("excludes the disks of guests running elsewhere, keeps the other keys, restarts zrepl once; a re-run changes nothing", () => {
        const w = world();
        w.runsHere("qemu-server", 101, true);
        w.runsHere("lxc", 103, true);
        const before = w.guids();
        const r = w.sync();
        assert.equal(r.code, 0, r.stderr);
        const expected = {
            [`${w.storage}<`]: true,
            [w.storage]: false,
            [`${w.storage}/zrepl<`]: false,
            [`${w.storage}/vm-102-disk-0`]: false,
        };
        assert.deepEqual(w.filters(), [expected, expected]);
        assert.deepEqual(r.calls, ["systemctl restart zrepl.service"]);
        assert.equal(fs.statSync(w.config).mode & 0o777, 0o600);
        assert.equal(w.guids(), before, "no dataset or snapshot touched");

        const again = w.sync();
        assert.equal(again.code, 0, again.stderr);
        assert.deepEqual(again.calls, []);
        assert.equal(again.stdout, "");
    });

    it("after a failover and a failback: releases zrepl's abstractions on exactly the disks that changed hands", () => {
        const w = world();
        w.runsHere("qemu-server", 101, true);
        w.runsHere("qemu-server", 102, false);
        assert.equal(w.sync().code, 0);

        // vm 101 fails over to prox2; vm 102 comes here.
        w.runsHere("qemu-server", 101, false);
        w.runsHere("qemu-server", 102, true);
        const before = w.guids();
        const r = w.sync();
        assert.equal(r.code, 0, r.stderr);
        assert.deepEqual(r.calls, [
            `zrepl zfs-abstraction release-all --fs ${w.storage}/vm-101-disk-0:ok`,
            `zrepl zfs-abstraction release-all --fs ${w.storage}/vm-101-disk-1:ok`,
            `zrepl zfs-abstraction release-all --fs ${w.storage}/vm-102-disk-0:ok`,
            "systemctl restart zrepl.service",
        ]);
        const f = w.filters()[0]!;
        assert.equal(f[`${w.storage}/vm-101-disk-0`], false);
        assert.equal(f[`${w.storage}/vm-101-disk-1`], false);
        assert.equal(f[`${w.storage}/vm-102-disk-0`], undefined, "served again");
        assert.equal(w.guids(), before);

        // Failback of vm 101: released again, served again.
        w.runsHere("qemu-server", 101, true);
        const back = w.sync();
        assert.deepEqual(back.calls.slice(0, 2), [
            `zrepl zfs-abstraction release-all --fs ${w.storage}/vm-101-disk-0:ok`,
            `zrepl zfs-abstraction release-all --fs ${w.storage}/vm-101-disk-1:ok`,
        ]);
        assert.equal(w.filters()[0]![`${w.storage}/vm-101-disk-0`], undefined);
    });

    it("--dry-run prints the plan and changes nothing", () => {
        const w = world();
        w.runsHere("qemu-server", 101, true);
        const text = fs.readFileSync(w.config, "utf8");
        const dry = w.sync(["--dry-run"]);
        assert.equal(dry.code, 0, dry.stderr);
        assert.match(dry.stdout, /plan: rewrite the filesystems filters/);
        assert.equal(fs.readFileSync(w.config, "utf8"), text);
        assert.deepEqual(dry.calls, []);
    });

    it("refuses a node name pmxcfs does not know, and a config without one-line filters, changing nothing", () => {
        const w = world();
        const unknown = run(
            "python3",
            [
                TOOL,
                "--served-node",
                "prox9",
                "--storage-path",
                w.storage,
                "--config",
                w.config,
                "--pve-nodes-dir",
                "/nonexistent",
                "--job",
                "j",
                "--root-fs",
                `${w.storage}/zrepl/prox2`,
            ],
            {
                env: { ...process.env, PATH: `${path.join(dir, "bin")}:${process.env.PATH}`, FAKE_DIR: dir },
            },
        );
        assert.equal(unknown.code, 2, "the served set fails (1); the fake status has no job j (2): the worst wins");
        assert.match(unknown.stderr, /served set: \/nonexistent has no directory prox9/);
        fs.writeFileSync(w.config, 'jobs:\n  - name: x\n    filesystems:\n      "a<": true\n');
        w.runsHere("qemu-server", 101, true);
        const r = w.sync();
        assert.equal(r.code, 1);
        assert.match(r.stderr, /no one-line filesystems filter/);
        assert.deepEqual(r.calls, []);
    });
});
