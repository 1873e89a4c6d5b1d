/**
 * The runbook's "Guests and their OS" procedures: installing from an ISO and
 * detaching it, reinstalling, cloud images and templates, containers, and
 * removing a guest on purpose — written for the site's own guests.
 */
import { guestNodes, guestSid, type Guest, type Site, type VmGuest } from "../../components/model";
import { pinnedBy } from "../../components/model";

const label = (g: Guest) => `${g.type} ${g.vmid} (${g.name})`;

function list(items: readonly string[]): string {
    if (items.length <= 1) return items.join("");
    return `${items.slice(0, -1).join(", ")} and ${items[items.length - 1]}`;
}

/** The index of a guest in the stack file, for key paths. */
const at = (site: Site, g: Guest) => `guests[${site.guests.indexOf(g)}]`;

export function guestProcedures(stack: string, site: Site): string[] {
    const out: string[] = ["### Guests and their OS", ""];
    const vms = site.guests.filter((g): g is VmGuest => g.type === "vm");
    const isoGuests = vms.filter((g) => g.source?.kind === "iso");
    const images = vms.filter((g) => g.source?.kind === "cloudImage");
    const clones = vms.filter((g) => g.source?.kind === "clone");
    const cts = site.guests.filter((g) => g.type === "ct");
    const empty = vms.filter((g) => g.source === undefined && g.cdrom === undefined);
    const up = `pulumi up --stack ${stack}`;

    out.push("Where each guest's operating system comes from:", "", ...site.guests.map((g) => `- ${label(g)}: ${sourceText(g)}`), "");

    if (isoGuests.length) {
        out.push("#### Installing from an ISO, then detaching it", "");
        out.push(
            `The ISO is downloaded by Proxmox to every node the guest may run on, and the guest boots with the disk first in the boot order: the empty disk is skipped and the installer starts; once the OS is installed the disk boots even with the ISO still in. While the ISO is attached the plan warns: Proxmox refuses to migrate a VM with a local ISO ("local cdrom image", qemu-server QemuMigrate.pm), so maintenance migrations of it fail; an HA recovery still works because the ISO is on every node it may use.`,
            "",
        );
        for (const g of isoGuests) {
            const s = g.source as Extract<VmGuest["source"], { kind: "iso" }>;
            out.push(
                `${label(g)}, ISO ${s.iso.fileName} on ${list(s.nodes)}:`,
                "",
                `1. After \`${up}\` the VM runs the installer: open its console (web UI → ${g.node} → ${g.vmid} → Console) and install onto the first disk (${g.disks[0]?.slot ?? "scsi0"}).`,
                `2. Set \`${at(site, g)}.source.iso.attached: false\` in \`Pulumi.${stack}.yaml\` and run \`${up}\`: the CD drive is unplugged (\`ide2: none\`), the plan's warning goes, and the guest can migrate again. The ISO stays on the nodes.`,
                `3. To reinstall or repair from the ISO later, set \`attached: true\` and run \`${up}\` again; detach afterwards.`,
                "",
            );
        }
    }

    if (images.length || clones.length) {
        out.push("#### Cloud images and templates", "");
        if (images.length) {
            out.push(
                `${list(images.map(label))}: the image is downloaded to the home node's \`local\` storage (content type \`import\`, PVE 8.4 or later) and converted onto the first disk when the VM is created; cloud-init sets user, keys, addresses and DNS on first boot. \`local\` must allow that content type: \`pvesm set local --content iso,vztmpl,backup,import\` (keep whatever else it lists). The cloud-init drive lives on the replicated storage; it is not replicated, and Proxmox regenerates it on whichever node starts the guest.`,
                "",
            );
        }
        for (const g of clones) {
            const s = g.source as Extract<VmGuest["source"], { kind: "clone" }>;
            out.push(
                `${label(g)} is a full clone of template ${s.vmid} on ${s.node}${s.node !== g.node ? `, made on ${s.node} and then migrated with its disks to ${g.node}` : ""} onto the replicated storage. The template is read only when the VM is created: the clone does not need it afterwards, and if ${s.node} is down the clone survives; only creating (or re-creating) it waits until ${s.node} is back.${s.cloudInitReady ? ` To build a cloud-init-ready template once on ${s.node}: \`qm create ${s.vmid} --name tpl --memory 1024 --net0 virtio,bridge=vmbr0 --scsihw virtio-scsi-pci --scsi0 ${site.storage.id}:0,import-from=/var/lib/vz/import/${imageOn(site, s.node)} --ide2 ${site.storage.id}:cloudinit --boot order=scsi0 && qm template ${s.vmid}\`.` : ""}`,
                "",
            );
        }
    }

    if (cts.length) {
        out.push("#### Containers", "");
        out.push(
            `${list(cts.map(label))}: created from the template downloaded to the home node, root file system on the replicated storage, replicated like a VM. HA manages ${cts.length > 1 ? "them" : "it"} as ${list(cts.map(guestSid))}. A container cannot live-migrate: every HA move (maintenance, failback, \`ha-manager migrate\`) shuts it down, moves it and starts it again, a short outage.`,
            "",
        );
    }

    if (empty.length) {
        out.push(
            `${list(empty.map(label))} ${empty.length > 1 ? "have" : "has"} no OS source: ${empty.length > 1 ? "they boot" : "it boots"} into "no bootable device" until an OS is installed by other means.`,
            "",
        );
    }

    const pinned = vms.filter((g) => pinnedBy(g).length);
    if (pinned.length) {
        out.push("#### Passthrough", "");
        for (const g of pinned) out.push(`- ${label(g)}: ${pinnedBy(g).join("; ")}.`);
        out.push("");
    }

    const example = site.guests.find((g) => g.ha) ?? site.guests[0];
    if (example) {
        out.push("#### Removing a guest on purpose", "");
        out.push(
            `A guest, its replication jobs, its HA resource and its HA rules are protected together (\`protect\`, default true): Pulumi refuses to delete any of them, and Proxmox's own protection flag refuses to remove the guest and its disks. So removal takes two runs of \`${up}\`:`,
            "",
            `1. Set \`${at(site, example)}.protect: false\` and run \`${up}\`. This only lifts the protection (Pulumi's and Proxmox's) on ${label(example)}, its replicas${example.ha ? ", its HA resource and its node-affinity rule" : ""}; nothing is deleted.${example.ha ? " Its resource-affinity rules lose their protection too (they are protected only while all their guests are)." : ""}`,
            `2. Remove the guest from \`Pulumi.${stack}.yaml\` (and from \`haRules\`: drop a rule left with one guest) and run \`${up}\`: Pulumi deletes the HA rules, the HA resource, the replication jobs (Proxmox removes the replicas on ${list(guestNodes(site, example).filter((n) => n !== example.node)) || "the targets"}) and finally the guest with its disks.`,
            "",
            `\`pulumi destroy --stack ${stack}\` stops at the first protected resource and deletes no guest: lift the protection of every guest first (step 1 for each), or keep them and remove only what you mean to. Downloaded ISOs, images and templates are not protected: they are files Proxmox fetches again.`,
            "",
        );
    }
    return out;
}

/** A cloud image the stack already puts on `node` (else the Debian one, to download there first). */
function imageOn(site: Site, node: string): string {
    for (const g of site.guests) {
        if (g.type === "vm" && g.source?.kind === "cloudImage" && g.node === node) return g.source.image.fileName;
    }
    return "debian-13-genericcloud-amd64.qcow2";
}

function sourceText(g: Guest): string {
    if (g.type === "ct") return `container template ${g.template.fileName}, downloaded to ${g.node}`;
    const s = g.source;
    if (s?.kind === "iso") return `installer ISO ${s.iso.fileName} on ${list(s.nodes)}, ${s.attached ? "attached" : "detached"}`;
    if (s?.kind === "cloudImage") return `cloud image ${s.image.fileName}${g.cloudInit ? " with cloud-init" : ""}`;
    if (s?.kind === "clone") return `full clone of template ${s.vmid} on ${s.node}${g.cloudInit ? " with cloud-init" : ""}`;
    if (g.cdrom) return `ISO ${g.cdrom} in its CD drive`;
    return "none (an empty VM)";
}
