/**
 * Validation of a whole site: each top-level key through its zod schema, then
 * the cross-field rules that keep a site safe (numbered as in issue #2). All
 * problems are collected and reported together; a site with any error is never
 * built.
 */
import { z } from "zod";
import { buildGuest, checkGuests, resolveGuestDisks } from "./guestRules";
import type { Bridge, Cluster, Guest, HaRule, QDevice, Replication, Site, SiteNode, Storage, Vlan, Vxlan, Zrepl } from "./model";
import { MIN_DISKS, REQUIRED_SECTIONS, SECRET_KEYS, SECTIONS, type ParsedSections, type SectionName } from "./schema";
import { derivedJobNumber } from "./model";
import { stackAccess } from "./access";
import { analyseSchedule, formatMinutes, parseDuration, ScheduleError } from "./schedule";
import { haRuleProblems, resolveHaNodes } from "./haplan";

export const PROJECT = "proxmox-ha";

export interface Problem {
    /** Config key path, e.g. `proxmox-ha:nodes[1].zfs.pool`. */
    readonly path: string;
    readonly message: string;
}

export class SiteValidationError extends Error {
    constructor(readonly problems: readonly Problem[]) {
        super(
            `The stack configuration has ${problems.length} problem${problems.length === 1 ? "" : "s"}; nothing was applied:\n` +
                problems.map((p) => `  - ${p.path}: ${p.message}`).join("\n"),
        );
        this.name = "SiteValidationError";
    }
}

/** Formats a zod/our path as `proxmox-ha:nodes[1].zfs.pool`. */
export function keyPath(section: string, path: readonly PropertyKey[] = []): string {
    let out = `${PROJECT}:${section}`;
    for (const p of path) out += typeof p === "number" ? `[${p}]` : `.${String(p)}`;
    return out;
}

/** Raw config as read from the stack: key (without project prefix) → parsed JSON/YAML value. */
export type RawConfig = Readonly<Record<string, unknown>>;

/**
 * Turns config as Pulumi hands it over (full key → text, structured values as
 * JSON text) into raw values by key without the project prefix, and the set of
 * keys that are secrets. Secret keys stay text: they are never parsed.
 */
export function rawFromConfig(
    all: Readonly<Record<string, string>>,
    isSecret: (fullKey: string) => boolean,
): { raw: RawConfig; secretKeys: Set<string> } {
    const raw: Record<string, unknown> = {};
    const secretKeys = new Set<string>();
    for (const [fullKey, text] of Object.entries(all)) {
        if (!fullKey.startsWith(`${PROJECT}:`)) continue;
        const key = fullKey.slice(PROJECT.length + 1);
        if (isSecret(fullKey)) secretKeys.add(key);
        raw[key] = (SECRET_KEYS as readonly string[]).includes(key) ? text : parseValue(text);
    }
    return { raw, secretKeys };
}

function parseValue(text: string): unknown {
    try {
        return JSON.parse(text);
    } catch {
        return text;
    }
}

export interface ValidationResult {
    readonly site?: Site;
    readonly problems: readonly Problem[];
}

const ALL_KEYS = new Set<string>([...Object.keys(SECTIONS), ...SECRET_KEYS]);

function closest(key: string): string | undefined {
    let best: string | undefined;
    let bestD = 3;
    for (const k of ALL_KEYS) {
        const d = editDistance(key.toLowerCase(), k.toLowerCase());
        if (d < bestD) {
            bestD = d;
            best = k;
        }
    }
    return best;
}

