/**
 * The read-only commands adopt runs: file reads and status queries, nothing
 * that writes, restarts or loads anything. `LC_ALL=C` keeps outputs in their
 * documented (English) form. Files that a site may lack are read as empty.
 */
import { shq } from "../health/commands";

const catIfExists = (f: string) => `if [ -e ${f} ]; then cat ${f}; fi`;

/** Cluster-wide files, read from the first node (every member sees the same /etc/pve). */
export const CLUSTER_COMMANDS = {
    corosyncConf: "cat /etc/pve/corosync.conf",
    storageCfg: "cat /etc/pve/storage.cfg",
    replicationCfg: catIfExists("/etc/pve/replication.cfg"),
    haResourcesCfg: catIfExists("/etc/pve/ha/resources.cfg"),
    haRulesCfg: catIfExists("/etc/pve/ha/rules.cfg"),
    datacenterCfg: catIfExists("/etc/pve/datacenter.cfg"),
    sdnZonesCfg: catIfExists("/etc/pve/sdn/zones.cfg"),
    sdnVnetsCfg: catIfExists("/etc/pve/sdn/vnets.cfg"),
    // Every guest config, each preceded by NUL <path below /etc/pve/nodes> NUL.
    guestConfigs:
        'for f in /etc/pve/nodes/*/qemu-server/*.conf /etc/pve/nodes/*/lxc/*.conf; do if [ -e "$f" ]; then printf \'\\0%s\\0\' "${f#/etc/pve/nodes/}"; cat "$f"; fi; done',
    certificate: "if [ -e /etc/pve/local/pveproxy-ssl.pem ]; then echo custom; else echo self-signed; fi",
} as const;

export type ClusterKey = keyof typeof CLUSTER_COMMANDS;

/** Per node: its network configuration, its HA watchdog setting and its pool. */
export function nodeCommands(pool: string) {
    return {
        interfaces: 'cat /etc/network/interfaces; for f in /etc/network/interfaces.d/*; do if [ -f "$f" ]; then cat "$f"; fi; done',
        haManagerDefault: catIfExists("/etc/default/pve-ha-manager"),
        zpoolStatus: `LC_ALL=C zpool status -P ${shq(pool)}`,
        ashift: `LC_ALL=C zpool get -H -p -o value ashift ${shq(pool)}`,
        compression: `LC_ALL=C zfs get -H -o value compression ${shq(pool)}`,
    };
}

export type NodeKey = keyof ReturnType<typeof nodeCommands>;

/**
 * The QDevice host: connecting pins its host key; the one read is whether its
 * qnetd certificate database exists (`pvecm qdevice setup` initialises it there
 * with corosync-qnetd-certutil -i), a file test that needs no service manager.
 */
export const QNETD_COMMANDS = {
    qnetd: "if [ -d /etc/corosync/qnetd/nssdb ]; then echo qnetd-nssdb; else echo no-qnetd-nssdb; fi",
} as const;

/** Splits the guestConfigs output into path → text. */
export function splitGuestConfigs(out: string): Record<string, string> {
    const parts = out.split("\0");
    const res: Record<string, string> = {};
    for (let i = 1; i + 1 < parts.length; i += 2) res[parts[i]!] = parts[i + 1]!;
    return res;
}
