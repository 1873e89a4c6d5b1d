/**
 * scripts/packages.sh, run exactly as shipped (`scriptInvocation` by bash),
 * with stateful fakes of `dpkg-query` and `apt-get` first on PATH.
 *
 * The fakes do only what dpkg-query(1) and apt-get(8) document:
 * `dpkg-query -W -f='${Status}' <pkg>` prints the status triple ("install ok
 * installed", "deinstall ok config-files") or fails with "dpkg-query: no
 * packages found matching <pkg>"; `apt-get install` fails with exit 100 and
 * "E: Unable to locate package <pkg>" when the local package lists do not know
 * the package; `apt-get update` refreshes the lists from the repository. They
 * also record each call with the DEBIAN_FRONTEND value they saw. `apt-get
 * update` reads the deb822 entries of /etc/apt/sources.list.d (a private bind
 * mount) as apt does (Debian/apt apt-pkg/sourcelist.cc ParseStanza: an entry
 * with a false `Enabled:` is skipped); an enabled enterprise.proxmox.com entry
 * without a subscription answers 401 and update exits 100 although the other
 * lists arrived (apt-pkg/update.cc AcquireUpdate; apt-private/private-cmndline.cc
 * DispatchCommandLine), which is what a PVE 9 node without a key does with the
 * entries it ships (pve-docs pve-package-repos.adoc).
 *
 * Proves: nothing is installed (apt not even called) when all packages are
 * present; missing ones are installed non-interactively and reported; a
 * package left as config-files counts as missing; stale lists are fixed by one
 * `apt-get update` and a retry; an unknown package fails with apt's reason on
 * one stderr line; apt's chatter never reaches stdout; invalid names are
 * refused before apt runs; a re-run is a no-op. Issue #11 point 6: with
 * --repository no-subscription the enterprise entries get `Enabled: no` and the
 * pve-no-subscription entry is added (idempotently); with enterprise they are
 * enabled again; a failed update (401) is not fatal, what is installed decides,
 * and a real failure names the 401 and the stack key that fixes it.
 *
 * Does NOT prove: real apt/dpkg behaviour (locks, debconf prompts, network
 * errors), or that corosync-qdevice/corosync-qnetd install cleanly on PVE.
 */
