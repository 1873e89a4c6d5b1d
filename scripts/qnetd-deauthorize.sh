#!/usr/bin/env bash
# qnetd-deauthorize.sh <pubkey-line>
#
# The delete of the qnetd-authorize step (the QDevice went from the stack, or
# the first node's key changed): removes every line of /root/.ssh/authorized_keys
# on the qnetd host that holds this key (same type and key material, any
# options or comment). Every other line stays as it was. The QDevice itself is
# not touched (`pvecm qdevice remove` is the operator's, docs/operations.md):
# it works over TLS, not SSH.
#
# Stdout: deauthorized=yes action=removed|absent
set -euo pipefail

me=${0##*/}
die() {
    printf '%s: %s\n' "$me" "$*" >&2
    exit 1
}

(($# == 1)) || die "usage: qnetd-deauthorize.sh '<type> <base64> [comment]'"
line=$1
[[ $line =~ ^([A-Za-z0-9@.-]+)\ ([A-Za-z0-9+/]+={0,3})(\ .*)?$ ]] || die "not a public key line '<type> <base64> [comment]'"
type=${BASH_REMATCH[1]} blob=${BASH_REMATCH[2]}

keys=/root/.ssh/authorized_keys
count() {
    awk -v t="$type" -v b="$blob" '
        /^[[:space:]]*(#|$)/ { next }
        { for (i = 1; i < NF; i++) if ($i == t && $(i + 1) == b) { n++; next } }
        END { print n + 0 }' "$keys"
}
if [[ ! -e $keys ]] || (($(count) == 0)); then
    printf 'deauthorized=yes action=absent\n'
    exit 0
fi
target=$(readlink -f "$keys")
tmp=$(mktemp "$(dirname "$target")/.authorized_keys.XXXXXX")
trap 'rm -f "$tmp"' EXIT
awk -v t="$type" -v b="$blob" '
    !/^[[:space:]]*(#|$)/ { for (i = 1; i < NF; i++) if ($i == t && $(i + 1) == b) next }
    { print }' "$keys" >"$tmp"
chmod --reference="$target" "$tmp" 2>/dev/null || chmod 600 "$tmp"
mv -f "$tmp" "$target"
trap - EXIT
printf 'deauthorized=yes action=removed\n'
