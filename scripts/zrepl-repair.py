#!/usr/bin/env python3
"""zrepl-repair: unblock zrepl pull jobs without ever destroying a copy's data.

Usage: zrepl-repair --job <pull-job> --root-fs <root_fs> [--job … --root-fs …]
                    [--attic <dataset>] [--dry-run]

zrepl never resolves a broken chain by itself (v0.7.0: only an empty receiver,
replication/logic tryAutoresolveConflict); its maintainers advise renaming the
receiver (zrepl issues #80, #627) and destroying only receiver-only snapshots
of a diverged copy (#543). This tool does exactly that much, and less where
it cannot be sure. It reads `zrepl status --mode raw` (daemon.Status as JSON),
looks at the last attempt of each pull job given (Jobs[<job>].pull.Replication
.Attempts[-1].Filesystems[]), and for a filesystem in "planning-error" or
"step-error" whose error is one of these:

  "the receiver's latest snapshot is not present on sender" (diverged;
      replication/logic/diff/diff.go ConflictDiverged: "last common: …",
      "receiver-only: …")
      The copy <root_fs>/<name> is rolled back to the last common snapshot
      (`zfs rollback -r`) only when every snapshot the receiver has after it
      is one zrepl (zrepl_…) or pvesr (__replicate_…) made, and those are
      exactly the receiver-only ones the error names (by name, then by GUID
      between planning and acting). Anything else there (vzdump, an
      operator's snapshot): refused, reported, nothing changed.
  "no common snapshot or suitable bookmark between sender and receiver"
      (diff.go ConflictNoCommonAncestor: a VM deleted and its vmid reused,
      qmrestore --force, a rollback or failback on the sender…)
      Nothing is ever deleted. With --attic (opt-in per stack), zrepl's holds
      on the copy are released and the copy is renamed to
      <attic>/<job>/<name, '/' written '--'>-<UTC time>: outside root_fs, in
      the same pool, with every snapshot. zrepl then replicates afresh into
      the old place. Reported on stderr and by exit status 3.
      Without --attic: refused with the commands to do it by hand (exit 1).
  "cannot restore to <ds>@<snap>: destination already exists" (zfs receive)
      The old snapshot of that name is renamed to displaced_<UTC>_<snap>
      (a name zrepl's pruning never matches), not destroyed.
  "resume token `toguid` = … not found on sender" (replication_logic.go:
      the snapshot an interrupted step was receiving has since gone, e.g.
      pruned by pvesr)
      The partial receive is aborted (`zfs receive -A <copy>`): the partial
      state is no snapshot and holds nothing that is not already lost.
  "dataset does not exist"
      Only the job is woken up; nothing is changed.

Fresh decisions: the status is read twice (plan, then confirm) and the
receiver's snapshots (name, GUID, createtxg) are listed for each; an item is
acted on only when both readings agree, so a state that changed meanwhile is
left for the next run. After any change the job is woken up once
(`zrepl signal wakeup <job>`). Only zrepl's own holds (tags zrepl_…) are
released; anything still held otherwise is left alone and reported.

Served set (with --served-node <node> --storage-path <dataset>, run first):
which guest disks this node serves follows where the guests are now, not
the stack's home node. A guest runs here when /etc/pve/nodes/<node>/
qemu-server/<vmid>.conf or lxc/<vmid>.conf exists (pmxcfs moves that file
when HA or a migration moves the guest). The disks below <storage-path> of
every other guest are pvesr's replicas here: they are excluded from the
`filesystems` filters of /etc/zrepl/zrepl.yml (the generator writes each
filter on one line as JSON, so exactly that line is rewritten), and zrepl is
restarted (deferred while a transfer runs, as zrepl-config.sh does). When a
disk changes hands (it was local at the last run and is a replica now, or
the other way round: after a failover, pvesr's forced receive discards the
disk's later snapshots but not zrepl's bookmarks), zrepl's abstractions on it
are released (`zrepl zfs-abstraction release-all --fs <disk>:ok`: holds and
cursor bookmarks), so zrepl finds a conflict the repair handles instead of
sending from a cursor of a discarded history. What was seen is kept in
/var/lib/zrepl-repair/served.json.

Safety: nothing outside <root_fs> is touched except the attic (renames into
it), never <root_fs> itself; a status naming a path outside it, an empty, "."
or ".." component is refused, and then nothing of that job is changed.
--dry-run prints the plan and changes nothing.

Exit status (the worst over all jobs; every job is attempted): 0 nothing
broken or all repaired; 3 repaired, and a copy was moved aside to the attic
(look at it); 1 a repair was refused or failed (reason on stderr); 2 usage
error, status unreadable or without the job. Output goes to the journal when
run by zrepl-repair.service.
"""

