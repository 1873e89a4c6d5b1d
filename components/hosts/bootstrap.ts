/**
 * Host bootstrap over SSH (issue #3): everything the Proxmox API cannot do,
 * one `remote.Command` per script under scripts/, in the order of docs/design.md §3
 * with only the true dependencies as edges:
 *
 *   ssh-ready(host)  ─▶ every other step on that host, except the first node's
 *                       api-token and cluster-create (they poll themselves)
 *   packages(node), packages(qnetd)        (only with a QDevice; on nodes it
 *                                           also selects cluster.repository)
 *   zpool(node), watchdog(node), corosync-vlan(node, tag)   parallel across nodes
 *   api-token(nodes[0])   (only when the stack has no apiToken: once per
 *     │   rotation; user, role, ACL on a fresh site; before the cluster exists:
 *     ▼   /etc/pve writes; polls itself)      api-access after it and the create
 *   cluster-create(nodes[0])  ◀─ its corosync VLANs; dials with ssh-ready's
 *     │                          retry itself (a first step, not a wait)
 *     │  prints public key (the token is api-token's, the fingerprint join-check's)
 *     ├▶ join(nodes[1]) ─▶ join(nodes[2]) …   one at a time (PVE locks joins);
 *     │    each also after the joiner's ssh-ready and corosync VLANs, and after
 *     │    its join-check(nodes[0]): read-only, polls like the create (no edge
 *     │    to ssh-ready or the create, so no extra stage): the fingerprint as it
 *     │    is now, and the refusal of a join while a QDevice is configured
 *     └▶ qnetd-authorize(qnetd) ◀─ packages(qnetd)
 *   qdevice-setup(nodes[0]) ◀─ all joins, all nodes' packages, qnetd-authorize
 *   api-certificate(node)  ◀─ all joins     (verified TLS only; the provider waits for
 *                                            the endpoint node's: see ApiLayer)
 *
 * Values read from one command's stdout (`key=value` lines: fingerprint,
 * public key, token) feed later commands through `apply`; fingerprint and
 * public key are not secrets (join-check's stdout carries no secret at all). The root password reaches `pvecm add` only on
 * stdin; the bootstrapped token only in secret, unlogged outputs.
 *
 * The API token (issue #14): a dedicated user and role (steps.ts API_USER,
 * API_ROLE, API_PRIVILEGES) and a privilege-separated token. api-access is
 * idempotent and re-runs on any change (a new privilege list converges the
 * role before any API resource is touched: the provider waits for it).
 * api-token runs once per `apiTokenRotation` generation: its script,
 * arguments and connection are not diffed, so editing a script, a link or the
 * SSH key never re-creates the token, and in a preview its stdout (the
 * provider's token) stays known. Raising the generation replaces it
 * create-first: the new token is made and recorded, then the old command's
 * delete (api-token-remove.sh) revokes the old one.
 */
import * as pulumi from "@pulumi/pulumi";
import type * as command from "@pulumi/command";
import type { SiteSecrets } from "../config";
import { quorumFacts } from "../facts";
import type { Site, SiteNode } from "../model";
import { isDown } from "../access";
import { scriptCommand, type ScriptCommandArgs, type SshHost } from "../remote";
import {
    API_ROLE,
    API_USER,
    NODE_QDEVICE_PACKAGE,
    QNETD_HOST_NAME,
    QNETD_PACKAGE,
    apiPrivilegeList,
    apiTokenId,
    corosyncVlans,
    linkArg,
    nodeSourceAddresses,
    qnetdHost,
    stdoutValue,
    zpoolArgs,
} from "./steps";

/** What later layers wait for, by meaning. */
export interface BootstrapStages {
    /** One per node: the ZFS pool and dataset exist. */
    readonly pools: readonly pulumi.Resource[];
    /** One per node: the watchdog module is configured. */
    readonly watchdogs: readonly pulumi.Resource[];
    /**
     * Membership, index-aligned with `site.nodes`: `cluster[0]` creates the
     * cluster on the first node, `cluster[i]` is the step after which node i is
     * a member (its join). Joins run one at a time, in this order.
     */
    readonly cluster: readonly pulumi.Resource[];
    /** The QDevice gives its vote (absent on odd-sized clusters). */
    readonly qdevice?: pulumi.Resource;
    /**
     * One per node (index-aligned with `site.nodes`), with verified TLS only:
     * pveproxy serves the stack's certificate (scripts/api-certificate.sh).
     */
    readonly apiCertificates?: readonly pulumi.Resource[];
}

