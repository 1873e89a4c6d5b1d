/**
 * The site's topology as a Mermaid flowchart, from the validated stack only:
 * one box per node (address, watchdog) holding its pool and its guests, the
 * qnetd host, one shape per network (corosync links, VLANs, VXLAN zone) with
 * each node's address on its edge, thick replication arrows from every guest
 * to the pool of each node that receives its replica, and HA affinity rules
 * between guests.
 *
 * The output uses a deliberately small subset of the flowchart grammar
 * (subgraph with a quoted title, nodes with quoted labels in the shapes
 * `["…"]`, `[("…")]`, `{{"…"}}`, `(["…"])`, `[/"…"/]`, and edges `---`,
 * `-.-`, `==>`, `<-->`, `x--x`, each with a `|"…"|` label). Labels never
 * contain `"` (the schema forbids it in every value that reaches them).
 */
import { quorumFacts } from "../../components/facts";
import { replicationJobs, type Guest, type Site, type SiteNode } from "../../components/model";

/** A Mermaid node id: letters, digits and `_` only. */
export function mermaidId(prefix: string, name: string | number): string {
    return `${prefix}_${String(name).replace(/[^A-Za-z0-9_]/g, "_")}`;
}

/** A quoted label; `"` cannot occur in stack values, but is neutralised anyway. */
function q(text: string): string {
    return `"${text.replace(/"/g, "'")}"`;
}

const nodeId = (n: SiteNode) => mermaidId("node", n.name);
const poolId = (n: SiteNode) => mermaidId("pool", n.name);
const guestId = (g: Guest) => mermaidId("vm", g.vmid);

function disksText(n: SiteNode): string {
    const count = n.zfs.disks.length;
    return `${n.zfs.layout} of ${count} disk${count === 1 ? "" : "s"}`;
}

function guestLabel(g: Guest): string {
    const ha = g.ha ? `HA ${g.ha.state}${g.ha.failback ? ", failback" : ""}` : "no HA";
    return `${g.type} ${g.vmid} ${g.name}<br/>${ha}`;
}

export function topologyMermaid(site: Site): string {
    const out: string[] = ["flowchart LR"];
    const add = (indent: number, line: string) => out.push(`${"    ".repeat(indent)}${line}`);
    const storagePath = site.storage.zfsPath;

    for (const n of site.nodes) {
        add(1, `subgraph ${nodeId(n)}[${q(`${n.name} · ${n.address} · watchdog ${n.watchdog}`)}]`);
        add(2, "direction TB");
        add(2, `${poolId(n)}[(${q(`${n.zfs.pool} · ${disksText(n)}<br/>storage ${site.storage.id} = ${storagePath}`)})]`);
        for (const g of site.guests.filter((x) => x.node === n.name)) add(2, `${guestId(g)}[${q(guestLabel(g))}]`);
        add(1, "end");
    }

    if (site.qdevice) {
        const f = quorumFacts(site);
        add(
            1,
            `qnetd{{${q(`qnetd ${site.qdevice.address}<br/>QDevice: ${f.qdeviceVotes} vote, ${f.qdeviceAlgorithm ?? "lms"}, tie-breaker ${site.qdevice.tieBreaker}`)}}}`,
        );
        for (const n of site.nodes) add(1, `qnetd -.-|${q("TCP 5403")}| ${nodeId(n)}`);
    }

    // Corosync links: one shape per link number, each node's address on its edge.
    const linkCount = Math.max(...site.nodes.map((n) => n.links.length));
    for (let i = 0; i < linkCount; i++) {
        const id = `corosync_link${i}`;
        const prio = [...new Set(site.nodes.map((n) => n.links[i]?.priority).filter((p) => p !== undefined))];
        add(1, `${id}([${q(`corosync link${i}${prio.length === 1 ? ` · priority ${prio[0]}` : ""}`)}])`);
        for (const n of site.nodes) {
            const link = n.links[i];
            if (link) add(1, `${nodeId(n)} ---|${q(link.address)}| ${id}`);
        }
    }

    for (const v of site.network.vlans) {
        const id = mermaidId("vlan", v.tag);
        add(1, `${id}([${q(`VLAN ${v.tag} · ${v.purpose} · on ${v.interface}${v.mtu ? ` · MTU ${v.mtu}` : ""}`)}])`);
        for (const n of site.nodes.filter((x) => v.nodes.includes(x.name))) {
            add(1, `${nodeId(n)} ---|${q(v.addresses[n.name] ?? "no address")}| ${id}`);
        }
    }

    for (const b of site.network.bridges) {
        const id = mermaidId("bridge", b.name);
        add(
            1,
            `${id}([${q(`bridge ${b.name}${b.ports.length ? ` · ports ${b.ports.join(", ")}` : ""}${b.mtu ? ` · MTU ${b.mtu}` : ""}`)}])`,
        );
        for (const n of site.nodes.filter((x) => b.nodes.includes(x.name))) {
            add(1, `${nodeId(n)} ---|${q(b.addresses[n.name] ?? "no address")}| ${id}`);
        }
    }

    const vx = site.network.vxlan;
    if (vx) {
        add(
            1,
            `vxlan[/${q(`VXLAN zone ${vx.zone} · vnet ${vx.vnet} · VNI ${vx.tag}<br/>MTU ${vx.mtu} over underlay MTU ${vx.underlayMtu}`)}/]`,
        );
        for (const n of site.nodes) {
            const peer = vx.peers[n.name];
            if (peer) add(1, `${nodeId(n)} -.-|${q(`underlay ${peer}`)}| vxlan`);
        }
        for (const g of site.guests.filter((x) => x.nics.some((nic) => nic.vnet === vx.vnet))) add(1, `${guestId(g)} -.- vxlan`);
    }

    // Replication: from each guest to the pool of every node that holds its replica.
    for (const g of site.guests) {
        for (const job of replicationJobs(site, g)) {
            const target = site.nodes.find((n) => n.name === job.target);
            if (target) add(1, `${guestId(g)} ==>|${q(`pvesr ${job.id} · ${site.replication.schedule}`)}| ${poolId(target)}`);
        }
    }

    for (const r of site.haRules) {
        const [first, ...rest] = r.guests
            .map((vmid) => site.guests.find((g) => g.vmid === vmid))
            .filter((g): g is Guest => g !== undefined);
        if (!first) continue;
        for (const g of rest) {
            add(
                1,
                r.affinity === "negative"
                    ? `${guestId(first)} x--x|${q(`${r.id}: keep apart`)}| ${guestId(g)}`
                    : `${guestId(first)} <-->|${q(`${r.id}: keep together`)}| ${guestId(g)}`,
            );
        }
    }
    return `${out.join("\n")}\n`;
}
