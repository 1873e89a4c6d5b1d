/**
 * Proves: for each committed stack (prod, lab, dc2), the real program under
 * the mock runtime declares exactly these Proxmox API objects — exact types,
 * names and inputs (whole input objects compared, not subsets) for the
 * provider, storage, VLANs, SDN zone/vnet/apply, cluster options, firewall,
 * alert command, downloaded media (OPNsense ISO on both nodes, a Debian cloud
 * image, a container template), VMs from an ISO, a cloud image and a template
 * clone, a container, replication jobs, HA resources (vm: and ct:) and HA rules — each
 * through the one explicit provider, with `protect` and `ignoreChanges` as
 * intended, and the component's summary for the stack outputs.
 * Does not prove: that Proxmox or the provider accept these inputs (no engine,
 * no provider plugin, no PVE here), nor ordering (order.test.ts).
 */
import { describe, it, before } from "node:test";
import * as assert from "node:assert/strict";
import { scriptInvocation } from "../../components/remote";
import type { RecordedResource } from "../../tools/lib/mock-runtime";
import { SECRETS, runStack, type Run } from "./harness";

const T = {
    provider: "pulumi:providers:proxmoxve",
    storage: "proxmoxve:storage/zfspool:Zfspool",
    vlan: "proxmoxve:network/linux/vlan:Vlan",
    bridge: "proxmoxve:network/linux/bridge:Bridge",
    zone: "proxmoxve:sdn/zone/vxlan:Vxlan",
    vnet: "proxmoxve:sdn/vnet:Vnet",
    applier: "proxmoxve:sdn/applier:Applier",
    options: "proxmoxve:cluster/options:Options",
    ipset: "proxmoxve:firewall/ipsetLegacy:IpsetLegacy",
    rules: "proxmoxve:firewall/rulesLegacy:RulesLegacy",
    fwOptions: "proxmoxve:cluster/firewallLegacy:FirewallLegacy",
    vm: "proxmoxve:index/vmLegacy:VmLegacy",
    replication: "proxmoxve:index/replication:Replication",
    haresource: "proxmoxve:index/haresource:Haresource",
    harule: "proxmoxve:index/harule:Harule",
    ct: "proxmoxve:index/containerLegacy:ContainerLegacy",
    file: "proxmoxve:download/file:File",
    command: "command:remote:Command",
} as const;

const SIG = "4dabf18193072939515e22adb298388d";
const SECRET_VALUE = "1b47061264138c4ac30d75fd1eb44270";

type Expected = Record<string, { type: string; inputs: Record<string, unknown>; protect?: boolean; ignoreChanges?: string[] }>;

/** Every API child except the provider and the alert command (checked on their own). */
function apiObjects(run: Run): RecordedResource[] {
    return run.api.filter((r) => r.type !== T.provider && r.type !== T.command);
}

function assertExactly(run: Run, expected: Expected): void {
    const objects = apiObjects(run);
    assert.deepEqual(
        objects.map((r) => `${r.type} ${r.name}`).sort(),
        Object.entries(expected)
            .map(([name, e]) => `${e.type} ${name}`)
            .sort(),
        "exactly these API objects",
    );
    for (const r of objects) {
        const e = expected[r.name]!;
        assert.deepEqual(r.inputs, e.inputs, `inputs of ${r.name}`);
        assert.deepEqual(r.secretInputs, [], `${r.name} has no secret inputs`);
        assert.equal(r.protect, e.protect ?? false, `protect of ${r.name}`);
        assert.deepEqual(r.ignoreChanges, e.ignoreChanges ?? [], `ignoreChanges of ${r.name}`);
    }
}

