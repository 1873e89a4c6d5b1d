#!/usr/bin/env bash
# packages.sh <package>...
#
# Installs the Debian packages that are missing (corosync-qdevice on nodes,
# corosync-qnetd on the qnetd host), non-interactively and quietly; a no-op
# when all are installed (then apt is not even called).
#
# - Installed means dpkg-query reports the status "... installed".
# - apt-get runs with DEBIAN_FRONTEND=noninteractive, keeps existing config
#   files (--force-confdef/--force-confold), waits up to 5 minutes for the dpkg
#   lock (unattended-upgrades), and its output goes to a temporary log that is
#   shown (last error line) only on failure.
# - When the install fails (e.g. "Unable to locate package" on a host whose
#   package lists were never fetched, or stale lists), it runs
#   `apt-get update` once and retries.
# - Afterwards every package is checked again: apt's exit code alone is not
#   trusted.
#
# Stdout: installed=<comma-separated packages it installed, or none>
set -euo pipefail

me=packages.sh
die() {
    printf '%s: %s\n' "$me" "$*" >&2
    exit 1
}

(($# >= 1)) || die "usage: packages.sh <package>..."
for p in "$@"; do
    [[ $p =~ ^[a-z0-9][a-z0-9+.-]+$ ]] || die "invalid Debian package name '$p'"
done
command -v dpkg-query >/dev/null 2>&1 || die "dpkg-query not found: not a Debian system"

is_installed() {
    local status
    status=$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) || return 1
    [[ $status == *" installed" ]]
}

missing=()
for p in "$@"; do
    is_installed "$p" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
    echo "installed=none"
    exit 0
fi

command -v apt-get >/dev/null 2>&1 || die "apt-get not found; cannot install ${missing[*]}"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
export DEBIAN_FRONTEND=noninteractive
apt_opts=(-q -o DPkg::Lock::Timeout=300)

last_error() {
    local line
    line=$(grep -E '^(E|Err|W):' "$log" | tail -n 1 || true)
    [[ -n $line ]] || line=$(tail -n 1 "$log")
    printf '%s' "$line"
}

install_missing() {
    apt-get install -y "${apt_opts[@]}" \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
        "${missing[@]}" >>"$log" 2>&1
}

if ! install_missing; then
    apt-get update "${apt_opts[@]}" >>"$log" 2>&1 || die "apt-get update failed: $(last_error)"
    install_missing || die "apt-get install ${missing[*]} failed: $(last_error)"
fi

for p in "${missing[@]}"; do
    is_installed "$p" || die "$p is still not installed after apt-get install: $(last_error)"
done
(
    IFS=,
    printf 'installed=%s\n' "${missing[*]}"
)
