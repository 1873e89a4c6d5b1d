#!/usr/bin/env bash
# packages.sh [--repository enterprise|no-subscription] <package>...
#
# Installs the Debian packages that are missing (corosync-qdevice on nodes,
# corosync-qnetd on the qnetd host), non-interactively and quietly; a no-op
# when all are installed (then apt is not even called).
#
# --repository (Proxmox VE nodes only) selects the Proxmox package repository
# the stack chose, the PVE 9 way (pve-docs pve-package-repos.adoc): PVE 9 ships
# /etc/apt/sources.list.d/pve-enterprise.sources and ceph.sources as deb822
# entries on enterprise.proxmox.com, enabled; without a subscription key every
# `apt-get update` then fails with "401 Unauthorized" and exits 100.
# - no-subscription: every deb822 entry on enterprise.proxmox.com gets
#   `Enabled: no` (apt-pkg/sourcelist.cc skips such a stanza), a legacy
#   one-line `deb …enterprise.proxmox.com…` is commented out, and
#   /etc/apt/sources.list.d/proxmox.sources gains the pve-no-subscription
#   entry of the docs unless an enabled entry already names it.
# - enterprise: the enterprise entries are enabled again (our `Enabled: no`
#   removed) and enabled pve-no-subscription entries get `Enabled: no`.
# Files are rewritten only when their content changes (temp file + rename,
# mode kept); every other line and entry is kept as it is.
#
# - Installed means dpkg-query reports the status "... installed".
# - apt-get runs with DEBIAN_FRONTEND=noninteractive, keeps existing config
#   files (--force-confdef/--force-confold), waits up to 5 minutes for the dpkg
#   lock (unattended-upgrades), and its output goes to a temporary log that is
#   shown (last error line) only on failure.
# - When the install fails (e.g. "Unable to locate package" on a host whose
#   package lists were never fetched, or stale lists), it runs
#   `apt-get update` once and retries. apt-get update exits 100 when ANY
#   index failed (apt-pkg/update.cc AcquireUpdate), although the other lists
#   (Debian's) were downloaded: its exit code is not fatal, the retry is.
# - Success is judged by what is installed: afterwards every package is
#   checked again, apt's exit codes alone are not trusted. A failure names the
#   update's error (e.g. the 401 of the enterprise repository, with the fix).
#
# Stdout: installed=<comma-separated packages it installed, or none>
#         sources=changed|unchanged   (second line, only with --repository)
set -euo pipefail

me=packages.sh
die() {
    printf '%s: %s\n' "$me" "$*" >&2
    exit 1
}
usage="usage: packages.sh [--repository enterprise|no-subscription] <package>..."

