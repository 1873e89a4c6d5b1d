/**
 * The dependency graph of recorded resources: which steps run in parallel and
 * how long the critical path is. A resource waits for its explicit and
 * input dependencies; a dependency on a component means all of its custom
 * descendants (as the engine does). Provider objects take no time and are
 * left out of the stages, but a resource waits for what its provider waits
 * for (e.g. the bootstrapped API token the provider is configured with).
 */
import type { RecordedResource } from "./mock-runtime";

export interface Stage {
    readonly index: number;
    readonly resources: readonly RecordedResource[];
}

export function isStep(r: RecordedResource): boolean {
    return r.custom && !r.type.startsWith("pulumi:providers:");
}

/** Custom descendants of each component URN. */
function descendants(resources: readonly RecordedResource[]): Map<string, string[]> {
    const children = new Map<string, RecordedResource[]>();
    for (const r of resources) {
        if (!r.parent) continue;
        // push, not a copy per child: a component with thousands of children stays linear.
        const list = children.get(r.parent);
        if (list) list.push(r);
        else children.set(r.parent, [r]);
    }
    const memo = new Map<string, string[]>();
    const walk = (urn: string): string[] => {
        const hit = memo.get(urn);
        if (hit) return hit;
        const out: string[] = [];
        for (const c of children.get(urn) ?? []) {
            if (isStep(c)) out.push(c.urn);
            for (const x of walk(c.urn)) out.push(x);
        }
        memo.set(urn, out);
        return out;
    };
    for (const r of resources) walk(r.urn);
    return memo;
}

/** Step URN → the step URNs it waits for (components expanded). */
export function stepDependencies(resources: readonly RecordedResource[]): Map<string, Set<string>> {
    const byUrn = new Map(resources.map((r) => [r.urn, r]));
    const desc = descendants(resources);
    const deps = new Map<string, Set<string>>();
    const isProvider = (r: RecordedResource) => r.custom && r.type.startsWith("pulumi:providers:");
    /** Adds the steps a dependency on `urn` stands for; a provider stands for its own dependencies. */
    const expand = (urn: string, set: Set<string>, seen: Set<string>) => {
        const dep = byUrn.get(urn);
        if (!dep || seen.has(urn)) return;
        seen.add(urn);
        if (isStep(dep)) set.add(urn);
        else if (!dep.custom) for (const x of desc.get(urn) ?? []) set.add(x);
        else if (isProvider(dep)) for (const d of dep.dependsOn) expand(d, set, seen);
    };
    for (const r of resources) {
        if (!isStep(r)) continue;
        const set = new Set<string>();
        const seen = new Set<string>();
        for (const d of r.dependsOn) expand(d, set, seen);
        // A provider reference is `<urn>::<id>`.
        if (r.provider) expand(r.provider.slice(0, r.provider.lastIndexOf("::")), set, seen);
        set.delete(r.urn);
        deps.set(r.urn, set);
    }
    return deps;
}

/**
 * Longest-path level of every step: a step with weight 1 ends one stage after
 * the latest of its dependencies; a step with weight 0 (an unchanged resource
 * in an update) costs nothing but still passes its dependencies' level on.
 */
export function levels(graph: ReadonlyMap<string, ReadonlySet<string>>, weight: (urn: string) => 0 | 1 = () => 1): Map<string, number> {
    const level = new Map<string, number>();
    const visiting = new Set<string>();
    const depth = (urn: string): number => {
        const hit = level.get(urn);
        if (hit !== undefined) return hit;
        if (visiting.has(urn)) throw new Error(`dependency cycle through ${urn}`);
        visiting.add(urn);
        let d = 0;
        for (const x of graph.get(urn) ?? []) d = Math.max(d, depth(x));
        visiting.delete(urn);
        const v = d + weight(urn);
        level.set(urn, v);
        return v;
    };
    for (const urn of graph.keys()) depth(urn);
    return level;
}

export function stages(resources: readonly RecordedResource[]): Stage[] {
    const level = levels(stepDependencies(resources));
    const steps = resources.filter(isStep);
    const max = Math.max(0, ...level.values());
    // One pass into buckets (registration order kept), not one filter per stage.
    const buckets: RecordedResource[][] = Array.from({ length: max }, () => []);
    for (const r of steps) buckets[level.get(r.urn)! - 1]!.push(r);
    return buckets.map((resources, i) => ({ index: i + 1, resources }));
}

/** True when `a` waits for `b`, directly or transitively. */
export function waitsFor(resources: readonly RecordedResource[], a: string, b: string): boolean {
    const deps = stepDependencies(resources);
    const seen = new Set<string>();
    const stack = [a];
    while (stack.length) {
        const x = stack.pop()!;
        for (const d of deps.get(x) ?? []) {
            if (d === b) return true;
            if (!seen.has(d)) {
                seen.add(d);
                stack.push(d);
            }
        }
    }
    return false;
}
