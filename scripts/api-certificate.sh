#!/usr/bin/env bash
# api-certificate.sh <node> <address>
#
# On a cluster member: makes pveproxy (the Proxmox API on port 8006) serve the
# stack's certificate, so that the Pulumi provider, which verifies the API's
# certificate against the system trust store of the machine running pulumi
# and has no CA option of its own, reaches the API over verified TLS.
#
# stdin (a secret, never an argument): the certificate chain in PEM, leaf
# first, then the unencrypted private key in PEM.
#
# Arguments:
#   <node>     the node's name; must be this host's node name (uname -n up to
#              the first dot), the directory /etc/pve/nodes/<node>.
#   <address>  the address the provider connects to (the node's API address):
#              the script checks what pveproxy serves there.
#
# What it does, each part only when needed (a re-run changes nothing):
# 1. Splits stdin into the chain and the key in a private temporary directory
#    (mode 700, removed on exit), and refuses, before touching anything, text
#    without a certificate or a key, and a key that is not the leaf's (same
#    public key).
# 2. When /etc/pve/nodes/<node>/pveproxy-ssl.pem and .key differ from them:
#      pvenode cert set <chain> <key> --force 1 --restart 1
#    (pve-manager PVE/API2/Certificates.pm upload_custom_cert through
#    PVE/CLI/pvenode.pm: PVE::CertHelpers::set_cert_files writes both files
#    into /etc/pve/nodes/<node>/, checks that the key matches the chain and
#    restores the previous files when not; --force replaces an existing
#    custom or ACME certificate; --restart runs `systemctl reload-or-restart
#    pveproxy`). pveproxy serves /etc/pve/local/pveproxy-ssl.pem when it
#    and its key exist (PVE/Service/pveproxy.pm init), else pve-ssl.pem.
#    /etc/pve is the cluster filesystem: the write needs quorum.
# 3. Reads the certificate pveproxy serves at <address>:8006; when it is not
#    the leaf (files written but pveproxy not restarted, e.g. a run
#    interrupted between the two), runs the same `pvenode cert set` again,
#    which restarts pveproxy, and waits (at most 30 s) until it serves it.
#
# Output (stdout): certificate=installed|unchanged fingerprint=<SHA-256 of the leaf>
# Errors: one line on stderr, prefixed with the script name; exit 1 (2 for usage).
set -euo pipefail

me=api-certificate
die() {
    echo "$me: $*" >&2
    exit 1
}

(($# == 2)) || {
    echo "$me: usage: api-certificate.sh <node> <address> (chain and key on stdin)" >&2
    exit 2
}
node=$1
address=$2
[[ $node =~ ^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$ ]] || die "invalid node name '$node'"
[[ $address =~ ^[A-Za-z0-9.:-]+$ ]] || die "invalid address '$address'"

self=$(uname -n)
self=${self%%.*}
[[ $self == "$node" ]] || die "this host's node name is '$self', not '$node': wrong host for this step"
dir=/etc/pve/nodes/$node
[[ -d $dir ]] || die "$dir does not exist: is this a Proxmox VE node named '$node'?"

umask 077
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# ---- 1. split stdin: every CERTIFICATE block into chain.pem, the one key block into key.pem
awk -v chain="$work/chain.pem" -v key="$work/key.pem" '
    /^-----BEGIN CERTIFICATE-----/ { out = chain }
    /^-----BEGIN ([A-Z]+ )?PRIVATE KEY-----/ { out = key; keys++ }
    out != "" { print > out }
    /^-----END / { out = "" }
    END { if (keys > 1) exit 3 }
' || die "stdin holds more than one private key; send the chain, then its one key"
[[ -s $work/chain.pem ]] || die "no PEM certificate on stdin (expected the chain, leaf first, then the key)"
[[ -s $work/key.pem ]] || die "no PEM private key on stdin (expected the chain, then the key)"

leaf_pub=$(openssl x509 -noout -pubkey -in "$work/chain.pem" 2>"$work/err") ||
    die "the certificate does not parse: $(head -n1 "$work/err")"
key_pub=$(openssl pkey -pubout -in "$work/key.pem" -passin pass: 2>"$work/err") ||
    die "the private key does not parse (or is encrypted; pveproxy needs it unencrypted): $(head -n1 "$work/err")"
[[ $leaf_pub == "$key_pub" ]] || die "the private key does not belong to the first certificate of the chain; nothing was changed"

fp=$(openssl x509 -noout -fingerprint -sha256 -in "$work/chain.pem")
fp=${fp#*=}
fp=${fp^^}

# The served certificate's fingerprint, or "" when nothing answers.
served() {
    local host=$address
    [[ $host == *:* ]] && host="[$host]"
    openssl s_client -connect "$host:8006" </dev/null 2>/dev/null |
        openssl x509 -noout -fingerprint -sha256 2>/dev/null |
        sed 's/^[^=]*=//' | tr '[:lower:]' '[:upper:]' || true
}

set_cert() {
    pvenode cert set "$work/chain.pem" "$work/key.pem" --force 1 --restart 1 >"$work/out" 2>&1 ||
        die "pvenode cert set failed: $(grep -v '^[[:space:]]*$' "$work/out" | tail -n1)"
}

# ---- 2. the files
action=unchanged
if ! cmp -s "$work/chain.pem" "$dir/pveproxy-ssl.pem" || ! cmp -s "$work/key.pem" "$dir/pveproxy-ssl.key"; then
    set_cert
    action=installed
fi

# ---- 3. what pveproxy serves
if [[ $(served) != "$fp" ]]; then
    [[ $action == installed ]] || set_cert
    action=installed
    for _ in $(seq 1 30); do
        [[ $(served) == "$fp" ]] && break
        sleep 1
    done
    now=$(served)
    [[ $now == "$fp" ]] || die "pveproxy at $address:8006 serves ${now:-nothing} instead of the installed certificate $fp after 30 s; see journalctl -u pveproxy"
fi

echo "certificate=$action fingerprint=$fp"
