/**
 * Compares what the hosts report with what the stack says. Pure: takes the
 * validated site and the raw command results per host, returns the report.
 *
 * Verdicts: "ok" (✓), "fail" (✗: the site differs from the stack), and
 * "unknown" (?: the host could not be asked or its answer was not
 * understood). The site is healthy (exit 0) when every check is ok, degraded
 * (exit 1) when some check fails and none is unknown, and "cannot tell"
 * (exit 2) as soon as one check is unknown: a report with holes never passes
 * for a verdict.
 */
import { quorumFacts } from "../../components/facts";
import { guestSid, haGuests, replicationJobs, type Guest, type Site, type SiteNode } from "../../components/model";
import { formatMinutes } from "../../components/schedule";
import type { NodeCommand, QnetdCommand } from "./commands";
import {
    minutesBetween,
    parseHaStatus,
    parseNodeClock,
    parsePvecmStatus,
    parsePvesrStatus,
    parseQdeviceTool,
    parseWatchdogDefault,
    parseWatchdogProbe,
    activeWatchdogName,
    firstLine,
    parseZpoolList,
    parseZpoolStatusX,
    type CommandResult,
    type HaStatus,
    type Parsed,
    type ReplicationJobStatus,
} from "./parsers";
import { zreplChecks } from "./zrepl";
import { pullTargets } from "../../components/zrepl/config";

export type Verdict = "ok" | "fail" | "unknown";

export interface Check {
    readonly check: string;
    readonly verdict: Verdict;
    readonly measured: string;
    readonly expected: string;
    /** One line: what to do about a ✗ or ?. */
    readonly remedy?: string;
}

export interface HostReport {
    readonly name: string;
    readonly address: string;
    readonly port: number;
    readonly role: "node" | "qdevice" | "cluster";
    /** Connection-level failure: unreachable, authentication, host key mismatch, timeout. */
    readonly error?: string;
    readonly checks: readonly Check[];
}

export interface HealthReport {
    readonly stack: string;
    readonly cluster: string;
    readonly status: "healthy" | "degraded" | "cannot tell";
    readonly exitCode: 0 | 1 | 2;
    readonly hosts: readonly HostReport[];
}

/** What the SSH layer brings back from one host. */
export interface HostProbe {
    /** Set when no command could run (the whole host is "cannot tell"). */
    readonly error?: string;
    readonly results: Readonly<Partial<Record<NodeCommand | QnetdCommand, CommandResult>>>;
}

const ok = (check: string, measured: string, expected: string): Check => ({ check, verdict: "ok", measured, expected });
const fail = (check: string, measured: string, expected: string, remedy: string): Check => ({
    check,
    verdict: "fail",
    measured,
    expected,
    remedy,
});
const unknownCheck = (check: string, reason: string, expected: string, remedy?: string): Check => ({
    check,
    verdict: "unknown",
    measured: reason,
    expected,
    ...(remedy ? { remedy } : {}),
});

function parsed<T>(probe: HostProbe, key: NodeCommand | QnetdCommand, parse: (r: CommandResult) => Parsed<T>): Parsed<T> {
    const r = probe.results[key];
    if (!r) return { ok: false, reason: "command did not run" };
    return parse(r);
}

/** Node name for an address printed by corosync (any of the node's link addresses or its SSH address). */
function nodeByAddress(site: Site, address: string): SiteNode | undefined {
    return site.nodes.find((n) => n.address === address || n.links.some((l) => l.address === address));
}

// ---------- per-node checks -----------------------------------------------------------

