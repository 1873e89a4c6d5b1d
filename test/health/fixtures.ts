/**
 * Command outputs in the formats documented in
 * docs/proxmox-facts.md (§3 corosync-qdevice-tool -s, §4 pvecm
 * status, §5 ha-manager status, §6 pvesr status), for the committed prod
 * stack (prox1/prox2, link0 10.10.10.11/12, qnetd 10.0.0.120, vm 101 "fw",
 * pool1), plus `zpool` outputs copied from a real run of zfs-fuse (OpenZFS
 * prints the same layout).
 *
 * The builders below transcribe the documented printf formats; the parser
 * tests check them against the reference's verbatim example. Scenarios
 * bundle one result per command per host: the parser/check tests evaluate
 * them directly and the end-to-end test replays them through fake commands
 * behind real sshd.
 */
import type { CommandResult } from "../../tools/health/parsers";
import type { NodeCommand, QnetdCommand } from "../../tools/health/commands";

export const res = (stdout: string, code = 0, stderr = ""): CommandResult => ({ stdout, stderr, code });

// ---------- pvecm status (§4) ----------------------------------------------------------

export interface PvecmArgs {
    readonly name?: string;
    readonly nodeIdHex?: string;
    readonly nodes: number;
    readonly expected: number;
    readonly total: number;
    readonly quorum: number;
    readonly quorate: boolean;
    readonly flags: readonly string[];
    /** [hex id, votes, qdevice column or undefined, address, local]. */
    readonly members: readonly (readonly [string, number, string | undefined, string, boolean])[];
    /** The 0x00000000 line: votes shown, and N for "(votes N)" when not cast. */
    readonly qdevice?: { readonly votes: number; readonly notCastOf?: number };
}

/** `printf "%-17s %s\n", "$label:", $val` (pvecm) and corosync-quorumtool's own 18-column labels. */
const label = (l: string, v: string | number) => `${`${l}:`.padEnd(17)} ${v}`;
/** corosync-quorumtool's print_string_padded: 10 columns, right-aligned, then a space. */
const col = (s: string) => `${s.padStart(10)} `;

export function pvecmStatus(a: PvecmArgs): string {
    const withQ = a.members.some((m) => m[2] !== undefined);
    const out = [
        "Cluster information",
        "-------------------",
        label("Name", a.name ?? "prod"),
        label("Config Version", 3),
        label("Transport", "knet"),
        label("Secure auth", "on"),
        "",
        "Quorum information",
        "------------------",
        label("Date", "Thu Jan  1 10:02:00 2026"),
        label("Quorum provider", "corosync_votequorum"),
        label("Nodes", a.nodes),
        label("Node ID", a.nodeIdHex ?? "0x00000001"),
        label("Ring ID", "1.1a8"),
        label("Quorate", a.quorate ? "Yes" : "No"),
        "",
        "Votequorum information",
        "----------------------",
        label("Expected votes", a.expected),
        label("Highest expected", a.expected),
        label("Total votes", a.total),
        // "%d %s": " " when quorate (two trailing spaces), "Activity blocked" when not.
        label("Quorum", `${a.quorum} ${a.quorate ? " " : "Activity blocked"}`),
        label("Flags", a.flags.map((f) => `${f} `).join("")),
        "",
        "Membership information",
        "----------------------",
        `${col("Nodeid")}${col("Votes")}${withQ ? col("Qdevice") : ""}Name`,
        ...a.members.map(
            ([id, votes, q, addr, local]) => `${col(id)}${col(String(votes))}${withQ ? col(q ?? "") : ""}${addr}${local ? " (local)" : ""}`,
        ),
        ...(a.qdevice
            ? [
                  `${col("0x00000000")}${col(String(a.qdevice.votes))}${withQ ? col("") : ""}Qdevice${a.qdevice.notCastOf !== undefined ? ` (votes ${a.qdevice.notCastOf})` : ""}`,
              ]
            : []),
    ];
    return `${out.join("\n")}\n`;
}

