/**
 * The stack file contract (docs/design.md §5) as zod schemas, one per
 * top-level config key. Every string that can ever reach a shell is restricted
 * here to characters that need no quoting (rule 12): names, addresses, device
 * paths. Scripts still receive them shell-quoted, as a second line of defence.
 */
import { z } from "zod";

// ---------- primitives ----------------------------------------------------

const hostnameRe = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
export const hostname = z
    .string()
    .regex(hostnameRe, "must be a host name: lowercase letters, digits and '-' (not first or last), e.g. prox1");

export const ipAddress = z.union([z.ipv4(), z.ipv6()], {
    error: "must be an IPv4 or IPv6 address, e.g. 10.0.0.11",
});

export const cidr = z.union([z.cidrv4(), z.cidrv6()], {
    error: "must be a network in CIDR notation, e.g. 10.0.1.0/24",
});

/** An address with prefix length for an interface, e.g. 10.40.1.11/24. */
export const interfaceAddress = cidr;

export const ipOrCidr = z.union([z.ipv4(), z.ipv6(), z.cidrv4(), z.cidrv6()], {
    error: "must be an IP address or a network in CIDR notation, e.g. 192.0.2.10 or 192.0.2.0/24",
});

export const devicePath = z
    .string()
    .regex(
        /^\/dev\/[A-Za-z0-9._:+-]+(\/[A-Za-z0-9._:+-]+)*$/,
        "must be an absolute device path such as /dev/disk/by-id/ata-SAMSUNG_MZ7LH960_S45NNA0R123456",
    )
    .refine((p) => !p.split("/").includes(".."), "must not contain '..'");

export const zfsName = z
    .string()
    .regex(/^[A-Za-z][A-Za-z0-9_.:-]{0,63}$/, "must be a ZFS pool name: a letter, then letters, digits, '_', '.', ':' or '-', e.g. pool1")
    .refine(
        (n) => !/^(mirror|raidz|draid|spare|log|c[0-9])/.test(n),
        "must not start with a name ZFS reserves (mirror, raidz, draid, spare, log, c0…)",
    );

export const datasetPath = z
    .string()
    .regex(/^[A-Za-z0-9_.:-]+(\/[A-Za-z0-9_.:-]+)*$/, "must be a dataset path below the pool, e.g. vmstore or data/vms")
    .refine((p) => !p.split("/").some((c) => c === "." || c === ".."), "must not contain '.' or '..' components");

export const sshHostKey = z
    .string()
    .regex(
        /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp256|ecdsa-sha2-nistp384|ecdsa-sha2-nistp521) [A-Za-z0-9+/]+={0,3}$/,
        "must be a public host key '<type> <base64>' without comment, as printed by `ssh-keyscan -t ed25519 <host> | cut -d' ' -f2-`",
    )
    // @pulumi/command 1.2.1 (provider/pkg/provider/remote/connection.go, SSHConfig) sets
    // HostKeyAlgorithms to the pinned key's type, "ssh-rsa": SHA-1 signatures, which OpenSSH
    // 8.8 and later refuse by default, so every step would fail its dial until the timeout.
    .refine(
        (k) => !k.startsWith("ssh-rsa "),
        "is an ssh-rsa key: @pulumi/command 1.2.1 verifies RSA host keys only with SHA-1 signatures, which current OpenSSH refuses (every step would retry its dial and fail). Pin the host's ed25519 key: `ssh-keyscan -t ed25519 <host> | cut -d' ' -f2-`",
    );

export const kernelModule = z
    .string()
    .regex(/^[A-Za-z0-9_]{1,55}$/, "must be a kernel module name such as softdog, ipmi_watchdog or iTCO_wdt");

export const ifaceName = z
    .string()
    .regex(/^[A-Za-z][A-Za-z0-9_.-]{0,14}$/, "must be a Linux interface name of at most 15 characters, e.g. eno1 or bond0");

export const bridgeName = z.string().regex(/^vmbr\d{1,4}$/, "must be a Proxmox bridge name vmbrN, e.g. vmbr1");

export const sdnId = z
    .string()
    .regex(/^[a-z][a-z0-9]{1,7}$/, "must be 2–8 characters of a-z and 0-9 starting with a letter (Proxmox SDN id), e.g. vxz1");

