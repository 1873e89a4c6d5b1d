/**
 * The guardrails of a proxmox-ha site: mandatory policies for the mistakes a
 * reviewer must never have to catch by eye in a `pulumi preview`. They run in
 * every preview and `up` of the workflows (`--policy-pack policy`), see
 * docs/pull-requests.md.
 *
 * What a policy sees: every resource's inputs with secrets already unwrapped
 * (the policy SDK cannot tell which value was a secret), and, through
 * `PULUMI_CONFIG`, the stack's config with secrets decrypted. So "a value that
 * was a secret" means: the value of a secret config key, a command's `stdin`
 * (by the project's contract it carries secrets only), a command's connection
 * credentials, or a provider's credentials.
 *
 * During a preview some inputs are still unknown (e.g. a token another command
 * prints). Each check skips just the unknown value, instead of letting the
 * policy SDK downgrade the whole policy to "advisory"; `pulumi up` checks the
 * same values once they are known.
 */
import * as proxmox from "@muhlba91/pulumi-proxmoxve";
import * as command from "@pulumi/command";
import {
    UnknownValueError,
    type Policies,
    type PolicyResource,
    type ReportViolation,
    type ResourceValidationArgs,
    type ResourceValidationPolicy,
    type StackValidationArgs,
    type StackValidationPolicy,
} from "@pulumi/policy";
import { analyseSchedule, formatMinutes, parseDuration, ScheduleError } from "../components/schedule";
import { SECRET_KEYS } from "../components/schema";
import { PROJECT } from "../components/validate";

// ---------- resource types ----------------------------------------------------

/** A resource class's type token, as the provider SDK registers it (`__pulumiType`). */
function tokenOf(cls: object): string {
    const t = (cls as { __pulumiType?: unknown }).__pulumiType;
    if (typeof t !== "string") throw new Error("policy: resource class without __pulumiType");
    return t;
}

/** The resource types the policies read, taken from the pinned provider SDKs. */
export const TYPES = {
    remoteCommand: tokenOf(command.remote.Command),
    localCommand: tokenOf(command.local.Command),
    haresource: tokenOf(proxmox.Haresource),
    harule: tokenOf(proxmox.Harule),
    replication: tokenOf(proxmox.Replication),
    vmLegacy: tokenOf(proxmox.VmLegacy),
    containerLegacy: tokenOf(proxmox.ContainerLegacy),
    downloadFile: tokenOf(proxmox.download.File),
    vm: tokenOf(proxmox.Vm),
    zfs: tokenOf(proxmox.node.disk.Zfs),
    clusterFirewall: tokenOf(proxmox.cluster.FirewallLegacy),
    ipset: tokenOf(proxmox.firewall.IpsetLegacy),
    firewallRules: tokenOf(proxmox.firewall.RulesLegacy),
    proxmoxProvider: `pulumi:providers:${tokenOf(proxmox.Provider)}`,
} as const;

const COMMAND_TYPES: readonly string[] = [TYPES.remoteCommand, TYPES.localCommand];

// ---------- the stack's config --------------------------------------------------

/** What the policies read from the stack's config (never from resources' outputs). */
export interface SiteConfig {
    /** Node names of `proxmox-ha:nodes`, in stack order; undefined when the stack has none. */
    readonly nodes?: readonly string[];
    /** `replication.rpoTarget` as written, e.g. "10m". */
    readonly rpoTarget?: string;
    /** Secret config keys that are set (full key, e.g. `proxmox-ha:rootPassword`) → value. */
    readonly secrets: Readonly<Record<string, string>>;
    /**
     * Every IP address written in `proxmox-ha:nodes` and `proxmox-ha:network`
     * (management, links, VLAN/bridge addresses, VXLAN peers): the cluster's
     * own addresses, which admit the nodes, not the operators.
     */
    readonly nodeAddresses?: readonly string[];
}

const IP_LIKE = /^(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9A-Fa-f]*:[0-9A-Fa-f:.]+)(?:\/\d{1,3})?$/;

