/**
 * Pure parsers of the read-only commands the health check runs, written
 * against the formats documented in docs/proxmox-facts.md
 * (§3 corosync-qdevice-tool, §4 pvecm status, §5 ha-manager status, §6 pvesr
 * status) and, for ZFS, the OpenZFS text formats (`zpool list -H`,
 * `zpool status -x`).
 *
 * Every parser returns either a value or `{ ok: false, reason }`: output that
 * does not have the documented shape is "cannot tell", never a guess. A
 * documented failure (corosync not running, QDevice socket missing, …) is a
 * value, because it is a definite finding about the host.
 */

export interface CommandResult {
    readonly stdout: string;
    readonly stderr: string;
    /** Exit status; null when the command was killed by a signal. */
    readonly code: number | null;
}

export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string };

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const unknown = (reason: string): Parsed<never> => ({ ok: false, reason });

function lines(text: string): string[] {
    return text.replace(/\r\n/g, "\n").split("\n");
}

/** The first non-empty line of stderr (or stdout), for messages. */
export function firstLine(r: CommandResult): string {
    return (
        lines(r.stderr)
            .map((l) => l.trim())
            .find((l) => l !== "") ??
        lines(r.stdout)
            .map((l) => l.trim())
            .find((l) => l !== "") ??
        ""
    );
}

// ---------- pvecm status (§4) ------------------------------------------------

export interface Member {
    /** Node id (hex in `pvecm status`, which runs corosync-quorumtool -H). */
    readonly nodeId: number;
    readonly votes: number;
    /** Qdevice column: `A,V,NMW`, `NA,NV,NMW`, `NR`…; absent without a registered QDevice. */
    readonly qdeviceFlags?: string;
    /** The IP (pvecm status passes -i). */
    readonly address: string;
    readonly local: boolean;
}

export interface QuorumStatus {
    readonly state: "status";
    /** `Name:` of the Cluster information block. */
    readonly clusterName: string;
    readonly quorate: boolean;
    /** `Nodes:` line: members in this node's partition. */
    readonly nodes: number;
    readonly expectedVotes: number;
    readonly totalVotes: number;
    readonly quorum: number;
    /** `Quorum: N Activity blocked`. */
    readonly activityBlocked: boolean;
    readonly flags: readonly string[];
    readonly members: readonly Member[];
    /** The `0x00000000 … Qdevice` line, when present. */
    readonly qdevice?: { readonly votes: number; readonly casting: boolean };
}

/** corosync is not running on the node (documented messages of corosync-quorumtool, exit 1). */
export interface CorosyncDown {
    readonly state: "corosync-down";
    readonly message: string;
}

/** The node is not part of any cluster (pvecm's documented die message). */
export interface NotClustered {
    readonly state: "not-clustered";
    readonly message: string;
}

export type PvecmStatus = QuorumStatus | CorosyncDown | NotClustered;

const KNOWN_FLAGS = new Set(["2Node", "Quorate", "WaitForAll", "LastManStanding", "AutoTieBreaker", "AllowDownscale", "Qdevice"]);
const QDEVICE_COLUMN = /^(?:(?:A|NA),(?:V|NV),(?:MW|NMW)|NR)$/;

/** `Label:   value` lines of one block, keyed by label. */
function labelled(block: readonly string[]): Map<string, string> {
    const out = new Map<string, string>();
    for (const l of block) {
        const m = /^([A-Za-z][A-Za-z -]*?):[ \t]*(.*?)$/.exec(l);
        if (m) out.set(m[1]!, m[2]!);
    }
    return out;
}

function intField(fields: Map<string, string>, label: string): number | undefined {
    const v = fields.get(label);
    if (v === undefined) return undefined;
    const m = /^(\d+)\b/.exec(v.trim());
    return m ? Number(m[1]) : undefined;
}

