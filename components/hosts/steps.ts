/**
 * Pure helpers of the host bootstrap: what each script receives, derived from
 * the validated site only (no resources, no Outputs), so they are testable on
 * their own and the component stays a list of steps and edges.
 */
import type { Link, Site, SiteNode } from "../model";
import type { SshHost } from "../remote";

/**
 * The provider's own Proxmox user when the stack gives no apiToken: a
 * token-only user of the built-in `pve` realm (no password, so no login),
 * with one role holding exactly API_PRIVILEGES on `/`, and an API token with
 * privilege separation on whose ACL grants the same role (a privsep token
 * has the intersection of its own ACLs and its user's).
 */
export const API_USER = "proxmox-ha@pve";
export const API_ROLE = "ProxmoxHA";

/** The token id of a rotation generation (`pulumi-1`, `pulumi-2`, …). */
export function apiTokenId(rotation: number): string {
    return `pulumi-${rotation}`;
}

/**
 * Every privilege the program's API resources need, each with the API calls
 * that check it (the `permissions` blocks of the Proxmox API, sources in the
 * comment). All are granted on `/` (propagated): the checks are on `/`,
 * `/nodes/{node}`, `/storage[/{storage}]`, `/sdn/...` and `/vms/{vmid}`, and
 * the cluster-wide ones (HA, datacenter options, cluster firewall) exist
 * only on `/`. docs/operations.md lists the same table.
 */
export const API_PRIVILEGES: readonly { readonly privilege: string; readonly for: string }[] = [
    // pve-ha-manager src/PVE/API2/HA/Resources.pm, Rules.pm (index/read: Sys.Audit; create/update/delete: Sys.Console on /);
    // pve-firewall src/PVE/API2/Firewall/Cluster.pm (get_options: Sys.Audit on /); pve-manager PVE/API2/Cluster.pm (get_options);
    // pve-manager PVE/API2/Network.pm (read_network: Sys.Audit on /nodes/{node}).
    { privilege: "Sys.Audit", for: "read HA resources and rules, the cluster firewall, datacenter options, node network devices" },
    { privilege: "Sys.Console", for: "create, update, delete HA resources and HA rules (Haresource, Harule)" },
    // pve-manager PVE/API2/Cluster.pm set_options (Sys.Modify on /); pve-firewall Cluster.pm set_options and
    // PVE::Firewall rules_modify_permissions for the cluster rule env (Sys.Modify on /, rules and IP sets);
    // pve-manager PVE/API2/Network.pm create/update/delete/reload_network (Sys.Modify on /nodes/{node}).
    {
        privilege: "Sys.Modify",
        for: "datacenter options, cluster firewall options/rules/IP sets, node VLANs and bridges (and their reload)",
    },
    // pve-storage src/PVE/API2/Storage/Config.pm create/update/delete/read (Datastore.Allocate on /storage[/{storage}]).
    { privilege: "Datastore.Allocate", for: "the ZFS storage entry (create, read, update, delete)" },
    // qemu-server src/PVE/API2/Qemu.pm create_vm/update_vm: disks need Datastore.AllocateSpace on /storage/{storage};
    // pve-storage Config.pm index lists entries with Datastore.Audit or Datastore.AllocateSpace.
    { privilege: "Datastore.AllocateSpace", for: "VM disks on the storage" },
    { privilege: "Datastore.Audit", for: "list storage and volumes" },
    // pve-network src/PVE/API2/Network/SDN.pm reload (SDN.Allocate on /sdn), SDN/Zones.pm (on /sdn/zones[/{zone}]),
    // SDN/Vnets.pm (on /sdn/zones/{zone}); index: SDN.Audit.
    { privilege: "SDN.Allocate", for: "SDN zone, VNet and applying the SDN configuration" },
    { privilege: "SDN.Audit", for: "read SDN zones and VNets" },
    // qemu-server Qemu.pm: a NIC on a bridge or VNet needs SDN.Use on /sdn/zones/<zone>/<bridge> (check_vnet_access).
    { privilege: "SDN.Use", for: "attach VM NICs to bridges and VNets" },
    // qemu-server Qemu.pm create_vm/destroy_vm (VM.Allocate), update_vm (VM.Config.* per option), vm_status/start/stop
    // (VM.PowerMgmt), read (VM.Audit); Qemu/Agent.pm network-get-interfaces (VM.GuestAgent.Audit, agent enabled).
    { privilege: "VM.Allocate", for: "create and destroy VMs" },
    { privilege: "VM.Audit", for: "read VM configuration and status" },
    { privilege: "VM.Config.CDROM", for: "the VM's CD-ROM" },
    { privilege: "VM.Config.CPU", for: "cores and CPU type" },
    { privilege: "VM.Config.Disk", for: "VM disks" },
    { privilege: "VM.Config.HWType", for: "SCSI controller, OS type, machine settings" },
    { privilege: "VM.Config.Memory", for: "memory" },
    { privilege: "VM.Config.Network", for: "network devices" },
    { privilege: "VM.Config.Options", for: "name, onboot, protection, agent and other options" },
    { privilege: "VM.PowerMgmt", for: "start and stop VMs (started)" },
    { privilege: "VM.GuestAgent.Audit", for: "read the guest agent's network interfaces (agent enabled)" },
    // pve-manager PVE/API2/ReplicationConfig.pm create/update/delete (VM.Replicate on /vms/{vmid}), read (VM.Audit).
    { privilege: "VM.Replicate", for: "storage replication jobs" },
    // qemu-server Qemu.pm (cloud-init options: VM.Config.Cloudinit); pve-container src/PVE/API2/LXC.pm create_vm/update_vm
    // (the same VM.* privileges on /vms/{vmid}; nesting: VM.Allocate, src/PVE/LXC.pm check_ct_modify_config_perm).
    { privilege: "VM.Config.Cloudinit", for: "cloud-init user, keys and network of VMs and containers" },
    // qemu-server Qemu.pm check_usb_perm/check_hostpci_perm: a device by mapping needs Mapping.Use on /mapping/{usb,pci}/<id>.
    { privilege: "Mapping.Use", for: "USB and PCI devices given by a resource mapping" },
    // pve-storage src/PVE/API2/Storage/Status.pm download_url: Datastore.AllocateTemplate on /storage/{storage} and
    // Sys.Audit + Sys.Modify on / (or Sys.AccessNetwork on /nodes/{node}); the file's read/delete use the content API.
    { privilege: "Datastore.AllocateTemplate", for: "download installer ISOs, cloud images and container templates (download.File)" },
    { privilege: "Sys.AccessNetwork", for: "download.File fetches a URL from the node" },
];

