/**
 * The runbook's "zrepl and Proxmox operations" procedures, for a site with the
 * zrepl second path: what zrepl changes for an operator, rolling a guest back,
 * removing a disk or guest, and the copies the repair tool kept aside.
 *
 * Facts relied on:
 * - Proxmox refuses a rollback to a snapshot that is not the newest one of the
 *   volume ("can't rollback, '<snap>' is not most recent snapshot on '<volid>'",
 *   proxmox/pve-storage src/PVE/Storage/ZFSPoolPlugin.pm volume_rollback_is_possible),
 *   and zrepl's snapshots on the guest disks are newer after its next interval;
 * - `zfs rollback` without -r refuses while newer snapshots or bookmarks exist
 *   ("more recent snapshots or bookmarks exist", libzfs), and zrepl keeps a cursor
 *   bookmark per pull job on every disk it sends;
 * - a running `zfs send` keeps its snapshot busy, so a disk destroy may fail with
 *   "dataset is busy" while zrepl transfers it;
 * - zrepl never deletes the copies under rootFs; `zrepl zfs-abstraction release-all
 *   --fs <dataset>:ok` removes its holds and bookmarks on one dataset
 *   (zrepl v0.7.0 internal/client/zfsabstractions_release.go).
 */
import type { Site } from "../../components/model";

export function zreplProcedures(site: Site): string[] {
    if (!site.zrepl.enabled) return [];
    const z = site.zrepl;
    const node = site.nodes[0]!;
    const peer = site.nodes[1] ?? node;
    const guest = site.guests.find((g) => g.node === node.name) ?? site.guests[0];
    const vmid = guest?.vmid ?? 100;
    const disk = `${site.storage.zfsPath}/${guest?.type === "ct" ? "subvol" : "vm"}-${vmid}-disk-0`;
    const cmd = guest?.type === "ct" ? "pct" : "qm";
    const copy = `${z.rootFs}/${node.name}/${disk}`;
    const out: string[] = ["### zrepl and Proxmox operations", ""];
    out.push(
        "What zrepl changes on this site, for an operator:",
        "",
        `- Every ${z.interval} a \`zrepl_…\` snapshot of every guest disk on storage \`${site.storage.id}\`; the newest ${z.senderKeep} stay on the node that runs the guest, the newest ${z.keep} on each copy.`,
        "- A cursor bookmark (`#zrepl_CURSOR_…`) per pull job on every disk zrepl sends, and a hold on the newest snapshot of every copy.",
        `- The copies of ${node.name}'s disks live on ${peer.name} under \`${z.rootFs}/${node.name}\` (and the other way round); zrepl never deletes them.`,
        z.attic
            ? `- A copy that lost every snapshot in common with its sender is moved to \`${z.attic}\` by the repair tool (\`zrepl-repair.service\` then shows failed once); nothing is deleted.`
            : "- A copy that lost every snapshot in common with its sender is kept and reported by the repair tool (`journalctl -u zrepl-repair`); set `zrepl.attic` to have it moved aside.",
        "",
        "#### Rolling a guest back to a snapshot",
        "",
        `Proxmox rolls back only to the newest snapshot of a disk ("can't rollback, … is not most recent snapshot"), and zrepl's snapshots are newer after ${z.interval}. Remove the newer zrepl snapshots and bookmarks of that disk first (they are on the copy already), for example ${cmd} ${vmid} to its snapshot \`before-upgrade\` on ${node.name}:`,
        "",
        "```sh",
        `ssh root@${node.address}`,
        "systemctl stop zrepl                                  # no new snapshot, no transfer reading the disk meanwhile",
        `zfs list -t snapshot,bookmark -o name,creation -s creation ${disk}`,
        `zfs destroy ${disk}@zrepl_<each newer one>            # only zrepl_ snapshots newer than before-upgrade`,
        `zfs destroy '${disk}#zrepl_CURSOR_<each newer one>'   # and zrepl's newer bookmarks`,
        `${cmd} rollback ${vmid} before-upgrade`,
        "systemctl start zrepl",
        "```",
        "",
        `The next pull then finds the copy ahead of the disk (\`the receiver's latest snapshot is not present on sender\`); the repair tool rolls the copy on ${peer.name} back over those zrepl snapshots. Never delete a \`__replicate_…\` snapshot by hand: pvesr needs it.`,
        "",
        "#### Removing a disk or a guest",
        "",
        "A running zrepl transfer keeps its snapshot busy, and Proxmox's removal then fails with `dataset is busy`. Wait until no transfer runs, or stop zrepl for the removal:",
        "",
        "```sh",
        `ssh root@${node.address}`,
        "zrepl status --mode dump                              # no pull job replicating (fan-out-filesystems) now",
        `systemctl stop zrepl && ${cmd} destroy ${vmid} ; systemctl start zrepl`,
        "```",
        "",
        `The copy on ${peer.name} stays (zrepl never deletes copies). Remove it when you no longer want it:`,
        "",
        "```sh",
        `ssh root@${peer.address}`,
        `zrepl zfs-abstraction release-all --fs '${copy}:ok'   # zrepl's holds and bookmarks on the copy`,
        `zfs destroy -r ${copy}`,
        "```",
        "",
    );
    if (z.attic) {
        out.push(
            "#### Copies the repair tool moved aside",
            "",
            "```sh",
            `zfs list -r -t all -o name,creation,used ${z.attic}    # on each node: look before you delete`,
            `zfs destroy -r ${z.attic}/<job>/<copy>`,
            "```",
            "",
        );
    }
    return out;
}