import argparse
import datetime
import fcntl
import json
import os
import re
import subprocess
import sys

NAME_COMPONENT = re.compile(r"^[A-Za-z0-9_.:-]+$")
NO_COMMON = "no common snapshot or suitable bookmark between sender and receiver"
DIVERGED = "the receiver's latest snapshot is not present on sender"
DEST_EXISTS = re.compile(r"cannot restore to (\S+): destination already exists")
RESUME_GONE = re.compile(r"resume token `toguid` = \d+ not found on sender")
MISSING = "dataset does not exist"
ZREPL_TAG = re.compile(r"^zrepl_")
# Snapshots zrepl (its snapshot prefix) or pvesr (PVE::Replication, __replicate_<job>_<time>__) make.
MACHINE_SNAPSHOT = re.compile(r"^(zrepl_|__replicate_)")
MOVED_ASIDE = 3


class Refused(Exception):
    pass


def say(msg):
    print(msg, flush=True)


def warn(msg):
    print("zrepl-repair: " + msg, file=sys.stderr, flush=True)


def run(argv, check=True):
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=300)
    if check and p.returncode != 0:
        raise RuntimeError("`%s` failed (exit %d): %s" % (" ".join(argv), p.returncode, p.stderr.strip() or p.stdout.strip()))
    return p


def valid_dataset(path):
    return all(NAME_COMPONENT.match(c) and c not in (".", "..") for c in path.split("/"))


def inside(root, path):
    """True when path is strictly below root (never root itself)."""
    return valid_dataset(path) and path.startswith(root + "/")


def utc_stamp():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")


# ---------------------------------------------------------------- status


def read_status():
    return json.loads(run(["zrepl", "status", "--mode", "raw"]).stdout)


def last_attempt(status, job):
    jobs = status.get("Jobs")
    if not isinstance(jobs, dict) or job not in jobs:
        names = sorted(j for j in (jobs or {}) if not j.startswith("_"))
        raise LookupError("job %s is not in zrepl's status (jobs: %s)" % (job, ", ".join(names) or "none"))
    entry = jobs[job] or {}
    if entry.get("type") != "pull":
        raise LookupError("job %s is a %s job, not a pull job" % (job, entry.get("type")))
    repl = (entry.get("pull") or {}).get("Replication")
    attempts = (repl or {}).get("Attempts") or []
    return attempts[-1] if attempts else None


def fs_error(fs):
    key = {"planning-error": "PlanError", "step-error": "StepError"}.get(fs.get("State"))
    err = (fs.get(key) or {}).get("Err") if key else None
    return err if isinstance(err, str) else None


def rel_names(block):
    """Snapshot names ("@x" lines) of one indented list in a diff.go conflict text."""
    return [m.group(1) for m in re.finditer(r"^\s+@(\S+)\s*$", block, re.M)]


