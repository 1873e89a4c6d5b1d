#!/usr/bin/env bash
# qnetd-authorize.sh <pubkey-line>
#
# On the qnetd host: lets the first node's root log in with its key (the
# pubkey= line cluster-create.sh printed), so `pvecm qdevice setup` runs its
# ssh-copy-id, ssh and scp steps without a password prompt (docs/proxmox-facts.md
# §3 step 4).
#
# - The key line is validated here, not trusted: `<type> <base64> [comment]`
#   with a known key type, no authorized_keys options (no command=, from=, …),
#   printable characters only, and ssh-keygen must be able to parse it.
# - Appended once to /root/.ssh/authorized_keys: a line with the same key type
#   and key material (any comment, any options) already counts as present.
#   The file is only ever appended to, never rewritten (on a host that is a
#   PVE node it is a symlink into /etc/pve/priv; appending goes through it).
# - Root password login is never enabled: sshd_config is not touched at all.
#   Key login for root needs PermitRootLogin prohibit-password (Debian's
#   default) or yes; nothing here changes it.
#
# Stdout: authorized=yes action=added|present
set -euo pipefail

me=${0##*/}
die() {
    printf '%s: %s\n' "$me" "$*" >&2
    exit 1
}

(($# == 1)) || die "usage: qnetd-authorize.sh '<type> <base64> [comment]'"
line=$1
types='ssh-rsa|ssh-ed25519|ecdsa-sha2-nistp256|ecdsa-sha2-nistp384|ecdsa-sha2-nistp521|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com'
[[ $line != *$'\n'* && $line != *$'\r'* ]] || die "the key must be a single line"
[[ $line =~ ^($types)\ ([A-Za-z0-9+/]+={0,3})(\ [[:print:]]{0,200})?$ ]] ||
    die "not a public key line '<type> <base64> [comment]' with a known type and no options: '${line:0:60}…'"
type=${BASH_REMATCH[1]} blob=${BASH_REMATCH[2]}
# ssh-keygen decodes the key material: a truncated or corrupted key is refused.
ssh-keygen -l -f /dev/stdin <<<"$line" >/dev/null 2>&1 || die "ssh-keygen cannot parse the $type key (corrupted or truncated?)"

dir=/root/.ssh
keys=$dir/authorized_keys
if [[ ! -d $dir ]]; then
    mkdir -p "$dir"
    chmod 700 "$dir"
fi

# Present: any line whose fields contain this type followed by this blob
# (options before the type and comments after it are allowed).
if [[ -e $keys ]] && awk -v t="$type" -v b="$blob" '
        /^[[:space:]]*(#|$)/ { next }
        { for (i = 1; i < NF; i++) if ($i == t && $(i + 1) == b) { found = 1; exit } }
        END { exit found ? 0 : 1 }' "$keys"; then
    printf 'authorized=yes action=present\n'
    exit 0
fi

if [[ ! -e $keys ]]; then
    (umask 077 && : >>"$keys")
fi
# Keep the file's last line intact: add a newline first if it lacks one.
# ($(…) drops a trailing newline, so it is empty exactly when the file ends with one.)
if [[ -n $(tail -c 1 "$keys") ]]; then
    printf '\n' >>"$keys"
fi
printf '%s\n' "$line" >>"$keys"
printf 'authorized=yes action=added\n'
