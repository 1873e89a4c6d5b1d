/**
 * Before `pulumi up` touches anything: does each host present the host key
 * the stack pins? `@pulumi/command` 1.2.1 cannot tell a wrong key from a host
 * that is still booting: its dial loop (provider/pkg/provider/remote/
 * connection.go, dialWithRetry) retries every error, "ssh: host key mismatch"
 * included, so a wrong `sshHostKey` used to cost the ten minutes of ssh-ready's
 * poll. This probe asks every host once, in parallel, for its key of the
 * pinned type and reports a mismatch at once, with the key the host presented.
 * A host that does not answer (booting, unreachable) is left to the steps'
 * own retries: only a definite mismatch is an error.
 *
 * No credentials are used: the key is compared during the handshake, before
 * any authentication, and the connection is then dropped.
 */
import { Client, type Algorithms } from "ssh2";
import type { Site } from "./model";
import { keyPath, type Problem } from "./validate";

export interface HostKeyTarget {
    readonly address: string;
    readonly port: number;
    /** `<type> <base64>` as the stack pins it. */
    readonly hostKey: string;
}

/** What a host presented: its key as `<type> <base64>`, or undefined when it did not answer in time. */
export type HostKeyProbe = (target: HostKeyTarget, timeoutMs: number) => Promise<string | undefined>;

function keyType(blob: Buffer): string {
    if (blob.length < 4) return "?";
    return blob.subarray(4, 4 + blob.readUInt32BE(0)).toString("latin1");
}

/** Asks the SSH server at target for its host key of the pinned type (ssh2, no authentication). */
export const probeHostKey: HostKeyProbe = (target, timeoutMs) =>
    new Promise((resolve) => {
        const type = target.hostKey.split(" ")[0] as Algorithms["serverHostKey"] extends (infer T)[] ? T : never;
        const client = new Client();
        let presented: string | undefined;
        let done = false;
        const finish = () => {
            if (done) return;
            done = true;
            clearTimeout(timer);
            client.removeAllListeners("error");
            client.on("error", () => undefined);
            client.destroy();
            resolve(presented);
        };
        const timer = setTimeout(finish, timeoutMs);
        client.on("error", finish);
        client.on("close", finish);
        client.on("ready", finish);
        try {
            client.connect({
                host: target.address,
                port: target.port,
                username: "root",
                readyTimeout: timeoutMs,
                algorithms: { serverHostKey: [type] },
                hostVerifier: (key: Buffer) => {
                    presented = `${keyType(key)} ${key.toString("base64")}`;
                    finish();
                    return false;
                },
                // Never authenticate: the verdict comes before.
                authHandler: () => false,
            });
        } catch {
            finish();
        }
    });

/** Every host (nodes, then the QDevice host) whose presented key differs from the pinned one. */
export async function hostKeyProblems(site: Site, probe: HostKeyProbe = probeHostKey, timeoutMs = 5_000): Promise<Problem[]> {
    const targets = [
        ...site.nodes.map((n, i) => ({
            name: n.name,
            path: keyPath("nodes", [i, "sshHostKey"]),
            address: n.address,
            port: n.sshPort,
            hostKey: n.sshHostKey,
        })),
        ...(site.qdevice && !site.api.down.includes("qnetd")
            ? [
                  {
                      name: "the QDevice host",
                      path: keyPath("qdevice", ["sshHostKey"]),
                      address: site.qdevice.address,
                      port: site.qdevice.sshPort,
                      hostKey: site.qdevice.sshHostKey,
                  },
              ]
            : []),
    ].filter((t) => !site.api.down.includes(t.name)); // hosts declared down for this run (PROXMOX_HA_DOWN_NODES) are not asked
    const presented = await Promise.all(targets.map((t) => probe(t, timeoutMs)));
    const problems: Problem[] = [];
    targets.forEach((t, i) => {
        const got = presented[i];
        if (got === undefined || got === t.hostKey) return;
        const type = t.hostKey.split(" ")[0];
        problems.push({
            path: t.path,
            message: `${t.name} (${t.address}:${t.port}) presents the host key "${got}", not the pinned one; if the host was reinstalled, pin what it presents (check it out of band first): ssh-keyscan -t ${type} -p ${t.port} ${t.address} | cut -d' ' -f2-`,
        });
    });
    return problems;
}
