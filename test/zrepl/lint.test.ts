/**
 * Static checks of the Python repair tool (the shell scripts are covered by
 * test/scripts/shellcheck.test.ts).
 *
 * Proves: scripts/zrepl-repair.py compiles with this machine's python3
 * (`python3 -m py_compile`, bytecode written to a temp dir, not next to the
 * tool), and pyflakes (Debian's pyflakes3) reports nothing: no undefined
 * names, unused imports or variables.
 * Does NOT prove: that it runs on the Python of every Proxmox release (the
 * node checks that again before installing it, see zrepl-repair-install.sh),
 * nor anything about its behaviour (repair.test.ts does that).
 */
import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { run } from "../harness/zfs";
import { SCRIPTS_DIR } from "../../components/remote";

const TOOL = path.join(SCRIPTS_DIR, "zrepl-repair.py");

test("zrepl-repair.py compiles with python3", () => {
    const cache = fs.mkdtempSync(path.join(os.tmpdir(), "pycache-"));
    try {
        const r = run("python3", ["-m", "py_compile", TOOL], { env: { ...process.env, PYTHONPYCACHEPREFIX: cache } });
        assert.equal(r.code, 0, r.stderr);
        assert.equal(fs.existsSync(path.join(SCRIPTS_DIR, "__pycache__")), false, "no bytecode next to the scripts");
    } finally {
        fs.rmSync(cache, { recursive: true, force: true });
    }
});

const pyflakes = run("bash", ["-c", "command -v pyflakes3"]).stdout.trim();
test(
    "zrepl-repair.py is pyflakes-clean",
    { skip: pyflakes || process.env.CI ? false : "pyflakes3 is not installed (apt-get install pyflakes3); CI installs it and never skips" },
    () => {
        const r = run(pyflakes, [TOOL]);
        assert.equal(r.stdout + r.stderr, "");
        assert.equal(r.code, 0);
    },
);
