/**
 * A site built by hand, the way operators build one today (GUI or CLI, Proxmox
 * defaults), rendered as the files and command outputs its nodes then hold.
 * Every text is produced by the rules of the tool that writes it on a real node:
 *
 *   corosync.conf     pve-cluster src/PVE/Corosync.pm create_conf (what `pvecm
 *                     create` writes: totem, nodelist, quorum, logging) and
 *                     write_conf (sorted keys, two-space indent, a blank line after
 *                     each top-level block); the QDevice block as `pvecm qdevice
 *                     setup` adds it (src/PVE/CLI/pvecm.pm: model net, net { tls on,
 *                     host, algorithm ffsplit }, votes 1)
 *   *.cfg             pve-common src/PVE/SectionConfig.pm write_config: `type: id`,
 *                     comment first, then required then optional keys sorted, each
 *                     `\tkey value`, a blank line after each section; lists as the
 *                     plugins encode them (storage content and nodes, HA resources,
 *                     rule nodes `node:prio` sorted: pve-ha-manager src/PVE/HA/Rules.pm
 *                     encode_value, src/PVE/HA/Rules/NodeAffinity.pm encode_plugin_value)
 *   replication.cfg   `pvesr create-local-job <vmid>-0 <target> --schedule … --rate …`
 *                     (pve-guest-common src/PVE/ReplicationConfig.pm: target is the
 *                     one required option)
 *   qemu-server conf  `qm create` (qemu-server src/PVE/QemuServer.pm write_vm_config:
 *                     `key: value` sorted; drives as `storage:vm-N-disk-M,…,size=NG`)
 *   interfaces        ifupdown2 stanzas as the PVE GUI writes them (pve-common
 *                     src/PVE/INotify.pm __write_etc_network_interfaces)
 *   zpool status -P   OpenZFS cmd/zpool/zpool_main.c (config table, two spaces per
 *                     level; whole disks shown with their `-part1` label partition
 *                     under -P, lib/libzfs/libzfs_pool.c zpool_vdev_name)
 *
 * The jobs carry Proxmox's default ids (`<vmid>-0`, the first job of a guest,
 * pve-manager www/manager6/grid/Replication.js), not the program's.
 */
import type { Site } from "../../components/model";
import type { NodeRead, SiteRead } from "../../tools/adopt/build";

type Conf = { [k: string]: string | number | Conf | Conf[] };

/** PVE::Corosync::write_conf. */
export function writeCorosyncConf(c: Conf, prefix = ""): string {
    let raw = "";
    for (const k of Object.keys(c).sort()) {
        const v = c[k]!;
        if (Array.isArray(v)) {
            for (const child of v) raw += `${prefix}${k} {\n${writeCorosyncConf(child, `${prefix}  `)}${prefix}}\n`;
        } else if (typeof v === "object") {
            raw += `${prefix}${k} {\n${writeCorosyncConf(v, `${prefix}  `)}${prefix}}\n`;
            if (!prefix) raw += "\n";
        } else {
            raw += `${prefix}${k}: ${v}\n`;
        }
    }
    return raw;
}

/** PVE::SectionConfig::write_config for one section. */
export function section(
    type: string,
    id: string,
    required: Record<string, string>,
    optional: Record<string, string | undefined> = {},
    comment?: string,
): string {
    let s = `${type}: ${id}\n`;
    if (comment) s += `\tcomment ${comment}\n`;
    for (const k of Object.keys(required).sort()) s += `\t${k} ${required[k]}\n`;
    for (const k of Object.keys(optional).sort()) if (optional[k] !== undefined && optional[k] !== "") s += `\t${k} ${optional[k]}\n`;
    return `${s}\n`;
}

