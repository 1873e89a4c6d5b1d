#!/usr/bin/env bash
# cluster-join.sh [--timeout <seconds>] [--peer-link <address>]… <cluster-name> <peer-address> <fingerprint> <link0> [<link1> …]
# stdin, first line: the root password of the peer (an existing member).
#
# --peer-link   the peer's corosync link addresses, in link order (link0 first):
#               before pvecm runs, this node must reach each of them from its own
#               address on the same link (`ping -I <own> <peer>`), else nothing is
#               done. A wrong link address, a link VLAN that is down, or a path
#               that drops ICMP is caught here; UDP 5405-5412 blocked or an MTU
#               too small is not (ping cannot see it): the time bound catches it.
# --timeout     bound of `pvecm add`, default 300 s. Once the peer has added
#               this node (pve-cluster API2/ClusterConfig.pm addnode), pvecm
#               waits for quorum without limit (Setup.pm finish_join "waiting
#               for quorum..."); when corosync traffic cannot pass, it never
#               comes, the peer counts a vote that never arrives and is
#               inquorate (its /etc/pve read-only). On the bound, pvecm is
#               stopped and the recovery is printed (see `recovery` below):
#               `pvecm delnode` needs quorum (ClusterConfig.pm delnode calls
#               check_cfs_quorum first), so `pvecm expected 1` comes first.
#
# Joins this node to the cluster through the peer (`pvecm add`), or confirms it
# is already a member. Nodes join one at a time (the component serializes them).
#
# Why the password + --fingerprint path and not --use_ssh (docs/proxmox-facts.md §2):
# - `pvecm add --use_ssh` starts with `ssh-copy-id -i /root/.ssh/id_rsa root@<peer>`,
#   which prompts for the peer's password (and host-key confirmation) unless key
#   trust already exists. Making it non-interactive would need extra steps that
#   plant this node's key in the peer's authorized_keys (a symlink into
#   /etc/pve/priv on a cluster node) and the peer's host key in known_hosts; it
#   also always passes `--force 1` to the peer's addnode, which silently accepts
#   an already-listed node name.
# - The default API path reads the password with PVE::PTY::read_password, which
#   takes the first line of stdin when stdin is not a terminal: no prompt, no
#   TTY, nothing to hang on. `--fingerprint` pins the peer's certificate, so the
#   "Are you sure you want to continue connecting (yes/no)?" question (which
#   would read a second stdin line) never comes.
# - The password travels only on stdin: read with `read`, handed to pvecm
#   through a pipe from the `printf` builtin. It is never an argument of any
#   process (`pvesh create /cluster/config/join --password` would put it on the
#   process list), never exported, never written to a file.
#
# Safety:
# - A node already in another cluster is refused; one already in this cluster
#   is a no-op (action=member) after checking it is an online, quorate member.
# - A node with guests is refused before pvecm runs (a joining node cannot hold
#   guests: the cluster's /etc/pve replaces its own), and pvecm's own refusals
#   ("this host already contains virtual guests", "cluster config … already
#   exists", "authentication key … already exists", "corosync is already
#   running") are recognised and reported as such.
# - `cd /` first: pvecm refuses to run from inside /etc/pve.
# - `pvecm add` runs the join in a task worker and exits 0 even when the task
#   failed (docs/proxmox-facts.md §1): the result is checked instead — corosync.conf
#   names this cluster, `pvesh get /cluster/status` shows this node online in a
#   quorate cluster, `pvecm status` exits 0 — and a failure reports the task's
#   error text (what pvecm printed on stderr, plus its "* …" and "An error
#   occurred on the cluster node: …" lines).
# - Never writes /etc/pve or /root/.ssh/authorized_keys itself (joining turns
#   the latter into a link into the cluster's /etc/pve/priv; pvecm does that).
#
# Stdout: node=<hostname> action=joined|member
set -euo pipefail

