/**
 * The validated site: the one typed value every component receives. Built once
 * by `validateSite` from the stack's config; every default is applied here, so
 * components never re-derive a default.
 */
import type { ZfsLayout } from "./schema";

export interface Link {
    readonly address: string;
    /** knet link priority (higher is preferred in passive mode). */
    readonly priority?: number;
}

export interface ZfsPool {
    readonly pool: string;
    readonly layout: ZfsLayout;
    readonly disks: readonly string[];
    readonly ashift: number;
    readonly compression: string;
}

export interface SiteNode {
    readonly name: string;
    readonly address: string;
    readonly links: readonly Link[];
    readonly sshHostKey: string;
    readonly sshPort: number;
    readonly watchdog: string;
    readonly zfs: ZfsPool;
    /** Position in the stack (0 = the node that creates the cluster). */
    readonly index: number;
}

export interface QDevice {
    readonly address: string;
    readonly sshHostKey: string;
    readonly sshPort: number;
    readonly tieBreaker: "lowest" | "highest";
}

export interface Storage {
    readonly id: string;
    readonly pool: string;
    readonly dataset?: string;
    /** pool[/dataset]: what storage.cfg calls `pool`. */
    readonly zfsPath: string;
    readonly thinProvision: boolean;
    readonly blocksize?: string;
}

export interface Replication {
    readonly schedule: string;
    readonly rateMBps?: number;
    readonly network?: string;
    /** Longest gap between two runs of the schedule, in minutes. */
    readonly worstCaseRpoMinutes: number;
    readonly rpoTargetMinutes?: number;
}

export interface GuestDisk {
    readonly slot: string;
    readonly sizeGb: number;
    readonly storage: string;
    readonly ssd: boolean;
    readonly discard: boolean;
}

export interface GuestNic {
    readonly bridge?: string;
    readonly vnet?: string;
    readonly vlan?: number;
    readonly model: string;
    readonly firewall: boolean;
    readonly mtu?: number;
    readonly macAddress?: string;
}

export interface GuestHa {
    readonly state: "started" | "stopped" | "disabled" | "ignored";
    readonly maxRestart: number;
    readonly maxRelocate: number;
    readonly failback: boolean;
    /** Node → priority; resolved (home node 2, others 1 unless the stack says). */
    readonly nodes: Readonly<Record<string, number>>;
    readonly strict: boolean;
}

export interface Guest {
    readonly vmid: number;
    readonly name: string;
    readonly node: string;
    readonly cores: number;
    readonly memoryMb: number;
    readonly disks: readonly GuestDisk[];
    readonly nics: readonly GuestNic[];
    readonly cdrom?: string;
    readonly osType: string;
    readonly started: boolean;
    readonly startOnBoot: boolean;
    readonly protect: boolean;
    readonly agent: boolean;
    /** Resolved: every other node unless the stack says. */
    readonly replicateTo: readonly string[];
    /** Ids of existing jobs by target node, as the stack carries them (replicationJobs derives the rest). */
    readonly replicationJobIds: Readonly<Record<string, string>>;
    readonly ha?: GuestHa;
}

export interface HaRule {
    readonly id: string;
    readonly affinity: "positive" | "negative";
    readonly guests: readonly number[];
    readonly comment?: string;
}

export interface Vlan {
    readonly tag: number;
    readonly interface: string;
    readonly mtu?: number;
    readonly purpose: string;
    readonly addresses: Readonly<Record<string, string>>;
    /** Resolved: all nodes unless the stack says. */
    readonly nodes: readonly string[];
    readonly comment?: string;
}

export interface Bridge {
    readonly name: string;
    readonly ports: readonly string[];
    readonly vlanAware: boolean;
    readonly mtu?: number;
    readonly addresses: Readonly<Record<string, string>>;
    readonly nodes: readonly string[];
    readonly comment?: string;
    readonly managesManagementAddress: boolean;
}