/** The reference's own example (§4), verbatim. */
export const REFERENCE_PVECM_EXAMPLE = `Cluster information
-------------------
Name:             prod
Config Version:   3
Transport:        knet
Secure auth:      on

Quorum information
------------------
Date:             Tue Sep 14 11:06:47 2021
Quorum provider:  corosync_votequorum
Nodes:            2
Node ID:          0x00000001
Ring ID:          1.1a8
Quorate:          Yes

Votequorum information
----------------------
Expected votes:   3
Highest expected: 3
Total votes:      3
Quorum:           2  
Flags:            Quorate Qdevice 

Membership information
----------------------
    Nodeid      Votes    Qdevice Name
0x00000001          1    A,V,NMW 10.0.0.1 (local)
0x00000002          1    A,V,NMW 10.0.0.2
0x00000000          1            Qdevice
`;

// ---------- corosync-qdevice-tool -s (§3) -----------------------------------------------

export function qdeviceTool(a: { state?: string; algorithm?: string; tieBreaker?: string; host?: string; nodeId?: number } = {}): string {
    return [
        "Qdevice information",
        "-------------------",
        "Model:                  Net",
        `Node ID:                ${a.nodeId ?? 1}`,
        "Quorate:                Yes",
        "",
        "Qdevice-net information",
        "----------------------",
        "Cluster name:           prod",
        `QNetd host:             ${a.host ?? "10.0.0.120:5403"}`,
        `Algorithm:              ${a.algorithm ?? "Fifty-Fifty split"}`,
        `Tie-breaker:            ${a.tieBreaker ?? "Node with lowest node ID"}`,
        `State:                  ${a.state ?? "Connected"}`,
        "",
    ].join("\n");
}

export const QDEVICE_SOCKET_MISSING = res("", 3, "Can't connect to QDevice socket (is QDevice running?)\n");

// ---------- pvesr status (§6) --------------------------------------------------------------

/** `"%-10s %-10s %-20s %20s %20s %10s %10s %s\n"` (pve-manager PVE/CLI/pvesr.pm). */
function pvesrRow(cols: readonly [string, string, string, string, string, string, string, string]): string {
    const [id, en, target, last, next, dur, fails, state] = cols;
    return `${id.padEnd(10)} ${en.padEnd(10)} ${target.padEnd(20)} ${last.padStart(20)} ${next.padStart(20)} ${dur.padStart(10)} ${fails.padStart(10)} ${state}\n`;
}

export interface PvesrJob {
    readonly id: string;
    readonly enabled?: boolean;
    readonly target: string;
    readonly last: string;
    readonly next: string;
    readonly duration: string;
    readonly fails: number;
    readonly state: string;
}

export function pvesrStatus(jobs: readonly PvesrJob[]): string {
    return (
        pvesrRow(["JobID", "Enabled", "Target", "LastSync", "NextSync", "Duration", "FailCount", "State"]) +
        jobs
            .map((j) =>
                pvesrRow([
                    j.id,
                    j.enabled === false ? "No" : "Yes",
                    `local/${j.target}`,
                    j.last,
                    j.next,
                    j.duration,
                    String(j.fails),
                    j.state,
                ]),
            )
            .join("")
    );
}

/** The reference's example line (§6), verbatim. */
export const REFERENCE_PVESR_EXAMPLE = `JobID      Enabled    Target                           LastSync             NextSync   Duration  FailCount State
100-0      Yes        local/pve2            2026-01-01_10:00:02  2026-01-01_10:15:00   2.345678          0 OK
`;

export const NOW = "2026-01-01_10:02:00";

export const JOB_OK: PvesrJob = {
    id: "101-492612",
    target: "prox2",
    last: "2026-01-01_10:00:02",
    next: "2026-01-01_10:05:00",
    duration: "2.345678",
    fails: 0,
    state: "OK",
};
/** A job that never succeeded: `-` for LastSync and the error text in State (§6). */
export const JOB_FAILING: PvesrJob = {
    id: "101-492612",
    target: "prox2",
    last: "-",
    next: "2026-01-01_10:30:00",
    duration: "-",
    fails: 3,
    state: "No common base snapshot on volume(s) pool1:vm-101-disk-0",
};

// ---------- ha-manager status (§5) -----------------------------------------------------------

