/**
 * Fakes for the watchdog tests (scripts/watchdog.sh and the health check's
 * probe): `modinfo` and a stand-in for watchdog-mux holding /dev/watchdog.
 */
import * as fs from "node:fs";
import * as path from "node:path";

/**
 * Fake `modinfo -F filename <name>` (kmod-project/kmod tools/modinfo.c
 * modinfo_alias_do / modinfo_do): prints the module's file, or "(builtin)"
 * for a built-in, and exits 0; a name the running kernel's module index does
 * not know prints "modinfo: ERROR: Module <name> not found." on stderr and
 * exits 1. The index is $FAKE_MODULES, one "<name> <filename>" line per module.
 */
const MODINFO = `#!/bin/bash
[[ $1 == -F && $2 == filename && $# == 3 ]] || { echo "fake modinfo: unsupported call $*" >&2; exit 2; }
line=$(grep -m1 "^$3 " "$FAKE_MODULES" 2>/dev/null) || { echo "modinfo: ERROR: Module $3 not found." >&2; exit 1; }
echo "\${line#* }"
`;

/**
 * Stand-in for watchdog-mux (proxmox/pve-ha-manager src/watchdog-mux.c main):
 * opens /dev/watchdog and keeps it open for its lifetime. A script named
 * watchdog-mux, so its process name (comm) is the daemon's; $1 is a file it
 * creates once the device is open. Installed a second time as `watchdog`: a
 * process holding the device that is not watchdog-mux.
 */
export const WATCHDOG_MUX_STANDIN = `#!/bin/bash
exec 3>>/dev/watchdog
fifo=$(mktemp -u); mkfifo "$fifo"; exec 4<>"$fifo"; rm -f "$fifo"
: >"$1"
read -r -u 4
`;

export function installWatchdogFakes(root: string): { kmodBin: string; muxBin: string; otherBin: string } {
    const kmodBin = path.join(root, "kmod-bin");
    const muxBin = path.join(root, "mux-bin");
    const otherBin = path.join(root, "other-bin");
    for (const d of [kmodBin, muxBin, otherBin]) fs.mkdirSync(d, { recursive: true });
    fs.writeFileSync(path.join(kmodBin, "modinfo"), MODINFO, { mode: 0o755 });
    fs.writeFileSync(path.join(muxBin, "watchdog-mux"), WATCHDOG_MUX_STANDIN, { mode: 0o755 });
    fs.writeFileSync(path.join(otherBin, "watchdog"), WATCHDOG_MUX_STANDIN, { mode: 0o755 });
    return { kmodBin, muxBin, otherBin };
}

/**
 * Shell text that starts `holder` in the current shell's namespace (it must
 * open the bind-mounted /dev/watchdog), waits until it holds the device, and
 * kills it when that shell exits.
 */
export function holderPrelude(holder: string): string {
    return (
        `ready=$(mktemp -u); ${JSON.stringify(holder)} "$ready" & holder=$!; trap 'kill $holder' EXIT; ` +
        `while [ ! -e "$ready" ]; do sleep 0.05; done; rm -f "$ready"`
    );
}
