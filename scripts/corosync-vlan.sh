#!/usr/bin/env bash
# corosync-vlan.sh <parent-iface> <tag> <address/prefix> <mtu-or-empty>
#
# Brings up the VLAN interface <parent>.<tag> that carries a corosync link,
# before the cluster exists: `pvecm create`/`add` refuse a link address that is
# not configured on the node ("link0: cannot use IP '<ip>', not found on local
# node!", docs/proxmox-facts.md §2), so the Proxmox API (which needs the cluster)
# cannot be used for it.
#
# - Writes one ifupdown2 stanza file, /etc/network/interfaces.d/proxmox-ha-<parent>-<tag>
#   (dots in the parent name become '-': Debian's source-directory skips file
#   names with dots), only when its content differs, then applies it with
#   `ifreload -a`. /etc/network/interfaces itself is never edited: it must
#   already include interfaces.d (`source /etc/network/interfaces.d/*`, PVE's
#   default; docs/proxmox-facts.md §9) or the script stops with that reason.
# - An interface of that name defined anywhere else is refused (two
#   definitions of one interface are ambiguous), unless that definition
#   already has this exact address, which counts as unchanged.
# - Re-run: unchanged content and the address already on the interface is a
#   no-op (no reload); if the address is missing (an earlier reload failed),
#   it reloads again.
# - Verified afterwards: `ip -o addr show dev <parent>.<tag>` lists the address.
# - Addresses are compared in one canonical form (IPv6 as inet_ntop prints it),
#   and the stanza is written in that form.
#
# Stdout: iface=<parent>.<tag> action=created|updated|unchanged
set -euo pipefail

me=${0##*/}
die() {
    printf '%s: %s\n' "$me" "$*" >&2
    exit 1
}
oneline() { tr -s '\n\t ' '   ' <<<"$1" | sed 's/^ //; s/ $//'; }

(($# == 4)) || die "usage: corosync-vlan.sh <parent-iface> <tag> <address/prefix> <mtu-or-empty>"
parent=$1 tag=$2 address=$3 mtu=$4
[[ $parent =~ ^[A-Za-z][A-Za-z0-9_.-]{0,14}$ ]] || die "invalid parent interface '$parent'"
if ! [[ $tag =~ ^[0-9]{1,4}$ ]] || ((10#$tag < 1 || 10#$tag > 4094)); then
    die "invalid VLAN tag '$tag' (1-4094)"
fi
tag=$((10#$tag))
if [[ $address =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}/[0-9]{1,2}$ ]]; then
    family=inet
elif [[ $address =~ ^[0-9A-Fa-f:]+/[0-9]{1,3}$ && $address == *:* ]]; then
    family=inet6
else
    die "invalid address '$address' (expected <ip>/<prefix>, e.g. 10.40.1.11/24)"
fi
# One text per address: IPv6 in the RFC 5952 form (lowercase, zeros
# compressed) that inet_ntop(3) gives and iproute2 prints, so fd00:10:0::11/64
# from the stack matches fd00:10::11/64 in `ip addr` and in stanzas. Perl's
# Socket calls the C library's inet_pton/inet_ntop (perl is on every PVE node).
canon() {
    local a=${1%/*} p=${1##*/}
    if [[ $a == *:* ]]; then
        a=$(perl -MSocket=inet_pton,inet_ntop,AF_INET6 -e 'my $b = inet_pton(AF_INET6, $ARGV[0]) or exit 1; print inet_ntop(AF_INET6, $b)' "$a") || return 1
    fi
    [[ $p =~ ^[0-9]{1,3}$ ]] || return 1
    printf '%s/%d' "$a" "$((10#$p))"
}
address=$(canon "$address") || die "invalid address '$address' (expected <ip>/<prefix>, e.g. 10.40.1.11/24)"
[[ -z $mtu || ($mtu =~ ^[0-9]{3,5}$ && $mtu -ge 576 && $mtu -le 65535) ]] || die "invalid MTU '$mtu' (576-65535 or empty)"
iface=$parent.$tag
((${#iface} <= 15)) || die "interface name '$iface' is longer than 15 characters"

dir=/etc/network/interfaces.d
main=/etc/network/interfaces
file=$dir/proxmox-ha-${parent//./-}-$tag

[[ -f $main ]] || die "$main does not exist"
grep -Eq '^[[:space:]]*(source[[:space:]]+/etc/network/interfaces\.d/\*|source-directory[[:space:]]+/etc/network/interfaces\.d/?)[[:space:]]*$' "$main" ||
    die "$main does not include $dir (add 'source /etc/network/interfaces.d/*' as Proxmox VE does by default); not editing it"

has_address() {
    local a
    while read -r a; do
        [[ $(canon "$a" 2>/dev/null) == "$address" ]] && return 0
    done < <(ip -o addr show dev "$iface" 2>/dev/null | awk '{ for (i = 1; i < NF; i++) if ($i == "inet" || $i == "inet6") print $(i + 1) }')
    return 1
}

# Defined elsewhere? (iface <name> in the main file or another interfaces.d file)
shopt -s nullglob
others=()
for f in "$main" "$dir"/*; do
    [[ -f $f && $f != "$file" ]] || continue
    if grep -Eq "^[[:space:]]*iface[[:space:]]+${iface//./\\.}([[:space:]]|$)" "$f"; then
        others+=("$f")
    fi
done
shopt -u nullglob
if ((${#others[@]})); then
    while read -r a; do
        if [[ $(canon "$a" 2>/dev/null) == "$address" ]]; then
            printf 'iface=%s action=unchanged\n' "$iface"
            exit 0
        fi
    done < <(awk -v i="$iface" '
            $1 == "iface" { cur = ($2 == i) }
            $1 == "auto" || $1 == "source" { cur = 0 }
            cur && $1 == "address" { print $2 }' "${others[@]}")
    die "interface $iface is already defined in ${others[*]} with another address; not defining it a second time"
fi

content="# Managed by proxmox-ha (scripts/corosync-vlan.sh): corosync link VLAN.
auto $iface
iface $iface $family static
	address $address"
[[ -z $mtu ]] || content+=$'\n'"	mtu $mtu"
content+=$'\n'

action=unchanged
if [[ ! -f $file ]]; then
    action=created
elif [[ $(<"$file")$'\n' != "$content" ]]; then
    action=updated
fi

if [[ $action != unchanged ]]; then
    mkdir -p "$dir"
    tmp=$(mktemp "$dir/.proxmox-ha.XXXXXX")
    printf '%s' "$content" >"$tmp"
    chmod 644 "$tmp"
    mv -f "$tmp" "$file"
fi

if [[ $action != unchanged ]] || ! has_address; then
    msg=$(ifreload -a 2>&1) || die "ifreload -a failed after writing $file: $(oneline "$msg")"
fi
has_address || die "after ifreload -a, $iface does not have $address (check 'ip addr show dev $iface' and the parent interface $parent)"
printf 'iface=%s action=%s\n' "$iface" "$action"
