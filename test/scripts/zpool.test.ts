/**
 * scripts/zpool.sh against real ZFS (zfs-fuse, file-backed vdevs), run exactly
 * as the component ships it (`scriptInvocation`, executed by bash).
 *
 * Proves: a pool and dataset are created on empty disks with the requested
 * layout and compression; a re-run adopts the pool and runs no mutating zpool/zfs
 * command; adopting a pool whose compression was never set (a run that stopped
 * right after `zpool create`) sets it, an explicitly chosen one is kept; a file in the dataset survives every re-run and every refusal;
 * disks with an ext4 filesystem, a partition table (sfdisk), or that belong
 * to an exported pool are refused with the disk and the finding named, and are
 * byte-for-byte unchanged afterwards; a pool of the same name importable from
 * other disks is refused; an existing pool with another layout (type, disks or
 * raid10 grouping) is refused with a diff and left as it was; symlinked disk
 * paths (as /dev/disk/by-id) compare equal to their targets; argument errors
 * are refused before anything runs; the script never calls `zpool create -f`,
 * destroy, export or import of a pool (a PATH shim logs every zpool/zfs call);
 * `systemctl enable zfs-import@<escaped pool>.service` is issued once.
 *
 * Does NOT prove: behaviour of real OpenZFS (zfs-fuse is pool version 23: no
 * lz4, no `zpool status -P`, so tests use compression "on" and the script's
 * fallback to plain `zpool status`); block-device-only checks (partitions
 * under /sys/class/block, holders, whole-disk partition 1 mapping) because
 * the vdevs are files; the refusal of a dataset path that exists as a volume
 * (zfs-fuse has no zvols); the real systemd (a stateful fake systemctl follows
 * its documented is-enabled/enable exit codes).
 */
import { after, before, test } from "node:test";
import * as assert from "node:assert/strict";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { run } from "../harness/zfs";
import { zfsSandbox, type ZfsSandbox } from "../harness/zfs";
import { loggingShim, runScript, tempDir } from "./lib";

let zfs: ZfsSandbox;
let shimDir: string;
let callLog: string;
let cleanTemp: () => void;

before(async () => {
    zfs = await zfsSandbox("zpool");
    const t = tempDir("zpool-shims");
    cleanTemp = t.cleanup;
    shimDir = path.join(t.dir, "bin");
    callLog = path.join(t.dir, "calls.log");
    loggingShim(shimDir, "zpool", callLog);
    loggingShim(shimDir, "zfs", callLog);
});

after(() => {
    zfs?.cleanup();
    cleanTemp?.();
});

function calls(): string[] {
    return fs.existsSync(callLog) ? fs.readFileSync(callLog, "utf8").split("\n").filter(Boolean) : [];
}

const MUTATING =
    /^zpool (create|destroy|export|add|attach|detach|replace|labelclear|split|remove|offline|online|clear|upgrade|set|reguid)\b|^zfs (create|destroy|set|rename|mount|umount|unmount|inherit|promote|rollback|snapshot|receive|recv)\b/;

/** Runs zpool.sh; returns the result plus the zpool/zfs calls it made. */
function zpoolSh(pool: string, layout: string, dataset: string, disks: string[], compression = "on") {
    const before = calls().length;
    const r = runScript("zpool", [pool, layout, 12, compression, dataset, ...disks], { pathPrefix: [shimDir] });
    return { ...r, calls: calls().slice(before) };
}

function sha(file: string): string {
    return crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");
}

function status(pool: string): string {
    return zfs.zpool(["status", pool]).stdout;
}

function mountpoint(ds: string): string {
    return zfs.zfs(["get", "-H", "-o", "value", "mountpoint", ds]).stdout.trim();
}

