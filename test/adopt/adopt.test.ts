/**
 * Proves, for the three example sites (prod, lab, dc2) built by hand the way
 * operators build them (handbuilt.ts: Proxmox's own file formats, jobs with
 * Proxmox's default ids `<vmid>-0`): adopt's stack validates; the real program
 * planned under the mock runtime declares an import (the provider's id) for
 * every object that exists and for nothing else, so the first `pulumi up`
 * creates nothing that exists; the file is byte-identical when adopted again
 * and when adopted from its own parse; the adopted nodes, guests, jobs and HA
 * match the site; what the stack cannot express is a note naming the key; and
 * the health check passes on the adopted prod site whose job is 101-0.
 * Does not prove: what the provider reads back for each id (no provider runs
 * here), hence not that `pulumi preview` shows no diff after the import.
 */
import { describe, it } from "node:test";
import * as assert from "node:assert/strict";
import { parse } from "yaml";
import type { Site } from "../../components/model";
import { validateSite } from "../../components/validate";
import { evaluate as evaluateHealth, type HostProbe } from "../../tools/health/checks";
import { loadStackSite } from "../../tools/health/load";
import { buildAdoption, type SiteRead } from "../../tools/adopt/build";
import { renderStack } from "../../tools/adopt/render";
import type { RecordedResource } from "../../tools/lib/mock-runtime";
import { runRaw } from "../api/harness";
import { JOB_OK, pvesrStatus, res, SCENARIOS } from "../health/fixtures";
import { handBuilt } from "./handbuilt";

function example(stack: string): Site {
    const l = loadStackSite(stack);
    assert.ok(l.site, JSON.stringify(l.problems));
    return l.site;
}

/**
 * The example site as far as adopt reads it: adopt does not express containers
 * (it reports each one, see "what cannot be adopted" below), so the hand-built
 * site has the example's VMs and the HA rules among them only.
 */
function adoptable(site: Site): Site {
    const cts = new Set(site.guests.filter((g) => g.type === "ct").map((g) => g.vmid));
    return {
        ...site,
        guests: site.guests.filter((g) => !cts.has(g.vmid)),
        haRules: site.haRules.filter((r) => !r.guests.some((v) => cts.has(v))),
    };
}

/** The provider id of the object a recorded resource declares (the importers' formats, build.ts). */
function identity(r: RecordedResource): string | undefined {
    const i = r.inputs as Record<string, unknown>;
    switch (r.type) {
        case "proxmoxve:index/vmLegacy:VmLegacy":
            return `${String(i.nodeName)}/${String(i.vmId)}`;
        case "proxmoxve:index/replication:Replication":
        case "proxmoxve:index/haresource:Haresource":
        case "proxmoxve:storage/zfspool:Zfspool":
        case "proxmoxve:sdn/zone/vxlan:Vxlan":
        case "proxmoxve:sdn/vnet:Vnet":
            return String(i.resourceId);
        case "proxmoxve:index/harule:Harule":
            return String(i.rule);
        case "proxmoxve:cluster/options:Options":
            return "cluster";
        case "proxmoxve:network/linux/vlan:Vlan":
        case "proxmoxve:network/linux/bridge:Bridge":
            return `${String(i.nodeName)}:${String(i.name)}`;
        default:
            return undefined;
    }
}

/** Every object the hand-built site holds that the program would declare, as provider ids. */
function existing(read: SiteRead): Set<string> {
    const ids = new Set<string>(["cluster"]);
    for (const p of Object.keys(read.guestConfigs)) {
        const m = /^([^/]+)\/qemu-server\/(\d+)\.conf$/.exec(p);
        if (m) ids.add(`${m[1]}/${m[2]}`);
    }
    for (const m of read.replicationCfg.matchAll(/^local: (\S+)$/gm)) ids.add(m[1]!);
    for (const m of read.haResourcesCfg.matchAll(/^vm: (\d+)$/gm)) ids.add(`vm:${m[1]}`);
    for (const m of read.haRulesCfg.matchAll(/^\S+: (\S+)$/gm)) ids.add(m[1]!);
    for (const m of read.storageCfg.matchAll(/^zfspool: (\S+)$/gm)) ids.add(m[1]!);
    for (const m of `${read.sdnZonesCfg}${read.sdnVnetsCfg}`.matchAll(/^\S+: (\S+)$/gm)) ids.add(m[1]!);
    for (const n of read.nodes) for (const m of n.interfaces.matchAll(/^iface (\S+\.\d+) inet/gm)) ids.add(`${n.name}:${m[1]}`);
    return ids;
}

