/**
 * Which credentials each workflow job holds (issue #14), and the deploy
 * workflow's refusal of a missing or unprotected environment.
 *
 * Proves: the preview job runs in its own environment `<stack>-preview` and
 * its steps receive no SSH key and no root password, only the Pulumi token and
 * the read-only Proxmox token (as PROXMOX_HA_PREVIEW_API_TOKEN, which the
 * program honours only in a preview); `up` runs only in the environment named
 * like the stack, after the protection job; the SSH key reaches only the
 * ssh-agent step (never a Pulumi step, so never Pulumi config or state), the
 * root password only the Pulumi steps; the protection job names no
 * environment (naming one would create it) and runs the check script, which,
 * executed here for real against a local HTTP server answering as the GitHub
 * REST API does, passes an environment with a required reviewer and refuses
 * (exit 1, one line naming the fix) a missing environment (404), one without
 * protection rules, one whose reviewers rule lists nobody, and an API error,
 * sending the token only in a header read from stdin (not in its argv).
 * Does not prove: GitHub's real answers (the response shape follows the REST
 * API documentation of "Get an environment"), nor that the secrets exist.
 */
import { describe, it, before, after } from "node:test";
import * as assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as path from "node:path";
import type { AddressInfo } from "node:net";
import { parse } from "yaml";
import { ROOT } from "../../tools/lib/stack";
import { PREVIEW_API_TOKEN_ENV, ROOT_PASSWORD_ENV } from "../../components/config";

type Dict = Record<string, unknown>;
interface Step extends Dict {
    uses?: string;
    run?: string;
    with?: Dict;
    env?: Dict;
}
interface Job extends Dict {
    needs?: string | string[];
    environment?: string;
    steps?: Step[];
    permissions?: Dict;
}
const wf = (f: string) => parse(fs.readFileSync(path.join(ROOT, ".github", "workflows", f), "utf8")) as { jobs: Record<string, Job> };
const secretsOf = (step: Step) =>
    [...JSON.stringify({ with: step.with ?? {}, env: step.env ?? {} }).matchAll(/secrets\.([A-Z_]+)/g)].map((m) => m[1]!).sort();
const action = (step: Step) => step.uses?.split("@")[0];

describe("credentials per job", () => {
    it("the preview job holds the Pulumi token and a read-only Proxmox token, nothing that can log in to a node", () => {
        const preview = wf("pull-request.yml").jobs.preview!;
        assert.equal(preview.environment, "${{ format('{0}-preview', matrix.stack) }}");
        const held = new Set(preview.steps!.flatMap(secretsOf));
        assert.deepEqual([...held].sort(), [
            "GITHUB_TOKEN",
            "PROXMOX_PREVIEW_API_TOKEN",
            "PULUMI_ACCESS_TOKEN",
            "PULUMI_CONFIG_PASSPHRASE",
            "TS_OAUTH_CLIENT_ID",
            "TS_OAUTH_SECRET",
        ]);
        const pulumi = preview.steps!.find((s) => action(s) === "pulumi/actions")!;
        assert.equal(pulumi.env?.[PREVIEW_API_TOKEN_ENV], "${{ secrets.PROXMOX_PREVIEW_API_TOKEN }}");
        assert.equal(pulumi.env?.[ROOT_PASSWORD_ENV], undefined);
        assert.ok(!preview.steps!.some((s) => action(s) === "webfactory/ssh-agent"), "no SSH agent in a preview");
    });

    it("up runs in the stack's environment after the protection job; the key reaches only the agent, the password only pulumi", () => {
        const jobs = wf("deploy.yml").jobs;
        const up = jobs.up!;
        assert.equal(up.environment, "${{ matrix.stack }}");
        assert.deepEqual(up.needs, ["checks", "protection"]);
        const steps = up.steps!;
        const agent = steps.filter((s) => action(s) === "webfactory/ssh-agent");
        assert.equal(agent.length, 1);
        assert.deepEqual(secretsOf(agent[0]!), ["PROXMOX_SSH_PRIVATE_KEY"]);
        assert.equal(agent[0]!.with?.["log-public-key"], false);
        const pulumiSteps = steps.filter((s) => action(s) === "pulumi/actions");
        assert.equal(pulumiSteps.length, 2);
        assert.ok(steps.indexOf(agent[0]!) < steps.indexOf(pulumiSteps[0]!), "the agent holds the key before pulumi runs");
        for (const s of pulumiSteps) {
            assert.deepEqual(secretsOf(s), ["PROXMOX_ROOT_PASSWORD", "PULUMI_ACCESS_TOKEN", "PULUMI_CONFIG_PASSPHRASE"]);
            assert.equal(s.env?.[ROOT_PASSWORD_ENV], "${{ secrets.PROXMOX_ROOT_PASSWORD }}");
            assert.equal(s.env?.[PREVIEW_API_TOKEN_ENV], undefined, "the deploy never uses the read-only token");
        }
        for (const s of steps.filter((s) => action(s) !== "webfactory/ssh-agent"))
            assert.ok(!secretsOf(s).includes("PROXMOX_SSH_PRIVATE_KEY"), `${s.name ?? s.uses}: no SSH key`);
    });

    it("the protection job names no environment (that would create it) and runs the check for its stack", () => {
        const job = wf("deploy.yml").jobs.protection!;
        assert.equal(job.environment, undefined);
        assert.deepEqual(job.permissions, { contents: "read", actions: "read" });
        const check = job.steps!.find((s) => s.run !== undefined)!;
        assert.equal(check.run!.trim(), "bash .github/scripts/environment-protected.sh");
        assert.deepEqual(check.env, {
            GH_TOKEN: "${{ github.token }}",
            REPOSITORY: "${{ github.repository }}",
            ENVIRONMENT: "${{ matrix.stack }}",
        });
    });
});

