/**
 * Proves: the GitHub Actions workflows have the jobs, triggers and order the
 * project promises (checks → preview per stack with the policy pack and one PR
 * comment per stack; checks → up per stack behind its environment, one at a
 * time per stack); `pull-requests: write` is granted only to the job that
 * comments; secrets reach only the action steps that need them and never a
 * shell (`run:`) step, and no `run:` text interpolates an expression; every
 * external action is pinned to a commit; the Pulumi CLI and Node versions come
 * from the version files; every `run:` script is shellcheck-clean; and the
 * stack-discovery step, executed here for real, yields exactly the
 * Pulumi.<stack>.yaml stacks of the repository, and that list is the matrix of
 * both the preview and the up job.
 * Does not prove: that the runner reaches a site, nor that the secrets exist
 * (test/workflows/parser.test.ts checks the files against GitHub's own
 * workflow parser; credentials.test.ts which credentials each job holds).
 */
import { describe, it } from "node:test";
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse } from "yaml";
import { listStacks, readStack, ROOT } from "../../tools/lib/stack";

// ---------- reading the workflows ---------------------------------------------------

type Dict = Record<string, unknown>;

interface Step extends Dict {
    id?: string;
    name?: string;
    uses?: string;
    run?: string;
    if?: string;
    with?: Dict;
    env?: Dict;
}

interface Job extends Dict {
    uses?: string;
    needs?: string | string[];
    if?: string;
    permissions?: Dict;
    steps?: Step[];
    strategy?: { matrix?: Dict; "fail-fast"?: boolean };
    environment?: string;
    concurrency?: { group?: string; "cancel-in-progress"?: boolean };
    outputs?: Dict;
    "runs-on"?: string;
}

interface Workflow {
    name: string;
    on: Dict;
    permissions?: Dict;
    env?: Dict;
    concurrency?: Dict;
    jobs: Record<string, Job>;
}

const DIR = path.join(ROOT, ".github", "workflows");
const files = fs
    .readdirSync(DIR)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort();
const text = (f: string) => fs.readFileSync(path.join(DIR, f), "utf8");
const workflows = new Map<string, Workflow>(files.map((f) => [f, parse(text(f)) as Workflow]));
const wf = (f: string) => {
    const w = workflows.get(f);
    assert.ok(w, `${f} exists`);
    return w;
};
const allJobs = () => [...workflows].flatMap(([f, w]) => Object.entries(w.jobs).map(([id, job]) => ({ file: f, id, job })));
const allSteps = () => allJobs().flatMap(({ file, id, job }) => (job.steps ?? []).map((step, i) => ({ file, job: id, i, step })));
const stepsUsing = (job: Job, action: string) => (job.steps ?? []).filter((s) => s.uses?.split("@")[0] === action);

const SAME_REPO = "github.event.pull_request.head.repo.full_name == github.repository";
const MATRIX = "${{ fromJSON(needs.checks.outputs.stacks) }}";
const PULUMI = "pulumi/actions";

/** Every string in a YAML value, with its path. */
function strings(value: unknown, at: string, out: { at: string; value: string }[] = []): { at: string; value: string }[] {
    if (typeof value === "string") out.push({ at, value });
    else if (Array.isArray(value)) value.forEach((v, i) => strings(v, `${at}[${i}]`, out));
    else if (value !== null && typeof value === "object") for (const [k, v] of Object.entries(value)) strings(v, `${at}.${k}`, out);
    return out;
}

// ---------- tests -----------------------------------------------------------------

describe("workflow files", () => {
    it("are the checks, the pull-request and the deploy workflows", () => {
        assert.deepEqual(files, ["checks.yml", "deploy.yml", "pull-request.yml"]);
    });

    it("have the triggers the project promises, and never pull_request_target", () => {
        assert.deepEqual(wf("pull-request.yml").on, { pull_request: { branches: ["main"] } });
        assert.deepEqual(wf("deploy.yml").on, { push: { branches: ["main"] } });
        assert.deepEqual(Object.keys(wf("checks.yml").on), ["workflow_call"]);
        for (const f of files) assert.doesNotMatch(text(f), /pull_request_target|workflow_run/, f);
    });
});

