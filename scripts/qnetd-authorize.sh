#!/usr/bin/env bash
# qnetd-authorize.sh <pubkey-line> <from-list>
#
# On the qnetd host: lets the first node's root log in with its key (the
# pubkey= line cluster-create.sh printed), so `pvecm qdevice setup` runs its
# ssh-copy-id, ssh and scp steps without a password prompt
# (docs/proxmox-facts.md §3 step 4), and nothing more than those need.
#
# The key is restricted (sshd(8), AUTHORIZED_KEYS FILE FORMAT):
#   from="<from-list>",restrict <type> <base64> [comment]
# - from=: only from the cluster nodes' addresses (<from-list>, comma-separated
#   IPs; the component passes every node's management and link addresses).
# - restrict: no port, agent or X11 forwarding, no PTY, no ~/.ssh/rc. What
#   `pvecm qdevice setup` runs on this host still works (pve-cluster
#   src/PVE/CLI/pvecm.pm, qdevice setup): ssh-copy-id (its check logs in and
#   runs `exit`; the key is already there, so it installs nothing),
#   `ssh -o BatchMode=yes -lroot <qnetd> corosync-qnetd-certutil -i`, the same
#   with `-s -c /tmp/qdevice-net-node.crq -n <cluster>`, and scp both ways
#   (OpenSSH 9's scp uses the sftp subsystem): all plain commands without a
#   PTY or forwarding. A forced command is not used: scp/sftp and ssh-copy-id's
#   check would each need their own exception.
#
# - The key line is validated here, not trusted: `<type> <base64> [comment]`
#   with a known key type, no authorized_keys options of its own, printable
#   characters only, and ssh-keygen must be able to parse it.
# - A line with the same key type and key material already counts as this
#   key: with exactly these options it is left alone (action=present); with
#   other or no options (an older, unrestricted line) it is rewritten in place
#   with these (action=restricted); otherwise the line is appended
#   (action=added). A rewrite goes through a temporary file next to the real
#   file (the link target when authorized_keys is a symlink, as on a PVE node)
#   and a rename; every other line stays as it was.
# - Root password login is never enabled: sshd_config is not touched at all.
#   Key login for root needs PermitRootLogin prohibit-password (Debian's
#   default) or yes; nothing here changes it.
# - Removing the QDevice from the stack runs qnetd-deauthorize.sh, which
#   removes the line again.
#
# Stdout: authorized=yes action=added|present|restricted
set -euo pipefail

me=${0##*/}
die() {
    printf '%s: %s\n' "$me" "$*" >&2
    exit 1
}

(($# == 2)) || die "usage: qnetd-authorize.sh '<type> <base64> [comment]' <ip>[,<ip>…]"
line=$1 from=$2
[[ $from =~ ^[0-9A-Fa-f.:]+(,[0-9A-Fa-f.:]+){0,63}$ ]] || die "invalid from-list '$from' (comma-separated IP addresses)"
types='ssh-rsa|ssh-ed25519|ecdsa-sha2-nistp256|ecdsa-sha2-nistp384|ecdsa-sha2-nistp521|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com'
[[ $line != *$'\n'* && $line != *$'\r'* ]] || die "the key must be a single line"
[[ $line =~ ^($types)\ ([A-Za-z0-9+/]+={0,3})(\ [[:print:]]{0,200})?$ ]] ||
    die "not a public key line '<type> <base64> [comment]' with a known type and no options: '${line:0:60}…'"
type=${BASH_REMATCH[1]} blob=${BASH_REMATCH[2]}
# ssh-keygen decodes the key material: a truncated or corrupted key is refused.
ssh-keygen -l -f /dev/stdin <<<"$line" >/dev/null 2>&1 || die "ssh-keygen cannot parse the $type key (corrupted or truncated?)"

dir=/root/.ssh
keys=$dir/authorized_keys
options="from=\"$from\",restrict"
want="$options $line"
if [[ ! -d $dir ]]; then
    mkdir -p "$dir"
    chmod 700 "$dir"
fi

# Lines holding this key: any line whose fields contain this type followed by
# this blob (options before the type, comments after it).
matching() {
    awk -v t="$type" -v b="$blob" '
        /^[[:space:]]*(#|$)/ { next }
        { for (i = 1; i < NF; i++) if ($i == t && $(i + 1) == b) { print NR; next } }' "$keys"
}

if [[ -e $keys ]]; then
    mapfile -t at < <(matching)
    if ((${#at[@]} > 0)); then
        current=$(sed -n "${at[0]}p" "$keys")
        if ((${#at[@]} == 1)) && [[ ${current%% "$type" *} == "$options" ]]; then
            printf 'authorized=yes action=present\n'
            exit 0
        fi
        # Rewrite: the first matching line becomes the restricted one, further copies go.
        target=$(readlink -f "$keys")
        tmp=$(mktemp "$(dirname "$target")/.authorized_keys.XXXXXX")
        trap 'rm -f "$tmp"' EXIT
        awk -v first="${at[0]}" -v want="$want" -v t="$type" -v b="$blob" '
            NR == first { print want; next }
            !/^[[:space:]]*(#|$)/ { for (i = 1; i < NF; i++) if ($i == t && $(i + 1) == b) next }
            { print }' "$keys" >"$tmp"
        chmod --reference="$target" "$tmp" 2>/dev/null || chmod 600 "$tmp"
        mv -f "$tmp" "$target"
        trap - EXIT
        printf 'authorized=yes action=restricted\n'
        exit 0
    fi
fi

if [[ ! -e $keys ]]; then
    (umask 077 && : >>"$keys")
fi
# Keep the file's last line intact: add a newline first if it lacks one.
# ($(…) drops a trailing newline, so it is empty exactly when the file ends with one.)
if [[ -n $(tail -c 1 "$keys") ]]; then
    printf '\n' >>"$keys"
fi
printf '%s\n' "$want" >>"$keys"
printf 'authorized=yes action=added\n'