function assertProvider(run: Run, endpoint: string, insecure: boolean): void {
    const providers = run.api.filter((r) => r.type === T.provider);
    assert.equal(providers.length, 1, "one explicit provider");
    const p = providers[0]!;
    assert.equal(p.name, `${run.site.cluster.name}-api-provider`);
    assert.deepEqual(p.inputs, {
        endpoint,
        insecure: JSON.stringify(insecure),
        apiToken: { [SIG]: SECRET_VALUE, value: SECRETS.apiToken },
    });
    assert.deepEqual(p.secretInputs, ["apiToken"]);
    assert.deepEqual([...p.additionalSecretOutputs].sort(), ["apiToken", "authTicket", "csrfPreventionToken", "password"]);
    // Every other API object uses this provider, explicitly.
    const ref = `${p.urn}::${p.name}-id`;
    for (const r of apiObjects(run)) assert.equal(r.provider, ref, `${r.name} uses the explicit provider`);
}

function assertNotifications(run: Run, email: string | undefined): void {
    // The HA manager wait is the other remote command of the layer (test/api/ha-manager-ready.test.ts).
    const cmds = run.api.filter((r) => r.type === T.command && !r.name.endsWith("-ha-manager-ready"));
    if (email === undefined) {
        assert.deepEqual(cmds, [], "no alert command without alerts.email");
        return;
    }
    assert.deepEqual(
        cmds.map((c) => c.name),
        [`${run.site.cluster.name}-api-notifications`],
    );
    const c = cmds[0]!;
    const first = run.site.nodes[0]!;
    const text = scriptInvocation("notifications", ["proxmox-ha-mail", "proxmox-ha-alerts", email]);
    assert.deepEqual(c.inputs, {
        addPreviousOutputInEnv: false,
        connection: {
            [SIG]: SECRET_VALUE,
            value: {
                host: first.address,
                port: first.sshPort,
                user: "root",
                privateKey: SECRETS.sshPrivateKey,
                hostKey: first.sshHostKey,
                dialErrorLimit: 10,
                perDialTimeout: 15,
            },
        },
        create: text,
        update: text,
        logging: "stderr",
        triggers: [first.name, first.address, first.sshHostKey],
    });
    assert.deepEqual(c.secretInputs, ["connection"]);
}

const vm = (o: {
    vmid: number;
    name: string;
    node: string;
    memory: number;
    storage: string;
    size: number;
    nics: Record<string, unknown>[];
    osType?: string;
    /** Inputs of the OS source (cdrom, bootOrders, clone, initialization, …). */
    extra?: Record<string, unknown>;
    /** Extra inputs of the first disk (importFrom). */
    disk?: Record<string, unknown>;
}) => ({
    type: T.vm,
    protect: true,
    ignoreChanges: ["nodeName"],
    inputs: {
        nodeName: o.node,
        vmId: o.vmid,
        name: o.name,
        cpu: { cores: 2, type: "x86-64-v2-AES" },
        memory: { dedicated: o.memory },
        operatingSystem: { type: o.osType ?? "l26" },
        ...o.extra,
        agent: { enabled: true, timeout: "1m", waitForIp: { disabled: true } },
        disks: [
            {
                interface: "scsi0",
                datastoreId: o.storage,
                size: o.size,
                ...o.disk,
                fileFormat: "raw",
                ssd: true,
                discard: "on",
                replicate: true,
            },
        ],
        networkDevices: o.nics,
        started: true,
        onBoot: true,
        protection: true,
    },
});

const OPNSENSE_URL = "https://pkg.opnsense.org/releases/25.1/OPNsense-25.1-dvd-amd64.iso.bz2";
const OPNSENSE = "OPNsense-25.1-dvd-amd64.iso";
/** The OPNsense installer downloaded to a node, decompressed there (the file drops .bz2). */
const opnsense = (node: string) => ({
    type: T.file,
    inputs: {
        nodeName: node,
        datastoreId: "local",
        contentType: "iso",
        url: OPNSENSE_URL,
        fileName: OPNSENSE,
        // No checksum in the committed stack, so no algorithm either.
        decompressionAlgorithm: "bz2",
        overwrite: false,
    },
});
/** An attached installer ISO: CD drive on ide2, the disk first in the boot order. */
const ISO_ATTACHED = { cdrom: { fileId: `local:iso/${OPNSENSE}`, interface: "ide2" }, bootOrders: ["scsi0", "ide2"] };
const LAB_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILRM5qLSpDzrVE5NUqUQ2OT/6zqkpmMNDIi85JVopxfe lab-admin@example.com";

