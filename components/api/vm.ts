/**
 * The inputs of one VM (VmLegacy) from its validated model: where its OS
 * comes from (clone, cloud image, ISO), cloud-init, firmware, TPM and
 * passthrough. Input semantics are those of bpg/terraform-provider-proxmox
 * v0.111.x (the provider @muhlba91/pulumi-proxmoxve 8.6.0 bundles),
 * proxmoxtf/resource/vm/vm.go.
 */
import type * as proxmox from "@muhlba91/pulumi-proxmoxve";
import type { CloudInit, GuestDisk, GuestNic, IpConfig, VmGuest } from "../model";
import { defined, type ApiContext } from "./context";

/**
 * A generic CPU model every node can provide, so HA can start (and live
 * migration can move) a guest on any node. x86-64-v2-AES is what the PVE
 * GUI proposes for new VMs; the API's own default (kvm64) lacks AES.
 */
const CPU_TYPE = "x86-64-v2-AES";

/**
 * How long a create waits for the QEMU guest agent. Refreshes do not wait at
 * all: `waitForIp.disabled` makes the provider skip the agent's address
 * lookup (vm.go `agentWaitForIPConfigFromBlock` → `Skip`, and
 * proxmox/nodes/vms/vms.go `WaitForNetworkInterfacesFromVMAgent` returns at
 * once). Without it every refresh of a running VM whose agent does not answer
 * (an OS still being installed from an ISO, an agent not installed yet) waits
 * this long; the provider's default is 15 minutes. Nothing here uses the
 * reported addresses.
 */
const AGENT_TIMEOUT = "1m";

/** The CD drive: ide2 (q35 has only ide0 and ide2, provider docs on `cdrom.interface`). */
export const CDROM_INTERFACE = "ide2";
/** The cloud-init drive next to a CD drive on ide2. */
const CLOUDINIT_BESIDE_CDROM = "ide0";

/** The volume in the CD drive: the downloaded ISO while attached, none once detached, or the stack's cdrom. */
export function cdromFile(g: VmGuest): string | undefined {
    const s = g.source;
    if (s?.kind === "iso") return s.attached ? s.iso.volumeId : "none";
    return g.cdrom;
}

export function vmArgs(ctx: ApiContext, g: VmGuest): proxmox.VmLegacyArgs {
    const storage = ctx.site.storage.id;
    const s = g.source;
    const cd = cdromFile(g);
    const inDrive = cd !== undefined && cd !== "none";
    const bootDisk = g.disks[0]?.slot;
    return defined({
        nodeName: g.node,
        vmId: g.vmid,
        name: g.name,
        // Full clone onto the replicated storage. A template on another node's
        // local storage: the provider clones there, then migrates the clone
        // with its local disks to nodeName and datastoreId (vm.go
        // vmCreateClone, "clone to the source node and then migrate"); it
        // needs that node up while the VM is created, never afterwards.
        clone:
            s?.kind === "clone"
                ? defined({ vmId: s.vmid, nodeName: s.node === g.node ? undefined : s.node, full: true, datastoreId: storage })
                : undefined,
        bios: g.bios === "ovmf" ? "ovmf" : undefined,
        machine: g.machine,
        // EFI vars and TPM state are VM volumes like the disks: on the
        // replicated storage they replicate and follow the guest.
        efiDisk: g.bios === "ovmf" ? { datastoreId: storage, fileFormat: "raw", type: "4m", preEnrolledKeys: g.secureBoot } : undefined,
        tpmState: g.tpm !== undefined ? { datastoreId: storage, version: g.tpm } : undefined,
        cpu: { cores: g.cores, type: CPU_TYPE },
        memory: { dedicated: g.memoryMb },
        operatingSystem: { type: g.osType },
        agent: g.agent ? { enabled: true, timeout: AGENT_TIMEOUT, waitForIp: { disabled: true } } : { enabled: false },
        disks: g.disks.map((d, i) => diskArgs(ctx, d, i === 0 && s?.kind === "cloudImage" ? s.image.volumeId : undefined)),
        networkDevices: g.nics.map(nicArgs),
        cdrom: cd !== undefined ? { fileId: cd, interface: CDROM_INTERFACE } : undefined,
        // The disk first: empty, it is skipped and the installer boots; once
        // the OS is installed it boots from disk even with the ISO still in.
        bootOrders: inDrive && bootDisk !== undefined ? [bootDisk, CDROM_INTERFACE] : undefined,
        initialization: g.cloudInit ? initArgs(storage, g.cloudInit, inDrive) : undefined,
        usbs: g.usb.length ? g.usb.map((u) => defined({ host: u.host, mapping: u.mapping, usb3: u.usb3 })) : undefined,
        hostpcis: g.pci.length
            ? g.pci.map((p, i) =>
                  defined({ device: `hostpci${i}`, id: p.id, mapping: p.mapping, pcie: p.pcie, xvga: p.xvga ? true : undefined }),
              )
            : undefined,
        started: g.started,
        onBoot: g.startOnBoot,
        // Proxmox's own protection flag: blocks removing the VM and its disks
        // from the GUI/CLI too, not only from Pulumi.
        protection: g.protect,
    });
}

