#!/usr/bin/env bash
# cluster-fingerprint.sh
#
# Prints the SHA-256 fingerprint of this node's API certificate, the value a
# joining node passes to `pvecm add --fingerprint` so it never has to confirm
# an unknown certificate interactively (proxmox-facts.md §2).
#
# Which certificate: the one pveproxy serves, as PVE::Cluster::get_node_fingerprint
# picks it: /etc/pve/nodes/<node>/pveproxy-ssl.pem when a custom certificate is
# installed, else pve-ssl.pem. Format: `([A-F0-9]{2}:){31}[A-F0-9]{2}`.
# Read-only; run it after cluster-create (creating the cluster does not change
# the certificate, joining nodes regenerate only their own).
#
# Stdout: fingerprint=AA:BB:…
set -euo pipefail

me=${0##*/}
die() {
    printf '%s: %s\n' "$me" "$*" >&2
    exit 1
}

(($# == 0)) || die "usage: cluster-fingerprint.sh (no arguments)"

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
printf 'fingerprint=%s\n' "$fp"
