/**
 * A two-node site with a QDevice on the real-corosync fake hosts
 * (test/harness/hosts.ts), built by the project's own scripts with the exact
 * component command text, and the helpers the quorum scenario tests share:
 * the test stack, reading which nodes are quorate, waiting for a state,
 * restoring the healthy state.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse, stringify } from "yaml";
import type { Site } from "../../components/model";
import { loadStackSite } from "../../tools/health/load";
import { ROOT } from "../../tools/lib/stack";
import { startHosts, type Hosts } from "../harness/hosts";
import { created, ok, pvecmStatus, qnetdInstalled, step } from "./cluster-steps";

export const NODES = ["prox1", "prox2"] as const;
export type TieBreaker = "lowest" | "highest";

export interface TwoNodeSite {
    readonly site: Hosts;
    /** prox1, prox2 SSH addresses are <net>.11/.12, the qnetd host <net>.20. */
    readonly qnetd: string;
    /** link0 (on the VLAN segment) per node. */
    readonly link: Readonly<Record<(typeof NODES)[number], string>>;
    readonly net: string;
    /** qdevice-setup with the arguments components/hosts/bootstrap.ts passes (address, pinned key, expected votes, tie-breaker). */
    qdeviceArgs(tieBreaker: TieBreaker): (string | number)[];
}

/** Hosts up, qnetd installed, VLANs, cluster created and joined, qnetd authorized: everything before qdevice-setup. */
export async function twoNodeSite(label: string, net: string, linkNet: string): Promise<TwoNodeSite> {
    const site = await startHosts(label, [
        { name: "prox1", address: `${net}.11`, rootPassword: `${label}-pw` },
        { name: "prox2", address: `${net}.12` },
        { name: "qnetd", address: `${net}.20`, pve: false },
    ]);
    const link = { prox1: `${linkNet}.11`, prox2: `${linkNet}.12` };
    qnetdInstalled(site, "qnetd");
    for (const n of NODES) ok(await step(site, n, "corosync-vlan", ["vmbr0", 4001, `${link[n]}/24`, ""]), `vlan ${n}`);
    const c = created(await step(site, "prox1", "cluster-create", ["prod", link.prox1]), "create");
    ok(await step(site, "prox2", "cluster-join", ["prod", `${net}.11`, c.fingerprint, link.prox2], `${label}-pw\n`), "join");
    // From the nodes' addresses, as the component lists them (components/hosts/steps.ts nodeSourceAddresses).
    ok(await step(site, "qnetd", "qnetd-authorize", [c.pubkey, `${net}.11,${link.prox1},${net}.12,${link.prox2}`]), "authorize");
    const qnetd = `${net}.20`;
    return { site, qnetd, link, net, qdeviceArgs: (tb) => [qnetd, site.host("qnetd").hostKey, 3, tb] };
}

/** The test stack: Pulumi.prod.yaml with this site's addresses, host keys, link0 addresses and tie-breaker, validated. */
export function siteModel(s: TwoNodeSite, tieBreaker: TieBreaker): { file: string; model: Site } {
    const doc = parse(fs.readFileSync(path.join(ROOT, "Pulumi.prod.yaml"), "utf8")) as { config: Record<string, unknown> };
    const nodes = doc.config["proxmox-ha:nodes"] as Record<string, unknown>[];
    for (const n of nodes) {
        const h = s.site.host(n.name as string);
        Object.assign(n, { address: h.address, sshPort: 22, sshHostKey: h.hostKey, links: [{ address: s.link[h.name as "prox1"] }] });
    }
    const q = s.site.host("qnetd");
    Object.assign(doc.config["proxmox-ha:qdevice"] as Record<string, unknown>, {
        address: q.address,
        sshPort: 22,
        sshHostKey: q.hostKey,
        tieBreaker,
    });
    const name = `${path.basename(s.site.root)}-${tieBreaker}`;
    const file = path.join(s.site.root, `Pulumi.${name}.yaml`);
    fs.writeFileSync(file, stringify(doc));
    const l = loadStackSite(name, file);
    assert.ok(l.site, JSON.stringify(l.problems));
    return { file, model: l.site };
}

/** Nodes whose `pvecm status` exits 0 (quorate) right now. */
export async function quorateNodes(site: Hosts): Promise<string[]> {
    const out: string[] = [];
    for (const n of NODES) if ((await site.run(n, "pvecm status")).code === 0) out.push(n);
    return out;
}

/** Polls until the set of quorate nodes is `want` and `also` holds (real state changes take seconds); fails after 60 s. */
export async function settle(
    site: Hosts,
    want: readonly string[],
    what: string,
    also: () => Promise<boolean> = async () => true,
): Promise<void> {
    let got: string[] = [];
    for (let i = 0; i < 240; i++) {
        got = await quorateNodes(site);
        if (JSON.stringify(got) === JSON.stringify(want) && (await also())) return;
        await new Promise((r) => setTimeout(r, 250));
    }
    const status = await Promise.all(NODES.map((n) => site.run(n, "pvecm status")));
    assert.fail(
        `${what}: quorate ${JSON.stringify(got)}, expected ${JSON.stringify(want)}\n${status.map((x) => x.stdout + x.stderr).join("\n")}`,
    );
}

/** Both nodes quorate with 3 votes and the QDevice casting its vote. */
export const votingEverywhere = (site: Hosts) => async (): Promise<boolean> => {
    for (const n of NODES) {
        const r = await site.run(n, "pvecm status");
        if (r.code !== 0) return false;
        const s = pvecmStatus(r.stdout);
        if (s.total !== 3 || !/^0x00000000\s+1\s+Qdevice$/m.test(r.stdout)) return false;
    }
    return true;
};

/** Back to the healthy state: links up, every daemon running, both nodes quorate with 3 votes. */
export async function restore(site: Hosts): Promise<void> {
    for (const n of NODES) site.link(n, "eno1", true);
    assert.equal(site.exec("qnetd", "systemctl start corosync-qnetd").code, 0);
    for (const n of NODES) {
        const r = site.exec(n, "systemctl start corosync corosync-qdevice");
        assert.equal(r.code, 0, `${n}: ${r.stderr}`);
    }
    await settle(site, [...NODES], "healthy again", votingEverywhere(site));
}