def classify(err):
    """(kind, details) for an error this tool handles, else (None, None)."""
    m = DEST_EXISTS.search(err)
    if m:
        return "dest-exists", {"snapshot": m.group(1), "line": m.group(0)}
    if DIVERGED in err:
        common = re.search(r"^\s*last common: ([@#])(\S+)\s*$", err, re.M)
        parts = re.split(r"^\s*receiver-only:\s*$", err, maxsplit=1, flags=re.M)
        if not common or len(parts) != 2:
            return "unparsed", {"line": DIVERGED}
        return "diverged", {"common": common.group(2), "receiver_only": rel_names(parts[1]), "line": DIVERGED}
    if NO_COMMON in err:
        return "no-common", {"line": NO_COMMON}
    m = RESUME_GONE.search(err)
    if m:
        return "resume-gone", {"line": m.group(0)}
    if MISSING in err:
        return "missing", {"line": MISSING}
    return None, None


def plan(status, job, root):
    """Items of one job, in status order; raises Refused listing every path refusal."""
    attempt = last_attempt(status, job)
    items, refusals = [], []
    for fs in (attempt or {}).get("Filesystems") or []:
        err = fs_error(fs)
        if err is None:
            continue
        kind, details = classify(err)
        if kind is None:
            continue
        name = str(((fs.get("Info") or {}).get("Name")) or "")
        receiver = root + "/" + name if name else root
        if kind == "dest-exists":
            ds, _, snapname = details["snapshot"].partition("@")
            if not snapname or not NAME_COMPONENT.match(snapname) or not inside(root, ds):
                refusals.append("%s: snapshot %s is not below %s; refusing to touch it" % (name or "?", details["snapshot"], root))
                continue
            receiver = ds
        elif not inside(root, receiver):
            refusals.append("%s: receiver dataset %s is not below %s; refusing to touch it" % (name or "?", receiver, root))
            continue
        items.append(dict(details, fs=name, kind=kind, target=receiver, error=err))
    if refusals:
        raise Refused("; ".join(refusals))
    return items


# ---------------------------------------------------------------- zfs


def exists(name):
    return run(["zfs", "list", "-H", "-o", "name", name], check=False).returncode == 0


def snapshots(dataset):
    """[(name after '@', guid, createtxg)] of the dataset's own snapshots, oldest first."""
    out = run(["zfs", "get", "-Hp", "-r", "-o", "name,property,value", "guid,createtxg", dataset]).stdout
    props = {}
    for line in out.splitlines():
        fields = line.split("\t")
        if len(fields) == 3 and fields[0].startswith(dataset + "@"):
            props.setdefault(fields[0][len(dataset) + 1 :], {})[fields[1]] = fields[2]
    snaps = [(n, p.get("guid", ""), int(p.get("createtxg", "0") or 0)) for n, p in props.items()]
    return sorted(snaps, key=lambda s: (s[2], s[0]))


def facts(item):
    """What the receiver looks like now, as far as the item's decision depends on it."""
    if item["kind"] in ("diverged", "no-common") and exists(item["target"]):
        return snapshots(item["target"])
    if item["kind"] == "dest-exists":
        return exists(item["target"] + "@" + item["snapshot"].partition("@")[2])
    return exists(item["target"])


def held_snapshots(target):
    """(snapshot, userrefs) for every held snapshot of a dataset tree, or of one snapshot."""
    argv = ["zfs", "list", "-H", "-o", "name,userrefs", "-t", "snapshot"]
    argv += [target] if "@" in target else ["-r", target]
    held = []
    for line in run(argv).stdout.splitlines():
        fields = line.split("\t")
        if len(fields) == 2 and fields[1].strip().isdigit() and int(fields[1]) > 0:
            held.append((fields[0], int(fields[1])))
    return held


def zrepl_tags(snapshot, job):
    """zrepl's hold tags on a snapshot: listed by `zfs holds` where it works, plus
    the tag this job itself places (released only if present)."""
    tags = {"zrepl_last_received_J_" + job: True}
    p = run(["zfs", "holds", "-H", snapshot], check=False)
    if p.returncode == 0:
        for line in p.stdout.splitlines():
            fields = line.split("\t")
            if len(fields) >= 2 and ZREPL_TAG.match(fields[1].strip()):
                tags[fields[1].strip()] = False  # known to be present
    return tags