import { after, before, test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { runScript, tempDir } from "./lib";

let root: string;
let cleanup: () => void;
let bin: string;

const DPKG_QUERY = `#!/bin/bash
# Fake dpkg-query: -W -f='\${Status}' <pkg> from $FAKE_APT/status/<pkg>.
[[ $1 == -W && $2 == -f=* ]] || { echo "fake dpkg-query: unsupported call $*" >&2; exit 2; }
shift 2; rc=0
for p in "$@"; do
  if [[ -f $FAKE_APT/status/$p ]]; then printf '%s' "$(cat "$FAKE_APT/status/$p")"
  else echo "dpkg-query: no packages found matching $p" >&2; rc=1; fi
done
exit $rc
`;

const APT_GET = `#!/bin/bash
# Fake apt-get: update copies the repository index into the lists; install
# needs every package in the lists (else exit 100, as apt-get(8) documents).
#
# update reads the deb822 entries of /etc/apt/sources.list.d/*.sources (a
# private bind mount of $FAKE_APT/sources.list.d): a stanza whose Enabled:
# apt reads as false is skipped (Debian/apt apt-pkg/sourcelist.cc
# ParseStanza, StringToBool). An enabled entry on enterprise.proxmox.com
# answers "401  Unauthorized" unless $FAKE_APT/subscription exists (pve-docs
# pve-package-repos.adoc: the enterprise repository needs a subscription key);
# like apt-pkg/update.cc AcquireUpdate, the other indexes are still fetched
# (the Debian lists arrive), the failure is reported as
# "E: Failed to fetch <uri>  <error>" and apt-get exits 100
# (apt-private/private-cmndline.cc DispatchCommandLine: errors -> 100).
echo "apt-get $* DEBIAN_FRONTEND=\${DEBIAN_FRONTEND:-}" >> "$FAKE_APT/calls"
args=(); for a in "$@"; do case $a in -o) skip=1 ;; -*) ;; *) if [[ -n \${skip:-} ]]; then skip=; else args+=("$a"); fi ;; esac; done
case \${args[0]} in
  update)
    rc=0; i=0
    while read -r uri suite; do
      i=$((i + 1))
      if [[ $uri == *enterprise.proxmox.com* && ! -e $FAKE_APT/subscription ]]; then
        echo "Err:$i $uri $suite InRelease"; echo "  401  Unauthorized [IP: 192.0.2.7 443]"
        echo "E: Failed to fetch $uri/dists/$suite/InRelease  401  Unauthorized [IP: 192.0.2.7 443]" >&2
        rc=100
      else echo "Hit:$i $uri $suite InRelease"; fi
    done < <(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk 'BEGIN { RS = "" } {
        enabled = 1; uri = ""; suite = ""; n = split($0, l, "\\n")
        for (j = 1; j <= n; j++) {
          if (l[j] ~ /^Enabled:/ && tolower(l[j]) ~ /:[[:space:]]*(no|false|off|without|disable|0)[[:space:]]*$/) enabled = 0
          if (l[j] ~ /^URIs:/) { uri = l[j]; sub(/^URIs:[[:space:]]*/, "", uri) }
          if (l[j] ~ /^Suites:/) { suite = l[j]; sub(/^Suites:[[:space:]]*/, "", suite) }
        }
        if (enabled && uri != "") print uri, suite }')
    echo "Reading package lists..."; cp "$FAKE_APT/repo" "$FAKE_APT/lists"; exit $rc ;;
  install)
    echo "Reading package lists..."; echo "Building dependency tree..."
    for p in "\${args[@]:1}"; do
      grep -qx "$p" "$FAKE_APT/lists" 2>/dev/null || { echo "E: Unable to locate package $p" >&2; exit 100; }
    done
    for p in "\${args[@]:1}"; do echo "Setting up $p ..."; printf 'install ok installed' > "$FAKE_APT/status/$p"; done
    exit 0 ;;
  *) echo "fake apt-get: unsupported $*" >&2; exit 2 ;;
esac
`;

before(() => {
    const t = tempDir("packages-test");
    root = t.dir;
    cleanup = t.cleanup;
    bin = path.join(root, "bin");
    fs.mkdirSync(bin);
    fs.writeFileSync(path.join(bin, "dpkg-query"), DPKG_QUERY, { mode: 0o755 });
    fs.writeFileSync(path.join(bin, "apt-get"), APT_GET, { mode: 0o755 });
});

after(() => cleanup?.());

/** What PVE 9 ships (pve-docs pve-package-repos.adoc): enterprise entries, enabled. */
const PVE_ENTERPRISE = `Types: deb
URIs: https://enterprise.proxmox.com/debian/pve
Suites: trixie
Components: pve-enterprise
Signed-By: /usr/share/keyrings/proxmox-archive-keyring.gpg
`;
const CEPH_ENTERPRISE = `Types: deb
URIs: https://enterprise.proxmox.com/debian/ceph-squid
Suites: trixie
Components: enterprise
Signed-By: /usr/share/keyrings/proxmox-archive-keyring.gpg
`;
const DEBIAN = `Types: deb deb-src
URIs: http://deb.debian.org/debian/
Suites: trixie trixie-updates
Components: main non-free-firmware
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
`;

let n = 0;
function system(o: {
    installed?: string[];
    configFiles?: string[];
    lists?: string[];
    repo?: string[];
    /** Files of /etc/apt/sources.list.d (default: none). */
    sources?: Record<string, string>;
    subscription?: boolean;
}) {
    const dir = path.join(root, `sys${n++}`);
    fs.mkdirSync(path.join(dir, "status"), { recursive: true });
    const sourcesDir = path.join(dir, "sources.list.d");
    fs.mkdirSync(sourcesDir);
    for (const [f, text] of Object.entries(o.sources ?? {})) fs.writeFileSync(path.join(sourcesDir, f), text);
    if (o.subscription) fs.writeFileSync(path.join(dir, "subscription"), "");
    for (const p of o.installed ?? []) fs.writeFileSync(path.join(dir, "status", p), "install ok installed");
    for (const p of o.configFiles ?? []) fs.writeFileSync(path.join(dir, "status", p), "deinstall ok config-files");
    fs.writeFileSync(path.join(dir, "lists"), (o.lists ?? []).map((p) => `${p}\n`).join(""));
    fs.writeFileSync(path.join(dir, "repo"), (o.repo ?? o.lists ?? []).map((p) => `${p}\n`).join(""));
    const callsFile = path.join(dir, "calls");
    return {
        run: (...args: string[]) =>
            runScript("packages", args, {
                pathPrefix: [bin],
                env: { FAKE_APT: dir },
                binds: [[sourcesDir, "/etc/apt/sources.list.d"]],
            }),
        calls: () => (fs.existsSync(callsFile) ? fs.readFileSync(callsFile, "utf8").trim().split("\n") : []),
        status: (p: string) => fs.readFileSync(path.join(dir, "status", p), "utf8"),
        source: (f: string) => fs.readFileSync(path.join(sourcesDir, f), "utf8"),
        sourceFiles: () => fs.readdirSync(sourcesDir).sort(),
        inode: (f: string) => fs.statSync(path.join(sourcesDir, f)).ino,
    };
}

test("all packages present: no-op, apt is not called", () => {
    const s = system({ installed: ["corosync-qdevice"], lists: ["corosync-qdevice"] });
    const r = s.run("corosync-qdevice");
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "installed=none\n");
    assert.equal(r.stderr, "");
    assert.deepEqual(s.calls(), []);
});

