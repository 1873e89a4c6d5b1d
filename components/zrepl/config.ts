/**
 * zrepl configuration per node, as plain data, rendered with the `yaml`
 * library (never by string concatenation). Pure functions of the Site: the
 * component ships the result, the tests parse it back.
 *
 * Shape (zrepl v0.7.0, docs/proxmox-facts.md §8; keys from internal/config/config.go):
 *
 * - Two nodes (every committed stack): on each node one `source` job
 *   `pve_source` serving this node's guest datasets over TCP on `zrepl.port`
 *   to its peer (client map peer address → peer name), taking periodic
 *   `zrepl_` snapshots every `zrepl.interval`; and one `pull` job
 *   `pve_pull_<peer>` fetching the peer's datasets into `<rootFs>/<peer>`.
 *
 * - Three or more nodes: zrepl documents "N pull identities, 1 source job" as
 *   a setup that does NOT work (overview.rst, "Setups that do not work",
 *   issue #380: all pull jobs would share one replication cursor). Its
 *   documented fan-out instead is one `source` job per receiver plus one `snap`
 *   job doing the snapshotting and sender-side pruning (snapshotting `manual` in
 *   the sources, `keep_sender` keeping everything in the pulls). So on node X
 *   the source for peer P is `pve_source_<P>` and listens on
 *   `zrepl.port + index(P)` (P's position in the stack's node list), and the
 *   snap job is `pve_snap`.
 *
 * Job names are part of zrepl's on-disk state (hold tags, cursor bookmarks)
 * and must never change for a given pair of nodes.
 */
import { Document, isMap, isScalar, visit } from "yaml";
import type { Guest, Site, SiteNode } from "../model";

/** Prefix of every snapshot zrepl takes; the pruning rules depend on it. */
export const SNAPSHOT_PREFIX = "zrepl_";
/** Regex of zrepl's own snapshots (Go regexp syntax, as the keep rules take it). */
export const ZREPL_SNAPSHOTS = "^zrepl_";
/** Regex of Proxmox storage replication snapshots: `__replicate_<jobid>_<unixtime>__` (docs/proxmox-facts.md §6). */
export const PVE_REPLICATION_SNAPSHOTS = "^__replicate_";
/** Snapshots that are neither zrepl's nor pvesr's: vzdump, `qm snapshot`, an operator's own. */
export const OTHER_SNAPSHOTS = "^(zrepl_|__replicate_)";

export const SOURCE_JOB = "pve_source";
export const SNAP_JOB = "pve_snap";
export const sourceJobFor = (peer: string) => `pve_source_${peer}`;
export const pullJobFor = (peer: string) => `pve_pull_${peer}`;

// ---------- the subset of zrepl's schema we generate --------------------------

export type KeepRule =
    { type: "not_replicated" } | { type: "regex"; regex: string; negate?: boolean } | { type: "last_n"; count: number; regex?: string };

export interface Snapshotting {
    type: "periodic" | "manual";
    prefix?: string;
    interval?: string;
}

export interface SourceJob {
    name: string;
    type: "source";
    serve: { type: "tcp"; listen: string; listen_freebind: boolean; clients: Record<string, string> };
    filesystems: Record<string, boolean>;
    snapshotting: Snapshotting;
}

export interface SnapJob {
    name: string;
    type: "snap";
    filesystems: Record<string, boolean>;
    snapshotting: Snapshotting;
    pruning: { keep: KeepRule[] };
}

export interface PullJob {
    name: string;
    type: "pull";
    connect: { type: "tcp"; address: string };
    root_fs: string;
    interval: string;
    recv: { placeholder: { encryption: "inherit" }; bandwidth_limit?: { max: string } };
    replication: { protection: { initial: string; incremental: string } };
    pruning: { keep_sender: KeepRule[]; keep_receiver: KeepRule[] };
}

export type Job = SourceJob | SnapJob | PullJob;

export interface ZreplConfigDoc {
    global: { logging: { type: "syslog"; format: "human"; level: "warn" }[] };
    jobs: Job[];
}

/** Where node X's copy of a peer's datasets lands: one pull job per peer. */
export interface PullTarget {
    readonly peer: string;
    readonly job: string;
    readonly rootFs: string;
}

// ---------- addresses ---------------------------------------------------------

