/**
 * The program under `pulumi preview` (the mock runtime with isDryRun true) and
 * under `pulumi up`, with and without the deploy secrets (issue #14).
 *
 * Proves: a preview constructs every committed stack without sshPrivateKey
 * and rootPassword, declaring exactly the commands (same names, same create
 * texts) an `up` with the secrets declares, with no key in any connection and
 * `connection` and `stdin` left out of the diff (ignoreChanges) only then;
 * `up` without a key refuses the stack naming sshPrivateKey and the SSH
 * agent, but constructs with an agent (SSH_AUTH_SOCK), then with no key in any
 * connection; sshKeyPassphrase reaches every connection as privateKeyPassword
 * (and alone, without a key, is refused); the root password may come from
 * PROXMOX_HA_ROOT_PASSWORD; PROXMOX_HA_PREVIEW_API_TOKEN is the provider's
 * token in a preview (a malformed one is refused) and ignored by `up`; in a
 * preview the token step's stdout is not needed: it is declared once-only, so
 * the engine keeps its recorded output.
 * Does not prove: what the engine does with ignoreChanges (no engine here;
 * Pulumi documents that ignored properties keep their recorded values), nor
 * that the command provider skips connecting in a preview (pulumi-command
 * v1.2.1 provider/pkg/provider/remote/commandController.go: Create and Update
 * return before running when DryRun).
 */
import { describe, it, afterEach } from "node:test";
import * as assert from "node:assert/strict";
import { main } from "../../components/program";
import { PREVIEW_API_TOKEN_ENV, ROOT_PASSWORD_ENV } from "../../components/config";
import { SiteValidationError } from "../../components/validate";
import { SECRET_KEYS } from "../../components/schema";
import { evaluate, type RecordedResource } from "../../tools/lib/mock-runtime";
import { listStacks, readStack } from "../../tools/lib/stack";

const PROJECT = "proxmox-ha";
const CMD = "command:remote:Command";
const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nPREVIEWTEST-KEY-3c1d\n-----END OPENSSH PRIVATE KEY-----\n";
const PASSWORD = "root-pw-PREVIEWTEST-77";
const PASSPHRASE = "key-passphrase-PREVIEWTEST-19";
const AUDITOR = "auditor@pve!preview=6a0f7c3e-1b2d-4e5f-8a9b-0c1d2e3f4a5b";
const SECRET_SIG = "4dabf18193072939515e22adb298388d";

const saved = { ...process.env };
afterEach(() => {
    for (const k of ["SSH_AUTH_SOCK", PREVIEW_API_TOKEN_ENV, ROOT_PASSWORD_ENV]) {
        if (saved[k] === undefined) delete process.env[k];
        else process.env[k] = saved[k];
    }
});

function env(vars: Record<string, string | undefined>) {
    for (const k of ["SSH_AUTH_SOCK", PREVIEW_API_TOKEN_ENV, ROOT_PASSWORD_ENV]) delete process.env[k];
    for (const [k, v] of Object.entries(vars)) if (v !== undefined) process.env[k] = v;
}

async function run(
    stack: string,
    o: { preview: boolean; secrets: Partial<Record<(typeof SECRET_KEYS)[number], string>>; withoutCertificateKey?: boolean },
) {
    const cfg = readStack(stack);
    const config = { ...cfg.config };
    const secretKeys = [...cfg.secretKeys];
    // The TLS certificate secrets (w11-tls) are not what this file is about: placeholders, as the offline plan uses.
    for (const k of o.withoutCertificateKey ? ["apiCertificate"] : ["apiCertificate", "apiCertificateKey"]) {
        config[`${PROJECT}:${k}`] = `placeholder-${k}`;
        secretKeys.push(`${PROJECT}:${k}`);
    }
    for (const [k, v] of Object.entries(o.secrets)) {
        config[`${PROJECT}:${k}`] = v;
        secretKeys.push(`${PROJECT}:${k}`);
    }
    return evaluate(() => main(), { config, secretKeys, stack, preview: o.preview, outputs: () => ({ stdout: "", stderr: "" }) });
}

