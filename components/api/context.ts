/**
 * What every builder of the API layer shares: the component as parent, the
 * one explicit provider, and the bootstrap steps to wait for, by meaning.
 */
import * as pulumi from "@pulumi/pulumi";
import type * as proxmox from "@muhlba91/pulumi-proxmoxve";
import type { BootstrapStages } from "../hosts/bootstrap";
import type { Site } from "../model";

export interface ApiContext {
    /** Prefix of every child name (the component's name). */
    readonly name: string;
    readonly site: Site;
    readonly parent: pulumi.Resource;
    readonly provider: proxmox.Provider;
    readonly after: BootstrapStages;
}

/** Options for a child: parent, explicit provider, and the given order. */
export function childOpts(
    ctx: ApiContext,
    dependsOn: readonly (pulumi.Resource | undefined)[],
    extra: pulumi.CustomResourceOptions = {},
): pulumi.CustomResourceOptions {
    const deps = dependsOn.filter((d): d is pulumi.Resource => d !== undefined);
    return { parent: ctx.parent, provider: ctx.provider, dependsOn: deps, ...extra };
}

/**
 * The steps after which `node` is a member of the cluster the API endpoint
 * (nodes[0]) belongs to: the cluster's creation and the node's own join
 * (`cluster[i]`). Both explicitly, so the order does not rest on the
 * bootstrap chaining its joins after the create.
 */
export function membership(ctx: ApiContext, node: string): pulumi.Resource[] {
    const i = ctx.site.nodes.findIndex((n) => n.name === node);
    if (i < 0) throw new Error(`API layer: "${node}" is not a node of this site`);
    const steps = i === 0 ? [ctx.after.cluster[0]] : [ctx.after.cluster[0], ctx.after.cluster[i]];
    return steps.filter((s): s is pulumi.Resource => s !== undefined);
}

/**
 * Every membership step: after the last one the cluster is fully formed. All
 * of them, not only the last, so the order does not rest on the bootstrap
 * chaining its joins.
 */
export function clusterFormed(ctx: ApiContext): pulumi.Resource[] {
    return [...ctx.after.cluster];
}

/** Drops keys whose value is undefined, so two evaluations serialize identically. */
export function defined<T extends object>(o: T): T {
    return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/** `10.0.0.1/24` → `10.0.0.1`. */
export function hostPart(cidrOrIp: string): string {
    return cidrOrIp.split("/")[0]!;
}

export function isIpv6(addr: string): boolean {
    return addr.includes(":");
}
