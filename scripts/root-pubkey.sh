#!/usr/bin/env bash
# root-pubkey.sh
#
# Prints root's RSA public key on this (the first) node: the key that
# `pvecm qdevice setup` uses for ssh-copy-id and scp/ssh to the qnetd host
# (`ssh-copy-id -i /root/.ssh/id_rsa`, proxmox-facts.md §3 step 4). The qnetd
# host authorizes exactly this line (qnetd-authorize.sh), so the QDevice setup
# never needs a password or a prompt. `pvecm create`/`add` create the key when
# it is missing (§1), so run this after cluster-create. Read-only.
#
# Stdout: pubkey=<the single line of /root/.ssh/id_rsa.pub>
set -euo pipefail

me=${0##*/}
die() {
    printf '%s: %s\n' "$me" "$*" >&2
    exit 1
}

(($# == 0)) || die "usage: root-pubkey.sh (no arguments)"
pub=/root/.ssh/id_rsa.pub
[[ -f $pub ]] || die "$pub does not exist (pvecm create/add creates it: is the cluster created on this node?)"
mapfile -t lines < <(grep -v '^[[:space:]]*$' "$pub")
((${#lines[@]} == 1)) || die "$pub must hold exactly one key line, found ${#lines[@]}"
key=${lines[0]}
[[ $key =~ ^ssh-rsa\ [A-Za-z0-9+/]+={0,3}(\ [[:print:]]*)?$ ]] || die "$pub does not hold an ssh-rsa public key line"
printf 'pubkey=%s\n' "$key"