describe("checks (reusable, no secrets)", () => {
    const job = () => wf("checks.yml").jobs.checks!;
    const runs = () => (job().steps ?? []).map((s) => s.run ?? "").join("\n");

    it("type checks, lints and runs the suite, in that order", () => {
        const r = runs();
        const order = ["npm ci", "npm run typecheck", "npm run lint", "npm run --silent plan", "bash .ci/run"].map((c) => r.indexOf(c));
        assert.ok(
            order.every((i) => i >= 0),
            `every check is there: ${order}`,
        );
        assert.deepEqual(
            [...order].sort((a, b) => a - b),
            order,
            "in order",
        );
    });
    it("installs shellcheck before `npm run lint` calls it", () => {
        assert.ok(runs().indexOf("shellcheck") < runs().indexOf("npm run lint"));
    });
    it("uses no secrets at all", () => {
        assert.doesNotMatch(text("checks.yml"), /secrets\./);
    });
});

describe("pull-request workflow", () => {
    const w = () => wf("pull-request.yml");
    const preview = () => w().jobs.preview!;

    it("runs the checks first, then one preview per stack for this repository's pull requests only", () => {
        assert.deepEqual(Object.keys(w().jobs), ["checks", "preview"]);
        assert.equal(w().jobs.checks!.uses, "./.github/workflows/checks.yml");
        assert.equal(preview().needs, "checks");
        assert.equal(preview().if, `${SAME_REPO} && needs.checks.outputs.stacks != '[]'`);
        assert.equal(preview().strategy?.matrix?.stack, MATRIX);
        assert.equal(preview().strategy?.["fail-fast"], false, "one site's failure does not hide the others' previews");
    });
    it("previews with the policy pack, refreshes only for this repository, and comments once per stack, edited in place", () => {
        const steps = stepsUsing(preview(), PULUMI);
        assert.equal(steps.length, 1);
        const p = steps[0]!.with!;
        assert.equal(p.command, "preview");
        assert.equal(p.policyPacks, "policy");
        assert.equal(p.refresh, `\${{ ${SAME_REPO} }}`);
        assert.equal(p["comment-on-pr"], true);
        assert.equal(p["edit-pr-comment"], true);
        assert.match(String(p["stack-name"]), /matrix\.stack/, "one stack per matrix job (the comment heading names it)");
    });
    it("a new push cancels the previous run of the same pull request", () => {
        assert.deepEqual(w().concurrency, { group: "pull-request-${{ github.event.pull_request.number }}", "cancel-in-progress": true });
    });
});

describe("deploy workflow", () => {
    const w = () => wf("deploy.yml");
    const up = () => w().jobs.up!;

    it("runs the checks first, then `pulumi up` per stack behind the stack's environment, one update per stack at a time", () => {
        assert.deepEqual(Object.keys(w().jobs), ["checks", "protection", "up"]);
        assert.equal(w().jobs.checks!.uses, "./.github/workflows/checks.yml");
        assert.deepEqual(up().needs, ["checks", "protection"], "no up before every stack's environment was found protected");
        assert.equal(up().strategy?.matrix?.stack, MATRIX);
        assert.equal(up().environment, "${{ matrix.stack }}");
        assert.deepEqual(up().concurrency, { group: "pulumi-up-${{ matrix.stack }}", "cancel-in-progress": false });
    });
    it("applies with the policy pack, then proves convergence with a refreshed preview that expects no changes", () => {
        const steps = stepsUsing(up(), PULUMI).map((s) => s.with!);
        assert.deepEqual(
            steps.map((s) => [s.command, s.policyPacks, s.refresh, s["expect-no-changes"] ?? false]),
            [
                ["up", "policy", true, false],
                ["preview", "policy", true, true],
            ],
        );
    });
});

