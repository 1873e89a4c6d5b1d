/**
 * Facts about a site that follow from the stack alone: votes, quorum, what
 * survives which single failure, and the worst-case data loss per guest.
 * Used by the offline plan, the stack outputs and the runbook.
 */
import { formatMinutes } from "./schedule";
import type { Guest, Site } from "./model";

export interface QuorumFacts {
    readonly nodeVotes: number;
    readonly qdeviceVotes: number;
    readonly expectedVotes: number;
    /** Votes needed for quorum: floor(expected / 2) + 1 (votequorum). */
    readonly quorum: number;
    /** ffsplit for even node counts (the only QDevice case we allow). */
    readonly qdeviceAlgorithm?: "ffsplit";
}

export function quorumFacts(site: Site): QuorumFacts {
    const nodeVotes = site.nodes.length;
    const qdeviceVotes = site.qdevice ? 1 : 0;
    const expectedVotes = nodeVotes + qdeviceVotes;
    return {
        nodeVotes,
        qdeviceVotes,
        expectedVotes,
        quorum: Math.floor(expectedVotes / 2) + 1,
        ...(site.qdevice ? { qdeviceAlgorithm: "ffsplit" as const } : {}),
    };
}

export interface FailureCase {
    /** What fails, e.g. "node prox1", "qdevice 10.0.0.120", "link prox1–prox2". */
    readonly failure: string;
    readonly kind: "node" | "qdevice" | "link" | "pool";
    /** True when some partition keeps quorum and HA can act. */
    readonly survives: boolean;
    /** Nodes that keep quorum afterwards. */
    readonly quorateNodes: readonly string[];
    /** One line per guest (HA or not): keeps running, moves, or stops, with its data-loss bound. */
    readonly guests: readonly string[];
    /**
     * True when the site keeps running but some guest comes back only by hand
     * (not an HA guest on the lost node, a lost pool): the plan marks it ⚠.
     */
    readonly manualRecovery: boolean;
    readonly summary: string;
}

/** Node ids as pvecm assigns them: the creator gets 1, joiners the first free id in join order. */
export function nodeId(site: Site, name: string): number {
    return site.nodes.findIndex((n) => n.name === name) + 1;
}

function guestEffect(site: Site, g: Guest, lostNodes: ReadonlySet<string>, quorate: ReadonlySet<string>): string {
    const label = `${g.type} ${g.vmid} (${g.name})`;
    if (!lostNodes.has(g.node)) {
        return quorate.has(g.node)
            ? `${label} keeps running on ${g.node}`
            : `${label} on ${g.node} stops: ${g.node} loses quorum and fences`;
    }
    if (!g.ha) {
        const replicas = g.replicateTo.filter((n) => !lostNodes.has(n) && quorate.has(n));
        return replicas.length
            ? `${label} is down until ${g.node} returns (not an HA guest), or until you start it by hand from its replica on ${replicas.join(" or ")} (up to ${formatMinutes(site.replication.worstCaseRpoMinutes)} lost)`
            : `${label} is down until ${g.node} returns (not an HA guest, no replica on a quorate node)`;
    }
    if (g.ha.state !== "started") return `${label} is down (HA state ${g.ha.state})`;
    const candidates = Object.entries(g.ha.nodes)
        .filter(([n]) => !lostNodes.has(n) && quorate.has(n) && g.replicateTo.includes(n))
        .sort((a, b) => b[1] - a[1] || nodeId(site, a[0]) - nodeId(site, b[0]));
    const nonStrictExtra = g.ha.strict ? [] : g.replicateTo.filter((n) => !lostNodes.has(n) && quorate.has(n) && !(n in g.ha!.nodes));
    // Resource-affinity rules are always strict (ha-manager.adoc): a negative rule
    // forbids nodes where a partner keeps running, a positive one requires its node.
    const partnersOn = (affinity: "positive" | "negative") =>
        site.haRules
            .filter((r) => r.affinity === affinity && r.guests.includes(g.vmid))
            .flatMap((r) => r.guests.filter((v) => v !== g.vmid))
            .map((v) => site.guests.find((x) => x.vmid === v))
            .filter((x): x is Guest => x !== undefined && !lostNodes.has(x.node))
            .map((x) => x.node);
    const forbidden = new Set(partnersOn("negative"));
    const required = new Set(partnersOn("positive"));
    const allowed = (n: string) => !forbidden.has(n) && (required.size === 0 || required.has(n));
    const target = candidates.map(([n]) => n).find(allowed) ?? nonStrictExtra.find(allowed);
    if (!target) {
        const any = candidates[0]?.[0] ?? nonStrictExtra[0];
        return any
            ? `${label} stays down: its resource-affinity rule keeps it off ${any} (where its replica is) until ${g.node} returns`
            : `${label} stays down: no quorate node holds a replica it may run on`;
    }
    return `${label} restarts on ${target} from the last replica: up to ${formatMinutes(site.replication.worstCaseRpoMinutes)} of writes lost`;
}

