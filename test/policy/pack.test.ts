/**
 * Proves: the policy pack loads the way the Pulumi engine starts it — Pulumi's
 * own policy-pack runner (@pulumi/pulumi/cmd/run-policy-pack, ts-node
 * type-checking policy/ with policy/tsconfig.json, version from
 * policy/package.json) — and answers the analyzer gRPC protocol on loopback:
 * it lists its seven policies as mandatory; `Analyze` reports a Zfs resource
 * with cleanupDisks, and a replication schedule beyond the rpoTarget it reads
 * from PULUMI_CONFIG (the stack config the engine passes); `AnalyzeStack`
 * reports a command text containing a decrypted secret from PULUMI_CONFIG, with
 * the command's stdin sent as a wire-format secret.
 * Does not prove: what the Pulumi CLI itself sends or how it shows the result
 * (no CLI here); the engine is played by this test's gRPC client.
 */
import { after, before, describe, it } from "node:test";
import * as assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { guardrails, POLICY, TYPES } from "../../policy/policies";
import { ROOT } from "../../tools/lib/stack";

/* eslint-disable @typescript-eslint/no-require-imports -- the SDK's generated protobuf modules are CommonJS without usable typings */
const grpc = require("@grpc/grpc-js") as typeof import("@grpc/grpc-js");
const analyzerGrpc = require("@pulumi/pulumi/proto/analyzer_grpc_pb");
const analyzerPb = require("@pulumi/pulumi/proto/analyzer_pb");
const { Struct } = require("google-protobuf/google/protobuf/struct_pb");
const { Empty } = require("google-protobuf/google/protobuf/empty_pb");
/* eslint-enable @typescript-eslint/no-require-imports */