function clusterChecks(site: Site, node: SiteNode, probe: HostProbe): Check[] {
    const q = quorumFacts(site);
    const p = parsed(probe, "pvecm", parsePvecmStatus);
    if (!p.ok)
        return [
            unknownCheck(
                "cluster (pvecm status)",
                p.reason,
                `quorate member of ${site.cluster.name}`,
                `run \`pvecm status\` on ${node.name} and read it`,
            ),
        ];
    const s = p.value;
    if (s.state === "not-clustered") {
        return [
            fail(
                "cluster membership",
                "not in a cluster",
                `member of ${site.cluster.name}`,
                `join ${node.name} to ${site.cluster.name}: \`pulumi up\` (cluster join step)`,
            ),
        ];
    }
    if (s.state === "corosync-down") {
        return [
            fail(
                "corosync",
                `not running (${s.message})`,
                "running",
                `on ${node.name}: \`systemctl status corosync\`, \`journalctl -u corosync -b\``,
            ),
        ];
    }
    const checks: Check[] = [];
    const votesText = `${s.totalVotes} of ${s.expectedVotes} votes, quorum ${s.quorum}`;
    checks.push(
        s.quorate
            ? ok("quorate", `Yes (${votesText})`, "Yes")
            : fail(
                  "quorate",
                  `No${s.activityBlocked ? ", activity blocked" : ""} (${votesText})`,
                  "Yes",
                  `${node.name} has lost quorum: check the corosync links${site.qdevice ? ` and the QDevice ${site.qdevice.address}` : ""} (\`pvecm status\`, \`journalctl -u corosync\`)`,
              ),
    );
    checks.push(
        s.clusterName === site.cluster.name
            ? ok("cluster name", s.clusterName, site.cluster.name)
            : fail(
                  "cluster name",
                  s.clusterName,
                  site.cluster.name,
                  `${node.name} belongs to another cluster: check the stack or the node`,
              ),
    );
    checks.push(
        s.expectedVotes === q.expectedVotes
            ? ok(
                  "expected votes",
                  String(s.expectedVotes),
                  `${q.expectedVotes} (${q.nodeVotes} node${q.nodeVotes === 1 ? "" : "s"}${q.qdeviceVotes ? " + QDevice" : ""})`,
              )
            : fail(
                  "expected votes",
                  String(s.expectedVotes),
                  String(q.expectedVotes),
                  site.qdevice && !s.flags.includes("Qdevice")
                      ? `the QDevice is not configured: \`pvecm qdevice setup ${site.qdevice.address}\` on ${site.nodes[0]!.name} (or \`pulumi up\`)`
                      : "corosync.conf votes differ from the stack: compare /etc/pve/corosync.conf (nodelist, quorum.device) with the stack",
              ),
    );
    checks.push(
        s.totalVotes === q.expectedVotes
            ? ok("total votes", String(s.totalVotes), String(q.expectedVotes))
            : fail("total votes", String(s.totalVotes), String(q.expectedVotes), "a vote is missing: see the members and QDevice rows"),
    );
    if (site.qdevice) {
        checks.push(
            s.flags.includes("Qdevice")
                ? ok("Qdevice flag", s.flags.join(" "), "Qdevice set")
                : fail(
                      "Qdevice flag",
                      s.flags.join(" ") || "(none)",
                      "Qdevice set",
                      `QDevice not registered: \`systemctl status corosync-qdevice\` on ${node.name}; see runbook "Re-adding the QDevice"`,
                  ),
        );
        const qd = s.qdevice;
        checks.push(
            qd && qd.casting
                ? ok("QDevice vote", `${qd.votes} vote, cast`, "1 vote, cast")
                : fail(
                      "QDevice vote",
                      qd ? `not cast (votes ${qd.votes})` : "no Qdevice line",
                      "1 vote, cast",
                      `the QDevice does not vote for this partition: check ${site.qdevice.address}:5403 reachability and \`corosync-qdevice-tool -s\` on ${node.name}`,
                  ),
        );
    }
    const seen = s.members.map((m) => nodeByAddress(site, m.address)?.name ?? m.address);
    const expectedNames = site.nodes.map((n) => n.name);
    const missing = expectedNames.filter((n) => !seen.includes(n));
    const extra = seen.filter((n) => !expectedNames.includes(n));
    const measuredMembers = `${seen.join(", ")} (${s.nodes} node${s.nodes === 1 ? "" : "s"})`;
    checks.push(
        missing.length === 0 && extra.length === 0
            ? ok("members", measuredMembers, expectedNames.join(", "))
            : fail(
                  "members",
                  measuredMembers,
                  expectedNames.join(", "),
                  [
                      missing.length
                          ? `${missing.join(", ")} not in ${node.name}'s partition: is it up, are its corosync links reachable?`
                          : "",
                      extra.length ? `unexpected member ${extra.join(", ")}: not in the stack` : "",
                  ]
                      .filter(Boolean)
                      .join("; "),
              ),
    );
    return checks;
}