/**
 * Settings only root@pam may make, whatever its privileges (so the dedicated
 * token cannot): each with the stack key and the source of the rule. The
 * program refuses them unless the stack gives its own apiToken.
 */
export function rootOnlySettings(site: Pick<Site, "guests">): { path: (string | number)[]; message: string }[] {
    const out: { path: (string | number)[]; message: string }[] = [];
    site.guests.forEach((g, i) => {
        if (g.type === "vm") {
            // qemu-server src/PVE/API2/Qemu.pm check_usb_perm: "only root can set 'usbN' config for real devices".
            g.usb.forEach((u, j) => {
                if (u.host !== undefined && !/^spice$/i.test(u.host))
                    out.push({
                        path: [i, "usb", j, "host"],
                        message: "a host USB device can be set only by root@pam (qemu-server check_usb_perm)",
                    });
            });
            // qemu-server Qemu.pm check_hostpci_perm: "only root can set 'hostpciN' config for non-mapped devices".
            g.pci.forEach((p, j) => {
                if (p.id !== undefined)
                    out.push({
                        path: [i, "pci", j, "id"],
                        message: "a non-mapped PCI device can be set only by root@pam (qemu-server check_hostpci_perm)",
                    });
            });
        } else if (!g.unprivileged) {
            // pve-container src/PVE/LXC.pm check_ct_modify_config_perm: feature flags of a privileged container are root@pam's.
            out.push({
                path: [i, "unprivileged"],
                message:
                    "a privileged container's feature flags (nesting) can be set only by root@pam (pve-container check_ct_modify_config_perm)",
            });
        }
    });
    return out;
}

/** `priv1,priv2,…` for `pveum role add|modify --privs`. */
export function apiPrivilegeList(): string {
    return API_PRIVILEGES.map((p) => p.privilege).join(",");
}

/** Packages per role (pvecm.adoc: corosync-qdevice on all nodes, corosync-qnetd on the external host). */
export const NODE_QDEVICE_PACKAGE = "corosync-qdevice";
export const QNETD_PACKAGE = "corosync-qnetd";

/** Name used for the qnetd host in resource names; a node must not use it. */
export const QNETD_HOST_NAME = "qnetd";

/** pvecm link property string: `10.0.0.11` or `address=10.0.0.11,priority=20`. */
export function linkArg(link: Link): string {
    return link.priority === undefined ? link.address : `address=${link.address},priority=${link.priority}`;
}

/**
 * Every address a node may reach the qnetd host from: each node's management
 * address and corosync link addresses, once, in node order (the `from=` of
 * the first node's key there, scripts/qnetd-authorize.sh).
 */
export function nodeSourceAddresses(site: Pick<Site, "nodes">): string[] {
    return [...new Set(site.nodes.flatMap((n) => [n.address, ...n.links.map((l) => l.address)]))];
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
