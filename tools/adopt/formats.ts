/**
 * Pure readers of the files and command outputs a Proxmox VE node holds, in
 * the formats their writers produce (each parser names its source):
 *
 *   corosync.conf       pve-cluster src/PVE/Corosync.pm write_conf / parse_conf
 *   *.cfg sections      pve-common src/PVE/SectionConfig.pm write_config / parse_config
 *                       (storage.cfg: pve-storage src/PVE/Storage/Plugin.pm;
 *                       replication.cfg: pve-guest-common src/PVE/ReplicationConfig.pm;
 *                       ha/resources.cfg, ha/rules.cfg: pve-ha-manager src/PVE/HA/Resources.pm,
 *                       src/PVE/HA/Rules.pm; sdn/*.cfg: the same section format)
 *   qemu-server/N.conf  qemu-server src/PVE/QemuServer.pm parse_vm_config / write_vm_config
 *   datacenter.cfg      pve-cluster src/PVE/DataCenterConfig.pm (key: property-string)
 *   interfaces          pve-common src/PVE/INotify.pm (ifupdown2 stanzas)
 *   zpool status -P     OpenZFS cmd/zpool/zpool_main.c print_status_config,
 *                       lib/libzfs/libzfs_pool.c zpool_vdev_name
 *
 * Nothing here guesses: a shape the parser does not know is an error with the
 * line, which the CLI reports as "cannot read".
 */

export class FormatError extends Error {}

// ---------- corosync.conf -------------------------------------------------------------

export type CorosyncSection = { [key: string]: string | CorosyncSection | CorosyncSection[] };

/**
 * The nested `key: value` / `name {` … `}` format PVE::Corosync::write_conf
 * dumps (sorted keys, two-space indent, repeated `node` and `interface` blocks).
 * Blocks that repeat become arrays.
 */
