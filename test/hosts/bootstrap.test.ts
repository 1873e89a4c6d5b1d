/**
 * HostBootstrap under Pulumi mocks (tools/lib/mock-runtime.ts `evaluate()`),
 * with the committed stacks and variants built here.
 *
 * Proves: the exact set of bootstrap commands per stack and their exact
 * command text (each the `scriptInvocation` of its script with the stack's
 * values; fingerprint and public key parsed from cluster-create's stdout, as
 * the script prints them); api-access and api-token (the dedicated user,
 * role and privilege-separated token `proxmox-ha@pve!pulumi-<rotation>`)
 * exist exactly when the stack has no apiToken, run before cluster-create,
 * and the token step is never re-run by a change of script, argument or
 * connection (ignoreChanges), only replaced, create-first, by a new rotation;
 * connection (root, pinned host key, secret private key; dialErrorLimit
 * -1 and create/update timeouts of 10m for ssh-ready and cluster-create only);
 * no create/update/delete text and no non-secret input of any resource
 * contains a secret value (distinctive secrets, including the bootstrapped
 * token); the join's stdin is the root password line; the join, and
 * cluster-create when it prints the token, log nothing and mark
 * stdout/stderr secret, and then the join's and qnetd-authorize's command
 * texts (carrying fingerprint and key) are still not secret; the dependency
 * graph of docs/design.md §3 (tools/lib/graph.ts `waitsFor`): every step except
 * cluster-create after its host's ssh-ready, create after the first node's
 * corosync VLANs only (not ssh-ready, pools, watchdogs), joins after the
 * create and serialized, qnetd-authorize after the create and its packages,
 * qdevice-setup after all joins, packages and the authorization; per-host
 * steps have no edges between hosts; triggers carry the target host's
 * identity; retainOnDelete on zpool; no qnetd steps without a QDevice;
 * `stages`, `apiToken` and `rebootRequired` outputs; two evaluations give
 * identical inputs.
 *
 * Does NOT prove: what the scripts do on a host (test/scripts/* and the cluster
 * scenario tests do that), nor what the Pulumi engine or the command provider
 * do with these inputs (no engine here).
 */
import { describe, it } from "node:test";
import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { main } from "../../components/program";
import { scriptInvocation } from "../../components/remote";
import { evaluate, type RecordedResource } from "../../tools/lib/mock-runtime";
import { waitsFor } from "../../tools/lib/graph";
import { readStack } from "../../tools/lib/stack";
import type { ProxmoxSite } from "../../components/site";
import { HostBootstrap } from "../../components/hosts/bootstrap";
import { validateSite } from "../../components/validate";
import { API_ROLE, API_USER, apiPrivilegeList } from "../../components/hosts/steps";

const SSH_KEY =
    "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA-SSHKEY-c0ffee-7d41d8cd98f00b204e98\n-----END OPENSSH PRIVATE KEY-----\n";
const ROOT_PW = `pw-Zq8#x!'"$(reboot)-9f1c-ROOTPW`;
const API_TOKEN = "root@pam!ci=5e1f0c7a-STACKTOKEN-4b7d-9c1e-aa5531b0c0de";
const BOOT_SECRET = "0d6c2b14-BOOTTOKEN-4f4e-8a3f-7c1b9e2a6d55";
const BOOT_TOKEN = `proxmox-ha@pve!pulumi-1=${BOOT_SECRET}`;
// Not PEM, so the program leaves their content to the install step (components/access.ts).
const API_CERT = "api-certificate-chain-CERTCHAIN-5a1d";
const API_CERT_KEY = "api-certificate-key-CERTKEY-77e2";
const SECRETS = [SSH_KEY, "SSHKEY-c0ffee", ROOT_PW, "ROOTPW", API_TOKEN, "STACKTOKEN", BOOT_SECRET, "BOOTTOKEN", API_CERT, API_CERT_KEY];

const FP = Array.from({ length: 32 }, (_, i) => (i * 7 + 16).toString(16).toUpperCase().padStart(2, "0")).join(":");
/** The fingerprint join-check reads right before a join: pveupdate renewed the certificate since the create printed FP. */
const FP_NOW = Array.from({ length: 32 }, (_, i) => (i * 5 + 32).toString(16).toUpperCase().padStart(2, "0")).join(":");
const PUBKEY = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAACAQC7f2K9xq+root/key== root@prox1";
const CMD = "command:remote:Command";

type Raw = Record<string, any>;

interface Variant {
    readonly stack: string;
    readonly edit?: (raw: Raw) => void;
    /** Give apiToken in the stack (default true). */
    readonly apiToken?: boolean;
    /** Nodes whose watchdog.sh reports reboot-required=yes. */
    readonly rebootNodes?: readonly string[];
}

