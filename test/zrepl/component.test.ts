/**
 * Proves, under Pulumi mocks (tools/lib/mock-runtime.ts): ZreplReplication
 * creates, per node and in this order, exactly the install, config and
 * repair-timer commands, whose command text is the exact script invocation
 * with the stack's repository/key/fingerprint, the generated YAML and root
 * datasets, and the repair tool with its units; install waits for that node's
 * pool and cluster membership, config for install (and the pool), repair for
 * config; switching zrepl off runs zrepl-disable (and nothing that removes
 * data); no secret reaches a command text; two evaluations give identical
 * inputs; the outputs say zrepl is on and where each node's copies land. With
 * zrepl disabled (the committed reference stack) the whole program registers
 * no zrepl resource, and a disabled component creates nothing; with zrepl
 * enabled in the whole program, each node's install waits for that node's pool
 * and membership steps of the real HostBootstrap. Stages that do not cover
 * every node are refused.
 * Does NOT prove: what the commands do on a node (test/zrepl/*.test.ts run the
 * scripts), nor what the real engine does with these registrations.
 */
import { describe, it } from "node:test";
import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { evaluate, type RecordedResource } from "../../tools/lib/mock-runtime";
import { ZreplReplication, repairToolText } from "../../components/zrepl/zrepl";
import { repairUnits, zreplConfigYaml } from "../../components/zrepl/config";
import { scriptInvocation } from "../../components/remote";
import type { BootstrapStages } from "../../components/hosts/bootstrap";
import type { Site } from "../../components/model";
import { plan } from "../../tools/plan";
import { readStack } from "../../tools/lib/stack";
import { main } from "../../components/program";
import { nodeOf, prodSite } from "./site";

const SIG = "4dabf18193072939515e22adb298388d";
const SECRET_VALUE = "1b47061264138c4ac30d75fd1eb44270";
const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nnot-a-real-key\n-----END OPENSSH PRIVATE KEY-----";

/** Stand-in for one bootstrap step, so dependsOn can be checked by URN. */
class Stage extends pulumi.CustomResource {
    constructor(name: string) {
        super("test:index:Stage", name, {});
    }
}

function stages(site: Site, count = site.nodes.length): BootstrapStages {
    const stage = (role: string, n: string) => new Stage(`${role}-${n}`);
    const names = site.nodes.slice(0, count).map((n) => n.name);
    return { pools: names.map((n) => stage("pool", n)), watchdogs: [], cluster: names.map((n) => stage("member", n)) };
}

async function build(site: Site, count?: number) {
    return evaluate(
        () => {
            const after = stages(site, count);
            const zr = new ZreplReplication("zr", { site, ssh: { privateKey: pulumi.secret(KEY), previewOnly: false }, after }, {});
            return { zr };
        },
        { config: {} },
    );
}

const byName = (rs: RecordedResource[], name: string) => {
    const r = rs.find((x) => x.name === name);
    assert.ok(r, `no resource ${name}`);
    return r;
};
const unwrap = <T>(o: pulumi.Output<T>) => new Promise<T>((resolve) => o.apply(resolve));

