/**
 * The Markdown runbook of one site, computed from its validated stack: what
 * the site is (table and Mermaid topology), what each single failure does
 * (components/facts.ts: quorum, HA, data loss), and step-by-step procedures
 * written with the site's own names, addresses, vmids, pool, storage, job
 * ids and schedule. Deterministic (no dates, no environment): the committed
 * docs/runbooks/<stack>.md must equal what this renders.
 *
 * The procedures follow docs/proxmox-facts.md: quorum and
 * QDevice rules (§3, §4), the watchdog and HA behaviour (§5), replication
 * (§6) and ZFS (§7). Section titles are referenced by the health check's
 * remedies ("Planned maintenance", "Replacing a disk", "Re-adding the
 * QDevice", "Replication errors"): keep them.
 */
import { failureCases, guestRpos, quorumFacts } from "../../components/facts";
import { guestSid, haGuests, replicationJobs, type Guest, type Site, type SiteNode } from "../../components/model";
import { formatMinutes } from "../../components/schedule";
import { topologyMermaid } from "./diagram";
import { zreplProcedures } from "./zrepl";
import { guestProcedures } from "./guests";

const REDUNDANCY: Record<string, string> = {
    single: "no redundancy: one failed disk loses the pool",
    mirror: "survives the loss of all but one disk of the mirror",
    raid10: "survives one failed disk per mirror pair",
    raidz1: "survives one failed disk",
    raidz2: "survives two failed disks",
    raidz3: "survives three failed disks",
};

function ssh(n: { address: string; sshPort: number }): string {
    return n.sshPort === 22 ? `ssh root@${n.address}` : `ssh -p ${n.sshPort} root@${n.address}`;
}

function cell(text: string): string {
    return text.replace(/\|/g, "\\|").replace(/\n/g, " ");
}

function table(head: readonly string[], rows: readonly (readonly string[])[]): string[] {
    return [`| ${head.join(" | ")} |`, `|${head.map(() => "---").join("|")}|`, ...rows.map((r) => `| ${r.map(cell).join(" | ")} |`)];
}

function list(items: readonly string[]): string {
    if (items.length <= 1) return items.join("");
    return `${items.slice(0, -1).join(", ")} and ${items[items.length - 1]}`;
}

/** Where a guest's configuration lives on a node, and the command that starts it. */
const confDir = (g: Guest) => (g.type === "ct" ? "lxc" : "qemu-server");
const startCmd = (g: Guest) => `${g.type === "ct" ? "pct" : "qm"} start ${g.vmid}`;

const vm = (g: Guest) => `${g.type === "ct" ? "ct" : "vm"} ${g.vmid} (${g.name})`;
const sid = (g: Guest) => guestSid(g);

/** Anchor of a heading as GitHub renders it. */
function anchor(title: string): string {
    return `#${title
        .toLowerCase()
        .replace(/[^\p{L}\p{N} _-]/gu, "")
        .replace(/ /g, "-")}`;
}

export function renderRunbook(stack: string, site: Site): string {
    const r = new Runbook(stack, site);
    return r.render();
}

class Runbook {
    private readonly out: string[] = [];
    private readonly q;
    private readonly rpo: string;

    constructor(
        private readonly stack: string,
        private readonly site: Site,
    ) {
        this.q = quorumFacts(site);
        this.rpo = formatMinutes(site.replication.worstCaseRpoMinutes);
    }

    private p(...lines: string[]): void {
        this.out.push(...lines);
    }

    /** A fenced block; nested in the list item above it (indented 3) when it follows a numbered step. */
    private code(lang: string, lines: readonly string[]): void {
        const last = [...this.out].reverse().find((l) => l !== "") ?? "";
        const pad = /^(\d+\.| {3})/.test(last) ? "   " : "";
        this.p(...["```" + lang, ...lines, "```"].map((l) => pad + l), "");
    }

    private others(n: SiteNode): SiteNode[] {
        return this.site.nodes.filter((x) => x.name !== n.name);
    }

    private guestsOn(n: SiteNode): Guest[] {
        return this.site.guests.filter((g) => g.node === n.name);
    }

    /** Where HA would run a guest when `away` is unavailable: highest node-affinity priority, then a replica holder, then stack order. */
    private fallback(g: Guest, away: string): string | undefined {
        const prio = g.ha?.nodes ?? {};
        const candidates = this.site.nodes
            .filter((n) => n.name !== away && g.replicateTo.includes(n.name))
            .filter((n) => !g.ha?.strict || n.name in prio)
            .sort((a, b) => (prio[b.name] ?? -1) - (prio[a.name] ?? -1) || a.index - b.index);
        return candidates[0]?.name;
    }

    /** Guests of a negative affinity rule that live on `node`, other than `g`. */
    private keptApartOn(g: Guest, node: string): { rule: string; other: Guest }[] {
        return this.site.haRules
            .filter((r) => r.affinity === "negative" && r.guests.includes(g.vmid))
            .flatMap((r) =>
                this.site.guests
                    .filter((h) => h.vmid !== g.vmid && r.guests.includes(h.vmid) && h.node === node)
                    .map((other) => ({ rule: r.id, other })),
            );
    }

    /** True when HA has nowhere to move `g` while `away` is gone (no replica elsewhere, or a keep-apart rule). */
    private stuck(g: Guest, away: string): boolean {
        const to = this.fallback(g, away);
        return !to || this.keptApartOn(g, to).length > 0;
    }

    /** For a node being replaced: HA guests that cannot leave it, and what to do before deleting it. */
    private stuckNote(n: SiteNode): string {
        const stuck = this.guestsOn(n).filter((g) => g.ha && this.stuck(g, n.name));
        if (!stuck.length) return "";
        return ` ${list(stuck.map((g) => this.moveText(g, n.name)))}: ${stuck.length > 1 ? "their configurations stay" : "its configuration stays"} in /etc/pve/nodes/${n.name}. Before step 2, move ${stuck.length > 1 ? "them" : "it"} to a surviving node as in [Recovering guests from a lost pool](${anchor("Recovering guests from a lost pool")}), (run the \`ha-manager\` and \`mv\` lines on a surviving node, skip \`qm stop\`), with HA state \`stopped\` instead of \`started\` while the rule forbids running ${stuck.length > 1 ? "them" : "it"} there, and migrate ${stuck.length > 1 ? "them" : "it"} to the new ${n.name} at the end.`;
    }