function qdeviceChecks(site: Site, node: SiteNode, probe: HostProbe): Check[] {
    const qd = site.qdevice;
    if (!qd) return [];
    const p = parsed(probe, "qdevice", parseQdeviceTool);
    if (!p.ok)
        return [unknownCheck("QDevice (corosync-qdevice-tool)", p.reason, "Connected", `run \`corosync-qdevice-tool -s\` on ${node.name}`)];
    const s = p.value;
    if (s.state === "not-running") {
        return [
            fail(
                "QDevice daemon",
                `not running (${s.message})`,
                "running, Connected",
                `on ${node.name}: \`systemctl start corosync-qdevice\`; \`journalctl -u corosync-qdevice\``,
            ),
        ];
    }
    const checks: Check[] = [];
    const host = s.qnetdHost ? s.qnetdHost.replace(/:\d+$/, "").replace(/^\[(.*)\]$/, "$1") : undefined;
    const connectedTo = `${s.connection}${s.qnetdHost ? ` to ${s.qnetdHost}` : ""}`;
    if (s.connection !== "Connected") {
        checks.push(
            fail(
                "QDevice connection",
                connectedTo,
                `Connected to ${qd.address}:5403`,
                `check TCP 5403 from ${node.name} to ${qd.address} and \`systemctl status corosync-qnetd\` there`,
            ),
        );
    } else if (host !== undefined && host !== qd.address) {
        checks.push(
            fail(
                "QDevice connection",
                connectedTo,
                `Connected to ${qd.address}:5403`,
                `corosync.conf points at another qnetd host: see runbook "Re-adding the QDevice"`,
            ),
        );
    } else {
        checks.push(ok("QDevice connection", connectedTo, `Connected to ${qd.address}:5403`));
    }
    checks.push(
        s.algorithm === "ffsplit"
            ? ok("QDevice algorithm", s.algorithm, "ffsplit")
            : fail("QDevice algorithm", s.algorithm, "ffsplit", `two-node sites use ffsplit: see runbook "Re-adding the QDevice"`),
    );
    checks.push(
        s.tieBreaker === qd.tieBreaker
            ? ok("QDevice tie-breaker", s.tieBreaker, qd.tieBreaker)
            : fail(
                  "QDevice tie-breaker",
                  s.tieBreaker,
                  qd.tieBreaker,
                  "set tie_breaker in corosync.conf quorum.device.net, then restart corosync-qdevice on every node (PVE docs)",
              ),
    );
    return checks;
}

function poolChecks(node: SiteNode, probe: HostProbe): Check[] {
    const pool = node.zfs.pool;
    const name = `pool ${pool}`;
    const expected = "ONLINE, no errors";
    const list = parsed(probe, "zpoolList", parseZpoolList);
    if (!list.ok) return [unknownCheck(name, list.reason, expected)];
    const mine = list.value.find((p) => p.name === pool);
    if (!mine) {
        // A pool last imported by another host imports only with -f (OpenZFS zpool_main.c show_import, hostid mismatch).
        return [
            fail(
                name,
                "not imported",
                expected,
                `on ${node.name}: \`zpool import\` lists importable pools; \`zpool import ${pool}\`, or \`zpool import -f ${pool}\` when it says "last accessed by another system" and that host no longer uses the pool`,
            ),
        ];
    }
    const status = parsed(probe, "zpoolStatus", parseZpoolStatusX);
    if (!status.ok) return [unknownCheck(name, `${mine.health}; ${status.reason}`, expected)];
    const problem = status.value.find((p) => p.name === pool);
    const remedy = `on ${node.name}: \`zpool status -v ${pool}\`; a failed disk: see runbook "Replacing a disk"`;
    if (mine.health !== "ONLINE") return [fail(name, [mine.health, problem?.status].filter(Boolean).join(": "), expected, remedy)];
    if (problem) return [fail(name, `ONLINE, ${problem.errors ?? problem.status ?? "listed by zpool status -x"}`, expected, remedy)];
    return [ok(name, "ONLINE, no errors", expected)];
}

