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

/**
 * A file the provider downloads onto a node's directory storage
 * (download.File). `volumeId` is what Proxmox calls it afterwards:
 * `<storage>:<content>/<fileName>` (the download's id).
 */
export interface Media {
    readonly url: string;
    readonly fileName: string;
    readonly checksum?: string;
    readonly checksumAlgorithm?: string;
    readonly storage: string;
    /** Proxmox decompresses the download with this algorithm (ISOs only). */
    readonly decompression?: string;
    readonly content: "iso" | "import" | "vztmpl";
    readonly volumeId: string;
}

/** Where a VM's operating system comes from. */
export type VmSource =
    /** Full clone of a template VM on `node`, onto the replicated storage. */
    | { readonly kind: "clone"; readonly vmid: number; readonly node: string; readonly cloudInitReady: boolean }
    /** A cloud image imported as the first disk. */
    | { readonly kind: "cloudImage"; readonly image: Media }
    /** An installer ISO, downloaded to `nodes`, in the CD drive while `attached`. */
    | { readonly kind: "iso"; readonly iso: Media; readonly nodes: readonly string[]; readonly attached: boolean };

export interface IpConfig {
    readonly ipv4?: Readonly<{ address: string; gateway?: string }>;
    readonly ipv6?: Readonly<{ address: string; gateway?: string }>;
}

export interface CloudInit {
    readonly user?: string;
    readonly sshKeys: readonly string[];
    readonly ipConfig: readonly IpConfig[];
    readonly dns?: Readonly<{ domain?: string; servers: readonly string[] }>;
}

export interface UsbDevice {
    readonly host?: string;
    readonly mapping?: string;
    readonly usb3: boolean;
}

export interface PciDevice {
    readonly id?: string;
    readonly mapping?: string;
    readonly pcie: boolean;
    readonly xvga: boolean;
}

/** What VMs and containers share. */
interface GuestBase {
    readonly vmid: number;
    readonly name: string;
    readonly node: string;
    readonly cores: number;
    readonly memoryMb: number;
    /** VM: its disks. Container: one entry, slot `rootfs`. */
    readonly disks: readonly GuestDisk[];
    readonly nics: readonly GuestNic[];
    readonly osType: string;
    readonly started: boolean;
    readonly startOnBoot: boolean;
    readonly protect: boolean;
    /** Resolved: every other node unless the stack says. */
    readonly replicateTo: readonly string[];
    /** Ids of existing jobs by target node, as the stack carries them (replicationJobs derives the rest). */
    readonly replicationJobIds: Readonly<Record<string, string>>;
    readonly ha?: GuestHa;
    readonly cloudInit?: CloudInit;
}

export interface VmGuest extends GuestBase {
    readonly type: "vm";
    readonly cdrom?: string;
    readonly agent: boolean;
    readonly source?: VmSource;
    readonly bios: "seabios" | "ovmf";
    readonly machine?: string;
    readonly secureBoot: boolean;
    readonly tpm?: "v2.0" | "v1.2";
    readonly usb: readonly UsbDevice[];
    readonly pci: readonly PciDevice[];
}

export interface CtGuest extends GuestBase {
    readonly type: "ct";
    readonly template: Media;
    readonly unprivileged: boolean;
    readonly nesting: boolean;
    readonly swapMb?: number;
}

export type Guest = VmGuest | CtGuest;

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
    /** zrepl snapshots kept on the sender (the cap while a peer is away). */
    readonly senderKeep: number;
    /** Bandwidth limit of each pull job, MiB/s. */
    readonly rateMBps?: number;
    readonly repairInterval: string;
    /** Where the repair tool moves copies without a common snapshot (opt-in). */
    readonly attic?: string;
    readonly apt: Readonly<{ url: string; keyUrl: string; fingerprint: string }>;
}

/** How the program reaches the site's API (components/access.ts). */
export interface ApiAccess {
    /** certificate: verified against the runner's trust store, the stack's certificate installed first; insecure: apiInsecure: true. */
    readonly tls: "certificate" | "insecure";
    /** The node whose API the provider uses, its address and `https://<address>:8006`. */
    readonly node: string;
    readonly address: string;
    readonly endpoint: string;
    readonly nodeSource: "first node" | "stack" | "environment" | "first node up";
    /** Hosts (node names, or "qnetd") declared down for this run: their steps are not run. */
    readonly down: readonly string[];
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
    /** Resource name → provider import id of an existing object to adopt (stack key `import`). */
    readonly imports: Readonly<Record<string, string>>;
    /** An example stack: the offline plan works, `pulumi up` and `preview` refuse it. */
    readonly example: boolean;
    readonly api: ApiAccess;
    /** Generation of the bootstrapped API token; raising it rotates the token. */
    readonly apiTokenRotation: number;
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

/** The HA resource id: `vm:<vmid>` or `ct:<vmid>` (pve-ha-manager `PVE::HA::Config::parse_sid`). */
export function guestSid(g: Pick<Guest, "type" | "vmid">): string {
    return `${g.type}:${g.vmid}`;
}

/**
 * Nodes the guest may run on: for an HA guest every node HA may start it on
 * (only the listed ones with strict node affinity), else its home node.
 */
export function guestNodes(site: Pick<Site, "nodes">, g: Guest): string[] {
    if (!g.ha) return [g.node];
    if (g.ha.strict) return site.nodes.map((n) => n.name).filter((n) => n in g.ha!.nodes);
    return site.nodes.map((n) => n.name);
}

/** The media a guest needs, per node: the ISO where it may run, cloud images and templates on the home node. */
export function guestMedia(g: Guest): { node: string; media: Media }[] {
    if (g.type === "ct") return [{ node: g.node, media: g.template }];
    const s = g.source;
    if (s?.kind === "iso") return s.nodes.map((node) => ({ node, media: s.iso }));
    if (s?.kind === "cloudImage") return [{ node: g.node, media: s.image }];
    return [];
}

/**
 * What ties a VM to particular nodes, one sentence per device (qemu-server
 * QemuMigrate.pm `prepare` and QemuMigrate/Helpers.pm `check_local_resources`):
 * a host device blocks migration ("can't migrate VM which uses local
 * devices") and an HA recovery starts the guest with whatever sits at that
 * address on the other node, if anything; a mapped device moves only to nodes
 * where the mapping has a device, and a running guest live-migrates only with
 * a live-migration-capable PCI mapping.
 */
export function pinnedBy(g: {
    readonly type: "vm" | "ct";
    readonly usb?: readonly UsbDevice[];
    readonly pci?: readonly PciDevice[];
}): string[] {
    if (g.type === "ct") return [];
    const out: string[] = [];
    (g.usb ?? []).forEach((u, i) => {
        if (u.host !== undefined)
            out.push(
                `usb[${i}] passes host USB device ${u.host} through: the guest cannot migrate and an HA recovery elsewhere starts without it`,
            );
        else
            out.push(
                `usb[${i}] uses mapping ${u.mapping}: HA and migration can only use nodes where that mapping has a device, and a running guest cannot live-migrate`,
            );
    });
    (g.pci ?? []).forEach((p, i) => {
        if (p.id !== undefined)
            out.push(
                `pci[${i}] passes host PCI device ${p.id} through: the guest cannot migrate and an HA recovery elsewhere fails to start or gets whatever sits at ${p.id} there`,
            );
        else
            out.push(
                `pci[${i}] uses mapping ${p.mapping}: HA and migration can only use nodes where that mapping has a device; live migration only if the mapping is live-migration-capable`,
            );
    });
    return out;
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
