#!/usr/bin/env bash
# api-token.sh <userid> <tokenid> <role> <privileges>
#
# On the first node, before the cluster exists: creates the Pulumi provider's
# API token <userid>!<tokenid> with privilege separation on, grants it <role>
# on `/`, and prints its secret. When the user or the role does not exist yet
# (a fresh site) it creates them too, with <privileges> and the user's ACL on
# `/`, so that the token works as soon as this step ends; an existing role is
# left to api-access.sh, which converges it to the program's privileges and
# re-runs whenever they change. One step instead of access-then-token keeps
# the fresh site's path one stage shorter (the create waits for this step).
#
# This step runs once per token id. The component never re-runs it for a
# changed script, argument or connection (ignoreChanges); only a new
# rotation generation (stack key apiTokenRotation) makes a new command with a
# new token id, created BEFORE the old command's delete (api-token-remove.sh)
# revokes the old token: a rotation that fails anywhere leaves the old token
# in the state and still valid.
#
# Proxmox shows a token's secret only when it is created (pveum.adoc, API
# Tokens: it cannot be retrieved again). So when <tokenid> already exists here
# it is one whose secret was never recorded (a run whose output was lost):
# nothing can be using it, and it is removed and created again.
#
#   pveum user token add <userid> <tokenid> --privsep 1 --output-format json
# answers {"full-tokenid", "info", "value"} (pve-access-control
# src/PVE/API2/User.pm generate_token).
#
# The secret goes nowhere but the final write to stdout: never an argument, a
# temp file or an error message. Output only on success.
#
# Stdout: token=<userid>!<tokenid>=<secret>   (secret: the component marks
#         stdout secret and logs nothing)
set -euo pipefail

me=${0##*/}
die() {
    printf '%s: %s\n' "$me" "$*" >&2
    exit 1
}
oneline() { tr -s '\n\t ' '   ' <<<"$1" | sed 's/^ //; s/ $//'; }

(($# == 4)) || die "usage: api-token.sh <userid> <tokenid> <role> <priv,priv,…>"
userid=$1 tokenid=$2 role=$3 privs=$4
[[ $userid =~ ^[A-Za-z0-9._-]+@[A-Za-z0-9._-]+$ ]] || die "invalid user id '$userid' (name@realm)"
[[ $tokenid =~ ^[A-Za-z][A-Za-z0-9._-]+$ ]] || die "invalid token id '$tokenid' (a letter, then letters, digits, '.', '-', '_')"
[[ $role =~ ^[A-Za-z0-9_][A-Za-z0-9._-]*$ ]] || die "invalid role id '$role'"
[[ $privs =~ ^[A-Za-z]+(\.[A-Za-z]+)+(,[A-Za-z]+(\.[A-Za-z]+)+)*$ ]] || die "invalid privilege list '$privs'"
cd /
# pveum's stdout is the JSON; its stderr is kept apart (every pveum call may warn there about user.cfg
# entries it ignores: pve-access-control AccessControl.pm parse_user_config) and shown only on failure.
errf=$(mktemp)
trap 'rm -f "$errf"' EXIT

# The user, its role and ACL, only when missing (api-access.sh owns their later changes).
has() {
    perl -MJSON::PP -e '
        my $d = eval { JSON::PP->new->decode(join("", <STDIN>)) };
        exit 2 if ref($d) ne "ARRAY";
        my ($k, $v) = @ARGV;
        print((grep { ($_->{$k} // "") eq $v } @$d) ? "yes" : "no");
    ' "$@"
}
users=$(pveum user list --output-format json 2>"$errf") || die "cannot list users: $(oneline "$(<"$errf")")"
[[ $(has userid "$userid" <<<"$users") == yes ]] || {
    msg=$(pveum user add "$userid" --comment "Pulumi proxmox-ha provider (API tokens only)" 2>&1) || die "pveum user add $userid failed: $(oneline "$msg")"
}
roles=$(pveum role list --output-format json 2>"$errf") || die "cannot list roles: $(oneline "$(<"$errf")")"
[[ $(has roleid "$role" <<<"$roles") == yes ]] || {
    msg=$(pveum role add "$role" --privs "$privs" 2>&1) || die "pveum role add $role failed: $(oneline "$msg")"
    msg=$(pveum acl modify / --users "$userid" --roles "$role" --propagate 1 2>&1) || die "pveum acl modify / for $userid failed: $(oneline "$msg")"
}

list=$(pveum user token list "$userid" --output-format json 2>"$errf") || die "cannot list the tokens of $userid: $(oneline "$(<"$errf")")"
exists=$(perl -MJSON::PP -e '
    my $d = eval { JSON::PP->new->decode(join("", <STDIN>)) };
    exit 2 if ref($d) ne "ARRAY";
    print((grep { ($_->{tokenid} // "") eq $ARGV[0] } @$d) ? "yes" : "no");
' "$tokenid" <<<"$list") || die "unexpected output of pveum user token list: $(oneline "${list:0:200}")"
if [[ $exists == yes ]]; then
    msg=$(pveum user token remove "$userid" "$tokenid" 2>&1) || die "cannot remove the unrecorded token $userid!$tokenid to re-create it: $(oneline "$msg")"
fi

json=$(pveum user token add "$userid" "$tokenid" --privsep 1 --comment "Pulumi proxmox-ha" --output-format json 2>"$errf") ||
    die "pveum user token add $userid $tokenid failed: $(oneline "$(<"$errf")")"
# Parse without ever printing the value on an error path; the JSON goes through
# a pipe from the printf builtin (never a temp file, never an argument).
token_line=$(printf '%s' "$json" | perl -MJSON::PP -e '
    my $d = eval { JSON::PP->new->decode(join("", <STDIN>)) };
    exit 2 if ref($d) ne "HASH";
    my ($id, $value, $info) = ($d->{"full-tokenid"} // "", $d->{value} // "", $d->{info} // {});
    exit 3 if $id ne $ARGV[0] || $value !~ /^[A-Za-z0-9-]+$/;
    exit 4 if ($info->{privsep} // 1) != 1;
    print "token=$id=$value\n";
' "$userid!$tokenid") || {
    case $? in
        3) die "pveum user token add returned an unexpected token id or value" ;;
        4) die "the token was created with privilege separation off" ;;
        *) die "unexpected output of pveum user token add (not the documented JSON)" ;;
    esac
}

msg=$(pveum acl modify / --tokens "$userid!$tokenid" --roles "$role" --propagate 1 2>&1) ||
    die "pveum acl modify / for token $userid!$tokenid failed (the token exists without its ACL; the next run re-creates it): $(oneline "$msg")"

printf '%s\n' "$token_line"
