"""
Stateful fakes of the Proxmox VE commands the cluster scripts call (pvecm,
pvesh, pveum), the two network tools the VLAN script calls (ifreload, ip) and
`systemctl` (see _fakeservices.py). TESTS ONLY: they run inside the fake hosts
of test/harness/hosts.ts, where this directory is bind-mounted over
/usr/local/sbin, and refuse to run anywhere else.

Corosync is REAL: every corosync, corosync-qdevice, corosync-qnetd process,
corosync-quorumtool, corosync-cfgtool, corosync-keygen and both certutils are
the Debian binaries, each host in its own network namespace. What stays fake
is what needs Proxmox itself: pmxcfs (a shared directory), the API of the
join (the joiner's request runs the peer's addnode inside the peer's
namespaces), pvecm's own checks and messages.

Source of truth: docs/proxmox-facts.md ("the reference") and
the Proxmox source it cites, pve-cluster at the file and function named at
each use (src/PVE/CLI/pvecm.pm, src/PVE/API2/ClusterConfig.pm,
src/PVE/Cluster/Setup.pm, src/PVE/Corosync.pm, src/PVE/SSHInfo.pm,
src/pmxcfs/dcdb.c). Anything a real node does that neither documents is NOT
simulated; where a fake must do *something* (e.g. a peer that does not
answer), the message starts with "fake " so no test can mistake it for
Proxmox's wording.

State model (one directory shared by every fake host: STATE=/var/lib/fakepve)
  hosts/<name>/host.json        written by the harness: name, address, pve, pid (the
                                host's namespace holder), rootPasswordSha256, sshPort, hostKey
  hosts/<name>/pve-local/       the node's own pmxcfs content while standalone
                                (bind-mounted at /etc/pve by the harness)
  hosts/<name>/corosync/        the node's /etc/corosync (bind-mounted)
  hosts/<name>/runtime.json     the cluster whose filesystem is mounted at /etc/pve
  hosts/<name>/ifaces.json      interfaces brought up by the fake ifreload
  hosts/<name>/faults/<fault>   test-made, one-shot fault injection (see below)
  hosts/<name>/calls.jsonl      every fake call: argv, env, cwd and the argv/env
                                of every ancestor process (the tests assert that
                                no secret appears in any of them)
  hosts/<name>/tasks.log        task results ("TASK OK" / "TASK ERROR: ...")
  clusters/<id>/pve/            the cluster filesystem: creating or joining a
                                cluster bind-mounts it over /etc/pve, so the
                                joiner's own /etc/pve is replaced by the
                                cluster's, as reference §2 describes
  clusters/<id>/authkey         the corosync authkey handed to joining nodes

Fault files, armed in hosts/<host>/faults/ of the host whose command should
fail (consumed when they fire; their content is the error message):
  create-task-error       pvecm create's worker dies before changing anything
  join-cluster-error      (on the joining node) the cluster node rejects its join request:
                          "An error occurred on the cluster node: <msg>", then
                          "Cluster join aborted!"
  qdevice-interrupt       pvecm qdevice setup is killed right after the nodes'
                          certificate stores were initialised (reference §3 step 7)
  qdevice-interrupt-after-write
                          ... right after it wrote the device block (step 10)
  qdevice-interrupt-after-start
                          ... right after `systemctl start corosync-qdevice` on
                          the first node (step 11)
  ifreload-error          ifreload -a fails
"""

import contextlib
import fcntl
import glob
import hashlib
import ipaddress
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import time
import uuid

import _fakeservices as services

STATE = "/var/lib/fakepve"
PVE = "/etc/pve"
CONF = PVE + "/corosync.conf"
AUTHKEY = "/etc/corosync/authkey"
NSSDB = "/etc/corosync/qdevice/net/nssdb"
QNETD_NSSDB = "/etc/corosync/qnetd/nssdb"

# Exit codes. A Perl `die` exits non-zero with an unspecified value (reference
# §1, "Items not verified" 2); 255 is what perl uses when errno is 0.
DIE = 255
# `pvecm status` on a node without corosync.conf: the reference says the value
# may be 2 (errno ENOENT after the failed -f). The fake uses 2 on purpose: it
# collides with corosync-quorumtool's "not quorate", the trap scripts must avoid.
STATUS_NO_CONF = 2


class Die(Exception):
    """A Perl `die`: the message is printed as is."""


# --------------------------------------------------------------------------
# state helpers


def nodename():
    return os.uname().nodename.split(".")[0]


def hdir(name):
    return os.path.join(STATE, "hosts", name)


def read_json(path, default):
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        return default


def write_json(path, data):
    tmp = path + ".tmp.%d" % os.getpid()
    with open(tmp, "w") as f:
        json.dump(data, f, indent=1, sort_keys=True)
    os.replace(tmp, path)