export function parsePvecmStatus(r: CommandResult): Parsed<PvecmStatus> {
    const all = `${r.stdout}\n${r.stderr}`;
    const notClustered = /Corosync config '[^']*' does not exist - is this node part of a cluster\?/.exec(all);
    if (notClustered) return ok({ state: "not-clustered", message: notClustered[0] });
    if (r.code === 1) {
        const down = /Cannot initiali[sz]e (?:CMAP|VOTEQUORUM) service/.exec(all);
        if (down) return ok({ state: "corosync-down", message: down[0] });
        return unknown(`pvecm status failed (exit 1): ${firstLine(r) || "no output"}`);
    }
    if (r.code !== 0 && r.code !== 2) {
        return unknown(`pvecm status exited ${r.code ?? "on a signal"}: ${firstLine(r) || "no output"}`);
    }
    const ls = lines(r.stdout);
    const fields = labelled(ls);
    const clusterName = fields.get("Name");
    const quorateText = fields.get("Quorate");
    const nodes = intField(fields, "Nodes");
    const expectedVotes = intField(fields, "Expected votes");
    const totalVotes = intField(fields, "Total votes");
    const quorumText = fields.get("Quorum");
    const quorum = intField(fields, "Quorum");
    const flagsText = fields.get("Flags");
    const missing = [
        ["Name", clusterName],
        ["Quorate", quorateText],
        ["Nodes", nodes],
        ["Expected votes", expectedVotes],
        ["Total votes", totalVotes],
        ["Quorum", quorum],
        ["Flags", flagsText],
    ]
        .filter(([, v]) => v === undefined)
        .map(([k]) => k);
    if (missing.length) return unknown(`pvecm status output not understood: no ${missing.join(", ")} line`);
    if (quorateText !== "Yes" && quorateText !== "No") return unknown(`pvecm status output not understood: Quorate: ${quorateText}`);
    const quorate = quorateText === "Yes";
    // Documented: exit 0 = quorate, 2 = not quorate. Anything else contradicts itself.
    if ((r.code === 0) !== quorate) {
        return unknown(`pvecm status output not understood: exit ${r.code} but Quorate: ${quorateText}`);
    }
    const quorumRest = /^\d+\s*(.*)$/.exec(quorumText!.trim())![1]!;
    if (quorumRest !== "" && quorumRest !== "Activity blocked") {
        return unknown(`pvecm status output not understood: Quorum: ${quorumText}`);
    }
    const flags = flagsText!.trim() === "" ? [] : flagsText!.trim().split(/\s+/);
    const strange = flags.filter((f) => !KNOWN_FLAGS.has(f));
    if (strange.length) return unknown(`pvecm status output not understood: unknown flag ${strange.join(", ")}`);

    const header = ls.findIndex((l) => /^\s*Nodeid\s+Votes\s+(?:Qdevice\s+)?Name\s*$/.test(l));
    if (header < 0) return unknown("pvecm status output not understood: no membership table");
    const withQdeviceColumn = /Qdevice\s+Name/.test(ls[header]!);
    const members: Member[] = [];
    let qdevice: QuorumStatus["qdevice"];
    for (const raw of ls.slice(header + 1)) {
        const l = raw.trim();
        if (l === "") continue;
        const m = /^(0x[0-9A-Fa-f]+|\d+)\s+(\d+)\s+(.*)$/.exec(l);
        if (!m) return unknown(`pvecm status output not understood: membership line "${l}"`);
        const nodeId = Number(m[1]);
        const votes = Number(m[2]);
        let rest = m[3]!;
        if (nodeId === 0) {
            const q = /^Qdevice(?: \(votes (\d+)\))?$/.exec(rest);
            if (!q) return unknown(`pvecm status output not understood: qdevice line "${l}"`);
            qdevice = { votes: q[1] !== undefined ? Number(q[1]) : votes, casting: votes > 0 };
            continue;
        }
        let qdeviceFlags: string | undefined;
        if (withQdeviceColumn) {
            const [first, ...others] = rest.split(/\s+/);
            if (!first || !QDEVICE_COLUMN.test(first)) return unknown(`pvecm status output not understood: Qdevice column in "${l}"`);
            qdeviceFlags = first;
            rest = others.join(" ");
        }
        const local = / \(local\)$/.test(rest);
        const address = rest.replace(/ \(local\)$/, "").trim();
        if (!/^\S+$/.test(address)) return unknown(`pvecm status output not understood: membership line "${l}"`);
        members.push({ nodeId, votes, ...(qdeviceFlags ? { qdeviceFlags } : {}), address, local });
    }
    if (members.length === 0) return unknown("pvecm status output not understood: empty membership table");
    return ok({
        state: "status",
        clusterName: clusterName!.trim(),
        quorate,
        nodes: nodes!,
        expectedVotes: expectedVotes!,
        totalVotes: totalVotes!,
        quorum: quorum!,
        activityBlocked: quorumRest === "Activity blocked",
        flags,
        members,
        ...(qdevice ? { qdevice } : {}),
    });
}