def release_zrepl_holds(snaps, job, dry_run):
    """Releases zrepl's holds on the given snapshots; fails when other holds remain."""
    for snapshot in snaps:
        for tag, maybe in sorted(zrepl_tags(snapshot, job).items()):
            if dry_run:
                say("plan: zfs release %s %s%s" % (tag, snapshot, " (if held)" if maybe else ""))
                continue
            p = run(["zfs", "release", tag, snapshot], check=False)
            if p.returncode == 0:
                say("released %s %s" % (tag, snapshot))
            elif not (maybe and "no such tag" in p.stderr):
                raise RuntimeError("cannot release %s from %s: %s" % (tag, snapshot, p.stderr.strip()))
    if not dry_run:
        still = [h for s in snaps for h in held_snapshots(s)]
        if still:
            raise RuntimeError("holds that are not zrepl's remain (%s)" % ", ".join("%s: %d" % s for s in still))


# ---------------------------------------------------------------- repairs


def rollback_diverged(item, job, dry_run):
    target, common = item["target"], item["common"]
    snaps = snapshots(target)
    names = [s[0] for s in snaps]
    if common not in names:
        raise Refused("the last common snapshot @%s named by zrepl is not on %s" % (common, target))
    txg = next(s[2] for s in snaps if s[0] == common)
    newer = [s[0] for s in snaps if s[2] > txg]
    foreign = [n for n in newer if not MACHINE_SNAPSHOT.match(n)]
    if foreign:
        raise Refused(
            "%s has snapshots after @%s that neither zrepl nor pvesr made (%s); a rollback would destroy them. "
            "Keep them elsewhere (zfs send), or rename the copy aside, then wake the job"
            % (target, common, ", ".join("@" + n for n in foreign))
        )
    if sorted(newer) != sorted(item["receiver_only"]):
        raise Refused(
            "zrepl's receiver-only list (%s) is not what %s has after @%s (%s); the status is stale, next run"
            % (", ".join(item["receiver_only"]) or "none", target, common, ", ".join(newer) or "none")
        )
    say("%s: %s (last common @%s; rolling back over %s)" % (item["fs"], item["line"], common, ", ".join("@" + n for n in newer)))
    release_zrepl_holds(["%s@%s" % (target, n) for n in newer], job, dry_run)
    if dry_run:
        say("plan: zfs rollback -r %s@%s" % (target, common))
    else:
        run(["zfs", "rollback", "-r", "%s@%s" % (target, common)])
        say("rolled back %s to @%s" % (target, common))
    return 0


def move_aside(item, job, attic, dry_run):
    target = item["target"]
    if not attic:
        raise Refused(
            "no common snapshot: %s cannot be continued and is kept. Move it aside by hand "
            "(zfs release the zrepl_ holds, then `zfs rename %s <a dataset outside the root_fs>`), "
            "or set zrepl.attic in the stack so this tool does it" % (target, target)
        )
    dest = "%s/%s/%s-%s" % (attic, job, item["fs"].replace("/", "--"), utc_stamp())
    say("%s: %s" % (item["fs"], item["line"]))
    release_zrepl_holds([s for s, _ in held_snapshots(target)], job, dry_run)
    parent = dest.rsplit("/", 1)[0]
    if dry_run:
        say("plan: zfs create -p -o mountpoint=none %s" % parent)
        say("plan: zfs rename %s %s" % (target, dest))
        return 0
    if not exists(parent):
        run(["zfs", "create", "-p", "-o", "mountpoint=none", parent])
    run(["zfs", "rename", target, dest])
    say("moved %s aside to %s" % (target, dest))
    warn("WARNING: %s had no snapshot in common with its sender; the old copy is kept at %s until you remove it" % (target, dest))
    return MOVED_ASIDE


