/**
 * From what the hosts hold to a stack: the raw config (what Pulumi.<site>.yaml
 * carries), the import ids of every existing object the program declares, and
 * a note per key that could not be expressed. Pure: takes the texts read by
 * read.ts, returns data; nothing is guessed silently — every assumption and
 * every dropped key is a note.
 *
 * Import ids are those the provider's importers take (bpg
 * terraform-provider-proxmox at the version @muhlba91/pulumi-proxmoxve 8.6.0
 * bundles, v0.111.x): VM `<node>/<vmid>` (proxmoxtf/resource/vm/vm.go,
 * parseImportIDWithNodeName), replication job id
 * (fwprovider/cluster/replication/resource.go ImportState), HA resource
 * `vm:<vmid>` and HA rule id (docs/resources/haresource.md, harule.md),
 * storage id (storage_zfspool.md), cluster options `cluster`
 * (cluster_options.md), network interfaces `<node>:<iface>`
 * (fwprovider/nodes/network/resource_linux_vlan.go ImportState), SDN zone and
 * vnet ids (sdn_zone_vxlan.md, sdn_vnet.md).
 */
import { nodeAffinityRuleIdOf, sidOf } from "./names";
import {
    corosyncFacts,
    parseGuestConfig,
    parseInterfaces,
    parseKeyValue,
    parsePropertyString,
    parseSectionConfig,
    parseZpoolStatus,
    type Iface,
    type Section,
} from "./formats";

export interface NodeRead {
    readonly name: string;
    readonly address: string;
    readonly port: number;
    readonly hostKey: string;
    /** /etc/network/interfaces (and interfaces.d/*). */
    readonly interfaces: string;
    /** /etc/default/pve-ha-manager, "" when absent. */
    readonly haManagerDefault: string;
    /** `zpool status -P POOL`, `zpool get -H -p -o value ashift POOL`, `zfs get -H -o value compression POOL`. */
    readonly zpoolStatus: string;
    readonly ashift: string;
    readonly compression: string;
}

export interface SiteRead {
    readonly corosyncConf: string;
    readonly storageCfg: string;
    readonly replicationCfg: string;
    readonly haResourcesCfg: string;
    readonly haRulesCfg: string;
    readonly datacenterCfg: string;
    readonly sdnZonesCfg: string;
    readonly sdnVnetsCfg: string;
    /** Guest configs: path below /etc/pve/nodes → text. */
    readonly guestConfigs: Readonly<Record<string, string>>;
    /** /etc/pve/local/pveproxy-ssl.pem exists (a certificate a client can verify). */
    readonly customCertificate: boolean;
    readonly nodes: readonly NodeRead[];
    readonly qdevice?: { readonly address: string; readonly port: number; readonly hostKey: string };
}

export interface Note {
    /** Where the thing lives on the site, e.g. `/etc/pve/qemu-server/101.conf: hostpci0`. */
    readonly where: string;
    readonly message: string;
}

export interface Adoption {
    readonly stack: string;
    /** Section name → value, in the order the stack file lists them. */
    readonly config: Record<string, unknown>;
    /** Resource name → provider import id (also in config.import). */
    readonly imports: Record<string, string>;
    readonly notes: readonly Note[];
}

const KNOWN_VM_KEYS = new Set([
    "name",
    "cores",
    "memory",
    "ostype",
    "onboot",
    "protection",
    "agent",
    "cpu",
    "sockets",
    // Written by qm create itself, kept as they are by the provider:
    "meta",
    "smbios1",
    "vmgenid",
    "boot",
    "scsihw",
    "numa",
    "digest",
    // Mapped below (bios, machine, EFI disk, TPM, USB and PCI passthrough):
    "bios",
    "machine",
    "efidisk0",
    "tpmstate0",
]);

const PASSTHROUGH = /^(usb\d+|hostpci\d+)$/;

const DISK = /^(scsi\d+|virtio\d+|sata\d+|ide\d+)$/;
const NIC = /^net\d+$/;

function sectionsOf(text: string, file: string): Section[] {
    return text.trim() === "" ? [] : parseSectionConfig(text, file);
}