test("creates a mirror and its dataset on empty disks; re-runs adopt it, change nothing, and keep the data", () => {
    const pool = zfs.poolName("m1");
    const a = zfs.disk("m1a");
    const b = zfs.disk("m1b");
    const first = zpoolSh(pool, "mirror", "vmstore", [a, b]);
    assert.equal(first.code, 0, first.stderr);
    assert.deepEqual(first.lines, [
        { pool, action: "created" },
        { dataset: `${pool}/vmstore`, action: "created" },
    ]);
    assert.equal(first.stderr, "", "quiet on success");
    assert.ok(first.calls.includes(`zpool create -o ashift=12 ${pool} mirror ${a} ${b}`), first.calls.join("\n"));
    assert.match(status(pool), new RegExp(`mirror-0 +ONLINE[\\s\\S]*${a} +ONLINE[\\s\\S]*${b} +ONLINE`));
    assert.equal(zfs.zfs(["get", "-H", "-o", "value,source", "compression", pool]).stdout.trim(), "on\tlocal");

    const file = path.join(mountpoint(`${pool}/vmstore`), "guest-data.txt");
    fs.writeFileSync(file, "precious bytes\n");

    for (const disks of [
        [a, b],
        [b, a],
    ]) {
        const again = zpoolSh(pool, "mirror", "vmstore", disks);
        assert.equal(again.code, 0, again.stderr);
        assert.deepEqual(again.lines, [
            { pool, action: "adopted" },
            { dataset: `${pool}/vmstore`, action: "exists" },
        ]);
        assert.deepEqual(
            again.calls.filter((c) => MUTATING.test(c)),
            [],
            "a re-run is read-only",
        );
        assert.equal(fs.readFileSync(file, "utf8"), "precious bytes\n");
    }
});

test("adopting finishes a run that stopped after zpool create (compression unset), but keeps an explicit choice", () => {
    const unset = zfs.poolName("half");
    const a = zfs.disk("halfa");
    const b = zfs.disk("halfb");
    assert.equal(zfs.zpool(["create", "-o", "ashift=12", unset, "mirror", a, b]).code, 0);
    assert.equal(zfs.zfs(["get", "-H", "-o", "value,source", "compression", unset]).stdout.trim(), "off\tdefault");
    const r = zpoolSh(unset, "mirror", "", [a, b]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.lines, [{ pool: unset, action: "adopted" }]);
    assert.deepEqual(
        r.calls.filter((c) => MUTATING.test(c)),
        [`zfs set compression=on ${unset}`],
    );
    assert.equal(zfs.zfs(["get", "-H", "-o", "value,source", "compression", unset]).stdout.trim(), "on\tlocal");

    const chosen = zfs.poolName("chosen");
    const c = zfs.disk("chosena");
    assert.equal(zfs.zpool(["create", chosen, c]).code, 0);
    assert.equal(zfs.zfs(["set", "compression=gzip", chosen]).code, 0);
    const kept = zpoolSh(chosen, "single", "", [c]);
    assert.equal(kept.code, 0, kept.stderr);
    assert.deepEqual(
        kept.calls.filter((x) => MUTATING.test(x)),
        [],
    );
    assert.equal(zfs.zfs(["get", "-H", "-o", "value", "compression", chosen]).stdout.trim(), "gzip");
});