const replication = (id: string, target: string, schedule: string, rate?: number) => ({
    type: T.replication,
    protect: true,
    ignoreChanges: ["target"],
    inputs: { resourceId: id, type: "local", target, schedule, ...(rate !== undefined ? { rate } : {}) },
});

const haresource = (vmid: number, maxRestart = 1) => ({
    type: T.haresource,
    protect: true,
    inputs: { resourceId: `vm:${vmid}`, type: "vm", state: "started", maxRestart, maxRelocate: 1, failback: true },
});

const nodeRule = (vmid: number, home: string, nodes: Record<string, number>) => ({
    type: T.harule,
    protect: true,
    inputs: {
        rule: `ha-guest-${vmid}`,
        type: "node-affinity",
        resources: [`vm:${vmid}`],
        nodes,
        strict: false,
        comment: `home ${home} (proxmox-ha)`,
    },
});

const BASE_RULES = [
    { action: "ACCEPT", type: "in", proto: "tcp", dport: "22", source: "+mgmt-allowlist", comment: "SSH from the management allowlist" },
    {
        action: "ACCEPT",
        type: "in",
        proto: "tcp",
        dport: "8006",
        source: "+mgmt-allowlist",
        comment: "web UI and API from the management allowlist",
    },
    {
        action: "ACCEPT",
        type: "in",
        proto: "udp",
        dport: "5405:5412",
        source: "+cluster-nodes",
        comment: "corosync (knet) between cluster nodes",
    },
    {
        action: "ACCEPT",
        type: "in",
        proto: "tcp",
        dport: "22",
        source: "+cluster-nodes",
        comment: "SSH between nodes: migration, replication, QDevice setup",
    },
    {
        action: "ACCEPT",
        type: "in",
        proto: "tcp",
        dport: "8006",
        source: "+cluster-nodes",
        comment: "API between nodes: pveproxy forwards requests to the owning node",
    },
];
const qnetdRule = (addr: string) => ({
    action: "ACCEPT",
    type: "out",
    proto: "tcp",
    dport: "5403",
    dest: addr,
    comment: "corosync-qdevice to qnetd",
});