export interface HostBootstrapArgs {
    readonly site: Site;
    readonly secrets: SiteSecrets;
}

function checkArgs({ site, secrets }: HostBootstrapArgs): void {
    if (site.nodes.length === 0) throw new Error("HostBootstrap: a site needs at least one node");
    if (site.nodes.some((n) => n.name === QNETD_HOST_NAME)) {
        throw new Error(`HostBootstrap: node name "${QNETD_HOST_NAME}" is reserved for the QDevice host's steps; rename the node`);
    }
    if (site.nodes.length > 1 && !secrets.rootPassword && !secrets.ssh.previewOnly) {
        throw new Error("HostBootstrap: the rootPassword secret is required to join nodes: pulumi config set --secret rootPassword");
    }
    if (site.api.tls === "certificate" && (!secrets.apiCertificate || (!secrets.apiCertificateKey && !secrets.ssh.previewOnly))) {
        throw new Error(
            "HostBootstrap: verified TLS needs the apiCertificate and apiCertificateKey secrets (or apiInsecure: true): pulumi config set --secret apiCertificate < fullchain.pem",
        );
    }
}

/** How long ssh-ready keeps dialling a host that is still booting (official poll pattern). */
export const SSH_READY_TIMEOUT = "10m";

/** The poll pattern of a host's first step: dial until the host answers, within SSH_READY_TIMEOUT. */
const POLL_CONNECTION = { dialErrorLimit: -1 } as const;
const POLL_TIMEOUTS = { create: SSH_READY_TIMEOUT, update: SSH_READY_TIMEOUT } as const;

export class HostBootstrap extends pulumi.ComponentResource {
    readonly stages: BootstrapStages;
    /** API token for the provider: from the stack secret, or bootstrapped (secret). */
    readonly apiToken: pulumi.Output<string>;
    /** The steps the provider must wait for before its first call (api-access: the token's privileges). */
    readonly apiReady: readonly pulumi.Resource[];
    /** Nodes whose configured watchdog module differs from the loaded one. */
    readonly rebootRequired: pulumi.Output<string[]>;

