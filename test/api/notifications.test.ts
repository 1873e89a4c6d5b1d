/**
 * Proves: the exact command text the API layer records for the alert step
 * (prod stack, under mocks) runs for real in bash and, against a stateful fake
 * `pvesh`, creates one sendmail endpoint (mailto ops@example.com) and one
 * matcher routing `fencing` and `replication` events to it; a second run of
 * the same text updates instead of creating (idempotent, same end state); an
 * edited address converges; an entry whose name merely starts with ours, and
 * the operator's own entries, are left alone; a failing `pvesh get` stops the
 * script with a one-line reason before any change; a wrong argument count and
 * an invalid entry name are refused; entries are found whether or not the
 * JSON has spaces around its colons.
 * The fake follows only what pve-docs documents: the endpoint paths and
 * parameter names/types of /cluster/notifications/endpoints/sendmail and
 * /cluster/notifications/matchers (api-viewer/apidata.js; array parameters
 * repeat their option), the list result (objects with `name`), `pvesh get
 * --output-format json`. It rejects any parameter the schema does not list.
 * It does not imitate PVE's error texts, duplicate checks or mail delivery.
 * Does not prove: that a real pvesh/PVE accepts the calls, or that mail is
 * delivered (no PVE here).
 */
import { describe, it, before, beforeEach, afterEach } from "node:test";
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { scriptInvocation } from "../../components/remote";
import { runStack } from "./harness";

const ENDPOINTS = "/cluster/notifications/endpoints/sendmail";
const MATCHERS = "/cluster/notifications/matchers";

/** Parameters of POST/PUT per pve-docs api-viewer (name → array-typed?). */
const FAKE_PVESH = `#!${process.execPath}
const fs = require("fs");
const SCHEMA = {
    "${ENDPOINTS}": { author: false, comment: false, disable: false, "from-address": false, mailto: true, "mailto-user": true },
    "${MATCHERS}": { comment: false, disable: false, "invert-match": false, "match-calendar": true, "match-field": true, "match-severity": true, mode: false, target: true },
};
const statePath = process.env.FAKE_PVESH_STATE;
const state = JSON.parse(fs.readFileSync(statePath, "utf8"));
const argv = process.argv.slice(2);
fs.appendFileSync(process.env.FAKE_PVESH_LOG, JSON.stringify(argv) + "\\n");
const die = (code, msg) => { process.stderr.write(msg + "\\n"); process.exit(code); };
const [verb, target, ...rest] = argv;
function params(base, allowName) {
    const out = {};
    for (let i = 0; i < rest.length; i += 2) {
        const k = rest[i], v = rest[i + 1];
        if (!k.startsWith("--") || v === undefined) die(2, "fake pvesh: malformed arguments " + JSON.stringify(rest));
        const key = k.slice(2);
        if (key === "name" && allowName) { out.name = v; continue; }
        if (!(key in SCHEMA[base])) die(2, "fake pvesh: parameter '" + key + "' is not in the API schema of " + base);
        if (SCHEMA[base][key]) (out[key] = out[key] || []).push(v); else out[key] = v;
    }
    return out;
}
if (verb === "get" && target in SCHEMA && rest.join(" ") === "--output-format json") {
    if (process.env.FAKE_PVESH_FAIL_GET) die(1, "fake pvesh: simulated API failure");
    process.stdout.write(JSON.stringify(state[target] || [], null, process.env.FAKE_PVESH_SPACED ? 4 : undefined) + "\\n");
} else if (verb === "create" && target in SCHEMA) {
    const p = params(target, true);
    if (!p.name) die(2, "fake pvesh: create without --name");
    (state[target] = state[target] || []).push(p);
} else if (verb === "set") {
    const base = target.slice(0, target.lastIndexOf("/"));
    const name = target.slice(base.length + 1);
    if (!(base in SCHEMA)) die(2, "fake pvesh: unsupported path " + target);
    const entry = (state[base] || []).find((e) => e.name === name);
    if (!entry) die(2, "fake pvesh: set on missing entry " + target + " (the test never expects this)");
    Object.assign(entry, params(base, false));
} else {
    die(2, "fake pvesh: unsupported invocation " + JSON.stringify(argv));
}
fs.writeFileSync(statePath, JSON.stringify(state));
`;

interface Result {
    code: number | null;
    stdout: string;
    stderr: string;
}

let dir: string;
let recorded: string;

