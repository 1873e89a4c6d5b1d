#!/usr/bin/env bash
# zrepl-install.sh <repo-url> <key-url> <fingerprint>
#
# Installs zrepl from its own APT repository (zrepl docs,
# docs/installation/apt-repos.rst: `deb [signed-by=<keyring>] <url> <codename> main`,
# e.g. https://zrepl.cschwarz.com/apt/debian bookworm main), trusting only the
# one signing key whose fingerprint the stack gives:
#
# - The key is fetched from <key-url> (any certificate errors are fatal) into
#   a throw-away GnuPG home, and is accepted only when the file holds exactly
#   one primary key and its fingerprint is <fingerprint>. Only that key is
#   exported into the dedicated keyring /etc/apt/keyrings/zrepl.gpg, which the
#   source line names with `signed-by`, so the key is trusted for this
#   repository and nothing else. A keyring that already holds exactly that key
#   is not fetched again.
# - /etc/apt/sources.list.d/zrepl.list is (re)written only when it differs.
#   The suite is the node's Debian codename (VERSION_CODENAME of
#   /etc/os-release), as in zrepl's instructions.
# - `apt-get update` reads only this source (an unreachable enterprise
#   repository elsewhere does not fail the step) and runs only when the source
#   changed or zrepl is not installed yet; then zrepl is installed and held
#   (`apt-mark hold`), as zrepl recommends until 1.0 because its repository
#   always carries the newest release, breaking changes included.
#
# The node must reach <repo-url> and <key-url> over HTTPS.
# Stdout: zrepl=<installed version> action=installed|present
set -euo pipefail

me=zrepl-install.sh
die() {
    printf '%s: %s\n' "$me" "$*" >&2
    exit 1
}

(($# == 3)) || die "usage: zrepl-install.sh <repo-url> <key-url> <fingerprint>"
url=$1
key_url=$2
fingerprint=$3
[[ $url =~ ^[a-z]+://[A-Za-z0-9._~:/?#@!\&+,\;=%-]+$ ]] || die "invalid repository URL '$url'"
[[ $key_url =~ ^[a-z]+://[A-Za-z0-9._~:/?#@!\&+,\;=%-]+$ ]] || die "invalid key URL '$key_url'"
[[ $fingerprint =~ ^[0-9A-F]{40}$ ]] || die "invalid fingerprint '$fingerprint' (40 upper-case hex digits expected)"

keyring=/etc/apt/keyrings/zrepl.gpg
list=/etc/apt/sources.list.d/zrepl.list
export DEBIAN_FRONTEND=noninteractive

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Prints the fingerprints of the primary keys in a key file, one per line.
primary_fingerprints() {
    gpg --homedir "$work/gnupg" --batch --quiet --with-colons --show-keys -- "$1" 2>/dev/null |
        awk -F: '$1 == "pub" { want = 1; next } $1 == "fpr" && want { print $10; want = 0 } $1 == "sub" { want = 0 }'
}

command -v gpg >/dev/null || {
    apt-get install -y -qq gnupg >"$work/apt.log" 2>&1 || die "cannot install gnupg: $(tail -n 1 "$work/apt.log")"
}
mkdir -m 0700 "$work/gnupg"

# ---- signing key
if [[ ! -s $keyring || $(primary_fingerprints "$keyring") != "$fingerprint" ]]; then
    # (file: serves a local mirror of the key; the stack schema itself only accepts https.)
    curl -fsSL --proto '=https,file' --max-time 60 -o "$work/key" -- "$key_url" 2>"$work/curl.log" ||
        die "cannot fetch the zrepl signing key from $key_url: $(tail -n 1 "$work/curl.log")"
    found=$(primary_fingerprints "$work/key")
    [[ -n $found ]] || die "$key_url holds no OpenPGP key"
    if [[ $found != "$fingerprint" ]]; then
        die "the key at $key_url has fingerprint(s) $(tr '\n' ' ' <<<"$found")but the stack trusts only $fingerprint; nothing was changed"
    fi
    gpg --homedir "$work/gnupg" --batch --quiet --import -- "$work/key" 2>/dev/null || die "cannot read the key from $key_url"
    gpg --homedir "$work/gnupg" --batch --quiet --export -- "$fingerprint" >"$work/keyring"
    [[ $(primary_fingerprints "$work/keyring") == "$fingerprint" ]] || die "exporting key $fingerprint failed"
    install -d -m 0755 /etc/apt/keyrings
    install -m 0644 "$work/keyring" "$keyring.tmp"
    mv -f -- "$keyring.tmp" "$keyring"
fi

# ---- source
codename=$(sed -n 's/^VERSION_CODENAME=["'"'"']\{0,1\}\([a-z]*\).*/\1/p' /etc/os-release)
[[ $codename =~ ^[a-z]+$ ]] || die "cannot tell the Debian codename from /etc/os-release"
arch=$(dpkg --print-architecture)
line="deb [arch=$arch signed-by=$keyring] ${url%/} $codename main"
changed=no
if [[ ! -f $list || $(<"$list") != "$line" ]]; then
    printf '%s\n' "$line" >"$list.tmp"
    chmod 0644 "$list.tmp"
    mv -f -- "$list.tmp" "$list"
    changed=yes
fi

# ---- package
installed() { dpkg-query -W -f='${Status}' zrepl 2>/dev/null | grep -q 'install ok installed'; }
action=present
if [[ $changed == yes ]] || ! installed; then
    apt-get update -qq -o Dir::Etc::sourcelist="$list" -o Dir::Etc::sourceparts=- -o APT::Get::List-Cleanup=0 \
        >"$work/apt.log" 2>&1 || die "apt-get update of $url failed: $(grep -m1 -E '^(E|Err):' "$work/apt.log" || tail -n 1 "$work/apt.log")"
    if ! installed; then
        apt-get install -y -qq zrepl >"$work/apt.log" 2>&1 ||
            die "apt-get install zrepl failed: $(grep -m1 '^E:' "$work/apt.log" || tail -n 1 "$work/apt.log")"
        action=installed
    fi
fi
apt-mark hold zrepl >/dev/null
printf 'zrepl=%s action=%s\n' "$(dpkg-query -W -f='${Version}' zrepl)" "$action"
