#!/usr/bin/env bash
# api-token.sh <userid> <tokenid>
#
# On the first node once the cluster exists: creates the API token the
# Pulumi Proxmox provider uses, with privilege separation off (the token has
# exactly the user's privileges, no token ACLs needed):
#   pveum user token add <userid> <tokenid> --privsep 0 --output-format json
# (pve-docs pveum.1; the answer is {"full-tokenid", "info", "value"}). The user
# must exist already (root@pam always does).
#
# What a re-run does: Proxmox shows a token's secret only once, when it is
# created; it "cannot be retrieved again" (pveum.adoc, API Tokens). So when the
# token already exists, a re-run removes it (`pveum user token remove`) and
# creates it again, printing the NEW secret: the old secret stops working at
# that moment, and the command's new output (which Pulumi stores as a secret
# and hands to the provider) replaces it. Any ACL given to this token id by
# hand is removed with it. Re-runs are therefore not no-ops but they converge:
# after any interrupted run (removed but not re-created, or created but the
# output lost) the next run ends with one token and its valid secret printed.
# Pulumi re-runs the command only when its script text or arguments change.
#
# Stdout (a secret: the component marks it so and logs nothing):
#   token=<userid>!<tokenid>=<secret>
set -euo pipefail

me=${0##*/}
die() {
    printf '%s: %s\n' "$me" "$*" >&2
    exit 1
}
oneline() { tr -s '\n\t ' '   ' <<<"$1" | sed 's/^ //; s/ $//'; }

(($# == 2)) || die "usage: api-token.sh <userid> <tokenid>"
userid=$1 tokenid=$2
[[ $userid =~ ^[A-Za-z0-9._-]+@[A-Za-z0-9._-]+$ ]] || die "invalid user id '$userid' (name@realm, e.g. root@pam)"
[[ $tokenid =~ ^[A-Za-z][A-Za-z0-9._-]+$ ]] || die "invalid token id '$tokenid' (a letter, then letters, digits, '.', '-', '_')"
cd /

list=$(pveum user token list "$userid" --output-format json 2>&1) || die "cannot list the tokens of $userid: $(oneline "$list")"
exists=$(perl -MJSON::PP -e '
    my $d = eval { JSON::PP->new->decode(join("", <STDIN>)) };
    exit 2 if ref($d) ne "ARRAY";
    print((grep { ($_->{tokenid} // "") eq $ARGV[0] } @$d) ? "yes" : "no");
' "$tokenid" <<<"$list") || die "unexpected output of pveum user token list: $(oneline "${list:0:200}")"

if [[ $exists == yes ]]; then
    msg=$(pveum user token remove "$userid" "$tokenid" 2>&1) || die "cannot remove the existing token $userid!$tokenid to re-create it: $(oneline "$msg")"
fi

json=$(pveum user token add "$userid" "$tokenid" --privsep 0 --output-format json 2>&1) ||
    die "pveum user token add $userid $tokenid failed: $(oneline "$json")"
# Parse without ever printing the value on an error path; the JSON goes through
# a pipe from the printf builtin (never a temp file, never an argument).
line=$(printf '%s' "$json" | perl -MJSON::PP -e '
    my $d = eval { JSON::PP->new->decode(join("", <STDIN>)) };
    exit 2 if ref($d) ne "HASH";
    my ($id, $value, $info) = ($d->{"full-tokenid"} // "", $d->{value} // "", $d->{info} // {});
    exit 3 if $id ne $ARGV[0] || $value !~ /^[A-Za-z0-9-]+$/;
    exit 4 if ($info->{privsep} // 1) ne "0" && ($info->{privsep} // 1) != 0;
    print "token=$id=$value\n";
' "$userid!$tokenid") || {
    case $? in
        3) die "pveum user token add returned an unexpected token id or value" ;;
        4) die "the token was created with privilege separation on" ;;
        *) die "unexpected output of pveum user token add (not the documented JSON)" ;;
    esac
}
printf '%s\n' "$line"