export function corosyncConfOf(site: Site): string {
    const linkCount = Math.max(...site.nodes.map((n) => n.links.length));
    const nodelist = site.nodes.map((n, i) => {
        const node: Conf = { name: n.name, nodeid: i + 1, quorum_votes: 1 };
        n.links.forEach((l, j) => (node[`ring${j}_addr`] = l.address));
        return node;
    });
    const interfaces: Conf[] = Array.from({ length: linkCount }, (_, j) => {
        const prio = site.nodes[0]!.links[j]?.priority;
        const i: Conf = { linknumber: j };
        if (prio) i.knet_link_priority = prio;
        return i;
    });
    const quorum: Conf = { provider: "corosync_votequorum" };
    if (site.qdevice) quorum.device = { model: "net", net: { tls: "on", host: site.qdevice.address, algorithm: "ffsplit" }, votes: 1 };
    return writeCorosyncConf({
        totem: {
            version: 2,
            secauth: "on",
            cluster_name: site.cluster.name,
            config_version: site.nodes.length + (site.qdevice ? 1 : 0),
            ip_version: "ipv4-6",
            link_mode: "passive",
            interface: interfaces,
        },
        nodelist: { node: nodelist },
        quorum,
        logging: { to_syslog: "yes", debug: "off" },
    });
}

const mac = (vmid: number, i: number) =>
    `BC:24:11:${((vmid >> 8) & 255).toString(16).padStart(2, "0")}:${(vmid & 255).toString(16).padStart(2, "0")}:${i.toString(16).padStart(2, "0")}`.toUpperCase();

/** `qm create` as an operator runs it for the guest, then the config it leaves. */
export function qemuConfOf(site: Site, vmid: number): string {
    const g = site.guests.find((x) => x.vmid === vmid)!;
    if (g.type !== "vm") throw new Error(`guest ${vmid} is a container`);
    const conf: Record<string, string> = {
        agent: g.agent ? "1" : "0",
        boot: `order=${[...g.disks.map((d) => d.slot), ...(g.cdrom ? ["ide2"] : []), ...g.nics.map((_, i) => `net${i}`)].join(";")}`,
        cores: String(g.cores),
        cpu: "x86-64-v2-AES",
        memory: String(g.memoryMb),
        meta: "creation-qemu=9.2.0,ctime=1764000000",
        name: g.name,
        numa: "0",
        ostype: g.osType,
        scsihw: "virtio-scsi-single",
        smbios1: `uuid=6f0b9f1e-0000-4000-8000-${String(vmid).padStart(12, "0")}`,
        sockets: "1",
        vmgenid: `3c1d2f00-0000-4000-8000-${String(vmid).padStart(12, "0")}`,
    };
    if (g.startOnBoot) conf.onboot = "1";
    if (g.protect) conf.protection = "1";
    if (g.cdrom) conf.ide2 = `${g.cdrom},media=cdrom`;
    g.disks.forEach((d, i) => {
        const opts = [
            d.discard ? "discard=on" : undefined,
            `size=${d.sizeGb}G`,
            d.ssd && !d.slot.startsWith("virtio") ? "ssd=1" : undefined,
        ];
        conf[d.slot] = [`${d.storage}:vm-${vmid}-disk-${i}`, ...opts.filter(Boolean)].join(",");
    });
    g.nics.forEach((n, i) => {
        const parts = [
            `${n.model}=${n.macAddress ?? mac(vmid, i)}`,
            `bridge=${n.bridge ?? n.vnet}`,
            n.firewall ? "firewall=1" : undefined,
            n.mtu ? `mtu=${n.mtu}` : undefined,
            n.vlan ? `tag=${n.vlan}` : undefined,
        ];
        conf[`net${i}`] = parts.filter(Boolean).join(",");
    });
    return Object.keys(conf)
        .sort()
        .map((k) => `${k}: ${conf[k]}\n`)
        .join("");
}

