#!/usr/bin/env bash
# notifications.sh <endpoint> <matcher> <mailto>
#
# Routes the cluster's fencing and replication notifications by e-mail
# (pve-docs notifications.adoc). HA's only notification event is `fencing`
# (pve-ha-manager src/PVE/HA/NodeStatus.pm); a failed replication job emits
# `replication`. Two entries of the cluster-wide /etc/pve/notifications.cfg:
#
#   sendmail: <endpoint>              mailto <mailto>
#   matcher: <matcher>                match-field exact:type=fencing,replication
#                                     mode all, target <endpoint>
#
# The sender is not set here: a sendmail target without from-address falls
# back to datacenter.cfg's email_from (set by the API layer's cluster
# options), then to root@<hostname>.
#
# Why a script: @muhlba91/pulumi-proxmoxve 8.6.0 has no resource for
# notification endpoints or matchers, and datacenter.cfg's `notify` option is
# documented as "UNUSED - Use datacenter notification settings instead".
#
# Idempotent: each entry is listed first (`pvesh get ... --output-format
# json`), then created when absent or set (all our fields) when present, so a
# re-run converges an edited address. Other endpoints and matchers, including
# the built-in mail-to-root and default-matcher, are left alone.
#
# Stdout, on success:
#   endpoint=<endpoint> action=created|updated
#   matcher=<matcher> action=created|updated
set -euo pipefail

if (($# != 3)); then
    echo "notifications.sh: usage: notifications.sh <endpoint> <matcher> <mailto>" >&2
    exit 2
fi
endpoint=$1
matcher=$2
mailto=$3
for name in "$endpoint" "$matcher"; do
    if ! [[ $name =~ ^[a-z][a-z0-9_-]+$ ]]; then
        echo "notifications.sh: '$name' is not a valid notification entry name ([a-z][a-z0-9_-]+)" >&2
        exit 2
    fi
done
comment="managed by proxmox-ha (Pulumi)"

# True when the JSON list at <path> has an entry named <name>. The names are
# pve-configids ([a-z][a-z0-9_-]+): no regex or JSON escaping can hide or fake
# one, and the closing quote keeps "<name>-old" from matching. Whitespace
# around the colon is allowed, whichever way the JSON is laid out.
has_entry() {
    local path=$1 name=$2 list
    if ! list=$(pvesh get "$path" --output-format json); then
        echo "notifications.sh: cannot list $path" >&2
        exit 1
    fi
    grep -qE "\"name\"[[:space:]]*:[[:space:]]*\"$name\"" <<<"$list"
}

# apply <list-path> <name> <label> <pvesh args...>
apply() {
    local path=$1 name=$2 label=$3
    shift 3
    if has_entry "$path" "$name"; then
        pvesh set "$path/$name" "$@" >/dev/null || {
            echo "notifications.sh: cannot update $label $name" >&2
            exit 1
        }
        printf '%s=%s action=updated\n' "$label" "$name"
    else
        pvesh create "$path" --name "$name" "$@" >/dev/null || {
            echo "notifications.sh: cannot create $label $name" >&2
            exit 1
        }
        printf '%s=%s action=created\n' "$label" "$name"
    fi
}

apply /cluster/notifications/endpoints/sendmail "$endpoint" endpoint \
    --mailto "$mailto" --comment "$comment"
apply /cluster/notifications/matchers "$matcher" matcher \
    --target "$endpoint" --match-field "exact:type=fencing,replication" --mode all --comment "$comment"