// ---------- corosync-qdevice-tool -s (§3) -----------------------------------

export interface QdeviceRunning {
    readonly state: "running";
    /** `State:` of the Qdevice-net block, e.g. `Connected`. */
    readonly connection: string;
    readonly algorithm: "ffsplit" | "lms" | string;
    readonly tieBreaker: "lowest" | "highest" | `node ${number}` | string;
    readonly qnetdHost?: string;
}

export interface QdeviceNotRunning {
    readonly state: "not-running";
    readonly message: string;
}

export type QdeviceStatus = QdeviceRunning | QdeviceNotRunning;

/** Display names printed by corosync-qdevice (source: qdevices/qdevice-net-ipc-cmd.c). */
const ALGORITHMS: Record<string, string> = { "Fifty-Fifty split": "ffsplit", LMS: "lms" };

export function parseQdeviceTool(r: CommandResult): Parsed<QdeviceStatus> {
    if (r.code === 3) {
        return ok({ state: "not-running", message: firstLine(r) || "Can't connect to QDevice socket (is QDevice running?)" });
    }
    if (r.code !== 0) return unknown(`corosync-qdevice-tool -s exited ${r.code ?? "on a signal"}: ${firstLine(r) || "no output"}`);
    const ls = lines(r.stdout);
    const start = ls.findIndex((l) => l.trim() === "Qdevice-net information");
    if (ls.findIndex((l) => l.trim() === "Qdevice information") < 0 || start < 0) {
        return unknown("corosync-qdevice-tool output not understood: no Qdevice / Qdevice-net information block");
    }
    const net = labelled(ls.slice(start + 1));
    const connection = net.get("State");
    const algorithmText = net.get("Algorithm");
    const tieText = net.get("Tie-breaker");
    if (connection === undefined || algorithmText === undefined || tieText === undefined) {
        return unknown("corosync-qdevice-tool output not understood: State, Algorithm or Tie-breaker missing");
    }
    const algorithm = ALGORITHMS[algorithmText.trim()];
    if (!algorithm) return unknown(`corosync-qdevice-tool output not understood: Algorithm: ${algorithmText}`);
    const tie = /^Node with (lowest|highest) node ID$|^Node with node ID (\d+)$/.exec(tieText.trim());
    if (!tie) return unknown(`corosync-qdevice-tool output not understood: Tie-breaker: ${tieText}`);
    const qnetdHost = net.get("QNetd host");
    return ok({
        state: "running",
        connection: connection.trim(),
        algorithm,
        tieBreaker: tie[1] ?? `node ${tie[2]}`,
        ...(qnetdHost !== undefined ? { qnetdHost: qnetdHost.trim() } : {}),
    });
}

// ---------- pvesr status (§6) ------------------------------------------------

export interface ReplicationJobStatus {
    readonly id: string;
    readonly enabled: boolean;
    /** `local/<node>`. */
    readonly target: string;
    /** `YYYY-MM-DD_HH:MM:SS` in the node's local time, or undefined when never synced (`-`). */
    readonly lastSync?: string;
    /** Timestamp, `pending` or `-`. */
    readonly nextSync: string;
    readonly durationSeconds?: number;
    readonly failCount: number;
    /** `OK`, `SYNCING` or the error text. */
    readonly state: string;
}

const STAMP = /^\d{4}-\d{2}-\d{2}_\d{2}:\d{2}:\d{2}$/;