export const storageId = z
    .string()
    .regex(/^[a-z][a-z0-9_.-]*[a-z0-9]$/, "must be a Proxmox storage id: lowercase letters, digits, '-', '_', '.', e.g. vmstore");

export const ruleId = z
    .string()
    .regex(/^[a-z][a-z0-9_-]{1,62}$/, "must be a rule id: a lowercase letter, then letters, digits, '-' or '_', e.g. keep-fw-apart");

/**
 * A pvesr job id as Proxmox parses it (pve-guest-common src/PVE/ReplicationConfig.pm,
 * parse_replication_job_id and the 'pve-replication-id' option: `<GUEST>-<JOBNUM>`,
 * guest 100–999999999, job number up to 9 digits), in the canonical form Proxmox
 * stores (it re-joins the parsed integers, so no leading zeros).
 */
export const replicationJobId = z
    .string()
    .regex(
        /^[1-9][0-9]{2,8}-(0|[1-9][0-9]{0,8})$/,
        "must be a Proxmox replication job id <vmid>-<number>, as `pvesr list` prints it, e.g. 101-0",
    );

export const duration = z.string().regex(/^\d+(s|m|h|d)$/, "must be a duration such as 30s, 10m, 2h or 1d");

export const isoVolume = z
    .string()
    .regex(/^[a-z][a-z0-9_.-]*:iso\/[A-Za-z0-9._+-]+\.iso$/, "must be an ISO volume id such as local:iso/opnsense-25.1.iso");

export const zfsLayout = z.enum(["single", "mirror", "raid10", "raidz1", "raidz2", "raidz3"], {
    error: "must be one of single, mirror, raid10, raidz1, raidz2, raidz3",
});
export type ZfsLayout = z.infer<typeof zfsLayout>;

/** Minimum disk counts, as PVE's own "Create ZFS" API enforces them. */
export const MIN_DISKS: Record<ZfsLayout, number> = { single: 1, mirror: 2, raid10: 4, raidz1: 3, raidz2: 4, raidz3: 5 };

// ---------- sections --------------------------------------------------------

export const linkSchema = z.union(
    [
        ipAddress.transform((address) => ({ address, priority: undefined as number | undefined })),
        z.strictObject({ address: ipAddress, priority: z.int().min(0).max(255).optional() }),
    ],
    { error: "must be an IP address, or { address, priority } with priority 0–255 (higher is preferred)" },
);

export const zfsSchema = z.strictObject({
    /** Pool name; the same on every node that replicates. */
    pool: zfsName,
    /** vdev layout. Defaults to mirror. */
    layout: zfsLayout.default("mirror"),
    /** Whole disks, by stable path (/dev/disk/by-id/…). */
    disks: z.array(devicePath).min(1, "list at least one disk"),
    /** Pool sector size exponent. Defaults to 12 (4 KiB), as Proxmox. */
    ashift: z.int().min(9).max(16).default(12),
    /** Compression of the pool's root dataset. Defaults to lz4. */
    compression: z.enum(["on", "off", "lz4", "zstd", "gzip", "lzjb", "zle"]).default("lz4"),
});

export const nodeSchema = z.strictObject({
    name: hostname,
    /** Address used for SSH and the API. */
    address: ipAddress,
    /** Corosync links (link0, link1, …). Defaults to [address]. */
    links: z.array(linkSchema).min(1).max(8).optional(),
    sshHostKey,
    /** SSH port. Defaults to 22. */
    sshPort: z.int().min(1).max(65535).default(22),
    /** Watchdog kernel module. Defaults to softdog. */
    watchdog: kernelModule.default("softdog"),
    zfs: zfsSchema,
});