export interface Vxlan {
    readonly zone: string;
    readonly vnet: string;
    readonly tag: number;
    readonly mtu: number;
    readonly underlayMtu: number;
    /** Resolved: node → underlay address. */
    readonly peers: Readonly<Record<string, string>>;
}

export interface Cluster {
    readonly name: string;
    readonly migrationType: "secure" | "insecure";
    readonly migrationNetwork?: string;
    readonly bandwidthLimitMBps: Readonly<{ migration?: number; restore?: number; clone?: number; move?: number; default?: number }>;
    readonly crs: Readonly<{ ha: "basic" | "static"; rebalanceOnStart: boolean }>;
    readonly haShutdownPolicy: "conditional" | "freeze" | "failover" | "migrate";
    /** Proxmox package repository the nodes use (packages.sh --repository). */
    readonly repository: "enterprise" | "no-subscription";
}

export interface Zrepl {
    readonly enabled: boolean;
    readonly interval: string;
    readonly port: number;
    readonly rootFs: string;
    readonly keep: number;
    readonly repairInterval: string;
    readonly apt: Readonly<{ url: string; keyUrl: string; fingerprint: string }>;
}

export interface Site {
    readonly project: string;
    readonly cluster: Cluster;
    readonly nodes: readonly SiteNode[];
    readonly qdevice?: QDevice;
    readonly storage: Storage;
    readonly replication: Replication;
    readonly guests: readonly Guest[];
    readonly haRules: readonly HaRule[];
    readonly network: Readonly<{ vlans: readonly Vlan[]; bridges: readonly Bridge[]; vxlan?: Vxlan }>;
    readonly firewall: Readonly<{ enabled: boolean; managementAllowlist: readonly string[] }>;
    readonly alerts: Readonly<{ email?: string; from?: string }>;
    readonly zrepl: Zrepl;
    readonly apiInsecure: boolean;
    /** Things that are allowed but deserve the operator's attention. */
    readonly warnings: readonly string[];
}

/** The first node creates the cluster; the others join it in order. */
export function firstNode(site: Site): SiteNode {
    return site.nodes[0]!;
}

export function haGuests(site: Site): Guest[] {
    return site.guests.filter((g) => g.ha !== undefined);
}

/**
 * The job number of a replication job the stack does not pin: a function of the
 * two node names only (FNV-1a over the sorted pair, below 10^6), never of their
 * positions in the stack. So a job keeps its id when nodes are reordered or
 * removed, and when the guest's home node changes: Proxmox itself keeps the id
 * and swaps source and target of the job between the old and the new home node
 * on migration and HA recovery (pve-guest-common src/PVE/ReplicationConfig.pm,
 * switch_replication_job_target_nolock), so the pair is what identifies the job.
 * Proxmox accepts any `<vmid>-<0..999999999>` (parse_replication_job_id) and
 * allows one job per guest and target (write_config: "replication job for
 * guest … to target … already exists").
 */
export function derivedJobNumber(nodeA: string, nodeB: string): number {
    const [a, b] = [nodeA, nodeB].sort();
    let h = 0x811c9dc5;
    for (const byte of Buffer.from(`${a}\n${b}`, "utf8")) {
        h ^= byte;
        h = Math.imul(h, 0x01000193) >>> 0;
    }
    return h % 1_000_000;
}

/**
 * The guest's replication jobs, one per target: the id the stack pins for that
 * target (an existing job, e.g. Proxmox's own `<vmid>-0`), else
 * `<vmid>-<derivedJobNumber(home, target)>`.
 */
export function replicationJobs(_site: Site, guest: Guest): { id: string; target: string; pinned: boolean }[] {
    return guest.replicateTo.map((target) => {
        const pinned = guest.replicationJobIds[target];
        return { id: pinned ?? `${guest.vmid}-${derivedJobNumber(guest.node, target)}`, target, pinned: pinned !== undefined };
    });
}