/** The connection of a command as registered (secret-wrapped by the SDK). */
function connection(r: RecordedResource): Record<string, unknown> {
    const c = r.inputs.connection as Record<string, unknown>;
    return (SECRET_SIG in c ? c.value : c) as Record<string, unknown>;
}
const commands = (rs: RecordedResource[]) => rs.filter((r) => r.type === CMD);
const provider = (rs: RecordedResource[]) => rs.find((r) => r.type === "pulumi:providers:proxmoxve")!;
const plain = (v: unknown) => (v !== null && typeof v === "object" && SECRET_SIG in (v as object) ? (v as { value: unknown }).value : v);

describe("pulumi preview without the deploy secrets", () => {
    for (const stack of listStacks()) {
        it(`${stack}: declares the same commands and texts as up, with no key and connection/stdin out of the diff`, async () => {
            env({});
            const preview = await run(stack, { preview: true, secrets: {} });
            const up = await run(stack, { preview: false, secrets: { sshPrivateKey: KEY, rootPassword: PASSWORD } });
            const pc = commands(preview.resources);
            const uc = commands(up.resources);
            assert.ok(pc.length > 5);
            assert.deepEqual(
                pc.map((r) => [r.name, r.inputs.create]),
                uc.map((r) => [r.name, r.inputs.create]),
                "the preview shows exactly what up would run",
            );
            for (const r of pc) {
                assert.equal(connection(r).privateKey, undefined, `${r.name}: no key in a preview`);
                assert.ok(r.ignoreChanges.includes("connection") && r.ignoreChanges.includes("stdin"), r.name);
            }
            for (const r of uc) {
                assert.equal(connection(r).privateKey, KEY, r.name);
                assert.ok(!r.ignoreChanges.includes("stdin"), `${r.name}: up diffs stdin`);
                if (!r.name.endsWith("-api-token"))
                    assert.ok(!r.ignoreChanges.includes("connection"), `${r.name}: up diffs the connection`);
            }
            // Nothing secret of the deploy side reached the preview's resources.
            assert.ok(!JSON.stringify(preview.resources).includes(PASSWORD));
        });
    }

    it("needs the TLS certificate but never its private key (it installs nothing); up without the key is refused", async () => {
        env({});
        const preview = await run("prod", { preview: true, secrets: {}, withoutCertificateKey: true });
        const certSteps = commands(preview.resources).filter((r) => r.name.endsWith("-api-certificate"));
        assert.ok(certSteps.length > 0, "the install steps are still shown");
        for (const r of certSteps) assert.ok(r.ignoreChanges.includes("stdin"), r.name);
        assert.ok(!JSON.stringify(preview.resources).includes("placeholder-apiCertificateKey"));
        await assert.rejects(
            run("prod", { preview: false, secrets: { sshPrivateKey: KEY, rootPassword: PASSWORD }, withoutCertificateKey: true }),
            (e: unknown) => {
                assert.ok(e instanceof SiteValidationError);
                assert.match(e.message, /apiCertificateKey: is required/);
                return true;
            },
        );
    });

    it("uses the read-only preview token for the provider, and up ignores it", async () => {
        env({ [PREVIEW_API_TOKEN_ENV]: AUDITOR });
        const preview = await run("lab", { preview: true, secrets: {} });
        assert.equal(plain(provider(preview.resources).inputs.apiToken), AUDITOR);
        env({ [PREVIEW_API_TOKEN_ENV]: AUDITOR, SSH_AUTH_SOCK: "/run/agent.sock" });
        const up = await run("lab", { preview: false, secrets: { rootPassword: PASSWORD } });
        assert.notEqual(plain(provider(up.resources).inputs.apiToken), AUDITOR);
    });

    it("refuses a malformed preview token, naming the variable", async () => {
        env({ [PREVIEW_API_TOKEN_ENV]: "not-a-token" });
        await assert.rejects(run("lab", { preview: true, secrets: {} }), (e: unknown) => {
            assert.ok(e instanceof SiteValidationError);
            assert.match(e.message, /PROXMOX_HA_PREVIEW_API_TOKEN: must be a Proxmox API token/);
            return true;
        });
    });
});

