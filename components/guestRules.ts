/**
 * The guest rules of validation (issue #15) and the guests of the built site:
 * VM or container, where each one's operating system comes from, the media
 * that must be on its nodes, the hardware that ties it to a node. validate.ts
 * calls these with the parsed stack; every problem names its key path and
 * the fix.
 */
import type { z } from "zod";
import { pinnedBy, type CloudInit, type Guest, type GuestDisk, type Media, type VmSource } from "./model";
import {
    CT_ONLY_KEYS,
    CT_OS_TYPES,
    IMAGE_EXTENSIONS,
    ISO_EXTENSIONS,
    TEMPLATE_EXTENSIONS,
    VM_ONLY_KEYS,
    VM_OS_TYPES,
    type guestSchema,
} from "./schema";

type ParsedGuest = z.output<typeof guestSchema>;
type Err = (path: string, message: string) => void;
type At = (...path: PropertyKey[]) => string;

/** Defaults the schema cannot apply (they differ by type). */
export const VM_DEFAULT_DISKS: readonly { slot?: string; sizeGb: number; storage?: string; ssd: boolean; discard: boolean }[] = [
    { sizeGb: 32, ssd: true, discard: true },
];
export const CT_DEFAULT_ROOTFS_GB = 8;

/** The disks of a parsed guest with slots and storage resolved; a container's root file system is slot `rootfs`. */
export function resolveGuestDisks(g: ParsedGuest, storageId: string): GuestDisk[] {
    if (g.type === "ct") {
        const r = g.rootfs ?? { sizeGb: CT_DEFAULT_ROOTFS_GB };
        return [{ slot: "rootfs", sizeGb: r.sizeGb, storage: r.storage ?? storageId, ssd: false, discard: false }];
    }
    let next = 0;
    return (g.disks ?? VM_DEFAULT_DISKS).map((d) => ({
        slot: d.slot ?? `scsi${next++}`,
        sizeGb: d.sizeGb,
        storage: d.storage ?? storageId,
        ssd: d.ssd,
        discard: d.discard,
    }));
}

/** Nodes a parsed guest may run on (as model.guestNodes, before the site exists). */
function runsOn(g: ParsedGuest, nodeNames: readonly string[]): string[] {
    if (!g.ha) return [g.node];
    if (g.ha.strict && g.ha.nodes) return nodeNames.filter((n) => n in g.ha!.nodes!);
    return [...nodeNames];
}

type MediaInput = {
    url: string;
    fileName?: string | undefined;
    checksum?: string | undefined;
    checksumAlgorithm: string;
    storage: string;
    decompression?: string | undefined;
};

/**
 * The file name Proxmox will store: the stack's, else the URL's last path
 * segment, without the compression suffix when Proxmox decompresses it
 * (pve-manager www/manager6/window/DownloadUrlToStorage.js does the same).
 */
function fileNameOf(m: MediaInput): string {
    if (m.fileName !== undefined) return m.fileName;
    const segs = new URL(m.url).pathname.split("/");
    const last = decodeURIComponent(segs[segs.length - 1] ?? "");
    return m.decompression !== undefined && last.endsWith(`.${m.decompression}`) ? last.slice(0, -m.decompression.length - 1) : last;
}

function endsWithOne(name: string, exts: readonly string[]): boolean {
    return /^[A-Za-z0-9][A-Za-z0-9._+-]*$/.test(name) && exts.some((e) => name.endsWith(`.${e}`));
}

function mediaOf(m: MediaInput, content: Media["content"]): Media {
    const fileName = fileNameOf(m);
    return {
        url: m.url,
        fileName,
        ...(m.checksum !== undefined ? { checksum: m.checksum, checksumAlgorithm: m.checksumAlgorithm } : {}),
        storage: m.storage,
        ...(m.decompression !== undefined ? { decompression: m.decompression } : {}),
        content,
        volumeId: `${m.storage}:${content}/${fileName}`,
    };
}

/**
 * The guest rules. `nodeNames` are the site's nodes, `storageId` the
 * replicated storage (undefined when that section failed).
 */
