/**
 * Proves: the stack outputs of the reference site carry what an operator
 * reads after `pulumi up`: nodes, storage, guests with their home node,
 * replication jobs with worst-case RPO, the HA summary, quorum facts, nodes
 * needing a reboot (from the watchdog step's output), and zrepl's state.
 * Does not prove: values only a real run knows (the mocks answer the watchdog
 * step with a fixed stdout, as the script prints it).
 */
import { describe, it } from "node:test";
import * as assert from "node:assert/strict";
import { main } from "../../components/program";
import { evaluate } from "../../tools/lib/mock-runtime";
import { readStack } from "../../tools/lib/stack";

async function summaryOf(stack: string, watchdogOut: (name: string) => string) {
    const cfg = readStack(stack);
    const config = {
        ...cfg.config,
        "proxmox-ha:sshPrivateKey": "k",
        "proxmox-ha:rootPassword": "p",
        "proxmox-ha:apiCertificate": "c",
        "proxmox-ha:apiCertificateKey": "ck",
    };
    const ev = await evaluate(() => main(), {
        config,
        secretKeys: ["proxmox-ha:sshPrivateKey", "proxmox-ha:rootPassword", "proxmox-ha:apiCertificate", "proxmox-ha:apiCertificateKey"],
        stack,
        outputs: (_type, name) => ({
            stdout: name.endsWith("-watchdog")
                ? watchdogOut(name)
                : name.endsWith("-cluster-create")
                  ? // As cluster-create.sh prints it when asked for the token (the stack has no apiToken).
                    `cluster=${stack} action=created\nfingerprint=${Array(32).fill("AB").join(":")}\n` +
                    "pubkey=ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7 root@prox1\n" +
                    "token=root@pam!pulumi=00000000-0000-0000-0000-000000000000\n"
                  : "",
            stderr: "",
        }),
    });
    return new Promise<Record<string, any>>((resolve) => ev.result.outputs.summary.apply(resolve));
}

describe("stack outputs", () => {
    it("summarize the reference site", async () => {
        const s = await summaryOf("prod", (name) =>
            name.includes("prox2")
                ? "module=softdog active=iTCO_wdt reboot-required=yes\n"
                : "module=softdog active=softdog reboot-required=no\n",
        );
        assert.deepEqual(s.nodes, [
            { name: "prox1", address: "10.0.0.11", pool: "pool1", watchdog: "softdog" },
            { name: "prox2", address: "10.0.0.12", pool: "pool1", watchdog: "softdog" },
        ]);
        assert.deepEqual(s.storage, { id: "pool1", pool: "pool1", nodes: ["prox1", "prox2"], thinProvision: true });
        assert.deepEqual(
            s.guests.map((g: any) => [g.vmid, g.name, g.homeNode, g.ha]),
            [[101, "fw", "prox1", true]],
        );
        assert.deepEqual(
            s.replicationJobs.map((j: any) => [j.id, j.target, j.schedule, j.worstCaseRpoMinutes]),
            [["101-492612", "prox2", "*/5", 5]],
        );
        assert.deepEqual(
            s.ha.resources.map((r: any) => [r.sid, r.state]),
            [["vm:101", "started"]],
        );
        assert.deepEqual(s.quorum, { nodeVotes: 2, qdeviceVotes: 1, expectedVotes: 3, quorum: 2, qdeviceAlgorithm: "ffsplit" });
        assert.deepEqual(s.rebootRequired, ["prox2"]);
        assert.deepEqual(s.zrepl, { enabled: false });
        assert.ok(s.survives.every((f: any) => f.survives));
    });
});