    /** "vm 101 (fw) → prox2" (migration) or "… restarts on prox2 …" (recovery), or why HA cannot move it. */
    private moveText(g: Guest, away: string, how: "migrate" | "recover" = "migrate"): string {
        const to = this.fallback(g, away);
        if (!to) return `${vm(g)} has no other node with its replica and stays down`;
        const apart = this.keptApartOn(g, to);
        if (apart.length) {
            return `${vm(g)} cannot go to ${to}: rule \`${apart[0]!.rule}\` keeps it apart from ${vm(apart[0]!.other)}, which runs there (resource affinity is strict), so it stays down until ${away} is back`;
        }
        return how === "migrate" ? `${vm(g)} → ${to}` : `${vm(g)} restarts on ${to} from its replica (up to ${this.rpo} of writes lost)`;
    }

    /** The node HA prefers for a guest (highest priority; the home node on ties). */
    private preferred(g: Guest): string {
        const prio = g.ha?.nodes ?? {};
        const best = Math.max(...Object.values(prio), -1);
        return prio[g.node] === best ? g.node : (Object.entries(prio).find(([, v]) => v === best)?.[0] ?? g.node);
    }

    render(): string {
        this.header();
        this.glance();
        this.topology();
        this.failures();
        this.health();
        this.p("## Procedures", "");
        this.p(
            "Every command below is written for this site. `npm run …` commands run from a checkout of this repository;",
            `the others run as root on the host named in the step (\`${ssh(this.site.nodes[0]!)}\` …).`,
            "",
        );
        this.watchdogTest();
        this.p(...guestProcedures(this.stack, this.site));
        this.maintenance();
        this.failoverDrill();
        this.failback();
        this.replaceNode();
        this.replaceDisk();
        this.lostPool();
        this.lostNode();
        if (this.site.qdevice) this.readdQdevice();
        this.replicationErrors();
        this.p(...zreplProcedures(this.site));
        return `${this.out
            .join("\n")
            .replace(/\n{3,}/g, "\n\n")
            .trimEnd()}\n`;
    }

    // ---------- what the site is ------------------------------------------------------

    private header(): void {
        const s = this.site;
        this.p(
            `# Runbook: stack \`${this.stack}\`, cluster \`${s.cluster.name}\``,
            "",
            `Generated from \`Pulumi.${this.stack}.yaml\` by \`npm run runbook -- --stack ${this.stack}\`. Do not edit by hand:`,
            "change the stack and regenerate (a test fails when this file and the stack disagree).",
            "",
        );
        if (s.alerts.email) this.p(`Alerts of this site go to ${s.alerts.email}.`, "");
        if (s.warnings.length) this.p("Warnings the stack validation raised:", "", ...s.warnings.map((w) => `- ${w}`), "");
    }

