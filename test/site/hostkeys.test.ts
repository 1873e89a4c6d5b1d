/**
 * Proves (issue #13): a wrong `sshHostKey` fails at once, before any resource
 * is registered, naming the key the host presented, instead of ssh-ready
 * retrying its dial for ten minutes (@pulumi/command 1.2.1 retries every dial
 * error, host-key mismatch included: provider/pkg/provider/remote/
 * connection.go, dialWithRetry). The probe runs against a real OpenSSH server
 * on loopback with a throwaway host key: the right key passes, a wrong one is
 * one exact problem, a port where nothing listens is no problem (a booting
 * host is left to the steps' retries), and the probe authenticates nothing.
 * Does not prove: the Pulumi CLI's own rendering of the thrown error.
 */
import { describe, it, before, after } from "node:test";
import * as assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { hostKeyProblems, probeHostKey } from "../../components/hostkeys";
import { checkedMain } from "../../components/program";
import { SiteValidationError, validateSite } from "../../components/validate";
import { canConnect, freePort, stopChildren } from "../harness/processes";
import { keyPair } from "../harness/hosts";
import { mutate } from "./fixtures";

const ADDRESS = "127.0.0.1";
let dir: string;
let sshd: ChildProcess;
let port: number;
let hostKey: string;
let otherKey: string;

before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), `proxmox-ha-hostkeys-${process.pid}-`));
    hostKey = keyPair(path.join(dir, "host"));
    otherKey = keyPair(path.join(dir, "other"));
    port = await freePort(ADDRESS);
    fs.mkdirSync("/run/sshd", { recursive: true });
    const log = fs.openSync(path.join(dir, "sshd.log"), "a");
    sshd = spawn(
        "/usr/sbin/sshd",
        [
            "-D",
            "-e",
            "-f",
            "/dev/null",
            "-h",
            path.join(dir, "host"),
            "-p",
            String(port),
            "-o",
            `ListenAddress=${ADDRESS}`,
            "-o",
            "PidFile=none",
        ],
        { stdio: ["ignore", log, log] },
    );
    fs.closeSync(log);
    for (let i = 0; !(await canConnect(ADDRESS, port)); i++) {
        if (sshd.exitCode !== null || i > 500)
            throw new Error(`sshd did not start: ${fs.readFileSync(path.join(dir, "sshd.log"), "utf8")}`);
        await new Promise((r) => setTimeout(r, 20));
    }
});
after(async () => {
    await stopChildren([sshd]);
    fs.rmSync(dir, { recursive: true, force: true });
});

function site(key: () => string, qdeviceKey?: () => string) {
    return validateSite(
        mutate((r) => {
            r.nodes[1].address = ADDRESS;
            r.nodes[1].sshPort = port;
            r.nodes[1].sshHostKey = key();
            if (qdeviceKey) r.qdevice.sshHostKey = qdeviceKey();
        }),
    ).site!;
}

/** Only the loopback host answers; the example addresses are never dialled. */
const loopbackOnly: typeof probeHostKey = (t, ms) => (t.address === ADDRESS ? probeHostKey(t, ms) : Promise.resolve(undefined));

