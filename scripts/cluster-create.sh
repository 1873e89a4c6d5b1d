#!/usr/bin/env bash
# cluster-create.sh <cluster-name> <link0> [<link1> …]
#
# Creates the Proxmox VE cluster on the first node (`pvecm create`), or
# confirms it exists. Each link is a pvecm link property string: `10.0.0.11`
# or `address=10.0.0.11,priority=20` (passed as --link0, --link1, … in order).
#
# - Already in a cluster of this name: no change, action=exists.
# - Already in a cluster of another name: refused, nothing changed.
# - `pvecm create` does its work in a task worker and exits 0 even when that
#   task failed (proxmox-facts.md §1, "Exit-code caveat"), so its exit code is
#   not trusted: afterwards /etc/pve/corosync.conf must exist and name this
#   cluster, and `pvecm status` must report quorum. On failure the task's error
#   text (what pvecm printed on stderr) is the reason reported.
# - Membership is detected by `test -f /etc/pve/corosync.conf` first and only
#   then by `pvecm status`: without corosync.conf `pvecm status` dies with an
#   exit code that may be 2, the same value corosync-quorumtool uses for "not
#   quorate" (proxmox-facts.md §1).
#
# Stdout: cluster=<name> action=created|exists
set -euo pipefail

me=${0##*/}
die() {
    printf '%s: %s\n' "$me" "$*" >&2
    exit 1
}
oneline() { tr -s '\n\t ' '   ' <<<"$1" | sed 's/^ //; s/ $//'; }

(($# >= 2)) || die "usage: cluster-create.sh <cluster-name> <link0> [<link1> …]"
name=$1
shift
[[ $name =~ ^[A-Za-z0-9]([A-Za-z0-9-]{0,13}[A-Za-z0-9])?$ ]] || die "invalid cluster name '$name' (at most 15 letters, digits, '-')"
(($# <= 8)) || die "at most 8 corosync links (link0…link7), got $#"
link_args=()
n=0
for link in "$@"; do
    [[ $link =~ ^(address=)?[0-9A-Fa-f.:]+(,priority=[0-9]{1,3})?$ ]] || die "invalid link '$link' (expected an IP or address=<ip>,priority=<n>)"
    link_args+=("--link$n" "$link")
    n=$((n + 1))
done

conf=/etc/pve/corosync.conf
# pvecm refuses to run from inside /etc/pve (pmxcfs restarts under it).
cd /

conf_cluster_name() {
    sed -n 's/^[[:space:]]*cluster_name:[[:space:]]*\([^[:space:]]*\).*/\1/p' "$conf" | head -n 1
}

# Quorum summary for messages: "Quorate: No, Total votes: 1, Expected votes: 2".
quorum_summary() {
    local status
    status=$(pvecm status 2>&1) || true
    oneline "$(grep -E '^(Quorate|Total votes|Expected votes|Quorum):' <<<"$status" | tr -s ' ' | sed 's/ *$//' | awk 'NR > 1 { printf ", " } { printf "%s", $0 }')"
}

# Waits (up to 30 s) for this node to be in cluster $name and quorate.
wait_quorate() {
    local i
    for ((i = 0; i < 30; i++)); do
        if [[ -f $conf ]] && [[ $(conf_cluster_name) == "$name" ]] && pvecm status >/dev/null 2>&1; then
            return 0
        fi
        sleep 1
    done
    return 1
}

if [[ -f $conf ]]; then
    existing=$(conf_cluster_name)
    [[ $existing == "$name" ]] || die "this node is already in cluster '${existing:-<unnamed>}', not '$name'; refusing to create another"
    wait_quorate || die "cluster '$name' exists but this node is not quorate: $(quorum_summary)"
    printf 'cluster=%s action=exists\n' "$name"
    exit 0
fi

errfile=$(mktemp)
trap 'rm -f "$errfile"' EXIT
rc=0
output=$(pvecm create "$name" "${link_args[@]}" </dev/null 2>"$errfile") || rc=$?
err=$(<"$errfile")

if [[ ! -f $conf ]]; then
    reason=$(oneline "$(grep -v '^[[:space:]]*$' <<<"$err" | tail -n 3)")
    [[ -n $reason ]] || reason=$(oneline "$(tail -n 3 <<<"$output")")
    die "pvecm create failed (exit $rc, no /etc/pve/corosync.conf afterwards): ${reason:-no error text}"
fi
created=$(conf_cluster_name)
[[ $created == "$name" ]] || die "pvecm create left a cluster named '$created', expected '$name'"
wait_quorate || die "cluster '$name' was created but this node is not quorate after 30 s: $(quorum_summary)${err:+ (pvecm: $(oneline "$err"))}"
printf 'cluster=%s action=created\n' "$name"
