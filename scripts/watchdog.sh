#!/usr/bin/env bash
# watchdog.sh <module>
#
# Configures the watchdog module the HA stack uses (docs/proxmox-facts.md §5) by
# writing WATCHDOG_MODULE=<module> to /etc/default/pve-ha-manager, and reports
# whether the node's HA watchdog already runs on that module.
#
# - The module must exist for the running kernel (`modinfo -F filename`: a
#   file or "(builtin)"), else nothing is written: at the next boot
#   watchdog-mux runs `modprobe -q <module>` and opens /dev/watchdog, and when
#   that fails it exits without falling back to softdog (pve-ha-manager
#   src/watchdog-mux.c main), so a wrong name leaves the node without an HA
#   watchdog, silently.
# - The file is rewritten only when its content would change: the first
#   active WATCHDOG_MODULE= line is replaced (later duplicates dropped), every
#   other line (comments, the shipped "#WATCHDOG_MODULE=ipmi_watchdog" hint,
#   other settings) is kept; the line is appended when there is none. The write
#   is atomic (temp file + rename) and keeps the file's mode.
# - It never restarts, stops or signals watchdog-mux and never loads or unloads
#   a module: restarting watchdog-mux while HA holds the watchdog resets the
#   node, and watchdog-mux only loads a module at start when /dev/watchdog does
#   not exist yet. So a different module takes effect at the next boot, and the
#   script reports reboot-required=yes whenever the module in use differs.
#
# In use ("active") means the HA watchdog really runs on it: /dev/watchdog
# exists AND a watchdog-mux process holds it open (watchdog-mux.c opens
# /dev/watchdog at start and keeps it open for its lifetime) — a module that
# is merely loaded protects nothing. Which module drives it is read from sysfs
# (nothing is probed or loaded):
# 1. /sys/class/watchdog/watchdog0 exists: that device owns /dev/watchdog (the
#    watchdog core gives the legacy /dev/watchdog to id 0 only). Its module is
#    the target of watchdog0/device/driver/module (hardware drivers such as
#    iTCO_wdt); softdog has no parent device and is recognised by its identity
#    "Software Watchdog". Anything else is reported as "unknown".
# 2. No watchdog0: a legacy misc-device driver such as ipmi_watchdog may own
#    /dev/watchdog; it is in use when it is loaded (/sys/module/<m>/initstate).
# 3. Otherwise, or when watchdog-mux does not hold /dev/watchdog: none.
#
# The report is what this run saw; the step runs again only when its module
# changes (see docs/operations.md "Watchdog: reboot required").
#
# Stdout: module=<module> active=<module in use|unknown|none> reboot-required=yes|no
set -euo pipefail

me=watchdog.sh
die() {
    printf '%s: %s\n' "$me" "$*" >&2
    exit 1
}

(($# == 1)) || die "usage: watchdog.sh <kernel-module>"
module=$1
[[ $module =~ ^[A-Za-z0-9_]{1,55}$ ]] || die "invalid kernel module name '$module'"

# ---- the module must exist for the running kernel (kmod tools/modinfo.c:
# "modinfo: ERROR: Module <m> not found." and exit 1 otherwise)
command -v modinfo >/dev/null 2>&1 || die "modinfo not found (package kmod): cannot check that the running kernel has module '$module'"
if ! err=$(modinfo -F filename "$module" 2>&1 >/dev/null); then
    err=$(tr -s '\n' ' ' <<<"$err")
    die "the running kernel ($(uname -r)) has no module '$module' (${err% }); watchdog-mux would fail to load it at the next boot and not fall back to softdog, leaving the node without an HA watchdog: set nodes[].watchdog to a module that \`modinfo\` finds on the node (softdog is always available)"
fi

conf=/etc/default/pve-ha-manager

# ---- configuration file
if [[ -e $conf ]]; then
    target=$(readlink -f -- "$conf")
    [[ -f $target ]] || die "$conf is not a regular file"
    current=$(cat -- "$target")
    desired=$(awk -v m="$module" '
        /^[[:space:]]*(export[[:space:]]+)?WATCHDOG_MODULE=/ { if (!done) print "WATCHDOG_MODULE=" m; done = 1; next }
        { print }
        END { if (!done) print "WATCHDOG_MODULE=" m }' "$target")
else
    target=$conf
    current=""
    desired=$'# select watchdog module (default is softdog)\nWATCHDOG_MODULE='"$module"
fi
if [[ ! -e $target || $current != "$desired" ]]; then
    dir=$(dirname -- "$target")
    [[ -d $dir ]] || die "$dir does not exist (is pve-ha-manager installed?)"
    tmp=$(mktemp "$dir/.pve-ha-manager.XXXXXX")
    trap 'rm -f "$tmp"' EXIT
    printf '%s\n' "$desired" >"$tmp"
    if [[ -e $target ]]; then
        chmod --reference="$target" "$tmp"
    else
        chmod 0644 "$tmp"
    fi
    mv -f -- "$tmp" "$target"
    trap - EXIT
fi

# ---- module in use
active=none
wd0=/sys/class/watchdog/watchdog0
if [[ -e $wd0 ]]; then
    active=unknown
    if [[ -e $wd0/device/driver/module ]]; then
        mod=$(readlink -f -- "$wd0/device/driver/module")
        active=${mod##*/}
    elif [[ -r $wd0/identity && $(<"$wd0/identity") == "Software Watchdog" ]]; then
        active=softdog
    fi
elif [[ -e /sys/module/$module/initstate ]]; then
    active=$module
fi

# A watchdog-mux process holds /dev/watchdog open (its fd links name it).
mux_holds_watchdog() {
    local p fd comm
    for p in /proc/[0-9]*; do
        comm=$(cat "$p/comm" 2>/dev/null) || continue
        [[ $comm == watchdog-mux ]] || continue
        for fd in "$p"/fd/*; do
            [[ $(readlink "$fd" 2>/dev/null) == /dev/watchdog ]] && return 0
        done
    done
    return 1
}
if [[ $active != none ]] && { [[ ! -e /dev/watchdog ]] || ! mux_holds_watchdog; }; then
    active=none
fi

reboot=no
[[ $active == "$module" ]] || reboot=yes
printf 'module=%s active=%s reboot-required=%s\n' "$module" "$active" "$reboot"