export function checkGuests(
    guests: readonly ParsedGuest[],
    nodeNames: readonly string[],
    storageId: string | undefined,
    keyPathOf: (i: number) => At,
    err: Err,
    warn: (w: string) => void,
): void {
    const names = new Set(nodeNames);
    const ids = new Map<number, number>();
    /** node + volume id → where it was first declared and from which URL. */
    const media = new Map<string, { at: string; url: string; checksum?: string }>();
    const templateIds = new Map<number, string>();

    guests.forEach((g, i) => {
        const at = keyPathOf(i);
        // One id space for VMs and containers (pve-cluster: /etc/pve/nodes/*/{qemu-server,lxc}/<vmid>.conf).
        if (ids.has(g.vmid)) {
            err(
                at("vmid"),
                `${g.vmid} is already used by guests[${ids.get(g.vmid)}]; vmids must be unique across VMs and containers (Proxmox has one id space for both): choose another vmid`,
            );
        } else ids.set(g.vmid, i);

        // Keys of the other type.
        const own = g as Record<string, unknown>;
        const foreign = g.type === "ct" ? VM_ONLY_KEYS : CT_ONLY_KEYS;
        for (const k of foreign) {
            if (own[k] === undefined) continue;
            err(
                at(k),
                g.type === "ct"
                    ? `is a VM key, but guest ${g.vmid} is a container (type: ct): remove ${k}, or set type: vm`
                    : `is a container key, but guest ${g.vmid} is a VM (type: vm, the default): remove ${k}, or set type: ct`,
            );
        }
        if (g.osType !== undefined) {
            const allowed: readonly string[] = g.type === "ct" ? CT_OS_TYPES : VM_OS_TYPES;
            if (!allowed.includes(g.osType)) {
                err(
                    at("osType"),
                    `"${g.osType}" is not an OS type of a ${g.type === "ct" ? "container" : "VM"}; write one of ${allowed.join(", ")}`,
                );
            }
        }

        const checkMedia = (
            m: MediaInput,
            exts: readonly string[],
            content: Media["content"],
            path: PropertyKey[],
            on: readonly string[],
        ) => {
            const fileName = fileNameOf(m);
            if (m.fileName === undefined && !endsWithOne(fileName, exts)) {
                err(
                    at(...path, "fileName"),
                    `is required: the URL's last segment "${fileName}" is not a file name ending in ${exts.map((e) => `.${e}`).join(", ")}; write fileName: <name>.${exts[0]}`,
                );
                return;
            }
            const volumeId = `${m.storage}:${content}/${fileName}`;
            for (const node of on) {
                const key = `${node} ${volumeId}`;
                const seen = media.get(key);
                if (seen && (seen.url !== m.url || seen.checksum !== m.checksum)) {
                    err(
                        at(...path),
                        `downloads ${volumeId} on ${node} from ${m.url}, but ${seen.at} downloads the same file there from ${seen.url}${seen.checksum !== m.checksum ? " (or with another checksum)" : ""}: one file, one source. Give one of them another fileName`,
                    );
                } else if (!seen) {
                    media.set(key, { at: at(...path), url: m.url, ...(m.checksum !== undefined ? { checksum: m.checksum } : {}) });
                }
            }
        };

        const nodes = runsOn(g, nodeNames).filter((n) => names.has(n));

        if (g.type === "ct") {
            if (!g.template) {
                err(
                    at("template"),
                    `is required for a container: give the template to download, e.g. template: { url: http://download.proxmox.com/images/system/debian-13-standard_13.1-2_amd64.tar.zst }`,
                );
            } else if (names.has(g.node)) checkMedia(g.template, TEMPLATE_EXTENSIONS, "vztmpl", ["template"], [g.node]);
            if (g.cloudInit?.user !== undefined) {
                err(at("cloudInit", "user"), `a container has no cloud-init user: Proxmox sets root's SSH keys. Remove user`);
            }
        } else {
            const s = g.source;
            if (s?.iso) {
                const iso = s.iso;
                (iso.nodes ?? []).forEach((n, j) => {
                    if (!names.has(n))
                        err(at("source", "iso", "nodes", j), `"${n}" is not a node of this site (nodes: ${nodeNames.join(", ")})`);
                });
                const on = iso.nodes ?? nodes;
                const missing = nodes.filter((n) => !on.includes(n));
                if (missing.length > 0) {
                    err(
                        at("source", "iso", "nodes"),
                        `lacks ${missing.join(", ")}: guest ${g.vmid} may run there${g.ha ? " (HA)" : ""}, and a start with the ISO attached fails where the ISO is missing. Add ${missing.join(", ")}, or leave nodes out (it defaults to every node the guest may run on)`,
                    );
                }
                checkMedia(
                    iso,
                    ISO_EXTENSIONS,
                    "iso",
                    ["source", "iso"],
                    on.filter((n) => names.has(n)),
                );
                if (g.cdrom !== undefined) {
                    err(at("cdrom"), `the VM has one CD drive and source.iso already uses it: remove cdrom`);
                }
                if (iso.attached) {
                    warn(
                        `${at("source", "iso", "attached")}: ${fileNameOf(iso)} is in guest ${g.vmid}'s CD drive: Proxmox refuses to migrate it ("local cdrom image", qemu-server QemuMigrate.pm) and an HA recovery needs the ISO on the target node. Once the OS is installed, set attached: false (the site runbook, "Installing from an ISO, then detaching it")`,
                    );
                }
            }
            if (s?.cloudImage && names.has(g.node))
                checkMedia(s.cloudImage, IMAGE_EXTENSIONS, "import", ["source", "cloudImage"], [g.node]);
            if (s?.clone) {
                const c = s.clone;
                if (c.node !== undefined && !names.has(c.node)) {
                    err(at("source", "clone", "node"), `"${c.node}" is not a node of this site (nodes: ${nodeNames.join(", ")})`);
                }
                templateIds.set(c.vmid, at("source", "clone", "vmid"));
            }
            if (g.cdrom !== undefined && !s?.iso) {
                if (g.ha) {
                    err(
                        at("cdrom"),
                        `${g.cdrom} is on one node's storage, and HA may start guest ${g.vmid} on ${nodes.filter((n) => n !== g.node).join(", ") || "another node"} where it is missing (the start fails). Declare source.iso: { url } so the ISO is downloaded to every node the guest may run on, or remove cdrom`,
                    );
                } else {
                    warn(
                        `${at("cdrom")}: ${g.cdrom} is in guest ${g.vmid}'s CD drive: Proxmox refuses to migrate it ("local cdrom image", qemu-server QemuMigrate.pm). Remove cdrom once the OS is installed`,
                    );
                }
            }
            // cloud-init needs something inside the guest that reads the drive.
            const ready = s?.cloudImage !== undefined || s?.clone?.cloudInitReady === true;
            if (g.cloudInit && !ready) {
                err(
                    at("cloudInit"),
                    `needs a guest that reads it: a cloud image (source.cloudImage) or a cloud-init-ready template (source.clone with cloudInitReady: true)${s?.iso ? "; an OS installed from an ISO has no cloud-init" : s?.clone ? "; if the template has cloud-init and its drive, set source.clone.cloudInitReady: true" : "; an empty VM has none"}. Remove cloudInit or change the source`,
                );
            }
            if (g.secureBoot !== undefined && g.bios !== "ovmf") {
                err(at("secureBoot"), `needs UEFI: set bios: ovmf, or remove secureBoot`);
            }
            for (const why of pinnedBy(g)) warn(`${at()}: ${why}`);
            const q35 = g.machine?.startsWith("q35") || g.machine?.startsWith("pc-q35");
            (g.pci ?? []).forEach((p, j) => {
                if (p.pcie && !q35) err(at("pci", j, "pcie"), `PCIe passthrough needs machine: q35; set it, or pcie: false`);
            });
        }

        if (g.cloudInit) checkCloudInit(g.cloudInit, g.nics.length, (...p) => at("cloudInit", ...p), err);

        if (storageId !== undefined) {
            const disks = resolveGuestDisks(g, storageId);
            if (g.type === "vm" && g.source?.cloudImage && disks.length === 0) {
                err(at("disks"), `a cloud image is imported as the first disk: list at least one disk`);
            }
        }
    });

    for (const [vmid, where] of templateIds) {
        const j = ids.get(vmid);
        if (j !== undefined) err(where, `${vmid} is guests[${j}] of this stack, not a template: give the vmid of a template VM`);
    }
}