@contextlib.contextmanager
def locked():
    fd = os.open(os.path.join(STATE, "lock"), os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def hosts():
    return sorted(os.path.basename(os.path.dirname(p)) for p in glob.glob(os.path.join(STATE, "hosts", "*", "host.json")))


def host_info(name):
    return read_json(os.path.join(hdir(name), "host.json"), None)


def runtime(name):
    """The cluster whose filesystem this host's /etc/pve shows (None while standalone)."""
    return read_json(os.path.join(hdir(name), "runtime.json"), {"cluster": None})


def set_runtime(name, **kv):
    rt = runtime(name)
    rt.update(kv)
    write_json(os.path.join(hdir(name), "runtime.json"), rt)


def iface_addresses(name):
    return read_json(os.path.join(hdir(name), "ifaces.json"), {})


def local_ips(name=None):
    """This host's real addresses (`ip -o addr show`, the real binary, not the fake `ip`)."""
    r = subprocess.run(["/usr/sbin/ip", "-o", "addr", "show"], stdin=subprocess.DEVNULL, capture_output=True, text=True)
    return [m.group(1) for m in re.finditer(r"\sinet6?\s+([0-9A-Fa-f.:]+)/", r.stdout)]


def host_by_address(addr):
    """The fake host that owns `addr` (its SSH address or a VLAN address its fake ifreload brought up)."""
    for h in hosts():
        info = host_info(h) or {}
        ips = [info.get("address")] + [a.split("/")[0] for addrs in iface_addresses(h).values() for a in addrs]
        if addr in ips:
            return h
    return None


def reachable(addr, port=22, timeout=5):
    """A real TCP connection from this host's network namespace (the API's port 8006 is
    not served here: sshd's port 22 on the same address stands in for it)."""
    try:
        with socket.create_connection((addr, port), timeout=timeout):
            return True
    except OSError:
        return False


def cluster_dir(cid):
    return os.path.join(STATE, "clusters", cid)


def pve_dir_of(name):
    """The /etc/pve a host sees: its cluster's filesystem, or its own local one."""
    cid = runtime(name).get("cluster")
    return os.path.join(cluster_dir(cid), "pve") if cid else os.path.join(hdir(name), "pve-local")


def corosync_dir_of(name):
    return os.path.join(hdir(name), "corosync")


def take_fault(fault):
    path = os.path.join(hdir(nodename()), "faults", fault)
    try:
        with open(path) as f:
            msg = f.read().strip()
    except FileNotFoundError:
        return None
    os.remove(path)
    return msg or "fault '%s' injected by the test" % fault


def _proc(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            argv = [a.decode("utf-8", "replace") for a in f.read().split(b"\0") if a]
        with open("/proc/%d/environ" % pid, "rb") as f:
            env = [a.decode("utf-8", "replace") for a in f.read().split(b"\0") if a]
        with open("/proc/%d/status" % pid) as f:
            ppid = int(re.search(r"^PPid:\s*(\d+)", f.read(), re.M).group(1))
        return {"pid": pid, "argv": argv, "env": env}, ppid
    except (OSError, AttributeError):
        return None, 0


def record_call(extra=None):
    """Appends this call, with every ancestor's argv and environment, to calls.jsonl."""
    ancestors = []
    pid = os.getppid()
    while pid > 1 and len(ancestors) < 32:
        info, ppid = _proc(pid)
        if info is None:
            break
        ancestors.append(info)
        pid = ppid
    entry = {
        "time": time.time(),
        "argv": sys.argv,
        "cwd": os.getcwd() if os.path.exists(os.getcwd()) else None,
        "env": ["%s=%s" % kv for kv in sorted(os.environ.items())],
        "ancestors": ancestors,
    }
    if extra:
        entry.update(extra)
    with open(os.path.join(hdir(nodename()), "calls.jsonl"), "a") as f:
        f.write(json.dumps(entry) + "\n")


def task_log(line):
    with open(os.path.join(hdir(nodename()), "tasks.log"), "a") as f:
        f.write(line + "\n")


def run_worker(fn):
    """
    A synced CLI worker (reference §1 "Exit-code caveat", pve-common
    RESTEnvironment.pm fork_worker): the worker's stdout and stderr both go to
    the command's stdout; if the worker dies, the parent prints the message on
    STDERR and writes `TASK ERROR: <msg>` to the task log — and the command
    still exits 0.
    """
    try:
        fn()
    except Die as e:
        msg = str(e).rstrip("\n").replace("\n", " ")
        sys.stdout.flush()
        sys.stderr.write(msg + "\n")
        task_log("TASK ERROR: " + msg)
        return 0
    task_log("TASK OK")
    return 0


def out(text=""):
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


# --------------------------------------------------------------------------
# corosync.conf: a port of PVE::Corosync parse_conf/write_conf (Corosync.pm)


def parse_conf(raw):
    raw = re.sub(r"#.*$", "", raw, flags=re.M)
    tokens = raw.split()
    main = {}
    stack = []
    section = main
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        if nxt == "{":
            new = {}
            if tok in ("node", "interface"):
                section.setdefault(tok, []).append(new)
            elif tok not in section:
                section[tok] = new
            else:
                raise Die("section '%s' already exists and not marked as array!\n" % tok)
            stack.append(section)
            section = new
            i += 2
            continue
        if tok == "}":
            if not stack:
                raise Die("parse error - uncexpected '}'\n")
            section = stack.pop()
            i += 1
            continue
        if not tok.endswith(":"):
            raise Die("missing ':' after key '%s'\n" % tok)
        if nxt is None:
            raise Die("parse error - no value for '%s'\n" % tok[:-1])
        section[tok[:-1]] = nxt
        i += 2
    nodelist = main.get("nodelist", {})
    nodelist["node"] = {n.get("name") or n.get("ring0_addr"): n for n in nodelist.get("node", [])}
    main["nodelist"] = nodelist
    totem = main.get("totem", {})
    totem["interface"] = {i.get("linknumber", i.get("ringnumber")): i for i in totem.get("interface", [])}
    main["totem"] = totem
    return main


def write_conf(main):
    c = json.loads(json.dumps(main))
    c["nodelist"]["node"] = [c["nodelist"]["node"][k] for k in sorted(c["nodelist"]["node"])]
    c["totem"]["interface"] = [c["totem"]["interface"][k] for k in sorted(c["totem"]["interface"])]

    def dump(section, prefix):
        raw = ""
        for k in sorted(section):
            v = section[k]
            if isinstance(v, dict):
                raw += prefix + k + " {\n" + dump(v, prefix + "  ") + prefix + "}\n"
                if not prefix:
                    raw += "\n"
            elif isinstance(v, list):
                for child in v:
                    raw += prefix + k + " {\n" + dump(child, prefix + "  ") + prefix + "}\n"
            else:
                raw += prefix + "%s: %s\n" % (k, v)
        return raw

    return dump(c, "")


def read_conf(pve_dir):
    path = os.path.join(pve_dir, "corosync.conf")
    if not os.path.isfile(path):
        return None
    with open(path) as f:
        return parse_conf(f.read())


def atomic_write_conf(pve_dir, main):
    """Corosync.pm atomic_write_conf: bumps config_version, writes .new, renames."""
    totem = main["totem"]
    if "config_version" not in totem:
        raise Die("invalid corosync config: unable to read config version\n")
    totem["config_version"] = str(int(totem["config_version"]) + 1)
    new = os.path.join(pve_dir, "corosync.conf.new")
    with open(new, "w") as f:
        f.write(write_conf(main))
    os.replace(new, os.path.join(pve_dir, "corosync.conf"))


def parse_link(value):
    """`10.0.0.1` or `address=10.0.0.1,priority=20` (reference §1 link property string)."""
    link = {}
    for part in value.split(","):
        if "=" in part:
            k, v = part.split("=", 1)
            link[k] = v
        else:
            link["address"] = part
    if "address" not in link:
        raise Die("fake: link property string without an address: %s\n" % value)
    return link


# --------------------------------------------------------------------------
# PVE::Cluster::Setup ssh helpers (Setup.pm setup_rootsshconfig,
# setup_ssh_keys, ssh_merge_keys; reference §1 "Side effects")


def setup_rootsshconfig():
    os.makedirs("/root/.ssh", exist_ok=True)
    if not os.path.isfile("/root/.ssh/id_rsa.pub"):
        subprocess.run(["ssh-keygen", "-q", "-t", "rsa", "-N", "", "-b", "4096", "-f", "/root/.ssh/id_rsa", "-C", "root@" + nodename()],
                       check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    if not os.path.isfile("/root/.ssh/config"):
        with open("/root/.ssh/config", "w") as f:
            f.write("Ciphers aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com,aes256-gcm@openssh.com,chacha20-poly1305@openssh.com\n")
        os.chmod("/root/.ssh/config", 0o640)


def setup_ssh_keys(pve_dir):
    priv = os.path.join(pve_dir, "priv")
    os.makedirs(priv, exist_ok=True)
    cluster_keys = os.path.join(priv, "authorized_keys")
    root_keys = "/root/.ssh/authorized_keys"
    if not os.path.isfile(cluster_keys):
        old = ""
        if os.path.isfile(root_keys):
            with open(root_keys) as f:
                old = f.read()
        with open(cluster_keys, "w") as f:
            f.write(old)
        os.chmod(cluster_keys, 0o400)
    if os.path.isfile(root_keys) and not os.path.islink(root_keys):
        os.rename(root_keys, root_keys + ".org")
    if not os.path.islink(root_keys):
        os.symlink("/etc/pve/priv/authorized_keys", root_keys)


def ssh_merge_keys(pve_dir):
    cluster_keys = os.path.join(pve_dir, "priv", "authorized_keys")
    data = ""
    if os.path.isfile(cluster_keys):
        with open(cluster_keys) as f:
            data = f.read().rstrip("\n")
    backup = "/root/.ssh/authorized_keys.org"
    found_backup = os.path.isfile(backup)
    if found_backup:
        with open(backup) as f:
            data += "\n" + f.read().rstrip("\n")
    if os.path.isfile("/root/.ssh/id_rsa.pub"):
        with open("/root/.ssh/id_rsa.pub") as f:
            data += "\n" + f.read().rstrip("\n") + "\n"
    seen = set()
    new = ""
    for line in data.split("\n"):
        m = re.search(r"(^|\s)ssh-(rsa|dsa)\s+(\S+)\s+\S+$", line)
        if not line.startswith("#") and m:
            if m.group(3) in seen:
                continue
            seen.add(m.group(3))
        new += line + "\n"
    with open(cluster_keys, "w") as f:
        f.write(new)
    if found_backup and os.path.islink("/root/.ssh/authorized_keys"):
        os.remove(backup)


def gen_node_cert(pve_dir, name):
    d = os.path.join(pve_dir, "nodes", name)
    os.makedirs(os.path.join(d, "qemu-server"), exist_ok=True)
    os.makedirs(os.path.join(d, "lxc"), exist_ok=True)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-subj", "/CN=%s" % name, "-days", "3650", "-keyout", os.path.join(d, "pve-ssl.key"),
                    "-out", os.path.join(d, "pve-ssl.pem")],
                   check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def node_fingerprint(pve_dir, name):
    """PVE::Cluster::get_node_fingerprint: pveproxy-ssl.pem if present, else pve-ssl.pem (reference §2)."""
    d = os.path.join(pve_dir, "nodes", name)
    path = os.path.join(d, "pveproxy-ssl.pem")
    if not os.path.isfile(path):
        path = os.path.join(d, "pve-ssl.pem")
    with open(path) as f:
        der = ssl.PEM_cert_to_DER_cert(f.read())
    digest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


def mount_cluster_fs(cid):
    """pmxcfs now serves the cluster's database: /etc/pve shows the cluster's files."""
    subprocess.run(["mount", "--bind", os.path.join(cluster_dir(cid), "pve"), PVE], check=True)


def guests(pve_dir):
    """The vmlist pmxcfs builds from nodes/*/qemu-server/*.conf and nodes/*/lxc/*.conf."""
    found = []
    for kind in ("qemu-server", "lxc"):
        found += glob.glob(os.path.join(pve_dir, "nodes", "*", kind, "*.conf"))
    return sorted(os.path.basename(p)[:-5] for p in found)


# --------------------------------------------------------------------------
# argument parsing shared by the CLIs (PVE's CLIHandler accepts -opt and --opt)


def parse_args(args):
    pos, opts = [], {}
    i = 0
    while i < len(args):
        a = args[i]
        if re.match(r"^--?[a-z]", a):
            key = a.lstrip("-")
            if "=" in key:
                key, val = key.split("=", 1)
            else:
                if i + 1 >= len(args):
                    raise Die("400 not enough arguments\n")
                val = args[i + 1]
                i += 1
            opts[key] = val
        else:
            pos.append(a)
        i += 1
    return pos, opts


def links_from(opts):
    links = {}
    for k, v in opts.items():
        m = re.match(r"^link(\d)$", k)
        if m:
            links[m.group(1)] = parse_link(v)
    return links


# --------------------------------------------------------------------------
# the cluster as this node's pmxcfs would show it, from the REAL corosync


def view(me):
    """Nodelist of the cluster's corosync.conf with each node's online state as the
    local corosync's membership has it (pmxcfs .members: PVE::Cluster::get_members),
    and the quorate flag of the local votequorum; None when not clustered."""
    cid = runtime(me).get("cluster")
    if not cid:
        return None
    main = read_conf(os.path.join(cluster_dir(cid), "pve"))
    if main is None:
        return None
    ids = services.member_ids()
    members = []
    for name, n in main["nodelist"]["node"].items():
        nodeid = int(n.get("nodeid", 0))
        members.append({
            "name": name,
            "nodeid": nodeid,
            "votes": int(n.get("quorum_votes", 1)),
            "ip": n.get("ring0_addr", ""),
            "online": ids is not None and nodeid in ids,
        })
    members.sort(key=lambda m: m["nodeid"])
    return {
        "cid": cid,
        "main": main,
        "members": members,
        "quorate": ids is not None and services.quorate(),
        "corosync": ids is not None,
    }


def pmxcfs_wrote_corosync_conf(cid):
    """dcdb.c dcdb_sync_corosync_conf for a write of /etc/pve/corosync.conf on this node."""
    dirs = [corosync_dir_of(h) for h in hosts() if runtime(h).get("cluster") == cid]
    services.sync_corosync_conf(os.path.join(cluster_dir(cid), "pve", "corosync.conf"), dirs, corosync_dir_of(nodename()))


def systemctl_or_die(*args):
    code, _, err = services.systemctl(list(args))
    if code:
        raise Die("command 'systemctl %s' failed: exit code %d\n%s" % (" ".join(args), code, err))


def host_key_line():
    """This host's public host key, as Setup.pm ssh_create_node_known_hosts reads it (there:
    ssh_host_rsa_key.pub; the fake hosts have an ed25519 key only)."""
    with open("/etc/ssh/fakehost/ssh_host_ed25519_key.pub") as f:
        return " ".join(f.read().split()[:2])


def ssh_create_node_known_hosts(me):
    """Setup.pm ssh_create_node_known_hosts: /etc/pve/nodes/<node>/ssh_known_hosts = '<node> <key>'."""
    d = os.path.join(PVE, "nodes", me)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "ssh_known_hosts"), "w") as f:
        f.write("%s %s\n" % (me, host_key_line()))