describe("prod (Pulumi.prod.yaml): the reference site", () => {
    let run: Run;
    before(async () => {
        run = await runStack("prod");
    });
    it("declares exactly these objects with these inputs", () => {
        assertExactly(run, {
            "prod-api-storage": {
                type: T.storage,
                inputs: {
                    resourceId: "pool1",
                    zfsPool: "pool1",
                    contents: ["images", "rootdir"],
                    thinProvision: true,
                    nodes: ["prox1", "prox2"],
                },
            },
            "prod-api-vlan-prox1-20": {
                type: T.vlan,
                inputs: {
                    nodeName: "prox1",
                    name: "eno1.20",
                    address: "10.0.20.11/24",
                    comment: "replication (proxmox-ha)",
                    autostart: true,
                },
            },
            "prod-api-vlan-prox2-20": {
                type: T.vlan,
                inputs: {
                    nodeName: "prox2",
                    name: "eno1.20",
                    address: "10.0.20.12/24",
                    comment: "replication (proxmox-ha)",
                    autostart: true,
                },
            },
            "prod-api-cluster-options": {
                type: T.options,
                inputs: {
                    migrationType: "secure",
                    migrationCidr: "10.0.20.0/24",
                    haShutdownPolicy: "conditional",
                    crsHa: "basic",
                    crsHaRebalanceOnStart: false,
                },
            },
            "prod-api-fw-ipset-allowlist": {
                type: T.ipset,
                inputs: { name: "mgmt-allowlist", comment: "operators: SSH and web UI/API (proxmox-ha)", cidrs: [{ name: "10.0.0.0/24" }] },
            },
            "prod-api-fw-ipset-nodes": {
                type: T.ipset,
                inputs: {
                    name: "cluster-nodes",
                    comment: "every address of every cluster node (proxmox-ha)",
                    cidrs: [
                        { name: "10.0.0.11", comment: "prox1" },
                        { name: "10.10.10.11", comment: "prox1" },
                        { name: "10.0.20.11", comment: "prox1" },
                        { name: "10.0.0.12", comment: "prox2" },
                        { name: "10.10.10.12", comment: "prox2" },
                        { name: "10.0.20.12", comment: "prox2" },
                    ],
                },
            },
            "prod-api-fw-rules": { type: T.rules, inputs: { rules: [...BASE_RULES, qnetdRule("10.0.0.120")] } },
            "prod-api-fw-enable": { type: T.fwOptions, inputs: { enabled: true, inputPolicy: "DROP", outputPolicy: "ACCEPT" } },
            "prod-api-vm-101": vm({
                vmid: 101,
                name: "fw",
                node: "prox1",
                memory: 4096,
                storage: "pool1",
                size: 32,
                nics: [{ bridge: "vmbr0", model: "virtio", firewall: true }],
                osType: "other",
                extra: ISO_ATTACHED,
            }),
            "prod-api-iso-prox1-OPNsense-25.1-dvd-amd64.iso": opnsense("prox1"),
            "prod-api-iso-prox2-OPNsense-25.1-dvd-amd64.iso": opnsense("prox2"),
            "prod-api-replication-101-492612": replication("101-492612", "prox2", "*/5", 100),
            "prod-api-ha-101": haresource(101, 2),
            "prod-api-harule-ha-guest-101": nodeRule(101, "prox1", { prox1: 2, prox2: 1 }),
        });
    });
    it("talks to prox1's API with TLS verification on", () => assertProvider(run, "https://10.0.0.11:8006", false));
    it("routes fencing and replication alerts to ops@example.com through the script on prox1", () =>
        assertNotifications(run, "ops@example.com"));
    it("summarizes storage, guests, replication with worst-case RPO, and HA for the stack outputs", () => {
        assert.deepEqual(run.layer.summary, {
            storage: { id: "pool1", pool: "pool1", nodes: ["prox1", "prox2"], thinProvision: true },
            guests: [{ vmid: 101, name: "fw", type: "vm", homeNode: "prox1", ha: true, protect: true, replicateTo: ["prox2"] }],
            replicationJobs: [{ id: "101-492612", vmid: 101, target: "prox2", schedule: "*/5", rateMBps: 100, worstCaseRpoMinutes: 5 }],
            ha: {
                resources: [{ sid: "vm:101", state: "started", maxRestart: 2, maxRelocate: 1, failback: true }],
                rules: [{ id: "ha-guest-101", type: "node-affinity", resources: ["vm:101"], nodes: { prox1: 2, prox2: 1 }, strict: false }],
            },
        });
    });
});