function mostCommon<T>(values: readonly T[]): T | undefined {
    const counts = new Map<T, number>();
    for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
    return [...counts.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
}

/** 10.0.20.11/24 → is `ip` in that network (IPv4 only; IPv6 compared by prefix text). */
function inNetwork(cidr: string, ip: string): boolean {
    const [net, bits] = cidr.split("/");
    if (!net || !bits || net.includes(":") || ip.includes(":")) return false;
    const n = (s: string) => s.split(".").reduce((a, o) => (a << 8) + Number(o), 0) >>> 0;
    const mask = Number(bits) === 0 ? 0 : (~0 << (32 - Number(bits))) >>> 0;
    return (n(net) & mask) === (n(ip) & mask);
}

function networkOf(cidr: string): string {
    const [net, bits] = cidr.split("/");
    if (!net || !bits || net.includes(":")) return cidr;
    const n = net.split(".").reduce((a, o) => (a << 8) + Number(o), 0) >>> 0;
    const mask = Number(bits) === 0 ? 0 : (~0 << (32 - Number(bits))) >>> 0;
    const v = (n & mask) >>> 0;
    return `${[24, 16, 8, 0].map((s) => (v >>> s) & 255).join(".")}/${bits}`;
}

function guestsOf(guestConfigs: Readonly<Record<string, string>>) {
    return Object.entries(guestConfigs)
        .map(([path, text]) => ({ path, m: /^([^/]+)\/(qemu-server|lxc)\/(\d+)\.conf$/.exec(path), text }))
        .filter((g) => g.m)
        .map((g) => ({
            path: g.path,
            node: g.m![1]!,
            kind: g.m![2]!,
            vmid: Number(g.m![3]),
            conf: parseGuestConfig(g.text, `/etc/pve/nodes/${g.path}`),
        }))
        .sort((a, b) => a.vmid - b.vmid);
}

/** The replicated storage: the zfspool entry that holds most guest disks (else the first zfspool). */
export function chooseStorage(storageCfg: string, guestConfigs: Readonly<Record<string, string>>): Section {
    const zfsStorages = sectionsOf(storageCfg, "/etc/pve/storage.cfg").filter((s) => s.type === "zfspool");
    const diskStorages = guestsOf(guestConfigs).flatMap((g) =>
        Object.entries(g.conf.main)
            .filter(([k, v]) => DISK.test(k) && !/media=cdrom/.test(v))
            .map(([, v]) => v.split(":")[0]!)
            .filter((id) => zfsStorages.some((z) => z.id === id)),
    );
    const storage = zfsStorages.find((s) => s.id === mostCommon(diskStorages)) ?? zfsStorages[0];
    if (!storage)
        throw new Error("storage.cfg has no zfspool storage: this site cannot be adopted (the stack needs its replicated ZFS storage)");
    return storage;
}

export function buildAdoption(read: SiteRead, stackName?: string): Adoption {
    const notes: Note[] = [];
    const note = (where: string, message: string) => notes.push({ where, message });
    const imports: Record<string, string> = {};

    const coro = corosyncFacts(read.corosyncConf);
    const stack = stackName ?? coro.clusterName;
    const prefix = coro.clusterName; // the program names resources after the cluster
    const api = (s: string) => `${prefix}-api-${s}`;

    // ---- datacenter.cfg -> cluster ----
    const dc = parseKeyValue(read.datacenterCfg, "/etc/pve/datacenter.cfg");
    const cluster: Record<string, unknown> = { name: coro.clusterName };
    let migrationNetwork: string | undefined;
    for (const [k, v] of Object.entries(dc)) {
        if (k === "migration") {
            const m = parsePropertyString(v, "type");
            if (m.type) cluster.migrationType = m.type;
            if (m.network) migrationNetwork = m.network;
        } else if (k === "bwlimit") {
            const b = parsePropertyString(v);
            const out: Record<string, number> = {};
            for (const [kk, vv] of Object.entries(b)) {
                if (["migration", "restore", "clone", "move", "default"].includes(kk)) out[kk] = Number(vv) / 1024;
                else note(`/etc/pve/datacenter.cfg: bwlimit ${kk}`, "no stack key for this limit; it is kept as it is");
            }
            if (Object.keys(out).length) cluster.bandwidthLimitMBps = out;
        } else if (k === "crs") {
            const c = parsePropertyString(v, "ha");
            cluster.crs = { ha: c.ha ?? "basic", rebalanceOnStart: c["ha-rebalance-on-start"] === "1" };
        } else if (k === "ha") {
            const h = parsePropertyString(v, "shutdown_policy");
            if (h.shutdown_policy) cluster.haShutdownPolicy = h.shutdown_policy;
        } else {
            note(`/etc/pve/datacenter.cfg: ${k}`, "not expressed by the stack; the cluster options resource does not set it");
        }
    }
    imports[api("cluster-options")] = "cluster";

    // ---- storage.cfg -> storage (the zfspool that holds the guests' replicated disks) ----
    const storages = sectionsOf(read.storageCfg, "/etc/pve/storage.cfg");
    const guests = guestsOf(read.guestConfigs);
    const storage = chooseStorage(read.storageCfg, read.guestConfigs);
    for (const s of storages)
        if (s.id !== storage.id)
            note(`/etc/pve/storage.cfg: ${s.type}: ${s.id}`, "left alone (the stack manages one replicated ZFS storage)");
    const [pool, ...datasetParts] = storage.props.pool!.split("/");
    const storageOut: Record<string, unknown> = { id: storage.id, pool };
    if (datasetParts.length) storageOut.dataset = datasetParts.join("/");
    storageOut.thinProvision = storage.props.sparse === "1";
    if (storage.props.blocksize) storageOut.blocksize = storage.props.blocksize;
    const content = (storage.props.content ?? "").split(",").sort().join(",");
    if (content !== "images,rootdir")
        note(
            `/etc/pve/storage.cfg: ${storage.id} content`,
            `is "${content}"; the stack's storage holds images,rootdir, so the first \`pulumi up\` would set that`,
        );
    if (storage.props.nodes) {
        const listed = storage.props.nodes.split(",").sort();
        if (
            listed.join(",") !==
            coro.nodes
                .map((n) => n.name)
                .sort()
                .join(",")
        )
            note(`/etc/pve/storage.cfg: ${storage.id} nodes`, `limited to ${listed.join(", ")}; the stack's storage is on every node`);
    }
    if (storage.props.mountpoint) note(`/etc/pve/storage.cfg: ${storage.id} mountpoint`, "not expressed by the stack");
    imports[api("storage")] = storage.id;

    // ---- nodes ----
    const nodes = coro.nodes.map((cn) => {
        const r = read.nodes.find((n) => n.name === cn.name);
        if (!r) throw new Error(`node ${cn.name} of corosync.conf was not read`);
        const links = Object.entries(cn.links)
            .sort((a, b) => Number(a[0]) - Number(b[0]))
            .map(([n, address]) => {
                const priority = coro.linkPriorities[Number(n)];
                return priority !== undefined ? { address, priority } : address;
            });
        const layout = parseZpoolStatus(r.zpoolStatus, pool!);
        const groups = layout.vdevs;
        let zfsLayout = "single";
        if (groups.length === 1 && groups[0]!.type === "mirror") zfsLayout = "mirror";
        else if (groups.length > 1 && groups.every((g) => g.type === "mirror" && g.leaves.length === 2)) zfsLayout = "raid10";
        else if (groups.length === 1 && /^raidz[123]$/.test(groups[0]!.type)) zfsLayout = groups[0]!.type;
        else if (!groups.every((g) => g.type === "disk"))
            note(
                `${cn.name}: zpool ${pool}`,
                `vdev layout ${groups.map((g) => g.type).join(" + ")} is not one the stack can express; written as ${zfsLayout}`,
            );
        const disks = groups
            .flatMap((g) => g.leaves)
            .map((leaf) => {
                // A whole disk given to ZFS is labelled as partition 1 (ZFS's own layout);
                // the stack lists whole disks.
                const whole = leaf.replace(/-part1$/, "");
                if (/-part\d+$/.test(whole))
                    note(`${cn.name}: zpool ${pool} vdev ${leaf}`, "is a partition, not a whole disk; the stack lists whole disks");
                return whole;
            });
        for (const a of layout.auxiliary)
            note(`${cn.name}: zpool ${pool} ${a}`, "log/cache/spare/special vdevs are not expressed by the stack (they stay as they are)");
        const watchdog = /^\s*WATCHDOG_MODULE=["']?([A-Za-z0-9_]+)/m.exec(r.haManagerDefault)?.[1] ?? "softdog";
        const node: Record<string, unknown> = { name: cn.name, address: r.address };
        // links: [address] alone is the default; write them whenever corosync has more.
        if (!(links.length === 1 && links[0] === r.address)) node.links = links;
        node.sshHostKey = r.hostKey;
        if (r.port !== 22) node.sshPort = r.port;
        node.watchdog = watchdog;
        node.zfs = { pool, layout: zfsLayout, disks, ashift: Number(r.ashift.trim()), compression: r.compression.trim() };
        if (cn.votes !== 1) note(`corosync.conf: ${cn.name} quorum_votes`, `is ${cn.votes}; the stack gives every node 1 vote`);
        return node;
    });

    // ---- qdevice ----
    let qdevice: Record<string, unknown> | undefined;
    if (coro.qdevice) {
        if (coro.qdevice.algorithm !== "ffsplit")
            note("corosync.conf: quorum.device.net.algorithm", `is ${coro.qdevice.algorithm}; the stack sets up ffsplit`);
        if (!read.qdevice) throw new Error(`the QDevice host ${coro.qdevice.host} was not read`);
        qdevice = { address: coro.qdevice.host, sshHostKey: read.qdevice.hostKey };
        if (read.qdevice.port !== 22) qdevice.sshPort = read.qdevice.port;
        if (coro.qdevice.tieBreaker === "lowest" || coro.qdevice.tieBreaker === "highest") qdevice.tieBreaker = coro.qdevice.tieBreaker;
        else
            note(
                "corosync.conf: quorum.device.net.tie_breaker",
                `is node ${coro.qdevice.tieBreaker}; the stack knows lowest or highest (written as lowest)`,
            );
    }

    // ---- replication ----
    const jobs = sectionsOf(read.replicationCfg, "/etc/pve/replication.cfg").filter((s) => s.type === "local");
    // The default schedule of a job without one (ReplicationConfig.pm: default '*/15').
    const schedule = mostCommon(jobs.map((j) => j.props.schedule ?? "*/15")) ?? "*/15";
    const rate = mostCommon(jobs.map((j) => j.props.rate ?? ""));
    for (const j of jobs) {
        if ((j.props.schedule ?? "*/15") !== schedule)
            note(
                `/etc/pve/replication.cfg: ${j.id} schedule`,
                `is ${j.props.schedule ?? "*/15"}; the stack has one schedule (${schedule}) for every job`,
            );
        if ((j.props.rate ?? "") !== rate)
            note(`/etc/pve/replication.cfg: ${j.id} rate`, `is ${j.props.rate ?? "unlimited"}; the stack has one rate for every job`);
        if (j.props.disable) note(`/etc/pve/replication.cfg: ${j.id} disable`, "the job is disabled; the stack's jobs are enabled");
        if (j.props.comment) note(`/etc/pve/replication.cfg: ${j.id} comment`, "not expressed by the stack");
    }
    const replication: Record<string, unknown> = { schedule };
    if (rate) replication.rateMBps = Number(rate);
    if (migrationNetwork) replication.network = migrationNetwork;

    // ---- HA ----
    const haResources = sectionsOf(read.haResourcesCfg, "/etc/pve/ha/resources.cfg");
    const haRules = sectionsOf(read.haRulesCfg, "/etc/pve/ha/rules.cfg");
    const nodeRules = new Map<string, Section>();
    for (const r of haRules.filter((x) => x.type === "node-affinity")) {
        const res = (r.props.resources ?? "").split(",");
        if (res.length === 1) nodeRules.set(res[0]!, r);
        else
            note(
                `/etc/pve/ha/rules.cfg: node-affinity: ${r.id}`,
                "names several resources; the stack has one node-affinity rule per guest",
            );
    }

    // ---- guests ----
    const guestsOut: Record<string, unknown>[] = [];
    const vnets = sectionsOf(read.sdnVnetsCfg, "/etc/pve/sdn/vnets.cfg").filter((s) => s.type === "vnet");
    for (const g of guests) {
        const where = `/etc/pve/nodes/${g.path}`;
        if (g.kind === "lxc") {
            note(where, "containers are not expressed by the stack: left alone, not imported");
            continue;
        }
        const c = g.conf.main;
        for (const s of g.conf.sections)
            note(`${where}: [${s}]`, "snapshots and pending changes are not expressed by the stack (they stay as they are)");
        const out: Record<string, unknown> = { vmid: g.vmid, name: c.name ?? `vm${g.vmid}`, node: g.node };
        // qemu-server defaults for keys a config may omit (src/PVE/QemuServer.pm $confdesc):
        // cores 1, memory 512, onboot 0, protection 0, agent 0.
        out.cores = Number(c.cores ?? 1);
        out.memoryMb = Number(parsePropertyString(c.memory ?? "512", "current").current);
        if (c.sockets && c.sockets !== "1") note(`${where}: sockets`, `is ${c.sockets}; the stack sets cores on one socket`);
        if (c.cpu && parsePropertyString(c.cpu, "cputype").cputype !== "x86-64-v2-AES")
            note(`${where}: cpu`, `is ${c.cpu}; the program sets x86-64-v2-AES (so HA can start the guest on any node)`);
        const disks: Record<string, unknown>[] = [];
        let cdrom: string | undefined;
        for (const [k, v] of Object.entries(c)
            .filter(([k]) => DISK.test(k))
            .sort()) {
            const d = parsePropertyString(v, "file");
            if (d.media === "cdrom") {
                if (d.file && d.file !== "none" && k === "ide2") cdrom = d.file;
                else if (d.file && d.file !== "none")
                    note(`${where}: ${k}`, "a CD-ROM on another slot than ide2 is not expressed by the stack");
                continue;
            }
            if (k.startsWith("ide")) {
                note(`${where}: ${k}`, "IDE disks are not expressed by the stack");
                continue;
            }
            const size = /^(\d+)G$/.exec(d.size ?? "");
            if (!size) note(`${where}: ${k} size`, `is ${d.size ?? "unknown"}; the stack takes whole GiB (written rounded up)`);
            const sizeGb = size ? Number(size[1]) : Math.ceil(toGiB(d.size ?? "1G"));
            const disk: Record<string, unknown> = { slot: k, sizeGb, storage: d.file!.split(":")[0] };
            disk.ssd = d.ssd === "1";
            disk.discard = d.discard === "on";
            disks.push(disk);
            for (const extra of Object.keys(d).filter((x) => !["file", "size", "ssd", "discard", "replicate"].includes(x)))
                note(`${where}: ${k} ${extra}`, `${extra}=${d[extra]} is not expressed by the stack`);
            if (d.replicate === "0")
                note(`${where}: ${k} replicate`, "is off; the program sets replicate on for disks on the replicated storage");
        }
        out.disks = disks;
        const nics: Record<string, unknown>[] = [];
        for (const [k, v] of Object.entries(c)
            .filter(([k]) => NIC.test(k))
            .sort((a, b) => Number(a[0].slice(3)) - Number(b[0].slice(3)))) {
            const n = parsePropertyString(v);
            const model = Object.keys(n).find((x) => ["virtio", "e1000", "e1000e", "vmxnet3", "rtl8139"].includes(x));
            const nic: Record<string, unknown> = {};
            const bridge = n.bridge ?? "";
            if (vnets.some((vn) => vn.id === bridge)) nic.vnet = bridge;
            else nic.bridge = bridge;
            if (n.tag) nic.vlan = Number(n.tag);
            nic.model = model ?? "virtio";
            nic.firewall = n.firewall === "1";
            if (n.mtu) nic.mtu = Number(n.mtu);
            if (model && n[model]) nic.macAddress = n[model]!.toUpperCase();
            nics.push(nic);
            for (const extra of Object.keys(n).filter((x) => x !== model && !["bridge", "tag", "firewall", "mtu", "macaddr"].includes(x)))
                note(`${where}: ${k} ${extra}`, `${extra}=${n[extra]} is not expressed by the stack`);
        }
        out.nics = nics;
        const haOf = haResources.find((r) => r.type === "vm" && r.id === String(g.vmid));
        if (cdrom && haOf) {
            note(
                `${where}: ide2`,
                `${cdrom} is in the CD drive of an HA guest; the stack needs its URL (source.iso) so every node has it, or an empty drive: eject it, or declare source.iso`,
            );
        } else if (cdrom) out.cdrom = cdrom;
        // UEFI, machine type, TPM, passthrough (qemu-server's keys, as vm.ts declares them).
        if (c.bios === "ovmf") out.bios = "ovmf";
        else if (c.bios && c.bios !== "seabios") note(`${where}: bios`, `${c.bios} is not expressed by the stack`);
        if (c.efidisk0) {
            const e = parsePropertyString(c.efidisk0, "file");
            out.secureBoot = e["pre-enrolled-keys"] === "1";
            if (e.efitype !== undefined && e.efitype !== "4m")
                note(`${where}: efidisk0 efitype`, `is ${e.efitype}; the program creates 4m EFI disks`);
        }
        if (c.machine) {
            if (/^(pc|q35)(-i440fx|-q35)?(-\d+\.\d+(\+pve\d+)?)?$/.test(c.machine)) out.machine = c.machine;
            else note(`${where}: machine`, `${c.machine} is not expressed by the stack`);
        }
        if (c.tpmstate0) {
            const t = parsePropertyString(c.tpmstate0, "file");
            if (t.version === "v2.0" || t.version === "v1.2") out.tpm = t.version;
            else note(`${where}: tpmstate0`, `version ${t.version ?? "unknown"} is not expressed by the stack`);
        }
        const byIndex = (a: [string, string], b: [string, string]) => Number(/\d+$/.exec(a[0])![0]) - Number(/\d+$/.exec(b[0])![0]);
        const usb = Object.entries(c)
            .filter(([k]) => /^usb\d+$/.test(k))
            .sort(byIndex)
            .map(([, v]) => {
                const u = parsePropertyString(v, "host");
                return { ...(u.mapping ? { mapping: u.mapping } : { host: u.host }), usb3: u.usb3 === "1" };
            });
        if (usb.length) out.usb = usb;
        const pci = Object.entries(c)
            .filter(([k]) => /^hostpci\d+$/.test(k))
            .sort(byIndex)
            .map(([k, v]) => {
                const p = parsePropertyString(v, "host");
                for (const extra of Object.keys(p).filter((x) => !["host", "mapping", "pcie", "x-vga"].includes(x)))
                    note(`${where}: ${k} ${extra}`, `${extra}=${p[extra]} is not expressed by the stack`);
                return { ...(p.mapping ? { mapping: p.mapping } : { id: p.host }), pcie: p.pcie === "1", xvga: p["x-vga"] === "1" };
            });
        if (pci.length) out.pci = pci;
        out.osType = c.ostype ?? "other";
        const ha = haResources.find((r) => r.type === "vm" && r.id === String(g.vmid));
        out.started = ha ? (ha.props.state ?? "started") === "started" : c.onboot === "1";
        if (!ha) note(`${where}: running state`, `not read; started is written as the onboot flag (${c.onboot === "1"})`);
        out.startOnBoot = c.onboot === "1";
        out.protect = c.protection === "1";
        if (c.protection !== "1")
            note(
                `${where}: protection`,
                "is off, so protect: false keeps it off (and Pulumi does not protect the VM); set protect: true to protect both",
            );
        out.agent = c.agent !== undefined && parsePropertyString(c.agent, "enabled").enabled === "1";
        const mine = jobs.filter((j) => j.id.startsWith(`${g.vmid}-`));
        out.replicateTo = mine.map((j) => j.props.target);
        if (mine.length) out.replicationJobIds = Object.fromEntries(mine.map((j) => [j.props.target, j.id]));
        for (const j of mine) imports[api(`replication-${j.id}`)] = j.id;
        if (ha) {
            const h: Record<string, unknown> = {
                state: ha.props.state ?? "started",
                maxRestart: Number(ha.props.max_restart ?? 1),
                maxRelocate: Number(ha.props.max_relocate ?? 1),
                failback: (ha.props.failback ?? "1") === "1",
            };
            if (ha.props.group)
                note(
                    `/etc/pve/ha/resources.cfg: vm: ${g.vmid} group`,
                    "HA groups are replaced by node-affinity rules in PVE 9; migrate it first (ha-manager does on upgrade)",
                );
            const sid = sidOf(g.vmid);
            const rule = nodeRules.get(sid);
            if (rule) {
                h.nodes = Object.fromEntries(
                    rule.props.nodes!.split(",").map((p) => {
                        const [n, prio] = p.split(":");
                        return [n!, Number(prio ?? 0)];
                    }),
                );
                h.strict = rule.props.strict === "1";
                if (rule.id !== nodeAffinityRuleIdOf(g.vmid)) {
                    note(
                        `/etc/pve/ha/rules.cfg: node-affinity: ${rule.id}`,
                        `the program names this rule ${nodeAffinityRuleIdOf(g.vmid)}; rename it (ha-manager rules remove ${rule.id}, then add it under the new id) before \`pulumi up\`, or it would be a second rule for ${sid}`,
                    );
                } else {
                    imports[api(`harule-${rule.id}`)] = rule.id;
                }
                if (rule.props.comment !== `home ${g.node} (proxmox-ha)`)
                    note(`/etc/pve/ha/rules.cfg: ${rule.id} comment`, `the program sets "home ${g.node} (proxmox-ha)"`);
            } else {
                note(
                    `/etc/pve/ha/resources.cfg: vm: ${g.vmid}`,
                    `has no node-affinity rule; the program adds ${nodeAffinityRuleIdOf(g.vmid)} (home ${g.node} preferred)`,
                );
            }
            out.ha = h;
            imports[api(`ha-${g.vmid}`)] = sid;
        }
        for (const k of Object.keys(c).filter(
            (k) => !KNOWN_VM_KEYS.has(k) && !DISK.test(k) && !NIC.test(k) && !PASSTHROUGH.test(k) && k !== "description",
        ))
            note(`${where}: ${k}`, `${k}: ${c[k]} is not expressed by the stack`);
        if (c.description) note(`${where}: description`, "not expressed by the stack");
        imports[api(`vm-${g.vmid}`)] = `${g.node}/${g.vmid}`;
        guestsOut.push(out);
    }
    for (const r of haResources.filter((x) => !guestsOut.some((g) => sidOf(g.vmid as number) === `${x.type}:${x.id}`)))
        note(`/etc/pve/ha/resources.cfg: ${r.type}: ${r.id}`, "not a VM of the stack: left alone");
    const haRulesOut = haRules
        .filter((r) => r.type === "resource-affinity")
        .map((r) => {
            imports[api(`harule-${r.id}`)] = r.id;
            const rule: Record<string, unknown> = {
                id: r.id,
                affinity: r.props.affinity,
                guests: r.props.resources!.split(",").map((s) => Number(s.split(":")[1])),
            };
            if (r.props.comment) rule.comment = r.props.comment;
            return rule;
        });
    for (const r of haRules.filter((x) => x.props.disable))
        note(`/etc/pve/ha/rules.cfg: ${r.id} disable`, "the rule is disabled; the stack's rules are enabled");

    // ---- network: VLANs and bridges other than the management one ----
    const linkAddrs = new Set(coro.nodes.flatMap((n) => Object.values(n.links)));
    const vlanMap = new Map<
        string,
        { tag: number; iface: string; mtu?: string; comment?: string; addresses: Record<string, string>; nodes: string[] }
    >();
    const bridgeMap = new Map<
        string,
        {
            name: string;
            ports: string;
            vlanAware: boolean;
            mtu?: string;
            comment?: string;
            addresses: Record<string, string>;
            nodes: string[];
        }
    >();
    for (const n of read.nodes) {
        const ifaces: Iface[] = parseInterfaces(n.interfaces);
        for (const i of ifaces) {
            const vm = /^([A-Za-z][A-Za-z0-9_-]*)\.(\d+)$/.exec(i.name);
            const rawDev = vm ? vm[1]! : i.options["vlan-raw-device"];
            const tag = vm ? Number(vm[2]) : i.options["vlan-id"] ? Number(i.options["vlan-id"]) : undefined;
            const address = i.options.address;
            if (address?.split("/")[0] === n.address) continue; // the management interface: never managed
            if (rawDev && tag !== undefined) {
                const key = `${rawDev}.${tag}`;
                const v = vlanMap.get(key) ?? { tag, iface: rawDev, addresses: {}, nodes: [] };
                if (i.options.mtu) v.mtu = i.options.mtu;
                if (i.comment) v.comment = i.comment.trim();
                if (address) v.addresses[n.name] = address;
                v.nodes.push(n.name);
                vlanMap.set(key, v);
                imports[api(`vlan-${n.name}-${tag}`)] = `${n.name}:${key}`;
            } else if (/^vmbr\d+$/.test(i.name)) {
                if (i.name === "vmbr0" && !address) continue;
                const b = bridgeMap.get(i.name) ?? {
                    name: i.name,
                    ports: i.options["bridge-ports"] ?? "none",
                    vlanAware: i.options["bridge-vlan-aware"] === "yes",
                    addresses: {},
                    nodes: [],
                };
                if (i.options.mtu) b.mtu = i.options.mtu;
                if (i.comment) b.comment = i.comment.trim();
                if (address) b.addresses[n.name] = address;
                b.nodes.push(n.name);
                bridgeMap.set(i.name, b);
                imports[api(`bridge-${n.name}-${i.name}`)] = `${n.name}:${i.name}`;
            }
        }
    }
    const allNodes = coro.nodes.map((n) => n.name);
    const zones = sectionsOf(read.sdnZonesCfg, "/etc/pve/sdn/zones.cfg");
    const zone = zones.find((z) => z.type === "vxlan");
    const peers = new Set((zone?.props.peers ?? "").split(",").filter(Boolean));
    const vlans = [...vlanMap.values()]
        .sort((a, b) => a.tag - b.tag)
        .map((v) => {
            const addrs = Object.values(v.addresses).map((a) => a.split("/")[0]!);
            const purpose = addrs.some((a) => linkAddrs.has(a))
                ? "corosync"
                : addrs.some((a) => peers.has(a))
                  ? "vxlan"
                  : migrationNetwork &&
                      Object.values(v.addresses).some(
                          (a) => inNetwork(migrationNetwork!, a.split("/")[0]!) && networkOf(a) === networkOf(migrationNetwork!),
                      )
                    ? "replication"
                    : "other";
            const out: Record<string, unknown> = { tag: v.tag, interface: v.iface };
            if (v.mtu) out.mtu = Number(v.mtu);
            out.purpose = purpose;
            out.addresses = v.addresses;
            if (v.nodes.length !== allNodes.length) out.nodes = v.nodes;
            if (v.comment) out.comment = v.comment;
            else if (purpose !== "corosync")
                note(`/etc/network/interfaces: ${v.iface}.${v.tag}`, `has no comment; the program sets "${purpose} (proxmox-ha)"`);
            return out;
        });
    // Corosync VLANs are the bootstrap's (scripts/corosync-vlan.sh), not API resources.
    for (const v of vlans) if (v.purpose === "corosync") for (const n of allNodes) delete imports[api(`vlan-${n}-${v.tag}`)];
    const bridges = [...bridgeMap.values()].map((b) => {
        const out: Record<string, unknown> = { name: b.name, ports: b.ports === "none" ? [] : b.ports.split(/\s+/) };
        out.vlanAware = b.vlanAware;
        if (b.mtu) out.mtu = Number(b.mtu);
        out.addresses = b.addresses;
        if (b.nodes.length !== allNodes.length) out.nodes = b.nodes;
        if (b.comment) out.comment = b.comment;
        else note(`/etc/network/interfaces: ${b.name}`, `has no comment; the program sets "proxmox-ha"`);
        return out;
    });
    const network: Record<string, unknown> = {};
    if (vlans.length) network.vlans = vlans;
    if (bridges.length) network.bridges = bridges;
    if (zone) {
        const vnet = vnets.find((v) => v.props.zone === zone.id);
        if (!vnet) note(`/etc/pve/sdn/zones.cfg: vxlan: ${zone.id}`, "has no vnet; the stack's VXLAN needs one");
        else {
            const underlay = vlans.find((v) => v.purpose === "vxlan");
            const peerMap: Record<string, string> = {};
            const ordered = zone.props.peers!.split(",");
            allNodes.forEach((n, i) => (peerMap[n] = ordered[i]!));
            network.vxlan = {
                zone: zone.id,
                vnet: vnet.id,
                tag: Number(vnet.props.tag),
                mtu: Number(zone.props.mtu ?? 1450),
                ...(underlay?.mtu !== undefined ? { underlayMtu: underlay.mtu } : {}),
                ...(underlay ? {} : { peers: peerMap }),
            };
            imports[api("sdn-zone")] = zone.id;
            imports[api("sdn-vnet")] = vnet.id;
        }
        for (const z of zones.filter((x) => x !== zone))
            note(`/etc/pve/sdn/zones.cfg: ${z.type}: ${z.id}`, "left alone (the stack has one VXLAN zone)");
    }

    note(
        "/etc/pve/firewall/cluster.fw",
        "not read: firewall.enabled stays false; enable it in the stack to let the program manage the firewall",
    );
    note("/etc/pve/notifications.cfg", "not read: set alerts.email in the stack to have the program route fencing and replication mail");

    const config: Record<string, unknown> = { cluster, nodes };
    if (qdevice) config.qdevice = qdevice;
    config.storage = storageOut;
    config.replication = replication;
    config.guests = guestsOut;
    if (haRulesOut.length) config.haRules = haRulesOut;
    if (Object.keys(network).length) config.network = network;
    config.apiInsecure = !read.customCertificate;
    if (!read.customCertificate)
        note("/etc/pve/local/pveproxy-ssl.pem", "absent: the API has the self-signed certificate, so apiInsecure: true");
    const sortedImports = Object.fromEntries(Object.entries(imports).sort(([a], [b]) => a.localeCompare(b)));
    config.import = sortedImports;
    return { stack, config, imports: sortedImports, notes };
}

function toGiB(size: string): number {
    const m = /^(\d+(?:\.\d+)?)([KMGT]?)$/.exec(size);
    if (!m) return 1;
    const f = { "": 1 / 1024 ** 3, K: 1 / 1024 ** 2, M: 1 / 1024, G: 1, T: 1024 }[m[2] as "" | "K" | "M" | "G" | "T"];
    return Number(m[1]) * f;
}
