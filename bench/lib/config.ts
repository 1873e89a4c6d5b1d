/**
 * Stack config for the bench: raw config (key without project prefix → value)
 * to and from the text map Pulumi hands a program, with the secrets given as
 * the offline plan gives them (tools/plan.ts): sshPrivateKey and rootPassword
 * as placeholders, apiToken absent (so the bootstrap creates one, as on a
 * fresh reference site). And the scenario variants of the reference site.
 * Pure: no Pulumi, no files.
 */
import { PROJECT, type RawConfig } from "../../components/validate";

/** Placeholder values of the secrets the plan requires (never real secrets). */
export const PLACEHOLDER_SECRETS = {
    sshPrivateKey: "[secret]",
    rootPassword: "[secret]",
    // Verified TLS (stacks without apiInsecure) needs both; unused otherwise.
    apiCertificate: "[secret]",
    apiCertificateKey: "[secret]",
} as const;

export interface ProgramConfig {
    /** Full key → value text. */
    readonly config: Record<string, string>;
    /** Full keys that are secrets. */
    readonly secretKeys: string[];
}

/** Raw config of a stack's text map (values that are JSON are parsed, as components/config.ts does). */
export function rawFromConfig(config: Readonly<Record<string, string>>): Record<string, unknown> {
    const raw: Record<string, unknown> = {};
    for (const [full, text] of Object.entries(config)) {
        if (!full.startsWith(`${PROJECT}:`)) continue;
        let value: unknown = text;
        try {
            value = JSON.parse(text);
        } catch {
            // plain text value
        }
        raw[full.slice(PROJECT.length + 1)] = value;
    }
    return raw;
}

/** The text map for `evaluate`, with placeholder secrets. Secret keys in `raw` are refused. */
export function programConfig(raw: RawConfig): ProgramConfig {
    const config: Record<string, string> = {};
    for (const [k, v] of Object.entries(raw)) {
        if (k === "apiToken" || k in PLACEHOLDER_SECRETS) throw new Error(`bench config: raw config must not carry the secret ${k}`);
        config[`${PROJECT}:${k}`] = typeof v === "string" ? v : JSON.stringify(v);
    }
    const secretKeys: string[] = [];
    for (const [k, v] of Object.entries(PLACEHOLDER_SECRETS)) {
        config[`${PROJECT}:${k}`] = v;
        secretKeys.push(`${PROJECT}:${k}`);
    }
    return { config, secretKeys };
}

/** The raw config without the secrets a stack file may carry (`secure:` values). */
export function withoutSecrets(raw: RawConfig): Record<string, unknown> {
    const out: Record<string, unknown> = { ...raw };
    delete out.apiToken;
    delete out.rootPassword;
    delete out.sshPrivateKey;
    delete out.apiCertificate;
    delete out.apiCertificateKey;
    return out;
}

/** One more HA guest with replication, on the second node, shaped like the first guest. */
export function withExtraGuest(raw: RawConfig): { raw: Record<string, unknown>; vmid: number } {
    const guests = structuredClone((raw.guests ?? []) as Record<string, unknown>[]);
    const nodes = raw.nodes as { name: string }[];
    if (!guests[0] || !nodes?.[1]) throw new Error("withExtraGuest: the stack needs a guest and two nodes");
    const vmid = Math.max(...guests.map((g) => Number(g.vmid))) + 1;
    const extra: Record<string, unknown> = { ...structuredClone(guests[0]), vmid, name: `extra${vmid}`, node: nodes[1].name };
    delete extra.replicateTo;
    guests.push(extra);
    return { raw: { ...structuredClone(raw), guests }, vmid };
}

/**
 * One more node shaped like the last one, with the next addresses in each of
 * its networks (management, corosync links, VLAN addresses). When the new
 * node count is odd the QDevice is dropped: validation refuses a QDevice on
 * an odd node count ("Clusters with an odd node count are not officially
 * supported!", docs/proxmox-facts.md §3).
 */
export function withExtraNode(raw: RawConfig): { raw: Record<string, unknown>; name: string; droppedQdevice: boolean } {
    const out = structuredClone(raw) as Record<string, unknown>;
    const nodes = out.nodes as Record<string, unknown>[];
    const last = nodes[nodes.length - 1];
    if (!last) throw new Error("withExtraNode: the stack needs a node");
    const name = nextName(
        String(last.name),
        nodes.map((n) => String(n.name)),
    );
    const node: Record<string, unknown> = {
        ...structuredClone(last),
        name,
        address: nextAddress(String(last.address)),
        sshHostKey: `${String(last.sshHostKey)}A`.replace(/=+A$/, "A"),
    };
    if (Array.isArray(last.links)) {
        node.links = (last.links as unknown[]).map((l) =>
            typeof l === "string" ? nextAddress(l) : { ...(l as object), address: nextAddress(String((l as { address: string }).address)) },
        );
    }
    const zfs = structuredClone(last.zfs as { disks: string[] });
    zfs.disks = zfs.disks.map((d) => `${d}-${name}`);
    node.zfs = zfs;
    nodes.push(node);
    const network = out.network as { vlans?: { addresses?: Record<string, string>; nodes?: string[] }[] } | undefined;
    for (const v of network?.vlans ?? []) {
        const lastAddr = v.addresses?.[String(last.name)];
        if (lastAddr) v.addresses![name] = nextAddress(lastAddr);
        if (v.nodes) v.nodes.push(name);
    }
    const droppedQdevice = nodes.length % 2 === 1 && out.qdevice !== undefined;
    if (droppedQdevice) delete out.qdevice;
    return { raw: out, name, droppedQdevice };
}

/** `10.0.0.12` → `10.0.0.13`; `10.0.20.12/24` → `10.0.20.13/24`. */
export function nextAddress(addr: string): string {
    const [ip, prefix] = addr.split("/");
    const parts = ip!.split(".").map(Number);
    if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p))) throw new Error(`nextAddress: not an IPv4 address: ${addr}`);
    if (parts[3]! >= 254) throw new Error(`nextAddress: no next address after ${addr}`);
    parts[3]! += 1;
    return parts.join(".") + (prefix !== undefined ? `/${prefix}` : "");
}

/** `prox2` → `prox3` (first free number); a name without a trailing number gets `-2`, `-3`, …. */
export function nextName(last: string, taken: readonly string[]): string {
    const m = /^(.*?)(\d+)$/.exec(last);
    const stem = m ? m[1]! : `${last}-`;
    let i = m ? Number(m[2]) + 1 : 2;
    while (taken.includes(`${stem}${i}`)) i++;
    return `${stem}${i}`;
}