me=${0##*/}
die() {
    printf '%s: %s\n' "$me" "$*" >&2
    exit 1
}
oneline() { tr -s '\n\t ' '   ' <<<"$1" | sed 's/^ //; s/ $//'; }

# The secret first, before anything else could consume stdin. `read` is a
# builtin: the password never becomes an argument of a process.
password=''
IFS= read -r password || true

usage="usage: cluster-join.sh [--timeout <seconds>] [--peer-link <address>]… <cluster-name> <peer-address> <fingerprint> <link0> [<link1> …] (root password on stdin)"
join_timeout=300
peer_links=()
while [[ ${1:-} == --* ]]; do
    (($# >= 2)) || die "$usage"
    case $1 in
        --timeout)
            if ! [[ $2 =~ ^[0-9]{1,5}$ ]] || ((10#$2 < 1)); then die "invalid --timeout '$2' (seconds, at least 1)"; fi
            join_timeout=$((10#$2))
            ;;
        --peer-link)
            [[ $2 =~ ^[0-9A-Fa-f.:]+$ ]] || die "invalid --peer-link '$2' (an IP address)"
            peer_links+=("$2")
            ;;
        *) die "$usage" ;;
    esac
    shift 2
done
(($# >= 4)) || die "$usage"
cluster=$1 peer=$2 fingerprint=$3
shift 3
[[ $cluster =~ ^[A-Za-z0-9]([A-Za-z0-9-]{0,13}[A-Za-z0-9])?$ ]] || die "invalid cluster name '$cluster'"
[[ $peer =~ ^[0-9A-Fa-f.:]+$ ]] || die "invalid peer address '$peer' (an IP of an existing member)"
[[ $fingerprint =~ ^([A-Fa-f0-9]{2}:){31}[A-Fa-f0-9]{2}$ ]] || die "invalid fingerprint '$fingerprint' (SHA-256, AA:BB:… as cluster-create.sh prints it)"
(($# <= 8)) || die "at most 8 corosync links (link0…link7), got $#"
link_args=()
own_links=()
n=0
for link in "$@"; do
    [[ $link =~ ^(address=)?([0-9A-Fa-f.:]+)(,priority=[0-9]{1,3})?$ ]] || die "invalid link '$link' (expected an IP or address=<ip>,priority=<n>)"
    own_links+=("${BASH_REMATCH[2]}")
    link_args+=("--link$n" "$link")
    n=$((n + 1))
done
((${#peer_links[@]} == 0 || ${#peer_links[@]} == n)) || die "got ${#peer_links[@]} --peer-link addresses for $n links; give one per link, in link order"

conf=/etc/pve/corosync.conf
node=$(uname -n)
node=${node%%.*}
cd /

conf_cluster_name() {
    sed -n 's/^[[:space:]]*cluster_name:[[:space:]]*\([^[:space:]]*\).*/\1/p' "$conf" | head -n 1
}

# "<cluster|-> <quorate 0|1> <local node|-> <local online 0|1>" from the API's
# cluster status (docs/proxmox-facts.md §1: a standalone node has no type=cluster entry).
cluster_view() {
    local json
    json=$(pvesh get /cluster/status --output-format json 2>/dev/null) || return 1
    perl -MJSON::PP -e '
        my $d = eval { JSON::PP->new->decode(join("", <STDIN>)) };
        exit 1 if ref($d) ne "ARRAY";
        my ($c) = grep { ($_->{type} // "") eq "cluster" } @$d;
        my ($n) = grep { ($_->{type} // "") eq "node" && $_->{local} } @$d;
        printf "%s %d %s %d\n", $c ? $c->{name} : "-", $c ? $c->{quorate} : 0,
            $n ? $n->{name} : "-", $n ? $n->{online} : 0;
    ' <<<"$json"
}

# Member of $cluster, online, quorate: corosync.conf, the API view and pvecm status agree.
is_member() {
    [[ -f $conf ]] && [[ $(conf_cluster_name) == "$cluster" ]] || return 1
    [[ $(cluster_view) == "$cluster 1 $node 1" ]] || return 1
    pvecm status >/dev/null 2>&1
}

wait_member() {
    local i
    for ((i = 0; i < 30; i++)); do
        is_member && return 0
        sleep 1
    done
    return 1
}

member_summary() {
    local status view
    view=$(cluster_view) || view='(pvesh failed)'
    status=$(pvecm status 2>&1) || true
    printf 'cluster view "%s"; %s' "$view" \
        "$(oneline "$(grep -E '^(Quorate|Total votes|Expected votes|Quorum):' <<<"$status" | tr -s ' ' | sed 's/ *$//' | awk 'NR > 1 { printf ", " } { printf "%s", $0 }')")"
}

# What brings both sides back after a join that the peer accepted but that
# never became quorate (pvecm.adoc "Separate a Node Without Reinstalling";
# addnode and delnode both need quorum: ClusterConfig.pm check_cfs_quorum).
recovery() {
    printf '%s' "recovery: on $node separate it: systemctl stop pve-cluster corosync; pmxcfs -l; rm -f /etc/pve/corosync.conf; rm -rf /etc/corosync/*; killall pmxcfs; systemctl start pve-cluster; rm -f /var/lib/corosync/*. On $peer (the first node) restore quorum, then remove $node: pvecm expected 1; pvecm delnode $node (delnode and any new join need quorum). Then fix the corosync path between $node and $peer (link addresses, VLAN, UDP 5405-5412, MTU) and re-run pulumi up"
}

if [[ -f $conf ]]; then
    existing=$(conf_cluster_name)
    [[ $existing == "$cluster" ]] || die "node $node is already in cluster '${existing:-<unnamed>}', not '$cluster'; refusing to join"
    wait_member || die "node $node is configured for cluster '$cluster' but is not an online member of a quorate cluster: $(member_summary)"
    printf 'node=%s action=member\n' "$node"
    exit 0
fi

# Guests live in /etc/pve/nodes/<node>/{qemu-server,lxc}/<vmid>.conf; the join
# would replace this /etc/pve with the cluster's and orphan them.
shopt -s nullglob
guest_confs=(/etc/pve/nodes/*/qemu-server/*.conf /etc/pve/nodes/*/lxc/*.conf)
shopt -u nullglob
if ((${#guest_confs[@]})); then
    ids=$(for f in "${guest_confs[@]}"; do basename "$f" .conf; done | sort -n | paste -sd' ' -)
    die "node $node already has guests ($ids); a joining node must hold none — move or back up and remove them first"
fi

[[ -n $password ]] || die "no root password for $peer on stdin (first line)"

# The corosync links must pass before the peer counts this node's vote.
if ((${#peer_links[@]})); then
    command -v ping >/dev/null 2>&1 || die "ping not found (package iputils-ping): cannot check the corosync links to $peer before joining"
    for ((i = 0; i < n; i++)); do
        if ! msg=$(ping -n -q -c 2 -W 2 -I "${own_links[i]}" "${peer_links[i]}" 2>&1); then
            die "node $node cannot reach the first node's link$i address ${peer_links[i]} from its own ${own_links[i]} ($(oneline "$(grep -E 'packet loss|unreachable|Cannot|bind' <<<"$msg" | head -n 1)")): corosync could not pass, the join would hang and leave $peer without quorum; fix the link (address, VLAN, cabling, firewall) and re-run; nothing was changed"
        fi
    done
fi

errfile=$(mktemp)
trap 'rm -f "$errfile"' EXIT
rc=0
# Bounded: timeout signals pvecm's whole process group (its task worker too).
output=$(printf '%s\n' "$password" | timeout --kill-after=10 "$join_timeout" pvecm add "$peer" --fingerprint "$fingerprint" "${link_args[@]}" 2>"$errfile") || rc=$?
password=''
err=$(<"$errfile")

if is_member; then
    printf 'node=%s action=joined\n' "$node"
    exit 0
fi
if ((rc == 124 || rc == 137)); then
    if [[ -f /etc/corosync/corosync.conf || -f $conf ]]; then
        die "pvecm add did not finish within ${join_timeout}s: $peer added $node, but the cluster never became quorate with it (pvecm waits for quorum without limit), so corosync traffic between $node and $peer does not pass and $peer is inquorate with /etc/pve read-only; $(recovery)"
    fi
    die "pvecm add did not finish within ${join_timeout}s and $node was not added (last output: $(oneline "$(tail -n 2 <<<"$output")")); check that $peer answers on port 8006 and re-run"
fi

# The task's error text: pvecm's stderr (the worker's final error), the "* …"
# pre-check lines and the cluster node's message from stdout.
details=$(grep -E '^\* |^An error occurred on the cluster node: |^! ' <<<"$output" || true)
task_error=$(grep -v '^[[:space:]]*$' <<<"$err" | tail -n 3 || true)
reason=$(oneline "$task_error${details:+ ($details)}")
all="$output"$'\n'"$err"

if grep -q 'this host already contains virtual guests' <<<"$all"; then
    die "node $node already has guests; pvecm refused: $reason"
fi
if grep -qE "cluster config '/etc/pve/corosync.conf' already exists|authentication key '/etc/corosync/authkey' already exists|corosync is already running" <<<"$all"; then
    die "node $node is (or was partly) set up for a cluster already; pvecm refused: $reason"
fi
if grep -q "can't add existing node" <<<"$all"; then
    die "cluster '$cluster' already lists a node named '$node' (an earlier join half-done, or a reinstalled node): run 'pvecm delnode $node' on a member (if it answers 'cluster not ready - no quorum?', run 'pvecm expected 1' there first), then re-run; pvecm: $reason"
fi
if grep -q "cluster not ready - no quorum?" <<<"$all"; then
    die "$peer is not quorate, so it adds no node (addnode checks quorum first); if an earlier join of $node timed out, $(recovery); otherwise bring the missing members back first; pvecm: $reason"
fi
if [[ -f $conf ]]; then
    wait_member && {
        printf 'node=%s action=joined\n' "$node"
        exit 0
    }
    die "pvecm add (exit $rc) left node $node configured but not an online member of a quorate cluster '$cluster': $(member_summary)${reason:+; pvecm: $reason}"
fi
die "joining cluster '$cluster' through $peer failed (pvecm add exit $rc): ${reason:-no error text}"