export const clusterSchema = z.strictObject({
    name: z
        .string()
        .regex(/^[a-z0-9]([a-z0-9-]{0,13}[a-z0-9])?$/, "must be a cluster name of at most 15 lowercase letters, digits and '-', e.g. prod"),
    /** Migration type. Defaults to secure (over SSH). */
    migrationType: z.enum(["secure", "insecure"]).default("secure"),
    /** Migration network (CIDR). Defaults to replication.network. */
    migrationNetwork: cidr.optional(),
    /** Bandwidth limits in MiB/s, so migrations and restores cannot starve corosync. */
    bandwidthLimitMBps: z
        .strictObject({
            migration: z.number().min(1).optional(),
            restore: z.number().min(1).optional(),
            clone: z.number().min(1).optional(),
            move: z.number().min(1).optional(),
            default: z.number().min(1).optional(),
        })
        .default({}),
    /** Cluster resource scheduler. Defaults to basic; static only when asked. */
    crs: z
        .strictObject({
            ha: z.enum(["basic", "static"]).default("basic"),
            rebalanceOnStart: z.boolean().default(false),
        })
        .default({ ha: "basic", rebalanceOnStart: false }),
    /** HA shutdown policy. Defaults to conditional. */
    haShutdownPolicy: z.enum(["conditional", "freeze", "failover", "migrate"]).default("conditional"),
    /**
     * Proxmox package repository of the nodes: enterprise (needs a subscription
     * key on every node) or no-subscription. Defaults to enterprise, as PVE ships.
     */
    repository: z
        .enum(["enterprise", "no-subscription"], {
            error: "must be enterprise (nodes with a subscription key) or no-subscription",
        })
        .default("enterprise"),
    /** Keyboard layout and other datacenter defaults are left to Proxmox. */
});

export const qdeviceSchema = z.strictObject({
    /** IP of the host that runs corosync-qnetd (pvecm requires an IP). */
    address: ipAddress,
    sshHostKey,
    sshPort: z.int().min(1).max(65535).default(22),
    /** ffsplit tie-breaker. Defaults to lowest node id. */
    tieBreaker: z.enum(["lowest", "highest"]).default("lowest"),
});

export const storageSchema = z.strictObject({
    id: storageId,
    pool: zfsName,
    /** Dataset below the pool that holds guest disks. Defaults to the pool itself. */
    dataset: datasetPath.optional(),
    /** Sparse zvols. Defaults to true. */
    thinProvision: z.boolean().default(true),
    /** zvol block size, e.g. 16k. Defaults to Proxmox's (16k). */
    blocksize: z
        .string()
        .regex(/^\d+[kKmM]?$/, "must be a block size such as 16k")
        .optional(),
});

export const replicationSchema = z.strictObject({
    /** Proxmox calendar event. Defaults to every 5 minutes. */
    schedule: z.string().default("*/5"),
    /** Rate limit in MB/s (pvesr --rate). */
    rateMBps: z.number().min(1).optional(),
    /** Network used for replication and migration traffic (CIDR). */
    network: cidr.optional(),
    /** The recovery point the site promises; the schedule's worst case must stay within it. */
    rpoTarget: duration.optional(),
});

export const diskSchema = z.strictObject({
    /** Bus slot. Defaults to scsi0, scsi1, … in order. */
    slot: z
        .string()
        .regex(/^(scsi([0-9]|[12][0-9]|30)|virtio([0-9]|1[0-5])|sata[0-5])$/, "must be scsiN, virtioN or sataN")
        .optional(),
    sizeGb: z.int().min(1),
    /** Storage id. Defaults to the site's replicated ZFS storage. */
    storage: storageId.optional(),
    ssd: z.boolean().default(true),
    discard: z.boolean().default(true),
});

export const nicSchema = z
    .strictObject({
        bridge: bridgeName.optional(),
        vnet: sdnId.optional(),
        vlan: z.int().min(1).max(4094).optional(),
        model: z.enum(["virtio", "e1000", "e1000e", "vmxnet3"]).default("virtio"),
        firewall: z.boolean().default(true),
        mtu: z.int().min(576).max(65520).optional(),
        macAddress: z
            .string()
            .regex(/^([0-9A-F]{2}:){5}[0-9A-F]{2}$/, "must be a MAC address in upper case, e.g. BC:24:11:00:00:01")
            .optional(),
    })
    .refine((n) => (n.bridge === undefined) !== (n.vnet === undefined), "give exactly one of bridge or vnet");