function run(text: string, env: Record<string, string> = {}): Result {
    const r = spawnSync("bash", ["-c", text], {
        encoding: "utf8",
        env: {
            ...process.env,
            PATH: `${path.join(dir, "bin")}:${process.env.PATH ?? "/usr/bin:/bin"}`,
            FAKE_PVESH_STATE: path.join(dir, "state.json"),
            FAKE_PVESH_LOG: path.join(dir, "log"),
            ...env,
        },
    });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function setState(s: Record<string, unknown>): void {
    fs.writeFileSync(path.join(dir, "state.json"), JSON.stringify(s));
}
function state(): Record<string, Record<string, unknown>[]> {
    return JSON.parse(fs.readFileSync(path.join(dir, "state.json"), "utf8"));
}
function calls(): string[] {
    const text = fs.existsSync(path.join(dir, "log")) ? fs.readFileSync(path.join(dir, "log"), "utf8") : "";
    return text
        .split("\n")
        .filter(Boolean)
        .map((l) => (JSON.parse(l) as string[]).slice(0, 2).join(" "));
}

const COMMENT = "managed by proxmox-ha (Pulumi)";
const OPERATOR = {
    [ENDPOINTS]: [{ name: "ops-pager", mailto: ["pager@example.com"], origin: "user-created" }],
    [MATCHERS]: [{ name: "ops-pager-all", target: ["ops-pager"], origin: "user-created" }],
};
const OURS_ENDPOINT = { name: "proxmox-ha-mail", mailto: ["ops@example.com"], comment: COMMENT };
const OURS_MATCHER = {
    name: "proxmox-ha-alerts",
    target: ["proxmox-ha-mail"],
    "match-field": ["exact:type=fencing,replication"],
    mode: "all",
    comment: COMMENT,
};

describe("scripts/notifications.sh, run from the recorded command text", () => {
    before(async () => {
        const prod = await runStack("prod");
        const cmd = prod.api.find((r) => r.name === "prod-api-notifications");
        assert.ok(cmd, "prod records the alert command");
        recorded = cmd.inputs.create as string;
        assert.equal(recorded, scriptInvocation("notifications", ["proxmox-ha-mail", "proxmox-ha-alerts", "ops@example.com"]));
    });
    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "api-notify-"));
        fs.mkdirSync(path.join(dir, "bin"));
        fs.writeFileSync(path.join(dir, "bin", "pvesh"), FAKE_PVESH, { mode: 0o755 });
        setState(structuredClone(OPERATOR));
    });
    afterEach(() => {
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("creates the endpoint and the matcher, leaving the operator's entries alone", () => {
        const r = run(recorded);
        assert.deepEqual(r, {
            code: 0,
            stdout: "endpoint=proxmox-ha-mail action=created\nmatcher=proxmox-ha-alerts action=created\n",
            stderr: "",
        });
        assert.deepEqual(state(), {
            [ENDPOINTS]: [...OPERATOR[ENDPOINTS], OURS_ENDPOINT],
            [MATCHERS]: [...OPERATOR[MATCHERS], OURS_MATCHER],
        });
        assert.deepEqual(calls(), [`get ${ENDPOINTS}`, `create ${ENDPOINTS}`, `get ${MATCHERS}`, `create ${MATCHERS}`]);
    });

    it("is idempotent: a second run updates in place and ends in the same state", () => {
        assert.equal(run(recorded).code, 0);
        const after1 = state();
        fs.rmSync(path.join(dir, "log"));
        const r = run(recorded);
        assert.deepEqual(r, {
            code: 0,
            stdout: "endpoint=proxmox-ha-mail action=updated\nmatcher=proxmox-ha-alerts action=updated\n",
            stderr: "",
        });
        assert.deepEqual(state(), after1);
        assert.deepEqual(calls(), [
            `get ${ENDPOINTS}`,
            `set ${ENDPOINTS}/proxmox-ha-mail`,
            `get ${MATCHERS}`,
            `set ${MATCHERS}/proxmox-ha-alerts`,
        ]);
    });

    it("converges an edited address", () => {
        assert.equal(run(recorded).code, 0);
        const r = run(scriptInvocation("notifications", ["proxmox-ha-mail", "proxmox-ha-alerts", "noc@example.net"]));
        assert.equal(r.code, 0, r.stderr);
        assert.deepEqual(state()[ENDPOINTS], [...OPERATOR[ENDPOINTS], { ...OURS_ENDPOINT, mailto: ["noc@example.net"] }]);
        assert.deepEqual(state()[MATCHERS], [...OPERATOR[MATCHERS], OURS_MATCHER]);
    });

    it("does not mistake an entry whose name starts with ours for ours", () => {
        const lookalike = { name: "proxmox-ha-mail-old", mailto: ["old@example.com"] };
        setState({ [ENDPOINTS]: [lookalike], [MATCHERS]: [] });
        const r = run(recorded);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /^endpoint=proxmox-ha-mail action=created$/m);
        assert.deepEqual(state()[ENDPOINTS], [lookalike, OURS_ENDPOINT]);
    });

    it("finds its entries whatever the JSON layout (spaces around the colon)", () => {
        assert.equal(run(recorded).code, 0);
        const r = run(recorded, { FAKE_PVESH_SPACED: "1" });
        assert.equal(r.stdout, "endpoint=proxmox-ha-mail action=updated\nmatcher=proxmox-ha-alerts action=updated\n");
        assert.deepEqual(state()[ENDPOINTS], [...OPERATOR[ENDPOINTS], OURS_ENDPOINT]);
    });

    it("refuses an entry name that is not a pve-configid", () => {
        const r = run(scriptInvocation("notifications", ["Proxmox.mail", "proxmox-ha-alerts", "ops@example.com"]));
        assert.deepEqual(r, {
            code: 2,
            stdout: "",
            stderr: "notifications.sh: 'Proxmox.mail' is not a valid notification entry name ([a-z][a-z0-9_-]+)\n",
        });
        assert.deepEqual(calls(), []);
    });

    it("stops with a one-line reason, changing nothing, when pvesh cannot list", () => {
        const r = run(recorded, { FAKE_PVESH_FAIL_GET: "1" });
        assert.equal(r.code, 1);
        assert.equal(r.stdout, "");
        assert.equal(r.stderr.trim().split("\n").pop(), `notifications.sh: cannot list ${ENDPOINTS}`);
        assert.deepEqual(state(), OPERATOR);
        assert.deepEqual(calls(), [`get ${ENDPOINTS}`]);
    });

    it("refuses a wrong argument count", () => {
        const r = run(scriptInvocation("notifications", ["proxmox-ha-mail", "proxmox-ha-alerts"]));
        assert.deepEqual(r, { code: 2, stdout: "", stderr: "notifications.sh: usage: notifications.sh <endpoint> <matcher> <mailto>\n" });
        assert.deepEqual(calls(), []);
    });
});