function config(v: Variant): { config: Record<string, string>; secretKeys: string[] } {
    const cfg = readStack(v.stack);
    const raw: Raw = {};
    for (const [k, text] of Object.entries(cfg.config)) {
        try {
            raw[k.replace(/^proxmox-ha:/, "")] = JSON.parse(text);
        } catch {
            raw[k.replace(/^proxmox-ha:/, "")] = text;
        }
    }
    v.edit?.(raw);
    const out: Record<string, string> = {};
    for (const [k, value] of Object.entries(raw)) {
        if (value === undefined) continue;
        out[`proxmox-ha:${k}`] = typeof value === "string" ? value : JSON.stringify(value);
    }
    out["proxmox-ha:sshPrivateKey"] = SSH_KEY;
    out["proxmox-ha:rootPassword"] = ROOT_PW;
    out["proxmox-ha:apiCertificate"] = API_CERT;
    out["proxmox-ha:apiCertificateKey"] = API_CERT_KEY;
    const secretKeys = ["proxmox-ha:sshPrivateKey", "proxmox-ha:rootPassword", "proxmox-ha:apiCertificate", "proxmox-ha:apiCertificateKey"];
    if (v.apiToken !== false) {
        out["proxmox-ha:apiToken"] = API_TOKEN;
        secretKeys.push("proxmox-ha:apiToken");
    } else {
        delete out["proxmox-ha:apiToken"];
    }
    return { config: out, secretKeys };
}

/** Pulumi's wire form of a secret value (what the engine returns for an output named in additionalSecretOutputs). */
const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const SECRET_VALUE = "1b47061264138c4ac30d75fd1eb44270";

/** What the hosts print, per script (only what the component parses). */
function stdoutFor(v: Variant) {
    return (type: string, name: string, inputs: Record<string, unknown>): Record<string, unknown> => {
        if (type !== CMD) return {};
        const node = /-hosts-(.+)-watchdog$/.exec(name)?.[1];
        if (node) {
            const yes = v.rebootNodes?.includes(node);
            return { stdout: `module=softdog active=${yes ? "none" : "softdog"} reboot-required=${yes ? "yes" : "no"}\n`, stderr: "" };
        }
        if (name.endsWith("-join-check")) return { stdout: `fingerprint=${FP_NOW} cluster=x member=no qdevice=none\n`, stderr: "" };
        if (name.endsWith("-cluster-create")) {
            // As cluster-create.sh prints it.
            const cluster = name.replace(/-hosts-cluster-create$/, "");
            return { stdout: `cluster=${cluster} action=created\nfingerprint=${FP}\npubkey=${PUBKEY}\n`, stderr: "" };
        }
        if (name.endsWith("-api-token") && String(inputs.create).includes(" 'pulumi-1' ")) {
            // As api-token.sh prints it; the command declares stdout a secret output (asserted below), and the engine returns it as a secret.
            return { stdout: { [SECRET_SIG]: SECRET_VALUE, value: `token=${BOOT_TOKEN}\n` }, stderr: "" };
        }
        return { stdout: "", stderr: "" };
    };
}

interface Run {
    readonly all: RecordedResource[];
    /** Bootstrap commands by short role name (name without the `<site>-hosts-` prefix). */
    readonly cmd: Map<string, RecordedResource>;
    readonly site: ProxmoxSite;
}

async function build(v: Variant): Promise<Run> {
    const c = config(v);
    const e = await evaluate(() => main(), { ...c, stack: v.stack, outputs: stdoutFor(v) });
    const hosts = e.resources.find((r) => r.type === "proxmox-ha:hosts:HostBootstrap");
    assert.ok(hosts, "a HostBootstrap component");
    const prefix = `${hosts.name}-`;
    const cmd = new Map<string, RecordedResource>();
    for (const recorded of e.resources.filter((x) => x.parent === hosts.urn)) {
        const r = { ...recorded, inputs: unsecret(recorded.inputs) as Record<string, unknown> };
        assert.equal(r.type, CMD, `${r.name} is a remote command`);
        assert.ok(r.name.startsWith(prefix), `${r.name} is named after the component`);
        cmd.set(r.name.slice(prefix.length), r);
    }
    return { all: e.resources, cmd, site: e.result.component };
}

/** The mock runtime records secret inputs as `{ <sig>: <secret marker>, value }`; unwrap them (secretInputs keeps the paths). */
function unsecret(x: unknown): unknown {
    if (Array.isArray(x)) return x.map(unsecret);
    if (x && typeof x === "object") {
        const o = x as Record<string, unknown>;
        if (SECRET_SIG in o) return unsecret(o.value);
        return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, unsecret(v)]));
    }
    return x;
}

