"""
What systemd and pmxcfs would do for the REAL corosync daemons inside the fake
hosts of test/harness/hosts.ts (no systemd, no pmxcfs there). TESTS ONLY.

1. `systemctl` for the three corosync units, started exactly as their Debian
   unit files say (/lib/systemd/system/{corosync,corosync-qdevice,
   corosync-qnetd}.service of the packages corosync 3.1.7 and
   corosync-qdevice/-qnetd 3.0.3):
     corosync          ExecStart=/usr/sbin/corosync -f $COROSYNC_OPTIONS
     corosync-qdevice  ExecStart=/usr/sbin/corosync-qdevice -f $COROSYNC_QDEVICE_OPTIONS
                       RuntimeDirectory=corosync-qdevice, Requires=corosync.service
     corosync-qnetd    ExecStart=/usr/bin/corosync-qnetd -f $COROSYNC_QNETD_OPTIONS
                       RuntimeDirectory=corosync-qnetd (User=coroqnetd: here root)
   with EnvironmentFile=-/etc/default/<unit>. All three are Type=notify:
   `start` returns once the daemon sent READY=1 on $NOTIFY_SOCKET (the real
   sd_notify protocol, a unix datagram socket this fake binds), or fails when
   it exits first. `stop` sends SIGTERM and waits. `is-active` prints
   active/inactive (exit 0/3). `enable`/`disable` only record the state (no
   boot here). Other units that PVE's code restarts (pve-cluster, pvedaemon,
   pveproxy, sshd) are accepted and do nothing: pmxcfs is the fake's shared
   directory, not a service.
2. pmxcfs's corosync.conf handling (pve-cluster src/pmxcfs/dcdb.c
   dcdb_sync_corosync_conf): when /etc/pve/corosync.conf changes, every node
   whose pmxcfs sees the change writes it to /etc/corosync/corosync.conf if its
   config_version is newer, and the node that made the change runs
   `corosync-cfgtool -R` (a cluster-wide reload).
3. Reading the real corosync's view: quorate (`corosync-quorumtool -s` exit
   code) and the node ids of the current membership (`corosync-quorumtool -l`).
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import time

UNITS = {
    "corosync": {"exec": "/usr/sbin/corosync", "env": "COROSYNC_OPTIONS", "runtime": None, "requires": None},
    "corosync-qdevice": {"exec": "/usr/sbin/corosync-qdevice", "env": "COROSYNC_QDEVICE_OPTIONS",
                         "runtime": "corosync-qdevice", "requires": "corosync"},
    "corosync-qnetd": {"exec": "/usr/bin/corosync-qnetd", "env": "COROSYNC_QNETD_OPTIONS",
                       "runtime": "corosync-qnetd", "requires": None},
}
# Units PVE's code restarts that have no process here (pmxcfs is the fake's state directory).
NOOP_UNITS = {"pve-cluster", "pvedaemon", "pveproxy", "sshd", "ssh", "pve-ha-lrm", "pve-ha-crm"}
RUN = "/run/fakesystemd"
START_TIMEOUT = 60


def _unit(name):
    return name[:-8] if name.endswith(".service") else name


def _pidfile(unit):
    return os.path.join(RUN, unit + ".pid")


def main_pid(unit):
    """The unit's running main PID (checked against the real binary, PIDs are reused), else None."""
    try:
        with open(_pidfile(unit)) as f:
            pid = int(f.read().strip())
    except (OSError, ValueError):
        return None
    try:
        if os.readlink("/proc/%d/exe" % pid) != UNITS[unit]["exec"]:
            return None
        with open("/proc/%d/stat" % pid) as f:
            if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                return None
    except OSError:
        return None
    return pid


def _env_options(unit):
    """EnvironmentFile=-/etc/default/<unit>: the options variable, split as systemd does for $VAR."""
    var = UNITS[unit]["env"]
    try:
        text = open("/etc/default/" + unit).read()
    except OSError:
        return []
    val = ""
    for line in text.splitlines():
        m = re.match(r'^\s*%s\s*=\s*"?([^"]*)"?\s*$' % var, line)
        if m:
            val = m.group(1)
    return val.split()


def start(unit):
    if unit in NOOP_UNITS:
        return 0, ""
    if unit not in UNITS:
        return 5, "Failed to start %s.service: Unit %s.service not found.\n" % (unit, unit)
    if main_pid(unit):
        return 0, ""
    req = UNITS[unit]["requires"]
    if req:
        code, err = start(req)
        if code:
            return code, err
    os.makedirs(RUN, exist_ok=True)
    if UNITS[unit]["runtime"]:
        d = os.path.join("/run", UNITS[unit]["runtime"])
        os.makedirs(d, exist_ok=True)
        os.chmod(d, 0o770)
    os.makedirs("/var/log/fakesystemd", exist_ok=True)
    sock_path = os.path.join(RUN, "notify-%s-%d" % (unit, os.getpid()))
    if os.path.exists(sock_path):
        os.remove(sock_path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(sock_path)
    sock.settimeout(0.2)
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C", "NOTIFY_SOCKET": sock_path}
    log = open("/var/log/fakesystemd/%s.log" % unit, "ab")
    argv = [UNITS[unit]["exec"], "-f"] + _env_options(unit)
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env, cwd="/",
                         start_new_session=True, close_fds=True)
    log.close()
    with open(_pidfile(unit), "w") as f:
        f.write("%d\n" % p.pid)
    deadline = time.time() + START_TIMEOUT
    ready = False
    try:
        while time.time() < deadline:
            try:
                msg = sock.recv(4096).decode("utf-8", "replace")
                if re.search(r"^READY=1$", msg, re.M):
                    ready = True
                    break
            except socket.timeout:
                pass
            if p.poll() is not None:
                break
    finally:
        sock.close()
        os.remove(sock_path)
    if not ready:
        if p.poll() is None:
            p.kill()
        p.wait()
        return 1, ("Job for %s.service failed because the control process exited with error code.\n"
                   "See \"systemctl status %s.service\" and \"journalctl -xeu %s.service\" for details.\n"
                   % (unit, unit, unit))
    return 0, ""


