/**
 * Proves: the stack key `import` (written by `npm run adopt`) puts Pulumi's
 * `import` resource option, with the given provider id, on exactly the named
 * Proxmox resources and on nothing else; a name that matches no resource of
 * the program is refused with the key path before anything is applied.
 * Does not prove: what the provider reads back for those ids (the ids'
 * formats are the bpg provider's importers, checked in test/adopt).
 */
import { describe, it } from "node:test";
import * as assert from "node:assert/strict";
import { failureOf, runRaw, variant } from "./harness";

describe("stack key import", () => {
    it("sets the import option on the named resources only", async () => {
        const run = await runRaw(
            variant((r) => {
                r.guests[0].replicationJobIds = { prox2: "101-0" };
                r.import = { "prod-api-vm-101": "prox1/101", "prod-api-replication-101-0": "101-0", "prod-api-storage": "pool1" };
            }),
        );
        const imported = run.records.filter((r) => r.importId !== undefined).map((r) => [r.name, r.importId]);
        assert.deepEqual(imported.sort(), [
            ["prod-api-replication-101-0", "101-0"],
            ["prod-api-storage", "pool1"],
            ["prod-api-vm-101", "prox1/101"],
        ]);
    });

    it("refuses a name that is no resource of the program", async () => {
        const e = await failureOf(variant((r) => (r.import = { "prod-api-vm-999": "prox1/999" })));
        assert.match(e.message, /proxmox-ha:import\.prod-api-vm-999: names no Proxmox resource this stack declares/);
    });
});