export function parsePvesrStatus(r: CommandResult): Parsed<ReplicationJobStatus[]> {
    if (r.code !== 0) return unknown(`pvesr status exited ${r.code ?? "on a signal"}: ${firstLine(r) || "no output"}`);
    const ls = lines(r.stdout).filter((l) => l.trim() !== "");
    if (!ls[0] || !/^JobID\s+Enabled\s+Target\s+LastSync\s+NextSync\s+Duration\s+FailCount\s+State\s*$/.test(ls[0])) {
        return unknown("pvesr status output not understood: no `JobID Enabled Target LastSync NextSync Duration FailCount State` header");
    }
    const jobs: ReplicationJobStatus[] = [];
    for (const l of ls.slice(1)) {
        const m = /^(\d+-\d+)\s+(Yes|No)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\d+)\s+(\S.*?)\s*$/.exec(l);
        if (!m) return unknown(`pvesr status output not understood: "${l.trim()}"`);
        const [, id, enabled, target, last, next, duration, fails, state] = m;
        if (last !== "-" && !STAMP.test(last!)) return unknown(`pvesr status output not understood: LastSync "${last}"`);
        if (next !== "-" && next !== "pending" && !STAMP.test(next!))
            return unknown(`pvesr status output not understood: NextSync "${next}"`);
        if (duration !== "-" && !/^\d+(\.\d+)?$/.test(duration!))
            return unknown(`pvesr status output not understood: Duration "${duration}"`);
        jobs.push({
            id: id!,
            enabled: enabled === "Yes",
            target: target!,
            ...(last !== "-" ? { lastSync: last! } : {}),
            nextSync: next!,
            ...(duration !== "-" ? { durationSeconds: Number(duration) } : {}),
            failCount: Number(fails),
            state: state!,
        });
    }
    return ok(jobs);
}

/** `date '+%Y-%m-%d_%H:%M:%S'` on the node: its clock in the same local time pvesr prints. */
export function parseNodeClock(r: CommandResult): Parsed<string> {
    const t = r.stdout.trim();
    if (r.code !== 0 || !STAMP.test(t)) return unknown(`node clock not understood: ${firstLine(r) || "no output"}`);
    return ok(t);
}

/** Minutes from `from` to `to`, both `YYYY-MM-DD_HH:MM:SS` in the same (node-local) time zone. */
export function minutesBetween(from: string, to: string): number {
    const ms = (s: string) => {
        const [d, t] = s.split("_") as [string, string];
        const [y, mo, da] = d.split("-").map(Number) as [number, number, number];
        const [h, mi, se] = t.split(":").map(Number) as [number, number, number];
        return Date.UTC(y, mo - 1, da, h, mi, se);
    };
    return (ms(to) - ms(from)) / 60_000;
}

// ---------- ha-manager status (§5) -------------------------------------------

export interface HaLrm {
    readonly node: string;
    /** `active`, `idle`, `maintenance mode`, `old timestamp - dead?`, `unable to read lrm status`, … */
    readonly status: string;
    /** `watchdog active|standby|released` on pve-ha-manager ≥ 5.1.3. */
    readonly watchdog?: string;
}

export interface HaService {
    readonly sid: string;
    readonly node: string;
    /** Verbose state: `started`, `stopped`, `starting`, `error`, `fence`, `recovery`, … */
    readonly state: string;
}

export interface HaStatus {
    readonly quorate: boolean;
    readonly quorumText: string;
    readonly master?: { readonly node: string; readonly status: string };
    readonly lrms: readonly HaLrm[];
    readonly services: readonly HaService[];
}