describe("environment-protected.sh against a local stand-in of the GitHub API", () => {
    const TOKEN = "ghs_TESTTOKEN_0b7c2d9e";
    let server: http.Server;
    let api = "";
    const seen: { url: string; auth?: string }[] = [];
    const answers: Record<string, [number, unknown]> = {
        "/repos/acme/site/environments/prod": [
            200,
            {
                name: "prod",
                protection_rules: [
                    { id: 1, type: "wait_timer", wait_timer: 0 },
                    {
                        id: 2,
                        type: "required_reviewers",
                        prevent_self_review: true,
                        reviewers: [{ type: "User", reviewer: { login: "ops" } }],
                    },
                    { id: 3, type: "branch_policy" },
                ],
                deployment_branch_policy: { protected_branches: true, custom_branch_policies: false },
            },
        ],
        "/repos/acme/site/environments/lab": [200, { name: "lab", protection_rules: [], deployment_branch_policy: null }],
        "/repos/acme/site/environments/dc2": [
            200,
            { name: "dc2", protection_rules: [{ id: 4, type: "required_reviewers", reviewers: [] }] },
        ],
        "/repos/acme/site/environments/broken": [500, { message: "Server Error" }],
    };

    before(async () => {
        server = http.createServer((req, res) => {
            seen.push({ url: req.url ?? "", ...(req.headers.authorization ? { auth: req.headers.authorization } : {}) });
            const [status, body] = answers[req.url ?? ""] ?? [404, { message: "Not Found" }];
            res.writeHead(status, { "content-type": "application/json" });
            res.end(JSON.stringify(body));
        });
        await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
        api = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    after(() => new Promise<void>((r) => server.close(() => r())));

    const check = (environment: string) =>
        new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
            const p = spawn("bash", [path.join(ROOT, ".github", "scripts", "environment-protected.sh")], {
                env: { PATH: process.env.PATH, GH_TOKEN: TOKEN, REPOSITORY: "acme/site", ENVIRONMENT: environment, GITHUB_API_URL: api },
            });
            let stdout = "";
            let stderr = "";
            p.stdout.on("data", (d) => (stdout += d));
            p.stderr.on("data", (d) => (stderr += d));
            p.on("close", (code) => resolve({ code, stdout, stderr }));
        });

    it("passes an environment with a required reviewer, sending the token as a bearer header", async () => {
        const r = await check("prod");
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout, "environment prod: 1 required reviewer(s)\n");
        assert.deepEqual(seen.at(-1), { url: "/repos/acme/site/environments/prod", auth: `Bearer ${TOKEN}` });
    });

    for (const [env, reason] of [
        [
            "missing",
            /^environment-protected\.sh: environment 'missing' does not exist: create it .* refusing to let this deploy create it unprotected$/,
        ],
        ["lab", /^environment-protected\.sh: environment 'lab' has no required reviewers: add at least one/],
        ["dc2", /^environment-protected\.sh: environment 'dc2' has no required reviewers/],
        ["broken", /^environment-protected\.sh: GitHub API answered HTTP 500 for environment 'broken'/],
        ["a/b", /^environment-protected\.sh: unexpected environment name 'a\/b'$/],
    ] as const) {
        it(`refuses ${env} with one line naming the fix`, async () => {
            const r = await check(env);
            assert.equal(r.code, 1);
            assert.equal(r.stdout, "");
            const lines = r.stderr.split("\n").filter(Boolean);
            assert.equal(lines.length, 1, r.stderr);
            assert.match(lines[0]!, reason);
        });
    }
});