describe("permissions", () => {
    it("default to read-only contents in every workflow", () => {
        for (const [f, w] of workflows) assert.deepEqual(w.permissions, { contents: "read" }, f);
    });
    it("are declared on every job; `pull-requests: write` only on the job that comments, nothing else writable", () => {
        for (const { file, id, job } of allJobs()) {
            assert.ok(job.permissions, `${file} ${id} declares its permissions`);
            const comments = (job.steps ?? []).some((s) => s.with?.["comment-on-pr"] === true);
            // The protection check reads the environment's settings (GitHub REST: environments need `actions: read`).
            const reads = file === "deploy.yml" && id === "protection";
            const expected = comments
                ? { contents: "read", "pull-requests": "write" }
                : reads
                  ? { contents: "read", actions: "read" }
                  : { contents: "read" };
            assert.deepEqual(job.permissions, expected, `${file} ${id}`);
        }
        const commenting = allJobs().filter(({ job }) => job.permissions?.["pull-requests"] === "write");
        assert.deepEqual(
            commenting.map(({ file, id }) => `${file}:${id}`),
            ["pull-request.yml:preview"],
        );
    });
});

describe("secrets", () => {
    it("are referenced only in the `with`/`env` of action steps, never in a shell step, a job or a workflow env", () => {
        const refs = [...workflows].flatMap(([f, w]) => strings(w, f).filter((s) => /\bsecrets\./.test(s.value)));
        assert.ok(refs.length > 0, "the workflows do use secrets");
        for (const r of refs) {
            const m = /^[^.]+\.ya?ml\.jobs\.([^.]+)\.steps\[(\d+)\]\.(with|env)\.[^.]+$/.exec(r.at);
            assert.ok(m, `${r.at} is a step's with/env`);
            const step = workflows.get(r.at.split(".jobs.")[0]!)!.jobs[m[1]!]!.steps![Number(m[2])]!;
            assert.ok(step.uses && step.run === undefined, `${r.at} belongs to an action step, not a shell step`);
        }
    });
    it("never meet an expression inside a `run:` script (no secret or untrusted input is pasted into a shell)", () => {
        for (const { file, job, i, step } of allSteps()) {
            if (step.run !== undefined) assert.doesNotMatch(step.run, /\$\{\{/, `${file} ${job} step ${i}`);
        }
    });
    it("are never traced: no `set -x`, no step or runner debug", () => {
        for (const f of files)
            assert.doesNotMatch(text(f), /set -[a-z]*x|ACTIONS_STEP_DEBUG|ACTIONS_RUNNER_DEBUG|log-verbosity|debug: true/, f);
    });
    it("stay out of git: every checkout drops its credentials", () => {
        const checkouts = allSteps().filter(({ step }) => step.uses?.startsWith("actions/checkout@"));
        assert.equal(checkouts.length, 4);
        for (const { step } of checkouts) assert.equal(step.with?.["persist-credentials"], false);
    });
});

describe("pinned versions", () => {
    it("every external action is pinned to a full commit, with its version as a comment", () => {
        for (const f of files) {
            for (const line of text(f)
                .split("\n")
                .filter((l) => /^\s*(-\s+)?uses:/.test(l))) {
                if (/uses:\s+\.\//.test(line)) continue;
                assert.match(line, /uses: [\w.-]+\/[\w.-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$/, `${f}: ${line.trim()}`);
            }
        }
    });
    it("the Pulumi CLI comes from .pulumi-version, the same exact version as the @pulumi/pulumi SDK", () => {
        const version = fs.readFileSync(path.join(ROOT, ".pulumi-version"), "utf8").trim();
        assert.match(version, /^\d+\.\d+\.\d+$/);
        const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { dependencies: Record<string, string> };
        assert.equal(version, pkg.dependencies["@pulumi/pulumi"]);
        const steps = allSteps().filter(({ step }) => step.uses?.startsWith(`${PULUMI}@`));
        assert.equal(steps.length, 3);
        for (const { step } of steps) {
            assert.equal(step.with?.["pulumi-version-file"], ".pulumi-version");
            assert.equal(step.with?.["pulumi-version"], undefined);
        }
    });
    it("Node comes from .nvmrc, whose major satisfies package.json engines", () => {
        const nvmrc = fs.readFileSync(path.join(ROOT, ".nvmrc"), "utf8").trim();
        const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { engines: { node: string } };
        const floor = /^>=\s*(\d+)/.exec(pkg.engines.node);
        assert.ok(floor, `engines.node is a floor: ${pkg.engines.node}`);
        assert.ok(Number(nvmrc) >= Number(floor[1]), `.nvmrc ${nvmrc} satisfies ${pkg.engines.node}`);
        const setups = allSteps().filter(({ step }) => step.uses?.startsWith("actions/setup-node@"));
        assert.equal(setups.length, 3);
        for (const { step } of setups) assert.equal(step.with?.["node-version-file"], ".nvmrc");
    });
    it("the policy pack the workflows name is the repository's", () => {
        const pack = parse(fs.readFileSync(path.join(ROOT, "policy", "PulumiPolicy.yaml"), "utf8")) as { runtime: string };
        assert.equal(pack.runtime, "nodejs");
        assert.ok(fs.existsSync(path.join(ROOT, "policy", "index.ts")));
    });
});

describe("reaching the site", () => {
    it("a hosted runner joins the site network over Tailscale; a self-hosted runner in the site skips that", () => {
        for (const { file, id, job } of allJobs().filter(({ job }) => stepsUsing(job, PULUMI).length > 0)) {
            assert.match(
                String(job["runs-on"]),
                /vars\.PROXMOX_RUNNER == 'self-hosted'.*proxmox-\{0\}.*matrix\.stack.*'ubuntu-latest'/,
                `${file} ${id}`,
            );
            const ts = stepsUsing(job, "tailscale/github-action");
            assert.equal(ts.length, 1, `${file} ${id}`);
            assert.equal(ts[0]!.if, "vars.PROXMOX_RUNNER != 'self-hosted'");
            const steps = job.steps!;
            assert.ok(steps.indexOf(ts[0]!) < steps.indexOf(stepsUsing(job, PULUMI)[0]!), "the network is up before pulumi runs");
        }
    });
});

describe("shell steps", () => {
    const hasShellcheck = spawnSync("shellcheck", ["--version"]).status === 0;
    it(
        "are shellcheck-clean (as GitHub runs them: bash)",
        { skip: hasShellcheck ? false : "shellcheck is not installed (.ci/run installs it)" },
        () => {
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), "wf-shellcheck-"));
            try {
                for (const { file, job, i, step } of allSteps()) {
                    if (step.run === undefined) continue;
                    const script = path.join(dir, `${file}-${job}-${i}.sh`);
                    fs.writeFileSync(script, step.run);
                    const r = spawnSync("shellcheck", ["--shell=bash", script], { encoding: "utf8" });
                    assert.equal(
                        r.status,
                        0,
                        `${file} ${job} step ${i} (${step.name ?? step.run.split("\n")[0]}):\n${r.stdout}${r.stderr}`,
                    );
                }
            } finally {
                fs.rmSync(dir, { recursive: true, force: true });
            }
        },
    );
});

describe("the stack matrix", () => {
    const discovery = () => {
        const job = wf("checks.yml").jobs.checks!;
        const step = (job.steps ?? []).find((s) => s.id === "stacks");
        assert.ok(step?.run, "checks.yml has the discovery step `stacks`");
        return step.run;
    };
    /** Runs the discovery step's script as GitHub would (bash -e), in `cwd`. */
    const discover = (cwd: string) => {
        const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "wf-output-")), "output");
        fs.writeFileSync(out, "");
        try {
            const r = spawnSync("bash", ["-e", "-c", discovery()], { cwd, encoding: "utf8", env: { ...process.env, GITHUB_OUTPUT: out } });
            return { status: r.status, stderr: r.stderr, stdout: r.stdout, output: fs.readFileSync(out, "utf8") };
        } finally {
            fs.rmSync(path.dirname(out), { recursive: true, force: true });
        }
    };
    const stacksOf = (output: string) => {
        const m = /^stacks=(.*)$/m.exec(output);
        assert.ok(m, `stacks= line in ${JSON.stringify(output)}`);
        return JSON.parse(m[1]!) as string[];
    };

    it("run here against the repository, is exactly the Pulumi.<stack>.yaml stacks that are not examples", () => {
        const r = discover(ROOT);
        assert.equal(r.status, 0, r.stderr);
        // The program refuses example stacks under pulumi (proxmox-ha:example: true): they are planned only.
        const sites = listStacks().filter((s) => readStack(s).config["proxmox-ha:example"] !== "true");
        assert.deepEqual([...stacksOf(r.output)].sort(), sites);
        for (const s of listStacks().filter((x) => !sites.includes(x)))
            assert.match(r.stdout, new RegExp(`example stack, planned only: ${s}`));
    });
    it("skips example stacks; only examples is an empty matrix, and every job over it is skipped then", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "wf-stacks-"));
        try {
            fs.writeFileSync(path.join(dir, "Pulumi.demo.yaml"), "config:\n  # an example\n  proxmox-ha:example: true\n");
            assert.deepEqual(stacksOf(discover(dir).output), []);
            fs.writeFileSync(path.join(dir, "Pulumi.site.yaml"), "config:\n  proxmox-ha:example: false\n");
            assert.deepEqual(stacksOf(discover(dir).output), ["site"]);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
        for (const [file, jobs] of [
            ["pull-request.yml", ["preview"]],
            ["deploy.yml", ["protection", "up"]],
        ] as const) {
            const w = wf(file);
            for (const j of jobs) assert.match(w.jobs[j]!.if ?? "", /needs\.checks\.outputs\.stacks != '\[\]'/, `${file} ${j}`);
        }
    });
    it("follows the files: a new stack file is a new matrix entry; Pulumi.yaml and other names are not stacks", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "wf-stacks-"));
        try {
            for (const f of ["Pulumi.yaml", "Pulumi.site-a.yaml", "Pulumi.b_2.yaml", "Pulumi.c.yml", "notes.yaml"])
                fs.writeFileSync(path.join(dir, f), "");
            const r = discover(dir);
            assert.equal(r.status, 0, r.stderr);
            assert.deepEqual([...stacksOf(r.output)].sort(), ["b_2", "site-a"]);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
    it("fails, rather than running no preview, when there is no stack file or a name it cannot quote", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "wf-stacks-"));
        try {
            fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "");
            const none = discover(dir);
            assert.notEqual(none.status, 0);
            assert.match(none.stderr, /no Pulumi.<stack>.yaml files/);
            fs.writeFileSync(path.join(dir, 'Pulumi.a"b.yaml'), "");
            const bad = discover(dir);
            assert.notEqual(bad.status, 0);
            assert.match(bad.stderr, /unexpected stack file name: Pulumi.a"b.yaml/);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
    it("is wired from the discovery step through the reusable workflow to both matrices", () => {
        const checks = wf("checks.yml");
        assert.equal(checks.jobs.checks!.outputs?.stacks, "${{ steps.stacks.outputs.stacks }}");
        assert.deepEqual((checks.on.workflow_call as { outputs: Dict }).outputs.stacks, {
            description: "JSON list of the site stacks, one per Pulumi.<stack>.yaml that is not an example",
            value: "${{ jobs.checks.outputs.stacks }}",
        });
        assert.equal(wf("pull-request.yml").jobs.preview!.strategy?.matrix?.stack, MATRIX);
        assert.equal(wf("deploy.yml").jobs.up!.strategy?.matrix?.stack, MATRIX);
    });
});