test("an existing pool with a different layout is refused with a diff and left as it was", () => {
    const pool = zfs.poolName("rz");
    const [a, b, c, d] = ["rza", "rzb", "rzc", "rzd"].map((t) => zfs.disk(t)) as [string, string, string, string];
    assert.equal(zfs.zpool(["create", pool, "raidz", a, b, c]).code, 0);
    assert.equal(zfs.zfs(["create", `${pool}/vm`]).code, 0);
    const file = path.join(mountpoint(`${pool}/vm`), "keep.txt");
    fs.writeFileSync(file, "raidz data\n");
    const statusBefore = status(pool);

    const wrongType = zpoolSh(pool, "mirror", "vm", [a, b]);
    assert.equal(wrongType.code, 1);
    assert.equal(wrongType.stdout, "");
    assert.match(wrongType.stderr, /^zpool\.sh: pool '.*' exists but does not match the stack; nothing changed: /);
    assert.match(wrongType.stderr, new RegExp(`the stack wants mirror of \\[${a} ${b}\\], the pool is raidz1: raidz1\\(${a} ${b} ${c}\\)`));
    assert.match(wrongType.stderr, new RegExp(`disks only in the pool: ${c}; disks only in the stack: none`));
    assert.equal(wrongType.stderr.trim().split("\n").length, 1, "one line");

    const wrongDisk = zpoolSh(pool, "raidz1", "vm", [a, b, d]);
    assert.equal(wrongDisk.code, 1);
    assert.match(wrongDisk.stderr, new RegExp(`disks only in the pool: ${c}; disks only in the stack: ${d}`));

    for (const r of [wrongType, wrongDisk])
        assert.deepEqual(
            r.calls.filter((x) => MUTATING.test(x)),
            [],
        );
    assert.equal(status(pool), statusBefore);
    assert.equal(fs.readFileSync(file, "utf8"), "raidz data\n");
    assert.equal(zfs.zpool(["list", "-H", "-o", "name", pool]).code, 0);

    // The matching request adopts it, and the data is still there.
    const right = zpoolSh(pool, "raidz1", "vm", [c, a, b]);
    assert.equal(right.code, 0, right.stderr);
    assert.deepEqual(right.lines, [
        { pool, action: "adopted" },
        { dataset: `${pool}/vm`, action: "exists" },
    ]);
    assert.equal(fs.readFileSync(file, "utf8"), "raidz data\n");
});

test("raid10 pairs consecutive disks like PVE; the same disks grouped differently are refused", () => {
    const pool = zfs.poolName("r10");
    const [a, b, c, d] = ["r10a", "r10b", "r10c", "r10d"].map((t) => zfs.disk(t)) as [string, string, string, string];
    const created = zpoolSh(pool, "raid10", "", [a, b, c, d]);
    assert.equal(created.code, 0, created.stderr);
    assert.deepEqual(created.lines, [{ pool, action: "created" }]);
    assert.ok(created.calls.includes(`zpool create -o ashift=12 ${pool} mirror ${a} ${b} mirror ${c} ${d}`), created.calls.join("\n"));

    const swapped = zpoolSh(pool, "raid10", "", [c, d, b, a]);
    assert.equal(swapped.code, 0, swapped.stderr);
    assert.deepEqual(swapped.lines, [{ pool, action: "adopted" }]);

    const regrouped = zpoolSh(pool, "raid10", "", [a, c, b, d]);
    assert.equal(regrouped.code, 1);
    assert.match(regrouped.stderr, /the pool is raid10 with the disks grouped differently/);
    assert.match(regrouped.stderr, new RegExp(`mirror\\(${a} ${b}\\) mirror\\(${c} ${d}\\)`));
});

function refusedUnchanged(pool: string, disks: string[], r: ReturnType<typeof zpoolSh>, hashes: string[]): void {
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, new RegExp(`^zpool\\.sh: refusing to create pool '${pool}'; nothing changed: `));
    assert.equal(r.stderr.trim().split("\n").length, 1, "one line");
    assert.deepEqual(
        r.calls.filter((c) => MUTATING.test(c)),
        [],
        "no zpool/zfs command that changes anything ran",
    );
    assert.notEqual(zfs.zpool(["list", "-H", "-o", "name", pool]).code, 0, "no pool was created");
    assert.deepEqual(disks.map(sha), hashes, "every disk is byte-for-byte unchanged");
}

test("a disk with an ext4 filesystem is refused, naming the disk and the filesystem", () => {
    const pool = zfs.poolName("ext");
    const fsDisk = zfs.disk("ext4disk");
    const empty = zfs.disk("extempty");
    assert.equal(run("mkfs.ext4", ["-q", "-F", fsDisk]).code, 0);
    const hashes = [fsDisk, empty].map(sha);
    const r = zpoolSh(pool, "mirror", "", [empty, fsDisk]);
    refusedUnchanged(pool, [fsDisk, empty], r, hashes);
    assert.match(r.stderr, new RegExp(`disk ${fsDisk} has a signature "ext4" \\(blkid -p\\), has signatures ext4 \\(wipefs -n\\)`));
    assert.doesNotMatch(r.stderr, new RegExp(`disk ${empty} `), "the empty disk is not blamed");
});