/**
 * The address zrepl uses for a node: its address on the VLAN with purpose
 * `replication` when the stack gives one (the same network pvesr uses), else
 * the node's own address. The pull side connects to the peer's zrepl address,
 * so the TCP source address the peer sees is the puller's address on that
 * network, which is what the client map lists.
 */
export function zreplAddress(site: Site, node: SiteNode): string {
    for (const vlan of site.network.vlans) {
        const cidr = vlan.purpose === "replication" ? vlan.addresses[node.name] : undefined;
        if (cidr !== undefined) return cidr.split("/")[0]!;
    }
    return node.address;
}

function hostPort(address: string, port: number): string {
    return address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`;
}

/** The TCP port node X's source for `receiver` listens on. */
export function sourcePort(site: Site, receiver: SiteNode): number {
    return site.nodes.length <= 2 ? site.zrepl.port : site.zrepl.port + receiver.index;
}

/** Every TCP port zrepl listens on (what a firewall between the nodes must allow). */
export function zreplPorts(site: Site): number[] {
    return [...new Set(site.nodes.map((n) => sourcePort(site, n)))].sort((a, b) => a - b);
}

// ---------- filesystems --------------------------------------------------------

/**
 * Names Proxmox gives the disks of a VM on a zfspool storage: `vm-<vmid>-disk-<n>`,
 * n being the lowest free number, so the stack's disks on that storage are
 * disk-0 … disk-(count-1).
 */
export function guestDatasets(site: Site, guest: Guest): string[] {
    const count = guest.disks.filter((d) => d.storage === site.storage.id).length;
    return Array.from({ length: count }, (_, n) => `${site.storage.zfsPath}/vm-${guest.vmid}-disk-${n}`);
}

/**
 * The `filesystems` filter of node X's source: every dataset below the guest
 * storage, but
 * - not the storage's root dataset itself (it holds no guest data; it becomes a
 *   zrepl placeholder on the receiver),
 * - not `rootFs` (the copies this node pulled from its peers: serving them
 *   back would nest copies forever, and zrepl forbids a filter matching a
 *   root_fs),
 * - not the replica datasets pvesr maintains on X for guests homed on other
 *   nodes. pvesr receives them with `zfs recv -F`, which destroys snapshots the
 *   sender lacks (zrepl's), and zrepl's holds would make that receive and
 *   PVE's own `zfs destroy` fail (docs/proxmox-facts.md §8, "Conflicts"). zrepl's filter
 *   has no wildcards inside a name, so each foreign guest's
 *   `vm-<vmid>-disk-<n>` is listed explicitly (an exact pattern wins over the
 *   subtree pattern; a listed dataset that does not exist is harmless).
 *
 * This is the stack-time first guess (the stack's home nodes). On the node the
 * repair tool's served-set sync (scripts/zrepl-repair.py --served-node) keeps the
 * filter following where the guests run now, every repairInterval, and releases
 * zrepl's holds and bookmarks on a disk that changed hands.
 */
export function sourceFilesystems(site: Site, node: SiteNode): Record<string, boolean> {
    const root = site.storage.zfsPath;
    const filter: Record<string, boolean> = { [`${root}<`]: true, [root]: false };
    const rootFs = site.zrepl.rootFs;
    if (rootFs === root || rootFs.startsWith(`${root}/`)) filter[`${rootFs}<`] = false;
    for (const guest of site.guests) {
        if (guest.node === node.name) continue;
        for (const ds of guestDatasets(site, guest)) filter[ds] = false;
    }
    return filter;
}

// ---------- pruning --------------------------------------------------------------

/**
 * Sender (the snap job's pruning): every snapshot zrepl did not make (Proxmox's
 * `__replicate_*__` base snapshots above all: destroying one breaks pvesr with
 * "No common base snapshot"), and the newest `cap` zrepl snapshots, replicated or
 * not. No `not_replicated`: uncapped, it keeps every snapshot while a peer is away
 * (zrepl prune.rst), a normal state for a two-node HA site. Past the cap the
 * oldest unreplicated zrepl snapshots go; replication then resumes incrementally
 * from the pull job's cursor bookmark (guarantee_incremental keeps it), and the
 * copy lacks only those intermediate points in time.
 */
export function keepSender(cap: number): KeepRule[] {
    return [
        { type: "regex", regex: ZREPL_SNAPSHOTS, negate: true },
        { type: "last_n", count: cap, regex: ZREPL_SNAPSHOTS },
    ];
}

/**
 * Receiver (the copies under rootFs, which pvesr never reads): the last `keep`
 * zrepl snapshots, every snapshot made by neither zrepl nor pvesr (vzdump,
 * `qm snapshot`, an operator's own), and the last `keep` pvesr snapshots.
 * zrepl replicates every snapshot it finds, and pvesr makes one per run
 * (every few minutes) and deletes the older ones only on the guest's own
 * datasets, so keeping all of them on the receiver would pile up hundreds a
 * day; on the copies they are not needed by anything.
 */
export function keepReceiver(keep: number): KeepRule[] {
    return [
        { type: "regex", regex: OTHER_SNAPSHOTS, negate: true },
        { type: "last_n", count: keep, regex: ZREPL_SNAPSHOTS },
        { type: "last_n", count: keep, regex: PVE_REPLICATION_SNAPSHOTS },
    ];
}

// ---------- jobs ---------------------------------------------------------------

export function pullTargets(site: Site, node: SiteNode): PullTarget[] {
    return site.nodes
        .filter((p) => p.name !== node.name)
        .map((p) => ({ peer: p.name, job: pullJobFor(p.name), rootFs: `${site.zrepl.rootFs}/${p.name}` }));
}

/** The whole configuration of one node. */
export function zreplConfig(site: Site, node: SiteNode): ZreplConfigDoc {
    const peers = site.nodes.filter((p) => p.name !== node.name);
    const fanOut = site.nodes.length > 2;
    const filesystems = sourceFilesystems(site, node);
    const listen = (receiver: SiteNode) => hostPort(zreplAddress(site, node), sourcePort(site, receiver));
    const periodic: Snapshotting = { type: "periodic", prefix: SNAPSHOT_PREFIX, interval: site.zrepl.interval };

    // A local snap job snapshots and prunes the sender on every site: pruning by a pull
    // job runs only when that job runs (zrepl prune.rst: keep rules are evaluated on the
    // active side after replication), so with the peer away nothing would prune, and
    // `not_replicated` would keep every snapshot once it is back. The snap job keeps
    // every snapshot zrepl did not make and the newest `senderKeep` of its own,
    // replicated or not; the pull jobs' keep_sender keeps everything (zrepl's fan-out
    // pattern, docs/quickstart/fan_out_replication.rst).
    const snap: SnapJob = {
        name: SNAP_JOB,
        type: "snap",
        filesystems: { ...filesystems },
        snapshotting: { ...periodic },
        pruning: { keep: keepSender(site.zrepl.senderKeep) },
    };
    const serving: Job[] = fanOut
        ? [
              snap,
              ...peers.map((p): SourceJob => ({
                  name: sourceJobFor(p.name),
                  type: "source",
                  serve: { type: "tcp", listen: listen(p), listen_freebind: true, clients: { [zreplAddress(site, p)]: p.name } },
                  filesystems: { ...filesystems },
                  snapshotting: { type: "manual" },
              })),
          ]
        : [
              snap,
              {
                  name: SOURCE_JOB,
                  type: "source",
                  serve: {
                      type: "tcp",
                      listen: listen(peers[0] ?? node),
                      // The replication VLAN address may come up after zrepl starts (IP_FREEBIND).
                      listen_freebind: true,
                      clients: Object.fromEntries(peers.map((p) => [zreplAddress(site, p), p.name])),
                  },
                  filesystems: { ...filesystems },
                  snapshotting: { type: "manual" },
              },
          ];

    const pulls: PullJob[] = peers.map((p) => ({
        name: pullJobFor(p.name),
        type: "pull",
        connect: { type: "tcp", address: hostPort(zreplAddress(site, p), sourcePort(site, node)) },
        root_fs: `${site.zrepl.rootFs}/${p.name}`,
        interval: site.zrepl.interval,
        // Proxmox guest disks are plain (unencrypted, or sent with loaded keys): placeholders
        // for the gaps in the hierarchy (the pool's root dataset) inherit root_fs's encryption,
        // so an encrypted rootFs encrypts the copies on receive and a plain one keeps them plain.
        // The default ("unspecified") refuses to create placeholders below an encrypted root_fs.
        recv: {
            placeholder: { encryption: "inherit" },
            // Beside pvesr's rate limit on the same replication link (zrepl sendrecvoptions.rst
            // "Bandwidth Limit": per job, payload only; pvesr's rateMBps is MiB/s too).
            ...(site.zrepl.rateMBps !== undefined ? { bandwidth_limit: { max: `${site.zrepl.rateMBps} MiB` } } : {}),
        },
        // No step holds on the sender's guest disks: a held snapshot makes PVE's own
        // `zfs destroy` (disk removal, migration cleanup) fail with "dataset is busy".
        // Incremental replication stays guaranteed by zrepl's cursor bookmarks.
        replication: { protection: { initial: "guarantee_incremental", incremental: "guarantee_incremental" } },
        pruning: {
            // The snap job prunes the sender; a pull job keeps all there.
            keep_sender: [{ type: "regex", regex: ".*" }],
            keep_receiver: keepReceiver(site.zrepl.keep),
        },
    }));

    return {
        // Logs go to syslog, hence the journal (what the zrepl package's default config does).
        global: { logging: [{ type: "syslog", format: "human", level: "warn" }] },
        jobs: [...serving, ...pulls],
    };
}

const HEADER = [
    " Generated by proxmox-ha from the Pulumi stack; changes made here are overwritten.",
    " Job names must never change: they are part of zrepl's holds and bookmarks.",
].join("\n");

/** The YAML text written to /etc/zrepl/zrepl.yml on `node`. */
export function zreplConfigYaml(site: Site, node: SiteNode): string {
    const doc = new Document(zreplConfig(site, node));
    // Each `filesystems` filter on one line, as JSON: the repair tool's served-set sync
    // (scripts/zrepl-repair.py --served-node) rewrites exactly that line when guests move.
    visit(doc, {
        Pair(_, pair) {
            if (!isScalar(pair.key) || pair.key.value !== "filesystems" || !isMap(pair.value)) return;
            pair.value.flow = true;
            for (const item of pair.value.items) if (isScalar(item.key)) item.key.type = "QUOTE_DOUBLE";
        },
    });
    const text = doc.toString({ lineWidth: 0 });
    return `${HEADER.split("\n")
        .map((l) => `#${l}`)
        .join("\n")}\n${text}`;
}

// ---------- repair timer -----------------------------------------------------

export const REPAIR_TOOL_PATH = "/usr/local/sbin/zrepl-repair";

/**
 * systemd units that run the repair tool for every pull job of the node,
 * every `repairInterval`, logging to the journal. A run that moved a copy aside
 * exits 3: the unit is then shown failed (systemctl --failed, the health check)
 * until its next run, so a copy in the attic is not missed.
 */
export function repairUnits(site: Site, node: SiteNode): { service: string; timer: string } {
    const interval = site.zrepl.repairInterval;
    // One invocation for all pull jobs: every job is attempted even when an earlier one fails
    // (a oneshot unit stops at the first failing ExecStart line).
    const pairs = pullTargets(site, node).flatMap((t) => ["--job", t.job, "--root-fs", t.rootFs]);
    const attic = site.zrepl.attic ? ["--attic", site.zrepl.attic] : [];
    // First the served set: which guest disks this node serves follows where the guests are now.
    const served = ["--served-node", node.name, "--storage-path", site.storage.zfsPath];
    const execs = [`ExecStart=/usr/bin/python3 ${REPAIR_TOOL_PATH} ${[...served, ...pairs, ...attic].join(" ")}`];
    const service = [
        "# Generated by proxmox-ha. Repairs broken zrepl snapshot chains of this node's pull jobs.",
        "[Unit]",
        "Description=Repair broken zrepl replication chains",
        "Documentation=file:///usr/local/sbin/zrepl-repair",
        "After=zrepl.service",
        "",
        "[Service]",
        "Type=oneshot",
        ...execs,
        "StandardOutput=journal",
        "StandardError=journal",
        "SyslogIdentifier=zrepl-repair",
        "",
    ].join("\n");
    const timer = [
        "# Generated by proxmox-ha.",
        "[Unit]",
        "Description=Run zrepl-repair periodically",
        "",
        "[Timer]",
        `OnBootSec=${interval}`,
        `OnUnitActiveSec=${interval}`,
        "Unit=zrepl-repair.service",
        "",
        "[Install]",
        "WantedBy=timers.target",
        "",
    ].join("\n");
    return { service, timer };
}