/** Every IP-like string in a config value (host part of a CIDR), walking objects and arrays. */
function ipStrings(v: unknown, out: Set<string>): Set<string> {
    if (typeof v === "string") {
        for (const part of v.split(",")) {
            const m = /^(?:address=)?([^,]+)$/.exec(part.trim());
            const ip = m?.[1];
            if (ip && IP_LIKE.test(ip)) out.add(ip.split("/")[0]!.toLowerCase());
        }
    } else if (Array.isArray(v)) v.forEach((x) => ipStrings(x, out));
    else if (v !== null && typeof v === "object") Object.values(v).forEach((x) => ipStrings(x, out));
    return out;
}

function parseJson(text: string | undefined): unknown {
    if (text === undefined) return undefined;
    try {
        return JSON.parse(text);
    } catch {
        return text;
    }
}

/**
 * Reads the policies' view of a stack from a config map in the form the
 * engine hands it to a policy pack (`PULUMI_CONFIG`: full key → text, objects
 * as JSON, secrets decrypted) — the same form tools/lib/stack.ts produces.
 */
export function siteConfigFrom(config: Readonly<Record<string, string>>): SiteConfig {
    const nodes = parseJson(config[`${PROJECT}:nodes`]);
    const replication = parseJson(config[`${PROJECT}:replication`]);
    const rpoTarget = (replication as { rpoTarget?: unknown } | undefined)?.rpoTarget;
    const secrets: Record<string, string> = {};
    for (const k of SECRET_KEYS) {
        const v = config[`${PROJECT}:${k}`];
        if (typeof v === "string" && v !== "") secrets[`${PROJECT}:${k}`] = v;
    }
    return {
        ...(Array.isArray(nodes)
            ? { nodes: nodes.map((n: { name?: unknown }) => n?.name).filter((n): n is string => typeof n === "string") }
            : {}),
        ...(typeof rpoTarget === "string" ? { rpoTarget } : {}),
        secrets,
        nodeAddresses: [...ipStrings([nodes, parseJson(config[`${PROJECT}:network`])], new Set())],
    };
}

// ---------- reading inputs that may be unknown during preview --------------------

type Peek<T> = { readonly known: true; readonly value: T } | { readonly known: false };

/** Reads an input; `known: false` when it is unknown during a preview. */
function peek<T>(read: () => T): Peek<T> {
    try {
        return { known: true, value: read() };
    } catch (e) {
        if (e instanceof UnknownValueError) return { known: false };
        throw e;
    }
}

/** The value when known, else undefined (absent and unknown look alike: use where both mean "skip"). */
function knownValue<T>(read: () => T): T | undefined {
    const p = peek(read);
    return p.known ? p.value : undefined;
}

function knownString(read: () => unknown): string | undefined {
    const v = knownValue(read);
    return typeof v === "string" ? v : undefined;
}

// ---------- policy names -------------------------------------------------------

export const POLICY = {
    haReplication: "ha-guest-replicated-to-every-node",
    qdevice: "two-node-ha-needs-qdevice",
    zfsCleanup: "no-zfs-cleanup-disks",
    secretInText: "no-secret-in-command-text",
    secretLogging: "secret-commands-hide-logging",
    firewallAllowlist: "firewall-needs-management-allowlist",
    rpo: "replication-within-rpo-target",
    haMedia: "ha-guest-media-on-every-ha-node",
} as const;

// ---------- helpers over the resources of a stack --------------------------------

const SID = /^(vm|ct):(\d+)$/;

function ofType(resources: readonly PolicyResource[], ...types: string[]): PolicyResource[] {
    return resources.filter((r) => types.includes(r.type));
}

/** `vm:101` of an HA resource, or undefined while unknown. */
function haSid(r: PolicyResource): string | undefined {
    return knownString(() => r.props.resourceId);
}

function isDisabled(r: { props: Record<string, unknown> }): boolean {
    return knownValue(() => r.props.disable) === true;
}