def rename_existing(item, dry_run):
    ds, _, snap = item["snapshot"].partition("@")
    new = "displaced_%s_%s" % (utc_stamp(), snap)
    say("%s: %s" % (item["fs"], item["line"]))
    if dry_run:
        say("plan: zfs rename %s@%s %s@%s" % (ds, snap, ds, new))
    else:
        run(["zfs", "rename", "%s@%s" % (ds, snap), "%s@%s" % (ds, new)])
        say("renamed %s@%s to @%s" % (ds, snap, new))
    return 0


def abort_partial(item, dry_run):
    target = item["target"]
    p = run(["zfs", "get", "-H", "-o", "value", "receive_resume_token", target], check=False)
    if p.returncode != 0:
        raise Refused("this ZFS has no resumable receive (receive_resume_token: %s); nothing to abort" % (p.stderr.strip().splitlines() or ["?"])[0])
    if p.stdout.strip() in ("", "-"):
        return None  # nothing partial (any more)
    say("%s: %s" % (item["fs"], item["line"]))
    if dry_run:
        say("plan: zfs receive -A %s" % target)
    else:
        run(["zfs", "receive", "-A", target])
        say("aborted the partial receive into %s" % target)
    return 0


def repair(item, job, attic, dry_run):
    """None when nothing was (or, dry, would be) changed, else 0 or MOVED_ASIDE."""
    kind = item["kind"]
    if kind == "unparsed":
        raise Refused("%s: cannot read zrepl's conflict text; nothing changed" % item["line"])
    if kind == "missing":
        say("%s: %s: nothing to change; waking the job re-plans it" % (item["fs"], item["line"]))
        return 0
    if kind == "dest-exists":
        return rename_existing(item, dry_run) if facts(item) else None
    if not exists(item["target"]):
        return None
    if kind == "diverged":
        return rollback_diverged(item, job, dry_run)
    if kind == "no-common":
        return move_aside(item, job, attic, dry_run)
    return abort_partial(item, dry_run)


# ---------------------------------------------------------------- served set

GUEST_DISK = re.compile(r"^(?:vm|subvol|base|basevol)-(\d+)-")
FILTER_LINE = re.compile(r"^(\s*)filesystems: (\{.*\})\s*$")
WAITER = "/usr/local/sbin/zrepl-restart-when-idle"


def local_vmids(nodes_dir, node):
    ids = set()
    for sub in ("qemu-server", "lxc"):
        d = os.path.join(nodes_dir, node, sub)
        if not os.path.isdir(d):
            continue
        for f in os.listdir(d):
            m = re.match(r"^(\d+)\.conf$", f)
            if m:
                ids.add(m.group(1))
    return ids


def guest_disks(storage):
    """{dataset: vmid} of the guest volumes directly below the storage dataset."""
    out = run(["zfs", "list", "-H", "-o", "name", "-d", "1", storage]).stdout.splitlines()
    disks = {}
    for ds in out:
        if not ds.startswith(storage + "/"):
            continue
        m = GUEST_DISK.match(ds[len(storage) + 1 :])
        if m:
            disks[ds] = m.group(1)
    return disks


def restart_zrepl(dry_run):
    if dry_run:
        say("plan: restart zrepl (deferred while a transfer runs)")
        return
    busy = os.access(WAITER, os.X_OK) and run([WAITER, "--check"], check=False).returncode == 0
    if not busy:
        run(["systemctl", "restart", "zrepl.service"])
        say("restarted zrepl")
    elif run(["systemctl", "is-active", "--quiet", "zrepl-restart-when-idle.service"], check=False).returncode != 0:
        run(["systemd-run", "--quiet", "--no-block", "--collect", "--unit=zrepl-restart-when-idle", WAITER])
        say("zrepl restart deferred until no transfer runs")
    else:
        say("zrepl restart already pending")


