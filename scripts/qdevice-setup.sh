#!/usr/bin/env bash
# qdevice-setup.sh <qnetd-address> <qnetd-host-key> <expected-votes> <tie-breaker>
#
# On the first node, once every node has joined and the qnetd host trusts this
# node's root key (qnetd-authorize.sh): adds the QDevice as the cluster's extra
# vote with `pvecm qdevice setup <address>` (docs/proxmox-facts.md §3).
# <qnetd-host-key> is the stack's pinned `<type> <base64>`; <expected-votes> is
# nodes + 1 for the even node counts PVE supports (ffsplit); <tie-breaker> is
# the stack's qdevice.tieBreaker, lowest|highest (see 6.).
#
# `pvecm qdevice setup` is not idempotent, so:
# 1. corosync.conf is read first. A `device {` block inside `quorum {` whose
#    `host:` is this address means it is configured: no `pvecm qdevice setup`
#    (it would refuse: "QDevice already configured!"), but its last steps are
#    finished when an earlier run was interrupted after writing that block
#    (pve-cluster src/PVE/CLI/pvecm.pm setup_qdevice writes the block, THEN
#    starts and enables corosync-qdevice on each node over SSH, THEN runs
#    `corosync-cfgtool -R`): on every node, over the cluster's own SSH as
#    pvecm does it (src/PVE/SSHInfo.pm ssh_info_to_command), corosync-qdevice
#    is started when it is not active and enabled when it is not enabled, and
#    after any start `corosync-cfgtool -R` runs; then the checks of step 5
#    (action=configured when something was started, else present). The nodes
#    and their addresses come from `pvesh get /cluster/status`. A device for
#    another host is an error that names that host; changing the qnetd host
#    needs `pvecm qdevice remove` first, which this script never runs.
# 2. The qnetd host key is added to /root/.ssh/known_hosts (appended once, as
#    `<address> <type> <base64>`; a different key of the same type for that
#    address is an error, never replaced), so pvecm's ssh-copy-id, ssh and scp
#    to the qnetd host neither prompt nor fail host-key checking.
# 3. A leftover certificate store /etc/corosync/qdevice/net/nssdb (left by an
#    earlier setup that stopped after initialising it, §3 steps 5 and 7) makes
#    pvecm refuse with "QDevice certificate store already initialised, set force
#    to delete!". It is moved aside to nssdb.stale-<UTC time> (kept, not
#    deleted). Why that is safe: we only get here when corosync.conf has no
#    `device {` block, so no QDevice is configured and corosync-qdevice has
#    nothing that uses the store; everything in it is re-created by the setup
#    itself (the qnetd CA certificate fetched again in step 7, the cluster
#    certificate requested and signed again in step 8). It is exactly what
#    `--force` would `rm -rf` (pvecm.pm), but `--force` is not used because it
#    also switches an odd-sized cluster to the `lms` algorithm PVE does not
#    support; without it pvecm keeps refusing odd node counts. pvecm checks
#    only this node's store; the other nodes tolerate an existing one (their
#    `-i` errors are ignored, the certificate is imported into it).
# 4. `pvecm qdevice setup <address>` runs with stdin from /dev/null (nothing to
#    answer). Its errors are real non-zero exits ("QDevice already
#    configured!", "All nodes must be online! …", "Clusters with an odd node
#    count are not officially supported!") and are reported with their text.
# 5. Verified, waiting up to 30 s for the QDevice daemons to connect:
#    `pvecm status` exits 0, its `Flags:` line contains Quorate and Qdevice,
#    `Expected votes:` equals <expected-votes>, and the Qdevice membership line
#    shows it casting its vote (not "(votes N)").
# 6. Before the checks of 5, the tie-breaker: with ffsplit, when the two halves
#    of the cluster cannot see each other but both see the QNetd, the QNetd's
#    vote goes to the half with the lowest node id, unless
#    quorum.device.net.tie_breaker says otherwise (pve-docs pvecm.adoc "Tie
#    Breaking"; man corosync-qdevice). pvecm writes no tie_breaker, so:
#    - when corosync.conf's value (absent = lowest) differs from <tie-breaker>,
#      /etc/pve/corosync.conf is edited as pvecm.adoc "Edit corosync.conf"
#      says: a copy (.new) gets `tie_breaker: <tie-breaker>` in
#      quorum.device.net and config_version + 1, the current file is kept as
#      corosync.conf.bak, the copy is moved over it; pmxcfs then writes every
#      node's /etc/corosync/corosync.conf and corosync reloads it;
#    - on every node whose corosync-qdevice reports another tie-breaker
#      (`corosync-qdevice-tool -s`), once that node's corosync has loaded the
#      value (`corosync-cmapctl -g quorum.device.net.tie_breaker`, up to 30 s),
#      corosync-qdevice is restarted (pvecm.adoc: the option "requires a
#      restart of corosync-qdevice.service on all nodes").
#    Both parts are skipped when already in place, so a re-run is a no-op and
#    an interrupted run is finished by the next one.
#
# Stdout: qdevice=<address> action=configured|present (configured: this run
# ran the setup or finished an interrupted one)
set -euo pipefail

