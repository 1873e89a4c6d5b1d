/**
 * scripts/zrepl-config.sh and scripts/zrepl-repair-install.sh, run exactly as
 * the component sends them (`scriptInvocation` by bash), in a private mount
 * namespace where /etc/zrepl, /usr/local/sbin and /etc/systemd/system are
 * temp dirs, against real ZFS (zfs-fuse) for the receive roots.
 * `zrepl` and `systemctl` are PATH fakes that record their arguments; the
 * fake `zrepl configcheck` accepts or rejects as the test says (it does not
 * judge the YAML), and records the file it was asked to check.
 *
 * Proves (zrepl-config.sh): the generated YAML is checked with
 * `zrepl configcheck --config <temp file>` before anything changes; a rejected
 * config leaves the live file, the datasets and the daemon untouched and fails
 * with zrepl's message; an accepted one creates <rootFs> (mountpoint=none) and
 * <rootFs>/<peer>, installs the file with mode 0600, enables and restarts
 * zrepl; a re-run with the same text restarts nothing (unless zrepl is not
 * running); while a pull job's last attempt is still running (zrepl v0.7.0
 * internal/replication/report AttemptState "planning"/"fan-out-filesystems")
 * the restart is deferred to a transient unit whose waiter restarts zrepl once
 * the attempt has ended; an existing rootFs is left as it is.
 * Proves (zrepl-repair-install.sh): tool and units are written (modes 0755 /
 * 0644), systemd reloaded and the timer enabled and started; a re-run changes
 * nothing; a tool that does not compile with python3 is refused before
 * anything is written.
 * Proves (zrepl-disable.sh): only `systemctl disable --now` of zrepl.service or
 * zrepl-repair.timer; anything else is refused.
 * Does NOT prove: that real zrepl accepts the generated YAML (no zrepl here;
 * see config.test.ts for its content), nor systemd's own behaviour.
 */
import { after, before, describe, it } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { runScript, tempDir } from "../scripts/lib";
import { run, zfsSandbox, type ZfsSandbox } from "../harness/zfs";
import { repairUnits, zreplConfigYaml } from "../../components/zrepl/config";
import { repairToolText } from "../../components/zrepl/zrepl";
import { nodeOf, prodSite } from "./site";

let zfs: ZfsSandbox;
let pool: string;
let tmp: { dir: string; cleanup: () => void };
let bin: string;
let madeEtcZrepl = false;

const FAKE_ZREPL = `#!/bin/bash
printf '%s\\n' "zrepl $*" >>"$FAKE_LOG"
if [[ "$*" == "status --mode raw" ]]; then
    [[ -e $FAKE_DIR/status.json ]] || { echo "error: cannot connect to daemon" >&2; exit 1; }
    cat "$FAKE_DIR/status.json"; exit 0
fi
if [[ $1 == configcheck && $2 == --config ]]; then
    cp "$3" "$FAKE_DIR/checked.yml"
    if [[ -e $FAKE_DIR/reject ]]; then echo "fake-rejection: $(cat "$FAKE_DIR/reject")" >&2; exit 1; fi
    exit 0
fi
echo "fake zrepl: unsupported $*" >&2; exit 2
`;
const FAKE_SYSTEMCTL = `#!/bin/bash
printf '%s\\n' "systemctl $*" >>"$FAKE_LOG"
if [[ $1 == is-active ]]; then f=active; [[ $3 != zrepl-restart-when-idle.service ]] || f=active-$3; [[ -e $FAKE_DIR/$f ]]; exit; fi
exit 0
`;
const FAKE_SYSTEMD_RUN = `#!/bin/bash
printf '%s\\n' "systemd-run $*" >>"$FAKE_LOG"
`;
/** A raw zrepl status whose pull job's last attempt is in `state` (zrepl v0.7.0 report.AttemptState). */
const statusWith = (state: string) =>
    JSON.stringify({
        Jobs: {
            pve_source: { type: "source", source: { Snapper: null } },
            pve_pull_prox2: { type: "pull", pull: { Replication: { Attempts: [{ State: "done" }, { State: state, Filesystems: [] }] } } },
        },
    });