export function haStatus(a: { quorum?: string; lrm1?: string; lrm2?: string; service?: string } = {}): string {
    return [
        `quorum ${a.quorum ?? "OK"}`,
        "master prox1 (active, Thu Jan  1 10:01:58 2026)",
        `lrm prox1 (${a.lrm1 ?? "active"}, Thu Jan  1 10:01:57 2026)`,
        `lrm prox2 (${a.lrm2 ?? "idle"}, Thu Jan  1 10:01:56 2026)`,
        `service vm:101 (${a.service ?? "prox1, started"})`,
        "",
    ].join("\n");
}

// ---------- ZFS (copied from a real zfs-fuse run, names changed) ----------------------------

export const ZPOOL_LIST_OK = "pool1\tONLINE\n";
export const ZPOOL_LIST_DEGRADED = "pool1\tDEGRADED\n";
export const ZPOOL_STATUS_X_OK = "all pools are healthy\n";
export const ZPOOL_STATUS_X_DEGRADED = `  pool: pool1
 state: DEGRADED
status: One or more devices has been taken offline by the administrator.
\tSufficient replicas exist for the pool to continue functioning in a
\tdegraded state.
action: Online the device using 'zpool online' or replace the device with
\t'zpool replace'.
 scrub: none requested
config:

\tNAME                                                      STATE     READ WRITE CKSUM
\tpool1                                                     DEGRADED     0     0     0
\t  mirror-0                                                DEGRADED     0     0     0
\t    ata-SAMSUNG_MZ7LH960HAJR-00005_S45NNA0R200001         ONLINE       0     0     0
\t    ata-SAMSUNG_MZ7LH960HAJR-00005_S45NNA0R200002         OFFLINE      0     0     0

errors: No known data errors
`;

// ---------- watchdog --------------------------------------------------------------------------

/** /etc/default/pve-ha-manager as scripts/watchdog.sh leaves it (the shipped comment kept). */
export const WATCHDOG_DEFAULT_SOFTDOG = "# select watchdog module (default is softdog)\nWATCHDOG_MODULE=softdog\n";
/** The probe's output when softdog owns /dev/watchdog (watchdog0 identity "Software Watchdog"). */
export const WATCHDOG_PROBE_SOFTDOG = "identity Software Watchdog\n";

// ---------- scenarios ------------------------------------------------------------------------

export type NodeResults = Partial<Record<NodeCommand, CommandResult>>;
export interface Scenario {
    /** Per node name; a node absent here is unreachable in the scenario. */
    readonly nodes: Readonly<Record<string, NodeResults>>;
    readonly qnetd?: Partial<Record<QnetdCommand, CommandResult>>;
}

const HEALTHY_MEMBERS = (local: 1 | 2) =>
    [
        ["0x00000001", 1, "A,V,NMW", "10.10.10.11", local === 1],
        ["0x00000002", 1, "A,V,NMW", "10.10.10.12", local === 2],
    ] as const;

function healthyNode(local: 1 | 2, jobs: readonly PvesrJob[]): NodeResults {
    return {
        pvecm: res(
            pvecmStatus({
                nodes: 2,
                nodeIdHex: `0x0000000${local}`,
                expected: 3,
                total: 3,
                quorum: 2,
                quorate: true,
                flags: ["Quorate", "Qdevice"],
                members: HEALTHY_MEMBERS(local),
                qdevice: { votes: 1 },
            }),
        ),
        qdevice: res(qdeviceTool({ nodeId: local })),
        pvesr: res(pvesrStatus(jobs)),
        clock: res(`${NOW}\n`),
        zpoolList: res(ZPOOL_LIST_OK),
        zpoolStatus: res(ZPOOL_STATUS_X_OK),
        ha: res(haStatus()),
        watchdogConf: res(WATCHDOG_DEFAULT_SOFTDOG),
        watchdogInUse: res(WATCHDOG_PROBE_SOFTDOG),
    };
}

const QNETD_ACTIVE = { qnetd: res("active\n") };

/** pvecm's own header (§4), printed before it execs corosync-quorumtool. */
const CLUSTER_INFORMATION =
    pvecmStatus({ nodes: 0, expected: 0, total: 0, quorum: 0, quorate: true, flags: [], members: [] }).split("\n\n")[0]! + "\n";