for (const stack of ["prod", "lab", "dc2"]) {
    describe(`adopting ${stack}, built by hand`, () => {
        const site = adoptable(example(stack));
        const read = handBuilt(site);
        const adoption = buildAdoption(read);
        const text = renderStack(adoption);

        it("writes a stack that validates", () => {
            const r = validateSite(adoption.config);
            assert.deepEqual(r.problems, []);
        });

        it("is byte-identical when adopted again and when re-read from its own file", () => {
            assert.equal(renderStack(buildAdoption(handBuilt(site))), text);
            const reread = parse(text) as { config: Record<string, unknown> };
            const raw = Object.fromEntries(Object.entries(reread.config).map(([k, v]) => [k.replace(/^proxmox-ha:/, ""), v]));
            assert.deepEqual(raw, JSON.parse(JSON.stringify(adoption.config)));
        });

        it("describes the site: nodes, links, pools, QDevice, storage, guests, jobs with their existing ids, HA", () => {
            const a = validateSite(adoption.config).site!;
            assert.deepEqual(
                a.nodes.map((n) => [n.name, n.address, n.links, n.sshHostKey, n.watchdog, n.zfs]),
                site.nodes.map((n) => [n.name, n.address, n.links, n.sshHostKey, n.watchdog, n.zfs]),
            );
            assert.deepEqual(a.qdevice, site.qdevice);
            assert.deepEqual(a.storage, site.storage);
            assert.equal(a.replication.schedule, site.replication.schedule);
            assert.equal(a.replication.rateMBps, site.replication.rateMBps);
            assert.deepEqual(
                a.guests.map((g) => [g.vmid, g.name, g.node, g.cores, g.memoryMb, g.disks, g.replicateTo, g.ha]),
                site.guests.map((g) => [g.vmid, g.name, g.node, g.cores, g.memoryMb, g.disks, g.replicateTo, g.ha]),
            );
            assert.deepEqual(
                a.guests.map((g) => g.replicationJobIds),
                site.guests.map((g) => Object.fromEntries(g.replicateTo.map((t, i) => [t, `${g.vmid}-${i}`]))),
                "Proxmox's default ids are carried, not renamed",
            );
            assert.deepEqual(a.haRules, site.haRules);
            assert.deepEqual(a.network.vxlan, site.network.vxlan);
            assert.deepEqual(
                a.network.vlans.map((v) => [v.tag, v.interface, v.mtu, v.purpose, v.addresses]),
                site.network.vlans.map((v) => [v.tag, v.interface, v.mtu, v.purpose, v.addresses]),
            );
        });

        it("imports every existing object with the provider's id, and declares nothing else that exists", async () => {
            const run = await runRaw(adoption.config, stack);
            const have = existing(read);
            const declared = run.records.filter((r) => identity(r) !== undefined);
            for (const r of declared) {
                const id = identity(r)!;
                if (have.has(id)) assert.equal(r.importId, id, `${r.name} exists on the site: imported as ${id}`);
                else assert.equal(r.importId, undefined, `${r.name} does not exist: created, not imported`);
            }
            const covered = new Set(declared.map((r) => identity(r)));
            // Corosync VLANs are the bootstrap's (scripts/corosync-vlan.sh), not API resources.
            const corosyncVlans = new Set(
                site.network.vlans
                    .filter((v) => v.purpose === "corosync")
                    .flatMap((v) => site.nodes.map((n) => `${n.name}:${v.interface}.${v.tag}`)),
            );
            assert.deepEqual(
                [...have].filter((id) => !covered.has(id) && !corosyncVlans.has(id)),
                [],
                "every existing object is one the program declares",
            );
            assert.deepEqual(
                Object.values(adoption.imports).sort(),
                declared
                    .filter((r) => r.importId)
                    .map((r) => r.importId!)
                    .sort(),
            );
        });

        it("reports what the stack cannot express, key by key", () => {
            const where = adoption.notes.map((n) => n.where);
            assert.ok(where.includes("/etc/pve/storage.cfg: dir: local"), "the default dir storage is named and left alone");
            assert.ok(where.includes("/etc/pve/firewall/cluster.fw"));
            // Keys qm create writes and the provider keeps (scsihw, boot, smbios1, …) are no loss: no note.
            // A guest without HA gets the one note that its running state is not read.
            assert.deepEqual(
                where.filter((w) => /qemu-server/.test(w)),
                site.guests.filter((g) => !g.ha).map((g) => `/etc/pve/nodes/${g.node}/qemu-server/${g.vmid}.conf: running state`),
            );
            assert.ok(text.includes("# Not adopted"), "the notes head the file");
        });
    });
}