describe("ZreplReplication under mocks", () => {
    const site = prodSite();

    it("creates install → config → repair per node with the exact script invocations", async () => {
        const { resources } = await build(site);
        const zr = byName(resources, "zr");
        assert.equal(zr.type, "proxmox-ha:zrepl:Zrepl");
        const children = resources.filter((r) => r.parent === zr.urn);
        // Registration order is the SDK's (it waits for dependencies); the order of work is dependsOn, checked below.
        assert.deepEqual(
            children.map((r) => `${r.type} ${r.name}`).sort(),
            ["prox1", "prox2"].flatMap((n) => ["config", "install", "repair"].map((role) => `command:remote:Command zr-${n}-${role}`)),
        );
        const apt = site.zrepl.apt;
        for (const [name, peer] of [
            ["prox1", "prox2"],
            ["prox2", "prox1"],
        ] as const) {
            const node = nodeOf(site, name);
            const install = byName(resources, `zr-${name}-install`);
            const config = byName(resources, `zr-${name}-config`);
            const repair = byName(resources, `zr-${name}-repair`);
            assert.equal(install.inputs.create, scriptInvocation("zrepl-install", [apt.url, apt.keyUrl, apt.fingerprint]));
            assert.equal(config.inputs.create, scriptInvocation("zrepl-config", [zreplConfigYaml(site, node), "pool1/zrepl", peer]));
            const units = repairUnits(site, node);
            assert.equal(repair.inputs.create, scriptInvocation("zrepl-repair-install", [repairToolText(), units.service, units.timer]));
            const expectInputs = (r: RecordedResource, text: string, del?: string) =>
                assert.deepEqual(r.inputs, {
                    addPreviousOutputInEnv: false,
                    connection: {
                        [SIG]: SECRET_VALUE,
                        value: {
                            host: node.address,
                            port: node.sshPort,
                            user: "root",
                            privateKey: KEY,
                            hostKey: node.sshHostKey,
                            dialErrorLimit: 10,
                            perDialTimeout: 15,
                        },
                    },
                    create: text,
                    update: text,
                    ...(del ? { delete: del } : {}),
                    logging: "stderr",
                    // With a delete script, a new address or host key is an update, not a replacement
                    // (a replacement would run zrepl-disable on the old identity): components/remote.ts commandTriggers.
                    triggers: del ? [node.name] : [node.name, node.address, node.sshHostKey],
                });
            expectInputs(install, install.inputs.create as string);
            expectInputs(config, config.inputs.create as string, scriptInvocation("zrepl-disable", ["daemon"]));
            expectInputs(repair, repair.inputs.create as string, scriptInvocation("zrepl-disable", ["repair-timer"]));
            // A replacement (new node name) deletes first: the old command's zrepl-disable never runs after the new config.
            assert.deepEqual(
                [install, config, repair].map((r) => r.deleteBeforeReplace),
                [false, true, true],
            );
            for (const r of [install, config, repair]) {
                assert.deepEqual(r.secretInputs, ["connection"]);
                assert.ok(!String(r.inputs.create).includes("not-a-real-key"), "no secret in the command text");
            }
            // (install has no delete: the package is never removed)

            const urnOf = (n: string) => byName(resources, n).urn;
            assert.deepEqual(install.dependsOn, [urnOf(`member-${name}`), urnOf(`pool-${name}`)].sort());
            assert.deepEqual(config.dependsOn, [install.urn, urnOf(`pool-${name}`)].sort());
            assert.deepEqual(repair.dependsOn, [config.urn]);
        }
    });

    it("says where each node's copies land", async () => {
        const { result } = await build(site);
        assert.equal(await unwrap(result.zr.enabled), true);
        assert.deepEqual(await unwrap(result.zr.copies), [
            { node: "prox1", on: "prox2", dataset: "pool1/zrepl/prox1", job: "pve_pull_prox1" },
            { node: "prox2", on: "prox1", dataset: "pool1/zrepl/prox2", job: "pve_pull_prox2" },
        ]);
        assert.deepEqual(await unwrap(result.zr.ports), [8888]);
    });

    it("gives identical inputs on a second evaluation", async () => {
        const a = await build(site);
        const b = await build(prodSite());
        const strip = (rs: RecordedResource[]) => JSON.stringify(rs.map((r) => ({ t: r.type, n: r.name, i: r.inputs, d: r.dependsOn })));
        assert.equal(strip(a.resources), strip(b.resources));
    });

    it("creates nothing when zrepl is disabled", async () => {
        const off = prodSite((raw) => (raw.zrepl = { enabled: false }));
        const { resources, result } = await build(off);
        assert.deepEqual(
            resources.filter((r) => r.type !== "test:index:Stage").map((r) => r.name),
            ["zr"],
        );
        assert.equal(await unwrap(result.zr.enabled), false);
        assert.deepEqual(await unwrap(result.zr.copies), []);
    });

    it("refuses stages that do not cover every node", async () => {
        await assert.rejects(
            build(site, 1),
            /zrepl needs one pool and one membership step per node \(got 1 pools and 1 membership steps for 2 nodes\)/,
        );
    });
});

describe("the whole program", () => {
    it("registers no zrepl resource for the reference stack (zrepl off)", async () => {
        const p = await plan("prod");
        assert.equal(p.ok, true);
        const zrepl = p.records!.filter((r) => r.type.startsWith("proxmox-ha:zrepl") || /zrepl/.test(r.name));
        assert.deepEqual(zrepl, []);
        assert.ok(p.records!.length > 3);
    });
});

describe("the whole program with zrepl enabled", () => {
    it("orders each node's zrepl install after that node's pool and membership steps of the host bootstrap", async () => {
        const st = readStack("prod");
        const config: Record<string, string> = { ...st.config, "proxmox-ha:zrepl": JSON.stringify({ enabled: true }) };
        const secretKeys = [...st.secretKeys];
        for (const k of st.missingSecrets) {
            config[k] = "placeholder";
            secretKeys.push(k);
        }
        const { resources, result } = await evaluate(() => main(), { config, secretKeys, outputs: () => ({ stdout: "", stderr: "" }) });
        const stages = result.component.hosts.stages;
        const urns = async (rs: readonly pulumi.Resource[]) => Promise.all(rs.map((r) => unwrap(r.urn)));
        const pools = await urns(stages.pools);
        const members = await urns(stages.cluster);
        result.site.nodes.forEach((n, i) => {
            const install = byName(resources, `prod-zrepl-${n.name}-install`);
            assert.ok(install.dependsOn.includes(pools[i]!), `${n.name} install waits for its pool`);
            assert.ok(install.dependsOn.includes(members[i]!), `${n.name} install waits for its membership`);
        });
        assert.equal(resources.filter((r) => r.type === "proxmox-ha:zrepl:Zrepl").length, 1);
    });
});