describe("pulumi up: how it logs in", () => {
    it("refuses a stack without a key when no SSH agent is there, naming both ways", async () => {
        env({});
        await assert.rejects(run("prod", { preview: false, secrets: { rootPassword: PASSWORD } }), (e: unknown) => {
            assert.ok(e instanceof SiteValidationError);
            assert.match(e.message, /proxmox-ha:sshPrivateKey: is required, or an SSH agent holding the key \(SSH_AUTH_SOCK\)/);
            return true;
        });
    });

    it("refuses a two-node stack without the root password, naming the variable too", async () => {
        env({});
        await assert.rejects(run("prod", { preview: false, secrets: { sshPrivateKey: KEY } }), (e: unknown) => {
            assert.ok(e instanceof SiteValidationError);
            assert.match(e.message, /proxmox-ha:rootPassword: is required to join nodes; .*PROXMOX_HA_ROOT_PASSWORD/);
            return true;
        });
    });

    it("with an SSH agent: no key in any connection (nor in the state), the password from the environment", async () => {
        env({ SSH_AUTH_SOCK: "/run/user/0/agent.sock", [ROOT_PASSWORD_ENV]: PASSWORD });
        const up = await run("prod", { preview: false, secrets: {} });
        for (const r of commands(up.resources)) {
            assert.equal(connection(r).privateKey, undefined, r.name);
            assert.equal(connection(r).agentSocketPath, undefined, `${r.name}: the provider takes SSH_AUTH_SOCK itself`);
            assert.deepEqual(r.ignoreChanges, r.name.endsWith("-api-token") ? ["create", "update", "delete", "connection"] : [], r.name);
        }
        const join = commands(up.resources).find((r) => r.name.endsWith("-prox2-join"))!;
        assert.equal(plain(join.inputs.stdin), `${PASSWORD}\n`);
    });

    it("an encrypted key: sshKeyPassphrase reaches every connection as privateKeyPassword; alone it is refused", async () => {
        env({});
        const up = await run("lab", {
            preview: false,
            secrets: { sshPrivateKey: KEY, sshKeyPassphrase: PASSPHRASE, rootPassword: PASSWORD },
        });
        for (const r of commands(up.resources)) assert.equal(connection(r).privateKeyPassword, PASSPHRASE, r.name);
        env({ SSH_AUTH_SOCK: "/run/agent.sock" });
        await assert.rejects(
            run("lab", { preview: false, secrets: { sshKeyPassphrase: PASSPHRASE, rootPassword: PASSWORD } }),
            (e: unknown) => {
                assert.match(String(e), /proxmox-ha:sshKeyPassphrase: is set but sshPrivateKey is not/);
                return true;
            },
        );
    });
});

describe("what only root@pam may set", () => {
    const withPci = (apiToken: boolean) => {
        const cfg = readStack("lab");
        const guests = JSON.parse(cfg.config[`${PROJECT}:guests`]!) as Record<string, unknown>[];
        guests[0] = { ...guests[0], pci: [{ id: "0000:01:00.0" }] };
        const config: Record<string, string> = {
            ...cfg.config,
            [`${PROJECT}:guests`]: JSON.stringify(guests),
            [`${PROJECT}:sshPrivateKey`]: KEY,
            [`${PROJECT}:rootPassword`]: PASSWORD,
        };
        const secretKeys = [...cfg.secretKeys, `${PROJECT}:sshPrivateKey`, `${PROJECT}:rootPassword`];
        if (apiToken) {
            config[`${PROJECT}:apiToken`] = "root@pam!ci=0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0";
            secretKeys.push(`${PROJECT}:apiToken`);
        }
        return evaluate(() => main(), { config, secretKeys, stack: "lab", outputs: () => ({ stdout: "", stderr: "" }) });
    };

    it("refuses a raw PCI device with the bootstrapped (non-root) token, naming the key and both fixes", async () => {
        env({});
        await assert.rejects(withPci(false), (e: unknown) => {
            assert.ok(e instanceof SiteValidationError);
            assert.match(
                e.message,
                /proxmox-ha:guests\[0\]\.pci\[0\]\.id: a non-mapped PCI device can be set only by root@pam \(qemu-server check_hostpci_perm\), .*use a resource mapping \(mapping:\) .*or set apiToken to a root@pam token/,
            );
            return true;
        });
    });

    it("accepts it when the stack gives its own token", async () => {
        env({});
        const r = await withPci(true);
        assert.ok(r.resources.some((x) => x.type === "proxmoxve:index/vmLegacy:VmLegacy"));
    });
});