def sync_served(node, storage, config, nodes_dir, state_file, dry_run):
    """Rewrites the served set for where guests are now; returns True when something changed."""
    if not os.path.isdir(os.path.join(nodes_dir, node)):
        raise RuntimeError("%s has no directory %s: is %s this node's name in the cluster?" % (nodes_dir, node, node))
    local = local_vmids(nodes_dir, node)
    disks = guest_disks(storage)
    owner = {ds: ("local" if vmid in local else "replica") for ds, vmid in disks.items()}
    foreign = sorted(ds for ds, o in owner.items() if o == "replica")
    try:
        with open(state_file) as f:
            seen = json.load(f)
    except (OSError, ValueError):
        seen = {}
    moved = sorted(ds for ds, o in owner.items() if seen.get(ds) not in (None, o))

    with open(config) as f:
        text = f.read()
    lines, found = [], 0
    for line in text.split("\n"):
        m = FILTER_LINE.match(line)
        if m:
            found += 1
            old = json.loads(m.group(2))
            keep = {k: v for k, v in old.items() if not (k.startswith(storage + "/") and GUEST_DISK.match(k[len(storage) + 1 :]))}
            keep.update({ds: False for ds in foreign})
            line = "%sfilesystems: %s" % (m.group(1), json.dumps(keep))
        lines.append(line)
    if not found:
        raise RuntimeError("%s has no one-line filesystems filter (not written by proxmox-ha?); served set not synced" % config)
    new_text = "\n".join(lines)

    for ds in moved:
        say("%s: %s here now (was %s); releasing zrepl's holds and bookmarks on it" % (ds, owner[ds], seen[ds]))
        if dry_run:
            say("plan: zrepl zfs-abstraction release-all --fs %s:ok" % ds)
        else:
            run(["zrepl", "zfs-abstraction", "release-all", "--fs", "%s:ok" % ds])
    changed = new_text != text
    if changed:
        say("serving %s: %d guest disk(s) here are replicas (%s)" % (config, len(foreign), ", ".join(foreign) or "none"))
        if dry_run:
            say("plan: rewrite the filesystems filters of %s" % config)
        else:
            tmp = config + ".served.tmp"
            with open(tmp, "w") as f:
                f.write(new_text)
            os.chmod(tmp, os.stat(config).st_mode & 0o7777)
            os.replace(tmp, config)
        restart_zrepl(dry_run)
    if not dry_run and owner != seen:
        os.makedirs(os.path.dirname(state_file), exist_ok=True)
        with open(state_file + ".tmp", "w") as f:
            json.dump(owner, f, sort_keys=True)
        os.replace(state_file + ".tmp", state_file)
    return changed or bool(moved)


# ---------------------------------------------------------------- main


def confirmed(job, root, items):
    """The items a second, fresh reading of status and receiver agrees on."""
    again = {(i["fs"], i["kind"], i["error"]): i for i in plan(read_status(), job, root)}
    keep = []
    for item in items:
        other = again.get((item["fs"], item["kind"], item["error"]))
        if other is None or facts(other) != item["facts"]:
            say("%s: changed since it was read; left for the next run" % item["fs"])
            continue
        keep.append(item)
    return keep


def repair_job(status, job, root, attic, dry_run):
    """Repairs one pull job; returns its exit status."""
    try:
        items = plan(status, job, root)
        for item in items:
            item["facts"] = facts(item)
        if items and not dry_run:
            items = confirmed(job, root, items)
    except Refused as e:
        warn("%s: refused, nothing changed: %s" % (job, e))
        return 1
    except LookupError as e:
        warn("cannot read zrepl status: %s" % e)
        return 2
    except (RuntimeError, ValueError, OSError, subprocess.SubprocessError) as e:
        warn("%s: cannot read the current state: %s" % (job, e))
        return 1

    results, failures = [], []
    for item in items:
        try:
            results.append(repair(item, job, attic, dry_run))
        except Refused as e:
            failures.append("%s: refused: %s" % (item["fs"], e))
        except (RuntimeError, OSError, subprocess.SubprocessError) as e:
            failures.append("%s: %s" % (item["fs"], e))
    changed = [r for r in results if r is not None]
    if changed:
        if dry_run:
            say("plan: zrepl signal wakeup %s" % job)
        else:
            try:
                run(["zrepl", "signal", "wakeup", job])
                say("woke up %s" % job)
            except (RuntimeError, OSError, subprocess.SubprocessError) as e:
                failures.append("wakeup: %s" % e)
    if failures:
        warn("%s: %s" % (job, "; ".join(failures)))
        return 1
    return max(changed, default=0)