/** prox1 while prox2 is gone: prox1 + QDevice keep quorum with Total votes 2 (§3: 2 of 3 votes, quorum 2). */
const PROX1_ALONE: NodeResults = {
    ...healthyNode(1, [JOB_OK]),
    pvecm: res(
        pvecmStatus({
            nodes: 1,
            expected: 3,
            total: 2,
            quorum: 2,
            quorate: true,
            flags: ["Quorate", "Qdevice"],
            members: [["0x00000001", 1, "A,V,NMW", "10.10.10.11", true]],
            qdevice: { votes: 1 },
        }),
    ),
    ha: res(haStatus({ lrm2: "old timestamp - dead?" })),
};

export const SCENARIOS = {
    /** Both nodes up, QDevice connected, job 101-492612 synced 2 min ago, vm 101 started on prox1. */
    healthy: { nodes: { prox1: healthyNode(1, [JOB_OK]), prox2: healthyNode(2, []) }, qnetd: QNETD_ACTIVE },
    /**
     * prox2 is down as a cluster node (its corosync is stopped) but answers on
     * SSH: prox1 + QDevice keep quorum with Total votes 2, prox1's HA view
     * shows prox2's LRM as dead. Every host answers, so the verdict is
     * "degraded" (exit 1), not "cannot tell".
     */
    nodeDown: {
        nodes: {
            prox1: PROX1_ALONE,
            prox2: {
                ...healthyNode(2, []),
                // pvecm prints its Cluster information block, then corosync-quorumtool fails (§4).
                pvecm: res(CLUSTER_INFORMATION, 1, "Cannot initialize CMAP service\n"),
                qdevice: QDEVICE_SOCKET_MISSING,
                ha: res(haStatus({ quorum: "No quorum on node 'prox2'!" })),
            },
        },
        qnetd: QNETD_ACTIVE,
    },
    /** prox2 is off: nothing answers at its address, so the site is "cannot tell" (exit 2). */
    nodeUnreachable: { nodes: { prox1: PROX1_ALONE }, qnetd: QNETD_ACTIVE },
    /** prox1 is cut off from prox2 and the QDevice: Activity blocked, exit 2. */
    notQuorate: {
        nodes: {
            prox1: {
                ...healthyNode(1, [JOB_OK]),
                pvecm: res(
                    pvecmStatus({
                        nodes: 1,
                        expected: 3,
                        total: 1,
                        quorum: 2,
                        quorate: false,
                        flags: ["Qdevice"],
                        members: [["0x00000001", 1, "NA,NV,NMW", "10.10.10.11", true]],
                        qdevice: { votes: 0, notCastOf: 1 },
                    }),
                    2,
                ),
                qdevice: res(qdeviceTool({ state: "Connect failed" })),
                ha: res(haStatus({ quorum: "No quorum on node 'prox1'!" })),
            },
            prox2: healthyNode(2, []),
        },
        qnetd: QNETD_ACTIVE,
    },
    /** Job 101-492612 has never synced and keeps failing. */
    replicationFailing: { nodes: { prox1: healthyNode(1, [JOB_FAILING]), prox2: healthyNode(2, []) }, qnetd: QNETD_ACTIVE },
    /** prox2's pool1 lost a mirror disk. */
    degradedPool: {
        nodes: {
            prox1: healthyNode(1, [JOB_OK]),
            prox2: { ...healthyNode(2, []), zpoolList: res(ZPOOL_LIST_DEGRADED), zpoolStatus: res(ZPOOL_STATUS_X_DEGRADED) },
        },
        qnetd: QNETD_ACTIVE,
    },
    /** prox2's pvecm prints something this tool does not know. */
    unrecognised: {
        nodes: { prox1: healthyNode(1, [JOB_OK]), prox2: { ...healthyNode(2, []), pvecm: res("Segmentation fault\n", 139) } },
        qnetd: QNETD_ACTIVE,
    },
} satisfies Record<string, Scenario>;

export type ScenarioName = keyof typeof SCENARIOS;