before(async () => {
    zfs = await zfsSandbox("zreplcfg");
    pool = zfs.poolName("p");
    const r = zfs.zpool(["create", pool, zfs.disk("d0")]);
    assert.equal(r.code, 0, r.stderr);
    tmp = tempDir("zrepl-scripts");
    bin = path.join(tmp.dir, "bin");
    fs.mkdirSync(bin);
    fs.writeFileSync(path.join(bin, "zrepl"), FAKE_ZREPL, { mode: 0o755 });
    fs.writeFileSync(path.join(bin, "systemctl"), FAKE_SYSTEMCTL, { mode: 0o755 });
    fs.writeFileSync(path.join(bin, "systemd-run"), FAKE_SYSTEMD_RUN, { mode: 0o755 });
    // Mount point for the private /etc/zrepl (removed again if this test made it).
    if (!fs.existsSync("/etc/zrepl")) {
        fs.mkdirSync("/etc/zrepl");
        madeEtcZrepl = true;
    }
});
after(() => {
    zfs?.cleanup();
    tmp?.cleanup();
    if (madeEtcZrepl) fs.rmdirSync("/etc/zrepl");
});

let hostNo = 0;
/** A fresh fake host: its own /etc/zrepl, /usr/local/sbin, /etc/systemd/system and fake state. */
function host() {
    const dir = path.join(tmp.dir, `host${hostNo++}`);
    const h = {
        dir,
        etc: path.join(dir, "etc-zrepl"),
        sbin: path.join(dir, "usr-local-sbin"),
        units: path.join(dir, "etc-systemd-system"),
        log: path.join(dir, "calls.log"),
    };
    for (const d of [h.etc, h.sbin, h.units]) fs.mkdirSync(d, { recursive: true });
    const calls = () => (fs.existsSync(h.log) ? fs.readFileSync(h.log, "utf8").trim().split("\n") : []);
    const exec = (script: string, args: string[]) => {
        fs.rmSync(h.log, { force: true });
        return runScript(script, args, {
            pathPrefix: [bin],
            env: { FAKE_LOG: h.log, FAKE_DIR: dir },
            binds: [
                [h.etc, "/etc/zrepl"],
                [h.sbin, "/usr/local/sbin"],
                [h.units, "/etc/systemd/system"],
            ],
        });
    };
    return { ...h, calls, exec };
}

/** Runs an installed helper (a file on the fake host) with the fakes first on PATH. */
function runScriptFile(file: string, h: { log: string; dir: string }) {
    return run("bash", [file], { env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, FAKE_LOG: h.log, FAKE_DIR: h.dir } });
}

