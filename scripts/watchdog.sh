#!/usr/bin/env bash
# watchdog.sh <module>
#
# Configures the watchdog module the HA stack uses (proxmox-facts §5) by
# writing WATCHDOG_MODULE=<module> to /etc/default/pve-ha-manager, and reports
# whether the running kernel already uses that module.
#
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
# Which module is in use (read from sysfs, nothing is probed or loaded):
# 1. /sys/class/watchdog/watchdog0 exists: that device owns /dev/watchdog (the
#    watchdog core gives the legacy /dev/watchdog to id 0 only). Its module is
#    the target of watchdog0/device/driver/module (hardware drivers such as
#    iTCO_wdt); softdog has no parent device and is recognised by its identity
#    "Software Watchdog". Anything else is reported as "unknown".
# 2. No watchdog0: a legacy misc-device driver such as ipmi_watchdog may own
#    /dev/watchdog; it is in use when it is loaded (/sys/module/<m>/initstate).
# 3. Otherwise: none.
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

reboot=no
[[ $active == "$module" ]] || reboot=yes
printf 'module=%s active=%s reboot-required=%s\n' "$module" "$active" "$reboot"
