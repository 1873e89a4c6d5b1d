/**
 * Plain-language names for the plan's steps. A resource name is
 * `<cluster>-<component>-<what>` (components/site.ts and its children); this
 * maps the known shapes to what the step does on which host. A name no rule
 * knows falls back to its own text without the cluster prefix, so a new
 * resource still shows up, just less prettily.
 */
import type { Site } from "../../components/model";

type Rule = readonly [RegExp, (m: RegExpExecArray, site: Site) => string];

function guestLabel(site: Site, vmid: string): string {
    const g = site.guests.find((x) => String(x.vmid) === vmid);
    const kind = g?.type === "ct" ? "container" : "VM";
    return g ? `${kind} ${vmid} (${g.name})` : `VM ${vmid}`;
}

const CONTENT: Readonly<Record<string, string>> = { iso: "installer ISO", import: "cloud image", vztmpl: "container template" };

/** Rules over the name after `<cluster>-`; HOST is replaced by an alternation of the site's host names. */
const RULES: readonly (readonly [string, Rule[1]])[] = [
    ["^hosts-(HOST)-ssh-ready$", (m) => `${m[1] === "qnetd" ? "QDevice host" : m[1]}: wait until SSH answers with the pinned host key`],
    ["^hosts-cluster-create$", (_m, s) => `${s.nodes[0]!.name}: create the cluster "${s.cluster.name}"`],
    ["^hosts-(HOST)-zpool$", (m, s) => `${m[1]}: create (or adopt) the ZFS pool ${s.storage.pool}`],
    ["^hosts-(HOST)-watchdog$", (m) => `${m[1]}: configure the watchdog module`],
    ["^hosts-(HOST)-api-certificate$", (m) => `${m[1]}: make pveproxy serve the stack's API certificate`],
    ["^hosts-(HOST)-packages$", (m) => (m[1] === "qnetd" ? "QDevice host: install corosync-qnetd" : `${m[1]}: install packages`)],
    ["^hosts-(HOST)-join$", (m) => `${m[1]}: join the cluster`],
    ["^hosts-(HOST)-join-check$", (m, s) => `${s.nodes[0]!.name}: check that ${m[1]} may join (certificate fingerprint, QDevice)`],
    ["^hosts-(HOST)-corosync-vlan-(\\d+)$", (m) => `${m[1]}: set up corosync VLAN ${m[2]}`],
    ["^hosts-qnetd-authorize$", () => "QDevice host: authorize the cluster's key"],
    ["^hosts-qdevice-setup$", () => "add the QDevice's vote to the cluster"],
    ["^hosts-api-token$", () => "create the API token for the provider"],
    ["^api-cluster-options$", () => "cluster options: migration, bandwidth limits, CRS, HA shutdown policy"],
    ["^api-storage$", (_m, s) => `storage "${s.storage.id}" on ZFS ${s.storage.zfsPath}`],
    ["^api-notifications$", () => "alert e-mail for fencing, replication and HA"],
    ["^api-vlan-(HOST)-(\\d+)$", (m) => `${m[1]}: VLAN ${m[2]}`],
    ["^api-bridge-(HOST)-(vmbr\\d+)$", (m) => `${m[1]}: bridge ${m[2]}`],
    ["^api-sdn-zone$", (_m, s) => `VXLAN zone ${s.network.vxlan?.zone ?? ""}`.trim()],
    ["^api-sdn-vnet$", (_m, s) => `VXLAN vnet ${s.network.vxlan?.vnet ?? ""}`.trim()],
    ["^api-sdn-apply$", () => "apply the SDN configuration"],
    ["^api-sdn-finalizer$", () => "re-apply SDN on removal (no effect on create)"],
    ["^api-fw-ipset-(.+)$", (m) => `firewall address set "${m[1]}"`],
    ["^api-fw-rules$", () => "firewall rules: SSH and the web UI from the allowlist, cluster traffic"],
    ["^api-fw-enable$", () => "switch the cluster firewall on"],
    ["^api-vm-(\\d+)$", (m, s) => `${guestLabel(s, m[1]!)} on ${s.guests.find((g) => String(g.vmid) === m[1])?.node ?? "?"}`],
    ["^api-ct-(\\d+)$", (m, s) => `${guestLabel(s, m[1]!)} on ${s.guests.find((g) => String(g.vmid) === m[1])?.node ?? "?"}`],
    ["^api-(iso|import|vztmpl)-(HOST)-(.+)$", (m) => `${m[2]}: download the ${CONTENT[m[1]!]} ${m[3]}`],
    ["^api-replication-(\\d+)-(\\d+)$", (m, s) => `replicate ${guestLabel(s, m[1]!)} (job ${m[1]}-${m[2]})`],
    ["^api-ha-(\\d+)$", (m, s) => `make ${guestLabel(s, m[1]!)} an HA resource`],
    [
        "^api-ha-manager-ready$",
        (_m, s) => `${s.nodes[0]!.name}: wait until the HA manager lists every node (before resource-affinity rules)`,
    ],
    [
        "^api-harule-ha-guest-(\\d+)$",
        (m, s) => {
            const kept = s.haRules.filter((r) => r.affinity === "positive" && r.guests.includes(Number(m[1])));
            return kept.length
                ? `HA node preference of ${guestLabel(s, m[1]!)} and the guests kept with it`
                : `HA node preference of ${guestLabel(s, m[1]!)}`;
        },
    ],
    ["^api-harule-(.+)$", (m) => `HA rule "${m[1]}"`],
    ["^zrepl-(HOST)-install$", (m) => `${m[1]}: install zrepl`],
    ["^zrepl-(HOST)-config$", (m) => `${m[1]}: write the zrepl configuration`],
    ["^zrepl-(HOST)-repair$", (m) => `${m[1]}: install the zrepl chain-repair timer`],
];

function escape(s: string): string {
    return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** What a step does, in words, for a resource of this site. */
export function stepTitle(site: Site, resourceName: string): string {
    const prefix = `${site.cluster.name}-`;
    const rest = resourceName.startsWith(prefix) ? resourceName.slice(prefix.length) : resourceName;
    const hosts = [...site.nodes.map((n) => n.name), "qnetd"]
        .sort((a, b) => b.length - a.length)
        .map(escape)
        .join("|");
    for (const [source, title] of RULES) {
        const m = new RegExp(source.replace("HOST", hosts)).exec(rest);
        if (m) return title(m, site);
    }
    return rest;
}