test("a disk with a partition table is refused, naming the disk and the table", () => {
    const pool = zfs.poolName("pt");
    const parted = zfs.disk("ptdisk");
    const empty = zfs.disk("ptempty");
    assert.equal(run("sfdisk", ["-q", parted], { input: "label: gpt\n,,L\n" }).code, 0);
    const hashes = [parted, empty].map(sha);
    const r = zpoolSh(pool, "mirror", "", [parted, empty]);
    refusedUnchanged(pool, [parted, empty], r, hashes);
    assert.match(
        r.stderr,
        new RegExp(`disk ${parted} has a partition table "gpt" \\(blkid -p\\), has signatures gpt,PMBR \\(wipefs -n\\)`),
    );
});

test("a disk of an exported pool is refused, naming the disk and the pool; the exported pool stays importable", () => {
    const old = zfs.poolName("old");
    const member = zfs.disk("oldmember");
    const other = zfs.disk("oldother");
    assert.equal(zfs.zpool(["create", old, member]).code, 0);
    assert.equal(zfs.zpool(["export", old]).code, 0);
    const hashes = [member, other].map(sha);

    const pool = zfs.poolName("new");
    const r = zpoolSh(pool, "mirror", "", [member, other]);
    refusedUnchanged(pool, [member, other], r, hashes);
    assert.match(r.stderr, new RegExp(`disk ${member} belongs to exported pool '${old}' \\(id [0-9]+, state ONLINE\\)`));
    assert.match(r.stderr, new RegExp(`has a signature "zfs_member" labelled "${old}" \\(blkid -p\\)`));
    assert.match(zfs.zpool(["import", "-d", zfs.dir]).stdout, new RegExp(`pool: ${old}\\b`), "still importable");

    // Asking for the exported pool's name on fresh disks is refused as well: import it instead.
    const fresh = [zfs.disk("fresh1"), zfs.disk("fresh2")];
    const freshHashes = fresh.map(sha);
    const same = zpoolSh(old, "mirror", "", fresh);
    refusedUnchanged(old, fresh, same, freshHashes);
    assert.match(
        same.stderr,
        new RegExp(`a pool named '${old}' is importable from other disks: import it with 'zpool import ${old}' and re-run to adopt it`),
    );
});

/**
 * A pool last imported by another host: `zpool import` lists it with
 * "status: The pool was last accessed by another system." and an action that
 * asks for '-f' (OpenZFS cmd/zpool/zpool_main.c show_import,
 * ZPOOL_STATUS_HOSTID_MISMATCH; a plain `zpool import <pool>` then fails with
 * "pool was previously in use from another system"). zfs-fuse has one hostid,
 * so a shim in front of the logging one adds those lines to the real listing.
 */
const FOREIGN_ZPOOL = (logging: string) =>
    String.raw`#!/bin/bash
if [[ "$*" =~ ^import( -D)?( -d [^ ]+)?$ ]]; then
  out=$(LOGGING "$@"); rc=$?
  awk '{
    if ($0 ~ /^ *state: /) { print; print "status: The pool was last accessed by another system."; next }
    if ($0 ~ /action: The pool can be imported using its name or numeric identifier\.$/) {
      sub(/identifier\.$/, "identifier and"); print; print "	the '"'"'-f'"'"' flag."; next }
    print }' <<<"$out"
  exit $rc
fi
exec LOGGING "$@"
`.replaceAll("LOGGING", JSON.stringify(logging));

