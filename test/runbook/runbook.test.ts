/**
 * Proves, for every committed stack (Pulumi.*.yaml): the runbook tool
 * renders it; docs/runbooks/<stack>.md is byte-identical to what the tool
 * renders now (so the committed runbooks never go stale); the runbook names
 * the cluster, every node with its address and link addresses, the qnetd
 * host, every guest with its vmid, the pool, storage id, schedule, every
 * replication job id and the worst-case RPO, carries the failure table of
 * components/facts.ts row by row, and the procedures use the site's own
 * values (node-maintenance, migrate, delnode, qdevice setup, zpool replace
 * with the site's pool and disks) with no placeholder where the stack knows
 * the value; the Mermaid block is accepted by Mermaid's own parser (the
 * `mermaid` package, run headless with a jsdom window because flowchart
 * labels go through DOMPurify) and draws every node, the qnetd host, every
 * replication job and every rule; a corrupted copy of the block is rejected
 * (so the parser check can fail); the CLI writes --out, and reports an
 * invalid stack with exit 2 and the validation problems; every runbook
 * section the health check's remedies point to exists.
 * Does NOT prove: that the procedures work on a real Proxmox cluster (their
 * commands follow docs/proxmox-facts.md), nor how Mermaid lays the
 * diagram out.
 */
import { before, describe, it } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { failureCases } from "../../components/facts";
import { replicationJobs, type Site } from "../../components/model";
import { formatMinutes } from "../../components/schedule";
import { loadStackSite } from "../../tools/health/load";
import { main } from "../../tools/runbook/cli";
import { renderRunbook } from "../../tools/runbook/render";
import { listStacks, ROOT } from "../../tools/lib/stack";

interface MermaidApi {
    parse(text: string): Promise<{ diagramType: string }>;
}
let mermaid: MermaidApi;

before(async () => {
    // Mermaid sanitises labels with DOMPurify, which needs a DOM window.
    const jsdom = "jsdom"; // a variable specifier: jsdom ships no type declarations
    const { JSDOM } = (await import(jsdom)) as { JSDOM: new (html: string) => { window: { document: unknown } } };
    const dom = new JSDOM("<!doctype html><html><body></body></html>");
    Object.assign(globalThis, { window: dom.window, document: dom.window.document });
    mermaid = (await import("mermaid")).default as unknown as MermaidApi;
});

const stacks = listStacks();

function site(stack: string): Site {
    const l = loadStackSite(stack);
    assert.ok(l.site, JSON.stringify(l.problems));
    return l.site;
}

function mermaidBlock(md: string): string {
    const blocks = [...md.matchAll(/^```mermaid\n([\s\S]*?)^```$/gm)];
    assert.equal(blocks.length, 1, "exactly one Mermaid block");
    return blocks[0]![1]!;
}

it("there are committed stacks", () => {
    assert.deepEqual(stacks, ["dc2", "lab", "prod"]);
});

