/**
 * Proves: each policy of the pack (policy/policies.ts) reports exactly the
 * expected violation message for one mistake at a time, made on a happy-path
 * site that passes every policy (pulumi-policy-aws style: a happy-path factory,
 * one mutation per case); values still unknown during a preview never make a
 * policy throw or report a false violation; the config reader takes the form
 * the engine passes (PULUMI_CONFIG); the type tokens are the pinned providers'.
 * Does not prove: that the Pulumi engine loads the pack (no Pulumi CLI here;
 * the PR workflow runs it), nor anything about the real program's resources
 * (test/policy/stacks.test.ts runs the policies over those).
 */
import { describe, it } from "node:test";
import * as assert from "node:assert/strict";
import type { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { dportCovers, guardrails, POLICY, siteConfigFrom, TYPES, type SiteConfig } from "../../policy/policies";
import { scriptInvocation } from "../../components/remote";
import { readStack } from "../../tools/lib/stack";
import {
    byName,
    resourceArgs,
    runAll,
    runResourcePolicy,
    runStackPolicy,
    stackArgs,
    UNKNOWN_STRING,
    urnOf,
    type ResourceSpec,
} from "./harness";

// ---------- the happy path --------------------------------------------------------

const ROOT_PASSWORD = "correct-horse-battery-staple";
const ISO = "OPNsense-25.1-dvd-amd64.iso";
const API_TOKEN = "root@pam!pulumi=6f1c3c52-4b5e-4d8e-9a39-2f7c1d0e8b11";
const SSH_KEY = [
    "-----BEGIN OPENSSH PRIVATE KEY-----",
    "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW",
    "QyNTUxOQAAACBnR0ZTc3RrZXlmb3J0ZXN0c29ubHlub3RyZWFsAAAAAAAAAAAAAAAAAAAA",
    "-----END OPENSSH PRIVATE KEY-----",
    "",
].join("\n");

function siteConfig(): SiteConfig {
    return {
        nodes: ["prox1", "prox2"],
        rpoTarget: "10m",
        secrets: { "proxmox-ha:rootPassword": ROOT_PASSWORD, "proxmox-ha:sshPrivateKey": SSH_KEY },
    };
}

const connection = (host: string) => ({ host, port: 22, user: "root", privateKey: SSH_KEY, hostKey: "ssh-ed25519 AAAAC3Nz" });

/** A two-node site as the program builds it: every policy passes. Names as the components write them. */
function happyResources(): ResourceSpec[] {
    return [
        {
            type: TYPES.proxmoxProvider,
            name: "prod-api-provider",
            props: { endpoint: "https://10.0.0.11:8006", apiToken: API_TOKEN, insecure: false },
        },
        {
            type: TYPES.remoteCommand,
            name: "prod-hosts-prox2-join",
            props: {
                connection: connection("10.0.0.12"),
                create: "bash -c 'set -euo pipefail' 'cluster-join' '10.0.0.11'",
                update: "bash -c 'set -euo pipefail' 'cluster-join' '10.0.0.11'",
                stdin: `${ROOT_PASSWORD}\n`,
                logging: "none",
                addPreviousOutputInEnv: false,
            },
            additionalSecretOutputs: ["stdout", "stderr"],
        },
        {
            type: TYPES.remoteCommand,
            name: "prod-hosts-qdevice-setup",
            props: {
                connection: connection("10.0.0.11"),
                create: "bash -c 'set -euo pipefail' 'qdevice-setup' '10.0.0.120'",
                update: "bash -c 'set -euo pipefail' 'qdevice-setup' '10.0.0.120'",
                logging: "stderr",
                addPreviousOutputInEnv: false,
            },
            dependsOn: ["prod-hosts-prox2-join"],
        },
        ...["prox1", "prox2"].map((node) => ({
            type: TYPES.downloadFile,
            name: `prod-api-iso-${node}-${ISO}`,
            props: { nodeName: node, datastoreId: "local", contentType: "iso", url: `https://mirror.example.net/${ISO}`, fileName: ISO },
        })),
        {
            type: TYPES.vmLegacy,
            name: "prod-api-vm-101",
            props: { nodeName: "prox1", vmId: 101, name: "fw", cdrom: { fileId: `local:iso/${ISO}`, interface: "ide2" } },
            dependsOn: [`prod-api-iso-prox1-${ISO}`, `prod-api-iso-prox2-${ISO}`],
        },
        {
            type: TYPES.replication,
            name: "prod-api-replication-101-492612",
            props: { resourceId: "101-492612", type: "local", target: "prox2", schedule: "*/5" },
            dependsOn: ["prod-api-vm-101"],
        },
        {
            type: TYPES.haresource,
            name: "prod-api-ha-101",
            props: { resourceId: "vm:101", type: "vm", state: "started", maxRestart: 1, maxRelocate: 1, failback: true },
            dependsOn: ["prod-api-vm-101", "prod-api-replication-101-492612", "prod-hosts-qdevice-setup"],
        },
        {
            type: TYPES.harule,
            name: "prod-api-harule-ha-guest-101",
            props: { rule: "ha-guest-101", type: "node-affinity", resources: ["vm:101"], nodes: { prox1: 2, prox2: 1 }, strict: false },
            dependsOn: ["prod-api-ha-101"],
        },
        {
            type: TYPES.ipset,
            name: "prod-api-fw-ipset-allowlist",
            props: { name: "mgmt-allowlist", cidrs: [{ name: "10.0.0.0/24" }] },
        },
        {
            type: TYPES.firewallRules,
            name: "prod-api-fw-rules",
            props: {
                rules: [
                    { action: "ACCEPT", type: "in", proto: "tcp", dport: "22", source: "+mgmt-allowlist" },
                    { action: "ACCEPT", type: "in", proto: "tcp", dport: "8006", source: "+mgmt-allowlist" },
                ],
            },
            dependsOn: ["prod-api-fw-ipset-allowlist"],
        },
        {
            type: TYPES.clusterFirewall,
            name: "prod-api-fw-enable",
            props: { enabled: true, inputPolicy: "DROP", outputPolicy: "ACCEPT" },
            dependsOn: ["prod-api-fw-ipset-allowlist", "prod-api-fw-rules"],
        },
    ];
}

/** The happy path plus an HA container (ct:301) on prox2, replicated to prox1. */
function withContainer(): ResourceSpec[] {
    return [
        ...happyResources(),
        {
            type: TYPES.containerLegacy,
            name: "prod-api-ct-301",
            props: {
                nodeName: "prox2",
                vmId: 301,
                operatingSystem: { templateFileId: "local:vztmpl/debian-13-standard_13.1-2_amd64.tar.zst" },
            },
        },
        {
            type: TYPES.replication,
            name: "prod-api-replication-301-492612",
            props: { resourceId: "301-492612", type: "local", target: "prox1", schedule: "*/5" },
            dependsOn: ["prod-api-ct-301"],
        },
        {
            type: TYPES.haresource,
            name: "prod-api-ha-301",
            props: { resourceId: "ct:301", type: "ct", state: "started", maxRestart: 1, maxRelocate: 1, failback: true },
            dependsOn: ["prod-api-ct-301", "prod-api-replication-301-492612", "prod-hosts-qdevice-setup"],
        },
    ];
}

/** One mutation of the happy path: `edit` receives a fresh copy of the named resource's props. */
function mutate(name: string, edit: (props: Record<string, unknown>, spec: ResourceSpec) => Partial<ResourceSpec> | void): ResourceSpec[] {
    const specs = happyResources();
    const i = specs.findIndex((s) => s.name === name);
    if (i < 0) throw new Error(`no resource ${name}`);
    const spec = specs[i]!;
    const props = structuredClone(spec.props);
    const extra = edit(props, spec) ?? {};
    specs[i] = { ...spec, props, ...extra };
    return specs;
}

/** The happy path without these resources (and without the dependencies on them). */
function without(...names: string[]): ResourceSpec[] {
    return happyResources()
        .filter((s) => !names.includes(s.name))
        .map((s) => ({ ...s, dependsOn: (s.dependsOn ?? []).filter((d) => !names.includes(d)) }));
}

function spec(specs: ResourceSpec[], name: string): ResourceSpec {
    const s = specs.find((x) => x.name === name);
    if (!s) throw new Error(`no resource ${name}`);
    return s;
}

const policies = (cfg: SiteConfig = siteConfig()) => guardrails(() => cfg);
const stackPolicy = (name: string, cfg?: SiteConfig) => byName<StackValidationPolicy>(policies(cfg), name);
const resourcePolicy = (name: string, cfg?: SiteConfig) => byName<ResourceValidationPolicy>(policies(cfg), name);

async function stackMessages(name: string, specs: ResourceSpec[], cfg?: SiteConfig): Promise<string[]> {
    const o = await runStackPolicy(stackPolicy(name, cfg), stackArgs(specs));
    assert.equal(o.unknownEscaped, undefined, "no unknown value escapes the policy");
    assert.equal(o.notApplicable, undefined, "the policy applies");
    return o.violations.map((v) => v.message);
}

async function resourceMessages(name: string, s: ResourceSpec, cfg?: SiteConfig): Promise<string[]> {
    const o = await runResourcePolicy(resourcePolicy(name, cfg), resourceArgs(s));
    assert.equal(o.unknownEscaped, undefined, "no unknown value escapes the policy");
    assert.equal(o.notApplicable, undefined, "the policy applies");
    return o.violations.map((v) => v.message);
}

describe("the happy-path site", () => {
    it("passes every policy of the pack", async () => {
        const { violations, outcomes } = await runAll(policies(), happyResources());
        assert.deepEqual(violations, []);
        assert.deepEqual(
            [...outcomes.keys()],
            [
                POLICY.haReplication,
                POLICY.qdevice,
                POLICY.zfsCleanup,
                POLICY.secretInText,
                POLICY.secretLogging,
                POLICY.firewallAllowlist,
                POLICY.rpo,
                POLICY.haMedia,
            ],
        );
        // Every stack policy actually applied to it (none declared itself not applicable).
        for (const name of [POLICY.haReplication, POLICY.qdevice, POLICY.secretInText, POLICY.firewallAllowlist, POLICY.haMedia]) {
            assert.equal(outcomes.get(name)![0]!.notApplicable, undefined, name);
        }
    });
    it("declares every policy mandatory", () => {
        for (const p of policies()) assert.equal(p.enforcementLevel, "mandatory", p.name);
    });
});

describe(POLICY.haReplication, () => {
    const missing = (node: string) =>
        `HA resource vm:101 may start guest 101 on ${node}, but the guest (home node prox1) has no replication job to ${node}: ` +
        `a failover there would find no disk. Replicate to every node HA may use (guests[].replicateTo), or confine it with ha.nodes and ha.strict`;

    it("reports a guest without a replication job to the other node", async () => {
        assert.deepEqual(await stackMessages(POLICY.haReplication, without("prod-api-replication-101-492612")), [missing("prox2")]);
    });
    it("does not count a disabled job", async () => {
        const specs = mutate("prod-api-replication-101-492612", (p) => void (p.disable = true));
        assert.deepEqual(await stackMessages(POLICY.haReplication, specs), [missing("prox2")]);
    });
    it("does not count another guest's job", async () => {
        const specs = mutate("prod-api-replication-101-492612", (p) => void (p.resourceId = "1011-1"));
        assert.deepEqual(await stackMessages(POLICY.haReplication, specs), [missing("prox2")]);
    });
    it("reports only the node without a job on a three-node cluster", async () => {
        const cfg = { ...siteConfig(), nodes: ["prox1", "prox2", "prox3"] };
        assert.deepEqual(await stackMessages(POLICY.haReplication, happyResources(), cfg), [missing("prox3")]);
    });
    it("accepts a guest confined by a strict node-affinity rule to nodes it replicates to", async () => {
        const cfg = { ...siteConfig(), nodes: ["prox1", "prox2", "prox3"] };
        const specs = mutate("prod-api-harule-ha-guest-101", (p) => void (p.strict = true));
        assert.deepEqual(await stackMessages(POLICY.haReplication, specs, cfg), []);
    });
    it("does not let a disabled strict rule confine the guest", async () => {
        const cfg = { ...siteConfig(), nodes: ["prox1", "prox2", "prox3"] };
        const specs = mutate("prod-api-harule-ha-guest-101", (p) => void Object.assign(p, { strict: true, disable: true }));
        assert.deepEqual(await stackMessages(POLICY.haReplication, specs, cfg), [missing("prox3")]);
    });
    it("reports an HA resource whose guest is not in the stack", async () => {
        assert.deepEqual(await stackMessages(POLICY.haReplication, without("prod-api-vm-101")), [
            "HA resource vm:101 has no VM with vmId 101 in this stack, so nothing replicates its disks",
        ]);
    });
    it("reports at the HA resource", async () => {
        const o = await runStackPolicy(stackPolicy(POLICY.haReplication), stackArgs(without("prod-api-replication-101-492612")));
        assert.equal(o.violations[0]!.urn, urnOf(spec(happyResources(), "prod-api-ha-101")));
    });
    it("waits for `up` when a job's target is unknown in a preview", async () => {
        const specs = mutate("prod-api-replication-101-492612", (p) => void (p.target = UNKNOWN_STRING));
        assert.deepEqual(await stackMessages(POLICY.haReplication, specs), []);
    });
    it("reports a container (ct:) without a replication job like a VM", async () => {
        const specs = withContainer()
            .filter((x) => x.name !== "prod-api-replication-301-492612")
            .map((x) => ({ ...x, dependsOn: (x.dependsOn ?? []).filter((d) => d !== "prod-api-replication-301-492612") }));
        assert.deepEqual(await stackMessages(POLICY.haReplication, withContainer()), []);
        assert.deepEqual(await stackMessages(POLICY.haReplication, specs), [
            `HA resource ct:301 may start guest 301 on prox1, but the guest (home node prox2) has no replication job to prox1: ` +
                `a failover there would find no disk. Replicate to every node HA may use (guests[].replicateTo), or confine it with ha.nodes and ha.strict`,
        ]);
    });
    it("reports a ct: HA resource whose container is not in the stack (a VM with that vmid does not count)", async () => {
        const specs = withContainer()
            .filter((x) => x.name !== "prod-api-ct-301")
            .map((x) => ({ ...x, dependsOn: (x.dependsOn ?? []).filter((d) => d !== "prod-api-ct-301") }))
            .map((x) => (x.name === "prod-api-vm-101" ? { ...x, props: { ...x.props, vmId: 301 } } : x));
        const messages = await stackMessages(POLICY.haReplication, specs);
        assert.ok(
            messages.includes("HA resource ct:301 has no container with vmId 301 in this stack, so nothing replicates its disks"),
            messages.join("\n"),
        );
    });
    it("is not applicable without HA resources", async () => {
        const o = await runStackPolicy(stackPolicy(POLICY.haReplication), stackArgs(without("prod-api-ha-101")));
        assert.equal(o.notApplicable, "the stack has no HA resources");
    });
});

describe(POLICY.haMedia, () => {
    const missing = (nodes: string, fileId = `local:iso/${ISO}`) =>
        `HA resource vm:101 may start guest 101 on ${nodes}, but its CD drive holds ${fileId} and no download puts that file there: ` +
        `the start fails where it is missing. Declare the ISO as guests[].source.iso (downloaded to every node the guest may run on), ` +
        `or detach it (source.iso.attached: false)`;

    it("reports an attached ISO that is downloaded to the home node only", async () => {
        assert.deepEqual(await stackMessages(POLICY.haMedia, without(`prod-api-iso-prox2-${ISO}`)), [missing("prox2")]);
    });
    it("does not count a download of the same name on another storage", async () => {
        const specs = mutate(`prod-api-iso-prox2-${ISO}`, (p) => void (p.datastoreId = "isos"));
        assert.deepEqual(await stackMessages(POLICY.haMedia, specs), [missing("prox2")]);
    });
    it("reports an ISO volume nothing downloads (a cdrom put there by hand)", async () => {
        const specs = mutate("prod-api-vm-101", (p) => void (p.cdrom = { fileId: "local:iso/handmade.iso", interface: "ide2" }));
        assert.deepEqual(await stackMessages(POLICY.haMedia, specs), [missing("prox1, prox2", "local:iso/handmade.iso")]);
    });
    it("accepts a detached drive (none) and an empty one (cdrom)", async () => {
        for (const fileId of ["none", "cdrom"]) {
            const specs = without(`prod-api-iso-prox1-${ISO}`, `prod-api-iso-prox2-${ISO}`).map((x) =>
                x.name === "prod-api-vm-101" ? { ...x, props: { ...x.props, cdrom: { fileId, interface: "ide2" } } } : x,
            );
            assert.deepEqual(await stackMessages(POLICY.haMedia, specs), [], fileId);
        }
    });
    it("asks only for the nodes a strict node-affinity rule allows", async () => {
        const cfg = { ...siteConfig(), nodes: ["prox1", "prox2", "prox3"] };
        assert.deepEqual(await stackMessages(POLICY.haMedia, happyResources(), cfg), [missing("prox3")]);
        const specs = mutate("prod-api-harule-ha-guest-101", (p) => void (p.strict = true));
        assert.deepEqual(await stackMessages(POLICY.haMedia, specs, cfg), []);
    });
    it("waits for `up` when a download's file name is unknown in a preview", async () => {
        const specs = without(`prod-api-iso-prox2-${ISO}`).map((s) =>
            s.name === `prod-api-iso-prox1-${ISO}` ? { ...s, props: { ...s.props, fileName: UNKNOWN_STRING } } : s,
        );
        assert.deepEqual(await stackMessages(POLICY.haMedia, specs), []);
    });
    it("is not applicable without HA resources", async () => {
        const o = await runStackPolicy(stackPolicy(POLICY.haMedia), stackArgs(without("prod-api-ha-101")));
        assert.equal(o.notApplicable, "the stack has no HA resources");
    });
});

describe(POLICY.qdevice, () => {
    it("reports a two-node cluster with HA resources and no QDevice step", async () => {
        const specs = without("prod-hosts-qdevice-setup");
        assert.deepEqual(await stackMessages(POLICY.qdevice, specs), [
            "the two-node cluster prox1 + prox2 has HA resources (vm:101) but no QDevice step (a remote command <name>-qdevice-setup): " +
                "when either node fails, the survivor loses quorum and HA fences it. Add qdevice: { address, sshHostKey } to the stack",
        ]);
    });
    it("recognizes the step by the script it runs", async () => {
        const specs = mutate("prod-hosts-qdevice-setup", () => ({ name: "prod-hosts-third-vote" })).map((s) =>
            s.name === "prod-api-ha-101" ? { ...s, dependsOn: ["prod-api-vm-101", "prod-hosts-third-vote"] } : s,
        );
        assert.deepEqual(await stackMessages(POLICY.qdevice, specs), []);
    });
    it("does not take another command for the step", async () => {
        const specs = mutate("prod-hosts-qdevice-setup", (p) => ({
            name: "prod-hosts-qdevice-check",
            props: { ...p, create: "bash -c 'corosync-quorumtool -s' 'qdevice-status'" },
        })).map((s) => (s.name === "prod-api-ha-101" ? { ...s, dependsOn: ["prod-api-vm-101", "prod-hosts-qdevice-check"] } : s));
        assert.equal((await stackMessages(POLICY.qdevice, specs)).length, 1);
    });
    it("reports an HA resource that does not wait for the QDevice step", async () => {
        const specs = mutate("prod-api-ha-101", () => ({ dependsOn: ["prod-api-vm-101", "prod-api-replication-101-492612"] }));
        assert.deepEqual(await stackMessages(POLICY.qdevice, specs), [
            "HA resource vm:101 does not wait for the QDevice step prod-hosts-qdevice-setup: HA could arm fencing before the third vote exists",
        ]);
    });
    it("accepts a wait through another step", async () => {
        const specs = happyResources().map((s) =>
            s.name === "prod-api-ha-101"
                ? { ...s, dependsOn: ["prod-api-replication-101-492612"] }
                : s.name === "prod-api-replication-101-492612"
                  ? { ...s, dependsOn: ["prod-api-vm-101", "prod-hosts-qdevice-setup"] }
                  : s,
        );
        assert.deepEqual(await stackMessages(POLICY.qdevice, specs), []);
    });
    it("is not applicable to a three-node cluster", async () => {
        const cfg = { ...siteConfig(), nodes: ["prox1", "prox2", "prox3"] };
        const o = await runStackPolicy(stackPolicy(POLICY.qdevice, cfg), stackArgs(without("prod-hosts-qdevice-setup")));
        assert.deepEqual(o, { violations: [], notApplicable: "not a two-node cluster" });
    });
});

describe(POLICY.zfsCleanup, () => {
    const zfs = (props: Record<string, unknown>): ResourceSpec => ({
        type: TYPES.zfs,
        name: "prod-zfs-prox1",
        props: { nodeName: "prox1", name: "pool1", raidlevel: "mirror", devices: ["/dev/sdb", "/dev/sdc"], ...props },
    });
    it("accepts a Zfs resource without cleanupDisks, or with it false", async () => {
        assert.deepEqual(await resourceMessages(POLICY.zfsCleanup, zfs({})), []);
        assert.deepEqual(await resourceMessages(POLICY.zfsCleanup, zfs({ cleanupDisks: false })), []);
    });
    it("reports cleanupDisks", async () => {
        assert.deepEqual(await resourceMessages(POLICY.zfsCleanup, zfs({ cleanupDisks: true })), [
            "node.disk.Zfs prod-zfs-prox1 sets cleanupDisks: deleting or replacing it (any edit of its devices, raidlevel, ashift or compression " +
                "replaces it) wipes the pool's disks. Pools are managed by scripts/zpool.sh, which never destroys",
        ]);
    });
});

describe(POLICY.secretInText, () => {
    const message = (cmd: string, field: string, label: string) =>
        `command ${cmd}: its ${field} text contains the value of ${label}. Pass secrets on stdin (a secret Output), never in the command text: ` +
        `it is shown in previews, diffs, logs and error messages`;

    it("reports a secret config value in a command's create text", async () => {
        const specs = mutate("prod-hosts-prox2-join", (p) => void (p.create = `echo ${ROOT_PASSWORD} | pvecm add 10.0.0.11`));
        assert.deepEqual(await stackMessages(POLICY.secretInText, specs), [
            message("prod-hosts-prox2-join", "create", "secret config proxmox-ha:rootPassword"),
        ]);
    });
    it("reports a secret with a quote after POSIX single quoting ('\\'' form), as every script argument is written", async () => {
        const quoted = `it's-a-secret-${"x".repeat(8)}`;
        const cfg = { ...siteConfig(), secrets: { ...siteConfig().secrets, "proxmox-ha:rootPassword": quoted } };
        const specs = mutate(
            "prod-hosts-qdevice-setup",
            (p) => void (p.create = scriptInvocation("qdevice-setup", ["10.0.0.120", quoted])),
        );
        const joinFixed = specs.map((x) =>
            x.name === "prod-hosts-prox2-join" ? { ...x, props: { ...x.props, stdin: `${quoted}\n` } } : x,
        );
        assert.ok(!String(spec(joinFixed, "prod-hosts-qdevice-setup").props.create).includes(quoted), "the raw value is not in the text");
        assert.deepEqual(await stackMessages(POLICY.secretInText, joinFixed, cfg), [
            message("prod-hosts-qdevice-setup", "create", "secret config proxmox-ha:rootPassword"),
        ]);
    });
    it("reports one line of a private key in a delete text", async () => {
        const line = SSH_KEY.split("\n")[1]!;
        const specs = mutate("prod-hosts-qdevice-setup", (p) => void (p.delete = `printf '%s' '${line}' > /root/.ssh/id`));
        assert.deepEqual(await stackMessages(POLICY.secretInText, specs), [
            message("prod-hosts-qdevice-setup", "delete", "secret config proxmox-ha:sshPrivateKey"),
        ]);
    });
    it("reports a bootstrapped API token (known only as the provider's input) in an update text", async () => {
        const cfg = siteConfig();
        const specs = mutate("prod-hosts-qdevice-setup", (p) => void (p.update = `pvesh get /version --token '${API_TOKEN}'`));
        assert.deepEqual(await stackMessages(POLICY.secretInText, specs, cfg), [
            message("prod-hosts-qdevice-setup", "update", "apiToken of provider prod-api-provider"),
        ]);
    });
    it("reports another command's stdin", async () => {
        const specs = happyResources().concat({
            type: TYPES.remoteCommand,
            name: "prod-hosts-api-token-check",
            props: { connection: connection("10.0.0.11"), create: "check", stdin: "tok-9d8c7b6a5f\n", logging: "none" },
            additionalSecretOutputs: ["stdout", "stderr"],
        });
        specs.push({
            type: TYPES.remoteCommand,
            name: "prod-hosts-leak",
            props: { connection: connection("10.0.0.11"), create: "echo tok-9d8c7b6a5f", logging: "stderr" },
        });
        assert.deepEqual(await stackMessages(POLICY.secretInText, specs), [
            message("prod-hosts-leak", "create", "the stdin of command prod-hosts-api-token-check"),
        ]);
    });
    it("does not search for secrets shorter than 6 characters, nor for key armour lines", async () => {
        const cfg = { ...siteConfig(), secrets: { ...siteConfig().secrets, "proxmox-ha:rootPassword": "pw" } };
        const specs = mutate(
            "prod-hosts-qdevice-setup",
            (p) => void (p.create = "test -s key || echo '-----BEGIN OPENSSH PRIVATE KEY-----' pw"),
        );
        const joinFixed = specs.map((s) => (s.name === "prod-hosts-prox2-join" ? { ...s, props: { ...s.props, stdin: "pw\n" } } : s));
        assert.deepEqual(await stackMessages(POLICY.secretInText, joinFixed, cfg), []);
    });
    it("skips a text that is unknown during a preview", async () => {
        const specs = mutate("prod-hosts-qdevice-setup", (p) => void (p.create = UNKNOWN_STRING));
        assert.deepEqual(await stackMessages(POLICY.secretInText, specs), []);
    });
    it("still checks the other commands when a secret source is unknown during a preview", async () => {
        const specs = mutate(
            "prod-hosts-prox2-join",
            (p) => void Object.assign(p, { stdin: UNKNOWN_STRING, update: `x ${ROOT_PASSWORD}` }),
        );
        assert.deepEqual(await stackMessages(POLICY.secretInText, specs), [
            message("prod-hosts-prox2-join", "update", "secret config proxmox-ha:rootPassword"),
        ]);
    });
});

describe(POLICY.secretLogging, () => {
    const join = (edit: (p: Record<string, unknown>) => void, aso?: string[]) =>
        mutate("prod-hosts-prox2-join", (p) => {
            edit(p);
            return aso === undefined ? {} : { additionalSecretOutputs: aso };
        });

    it("accepts a command with stdin, logging none and secret outputs", async () => {
        assert.deepEqual(await stackMessages(POLICY.secretLogging, happyResources()), []);
    });
    it("reports logging that shows output", async () => {
        assert.deepEqual(
            await stackMessages(
                POLICY.secretLogging,
                join((p) => void (p.logging = "stderr")),
            ),
            ['command prod-hosts-prox2-join takes a secret on stdin but its logging is "stderr": set logging: "none"'],
        );
    });
    it("reports logging left at the default", async () => {
        assert.deepEqual(
            await stackMessages(
                POLICY.secretLogging,
                join((p) => void delete p.logging),
            ),
            ['command prod-hosts-prox2-join takes a secret on stdin but its logging is unset (stdoutAndStderr): set logging: "none"'],
        );
    });
    it("reports stderr that is not a secret output", async () => {
        assert.deepEqual(
            await stackMessages(
                POLICY.secretLogging,
                join(() => undefined, ["stdout"]),
            ),
            [
                'command prod-hosts-prox2-join takes a secret on stdin but stderr is not a secret output: add additionalSecretOutputs: ["stdout", "stderr"]',
            ],
        );
    });
    it("reports stdout and stderr that are not secret outputs", async () => {
        assert.deepEqual(
            await stackMessages(
                POLICY.secretLogging,
                join(() => undefined, []),
            ),
            [
                'command prod-hosts-prox2-join takes a secret on stdin but stdout and stderr are not a secret output: add additionalSecretOutputs: ["stdout", "stderr"]',
            ],
        );
    });
    it("treats a stdin that is unknown during a preview as set", async () => {
        assert.deepEqual(
            await stackMessages(
                POLICY.secretLogging,
                join((p) => void Object.assign(p, { stdin: UNKNOWN_STRING, logging: "stderr" })),
            ),
            ['command prod-hosts-prox2-join takes a secret on stdin but its logging is "stderr": set logging: "none"'],
        );
    });
    it("leaves commands without stdin alone", async () => {
        assert.deepEqual(await stackMessages(POLICY.secretLogging, happyResources()), []);
    });
    // A command whose output is a credential, without any stdin: the bootstrapped API token.
    const tokenStep = (edit: (s: ResourceSpec) => Partial<ResourceSpec>) => {
        const specs = happyResources();
        const step: ResourceSpec = {
            type: TYPES.remoteCommand,
            name: "prod-hosts-api-token",
            props: { connection: connection("10.0.0.11"), create: "bash -c 'api-token'", logging: "none" },
            additionalSecretOutputs: ["stdout", "stderr"],
        };
        specs.push({ ...step, ...edit(step) });
        const p = specs.findIndex((s) => s.type === TYPES.proxmoxProvider);
        specs[p] = { ...specs[p]!, propertyDependencies: { apiToken: ["prod-hosts-api-token"] } };
        return specs;
    };
    it("accepts a command whose output feeds a provider's token when it logs nothing and its outputs are secret", async () => {
        assert.deepEqual(
            await stackMessages(
                POLICY.secretLogging,
                tokenStep(() => ({})),
            ),
            [],
        );
    });
    it("reports such a command (no stdin) that logs its output or leaves it plain", async () => {
        assert.deepEqual(
            await stackMessages(
                POLICY.secretLogging,
                tokenStep((s) => ({ props: { ...s.props, logging: "stderr" }, additionalSecretOutputs: [] })),
            ),
            [
                'command prod-hosts-api-token prints a secret (its output feeds the apiToken of prod-api-provider) but its logging is "stderr": set logging: "none"',
                'command prod-hosts-api-token prints a secret (its output feeds the apiToken of prod-api-provider) but stdout and stderr are not a secret output: add additionalSecretOutputs: ["stdout", "stderr"]',
            ],
        );
    });
});

describe(POLICY.firewallAllowlist, () => {
    const locked = (what: string, port: number) =>
        `the cluster firewall is enabled, but no rule admits ${what} (tcp/${port}) from an IP set holding an address other than the cluster ` +
        `nodes' own: the operators would be locked out. List their networks in firewall.managementAllowlist`;

    it("reports an empty allowlist", async () => {
        const specs = mutate("prod-api-fw-ipset-allowlist", (p) => void (p.cidrs = []));
        assert.deepEqual(await stackMessages(POLICY.firewallAllowlist, specs), [locked("SSH", 22), locked("the web UI and API", 8006)]);
    });
    it("does not count nomatch (excluding) entries", async () => {
        const specs = mutate("prod-api-fw-ipset-allowlist", (p) => void (p.cidrs = [{ name: "10.0.0.0/24", nomatch: true }]));
        assert.deepEqual(await stackMessages(POLICY.firewallAllowlist, specs), [locked("SSH", 22), locked("the web UI and API", 8006)]);
    });
    it("does not count an IP set of the nodes' own addresses (as the program's cluster-nodes set), whose rules admit 22 and 8006", async () => {
        const cfg = { ...siteConfig(), nodeAddresses: ["10.0.0.11", "10.0.0.12"] };
        const specs = mutate("prod-api-fw-ipset-allowlist", (p) => void (p.cidrs = []));
        specs.push({
            type: TYPES.ipset,
            name: "prod-api-fw-ipset-nodes",
            props: {
                name: "cluster-nodes",
                cidrs: [
                    { name: "10.0.0.11", comment: "prox1" },
                    { name: "10.0.0.12/32", comment: "prox2" },
                ],
            },
        });
        const rules = specs.find((x) => x.name === "prod-api-fw-rules")!;
        (rules.props.rules as Record<string, unknown>[]).push(
            { action: "ACCEPT", type: "in", proto: "tcp", dport: "22", source: "+cluster-nodes" },
            { action: "ACCEPT", type: "in", proto: "tcp", dport: "8006", source: "+cluster-nodes" },
        );
        assert.deepEqual(await stackMessages(POLICY.firewallAllowlist, specs, cfg), [
            locked("SSH", 22),
            locked("the web UI and API", 8006),
        ]);
        // An operator's address in that set does count.
        (specs.at(-1)!.props.cidrs as { name: string }[]).push({ name: "192.0.2.0/28" });
        assert.deepEqual(await stackMessages(POLICY.firewallAllowlist, specs, cfg), []);
    });
    it("reads the nodes' own addresses from the stack config (addresses, links, VLAN/bridge CIDRs, VXLAN peers)", () => {
        const cfg = siteConfigFrom({
            "proxmox-ha:nodes": JSON.stringify([
                { name: "prox1", address: "10.0.0.11", links: [{ address: "10.10.10.11", priority: 20 }], zfs: { disks: ["/dev/sda"] } },
            ]),
            "proxmox-ha:network": JSON.stringify({
                vlans: [{ tag: 40, addresses: { prox1: "10.40.0.11/24" } }],
                vxlan: { peers: { prox1: "fd00::11" } },
            }),
        });
        assert.deepEqual([...(cfg.nodeAddresses ?? [])].sort(), ["10.0.0.11", "10.10.10.11", "10.40.0.11", "fd00::11"]);
    });
    it("reports a port no rule admits from the allowlist", async () => {
        const specs = mutate(
            "prod-api-fw-rules",
            (p) => void (p.rules = (p.rules as { dport: string }[]).filter((r) => r.dport !== "8006")),
        );
        assert.deepEqual(await stackMessages(POLICY.firewallAllowlist, specs), [locked("the web UI and API", 8006)]);
    });
    it("does not count a node-level IP set", async () => {
        const specs = mutate("prod-api-fw-ipset-allowlist", (p) => void (p.nodeName = "prox1"));
        assert.deepEqual(await stackMessages(POLICY.firewallAllowlist, specs), [locked("SSH", 22), locked("the web UI and API", 8006)]);
    });
    it("reports at the resource that enables the firewall", async () => {
        const specs = mutate("prod-api-fw-ipset-allowlist", (p) => void (p.cidrs = []));
        const o = await runStackPolicy(stackPolicy(POLICY.firewallAllowlist), stackArgs(specs));
        assert.equal(o.violations[0]!.urn, urnOf(spec(happyResources(), "prod-api-fw-enable")));
    });
    it("accepts pve-firewall's own `management` IP set", async () => {
        const specs = without("prod-api-fw-rules").map((s) =>
            s.name === "prod-api-fw-ipset-allowlist" ? { ...s, props: { ...s.props, name: "management" } } : s,
        );
        assert.deepEqual(await stackMessages(POLICY.firewallAllowlist, specs), []);
    });
    it("is not applicable while the firewall is disabled", async () => {
        const specs = mutate("prod-api-fw-enable", (p) => void (p.enabled = false));
        const o = await runStackPolicy(stackPolicy(POLICY.firewallAllowlist), stackArgs(specs));
        assert.deepEqual(o, { violations: [], notApplicable: "the cluster firewall is not enabled" });
    });
    it("reads dport lists, ranges and service names", () => {
        assert.equal(dportCovers("22", 22), true);
        assert.equal(dportCovers("80,8006", 8006), true);
        assert.equal(dportCovers("8000:8010", 8006), true);
        assert.equal(dportCovers("ssh", 22), true);
        assert.equal(dportCovers("2222", 22), false);
        assert.equal(dportCovers("8007:8010", 8006), false);
    });
});

describe(POLICY.rpo, () => {
    const job = (props: Record<string, unknown>) =>
        spec(
            mutate("prod-api-replication-101-492612", (p) => void Object.assign(p, props)),
            "prod-api-replication-101-492612",
        );
    const withTarget = (rpoTarget: string) => ({ ...siteConfig(), rpoTarget });

    it("accepts a schedule within the target", async () => {
        assert.deepEqual(await resourceMessages(POLICY.rpo, job({})), []);
    });
    it("reports a schedule beyond the target", async () => {
        assert.deepEqual(await resourceMessages(POLICY.rpo, job({ schedule: "*/15" })), [
            'replication job 101-492612 runs on schedule "*/15": a failover can lose up to 15 min of writes, more than replication.rpoTarget 10m',
        ]);
    });
    it("applies the provider's default schedule (*/15) when none is set", async () => {
        const s = job({});
        delete (s.props as { schedule?: string }).schedule;
        assert.deepEqual(await resourceMessages(POLICY.rpo, s), [
            'replication job 101-492612 runs on schedule "*/15": a failover can lose up to 15 min of writes, more than replication.rpoTarget 10m',
        ]);
    });
    it("measures the longest gap, not the usual one", async () => {
        // Every 5 minutes during working hours: the night gap is 14 h 5 min (17:55 to 08:00).
        assert.deepEqual(await resourceMessages(POLICY.rpo, job({ schedule: "8..17:00/5" }), withTarget("1h")), [
            'replication job 101-492612 runs on schedule "8..17:00/5": a failover can lose up to 14 h 5 min of writes, more than replication.rpoTarget 1h',
        ]);
    });
    it("accepts a worst case equal to the target, in seconds too", async () => {
        assert.deepEqual(await resourceMessages(POLICY.rpo, job({ schedule: "daily" }), withTarget("1d")), []);
        assert.deepEqual(await resourceMessages(POLICY.rpo, job({ schedule: "*/1" }), withTarget("90s")), []);
        assert.equal((await resourceMessages(POLICY.rpo, job({ schedule: "*/2" }), withTarget("90s"))).length, 1);
    });
    it("reports a schedule that cannot be analysed", async () => {
        assert.deepEqual(await resourceMessages(POLICY.rpo, job({ schedule: "*/0" })), [
            'replication job 101-492612 has schedule "*/0", which cannot be analysed: minute step in "*/0" must be at least 1',
        ]);
    });
    it("skips a disabled job and a schedule unknown during a preview", async () => {
        assert.deepEqual(await resourceMessages(POLICY.rpo, job({ schedule: "*/15", disable: true })), []);
        assert.deepEqual(await resourceMessages(POLICY.rpo, job({ schedule: UNKNOWN_STRING })), []);
    });
    it("is not applicable without replication.rpoTarget", async () => {
        const cfg: SiteConfig = { nodes: ["prox1", "prox2"], secrets: {} };
        const o = await runResourcePolicy(resourcePolicy(POLICY.rpo, cfg), resourceArgs(job({ schedule: "*/15" })));
        assert.deepEqual(o, { violations: [], notApplicable: "the stack declares no replication.rpoTarget" });
    });
});

describe("siteConfigFrom", () => {
    it("reads nodes and the RPO target from a committed stack, as the engine passes config", () => {
        const cfg = siteConfigFrom(readStack("dc2").config);
        assert.deepEqual(
            { ...cfg, nodeAddresses: [...(cfg.nodeAddresses ?? [])].sort() },
            {
                nodes: ["dca-pve1", "dcb-pve1"],
                rpoTarget: "10m",
                secrets: {},
                // Management, corosync links and the VLAN addresses of both nodes.
                nodeAddresses: [
                    "172.16.1.11",
                    "172.16.2.11",
                    "172.31.1.11",
                    "172.31.1.12",
                    "172.31.2.11",
                    "172.31.2.12",
                    "172.31.3.11",
                    "172.31.3.12",
                ],
            },
        );
    });
    it("reads the secret config keys and nothing else as secrets", () => {
        const cfg = siteConfigFrom({
            "proxmox-ha:nodes": JSON.stringify([{ name: "a" }, { name: "b" }]),
            "proxmox-ha:rootPassword": ROOT_PASSWORD,
            "proxmox-ha:apiToken": "",
            "proxmox-ha:cluster": JSON.stringify({ name: "x" }),
            "proxmoxve:password": "not-ours",
        });
        assert.deepEqual(cfg, { nodes: ["a", "b"], secrets: { "proxmox-ha:rootPassword": ROOT_PASSWORD }, nodeAddresses: [] });
    });
});

describe("resource types", () => {
    it("are the pinned providers' tokens", () => {
        assert.deepEqual(TYPES, {
            remoteCommand: "command:remote:Command",
            localCommand: "command:local:Command",
            haresource: "proxmoxve:index/haresource:Haresource",
            harule: "proxmoxve:index/harule:Harule",
            replication: "proxmoxve:index/replication:Replication",
            vmLegacy: "proxmoxve:index/vmLegacy:VmLegacy",
            containerLegacy: "proxmoxve:index/containerLegacy:ContainerLegacy",
            downloadFile: "proxmoxve:download/file:File",
            vm: "proxmoxve:index/vm:Vm",
            zfs: "proxmoxve:node/disk/zfs:Zfs",
            clusterFirewall: "proxmoxve:cluster/firewallLegacy:FirewallLegacy",
            ipset: "proxmoxve:firewall/ipsetLegacy:IpsetLegacy",
            firewallRules: "proxmoxve:firewall/rulesLegacy:RulesLegacy",
            proxmoxProvider: "pulumi:providers:proxmoxve",
        });
    });
});
