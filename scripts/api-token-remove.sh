#!/usr/bin/env bash
# api-token-remove.sh <userid> <tokenid>
#
# The delete of an api-token step: revokes <userid>!<tokenid> (its ACL goes
# with it: pve-access-control drops ACL entries of tokens that no longer
# exist). Runs after a rotation's new token was created and recorded, or when
# the stack is destroyed. A token that is already gone is no error.
#
# Stdout: token=<userid>!<tokenid> action=removed|absent
set -euo pipefail

me=${0##*/}
die() {
    printf '%s: %s\n' "$me" "$*" >&2
    exit 1
}
oneline() { tr -s '\n\t ' '   ' <<<"$1" | sed 's/^ //; s/ $//'; }

(($# == 2)) || die "usage: api-token-remove.sh <userid> <tokenid>"
userid=$1 tokenid=$2
[[ $userid =~ ^[A-Za-z0-9._-]+@[A-Za-z0-9._-]+$ ]] || die "invalid user id '$userid' (name@realm)"
[[ $tokenid =~ ^[A-Za-z][A-Za-z0-9._-]+$ ]] || die "invalid token id '$tokenid'"
cd /
# pveum's stdout is the JSON; its stderr is kept apart (every pveum call may warn there about user.cfg
# entries it ignores: pve-access-control AccessControl.pm parse_user_config) and shown only on failure.
errf=$(mktemp)
trap 'rm -f "$errf"' EXIT

list=$(pveum user token list "$userid" --output-format json 2>"$errf") || {
    # No such user: no token either.
    if grep -q "no such user" "$errf"; then
        printf 'token=%s!%s action=absent\n' "$userid" "$tokenid"
        exit 0
    fi
    die "cannot list the tokens of $userid: $(oneline "$(<"$errf")")"
}
exists=$(perl -MJSON::PP -e '
    my $d = eval { JSON::PP->new->decode(join("", <STDIN>)) };
    exit 2 if ref($d) ne "ARRAY";
    print((grep { ($_->{tokenid} // "") eq $ARGV[0] } @$d) ? "yes" : "no");
' "$tokenid" <<<"$list") || die "unexpected output of pveum user token list: $(oneline "${list:0:200}")"
if [[ $exists == no ]]; then
    printf 'token=%s!%s action=absent\n' "$userid" "$tokenid"
    exit 0
fi
msg=$(pveum user token remove "$userid" "$tokenid" 2>&1) || die "pveum user token remove $userid $tokenid failed: $(oneline "$msg")"
printf 'token=%s!%s action=removed\n' "$userid" "$tokenid"
