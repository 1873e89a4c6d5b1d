/**
 * Registers a floor spec (./floor.ts) with the real SDK classes of
 * @pulumi/command and @muhlba91/pulumi-proxmoxve, and checks afterwards that
 * the mock runtime recorded the same inputs the program's resources had.
 */
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import * as proxmox from "@muhlba91/pulumi-proxmoxve";
import type { RecordedResource } from "../../tools/lib/mock-runtime";
import { canonicalJson } from "./critical";
import { classPath, providerArgs, secretLeaves, type FloorResource } from "./floor";

type Ctor = new (name: string, args: Record<string, unknown>, opts?: pulumi.CustomResourceOptions) => pulumi.CustomResource;

const PACKAGES: Record<string, unknown> = { command, proxmoxve: proxmox };

function resolveClass(type: string): Ctor {
    const { pkg, path } = classPath(type);
    let at: unknown = PACKAGES[pkg];
    if (at === undefined) throw new Error(`floor: no package ${pkg} for ${type}; add it to bench/lib/floor-program.ts`);
    for (const p of path) at = (at as Record<string, unknown> | undefined)?.[p];
    const ctor = at as (Ctor & { __pulumiType?: string }) | undefined;
    if (typeof ctor !== "function") throw new Error(`floor: no class ${path.join(".")} in ${pkg} for ${type}`);
    const token = type.startsWith("pulumi:providers:") ? undefined : ctor.__pulumiType;
    if (token !== undefined && token !== type) throw new Error(`floor: ${path.join(".")} is ${token}, not ${type}`);
    return ctor;
}

/** Registers every resource of the spec, in order. */
export function floorProgram(spec: readonly FloorResource[]): pulumi.CustomResource[] {
    const made: pulumi.CustomResource[] = [];
    const classes = new Map<string, Ctor>();
    for (const r of spec) {
        let ctor = classes.get(r.type);
        if (!ctor) {
            ctor = resolveClass(r.type);
            classes.set(r.type, ctor);
        }
        const inputs = secretLeaves(r.inputs, (v) => pulumi.secret(v)) as Record<string, unknown>;
        const args = r.type.startsWith("pulumi:providers:") ? providerArgs(inputs) : inputs;
        const opts: pulumi.CustomResourceOptions = {
            ...(r.provider !== undefined ? { provider: made[r.provider] as pulumi.ProviderResource } : {}),
            ...(r.dependsOn.length ? { dependsOn: r.dependsOn.map((i) => made[i]!) } : {}),
            ...(r.additionalSecretOutputs.length ? { additionalSecretOutputs: [...r.additionalSecretOutputs] } : {}),
        };
        made.push(new ctor(r.name, args, opts));
    }
    return made;
}

/** Resources of the floor whose recorded inputs differ from the spec's (should be none). */
export function floorFidelity(
    spec: readonly FloorResource[],
    records: readonly RecordedResource[],
): { compared: number; differing: string[] } {
    const byName = new Map(records.filter((r) => r.custom).map((r) => [`${r.type}::${r.name}`, r]));
    const differing: string[] = [];
    for (const s of spec) {
        const r = byName.get(`${s.type}::${s.name}`);
        if (!r || canonicalJson(r.inputs) !== canonicalJson(s.inputs)) differing.push(s.name);
    }
    if (byName.size !== spec.length) differing.push(`count: ${byName.size} recorded, ${spec.length} in spec`);
    return { compared: spec.length, differing };
}