me=${0##*/}
die() {
    printf '%s: %s\n' "$me" "$*" >&2
    exit 1
}
oneline() { tr -s '\n\t ' '   ' <<<"$1" | sed 's/^ //; s/ $//'; }

(($# == 4)) || die "usage: qdevice-setup.sh <qnetd-address> '<type> <base64>' <expected-votes> lowest|highest"
addr=$1 hostkey=$2 expected=$3 tiebreaker=$4
[[ $tiebreaker == lowest || $tiebreaker == highest ]] || die "invalid tie-breaker '$tiebreaker' (lowest or highest)"
[[ $addr =~ ^[0-9A-Fa-f.:]+$ ]] || die "invalid qnetd address '$addr' (pvecm requires an IP)"
[[ $hostkey =~ ^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp256|ecdsa-sha2-nistp384|ecdsa-sha2-nistp521)\ ([A-Za-z0-9+/]+={0,3})$ ]] ||
    die "invalid qnetd host key (expected '<type> <base64>')"
keytype=${BASH_REMATCH[1]} keyblob=${BASH_REMATCH[2]}
if ! [[ $expected =~ ^[0-9]+$ ]] || ((expected < 3)); then
    die "invalid expected votes '$expected' (nodes + 1, at least 3)"
fi

conf=/etc/pve/corosync.conf
nssdb=/etc/corosync/qdevice/net/nssdb
cd /
[[ -f $conf ]] || die "this node is not in a cluster (no $conf): create the cluster and join the nodes first"

# "none", or "device <host|->" for a `device {` block inside `quorum {`.
configured_device() {
    awk '
        { sub(/#.*/, ""); for (i = 1; i <= NF; i++) tok[++nt] = $i }
        END {
            depth = 0; dev = 0; host = ""
            for (i = 1; i <= nt; i++) {
                if ((i + 1) <= nt && tok[i + 1] == "{") {
                    path[++depth] = tok[i]; i++
                    if (depth == 2 && path[1] == "quorum" && path[2] == "device") dev = 1
                    continue
                }
                if (tok[i] == "}") { if (depth > 0) depth--; continue }
                if (depth == 3 && path[1] == "quorum" && path[2] == "device" && path[3] == "net" && tok[i] == "host:") host = tok[i + 1]
                if (tok[i] ~ /:$/) i++
            }
            if (dev) print "device " (host == "" ? "-" : host); else print "none"
        }' "$conf"
}

ensure_known_host() {
    local dir=/root/.ssh kh=/root/.ssh/known_hosts found line t b
    if [[ ! -d $dir ]]; then
        mkdir -p "$dir"
        chmod 700 "$dir"
    fi
    found=no
    if [[ -f $kh ]]; then
        # ssh-keygen -F also finds hashed entries; it prints "<host> <type> <key>" lines.
        while read -r _ t b _; do
            [[ $t == "$keytype" ]] || continue
            [[ $b == "$keyblob" ]] || die "$kh already holds a different $keytype key for $addr; if the qnetd host was reinstalled, check its key and remove the old one with 'ssh-keygen -R $addr'"
            found=yes
        done < <(ssh-keygen -F "$addr" -f "$kh" 2>/dev/null | grep -v '^#' || true)
    fi
    if [[ $found == no ]]; then
        line="$addr $keytype $keyblob"
        (umask 077 && printf '%s\n' "$line" >>"$kh")
    fi
}

# Reason text when the check below fails.
status_summary() {
    local status
    status=$(pvecm status 2>&1) || true
    oneline "$(grep -E '^(Quorate|Expected votes|Total votes|Quorum|Flags):|Qdevice' <<<"$status" | tr -s ' ' | sed 's/ *$//' | awk 'NR > 1 { printf ", " } { printf "%s", $0 }')"
}

verified() {
    local status flags exp
    status=$(pvecm status 2>/dev/null) || return 1
    flags=$(sed -n 's/^Flags:[[:space:]]*//p' <<<"$status")
    exp=$(sed -n 's/^Expected votes:[[:space:]]*\([0-9]*\).*/\1/p' <<<"$status")
    [[ " $flags " == *" Quorate "* && " $flags " == *" Qdevice "* ]] || return 1
    [[ $exp == "$expected" ]] || return 1
    # 0x00000000 line: "Qdevice" when it casts its vote, "Qdevice (votes N)" when not.
    grep -Eq '^(0x00000000|[[:space:]]*0)[[:space:]]+[1-9][0-9]*[[:space:]]+Qdevice[[:space:]]*$' <<<"$status"
}

wait_verified() {
    local i
    for ((i = 0; i < 30; i++)); do
        verified && return 0
        sleep 1
    done
    return 1
}

# "<name> <ip>" per cluster node, from the API's view (the address pmxcfs knows for each node).
cluster_nodes() {
    local json
    json=$(pvesh get /cluster/status --output-format json 2>/dev/null) || return 1
    perl -MJSON::PP -e '
        my $d = eval { JSON::PP->new->decode(join("", <STDIN>)) };
        exit 1 if ref($d) ne "ARRAY";
        for my $n (grep { ($_->{type} // "") eq "node" } @$d) {
            exit 1 if ($n->{name} // "") !~ /^[A-Za-z0-9.-]+$/ || ($n->{ip} // "") !~ /^[0-9A-Fa-f.:]+$/;
            print "$n->{name} $n->{ip}\n";
        }
    ' <<<"$json"
}

# Runs a command on a cluster node as pvecm does (SSHInfo.pm ssh_info_to_command).
on_node() {
    local name=$1 ip=$2
    shift 2
    local cmd=(ssh -e none -o BatchMode=yes -o "HostKeyAlias=$name")
    if [[ -f /etc/pve/nodes/$name/ssh_known_hosts ]]; then
        cmd+=(-o "UserKnownHostsFile=/etc/pve/nodes/$name/ssh_known_hosts" -o GlobalKnownHostsFile=none)
    fi
    "${cmd[@]}" "root@$ip" -- "$@" </dev/null
}

# pvecm's steps after the device block (start + enable on every node, reload), where missing.
# Prints "started" when it started a daemon anywhere.
finish_setup() {
    local nodes name ip state out started=no
    nodes=$(cluster_nodes) || die "cannot list the cluster's nodes (pvesh get /cluster/status failed)"
    [[ -n $nodes ]] || die "pvesh get /cluster/status lists no nodes"
    while read -r name ip; do
        state=$(on_node "$name" "$ip" systemctl is-active corosync-qdevice 2>/dev/null) || true
        if [[ $state != active ]]; then
            out=$(on_node "$name" "$ip" systemctl start corosync-qdevice 2>&1) ||
                die "QDevice $addr is configured but corosync-qdevice does not start on $name: $(oneline "$out") (was the setup interrupted before the certificates were imported? then 'pvecm qdevice remove' and re-run)"
            started=yes
        fi
        if ! on_node "$name" "$ip" systemctl is-enabled --quiet corosync-qdevice >/dev/null 2>&1; then
            out=$(on_node "$name" "$ip" systemctl enable corosync-qdevice 2>&1) || die "cannot enable corosync-qdevice on $name: $(oneline "$out")"
        fi
    done <<<"$nodes"
    if [[ $started == yes ]]; then
        out=$(corosync-cfgtool -R 2>&1) || die "corosync-cfgtool -R failed: $(oneline "$out")"
        printf 'started\n'
    fi
}


# The tie_breaker of quorum.device.net in corosync.conf ($1: the file), "lowest" when absent
# (corosync-qdevice's default, man corosync-qdevice).
conf_tie_breaker() {
    awk '
        { sub(/#.*/, ""); for (i = 1; i <= NF; i++) tok[++nt] = $i }
        END {
            depth = 0; tb = "lowest"
            for (i = 1; i <= nt; i++) {
                if ((i + 1) <= nt && tok[i + 1] == "{") { path[++depth] = tok[i]; i++; continue }
                if (tok[i] == "}") { if (depth > 0) depth--; continue }
                if (depth == 3 && path[1] == "quorum" && path[2] == "device" && path[3] == "net" && tok[i] == "tie_breaker:") tb = tok[i + 1]
                if (tok[i] ~ /:$/) i++
            }
            print tb
        }' "$1"
}

conf_version() {
    sed -n 's/^[[:space:]]*config_version:[[:space:]]*\([0-9]*\).*/\1/p' "$1" | head -n 1
}

# pvecm.adoc "Edit corosync.conf": edit a copy, raise config_version, move it over
# /etc/pve/corosync.conf (pmxcfs then writes every node's /etc/corosync/corosync.conf
# and corosync reloads it). Sets or replaces tie_breaker in quorum.device.net.
write_tie_breaker() {
    local new=/etc/pve/corosync.conf.new version
    version=$(conf_version "$conf")
    [[ $version =~ ^[0-9]+$ ]] || die "cannot read config_version from $conf"
    awk -v tb="$tiebreaker" -v ver="$((version + 1))" '
        function indent(s) { match(s, /^[[:space:]]*/); return substr(s, 1, RLENGTH) }
        {
            line = $0; code = line; sub(/#.*/, "", code)
            n = split(code, w, /[[:space:]]+/)
            first = (w[1] == "" ? w[2] : w[1]); second = (w[1] == "" ? w[3] : w[2])
            if (second == "{") { path[++depth] = first }
            if (depth == 3 && path[1] == "quorum" && path[2] == "device" && path[3] == "net" && first == "tie_breaker:") { next }
            if (depth == 1 && path[1] == "totem" && first == "config_version:") { print indent(line) "config_version: " ver; next }
            if (first == "}") {
                if (depth == 3 && path[1] == "quorum" && path[2] == "device" && path[3] == "net") print indent(prev_in_net) "tie_breaker: " tb
                depth--
            }
            if (depth == 3 && path[3] == "net" && first != "" && second != "{") prev_in_net = line
            print line
        }' "$conf" >"$new"
    [[ $(conf_tie_breaker "$new") == "$tiebreaker" && $(conf_version "$new") == "$((version + 1))" ]] || {
        rm -f "$new"
        die "could not set tie_breaker in a copy of $conf (unexpected layout); nothing changed"
    }
    cp "$conf" /etc/pve/corosync.conf.bak
    mv "$new" "$conf"
}

# 6. above. Prints "changed" when it edited corosync.conf or restarted a daemon.
apply_tie_breaker() {
    local changed=no nodes name ip tool value i
    if [[ $(conf_tie_breaker "$conf") != "$tiebreaker" ]]; then
        write_tie_breaker
        changed=yes
    fi
    nodes=$(cluster_nodes) || die "cannot list the cluster's nodes (pvesh get /cluster/status failed)"
    while read -r name ip; do
        tool=$(on_node "$name" "$ip" corosync-qdevice-tool -s 2>&1) || true
        grep -Eq "^Tie-breaker:[[:space:]]+Node with $tiebreaker node ID[[:space:]]*$" <<<"$tool" && continue
        for ((i = 0; i < 30; i++)); do
            value=$(on_node "$name" "$ip" corosync-cmapctl -g quorum.device.net.tie_breaker 2>&1) || true
            [[ $value == *"= $tiebreaker" ]] && break
            [[ $tiebreaker == lowest && $value == *CS_ERR_NOT_EXIST* ]] && break
            sleep 1
        done
        ((i < 30)) || die "corosync on $name did not load tie_breaker $tiebreaker within 30 s (cmap: $(oneline "$value")); check that /etc/corosync/corosync.conf there has it, then run 'corosync-cfgtool -R'"
        out=$(on_node "$name" "$ip" systemctl restart corosync-qdevice 2>&1) || die "cannot restart corosync-qdevice on $name: $(oneline "$out")"
        changed=yes
    done <<<"$nodes"
    if [[ $changed == yes ]]; then printf 'changed\n'; fi
}

device=$(configured_device)
if [[ $device != none ]]; then
    host=${device#device }
    [[ $host == "$addr" ]] || die "the cluster already has a QDevice on '$host', not '$addr'; remove it with 'pvecm qdevice remove' first (this script never removes one)"
    ensure_known_host
    finished=$(finish_setup)
    tie=$(apply_tie_breaker)
    wait_verified || die "QDevice $addr is configured but the cluster does not show it voting: $(status_summary) (expected votes $expected; is corosync-qdevice running on every node and corosync-qnetd on $addr?)"
    printf 'qdevice=%s action=%s\n' "$addr" "$([[ $finished == started || $tie == changed ]] && echo configured || echo present)"
    exit 0
fi

ensure_known_host

if [[ -e $nssdb ]]; then
    stale="$nssdb.stale-$(date -u +%Y%m%dT%H%M%SZ)"
    mv "$nssdb" "$stale" || die "cannot move the leftover certificate store $nssdb aside"
    printf '%s: moved leftover certificate store %s to %s (no QDevice configured; setup re-creates it)\n' "$me" "$nssdb" "$stale" >&2
fi

errfile=$(mktemp)
trap 'rm -f "$errfile"' EXIT
rc=0
output=$(pvecm qdevice setup "$addr" </dev/null 2>"$errfile") || rc=$?
err=$(<"$errfile")
if ((rc != 0)); then
    reason=$(oneline "$(grep -v '^[[:space:]]*$' <<<"$err" | tail -n 3 || true)")
    [[ -n $reason ]] || reason=$(oneline "$(tail -n 3 <<<"$output")")
    if grep -q 'QDevice already configured' <<<"$err"; then
        die "a QDevice was configured meanwhile (by someone else?): $(configured_device); pvecm: $reason"
    fi
    die "pvecm qdevice setup $addr failed (exit $rc): ${reason:-no error text}"
fi

apply_tie_breaker >/dev/null
wait_verified || die "pvecm qdevice setup $addr finished but the cluster does not show the QDevice voting: $(status_summary) (expected votes $expected)"
printf 'qdevice=%s action=configured\n' "$addr"
