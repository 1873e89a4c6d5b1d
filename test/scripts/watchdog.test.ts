/**
 * scripts/watchdog.sh, run exactly as shipped (`scriptInvocation` by bash) in a
 * private mount namespace where /etc/default, /sys/class/watchdog and
 * /sys/module are bind-mounted from a temp dir laid out like the kernel's
 * sysfs (watchdog0 with identity, device/driver/module links, module
 * initstate files).
 *
 * Proves: WATCHDOG_MODULE= is written idempotently (created when missing,
 * the shipped comment lines and other settings kept, duplicates collapsed,
 * file mode kept, no rewrite at all when nothing changes); the module in use
 * is read from watchdog0 (softdog identity, hardware driver link) or, for a
 * legacy misc-device driver, from /sys/module/<m>/initstate; reboot-required
 * is yes exactly when the module in use differs; invalid input is refused with
 * nothing written; systemctl, modprobe, rmmod, kill and friends are never called.
 *
 * Does NOT prove: what a real kernel exposes on every hardware watchdog (the
 * sysfs layout is modelled on the watchdog core's documented class device);
 * that watchdog-mux honours the file at the next boot (docs/proxmox-facts.md §5).
 */
import { after, before, test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { run } from "../harness/zfs";
import { runScript, tempDir } from "./lib";
import { holderPrelude, installWatchdogFakes } from "./watchdog-fakes";

const SHIPPED = "# select watchdog module (default is softdog)\n#WATCHDOG_MODULE=ipmi_watchdog\n";

let root: string;
let cleanup: () => void;
let forbiddenLog: string;
let forbiddenBin: string;

before(() => {
    const t = tempDir("watchdog-test");
    root = t.dir;
    cleanup = t.cleanup;
    forbiddenBin = path.join(root, "bin");
    forbiddenLog = path.join(root, "forbidden.log");
    fs.mkdirSync(forbiddenBin);
    for (const tool of ["systemctl", "service", "modprobe", "rmmod", "insmod", "kill", "pkill", "killall", "watchdog-mux"]) {
        fs.writeFileSync(path.join(forbiddenBin, tool), `#!/bin/bash\necho "${tool} $*" >> ${JSON.stringify(forbiddenLog)}\nexit 1\n`, {
            mode: 0o755,
        });
    }
});

after(() => cleanup?.());

let kmodBin: string;
let muxBin: string;
let otherBin: string;
before(() => {
    ({ kmodBin, muxBin, otherBin } = installWatchdogFakes(root));
});

interface Host {
    etcDefault: string;
    watchdogClass: string;
    modules: string;
    conf: string;
    /** Bind-mounted over /dev: null, and watchdog once a driver provides it. */
    dev: string;
    /** The kernel's module index for the fake modinfo. */
    moduleIndex: string;
    /** Which process holds /dev/watchdog during the run. */
    holder: "watchdog-mux" | "other" | "none";
}

const KERNEL_MODULES = ["softdog", "ipmi_watchdog", "iTCO_wdt"];

let hostCounter = 0;
function host(modules: readonly string[] = KERNEL_MODULES): Host {
    const dir = path.join(root, `host${hostCounter++}`);
    const h: Host = {
        etcDefault: path.join(dir, "etc-default"),
        watchdogClass: path.join(dir, "sys-class-watchdog"),
        modules: path.join(dir, "sys-module"),
        conf: path.join(dir, "etc-default", "pve-ha-manager"),
        dev: path.join(dir, "dev"),
        moduleIndex: path.join(dir, "modules"),
        holder: "none",
    };
    for (const d of [h.etcDefault, h.watchdogClass, h.modules, h.dev]) fs.mkdirSync(d, { recursive: true });
    run("mknod", ["-m", "666", path.join(h.dev, "null"), "c", "1", "3"]);
    fs.writeFileSync(h.moduleIndex, modules.map((m) => `${m} /lib/modules/6.12.0-1-pve/kernel/drivers/watchdog/${m}.ko\n`).join(""));
    return h;
}

/** /dev/watchdog exists (a regular file: the test never opens a real watchdog) and watchdog-mux holds it. */
function heldByMux(h: Host): void {
    fs.writeFileSync(path.join(h.dev, "watchdog"), "");
    h.holder = "watchdog-mux";
}

function loadModule(h: Host, name: string): void {
    fs.mkdirSync(path.join(h.modules, name), { recursive: true });
    fs.writeFileSync(path.join(h.modules, name, "initstate"), "live\n");
}

/** softdog loaded: a watchdog-core device without parent device, identity "Software Watchdog" (not yet held). */
function softdogLoaded(h: Host): void {
    loadModule(h, "softdog");
    fs.mkdirSync(path.join(h.watchdogClass, "watchdog0"));
    fs.writeFileSync(path.join(h.watchdogClass, "watchdog0", "identity"), "Software Watchdog\n");
}

/** softdog drives /dev/watchdog and watchdog-mux holds it: the HA watchdog runs on softdog. */
function softdogActive(h: Host): void {
    softdogLoaded(h);
    heldByMux(h);
}

/** A hardware driver: watchdog0/device/driver/module -> /sys/module/<m>, held by watchdog-mux. */
function hardwareActive(h: Host, module: string, identity: string): void {
    loadModule(h, module);
    const wd = path.join(h.watchdogClass, "watchdog0");
    fs.mkdirSync(path.join(wd, "device", "driver"), { recursive: true });
    fs.writeFileSync(path.join(wd, "identity"), `${identity}\n`);
    fs.symlinkSync(`/sys/module/${module}`, path.join(wd, "device", "driver", "module"));
    heldByMux(h);
}

function watchdog(h: Host, module: string) {
    const prelude =
        h.holder === "none"
            ? undefined
            : holderPrelude(h.holder === "watchdog-mux" ? path.join(muxBin, "watchdog-mux") : path.join(otherBin, "watchdog"));
    return runScript("watchdog", [module], {
        pathPrefix: [forbiddenBin, kmodBin],
        env: { FAKE_MODULES: h.moduleIndex },
        binds: [
            [h.etcDefault, "/etc/default"],
            [h.watchdogClass, "/sys/class/watchdog"],
            [h.modules, "/sys/module"],
            [h.dev, "/dev"],
        ],
        ...(prelude ? { prelude } : {}),
        // watchdog.sh scans /proc for watchdog-mux: other test files' stand-ins must not count.
        privateProc: true,
    });
}

test("fresh node with softdog: writes the file, nothing to reboot, re-run rewrites nothing", () => {
    const h = host();
    softdogActive(h);
    const r = watchdog(h, "softdog");
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, "");
    assert.deepEqual(r.lines, [{ module: "softdog", active: "softdog", "reboot-required": "no" }]);
    assert.equal(fs.readFileSync(h.conf, "utf8"), "# select watchdog module (default is softdog)\nWATCHDOG_MODULE=softdog\n");
    assert.equal(fs.statSync(h.conf).mode & 0o777, 0o644);

    const inode = fs.statSync(h.conf).ino;
    const again = watchdog(h, "softdog");
    assert.deepEqual(again.lines, r.lines);
    assert.equal(fs.statSync(h.conf).ino, inode, "an unchanged file is not rewritten");
});

