#!/usr/bin/env bash
# zrepl-disable.sh daemon|repair-timer
#
# Runs when zrepl is switched off in the stack (the delete of the commands
# that set it up): stops and disables the zrepl daemon, or the repair timer.
# It removes nothing: the package, /etc/zrepl/zrepl.yml, the copies under
# rootFs, and zrepl's snapshots, holds and bookmarks stay (release holds with
# `zrepl zfs-abstraction release-all` before destroying copies by hand).
#
# Stdout: stopped=<unit>
set -euo pipefail

me=zrepl-disable.sh
die() {
    printf '%s: %s\n' "$me" "$*" >&2
    exit 1
}

(($# == 1)) || die "usage: zrepl-disable.sh daemon|repair-timer"
case $1 in
daemon) unit=zrepl.service ;;
repair-timer) unit=zrepl-repair.timer ;;
*) die "unknown unit '$1' (daemon or repair-timer)" ;;
esac

if systemctl cat "$unit" >/dev/null 2>&1; then
    systemctl disable --now --quiet "$unit"
fi
printf 'stopped=%s\n' "$unit"