export const haSchema = z.strictObject({
    /** Requested state. Defaults to started. */
    state: z.enum(["started", "stopped", "disabled", "ignored"]).default("started"),
    maxRestart: z.int().min(0).max(10).default(1),
    maxRelocate: z.int().min(0).max(10).default(1),
    failback: z.boolean().default(true),
    /**
     * Node affinity: node name → priority (higher runs it). Defaults to home
     * node 2, others 1; for a guest in a haRules rule one priority class
     * (components/haplan.ts resolveHaNodes).
     */
    nodes: z.record(hostname, z.int().min(0).max(1000)).optional(),
    /** Strict node affinity: run only on the listed nodes. Defaults to false. */
    strict: z.boolean().default(false),
});

/** A file name as Proxmox stores downloaded media: no path, no spaces. */
const mediaFileName = (exts: readonly string[], example: string) =>
    z
        .string()
        .regex(
            new RegExp(`^[A-Za-z0-9][A-Za-z0-9._+-]*\\.(${exts.map((e) => e.replace(/\./g, "\\.")).join("|")})$`),
            `must be a file name ending in ${exts.map((e) => `.${e}`).join(", ")}, e.g. ${example}`,
        );

/**
 * Media the provider downloads onto a node's storage (download.File). The
 * file name defaults to the URL's last path segment; the volume id is then
 * `<storage>:<content>/<fileName>`.
 */
function mediaSchema(exts: readonly string[], example: string) {
    return {
        url: z.url({ protocol: /^https?$/, error: "must be an http(s) URL" }),
        fileName: mediaFileName(exts, example).optional(),
        checksum: z
            .string()
            .regex(/^[0-9a-f]{32,128}$/, "must be a hexadecimal checksum in lower case, e.g. the sha256sum of the file")
            .optional(),
        checksumAlgorithm: z.enum(["md5", "sha1", "sha224", "sha256", "sha384", "sha512"]).default("sha256"),
        /** A node-local directory storage that allows this content type. Defaults to local. */
        storage: storageId.default("local"),
    };
}

export const ISO_EXTENSIONS = ["iso", "img"] as const;
export const IMAGE_EXTENSIONS = ["qcow2", "raw", "vmdk", "img"] as const;
export const TEMPLATE_EXTENSIONS = ["tar.gz", "tar.xz", "tar.zst"] as const;

export const isoSourceSchema = z.strictObject({
    ...mediaSchema(ISO_EXTENSIONS, "OPNsense-25.1-dvd-amd64.iso"),
    /**
     * The URL serves a compressed ISO (e.g. OPNsense's .iso.bz2): Proxmox decompresses it
     * after the download, and the file name drops the suffix, as the GUI's download dialog does.
     */
    decompression: z.enum(["gz", "lzo", "zst", "bz2"]).optional(),
    /** Nodes that receive the ISO. Defaults to every node the guest may run on. */
    nodes: z.array(hostname).optional(),
    /** Whether the ISO is in the guest's CD drive. Set false once the OS is installed. */
    attached: z.boolean().default(true),
});

export const cloudImageSchema = z.strictObject(mediaSchema(IMAGE_EXTENSIONS, "debian-13-genericcloud-amd64.qcow2"));

export const cloneSchema = z.strictObject({
    /** vmid of the template VM. */
    vmid: z.int({ error: "must be the vmid of a template VM" }).min(100, "must be at least 100").max(999_999_999),
    /** Node that holds the template. Defaults to the guest's home node. */
    node: hostname.optional(),
    /** The template has a cloud-init drive and cloud-init inside (so cloudInit applies). */
    cloudInitReady: z.boolean().default(false),
});

export const sourceSchema = z
    .strictObject({
        clone: cloneSchema.optional(),
        cloudImage: cloudImageSchema.optional(),
        iso: isoSourceSchema.optional(),
    })
    .refine(
        (s) => [s.clone, s.cloudImage, s.iso].filter((x) => x !== undefined).length === 1,
        "give exactly one of clone, cloudImage or iso",
    );

const sshPublicKey = z
    .string()
    .regex(
        /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com) [A-Za-z0-9+/]+={0,3}( [A-Za-z0-9@._+-]+)?$/,
        "must be an SSH public key '<type> <base64> [comment]', e.g. the line of ~/.ssh/id_ed25519.pub",
    );