export function parseCorosyncConf(text: string): CorosyncSection {
    const root: CorosyncSection = {};
    const stack: CorosyncSection[] = [root];
    for (const [i, raw] of text.split("\n").entries()) {
        const line = raw.replace(/#.*$/, "").trim();
        if (line === "") continue;
        const cur = stack[stack.length - 1]!;
        let m: RegExpExecArray | null;
        if ((m = /^([A-Za-z0-9_.-]+)\s*\{$/.exec(line))) {
            const child: CorosyncSection = {};
            const k = m[1]!;
            const prev = cur[k];
            if (prev === undefined) cur[k] = child;
            else if (Array.isArray(prev)) prev.push(child);
            else if (typeof prev === "object") cur[k] = [prev, child];
            else throw new FormatError(`corosync.conf line ${i + 1}: "${k}" is both a value and a block`);
            stack.push(child);
        } else if (line === "}") {
            if (stack.length === 1) throw new FormatError(`corosync.conf line ${i + 1}: unbalanced "}"`);
            stack.pop();
        } else if ((m = /^([A-Za-z0-9_.-]+)\s*:\s*(.*)$/.exec(line))) {
            cur[m[1]!] = m[2]!.trim();
        } else {
            throw new FormatError(`corosync.conf line ${i + 1} not understood: "${line}"`);
        }
    }
    if (stack.length !== 1) throw new FormatError("corosync.conf: a block is not closed");
    return root;
}

export interface CorosyncNode {
    readonly name: string;
    readonly nodeid: number;
    readonly votes: number;
    /** ring0_addr, ring1_addr, … by link number. */
    readonly links: Readonly<Record<number, string>>;
}

export interface CorosyncFacts {
    readonly clusterName: string;
    readonly nodes: readonly CorosyncNode[];
    /** knet_link_priority by link number (totem.interface blocks). */
    readonly linkPriorities: Readonly<Record<number, number>>;
    readonly qdevice?: { readonly host: string; readonly algorithm: string; readonly tieBreaker: string; readonly votes?: number };
}

const asBlocks = (v: unknown): CorosyncSection[] =>
    v === undefined ? [] : Array.isArray(v) ? v : typeof v === "object" ? [v as CorosyncSection] : [];
const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);

export function corosyncFacts(text: string): CorosyncFacts {
    const c = parseCorosyncConf(text);
    const totem = asBlocks(c.totem)[0];
    const clusterName = str(totem?.cluster_name);
    if (!clusterName) throw new FormatError("corosync.conf: no totem.cluster_name");
    const nodes: CorosyncNode[] = asBlocks(asBlocks(c.nodelist)[0]?.node).map((n) => {
        const links: Record<number, string> = {};
        for (const [k, v] of Object.entries(n)) {
            const m = /^ring(\d+)_addr$/.exec(k);
            if (m && typeof v === "string") links[Number(m[1])] = v;
        }
        const name = str(n.name);
        if (!name) throw new FormatError("corosync.conf: a nodelist.node has no name");
        return { name, nodeid: Number(str(n.nodeid) ?? NaN), votes: Number(str(n.quorum_votes) ?? 1), links };
    });
    if (nodes.length === 0) throw new FormatError("corosync.conf: no nodelist.node");
    const linkPriorities: Record<number, number> = {};
    for (const i of asBlocks(totem?.interface)) {
        const n = str(i.linknumber) ?? str(i.ringnumber);
        const p = str(i.knet_link_priority);
        if (n !== undefined && p !== undefined) linkPriorities[Number(n)] = Number(p);
    }
    const device = asBlocks(asBlocks(c.quorum)[0]?.device)[0];
    const net = asBlocks(device?.net)[0];
    const host = str(net?.host);
    return {
        clusterName,
        nodes: [...nodes].sort((a, b) => a.nodeid - b.nodeid),
        linkPriorities,
        ...(device && host
            ? {
                  qdevice: {
                      host,
                      algorithm: str(net?.algorithm) ?? "ffsplit",
                      tieBreaker: str(net?.tie_breaker) ?? "lowest",
                      ...(str(device.votes) !== undefined ? { votes: Number(str(device.votes)) } : {}),
                  },
              }
            : {}),
    };
}

// ---------- SectionConfig files ----------------------------------------------------------

export interface Section {
    readonly type: string;
    readonly id: string;
    /** Property → value; a repeated key (array properties) keeps every value, in order. */
    readonly props: Readonly<Record<string, string>>;
    readonly repeated: Readonly<Record<string, readonly string[]>>;
}

/**
 * PVE::SectionConfig's format: a header `type: id`, then property lines
 * indented by a tab (`\tkey value`, a boolean `\tkey 1`, a bare `\tdisable`),
 * sections separated by blank lines (write_config); parse_config reads
 * `^(\S+):\s*(\S+)\s*$` headers and `^\s+(\S+)(\s+(.*\S))?\s*$` properties.
 */
export function parseSectionConfig(text: string, file: string): Section[] {
    const out: Section[] = [];
    let cur: { type: string; id: string; props: Record<string, string>; repeated: Record<string, string[]> } | undefined;
    for (const [i, line] of text.split("\n").entries()) {
        if (/^\s*(#.*)?$/.test(line)) {
            if (line.trim() === "") cur = undefined;
            continue;
        }
        let m: RegExpExecArray | null;
        if ((m = /^(\S+):\s*(\S+)\s*$/.exec(line))) {
            cur = { type: m[1]!.toLowerCase(), id: m[2]!, props: {}, repeated: {} };
            out.push(cur);
        } else if (cur && (m = /^\s+(\S+)(\s+(.*\S))?\s*$/.exec(line))) {
            const k = m[1]!;
            const v = m[3] ?? "1";
            (cur.repeated[k] ??= []).push(v);
            cur.props[k] = v;
        } else {
            throw new FormatError(`${file} line ${i + 1} not understood: "${line}"`);
        }
    }
    return out;
}

/** `a=1,b=2,default` (PVE::JSONSchema property strings); a value without `=` goes to `defaultKey`. */
export function parsePropertyString(text: string, defaultKey?: string): Record<string, string> {
    const out: Record<string, string> = {};
    for (const part of text.split(",")) {
        if (part === "") continue;
        const eq = part.indexOf("=");
        if (eq < 0) {
            if (!defaultKey) throw new FormatError(`property string "${text}": "${part}" has no key`);
            out[defaultKey] = part;
        } else {
            out[part.slice(0, eq)] = part.slice(eq + 1);
        }
    }
    return out;
}

// ---------- qemu-server and datacenter.cfg (key: value) -------------------------------------

export interface GuestConfig {
    /** The current configuration: `key: value` lines before the first `[section]`. */
    readonly main: Readonly<Record<string, string>>;
    /** Section names after the main part: snapshots, PENDING, special:… */
    readonly sections: readonly string[];
}

/**
 * A guest config as PVE::QemuServer::parse_vm_config reads it: `#` lines are
 * the description, `key: value` lines the current config, a `[name]` line
 * starts a snapshot, `[PENDING]` or `[special:…]` section.
 */
export function parseGuestConfig(text: string, file: string): GuestConfig {
    const main: Record<string, string> = {};
    const sections: string[] = [];
    let inMain = true;
    for (const [i, line] of text.split("\n").entries()) {
        if (/^\s*$/.test(line)) continue;
        let m: RegExpExecArray | null;
        if ((m = /^\[([^\]]+)\]\s*$/.exec(line))) {
            inMain = false;
            sections.push(m[1]!);
        } else if (/^#/.test(line)) {
            if (inMain) main.description = `${main.description ? `${main.description}\n` : ""}${line.slice(1)}`;
        } else if ((m = /^([a-z][a-z0-9_-]*):\s*(.*?)\s*$/.exec(line))) {
            if (inMain) main[m[1]!] = m[2]!;
        } else {
            throw new FormatError(`${file} line ${i + 1} not understood: "${line}"`);
        }
    }
    return { main, sections };
}

/** datacenter.cfg: `key: value` lines (PVE::DataCenterConfig parse_datacenter_config). */
export function parseKeyValue(text: string, file: string): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [i, line] of text.split("\n").entries()) {
        if (/^\s*(#.*)?$/.test(line)) continue;
        const m = /^([a-z][a-z0-9_-]*):\s*(.*?)\s*$/.exec(line);
        if (!m) throw new FormatError(`${file} line ${i + 1} not understood: "${line}"`);
        out[m[1]!] = m[2]!;
    }
    return out;
}

// ---------- /etc/network/interfaces ---------------------------------------------------------

export interface Iface {
    readonly name: string;
    readonly method: string;
    readonly auto: boolean;
    /** Option lines (`address`, `bridge-ports`, `mtu`, `vlan-raw-device`, …), first value per key. */
    readonly options: Readonly<Record<string, string>>;
    /** `#` lines directly below the iface line (PVE writes the GUI comment there). */
    readonly comment?: string;
}

/** ifupdown stanzas as PVE::INotify read_etc_network_interfaces reads them (auto/allow-hotplug, iface, options). */
export function parseInterfaces(text: string): Iface[] {
    const autos = new Set<string>();
    const ifaces: { name: string; method: string; options: Record<string, string>; comment?: string }[] = [];
    let cur: (typeof ifaces)[number] | undefined;
    let sawOption = false;
    for (const raw of text.split("\n")) {
        const line = raw.trim();
        if (line === "") continue;
        let m: RegExpExecArray | null;
        if ((m = /^(auto|allow-hotplug|allow-auto)\s+(.*)$/.exec(line))) {
            for (const n of m[2]!.split(/\s+/)) autos.add(n);
            cur = undefined;
        } else if ((m = /^iface\s+(\S+)\s+(inet6?)\s+(\S+)/.exec(line))) {
            const existing = ifaces.find((i) => i.name === m![1]);
            cur = existing ?? { name: m[1]!, method: m[3]!, options: {} };
            if (!existing) ifaces.push(cur);
            sawOption = false;
        } else if (/^(source|source-directory|mapping)\b/.test(line)) {
            cur = undefined;
        } else if (cur && line.startsWith("#")) {
            if (!sawOption) cur.comment = `${cur.comment ? `${cur.comment}\n` : ""}${line.slice(1)}`;
        } else if (cur && (m = /^(\S+)\s*(.*)$/.exec(line))) {
            sawOption = true;
            if (!(m[1]! in cur.options)) cur.options[m[1]!] = m[2]!;
        }
    }
    return ifaces.map((i) => ({ ...i, auto: autos.has(i.name) }));
}

// ---------- zpool status -P ------------------------------------------------------------------

export interface PoolLayout {
    readonly name: string;
    /** Top-level data vdevs: a group (mirror-0, raidz1-0, …) with its leaves, or a single leaf. */
    readonly vdevs: readonly { readonly type: string; readonly leaves: readonly string[] }[];
    /** Leaves below logs, cache, spares, special or dedup (not expressible in the stack). */
    readonly auxiliary: readonly string[];
}

/**
 * The `config:` table of `zpool status -P POOL`: a header `NAME STATE READ
 * WRITE CKSUM`, the pool, then vdevs indented two spaces per level
 * (print_status_config). With -P leaves are full paths; a whole-disk vdev
 * keeps its partition suffix there (zpool_vdev_name strips it only without
 * VDEV_NAME_PATH).
 */
export function parseZpoolStatus(text: string, pool: string): PoolLayout {
    const lines = text.split("\n");
    const header = lines.findIndex((l) => /^\s*NAME\s+STATE\s+READ\s+WRITE\s+CKSUM\s*$/.test(l));
    if (header < 0) throw new FormatError(`zpool status ${pool}: no config table`);
    const rows: { depth: number; name: string }[] = [];
    for (const l of lines.slice(header + 1)) {
        if (l.trim() === "") break;
        const m = /^\t( *)(\S+)/.exec(l);
        if (!m) throw new FormatError(`zpool status ${pool}: line not understood: "${l}"`);
        rows.push({ depth: m[1]!.length / 2, name: m[2]! });
    }
    if (rows[0]?.name !== pool || rows[0].depth !== 0) throw new FormatError(`zpool status: the config table is not pool ${pool}'s`);
    const vdevs: { type: string; leaves: string[] }[] = [];
    const auxiliary: string[] = [];
    let aux = false;
    for (const r of rows.slice(1)) {
        if (r.depth === 0) {
            aux = ["logs", "cache", "spares", "special", "dedup"].includes(r.name);
            continue;
        }
        if (aux) {
            if (r.name.startsWith("/")) auxiliary.push(r.name);
            continue;
        }
        if (r.depth === 1) {
            const g = /^(mirror|raidz[123]?|draid[123]?[^-]*)-\d+$/.exec(r.name);
            vdevs.push(g ? { type: g[1] === "raidz" ? "raidz1" : g[1]!, leaves: [] } : { type: "disk", leaves: [r.name] });
        } else if (vdevs.length) {
            vdevs[vdevs.length - 1]!.leaves.push(r.name);
        }
    }
    return { name: pool, vdevs, auxiliary };
}