for (const stack of stacks) {
    describe(`stack ${stack}`, () => {
        const s = site(stack);
        const md = renderRunbook(stack, s);

        it(`docs/runbooks/${stack}.md is what the tool renders now`, () => {
            const file = path.join(ROOT, "docs", "runbooks", `${stack}.md`);
            assert.ok(fs.existsSync(file), `missing ${file}: run npm run runbook -- --stack ${stack} --out docs/runbooks/${stack}.md`);
            assert.equal(
                fs.readFileSync(file, "utf8"),
                md,
                `stale: regenerate with npm run runbook -- --stack ${stack} --out docs/runbooks/${stack}.md`,
            );
        });

        it("names the site's nodes, addresses, guests, pool, storage, schedule, jobs and RPO", () => {
            const must = [
                `cluster \`${s.cluster.name}\``,
                s.storage.id,
                s.storage.zfsPath,
                `\`${s.replication.schedule}\``,
                `up to ${formatMinutes(s.replication.worstCaseRpoMinutes)} of writes`,
                ...s.nodes.flatMap((n) => [n.name, n.address, n.zfs.pool, n.watchdog, ...n.links.map((l) => l.address), ...n.zfs.disks]),
                ...s.guests.flatMap((g) => [`${g.type} ${g.vmid} (${g.name})`, ...replicationJobs(s, g).map((j) => j.id)]),
                ...(s.qdevice ? [s.qdevice.address, s.qdevice.sshHostKey] : []),
                ...s.network.vlans.map((v) => `VLAN ${v.tag}`),
                ...s.haRules.map((r) => r.id),
            ];
            for (const text of must) assert.ok(md.includes(text), `runbook of ${stack} lacks "${text}"`);
            if (s.replication.rpoTargetMinutes !== undefined)
                assert.ok(md.includes(`RPO target ${formatMinutes(s.replication.rpoTargetMinutes)}`));
        });

        it("carries the failure table of components/facts.ts", () => {
            for (const c of failureCases(s)) {
                const row = md.split("\n").find((l) => l.startsWith(`| ${c.failure} |`));
                assert.ok(row, `no row for ${c.failure}`);
                assert.ok(row.includes(c.summary), row);
                for (const g of c.guests) assert.ok(row.includes(g), `${c.failure}: ${g}`);
            }
        });

        it("procedures use the site's own values, with no placeholder the stack could fill", () => {
            for (const heading of [
                "Watchdog test",
                "Planned maintenance and migration",
                "Failover drill",
                "Failback",
                "Replacing a node",
                "Replacing a disk",
                "Replication errors",
            ]) {
                assert.ok(md.includes(`\n### ${heading}\n`), heading);
            }
            for (const n of s.nodes) {
                assert.ok(md.includes(`ha-manager crm-command node-maintenance enable ${n.name}`));
                assert.ok(md.includes(`ha-manager crm-command node-maintenance disable ${n.name}`));
                assert.ok(md.includes(`pvecm delnode ${n.name}`));
                assert.ok(md.includes(`zpool replace ${n.zfs.pool} <failed disk> /dev/disk/by-id/<new disk>`));
                assert.ok(md.includes(`grep WATCHDOG_MODULE /etc/default/pve-ha-manager   # WATCHDOG_MODULE=${n.watchdog}`));
            }
            // A guest a negative rule pins to its node gets no migrate line (test/runbook/shapes.test.ts).
            for (const g of s.guests.filter((x) => x.ha))
                assert.ok(
                    md.includes(`ha-manager migrate ${g.type}:${g.vmid} `) ||
                        md.includes(`# ${g.type} ${g.vmid} (${g.name}) cannot move: a rule keeps it off `),
                    `migrate ${g.type}:${g.vmid}`,
                );
            if (s.qdevice) {
                assert.ok(md.includes("\n### Re-adding the QDevice\n"));
                assert.ok(md.includes(`pvecm qdevice setup ${s.qdevice.address}`));
                // docs/proxmox-facts.md §3: removed before adding/removing nodes, re-added after.
                for (const n of s.nodes) {
                    const section = md.slice(
                        md.indexOf(`#### Replacing ${n.name}`),
                        md.indexOf("\n#### ", md.indexOf(`#### Replacing ${n.name}`) + 1),
                    );
                    const del = section.indexOf(`pvecm delnode ${n.name}`);
                    const remove = section.indexOf("pvecm qdevice remove");
                    const add = section.indexOf("pvecm add ");
                    const readd = section.indexOf("[Re-adding the QDevice]");
                    assert.ok(del >= 0 && del < remove && remove < add && add < readd, `order in Replacing ${n.name}`);
                }
            }
            const placeholders = [...new Set(md.match(/<[A-Za-z][^>\n]{0,40}>/g) ?? [])].filter((p) => !/^<br\/?>$/.test(p));
            assert.deepEqual(placeholders.sort(), ["<AA:BB:… from above>", "<failed disk>", "<new disk>"]);
        });

        it("replacing a node (issue #11 points 7, 13): links checked, join bounded, quorum restored before delnode, corosync-qdevice before the QDevice", () => {
            const section = md.slice(md.indexOf("### Replacing a node"), md.indexOf("### Replacing a disk"));
            for (const n of s.nodes) {
                const m = s.nodes.find((x) => x.name !== n.name)!;
                const part = section.slice(section.indexOf(`#### Replacing ${n.name}`));
                const at = (needle: string) => {
                    const i = part.indexOf(needle);
                    assert.ok(i >= 0, `${n.name}: "${needle}" missing`);
                    return i;
                };
                n.links.forEach((l, i) => assert.ok(at(`ping -c 2 -I ${l.address} ${m.links[i]!.address}`) < at("timeout 300 pvecm add")));
                // delnode needs quorum (pve-cluster API2/ClusterConfig.pm delnode: check_cfs_quorum).
                const recovery = part.slice(at("# separate the new node"), at("Fix the corosync path"));
                const exp = recovery.indexOf("pvecm expected 1");
                assert.ok(
                    exp > 0 && recovery.indexOf(`pvecm delnode ${n.name}`) > exp,
                    `${n.name}: expected 1 before delnode in the recovery`,
                );
                assert.ok(!recovery.slice(0, exp).includes("pvecm delnode"), `${n.name}: no delnode before quorum is back`);
                if (s.qdevice) {
                    // pvecm qdevice setup runs the certutil on every node: corosync-qdevice must be there first.
                    assert.ok(
                        at("apt-get install -y corosync-qdevice") < at("Set the QDevice up again"),
                        `${n.name}: install before setup`,
                    );
                }
            }
        });

        it("the Mermaid block parses as a flowchart and draws nodes, qnetd, replication and rules", async () => {
            const block = mermaidBlock(md);
            assert.equal((await mermaid.parse(block)).diagramType, "flowchart-v2");
            for (const n of s.nodes) assert.ok(block.includes(`${n.name} · ${n.address}`));
            if (s.qdevice) assert.ok(block.includes(`qnetd ${s.qdevice.address}`));
            for (const g of s.guests) for (const j of replicationJobs(s, g)) assert.match(block, new RegExp(`==>\\|"pvesr ${j.id} `));
            for (const r of s.haRules) assert.ok(block.includes(`${r.id}: keep ${r.affinity === "negative" ? "apart" : "together"}`));
        });

        it("a corrupted copy of the block is rejected (the parser check can fail)", async () => {
            const block = mermaidBlock(md);
            await assert.rejects(mermaid.parse(block.replace("==>|", "==>|>")));
            await assert.rejects(mermaid.parse(block.replace(/\["/, '["x"y')));
        });
    });
}

it("every runbook section the health check's remedies name exists in each runbook", () => {
    const source = fs.readFileSync(path.join(ROOT, "tools", "health", "checks.ts"), "utf8");
    const named = [...new Set([...source.matchAll(/runbook "([^"]+)"/g)].map((m) => m[1]!))];
    assert.ok(named.length >= 4, named.join(", "));
    for (const stack of stacks) {
        const md = renderRunbook(stack, site(stack));
        for (const title of named) assert.match(md, new RegExp(`^### ${title}`, "m"), `${stack}: no section "${title}"`);
    }
});

describe("CLI", () => {
    it("--out writes the file; stdout otherwise", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runbook-"));
        try {
            const out = path.join(dir, "prod.md");
            const r = main(["--stack", "prod", "--out", out]);
            assert.equal(r.code, 0, r.stderr);
            assert.equal(fs.readFileSync(out, "utf8"), renderRunbook("prod", site("prod")));
            assert.equal(main(["--stack", "prod"]).stdout, renderRunbook("prod", site("prod")));
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
    it("an invalid stack is exit 2 with the problems, an unknown one exit 2 with the reason", () => {
        const broken = main(["--file", path.join(ROOT, "test", "fixtures", "Pulumi.broken.yaml")]);
        assert.equal(broken.code, 2);
        assert.match(broken.stderr, /^runbook: stack broken is not valid \(\d+ problems?\):\n {2}- /);
        const missing = main(["--stack", "nosuchstack"]);
        assert.equal(missing.code, 2);
        assert.equal(
            missing.stderr,
            'runbook: there is no stack "nosuchstack": Pulumi.nosuchstack.yaml does not exist (stacks here: dc2, lab, prod); pass --stack with one of them, or --file PATH\n',
        );
        assert.equal(main(["--bogus"]).code, 2);
    });
});

describe("zrepl and Proxmox operations (issue #18 point 4)", () => {
    // pve-storage ZFSPoolPlugin.pm volume_rollback_is_possible: rollback only to the newest snapshot;
    // libzfs: `zfs rollback` without -r refuses while newer snapshots or bookmarks exist.
    const zreplSite = (attic?: string): Site => {
        const s = site("prod");
        return { ...s, zrepl: { ...s.zrepl, enabled: true, ...(attic ? { attic } : {}) } };
    };

    it("a site with zrepl gets the procedures, with its own disks, nodes and copies", () => {
        const md = renderRunbook("prod", zreplSite());
        const at = md.indexOf("### zrepl and Proxmox operations");
        assert.ok(at > 0);
        const text = md.slice(at);
        const s = zreplSite();
        const g = s.guests.find((x) => x.node === s.nodes[0]!.name)!;
        const disk = `${s.storage.zfsPath}/vm-${g.vmid}-disk-0`;
        assert.ok(text.includes(`zfs destroy ${disk}@zrepl_<each newer one>`));
        assert.ok(text.includes(`qm rollback ${g.vmid} before-upgrade`));
        assert.ok(text.includes("systemctl stop zrepl"));
        assert.ok(text.includes(`zrepl zfs-abstraction release-all --fs '${s.zrepl.rootFs}/${s.nodes[0]!.name}/${disk}:ok'`));
        assert.ok(text.includes("set `zrepl.attic` to have it moved aside"));
        assert.ok(!text.includes("#### Copies the repair tool moved aside"));
        assert.ok(
            renderRunbook("prod", zreplSite("pool1/zrepl-attic")).includes("zfs list -r -t all -o name,creation,used pool1/zrepl-attic"),
        );
    });

    it("a site without zrepl has none of it", () => {
        assert.ok(!renderRunbook("prod", site("prod")).includes("zrepl and Proxmox operations"));
    });
});
