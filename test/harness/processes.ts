/**
 * Small process and socket helpers shared by the tests that start processes
 * (test/harness/hosts.ts and others).
 */
import { spawnSync, type ChildProcess } from "node:child_process";
import * as net from "node:net";

/** Runs a command to completion; its stdout, or an error with its stderr. */
export function sh(cmd: string, args: string[], input?: string): string {
    const r = spawnSync(cmd, args, { encoding: "utf8", input: input ?? "" });
    if (r.error) throw r.error;
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (${r.status}): ${r.stderr}`);
    return r.stdout;
}

/** A TCP port nothing listens on at `address` right now. */
export function freePort(address: string): Promise<number> {
    return new Promise((resolve, reject) => {
        const srv = net.createServer();
        srv.once("error", reject);
        srv.listen(0, address, () => {
            const port = (srv.address() as net.AddressInfo).port;
            srv.close(() => resolve(port));
        });
    });
}

/** True when something accepts a TCP connection at address:port. */
export function canConnect(address: string, port: number): Promise<boolean> {
    return new Promise((resolve) => {
        const s = net.connect({ host: address, port });
        s.once("connect", () => {
            s.destroy();
            resolve(true);
        });
        s.once("error", () => resolve(false));
    });
}

/** Sends SIGTERM to every child still running and waits until all have exited. */
export async function stopChildren(children: readonly ChildProcess[]): Promise<void> {
    await Promise.all(
        children.map(
            (c) =>
                new Promise<void>((resolve) => {
                    if (c.exitCode !== null || c.signalCode !== null) return resolve();
                    c.once("exit", () => resolve());
                    c.kill("SIGTERM");
                }),
        ),
    );
}