describe("lab (Pulumi.lab.yaml): dataset storage, 15-minute schedule, both directions", () => {
    let run: Run;
    before(async () => {
        run = await runStack("lab");
    });
    it("declares exactly these objects with these inputs (no firewall, no VLANs, no SDN, no alerts)", () => {
        const IMAGE = "debian-13-genericcloud-amd64.qcow2";
        const TEMPLATE = "debian-13-standard_13.1-2_amd64.tar.zst";
        assertExactly(run, {
            "lab-api-storage": {
                type: T.storage,
                inputs: {
                    resourceId: "vmstore",
                    zfsPool: "vmdata/vmstore",
                    contents: ["images", "rootdir"],
                    thinProvision: true,
                    nodes: ["lab1", "lab2"],
                },
            },
            "lab-api-cluster-options": {
                type: T.options,
                inputs: { migrationType: "secure", haShutdownPolicy: "conditional", crsHa: "basic", crsHaRebalanceOnStart: false },
            },
            "lab-api-import-lab1-debian-13-genericcloud-amd64.qcow2": {
                type: T.file,
                inputs: {
                    nodeName: "lab1",
                    datastoreId: "local",
                    contentType: "import",
                    url: `https://cloud.debian.org/images/cloud/trixie/latest/${IMAGE}`,
                    fileName: IMAGE,
                    overwrite: false,
                },
            },
            "lab-api-vztmpl-lab2-debian-13-standard_13.1-2_amd64.tar.zst": {
                type: T.file,
                inputs: {
                    nodeName: "lab2",
                    datastoreId: "local",
                    contentType: "vztmpl",
                    url: `http://download.proxmox.com/images/system/${TEMPLATE}`,
                    fileName: TEMPLATE,
                    overwrite: false,
                },
            },
            "lab-api-vm-201": vm({
                vmid: 201,
                name: "dns1",
                node: "lab1",
                memory: 1024,
                storage: "vmstore",
                size: 8,
                nics: [{ bridge: "vmbr0", model: "virtio", firewall: true }],
                disk: { importFrom: `local:import/${IMAGE}` },
                extra: {
                    initialization: {
                        datastoreId: "vmstore",
                        userAccount: { username: "debian", keys: [LAB_KEY] },
                        ipConfigs: [{ ipv4: { address: "192.168.122.21/24", gateway: "192.168.122.1" } }],
                        dns: { domain: "lab.example.com", servers: ["192.168.122.1"] },
                    },
                },
            }),
            "lab-api-ct-202": {
                type: T.ct,
                protect: true,
                ignoreChanges: ["nodeName"],
                inputs: {
                    nodeName: "lab2",
                    vmId: 202,
                    cpu: { cores: 2 },
                    memory: { dedicated: 512 },
                    disk: { datastoreId: "vmstore", size: 8, replicate: true },
                    operatingSystem: { templateFileId: `local:vztmpl/${TEMPLATE}`, type: "debian" },
                    initialization: {
                        hostname: "dns2",
                        ipConfigs: [{ ipv4: { address: "192.168.122.22/24", gateway: "192.168.122.1" } }],
                        dns: { servers: ["192.168.122.1"] },
                        userAccount: { keys: [LAB_KEY] },
                    },
                    networkInterfaces: [{ name: "eth0", bridge: "vmbr0", firewall: true }],
                    unprivileged: true,
                    features: { nesting: true },
                    started: true,
                    startOnBoot: true,
                    protection: true,
                },
            },
            "lab-api-vm-203": vm({
                vmid: 203,
                name: "ci",
                node: "lab1",
                memory: 2048,
                storage: "vmstore",
                size: 16,
                nics: [{ bridge: "vmbr0", model: "virtio", firewall: true }],
                extra: {
                    clone: { vmId: 9000, full: true, datastoreId: "vmstore" },
                    initialization: {
                        datastoreId: "vmstore",
                        userAccount: { username: "debian", keys: [LAB_KEY] },
                        ipConfigs: [{ ipv4: { address: "dhcp" } }],
                    },
                },
            }),
            "lab-api-replication-201-702180": replication("201-702180", "lab2", "*/15"),
            "lab-api-replication-202-702180": replication("202-702180", "lab1", "*/15"),
            "lab-api-replication-203-702180": replication("203-702180", "lab2", "*/15"),
            "lab-api-ha-201": haresource(201),
            "lab-api-ha-202": {
                type: T.haresource,
                protect: true,
                inputs: { resourceId: "ct:202", type: "ct", state: "started", maxRestart: 1, maxRelocate: 1, failback: true },
            },
            "lab-api-harule-ha-guest-201": nodeRule(201, "lab1", { lab1: 1 }),
            "lab-api-harule-ha-guest-202": {
                ...nodeRule(202, "lab2", { lab2: 1 }),
                inputs: { ...nodeRule(202, "lab2", { lab2: 1 }).inputs, resources: ["ct:202"] },
            },
            "lab-api-harule-dns-apart": {
                type: T.harule,
                protect: true,
                inputs: { rule: "dns-apart", type: "resource-affinity", affinity: "negative", resources: ["vm:201", "ct:202"] },
            },
        });
    });
    it("skips TLS verification as the stack asks (apiInsecure: true)", () => assertProvider(run, "https://192.168.122.11:8006", true));
    it("has no alert command", () => assertNotifications(run, undefined));
    it("summarizes three replication jobs of 15 minutes worst-case RPO", () => {
        assert.deepEqual(run.layer.summary.replicationJobs, [
            { id: "201-702180", vmid: 201, target: "lab2", schedule: "*/15", worstCaseRpoMinutes: 15 },
            { id: "202-702180", vmid: 202, target: "lab1", schedule: "*/15", worstCaseRpoMinutes: 15 },
            { id: "203-702180", vmid: 203, target: "lab2", schedule: "*/15", worstCaseRpoMinutes: 15 },
        ]);
        assert.deepEqual(
            run.layer.summary.ha.rules.map((r) => r.id),
            ["ha-guest-201", "ha-guest-202", "dns-apart"],
        );
    });
});

