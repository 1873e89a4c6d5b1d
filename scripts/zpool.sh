#!/usr/bin/env bash
# zpool.sh <pool> <layout> <ashift> <compression> <dataset-or-empty> <disk>...
#
# Makes sure the node has ZFS pool <pool> laid out as <layout> over exactly
# <disk>..., and (when <dataset> is not empty) the dataset <pool>/<dataset>.
# <layout> is single|mirror|raid10|raidz1|raidz2|raidz3; <dataset> is a path
# below the pool (e.g. "vmstore" or "data/vms"). Stdout, on success:
#   pool=<pool> action=created|adopted
#   dataset=<pool>/<dataset> action=created|exists      (only with a dataset)
#
# Data safety (docs/design.md §4, docs/proxmox-facts.md §7). This script never passes -f,
# never destroys, exports, wipes or relabels anything, and never changes an
# existing dataset:
# - Pool imported: it is adopted only when its data vdevs have the requested
#   type and exactly the requested disks (compared after resolving
#   /dev/disk/by-id symlinks and mapping a whole-disk vdev's partition to its
#   disk). Otherwise it fails with the difference and changes nothing. Log,
#   cache and spare devices are not part of the comparison. An adopted pool's
#   compression is set only when nobody ever set it (source "default"), which
#   finishes a run that failed right after `zpool create`; an explicit choice is
#   left alone. ashift cannot change after creation and is not checked.
# - Pool absent: every disk must be empty. A disk is refused, with its name and
#   what was found, when it belongs to a pool that `zpool import` (or
#   `zpool import -D`) lists, has partitions, holders or mounts, or when
#   `blkid -p` or `wipefs -n` finds any partition-table, filesystem, RAID or
#   pool signature. A pool of the same name that is importable from other
#   disks is refused too (import it, then re-run to adopt it).
#
# Creation follows PVE's own "Create ZFS" API (pve-storage
# src/PVE/API2/Disks/ZFS.pm): `zpool create -o ashift=<n> <pool> <vdevs>`, then
# `zfs set compression=<c> <pool>`, then `systemctl enable zfs-import@<pool>`.
# raid10 pairs consecutive disks into mirrors, exactly as that API does.
# Deliberately NOT set (decided from the reference):
# - relatime: the installer sets atime/relatime on rpool, the OS pool; PVE's
#   data-pool API does not. Guest disks on a zfspool storage are zvols, which
#   have no access times.
# - acltype: the installer sets acltype=posix only on rpool/ROOT/pve-1, the
#   root filesystem, not on any pool root. For containers, ZFSPoolPlugin
#   creates each subvol with `-o acltype=posixacl -o xattr=sa` itself.
# - cachefile=none: that is the installer's choice for rpool; the API keeps
#   the cache file and enables zfs-import@<pool>, as we do.
#
# Runs under a host-wide lock so two runs cannot race each other.
set -euo pipefail

me=zpool.sh
die() {
    printf '%s: %s\n' "$me" "$*" >&2
    exit 1
}