function value<T>(o: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => o.apply((x) => (resolve(x), x)));
}

function get(run: Run, role: string): RecordedResource {
    const r = run.cmd.get(role);
    assert.ok(r, `step ${role} exists (have: ${[...run.cmd.keys()].join(", ")})`);
    return r;
}

function waits(run: Run, a: string, b: string): boolean {
    return waitsFor(run.all, get(run, a).urn, get(run, b).urn);
}

function createText(run: Run, role: string): string {
    return get(run, role).inputs.create as string;
}

const node = (i: number) => ({
    name: `prox${i}`,
    address: `10.0.0.${10 + i}`,
    links: [
        { address: `10.10.10.${10 + i}`, priority: 20 },
        { address: `10.0.0.${10 + i}`, priority: 10 },
    ],
    sshHostKey: `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI${"Q".repeat(38)}${i}`,
    zfs: { pool: "pool1", layout: "mirror", disks: [`/dev/disk/by-id/ata-N${i}A`, `/dev/disk/by-id/ata-N${i}B`] },
});

describe("prod: two nodes, QDevice, apiToken from the stack", () => {
    const v: Variant = { stack: "prod", rebootNodes: ["prox2"] };

    it("creates exactly the bootstrap commands of the reference site", async () => {
        const run = await build(v);
        assert.deepEqual([...run.cmd.keys()].sort(), [
            "cluster-create",
            "prox1-api-certificate",
            "prox1-packages",
            "prox1-ssh-ready",
            "prox1-watchdog",
            "prox1-zpool",
            "prox2-api-certificate",
            "prox2-join",
            "prox2-join-check",
            "prox2-packages",
            "prox2-ssh-ready",
            "prox2-watchdog",
            "prox2-zpool",
            "qdevice-setup",
            "qnetd-authorize",
            "qnetd-packages",
            "qnetd-ssh-ready",
        ]);
    });

    it("sends each script with the stack's values as quoted arguments", async () => {
        const run = await build(v);
        const disks = (i: number) => [
            `/dev/disk/by-id/ata-SAMSUNG_MZ7LH960HAJR-00005_S45NNA0R${i}00001`,
            `/dev/disk/by-id/ata-SAMSUNG_MZ7LH960HAJR-00005_S45NNA0R${i}00002`,
        ];
        const expected: Record<string, [string, (string | number)[]]> = {
            "prox1-ssh-ready": ["ssh-ready", []],
            "qnetd-ssh-ready": ["ssh-ready", []],
            "prox1-zpool": ["zpool", ["pool1", "mirror", 12, "lz4", "", ...disks(1)]],
            "prox2-zpool": ["zpool", ["pool1", "mirror", 12, "lz4", "", ...disks(2)]],
            "prox1-watchdog": ["watchdog", ["softdog"]],
            "prox1-packages": ["packages", ["--repository", "enterprise", "corosync-qdevice"]],
            "qnetd-packages": ["packages", ["corosync-qnetd"]],
            // The stack gives apiToken: no api-access/api-token steps (asserted by the step list above).
            "cluster-create": ["cluster-create", ["prod", "address=10.10.10.11,priority=20", "address=10.0.0.11,priority=10"]],
            // The fingerprint read right before the join (join-check), not the one the create printed.
            "prox2-join-check": ["join-check", ["prod", "prox2"]],
            "prox2-join": [
                "cluster-join",
                [
                    "--peer-link",
                    "10.10.10.11",
                    "--peer-link",
                    "10.0.0.11",
                    "prod",
                    "10.0.0.11",
                    FP_NOW,
                    "address=10.10.10.12,priority=20",
                    "address=10.0.0.12,priority=10",
                ],
            ],
            // Restricted to the nodes' management and link addresses (steps.ts nodeSourceAddresses).
            "qnetd-authorize": ["qnetd-authorize", [PUBKEY, "10.0.0.11,10.10.10.11,10.0.0.12,10.10.10.12"]],
            "qdevice-setup": [
                "qdevice-setup",
                ["10.0.0.120", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAuPy3I59t7g+4LeGfv+VWS+sD3UyZYkF3IIKlzolgRo", 3, "lowest"],
            ],
        };
        for (const [role, [script, args]] of Object.entries(expected)) {
            const r = get(run, role);
            assert.equal(r.inputs.create, scriptInvocation(script, args), role);
            assert.equal(r.inputs.update, r.inputs.create, `${role}: update re-runs the same idempotent script`);
            // Only qnetd-authorize has a delete script: removing the QDevice removes the key on the qnetd host.
            assert.equal(
                r.inputs.delete,
                role === "qnetd-authorize" ? scriptInvocation("qnetd-deauthorize", [PUBKEY]) : undefined,
                `${role}: delete script`,
            );
            assert.equal(r.deleteBeforeReplace, role === "qnetd-authorize", `${role}: delete-first only with a delete script`);
            assert.equal(r.inputs.addPreviousOutputInEnv, false, role);
        }
    });

    it("pins host keys, uses root with the secret key, and polls only in ssh-ready, cluster-create and join-check", async () => {
        const run = await build(v);
        const stackNodes = JSON.parse(readStack("prod").config["proxmox-ha:nodes"]!) as {
            name: string;
            address: string;
            sshHostKey: string;
        }[];
        const q = JSON.parse(readStack("prod").config["proxmox-ha:qdevice"]!) as { address: string; sshHostKey: string };
        const hostOf = (role: string) => {
            if (role.startsWith("qnetd-")) return { name: "qnetd", address: q.address, sshHostKey: q.sshHostKey };
            if (role.endsWith("-join-check")) return stackNodes[0]!;
            const n = stackNodes.find((x) => role.startsWith(`${x.name}-`)) ?? stackNodes[0]!;
            return n;
        };
        for (const [role, r] of run.cmd) {
            const h = hostOf(role);
            const conn = r.inputs.connection as Record<string, unknown>;
            assert.equal(conn.host, h.address, role);
            assert.equal(conn.port, 22, role);
            assert.equal(conn.user, "root", role);
            assert.equal(conn.hostKey, h.sshHostKey, `${role}: host key pinned`);
            assert.equal(conn.privateKey, SSH_KEY, role);
            assert.ok(r.secretInputs.includes("connection"), `${role}: the connection (private key) is secret`);
            // A command with a delete script takes a new address or host key as an update (the delete would run
            // on the old identity): only the host's name replaces it (components/remote.ts commandTriggers).
            assert.deepEqual(
                r.inputs.delete === undefined ? (r.inputs.triggers as string[]).slice(0, 3) : r.inputs.triggers,
                r.inputs.delete === undefined ? [h.name, h.address, h.sshHostKey] : [h.name],
                `${role}: triggers carry the host identity`,
            );
            if (role.endsWith("ssh-ready") || role === "cluster-create" || role.endsWith("-join-check")) {
                assert.equal(conn.dialErrorLimit, -1, role);
                assert.deepEqual(r.customTimeouts, { create: "10m", update: "10m" }, role);
            } else {
                assert.equal(conn.dialErrorLimit, 10, role);
                assert.equal(r.customTimeouts, undefined, role);
            }
            assert.equal(r.retainOnDelete, role.endsWith("-zpool"), `${role}: retainOnDelete only (and always) on zpool`);
        }
    });

    it("join-check (issue #11 points 8, 12): read-only, on the first node, re-read when the joiner changes, never after the create", async () => {
        const run = await build(v);
        const check = get(run, "prox2-join-check");
        assert.equal((check.inputs.connection as Record<string, unknown>).host, "10.0.0.11", "runs on the first node");
        const prox2 = JSON.parse(readStack("prod").config["proxmox-ha:nodes"]!)[1] as { address: string; sshHostKey: string };
        assert.deepEqual((check.inputs.triggers as string[]).slice(3), [
            prox2.address,
            prox2.sshHostKey,
            "address=10.10.10.12,priority=20",
            "address=10.0.0.12,priority=10",
        ]);
        assert.equal(check.inputs.stdin, undefined);
        assert.equal(check.inputs.logging, "stderr", "no secret in its output");
        // Before this step the join took the fingerprint the create printed at create time.
        assert.ok(createText(run, "prox2-join").includes(`'${FP_NOW}'`));
        assert.ok(!createText(run, "prox2-join").includes(FP));
    });

    it("passes the root password only on stdin, and hides every secret-carrying output", async () => {
        const run = await build(v);
        const join = get(run, "prox2-join");
        assert.equal(join.inputs.stdin, `${ROOT_PW}\n`);
        assert.ok(join.secretInputs.includes("stdin"));
        assert.equal(join.inputs.logging, "none");
        assert.deepEqual(
            join.additionalSecretOutputs.filter((o) => o !== "connection"),
            ["stdout", "stderr"],
        );
        // The API certificate: chain then key, on stdin only, as a secret; nothing logged (issue #11 point 3).
        for (const n of ["prox1", "prox2"]) {
            const c = get(run, `${n}-api-certificate`);
            assert.equal(c.inputs.stdin, `${API_CERT}\n${API_CERT_KEY}\n`);
            assert.ok(c.secretInputs.includes("stdin"));
            assert.equal(c.inputs.logging, "none");
            assert.deepEqual(
                c.additionalSecretOutputs.filter((o) => o !== "connection"),
                ["stdout", "stderr"],
            );
        }
        for (const [role, r] of run.cmd) {
            if (role.endsWith("-join") || role.endsWith("-api-certificate")) continue;
            assert.equal(r.inputs.stdin, undefined, `${role} gets no stdin`);
            assert.equal(r.inputs.logging, "stderr", role);
            assert.deepEqual(
                r.additionalSecretOutputs.filter((o) => o !== "connection"),
                [],
                role,
            );
        }
    });

    it("orders the steps as docs/design.md §3, with only true edges", async () => {
        const run = await build(v);
        for (const role of run.cmd.keys()) {
            if (role.endsWith("ssh-ready")) {
                assert.deepEqual(get(run, role).dependsOn, [], `${role} waits for nothing`);
                continue;
            }
            if (role === "cluster-create" || role.endsWith("-join-check")) {
                // It dials with ssh-ready's poll pattern itself; without corosync VLANs it waits for nothing.
                assert.deepEqual(get(run, role).dependsOn, [], `${role} waits for nothing`);
                assert.ok(!waits(run, role, "prox1-ssh-ready"), `${role} does not wait for prox1-ssh-ready`);
                continue;
            }
            const host = role.startsWith("qnetd-") ? "qnetd" : role.startsWith("prox2-") ? "prox2" : "prox1";
            assert.ok(waits(run, role, `${host}-ssh-ready`), `${role} waits for ${host}-ssh-ready`);
        }
        for (const n of ["prox1", "prox2"]) {
            for (const s of ["zpool", "watchdog", "packages"]) {
                assert.ok(!waits(run, "cluster-create", `${n}-${s}`), `cluster-create does not wait for ${n}-${s}`);
                assert.ok(!waits(run, "prox2-join", `${n}-${s}`), `join does not wait for ${n}-${s}`);
            }
        }
        assert.ok(waits(run, "prox2-join", "cluster-create"), "the join needs the cluster");
        assert.ok(waits(run, "prox2-join", "prox2-join-check"), "the join needs the fingerprint read right before it");
        assert.ok(!waits(run, "prox2-join-check", "cluster-create"), "the read needs no create (the create keeps the certificate)");
        assert.ok(waits(run, "qnetd-authorize", "qnetd-packages"));
        assert.ok(waits(run, "qnetd-authorize", "cluster-create"), "the key to authorize is printed by cluster-create");
        assert.ok(!waits(run, "qnetd-authorize", "prox2-join"), "authorizing the key does not wait for joins");
        for (const dep of ["prox2-join", "cluster-create", "prox1-packages", "prox2-packages", "qnetd-authorize"]) {
            assert.ok(waits(run, "qdevice-setup", dep), `qdevice-setup waits for ${dep}`);
        }
        // The API certificate goes in once every node is a member: a join replaces the joiner's /etc/pve
        // and checks the first node's served certificate against the create's fingerprint.
        for (const n of ["prox1", "prox2"]) {
            for (const dep of ["cluster-create", "prox2-join"]) {
                assert.ok(waits(run, `${n}-api-certificate`, dep), `${n}-api-certificate waits for ${dep}`);
            }
            assert.ok(!waits(run, "prox2-join", `${n}-api-certificate`), "no join waits for a certificate");
        }
    });

    it("runs per-host steps in parallel: no edge between hosts' preparation steps", async () => {
        const run = await build(v);
        const prep = ["ssh-ready", "zpool", "watchdog", "packages"];
        for (const a of prep) {
            for (const b of prep) {
                assert.ok(!waits(run, `prox1-${a}`, `prox2-${b}`), `prox1-${a} does not wait for prox2-${b}`);
                assert.ok(!waits(run, `prox2-${a}`, `prox1-${b}`), `prox2-${a} does not wait for prox1-${b}`);
            }
        }
        assert.ok(!waits(run, "prox1-zpool", "prox1-watchdog") && !waits(run, "prox1-watchdog", "prox1-zpool"));
        assert.ok(!waits(run, "qnetd-packages", "prox1-ssh-ready"));
    });

    it("exposes stages, the stack's apiToken, and the nodes that need a reboot", async () => {
        const run = await build(v);
        const hosts = run.site.hosts;
        const urns = async (rs: readonly pulumi.Resource[]) => Promise.all(rs.map((r) => value(r.urn)));
        assert.deepEqual(await urns(hosts.stages.pools), [get(run, "prox1-zpool").urn, get(run, "prox2-zpool").urn]);
        assert.deepEqual(await urns(hosts.stages.watchdogs), [get(run, "prox1-watchdog").urn, get(run, "prox2-watchdog").urn]);
        assert.deepEqual(await urns(hosts.stages.cluster), [get(run, "cluster-create").urn, get(run, "prox2-join").urn]);
        assert.equal(await value(hosts.stages.qdevice!.urn), get(run, "qdevice-setup").urn);
        assert.equal(await value(hosts.apiToken), API_TOKEN, "apiToken given: the stack's token, none bootstrapped");
        assert.equal(await pulumi.isSecret(hosts.apiToken), true);
        assert.deepEqual(await value(hosts.rebootRequired), ["prox2"]);
    });
});

/** Every string input containing a secret must sit under a secret input path; command text never holds one. */
function assertNoSecretLeaks(run: Run): void {
    const walk = (r: RecordedResource, x: unknown, p: string): void => {
        if (typeof x === "string") {
            const hit = SECRETS.find((s) => x.includes(s));
            if (hit) {
                assert.ok(
                    r.secretInputs.some((s) => p === s || p.startsWith(`${s}.`)),
                    `${r.name}: input ${p} holds a secret but is not marked secret`,
                );
            }
        } else if (x && typeof x === "object") {
            for (const [k, y] of Object.entries(x)) walk(r, y, p ? `${p}.${k}` : k);
        }
    };
    for (const r of run.all) {
        walk(r, r.inputs, "");
        if (r.type === CMD) {
            for (const f of ["create", "update", "delete"]) {
                const text = r.inputs[f];
                if (typeof text !== "string") continue;
                for (const s of SECRETS) assert.ok(!text.includes(s), `${r.name}.${f} contains a secret`);
            }
        }
    }
}

describe("secrets", () => {
    for (const v of [
        { stack: "prod" },
        { stack: "prod", apiToken: false },
        { stack: "lab", apiToken: false },
        { stack: "dc2" },
    ] as Variant[]) {
        it(`${v.stack}${v.apiToken === false ? " (token bootstrapped)" : ""}: no secret in any command text or non-secret input`, async () => {
            assertNoSecretLeaks(await build(v));
        });
    }
});

describe("lab: no apiToken in the stack, dataset below the pool", () => {
    const v: Variant = { stack: "lab", apiToken: false };

    it("bootstraps a dedicated privilege-separated token in its own once-only step, before the cluster exists", async () => {
        const run = await build(v);
        const access = get(run, "api-access");
        const token = get(run, "api-token");
        const create = get(run, "cluster-create");
        assert.equal(create.inputs.create, scriptInvocation("cluster-create", ["lab", "192.168.122.11"]));
        assert.equal(access.inputs.create, scriptInvocation("api-access", [API_USER, API_ROLE, apiPrivilegeList(), "pulumi-1"]));
        assert.equal(token.inputs.create, scriptInvocation("api-token", [API_USER, "pulumi-1", API_ROLE, apiPrivilegeList()]));
        assert.equal(token.inputs.delete, scriptInvocation("api-token-remove", [API_USER, "pulumi-1"]));
        assert.equal((token.inputs.connection as Record<string, unknown>).host, "192.168.122.11");
        assert.equal(token.inputs.logging, "none");
        assert.equal(access.inputs.logging, "stderr", "api-access prints no secret");
        // The command SDK adds "connection" itself when additionalSecretOutputs is given.
        assert.deepEqual(
            token.additionalSecretOutputs.filter((o) => o !== "connection"),
            ["stdout", "stderr"],
        );
        // Once per rotation: no re-run for a changed script, argument or connection; replaced only by a new
        // token id (rotation), and create-first, so the old token works until the new one is recorded.
        assert.deepEqual([...token.ignoreChanges].sort(), ["connection", "create", "delete", "update"]);
        assert.deepEqual(token.inputs.triggers, [API_USER, "pulumi-1"]);
        assert.equal(token.deleteBeforeReplace, false);
        assert.equal(create.inputs.logging, "stderr", "cluster-create prints no secret any more");
        // pveum writes /etc/pve: never overlapping `pvecm create` or a join (the first node alone is not quorate then).
        assert.ok(waits(run, "cluster-create", "api-token"), "the create waits for the token");
        assert.ok(waits(run, "api-access", "api-token") && waits(run, "api-access", "cluster-create"), "api-access converges after both");
        assert.equal((token.inputs.connection as Record<string, unknown>).dialErrorLimit, -1, "the token step polls like the create");
        // The provider's first call waits for the role and ACLs.
        const provider = run.all.find((r) => r.type === "pulumi:providers:proxmoxve")!;
        assert.ok(provider.dependsOn.includes(access.urn), "the provider waits for api-access");
        assert.equal(await value(run.site.hosts.apiToken), BOOT_TOKEN);
        assert.equal(await pulumi.isSecret(run.site.hosts.apiToken), true);
        assert.deepEqual(await value(run.site.hosts.rebootRequired), []);
    });

    it("keeps the fingerprint and public key out of the secret: join and qnetd-authorize texts stay plain", async () => {
        const run = await build(v);
        const join = get(run, "lab2-join");
        const authorize = get(run, "qnetd-authorize");
        assert.equal(
            join.inputs.create,
            scriptInvocation("cluster-join", ["--peer-link", "192.168.122.11", "lab", "192.168.122.11", FP_NOW, "192.168.122.12"]),
        );
        assert.equal(authorize.inputs.create, scriptInvocation("qnetd-authorize", [PUBKEY, "192.168.122.11,192.168.122.12"]));
        for (const r of [join, authorize]) {
            for (const f of ["create", "update"]) assert.ok(!r.secretInputs.includes(f), `${r.name}.${f} is not secret`);
        }
        assert.deepEqual(join.secretInputs, ["connection", "stdin"]);
        assert.deepEqual(authorize.secretInputs, ["connection"]);
    });

    it("creates the storage dataset with the pool", async () => {
        const run = await build(v);
        assert.equal(
            createText(run, "lab1-zpool"),
            scriptInvocation("zpool", [
                "vmdata",
                "mirror",
                12,
                "lz4",
                "vmstore",
                "/dev/disk/by-id/virtio-lab1-data-a",
                "/dev/disk/by-id/virtio-lab1-data-b",
            ]),
        );
        assert.equal(
            createText(run, "cluster-create"),
            scriptInvocation("cluster-create", ["lab", "192.168.122.11"]),
            "link0 defaults to the address",
        );
    });
});

describe("dc2: corosync on a VLAN that must exist before the cluster", () => {
    const v: Variant = { stack: "dc2" };

    it("creates the corosync VLAN per node before create/join, and no other VLAN", async () => {
        const run = await build(v);
        assert.equal(
            createText(run, "dca-pve1-corosync-vlan-4001"),
            scriptInvocation("corosync-vlan", ["bond0", 4001, "172.31.1.11/24", 1400]),
        );
        assert.equal(
            createText(run, "dcb-pve1-corosync-vlan-4001"),
            scriptInvocation("corosync-vlan", ["bond0", 4001, "172.31.1.12/24", 1400]),
        );
        assert.deepEqual([...run.cmd.keys()].filter((k) => k.includes("vlan")).sort(), [
            "dca-pve1-corosync-vlan-4001",
            "dcb-pve1-corosync-vlan-4001",
        ]);
        assert.ok(waits(run, "cluster-create", "dca-pve1-corosync-vlan-4001"));
        assert.deepEqual(
            get(run, "cluster-create").dependsOn,
            [get(run, "dca-pve1-corosync-vlan-4001").urn],
            "create waits for its node's corosync VLAN only (and through it for ssh-ready)",
        );
        assert.ok(!waits(run, "cluster-create", "dcb-pve1-corosync-vlan-4001"), "create does not wait for the other node's VLAN");
        assert.ok(waits(run, "dcb-pve1-join", "dcb-pve1-corosync-vlan-4001"));
        assert.ok(!waits(run, "dca-pve1-corosync-vlan-4001", "dcb-pve1-ssh-ready"));
        assert.equal(createText(run, "dca-pve1-watchdog"), scriptInvocation("watchdog", ["ipmi_watchdog"]));
        assert.equal(
            createText(run, "dca-pve1-zpool"),
            scriptInvocation("zpool", [
                "tank",
                "mirror",
                12,
                "lz4",
                "vm",
                "/dev/disk/by-id/nvme-SAMSUNG_MZQL2960HCJR-00A07_S64FNE0R100001",
                "/dev/disk/by-id/nvme-SAMSUNG_MZQL2960HCJR-00A07_S64FNE0R100002",
            ]),
        );
        assert.equal(
            createText(run, "dcb-pve1-join"),
            scriptInvocation("cluster-join", ["--peer-link", "172.31.1.11", "dc2", "172.16.1.11", FP_NOW, "172.31.1.12"]),
            "the peer is the first node's management address; links are the joiner's",
        );
    });
});

describe("variants", () => {
    it("the stack's QDevice tie-breaker reaches qdevice-setup (pvecm writes none; the script applies it)", async () => {
        const run = await build({
            stack: "prod",
            edit: (raw) => {
                raw.qdevice.tieBreaker = "highest";
            },
        });
        assert.equal(createText(run, "qdevice-setup").endsWith(" '3' 'highest'"), true, createText(run, "qdevice-setup"));
    });

    it("four nodes with a QDevice: joins run one at a time, in stack order", async () => {
        const run = await build({
            stack: "prod",
            edit: (raw) => {
                raw.nodes.push(node(3), node(4));
            },
        });
        assert.ok(waits(run, "prox3-join", "prox2-join"));
        assert.ok(waits(run, "prox4-join", "prox3-join"));
        assert.ok(!waits(run, "prox2-join", "prox3-join"));
        assert.equal(createText(run, "qdevice-setup").endsWith(" '5' 'lowest'"), true, "expected votes = 4 nodes + 1");
        for (const j of ["prox2-join", "prox3-join", "prox4-join"]) assert.ok(waits(run, "qdevice-setup", j));
        for (const a of ["prox2", "prox3", "prox4"]) {
            for (const b of ["prox2", "prox3", "prox4"]) {
                if (a !== b) assert.ok(!waits(run, `${a}-zpool`, `${b}-zpool`), `${a}-zpool ∥ ${b}-zpool`);
            }
        }
        const urns = await Promise.all(run.site.hosts.stages.cluster.map((r) => value(r.urn)));
        assert.deepEqual(
            urns,
            ["cluster-create", "prox2-join", "prox3-join", "prox4-join"].map((k) => get(run, k).urn),
        );
    });

    it("a site without QDevice has no qnetd, packages, public-key or qdevice steps", async () => {
        const run = await build({
            stack: "prod",
            edit: (raw) => {
                delete raw.qdevice;
                raw.nodes.push(node(3));
            },
        });
        assert.deepEqual(
            [...run.cmd.keys()].filter((k) => /qnetd|qdevice|packages|pubkey/.test(k)),
            [],
        );
        assert.equal(run.site.hosts.stages.qdevice, undefined);
        assert.deepEqual([...run.cmd.keys()].sort(), [
            "cluster-create",
            "prox1-api-certificate",
            "prox1-ssh-ready",
            "prox1-watchdog",
            "prox1-zpool",
            "prox2-api-certificate",
            "prox2-join",
            "prox2-join-check",
            "prox2-ssh-ready",
            "prox2-watchdog",
            "prox2-zpool",
            "prox3-api-certificate",
            "prox3-join",
            "prox3-join-check",
            "prox3-ssh-ready",
            "prox3-watchdog",
            "prox3-zpool",
        ]);
    });

    it("a node named like the QDevice host, or joins without rootPassword, are refused before anything is registered", () => {
        const raw = (edit: (r: Raw) => void) => {
            const c = config({ stack: "prod", edit });
            const out: Raw = {};
            for (const [k, t] of Object.entries(c.config)) {
                if (c.secretKeys.includes(k)) continue;
                out[k.replace(/^proxmox-ha:/, "")] = JSON.parse(t);
            }
            const result = validateSite(out);
            assert.ok(result.site, JSON.stringify(result.problems));
            return result.site;
        };
        const sshPrivateKey = pulumi.secret(SSH_KEY);
        // Validation refuses this name first (test/site/validate.test.ts); the
        // component keeps its own check for sites built without validateSite.
        const base = raw((r) => {
            r.guests = [];
            r.network = { vlans: [] };
        });
        const renamed = { ...base, nodes: base.nodes.map((n, i) => (i === 1 ? { ...n, name: "qnetd" } : n)) };
        assert.throws(
            () =>
                new HostBootstrap("x", {
                    site: renamed,
                    secrets: { ssh: { privateKey: sshPrivateKey, previewOnly: false }, rootPassword: pulumi.secret(ROOT_PW) },
                }),
            /^Error: HostBootstrap: node name "qnetd" is reserved for the QDevice host's steps; rename the node$/,
        );
        assert.throws(
            () =>
                new HostBootstrap("x", { site: raw(() => undefined), secrets: { ssh: { privateKey: sshPrivateKey, previewOnly: false } } }),
            /^Error: HostBootstrap: the rootPassword secret is required to join nodes: pulumi config set --secret rootPassword$/,
        );
        assert.throws(
            () =>
                new HostBootstrap("x", {
                    site: raw(() => undefined),
                    secrets: { ssh: { privateKey: sshPrivateKey, previewOnly: false }, rootPassword: pulumi.secret(ROOT_PW) },
                }),
            /^Error: HostBootstrap: verified TLS needs the apiCertificate and apiCertificateKey secrets \(or apiInsecure: true\)/,
        );
    });

    it("two evaluations of the same stack give identical inputs", async () => {
        const a = await build({ stack: "dc2", apiToken: false });
        const b = await build({ stack: "dc2", apiToken: false });
        const dump = (r: Run) => JSON.stringify([...r.cmd].map(([k, x]) => [k, x.inputs, x.dependsOn.length]));
        assert.equal(dump(a), dump(b));
    });
});
