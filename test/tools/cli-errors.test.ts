/**
 * Proves (issue #13): the CLIs answer bad input with exit 2 and one exact
 * message: a stack file that is not YAML names file, line and column; an
 * unquoted calendar event that starts with * gets the alias hint; an unknown stack lists the stacks that
 * exist; `plan --file` labels the plan with that file's stack; warnings are
 * printed once; `runbook --out` into a path that cannot be created fails at
 * once; plan, runbook and health answer --help with options and exit codes.
 * Does not prove: how the Pulumi CLI itself reports a broken stack file
 * (`pulumi up` parses it before our program runs).
 */
import { describe, it, before, after } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { cli as planCli, PLAN_HELP } from "../../tools/plan";
import { main as runbookMain, RUNBOOK_HELP } from "../../tools/runbook/cli";
import { main as healthMain, HEALTH_HELP } from "../../tools/health/cli";
import { readStack, ROOT, StackFileError } from "../../tools/lib/stack";

let dir: string;
before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), `proxmox-ha-cli-${process.pid}-`));
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A copy of a committed stack with one line replaced, written as Pulumi.<name>.yaml. */
function variant(name: string, from: string, replace: [RegExp, string]): string {
    const text = fs.readFileSync(path.join(ROOT, `Pulumi.${from}.yaml`), "utf8");
    const changed = text.replace(replace[0], replace[1]);
    assert.notEqual(changed, text, "the replacement applies");
    const file = path.join(dir, `Pulumi.${name}.yaml`);
    fs.writeFileSync(file, changed);
    return file;
}

function lineOf(file: string, re: RegExp): number {
    return (
        fs
            .readFileSync(file, "utf8")
            .split("\n")
            .findIndex((l) => re.test(l)) + 1
    );
}

describe("a stack file that is not YAML", () => {
    it("exits 2 naming file, line and column", async () => {
        const file = variant("badyaml", "prod", [/^( +)name: prod$/m, "$1name: [prod"]);
        const r = await planCli(["--file", file]);
        assert.equal(r.code, 2);
        const line = lineOf(file, /name: \[prod/);
        assert.match(r.stderr, new RegExp(`^plan: ${file.replace(/[.]/g, "\\.")}:${line + 1}:\\d+: not valid YAML: .+\\n$`));
    });
    it("an unquoted */5 gets the alias hint", async () => {
        const file = variant("alias", "prod", [/schedule: "\*\/5"/, "schedule: */5"]);
        const line = lineOf(file, /schedule: \*\/5/);
        const col = fs.readFileSync(file, "utf8").split("\n")[line - 1]!.indexOf("*") + 1;
        const expected = `${file}:${line}:${col}: */5 is read as a YAML alias (an unquoted value that starts with * refers to an anchor); quote it: schedule: "*/5"`;
        const r = await planCli(["--file", file]);
        assert.deepEqual([r.code, r.stderr], [2, `plan: ${expected}\n`]);
        const rb = runbookMain(["--file", file]);
        assert.deepEqual([rb.code, rb.stderr], [2, `runbook: ${expected}\n`]);
        assert.throws(() => readStack("alias", file), StackFileError);
    });
});

describe("an unknown stack name", () => {
    const expected =
        'there is no stack "prdo": Pulumi.prdo.yaml does not exist (stacks here: dc2, lab, prod); pass --stack with one of them, or --file PATH';
    it("plan exits 2 listing the stacks", async () => {
        const cwd = process.cwd();
        process.chdir(ROOT);
        try {
            const r = await planCli(["--stack", "prdo"]);
            assert.deepEqual([r.code, r.stderr], [2, `plan: ${expected}\n`]);
        } finally {
            process.chdir(cwd);
        }
    });
    it("health exits 2 listing the stacks", async () => {
        const cwd = process.cwd();
        process.chdir(ROOT);
        try {
            const r = await healthMain(["--stack", "prdo"], {});
            assert.deepEqual([r.code, r.stderr], [2, `health: ${expected}\n`]);
        } finally {
            process.chdir(cwd);
        }
    });
});

describe("plan --file", () => {
    it("labels the plan with the stack of the file, not prod", async () => {
        const file = variant("site9", "lab", [/^config:$/m, "# a copy of the lab site\nconfig:"]);
        const r = await planCli(["--file", file]);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /^Plan for stack site9: /);
        const broken = await planCli(["--file", path.join(ROOT, "test", "fixtures", "Pulumi.broken.yaml")]);
        assert.match(broken.stderr, /^Stack broken: 4 problem\(s\)/);
    });
});

describe("warnings", () => {
    it("are printed once, in the plan's Warnings section", async () => {
        const file = variant("warn", "prod", [/- \/dev\/disk\/by-id\/ata-SAMSUNG_MZ7LH960HAJR-00005_S45NNA0R100002/, "- /dev/sdb"]);
        const warned: string[] = [];
        const original = console.warn;
        console.warn = (...a: unknown[]) => void warned.push(a.join(" "));
        let r;
        try {
            r = await planCli(["--file", file]);
        } finally {
            console.warn = original;
        }
        assert.equal(r.code, 0, r.stderr);
        assert.deepEqual(warned, []);
        const lines = r.stdout.split("\n").filter((l) => l.includes("/dev/sdb is a kernel name"));
        assert.equal(lines.length, 1, r.stdout);
    });
});

describe("runbook --out", () => {
    it("fails at once (exit 2) when the directory cannot be created", () => {
        const r = runbookMain(["--stack", "prod", "--out", "/proc/proxmox-ha-no-such-dir/runbook.md"]);
        assert.deepEqual(
            [r.code, r.stderr],
            [
                2,
                "runbook: cannot write /proc/proxmox-ha-no-such-dir/runbook.md: ENOENT: no such file or directory, mkdir '/proc/proxmox-ha-no-such-dir'\n",
            ],
        );
    });
});

describe("--help", () => {
    it("plan lists its options and exit codes", async () => {
        const r = await planCli(["--help"]);
        assert.deepEqual([r.code, r.stdout], [0, PLAN_HELP]);
        for (const s of ["--stack NAME", "--file PATH", "--details", "--json", "Exit codes: 0"]) assert.ok(PLAN_HELP.includes(s), s);
    });
    it("runbook lists its options and exit codes", () => {
        const r = runbookMain(["--help"]);
        assert.deepEqual([r.code, r.stdout], [0, RUNBOOK_HELP]);
        for (const s of ["--stack NAME", "--file PATH", "--out FILE", "Exit codes: 0"]) assert.ok(RUNBOOK_HELP.includes(s), s);
    });
    it("health lists its options, exit codes and the ways to supply the key", async () => {
        const r = await healthMain(["--help"], {});
        assert.deepEqual([r.code, r.stdout], [0, HEALTH_HELP]);
        for (const s of ["--identity KEYFILE", "PROXMOX_HA_SSH_KEY", "ssh-add", "passphrase", "Exit codes: 0 healthy; 1 degraded"])
            assert.ok(HEALTH_HELP.includes(s), s);
    });
});