(($# >= 6)) || die "usage: zpool.sh <pool> <single|mirror|raid10|raidz1|raidz2|raidz3> <ashift> <compression> <dataset-or-empty> <disk>..."
pool=$1
layout=$2
ashift=$3
compression=$4
dataset=$5
shift 5
disks=("$@")
n=${#disks[@]}

# ---- arguments (the schema validated them already; this is the second line of defence)
[[ $pool =~ ^[A-Za-z][A-Za-z0-9_.:-]{0,254}$ ]] || die "invalid pool name '$pool'"
[[ $pool =~ ^(mirror|raidz|draid|spare|log|c[0-9]) ]] && die "pool name '$pool' starts with a name ZFS reserves"
if ! [[ $ashift =~ ^[0-9]+$ ]] || ((ashift < 9 || ashift > 16)); then
    die "ashift must be 9-16, got '$ashift'"
fi
[[ $compression =~ ^(on|off|lz4|lzjb|zle|gzip(-[1-9])?|zstd(-([1-9]|1[0-9]))?)$ ]] || die "invalid compression '$compression'"
if [[ -n $dataset ]]; then
    [[ $dataset =~ ^[A-Za-z0-9_.:-]+(/[A-Za-z0-9_.:-]+)*$ && /$dataset/ != */./* && /$dataset/ != */../* ]] ||
        die "invalid dataset path '$dataset' (a path below the pool, e.g. vmstore)"
fi
for d in "${disks[@]}"; do
    [[ $d == /* && $d != *$'\n'* && $d != *' '* ]] || die "disk must be an absolute path without spaces, got '$d'"
done
case $layout in
    single) ((n == 1)) || die "single needs exactly one disk, got $n" ;;
    mirror) ((n >= 2)) || die "mirror needs at least 2 disks, got $n" ;;
    raid10) ((n >= 4 && n % 2 == 0)) || die "raid10 needs an even number of disks, at least 4, got $n" ;;
    raidz1) ((n >= 3)) || die "raidz1 needs at least 3 disks, got $n" ;;
    raidz2) ((n >= 4)) || die "raidz2 needs at least 4 disks, got $n" ;;
    raidz3) ((n >= 5)) || die "raidz3 needs at least 5 disks, got $n" ;;
    *) die "layout must be single, mirror, raid10, raidz1, raidz2 or raidz3, got '$layout'" ;;
esac

for tool in zpool zfs readlink awk; do
    command -v "$tool" >/dev/null 2>&1 || die "'$tool' not found (install zfsutils-linux)"
done

# ---- one run at a time on this host
lockdir=/run/lock
[[ -d $lockdir && -w $lockdir ]] || lockdir=/tmp
exec 9>"$lockdir/proxmox-ha-zpool.lock"
if command -v flock >/dev/null 2>&1; then
    flock -w 600 9 || die "another zpool.sh run holds $lockdir/proxmox-ha-zpool.lock"
fi

# ---- path resolution ------------------------------------------------------

# Canonical path of a configured disk (follows /dev/disk/by-id symlinks).
canon() {
    readlink -f -- "$1" 2>/dev/null || printf '%s\n' "$1"
}

declare -A want_real=() # canonical path -> configured name
for d in "${disks[@]}"; do
    r=$(canon "$d")
    [[ -z ${want_real[$r]:-} ]] || die "disks '${want_real[$r]}' and '$d' are the same device ($r)"
    want_real[$r]=$d
done

# Canonical disk for a vdev name as zpool prints it (full path with -P, or a
# short name relative to /dev, /dev/disk/by-id, … without it; $2 = an extra
# directory to try first, e.g. the -d directory of `zpool import`). A partition
# of a whole disk (OpenZFS puts the data on partition 1) maps to its disk.
leaf_disk() {
    local name=$1 p="" dir r b parent
    local -a search=()
    [[ -n ${2:-} ]] && search+=("$2")
    if [[ $name == /* ]]; then
        p=$name
    else
        for dir in "${search[@]}" /dev/disk/by-id /dev/disk/by-path /dev/disk/by-vdev /dev/disk/by-uuid /dev/disk/by-partuuid /dev/disk/by-label /dev/disk/by-partlabel /dev/mapper /dev; do
            if [[ -e $dir/$name ]]; then
                p=$dir/$name
                break
            fi
        done
        [[ -n $p ]] || {
            printf '%s\n' "$name"
            return
        }
    fi
    if [[ ! -e $p && $p =~ ^(.*)-part[0-9]+$ ]]; then
        p=${BASH_REMATCH[1]} # a missing whole-disk member, named after its disk
    fi
    r=$(canon "$p")
    if [[ -z ${want_real[$r]:-} && -b $r ]]; then
        b=${r##*/}
        if [[ -e /sys/class/block/$b/partition ]]; then
            parent=$(readlink -f "/sys/class/block/$b/..")
            r=/dev/${parent##*/}
        fi
    fi
    printf '%s\n' "$r"
}

# ---- layout of an imported pool --------------------------------------------

# Prints one line per data vdev member: "<top-level index> <type> <name>",
# where type is disk|mirror|raidz1|raidz2|raidz3|<other group name>.
pool_members() {
    local status
    # -P prints full paths on OpenZFS; zfs-fuse (tests) has no -P and prints paths as given.
    status=$(zpool status -P "$1" 2>/dev/null) || status=$(zpool status "$1")
    printf '%s\n' "$status" | awk '
        /^[[:space:]]*config:/ { inconf = 1; next }
        inconf && !intable && $1 == "NAME" && $2 == "STATE" { intable = 1; next }
        intable && /^[[:space:]]*$/ { if (rows) exit; next }
        intable && /^errors:/ { exit }
        intable {
            line = $0; sub(/^\t/, "", line)
            rest = line; sub(/^ +/, "", rest)
            depth = (length(line) - length(rest)) / 2
            split(rest, f, /[[:space:]]+/)
            name = f[1]
            # A missing member is shown by GUID with "was <path>".
            if (match(rest, / was \/[^ ]+/)) name = substr(rest, RSTART + 5, RLENGTH - 5)
            rows++
            if (depth == 0) { if (rows > 1) exit; next }    # pool line; then logs/cache/spares: not data
            if (depth == 1) {
                top++
                if (name ~ /^(mirror|raidz[123]?|draid[^ ]*)-[0-9]+$/) {
                    type = name; sub(/-[0-9]+$/, "", type)
                    if (type == "raidz") type = "raidz1"
                    sub(/:.*/, "", type)
                } else {
                    print top, "disk", name
                }
                next
            }
            if (name ~ /^(replacing|spare)-[0-9]+$/) next
            print top, type, name
        }'
}

# Canonical text of a layout from "index type canonical-path" lines:
# "type(sorted members) …" with the vdevs sorted, so order does not matter.
canonical() {
    awk '{ m[$1] = m[$1] " " $3; t[$1] = $2 }
        END { for (i in m) { k = split(substr(m[i], 2), a, " "); s = ""
                  # insertion sort of members
                  for (x = 2; x <= k; x++) { v = a[x]; y = x - 1; while (y > 0 && a[y] > v) { a[y + 1] = a[y]; y-- } a[y + 1] = v }
                  for (x = 1; x <= k; x++) s = s (x > 1 ? " " : "") a[x]
                  print t[i] "(" s ")" } }' | LC_ALL=C sort | paste -sd' ' -
}

# Layout name of "index type path" lines: single|mirror|raid10|raidzN, or a description.
layout_name() {
    awk '{ if (!($1 in cnt)) tops++; cnt[$1]++; types[$2] = 1; last = $2 }
        END {
            ntypes = 0; for (t in types) ntypes++
            pairs = 1; for (i in cnt) if (cnt[i] != 2) pairs = 0
            if (ntypes != 1) { print "a mix of vdev types"; exit }
            if (last == "disk") { print (tops == 1 ? "single" : "a stripe of " tops " disks"); exit }
            if (last == "mirror") { print (tops == 1 ? "mirror" : (pairs ? "raid10" : tops " mirrors")); exit }
            print (tops == 1 ? last : tops " " last " vdevs")
        }'
}

want_lines() {
    local i=0 j
    case $layout in
        single) printf '1 disk %s\n' "$(canon "${disks[0]}")" ;;
        raid10)
            for ((j = 0; j < n; j += 2)); do
                i=$((i + 1))
                printf '%s mirror %s\n%s mirror %s\n' "$i" "$(canon "${disks[j]}")" "$i" "$(canon "${disks[j + 1]}")"
            done
            ;;
        *) for d in "${disks[@]}"; do printf '1 %s %s\n' "$layout" "$(canon "$d")"; done ;;
    esac
}

want_canon=$(want_lines | canonical)

pool_imported() {
    zpool list -H -o name "$pool" >/dev/null 2>&1
}

# Compares the imported pool with the request; dies with the difference.
check_layout() {
    local members have_canon have_lines="" idx type name r d only_pool="" only_stack="" have_layout
    members=$(pool_members "$pool") || die "cannot read the layout of pool '$pool' (zpool status failed)"
    declare -A seen=()
    while read -r idx type name; do
        [[ -n $name ]] || continue
        r=$(leaf_disk "$name")
        have_lines+="$idx $type $r"$'\n'
        seen[$r]=1
        if [[ -z ${want_real[$r]:-} ]]; then
            only_pool+=" $name"
            [[ $r == "$name" ]] || only_pool+=" ($r)"
        fi
    done <<<"$members"
    have_canon=$(printf '%s' "$have_lines" | canonical)
    [[ $have_canon == "$want_canon" ]] && return 0
    for d in "${disks[@]}"; do
        [[ -n ${seen[$(canon "$d")]:-} ]] || only_stack+=" $d"
    done
    have_layout=$(printf '%s' "$have_lines" | layout_name)
    if [[ $have_layout == "$layout" && -z $only_pool && -z $only_stack ]]; then
        have_layout+=" with the disks grouped differently"
    fi
    die "pool '$pool' exists but does not match the stack; nothing changed: the stack wants $layout of [${disks[*]}], the pool is $have_layout: $have_canon; disks only in the pool:${only_pool:- none}; disks only in the stack:${only_stack:- none}"
}

ensure_compression_set() {
    local source
    source=$(zfs get -H -o source compression "$pool" 2>/dev/null) || die "cannot read compression of '$pool'"
    if [[ $source == default ]]; then
        zfs set "compression=$compression" "$pool" >/dev/null || die "zfs set compression=$compression $pool failed"
    fi
}

enable_import_unit() {
    command -v systemctl >/dev/null 2>&1 || return 0
    [[ -e /lib/systemd/system/zfs-import@.service || -e /usr/lib/systemd/system/zfs-import@.service ]] || return 0
    local unit
    unit="zfs-import@$(systemd-escape -- "$pool").service"
    systemctl is-enabled --quiet "$unit" 2>/dev/null && return 0
    systemctl enable --quiet "$unit" 2>/dev/null || die "systemctl enable $unit failed"
}

# ---- emptiness checks for a new pool ------------------------------------------

declare -A problems=() # configured disk -> what was found

note() {
    problems[$1]+="${problems[$1]:+, }$2"
}

# Pools `zpool import` can see (exported, foreign, or destroyed with -D).
scan_importable() {
    local destroyed=$1 dir=$2 out pname="" pid="" pstate="" inconf=0 line first r kind
    local -a args=(import)
    [[ $destroyed == yes ]] && args+=(-D)
    [[ -n $dir ]] && args+=(-d "$dir")
    # Exit status is non-zero when nothing is importable; the listing is what counts.
    out=$(zpool "${args[@]}" 2>/dev/null) || true
    kind=exported
    [[ $destroyed == yes ]] && kind=destroyed
    # The advice for a pool of our name is given at the end of its record: a
    # pool last imported by another host (hostid mismatch) imports only with
    # -f, which its "status:" line says (OpenZFS cmd/zpool/zpool_main.c
    # show_import, ZPOOL_STATUS_HOSTID_MISMATCH).
    local named=0 foreign=0
    name_note() {
        ((named)) || return 0
        if ((foreign)); then
            note "(pool name)" "a pool named '$pool' is importable from other disks, last imported by another host: make sure that host no longer uses it, import it with 'zpool import -f $pool' and re-run to adopt it"
        else
            note "(pool name)" "a pool named '$pool' is importable from other disks: import it with 'zpool import $pool' and re-run to adopt it"
        fi
        named=0 foreign=0
    }
    while IFS= read -r line; do
        if [[ $line =~ ^[[:space:]]*pool:\ (.+)$ ]]; then
            name_note
            pname=${BASH_REMATCH[1]}
            pid="" pstate="" inconf=0
            [[ $pname == "$pool" && $kind == exported ]] && named=1
        elif [[ $line =~ ^[[:space:]]*status:\ .*last\ accessed\ by\ another\ system ]]; then
            foreign=1
        elif [[ $line =~ ^[[:space:]]*id:\ ([0-9]+) ]]; then
            pid=${BASH_REMATCH[1]}
        elif [[ $line =~ ^[[:space:]]*state:\ (.+)$ ]]; then
            pstate=${BASH_REMATCH[1]}
        elif [[ $line =~ ^[[:space:]]*config: ]]; then
            inconf=1
        elif ((inconf)) && [[ $line == $'\t'* ]]; then
            read -r first _ <<<"$line"
            [[ -n $first && $first != "$pname" ]] || continue
            r=$(leaf_disk "$first" "$dir")
            if [[ -n ${want_real[$r]:-} ]]; then
                note "${want_real[$r]}" "belongs to $kind pool '$pname' (id ${pid:-?}, state ${pstate:-?})"
            fi
        fi
    done <<<"$out"
    name_note
}

check_disks_empty() {
    local d r b out rc types line dir
    command -v blkid >/dev/null 2>&1 || die "'blkid' not found (util-linux): cannot prove the disks are empty"
    command -v wipefs >/dev/null 2>&1 || die "'wipefs' not found (util-linux): cannot prove the disks are empty"
    for d in "${disks[@]}"; do
        [[ -e $d ]] || die "disk '$d' does not exist"
        r=$(canon "$d")
        [[ -b $r || -f $r ]] || die "disk '$d' ($r) is neither a block device nor a file"
    done

    # Importable pools: the default search covers /dev; vdevs elsewhere (files) need -d <dir>.
    declare -A dirs=()
    local need_default=no
    for r in "${!want_real[@]}"; do
        if [[ $r == /dev/* ]]; then need_default=yes; else dirs[${r%/*}]=1; fi
    done
    if [[ $need_default == yes ]]; then
        scan_importable no ""
        scan_importable yes ""
    fi
    for dir in "${!dirs[@]}"; do
        scan_importable no "$dir"
        scan_importable yes "$dir"
    done

    for d in "${disks[@]}"; do
        r=$(canon "$d")
        if [[ -b $r ]]; then
            b=${r##*/}
            local parts=() holders=() x
            for x in /sys/class/block/"$b"/"$b"*; do
                [[ -e $x/partition ]] && parts+=("${x##*/}")
            done
            ((${#parts[@]})) && note "$d" "has partitions (${parts[*]})"
            for x in /sys/class/block/"$b"/holders/*; do
                [[ -e $x ]] && holders+=("${x##*/}")
            done
            ((${#holders[@]})) && note "$d" "is in use by ${holders[*]}"
        fi
        if awk -v dev="$r" '$1 == dev { found = 1 } END { exit !found }' /proc/mounts 2>/dev/null; then
            note "$d" "is mounted"
        fi

        rc=0
        out=$(blkid -p -o export -- "$r" 2>&1) || rc=$?
        case $rc in
            0)
                local pttype="" fstype="" label="" found=()
                while IFS= read -r line; do
                    case $line in
                        PTTYPE=*) pttype=${line#PTTYPE=} ;;
                        TYPE=*) fstype=${line#TYPE=} ;;
                        LABEL=*) label=${line#LABEL=} ;;
                    esac
                done <<<"$out"
                [[ -n $pttype ]] && found+=("a partition table \"$pttype\"")
                [[ -n $fstype ]] && found+=("a signature \"$fstype\"${label:+ labelled \"$label\"}")
                ((${#found[@]})) || found+=("a signature")
                note "$d" "has $(printf '%s and ' "${found[@]}" | sed 's/ and $//') (blkid -p)"
                ;;
            2) ;; # nothing identified
            8) note "$d" "has several conflicting signatures (blkid -p exit 8)" ;;
            *) die "blkid -p $r failed (exit $rc): ${out//$'\n'/ }" ;;
        esac

        rc=0
        out=$(wipefs -n --noheadings -O TYPE -- "$r" 2>&1) || rc=$?
        ((rc == 0)) || die "wipefs -n $r failed (exit $rc): ${out//$'\n'/ }"
        types=$(awk 'NF && !seen[$1]++ { printf "%s%s", sep, $1; sep = "," }' <<<"$out")
        [[ -z $types ]] || note "$d" "has signatures $types (wipefs -n)"
    done
}

# ---- main ------------------------------------------------------------------------

if pool_imported; then
    check_layout
    ensure_compression_set
    enable_import_unit
    action=adopted
else
    check_disks_empty
    if ((${#problems[@]})); then
        msg=""
        for d in "(pool name)" "${disks[@]}"; do
            [[ -n ${problems[$d]:-} ]] || continue
            if [[ $d == "(pool name)" ]]; then msg+="${msg:+; }${problems[$d]}"; else msg+="${msg:+; }disk $d ${problems[$d]}"; fi
        done
        die "refusing to create pool '$pool'; nothing changed: $msg"
    fi
    vdevs=()
    case $layout in
        single) vdevs=("${disks[0]}") ;;
        raid10) for ((j = 0; j < n; j += 2)); do vdevs+=(mirror "${disks[j]}" "${disks[j + 1]}"); done ;;
        *) vdevs=("$layout" "${disks[@]}") ;;
    esac
    # No -f, ever: zpool itself refuses vdevs that look in use.
    if ! out=$(zpool create -o "ashift=$ashift" "$pool" "${vdevs[@]}" 2>&1); then
        die "zpool create $pool failed: $(grep -v '^Defaulting to' <<<"$out" | paste -sd' ' - || true)"
    fi
    pool_imported || die "zpool create $pool reported success but the pool is not imported"
    check_layout
    zfs set "compression=$compression" "$pool" >/dev/null || die "zfs set compression=$compression $pool failed (pool created; re-run to finish)"
    enable_import_unit
    action=created
fi
printf 'pool=%s action=%s\n' "$pool" "$action"

if [[ -n $dataset ]]; then
    ds=$pool/$dataset
    if type=$(zfs get -H -o value type "$ds" 2>/dev/null); then
        [[ $type == filesystem ]] || die "dataset '$ds' exists but is a $type, not a filesystem; nothing changed"
        printf 'dataset=%s action=exists\n' "$ds"
    else
        out=$(zfs create -p "$ds" 2>&1) || die "zfs create $ds failed: ${out//$'\n'/ }"
        printf 'dataset=%s action=created\n' "$ds"
    fi
fi