test("a pool of the same name last imported by another host: the advice says 'zpool import -f' (issue #11 point 13)", () => {
    const old = zfs.poolName("foreign");
    const member = zfs.disk("foreignmember");
    assert.equal(zfs.zpool(["create", old, member]).code, 0);
    assert.equal(zfs.zpool(["export", old]).code, 0);
    const foreignDir = path.join(path.dirname(shimDir), "foreign-bin");
    fs.mkdirSync(foreignDir, { recursive: true });
    fs.writeFileSync(path.join(foreignDir, "zpool"), FOREIGN_ZPOOL(path.join(shimDir, "zpool")), { mode: 0o755 });
    const fresh = [zfs.disk("foreignfresh1"), zfs.disk("foreignfresh2")];
    const hashes = fresh.map(sha);
    const before = calls().length;
    const run = runScript("zpool", [old, "mirror", 12, "on", "", ...fresh], { pathPrefix: [foreignDir, shimDir] });
    const r = { ...run, calls: calls().slice(before) };
    refusedUnchanged(old, fresh, r, hashes);
    // Before the fix: "import it with 'zpool import <pool>'", which fails for such a pool.
    assert.match(
        r.stderr,
        new RegExp(
            `a pool named '${old}' is importable from other disks, last imported by another host: make sure that host no longer uses it, import it with 'zpool import -f ${old}' and re-run to adopt it`,
        ),
    );
});

test("disk paths through symlinks (like /dev/disk/by-id) compare equal to their targets", () => {
    const pool = zfs.poolName("link");
    const a = zfs.disk("linka");
    const b = zfs.disk("linkb");
    const byId = path.join(zfs.dir, "by-id");
    fs.mkdirSync(byId);
    const la = path.join(byId, "ata-FAKE_SERIAL_A");
    const lb = path.join(byId, "ata-FAKE_SERIAL_B");
    fs.symlinkSync(a, la);
    fs.symlinkSync(b, lb);

    const created = zpoolSh(pool, "mirror", "", [la, lb]);
    assert.equal(created.code, 0, created.stderr);
    assert.ok(created.calls.includes(`zpool create -o ashift=12 ${pool} mirror ${la} ${lb}`), "creates with the stable names, as PVE does");
    for (const disks of [
        [a, b],
        [lb, a],
    ]) {
        const r = zpoolSh(pool, "mirror", "", disks);
        assert.equal(r.code, 0, r.stderr);
        assert.deepEqual(r.lines, [{ pool, action: "adopted" }]);
    }
    const dup = zpoolSh(zfs.poolName("dup"), "mirror", "", [a, la]);
    assert.equal(dup.code, 1);
    assert.equal(dup.stderr.trim(), `zpool.sh: disks '${a}' and '${la}' are the same device (${a})`);
});

test("argument errors are refused before any zpool/zfs command runs", () => {
    const a = zfs.disk("arga");
    const b = zfs.disk("argb");
    const cases: [string[], RegExp][] = [
        [[zfs.poolName("x"), "single", "12", "on", "", a, b], /single needs exactly one disk, got 2/],
        [[zfs.poolName("x"), "raid10", "12", "on", "", a, b], /raid10 needs an even number of disks, at least 4, got 2/],
        [[zfs.poolName("x"), "raidz1", "12", "on", "", a, b], /raidz1 needs at least 3 disks, got 2/],
        [
            [zfs.poolName("x"), "stripe", "12", "on", "", a, b],
            /layout must be single, mirror, raid10, raidz1, raidz2 or raidz3, got 'stripe'/,
        ],
        [["mirror1", "mirror", "12", "on", "", a, b], /pool name 'mirror1' starts with a name ZFS reserves/],
        [["1pool", "mirror", "12", "on", "", a, b], /invalid pool name '1pool'/],
        [[zfs.poolName("x"), "mirror", "17", "on", "", a, b], /ashift must be 9-16, got '17'/],
        [[zfs.poolName("x"), "mirror", "12", "fast", "", a, b], /invalid compression 'fast'/],
        [[zfs.poolName("x"), "mirror", "12", "on", "../etc", a, b], /invalid dataset path '..\/etc'/],
        [[zfs.poolName("x"), "mirror", "12", "on", "vm/./x", a, b], /invalid dataset path 'vm\/.\/x'/],
        [[zfs.poolName("x"), "mirror", "12", "on", "", a, "relative/disk"], /disk must be an absolute path/],
        [[zfs.poolName("x"), "mirror", "12", "on", "", a], /mirror needs at least 2 disks, got 1/],
        [[zfs.poolName("x"), "mirror", "12", "on", ""], /usage: zpool\.sh/],
    ];
    for (const [args, reason] of cases) {
        const before = calls().length;
        const r = runScript("zpool", args, { pathPrefix: [shimDir] });
        assert.equal(r.code, 1, args.join(" "));
        assert.match(r.stderr, reason);
        assert.deepEqual(calls().slice(before), [], `no zpool/zfs call for ${args.join(" ")}`);
    }
    const missing = zpoolSh(zfs.poolName("x"), "mirror", "", [a, path.join(zfs.dir, "no-such-disk")]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /disk '.*no-such-disk' does not exist/);
    assert.deepEqual(
        missing.calls.filter((c) => MUTATING.test(c)),
        [],
    );
});