export function parseHaStatus(r: CommandResult): Parsed<HaStatus> {
    if (r.code !== 0) return unknown(`ha-manager status exited ${r.code ?? "on a signal"}: ${firstLine(r) || "no output"}`);
    let quorumText: string | undefined;
    let master: HaStatus["master"];
    const lrms: HaLrm[] = [];
    const services: HaService[] = [];
    for (const raw of lines(r.stdout)) {
        const l = raw.trimEnd();
        if (l === "") continue;
        let m: RegExpExecArray | null;
        if ((m = /^quorum (.+)$/.exec(l))) {
            quorumText = m[1]!;
        } else if ((m = /^master (\S+) \(([^,)]+)(?:, [^)]*)?\)/.exec(l))) {
            master = { node: m[1]!, status: m[2]! };
        } else if (/^fencing /.test(l)) {
            // pve-ha-manager ≥ 5.1.3: `fencing armed (CRM watchdog active)`; informational.
        } else if ((m = /^lrm (\S+) \((.*)\)$/.exec(l))) {
            const parts = m[2]!.split(", ");
            const watchdog = parts.find((p) => p.startsWith("watchdog "));
            lrms.push({ node: m[1]!, status: parts[0]!, ...(watchdog ? { watchdog: watchdog.slice("watchdog ".length) } : {}) });
        } else if ((m = /^service (\S+) \((\S+), ([^)]+)\)$/.exec(l))) {
            services.push({ sid: m[1]!, node: m[2]!, state: m[3]! });
        } else {
            return unknown(`ha-manager status output not understood: "${l}"`);
        }
    }
    if (quorumText === undefined) return unknown("ha-manager status output not understood: no quorum line");
    return ok({ quorate: quorumText === "OK", quorumText, ...(master ? { master } : {}), lrms, services });
}

// ---------- ZFS ----------------------------------------------------------------

export interface PoolHealth {
    readonly name: string;
    /** ONLINE, DEGRADED, FAULTED, OFFLINE, UNAVAIL, REMOVED, SUSPENDED. */
    readonly health: string;
}

const POOL_STATES = new Set(["ONLINE", "DEGRADED", "FAULTED", "OFFLINE", "UNAVAIL", "REMOVED", "SUSPENDED"]);

/** `zpool list -H -o name,health`: one `name<TAB>health` line per imported pool. */
export function parseZpoolList(r: CommandResult): Parsed<PoolHealth[]> {
    // With no pool imported, zpool prints only this sentence (stdout or stderr, depending on the version).
    if (r.stdout.trim() === "no pools available" || (r.stdout.trim() === "" && r.stderr.trim() === "no pools available")) return ok([]);
    if (r.code !== 0) return unknown(`zpool list exited ${r.code ?? "on a signal"}: ${firstLine(r) || "no output"}`);
    const pools: PoolHealth[] = [];
    for (const l of lines(r.stdout)) {
        if (l.trim() === "") continue;
        const f = l.split("\t");
        if (f.length !== 2 || !POOL_STATES.has(f[1]!.trim())) return unknown(`zpool list output not understood: "${l}"`);
        pools.push({ name: f[0]!, health: f[1]!.trim() });
    }
    return ok(pools);
}

export interface PoolProblem {
    readonly name: string;
    readonly state: string;
    /** The `status:` paragraph, joined to one line. */
    readonly status?: string;
    /** The `errors:` line, e.g. `No known data errors` or `2 data errors, use '-v' for a list`. */
    readonly errors?: string;
}

/**
 * `zpool status -x`: `all pools are healthy` (or `no pools available`), else
 * one block per pool that is unhealthy or has seen errors.
 */
export function parseZpoolStatusX(r: CommandResult): Parsed<PoolProblem[]> {
    const text = r.stdout.trim();
    if (r.code === 0 && (text === "all pools are healthy" || text === "no pools available")) return ok([]);
    if (r.code !== 0) return unknown(`zpool status -x exited ${r.code ?? "on a signal"}: ${firstLine(r) || "no output"}`);
    const problems: PoolProblem[] = [];
    let cur: { name: string; state?: string; status?: string; errors?: string } | undefined;
    let inStatus = false;
    const flush = () => {
        if (!cur) return;
        if (!cur.state) throw new Error(`no state for pool ${cur.name}`);
        problems.push({
            name: cur.name,
            state: cur.state,
            ...(cur.status ? { status: cur.status } : {}),
            ...(cur.errors ? { errors: cur.errors } : {}),
        });
    };
    try {
        for (const l of lines(r.stdout)) {
            let m: RegExpExecArray | null;
            if ((m = /^\s*pool: (\S+)\s*$/.exec(l))) {
                flush();
                cur = { name: m[1]! };
                inStatus = false;
            } else if (cur && (m = /^\s*state: (\S+)\s*$/.exec(l))) {
                cur.state = m[1]!;
                inStatus = false;
            } else if (cur && (m = /^\s*status: (.*)$/.exec(l))) {
                cur.status = m[1]!.trim();
                inStatus = true;
            } else if (cur && inStatus && /^\t\S/.test(l)) {
                cur.status = `${cur.status} ${l.trim()}`;
            } else if (cur && (m = /^\s*errors: (.*)$/.exec(l))) {
                cur.errors = m[1]!.trim();
                inStatus = false;
            } else {
                inStatus = false;
            }
        }
        flush();
    } catch (e) {
        return unknown(`zpool status -x output not understood: ${(e as Error).message}`);
    }
    if (problems.length === 0) return unknown(`zpool status -x output not understood: "${firstLine(r)}"`);
    return ok(problems);
}