describe("what cannot be adopted is reported, not dropped", () => {
    it("a container, an unknown VM key, a disk option, a second schedule and a partition vdev each get a note", () => {
        const site = example("prod");
        const base = handBuilt(site);
        const read: SiteRead = {
            ...base,
            guestConfigs: {
                ...base.guestConfigs,
                "prox1/qemu-server/101.conf": `${base.guestConfigs["prox1/qemu-server/101.conf"]!.replace("scsi0: pool1:vm-101-disk-0,discard=on,", "scsi0: pool1:vm-101-disk-0,cache=writeback,discard=on,")}serial0: socket\n`,
                "prox2/lxc/200.conf": "arch: amd64\nhostname: ct\nrootfs: pool1:subvol-200-disk-0,size=8G\n",
            },
            replicationCfg: `${base.replicationCfg}local: 200-0\n\ttarget prox1\n\tschedule */30\n\n`,
            nodes: base.nodes.map((n, i) =>
                i === 0 ? { ...n, zpoolStatus: n.zpoolStatus.replace(/S45NNA0R100002-part1/, "S45NNA0R100002-part3") } : n,
            ),
        };
        const notes = buildAdoption(read).notes.map((n) => `${n.where}: ${n.message}`);
        const expect = (re: RegExp) =>
            assert.ok(
                notes.some((n) => re.test(n)),
                `no note matching ${re}:\n${notes.join("\n")}`,
            );
        expect(/^\/etc\/pve\/nodes\/prox2\/lxc\/200\.conf: containers are not expressed by the stack/);
        expect(/^\/etc\/pve\/nodes\/prox1\/qemu-server\/101\.conf: serial0: serial0: socket is not expressed by the stack/);
        expect(/^\/etc\/pve\/nodes\/prox1\/qemu-server\/101\.conf: scsi0 cache: cache=writeback is not expressed/);
        expect(/^\/etc\/pve\/replication\.cfg: 200-0 schedule: is \*\/30; the stack has one schedule \(\*\/5\)/);
        expect(/^prox1: zpool pool1 vdev \/dev\/disk\/by-id\/\S+-part3: is a partition, not a whole disk/);
    });
});

describe("UEFI, TPM, machine type and passthrough are adopted; an ISO in an HA guest's drive is a note", () => {
    it("maps qemu-server's bios, efidisk0, tpmstate0, machine, usbN and hostpciN to the stack's keys", () => {
        const site = example("prod");
        const base = handBuilt(site);
        const conf = base.guestConfigs["prox1/qemu-server/101.conf"]!;
        const read: SiteRead = {
            ...base,
            guestConfigs: {
                "prox1/qemu-server/101.conf":
                    conf.replace("boot: ", "bios: ovmf\nboot: ") +
                    "efidisk0: pool1:vm-101-disk-1,efitype=4m,pre-enrolled-keys=1,size=1M\n" +
                    "hostpci0: 0000:01:00.0,pcie=1,x-vga=1\n" +
                    "ide2: local:iso/debian-13.iso,media=cdrom\n" +
                    "machine: q35\n" +
                    "tpmstate0: pool1:vm-101-disk-2,size=4M,version=v2.0\n" +
                    "usb0: host=0529:0001,usb3=1\n",
            },
        };
        const a = buildAdoption(read);
        const g = (a.config.guests as Record<string, unknown>[])[0]!;
        assert.deepEqual(
            [g.bios, g.secureBoot, g.machine, g.tpm, g.usb, g.pci, g.cdrom],
            ["ovmf", true, "q35", "v2.0", [{ host: "0529:0001", usb3: true }], [{ id: "0000:01:00.0", pcie: true, xvga: true }], undefined],
        );
        assert.deepEqual(
            a.notes.filter((n) => n.where.includes("qemu-server")).map((n) => n.where),
            ["/etc/pve/nodes/prox1/qemu-server/101.conf: ide2"],
            "only the ISO of the HA guest is a note",
        );
        assert.deepEqual(validateSite(a.config).problems, []);
    });
});

describe("health check on the adopted prod site", () => {
    it("passes with Proxmox's default job id 101-0", () => {
        const adopted = validateSite(buildAdoption(handBuilt(example("prod"))).config).site!;
        const s = SCENARIOS.healthy as { nodes: Record<string, HostProbe["results"]>; qnetd?: HostProbe["results"] };
        const nodes = new Map<string, HostProbe>(
            adopted.nodes.map((n) => [
                n.name,
                {
                    results:
                        n.name === "prox1"
                            ? { ...s.nodes.prox1!, pvesr: res(pvesrStatus([{ ...JOB_OK, id: "101-0" }])) }
                            : s.nodes[n.name]!,
                },
            ]),
        );
        const r = evaluateHealth("prod", adopted, { nodes, qdevice: { results: s.qnetd! } });
        assert.deepEqual(
            r.hosts.flatMap((h) => h.checks.filter((c) => c.verdict !== "ok").map((c) => `${h.name}/${c.check}: ${c.measured}`)),
            [],
        );
        assert.equal(r.exitCode, 0);
    });
});
