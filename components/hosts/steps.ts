/**
 * Pure helpers of the host bootstrap: what each script receives, derived from
 * the validated site only (no resources, no Outputs), so they are testable on
 * their own and the component stays a list of steps and edges.
 */
import type { Link, Site, SiteNode } from "../model";
import type { SshHost } from "../remote";

/** The provider's token when the stack gives none: `root@pam!pulumi`. */
export const BOOTSTRAP_TOKEN = { userid: "root@pam", tokenid: "pulumi" } as const;

/** Packages per role (pvecm.adoc: corosync-qdevice on all nodes, corosync-qnetd on the external host). */
export const NODE_QDEVICE_PACKAGE = "corosync-qdevice";
export const QNETD_PACKAGE = "corosync-qnetd";

/** Name used for the qnetd host in resource names; a node must not use it. */
export const QNETD_HOST_NAME = "qnetd";

/** pvecm link property string: `10.0.0.11` or `address=10.0.0.11,priority=20`. */
export function linkArg(link: Link): string {
    return link.priority === undefined ? link.address : `address=${link.address},priority=${link.priority}`;
}

/** The qnetd host as an SSH target (absent without a QDevice). */
export function qnetdHost(site: Site): SshHost | undefined {
    const q = site.qdevice;
    return q ? { name: QNETD_HOST_NAME, address: q.address, sshPort: q.sshPort, sshHostKey: q.sshHostKey } : undefined;
}

/** `zpool.sh` arguments: pool layout ashift compression dataset-or-empty disk… */
export function zpoolArgs(site: Site, node: SiteNode): (string | number)[] {
    // The storage dataset lives in the node's pool (validation makes storage.pool equal to every node's pool).
    const dataset = site.storage.pool === node.zfs.pool ? (site.storage.dataset ?? "") : "";
    return [node.zfs.pool, node.zfs.layout, node.zfs.ashift, node.zfs.compression, dataset, ...node.zfs.disks];
}

export interface CorosyncVlanStep {
    readonly tag: number;
    /** `corosync-vlan.sh` arguments: parent-iface tag address/prefix mtu-or-empty. */
    readonly args: (string | number)[];
}

/** Every corosync-purpose VLAN that gives this node an address, in stack order. */
export function corosyncVlans(site: Site, node: SiteNode): CorosyncVlanStep[] {
    return site.network.vlans
        .filter((v) => v.purpose === "corosync" && v.nodes.includes(node.name) && v.addresses[node.name] !== undefined)
        .map((v) => ({ tag: v.tag, args: [v.interface, v.tag, v.addresses[node.name]!, v.mtu ?? ""] }));
}

/**
 * The value of `key` in a script's `key=value` stdout lines. Keys whose value
 * may contain spaces or '=' (pubkey, token) are the only field on their line,
 * so the value is the rest of that line; otherwise it ends at the next space.
 * Returns "" when the key is missing: the next script then refuses the empty
 * argument with its own one-line reason (and the offline plan, whose mocked
 * commands print nothing, still evaluates).
 */
export function stdoutValue(stdout: string | undefined, key: string, restOfLine = false): string {
    for (const line of (stdout ?? "").split("\n")) {
        const fields = line.trim();
        let at = -1;
        if (fields.startsWith(`${key}=`)) at = 0;
        else if (fields.includes(` ${key}=`)) at = fields.indexOf(` ${key}=`) + 1;
        if (at < 0) continue;
        const value = fields.slice(at + key.length + 1);
        return restOfLine ? value : value.split(/\s/)[0]!;
    }
    return "";
}