export const ipConfigSchema = z.strictObject({
    ipv4: z
        .strictObject({
            /** dhcp, or an address with prefix such as 192.0.2.10/24. */
            address: z.union([z.literal("dhcp"), z.cidrv4()], { error: "must be dhcp or an IPv4 address with prefix, e.g. 192.0.2.10/24" }),
            gateway: z.ipv4({ error: "must be an IPv4 address" }).optional(),
        })
        .optional(),
    ipv6: z
        .strictObject({
            address: z.union([z.literal("dhcp"), z.literal("auto"), z.cidrv6()], {
                error: "must be dhcp, auto or an IPv6 address with prefix, e.g. 2001:db8::10/64",
            }),
            gateway: z.ipv6({ error: "must be an IPv6 address" }).optional(),
        })
        .optional(),
});

export const cloudInitSchema = z.strictObject({
    /** Login user cloud-init creates (VMs only; containers log in as root). */
    user: z
        .string()
        .regex(/^[a-z_][a-z0-9_-]{0,31}$/, "must be a user name such as debian or ops")
        .optional(),
    sshKeys: z.array(sshPublicKey).default([]),
    /** One entry per NIC, in order. */
    ipConfig: z.array(ipConfigSchema).default([]),
    dns: z
        .strictObject({
            domain: z
                .string()
                .regex(/^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/, "must be a DNS domain such as example.com")
                .optional(),
            servers: z.array(ipAddress).default([]),
        })
        .optional(),
});

export const usbSchema = z
    .strictObject({
        /** vendor:product (e.g. 0529:0001) or bus-port (e.g. 1-2). */
        host: z
            .string()
            .regex(/^([0-9a-f]{4}:[0-9a-f]{4}|\d+-[\d.]+)$/, "must be vendor:product such as 0529:0001, or a port such as 1-2")
            .optional(),
        /** A cluster resource mapping (Datacenter → Resource Mappings). */
        mapping: ruleId.optional(),
        usb3: z.boolean().default(false),
    })
    .refine((u) => (u.host === undefined) !== (u.mapping === undefined), "give exactly one of host or mapping");

export const pciSchema = z
    .strictObject({
        /** A host PCI address such as 0000:01:00.0 (needs root@pam credentials in the provider). */
        id: z
            .string()
            .regex(/^([0-9a-f]{4}:)?[0-9a-f]{2}:[0-9a-f]{2}(\.[0-7])?$/, "must be a PCI address such as 0000:01:00.0")
            .optional(),
        mapping: ruleId.optional(),
        pcie: z.boolean().default(false),
        xvga: z.boolean().default(false),
    })
    .refine((p) => (p.id === undefined) !== (p.mapping === undefined), "give exactly one of id or mapping");

export const VM_OS_TYPES = ["l26", "other", "win11", "win10", "solaris"] as const;
export const CT_OS_TYPES = [
    "alpine",
    "archlinux",
    "centos",
    "debian",
    "devuan",
    "fedora",
    "gentoo",
    "nixos",
    "opensuse",
    "ubuntu",
] as const;

/**
 * One guest: a VM (type vm, the default) or a container (type ct). Keys that
 * only one type understands are optional here; validation names any that are
 * mixed (validate.ts), and the defaults of each type are applied when the
 * site is built, so a key the stack did not write is told from one it did.
 */
