#!/usr/bin/env bash
# join-check.sh <cluster-name> <joining-node>
#
# On the first node (the peer every join goes through), right before a node
# joins: reads what the join needs and refuses a join Proxmox advises
# against. Read-only: it writes nothing, restarts nothing, creates no token,
# so running it again (for every join, or when a node is replaced) costs
# nothing and never rotates the API token that cluster-create prints.
#
# Fingerprint: the SHA-256 of the certificate pveproxy serves NOW, as
# PVE::Cluster::get_node_fingerprint picks it (/etc/pve/nodes/<node>/
# pveproxy-ssl.pem when a custom certificate is installed, else pve-ssl.pem).
# pveupdate renews pve-ssl.pem (pve-manager bin/pveupdate), so a fingerprint
# stored when the cluster was created no longer matches for a node that joins
# months later ("fingerprint '…' not verified, abort!"). `pvecm create` does
# not change the certificate (pve-cluster Setup.pm gen_pve_node_files without
# force), so reading it before the cluster exists gives the same value.
#
# QDevice: with a `device {` block in corosync.conf's quorum section, a node
# that is not yet in the nodelist is refused: pvecm.adoc ("Adding/Deleting
# Nodes After QDevice Setup") says to remove the QDevice before adding nodes
# and set it up again afterwards; joining under it would leave a cluster with
# an odd node count under ffsplit by accident. A node already in the nodelist
# passes (its join step only confirms membership).
#
# Cluster: none yet (a fresh site: this runs alongside the create) is fine; a
# cluster of another name is refused.
#
# Stdout: fingerprint=<AA:BB:…> cluster=<name|none> member=yes|no qdevice=none|configured
#         (configured only for a node that is already a member)
set -euo pipefail

me=${0##*/}
die() {
    printf '%s: %s\n' "$me" "$*" >&2
    exit 1
}

(($# == 2)) || die "usage: join-check.sh <cluster-name> <joining-node>"
cluster=$1 joiner=$2
[[ $cluster =~ ^[A-Za-z0-9]([A-Za-z0-9-]{0,13}[A-Za-z0-9])?$ ]] || die "invalid cluster name '$cluster'"
[[ $joiner =~ ^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$ ]] || die "invalid node name '$joiner'"

conf=/etc/pve/corosync.conf
node=$(uname -n)
node=${node%%.*}

# ---- fingerprint of the API certificate, as it is now
dir=/etc/pve/nodes/$node
cert=$dir/pveproxy-ssl.pem
[[ -f $cert ]] || cert=$dir/pve-ssl.pem
[[ -f $cert ]] || die "no API certificate at $dir/pve-ssl.pem: is this a Proxmox VE node named '$node'?"
# OpenSSL 3 prints "sha256 Fingerprint=AA:…", 1.1 "SHA256 Fingerprint=AA:…".
raw=$(openssl x509 -noout -fingerprint -sha256 -in "$cert" 2>&1) || die "cannot read $cert: $raw"
fp=${raw#*=}
fp=${fp^^}
[[ $fp =~ ^([A-F0-9]{2}:){31}[A-F0-9]{2}$ ]] || die "unexpected fingerprint output from openssl for $cert: $raw"

# ---- the cluster as its corosync.conf describes it
have=none member=no device=no
if [[ -f $conf ]]; then
    # One pass over corosync.conf's sections: the cluster name, the nodelist's
    # names, and whether quorum { device { … } } exists.
    read -r have member device < <(awk -v j="$joiner" '
        { line = $0; sub(/#.*/, "", line) }
        line ~ /\{/ { split(line, w, /[[:space:]{]+/); name = w[1] == "" ? w[2] : w[1]; stack[++depth] = name; if (depth == 2 && stack[1] == "quorum" && name == "device") dev = 1 }
        line ~ /^[[:space:]]*cluster_name:/ { c = line; sub(/^[[:space:]]*cluster_name:[[:space:]]*/, "", c); sub(/[[:space:]].*$/, "", c) }
        depth >= 2 && stack[1] == "nodelist" && line ~ /^[[:space:]]*name:/ { n = line; sub(/^[[:space:]]*name:[[:space:]]*/, "", n); sub(/[[:space:]].*$/, "", n); if (n == j) m = 1 }
        line ~ /\}/ { depth-- }
        END { printf "%s %s %s\n", (c == "" ? "-" : c), (m ? "yes" : "no"), (dev ? "yes" : "no") }' "$conf")
    [[ $have == "$cluster" ]] || die "node $node is in cluster '$have', not '$cluster'; refusing to prepare a join"
    if [[ $member == no && $device == yes ]]; then
        die "cluster '$cluster' has a QDevice configured; Proxmox advises removing it before a node is added (pvecm.adoc, Adding/Deleting Nodes After QDevice Setup), so $joiner is not joined: on $node run 'pvecm qdevice remove', then re-run 'pulumi up' (it joins $joiner, then sets the QDevice up again)"
    fi
fi

qdevice=none
[[ $device == yes ]] && qdevice=configured
printf 'fingerprint=%s cluster=%s member=%s qdevice=%s\n' "$fp" "$have" "$member" "$qdevice"
