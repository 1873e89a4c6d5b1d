/**
 * scripts/zrepl-install.sh, run exactly as shipped (`scriptInvocation` by
 * bash) in a private mount namespace whose /etc/apt/keyrings,
 * /etc/apt/sources.list.d, /var/lib/apt/lists and /var/cache/apt are temp
 * dirs, with real gpg, curl and apt-get. Keys are made for the test with gpg
 * and served from file:// URLs (the stack schema itself only accepts https).
 *
 * Proves: a key whose fingerprint differs from the stack's, or a key file
 * holding a second key besides the trusted one, is refused with both
 * fingerprints named, and neither keyring nor source is written; the trusted
 * key (with an encryption subkey, to show subkeys do not count as keys) is
 * exported alone into /etc/apt/keyrings/zrepl.gpg; the source line is
 * `deb [arch=<arch> signed-by=/etc/apt/keyrings/zrepl.gpg] <url> <codename> main`;
 * a keyring that already holds the trusted key is not fetched again; a
 * repository that cannot be read fails the step with apt's message.
 * Does NOT prove: installing the real zrepl package (no network to its
 * repository here), nor `apt-mark hold` on an installed package.
 */
import { after, before, describe, it } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { run } from "../harness/zfs";
import { runScript, tempDir } from "../scripts/lib";

let tmp: { dir: string; cleanup: () => void };
let trusted: { fpr: string; file: string };
let other: { fpr: string; file: string };
let both: string;
const REPO = "file:///nonexistent/zrepl-test-repo/debian";

function gpg(home: string, args: string[]): string {
    const r = run("gpg", ["--homedir", home, "--batch", "--quiet", ...args]);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout;
}

/** A fresh signing key (plus an encryption subkey), exported armored. */
function makeKey(name: string): { fpr: string; file: string } {
    const home = path.join(tmp.dir, `gnupg-${name}`);
    fs.mkdirSync(home, { mode: 0o700 });
    gpg(home, ["--passphrase", "", "--quick-gen-key", `${name} <${name}@example.invalid>`, "ed25519", "sign", "never"]);
    const fpr = /^fpr:+([0-9A-F]{40}):/m.exec(gpg(home, ["--with-colons", "--list-keys"]))![1]!;
    gpg(home, ["--passphrase", "", "--quick-add-key", fpr, "cv25519", "encr", "never"]);
    const file = path.join(tmp.dir, `${name}.asc`);
    fs.writeFileSync(file, gpg(home, ["--armor", "--export", fpr]));
    return { fpr, file };
}

before(() => {
    tmp = tempDir("zrepl-install");
    trusted = makeKey("trusted");
    other = makeKey("other");
    both = path.join(tmp.dir, "both.asc");
    fs.writeFileSync(both, fs.readFileSync(trusted.file, "utf8") + fs.readFileSync(other.file, "utf8"));
});
after(() => tmp?.cleanup());

let hostNo = 0;
function host() {
    const dir = path.join(tmp.dir, `host${hostNo++}`);
    const h = {
        keyrings: path.join(dir, "keyrings"),
        sources: path.join(dir, "sources.list.d"),
        lists: path.join(dir, "lists"),
        cache: path.join(dir, "cache"),
    };
    for (const d of Object.values(h)) fs.mkdirSync(d, { recursive: true });
    fs.mkdirSync(path.join(h.lists, "partial"));
    const exec = (keyUrl: string, fpr: string) =>
        runScript("zrepl-install", [REPO, keyUrl, fpr], {
            binds: [
                [h.keyrings, "/etc/apt/keyrings"],
                [h.sources, "/etc/apt/sources.list.d"],
                [h.lists, "/var/lib/apt/lists"],
                [h.cache, "/var/cache/apt"],
            ],
        });
    return { ...h, exec };
}

/** Primary key fingerprints in a keyring file. */
function primaries(file: string): string[] {
    const home = path.join(tmp.dir, `show-${hostNo++}`);
    fs.mkdirSync(home, { mode: 0o700 });
    const out = gpg(home, ["--with-colons", "--show-keys", file]).split("\n");
    return out.flatMap((l, i) => (l.startsWith("pub:") ? [out[i + 1]!.split(":")[9]!] : []));
}

describe("zrepl-install.sh", () => {
    it("refuses a key whose fingerprint is not the stack's, writing nothing", () => {
        const h = host();
        const r = h.exec(`file://${other.file}`, trusted.fpr);
        assert.equal(r.code, 1);
        assert.equal(
            r.stderr.trim(),
            `zrepl-install.sh: the key at file://${other.file} has fingerprint(s) ${other.fpr} but the stack trusts only ${trusted.fpr}; nothing was changed`,
        );
        assert.deepEqual([...fs.readdirSync(h.keyrings), ...fs.readdirSync(h.sources)], []);
    });

    it("refuses a key file that carries a second key besides the trusted one", () => {
        const h = host();
        const r = h.exec(`file://${both}`, trusted.fpr);
        assert.equal(r.code, 1);
        assert.match(r.stderr, new RegExp(`has fingerprint\\(s\\) ${trusted.fpr} ${other.fpr} but the stack trusts only ${trusted.fpr}`));
        assert.deepEqual([...fs.readdirSync(h.keyrings), ...fs.readdirSync(h.sources)], []);
    });

    it("trusts only the pinned key, for this repository only, and does not fetch it again", () => {
        const h = host();
        const r = h.exec(`file://${trusted.file}`, trusted.fpr);
        // The repository does not exist here: the step fails at apt-get update, after key and source are in place.
        assert.equal(r.code, 1);
        assert.match(r.stderr, new RegExp(`^zrepl-install\\.sh: apt-get update of ${REPO} failed: .+`));
        const keyring = path.join(h.keyrings, "zrepl.gpg");
        assert.deepEqual(primaries(keyring), [trusted.fpr]);
        assert.equal(fs.statSync(keyring).mode & 0o777, 0o644);
        const arch = run("dpkg", ["--print-architecture"]).stdout.trim();
        const codename = /^VERSION_CODENAME=(\w+)/m.exec(fs.readFileSync("/etc/os-release", "utf8"))![1];
        assert.equal(
            fs.readFileSync(path.join(h.sources, "zrepl.list"), "utf8"),
            `deb [arch=${arch} signed-by=/etc/apt/keyrings/zrepl.gpg] ${REPO} ${codename} main\n`,
        );
        const before = fs.readFileSync(keyring);
        // A key URL that cannot be fetched: the keyring already holds the trusted key, so it is not needed.
        const again = h.exec("file:///nonexistent/key.asc", trusted.fpr);
        assert.match(again.stderr, /apt-get update of .* failed/);
        assert.deepEqual(fs.readFileSync(keyring), before);
        // A different pinned fingerprint does fetch (and here fails, leaving the keyring alone).
        const pinnedElsewhere = h.exec("file:///nonexistent/key.asc", other.fpr);
        assert.match(
            pinnedElsewhere.stderr,
            /^zrepl-install\.sh: cannot fetch the zrepl signing key from file:\/\/\/nonexistent\/key\.asc: /,
        );
        assert.deepEqual(fs.readFileSync(keyring), before);
    });

    it("refuses malformed arguments", () => {
        const h = host();
        const r = h.exec(`file://${trusted.file}`, trusted.fpr.toLowerCase());
        assert.equal(r.code, 1);
        assert.match(r.stderr, /invalid fingerprint/);
    });
});