test("systemctl enable zfs-import@<pool>.service runs once, with the unit name escaped", () => {
    const pool = zfs.poolName("unit");
    const a = zfs.disk("unita");
    const t = tempDir("zpool-systemd");
    try {
        // Fake systemctl: documented exit codes of is-enabled (0 enabled, non-zero otherwise) and enable.
        const bin = path.join(t.dir, "bin");
        const units = path.join(t.dir, "units");
        const state = path.join(t.dir, "enabled");
        fs.mkdirSync(bin);
        fs.mkdirSync(units);
        fs.mkdirSync(state);
        fs.writeFileSync(path.join(units, "zfs-import@.service"), "[Unit]\nDescription=Import ZFS pool %i\n");
        fs.writeFileSync(
            path.join(bin, "systemctl"),
            `#!/bin/bash
printf '%s\\n' "systemctl $*" >> ${JSON.stringify(path.join(t.dir, "systemctl.log"))}
args=(); for x in "$@"; do [[ $x == --* ]] || args+=("$x"); done
case \${args[0]} in
  is-enabled) [[ -e ${JSON.stringify(state)}/"\${args[1]}" ]] && exit 0; exit 1 ;;
  enable) touch ${JSON.stringify(state)}/"\${args[1]}" ;;
  *) exit 1 ;;
esac
`,
            { mode: 0o755 },
        );
        const runIt = () =>
            runScript("zpool", [pool, "single", 12, "on", "", a], {
                pathPrefix: [bin, shimDir],
                binds: [[units, "/usr/lib/systemd/system"]],
            });
        const first = runIt();
        assert.equal(first.code, 0, first.stderr);
        const second = runIt();
        assert.equal(second.code, 0, second.stderr);
        assert.deepEqual(second.lines, [{ pool, action: "adopted" }]);
        const escaped = run("systemd-escape", ["--", pool]).stdout.trim();
        assert.ok(escaped.includes("\\x2d"), "pool names with '-' need escaping");
        assert.deepEqual(fs.readFileSync(path.join(t.dir, "systemctl.log"), "utf8").trim().split("\n"), [
            `systemctl is-enabled --quiet zfs-import@${escaped}.service`,
            `systemctl enable --quiet zfs-import@${escaped}.service`,
            `systemctl is-enabled --quiet zfs-import@${escaped}.service`,
        ]);
    } finally {
        t.cleanup();
    }
});

test("no run ever used -f, destroyed, exported or imported a pool", () => {
    const all = calls();
    assert.ok(all.length > 0);
    assert.deepEqual(
        all.filter((c) => /^zpool create\b.* -f\b/.test(c) || /^zpool create -f/.test(c)),
        [],
    );
    assert.deepEqual(
        all.filter((c) => /^(zpool|zfs) destroy\b|^zpool export\b/.test(c)),
        [],
    );
    // `zpool import [-D] [-d dir]` only lists; an import names a pool or id.
    assert.deepEqual(
        all.filter((c) => c.startsWith("zpool import") && !/^zpool import( -D)?( -d \S+)?$/.test(c)),
        [],
    );
});
