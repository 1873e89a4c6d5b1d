#!/usr/bin/env bash
# api-access.sh <userid> <role> <privileges> <tokenid>
#
# On the first node: the Proxmox user, role and ACLs of the Pulumi provider's
# API token (the token itself is api-token.sh's, created once per rotation,
# which also makes the user and role on a fresh site). Idempotent and cheap,
# so it re-runs whenever the program's privilege list changes: a new program
# version that needs one more privilege gets it here, before any API resource
# is touched. When nothing differs it only reads (no /etc/pve write), so it
# may run while a node joins (pmxcfs is then read-only on this node).
#
#   <userid>      e.g. proxmox-ha@pve: a user of the built-in pve realm,
#                 created without a password (it can hold tokens, never log in).
#   <role>        e.g. ProxmoxHA: created, or its privileges set to EXACTLY
#                 <privileges> (`pveum role modify --privs` without --append
#                 replaces the list: pve-access-control API2/Role.pm update_role).
#   <privileges>  comma-separated, e.g. Sys.Audit,VM.Allocate
#   <tokenid>     the current token id (e.g. pulumi-1): when that token exists,
#                 its ACL is ensured too.
#
# ACLs: <role> on `/`, propagated, for the user and for the token. A token
# with privilege separation has the intersection of its user's privileges and
# its own ACLs (pveum.adoc, API Tokens), so both are needed. `/` because the
# HA, datacenter-option and cluster-firewall calls check their privileges on
# `/` only (see docs/operations.md, "The API token").
#
# Nothing is removed: other ACLs, users and tokens stay as they are.
#
# Stdout: access=<userid> role=<role> changed=<comma list|none>
set -euo pipefail

me=${0##*/}
die() {
    printf '%s: %s\n' "$me" "$*" >&2
    exit 1
}
oneline() { tr -s '\n\t ' '   ' <<<"$1" | sed 's/^ //; s/ $//'; }

(($# == 4)) || die "usage: api-access.sh <userid> <role> <priv,priv,…> <tokenid>"
userid=$1 role=$2 privs=$3 tokenid=$4
[[ $userid =~ ^[A-Za-z0-9._-]+@[A-Za-z0-9._-]+$ ]] || die "invalid user id '$userid' (name@realm)"
[[ $role =~ ^[A-Za-z0-9_][A-Za-z0-9._-]*$ ]] || die "invalid role id '$role'"
[[ $privs =~ ^[A-Za-z]+(\.[A-Za-z]+)+(,[A-Za-z]+(\.[A-Za-z]+)+)*$ ]] || die "invalid privilege list '$privs'"
[[ $tokenid =~ ^[A-Za-z][A-Za-z0-9._-]+$ ]] || die "invalid token id '$tokenid'"
cd /
# pveum's stdout is the JSON; its stderr is kept apart (every pveum call may warn there about user.cfg
# entries it ignores: pve-access-control AccessControl.pm parse_user_config) and shown only on failure.
errf=$(mktemp)
trap 'rm -f "$errf"' EXIT

# jq-free JSON: perl's core JSON::PP (every PVE node has it).
json_query() {
    perl -MJSON::PP -e '
        my $d = eval { JSON::PP->new->decode(join("", <STDIN>)) };
        exit 2 if ref($d) ne "ARRAY";
        my ($what, @a) = @ARGV;
        if ($what eq "user") { print((grep { ($_->{userid} // "") eq $a[0] } @$d) ? "yes" : "no") }
        elsif ($what eq "token") { print((grep { ($_->{tokenid} // "") eq $a[0] } @$d) ? "yes" : "no") }
        elsif ($what eq "role") {
            my ($r) = grep { ($_->{roleid} // "") eq $a[0] } @$d;
            if (!$r) { print "missing" } else { my $p = $r->{privs} // ""; $p = join(",", sort keys %$p) if ref($p) eq "HASH"; print join(",", sort grep { length } split(/,/, $p)) }
        }
        elsif ($what eq "acl") {
            print((grep { ($_->{path} // "") eq "/" && ($_->{type} // "") eq $a[0] && ($_->{ugid} // "") eq $a[1]
                && ($_->{roleid} // "") eq $a[2] && ($_->{propagate} // 1) == 1 } @$d) ? "yes" : "no")
        }
    ' "$@"
}
pveum_json() {
    local out
    out=$(pveum "$@" --output-format json 2>"$errf") || die "pveum $* failed: $(oneline "$(<"$errf")")"
    printf '%s' "$out"
}

changed=()

list=$(pveum_json user list)
have=$(json_query user "$userid" <<<"$list") || die "unexpected output of pveum user list"
if [[ $have == no ]]; then
    msg=$(pveum user add "$userid" --comment "Pulumi proxmox-ha provider (API tokens only)" 2>&1) || die "pveum user add $userid failed: $(oneline "$msg")"
    changed+=(user)
fi

want=$(tr ',' '\n' <<<"$privs" | sort -u | paste -sd, -)
list=$(pveum_json role list)
current=$(json_query role "$role" <<<"$list") || die "unexpected output of pveum role list"
if [[ $current == missing ]]; then
    msg=$(pveum role add "$role" --privs "$want" 2>&1) || die "pveum role add $role failed: $(oneline "$msg")"
    changed+=(role)
elif [[ $current != "$want" ]]; then
    msg=$(pveum role modify "$role" --privs "$want" 2>&1) || die "pveum role modify $role failed: $(oneline "$msg")"
    changed+=(privileges)
fi

acls=$(pveum_json acl list)
ok=$(json_query acl user "$userid" "$role" <<<"$acls") || die "unexpected output of pveum acl list"
if [[ $ok == no ]]; then
    msg=$(pveum acl modify / --users "$userid" --roles "$role" --propagate 1 2>&1) || die "pveum acl modify / for $userid failed: $(oneline "$msg")"
    changed+=(user-acl)
fi

tokens=$(pveum_json user token list "$userid")
exists=$(json_query token "$tokenid" <<<"$tokens") || die "unexpected output of pveum user token list"
if [[ $exists == yes ]]; then
    ok=$(json_query acl token "$userid!$tokenid" "$role" <<<"$acls") || die "unexpected output of pveum acl list"
    if [[ $ok == no ]]; then
        msg=$(pveum acl modify / --tokens "$userid!$tokenid" --roles "$role" --propagate 1 2>&1) ||
            die "pveum acl modify / for token $userid!$tokenid failed: $(oneline "$msg")"
        changed+=(token-acl)
    fi
fi

if ((${#changed[@]})); then
    summary=$(IFS=,; echo "${changed[*]}")
else
    summary=none
fi
printf 'access=%s role=%s changed=%s\n' "$userid" "$role" "$summary"