export const guestSchema = z.strictObject({
    vmid: z.int({ error: "must be a whole number from 100 to 999999999" }).min(100, "must be at least 100").max(999_999_999),
    name: hostname,
    /** vm (QEMU) or ct (LXC container). Defaults to vm. */
    type: z.enum(["vm", "ct"]).default("vm"),
    /** Home node. */
    node: hostname,
    cores: z.int().min(1).max(512).default(2),
    memoryMb: z.int().min(16).default(2048),
    nics: z.array(nicSchema).default([]),
    /** VM: l26 (default), other, win11, win10, solaris. Container: the distribution, e.g. debian (default). */
    osType: z.enum([...VM_OS_TYPES, ...CT_OS_TYPES]).optional(),
    /** Start after creation and on boot. Defaults to true. */
    started: z.boolean().default(true),
    startOnBoot: z.boolean().default(true),
    /** Proxmox protection flag (blocks removal of the guest and its disks). Defaults to true. */
    protect: z.boolean().default(true),
    /** Nodes that receive replicas. Defaults to every other node. */
    replicateTo: z.array(hostname).optional(),
    /**
     * Ids of replication jobs that already exist, by target node, e.g. { prox2: 101-0 } for
     * a job created by hand or in the GUI (`adopt` writes them). Jobs not listed get an id
     * derived from the guest and the two node names (see model.ts replicationJobs).
     */
    replicationJobIds: z.record(hostname, replicationJobId).optional(),
    ha: haSchema.optional(),
    /** User, SSH keys, IP configuration and DNS (VM: needs a cloud image or a cloud-init-ready template). */
    cloudInit: cloudInitSchema.optional(),

    // ----- VM only
    /** Defaults to one 32 GB disk on the replicated storage. */
    disks: z.array(diskSchema).optional(),
    /** An ISO volume already on the node, e.g. local:iso/x.iso (non-HA guests; HA guests use source.iso). */
    cdrom: isoVolume.optional(),
    /** QEMU guest agent. Defaults to true. */
    agent: z.boolean().optional(),
    /** Where the OS comes from: clone, cloudImage or iso. Without it the VM starts empty. */
    source: sourceSchema.optional(),
    /** seabios (default) or ovmf (UEFI, with an EFI disk on the replicated storage). */
    bios: z.enum(["seabios", "ovmf"]).optional(),
    /** QEMU machine type, e.g. q35 or pc. Defaults to Proxmox's (pc). */
    machine: z
        .string()
        .regex(/^(pc|q35)(-i440fx|-q35)?(-\d+\.\d+(\+pve\d+)?)?$/, "must be a machine type such as q35, pc or pc-q35-9.2+pve1")
        .optional(),
    /** OVMF: secure boot keys pre-enrolled in the EFI disk. Defaults to false. */
    secureBoot: z.boolean().optional(),
    /** A TPM state volume of this version on the replicated storage. */
    tpm: z.enum(["v2.0", "v1.2"]).optional(),
    usb: z.array(usbSchema).max(14).optional(),
    pci: z.array(pciSchema).max(16).optional(),

    // ----- container only
    /** The container template, downloaded to the home node. */
    template: z.strictObject(mediaSchema(TEMPLATE_EXTENSIONS, "debian-13-standard_13.1-2_amd64.tar.zst")).optional(),
    /** Root file system. Defaults to 8 GB on the replicated storage. */
    rootfs: z
        .strictObject({
            sizeGb: z.int().min(1),
            /** Storage id. Defaults to the site's replicated ZFS storage. */
            storage: storageId.optional(),
        })
        .optional(),
    /** Unprivileged container (root inside is not root outside). Defaults to true. */
    unprivileged: z.boolean().optional(),
    /** Allow nested containers (systemd in recent distributions wants it). Defaults to true for unprivileged containers. */
    nesting: z.boolean().optional(),
    swapMb: z.int().min(0).optional(),
});

/** Keys only a VM understands, and keys only a container understands. */
export const VM_ONLY_KEYS = ["disks", "cdrom", "agent", "source", "bios", "machine", "secureBoot", "tpm", "usb", "pci"] as const;
export const CT_ONLY_KEYS = ["template", "rootfs", "unprivileged", "nesting", "swapMb"] as const;