export function interfacesOf(site: Site, node: string, address: string): string {
    const n = site.nodes.find((x) => x.name === node)!;
    const parents = [...new Set(site.network.vlans.map((v) => v.interface))];
    let s = "auto lo\niface lo inet loopback\n\n";
    s += "iface eno1 inet manual\n\n";
    for (const p of parents.filter((p) => p !== "eno1")) {
        s += p.startsWith("bond")
            ? `auto ${p}\niface ${p} inet manual\n\tbond-slaves eno2 eno3\n\tbond-miimon 100\n\tbond-mode 802.3ad\n\n`
            : `iface ${p} inet manual\n\n`;
    }
    s += `auto vmbr0\niface vmbr0 inet static\n\taddress ${address}/24\n\tbridge-ports eno1\n\tbridge-stp off\n\tbridge-fd 0\n\n`;
    // A dedicated corosync link on its own port (configured at install), when it is no VLAN of the stack.
    n.links.forEach((l, j) => {
        if (l.address !== address && !site.network.vlans.some((v) => v.addresses[node]?.split("/")[0] === l.address)) {
            s += `auto eno${j + 5}\niface eno${j + 5} inet static\n\taddress ${l.address}/24\n\n`;
        }
    });
    for (const v of site.network.vlans.filter((x) => x.nodes.includes(node))) {
        s += `auto ${v.interface}.${v.tag}\niface ${v.interface}.${v.tag} inet ${v.addresses[node] ? "static" : "manual"}\n`;
        if (v.addresses[node]) s += `\taddress ${v.addresses[node]}\n`;
        if (v.mtu) s += `\tmtu ${v.mtu}\n`;
        s += "\n";
    }
    return `${s}source /etc/network/interfaces.d/*\n`;
}

export function zpoolStatusOf(pool: string, layout: string, disks: readonly string[]): string {
    const groups: string[][] =
        layout === "raid10" ? Array.from({ length: disks.length / 2 }, (_, i) => disks.slice(2 * i, 2 * i + 2)) : [[...disks]];
    const rows: [number, string][] = [[0, pool]];
    if (layout === "single") for (const d of disks) rows.push([2, `${d}-part1`]);
    else
        groups.forEach((g, i) => {
            rows.push([2, `${layout === "raid10" ? "mirror" : layout}-${i}`]);
            for (const d of g) rows.push([4, `${d}-part1`]);
        });
    const width = Math.max(10, ...rows.map(([d, n]) => d + n.length));
    const line = (depth: number, name: string, state: string, r: string, w: string, c: string) =>
        `\t${" ".repeat(depth)}${name.padEnd(width - depth)}  ${state.padEnd(8)} ${r.padStart(5)} ${w.padStart(5)} ${c.padStart(5)}\n`;
    return (
        `  pool: ${pool}\n state: ONLINE\nconfig:\n\n` +
        line(0, "NAME", "STATE", "READ", "WRITE", "CKSUM") +
        rows.map(([d, n]) => line(d, n, "ONLINE", "0", "0", "0")).join("") +
        "\nerrors: No known data errors\n"
    );
}

export interface HandBuilt {
    readonly files: Record<string, string>;
    readonly read: SiteRead;
}

/**
 * The site as built by hand after the example stack: addresses maps node name → SSH address
 * (the stack's own addresses by default), keys node name / "qnetd" → host key.
 */