function watchdogChecks(node: SiteNode, probe: HostProbe): Check[] {
    const checks: Check[] = [];
    const conf = probe.results.watchdogConf;
    let configured: string | undefined;
    if (!conf || conf.code !== 0) {
        checks.push(
            unknownCheck(
                "watchdog configured",
                `cannot read /etc/default/pve-ha-manager${conf ? `: ${firstLine(conf) || `exit ${conf.code}`}` : ""}`,
                node.watchdog,
            ),
        );
    } else {
        const p = parseWatchdogDefault(conf.stdout);
        if (!p.ok) {
            checks.push(
                unknownCheck(
                    "watchdog configured",
                    p.reason,
                    node.watchdog,
                    `fix the file by hand or re-run \`pulumi up\` (it writes WATCHDOG_MODULE=${node.watchdog})`,
                ),
            );
        } else {
            configured = p.value;
            checks.push(
                configured === node.watchdog
                    ? ok("watchdog configured", configured, node.watchdog)
                    : fail(
                          "watchdog configured",
                          configured,
                          node.watchdog,
                          `\`pulumi up\` writes WATCHDOG_MODULE=${node.watchdog} to /etc/default/pve-ha-manager on ${node.name}; then reboot it (runbook "Planned maintenance")`,
                      ),
            );
        }
    }
    const inUse = parsed(probe, "watchdogInUse", parseWatchdogProbe);
    const want = configured ?? node.watchdog;
    if (!inUse.ok) {
        checks.push(unknownCheck("watchdog in use", inUse.reason, want));
    } else {
        // Same rule as scripts/watchdog.sh: reboot required unless the module in use is the configured one.
        const active = activeWatchdogName(inUse.value);
        const shown = inUse.value.state === "unknown" ? `unknown (watchdog0 "${inUse.value.identity}" has no driver module)` : active;
        checks.push(
            active === want
                ? ok("watchdog in use", `${shown} (reboot pending: no)`, want)
                : fail(
                      "watchdog in use",
                      `${shown} (reboot pending: yes)`,
                      want,
                      `${want} takes effect at the next boot: migrate the guests away and reboot ${node.name} (runbook "Planned maintenance"); never restart watchdog-mux`,
                  ),
        );
    }
    return checks;
}

function lrmChecks(site: Site, node: SiteNode, probe: HostProbe, authoritative: AuthoritativeHa | undefined): Check[] {
    if (haGuests(site).length === 0) return [];
    // A quorate node's view is the cluster's; a node cut off from the cluster only knows its stale copy.
    const own = parsed(probe, "ha", parseHaStatus);
    const view = authoritative ?? (own.ok ? { from: node.name, status: own.value } : undefined);
    if (!view)
        return [unknownCheck("HA LRM", own.ok ? "no HA view" : own.reason, "active or idle", `run \`ha-manager status\` on ${node.name}`)];
    const lrm = view.status.lrms.find((l) => l.node === node.name);
    const from = view.from === node.name ? "" : ` (seen from ${view.from})`;
    if (!lrm)
        return [
            fail("HA LRM", `not listed by ha-manager status${from}`, "active or idle", `\`systemctl status pve-ha-lrm\` on ${node.name}`),
        ];
    const measured = `${lrm.status}${lrm.watchdog ? `, watchdog ${lrm.watchdog}` : ""}${from}`;
    if (lrm.status === "active" || lrm.status === "idle") return [ok("HA LRM", measured, "active or idle")];
    if (lrm.status === "maintenance mode") {
        return [
            fail("HA LRM", measured, "active or idle", `end maintenance: \`ha-manager crm-command node-maintenance disable ${node.name}\``),
        ];
    }
    return [
        fail("HA LRM", measured, "active or idle", `\`systemctl status pve-ha-lrm\` and \`journalctl -u pve-ha-lrm -b\` on ${node.name}`),
    ];
}

interface AuthoritativeHa {
    readonly from: string;
    readonly status: HaStatus;
}

/** The HA view of the first node that answered `ha-manager status` with `quorum OK`. */
function quorateHaView(site: Site, probes: ReadonlyMap<string, HostProbe>): AuthoritativeHa | undefined {
    for (const n of site.nodes) {
        const probe = probes.get(n.name);
        if (!probe || probe.error) continue;
        const p = parsed(probe, "ha", parseHaStatus);
        if (p.ok && p.value.quorate) return { from: n.name, status: p.value };
    }
    return undefined;
}

