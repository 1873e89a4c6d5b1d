/**
 * The provider's endpoint and TLS mode, and the steps of hosts declared down,
 * as the real program declares them under the mock runtime (issue #11
 * points 3 and 5).
 *
 * Proves: with verified TLS (prod) the provider verifies (insecure false),
 * talks to the first node and, with it every API resource, waits for that
 * node's api-certificate step (which waits for every membership step); every
 * node gets one; PROXMOX_HA_API_NODE=prox2 moves the endpoint and the wait
 * to prox2 and changes nothing else; with apiInsecure (lab) there is no
 * certificate step and the provider skips verification; PROXMOX_HA_DOWN_NODES
 * gives every step of that host `ignoreChanges` on all its inputs and one
 * 5 s dial, moves the endpoint to the first node up, and leaves every other
 * host's steps byte-identical (no update is planned for them).
 * Does NOT prove: that the engine plans no update under ignoreChanges (Pulumi
 * documents it), nor that the bridged provider treats an endpoint change as
 * an update and not a replacement.
 */
import * as assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DOWN_IGNORE_CHANGES } from "../../components/remote";
import { ENV_API_NODE, ENV_DOWN } from "../../components/access";
import { one, runStack, type Run } from "./harness";

const PROVIDER = "pulumi:providers:proxmoxve";
const CMD = "command:remote:Command";

async function withEnv(env: Record<string, string>, stack: string): Promise<Run> {
    const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
    Object.assign(process.env, env);
    try {
        return await runStack(stack);
    } finally {
        for (const [k, v] of Object.entries(saved)) {
            if (v === undefined) delete process.env[k];
            else process.env[k] = v;
        }
    }
}

const urn = (run: Run, name: string) => run.records.find((r) => r.name === name)!.urn;
const commands = (run: Run) => run.records.filter((r) => r.type === CMD);

describe("API endpoint and TLS (prod: verified)", () => {
    it("verifies TLS against the first node, after that node's certificate step; every node gets one, after every membership", async () => {
        const run = await runStack("prod");
        const p = one(run.records, PROVIDER, "prod-api-provider");
        assert.equal(p.inputs.endpoint, "https://10.0.0.11:8006");
        assert.equal(p.inputs.insecure, "false");
        assert.deepEqual(p.dependsOn, [urn(run, "prod-hosts-prox1-api-certificate")]);
        for (const n of ["prox1", "prox2"]) {
            const c = one(run.records, CMD, `prod-hosts-${n}-api-certificate`);
            const address = n === "prox1" ? "10.0.0.11" : "10.0.0.12";
            assert.ok(String(c.inputs.create).endsWith(` 'api-certificate' '${n}' '${address}'`), String(c.inputs.create).slice(-60));
            for (const dep of ["prod-hosts-cluster-create", "prod-hosts-prox2-join"])
                assert.ok(c.dependsOn.includes(urn(run, dep)), `${n} after ${dep}`);
        }
    });
    it("PROXMOX_HA_API_NODE=prox2 moves the endpoint and its wait to prox2, and nothing else", async () => {
        const base = await runStack("prod");
        const run = await withEnv({ [ENV_API_NODE]: "prox2" }, "prod");
        const p = one(run.records, PROVIDER, "prod-api-provider");
        assert.equal(p.inputs.endpoint, "https://10.0.0.12:8006");
        assert.deepEqual(p.dependsOn, [urn(run, "prod-hosts-prox2-api-certificate")]);
        const others = (r: Run) => JSON.stringify(r.records.filter((x) => x.type !== PROVIDER).map((x) => [x.name, x.inputs]));
        assert.equal(others(run), others(base));
    });
});

describe("API endpoint and TLS (lab: apiInsecure)", () => {
    it("skips verification, waits for no certificate step, and has none", async () => {
        const run = await runStack("lab");
        const p = one(run.records, PROVIDER, "lab-api-provider");
        assert.equal(p.inputs.insecure, "true");
        assert.deepEqual(p.dependsOn, []);
        assert.deepEqual(
            run.records.filter((r) => r.name.endsWith("-api-certificate")),
            [],
        );
    });
});

describe("hosts declared down (PROXMOX_HA_DOWN_NODES)", () => {
    it("prox1 down: its steps keep their state and dial once; the API goes through prox2; prox2's and qnetd's steps are unchanged", async () => {
        const base = await runStack("prod");
        const run = await withEnv({ [ENV_DOWN]: "prox1" }, "prod");
        assert.equal(one(run.records, PROVIDER, "prod-api-provider").inputs.endpoint, "https://10.0.0.12:8006");
        const onProx1 = (name: string) => /-prox1-|cluster-create$|qdevice-setup$|api-notifications$/.test(name);
        const down = commands(run).filter((c) => onProx1(c.name));
        assert.ok(down.length >= 6, down.map((c) => c.name).join(", "));
        for (const c of down) {
            assert.deepEqual([...c.ignoreChanges].sort(), [...DOWN_IGNORE_CHANGES].sort(), c.name);
            // The connection carries the SSH key: recorded in its secret wrapper.
            const wrapped = c.inputs.connection as Record<string, unknown>;
            const conn = (wrapped.value ?? wrapped) as Record<string, unknown>;
            assert.deepEqual([conn.dialErrorLimit, conn.perDialTimeout], [1, 5], c.name);
        }
        const up = (r: Run) =>
            JSON.stringify(
                commands(r)
                    .filter((c) => !onProx1(c.name))
                    .map((c) => [c.name, c.inputs, c.ignoreChanges]),
            );
        assert.equal(up(run), up(base));
        for (const c of commands(base)) assert.deepEqual(c.ignoreChanges, [], `${c.name} ignores nothing normally`);
    });
});