    private glance(): void {
        const s = this.site;
        this.p("## The site", "");
        this.p(
            ...table(
                ["Node", "Address (SSH, API)", "Corosync links", "Pool", "Disks", "Watchdog"],
                s.nodes.map((n) => [
                    n.name,
                    `${n.address}${n.sshPort !== 22 ? ` (SSH port ${n.sshPort})` : ""}`,
                    n.links.map((l, i) => `link${i} ${l.address}${l.priority !== undefined ? ` (priority ${l.priority})` : ""}`).join(", "),
                    `${n.zfs.pool} (${n.zfs.layout}, ashift ${n.zfs.ashift}, compression ${n.zfs.compression})`,
                    n.zfs.disks.map((d) => `\`${d}\``).join("<br>"),
                    n.watchdog,
                ]),
            ),
            "",
        );
        const q = this.q;
        if (s.qdevice) {
            this.p(
                `QDevice: corosync-qnetd on ${s.qdevice.address}${s.qdevice.sshPort !== 22 ? ` (SSH port ${s.qdevice.sshPort})` : ""}, algorithm ${q.qdeviceAlgorithm}, tie-breaker ${s.qdevice.tieBreaker} node id (${s.qdevice.tieBreaker === "lowest" ? s.nodes[0]!.name : s.nodes[s.nodes.length - 1]!.name}). `,
            );
        }
        this.p(
            `Votes: expected ${q.expectedVotes} (${q.nodeVotes} node${q.nodeVotes === 1 ? "" : "s"}${q.qdeviceVotes ? ` + ${q.qdeviceVotes} QDevice` : ""}), quorum ${q.quorum}.`,
            "",
            `Storage \`${s.storage.id}\`: ZFS \`${s.storage.zfsPath}\` on every node${s.storage.thinProvision ? ", thin-provisioned" : ""}.`,
            `Replication: schedule \`${s.replication.schedule}\` (worst-case gap ${this.rpo})${s.replication.rateMBps ? `, rate limit ${s.replication.rateMBps} MB/s` : ""}${s.replication.network ? `, network ${s.replication.network}` : ""}${s.replication.rpoTargetMinutes !== undefined ? `, RPO target ${formatMinutes(s.replication.rpoTargetMinutes)}` : ""}.`,
            `HA shutdown policy: ${s.cluster.haShutdownPolicy}. Migration: ${s.cluster.migrationType}${s.cluster.migrationNetwork ? ` over ${s.cluster.migrationNetwork}` : ""}.`,
            "",
        );
        if (s.firewall.enabled)
            this.p(
                `Firewall on; SSH (22) and the web UI/API (8006) only from ${list(s.firewall.managementAllowlist.map((a) => `\`${a}\``))}.`,
                "",
            );
        if (s.guests.length) {
            this.p(
                ...table(
                    ["Guest", "Home node", "Replicas on", "Replication jobs", "HA", "Worst-case data loss"],
                    guestRpos(s).map((r) => {
                        const g = s.guests.find((x) => x.vmid === r.vmid)!;
                        const ha = g.ha
                            ? `${g.ha.state}; nodes ${Object.entries(g.ha.nodes)
                                  .map(([n, p]) => `${n}:${p}`)
                                  .join(
                                      ", ",
                                  )}${g.ha.strict ? " (strict)" : ""}; failback ${g.ha.failback ? "on" : "off"}; max restart ${g.ha.maxRestart}, relocate ${g.ha.maxRelocate}`
                            : "not HA-managed";
                        return [
                            vm(g),
                            g.node,
                            r.replicateTo.join(", ") || "none",
                            replicationJobs(s, g)
                                .map((j) => j.id)
                                .join(", ") || "none",
                            ha,
                            r.text,
                        ];
                    }),
                ),
                "",
            );
        }
        if (s.haRules.length) {
            this.p(
                "HA rules:",
                "",
                ...s.haRules.map(
                    (r) =>
                        `- \`${r.id}\`: resource affinity ${r.affinity} between ${list(r.guests.map((v) => guestSid(s.guests.find((g) => g.vmid === v) ?? { type: "vm", vmid: v })))}${r.comment ? ` (${r.comment})` : ""}`,
                ),
                "",
            );
        }
    }

    private topology(): void {
        this.p("## Topology", "");
        this.p(
            "Boxes are nodes with their pool and guests; rounded shapes are networks, with each node's address on its edge; thick arrows are storage replication jobs (guest → the pool that receives its replica).",
            "",
        );
        this.code("mermaid", topologyMermaid(this.site).trimEnd().split("\n"));
    }

    private failures(): void {
        const s = this.site;
        this.p("## What happens when something fails", "");
        this.p(
            `Computed from the stack: ${this.q.expectedVotes} expected votes, ${this.q.quorum} needed for quorum. A partition without quorum cannot start guests, and a node without quorum that runs HA guests is reset by its watchdog about a minute later (docs/proxmox-facts.md §5). Data loss is bounded by the replication schedule \`${s.replication.schedule}\`: up to ${this.rpo} of writes.`,
            "",
        );
        this.p(
            ...table(
                ["Failure", "Who keeps quorum", "What HA does with the guests", "Site keeps running"],
                failureCases(s).map((c) => [c.failure, c.summary, c.guests.join("; ") || "no HA guests", c.survives ? "yes" : "**no**"]),
            ),
            "",
        );
        const negative = s.haRules.filter((r) => r.affinity === "negative");
        if (negative.length) {
            this.p(
                ...negative.map(
                    (r) =>
                        `Rule \`${r.id}\` keeps ${list(r.guests.map((v) => `${s.guests.find((g) => g.vmid === v)?.type ?? "vm"} ${v}`))} on different nodes. Resource-affinity rules are strict (docs/proxmox-facts.md §5): the rows above leave a guest down rather than start it next to its partner, until a second node is back.`,
                ),
                "",
            );
        }
        const pools = failureCases(s).filter((c) => c.kind === "pool");
        if (pools.length)
            this.p(
                `HA does not notice a lost pool: recover the guests by hand, see [Recovering guests from a lost pool](${anchor("Recovering guests from a lost pool")}).`,
                "",
            );
    }

    private health(): void {
        this.p("## Health check", "");
        this.code("sh", [`npm run health -- --stack ${this.stack}`]);
        this.p(
            "Exit 0: the site is as the stack says. Exit 1: degraded, each ✗ row names the measured and expected value and a one-line remedy. Exit 2: cannot tell (a host unreachable, a host key that is not the pinned one, output not understood). Details in [docs/operations.md](../operations.md#health-check).",
            "",
        );
    }

    // ---------- procedures --------------------------------------------------------------

    private watchdogTest(): void {
        const s = this.site;
        this.p("### Watchdog test", "");
        this.p(
            "Proves that a node which loses quorum while it runs HA guests resets itself, so HA may safely restart its guests elsewhere. The HA LRM holds the watchdog only while the node runs HA guests; on a node without any, the test proves nothing. Run it in a maintenance window, one node at a time: the node under test is reset.",
            "",
        );
        const first = haGuests(s)[0];
        if (!first) {
            // No HA resource: every LRM stays idle and holds no watchdog, so losing quorum resets nothing.
            this.p(
                "This site has no HA guests, so nothing is tested here: every node's HA LRM stays `idle` and holds no watchdog, and a node that loses quorum is **not** reset (docs/proxmox-facts.md §5). Its guests stop being manageable until quorum returns, and those of a dead node come back only by hand: [Recovering guests of a lost node](" +
                    anchor("Recovering guests of a lost node") +
                    "). Check that the LRMs are idle:",
                "",
            );
            this.code("sh", [ssh(s.nodes[0]!), `ha-manager status   # ${s.nodes.map((n) => `lrm ${n.name} (idle, …)`).join(", ")}`]);
            return;
        }
        for (const n of s.nodes) {
            const m = this.others(n)[0];
            const guests = this.guestsOn(n);
            const ha = guests.filter((g) => g.ha);
            const plain = guests.filter((g) => !g.ha);
            this.p(`#### Watchdog test of ${n.name}`, "");
            this.p(`1. \`npm run health -- --stack ${this.stack}\` exits 0.`);
            if (ha.length)
                this.p(
                    `2. ${n.name} runs the HA guest${ha.length > 1 ? "s" : ""} ${list(ha.map(vm))}; when ${n.name} is reset, ${list(ha.map((g) => this.moveText(g, n.name, "recover")))}.`,
                );
            else if (first)
                this.p(
                    `2. No HA guest lives on ${n.name}: move one there first, e.g. \`ha-manager migrate ${sid(first)} ${n.name}\`, and wait until \`ha-manager status\` shows it started on ${n.name}.`,
                );
            if (plain.length) this.p(`   Guests without HA on ${n.name} go down with it: ${list(plain.map(vm))}.`);
            this.p(`3. On ${n.name}, check the watchdog:`, "");
            this.code("sh", [
                ssh(n),
                `grep WATCHDOG_MODULE /etc/default/pve-ha-manager   # WATCHDOG_MODULE=${n.watchdog}`,
                `ha-manager status | grep 'lrm ${n.name}'             # lrm ${n.name} (active, …)`,
            ]);
            this.p(
                `   The health check's rows \`watchdog configured\` and \`watchdog in use\` must both show ${n.watchdog} and \`reboot pending: no\`.`,
            );
            this.p(
                `4. Cut ${n.name} off from corosync${s.qdevice ? " and from the QDevice" : ""} (nothing is saved: the reset clears these rules). Never stop or restart watchdog-mux for a test:`,
                "",
            );
            this.code("sh", [
                "iptables -I INPUT -p udp --dport 5405:5412 -j DROP",
                "iptables -I OUTPUT -p udp --dport 5405:5412 -j DROP",
                ...(s.qdevice ? [`iptables -I OUTPUT -p tcp -d ${s.qdevice.address} --dport 5403 -j DROP`] : []),
            ]);
            if (m) {
                this.p(
                    `5. Expected within about 70 s (60 s HA lock timeout + 10 s watchdog, docs/proxmox-facts.md §5): ${n.name} resets by itself. Meanwhile on ${m.name}:`,
                    "",
                );
                this.code("sh", [
                    ssh(m),
                    `pvecm status | grep -E 'Total votes|Quorate'   # Total votes: ${this.q.expectedVotes - 1}, Quorate: ${this.q.expectedVotes - 1 >= this.q.quorum ? "Yes" : "No"}`,
                    "ha-manager status                               # the guests go fence → recovery → started",
                ]);
            }
            this.p(
                `6. Pass: ${n.name} rebooted without anyone touching it and its HA guests run elsewhere. Fail: ${n.name} is still up after 2 minutes — its watchdog is not armed; remove the rules (the same \`iptables\` lines with \`-D\` instead of \`-I\`) and check \`systemctl status watchdog-mux\` and the module, without restarting watchdog-mux.`,
                `7. When ${n.name} is back: [Failback](${anchor("Failback")}).`,
                "",
            );
        }
    }

    private maintenance(): void {
        const s = this.site;
        this.p("### Planned maintenance and migration", "");
        this.p(
            `Takes one node out of service. HA live-migrates the HA guests that may run elsewhere, without downtime; a guest that a rule or its replicas keep on the node stops with it (each node's step 3 names them). The other node${s.nodes.length > 2 ? "s" : ""}${s.qdevice ? " and the QDevice" : ""} keep quorum meanwhile (${this.q.expectedVotes - 1} of ${this.q.expectedVotes} votes, ${this.q.quorum} needed), so check the site is healthy before you start. A changed watchdog module also takes effect this way (it needs a reboot).`,
            "",
        );
        for (const n of s.nodes) {
            const guests = this.guestsOn(n);
            const ha = guests.filter((g) => g.ha);
            const plain = guests.filter((g) => !g.ha);
            const m = this.others(n)[0];
            this.p(`#### Maintenance of ${n.name}`, "");
            this.p(`1. \`npm run health -- --stack ${this.stack}\` exits 0.`);
            if (plain.length && m) {
                this.p(`2. Move the guests HA does not manage by hand:`, "");
                this.code("sh", [ssh(n), ...plain.map((g) => `qm migrate ${g.vmid} ${this.fallback(g, n.name) ?? m.name} --online`)]);
            } else {
                this.p(`2. No guest without HA lives on ${n.name}.`);
            }
            this.p(
                `3. Put ${n.name} into maintenance; HA live-migrates its HA guests away${ha.length ? `: ${list(ha.map((g) => this.moveText(g, n.name)))}` : ""}:`,
                "",
            );
            this.code("sh", [
                ssh(n),
                `ha-manager crm-command node-maintenance enable ${n.name}`,
                `ha-manager status   # lrm ${n.name} (maintenance mode, …) and no 'service … (${n.name}, …)' line`,
            ]);
            if (ha.length && m) {
                const jobs = ha.filter((g) => !this.stuck(g, n.name)).flatMap((g) => replicationJobs(s, g).map((j) => j.id));
                if (jobs.length)
                    this.p(
                        `   Replication follows the guests: after the migration, \`pvesr status\` on ${m.name} lists ${list(jobs.map((j) => `\`${j}\``))} with target \`local/${n.name}\` (docs/proxmox-facts.md §6: the job direction flips with the migration).`,
                    );
            }
            this.p(
                `4. Do the work on ${n.name}; reboot it if needed (\`reboot\`).`,
                `5. When ${n.name} is back, check that it rejoined and end the maintenance:`,
                "",
            );
            this.code("sh", [
                ssh(n),
                `pvecm status | grep -E 'Total votes|Flags'   # Total votes: ${this.q.expectedVotes}, Flags: Quorate${s.qdevice ? " Qdevice" : ""}`,
                `ha-manager crm-command node-maintenance disable ${n.name}`,
            ]);
            const kept = ha.filter((g) => this.stuck(g, n.name));
            const back = ha.filter((g) => this.preferred(g) === n.name && !kept.includes(g));
            if (kept.length)
                this.p(
                    `6. ${list(kept.map(vm))} never left ${n.name} (nowhere ${kept.length > 1 ? "they" : "it"} may run) and ${kept.length > 1 ? "were" : "was"} down during the maintenance; HA starts ${kept.length > 1 ? "them" : "it"} again on ${n.name} when the maintenance ends.`,
                );
            if (back.length) {
                this.p(
                    `6. HA moves ${list(back.map(vm))} back to ${n.name} once the maintenance ends; if \`ha-manager status\` still shows ${back.length > 1 ? "them" : "it"} elsewhere after a few minutes: ${back.map((g) => `\`ha-manager migrate ${sid(g)} ${n.name}\``).join(", ")}.`,
                );
            } else if (!kept.length) {
                this.p(`6. No HA guest prefers ${n.name}: nothing moves back.`);
            }
            if (plain.length)
                this.p(
                    `   Guests without HA come back by hand: ${plain.map((g) => `\`qm migrate ${g.vmid} ${n.name} --online\``).join(", ")} (run on the node that holds them).`,
                );
            this.p(`7. \`npm run health -- --stack ${this.stack}\` exits 0.`, "");
        }
        const one = haGuests(s)[0];
        if (one) {
            const to = this.fallback(one, one.node);
            this.p("Moving a single guest: HA guests only through HA, never with `qm migrate` (HA would move it back or fence it):", "");
            this.code(
                "sh",
                haGuests(s).map((g) =>
                    this.stuck(g, g.node)
                        ? `# ${vm(g)} cannot move: ${this.fallback(g, g.node) ? `a rule keeps it off ${this.fallback(g, g.node)!}` : "no other node holds its replica"}`
                        : `ha-manager migrate ${sid(g)} ${this.fallback(g, g.node) ?? to ?? g.node}   # ${vm(g)}, online`,
                ),
            );
        }
    }

    private failoverDrill(): void {
        const s = this.site;
        this.p("### Failover drill", "");
        if (!haGuests(s).length)
            this.p(
                "This site has no HA guests: nothing restarts by itself. The drill shows that the rest of the site keeps quorum; the lost node's guests come back when it returns, or by hand from their replicas ([Recovering guests of a lost node](" +
                    anchor("Recovering guests of a lost node") +
                    ")).",
                "",
            );
        else
            this.p(
                `Proves that HA restarts the guests of a node that loses power, and measures the recovery time. Expect about 3 minutes (60 s fencing + HA recovery + guest boot) and up to ${this.rpo} of lost writes. Cut the power (BMC or PDU): a clean shutdown is handled by the HA shutdown policy (\`${s.cluster.haShutdownPolicy}\`) and is no failover test.`,
                "",
            );
        const cases = failureCases(s);
        for (const n of s.nodes) {
            const m = this.others(n)[0];
            const c = cases.find((x) => x.kind === "node" && x.failure === `node ${n.name}`);
            const ha = this.guestsOn(n).filter((g) => g.ha);
            this.p(`#### Losing ${n.name}`, "");
            if (c)
                this.p(
                    `Expected: ${c.summary}.${ha.length ? "" : ` No HA guest lives on ${n.name}: the drill shows that the rest of the site stays quorate.`}`,
                    "",
                );
            const jobs = ha.flatMap((g) => replicationJobs(s, g).map((j) => j.id));
            this.p(
                `1. \`npm run health -- --stack ${this.stack}\` exits 0.${jobs.length ? ` Note the LastSync of ${list(jobs.map((j) => `\`${j}\``))} on ${n.name} (\`pvesr status\`): that is the recovery point.` : ""}`,
                `2. Cut ${n.name}'s power.`,
            );
            if (m) {
                this.p(`3. Watch from ${m.name} and note the time each guest is \`started\` again (your RTO):`, "");
                this.code("sh", [ssh(m), "watch -n 5 \"pvecm status | grep -E 'Total votes|Quorate'; ha-manager status\""]);
                this.p(
                    `   Expected: Total votes ${this.q.expectedVotes - 1}, Quorate Yes${ha.length ? `; the \`service\` lines go fence → recovery → started where HA can: ${list(ha.map((g) => this.moveText(g, n.name, "recover")))}` : ""}.`,
                );
            }
            this.p(`4. Check the guests' data: anything written after the recovery point is gone (at most ${this.rpo}).`);
            let last = 5;
            if (m) {
                // issue #11 point 5: the API endpoint moves to a node that is up; the down node's steps are left alone.
                this.p(
                    `5. Pulumi reaches the site through ${m.name}'s API while ${n.name} is down: \`PROXMOX_HA_DOWN_NODES=${n.name} pulumi preview --stack ${this.stack}\` (the same variable for \`pulumi up\`) plans nothing for ${n.name}'s SSH steps, and its refresh reads where HA put the guests. What lives on ${n.name} itself (its VLANs and bridges) cannot be read while it is down: if the refresh stops at one, leave it out with \`--exclude\` and its URN (\`pulumi stack --show-urns\` lists them) until ${n.name} is back.`,
                );
                last = 6;
            }
            this.p(
                `${last}. Power ${n.name} on. It rejoins by itself (\`pvecm status\`: Total votes ${this.q.expectedVotes}); then [Failback](${anchor("Failback")}).`,
                "",
            );
        }
    }

    private failback(): void {
        const s = this.site;
        this.p("### Failback", "");
        this.p(
            "After a failover or a watchdog test, bring the guests home once their node is back and the replicas have caught up (the migration then only sends what changed since the last sync).",
            "",
        );
        for (const n of s.nodes) {
            const home = haGuests(s).filter((g) => this.preferred(g) === n.name);
            const plain = this.guestsOn(n).filter((g) => !g.ha);
            let step = 1;
            this.p(`#### Back to ${n.name}`, "");
            this.p(`${step++}. ${n.name} is a member again and its LRM is alive:`, "");
            this.code("sh", [
                ssh(n),
                `pvecm status | grep -E 'Total votes|Flags'   # Total votes: ${this.q.expectedVotes}, Flags: Quorate${s.qdevice ? " Qdevice" : ""}`,
                `ha-manager status | grep 'lrm ${n.name}'        # active or idle, not 'old timestamp - dead?'`,
            ]);
            const stayed = home.filter((g) => g.node === n.name && this.stuck(g, n.name));
            if (stayed.length)
                this.p(
                    `${step++}. ${list(stayed.map(vm))} had nowhere to go while ${n.name} was away and stayed down; HA starts ${stayed.length > 1 ? "them" : "it"} on ${n.name} again by itself once ${n.name} is back.`,
                );
            const moved = home.filter((g) => !stayed.includes(g));
            const jobs = moved.flatMap((g) => replicationJobs(s, g).map((j) => ({ g, j })));
            if (jobs.length) {
                this.p(
                    `${step++}. On the node that runs ${moved.length > 1 ? "them" : "it"} now, \`pvesr status\` must show ${list(jobs.map(({ j }) => `\`${j.id}\``))} with target \`local/${n.name}\`, State \`OK\` and a recent LastSync. An error there: [Replication errors](${anchor("Replication errors")}).`,
                );
            }
            if (moved.length) {
                const auto = moved.filter((g) => g.ha!.failback);
                const manual = moved.filter((g) => !g.ha!.failback);
                if (auto.length)
                    this.p(
                        `${step++}. ${list(auto.map(vm))}: failback is on, HA migrates ${auto.length > 1 ? "them" : "it"} to ${n.name} by itself (${n.name} has the highest priority in ${auto.length > 1 ? "their" : "its"} node affinity).`,
                    );
                if (manual.length)
                    this.p(
                        `${step++}. ${list(manual.map(vm))}: failback is off; move by hand: ${manual.map((g) => `\`ha-manager migrate ${sid(g)} ${n.name}\``).join(", ")}.`,
                    );
            } else if (!stayed.length) {
                this.p(`${step++}. No HA guest prefers ${n.name}: nothing moves.`);
            }
            if (plain.length)
                this.p(
                    `${step++}. Guests without HA come back by hand, on the node that holds them: ${plain.map((g) => `\`qm migrate ${g.vmid} ${n.name} --online\``).join(", ")}.`,
                );
            this.p(
                `${step++}. \`ha-manager status\` shows each guest on its preferred node; \`npm run health -- --stack ${this.stack}\` exits 0.`,
                "",
            );
        }
    }

    private replaceNode(): void {
        const s = this.site;
        const qd = s.qdevice;
        this.p("### Replacing a node", "");
        this.p(
            "For a node that is dead for good or is being swapped for new hardware under the same name and address.",
            qd
                ? `With a QDevice, the order matters (docs/proxmox-facts.md §3): the QDevice must be removed before a node is added or removed and set up again afterwards, but \`pvecm qdevice remove\` needs every node online, and removing it while a node is missing would leave the survivor${s.nodes.length > 2 ? "s" : ""} without quorum (HA guests fenced). So the dead node is deleted first — the survivor${s.nodes.length > 2 ? "s" : ""} and the QDevice still hold quorum — then the QDevice is removed, the new node joins, and the QDevice is set up again.`
                : "",
            "",
        );
        for (const n of s.nodes) {
            const m = this.others(n)[0];
            if (!m) continue;
            const isFirst = n.index === 0;
            const remaining = this.q.nodeVotes - 1;
            this.p(`#### Replacing ${n.name}`, "");
            this.p(
                `1. Make sure the old ${n.name} can never come back on this network (power it off, pull its cables), and that its HA guests run on ${m.name} (\`ha-manager status\`). Guests without HA on ${n.name}${
                    this.guestsOn(n).some((g) => !g.ha)
                        ? `: ${list(
                              this.guestsOn(n)
                                  .filter((g) => !g.ha)
                                  .map(vm),
                          )} — recover them from their replicas as in [Recovering guests from a lost pool](${anchor("Recovering guests from a lost pool")})`
                        : ": none"
                }.${this.stuckNote(n)}`,
                `2. Remove ${n.name} from the cluster, on ${m.name}:`,
                "",
            );
            this.code("sh", [
                ssh(m),
                `pvecm delnode ${n.name}`,
                `pvecm status | grep -E 'Expected votes|Total votes|Quorate'   # Expected votes: ${remaining + this.q.qdeviceVotes}, Quorate: Yes`,
                `ls /etc/pve/nodes/${n.name}/qemu-server/   # must be empty (HA moved the guests); then: rm -r /etc/pve/nodes/${n.name}`,
                `ssh-keygen -R ${n.address} -f /etc/pve/priv/known_hosts   # the new machine has a new host key`,
            ]);
            let step = 3;
            if (qd) {
                this.p(`${step++}. Remove the QDevice, on ${m.name} (from now until it is back the site survives no further failure):`, "");
                this.code("sh", [
                    "pvecm qdevice remove   # prints 'Removed Qdevice.'",
                    `pvecm status | grep 'Expected votes'   # Expected votes: ${remaining}`,
                ]);
            }
            const vlans = s.network.vlans.filter((v) => v.purpose === "corosync" && v.addresses[n.name]);
            this.p(
                `${step++}. Install Proxmox VE on the new machine as \`${n.name}\` with address ${n.address}${vlans.length ? `, and configure its corosync VLAN${vlans.length > 1 ? "s" : ""} before joining (${list(vlans.map((v) => `VLAN ${v.tag} on ${v.interface} with ${v.addresses[n.name]}${v.mtu ? `, MTU ${v.mtu}` : ""}`))}; \`scripts/corosync-vlan.sh\` does exactly this)` : ""}. Its data disks must be empty. In \`Pulumi.${this.stack}.yaml\`, set \`nodes[${n.index}].sshHostKey\` to the new host key (\`ssh-keyscan -t ed25519 ${n.address} | cut -d' ' -f2-\`, checked on the console) and \`nodes[${n.index}].zfs.disks\` to the new disks' \`/dev/disk/by-id/\` paths if they changed.`,
                `${step++}. Join it to the cluster by hand${isFirst ? ` — **before any \`pulumi up\`**: ${n.name} is the first node of the stack, and on a node that is in no cluster Pulumi's first step creates one, which would be a second cluster \`${s.cluster.name}\`` : ""}:`,
                "",
            );
            this.code("sh", [
                `${ssh(m)} openssl x509 -noout -fingerprint -sha256 -in /etc/pve/nodes/${m.name}/pve-ssl.pem   # sha256 Fingerprint=AA:BB:…`,
                ssh(n),
                ...n.links.map(
                    (l, i) => `ping -c 2 -I ${l.address} ${m.links[i]?.address ?? m.address}   # link${i}: must answer before the join`,
                ),
                `timeout 300 pvecm add ${m.address} ${n.links.map((l, i) => `--link${i} ${l.address}`).join(" ")} --fingerprint <AA:BB:… from above>   # asks for ${m.name}'s root password`,
                `pvecm status | grep -E 'Expected votes|Total votes'   # Expected votes: ${this.q.nodeVotes}, Total votes: ${this.q.nodeVotes}`,
            ]);
            this.p(
                `   If \`pvecm add\` stays at \`waiting for quorum...\` (the \`timeout\` ends it after 5 minutes), ${m.name} has added ${n.name} but corosync traffic between them does not pass (link addresses, VLAN, UDP 5405–5412, MTU): ${m.name} now counts a vote that never comes, is inquorate, its \`/etc/pve\` is read-only${this.site.guests.some((g) => g.ha) ? ", and with HA active its watchdog resets it about a minute later" : ""}. Recover at once — \`pvecm delnode\` needs quorum, so \`pvecm expected 1\` comes first:`,
                "",
            );
            this.code("sh", [
                `${ssh(n)}   # separate the new node (pvecm.adoc, Separate a Node Without Reinstalling)`,
                "systemctl stop pve-cluster corosync; pmxcfs -l; rm -f /etc/pve/corosync.conf; rm -rf /etc/corosync/*",
                "killall pmxcfs; systemctl start pve-cluster; rm -f /var/lib/corosync/*",
                ssh(m),
                `pvecm expected 1      # quorum back on ${m.name}`,
                `pvecm delnode ${n.name}`,
            ]);
            this.p(`   Fix the corosync path, then join again.`, "");
            if (qd) {
                this.p(
                    `${step++}. Install the QDevice client on the new ${n.name} (\`pvecm qdevice setup\` initialises its certificate store on every node and starts corosync-qdevice there):`,
                    "",
                );
                this.code("sh", [
                    ssh(n),
                    "apt-get update   # without a subscription key the enterprise entries answer 401: harmless here, the package is Debian's",
                    "apt-get install -y corosync-qdevice",
                ]);
                this.p(`${step++}. Set the QDevice up again: [Re-adding the QDevice](${anchor("Re-adding the QDevice")}), steps 3 to 6.`);
            }
            this.p(
                `${step++}. \`pulumi up --stack ${this.stack}\`: every step pinned to ${n.name}'s host key runs again on the new machine (pool ${n.zfs.pool} on the empty disks${s.storage.dataset ? ` with dataset ${s.storage.zfsPath}` : ""}, watchdog ${n.watchdog}, packages); the cluster and QDevice steps find their work done. Replication jobs towards ${n.name} send the full disks at their next run.`,
                `${step++}. \`npm run health -- --stack ${this.stack}\` exits 0; then [Failback](${anchor("Failback")}).`,
                "",
            );
        }
    }

    private replaceDisk(): void {
        const s = this.site;
        this.p("### Replacing a disk", "");
        this.p(
            "The health check reports a pool that is not ONLINE or has errors. Never pass `-f` to a `zpool` command and never re-create a pool to get rid of a failed disk.",
            "",
        );
        for (const n of s.nodes) {
            const pool = n.zfs.pool;
            this.p(`#### A disk of ${pool} on ${n.name}`, "");
            this.p(`Layout ${n.zfs.layout} (${REDUNDANCY[n.zfs.layout] ?? ""}) over:`, "", ...n.zfs.disks.map((d) => `- \`${d}\``), "");
            if (n.zfs.layout === "single") {
                this.p(
                    `With a single disk there is nothing to resilver from: the pool is lost with the disk. Recover the guests first ([Recovering guests from a lost pool](${anchor("Recovering guests from a lost pool")})), then replace the disk, put its by-id path in \`nodes[${n.index}].zfs.disks\` and run \`pulumi up --stack ${this.stack}\` to create ${pool} on it; replication jobs towards ${n.name} then send full copies.`,
                    "",
                );
                continue;
            }
            this.p(`1. Find the failed disk (FAULTED, UNAVAIL, OFFLINE or with errors) among the disks above:`, "");
            this.code("sh", [ssh(n), `zpool status -v ${pool}`]);
            this.p(
                `2. If it is still attached, take it out of service: \`zpool offline ${pool} <failed disk>\`.`,
                "3. Swap the disk. Find the new one's stable name and make sure it is empty (no partition table, no signature):",
                "",
            );
            this.code("sh", [
                "ls -l /dev/disk/by-id/ | grep -v -- -part",
                "wipefs -n /dev/disk/by-id/<new disk>    # must print nothing",
                "blkid -p /dev/disk/by-id/<new disk>; echo $?   # 2 = nothing found",
            ]);
            this.p(`4. Replace and let it resilver:`, "");
            this.code("sh", [
                `zpool replace ${pool} <failed disk> /dev/disk/by-id/<new disk>`,
                `zpool status ${pool}   # until: state ONLINE, resilvered … with 0 errors`,
            ]);
            this.p(
                `5. Put the new path in \`Pulumi.${this.stack}.yaml\` (\`nodes[${n.index}].zfs.disks\`, in place of the failed one): Pulumi adopts ${pool} only when its disks are exactly the stack's.`,
                `6. \`npm run health -- --stack ${this.stack}\` exits 0.`,
                "",
            );
        }
    }

    private lostPool(): void {
        const s = this.site;
        this.p("### Recovering guests from a lost pool", "");
        this.p(
            `When a node's pool is gone (failed beyond repair) the node stays in the cluster and HA does not react: restart its guests from their replicas by moving their configuration to the node that holds the replica (pve-docs, storage replication: "Migrating a guest in case of Error"). Writes since the replica's LastSync (at most ${this.rpo}) are lost.`,
            "",
        );
        for (const n of s.nodes) {
            const guests = this.guestsOn(n);
            this.p(`#### ${n.zfs.pool} lost on ${n.name}`, "");
            if (!guests.length) {
                this.p(
                    `No guest lives on ${n.name}; replication jobs towards it fail until the pool is back ([Replacing a disk](${anchor("Replacing a disk")}) or [Replacing a node](${anchor("Replacing a node")})).`,
                    "",
                );
                continue;
            }
            const lines: string[] = [ssh(n)];
            for (const g of guests) {
                const to = g.replicateTo[0];
                if (!to) {
                    lines.push(`# ${vm(g)} has no replica: restore it from backup`);
                    continue;
                }
                if (g.ha) lines.push(`ha-manager set ${sid(g)} --state ignored   # HA lets go of ${vm(g)}`);
                lines.push(
                    `${g.type === "ct" ? "pct" : "qm"} stop ${g.vmid}`,
                    `mv /etc/pve/nodes/${n.name}/${confDir(g)}/${g.vmid}.conf /etc/pve/nodes/${to}/${confDir(g)}/${g.vmid}.conf`,
                );
                lines.push(
                    g.ha
                        ? `ha-manager set ${sid(g)} --state ${g.ha.state}   # HA starts it on ${to}`
                        : `${ssh(s.nodes.find((x) => x.name === to)!)} ${startCmd(g)}`,
                );
            }
            this.code("sh", lines);
            this.p(
                `Then repair the pool ([Replacing a disk](${anchor("Replacing a disk")})) and let the replicas flow back ([Failback](${anchor("Failback")})).`,
                "",
            );
        }
    }

    /**
     * A node that is dead for good: its guests without HA (or all guests, on a
     * site without HA) are started by hand on a node that holds their replica,
     * by moving the configuration (pve-docs, storage replication, "Migrating a
     * guest in case of Error"). Needs quorum on the survivors.
     */
    private lostNode(): void {
        const s = this.site;
        const manual = s.guests.filter((g) => !g.ha);
        if (!manual.length) return;
        this.p("### Recovering guests of a lost node", "");
        this.p(
            `HA restarts only HA guests. When a node is dead and will not come back soon, start its other guests from their replicas on a surviving node. Only when the node is really off (powered down or fenced): a guest started twice on the same replica corrupts it. The survivors must be quorate (\`pvecm status\`: Quorate Yes). Writes since the replica's LastSync (at most ${this.rpo}) are lost.`,
            "",
        );
        for (const n of s.nodes) {
            const guests = manual.filter((g) => g.node === n.name);
            if (!guests.length) continue;
            this.p(`#### ${n.name} lost`, "");
            for (const g of guests) {
                const to = g.replicateTo.find((t) => t !== n.name);
                if (!to) {
                    this.p(`${vm(g)} has no replica: restore it from backup.`, "");
                    continue;
                }
                const target = s.nodes.find((x) => x.name === to)!;
                this.p(`${vm(g)}, from its replica on ${to}:`, "");
                this.code("sh", [
                    ssh(target),
                    `mv /etc/pve/nodes/${n.name}/${confDir(g)}/${g.vmid}.conf /etc/pve/nodes/${to}/${confDir(g)}/${g.vmid}.conf`,
                    startCmd(g),
                ]);
            }
            this.p(
                `When ${n.name} returns, it must not start these guests again: their configurations now live on the other node, so it will not. Bring them back with [Failback](${anchor("Failback")}), or replace the node ([Replacing a node](${anchor("Replacing a node")})).`,
                "",
            );
        }
    }

    private readdQdevice(): void {
        const s = this.site;
        const qd = s.qdevice!;
        const first = s.nodes[0]!;
        this.p("### Re-adding the QDevice", "");
        this.p(
            `Losing the QDevice alone keeps quorum (${this.q.nodeVotes} of ${this.q.expectedVotes} votes) but then the site survives no further failure. Use this when the qnetd host ${qd.address} was rebuilt or replaced, when the health check shows the QDevice not registered or connected to another host, and after [Replacing a node](${anchor("Replacing a node")}). \`pvecm qdevice setup\` and \`remove\` need every node online (docs/proxmox-facts.md §3).`,
            "",
        );
        this.p(
            `1. Every node is a member: \`pvecm status\` on ${first.name} lists ${list(s.nodes.map((n) => n.links[0]!.address))} (their link0 addresses) as members.`,
        );
        this.p(
            `2. On the qnetd host (${ssh(qd)}): \`apt install corosync-qnetd\`; TCP 5403 reachable from ${list(s.nodes.map((n) => n.address))}. A rebuilt host has a new SSH host key: put it in \`Pulumi.${this.stack}.yaml\` (\`qdevice.sshHostKey\`) after checking it on its console.`,
            `3. Let every node reach the qnetd host with its root key — \`pvecm qdevice setup\` runs \`ssh-copy-id\` without BatchMode and would prompt otherwise. Append each node's \`/root/.ssh/id_rsa.pub\` to \`/root/.ssh/authorized_keys\` on ${qd.address} (never enable password login), and pin the qnetd host key on each node:`,
            "",
        );
        this.code("sh", [
            ...s.nodes.map((n) => `${ssh(n)} cat /root/.ssh/id_rsa.pub | ${ssh(qd)} 'cat >> /root/.ssh/authorized_keys'`),
            ...s.nodes.map((n) => `${ssh(n)} "echo '${qd.address} ${qd.sshHostKey}' >> /root/.ssh/known_hosts"`),
        ]);
        this.p(`4. On ${first.name}, remove a leftover QDevice configuration (only if there is one), then set it up:`, "");
        this.code("sh", [
            ssh(first),
            "grep -c 'device {' /etc/pve/corosync.conf   # 1: a QDevice is configured",
            "pvecm qdevice remove                        # only when the line above printed 1",
            `pvecm qdevice setup ${qd.address}`,
        ]);
        this.p(
            "   If setup stops with `QDevice certificate store already initialised, set force to delete!` while no `device {` block exists (an interrupted earlier setup), repeat it with `--force`.",
        );
        if (qd.tieBreaker !== "lowest") {
            this.p(
                `5. Tie-breaker \`${qd.tieBreaker}\`: add \`tie_breaker: ${qd.tieBreaker}\` to the \`net\` section of \`quorum.device\` in /etc/pve/corosync.conf (raise \`config_version\`), then \`systemctl restart corosync-qdevice\` on ${list(s.nodes.map((n) => n.name))}.`,
            );
        } else {
            this.p(`5. Tie-breaker: the default (lowest node id, ${first.name}) is the stack's; nothing to change.`);
        }
        this.p(`6. Check on every node:`, "");
        this.code("sh", [
            `pvecm status | grep -E 'Expected votes|Total votes|Flags'   # Expected votes: ${this.q.expectedVotes}, Total votes: ${this.q.expectedVotes}, Flags: Quorate Qdevice`,
            "corosync-qdevice-tool -s | grep -E 'QNetd host|Algorithm|Tie-breaker|State'",
            `#   QNetd host: ${qd.address}:5403, Algorithm: Fifty-Fifty split, Tie-breaker: Node with ${qd.tieBreaker} node ID, State: Connected`,
        ]);
        this.p(`7. \`npm run health -- --stack ${this.stack}\` exits 0.`, "");
    }

    private replicationErrors(): void {
        const s = this.site;
        this.p("### Replication errors", "");
        const jobs = s.guests.flatMap((g) => replicationJobs(s, g).map((j) => ({ g, j })));
        if (!jobs.length) {
            this.p("This site declares no replication jobs.", "");
            return;
        }
        this.p(
            `Jobs of this site (schedule \`${s.replication.schedule}\`${s.replication.rateMBps ? `, rate ${s.replication.rateMBps} MB/s` : ""}):`,
            "",
            ...table(
                ["Job", "Guest", "From (while the guest runs on its home node)", "To"],
                jobs.map(({ g, j }) => [j.id, vm(g), g.node, j.target]),
            ),
            "",
            `\`pvesr status\` on the node that runs the guest shows each job's State: \`OK\`, \`SYNCING\` or the error text. A failed job is retried every 30 minutes; ${list(jobs.map(({ j }) => `\`pvesr schedule-now ${j.id}\``))} retries it at once.`,
            "",
        );
        const { g, j } = jobs[0]!;
        const src = s.nodes.find((n) => n.name === g.node)!;
        const dst = s.nodes.find((n) => n.name === j.target)!;
        const rate = s.replication.rateMBps ? ` --rate ${s.replication.rateMBps}` : "";
        this.p(
            "**`No common base snapshot on volume(s) …`**: the replica lost the snapshot both sides need. Re-create the job; this removes only the target's copies of that guest's disks and sends them again in full. Run it on the node that runs the guest, checked with `ha-manager status` first. For example job " +
                `\`${j.id}\` of ${vm(g)} while it runs on ${src.name}:`,
            "",
        );
        this.code("sh", [
            ssh(src),
            `pvesr delete ${j.id}                # the replicated volumes on ${dst.name} are removed at the job's next run`,
            `pvesr list | grep ${j.id}           # repeat until nothing is printed`,
            `pvesr create-local-job ${j.id} ${dst.name} --schedule '${s.replication.schedule}'${rate}`,
            `pvesr schedule-now ${j.id}`,
        ]);
        if (s.zrepl.enabled) {
            this.p(
                "With zrepl on this site, a snapshot held by zrepl blocks the removal (`dataset is busy`): release its stale holds with `zrepl zfs-abstraction release-stale` on the target, then retry.",
                "",
            );
        }
        this.p(
            `**Target unreachable or timing out**: replication runs over ${s.replication.network ? `the replication network ${s.replication.network}` : "the migration or management network"}; check from ${src.name} that ${dst.name} answers there${s.replication.network ? "" : ` (${dst.address})`} and that its pool ${dst.zfs.pool} is ONLINE.`,
            "",
            `**\`missing replicate feature on volume …\`**: a disk of the guest is not on storage \`${s.storage.id}\` (only ZFS volumes replicate): move it there or mark it \`replicate=0\`.`,
            "",
        );
    }
}