def stop(unit):
    if unit in NOOP_UNITS:
        return 0, ""
    if unit not in UNITS:
        return 5, "Failed to stop %s.service: Unit %s.service not loaded.\n" % (unit, unit)
    # Requires=corosync.service: stopping corosync stops corosync-qdevice first.
    for other, u in UNITS.items():
        if u["requires"] == unit:
            stop(other)
    pid = main_pid(unit)
    if pid:
        os.kill(pid, signal.SIGTERM)
        for _ in range(1500):
            if main_pid(unit) is None:
                break
            time.sleep(0.02)
        else:
            os.kill(pid, signal.SIGKILL)
    try:
        os.remove(_pidfile(unit))
    except OSError:
        pass
    return 0, ""


def _enabled_file(unit):
    return os.path.join("/var/lib/fakesystemd", unit + ".enabled")


def systemctl(args):
    quiet = any(a in ("-q", "--quiet") for a in args)
    args = [a for a in args if a not in ("-q", "--quiet", "--no-block")]
    if not args:
        return 1, "fake systemctl: no command\n", ""
    cmd, units = args[0], [_unit(u) for u in args[1:]]
    out = ""
    if cmd in ("start", "stop", "restart", "reload-or-restart", "try-restart"):
        for u in units:
            if cmd in ("stop", "restart", "reload-or-restart", "try-restart"):
                if cmd == "try-restart" and (u not in UNITS or not main_pid(u)):
                    continue
                code, err = stop(u)
                if code:
                    return code, "", err
            if cmd != "stop":
                code, err = start(u)
                if code:
                    return code, "", err
        return 0, out, ""
    if cmd in ("enable", "disable"):
        os.makedirs("/var/lib/fakesystemd", exist_ok=True)
        for u in units:
            if u in NOOP_UNITS:
                continue
            if u not in UNITS:
                return 1, "", "Failed to %s unit: Unit file %s.service does not exist.\n" % (cmd, u)
            if cmd == "enable":
                open(_enabled_file(u), "w").close()
            elif os.path.exists(_enabled_file(u)):
                os.remove(_enabled_file(u))
        return 0, "", ""
    if cmd == "is-active":
        code = 0
        for u in units:
            active = u in UNITS and main_pid(u) is not None
            out += ("active" if active else "inactive") + "\n"
            if not active:
                code = 3
        return code, "" if quiet else out, ""
    if cmd == "is-enabled":
        code = 0
        for u in units:
            en = u in UNITS and os.path.exists(_enabled_file(u))
            out += ("enabled" if en else "disabled") + "\n"
            if not en:
                code = 1
        return code, "" if quiet else out, ""
    return 1, "", "fake systemctl: '%s' is not simulated\n" % " ".join(args)


# --------------------------------------------------------------------------
# the real corosync's view (this host's network namespace: libqb IPC sockets are abstract)


def quorate():
    """Cluster.pm check_cfs_quorum: pmxcfs's quorate flag comes from corosync's votequorum."""
    r = subprocess.run(["/usr/sbin/corosync-quorumtool", "-s"], stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return r.returncode == 0


def running():
    r = subprocess.run(["/usr/sbin/corosync-quorumtool", "-l"], stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return r.returncode == 0


def member_ids():
    """Node ids in corosync's current membership (`corosync-quorumtool -l`), or None when corosync is not running."""
    r = subprocess.run(["/usr/sbin/corosync-quorumtool", "-l"], stdin=subprocess.DEVNULL,
                       capture_output=True, text=True)
    if r.returncode != 0:
        return None
    ids = set()
    for line in r.stdout.splitlines():
        m = re.match(r"^\s*(\d+)\s+\d+\s+\S", line)
        if m:
            ids.add(int(m.group(1)))
    return ids


# --------------------------------------------------------------------------
# pmxcfs: /etc/pve/corosync.conf -> /etc/corosync/corosync.conf (dcdb.c dcdb_sync_corosync_conf)


def _version(path):
    try:
        m = re.search(r"^\s*config_version:\s*(\d+)", open(path).read(), re.M)
    except OSError:
        return None
    return int(m.group(1)) if m else None


def sync_corosync_conf(cluster_conf, corosync_dirs, local_dir):
    """Copies the cluster's corosync.conf to every member's /etc/corosync when newer; reloads from the writer."""
    new = _version(cluster_conf)
    for d in corosync_dirs:
        dst = os.path.join(d, "corosync.conf")
        old = _version(dst)
        if old is not None and new is not None and old >= new:
            continue
        # A name of this process's own: two hosts' fakes may sync the same directory at once.
        tmp = "%s.tmp.%d" % (dst, os.getpid())
        shutil.copy(cluster_conf, tmp)
        os.replace(tmp, dst)
    if local_dir in corosync_dirs and running():
        subprocess.run(["/usr/sbin/corosync-cfgtool", "-R"], stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