export function handBuilt(
    site: Site,
    opts: { addresses?: Record<string, string>; ports?: Record<string, number>; qnetdAddress?: string; qnetdPort?: number } = {},
): SiteRead {
    const storage = site.storage;
    const pveDefaults = section("dir", "local", { path: "/var/lib/vz" }, { content: "backup,iso,vztmpl" });
    const storageCfg =
        pveDefaults +
        section(
            "zfspool",
            storage.id,
            { pool: storage.zfsPath },
            { blocksize: storage.blocksize, content: "images,rootdir", sparse: storage.thinProvision ? "1" : undefined },
        );
    const c = site.cluster;
    const dc: string[] = [];
    const bw = Object.entries(c.bandwidthLimitMBps).filter(([, v]) => v !== undefined);
    if (bw.length)
        dc.push(
            `bwlimit: ${bw
                .map(([k, v]) => `${k}=${Math.round(v! * 1024)}`)
                .sort()
                .join(",")}`,
        );
    if (c.migrationNetwork) dc.push(`migration: network=${c.migrationNetwork},type=${c.migrationType}`);
    const replication = site.guests
        .flatMap((g) =>
            g.replicateTo.map((t, i) =>
                section(
                    "local",
                    `${g.vmid}-${i}`,
                    { target: t },
                    {
                        rate: site.replication.rateMBps !== undefined ? String(site.replication.rateMBps) : undefined,
                        schedule: site.replication.schedule,
                    },
                ),
            ),
        )
        .join("");
    const haResources = site.guests
        .filter((g) => g.ha)
        .map((g) =>
            section(
                "vm",
                String(g.vmid),
                {},
                {
                    failback: g.ha!.failback ? undefined : "0",
                    max_relocate: g.ha!.maxRelocate !== 1 ? String(g.ha!.maxRelocate) : undefined,
                    max_restart: g.ha!.maxRestart !== 1 ? String(g.ha!.maxRestart) : undefined,
                    state: g.ha!.state,
                },
            ),
        )
        .join("");
    const haRules =
        site.guests
            .filter((g) => g.ha)
            .map((g) =>
                section(
                    "node-affinity",
                    `ha-guest-${g.vmid}`,
                    {
                        nodes: Object.keys(g.ha!.nodes)
                            .sort()
                            .map((n) => `${n}:${g.ha!.nodes[n]}`)
                            .join(","),
                        resources: `vm:${g.vmid}`,
                    },
                    { strict: g.ha!.strict ? "1" : undefined },
                ),
            )
            .join("") +
        site.haRules
            .map((r) =>
                section(
                    "resource-affinity",
                    r.id,
                    {
                        affinity: r.affinity,
                        resources: r.guests
                            .map((v) => `vm:${v}`)
                            .sort()
                            .join(","),
                    },
                    {},
                    r.comment,
                ),
            )
            .join("");
    const vx = site.network.vxlan;
    const guestConfigs: Record<string, string> = {};
    for (const g of site.guests.filter((x) => x.type === "vm"))
        guestConfigs[`${g.node}/qemu-server/${g.vmid}.conf`] = qemuConfOf(site, g.vmid);
    const nodes: NodeRead[] = site.nodes.map((n) => {
        const address = opts.addresses?.[n.name] ?? n.address;
        return {
            name: n.name,
            address,
            port: opts.ports?.[n.name] ?? 22,
            hostKey: n.sshHostKey,
            interfaces: interfacesOf(site, n.name, address),
            haManagerDefault:
                n.watchdog === "softdog" ? "" : `# select watchdog module (default is softdog)\nWATCHDOG_MODULE=${n.watchdog}\n`,
            zpoolStatus: zpoolStatusOf(n.zfs.pool, n.zfs.layout, n.zfs.disks),
            ashift: `${n.zfs.ashift}\n`,
            compression: `${n.zfs.compression}\n`,
        };
    });
    return {
        corosyncConf: corosyncConfOf(site),
        storageCfg,
        replicationCfg: replication,
        haResourcesCfg: haResources,
        haRulesCfg: haRules,
        datacenterCfg: dc.map((l) => `${l}\n`).join(""),
        sdnZonesCfg: vx
            ? section(
                  "vxlan",
                  vx.zone,
                  { peers: site.nodes.map((n) => vx.peers[n.name]).join(",") },
                  {
                      ipam: "pve",
                      mtu: String(vx.mtu),
                      nodes: site.nodes
                          .map((n) => n.name)
                          .sort()
                          .join(","),
                  },
              )
            : "",
        sdnVnetsCfg: vx ? section("vnet", vx.vnet, { zone: vx.zone }, { tag: String(vx.tag) }) : "",
        guestConfigs,
        customCertificate: !site.apiInsecure,
        nodes,
        ...(site.qdevice
            ? {
                  qdevice: {
                      address: opts.qnetdAddress ?? site.qdevice.address,
                      port: opts.qnetdPort ?? 22,
                      hostKey: site.qdevice.sshHostKey,
                  },
              }
            : {}),
    };
}
