#!/usr/bin/env python3
"""zrepl-repair: repair broken snapshot chains of zrepl pull jobs.

Usage: zrepl-repair --job <pull-job> --root-fs <root_fs> [--job … --root-fs …] [--dry-run]

Reads `zrepl status --mode raw` (JSON; zrepl v0.7.0 daemon.Status, see
docs/proxmox-facts.md §8) once and, for each job given, looks at the last
replication attempt of that pull job: Jobs[<job>].pull.Replication.Attempts[-1].Filesystems[]. A
filesystem whose State is "planning-error" or "step-error" is repaired when
its PlanError.Err / StepError.Err says the chain is broken:

  "no common snapshot or suitable bookmark between sender and receiver"
  "the receiver's latest snapshot is not present on sender"
      The copy can no longer be continued incrementally. Its receiver dataset
      <root_fs>/<filesystem name> (pull jobs receive to $root_fs/$source_path)
      is destroyed, after releasing zrepl's holds on its snapshots (a held
      snapshot makes `zfs destroy` fail with "dataset is busy"); zrepl then
      replicates it afresh.
  "cannot restore to <dataset>@<snapshot>: destination already exists"
      (zfs receive, reported as the step error) The named snapshot on the
      receiver is in the way: its zrepl holds are released and it is destroyed.
  "dataset does not exist"
      Something the step needed is gone (typically a snapshot pruned or
      rolled away on the sender); zrepl re-plans from what exists, so the job
      is only woken up; nothing is destroyed.

Then the job is woken up once (`zrepl signal wakeup <job>`) when anything was
done. Only zrepl's own holds (tags starting with "zrepl_") are released; a
dataset or snapshot still held by anything else is left alone and reported.

Safety:
  - Nothing outside <root_fs> is ever touched, and never <root_fs> itself: a
    status that names such a path (a name with empty, "." or ".." components,
    or a "destination already exists" snapshot outside <root_fs>) is refused.
    When any item of a job is refused, nothing of that job is changed.
  - A broken dataset with child datasets is refused (only the broken dataset
    itself would be destroyed; never `zfs destroy -R`, so clones block it too).
  - Work already done (dataset or snapshot already gone) is skipped, so a
    second run over the same status changes nothing and sends no signal.
  - --dry-run prints the plan and changes nothing.

Exit status (the worst over all jobs; every job is attempted): 0 when
nothing is broken or every repair succeeded (with --dry-run: when the plan
has no refusal); 1 when a repair was refused or failed (reason on stderr); 2
on a usage error, when the status cannot be read or lacks the job. Output goes to the journal when run by zrepl-repair.service.
"""

import argparse
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
MISSING = "dataset does not exist"
ZREPL_TAG = re.compile(r"^zrepl_")


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
    parts = path.split("/")
    return all(NAME_COMPONENT.match(c) and c not in (".", "..") for c in parts)


def inside(root, path):
    """True when path is strictly below root (never root itself)."""
    return valid_dataset(path) and path.startswith(root + "/")


# ---------------------------------------------------------------- status


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
    state = fs.get("State")
    key = {"planning-error": "PlanError", "step-error": "StepError"}.get(state)
    err = (fs.get(key) or {}).get("Err") if key else None
    return err if isinstance(err, str) else None


def classify(err):
    """(kind, snapshot named by the error or None, the line that says so)."""
    m = DEST_EXISTS.search(err)
    if m:
        return "dest-exists", m.group(1), m.group(0)
    for kind, text in (("no-common", NO_COMMON), ("diverged", DIVERGED), ("missing", MISSING)):
        if text in err:
            line = next(l for l in err.splitlines() if text in l)
            return kind, None, line.strip()
    return None, None, None


def plan(status, job, root):
    """Items to repair, in status order; raises Refused listing every refusal."""
    attempt = last_attempt(status, job)
    items, refusals = [], []
    for fs in (attempt or {}).get("Filesystems") or []:
        err = fs_error(fs)
        if err is None:
            continue
        kind, snap, reason = classify(err)
        if kind is None:
            continue
        name = str(((fs.get("Info") or {}).get("Name")) or "")
        receiver = root + "/" + name if name else root
        if kind == "dest-exists":
            ds, _, snapname = snap.partition("@")
            if not snapname or not NAME_COMPONENT.match(snapname) or not inside(root, ds):
                refusals.append("%s: snapshot %s is not below %s; refusing to touch it" % (name or "?", snap, root))
                continue
            items.append({"fs": name, "kind": kind, "target": snap, "error": reason})
        else:
            if not inside(root, receiver):
                refusals.append("%s: receiver dataset %s is not below %s; refusing to touch it" % (name or "?", receiver, root))
                continue
            items.append({"fs": name, "kind": kind, "target": receiver, "error": reason})
    if refusals:
        raise Refused("; ".join(refusals))
    return items


# ---------------------------------------------------------------- zfs


def exists(name):
    return run(["zfs", "list", "-H", "-o", "name", name], check=False).returncode == 0