describe("zrepl-config.sh", () => {
    const site = prodSite();
    const yaml = zreplConfigYaml(site, nodeOf(site, "prox1"));
    const root = () => `${pool}/zrepl${hostNo}`;
    const exists = (ds: string) => zfs.zfs(["list", "-H", "-o", "name", ds]).code === 0;

    it("a rejected config changes nothing and fails with zrepl's message", () => {
        const h = host();
        const rootFs = root();
        fs.writeFileSync(path.join(h.etc, "zrepl.yml"), "jobs: []\n", { mode: 0o600 });
        fs.writeFileSync(path.join(h.dir, "reject"), "cannot build job pve_source: bad listen address");
        const r = h.exec("zrepl-config", [yaml, rootFs, "prox2"]);
        assert.equal(r.code, 1);
        assert.equal(r.stdout, "");
        assert.equal(
            r.stderr.trim(),
            "zrepl-config.sh: zrepl configcheck rejected the new config; /etc/zrepl/zrepl.yml and the running daemon are unchanged: fake-rejection: cannot build job pve_source: bad listen address",
        );
        assert.equal(fs.readFileSync(path.join(h.etc, "zrepl.yml"), "utf8"), "jobs: []\n");
        assert.deepEqual(fs.readdirSync(h.etc), ["zrepl.yml"], "no temp file left behind");
        assert.equal(exists(rootFs), false);
        assert.equal(h.calls().filter((c) => c.startsWith("systemctl")).length, 0);
        assert.equal(fs.readFileSync(path.join(h.dir, "checked.yml"), "utf8"), `${yaml}\n`);
    });

    it("an accepted config: receive roots, live file, restart; a re-run restarts nothing", () => {
        const h = host();
        const rootFs = root();
        const r = h.exec("zrepl-config", [yaml, rootFs, "prox2"]);
        assert.equal(r.code, 0, r.stderr);
        assert.deepEqual(r.lines, [{ config: "changed" }]);
        const calls = h.calls();
        assert.match(calls[0]!, /^zrepl configcheck --config \/etc\/zrepl\/\.zrepl\.yml\.\w+$/, "checked as a temp file first");
        assert.deepEqual(calls.slice(1), [
            "systemctl enable --quiet zrepl.service",
            "systemctl is-active --quiet zrepl.service",
            "systemctl restart zrepl.service",
        ]);
        const live = path.join(h.etc, "zrepl.yml");
        assert.equal(fs.readFileSync(live, "utf8"), `${yaml}\n`);
        assert.equal(fs.statSync(live).mode & 0o777, 0o600);
        assert.equal(zfs.zfs(["get", "-H", "-o", "value", "mountpoint", rootFs]).stdout.trim(), "none");
        assert.ok(exists(`${rootFs}/prox2`));

        fs.writeFileSync(path.join(h.dir, "active"), "");
        const again = h.exec("zrepl-config", [yaml, rootFs, "prox2"]);
        assert.equal(again.code, 0, again.stderr);
        assert.deepEqual(again.lines, [{ config: "unchanged" }]);
        assert.deepEqual(h.calls().slice(1), ["systemctl enable --quiet zrepl.service", "systemctl is-active --quiet zrepl.service"]);

        fs.rmSync(path.join(h.dir, "active"));
        const stopped = h.exec("zrepl-config", [yaml, rootFs, "prox2"]);
        assert.equal(stopped.code, 0, stopped.stderr);
        assert.deepEqual(stopped.lines, [{ config: "unchanged" }]);
        assert.equal(h.calls().at(-1), "systemctl restart zrepl.service", "started when it was not running");
    });

    it("defers the restart while a transfer runs (zrepl reads its config only at start); restarts at once when idle", () => {
        const h = host();
        const rootFs = root();
        fs.writeFileSync(path.join(h.dir, "active"), "");
        fs.writeFileSync(path.join(h.etc, "zrepl.yml"), "jobs: []\n", { mode: 0o600 });
        fs.writeFileSync(path.join(h.dir, "status.json"), statusWith("fan-out-filesystems"));
        const busy = h.exec("zrepl-config", [yaml, rootFs, "prox2"]);
        assert.equal(busy.code, 0, busy.stderr);
        assert.deepEqual(busy.lines, [{ config: "changed", restart: "deferred" }]);
        assert.equal(fs.readFileSync(path.join(h.etc, "zrepl.yml"), "utf8"), `${yaml}\n`, "the new config is in place for the restart");
        const calls = h.calls();
        assert.ok(!calls.includes("systemctl restart zrepl.service"), calls.join("\n"));
        assert.equal(
            calls.at(-1),
            "systemd-run --quiet --no-block --collect --unit=zrepl-restart-when-idle /usr/local/sbin/zrepl-restart-when-idle",
        );
        const waiter = path.join(h.sbin, "zrepl-restart-when-idle");
        assert.equal(fs.statSync(waiter).mode & 0o777, 0o755);

        // A deferred restart already pending: not started twice.
        fs.writeFileSync(path.join(h.etc, "zrepl.yml"), "jobs: []\n", { mode: 0o600 });
        fs.writeFileSync(path.join(h.dir, "active-zrepl-restart-when-idle.service"), "");
        const pending = h.exec("zrepl-config", [yaml, rootFs, "prox2"]);
        assert.deepEqual(pending.lines, [{ config: "changed", restart: "deferred" }]);
        assert.ok(!h.calls().some((c) => c.startsWith("systemd-run")));

        // The waiter, once the attempt is done: restarts zrepl and ends.
        fs.writeFileSync(path.join(h.dir, "status.json"), statusWith("done"));
        fs.rmSync(h.log, { force: true });
        const r = runScriptFile(waiter, h);
        assert.equal(r.code, 0, r.stderr);
        assert.deepEqual(h.calls(), ["zrepl status --mode raw", "systemctl restart zrepl.service"]);

        // Idle from the start (planning-error is terminal): restarted at once.
        fs.writeFileSync(path.join(h.etc, "zrepl.yml"), "jobs: []\n", { mode: 0o600 });
        fs.writeFileSync(path.join(h.dir, "status.json"), statusWith("planning-error"));
        const idle = h.exec("zrepl-config", [yaml, rootFs, "prox2"]);
        assert.deepEqual(idle.lines, [{ config: "changed" }]);
        assert.equal(h.calls().at(-1), "systemctl restart zrepl.service");
    });

    it("leaves an existing rootFs as it is", () => {
        const h = host();
        const rootFs = root();
        assert.equal(zfs.zfs(["create", "-o", "mountpoint=none", "-o", "compression=on", rootFs]).code, 0);
        const r = h.exec("zrepl-config", [yaml, rootFs, "prox2"]);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(zfs.zfs(["get", "-H", "-o", "value,source", "compression", rootFs]).stdout.trim(), "on\tlocal");
        assert.ok(exists(`${rootFs}/prox2`));
    });

    it("refuses a malformed root dataset or peer before doing anything", () => {
        const h = host();
        for (const args of [
            [yaml, "pool-only", "prox2"],
            [yaml, `${pool}/z`, "Bad Peer"],
        ]) {
            const r = h.exec("zrepl-config", args);
            assert.equal(r.code, 1);
            assert.match(r.stderr, /^zrepl-config\.sh: invalid (root dataset|peer name)/);
        }
        assert.deepEqual(h.calls(), []);
    });
});