function editDistance(a: string, b: string): number {
    const dp = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
    for (let j = 1; j <= b.length; j++) dp[0]![j] = j;
    for (let i = 1; i <= a.length; i++) {
        for (let j = 1; j <= b.length; j++) {
            dp[i]![j] = Math.min(dp[i - 1]![j]! + 1, dp[i]![j - 1]! + 1, dp[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
        }
    }
    return dp[a.length]![b.length]!;
}

/**
 * Validates raw config. `secretKeys` are the keys the stack stores encrypted;
 * a secret key present in plain text is an error.
 */
export function validateSite(raw: RawConfig, secretKeys: ReadonlySet<string> = new Set()): ValidationResult {
    const problems: Problem[] = [];
    const warnings: string[] = [];
    const err = (path: string, message: string) => problems.push({ path, message });

    for (const key of Object.keys(raw)) {
        if (!ALL_KEYS.has(key)) {
            const hint = closest(key);
            err(keyPath(key), `unknown key${hint ? `; did you mean proxmox-ha:${hint}?` : ""} (known keys: ${[...ALL_KEYS].join(", ")})`);
        }
    }
    for (const key of SECRET_KEYS) {
        if (raw[key] !== undefined && !secretKeys.has(key)) {
            err(keyPath(key), `is stored in plain text; remove it and store it encrypted with \`pulumi config set --secret ${key}\``);
        }
    }

    // 1. Each section on its own.
    const parsed: Partial<ParsedSections> = {};
    // Sections that failed their schema: rules that read them stay silent (one cause, one message).
    const failed = new Set<SectionName>();
    for (const name of Object.keys(SECTIONS) as SectionName[]) {
        const value = raw[name];
        if (value === undefined && REQUIRED_SECTIONS.includes(name)) {
            err(keyPath(name), `is required; add \`${PROJECT}:${name}:\` to the stack file (see README, "Stack file reference")`);
            failed.add(name);
            continue;
        }
        const res = (SECTIONS[name] as z.ZodType).safeParse(value, { reportInput: true });
        if (res.success) {
            (parsed as Record<string, unknown>)[name] = res.data;
        } else {
            failed.add(name);
            for (const issue of res.error.issues) err(keyPath(name, issue.path), describeIssue(issue));
        }
    }

    // 2. Cross-field rules over whatever parsed.
    const ctx = new Rules(parsed, err, warnings, failed);
    ctx.run();

    if (problems.length > 0) return { problems };
    return { site: ctx.build(warnings), problems };
}

/**
 * One message per zod issue. Needs issues parsed with `reportInput: true`: a
 * missing key ("is required") is told apart from a value of the wrong type,
 * which names the expected type and the value given.
 */
export function describeIssue(issue: z.core.$ZodIssue): string {
    if (issue.code === "unrecognized_keys") {
        return `unknown key${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => `'${k}'`).join(", ")}; remove or correct ${issue.keys.length > 1 ? "them" : "it"}`;
    }
    const missing = !("input" in issue) || issue.input === undefined;
    if (missing && (issue.code === "invalid_type" || issue.code === "invalid_union" || issue.code === "invalid_value"))
        return "is required";
    if (issue.code === "invalid_type") {
        const expected = isZodDefault(issue.message) ? `must be ${EXPECTED[issue.expected] ?? `a ${issue.expected}`}` : issue.message;
        return `${expected}, not ${describeValue(issue.input)}${quoteHint(issue.expected, issue.input)}`;
    }
    if (issue.code === "invalid_union" && typeRefused(issue)) {
        // Every alternative refused the value's type: name the value too.
        return `${issue.message}, not ${describeValue(issue.input)}`;
    }
    return issue.message;
}

/** True when every alternative of a union refused the value for its type (not for its content). */
function typeRefused(issue: z.core.$ZodIssue): boolean {
    if (issue.code !== "invalid_union") return false;
    const refused = (i: z.core.$ZodIssue): boolean => i.path.length === 0 && (i.code === "invalid_type" || typeRefused(i));
    return issue.errors.every((branch) => branch.some(refused));
}

const EXPECTED: Record<string, string> = {
    int: "a whole number",
    number: "a number",
    string: "text",
    boolean: "true or false",
    object: "a mapping of keys to values",
    array: "a list",
    record: "a mapping of keys to values",
};

function isZodDefault(message: string): boolean {
    return message.startsWith("Invalid input");
}

/** The value an operator wrote, as they would recognise it in the stack file. */
export function describeValue(v: unknown): string {
    if (v === null) return "an empty value (null)";
    if (typeof v === "string") return `the text ${clip(JSON.stringify(v))}`;
    if (typeof v === "number") return Number.isInteger(v) ? String(v) : `${v} (a fraction)`;
    if (typeof v === "boolean") return String(v);
    if (Array.isArray(v)) return `a list ${clip(JSON.stringify(v))}`;
    if (typeof v === "object") return `a mapping ${clip(JSON.stringify(v))}`;
    return String(v);
}

function clip(text: string): string {
    return text.length > 60 ? `${text.slice(0, 57)}…` : text;
}

/** A number or boolean written in quotes is the classic slip: say how to write it. */
function quoteHint(expected: string, input: unknown): string {
    if (typeof input !== "string") return "";
    if ((expected === "int" || expected === "number") && input.trim() !== "" && Number.isFinite(Number(input)))
        return `; write ${input.trim()} without quotes`;
    if (expected === "boolean" && (input === "true" || input === "false")) return `; write ${input} without quotes`;
    return "";
}

const stableDisk = /^\/dev\/(sd[a-z]+|vd[a-z]+|hd[a-z]+|xvd[a-z]+|nvme\d+n\d+)$/;
/**
 * The whole disk a partition path belongs to, or undefined for a whole disk:
 * kernel names (sda1, nvme0n1p1) and the udev links' -partN suffix.
 */
function partitionOf(d: string): string | undefined {
    const m =
        /^(\/dev\/(?:sd[a-z]+|vd[a-z]+|hd[a-z]+|xvd[a-z]+))\d+$/.exec(d) ??
        /^(\/dev\/nvme\d+n\d+)p\d+$/.exec(d) ??
        /^(\/dev\/disk\/.+)-part\d+$/.exec(d);
    return m?.[1];
}

class Rules {
    constructor(
        private readonly p: Partial<ParsedSections>,
        private readonly err: (path: string, message: string) => void,
        private readonly warnings: string[],
        private readonly failed: ReadonlySet<SectionName> = new Set(),
    ) {}

    private get nodeNames(): Set<string> {
        return new Set((this.p.nodes ?? []).map((n) => n.name));
    }

    run(): void {
        this.nodes();
        this.quorum();
        this.storage();
        this.guests();
        this.replication();
        this.network();
        this.haRules();
        this.firewall();
        this.zrepl();
        this.apiNode();
    }

    /** apiNode names a node (issue #11 point 5); apiInsecure is said out loud (point 3). */
    private apiNode(): void {
        if (this.p.apiInsecure === true) {
            this.warnings.push(
                `${keyPath("apiInsecure")}: true: the Proxmox API's TLS certificate is not verified, so anyone on the path to the API can read the API token; supply apiCertificate and apiCertificateKey and set apiInsecure: false (README, "TLS for the API")`,
            );
        }
        const wanted = this.p.apiNode;
        if (wanted === undefined || !this.p.nodes) return;
        if (!this.nodeNames.has(wanted))
            this.err(
                keyPath("apiNode"),
                `"${wanted}" is not a node of this site; use one of ${[...this.nodeNames].join(", ")} or remove the key`,
            );
    }

    /** Rules 1, 4, 5: names, addresses, links, disks. */
    private nodes(): void {
        const nodes = this.p.nodes;
        if (!nodes) return;
        const names = new Map<string, number>();
        const addrs = new Map<string, string>();
        const linkAddrs = new Map<string, string>();
        const linkCount = (n: (typeof nodes)[number]) => (n.links ?? [n.address]).length;
        nodes.forEach((n, i) => {
            const at = (...path: PropertyKey[]) => keyPath("nodes", [i, ...path]);
            if (n.name === "qnetd")
                this.err(at("name"), `"qnetd" is reserved for the QDevice host's steps; give the node its real host name`);
            if (names.has(n.name))
                this.err(at("name"), `"${n.name}" is already the name of nodes[${names.get(n.name)}]; node names must be unique`);
            else names.set(n.name, i);
            const seen = addrs.get(n.address);
            if (seen) this.err(at("address"), `${n.address} is already the address of ${seen}; node addresses must be unique`);
            else addrs.set(n.address, n.name);
            if (linkCount(n) !== linkCount(nodes[0]!)) {
                this.err(
                    at("links"),
                    `has ${linkCount(n)} corosync link(s) but ${nodes[0]!.name} has ${linkCount(nodes[0]!)}; every node needs the same links (pvecm add refuses "link N exists in cluster config but wasn't specified for new node")`,
                );
            }
            (n.links ?? []).forEach((l, j) => {
                const owner = linkAddrs.get(l.address);
                if (owner) this.err(at("links", j), `${l.address} is already used by ${owner}; corosync link addresses must be unique`);
                else linkAddrs.set(l.address, `${n.name} link${j}`);
            });
            // Rule 4: disks.
            const z = n.zfs;
            const min = MIN_DISKS[z.layout];
            if (z.disks.length < min) {
                this.err(
                    at("zfs", "disks"),
                    `a ${z.layout} needs at least ${min} disks, ${z.disks.length} given; add disks or choose another layout`,
                );
            }
            if (z.layout === "raid10" && z.disks.length % 2 !== 0) {
                this.err(at("zfs", "disks"), `raid10 needs an even number of disks, ${z.disks.length} given`);
            }
            const seenDisk = new Map<string, number>();
            z.disks.forEach((d, j) => {
                if (seenDisk.has(d))
                    this.err(at("zfs", "disks", j), `${d} is listed twice (also disks[${seenDisk.get(d)}]); each disk once`);
                else seenDisk.set(d, j);
                const whole = partitionOf(d);
                if (whole) {
                    this.err(at("zfs", "disks", j), `${d} is a partition; the pool takes whole, empty disks: list ${whole} instead`);
                } else if (stableDisk.test(d)) {
                    this.warnings.push(
                        `${at("zfs", "disks", j)}: ${d} is a kernel name that can change across reboots; prefer /dev/disk/by-id/…`,
                    );
                }
            });
        });
    }

    /** Rule 2: votes. */
    private quorum(): void {
        const nodes = this.p.nodes;
        if (!nodes) return;
        // A qdevice or guests section that did not parse already has its message.
        if (this.failed.has("qdevice") || this.failed.has("guests")) return;
        const q = this.p.qdevice;
        const anyHa = (this.p.guests ?? []).some((g) => g.ha !== undefined);
        if (nodes.length === 2 && !q && anyHa) {
            this.err(
                keyPath("qdevice"),
                "is required: a two-node cluster with HA guests loses quorum when either node fails, and HA then fences the survivor. Add qdevice: { address, sshHostKey } for a corosync-qnetd host",
            );
        } else if (nodes.length === 2 && !q) {
            this.warnings.push(`${keyPath("qdevice")}: a two-node cluster without a QDevice stops (no quorum) when either node fails`);
        }
        if (q && nodes.length % 2 === 1) {
            this.err(
                keyPath("qdevice"),
                `a QDevice on a cluster with an odd node count (${nodes.length}) is refused (pvecm: "Clusters with an odd node count are not officially supported!"); remove qdevice or add a node`,
            );
        }
        if (q && q.sshPort !== 22) {
            this.warnings.push(
                `${keyPath("qdevice", ["sshPort"])}: pvecm qdevice setup reaches the qnetd host on port 22 whatever this says (its ssh-copy-id and scp take no port); port ${q.sshPort} serves proxmox-ha's own steps and the health check, so port 22 must also be open from ${nodes[0]!.name}`,
            );
        }
        if (q) {
            const clash = nodes.find((n) => n.address === q.address || (n.links ?? []).some((l) => l.address === q.address));
            if (clash)
                this.err(keyPath("qdevice", ["address"]), `${q.address} belongs to node ${clash.name}; the QDevice must be a third host`);
            else if (!this.failed.has("network")) {
                // A node's VLAN or bridge address is that node too: the failure table would promise
                // that the site survives the loss of a node that takes its QDevice with it.
                const net = this.p.network;
                const owned = [
                    ...(net?.vlans ?? []).map((v, i) => ({ addresses: v.addresses, where: `network.vlans[${i}] (VLAN ${v.tag})` })),
                    ...(net?.bridges ?? []).map((b, i) => ({ addresses: b.addresses, where: `network.bridges[${i}] (${b.name})` })),
                ];
                for (const o of owned) {
                    const node = Object.entries(o.addresses).find(([, a]) => a.split("/")[0] === q.address)?.[0];
                    if (node) {
                        this.err(
                            keyPath("qdevice", ["address"]),
                            `${q.address} is node ${node}'s address in ${o.where}; the QDevice must be a third host`,
                        );
                        break;
                    }
                }
            }
        }
    }

    /** Rule 3: the replicated pool has one name everywhere, and storage points at it. */
    private storage(): void {
        const s = this.p.storage;
        const nodes = this.p.nodes;
        if (!s || !nodes) return;
        nodes.forEach((n, i) => {
            if (n.zfs.pool !== s.pool) {
                this.err(
                    keyPath("nodes", [i, "zfs", "pool"]),
                    `is "${n.zfs.pool}" but storage.pool is "${s.pool}"; replication needs the same pool on every node ("storage not available on target node"): write pool: ${s.pool}`,
                );
            }
        });
    }

    /** Rules 6 and 7. */
    private guests(): void {
        const guests = this.p.guests;
        const nodes = this.p.nodes;
        if (!guests || !nodes) return;
        const names = this.nodeNames;
        const storageId = this.p.storage?.id;
        // Issue #15: types, sources, media, cloud-init, passthrough; vmids across VMs and containers.
        checkGuests(
            guests,
            [...names],
            storageId,
            (i) =>
                (...path) =>
                    keyPath("guests", [i, ...path]),
            this.err,
            (w) => this.warnings.push(w),
        );
        guests.forEach((g, i) => {
            const at = (...path: PropertyKey[]) => keyPath("guests", [i, ...path]);
            const disksKey = g.type === "ct" ? "rootfs" : "disks";
            const disks = resolveGuestDisks(g, storageId ?? "");
            if (!names.has(g.node)) this.err(at("node"), `"${g.node}" is not a node of this site (nodes: ${[...names].join(", ")})`);
            (g.replicateTo ?? []).forEach((t, j) => {
                if (!names.has(t)) this.err(at("replicateTo", j), `"${t}" is not a node of this site (nodes: ${[...names].join(", ")})`);
                else if (t === g.node) this.err(at("replicateTo", j), `"${t}" is the guest's home node; list only the other nodes`);
            });
            const replicateTo = g.replicateTo ?? [...names].filter((n) => n !== g.node);
            if (new Set(replicateTo).size !== replicateTo.length) this.err(at("replicateTo"), "lists a node twice");
            const jobIds = new Map<string, string>();
            for (const [target, id] of Object.entries(g.replicationJobIds ?? {})) {
                if (!replicateTo.includes(target)) {
                    this.err(
                        at("replicationJobIds", target),
                        `"${target}" does not receive replicas of guest ${g.vmid} (replicateTo: ${replicateTo.join(", ") || "none"}); remove this id or add ${target} to replicateTo`,
                    );
                }
                if (!id.startsWith(`${g.vmid}-`)) {
                    this.err(
                        at("replicationJobIds", target),
                        `"${id}" is not a job of guest ${g.vmid}; Proxmox job ids start with the vmid, e.g. ${g.vmid}-0`,
                    );
                }
            }
            for (const target of replicateTo) {
                const id = g.replicationJobIds?.[target] ?? `${g.vmid}-${derivedJobNumber(g.node, target)}`;
                const other = jobIds.get(id);
                if (other !== undefined) {
                    this.err(
                        at("replicationJobIds"),
                        `jobs to ${other} and ${target} would both be ${id}; Proxmox needs one id per job: pin another id for ${target}, e.g. ${target}: ${g.vmid}-${Math.max(...[...jobIds.keys()].map((k) => Number(k.split("-")[1])), 0) + 1}`,
                    );
                }
                jobIds.set(id, target);
            }
            const slots = new Set<string>();
            disks.forEach((d, j) => {
                if (slots.has(d.slot)) this.err(at("disks", j, "slot"), `${d.slot} is used twice`);
                slots.add(d.slot);
            });
            if (replicateTo.length > 0 && storageId && !disks.some((d) => d.storage === storageId)) {
                this.err(
                    at(disksKey),
                    `no ${g.type === "ct" ? "root file system" : "disk"} on the replicated storage "${storageId}"; pvesr would fail with "No replicatable volumes found". Put ${g.type === "ct" ? "rootfs" : "a disk"} on ${storageId} or set replicateTo: []`,
                );
            }
            if (g.ha?.nodes) {
                for (const n of Object.keys(g.ha.nodes)) {
                    if (!names.has(n)) this.err(at("ha", "nodes", n), `"${n}" is not a node of this site`);
                }
            }
            // Rule 7: HA may only start the guest where its disks are replicated.
            if (g.ha) {
                const allowed = g.ha.strict && g.ha.nodes ? Object.keys(g.ha.nodes) : [...names];
                const missing = allowed.filter((n) => n !== g.node && names.has(n) && !replicateTo.includes(n));
                if (missing.length > 0) {
                    this.err(
                        at("replicateTo"),
                        `HA may start guest ${g.vmid} on ${missing.join(", ")} but its disks are not replicated there (failover would find no disk); add ${missing.join(", ")} to replicateTo${g.ha.strict ? "" : ", or make ha.nodes strict"}`,
                    );
                }
                if (g.ha.strict && g.ha.nodes && !(g.node in g.ha.nodes)) {
                    this.err(at("ha", "nodes"), `strict node affinity must include the home node ${g.node}`);
                }
            }
            g.nics.forEach((nic, j) => {
                if (this.failed.has("network")) return;
                if (nic.bridge) {
                    const bi = (this.p.network?.bridges ?? []).findIndex((b) => b.name === nic.bridge);
                    const known = bi >= 0 || nic.bridge === "vmbr0";
                    if (!known) this.err(at("nics", j, "bridge"), `${nic.bridge} is neither vmbr0 nor a bridge in network.bridges`);
                    // vmbr0 is the installer's bridge on every node, whichever nodes the stack manages it on.
                    const on = bi >= 0 && nic.bridge !== "vmbr0" ? this.p.network!.bridges[bi]!.nodes : undefined;
                    if (on) {
                        // The guest runs on its home node, and wherever HA may start it.
                        const runsOn = g.ha ? (g.ha.strict && g.ha.nodes ? Object.keys(g.ha.nodes) : [...names]) : [g.node];
                        const lacking = [g.node, ...runsOn.filter((n) => n !== g.node)].filter((n) => names.has(n) && !on.includes(n));
                        if (lacking.length > 0) {
                            this.err(
                                at("nics", j, "bridge"),
                                `${nic.bridge} exists only on ${on.join(", ")} (network.bridges[${bi}].nodes) but guest ${g.vmid} ${lacking.includes(g.node) ? "lives" : "may be started by HA"} on ${lacking.join(", ")}; add ${lacking.join(", ")} to the bridge's nodes${g.ha && !g.ha.strict ? " or keep the guest there with strict ha.nodes" : ""}`,
                            );
                        }
                    }
                }
                if (nic.vnet && nic.vnet !== this.p.network?.vxlan?.vnet) {
                    this.err(at("nics", j, "vnet"), `${nic.vnet} is not the site's vnet (network.vxlan.vnet)`);
                }
                const vx = this.p.network?.vxlan;
                if (nic.vnet && vx && nic.mtu !== undefined && nic.mtu > vx.mtu) {
                    this.err(at("nics", j, "mtu"), `${nic.mtu} exceeds the VXLAN zone MTU ${vx.mtu}; write mtu: ${vx.mtu} or less`);
                }
            });
        });
    }

    /** Rule 8. */
    private replication(): void {
        const r = this.p.replication;
        if (!r) return;
        try {
            const info = analyseSchedule(r.schedule);
            if (info.worstCaseGapMinutes > 7 * 1440) {
                this.err(
                    keyPath("replication", ["schedule"]),
                    `"${r.schedule}" leaves up to ${formatMinutes(info.worstCaseGapMinutes)} between runs; pvesr intervals range from 1 minute to 1 week`,
                );
            }
            if (r.rpoTarget) {
                const target = parseDuration(r.rpoTarget)! / 60;
                if (info.worstCaseGapMinutes > target) {
                    this.err(
                        keyPath("replication", ["schedule"]),
                        `"${r.schedule}" allows a worst-case RPO of ${formatMinutes(info.worstCaseGapMinutes)}, above replication.rpoTarget ${r.rpoTarget}; use a schedule such as */${Math.max(1, Math.floor(target))}`,
                    );
                }
            }
        } catch (e) {
            if (!(e instanceof ScheduleError)) throw e;
            this.err(
                keyPath("replication", ["schedule"]),
                `"${r.schedule}" is not a Proxmox calendar event (${e.message}); write e.g. */5, */15, */2:00 or "*-*-* 02:00"`,
            );
        }
    }

    /** Rule 9. */
    private network(): void {
        const net = this.p.network;
        const nodes = this.p.nodes;
        if (!net || !nodes) return;
        const names = this.nodeNames;
        const checkNodeRefs = (
            section: "vlans" | "bridges",
            i: number,
            list: readonly string[] | undefined,
            addresses: Record<string, string>,
        ) => {
            (list ?? []).forEach((n, j) => {
                if (!names.has(n)) this.err(keyPath("network", [section, i, "nodes", j]), `"${n}" is not a node of this site`);
            });
            for (const n of Object.keys(addresses)) {
                if (!names.has(n)) this.err(keyPath("network", [section, i, "addresses", n]), `"${n}" is not a node of this site`);
            }
        };
        const tagsPerNode = new Map<string, Map<number, number>>();
        net.vlans.forEach((v, i) => {
            checkNodeRefs("vlans", i, v.nodes, v.addresses);
            for (const n of v.nodes ?? names) {
                const m = tagsPerNode.get(n) ?? new Map<number, number>();
                if (m.has(v.tag)) {
                    this.err(
                        keyPath("network", ["vlans", i, "tag"]),
                        `VLAN ${v.tag} is defined twice on node ${n} (also vlans[${m.get(v.tag)}])`,
                    );
                }
                m.set(v.tag, i);
                tagsPerNode.set(n, m);
            }
        });
        const bridgeNames = new Set<string>();
        net.bridges.forEach((b, i) => {
            checkNodeRefs("bridges", i, b.nodes, b.addresses);
            if (bridgeNames.has(b.name)) this.err(keyPath("network", ["bridges", i, "name"]), `${b.name} is defined twice`);
            bridgeNames.add(b.name);
            for (const [n, cidrAddr] of Object.entries(b.addresses)) {
                const node = nodes.find((x) => x.name === n);
                if (node && cidrAddr.split("/")[0] === node.address && !b.managesManagementAddress) {
                    this.err(
                        keyPath("network", ["bridges", i, "addresses", n]),
                        `${cidrAddr} is ${n}'s management address: changing this bridge can cut Pulumi off the node. Leave vmbr0 to the installer, or set managesManagementAddress: true if you really mean it`,
                    );
                }
            }
        });
        const vx = net.vxlan;
        if (vx) {
            if (vx.mtu > vx.underlayMtu - 50) {
                this.err(
                    keyPath("network", ["vxlan", "mtu"]),
                    `${vx.mtu} is too large for an underlay MTU of ${vx.underlayMtu}: VXLAN needs 50 bytes, so write mtu: ${vx.underlayMtu - 50} or less`,
                );
            }
            if (vx.zone === vx.vnet) this.err(keyPath("network", ["vxlan", "vnet"]), "must differ from the zone id");
            for (const n of Object.keys(vx.peers ?? {})) {
                if (!names.has(n)) this.err(keyPath("network", ["vxlan", "peers", n]), `"${n}" is not a node of this site`);
            }
            if (vx.peers) {
                const missing = [...names].filter((n) => !(n in vx.peers!));
                if (missing.length) {
                    this.err(
                        keyPath("network", ["vxlan", "peers"]),
                        `lacks ${missing.join(", ")}: every node of the cluster must be a peer of the VXLAN zone`,
                    );
                }
            }
            const underlayIndex = net.vlans.findIndex((v) => v.purpose === "vxlan");
            const underlay = underlayIndex >= 0 ? net.vlans[underlayIndex] : undefined;
            if (!vx.peers && underlay) {
                // Without an underlay address, build() would peer with the management address.
                const lacking = [...names].filter((n) => underlay.addresses[n] === undefined);
                if (lacking.length) {
                    this.err(
                        keyPath("network", ["vlans", underlayIndex, "addresses"]),
                        `lacks ${lacking.join(", ")}: the VXLAN zone would peer over ${lacking.length === 1 ? "that node's" : "those nodes'"} management address instead of VLAN ${underlay.tag}; add an address for ${lacking.join(", ")}, or list every node in network.vxlan.peers`,
                    );
                }
            } else if (!vx.peers) {
                this.warnings.push(
                    `${keyPath("network", ["vxlan", "peers"])}: not set and no VLAN has purpose vxlan, so the VXLAN zone peers over the nodes' management addresses (${nodes.map((n) => n.address).join(", ")}); guest traffic then crosses the management network unencrypted`,
                );
            }
            if (underlay?.mtu !== undefined && underlay.mtu !== vx.underlayMtu) {
                this.err(
                    keyPath("network", ["vxlan", "underlayMtu"]),
                    `is ${vx.underlayMtu} but the vxlan-purpose VLAN ${underlay.tag} has mtu ${underlay.mtu}; write underlayMtu: ${underlay.mtu}`,
                );
            }
        }
    }

    /** Rule 10. */
    private haRules(): void {
        const rules = this.p.haRules;
        const guests = this.p.guests;
        if (!rules || !guests) return;
        const ids = new Set<string>();
        const nodeCount = this.p.nodes?.length ?? 0;
        rules.forEach((r, i) => {
            const at = (...path: PropertyKey[]) => keyPath("haRules", [i, ...path]);
            if (ids.has(r.id)) this.err(at("id"), `"${r.id}" is used twice; rule ids must be unique`);
            ids.add(r.id);
            if (r.id.startsWith("ha-guest-"))
                this.err(at("id"), `the prefix "ha-guest-" is reserved for the per-guest node-affinity rules`);
            r.guests.forEach((vmid, j) => {
                const g = guests.find((x) => x.vmid === vmid);
                if (!g) this.err(at("guests", j), `${vmid} is not a guest of this site`);
                else if (!g.ha)
                    this.err(at("guests", j), `guest ${vmid} has no ha section; add ha: {} to it (rules only apply to HA resources)`);
            });
            if (new Set(r.guests).size !== r.guests.length) this.err(at("guests"), "lists a guest twice");
            if (r.affinity === "negative" && nodeCount > 0 && r.guests.length > nodeCount) {
                this.err(
                    at("guests"),
                    `a negative rule keeps ${r.guests.length} guests on different nodes but the site has ${nodeCount}; Proxmox would disable the rule. Keep at most ${nodeCount} guests in it`,
                );
            }
        });
        // The rules as planned, through Proxmox VE's own rule checks
        // (components/haplan.ts), once the rules above hold.
        const wellFormed = rules.every(
            (r) =>
                new Set(r.guests).size === r.guests.length &&
                !(r.affinity === "negative" && r.guests.length > nodeCount) &&
                r.guests.every((v) => guests.some((g) => g.vmid === v && g.ha)),
        );
        if (wellFormed && ids.size === rules.length && nodeCount > 0) this.haRulesAsProxmoxChecks(rules, guests);
    }

    private haRulesAsProxmoxChecks(rules: ParsedSections["haRules"], guests: ParsedSections["guests"]): void {
        const names = [...this.nodeNames];
        const resolved = resolveHaNodes(names, guests, rules);
        const haGuests = guests.flatMap((g, index) =>
            g.ha && names.includes(g.node)
                ? [
                      {
                          index,
                          vmid: g.vmid,
                          sid: `${g.type}:${g.vmid}`,
                          node: g.node,
                          nodes: resolved.get(g.vmid)!,
                          strict: g.ha.strict,
                          explicitNodes: g.ha.nodes !== undefined,
                      },
                  ]
                : [],
        );
        for (const p of haRuleProblems(names, haGuests, rules)) this.err(keyPath(p.section, p.path), p.message);
    }

    /** Rule 11. */
    private firewall(): void {
        const f = this.p.firewall;
        if (f?.enabled && f.managementAllowlist.length === 0) {
            this.err(
                keyPath("firewall", ["managementAllowlist"]),
                "is empty while the firewall is enabled: you would lock yourself out of SSH and the web UI. List your management networks, e.g. [192.0.2.0/24]",
            );
        }
    }

    private zrepl(): void {
        const zr = this.p.zrepl;
        const s = this.p.storage;
        if (!zr?.enabled || !s) return;
        if (zr.rootFs && zr.rootFs.split("/")[0] !== s.pool) {
            this.err(keyPath("zrepl", ["rootFs"]), `must be inside the pool ${s.pool} that every node has, e.g. ${s.pool}/zrepl`);
        }
        const guestRoot = s.dataset ? `${s.pool}/${s.dataset}` : s.pool;
        const root = zr.rootFs ?? `${s.pool}/zrepl`;
        if (root === guestRoot || (root.startsWith(`${guestRoot}/`) && s.dataset !== undefined)) {
            this.err(
                keyPath("zrepl", ["rootFs"]),
                `${root} lies inside the guest storage ${guestRoot}; zrepl copies would be served again. Use e.g. ${s.pool}/zrepl`,
            );
        }
        if (zr.attic) {
            if (zr.attic.split("/")[0] !== s.pool) {
                this.err(
                    keyPath("zrepl", ["attic"]),
                    `must be inside the pool ${s.pool} (a copy is renamed there, and ZFS renames only within a pool), e.g. ${s.pool}/zrepl-attic`,
                );
            } else if (zr.attic === root || zr.attic.startsWith(`${root}/`) || root.startsWith(`${zr.attic}/`)) {
                this.err(
                    keyPath("zrepl", ["attic"]),
                    `must lie outside ${root} (zrepl's receive root) and not contain it, e.g. ${s.pool}/zrepl-attic`,
                );
            } else if (zr.attic === guestRoot || (zr.attic.startsWith(`${guestRoot}/`) && s.dataset !== undefined)) {
                this.err(
                    keyPath("zrepl", ["attic"]),
                    `${zr.attic} lies inside the guest storage ${guestRoot}; use e.g. ${s.pool}/zrepl-attic`,
                );
            }
        }
        if (this.p.nodes && this.p.nodes.length < 2)
            this.err(keyPath("zrepl", ["enabled"]), "zrepl needs at least two nodes to copy between");
    }

    /** Normalizes the parsed sections into the Site model. Only called when there are no problems. */
    build(warnings: string[]): Site {
        const p = this.p as ParsedSections;
        const names = p.nodes.map((n) => n.name);
        const nodes: SiteNode[] = p.nodes.map((n, index) => ({
            name: n.name,
            address: n.address,
            links: (n.links ?? [{ address: n.address, priority: undefined }]).map((l) =>
                l.priority === undefined ? { address: l.address } : { address: l.address, priority: l.priority },
            ),
            sshHostKey: n.sshHostKey,
            sshPort: n.sshPort,
            watchdog: n.watchdog,
            zfs: { ...n.zfs, disks: [...n.zfs.disks] },
            index,
        }));
        const qdevice: QDevice | undefined = p.qdevice ? { ...p.qdevice } : undefined;
        const storage: Storage = {
            id: p.storage.id,
            pool: p.storage.pool,
            ...(p.storage.dataset !== undefined ? { dataset: p.storage.dataset } : {}),
            zfsPath: p.storage.dataset ? `${p.storage.pool}/${p.storage.dataset}` : p.storage.pool,
            thinProvision: p.storage.thinProvision,
            ...(p.storage.blocksize !== undefined ? { blocksize: p.storage.blocksize } : {}),
        };
        const info = analyseSchedule(p.replication.schedule);
        const replication: Replication = {
            schedule: p.replication.schedule,
            ...(p.replication.rateMBps !== undefined ? { rateMBps: p.replication.rateMBps } : {}),
            ...(p.replication.network !== undefined ? { network: p.replication.network } : {}),
            worstCaseRpoMinutes: info.worstCaseGapMinutes,
            ...(p.replication.rpoTarget !== undefined ? { rpoTargetMinutes: parseDuration(p.replication.rpoTarget)! / 60 } : {}),
        };
        const haNodes = resolveHaNodes(names, p.guests, p.haRules);
        const guests: Guest[] = p.guests.map((g) => buildGuest(g, names, storage.id, haNodes.get(g.vmid)));
        const haRules: HaRule[] = p.haRules.map((r) => stripUndefined({ ...r, guests: [...r.guests] }));
        const vlans: Vlan[] = p.network.vlans.map((v) => stripUndefined({ ...v, nodes: v.nodes ?? names }));
        const bridges: Bridge[] = p.network.bridges.map((b) => stripUndefined({ ...b, nodes: b.nodes ?? names }));
        let vxlan: Vxlan | undefined;
        if (p.network.vxlan) {
            const vx = p.network.vxlan;
            const underlay = p.network.vlans.find((v) => v.purpose === "vxlan");
            const peers =
                vx.peers ??
                Object.fromEntries(p.nodes.map((n) => [n.name, underlay?.addresses[n.name]?.split("/")[0] ?? n.address] as const));
            vxlan = { zone: vx.zone, vnet: vx.vnet, tag: vx.tag, mtu: vx.mtu, underlayMtu: vx.underlayMtu, peers };
        }
        const cluster: Cluster = stripUndefined({
            ...p.cluster,
            migrationNetwork: p.cluster.migrationNetwork ?? p.replication.network,
        });
        const zrepl: Zrepl = {
            ...p.zrepl,
            rootFs: p.zrepl.rootFs ?? `${p.storage.pool}/zrepl`,
        };
        return {
            project: PROJECT,
            cluster,
            nodes,
            ...(qdevice ? { qdevice } : {}),
            storage,
            replication,
            guests,
            haRules,
            network: { vlans, bridges, ...(vxlan ? { vxlan } : {}) },
            firewall: { enabled: p.firewall.enabled, managementAllowlist: [...p.firewall.managementAllowlist] },
            alerts: stripUndefined({ ...p.alerts }),
            zrepl,
            apiInsecure: p.apiInsecure,
            imports: { ...p.import },
            example: p.example,
            api: stackAccess(nodes, p.apiNode, p.apiInsecure),
            apiTokenRotation: p.apiTokenRotation,
            warnings: [...warnings],
        };
    }
}

/** Drops keys whose value is undefined, so two evaluations serialize identically. */
function stripUndefined<T extends object>(o: T): T {
    return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