/** The VM with this vmid (VmLegacy `vmId`, Vm `resourceId`). */
function vmResource(resources: readonly PolicyResource[], vmid: number): PolicyResource | undefined {
    return resources.find(
        (r) =>
            (r.type === TYPES.vmLegacy && knownValue(() => r.props.vmId) === vmid) ||
            (r.type === TYPES.vm && String(knownValue(() => r.props.resourceId)) === String(vmid)),
    );
}

/** The guest an HA sid names: a VM for `vm:<vmid>`, a container (ContainerLegacy `vmId`) for `ct:<vmid>`. */
function guestResource(resources: readonly PolicyResource[], kind: string, vmid: number): PolicyResource | undefined {
    if (kind === "vm") return vmResource(resources, vmid);
    return resources.find((r) => r.type === TYPES.containerLegacy && knownValue(() => r.props.vmId) === vmid);
}

/** Nodes a strict node-affinity rule confines this HA resource to; undefined when none does. */
function strictNodes(resources: readonly PolicyResource[], sid: string): Set<string> | undefined {
    let allowed: Set<string> | undefined;
    for (const rule of ofType(resources, TYPES.harule)) {
        if (isDisabled(rule) || knownValue(() => rule.props.type) !== "node-affinity") continue;
        if (knownValue(() => rule.props.strict) !== true) continue;
        const members = knownValue(() => rule.props.resources as unknown[]);
        if (!Array.isArray(members) || !members.includes(sid)) continue;
        const nodes = knownValue(() => rule.props.nodes as Record<string, unknown>);
        if (nodes === undefined) continue;
        const names = new Set(Object.keys(nodes));
        allowed = allowed === undefined ? names : new Set([...allowed].filter((n) => names.has(n)));
    }
    return allowed;
}

/** Every resource `r` depends on, directly or through its dependencies. */
function dependencyClosure(r: PolicyResource): Set<string> {
    const seen = new Set<string>();
    const walk = (x: PolicyResource) => {
        for (const d of x.dependencies) {
            if (seen.has(d.urn)) continue;
            seen.add(d.urn);
            walk(d);
        }
    };
    walk(r);
    return seen;
}

/**
 * The QDevice step of the host bootstrap: a remote command named
 * `<component>-qdevice-setup`, or one whose text runs scripts/qdevice-setup.sh
 * (shipped by components/remote.ts as `bash -c '<script>' 'qdevice-setup' …`).
 */
export function isQdeviceStep(r: PolicyResource): boolean {
    if (r.type !== TYPES.remoteCommand) return false;
    if (r.name.endsWith("-qdevice-setup")) return true;
    const create = knownString(() => r.props.create);
    if (create === undefined) return false;
    return /qdevice-setup\.sh/.test(create) || /^bash -c '(?:[^']|'\\'')*' 'qdevice-setup'(?: |$)/.test(create);
}

// ---------- the policies ----------------------------------------------------------

/** The stack's HA resources; a policy about them does not apply without any. */
function haResources(args: StackValidationArgs) {
    const ha = ofType(args.resources, TYPES.haresource);
    if (ha.length === 0) args.notApplicable("the stack has no HA resources");
    return ha;
}

/** The HA resources and the cluster's node names, or not applicable (in that order). */
function haAndNodes(args: StackValidationArgs, site: () => SiteConfig) {
    const ha = haResources(args);
    const clusterNodes = site().nodes;
    if (clusterNodes === undefined) args.notApplicable(`the stack config has no ${PROJECT}:nodes`);
    return { ha, clusterNodes };
}

