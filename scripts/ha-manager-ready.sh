#!/usr/bin/env bash
# ha-manager-ready.sh <timeout-seconds> <interval-seconds> <node>...
#
# Waits, at most <timeout-seconds>, until the HA manager's status lists every
# given node, so that resource-affinity rules can be created. Read-only.
#
# Why: Proxmox checks a new HA rule against the nodes of the HA manager's
# status, not of the cluster (pve-ha-manager src/PVE/API2/HA/Rules.pm,
# `$check_feasibility`: `keys $manager_status->{node_status}`). That status
# (/etc/pve/ha/manager_status) is written only by the CRM that became master
# (src/PVE/HA/Manager.pm `flush_master_status`), and a CRM becomes active only
# once an HA service is configured (src/PVE/HA/CRM.pm `can_get_active`), then
# works in rounds of a few seconds (CRM.pm `work`: `sleep(5)` while waiting
# for quorum, 10 s rounds as master). Until then the status has no nodes, and
# a negative rule created right after its HA resources fails with "rule
# defines more resources than available nodes".
#
# Reads `pvesh get /cluster/ha/status/manager_status --output-format json`
# (src/PVE/API2/HA/Status.pm `manager_status`: an object with `manager_status`
# — the file's JSON, `{}` while it does not exist, Config.pm `json_reader` —,
# `quorum`, and `lrm_status` per listed node). Nodes count once they are keys
# of `manager_status.node_status`, whatever their state (that is what the
# rule check counts).
#
# Stdout, on success:
#   master=<master node>
#   nodes=<node>=<state> ...
set -euo pipefail

usage() {
    echo "ha-manager-ready.sh: usage: ha-manager-ready.sh <timeout-seconds> <interval-seconds> <node>..." >&2
    exit 2
}
(($# >= 3)) || usage
timeout=$1
interval=$2
shift 2
[[ $timeout =~ ^[0-9]+$ && $interval =~ ^[1-9][0-9]*$ ]] || usage
for node in "$@"; do
    [[ $node =~ ^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$ ]] || {
        echo "ha-manager-ready.sh: '$node' is not a node name" >&2
        exit 2
    }
done

oneline() { tr '\n' ' ' <<<"$1" | cut -c1-300; }

deadline=$((SECONDS + timeout))
while :; do
    missing=()
    if out=$(pvesh get /cluster/ha/status/manager_status --output-format json 2>&1); then
        # Line 1: the master node (empty when none); line 2: node=state pairs.
        if parsed=$(perl -MJSON::PP -e '
            my $d = eval { JSON::PP->new->decode(join("", <STDIN>)) };
            exit 2 if ref($d) ne "HASH" || ref($d->{manager_status} // {}) ne "HASH";
            my $ms = $d->{manager_status} // {};
            my $ns = ref($ms->{node_status}) eq "HASH" ? $ms->{node_status} : {};
            print(($ms->{master_node} // ""), "\n", join(" ", map { "$_=$ns->{$_}" } sort keys %$ns), "\n");
        ' <<<"$out"); then
            master=${parsed%%$'\n'*}
            listed=${parsed#*$'\n'}
            listed=${listed%$'\n'}
            for node in "$@"; do
                [[ " $listed " == *" $node="* ]] || missing+=("$node")
            done
            if ((${#missing[@]} == 0)); then
                printf 'master=%s\nnodes=%s\n' "$master" "$listed"
                exit 0
            fi
            last="it lists ${listed:-no node}${master:+ (master $master)}"
        else
            missing=("$@")
            last="unexpected output of pvesh: $(oneline "$out")"
        fi
    else
        missing=("$@")
        last="pvesh failed: $(oneline "$out")"
    fi
    if ((SECONDS >= deadline)); then
        echo "ha-manager-ready.sh: after ${timeout}s the HA manager status still lacks ${missing[*]}; $last." \
            "Proxmox counts the nodes of a resource-affinity rule from this status, so the rules would be refused" \
            "(\"rule defines more resources than available nodes\"). Check on every node that the cluster is quorate" \
            "and pve-ha-crm and pve-ha-lrm run (pvecm status; systemctl status pve-ha-crm pve-ha-lrm; ha-manager status)," \
            "then run pulumi up again." >&2
        exit 1
    fi
    sleep "$interval"
done