export function failureCases(site: Site): FailureCase[] {
    const q = quorumFacts(site);
    const names = site.nodes.map((n) => n.name);
    const cases: FailureCase[] = [];
    const make = (failure: string, kind: FailureCase["kind"], lost: Set<string>, quorateNodes: string[], votes: number): FailureCase => {
        const quorate = new Set(quorateNodes);
        const guests = site.guests.map((g) => guestEffect(site, g, lost, quorate));
        const survives = quorateNodes.length > 0;
        const manualRecovery = survives && site.guests.some((g) => lost.has(g.node) && !g.ha);
        const summary = survives
            ? `quorate on ${quorateNodes.join(", ")} (${votes} of ${q.expectedVotes} votes, ${q.quorum} needed)`
            : `no partition has ${q.quorum} of ${q.expectedVotes} votes: the cluster stops, HA guests fence`;
        return { failure, kind, survives, quorateNodes, guests, summary, manualRecovery };
    };
    for (const n of names) {
        const remaining = names.length - 1 + q.qdeviceVotes;
        const quorateNodes = remaining >= q.quorum ? names.filter((x) => x !== n) : [];
        cases.push(make(`node ${n}`, "node", new Set([n]), quorateNodes, remaining));
    }
    if (site.qdevice) {
        const quorateNodes = names.length >= q.quorum ? names : [];
        cases.push(make(`qdevice ${site.qdevice.address}`, "qdevice", new Set(), quorateNodes, names.length));
    }
    if (names.length === 2) {
        // A split: with ffsplit the QDevice votes for one side (tie-breaker), the other side fences.
        let quorateNodes: string[] = [];
        if (site.qdevice) {
            const winner = site.qdevice.tieBreaker === "lowest" ? names[0]! : names[1]!;
            quorateNodes = [winner];
        }
        const lost = new Set(names.filter((n) => !quorateNodes.includes(n)));
        cases.push(
            make(`link ${names[0]}–${names[1]}`, "link", quorateNodes.length ? lost : new Set(names), quorateNodes, 1 + q.qdeviceVotes),
        );
    }
    for (const n of names) {
        // A lost pool takes the node's guests with it, but the node keeps its vote.
        const quorate = new Set(names);
        const guests = site.guests
            .filter((g) => g.node === n)
            .map((g) => {
                const label = `${g.type} ${g.vmid} (${g.name})`;
                return g.replicateTo.length
                    ? `${label} must be recovered from its replica on ${g.replicateTo.join(" or ")} (up to ${formatMinutes(site.replication.worstCaseRpoMinutes)} lost); HA does not detect a lost pool by itself`
                    : `${label} is lost with the pool (no replica)`;
            });
        cases.push({
            failure: `pool ${site.storage.pool} on ${n}`,
            kind: "pool",
            survives: true,
            manualRecovery: guests.length > 0,
            quorateNodes: [...quorate],
            guests: guests.length ? guests : [`no guest lives on ${n}`],
            summary: `${n} stays in the cluster; its replicated guests must be moved by hand`,
        });
    }
    return cases;
}

export interface GuestRpo {
    readonly vmid: number;
    readonly name: string;
    readonly node: string;
    readonly replicateTo: readonly string[];
    /** Worst-case data loss in minutes, or undefined when the guest has no replica. */
    readonly worstCaseRpoMinutes?: number;
    readonly text: string;
}

export function guestRpos(site: Site): GuestRpo[] {
    return site.guests.map((g) => {
        const rpo = g.replicateTo.length ? site.replication.worstCaseRpoMinutes : undefined;
        return {
            vmid: g.vmid,
            name: g.name,
            node: g.node,
            replicateTo: g.replicateTo,
            ...(rpo !== undefined ? { worstCaseRpoMinutes: rpo } : {}),
            text:
                rpo !== undefined
                    ? `${formatMinutes(rpo)} (schedule ${site.replication.schedule})`
                    : "no replica: everything since the last backup",
        };
    });
}