// ---------- watchdog --------------------------------------------------------------

/**
 * `/etc/default/pve-ha-manager` (§5), read as systemd's EnvironmentFile
 * reads it for watchdog-mux: the last active `WATCHDOG_MODULE=` line wins;
 * no line (or no file) means softdog, watchdog-mux's default. An active
 * line that is not a plain module name is "cannot tell", not a guess.
 */
export function parseWatchdogDefault(text: string): Parsed<string> {
    let module = "softdog";
    for (const l of lines(text)) {
        if (!/^\s*(?:export\s+)?WATCHDOG_MODULE=/.test(l)) continue;
        const m = /^\s*(?:export\s+)?WATCHDOG_MODULE=(["']?)([A-Za-z0-9_]+)\1\s*$/.exec(l);
        if (!m) return unknown(`/etc/default/pve-ha-manager not understood: "${l.trim()}"`);
        module = m[2]!;
    }
    return ok(module);
}

/**
 * What owns /dev/watchdog, decided exactly as scripts/watchdog.sh decides
 * its `active=` value (read from sysfs only): watchdog0's driver module;
 * else softdog when watchdog0's identity is "Software Watchdog"; else
 * "unknown" (a watchdog0 nobody can attribute, e.g. a built-in driver);
 * without watchdog0, the stack's module when it is loaded (legacy
 * misc-device drivers such as ipmi_watchdog); else "none" — and "none"
 * whenever watchdog-mux does not hold /dev/watchdog.
 */
export type WatchdogInUse =
    | { readonly state: "module"; readonly module: string }
    | { readonly state: "unknown"; readonly identity: string }
    | { readonly state: "none" };

/** The name scripts/watchdog.sh prints as `active=`. */
export function activeWatchdogName(w: WatchdogInUse): string {
    return w.state === "module" ? w.module : w.state;
}

/**
 * Output of `watchdogProbe` (see commands.ts), one fact per line:
 * `driver-module <path>` (watchdog0's parent driver module), `identity <text>`
 * (watchdog0 without a driver module; empty when unreadable), or
 * `no-watchdog0` followed by `loaded <module>` when the stack's module is
 * loaded; `not-held` when no watchdog-mux holds /dev/watchdog (then nothing
 * protects the node, whatever is loaded).
 */
export function parseWatchdogProbe(r: CommandResult): Parsed<WatchdogInUse> {
    if (r.code !== 0) return unknown(`watchdog probe exited ${r.code ?? "on a signal"}: ${firstLine(r) || "no output"}`);
    const ls = lines(r.stdout)
        .map((l) => l.trimEnd())
        .filter((l) => l.trim() !== "");
    let m: RegExpExecArray | null;
    if (ls.length === 1 && ls[0] === "not-held") return ok({ state: "none" });
    if (ls.length === 1 && (m = /^driver-module \S*\/([A-Za-z0-9_-]+)$/.exec(ls[0]!))) return ok({ state: "module", module: m[1]! });
    if (ls.length === 1 && (m = /^identity(?: (.*))?$/.exec(ls[0]!))) {
        const identity = m[1] ?? "";
        return ok(identity === "Software Watchdog" ? { state: "module", module: "softdog" } : { state: "unknown", identity });
    }
    if (ls[0] === "no-watchdog0") {
        if (ls.length === 1) return ok({ state: "none" });
        if (ls.length === 2 && (m = /^loaded ([A-Za-z0-9_]+)$/.exec(ls[1]!))) return ok({ state: "module", module: m[1]! });
    }
    return unknown(`watchdog probe output not understood: "${ls.join(" / ")}"`);
}