def ssh_cluster_cmd(node, ip):
    """SSHInfo.pm ssh_info_to_command: how one node runs a command on another."""
    cmd = ["/usr/bin/ssh", "-e", "none", "-o", "BatchMode=yes", "-o", "HostKeyAlias=" + node]
    kh = "/etc/pve/nodes/%s/ssh_known_hosts" % node
    if os.path.isfile(kh):
        cmd += ["-o", "UserKnownHostsFile=" + kh, "-o", "GlobalKnownHostsFile=none"]
    return cmd + ["root@" + ip]


def member_ip(name):
    """PVE::Cluster::remote_node_ip: the node's address as pmxcfs knows it (its host address)."""
    return (host_info(name) or {}).get("address")


# --------------------------------------------------------------------------
# pvecm


def pvecm_create(pos, opts):
    """API2/ClusterConfig.pm create (reference §1)."""
    if len(pos) != 1:
        raise Die("400 not enough arguments\npvecm create <clustername> [OPTIONS]\n")
    clustername = pos[0]
    if not re.match(r"^[a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?$", clustername) or len(clustername) > 15:
        raise Die("400 Parameter verification failed.\nclustername: value does not match the regex pattern\n")
    # checked before the worker is forked: a real non-zero exit (reference §1)
    if os.path.isfile(CONF):
        raise Die("cluster config '%s' already exists\n" % CONF)
    me = nodename()

    def worker():
        fault = take_fault("create-task-error")
        if fault:
            raise Die(fault + "\n")
        with locked():
            setup_rootsshconfig()
            setup_ssh_keys(PVE)
            if not os.path.isfile(AUTHKEY):
                os.makedirs("/etc/corosync", exist_ok=True)
                run_cmd(["/usr/sbin/corosync-keygen", "-lk", AUTHKEY])
            links = links_from(opts) or {"0": {"address": member_ip(me)}}
            node = {"name": me, "nodeid": opts.get("nodeid", "1"), "quorum_votes": opts.get("votes", "1")}
            interface = {}
            for n, link in links.items():
                interface[n] = {"linknumber": n}
                if link.get("priority") and link["priority"] != "0":
                    interface[n]["knet_link_priority"] = link["priority"]
                node["ring%s_addr" % n] = link["address"]
            main = {
                "totem": {"version": "2", "secauth": "on", "cluster_name": clustername, "config_version": "0",
                          "ip_version": "ipv4-6", "link_mode": "passive", "interface": interface,
                          "token_coefficient": opts.get("token-coefficient", "125")},
                "nodelist": {"node": {me: node}},
                "quorum": {"provider": "corosync_votequorum"},
                "logging": {"to_syslog": "yes", "debug": "off"},
            }
            out("Writing corosync config to /etc/pve/corosync.conf")
            atomic_write_conf(PVE, main)
            ssh_merge_keys(PVE)
            ssh_create_node_known_hosts(me)
            cid = "%s-%s" % (clustername, uuid.uuid4().hex[:8])
            os.makedirs(cluster_dir(cid))
            shutil.copytree(PVE, os.path.join(cluster_dir(cid), "pve"), symlinks=True)
            shutil.copy(AUTHKEY, os.path.join(cluster_dir(cid), "authkey"))
            set_runtime(me, cluster=cid)
            # pmxcfs (local mode) writes /etc/corosync/corosync.conf (dcdb.c)
            pmxcfs_wrote_corosync_conf(cid)
            out("Restart corosync and cluster filesystem")
            mount_cluster_fs(cid)
            systemctl_or_die("restart", "corosync", "pve-cluster")

    return run_worker(worker)