describe("host key check before any resource", () => {
    it("the key the server presents is read without authenticating", async () => {
        assert.equal(await probeHostKey({ address: ADDRESS, port, hostKey: otherKey }, 5000), hostKey);
        assert.doesNotMatch(fs.readFileSync(path.join(dir, "sshd.log"), "utf8"), /Accepted|Failed (publickey|password)/);
    });
    it("the pinned key passes", async () => {
        assert.deepEqual(
            await hostKeyProblems(
                site(() => hostKey),
                loopbackOnly,
            ),
            [],
        );
    });
    it("a wrong pinned key is one problem naming the presented key", async () => {
        assert.deepEqual(
            await hostKeyProblems(
                site(() => otherKey),
                loopbackOnly,
            ),
            [
                {
                    path: "proxmox-ha:nodes[1].sshHostKey",
                    message: `prox2 (${ADDRESS}:${port}) presents the host key "${hostKey}", not the pinned one; if the host was reinstalled, pin what it presents (check it out of band first): ssh-keyscan -t ssh-ed25519 -p ${port} ${ADDRESS} | cut -d' ' -f2-`,
                },
            ],
        );
    });
    it("a host declared down for the run (PROXMOX_HA_DOWN_NODES) is not asked (issue #11 point 5)", async () => {
        const asked: string[] = [];
        const probe: typeof probeHostKey = async (t, ms) => {
            asked.push(t.address);
            return loopbackOnly(t, ms);
        };
        const s = site(() => otherKey);
        const down = { ...s, api: { ...s.api, down: ["prox2", "qnetd"] } };
        assert.deepEqual(await hostKeyProblems(down, probe), []);
        assert.ok(!asked.includes(ADDRESS), "prox2 was not probed");
        assert.equal(asked.length, 1, `only prox1 was probed: ${asked.join(", ")}`);
    });
    it("a host that does not answer is no problem (left to the steps' retries), and the answer is quick", async () => {
        const closed = await freePort(ADDRESS);
        assert.equal(await probeHostKey({ address: ADDRESS, port: closed, hostKey }, 5000), undefined);
    });
    it("the program refuses before registering anything, unless the check is switched off", async () => {
        const calls: string[] = [];
        const probe: typeof probeHostKey = async (t) => {
            calls.push(t.address);
            return t.address === "10.0.0.12" ? otherKey : undefined;
        };
        // checkedMain reads the stack through the Pulumi config of the running program:
        // here the reference site of test/site/fixtures.ts under the mock runtime.
        const { evaluate } = await import("../../tools/lib/mock-runtime");
        const { readStack } = await import("../../tools/lib/stack");
        const cfg = readStack("prod");
        const config: Record<string, string> = {
            ...cfg.config,
            "proxmox-ha:sshPrivateKey": "k",
            "proxmox-ha:rootPassword": "p",
            "proxmox-ha:apiCertificate": "c",
            "proxmox-ha:apiCertificateKey": "ck",
        };
        delete config["proxmox-ha:example"]; // a real site: the example guard is tested below
        const secretKeys = [
            ...cfg.secretKeys,
            "proxmox-ha:sshPrivateKey",
            "proxmox-ha:rootPassword",
            "proxmox-ha:apiCertificate",
            "proxmox-ha:apiCertificateKey",
        ];
        const refused = await evaluate(
            () => {
                const run = checkedMain({ probe, env: {} });
                run.catch(() => undefined); // asserted below, after the mock runtime drained
                return run;
            },
            {
                config,
                secretKeys,
                stack: "prod",
                outputs: () => ({ stdout: "", stderr: "" }),
            },
        );
        await assert.rejects(refused.result, (e: unknown) => {
            assert.ok(e instanceof SiteValidationError);
            assert.deepEqual(
                e.problems.map((p) => p.path),
                ["proxmox-ha:nodes[1].sshHostKey"],
            );
            return true;
        });
        assert.deepEqual(refused.resources, [], "nothing registered");
        assert.deepEqual(calls.sort(), ["10.0.0.11", "10.0.0.12", "10.0.0.120"]);
        const skipped = await evaluate(() => checkedMain({ probe, env: { PROXMOX_HA_SKIP_HOST_KEY_CHECK: "1" } }), {
            config,
            secretKeys,
            stack: "prod",
            outputs: () => ({ stdout: "", stderr: "" }),
        });
        assert.ok(skipped.resources.length > 3);
    });
    it("an example stack is refused by pulumi up and preview, before any host is asked", async () => {
        const { evaluate } = await import("../../tools/lib/mock-runtime");
        const { readStack } = await import("../../tools/lib/stack");
        const cfg = readStack("lab");
        const calls: string[] = [];
        const refused = await evaluate(
            () => {
                const run = checkedMain({ probe: async (t) => void calls.push(t.address), env: {} });
                run.catch(() => undefined);
                return run;
            },
            {
                config: { ...cfg.config, "proxmox-ha:sshPrivateKey": "k", "proxmox-ha:rootPassword": "p" },
                secretKeys: [...cfg.secretKeys, "proxmox-ha:sshPrivateKey", "proxmox-ha:rootPassword"],
                stack: "lab",
                outputs: () => ({ stdout: "", stderr: "" }),
            },
        );
        await assert.rejects(refused.result, (e: unknown) => {
            assert.ok(e instanceof SiteValidationError);
            assert.deepEqual(
                e.problems.map((p) => [p.path, p.message]),
                [
                    [
                        "proxmox-ha:example",
                        "this stack is one of the project's examples (its addresses, disks and host keys are made up), so `pulumi up` and `preview` refuse it. Copy it to Pulumi.<your site>.yaml, write your own values, delete the line `proxmox-ha:example: true`, then `pulumi stack init <your site>`",
                    ],
                ],
            );
            return true;
        });
        assert.deepEqual(refused.resources, []);
        assert.deepEqual(calls, []);
    });
});
