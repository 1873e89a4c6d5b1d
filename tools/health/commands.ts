/**
 * The read-only commands the health check runs on each host. Nothing here
 * writes, restarts, loads or probes anything: status commands and file reads.
 * `LC_ALL=C` keeps the output in the documented (English) format.
 */
import type { Site, SiteNode } from "../../components/model";
import { ZREPL_COMMANDS, type ZreplCommand } from "./zrepl";

/**
 * POSIX single-quote quoting, as components/remote.ts `shq` (not imported
 * from there: that module loads the Pulumi SDK, seconds of start-up for a
 * CLI that never touches Pulumi).
 */
export function shq(value: string): string {
    return `'${value.replace(/'/g, `'\\''`)}'`;
}

export type NodeCommand =
    "pvecm" | "qdevice" | "pvesr" | "clock" | "zpoolList" | "zpoolStatus" | "ha" | "watchdogConf" | "watchdogInUse" | ZreplCommand;
export type QnetdCommand = "qnetd";

const C = "LC_ALL=C ";

/**
 * Which module owns /dev/watchdog, by the rules of scripts/watchdog.sh (read
 * from sysfs only): nothing ("not-held") unless /dev/watchdog exists and a
 * watchdog-mux process holds it open (pve-ha-manager src/watchdog-mux.c keeps
 * it open for its lifetime); then watchdog0's driver module, else its identity
 * (softdog has none and says "Software Watchdog"); without watchdog0, the
 * stack's module counts as in use when it is loaded (legacy misc-device
 * drivers such as ipmi_watchdog). Parsed by parseWatchdogProbe.
 */
export function watchdogProbe(module: string): string {
    const w = "/sys/class/watchdog/watchdog0";
    return (
        `held=no; if [ -e /dev/watchdog ]; then for p in /proc/[0-9]*; do ` +
        `[ "$(cat $p/comm 2>/dev/null)" = watchdog-mux ] || continue; ` +
        `for f in $p/fd/*; do [ "$(readlink $f 2>/dev/null)" = /dev/watchdog ] && held=yes; done; done; fi; ` +
        `if [ $held = no ]; then echo not-held; ` +
        `elif [ -e ${w} ]; then ` +
        `if [ -e ${w}/device/driver/module ]; then echo "driver-module $(readlink -f ${w}/device/driver/module)"; ` +
        `else echo "identity $(cat ${w}/identity 2>/dev/null)"; fi; ` +
        `else echo no-watchdog0; if [ -e /sys/module/${shq(module)}/initstate ]; then echo loaded ${shq(module)}; fi; fi`
    );
}

export function nodeCommands(site: Site, node: SiteNode): Partial<Record<NodeCommand, string>> {
    return {
        pvecm: `${C}pvecm status`,
        ...(site.qdevice ? { qdevice: `${C}corosync-qdevice-tool -s` } : {}),
        pvesr: `${C}pvesr status`,
        clock: `${C}date '+%Y-%m-%d_%H:%M:%S'`,
        zpoolList: `${C}zpool list -H -o name,health`,
        zpoolStatus: `${C}zpool status -x`,
        ha: `${C}ha-manager status`,
        // A missing file is the shipped default (softdog): print nothing rather than fail.
        watchdogConf: `if [ -e /etc/default/pve-ha-manager ]; then cat /etc/default/pve-ha-manager; fi`,
        watchdogInUse: watchdogProbe(node.watchdog),
        ...(site.zrepl.enabled ? ZREPL_COMMANDS : {}),
    };
}

export const QNETD_COMMANDS: Record<QnetdCommand, string> = {
    qnetd: `${C}systemctl is-active corosync-qnetd`,
};