def assert_joinable(me, links, force):
    """Setup.pm assert_joinable (reference §2 "Local pre-checks")."""
    errors = ""
    if os.path.isfile(AUTHKEY):
        errors += "* authentication key '%s' already exists\n" % AUTHKEY
    if os.path.isfile(CONF):
        errors += "* cluster config '%s' already exists\n" % CONF
    if guests(PVE):
        errors += "* this host already contains virtual guests\n"
    if services.running():
        errors += "* corosync is already running, is this node already in a cluster?!\n"
    mine = local_ips()
    for n in sorted(links):
        ip = links[n]["address"]
        if ip not in mine:
            errors += "* link%s: cannot use IP '%s', not found on local node!\n\n" % (n, ip)
    if errors:
        out("detected the following error(s):\n" + errors.rstrip("\n"))
        if not force:
            raise Die("Check if node may join a cluster failed!\n")
        out("\nWARNING : detected error but forced to continue!\n")


def api_addnode(args):
    """ClusterConfig.pm addnode, run ON THE CLUSTER NODE (the joiner's API call enters the peer's
    namespaces: see pvecm_add). Prints one JSON line: {"error": text} or {"cid": id}."""
    req = json.loads(args[0])
    me = nodename()
    cid = runtime(me).get("cluster")
    main = read_conf(PVE)
    if not cid or main is None:
        out(json.dumps({"error": "Error: Corosync config '/etc/pve/corosync.conf' does not exist - is this node part of a cluster?"}))
        return 0
    if not services.quorate():
        # PVE::Cluster::check_cfs_quorum (Cluster.pm)
        out(json.dumps({"error": "cluster not ready - no quorum?"}))
        return 0
    name, links, force = req["node"], req["links"], req["force"]
    with locked():
        nodes = main["nodelist"]["node"]
        if name in nodes and not force:
            out(json.dumps({"error": "can't add existing node '%s'" % name}))
            return 0
        for n in sorted(links):
            for other in sorted(nodes):
                if other != name and nodes[other].get("ring%s_addr" % n) == links[n]["address"]:
                    out(json.dumps({"error": "corosync: address '%s' already used on link ring%s_addr by node '%s'" % (links[n]["address"], n, other)}))
                    return 0
        cluster_links = set(main["totem"]["interface"])
        for n in sorted(cluster_links - set(links)):
            out(json.dumps({"error": "corosync: link %s exists in cluster config but wasn't specified for new node" % n}))
            return 0
        for n in sorted(set(links) - cluster_links):
            out(json.dumps({"error": "corosync: link %s specified for new node doesn't exist in cluster config" % n}))
            return 0
        used = {int(x.get("nodeid", 0)) for k, x in nodes.items() if k != name}
        nid = int(req["nodeid"]) if req.get("nodeid") else next(i for i in range(1, 1000) if i not in used)
        node = {"name": name, "nodeid": str(nid), "quorum_votes": str(req.get("votes") or 1)}
        for n in links:
            node["ring%s_addr" % n] = links[n]["address"]
        nodes[name] = node
        atomic_write_conf(PVE, main)
        pmxcfs_wrote_corosync_conf(cid)
    out(json.dumps({"cid": cid}))
    return 0