// ---------- cluster-wide checks -------------------------------------------------------

interface NodeView {
    readonly node: SiteNode;
    readonly pvesr: Parsed<ReplicationJobStatus[]>;
    readonly clock: Parsed<string>;
    readonly ha: Parsed<HaStatus>;
}

/** A job as some node's `pvesr status` lists it. */
interface SeenJob {
    readonly v: NodeView;
    readonly j: ReplicationJobStatus;
}

const guestOfJob = (id: string): number => Number(id.split("-")[0]);

/**
 * Proxmox allows one job per guest and target (pve-guest-common
 * src/PVE/ReplicationConfig.pm, write_config), so a job is identified by its
 * guest and target; its id is what the stack pins or derives. A job a
 * migration or HA recovery turned around (same id, target now the old home:
 * switch_replication_job_target_nolock) is still that job.
 */
function findJob(seen: readonly SeenJob[], vmid: number, target: string, id: string): SeenJob | undefined {
    const ofGuest = seen.filter((s) => guestOfJob(s.j.id) === vmid);
    return ofGuest.find((s) => s.j.target === `local/${target}`) ?? ofGuest.find((s) => s.j.id === id);
}

function replicationChecks(site: Site, views: readonly NodeView[]): Check[] {
    const limit = 2 * site.replication.worstCaseRpoMinutes;
    const expected = `enabled, OK, 0 failures, last sync ≤ ${formatMinutes(limit)} ago`;
    const checks: Check[] = [];
    const seen: SeenJob[] = views.flatMap((v) => (v.pvesr.ok ? v.pvesr.value.map((j) => ({ v, j })) : []));
    const matched = new Set<SeenJob>();
    const blind = views.filter((v) => !v.pvesr.ok);
    for (const [gi, g] of site.guests.entries()) {
        for (const job of replicationJobs(site, g)) {
            const name = `replication ${job.id} (${g.type} ${g.vmid} ${g.name})`;
            const found = findJob(seen, g.vmid, job.target, job.id);
            if (!found) {
                if (blind.length) {
                    const asked = views.filter((v) => v.pvesr.ok).map((v) => v.node.name);
                    const cannot = blind.map((v) => `${v.node.name} (${(v.pvesr as { reason: string }).reason})`).join(", ");
                    checks.push(unknownCheck(name, `${asked.length ? `not on ${asked.join(", ")}; ` : ""}cannot ask ${cannot}`, expected));
                } else {
                    const rate = site.replication.rateMBps !== undefined ? ` --rate ${site.replication.rateMBps}` : "";
                    checks.push(
                        fail(
                            name,
                            "missing on every node",
                            expected,
                            `create it: \`pulumi up\`, or \`pvesr create-local-job ${job.id} ${job.target} --schedule '${site.replication.schedule}'${rate}\``,
                        ),
                    );
                }
                continue;
            }
            matched.add(found);
            const { v, j } = found;
            const where = `on ${v.node.name} → ${j.target}`;
            if (j.id !== job.id) {
                checks.push(
                    fail(
                        name,
                        `the job to ${job.target} is ${j.id} (${where})`,
                        `job id ${job.id}`,
                        `keep the existing job: set guests[${gi}].replicationJobIds.${job.target}: ${j.id} in the stack (\`npm run adopt\` writes it); \`pulumi up\` would otherwise try to create a second job, which Proxmox refuses`,
                    ),
                );
                continue;
            }
            if (!j.enabled) {
                checks.push(fail(name, `disabled (${where})`, expected, `\`pvesr enable ${j.id}\` on ${v.node.name}`));
                continue;
            }
            if (j.state !== "OK" && j.state !== "SYNCING") {
                checks.push(
                    fail(
                        name,
                        `${j.state} (${j.failCount} failure${j.failCount === 1 ? "" : "s"}, last sync ${j.lastSync ?? "never"}, ${where})`,
                        expected,
                        `fix the cause, then \`pvesr schedule-now ${j.id}\` on ${v.node.name}; a lost base snapshot: see runbook "Replication errors"`,
                    ),
                );
                continue;
            }
            if (j.failCount !== 0) {
                checks.push(
                    fail(
                        name,
                        `${j.state} but ${j.failCount} failures (${where})`,
                        expected,
                        `\`pvesr status\` and \`journalctl -u pvescheduler\` on ${v.node.name}`,
                    ),
                );
                continue;
            }
            if (j.lastSync === undefined) {
                checks.push(fail(name, `never synced (${where})`, expected, `\`pvesr schedule-now ${j.id}\` on ${v.node.name}`));
                continue;
            }
            if (!v.clock.ok) {
                checks.push(unknownCheck(name, `last sync ${j.lastSync}; ${v.clock.reason}`, expected));
                continue;
            }
            const age = minutesBetween(j.lastSync, v.clock.value);
            const ageText = `last sync ${formatMinutes(Math.max(0, Math.round(age)))} ago`;
            checks.push(
                age <= limit
                    ? ok(name, `${j.state}, ${ageText} (${where})`, expected)
                    : fail(
                          name,
                          `${j.state}, ${ageText} (${where})`,
                          expected,
                          `replication is late: \`pvesr schedule-now ${j.id}\` on ${v.node.name}; check the replication network${site.replication.network ? ` ${site.replication.network}` : ""}`,
                      ),
            );
        }
    }
    // Jobs Proxmox runs that the stack does not declare: reported as such, never guessed at.
    for (const s of seen) {
        if (matched.has(s)) continue;
        const vmid = guestOfJob(s.j.id);
        const target = s.j.target.replace(/^local\//, "");
        const gi = site.guests.findIndex((g) => g.vmid === vmid);
        const where = `on ${s.v.node.name} → ${target}`;
        checks.push(
            fail(
                `replication ${s.j.id} (unknown job: vm ${vmid} → ${target})`,
                `${s.j.enabled ? "enabled" : "disabled"}, ${s.j.state} (${where})`,
                "not in the stack",
                gi >= 0
                    ? `declare it: add ${target} to guests[${gi}].replicateTo and set guests[${gi}].replicationJobIds.${target}: ${s.j.id}; or remove it, keeping the replica: \`pvesr delete ${s.j.id} --keep\``
                    : `guest ${vmid} is not in the stack: \`npm run adopt\` takes it over; or remove the job, keeping the replica: \`pvesr delete ${s.j.id} --keep\``,
            ),
        );
    }
    return checks;
}

function expectedHaState(g: Guest): string {
    return g.ha!.state;
}

function preferredNode(g: Guest): string {
    return Object.entries(g.ha!.nodes).sort((a, b) => b[1] - a[1])[0]?.[0] ?? g.node;
}

function haChecks(site: Site, views: readonly NodeView[]): Check[] {
    const guests = haGuests(site);
    if (guests.length === 0) return [];
    // The HA view of a quorate node is authoritative; fall back to any node that answered.
    const source = views.find((v) => v.ha.ok && v.ha.value.quorate) ?? views.find((v) => v.ha.ok);
    if (!source || !source.ha.ok) {
        const reasons = `cannot ask ${views.map((v) => `${v.node.name} (${v.ha.ok ? "?" : v.ha.reason})`).join(", ")}`;
        return guests.map((g) => unknownCheck(`HA ${guestSid(g)} (${g.name})`, reasons, expectedHaState(g)));
    }
    const ha = source.ha.value;
    const checks: Check[] = [];
    if (!ha.quorate) {
        checks.push(
            fail(
                "HA quorum",
                `${ha.quorumText} (from ${source.node.name})`,
                "OK",
                "no quorate node answered: HA cannot act; see the quorate rows",
            ),
        );
    }
    for (const g of guests) {
        const sid = guestSid(g);
        const name = `HA ${sid} (${g.name})`;
        const want = expectedHaState(g);
        const expected = `${want}${want === "started" ? `, preferably on ${preferredNode(g)}` : ""}`;
        const svc = ha.services.find((s) => s.sid === sid);
        if (!svc) {
            checks.push(
                fail(name, "not an HA resource", expected, `\`pulumi up\` (HA resource), or \`ha-manager add ${sid} --state ${want}\``),
            );
            continue;
        }
        const measured = `${svc.state} on ${svc.node}`;
        if (svc.state === want) {
            checks.push(ok(name, measured, expected));
        } else if (svc.state === "error") {
            checks.push(
                fail(
                    name,
                    measured,
                    expected,
                    `\`ha-manager set ${sid} --state disabled\`, fix the cause (\`journalctl -u pve-ha-lrm\` on ${svc.node}), then \`ha-manager set ${sid} --state ${want}\``,
                ),
            );
        } else {
            checks.push(
                fail(
                    name,
                    measured,
                    expected,
                    `HA is moving it (${svc.state}): re-run in a minute; if it stays, \`journalctl -u pve-ha-crm\` on the master${ha.master ? ` ${ha.master.node}` : ""}`,
                ),
            );
        }
    }
    return checks;
}

// ---------- report -------------------------------------------------------------------------

export function evaluate(
    stack: string,
    site: Site,
    probes: { readonly nodes: ReadonlyMap<string, HostProbe>; readonly qdevice?: HostProbe },
): HealthReport {
    const hosts: HostReport[] = [];
    const views: NodeView[] = [];
    const authoritative = quorateHaView(site, probes.nodes);
    for (const node of site.nodes) {
        const probe = probes.nodes.get(node.name) ?? { error: "not probed", results: {} };
        const base = { name: node.name, address: node.address, port: node.sshPort, role: "node" as const };
        if (probe.error) {
            hosts.push({ ...base, error: probe.error, checks: [unknownCheck("ssh", probe.error, "reachable, host key as pinned")] });
            const down = { ok: false as const, reason: "unreachable" };
            views.push({ node, pvesr: down, clock: down, ha: down });
            continue;
        }
        hosts.push({
            ...base,
            checks: [
                ok("ssh", "connected, host key matches", "reachable, host key as pinned"),
                ...clusterChecks(site, node, probe),
                ...qdeviceChecks(site, node, probe),
                ...poolChecks(node, probe),
                ...watchdogChecks(node, probe),
                ...lrmChecks(site, node, probe, authoritative),
                ...zreplChecks(
                    site,
                    node,
                    pullTargets(site, node).map((t) => t.job),
                    probe.results,
                ),
            ],
        });
        views.push({
            node,
            pvesr: parsed(probe, "pvesr", parsePvesrStatus),
            clock: parsed(probe, "clock", parseNodeClock),
            ha: parsed(probe, "ha", parseHaStatus),
        });
    }
    if (site.qdevice) {
        const probe = probes.qdevice ?? { error: "not probed", results: {} };
        const base = { name: "qnetd", address: site.qdevice.address, port: site.qdevice.sshPort, role: "qdevice" as const };
        if (probe.error) {
            hosts.push({ ...base, error: probe.error, checks: [unknownCheck("ssh", probe.error, "reachable, host key as pinned")] });
        } else {
            const r = probe.results.qnetd;
            const state = r?.stdout.trim() ?? "";
            const service =
                r && /^[a-z-]+$/.test(state)
                    ? state === "active"
                        ? ok("corosync-qnetd", "active", "active")
                        : fail(
                              "corosync-qnetd",
                              state,
                              "active",
                              `on ${site.qdevice.address}: \`systemctl start corosync-qnetd\`; \`journalctl -u corosync-qnetd\``,
                          )
                    : unknownCheck(
                          "corosync-qnetd",
                          `systemctl is-active not understood: ${r ? r.stdout.trim() || r.stderr.trim() || "no output" : "did not run"}`,
                          "active",
                      );
            hosts.push({ ...base, checks: [ok("ssh", "connected, host key matches", "reachable, host key as pinned"), service] });
        }
    }
    const cluster = [...haChecks(site, views), ...replicationChecks(site, views)];
    if (cluster.length) hosts.push({ name: site.cluster.name, address: "cluster-wide", port: 0, role: "cluster", checks: cluster });
    const all = hosts.flatMap((h) => h.checks);
    const exitCode = all.some((c) => c.verdict === "unknown") ? 2 : all.some((c) => c.verdict === "fail") ? 1 : 0;
    return { stack, cluster: site.cluster.name, status: (["healthy", "degraded", "cannot tell"] as const)[exitCode], exitCode, hosts };
}
