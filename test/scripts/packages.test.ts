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
 * also record each call with the DEBIAN_FRONTEND value they saw.
 *
 * Proves: nothing is installed (apt not even called) when all packages are
 * present; missing ones are installed non-interactively and reported; a
 * package left as config-files counts as missing; stale lists are fixed by one
 * `apt-get update` and a retry; an unknown package fails with apt's reason on
 * one stderr line; apt's chatter never reaches stdout; invalid names are
 * refused before apt runs; a re-run is a no-op.
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
echo "apt-get $* DEBIAN_FRONTEND=\${DEBIAN_FRONTEND:-}" >> "$FAKE_APT/calls"
args=(); for a in "$@"; do case $a in -o) skip=1 ;; -*) ;; *) if [[ -n \${skip:-} ]]; then skip=; else args+=("$a"); fi ;; esac; done
case \${args[0]} in
  update) echo "Reading package lists..."; cp "$FAKE_APT/repo" "$FAKE_APT/lists"; exit 0 ;;
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

let n = 0;
function system(o: { installed?: string[]; configFiles?: string[]; lists?: string[]; repo?: string[] }) {
    const dir = path.join(root, `sys${n++}`);
    fs.mkdirSync(path.join(dir, "status"), { recursive: true });
    for (const p of o.installed ?? []) fs.writeFileSync(path.join(dir, "status", p), "install ok installed");
    for (const p of o.configFiles ?? []) fs.writeFileSync(path.join(dir, "status", p), "deinstall ok config-files");
    fs.writeFileSync(path.join(dir, "lists"), (o.lists ?? []).map((p) => `${p}\n`).join(""));
    fs.writeFileSync(path.join(dir, "repo"), (o.repo ?? o.lists ?? []).map((p) => `${p}\n`).join(""));
    const callsFile = path.join(dir, "calls");
    return {
        run: (...pkgs: string[]) => runScript("packages", pkgs, { pathPrefix: [bin], env: { FAKE_APT: dir } }),
        calls: () => (fs.existsSync(callsFile) ? fs.readFileSync(callsFile, "utf8").trim().split("\n") : []),
        status: (p: string) => fs.readFileSync(path.join(dir, "status", p), "utf8"),
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
    assert.equal(none.stderr, "packages.sh: usage: packages.sh <package>...\n");
    assert.deepEqual(s.calls(), []);
});