def pvecm_add(pos, opts):
    if len(pos) != 1:
        raise Die("400 not enough arguments\npvecm add <hostname> [OPTIONS]\n")
    host = pos[0]
    # the cwd guard runs before the worker: a real non-zero exit (reference §2)
    cwd = os.getcwd() if os.path.exists(os.getcwd()) else ""
    if re.match(r"^/etc/pve(/.*)?$", cwd):
        raise Die("Navigate out of /etc/pve before running 'pvecm add', for example by running 'cd'.\n")
    fp = opts.get("fingerprint")
    if fp is not None and not re.match(r"^([A-Fa-f0-9]{2}:){31}[A-Fa-f0-9]{2}$", fp):
        raise Die("400 Parameter verification failed.\nfingerprint: value does not match the regex pattern\n")
    if opts.get("use_ssh") not in (None, "0"):
        raise Die("fake pvecm: the --use_ssh join path is not simulated\n")
    me = nodename()
    links = links_from(opts)
    force = opts.get("force") in ("1", "true")

    def worker():
        # PVE::PTY::read_password: not a terminal, so the first line of STDIN (reference §2)
        if os.isatty(0):
            raise Die("fake pvecm: reading the password from a terminal is not simulated\n")
        line = sys.stdin.readline()
        if line == "":
            raise Die("EOF while reading password\n")
        password = line.rstrip("\n")
        record_call({"event": "password-read", "passwordSha256": hashlib.sha256(password.encode()).hexdigest()})
        assert_joinable(me, links, force)
        setup_rootsshconfig()
        setup_ssh_keys(PVE)
        out("Establishing API connection with host '%s'" % host)
        peer = host_by_address(host) or (host if host_info(host) else None)
        if peer is None or not host_info(peer).get("pve") or not reachable(host_info(peer)["address"]):
            raise Die("fake pvecm: no Proxmox VE API answers at %s:8006 (the real error text is not documented)\n" % host)
        actual = node_fingerprint(pve_dir_of(peer), peer)
        if fp is None:
            raise Die("fake pvecm: joining without --fingerprint (interactive confirmation) is not simulated\n")
        if fp.upper() != actual:
            # pve-apiclient LWP.pm manual_verify_fingerprint without manual verification
            raise Die("fingerprint '%s' not verified, abort!\n" % actual)
        if hashlib.sha256(password.encode()).hexdigest() != host_info(peer).get("rootPasswordSha256"):
            # pve-apiclient LWP.pm login: raise($response->status_line)
            raise Die("401 authentication failure\n")
        out("Login succeeded.")
        out("check cluster join API version")
        out("Request addition of this node")
        fault = take_fault("join-cluster-error")
        if fault:
            out("An error occurred on the cluster node: %s" % fault)
            raise Die("Cluster join aborted!\n")
        # The API call: the peer's addnode runs in the peer's own namespaces (its corosync, its /etc/pve).
        req = {"node": me, "links": links, "force": force, "votes": opts.get("votes"), "nodeid": opts.get("nodeid")}
        r = subprocess.run(["nsenter", "--target", str(host_info(peer)["pid"]), "--net", "--mount", "--uts", "--",
                            "/usr/local/sbin/pvecm", "__api-addnode", json.dumps(req)],
                           stdin=subprocess.DEVNULL, capture_output=True, text=True)
        try:
            res = json.loads(r.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            raise Die("fake pvecm: the peer's addnode failed: %s\n" % (r.stderr.strip() or r.stdout.strip()))
        if res.get("error"):
            out("An error occurred on the cluster node: %s" % res["error"])
            raise Die("Cluster join aborted!\n")
        out("Join request OK, finishing setup locally")
        # Setup.pm finish_join
        cid = res["cid"]
        os.makedirs("/etc/corosync", exist_ok=True)
        shutil.copy(os.path.join(cluster_dir(cid), "authkey"), AUTHKEY)
        shutil.copy(os.path.join(cluster_dir(cid), "pve", "corosync.conf"), "/etc/corosync/corosync.conf")
        out("stopping pve-cluster service")
        systemctl_or_die("stop", "pve-cluster")
        with locked():
            set_runtime(me, cluster=cid)
        mount_cluster_fs(cid)
        systemctl_or_die("start", "corosync", "pve-cluster")
        # wait for quorum: PVE waits without a limit, so does the fake
        printqmsg = True
        while not services.quorate():
            if printqmsg:
                sys.stdout.write("waiting for quorum...")
                sys.stdout.flush()
                printqmsg = False
            time.sleep(1)
        if not printqmsg:
            out("OK")
        gen_node_cert(PVE, me)
        setup_rootsshconfig()
        setup_ssh_keys(PVE)
        with locked():
            ssh_merge_keys(PVE)
        ssh_create_node_known_hosts(me)
        out("generated new node certificate, restart pveproxy and pvedaemon services")
        out("successfully added node '%s' to cluster." % me)

    return run_worker(worker)


def pvecm_status(pos, opts):
    """pvecm.pm status: the "Cluster information" header, then exec('corosync-quorumtool', '-siH')."""
    if not os.path.isfile(CONF):
        sys.stderr.write("Error: Corosync config '/etc/pve/corosync.conf' does not exist - is this node part of a cluster?\n")
        return STATUS_NO_CONF
    totem = parse_conf(open(CONF).read())["totem"]

    def info(label, key, default):
        out("%-17s %s" % (label + ":", totem.get(key, default)))

    out("Cluster information")
    out("-------------------")
    info("Name", "cluster_name", "UNKOWN?")
    info("Config Version", "config_version", -1)
    info("Transport", "transport", "knet")
    info("Secure auth", "secauth", "off")
    out()
    sys.stdout.flush()
    os.execv("/usr/sbin/corosync-quorumtool", ["corosync-quorumtool", "-siH"])


def pvecm_nodes(pos, opts):
    """pvecm.pm nodes: exec('corosync-quorumtool', '-l')."""
    if not os.path.isfile(CONF):
        sys.stderr.write("Error: Corosync config '/etc/pve/corosync.conf' does not exist - is this node part of a cluster?\n")
        return STATUS_NO_CONF
    sys.stdout.flush()
    os.execv("/usr/sbin/corosync-quorumtool", ["corosync-quorumtool", "-l"])


def run_cmd(cmd, noerr=False, outfunc=None):
    """PVE::Tools::run_command: output passed through (stdout lines through outfunc); dies with its
    standard message on failure."""
    r = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in r.stdout.splitlines(True):
        sys.stdout.write(outfunc(line) if outfunc else line)
    sys.stdout.flush()
    sys.stderr.write(r.stderr)
    if r.returncode != 0 and not noerr:
        raise Die("command '%s' failed: exit code %d\n" % (" ".join(cmd), r.returncode))
    return r.returncode


def interrupted_at(fault):
    """A test-armed interruption of `pvecm qdevice setup` (the process killed at that point)."""
    if take_fault(fault):
        sys.stdout.flush()
        sys.stderr.write("fake pvecm: interrupted (%s, fault injected by the test)\n" % fault)
        sys.stderr.flush()
        os._exit(130)


def pvecm_qdevice_setup(pos, opts):
    """pvecm.pm setup_qdevice, step by step (reference §3 "What setup does"), with the real
    certutils, ssh and scp. Not a worker: errors exit non-zero."""
    if len(pos) != 1:
        raise Die("400 not enough arguments\npvecm qdevice setup <address> [OPTIONS]\n")
    addr = pos[0]
    force = opts.get("force") in ("1", "true")
    me = nodename()
    # 1.
    if not os.path.isfile(CONF):
        raise Die("Error: Corosync config '/etc/pve/corosync.conf' does not exist - is this node part of a cluster?\n")
    v = view(me)
    for m in sorted(v["members"], key=lambda m: m["name"]):
        if not m["online"]:
            raise Die("All nodes must be online! Node %s is offline, aborting.\n" % m["name"])
    main = read_conf(PVE)
    # 2.
    if main.get("quorum", {}).get("device") is not None and not force:
        raise Die("QDevice already configured!\n")
    # 3.
    algorithm = "ffsplit"
    if len(v["members"]) & 1:
        if force:
            algorithm = "lms"
        else:
            raise Die("Clusters with an odd node count are not officially supported!\n")
    clustername = main["totem"]["cluster_name"]
    certutil = "corosync-qdevice-net-certutil"
    qnetd_certutil = "corosync-qnetd-certutil"
    # 4.
    run_cmd(["ssh-copy-id", "-i", "/root/.ssh/id_rsa", "root@" + addr])
    # 5.
    if os.path.isdir(NSSDB):
        if force:
            shutil.rmtree(NSSDB)
        else:
            raise Die("QDevice certificate store already initialised, set force to delete!\n")
    ssh = ["ssh", "-o", "BatchMode=yes", "-lroot"]
    scp = ["scp", "-o", "BatchMode=yes"]

    def foreach_member(fn):
        for m in v["members"]:
            fn(m["name"], member_ip(m["name"]))

    # 6.
    out("\nINFO: initializing qnetd server")
    run_cmd(ssh + [addr, qnetd_certutil, "-i"], noerr=True)
    # 7.
    out("\nINFO: copying CA cert and initializing on all nodes")
    run_cmd(scp + ["root@[%s]:%s/qnetd-cacert.crt" % (addr, QNETD_NSSDB), "/etc/pve/qnetd-cacert.crt"])
    foreach_member(lambda node, ip: run_cmd(ssh_cluster_cmd(node, ip) + ["--", certutil, "-i", "-c", "/etc/pve/qnetd-cacert.crt"],
                                            noerr=True, outfunc=lambda s, node=node: "\nnode '%s': %s" % (node, s)))
    os.remove("/etc/pve/qnetd-cacert.crt")
    interrupted_at("qdevice-interrupt")
    # 8.
    out("\nINFO: generating cert request")
    run_cmd([certutil, "-r", "-n", clustername])
    out("\nINFO: copying exported cert request to qnetd server")
    run_cmd(scp + [NSSDB + "/qdevice-net-node.crq", "root@[%s]:/tmp" % addr])
    out("\nINFO: sign and export cluster cert")
    run_cmd(ssh + [addr, qnetd_certutil, "-s", "-c", "/tmp/qdevice-net-node.crq", "-n", clustername])
    out("\nINFO: copy exported CRT")
    run_cmd(scp + ["root@[%s]:%s/cluster-%s.crt" % (addr, QNETD_NSSDB, clustername), NSSDB])
    out("\nINFO: import certificate")
    run_cmd([certutil, "-M", "-c", "%s/cluster-%s.crt" % (NSSDB, clustername)])
    # 9.
    out("\nINFO: copy and import pk12 cert to all nodes")
    run_cmd(scp + [NSSDB + "/qdevice-net-node.p12", "/etc/pve/"])
    foreach_member(lambda node, ip: run_cmd(ssh_cluster_cmd(node, ip) + ["--", certutil, "-m", "-c", "/etc/pve/qdevice-net-node.p12"],
                                            outfunc=lambda s, node=node: "\nnode '%s': %s" % (node, s)))
    os.remove("/etc/pve/qdevice-net-node.p12")
    # 10. (PVE::Cluster::cfs_lock_file('corosync.conf', ...))
    out("\nINFO: add QDevice to cluster configuration")
    with locked():
        main = read_conf(PVE)
        quorum = main.setdefault("quorum", {})
        if quorum.get("device") is not None:
            raise Die("Qdevice already configured, must be removed before setting up new one!\n")
        device = {"model": "net", "net": {"tls": "on", "host": addr, "algorithm": algorithm}}
        if algorithm == "ffsplit":
            device["votes"] = "1"
        quorum["device"] = device
        atomic_write_conf(PVE, main)
        pmxcfs_wrote_corosync_conf(v["cid"])
    interrupted_at("qdevice-interrupt-after-write")
    # 11.
    def start_enable(node, ip):
        out("\nINFO: start and enable corosync qdevice daemon on node '%s'..." % node)
        prefix = lambda s: "\nnode '%s': %s" % (node, s)
        run_cmd(ssh_cluster_cmd(node, ip) + ["--", "systemctl", "start", "corosync-qdevice"], outfunc=prefix)
        interrupted_at("qdevice-interrupt-after-start")
        run_cmd(ssh_cluster_cmd(node, ip) + ["--", "systemctl", "enable", "corosync-qdevice"], outfunc=prefix)

    foreach_member(start_enable)
    run_cmd(["corosync-cfgtool", "-R"])  # do cluster wide config reload
    return 0


def pvecm_expected(pos, opts):
    """pve-cluster CLI/pvecm.pm expected: exec('corosync-quorumtool', '-e', <expected>)."""
    if len(pos) != 1:
        raise Die("400 not enough arguments\npvecm expected <expected>\n")
    sys.stdout.flush()
    os.execv("/usr/sbin/corosync-quorumtool", ["corosync-quorumtool", "-e", pos[0]])


def pvecm_delnode(pos, opts):
    """pve-cluster API2/ClusterConfig.pm delnode (a plain CLI call, no task worker): refuses
    this node, checks quorum first (check_cfs_quorum), finds the node by name or ring0/ring1
    address, drops it from the nodelist (corosync-cfgtool -k, allowed to fail) and writes
    corosync.conf (update_nodelist), which pmxcfs syncs to every member."""
    if len(pos) != 1:
        raise Die("400 not enough arguments\npvecm delnode <node>\n")
    me = nodename()
    if pos[0] == me:
        raise Die("Cannot delete myself from cluster!\n")
    if not services.quorate():
        raise Die("cluster not ready - no quorum?\n")
    cid = runtime(me).get("cluster")
    with locked():
        main = read_conf(PVE)
        nodes = main["nodelist"]["node"]
        found = next((k for k, d in sorted(nodes.items())
                      if pos[0] in (k, d.get("ring0_addr"), d.get("ring1_addr"))), None)
        if found is None:
            raise Die("Node/IP: %s is not a known host of the cluster.\n" % pos[0])
        nodeid = nodes[found].get("nodeid")
        del nodes[found]
        if nodeid:
            run_cmd(["corosync-cfgtool", "-k", str(nodeid)], noerr=True)
        atomic_write_conf(PVE, main)
        pmxcfs_wrote_corosync_conf(cid)
    return 0


def pmxcfs_loop(args):
    """The part of pmxcfs that reaches corosync (dcdb.c dcdb_sync_corosync_conf), as a loop the
    harness starts on every PVE host: when the cluster's corosync.conf (what /etc/pve shows once
    clustered) has a higher config_version than /etc/corosync/corosync.conf, copy it there and run
    `corosync-cfgtool -R`. So an edit of /etc/pve/corosync.conf by hand or by a script (pve-docs
    pvecm.adoc "Edit corosync.conf") reaches the real corosync of every member, as on PVE."""
    me = nodename()
    while True:
        cid = runtime(me).get("cluster")
        if cid:
            src = os.path.join(cluster_dir(cid), "pve", "corosync.conf")
            new, old = services._version(src), services._version("/etc/corosync/corosync.conf")
            if new is not None and (old is None or new > old) and os.path.isfile(AUTHKEY):
                services.sync_corosync_conf(src, [corosync_dir_of(me)], corosync_dir_of(me))
        time.sleep(0.2)


def pvecm(args):
    if not args:
        raise Die("ERROR: no command specified\n")
    cmd, rest = args[0], args[1:]
    if cmd == "__pmxcfs":
        return pmxcfs_loop(rest)
    if cmd == "__api-addnode":
        return api_addnode(rest)
    if cmd == "qdevice" and rest[:1] == ["setup"]:
        pos, opts = parse_args(rest[1:])
        return pvecm_qdevice_setup(pos, opts)
    pos, opts = parse_args(rest)
    if cmd == "create":
        return pvecm_create(pos, opts)
    if cmd == "add":
        return pvecm_add(pos, opts)
    if cmd == "status":
        return pvecm_status(pos, opts)
    if cmd == "nodes":
        return pvecm_nodes(pos, opts)
    if cmd == "expected":
        return pvecm_expected(pos, opts)
    if cmd == "delnode":
        return pvecm_delnode(pos, opts)
    raise Die("fake pvecm: '%s' is not simulated\n" % " ".join(args))


# --------------------------------------------------------------------------
# pvesh (only GET /cluster/status, reference §1 "JSON via the API"; online and quorate
# from the real corosync of this node, as pmxcfs reports them; "ip" is the node's own
# address, which each pmxcfs announces for its node: src/pmxcfs/status.c iphash)


def pvesh(args):
    pos, opts = parse_args(args)
    if pos != ["get", "/cluster/status"] or opts.get("output-format") not in ("json", "json-pretty"):
        raise Die("fake pvesh: only 'get /cluster/status --output-format json' is simulated\n")
    me = nodename()
    v = view(me)
    info = host_info(me)
    if v is None:
        res = [{"type": "node", "id": "node/" + me, "name": me, "nodeid": 0, "ip": info["address"], "online": 1, "local": 1, "level": ""}]
    else:
        res = [{"type": "cluster", "id": "cluster", "name": v["main"]["totem"]["cluster_name"],
                "nodes": len(v["members"]), "quorate": 1 if v["quorate"] else 0,
                "version": int(v["main"]["totem"].get("config_version", 0))}]
        for m in v["members"]:
            res.append({"type": "node", "id": "node/" + m["name"], "name": m["name"], "nodeid": m["nodeid"],
                        "ip": member_ip(m["name"]), "online": 1 if m["online"] else 0, "local": 1 if m["name"] == me else 0, "level": ""})
    out(json.dumps(res))
    return 0


# --------------------------------------------------------------------------
# pveum: users, roles, ACLs and API tokens, as far as the bootstrap uses them.
# Sources (proxmox/pve-access-control): src/PVE/CLI/pveum.pm (command map:
# user add/list, role add/modify/list, acl modify/list, user token
# add/list/remove), src/PVE/API2/User.pm (create_user: "user '%s' already
# exists"; generate_token: privsep defaults to 1, "Token already exists.";
# remove_token), src/PVE/API2/Role.pm (create_role: "role '%s' already exists";
# update_role: --privs replaces the list unless --append; index: privs as a
# sorted comma list), src/PVE/API2/ACL.pm (update_acl: users must exist,
# tokens must exist via check_token_exist, propagate defaults to 1; read_acl:
# {path, type, ugid, roleid, propagate}), src/PVE/AccessControl.pm
# ($privgroups: the valid privilege names; add_role_privs: "invalid privilege
# '%s'"; check_user_exist / check_token_exist messages; parse of user.cfg
# ignores ACLs of tokens that no longer exist, so removing a token drops them).
# State lives in the fake's own file under /etc/pve/priv, so it follows the
# cluster filesystem. Fault "pveum-<sub>-<action>" fails that call once.

VALID_PRIVS = set("""
VM.Config.Disk VM.Config.CPU VM.Config.Memory VM.Config.Network VM.Config.HWType VM.Config.Options
VM.Allocate VM.Clone VM.GuestAgent.Unrestricted VM.Migrate VM.Replicate VM.Snapshot VM.Snapshot.Rollback
VM.Config.CDROM VM.Config.Cloudinit VM.Console VM.Backup VM.GuestAgent.FileRead VM.GuestAgent.FileSystemMgmt
VM.GuestAgent.FileWrite VM.PowerMgmt VM.Audit VM.GuestAgent.Audit
Sys.PowerMgmt Sys.Modify Sys.Incoming Sys.AccessNetwork Sys.Console Sys.Syslog Sys.Audit
Datastore.Allocate Datastore.AllocateTemplate Datastore.AllocateSpace Datastore.Audit
SDN.Allocate SDN.Audit SDN.Use Realm.Allocate User.Modify Group.Allocate Realm.AllocateUser
Pool.Allocate Pool.Audit Mapping.Modify Mapping.Use Mapping.Audit Permissions.Modify
""".split())


def _pveum_json(opts, data):
    if opts.get("output-format", "text") not in ("json", "json-pretty"):
        raise Die("fake pveum: only --output-format json is simulated\n")
    out(json.dumps(data))


def _split_list(v):
    return [x for x in re.split(r"[,;\s]+", v or "") if x]


# Privileges PVE 8 had and PVE 9 dropped (pve-access-control AccessControl.pm's privilege
# list no longer has them): a role written by PVE 8 that still names one makes every pveum
# call warn on stderr.
PRIVS_REMOVED_IN_PVE9 = ("VM.Monitor",)


def user_cfg_warnings():
    """pve-access-control AccessControl.pm parse_user_config: every pveum call reads
    /etc/pve/user.cfg and `warn`s (stderr) about each entry it ignores, e.g.
    "user config - ignore invalid privilege 'VM.Monitor'", then carries on. Only the role
    privileges named in PRIVS_REMOVED_IN_PVE9 are checked here."""
    try:
        with open(os.path.join(PVE, "user.cfg")) as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        return
    for line in lines:
        fields = line.split(":")
        if len(fields) >= 3 and fields[0] == "role":
            for priv in re.split(r"[,;\s]+", fields[2]):
                if priv in PRIVS_REMOVED_IN_PVE9:
                    sys.stderr.write("user config - ignore invalid privilege '%s'\n" % priv)


def pveum(args):
    user_cfg_warnings()
    if len(args) < 2:
        raise Die("fake pveum: usage pveum user|role|acl ...\n")
    path = os.path.join(PVE, "priv", "fake-pveum-tokens.json")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    group, rest = args[0], args[1:]
    if group == "user" and rest[0] == "token":
        group, rest = "token", rest[1:]
    if not rest:
        raise Die("400 not enough arguments\n")
    sub = rest[0]
    pos, opts = parse_args(rest[1:])
    fault = take_fault("pveum-%s-%s" % (group, sub))
    if fault:
        raise Die(fault + "\n")
    with locked():
        db = read_json(path, {"users": {"root@pam": {"tokens": {}}}, "secrets": {}})
        db.setdefault("roles", {})
        db.setdefault("acl", [])
        if group == "user":
            if sub == "list":
                _pveum_json(opts, [{"userid": u, "enable": 1} for u in sorted(db["users"])])
                return 0
            if sub == "add":
                if len(pos) != 1:
                    raise Die("400 not enough arguments\n")
                userid = pos[0]
                if not re.match(r"^[^\s:/!@]+@[A-Za-z][A-Za-z0-9.\-_]+$", userid):
                    raise Die("400 Parameter verification failed.\nuserid: value does not look like a valid user name\n")
                if userid in db["users"]:
                    raise Die("create user failed: user '%s' already exists\n" % userid)
                db["users"][userid] = {"tokens": {}, **({"comment": opts["comment"]} if opts.get("comment") else {})}
                write_json(path, db)
                return 0
            raise Die("fake pveum: 'user %s' is not simulated\n" % sub)
        if group == "role":
            if sub == "list":
                _pveum_json(opts, [{"roleid": r, "privs": ",".join(sorted(p)), "special": 0} for r, p in sorted(db["roles"].items())])
                return 0
            if sub in ("add", "modify"):
                if len(pos) != 1:
                    raise Die("400 not enough arguments\n")
                role = pos[0]
                if sub == "add" and role in db["roles"]:
                    raise Die("create role failed: role '%s' already exists\n" % role)
                if sub == "modify" and role not in db["roles"]:
                    raise Die("update role failed: role '%s' does not exist\n" % role)
                privs = _split_list(opts.get("privs"))
                for priv in privs:
                    if priv not in VALID_PRIVS:
                        raise Die("%s role failed: invalid privilege '%s'\n" % ("create" if sub == "add" else "update", priv))
                base = db["roles"].get(role, []) if (sub == "modify" and opts.get("append") in ("1", "true")) else []
                db["roles"][role] = sorted(set(base) | set(privs))
                write_json(path, db)
                return 0
            raise Die("fake pveum: 'role %s' is not simulated\n" % sub)
        if group == "acl":
            if sub == "list":
                _pveum_json(opts, db["acl"])
                return 0
            if sub == "modify":
                if len(pos) != 1:
                    raise Die("400 not enough arguments\n")
                acl_path = pos[0]
                users, tokens = _split_list(opts.get("users")), _split_list(opts.get("tokens"))
                if not (users or tokens or opts.get("groups")):
                    raise Die("400 Parameter verification failed.\nusers: either 'users', 'groups' or 'tokens' is required.\n")
                propagate = 0 if opts.get("propagate") in ("0", "false") else 1
                for role in _split_list(opts.get("roles")):
                    if role not in db["roles"] and role not in ("Administrator", "PVEAuditor", "NoAccess"):
                        raise Die("role '%s' does not exist\n" % role)
                    entries = [("user", u) for u in users] + [("token", t) for t in tokens]
                    for kind, ugid in entries:
                        if kind == "user" and ugid not in db["users"]:
                            raise Die("user '%s' does not exist\n" % ugid)
                        if kind == "token":
                            uid, _, tid = ugid.partition("!")
                            if uid not in db["users"]:
                                raise Die("no such user ('%s')\n" % uid)
                            if tid not in db["users"][uid]["tokens"]:
                                raise Die("no such token '%s' for user '%s'\n" % (tid, uid))
                        db["acl"] = [a for a in db["acl"] if not (a["path"] == acl_path and a["type"] == kind and a["ugid"] == ugid and a["roleid"] == role)]
                        db["acl"].append({"path": acl_path, "type": kind, "ugid": ugid, "roleid": role, "propagate": propagate})
                write_json(path, db)
                return 0
            raise Die("fake pveum: 'acl %s' is not simulated\n" % sub)
        if group != "token":
            raise Die("fake pveum: '%s' is not simulated\n" % group)
        if not pos:
            raise Die("400 not enough arguments\n")
        userid = pos[0]
        user = db["users"].get(userid)
        if user is None:
            raise Die("no such user ('%s')\n" % userid)
        if sub == "list":
            _pveum_json(opts, [dict(t, tokenid=k) for k, t in sorted(user["tokens"].items())])
            return 0
        if len(pos) != 2:
            raise Die("400 not enough arguments\n")
        tokenid = pos[1]
        if not re.match(r"^[A-Za-z][A-Za-z0-9.\-_]+$", tokenid):
            raise Die("400 Parameter verification failed.\ntokenid: value does not match the regex pattern\n")
        full = "%s!%s" % (userid, tokenid)
        if sub == "add":
            if tokenid in user["tokens"]:
                raise Die("400 Parameter verification failed.\ntokenid: Token already exists.\n")
            token = {"privsep": int(opts.get("privsep", 1))}
            if "expire" in opts:
                token["expire"] = opts["expire"]
            if opts.get("comment"):
                token["comment"] = opts["comment"]
            value = str(uuid.uuid4())
            user["tokens"][tokenid] = token
            db["secrets"][full] = value
            write_json(path, db)
            _pveum_json(opts, {"full-tokenid": full, "info": token, "value": value})
            return 0
        if sub in ("remove", "delete"):
            if tokenid not in user["tokens"]:
                raise Die("no such token '%s' for user '%s'\n" % (tokenid, userid))
            del user["tokens"][tokenid]
            db["secrets"].pop(full, None)
            db["acl"] = [a for a in db["acl"] if not (a["type"] == "token" and a["ugid"] == full)]
            write_json(path, db)
            return 0
    raise Die("fake pveum: 'user token %s' is not simulated\n" % sub)


# --------------------------------------------------------------------------
# ifupdown2 `ifreload -a` and iproute2 `ip -o addr show dev X`: stand-ins so the
# VLAN script can run; they prove nothing about ifupdown2's syntax.


def read_stanzas():
    files = ["/etc/network/interfaces"]
    found = {}
    i = 0
    while i < len(files):
        try:
            lines = open(files[i]).read().splitlines()
        except FileNotFoundError:
            i += 1
            continue
        cur = None
        for line in lines:
            w = line.split()
            if not w or w[0].startswith("#"):
                continue
            if w[0] in ("source", "source-directory"):
                for pattern in w[1:]:
                    if w[0] == "source-directory":
                        pattern = pattern.rstrip("/") + "/*"
                    files += sorted(p for p in glob.glob(pattern) if os.path.isfile(p))
                cur = None
            elif w[0] == "iface" and len(w) >= 2:
                cur = w[1]
                found.setdefault(cur, [])
            elif w[0] in ("auto", "allow-hotplug"):
                cur = None
            elif w[0] == "address" and cur and len(w) >= 2:
                found[cur].append(w[1])
        i += 1
    return found


def ifreload(args):
    if args != ["-a"]:
        sys.stderr.write("fake ifreload: only 'ifreload -a' is simulated\n")
        return 1
    fault = take_fault("ifreload-error")
    if fault:
        sys.stderr.write(fault + "\n")
        return 1
    me = nodename()
    with locked():
        before = iface_addresses(me)
        now = {k: v for k, v in read_stanzas().items() if v}
        write_json(os.path.join(hdir(me), "ifaces.json"), now)
    # The VLAN addresses become real on eno1, the veth into the harness's corosync-link segment
    # (this kernel has no 8021q), so the real corosync can bind and reach them.
    if subprocess.run(["/usr/sbin/ip", "link", "show", "eno1"], capture_output=True).returncode == 0:
        keep = {a for k, v in now.items() if k != "vmbr0" for a in v}
        gone = {a for k, v in before.items() if k != "vmbr0" for a in v} - keep
        for a in sorted(gone):
            subprocess.run(["/usr/sbin/ip", "addr", "del", a, "dev", "eno1"], stderr=subprocess.DEVNULL)
        have = subprocess.run(["/usr/sbin/ip", "-o", "addr", "show", "dev", "eno1"], capture_output=True, text=True).stdout
        for a in sorted(keep):
            if (" %s " % a) not in have:
                subprocess.run(["/usr/sbin/ip", "addr", "add", a, "dev", "eno1"], check=True)
    return 0


def ip(args):
    if len(args) == 5 and args[:4] == ["-o", "addr", "show", "dev"]:
        dev = args[4]
        ifaces = iface_addresses(nodename())
        if dev not in ifaces:
            sys.stderr.write('Device "%s" does not exist.\n' % dev)
            return 1
        for n, a in enumerate(ifaces[dev]):
            fam = "inet6" if ":" in a else "inet"
            if fam == "inet6":
                # The kernel keeps the address in binary; iproute2 prints it with
                # inet_ntop (ip/ipaddress.c print_addrinfo -> format_host_rta), i.e. in
                # the RFC 5952 form, whatever text the stanza had.
                a = ipaddress.IPv6Interface(a).with_prefixlen
            out("%d: %s    %s %s scope global %s\\       valid_lft forever preferred_lft forever" % (n + 2, dev, fam, a, dev))
        return 0
    for real in ("/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"):
        if os.path.exists(real):
            os.execv(real, [real] + args)
    sys.stderr.write("fake ip: no real ip binary\n")
    return 1


# --------------------------------------------------------------------------


COMMANDS = {
    "pvecm": pvecm,
    "pvesh": pvesh,
    "pveum": pveum,
    "ifreload": ifreload,
    "ip": ip,
}


def systemctl(args):
    code, stdout, stderr = services.systemctl(args)
    sys.stdout.write(stdout)
    sys.stderr.write(stderr)
    return code


COMMANDS["systemctl"] = systemctl


def main(name):
    if host_info(nodename()) is None:
        sys.stderr.write("fake %s: not inside a fake host of test/harness/hosts.ts (no %s); refusing to run\n" % (name, hdir(nodename())))
        sys.exit(127)
    if sys.argv[1:2] not in (["__api-addnode"], ["__pmxcfs"]):
        record_call()
    try:
        code = COMMANDS[name](sys.argv[1:])
    except Die as e:
        sys.stdout.flush()
        sys.stderr.write(str(e) if str(e).endswith("\n") else str(e) + "\n")
        code = DIE
    sys.stdout.flush()
    sys.exit(code)