def held_snapshots(target):
    """(snapshot, userrefs) for every held snapshot of a dataset, or of one snapshot."""
    argv = ["zfs", "list", "-H", "-o", "name,userrefs", "-t", "snapshot"]
    argv += [target] if "@" in target else ["-r", target]
    out = run(argv).stdout
    held = []
    for line in out.splitlines():
        fields = line.split("\t")
        if len(fields) == 2 and fields[1].strip().isdigit() and int(fields[1]) > 0:
            held.append((fields[0], int(fields[1])))
    return held


def zrepl_tags(snapshot, job):
    """zrepl's hold tags on a snapshot: listed by `zfs holds` where it works, plus
    the tags this job itself places (released only if present)."""
    tags = {"zrepl_last_received_J_" + job: True}
    p = run(["zfs", "holds", "-H", snapshot], check=False)
    if p.returncode == 0:
        for line in p.stdout.splitlines():
            fields = line.split("\t")
            if len(fields) >= 2 and ZREPL_TAG.match(fields[1].strip()):
                tags[fields[1].strip()] = False  # known to be present
    return tags


def release_zrepl_holds(target, job, dry_run):
    done = 0
    for snapshot, _ in held_snapshots(target):
        for tag, maybe in sorted(zrepl_tags(snapshot, job).items()):
            if dry_run:
                say("plan: zfs release %s %s%s" % (tag, snapshot, " (if held)" if maybe else ""))
                continue
            p = run(["zfs", "release", tag, snapshot], check=False)
            if p.returncode == 0:
                say("released %s %s" % (tag, snapshot))
                done += 1
            elif not (maybe and "no such tag" in p.stderr):
                raise RuntimeError("cannot release %s from %s: %s" % (tag, snapshot, p.stderr.strip()))
    if not dry_run:
        still = held_snapshots(target)
        if still:
            raise RuntimeError(
                "%s still has holds that are not zrepl's (%s); not destroying it"
                % (target, ", ".join("%s: %d" % s for s in still))
            )
    return done


def repair(item, job, dry_run):
    """Returns True when something was (or, dry, would be) changed."""
    target = item["target"]
    if item["kind"] == "missing":
        say("%s: %s: nothing to destroy; waking the job re-plans it" % (item["fs"], item["error"]))
        return True
    if not exists(target):
        return False  # already repaired
    if item["kind"] == "dest-exists":
        say("%s: %s" % (item["fs"], item["error"]))
        release_zrepl_holds(target, job, dry_run)
        if dry_run:
            say("plan: zfs destroy %s" % target)
        else:
            run(["zfs", "destroy", target])
            say("destroyed %s" % target)
        return True
    children = [n for n in run(["zfs", "list", "-H", "-o", "name", "-r", "-t", "filesystem,volume", target]).stdout.splitlines() if n != target]
    if children:
        raise RuntimeError("%s has child datasets (%s); only a leaf dataset is destroyed" % (target, ", ".join(children)))
    say("%s: %s" % (item["fs"], item["error"]))
    release_zrepl_holds(target, job, dry_run)
    if dry_run:
        say("plan: zfs destroy -r %s" % target)
    else:
        run(["zfs", "destroy", "-r", target])
        say("destroyed %s" % target)
    return True


# ---------------------------------------------------------------- main


def repair_job(status, job, root, dry_run):
    """Repairs one pull job; returns its exit status."""
    try:
        items = plan(status, job, root)
    except Refused as e:
        warn("%s: refused, nothing changed: %s" % (job, e))
        return 1
    except LookupError as e:
        warn("cannot read zrepl status: %s" % e)
        return 2

    changed, failures = False, []
    for item in items:
        try:
            changed = repair(item, job, dry_run) or changed
        except (RuntimeError, OSError, subprocess.SubprocessError) as e:
            failures.append("%s: %s" % (item["fs"], e))
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
        warn("%s: repair failed: %s" % (job, "; ".join(failures)))
        return 1
    return 0


def main(argv):
    ap = argparse.ArgumentParser(
        prog="zrepl-repair",
        description="Repair broken snapshot chains of zrepl pull jobs. Give --job and --root-fs once per job, in pairs.",
    )
    ap.add_argument("--job", action="append", required=True, help="name of a pull job")
    ap.add_argument("--root-fs", action="append", required=True, help="that job's root_fs")
    ap.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
    args = ap.parse_args(argv)
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

    # One run at a time (the timer and an operator's manual run must not race over a dataset).
    lock_dir = next((d for d in ("/run/lock", "/var/lock") if os.path.isdir(d)), None)
    lock = open(os.path.join(lock_dir, "zrepl-repair.lock"), "w") if lock_dir else None
    if lock:
        fcntl.flock(lock, fcntl.LOCK_EX)

    try:
        status = json.loads(run(["zrepl", "status", "--mode", "raw"]).stdout)
    except (RuntimeError, ValueError, OSError, subprocess.SubprocessError) as e:
        warn("cannot read zrepl status: %s" % e)
        return 2
    # Every job is attempted even when an earlier one fails; the worst status wins.
    return max(repair_job(status, job, root, args.dry_run) for job, root in pairs)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