export const haRuleSchema = z.strictObject({
    id: ruleId,
    affinity: z.enum(["positive", "negative"]),
    guests: z.array(z.int()).min(2, "a resource-affinity rule needs at least two guests"),
    comment: z
        .string()
        .regex(/^[^'"`$\\;\n]*$/, "must not contain quotes, '$', '\\', ';' or newlines")
        .optional(),
});

export const vlanSchema = z.strictObject({
    tag: z
        .int({ error: "must be a VLAN tag from 1 to 4094" })
        .min(1, "must be a VLAN tag from 1 to 4094")
        .max(4094, "must be a VLAN tag from 1 to 4094"),
    /** Parent interface, e.g. eno1 or bond0. */
    interface: ifaceName,
    mtu: z.int().min(576).max(9216).optional(),
    purpose: z.enum(["corosync", "replication", "vxlan", "migration", "guest", "storage", "other"]).default("other"),
    /** Per-node address with prefix, e.g. { prox1: 10.40.1.11/24 }. */
    addresses: z.record(hostname, interfaceAddress).default({}),
    /** Nodes that get this VLAN. Defaults to all. */
    nodes: z.array(hostname).optional(),
    comment: z
        .string()
        .regex(/^[^'"`$\\;\n]*$/, "must not contain quotes, '$', '\\', ';' or newlines")
        .optional(),
});

export const bridgeSchema = z.strictObject({
    name: bridgeName,
    ports: z.array(ifaceName).default([]),
    vlanAware: z.boolean().default(false),
    mtu: z.int().min(576).max(9216).optional(),
    addresses: z.record(hostname, interfaceAddress).default({}),
    nodes: z.array(hostname).optional(),
    comment: z
        .string()
        .regex(/^[^'"`$\\;\n]*$/, "must not contain quotes, '$', '\\', ';' or newlines")
        .optional(),
    /**
     * Set to true only when this bridge carries a node's management address and
     * you really want Pulumi to manage it (a mistake cuts the node off).
     */
    managesManagementAddress: z.boolean().default(false),
});

export const vxlanSchema = z.strictObject({
    zone: sdnId,
    vnet: sdnId,
    /** VXLAN network identifier (VNI). */
    tag: z.int().min(1).max(16_777_215),
    /** Guest-side MTU of the zone. At most underlayMtu − 50. */
    mtu: z.int().min(576).max(9000),
    /** MTU of the underlay network. Defaults to 1500. */
    underlayMtu: z.int().min(626).max(9216).default(1500),
    /** Underlay address per node. Defaults to the addresses of a VLAN with purpose vxlan, else node addresses. */
    peers: z.record(hostname, ipAddress).optional(),
});

export const networkSchema = z.strictObject({
    vlans: z.array(vlanSchema).default([]),
    bridges: z.array(bridgeSchema).default([]),
    vxlan: vxlanSchema.optional(),
});

export const firewallSchema = z.strictObject({
    enabled: z.boolean().default(false),
    /** Who may reach SSH (22) and the web UI/API (8006). */
    managementAllowlist: z.array(ipOrCidr).default([]),
});

export const alertsSchema = z.strictObject({
    email: z.email({ error: "must be an e-mail address" }).optional(),
    /** Sender address. Defaults to Proxmox's own (root@<node>). */
    from: z.email({ error: "must be an e-mail address" }).optional(),
});

export const zreplSchema = z.strictObject({
    enabled: z.boolean().default(false),
    /** Snapshot interval of the source jobs. Defaults to 10m. */
    interval: duration.default("10m"),
    /** TCP port of the source jobs. Defaults to 8888. */
    port: z.int().min(1).max(65535).default(8888),
    /** Where pulled copies land on each node. Defaults to <storage pool>/zrepl. */
    rootFs: datasetPathWithPool().optional(),
    /** zrepl snapshots kept on the receiver. Defaults to 24. */
    keep: z.int().min(1).max(10_000).default(24),
    /**
     * zrepl snapshots kept on the sender, replicated or not: the cap while a peer is
     * away. Defaults to 144 (a day at the default 10-minute interval).
     */
    senderKeep: z.int().min(1).max(10_000).default(144),
    /** Bandwidth limit of each pull job in MiB/s (as pvesr's rateMBps). Unset: unlimited. */
    rateMBps: z.number().positive().max(100_000).optional(),
    /** How often the repair tool runs. Defaults to 15m. */
    repairInterval: duration.default("15m"),
    /**
     * Where the repair tool moves a copy that has no snapshot in common with its sender
     * (renamed, never deleted): a dataset in the storage pool outside rootFs. Unset: the
     * tool refuses and reports, and the operator moves the copy by hand.
     */
    attic: datasetPathWithPool().optional(),
    /** zrepl's APT repository and its signing key. */
    apt: z
        .strictObject({
            url: httpsUrl().default("https://zrepl.cschwarz.com/apt/debian"),
            keyUrl: httpsUrl().default("https://zrepl.cschwarz.com/apt/apt-key.asc"),
            fingerprint: z
                .string()
                .regex(/^[0-9A-F]{40}$/, "must be a 40-hex-digit OpenPGP fingerprint in upper case without spaces")
                .default("E101418FD3D6FBCB9D65A62D708699FC5F2EBF16"),
        })
        .default({
            url: "https://zrepl.cschwarz.com/apt/debian",
            keyUrl: "https://zrepl.cschwarz.com/apt/apt-key.asc",
            fingerprint: "E101418FD3D6FBCB9D65A62D708699FC5F2EBF16",
        }),
});

/** An https URL that reaches a shell (zrepl-install.sh): restricted like every other shell-bound value. */
function httpsUrl() {
    return z
        .url({ protocol: /^https$/, error: "must be an https URL" })
        .regex(
            /^https:\/\/[A-Za-z0-9.-]+(:[0-9]{1,5})?(\/[A-Za-z0-9._~%+/-]*)?$/,
            "must be an https URL of letters, digits and . _ ~ % + - / only (it reaches a shell), e.g. https://apt.example.org/debian",
        );
}

function datasetPathWithPool() {
    return z.string().regex(/^[A-Za-z][A-Za-z0-9_.:-]*(\/[A-Za-z0-9_.:-]+)+$/, "must be a dataset path inside a pool, e.g. pool1/zrepl");
}

/** Every structured key of the stack file, with the schema that reads it. */
export const SECTIONS = {
    cluster: clusterSchema,
    nodes: z.array(nodeSchema).min(1, "list at least one node"),
    qdevice: qdeviceSchema.optional(),
    storage: storageSchema,
    replication: replicationSchema.default({ schedule: "*/5" }),
    guests: z.array(guestSchema).default([]),
    haRules: z.array(haRuleSchema).default([]),
    network: networkSchema.default({ vlans: [], bridges: [] }),
    firewall: firewallSchema.default({ enabled: false, managementAllowlist: [] }),
    alerts: alertsSchema.default({}),
    zrepl: zreplSchema.default({
        enabled: false,
        interval: "10m",
        port: 8888,
        keep: 24,
        senderKeep: 144,
        repairInterval: "15m",
        apt: {
            url: "https://zrepl.cschwarz.com/apt/debian",
            keyUrl: "https://zrepl.cschwarz.com/apt/apt-key.asc",
            fingerprint: "E101418FD3D6FBCB9D65A62D708699FC5F2EBF16",
        },
    }),
    /** Skip TLS verification of the Proxmox API (self-signed certificates). Defaults to false. */
    apiInsecure: z.boolean().default(false),
    /**
     * Existing Proxmox objects to adopt: resource name → import id as the provider
     * documents it (e.g. prod-api-vm-101: prox1/101). `npm run adopt` writes it; the
     * program sets Pulumi's `import` resource option from it. Defaults to none.
     */
    import: z
        .record(
            z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._+-]*$/, "must be a resource name of this program, e.g. prod-api-vm-101"),
            z.string().min(1, "must be the provider's import id, e.g. prox1/101"),
        )
        .default({}),
    /** Marks a stack as an example: `pulumi up`/`preview` refuse it (a forker's copy is never deployed by accident). */
    example: z.boolean().default(false),
    /** The node whose API the provider uses (default: the first node); PROXMOX_HA_API_NODE overrides it for one run. */
    apiNode: z.string().optional(),
    /**
     * Generation of the bootstrapped API token (`proxmox-ha@pve!pulumi-<n>`).
     * Raising it is the one way to rotate the token: the next `pulumi up`
     * creates the new token, then removes the old one. Defaults to 1.
     */
    apiTokenRotation: z.number().int().min(1).max(9999).default(1),
} as const;

export type SectionName = keyof typeof SECTIONS;
export const REQUIRED_SECTIONS: readonly SectionName[] = ["cluster", "nodes", "storage"];

/** Secret keys: never part of the parsed object, read with requireSecret. */
export const SECRET_KEYS = [
    "apiToken",
    "rootPassword",
    "sshPrivateKey",
    "sshKeyPassphrase",
    "apiCertificate",
    "apiCertificateKey",
] as const;
export type SecretKey = (typeof SECRET_KEYS)[number];

export type ParsedSections = { [K in SectionName]: z.output<(typeof SECTIONS)[K]> };
export type NodeInput = z.output<typeof nodeSchema>;
export type GuestInput = z.output<typeof guestSchema>;