test("a missing package is installed non-interactively and quietly; the re-run is a no-op", () => {
    const s = system({ installed: ["corosync"], lists: ["corosync", "corosync-qdevice"] });
    const r = s.run("corosync", "corosync-qdevice");
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "installed=corosync-qdevice\n", "apt's chatter stays out of stdout");
    assert.equal(r.stderr, "");
    assert.equal(s.status("corosync-qdevice"), "install ok installed");
    const calls = s.calls();
    assert.equal(calls.length, 1);
    assert.match(calls[0]!, /^apt-get install -y .*corosync-qdevice DEBIAN_FRONTEND=noninteractive$/);
    assert.doesNotMatch(calls[0]!, / corosync /, "only the missing package is installed");
    assert.match(calls[0]!, /-o Dpkg::Options::=--force-confold/);

    const again = s.run("corosync", "corosync-qdevice");
    assert.equal(again.stdout, "installed=none\n");
    assert.equal(s.calls().length, 1);
});

test("several missing packages are reported as a comma-separated list", () => {
    const s = system({ lists: ["corosync-qnetd", "corosync-qdevice"] });
    const r = s.run("corosync-qnetd", "corosync-qdevice");
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.lines, [{ installed: "corosync-qnetd,corosync-qdevice" }]);
});

test("a package left as config-files counts as missing", () => {
    const s = system({ configFiles: ["corosync-qnetd"], lists: ["corosync-qnetd"] });
    const r = s.run("corosync-qnetd");
    assert.equal(r.stdout, "installed=corosync-qnetd\n");
    assert.equal(s.status("corosync-qnetd"), "install ok installed");
});

test("stale package lists: one apt-get update, then the install succeeds", () => {
    const s = system({ lists: [], repo: ["corosync-qnetd"] });
    const r = s.run("corosync-qnetd");
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "installed=corosync-qnetd\n");
    assert.deepEqual(
        s.calls().map((c) => c.split(" ")[1]),
        ["install", "update", "install"],
    );
});

test("an unknown package fails with apt's reason on one line and nothing on stdout", () => {
    const s = system({ lists: ["corosync-qdevice"] });
    const r = s.run("corosync-qdevice", "no-such-package");
    assert.equal(r.code, 1);
    assert.equal(r.stdout, "");
    assert.equal(
        r.stderr,
        "packages.sh: apt-get install corosync-qdevice no-such-package failed: E: Unable to locate package no-such-package\n",
    );
});

test("invalid package names are refused before apt or dpkg runs", () => {
    const s = system({});
    for (const bad of ["Corosync", "-y", "pkg;reboot", "a b"]) {
        const r = s.run(bad);
        assert.equal(r.code, 1, bad);
        assert.equal(r.stderr, `packages.sh: invalid Debian package name '${bad}'\n`);
    }
    const none = s.run();
    assert.equal(none.stderr, "packages.sh: usage: packages.sh [--repository enterprise|no-subscription] <package>...\n");
    assert.deepEqual(s.calls(), []);
});

// ---- PVE 9 without a subscription (issue #11 point 6)

const PVE9 = { "debian.sources": DEBIAN, "pve-enterprise.sources": PVE_ENTERPRISE, "ceph.sources": CEPH_ENTERPRISE };
const NOSUB = `Types: deb
URIs: http://download.proxmox.com/debian/pve
Suites: trixie
Components: pve-no-subscription
Signed-By: /usr/share/keyrings/proxmox-archive-keyring.gpg
`;

