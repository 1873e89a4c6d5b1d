/**
 * Proves: the floor spec keeps exactly the recorded custom resources (types,
 * names, inputs, provider, additionalSecretOutputs) in registration order,
 * turns dependencies into indexes (a dependency on a component becomes its
 * custom descendants), refuses forward references; type tokens map to the
 * SDK class paths of the provider packages; secrets are re-wrapped; provider
 * inputs return from wire JSON text to plain values.
 * Does not prove: that registering the spec reproduces the inputs (the bench
 * checks that on every run and prints it as "floor fidelity"), nor timing.
 */
import { describe, it } from "node:test";
import * as assert from "node:assert/strict";
import type { RecordedResource } from "../../tools/lib/mock-runtime";
import { classPath, floorSpec, providerArgs, secretLeaves } from "../../bench/lib/floor";

const SECRET = { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", value: "k" };

function rec(name: string, extra: Partial<RecordedResource> = {}): RecordedResource {
    return {
        urn: `urn:${name}`,
        type: "command:remote:Command",
        name,
        custom: true,
        dependsOn: [],
        inputs: { create: name },
        secretInputs: [],
        protect: false,
        retainOnDelete: false,
        propertyDependencies: {},
        deleteBeforeReplace: false,
        ignoreChanges: [],
        replaceOnChanges: [],
        additionalSecretOutputs: [],
        ...extra,
    };
}

describe("floorSpec", () => {
    it("custom resources only, dependencies as indexes, components expanded", () => {
        const records = [
            rec("site", { custom: false, type: "proxmox-ha:index:Site" }),
            rec("hosts", { custom: false, type: "proxmox-ha:hosts:HostBootstrap", parent: "urn:site" }),
            rec("ready", { parent: "urn:hosts" }),
            rec("pool", { parent: "urn:hosts", dependsOn: ["urn:ready"], additionalSecretOutputs: ["stdout"] }),
            rec("prov", { type: "pulumi:providers:proxmoxve", inputs: { insecure: "false" } }),
            rec("vm", { type: "proxmoxve:index/vmLegacy:VmLegacy", provider: "urn:prov::prov-id", dependsOn: ["urn:hosts"] }),
        ];
        const spec = floorSpec(records);
        assert.deepEqual(
            spec.map((s) => s.name),
            ["ready", "pool", "prov", "vm"],
        );
        assert.deepEqual(spec[1]!.dependsOn, [0]);
        assert.deepEqual(spec[1]!.additionalSecretOutputs, ["stdout"]);
        assert.equal(spec[3]!.provider, 2);
        assert.deepEqual(spec[3]!.dependsOn, [0, 1], "the component dependency became its custom children");
        assert.deepEqual(spec[3]!.inputs, { create: "vm" });
    });

    it("refuses a dependency on a later resource", () => {
        assert.throws(() => floorSpec([rec("a", { dependsOn: ["urn:b"] }), rec("b")]), /depends on a later resource/);
    });
});

describe("classPath", () => {
    it("maps type tokens to SDK exports", () => {
        assert.deepEqual(classPath("proxmoxve:index/vmLegacy:VmLegacy"), { pkg: "proxmoxve", path: ["VmLegacy"] });
        assert.deepEqual(classPath("proxmoxve:network/linux/vlan:Vlan"), { pkg: "proxmoxve", path: ["network", "linux", "Vlan"] });
        assert.deepEqual(classPath("proxmoxve:cluster/firewallLegacy:FirewallLegacy"), {
            pkg: "proxmoxve",
            path: ["cluster", "FirewallLegacy"],
        });
        assert.deepEqual(classPath("proxmoxve:sdn/zone/vxlan:Vxlan"), { pkg: "proxmoxve", path: ["sdn", "zone", "Vxlan"] });
        assert.deepEqual(classPath("command:remote:Command"), { pkg: "command", path: ["remote", "Command"] });
        assert.deepEqual(classPath("pulumi:providers:proxmoxve"), { pkg: "proxmoxve", path: ["Provider"] });
        assert.throws(() => classPath("nonsense"), /not a type token/);
    });
});

describe("inputs", () => {
    it("re-wraps wire secrets, nested and in arrays", () => {
        const out = secretLeaves({ a: SECRET, b: [SECRET, 1], c: { d: "x" } }, (v) => ({ wrapped: v }));
        assert.deepEqual(out, { a: { wrapped: "k" }, b: [{ wrapped: "k" }, 1], c: { d: "x" } });
    });

    it("provider inputs: wire JSON text back to plain values, strings kept", () => {
        assert.deepEqual(providerArgs({ insecure: "false", endpoint: "https://10.0.0.11:8006", n: "3", s: '"q"', t: SECRET }), {
            insecure: false,
            endpoint: "https://10.0.0.11:8006",
            n: 3,
            s: '"q"',
            t: SECRET,
        });
    });
});