test("switching to ipmi_watchdog while softdog runs: shipped comments kept, reboot required, idempotent", () => {
    const h = host();
    softdogActive(h);
    fs.writeFileSync(h.conf, SHIPPED);
    const r = watchdog(h, "ipmi_watchdog");
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.lines, [{ module: "ipmi_watchdog", active: "softdog", "reboot-required": "yes" }]);
    assert.equal(fs.readFileSync(h.conf, "utf8"), `${SHIPPED}WATCHDOG_MODULE=ipmi_watchdog\n`);
    const inode = fs.statSync(h.conf).ino;
    const again = watchdog(h, "ipmi_watchdog");
    assert.deepEqual(again.lines, r.lines, "still reboot-required: nothing was restarted");
    assert.equal(fs.statSync(h.conf).ino, inode);
    assert.equal(fs.readFileSync(h.conf, "utf8"), `${SHIPPED}WATCHDOG_MODULE=ipmi_watchdog\n`);
});

test("an existing setting is replaced in place, duplicates dropped, other lines and the file mode kept", () => {
    const h = host();
    softdogActive(h);
    fs.writeFileSync(h.conf, `${SHIPPED}WATCHDOG_MODULE=ipmi_watchdog\nOTHER=1\n  export WATCHDOG_MODULE=iTCO_wdt\n`, { mode: 0o600 });
    fs.chmodSync(h.conf, 0o600);
    const r = watchdog(h, "softdog");
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.lines, [{ module: "softdog", active: "softdog", "reboot-required": "no" }]);
    assert.equal(fs.readFileSync(h.conf, "utf8"), `${SHIPPED}WATCHDOG_MODULE=softdog\nOTHER=1\n`);
    assert.equal(fs.statSync(h.conf).mode & 0o777, 0o600);
    assert.deepEqual(fs.readdirSync(h.etcDefault), ["pve-ha-manager"], "no temp file left behind");
});

test("a hardware watchdog is identified through watchdog0's driver module", () => {
    const h = host();
    hardwareActive(h, "iTCO_wdt", "iTCO_wdt");
    assert.deepEqual(watchdog(h, "iTCO_wdt").lines, [{ module: "iTCO_wdt", active: "iTCO_wdt", "reboot-required": "no" }]);
    assert.deepEqual(watchdog(h, "softdog").lines, [{ module: "softdog", active: "iTCO_wdt", "reboot-required": "yes" }]);
});