test("no subscription, repository no-subscription: enterprise entries get Enabled: no, the no-subscription entry is added, update passes", () => {
    const s = system({ sources: PVE9, lists: [], repo: ["corosync-qdevice"] });
    const r = s.run("--repository", "no-subscription", "corosync-qdevice");
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, "");
    assert.deepEqual(r.lines, [{ installed: "corosync-qdevice" }, { sources: "changed" }]);
    assert.equal(s.source("pve-enterprise.sources"), `${PVE_ENTERPRISE}Enabled: no\n`);
    assert.equal(s.source("ceph.sources"), `${CEPH_ENTERPRISE}Enabled: no\n`);
    assert.equal(s.source("debian.sources"), DEBIAN, "Debian's entries are untouched");
    assert.equal(s.source("proxmox.sources"), NOSUB, "the docs' pve-no-subscription entry, suite of the shipped entry");
    assert.equal(s.status("corosync-qdevice"), "install ok installed");

    // Re-run: nothing to install, nothing rewritten.
    const inodes = s.sourceFiles().map(s.inode);
    const again = s.run("--repository", "no-subscription", "corosync-qdevice");
    assert.deepEqual(again.lines, [{ installed: "none" }, { sources: "unchanged" }]);
    assert.deepEqual(s.sourceFiles().map(s.inode), inodes);
    assert.deepEqual(s.sourceFiles(), ["ceph.sources", "debian.sources", "proxmox.sources", "pve-enterprise.sources"]);
});

test("enterprise chosen on a node without a key: update exits 100 (401), the package comes from Debian's lists and counts as success", () => {
    // Failed before the fix, with "apt-get update failed: E: Failed to fetch …  401  Unauthorized":
    // apt-get update's exit 100 was fatal although Debian's lists had arrived.
    const plain = system({ sources: PVE9, lists: [], repo: ["corosync-qdevice"] });
    const p = plain.run("corosync-qdevice");
    assert.equal(p.code, 0, p.stderr);
    assert.deepEqual(p.lines, [{ installed: "corosync-qdevice" }]);

    const s = system({ sources: PVE9, lists: [], repo: ["corosync-qdevice"] });
    const r = s.run("--repository", "enterprise", "corosync-qdevice");
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.lines, [{ installed: "corosync-qdevice" }, { sources: "unchanged" }]);
    assert.deepEqual(
        s.calls().map((c) => c.split(" ")[1]),
        ["install", "update", "install"],
    );
    assert.equal(s.source("pve-enterprise.sources"), PVE_ENTERPRISE, "enterprise stays enabled");
});

test("enterprise without a key and a package no list has: the failure names the 401 and the stack key that fixes it", () => {
    const s = system({ sources: PVE9, lists: [], repo: [] });
    const r = s.run("--repository", "enterprise", "corosync-qdevice");
    assert.equal(r.code, 1);
    assert.equal(r.stdout, "");
    assert.equal(
        r.stderr,
        "packages.sh: apt-get install corosync-qdevice failed: E: Unable to locate package corosync-qdevice; apt-get update failed too: " +
            "E: Failed to fetch https://enterprise.proxmox.com/debian/pve/dists/trixie/InRelease  401  Unauthorized [IP: 192.0.2.7 443] " +
            "(the enterprise repository needs a subscription key on this node: set cluster.repository: no-subscription in the stack, or add the key)\n",
    );
});

test("with a subscription, enterprise: update passes; switching back from no-subscription re-enables the enterprise entries", () => {
    const s = system({ sources: PVE9, lists: [], repo: ["corosync-qdevice"], subscription: true });
    assert.equal(s.run("--repository", "no-subscription", "corosync-qdevice").code, 0);
    const r = s.run("--repository", "enterprise", "corosync-qdevice");
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.lines, [{ installed: "none" }, { sources: "changed" }]);
    assert.equal(s.source("pve-enterprise.sources"), PVE_ENTERPRISE);
    assert.equal(s.source("ceph.sources"), CEPH_ENTERPRISE);
    assert.equal(s.source("proxmox.sources"), `${NOSUB}Enabled: no\n`);
});

test("an operator's own entries and a legacy enterprise .list line are handled; an existing no-subscription entry is not duplicated", () => {
    const legacy = "deb https://enterprise.proxmox.com/debian/pve trixie pve-enterprise\n";
    const own = `${NOSUB}\nTypes: deb\nURIs: http://mirror.example/debian\nSuites: trixie\nComponents: main\n`;
    const s = system({ sources: { "pve-enterprise.list": legacy, "proxmox.sources": own }, lists: ["corosync-qdevice"] });
    const r = s.run("--repository", "no-subscription", "corosync-qdevice");
    assert.equal(r.code, 0, r.stderr);
    assert.equal(s.source("pve-enterprise.list"), `# ${legacy}`);
    assert.equal(s.source("proxmox.sources"), own);
    const bad = s.run("--repository", "community", "corosync-qdevice");
    assert.equal(bad.code, 1);
    assert.equal(bad.stderr, "packages.sh: invalid repository 'community' (expected enterprise or no-subscription)\n");
});