describe("zrepl-repair-install.sh", () => {
    const site = prodSite();
    const units = repairUnits(site, nodeOf(site, "prox1"));
    const tool = repairToolText();

    it("installs the tool and units, reloads systemd and starts the timer; a re-run changes nothing", () => {
        const h = host();
        const r = h.exec("zrepl-repair-install", [tool, units.service, units.timer]);
        assert.equal(r.code, 0, r.stderr);
        assert.deepEqual(r.lines, [{ "repair-timer": "changed" }]);
        const file = (p: string) => ({ text: fs.readFileSync(p, "utf8"), mode: fs.statSync(p).mode & 0o777 });
        assert.deepEqual(file(path.join(h.sbin, "zrepl-repair")), { text: tool, mode: 0o755 });
        assert.deepEqual(file(path.join(h.units, "zrepl-repair.service")), { text: units.service, mode: 0o644 });
        assert.deepEqual(file(path.join(h.units, "zrepl-repair.timer")), { text: units.timer, mode: 0o644 });
        assert.deepEqual(h.calls(), [
            "systemctl daemon-reload",
            "systemctl enable --quiet zrepl-repair.timer",
            "systemctl restart zrepl-repair.timer",
        ]);

        fs.writeFileSync(path.join(h.dir, "active"), "");
        const again = h.exec("zrepl-repair-install", [tool, units.service, units.timer]);
        assert.equal(again.code, 0, again.stderr);
        assert.deepEqual(again.lines, [{ "repair-timer": "unchanged" }]);
        assert.deepEqual(h.calls(), ["systemctl enable --quiet zrepl-repair.timer", "systemctl is-active --quiet zrepl-repair.timer"]);
        assert.deepEqual(fs.readdirSync(h.sbin), ["zrepl-repair"], "no temp or cache files left");
    });

    it("refuses a tool that does not compile, before writing anything", () => {
        const h = host();
        const r = h.exec("zrepl-repair-install", ["#!/usr/bin/env python3\ndef broken(:\n", units.service, units.timer]);
        assert.equal(r.code, 1);
        assert.match(r.stderr, /the repair tool does not compile with Python 3\.\d+\.\d+; nothing was changed/);
        assert.deepEqual([...fs.readdirSync(h.sbin), ...fs.readdirSync(h.units)], []);
        assert.deepEqual(h.calls(), []);
    });
});

describe("zrepl-disable.sh", () => {
    it("stops and disables the daemon or the timer, and nothing else", () => {
        const h = host();
        for (const [what, unit] of [
            ["daemon", "zrepl.service"],
            ["repair-timer", "zrepl-repair.timer"],
        ] as const) {
            const r = h.exec("zrepl-disable", [what]);
            assert.equal(r.code, 0, r.stderr);
            assert.deepEqual(r.lines, [{ stopped: unit }]);
            assert.deepEqual(h.calls(), [`systemctl cat ${unit}`, `systemctl disable --now --quiet ${unit}`]);
        }
        const bad = h.exec("zrepl-disable", ["zfs"]);
        assert.equal(bad.code, 1);
        assert.match(bad.stderr, /unknown unit 'zfs'/);
        assert.deepEqual(h.calls(), []);
    });
});
