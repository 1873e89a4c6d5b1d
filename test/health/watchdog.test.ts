/**
 * The health check and scripts/watchdog.sh agree on which watchdog module is
 * in use and on whether a reboot is pending. For each sysfs layout (softdog,
 * a hardware driver linked from watchdog0, a watchdog0 nobody can attribute,
 * a legacy misc-device driver without watchdog0, nothing; each with
 * /dev/watchdog held by a stand-in watchdog-mux, plus softdog with the device
 * held by nobody) and each stack
 * module, the shipped script (run as components send it, in a private mount
 * namespace with /etc/default, /sys/class/watchdog and /sys/module
 * bind-mounted from a temp dir) and the health check's own probe command
 * (tools/health/commands.ts, run by bash in the same namespace, then parsed
 * and judged by tools/health/checks.ts) are asked; the script's `active=`
 * must equal the health check's module in use, and its `reboot-required=`
 * must equal the health row's "reboot pending".
 *
 * Does NOT prove: what a real kernel exposes for every watchdog driver (the
 * layout is the one test/scripts/watchdog.test.ts models); needs root.
 */
import { after, before, test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { evaluate } from "../../tools/health/checks";
import { watchdogProbe } from "../../tools/health/commands";
import { activeWatchdogName, parseWatchdogProbe } from "../../tools/health/parsers";
import { loadStackSite } from "../../tools/health/load";
import { run } from "../harness/zfs";
import { parseLines, runScript, tempDir } from "../scripts/lib";
import { holderPrelude, installWatchdogFakes } from "../scripts/watchdog-fakes";
import { SCENARIOS, res } from "./fixtures";

let root: string;
let cleanup: () => void;
let fakes: ReturnType<typeof installWatchdogFakes>;
before(() => {
    const t = tempDir("health-watchdog");
    root = t.dir;
    cleanup = t.cleanup;
    fakes = installWatchdogFakes(root);
});
after(() => cleanup?.());

type Layout = (h: string) => void;
const write = (p: string, text: string) => {
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, text);
};
const LAYOUTS: Record<string, Layout> = {
    softdog: (h) => {
        write(path.join(h, "mod", "softdog", "initstate"), "live\n");
        write(path.join(h, "wd", "watchdog0", "identity"), "Software Watchdog\n");
    },
    "iTCO_wdt hardware": (h) => {
        write(path.join(h, "mod", "iTCO_wdt", "initstate"), "live\n");
        write(path.join(h, "wd", "watchdog0", "identity"), "iTCO_wdt\n");
        fs.mkdirSync(path.join(h, "wd", "watchdog0", "device", "driver"), { recursive: true });
        fs.symlinkSync("/sys/module/iTCO_wdt", path.join(h, "wd", "watchdog0", "device", "driver", "module"));
    },
    "unattributable watchdog0": (h) => write(path.join(h, "wd", "watchdog0", "identity"), "Some Builtin WDT\n"),
    "ipmi_watchdog legacy": (h) => write(path.join(h, "mod", "ipmi_watchdog", "initstate"), "live\n"),
    nothing: () => undefined,
};
/** Layouts where a driver provides /dev/watchdog and watchdog-mux holds it; "softdog, not held" has the device but no holder. */
const HELD = new Set(["softdog", "iTCO_wdt hardware", "unattributable watchdog0", "ipmi_watchdog legacy"]);
LAYOUTS["softdog, not held"] = (h) => {
    LAYOUTS.softdog!(h);
    write(path.join(h, "dev", "watchdog"), "");
};

let n = 0;
for (const [layoutName, layout] of Object.entries(LAYOUTS)) {
    for (const module of ["softdog", "iTCO_wdt", "ipmi_watchdog"]) {
        test(`${layoutName}, stack wants ${module}`, () => {
            const h = path.join(root, `h${n++}`);
            for (const d of ["etc", "wd", "mod", "dev"]) fs.mkdirSync(path.join(h, d), { recursive: true });
            run("mknod", ["-m", "666", path.join(h, "dev", "null"), "c", "1", "3"]);
            layout(h);
            const held = HELD.has(layoutName);
            if (held) write(path.join(h, "dev", "watchdog"), "");
            const modules = path.join(h, "modules");
            write(modules, "softdog (builtin)\niTCO_wdt /lib/modules/x/iTCO_wdt.ko\nipmi_watchdog /lib/modules/x/ipmi_watchdog.ko\n");
            const prelude = held ? holderPrelude(path.join(fakes.muxBin, "watchdog-mux")) : "";
            const binds = [
                [path.join(h, "etc"), "/etc/default"],
                [path.join(h, "wd"), "/sys/class/watchdog"],
                [path.join(h, "mod"), "/sys/module"],
                [path.join(h, "dev"), "/dev"],
            ] as const;
            const script = runScript("watchdog", [module], {
                binds,
                pathPrefix: [fakes.kmodBin],
                env: { FAKE_MODULES: modules },
                ...(held ? { prelude } : {}),
            });
            assert.equal(script.code, 0, script.stderr);
            const [said] = parseLines(script.stdout);

            // The health check's probe, in the same kind of namespace, after the script wrote the file.
            const probe = run("unshare", [
                "--mount",
                "--propagation",
                "private",
                "--",
                "bash",
                "-c",
                `set -e; ${binds.map(([s, t]) => `mount --bind '${s}' '${t}'`).join("; ")}; set +e; ${prelude}\nbash -c "$1"`,
                "ns",
                watchdogProbe(module),
            ]);
            const parsed = parseWatchdogProbe({ ...probe, code: probe.code });
            assert.ok(parsed.ok, JSON.stringify(parsed));
            assert.equal(activeWatchdogName(parsed.value), said!.active);

            // And the verdict row: prod's prox1 with this module, the file as the script left it.
            const l = loadStackSite("prod");
            assert.ok(l.site);
            const site = { ...l.site, nodes: l.site.nodes.map((x) => (x.name === "prox1" ? { ...x, watchdog: module } : x)) };
            const conf = fs.readFileSync(path.join(h, "etc", "pve-ha-manager"), "utf8");
            const report = evaluate("prod", site, {
                nodes: new Map([
                    ["prox1", { results: { ...SCENARIOS.healthy.nodes.prox1, watchdogConf: res(conf), watchdogInUse: probe } }],
                    ["prox2", { results: SCENARIOS.healthy.nodes.prox2 }],
                ]),
                qdevice: { results: SCENARIOS.healthy.qnetd },
            });
            const row = report.hosts.find((x) => x.name === "prox1")!.checks.find((c) => c.check === "watchdog in use")!;
            const pending = /reboot pending: (yes|no)\)$/.exec(row.measured)?.[1];
            assert.equal(pending, said!["reboot-required"], row.measured);
            assert.equal(row.verdict, pending === "no" ? "ok" : "fail");
        });
    }
}