function checkCloudInit(c: z.output<typeof guestSchema>["cloudInit"] & object, nics: number, at: At, err: Err): void {
    if (c.ipConfig.length > nics) {
        err(at("ipConfig"), `has ${c.ipConfig.length} entries but the guest has ${nics} NIC(s): one entry per NIC, in order`);
    }
    c.ipConfig.forEach((ip, j) => {
        if (ip.ipv4?.address === "dhcp" && ip.ipv4.gateway !== undefined) {
            err(at("ipConfig", j, "ipv4", "gateway"), `must be left out with address: dhcp (DHCP gives the gateway)`);
        }
        if ((ip.ipv6?.address === "dhcp" || ip.ipv6?.address === "auto") && ip.ipv6.gateway !== undefined) {
            err(at("ipConfig", j, "ipv6", "gateway"), `must be left out with address: ${ip.ipv6.address}`);
        }
    });
}

/** One guest of the built site (called only when validation found no problem). */
export function buildGuest(
    g: ParsedGuest,
    nodeNames: readonly string[],
    storageId: string,
    /** Resolved node affinity (components/haplan.ts resolveHaNodes). */
    haNodes?: Readonly<Record<string, number>>,
): Guest {
    const replicateTo = g.replicateTo ?? nodeNames.filter((n) => n !== g.node);
    const base = {
        vmid: g.vmid,
        name: g.name,
        node: g.node,
        cores: g.cores,
        memoryMb: g.memoryMb,
        disks: resolveGuestDisks(g, storageId),
        nics: g.nics.map((nic) => stripUndefined(nic)),
        started: g.started,
        startOnBoot: g.startOnBoot,
        protect: g.protect,
        replicateTo,
        replicationJobIds: { ...g.replicationJobIds },
        ...(g.ha
            ? {
                  ha: {
                      state: g.ha.state,
                      maxRestart: g.ha.maxRestart,
                      maxRelocate: g.ha.maxRelocate,
                      failback: g.ha.failback,
                      nodes: { ...(haNodes ?? g.ha.nodes ?? Object.fromEntries(nodeNames.map((n) => [n, n === g.node ? 2 : 1]))) },
                      strict: g.ha.strict,
                  },
              }
            : {}),
        ...(g.cloudInit ? { cloudInit: buildCloudInit(g.cloudInit) } : {}),
    };
    if (g.type === "ct") {
        const unprivileged = g.unprivileged ?? true;
        return {
            ...base,
            type: "ct",
            osType: g.osType ?? "debian",
            template: mediaOf(g.template!, "vztmpl"),
            unprivileged,
            nesting: g.nesting ?? unprivileged,
            ...(g.swapMb !== undefined ? { swapMb: g.swapMb } : {}),
        };
    }
    let source: VmSource | undefined;
    const s = g.source;
    if (s?.clone) source = { kind: "clone", vmid: s.clone.vmid, node: s.clone.node ?? g.node, cloudInitReady: s.clone.cloudInitReady };
    else if (s?.cloudImage) source = { kind: "cloudImage", image: mediaOf(s.cloudImage, "import") };
    else if (s?.iso) {
        const guestNodes = runsOn(g, nodeNames);
        source = {
            kind: "iso",
            iso: mediaOf(s.iso, "iso"),
            nodes: nodeNames.filter((n) => (s.iso!.nodes ?? guestNodes).includes(n)),
            attached: s.iso.attached,
        };
    }
    return {
        ...base,
        type: "vm",
        osType: g.osType ?? "l26",
        ...(g.cdrom !== undefined ? { cdrom: g.cdrom } : {}),
        agent: g.agent ?? true,
        ...(source ? { source } : {}),
        bios: g.bios ?? "seabios",
        ...(g.machine !== undefined ? { machine: g.machine } : {}),
        secureBoot: g.secureBoot ?? false,
        ...(g.tpm !== undefined ? { tpm: g.tpm } : {}),
        usb: (g.usb ?? []).map((u) => stripUndefined({ ...u })),
        pci: (g.pci ?? []).map((p) => stripUndefined({ ...p })),
    };
}

function buildCloudInit(c: NonNullable<ParsedGuest["cloudInit"]>): CloudInit {
    return {
        ...(c.user !== undefined ? { user: c.user } : {}),
        sshKeys: [...c.sshKeys],
        ipConfig: c.ipConfig.map((ip) =>
            stripUndefined({
                ipv4: ip.ipv4 ? stripUndefined({ ...ip.ipv4 }) : undefined,
                ipv6: ip.ipv6 ? stripUndefined({ ...ip.ipv6 }) : undefined,
            }),
        ),
        ...(c.dns ? { dns: stripUndefined({ domain: c.dns.domain, servers: [...c.dns.servers] }) } : {}),
    };
}

/** Drops keys whose value is undefined, so two evaluations serialize identically. */
function stripUndefined<T extends object>(o: T): T {
    return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