function haReplicationPolicy(site: () => SiteConfig): StackValidationPolicy {
    return {
        name: POLICY.haReplication,
        description:
            "An HA resource's guest has a storage replication job to every other node HA may start it on; " +
            "otherwise a failover to that node finds no disk.",
        enforcementLevel: "mandatory",
        validateStack: (args: StackValidationArgs, report: ReportViolation) => {
            const { ha, clusterNodes } = haAndNodes(args, site);
            const jobs = ofType(args.resources, TYPES.replication)
                .filter((r) => !isDisabled(r))
                .map((r) => ({ id: knownString(() => r.props.resourceId), target: knownString(() => r.props.target) }));
            for (const h of ha) {
                const sid = haSid(h);
                const m = sid === undefined ? null : SID.exec(sid);
                if (!sid || !m) continue;
                const vmid = Number(m[2]);
                const vm = guestResource(args.resources, m[1]!, vmid);
                if (!vm) {
                    report(
                        `HA resource ${sid} has no ${m[1] === "ct" ? "container" : "VM"} with vmId ${vmid} in this stack, so nothing replicates its disks`,
                        h.urn,
                    );
                    continue;
                }
                const home = knownString(() => vm.props.nodeName);
                if (home === undefined) continue;
                // A job whose id or target is still unknown (preview) may be this guest's: decide at `up`.
                const mine = jobs.filter((j) => j.id === undefined || j.id.startsWith(`${vmid}-`));
                if (mine.some((j) => j.id === undefined || j.target === undefined)) continue;
                const targets = new Set(mine.map((j) => j.target!));
                const allowed = strictNodes(args.resources, sid);
                for (const node of clusterNodes) {
                    if (node === home || targets.has(node) || (allowed !== undefined && !allowed.has(node))) continue;
                    report(
                        `HA resource ${sid} may start guest ${vmid} on ${node}, but the guest (home node ${home}) has no replication job to ${node}: ` +
                            `a failover there would find no disk. Replicate to every node HA may use (guests[].replicateTo), ` +
                            `or confine it with ha.nodes and ha.strict`,
                        h.urn,
                    );
                }
            }
        },
    };
}

function qdevicePolicy(site: () => SiteConfig): StackValidationPolicy {
    return {
        name: POLICY.qdevice,
        description:
            "A two-node cluster with HA resources has a QDevice step, and every HA resource waits for it: " +
            "without the third vote the survivor of a node failure loses quorum and HA fences it.",
        enforcementLevel: "mandatory",
        validateStack: (args: StackValidationArgs, report: ReportViolation) => {
            const nodes = site().nodes;
            if (nodes === undefined || nodes.length !== 2) args.notApplicable("not a two-node cluster");
            const ha = haResources(args);
            const steps = args.resources.filter(isQdeviceStep);
            if (steps.length === 0) {
                const sids = ha.map((h) => haSid(h) ?? h.name).join(", ");
                report(
                    `the two-node cluster ${nodes!.join(" + ")} has HA resources (${sids}) but no QDevice step ` +
                        `(a remote command <name>-qdevice-setup): when either node fails, the survivor loses quorum and HA fences it. ` +
                        `Add qdevice: { address, sshHostKey } to the stack`,
                );
                return;
            }
            const stepUrns = new Set(steps.map((s) => s.urn));
            for (const h of ha) {
                const deps = dependencyClosure(h);
                if ([...stepUrns].some((u) => deps.has(u))) continue;
                report(
                    `HA resource ${haSid(h) ?? h.name} does not wait for the QDevice step ${steps[0]!.name}: ` +
                        `HA could arm fencing before the third vote exists`,
                    h.urn,
                );
            }
        },
    };
}

function zfsCleanupPolicy(): ResourceValidationPolicy {
    return {
        name: POLICY.zfsCleanup,
        description:
            "No proxmoxve node.disk.Zfs resource with cleanupDisks: pools are created and adopted by scripts/zpool.sh, which never destroys.",
        enforcementLevel: "mandatory",
        validateResource: (args: ResourceValidationArgs, report: ReportViolation) => {
            if (args.type !== TYPES.zfs) return;
            if (knownValue(() => args.props.cleanupDisks) !== true) return;
            report(
                `node.disk.Zfs ${args.name} sets cleanupDisks: deleting or replacing it (any edit of its devices, raidlevel, ashift ` +
                    `or compression replaces it) wipes the pool's disks. Pools are managed by scripts/zpool.sh, which never destroys`,
            );
        },
    };
}