test("a watchdog0 the script cannot attribute is reported as unknown and needs a reboot", () => {
    const h = host();
    fs.mkdirSync(path.join(h.watchdogClass, "watchdog0"));
    fs.writeFileSync(path.join(h.watchdogClass, "watchdog0", "identity"), "Some Builtin WDT\n");
    heldByMux(h);
    assert.deepEqual(watchdog(h, "softdog").lines, [{ module: "softdog", active: "unknown", "reboot-required": "yes" }]);
});

test("a legacy misc-device driver (ipmi_watchdog, no watchdog0) counts as in use when loaded and held", () => {
    const h = host();
    loadModule(h, "ipmi_watchdog");
    heldByMux(h);
    assert.deepEqual(watchdog(h, "ipmi_watchdog").lines, [{ module: "ipmi_watchdog", active: "ipmi_watchdog", "reboot-required": "no" }]);
    const none = host();
    assert.deepEqual(watchdog(none, "ipmi_watchdog").lines, [{ module: "ipmi_watchdog", active: "none", "reboot-required": "yes" }]);
    // A module directory without initstate is a built-in without a loaded module: not proof of use.
    const builtin = host();
    fs.mkdirSync(path.join(builtin.modules, "ipmi_watchdog"));
    assert.deepEqual(watchdog(builtin, "ipmi_watchdog").lines, [{ module: "ipmi_watchdog", active: "none", "reboot-required": "yes" }]);
});

test("invalid input is refused and nothing is written", () => {
    const h = host();
    softdogActive(h);
    fs.writeFileSync(h.conf, SHIPPED);
    for (const bad of ["ipmi-watchdog", "soft dog", "x;reboot", "", "../x"]) {
        const r = watchdog(h, bad);
        assert.equal(r.code, 1, bad);
        assert.equal(r.stdout, "");
        assert.equal(r.stderr, `watchdog.sh: invalid kernel module name '${bad}'\n`);
    }
    assert.equal(fs.readFileSync(h.conf, "utf8"), SHIPPED);

    const dirConf = host();
    fs.mkdirSync(dirConf.conf);
    const r = watchdog(dirConf, "softdog");
    assert.equal(r.code, 1);
    assert.equal(r.stderr, "watchdog.sh: /etc/default/pve-ha-manager is not a regular file\n");
});

// ---- issue #11 point 11: a module the kernel lacks, and "active" only when watchdog-mux holds /dev/watchdog

test("a module the running kernel does not have is refused (modinfo) and nothing is written", () => {
    // Before the fix: exit 0, WATCHDOG_MODULE=iTCO_wdtt written, and after the next boot
    // watchdog-mux's modprobe fails and the node has no HA watchdog (watchdog-mux.c main).
    const h = host();
    softdogActive(h);
    fs.writeFileSync(h.conf, SHIPPED);
    const r = watchdog(h, "iTCO_wdtt");
    assert.equal(r.code, 1);
    assert.equal(r.stdout, "");
    assert.match(
        r.stderr,
        /^watchdog\.sh: the running kernel \(\S+\) has no module 'iTCO_wdtt' \(modinfo: ERROR: Module iTCO_wdtt not found\.\); watchdog-mux would fail to load it at the next boot and not fall back to softdog, leaving the node without an HA watchdog: set nodes\[\]\.watchdog to a module that `modinfo` finds on the node \(softdog is always available\)\n$/,
    );
    assert.equal(fs.readFileSync(h.conf, "utf8"), SHIPPED);

    // A built-in module ("(builtin)") exists for the kernel: accepted.
    const b = host([]);
    fs.writeFileSync(b.moduleIndex, "softdog (builtin)\n");
    softdogActive(b);
    assert.deepEqual(watchdog(b, "softdog").lines, [{ module: "softdog", active: "softdog", "reboot-required": "no" }]);
});

test("a loaded module is not 'active' unless /dev/watchdog exists and watchdog-mux holds it", () => {
    // Before the fix: active=softdog reboot-required=no here, although no HA watchdog runs.
    const loaded = host();
    softdogLoaded(loaded);
    assert.deepEqual(watchdog(loaded, "softdog").lines, [{ module: "softdog", active: "none", "reboot-required": "yes" }]);

    // /dev/watchdog exists but watchdog-mux is not the process holding it.
    const other = host();
    softdogLoaded(other);
    fs.writeFileSync(path.join(other.dev, "watchdog"), "");
    other.holder = "other";
    assert.deepEqual(watchdog(other, "softdog").lines, [{ module: "softdog", active: "none", "reboot-required": "yes" }]);

    // The same node once watchdog-mux holds it.
    other.holder = "watchdog-mux";
    assert.deepEqual(watchdog(other, "softdog").lines, [{ module: "softdog", active: "softdog", "reboot-required": "no" }]);
});

test("no run called systemctl, modprobe, kill or anything that could restart watchdog-mux", () => {
    assert.ok(hostCounter > 5, "the other tests ran first");
    assert.equal(fs.existsSync(forbiddenLog) ? fs.readFileSync(forbiddenLog, "utf8") : "", "");
});