repository=''
if [[ ${1:-} == --repository ]]; then
    (($# >= 2)) || die "$usage"
    repository=$2
    shift 2
    [[ $repository == enterprise || $repository == no-subscription ]] ||
        die "invalid repository '$repository' (expected enterprise or no-subscription)"
fi
(($# >= 1)) || die "$usage"
for p in "$@"; do
    [[ $p =~ ^[a-z0-9][a-z0-9+.-]+$ ]] || die "invalid Debian package name '$p'"
done
command -v dpkg-query >/dev/null 2>&1 || die "dpkg-query not found: not a Debian system"

# ---- repository selection (deb822 .sources and legacy .list files)
sources_dir=/etc/apt/sources.list.d
ENTERPRISE_RE='enterprise\.proxmox\.com'

# Writes $2 to file $1 when it differs, atomically, keeping the mode.
write_if_changed() {
    local file=$1 content=$2 tmp
    if [[ -e $file && $(cat -- "$file") == "$content" ]]; then
        return 1
    fi
    tmp=$(mktemp "$sources_dir/.packages.XXXXXX")
    printf '%s\n' "$content" >"$tmp"
    if [[ -e $file ]]; then chmod --reference="$file" "$tmp"; else chmod 0644 "$tmp"; fi
    mv -f -- "$tmp" "$file"
}

# One deb822 file with each stanza's Enabled: set for the wanted repository.
# A stanza is "enterprise" when a URIs: line names enterprise.proxmox.com,
# "nosub" when its Components: name pve-no-subscription; others are untouched.
# Enabled values apt reads as false (StringToBool): no, false, off, without, disable, 0.
retarget_sources() {
    awk -v want="$repository" '
        function flush(   i, cls, enabled_at, val, keep) {
            if (n == 0) return
            cls = ""; enabled_at = 0
            for (i = 1; i <= n; i++) {
                if (buf[i] ~ /^URIs:/ && buf[i] ~ /enterprise\.proxmox\.com/) cls = "enterprise"
                if (buf[i] ~ /^Components:/ && buf[i] ~ /(^|[[:space:]])pve-no-subscription([[:space:]]|$)/) cls = "nosub"
                if (buf[i] ~ /^Enabled:/) enabled_at = i
            }
            keep = (cls == "") || (cls == "enterprise" && want == "enterprise") || (cls == "nosub" && want == "no-subscription")
            for (i = 1; i <= n; i++) {
                if (i == enabled_at && cls != "") {
                    if (!keep) print "Enabled: no"
                    # a wanted entry: drop a disabling Enabled: line (absent means enabled)
                    else {
                        val = tolower(buf[i]); sub(/^enabled:[[:space:]]*/, "", val)
                        if (val !~ /^(no|false|off|without|disable|0)[[:space:]]*$/) print buf[i]
                    }
                    continue
                }
                print buf[i]
            }
            if (!keep && !enabled_at) print "Enabled: no"
            n = 0
        }
        /^[[:space:]]*$/ { flush(); print; next }
        { buf[++n] = $0 }
        END { flush() }' "$1"
}

# A legacy one-line file with enterprise lines commented out (or back in).
retarget_list() {
    if [[ $repository == no-subscription ]]; then
        sed -E "s|^([[:space:]]*deb(-src)?[[:space:]].*$ENTERPRISE_RE)|# \1|" "$1"
    else
        sed -E "s|^# (deb(-src)?[[:space:]].*$ENTERPRISE_RE)|\1|" "$1"
    fi
}

# An enabled pve-no-subscription entry exists in some .sources or .list file.
has_nosub_entry() {
    local f
    for f in "$sources_dir"/*.sources; do
        [[ -f $f ]] || continue
        awk 'BEGIN { RS = ""; found = 0 }
            /(^|\n)Components:[^\n]*pve-no-subscription/ &&
            !/(^|\n)Enabled:[[:space:]]*([Nn][Oo]|false|off|without|disable|0)/ { found = 1 }
            END { exit !found }' "$f" && return 0
    done
    for f in /etc/apt/sources.list "$sources_dir"/*.list; do
        [[ -f $f ]] || continue
        grep -qE '^[[:space:]]*deb[[:space:]].*[[:space:]]pve-no-subscription([[:space:]]|$)' "$f" && return 0
    done
    return 1
}

# The suite of the PVE entries: the shipped enterprise entry's, else the OS codename.
pve_suite() {
    local suite='' f
    for f in "$sources_dir"/*.sources; do
        [[ -f $f ]] || continue
        suite=$(awk 'BEGIN { RS = "" } /enterprise\.proxmox\.com\/debian\/pve/ {
            if (match($0, /(^|\n)Suites:[[:space:]]*[^[:space:]]+/)) { s = substr($0, RSTART, RLENGTH); sub(/.*Suites:[[:space:]]*/, "", s); print s; exit } }' "$f")
        [[ -z $suite ]] || break
    done
    if [[ -z $suite && -r /etc/os-release ]]; then
        # shellcheck disable=SC1091
        suite=$(. /etc/os-release && printf '%s' "${VERSION_CODENAME:-}")
    fi
    [[ $suite =~ ^[a-z]+$ ]] || die "cannot tell the Debian suite for the Proxmox repository (no enterprise entry, no VERSION_CODENAME in /etc/os-release)"
    printf '%s' "$suite"
}

sources_changed=unchanged
if [[ -n $repository ]]; then
    [[ -d $sources_dir ]] || die "$sources_dir does not exist: not a Debian system"
    shopt -s nullglob
    for f in "$sources_dir"/*.sources "$sources_dir"/*.list; do
        [[ -L $f ]] && f=$(readlink -f -- "$f")
        [[ -f $f ]] || continue
        if [[ $f == *.sources ]]; then new=$(retarget_sources "$f"); else new=$(retarget_list "$f"); fi
        write_if_changed "$f" "$new" && sources_changed=changed
    done
    shopt -u nullglob
    if [[ $repository == no-subscription ]] && ! has_nosub_entry; then
        suite=$(pve_suite)
        entry="Types: deb
URIs: http://download.proxmox.com/debian/pve
Suites: $suite
Components: pve-no-subscription
Signed-By: /usr/share/keyrings/proxmox-archive-keyring.gpg"
        file=$sources_dir/proxmox.sources
        if [[ -s $file ]]; then
            write_if_changed "$file" "$(cat -- "$file")"$'\n\n'"$entry" || true
        else
            write_if_changed "$file" "$entry" || true
        fi
        sources_changed=changed
    fi
fi

report() {
    (
        IFS=,
        printf 'installed=%s\n' "${*:-none}"
    )
    [[ -z $repository ]] || printf 'sources=%s\n' "$sources_changed"
}

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
    report
    exit 0
fi

command -v apt-get >/dev/null 2>&1 || die "apt-get not found; cannot install ${missing[*]}"
log=$(mktemp)
updlog=$(mktemp)
trap 'rm -f "$log" "$updlog"' EXIT
export DEBIAN_FRONTEND=noninteractive
apt_opts=(-q -o DPkg::Lock::Timeout=300)

last_error() {
    local line
    line=$(grep -E '^(E|Err|W):' "$1" | tail -n 1 || true)
    [[ -n $line ]] || line=$(tail -n 1 "$1")
    printf '%s' "$line"
}

install_missing() {
    apt-get install -y "${apt_opts[@]}" \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
        "${missing[@]}" >>"$log" 2>&1
}

update_note=''
if ! install_missing; then
    # Not fatal: exit 100 also when only one repository failed (401 of enterprise).
    if ! apt-get update "${apt_opts[@]}" >"$updlog" 2>&1; then
        update_note="; apt-get update failed too: $(last_error "$updlog")"
        if grep -qE "$ENTERPRISE_RE.*401|401.*$ENTERPRISE_RE" "$updlog"; then
            update_note+=" (the enterprise repository needs a subscription key on this node: set cluster.repository: no-subscription in the stack, or add the key)"
        fi
    fi
    install_missing || true
fi

for p in "${missing[@]}"; do
    is_installed "$p" || die "apt-get install ${missing[*]} failed: $(last_error "$log")$update_note"
done
report "${missing[@]}"