    constructor(name: string, args: HostBootstrapArgs, opts?: pulumi.ComponentResourceOptions) {
        // Checked before anything is registered, so a refusal leaves no half-registered component behind.
        checkArgs(args);
        super("proxmox-ha:hosts:HostBootstrap", name, {}, opts);
        const { site, secrets } = args;
        const first = site.nodes[0]!;

        const ssh = secrets.ssh;
        const qnetd = qnetdHost(site);

        // ---- ssh-ready: first on every host, waits while the host boots.
        const ready = new Map<string, command.remote.Command>();
        for (const host of [...site.nodes, ...(qnetd ? [qnetd] : [])]) {
            ready.set(
                host.name,
                scriptCommand(
                    `${name}-${host.name}-ssh-ready`,
                    { host, ssh, script: "ssh-ready", connection: POLL_CONNECTION, down: isDown(site, host.name) },
                    { parent: this, customTimeouts: POLL_TIMEOUTS },
                ),
            );
        }

        /** A step on `host`: always after that host's ssh-ready, plus `after`. */
        const step = (
            role: string,
            host: SshHost,
            script: string,
            after: readonly pulumi.Resource[],
            extra: Omit<ScriptCommandArgs, "host" | "ssh" | "script"> = {},
            options: pulumi.CustomResourceOptions = {},
        ): command.remote.Command =>
            scriptCommand(
                `${name}-${role}`,
                { host, ssh, script, down: isDown(site, host.name), ...extra },
                { ...options, parent: this, dependsOn: [ready.get(host.name)!, ...after] },
            );

        // ---- per-node preparation, parallel across nodes.
        const pools = site.nodes.map((n) =>
            // retainOnDelete: removing the stack (or this step) must never touch a pool; there is no delete script either.
            step(`${n.name}-zpool`, n, "zpool", [], { args: zpoolArgs(site, n) }, { retainOnDelete: true }),
        );
        const watchdogs = site.nodes.map((n) => step(`${n.name}-watchdog`, n, "watchdog", [], { args: [n.watchdog] }));
        const vlans = new Map<string, command.remote.Command[]>(
            site.nodes.map((n) => [
                n.name,
                corosyncVlans(site, n).map((v) => step(`${n.name}-corosync-vlan-${v.tag}`, n, "corosync-vlan", [], { args: v.args })),
            ]),
        );
        const nodePackages = qnetd
            ? site.nodes.map((n) =>
                  step(`${n.name}-packages`, n, "packages", [], {
                      args: ["--repository", site.cluster.repository, NODE_QDEVICE_PACKAGE],
                  }),
              )
            : [];

        // ---- the provider's API token (only when the stack gives none), before the
        // cluster exists: a standalone node's /etc/pve is writable, `pvecm create`
        // keeps it as the cluster's, and no join overlaps the writes (while a node
        // joins, the first node alone is not quorate and pmxcfs is read-only).
        // api-token (once per rotation) also makes the user, role and ACL on a
        // fresh site; api-access converges them later (it waits for the create and
        // writes only when the privileges changed), and the provider waits for it.
        let apiTokenStep: command.remote.Command | undefined;
        const tokenid = apiTokenId(site.apiTokenRotation);
        if (!secrets.apiToken) {
            apiTokenStep = scriptCommand(
                `${name}-api-token`,
                {
                    host: first,
                    ssh,
                    script: "api-token",
                    args: [API_USER, tokenid, API_ROLE, apiPrivilegeList()],
                    secretOutput: true,
                    once: true,
                    triggers: [API_USER, tokenid],
                    deleteScript: { script: "api-token-remove", args: [API_USER, tokenid] },
                    // A first step on the host, like the create: it polls while the node boots.
                    connection: POLL_CONNECTION,
                },
                { parent: this, customTimeouts: POLL_TIMEOUTS },
            );
        }

        // ---- cluster: create on the first node, then joins one at a time.
        const links = (n: SiteNode) => n.links.map(linkArg);
        const create = scriptCommand(
            `${name}-cluster-create`,
            {
                host: first,
                ssh,
                script: "cluster-create",
                args: [site.cluster.name, ...links(first)],
                // Not after ssh-ready (a wait, not work: one stage less on the critical
                // path): it waits for a booting node with ssh-ready's poll pattern itself.
                connection: POLL_CONNECTION,
                down: isDown(site, first.name),
            },
            {
                parent: this,
                dependsOn: [...vlans.get(first.name)!, ...(apiTokenStep ? [apiTokenStep] : [])],
                customTimeouts: POLL_TIMEOUTS,
            },
        );
        // The public key is not a secret; it becomes argument text of qnetd-authorize. (The joins take
        // the fingerprint from their own join-check, read right before each join.)
        const pubkey = create.stdout.apply((out) => stdoutValue(out, "pubkey", true));
        this.apiToken = secrets.apiToken ?? pulumi.secret(apiTokenStep!.stdout.apply((out) => stdoutValue(out, "token", true)));
        const apiAccess = apiTokenStep
            ? scriptCommand(
                  `${name}-api-access`,
                  { host: first, ssh, script: "api-access", args: [API_USER, API_ROLE, apiPrivilegeList(), tokenid] },
                  { parent: this, dependsOn: [apiTokenStep, create] },
              )
            : undefined;
        this.apiReady = apiAccess ? [apiAccess] : [];

        const cluster: command.remote.Command[] = [create];
        if (site.nodes.length > 1) {
            // First line of stdin = the first node's root password (pvecm add reads it when stdin is no TTY).
            // In a preview without the password (commands do not run, stdin is not diffed) a placeholder stands in.
            const passwordLine = pulumi.secret((secrets.rootPassword ?? pulumi.output("")).apply((p) => `${p}\n`));
            for (const n of site.nodes.slice(1)) {
                const previous = cluster[cluster.length - 1]!;
                // Read-only, on the first node, for this join only: the fingerprint as it is
                // now (pveupdate renews pve-ssl.pem, so the create's value goes stale for a
                // node joining months later; re-reading never re-runs the create, which
                // would rotate the token) and the QDevice refusal (pvecm.adoc: remove the
                // QDevice before adding nodes). The joiner's identity and links are its
                // triggers, so a replaced node gets a fresh read. Not after ssh-ready and
                // not after the create (the create keeps the certificate): it polls like
                // the create, so the join's stage is unchanged.
                const check = scriptCommand(
                    `${name}-${n.name}-join-check`,
                    {
                        host: first,
                        ssh,
                        script: "join-check",
                        args: [site.cluster.name, n.name],
                        triggers: [n.address, n.sshHostKey, ...links(n)],
                        connection: POLL_CONNECTION,
                    },
                    { parent: this, customTimeouts: POLL_TIMEOUTS },
                );
                cluster.push(
                    step(`${n.name}-join`, n, "cluster-join", [create, check, previous, ...vlans.get(n.name)!], {
                        args: [
                            // The joiner must reach the first node on every link before pvecm runs
                            // (a join whose corosync traffic cannot pass hangs and leaves the first
                            // node inquorate); the script also bounds pvecm add in time.
                            ...first.links.flatMap((l) => ["--peer-link", l.address]),
                            site.cluster.name,
                            first.address,
                            check.stdout.apply((out) => stdoutValue(out, "fingerprint")),
                            ...links(n),
                        ],
                        stdin: passwordLine,
                    }),
                );
            }
        }

        // ---- QDevice: authorize the first node's key on the qnetd host, then set up once all nodes are members.
        let qdevice: command.remote.Command | undefined;
        if (qnetd) {
            const qnetdPackages = step("qnetd-packages", qnetd, "packages", [], { args: [QNETD_PACKAGE] });
            // The key only from the nodes' addresses, restricted (scripts/qnetd-authorize.sh); removing the
            // QDevice from the stack removes the line again (qnetd-deauthorize.sh, delete-first on a key change).
            const authorize = step("qnetd-authorize", qnetd, "qnetd-authorize", [qnetdPackages, create], {
                args: [pubkey, nodeSourceAddresses(site).join(",")],
                deleteScript: { script: "qnetd-deauthorize", args: [pubkey] },
            });
            qdevice = step("qdevice-setup", first, "qdevice-setup", [...cluster, ...nodePackages, authorize], {
                // The stack's tie-breaker: pvecm writes none (corosync-qdevice then favours the lowest node id).
                args: [qnetd.address, qnetd.sshHostKey, quorumFacts(site).expectedVotes, site.qdevice?.tieBreaker ?? "lowest"],
            });
        }

        // ---- API certificate (verified TLS): on every node once the cluster is
        // formed. Not earlier: a join replaces the joiner's /etc/pve (where
        // pveproxy-ssl.pem lives) by the cluster's, `pvecm add` checks the
        // peer's served certificate against the fingerprint the create printed,
        // and pvenode's write to /etc/pve needs quorum, which a join takes away
        // from the first node until the new vote arrives.
        let apiCertificates: command.remote.Command[] | undefined;
        if (site.api.tls === "certificate") {
            // A preview has no key (it installs nothing; stdin is out of its diff): the certificate alone.
            const key = secrets.apiCertificateKey ?? pulumi.output("");
            const pem = pulumi.secret(
                pulumi.all([secrets.apiCertificate!, key]).apply(([cert, k]) => (k ? `${cert.trim()}\n${k.trim()}\n` : `${cert.trim()}\n`)),
            );
            apiCertificates = site.nodes.map((n) =>
                step(`${n.name}-api-certificate`, n, "api-certificate", cluster, { args: [n.name, n.address], stdin: pem }),
            );
        }

        this.rebootRequired = pulumi
            .all(watchdogs.map((w) => w.stdout))
            .apply((outs) => site.nodes.filter((_, i) => stdoutValue(outs[i], "reboot-required") === "yes").map((n) => n.name));

        this.stages = { pools, watchdogs, cluster, ...(qdevice ? { qdevice } : {}), ...(apiCertificates ? { apiCertificates } : {}) };
        this.registerOutputs({ rebootRequired: this.rebootRequired, apiToken: this.apiToken });
    }
}
