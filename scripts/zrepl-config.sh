#!/usr/bin/env bash
# zrepl-config.sh <config-yaml> <root-fs> <peer>...
#
# Installs the generated zrepl configuration (the YAML text itself is the
# first argument; it holds no secret) as /etc/zrepl/zrepl.yml and makes the
# daemon run it:
#
# 1. The text is written to a temporary file next to the live one and checked
#    with `zrepl configcheck --config <tmp>`. A rejected config leaves the live
#    file and the running daemon untouched, and the step fails with zrepl's
#    message.
# 2. The datasets the pull jobs receive into exist: <root-fs> (created with
#    mountpoint=none, so the copies below it are never mounted on this node)
#    and <root-fs>/<peer> for each peer (zrepl refuses to receive when a
#    job's root_fs does not exist). Existing datasets are left as they are;
#    nothing is ever destroyed.
# 3. The live file is replaced atomically, and zrepl restarted, only when the
#    text changed (zrepl has no reload; a restart aborts running transfers,
#    which resume later). The service is enabled and started when it is not
#    running.
#
# Stdout: config=changed|unchanged
set -euo pipefail

me=zrepl-config.sh
die() {
    printf '%s: %s\n' "$me" "$*" >&2
    exit 1
}

(($# >= 3)) || die "usage: zrepl-config.sh <config-yaml> <root-fs> <peer>..."
yaml=$1
root_fs=$2
shift 2
peers=("$@")
ds_re='^[A-Za-z0-9_.:-]+(/[A-Za-z0-9_.:-]+)+$'
[[ $root_fs =~ $ds_re ]] || die "invalid root dataset '$root_fs' (pool/dataset expected)"
for p in "${peers[@]}"; do
    [[ $p =~ ^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$ ]] || die "invalid peer name '$p'"
done
command -v zrepl >/dev/null || die "zrepl is not installed (run zrepl-install.sh first)"

dir=/etc/zrepl
live=$dir/zrepl.yml
install -d -m 0700 "$dir"
work=$(mktemp -d)
tmp=$(mktemp "$dir/.zrepl.yml.XXXXXX")
trap 'rm -f "$tmp"; rm -rf "$work"' EXIT
printf '%s\n' "$yaml" >"$tmp"
chmod 0600 "$tmp"

# ---- 1. check before anything changes
if ! out=$(zrepl configcheck --config "$tmp" 2>&1); then
    die "zrepl configcheck rejected the new config; $live and the running daemon are unchanged: $(tr '\n' ' ' <<<"$out" | sed 's/ *$//')"
fi

# ---- 2. receive roots
pool=${root_fs%%/*}
zpool list -H -o name "$pool" >/dev/null 2>&1 || die "pool $pool is not imported"
exists() { zfs list -H -o name "$1" >/dev/null 2>&1; }
if ! exists "$root_fs"; then
    zfs create -p -o mountpoint=none "$root_fs" 2>"$work/err" || die "cannot create $root_fs: $(<"$work/err")"
fi
for p in "${peers[@]}"; do
    exists "$root_fs/$p" || zfs create "$root_fs/$p" 2>"$work/err" || die "cannot create $root_fs/$p: $(<"$work/err")"
done

# ---- 3. install and (re)start
changed=no
if [[ ! -f $live ]] || ! cmp -s "$tmp" "$live"; then
    mv -f -- "$tmp" "$live"
    changed=yes
fi
systemctl enable --quiet zrepl.service
if [[ $changed == yes ]] || ! systemctl is-active --quiet zrepl.service; then
    systemctl restart zrepl.service 2>"$work/err" ||
        die "zrepl did not start with the new config: $(tr '\n' ' ' <"$work/err")(see journalctl -u zrepl)"
fi
[[ $changed == yes ]] && printf 'config=changed\n' || printf 'config=unchanged\n'
