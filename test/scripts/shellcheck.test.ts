/**
 * Static checks of every shell script in the repository.
 *
 * Proves: shellcheck (all severities, default shell dialect from the shebang)
 * reports nothing for every `*.sh` file in the repository outside
 * node_modules/.git, nor for extensionless files with a sh/bash shebang
 * outside test/ (e.g. .ci/run); every remote step script under scripts/
 * starts with `#!/usr/bin/env bash` and `set -euo pipefail` (the project's
 * script contract). The file list is computed at run time, so scripts added
 * later (by anyone) are covered without editing this test.
 *
 * Does NOT prove: that the scripts behave correctly (the per-script tests do
 * that), nor anything about test fixtures without a .sh extension.
 */
import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { run } from "../harness/zfs";

const ROOT = path.resolve(__dirname, "..", "..");
const SKIP_DIRS = new Set(["node_modules", ".git", "bin"]);

function shellFiles(dir: string, rel = ""): string[] {
    const out: string[] = [];
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const relPath = rel ? `${rel}/${e.name}` : e.name;
        const abs = path.join(dir, e.name);
        if (e.isDirectory()) {
            if (SKIP_DIRS.has(e.name) || relPath === ".ci/.node") continue;
            out.push(...shellFiles(abs, relPath));
        } else if (e.isFile()) {
            if (e.name.endsWith(".sh")) out.push(relPath);
            else if (!e.name.includes(".") && !relPath.startsWith("test/")) {
                const head = fs.readFileSync(abs, "utf8").slice(0, 64);
                if (/^#!\s*(\/usr\/bin\/env\s+)?(\/bin\/|\/usr\/bin\/)?(ba)?sh\b/.test(head)) out.push(relPath);
            }
        }
    }
    return out.sort();
}

const files = shellFiles(ROOT);

test("the scan finds the host bootstrap scripts", () => {
    for (const s of ["ssh-ready", "packages", "zpool", "watchdog"]) assert.ok(files.includes(`scripts/${s}.sh`), `scripts/${s}.sh`);
});

test("shellcheck is installed", () => {
    const r = run("shellcheck", ["--version"]);
    assert.equal(r.code, 0, "install shellcheck (apt-get install shellcheck; .ci/run does)");
});

for (const file of files) {
    test(`shellcheck: ${file}`, () => {
        const r = run("shellcheck", ["--format=gcc", "--external-sources", file], { cwd: ROOT });
        assert.equal(r.stdout + r.stderr, "", `findings in ${file}`);
        assert.equal(r.code, 0);
    });
}

for (const file of files.filter((f) => /^scripts\/[^/]+\.sh$/.test(f))) {
    test(`script contract header: ${file}`, () => {
        const lines = fs.readFileSync(path.join(ROOT, file), "utf8").split("\n");
        assert.equal(lines[0], "#!/usr/bin/env bash");
        const firstCode = lines.slice(1).find((l) => l.trim() !== "" && !l.startsWith("#"));
        assert.equal(firstCode, "set -euo pipefail", "set -euo pipefail before any other code");
    });
}