def main(argv):
    ap = argparse.ArgumentParser(
        prog="zrepl-repair",
        description="Unblock zrepl pull jobs without destroying a copy. Give --job and --root-fs once per job, in pairs.",
    )
    ap.add_argument("--job", action="append", required=True, help="name of a pull job")
    ap.add_argument("--root-fs", action="append", required=True, help="that job's root_fs")
    ap.add_argument("--attic", help="dataset outside every root_fs, same pool, where copies without a common snapshot are moved")
    ap.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
    ap.add_argument("--served-node", help="first sync the served set for this node's guests (its name in the cluster)")
    ap.add_argument("--storage-path", help="with --served-node: the dataset of the guest storage")
    ap.add_argument("--config", default="/etc/zrepl/zrepl.yml", help=argparse.SUPPRESS)
    ap.add_argument("--pve-nodes-dir", default="/etc/pve/nodes", help=argparse.SUPPRESS)
    ap.add_argument("--served-state", default="/var/lib/zrepl-repair/served.json", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if bool(args.served_node) != bool(args.storage_path):
        warn("give --served-node and --storage-path together")
        return 2
    if args.served_node and (not NAME_COMPONENT.match(args.served_node) or not valid_dataset(args.storage_path.strip("/"))):
        warn("invalid --served-node or --storage-path")
        return 2
    if len(args.job) != len(args.root_fs):
        warn("give --job and --root-fs in pairs (%d jobs, %d roots)" % (len(args.job), len(args.root_fs)))
        return 2
    pairs = []
    for job, root_fs in zip(args.job, args.root_fs):
        root = root_fs.strip("/")
        if not valid_dataset(root) or "/" not in root:
            warn("invalid --root-fs %r: a dataset below a pool expected" % root_fs)
            return 2
        if not NAME_COMPONENT.match(job):
            warn("invalid --job %r" % job)
            return 2
        pairs.append((job, root))
    attic = args.attic.strip("/") if args.attic else None
    if attic is not None:
        bad = not valid_dataset(attic) or "/" not in attic
        for _, root in pairs:
            bad = bad or attic == root or attic.startswith(root + "/") or root.startswith(attic + "/")
            bad = bad or attic.split("/")[0] != root.split("/")[0]
        if bad:
            warn("invalid --attic %r: a dataset in the pool of every root_fs, neither inside nor above one" % args.attic)
            return 2

    # One run at a time (the timer and an operator's manual run must not race over a dataset).
    lock_dir = next((d for d in ("/run/lock", "/var/lock") if os.path.isdir(d)), None)
    lock = open(os.path.join(lock_dir, "zrepl-repair.lock"), "w") if lock_dir else None
    if lock:
        fcntl.flock(lock, fcntl.LOCK_EX)

    served = 0
    if args.served_node:
        try:
            sync_served(args.served_node, args.storage_path.strip("/"), args.config, args.pve_nodes_dir, args.served_state, args.dry_run)
        except (RuntimeError, ValueError, OSError, subprocess.SubprocessError) as e:
            warn("served set: %s" % e)
            served = 1
    try:
        status = read_status()
    except (RuntimeError, ValueError, OSError, subprocess.SubprocessError) as e:
        warn("cannot read zrepl status: %s" % e)
        return 2
    codes = [served] + [repair_job(status, job, root, attic, args.dry_run) for job, root in pairs]
    # 1 and 2 (something wrong) outrank 3 (repaired, with a copy moved aside).
    return max((c for c in codes if c != MOVED_ASIDE), default=0) or (MOVED_ASIDE if MOVED_ASIDE in codes else 0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
