/**
 * HA rules, in the shapes components/haplan.ts plans (the ones Proxmox VE 9's
 * rule checks accept), and the wait for the HA manager before
 * resource-affinity rules.
 *
 * Order. Proxmox checks a rule against the rules that exist when it is
 * created or updated (pve-ha-manager src/PVE/API2/HA/Rules.pm
 * `$assert_feasibility`), so:
 *   HA resources ─▶ node-affinity rules ─┐
 *   HA resources ─▶ ha-manager-ready ────┴▶ resource-affinity rules
 * - node-affinity rules after their HA resources ("cannot use unmanaged
 *   resource(s)");
 * - each resource-affinity rule after the node-affinity rules of its guests:
 *   every set Proxmox sees on the way is then part of the final one and
 *   passes too (the checks between rules compare each resource-affinity rule
 *   with all node-affinity rules, which all exist by then);
 * - resource-affinity rules after ha-manager-ready: the rule check counts the
 *   nodes of the HA manager's status, which is empty on a fresh site until a
 *   CRM became master (scripts/ha-manager-ready.sh). That is one stage more
 *   on the critical path of a site with such rules, accepted for this reason.
 */
import * as proxmox from "@muhlba91/pulumi-proxmoxve";
import type * as command from "@pulumi/command";
import { planHaRules, type PlannedRule } from "../haplan";
import { firstNode, guestSid, type Site } from "../model";
import { scriptCommand, type SshCredentials } from "../remote";
import { childOpts, clusterFormed, defined, type ApiContext } from "./context";

/** How long ha-manager-ready waits for the HA manager to list every node. */
export const HA_MANAGER_TIMEOUT_SECONDS = 600;
/** How often it asks: the CRM's own round while it waits for quorum (CRM.pm `work`). */
export const HA_MANAGER_POLL_SECONDS = 5;

export interface HaRules {
    /** Key: rule id (`ha-guest-<vmid>` for node affinity, of the lowest vmid of guests kept together; the stack's id for resource affinity). */
    readonly rules: ReadonlyMap<string, proxmox.Harule>;
    /** The wait for the HA manager (only when the site has resource-affinity rules). */
    readonly haManagerReady?: command.remote.Command;
}

/** The site's HA rules as the API layer declares them (components/haplan.ts). */
export function siteHaPlan(site: Site): PlannedRule[] {
    const haGuests = site.guests.flatMap((g) =>
        g.ha ? [{ vmid: g.vmid, sid: guestSid(g), node: g.node, nodes: g.ha.nodes, strict: g.ha.strict }] : [],
    );
    return planHaRules(haGuests, site.haRules);
}

export function createHaRules(ctx: ApiContext, haResources: ReadonlyMap<number, proxmox.Haresource>, ssh: SshCredentials): HaRules {
    const { site, name } = ctx;
    const plan = siteHaPlan(site);
    const haOf = (r: PlannedRule) =>
        r.vmids.map((vmid) => {
            const ha = haResources.get(vmid);
            if (!ha) throw new Error(`API layer: HA rule ${r.id} lists guest ${vmid}, which is not an HA guest`);
            return ha;
        });
    const affinity = plan.filter((r) => r.type === "resource-affinity");

    // Read-only wait on the API node, once the HA resources of the rules exist
    // (a CRM becomes active only with a configured service: CRM.pm
    // can_get_active) and every node is a member (only members are listed).
    let haManagerReady: command.remote.Command | undefined;
    if (affinity.length > 0) {
        haManagerReady = scriptCommand(
            `${name}-ha-manager-ready`,
            {
                host: firstNode(site),
                ssh,
                script: "ha-manager-ready",
                args: [HA_MANAGER_TIMEOUT_SECONDS, HA_MANAGER_POLL_SECONDS, ...site.nodes.map((n) => n.name)],
            },
            {
                parent: ctx.parent,
                dependsOn: [...clusterFormed(ctx), ...new Set(affinity.flatMap(haOf))],
                // The script's own bound, plus room for SSH: a stuck manager fails with its message.
                customTimeouts: { create: `${HA_MANAGER_TIMEOUT_SECONDS + 120}s`, update: `${HA_MANAGER_TIMEOUT_SECONDS + 120}s` },
            },
        );
    }

    const protectedGuest = (vmid: number) => site.guests.find((g) => g.vmid === vmid)?.protect === true;
    const rules = new Map<string, proxmox.Harule>();
    const nodeRuleOf = new Map<number, proxmox.Harule>();
    for (const r of plan) {
        const members = haOf(r);
        const after =
            r.type === "node-affinity" ? members : [...new Set([...members, ...r.vmids.map((v) => nodeRuleOf.get(v)), haManagerReady])];
        const rule = new proxmox.Harule(
            `${name}-harule-${r.id}`,
            r.type === "node-affinity"
                ? defined({
                      rule: r.id,
                      type: r.type,
                      resources: [...r.resources],
                      nodes: { ...r.nodes },
                      strict: r.strict,
                      comment: r.comment,
                  })
                : defined({ rule: r.id, type: r.type, affinity: r.affinity, resources: [...r.resources], comment: r.comment }),
            // Protected like its guests: a node-affinity rule like its one
            // guest (or while all guests sharing it are); a resource-affinity
            // rule while all its guests are, so step one of removing a guest
            // (protect: false) frees the rule too and step two can delete or
            // shorten it with the guest. Deleting a rule never takes a guest
            // out of HA.
            childOpts(ctx, after, { protect: r.vmids.every(protectedGuest) }),
        );
        rules.set(r.id, rule);
        if (r.type === "node-affinity") for (const v of r.vmids) nodeRuleOf.set(v, rule);
    }
    return { rules, ...(haManagerReady ? { haManagerReady } : {}) };
}
