#!/usr/bin/env bash
# cluster-create.sh <cluster-name> <link0> [<link1> …]
#
# On the first node: creates the Proxmox VE cluster (`pvecm create`), or
# confirms it exists, then prints what the later steps need from this node,
# so that no separate read step sits between the create and the first join:
# the certificate fingerprint (for the joins) and root's public key (for the
# qnetd host). The provider's API token is not made here (api-access.sh and
# api-token.sh, which run before this step): a re-run of this step changes
# nothing about the token.
#
# Arguments:
#   <cluster-name>  at most 15 letters, digits, '-'.
#   <linkN>         a pvecm link property string: `10.0.0.11` or
#                   `address=10.0.0.11,priority=20` (passed as --link0,
#                   --link1, … in order).
#
# Cluster:
# - Already in a cluster of this name: no change, action=exists.
# - Already in a cluster of another name: refused, nothing changed.
# - `pvecm create` does its work in a task worker and exits 0 even when that
#   task failed (docs/proxmox-facts.md §1, "Exit-code caveat"), so its exit code is
#   not trusted: afterwards /etc/pve/corosync.conf must exist and name this
#   cluster, and `pvecm status` must report quorum. On failure the task's error
#   text (what pvecm printed on stderr) is the reason reported.
# - Membership is detected by `test -f /etc/pve/corosync.conf` first and only
#   then by `pvecm status`: without corosync.conf `pvecm status` dies with an
#   exit code that may be 2, the same value corosync-quorumtool uses for "not
#   quorate" (docs/proxmox-facts.md §1).
#
# Fingerprint: the SHA-256 of the certificate pveproxy serves, the value a
# joining node passes to `pvecm add --fingerprint` so it never has to confirm
# an unknown certificate interactively (docs/proxmox-facts.md §2). Which file: as
# PVE::Cluster::get_node_fingerprint picks it, /etc/pve/nodes/<node>/
# pveproxy-ssl.pem when a custom certificate is installed, else pve-ssl.pem.
# Format `([A-F0-9]{2}:){31}[A-F0-9]{2}`. Read after the create, never while
# `pvecm create` restarts pve-cluster (§1); creating the cluster does not
# change the certificate, joining nodes regenerate only their own.
#
# Public key: root's RSA key, /root/.ssh/id_rsa.pub, the key that `pvecm
# qdevice setup` uses for ssh-copy-id and scp/ssh to the qnetd host
# (`ssh-copy-id -i /root/.ssh/id_rsa`, §3 step 4). The qnetd host authorizes
# exactly this line (qnetd-authorize.sh), so the QDevice setup never needs a
# password or a prompt. `pvecm create` creates the key when it is missing (§1).
#
# Output only on success, all lines at the end: a failed run prints nothing on
# stdout (the command provider puts a failed run's output in its error message).
#
# Stdout:
#   cluster=<name> action=created|exists
#   fingerprint=AA:BB:…
#   pubkey=<the single line of /root/.ssh/id_rsa.pub>
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

# ---- the cluster
if [[ -f $conf ]]; then
    existing=$(conf_cluster_name)
    [[ $existing == "$name" ]] || die "this node is already in cluster '${existing:-<unnamed>}', not '$name'; refusing to create another"
    wait_quorate || die "cluster '$name' exists but this node is not quorate: $(quorum_summary)"
    action=exists
else
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
    action=created
fi

# ---- fingerprint of the API certificate
# PVE's node name is the host name up to the first dot.
node=$(uname -n)
node=${node%%.*}
dir=/etc/pve/nodes/$node
cert=$dir/pveproxy-ssl.pem
[[ -f $cert ]] || cert=$dir/pve-ssl.pem
[[ -f $cert ]] || die "no API certificate at $dir/pve-ssl.pem: is this a Proxmox VE node named '$node'?"
# OpenSSL 3 prints "sha256 Fingerprint=AA:…", 1.1 "SHA256 Fingerprint=AA:…".
raw=$(openssl x509 -noout -fingerprint -sha256 -in "$cert" 2>&1) || die "cannot read $cert: $raw"
fp=${raw#*=}
fp=${fp^^}
[[ $fp =~ ^([A-F0-9]{2}:){31}[A-F0-9]{2}$ ]] || die "unexpected fingerprint output from openssl for $cert: $raw"

# ---- root's public key
pub=/root/.ssh/id_rsa.pub
[[ -f $pub ]] || die "$pub does not exist (pvecm create creates it when missing: was it removed since?)"
mapfile -t lines < <(grep -v '^[[:space:]]*$' "$pub")
((${#lines[@]} == 1)) || die "$pub must hold exactly one key line, found ${#lines[@]}"
key=${lines[0]}
[[ $key =~ ^ssh-rsa\ [A-Za-z0-9+/]+={0,3}(\ [[:print:]]*)?$ ]] || die "$pub does not hold an ssh-rsa public key line"

printf '%s\n' "cluster=$name action=$action" "fingerprint=$fp" "pubkey=$key"
