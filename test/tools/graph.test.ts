/**
 * Proves: the stage computation of tools/lib/graph.ts on hand-built records —
 * explicit edges, a dependency on a component standing for its custom
 * descendants, providers taking no stage but passing on what they wait for,
 * and cycle detection.
 * Does not prove: that the Pulumi engine schedules exactly so (no engine here);
 * the rule "a component dependency means its descendants" is the SDK's.
 */
import { describe, it } from "node:test";
import * as assert from "node:assert/strict";
import { stages, waitsFor } from "../../tools/lib/graph";
import type { RecordedResource } from "../../tools/lib/mock-runtime";

function rec(name: string, o: Partial<RecordedResource> = {}): RecordedResource {
    return {
        urn: `urn:${name}`,
        type: o.type ?? "command:remote:Command",
        name,
        custom: o.custom ?? true,
        dependsOn: o.dependsOn ?? [],
        inputs: {},
        secretInputs: [],
        protect: false,
        retainOnDelete: false,
        ignoreChanges: [],
        replaceOnChanges: [],
        additionalSecretOutputs: [],
        ...o,
    } as RecordedResource;
}

const names = (rs: RecordedResource[]) => stages(rs).map((s) => s.resources.map((r) => r.name));

describe("stages", () => {
    it("orders explicit edges and runs independent steps together", () => {
        assert.deepEqual(names([rec("a"), rec("b"), rec("c", { dependsOn: ["urn:a"] })]), [["a", "b"], ["c"]]);
    });
    it("expands a component dependency into its custom descendants", () => {
        const rs = [
            rec("comp", { custom: false, type: "x:index:C" }),
            rec("inner", { parent: "urn:comp" }),
            rec("after", { dependsOn: ["urn:comp"] }),
        ];
        assert.deepEqual(names(rs), [["inner"], ["after"]]);
    });
    it("takes no stage for a provider but waits for what the provider waits for", () => {
        const rs = [
            rec("token"),
            rec("provider", { type: "pulumi:providers:proxmoxve", dependsOn: ["urn:token"] }),
            rec("storage", { type: "proxmoxve:storage/zfspool:Zfspool", provider: "urn:provider::provider-id" }),
        ];
        assert.deepEqual(names(rs), [["token"], ["storage"]]);
        assert.equal(waitsFor(rs, "urn:storage", "urn:token"), true);
    });
    it("refuses a cycle", () => {
        assert.throws(() => stages([rec("a", { dependsOn: ["urn:b"] }), rec("b", { dependsOn: ["urn:a"] })]), /dependency cycle/);
    });
});
