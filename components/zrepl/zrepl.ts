/**
 * Optional second replication path with zrepl (issue #5), independent of
 * Proxmox's own `pvesr` replication and safe to run next to it.
 *
 * Per node, in order, after the node's pool exists and the node is a cluster
 * member (`after.pools[i]`, `after.cluster[i]`):
 *   1. `${name}-<node>-install`: zrepl from its APT repository, key pinned by
 *      fingerprint (scripts/zrepl-install.sh);
 *   2. `${name}-<node>-config`: /etc/zrepl/zrepl.yml generated from the stack
 *      (./config.ts), checked by `zrepl configcheck` before it replaces the
 *      running one (scripts/zrepl-config.sh);
 *   3. `${name}-<node>-repair`: our chain-repair tool on a systemd timer
 *      (scripts/zrepl-repair.py, scripts/zrepl-repair-install.sh).
 * Switching zrepl off deletes these commands, which stops the daemon and the
 * timer and removes nothing (scripts/zrepl-disable.sh).
 *
 * Nodes must reach the zrepl APT repository (zrepl.apt.url / keyUrl) over
 * HTTPS, and each other on the zrepl TCP port(s): see docs/zrepl.md.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import type { Site } from "../model";
import type { BootstrapStages } from "../hosts/bootstrap";
import { SCRIPTS_DIR, scriptCommand, type SshCredentials } from "../remote";
import { isDown } from "../access";
import { pullTargets, repairUnits, zreplConfigYaml, zreplPorts } from "./config";

export interface ZreplArgs {
    /** The validated site; nothing is created unless `site.zrepl.enabled`. */
    readonly site: Site;
    /** Root SSH login to the nodes. */
    readonly ssh: SshCredentials;
    /** Bootstrap stages: each node's pool and cluster membership come first. */
    readonly after: BootstrapStages;
}

/** Where one node's datasets are copied to. */
export interface ZreplCopy {
    /** The node whose guest datasets are copied. */
    readonly node: string;
    /** The peer that pulls and keeps the copy. */
    readonly on: string;
    /** Dataset on `on` below which the copy lands (`<rootFs>/<node>/<source dataset path>`). */
    readonly dataset: string;
    /** The pull job on `on` that fetches it. */
    readonly job: string;
}

/** The repair tool's text (shipped as an argument: it is not secret). */
export function repairToolText(): string {
    return fs.readFileSync(path.join(SCRIPTS_DIR, "zrepl-repair.py"), "utf8");
}

export class ZreplReplication extends pulumi.ComponentResource {
    /** Whether zrepl runs on this site. */
    readonly enabled: pulumi.Output<boolean>;
    /** For each node, where its copies land. Empty when disabled. */
    readonly copies: pulumi.Output<ZreplCopy[]>;
    /** TCP ports zrepl listens on (to be allowed between the nodes). Empty when disabled. */
    readonly ports: pulumi.Output<number[]>;

    constructor(name: string, args: ZreplArgs, opts?: pulumi.ComponentResourceOptions) {
        const { site, after, ssh } = args;
        const on = site.zrepl.enabled;
        // Checked before anything is registered: every node's commands must wait for its pool and membership.
        if (on && (after.pools.length !== site.nodes.length || after.cluster.length !== site.nodes.length)) {
            throw new Error(
                `zrepl needs one pool and one membership step per node (got ${after.pools.length} pools and ${after.cluster.length} membership steps for ${site.nodes.length} nodes)`,
            );
        }
        super("proxmox-ha:zrepl:Zrepl", name, {}, opts);

        const copies: ZreplCopy[] = [];
        if (on) {
            const tool = repairToolText();
            site.nodes.forEach((node, i) => {
                const targets = pullTargets(site, node);
                const install = scriptCommand(
                    `${name}-${node.name}-install`,
                    {
                        host: node,
                        ssh,
                        down: isDown(site, node.name),
                        script: "zrepl-install",
                        args: [site.zrepl.apt.url, site.zrepl.apt.keyUrl, site.zrepl.apt.fingerprint],
                    },
                    { parent: this, dependsOn: [after.pools[i]!, after.cluster[i]!] },
                );
                const config = scriptCommand(
                    `${name}-${node.name}-config`,
                    {
                        host: node,
                        ssh,
                        down: isDown(site, node.name),
                        script: "zrepl-config",
                        args: [zreplConfigYaml(site, node), site.zrepl.rootFs, ...targets.map((t) => t.peer)],
                        deleteScript: { script: "zrepl-disable", args: ["daemon"] },
                    },
                    { parent: this, dependsOn: [install, after.pools[i]!] },
                );
                const units = repairUnits(site, node);
                scriptCommand(
                    `${name}-${node.name}-repair`,
                    {
                        host: node,
                        ssh,
                        down: isDown(site, node.name),
                        script: "zrepl-repair-install",
                        args: [tool, units.service, units.timer],
                        deleteScript: { script: "zrepl-disable", args: ["repair-timer"] },
                    },
                    { parent: this, dependsOn: [config] },
                );
                for (const t of targets) copies.push({ node: t.peer, on: node.name, dataset: t.rootFs, job: t.job });
            });
        }

        copies.sort((a, b) => a.node.localeCompare(b.node) || a.on.localeCompare(b.on));
        this.enabled = pulumi.output(on);
        this.copies = pulumi.output(copies);
        this.ports = pulumi.output(on ? zreplPorts(site) : []);
        this.registerOutputs({ enabled: this.enabled, copies: this.copies, ports: this.ports });
    }
}