describe("dc2 (Pulumi.dc2.yaml): two datacentres, VLANs at MTU 1400, VXLAN guest network", () => {
    let run: Run;
    before(async () => {
        run = await runStack("dc2");
    });
    it("declares exactly these objects with these inputs", () => {
        const vlan = (node: string, tag: number, address: string, purpose: string) => ({
            type: T.vlan,
            inputs: { nodeName: node, name: `bond0.${tag}`, address, mtu: 1400, comment: `${purpose} (proxmox-ha)`, autostart: true },
        });
        const fw = (vmid: number, name: string, node: string) =>
            vm({
                vmid,
                name,
                node,
                memory: 4096,
                storage: "tank-vm",
                size: 32,
                nics: [
                    { bridge: "vmbr0", model: "virtio", firewall: true },
                    { bridge: "guests", model: "virtio", firewall: true, mtu: 1332 },
                ],
                osType: "other",
                extra: ISO_ATTACHED,
            });
        assertExactly(run, {
            "dc2-api-storage": {
                type: T.storage,
                inputs: {
                    resourceId: "tank-vm",
                    zfsPool: "tank/vm",
                    contents: ["images", "rootdir"],
                    thinProvision: true,
                    nodes: ["dca-pve1", "dcb-pve1"],
                },
            },
            // VLAN 4001 (purpose corosync) is the bootstrap's: not here.
            "dc2-api-vlan-dca-pve1-4002": vlan("dca-pve1", 4002, "172.31.2.11/24", "replication"),
            "dc2-api-vlan-dca-pve1-4003": vlan("dca-pve1", 4003, "172.31.3.11/24", "vxlan"),
            "dc2-api-vlan-dcb-pve1-4002": vlan("dcb-pve1", 4002, "172.31.2.12/24", "replication"),
            "dc2-api-vlan-dcb-pve1-4003": vlan("dcb-pve1", 4003, "172.31.3.12/24", "vxlan"),
            "dc2-api-sdn-zone": {
                type: T.zone,
                inputs: { resourceId: "dcvx", peers: ["172.31.3.11", "172.31.3.12"], mtu: 1332, nodes: ["dca-pve1", "dcb-pve1"] },
            },
            "dc2-api-sdn-vnet": { type: T.vnet, inputs: { resourceId: "guests", zone: "dcvx", tag: 100001 } },
            "dc2-api-sdn-apply": { type: T.applier, inputs: { onCreate: true, onDestroy: true } },
            "dc2-api-sdn-finalizer": { type: T.applier, inputs: { onCreate: false, onDestroy: true } },
            "dc2-api-cluster-options": {
                type: T.options,
                inputs: {
                    migrationType: "secure",
                    migrationCidr: "172.31.2.0/24",
                    // 200 MiB/s in the stack = 204800 KiB/s in datacenter.cfg.
                    bandwidthLimitMigration: 204800,
                    bandwidthLimitRestore: 204800,
                    haShutdownPolicy: "conditional",
                    crsHa: "basic",
                    crsHaRebalanceOnStart: false,
                },
            },
            "dc2-api-fw-ipset-allowlist": {
                type: T.ipset,
                inputs: {
                    name: "mgmt-allowlist",
                    comment: "operators: SSH and web UI/API (proxmox-ha)",
                    cidrs: [{ name: "203.0.113.0/24" }, { name: "172.16.0.0/16" }],
                },
            },
            "dc2-api-fw-ipset-nodes": {
                type: T.ipset,
                inputs: {
                    name: "cluster-nodes",
                    comment: "every address of every cluster node (proxmox-ha)",
                    cidrs: [
                        { name: "172.16.1.11", comment: "dca-pve1" },
                        { name: "172.31.1.11", comment: "dca-pve1" },
                        { name: "172.31.2.11", comment: "dca-pve1" },
                        { name: "172.31.3.11", comment: "dca-pve1" },
                        { name: "172.16.2.11", comment: "dcb-pve1" },
                        { name: "172.31.1.12", comment: "dcb-pve1" },
                        { name: "172.31.2.12", comment: "dcb-pve1" },
                        { name: "172.31.3.12", comment: "dcb-pve1" },
                    ],
                },
            },
            "dc2-api-fw-ipset-vxlan": {
                type: T.ipset,
                inputs: {
                    name: "vxlan-peers",
                    comment: "VXLAN underlay peers of zone dcvx (proxmox-ha)",
                    cidrs: [
                        { name: "172.31.3.11", comment: "dca-pve1" },
                        { name: "172.31.3.12", comment: "dcb-pve1" },
                    ],
                },
            },
            "dc2-api-fw-rules": {
                type: T.rules,
                inputs: {
                    rules: [
                        ...BASE_RULES,
                        qnetdRule("198.51.100.20"),
                        {
                            action: "ACCEPT",
                            type: "in",
                            proto: "udp",
                            dport: "4789",
                            source: "+vxlan-peers",
                            comment: "VXLAN (zone dcvx) between peers",
                        },
                    ],
                },
            },
            "dc2-api-fw-enable": { type: T.fwOptions, inputs: { enabled: true, inputPolicy: "DROP", outputPolicy: "ACCEPT" } },
            "dc2-api-vm-111": fw(111, "fw-a", "dca-pve1"),
            "dc2-api-vm-112": fw(112, "fw-b", "dcb-pve1"),
            // One download per node, shared by both firewalls.
            "dc2-api-iso-dca-pve1-OPNsense-25.1-dvd-amd64.iso": opnsense("dca-pve1"),
            "dc2-api-iso-dcb-pve1-OPNsense-25.1-dvd-amd64.iso": opnsense("dcb-pve1"),
            "dc2-api-replication-111-2948": replication("111-2948", "dcb-pve1", "*/5", 50),
            "dc2-api-replication-112-2948": replication("112-2948", "dca-pve1", "*/5", 50),
            "dc2-api-ha-111": haresource(111),
            "dc2-api-ha-112": haresource(112),
            "dc2-api-harule-ha-guest-111": nodeRule(111, "dca-pve1", { "dca-pve1": 1 }),
            "dc2-api-harule-ha-guest-112": nodeRule(112, "dcb-pve1", { "dcb-pve1": 1 }),
            "dc2-api-harule-fw-apart": {
                type: T.harule,
                protect: true,
                inputs: {
                    rule: "fw-apart",
                    type: "resource-affinity",
                    affinity: "negative",
                    resources: ["vm:111", "vm:112"],
                    comment: "one firewall per datacentre",
                },
            },
        });
    });
    it("talks to dca-pve1's API", () => assertProvider(run, "https://172.16.1.11:8006", false));
    it("routes alerts to noc@example.net through the script on dca-pve1", () => assertNotifications(run, "noc@example.net"));
    it("re-applies SDN whenever the zone or vnet definition changes (replacementTrigger = their definition)", () => {
        const apply = run.api.find((r) => r.name === "dc2-api-sdn-apply")!;
        assert.deepEqual(JSON.parse(apply.replacementTrigger as string), {
            zone: { resourceId: "dcvx", peers: ["172.31.3.11", "172.31.3.12"], mtu: 1332, nodes: ["dca-pve1", "dcb-pve1"] },
            vnet: { resourceId: "guests", zone: "dcvx", tag: 100001 },
        });
        for (const r of run.api)
            if (r.name !== "dc2-api-sdn-apply") assert.equal(r.replacementTrigger, undefined, `${r.name} has no trigger`);
    });
});