/** A value that was a secret, and where it came from (never the value itself in a message). */
interface SecretSource {
    readonly label: string;
    readonly value: string;
}

/** Secret values shorter than this are not searched for (they would match ordinary text). */
export const MIN_SECRET_LENGTH = 6;
/** Lines of a multi-line secret (e.g. a private key's body) are searched for when at least this long. */
export const MIN_SECRET_LINE_LENGTH = 16;

/**
 * The forms a secret takes in a command text: as is, and as POSIX single
 * quoting writes it (each `'` becomes `'\\''`, components/remote.ts shq), which
 * is how every argument reaches a script's text.
 */
function needles(value: string): string[] {
    const out = new Set<string>();
    const add = (v: string) => {
        out.add(v);
        if (v.includes("'")) out.add(v.replace(/'/g, "'\\''"));
    };
    if (value.trim().length >= MIN_SECRET_LENGTH) add(value.trim());
    for (const line of value.split(/\r?\n/)) {
        const l = line.trim();
        // PEM/OpenSSH armour lines are public boilerplate, not the secret.
        if (l.length >= MIN_SECRET_LINE_LENGTH && !/^-----(BEGIN|END) [A-Z0-9 ]+-----$/.test(l)) add(l);
    }
    return [...out];
}

const CONNECTION_SECRETS = ["password", "privateKey", "privateKeyPassword"] as const;
const PROVIDER_SECRETS = ["apiToken", "password", "authTicket", "csrfPreventionToken"] as const;

function secretSources(site: SiteConfig, resources: readonly PolicyResource[]): SecretSource[] {
    const out: SecretSource[] = [];
    const add = (label: string, read: () => unknown) => {
        const v = knownString(read);
        if (v !== undefined && v !== "") out.push({ label, value: v });
    };
    for (const [key, value] of Object.entries(site.secrets)) out.push({ label: `secret config ${key}`, value });
    for (const r of resources) {
        if (COMMAND_TYPES.includes(r.type)) {
            add(`the stdin of command ${r.name}`, () => r.props.stdin);
            for (const f of CONNECTION_SECRETS) {
                add(`connection.${f} of command ${r.name}`, () => r.props.connection?.[f]);
                add(`connection.proxy.${f} of command ${r.name}`, () => r.props.connection?.proxy?.[f]);
            }
        } else if (r.type.startsWith("pulumi:providers:")) {
            for (const f of PROVIDER_SECRETS) add(`${f} of provider ${r.name}`, () => r.props[f]);
            add(`ssh.password of provider ${r.name}`, () => r.props.ssh?.password);
            add(`ssh.privateKey of provider ${r.name}`, () => r.props.ssh?.privateKey);
        }
    }
    return out;
}

function secretInTextPolicy(site: () => SiteConfig): StackValidationPolicy {
    return {
        name: POLICY.secretInText,
        description:
            "No command's create/update/delete text contains a value that was a secret: the text is shown in previews, diffs, " +
            "logs and error messages. Secrets go on stdin as secret Outputs.",
        enforcementLevel: "mandatory",
        validateStack: (args: StackValidationArgs, report: ReportViolation) => {
            const commands = args.resources.filter((r) => COMMAND_TYPES.includes(r.type));
            if (commands.length === 0) args.notApplicable("the stack has no commands");
            const sources = secretSources(site(), args.resources).map((s) => ({ label: s.label, needles: needles(s.value) }));
            for (const c of commands) {
                for (const field of ["create", "update", "delete"] as const) {
                    const text = knownString(() => c.props[field]);
                    if (text === undefined) continue;
                    const hit = sources.find((s) => s.needles.some((n) => text.includes(n)));
                    if (!hit) continue;
                    report(
                        `command ${c.name}: its ${field} text contains the value of ${hit.label}. Pass secrets on stdin ` +
                            `(a secret Output), never in the command text: it is shown in previews, diffs, logs and error messages`,
                        c.urn,
                    );
                }
            }
        },
    };
}

/**
 * Where a command's output is a secret although it takes no stdin: another
 * resource's credential (a provider's token or password, a command's stdin or
 * connection secret) is computed from it (the engine's property
 * dependencies), e.g. the API token a bootstrap step prints.
 */
function outputFeedsSecret(c: PolicyResource, resources: readonly PolicyResource[]): string | undefined {
    for (const r of resources) {
        const fields = COMMAND_TYPES.includes(r.type)
            ? ["stdin", "connection"]
            : r.type.startsWith("pulumi:providers:")
              ? [...PROVIDER_SECRETS, "ssh"]
              : [];
        for (const f of fields) {
            if ((r.propertyDependencies?.[f] ?? []).some((d) => d.urn === c.urn)) return `${f} of ${r.name}`;
        }
    }
    return undefined;
}

function secretLoggingPolicy(): StackValidationPolicy {
    return {
        name: POLICY.secretLogging,
        description:
            'A command that takes a secret on stdin, or whose output another resource uses as a credential, logs nothing (logging: "none") ' +
            "and its stdout and stderr are secret outputs.",
        enforcementLevel: "mandatory",
        validateStack: (args: StackValidationArgs, report: ReportViolation) => {
            const commands = args.resources.filter((r) => COMMAND_TYPES.includes(r.type));
            if (commands.length === 0) args.notApplicable("the stack has no commands");
            for (const c of commands) {
                const stdin = peek(() => c.props.stdin);
                // Unknown during a preview still means "set".
                const takesStdin = !stdin.known || (typeof stdin.value === "string" && stdin.value !== "");
                const feeds = takesStdin ? undefined : outputFeedsSecret(c, args.resources);
                if (!takesStdin && feeds === undefined) continue;
                const why = takesStdin ? "takes a secret on stdin" : `prints a secret (its output feeds the ${feeds})`;
                const logging = peek(() => c.props.logging);
                if (logging.known && logging.value !== "none") {
                    const shown = logging.value === undefined ? "unset (stdoutAndStderr)" : `"${String(logging.value)}"`;
                    report(`command ${c.name} ${why} but its logging is ${shown}: set logging: "none"`, c.urn);
                }
                const secretOutputs = c.opts.additionalSecretOutputs ?? [];
                const missing = ["stdout", "stderr"].filter((o) => !secretOutputs.includes(o));
                if (missing.length > 0) {
                    report(
                        `command ${c.name} ${why} but ${missing.join(" and ")} ${missing.length > 1 ? "are" : "is"} ` +
                            `not a secret output: add additionalSecretOutputs: ["stdout", "stderr"]`,
                        c.urn,
                    );
                }
            }
        },
    };
}

/** Cluster-level firewall objects have no node, VM or container. */
function clusterLevel(r: PolicyResource): boolean {
    return ["nodeName", "vmId", "containerId"].every((k) => knownValue(() => r.props[k]) === undefined);
}

/** Does a firewall `dport` ("22", "22,8006", "8000:8010", "ssh") cover this port? */
export function dportCovers(dport: string, port: number): boolean {
    const names: Record<string, number> = { ssh: 22 };
    return dport.split(",").some((part) => {
        const p = part.trim();
        const range = /^(\d+):(\d+)$/.exec(p);
        if (range) return Number(range[1]) <= port && port <= Number(range[2]);
        return (/^\d+$/.test(p) ? Number(p) : names[p.toLowerCase()]) === port;
    });
}

const MANAGEMENT_PORTS = [
    { port: 22, what: "SSH" },
    { port: 8006, what: "the web UI and API" },
] as const;

function firewallAllowlistPolicy(site: () => SiteConfig): StackValidationPolicy {
    return {
        name: POLICY.firewallAllowlist,
        description:
            "An enabled cluster firewall has a non-empty management allowlist: an IP set that rules admit SSH (22) and the " +
            "web UI/API (8006) from, holding an address that is not one of the cluster nodes' own. Otherwise enabling it " +
            "locks the operators out.",
        enforcementLevel: "mandatory",
        validateStack: (args: StackValidationArgs, report: ReportViolation) => {
            const enabled = ofType(args.resources, TYPES.clusterFirewall).filter((r) => knownValue(() => r.props.enabled) === true);
            if (enabled.length === 0) args.notApplicable("the cluster firewall is not enabled");
            // IP set name → number of entries that admit someone other than the nodes themselves (nomatch entries
            // exclude; a set of the nodes' own addresses, like the program's cluster-nodes set, admits no operator).
            const own = new Set(site().nodeAddresses ?? []);
            const entries = new Map<string, number>();
            for (const s of ofType(args.resources, TYPES.ipset).filter(clusterLevel)) {
                const name = knownString(() => s.props.name);
                const cidrs = knownValue(() => s.props.cidrs as { name?: unknown; nomatch?: boolean }[] | undefined) ?? [];
                const operators = cidrs.filter(
                    (c) => c?.nomatch !== true && !(typeof c?.name === "string" && own.has(c.name.split("/")[0]!.toLowerCase())),
                );
                if (name !== undefined) entries.set(name, (entries.get(name) ?? 0) + operators.length);
            }
            const rules = ofType(args.resources, TYPES.firewallRules)
                .filter(clusterLevel)
                .flatMap((r) => knownValue(() => r.props.rules as Record<string, unknown>[] | undefined) ?? []);
            const fromNonEmptySet = (source: unknown) => {
                const m = typeof source === "string" ? /^\+(?:dc\/)?([A-Za-z][A-Za-z0-9_-]*)$/.exec(source) : null;
                return m !== null && (entries.get(m[1]!) ?? 0) > 0;
            };
            for (const { port, what } of MANAGEMENT_PORTS) {
                // pve-firewall itself admits 22 and 8006 from a non-empty IP set named `management`.
                if ((entries.get("management") ?? 0) > 0) continue;
                const admitted = rules.some(
                    (r) =>
                        r.type === "in" &&
                        r.action === "ACCEPT" &&
                        r.enabled !== false &&
                        (r.proto === undefined || r.proto === "tcp") &&
                        typeof r.dport === "string" &&
                        dportCovers(r.dport, port) &&
                        fromNonEmptySet(r.source),
                );
                if (admitted) continue;
                report(
                    `the cluster firewall is enabled, but no rule admits ${what} (tcp/${port}) from an IP set holding an address ` +
                        `other than the cluster nodes' own: the operators would be locked out. List their networks in firewall.managementAllowlist`,
                    enabled[0]!.urn,
                );
            }
        },
    };
}

/** The provider's default schedule when a Replication sets none (its docs: "Defaults to *\/15"). */
export const PROVIDER_DEFAULT_SCHEDULE = "*/15";

function rpoPolicy(site: () => SiteConfig): ResourceValidationPolicy {
    return {
        name: POLICY.rpo,
        description:
            "Every replication job's worst-case recovery point (the longest gap its schedule leaves between runs) is within the " +
            "stack's replication.rpoTarget.",
        enforcementLevel: "mandatory",
        validateResource: (args: ResourceValidationArgs, report: ReportViolation) => {
            if (args.type !== TYPES.replication) return;
            const target = site().rpoTarget;
            if (target === undefined) args.notApplicable("the stack declares no replication.rpoTarget");
            if (isDisabled(args)) return;
            const id = knownString(() => args.props.resourceId) ?? args.name;
            const schedule = peek(() => args.props.schedule);
            if (!schedule.known) return;
            const spec = typeof schedule.value === "string" ? schedule.value : PROVIDER_DEFAULT_SCHEDULE;
            const seconds = parseDuration(target!);
            if (seconds === undefined) {
                report(`replication.rpoTarget "${target}" is not a duration such as 10m`);
                return;
            }
            let worst: number;
            try {
                worst = analyseSchedule(spec).worstCaseGapMinutes;
            } catch (e) {
                if (!(e instanceof ScheduleError)) throw e;
                report(`replication job ${id} has schedule "${spec}", which cannot be analysed: ${e.message}`);
                return;
            }
            if (worst * 60 <= seconds) return;
            report(
                `replication job ${id} runs on schedule "${spec}": a failover can lose up to ${formatMinutes(worst)} of writes, ` +
                    `more than replication.rpoTarget ${target}`,
            );
        },
    };
}

/** `local:iso/x.iso` → storage, content and file name; undefined for `none`, `cdrom` and anything else. */
function parseVolume(volid: string): { storage: string; content: string; fileName: string } | undefined {
    const m = /^([a-z][a-z0-9_.-]*):(iso|import|vztmpl)\/(.+)$/.exec(volid);
    return m ? { storage: m[1]!, content: m[2]!, fileName: m[3]! } : undefined;
}

function haMediaPolicy(site: () => SiteConfig): StackValidationPolicy {
    return {
        name: POLICY.haMedia,
        description:
            "An HA VM's CD drive holds only an ISO that a download.File puts on every node HA may start the VM on: " +
            'a start where the ISO is missing fails, and Proxmox refuses to migrate a VM with a local ISO (qemu-server QemuMigrate.pm, "local cdrom image").',
        enforcementLevel: "mandatory",
        validateStack: (args: StackValidationArgs, report: ReportViolation) => {
            const { ha, clusterNodes } = haAndNodes(args, site);
            const downloads = ofType(args.resources, TYPES.downloadFile).map((r) => ({
                node: knownString(() => r.props.nodeName),
                storage: knownString(() => r.props.datastoreId),
                content: knownString(() => r.props.contentType),
                fileName: knownString(() => r.props.fileName),
            }));
            // A download with a value still unknown (preview) may be the one: decide at `up`.
            if (downloads.some((d) => !d.node || !d.storage || !d.content || !d.fileName)) return;
            for (const h of ha) {
                const sid = haSid(h);
                const m = sid === undefined ? null : SID.exec(sid);
                if (!sid || !m || m[1] !== "vm") continue;
                const vm = vmResource(args.resources, Number(m[2]));
                if (!vm) continue;
                const cdrom = knownValue(() => vm.props.cdrom as { fileId?: unknown } | undefined);
                const fileId = typeof cdrom?.fileId === "string" ? cdrom.fileId : undefined;
                if (fileId === undefined || fileId === "none" || fileId === "cdrom") continue;
                const vol = parseVolume(fileId);
                const allowed = strictNodes(args.resources, sid);
                const nodes = clusterNodes.filter((n) => allowed === undefined || allowed.has(n));
                const missing = nodes.filter(
                    (n) =>
                        !vol ||
                        !downloads.some(
                            (d) => d.node === n && d.storage === vol.storage && d.content === vol.content && d.fileName === vol.fileName,
                        ),
                );
                if (missing.length === 0) continue;
                report(
                    `HA resource ${sid} may start guest ${m[2]} on ${missing.join(", ")}, but its CD drive holds ${fileId} and no download puts that file there: ` +
                        `the start fails where it is missing. Declare the ISO as guests[].source.iso (downloaded to every node the guest may run on), ` +
                        `or detach it (source.iso.attached: false)`,
                    h.urn,
                );
            }
        },
    };
}

/**
 * Every policy of the pack, in a fixed order. `site` is read at validation
 * time: policy/index.ts passes the engine's config, tests pass their own.
 */
export function guardrails(site: () => SiteConfig): Policies {
    return [
        haReplicationPolicy(site),
        qdevicePolicy(site),
        zfsCleanupPolicy(),
        secretInTextPolicy(site),
        secretLoggingPolicy(),
        firewallAllowlistPolicy(site),
        rpoPolicy(site),
        haMediaPolicy(site),
    ];
}