/**
 * Cloud-init on the replicated storage: the drive is not replicated (a CD
 * volume, qemu-server QemuConfig.pm get_replicatable_volumes), but that
 * storage exists on every node, and qemu-server regenerates a missing drive
 * there on start (QemuServer/Cloudinit.pm commit_cloudinit_disk:
 * vdisk_alloc on the drive's storage), so the guest starts wherever HA puts it.
 */
function initArgs(storage: string, c: CloudInit, besideCdrom: boolean): proxmox.types.input.VmLegacyInitialization {
    return defined({
        datastoreId: storage,
        interface: besideCdrom ? CLOUDINIT_BESIDE_CDROM : undefined,
        userAccount:
            c.user !== undefined || c.sshKeys.length > 0
                ? defined({ username: c.user, keys: c.sshKeys.length ? [...c.sshKeys] : undefined })
                : undefined,
        ipConfigs: c.ipConfig.length ? c.ipConfig.map(ipArgs) : undefined,
        dns: c.dns ? defined({ domain: c.dns.domain, servers: c.dns.servers.length ? [...c.dns.servers] : undefined }) : undefined,
    });
}

export function ipArgs(ip: IpConfig): { ipv4?: { address: string; gateway?: string }; ipv6?: { address: string; gateway?: string } } {
    return defined({
        ipv4: ip.ipv4 ? defined({ address: ip.ipv4.address, gateway: ip.ipv4.gateway }) : undefined,
        ipv6: ip.ipv6 ? defined({ address: ip.ipv6.address, gateway: ip.ipv6.gateway }) : undefined,
    });
}

function diskArgs(ctx: ApiContext, d: GuestDisk, importFrom: string | undefined): proxmox.types.input.VmLegacyDisk {
    const replicated = d.storage === ctx.site.storage.id;
    return defined({
        interface: d.slot,
        datastoreId: d.storage,
        size: d.sizeGb,
        // A cloud image (content type import) converted onto this disk at
        // creation; the disk is then grown to `size`.
        importFrom,
        // A zfspool storage holds raw zvols only.
        fileFormat: replicated ? "raw" : undefined,
        // "SSD emulation is not supported on VirtIO Block drives."
        ssd: d.slot.startsWith("virtio") ? undefined : d.ssd,
        discard: d.discard ? "on" : "ignore",
        // pvesr fails on a volume without the replicate feature ("missing
        // replicate feature on volume"): only disks on the ZFS storage replicate.
        replicate: replicated,
    });
}

export function nicArgs(n: GuestNic): proxmox.types.input.VmLegacyNetworkDevice {
    return defined({
        // An SDN vnet appears on every node as a bridge named like the vnet.
        bridge: n.bridge ?? n.vnet,
        model: n.model,
        firewall: n.firewall,
        mtu: n.mtu,
        vlanId: n.vlan,
        macAddress: n.macAddress,
    });
}