const ROOT_PASSWORD = "pack-test-root-password-31ab";
const SECRET = { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270" };

/** The stack config as the engine passes it to a policy pack: full keys, objects as JSON, secrets decrypted. */
const PULUMI_CONFIG = JSON.stringify({
    "proxmox-ha:nodes": JSON.stringify([{ name: "prox1" }, { name: "prox2" }]),
    "proxmox-ha:replication": JSON.stringify({ schedule: "*/15", rpoTarget: "10m" }),
    "proxmox-ha:rootPassword": ROOT_PASSWORD,
});

let child: ChildProcess | undefined;
let stderr = "";
let client: any;

/** Starts the pack as the engine does and waits (bounded) for the port it prints. */
function startPack(): Promise<number> {
    return new Promise((resolve, reject) => {
        const runner = path.join(ROOT, "node_modules", "@pulumi", "pulumi", "cmd", "run-policy-pack");
        const c = spawn(process.execPath, [runner, "127.0.0.1:1", "."], {
            cwd: path.join(ROOT, "policy"),
            env: { ...process.env, PULUMI_CONFIG },
            stdio: ["ignore", "pipe", "pipe"],
        });
        child = c;
        let out = "";
        const bound = setTimeout(() => reject(new Error(`the pack printed no port within 120 s; stderr:\n${stderr}`)), 120_000);
        c.stdout!.on("data", (d: Buffer) => {
            out += d.toString();
            const m = /^(\d+)\s*$/m.exec(out);
            if (m) {
                clearTimeout(bound);
                resolve(Number(m[1]));
            }
        });
        c.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
        c.on("exit", (code) => {
            clearTimeout(bound);
            reject(new Error(`the pack exited (${code}) before printing a port; stderr:\n${stderr}`));
        });
    });
}

function call<T>(method: string, request: unknown): Promise<T> {
    return new Promise((resolve, reject) => client[method](request, (err: Error | null, res: T) => (err ? reject(err) : resolve(res))));
}

function options() {
    return new analyzerPb.AnalyzerResourceOptions();
}

function analyzeRequest(type: string, name: string, props: Record<string, unknown>) {
    const req = new analyzerPb.AnalyzeRequest();
    req.setType(type);
    req.setName(name);
    req.setUrn(`urn:pulumi:test::proxmox-ha::${type}::${name}`);
    req.setProperties(Struct.fromJavaScript(props));
    req.setOptions(options());
    return req;
}

/** The server reports a violation as the policy's description, a newline, then the message. */
const reported = (policy: string, message: string) => {
    const p = guardrails(() => ({ secrets: {} })).find((x) => x.name === policy)!;
    return `${p.description}\n${message}`;
};

interface Diagnostic {
    policy: string;
    message: string;
    mandatory: boolean;
}

function diagnostics(res: { getDiagnosticsList(): unknown[] }): Diagnostic[] {
    return res.getDiagnosticsList().map((d: any) => ({
        policy: d.getPolicyname(),
        message: d.getMessage(),
        mandatory: d.getEnforcementlevel() === analyzerPb.EnforcementLevel.MANDATORY,
    }));
}

describe("the policy pack under Pulumi's policy-pack runner", () => {
    before(async () => {
        const port = await startPack();
        client = new analyzerGrpc.AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    });
    after(() => {
        client?.close();
        if (child && child.exitCode === null) child.kill();
    });

    it("lists its seven policies, all mandatory, under its name and version", async () => {
        const info = await call<{
            getName(): string;
            getVersion(): string;
            getPoliciesList(): { getName(): string; getEnforcementlevel(): number }[];
        }>("getAnalyzerInfo", new Empty());
        assert.equal(info.getName(), "proxmox-ha-guardrails");
        assert.equal(info.getVersion(), "1.0.0");
        assert.deepEqual(
            info.getPoliciesList().map((p) => [p.getName(), p.getEnforcementlevel() === analyzerPb.EnforcementLevel.MANDATORY]),
            Object.values(POLICY).map((n) => [n, true]),
        );
    });

    it("reports a Zfs resource with cleanupDisks", async () => {
        const res = await call<{ getDiagnosticsList(): unknown[] }>(
            "analyze",
            analyzeRequest(TYPES.zfs, "pool", {
                nodeName: "prox1",
                raidlevel: "mirror",
                devices: ["/dev/sdb", "/dev/sdc"],
                cleanupDisks: true,
            }),
        );
        assert.deepEqual(diagnostics(res), [
            {
                policy: POLICY.zfsCleanup,
                message: reported(
                    POLICY.zfsCleanup,
                    "node.disk.Zfs pool sets cleanupDisks: deleting or replacing it (any edit of its devices, raidlevel, ashift or compression " +
                        "replaces it) wipes the pool's disks. Pools are managed by scripts/zpool.sh, which never destroys",
                ),
                mandatory: true,
            },
        ]);
    });

    it("reads the RPO target from the stack config (PULUMI_CONFIG)", async () => {
        const res = await call<{ getDiagnosticsList(): unknown[] }>(
            "analyze",
            analyzeRequest(TYPES.replication, "job", { resourceId: "101-492612", type: "local", target: "prox2", schedule: "*/15" }),
        );
        assert.deepEqual(diagnostics(res), [
            {
                policy: POLICY.rpo,
                message: reported(
                    POLICY.rpo,
                    'replication job 101-492612 runs on schedule "*/15": a failover can lose up to 15 min of writes, more than replication.rpoTarget 10m',
                ),
                mandatory: true,
            },
        ]);
    });

    it("finds a decrypted secret of the stack config in a command's text", async () => {
        const resource = (name: string, props: Record<string, unknown>, secretOutputs: string[]) => {
            const r = new analyzerPb.AnalyzerResource();
            r.setType(TYPES.remoteCommand);
            r.setName(name);
            r.setUrn(`urn:pulumi:test::proxmox-ha::${TYPES.remoteCommand}::${name}`);
            r.setProperties(Struct.fromJavaScript(props));
            const o = options();
            o.setAdditionalsecretoutputsList(secretOutputs);
            r.setOptions(o);
            return r;
        };
        const req = new analyzerPb.AnalyzeStackRequest();
        req.setResourcesList([
            resource(
                "prod-hosts-prox2-join",
                { create: "bash -c 'true' 'cluster-join'", stdin: { ...SECRET, value: `${ROOT_PASSWORD}\n` }, logging: "none" },
                ["stdout", "stderr"],
            ),
            resource("prod-hosts-leak", { create: `echo ${ROOT_PASSWORD} | pvecm add 10.0.0.11`, logging: "stderr" }, []),
        ]);
        const res = await call<{ getDiagnosticsList(): unknown[] }>("analyzeStack", req);
        assert.deepEqual(diagnostics(res), [
            {
                policy: POLICY.secretInText,
                message: reported(
                    POLICY.secretInText,
                    "command prod-hosts-leak: its create text contains the value of secret config proxmox-ha:rootPassword. Pass secrets on stdin " +
                        "(a secret Output), never in the command text: it is shown in previews, diffs, logs and error messages",
                ),
                mandatory: true,
            },
        ]);
    });
});

describe("policy/tsconfig.json", () => {
    it("type-checks the pack as the repository does: every option it sets equals ../tsconfig.json's", () => {
        const read = (p: string) =>
            (JSON.parse(fs.readFileSync(path.join(ROOT, p), "utf8")) as { compilerOptions: Record<string, unknown> }).compilerOptions;
        const root = read("tsconfig.json");
        const pack = read("policy/tsconfig.json");
        assert.equal(pack.strict, true);
        for (const [k, v] of Object.entries(pack)) assert.deepEqual(v, root[k], k);
    });
});
