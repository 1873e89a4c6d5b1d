/**
 * The floor: the same custom resources a program evaluation recorded (same
 * types, names, input values, providers and dependency edges), registered
 * directly with the provider SDK classes, without any project code (no
 * validation, no components, no Outputs between resources). What remains is
 * what any program registering these resources pays: SDK, provider classes,
 * mock runtime and recorder.
 *
 * `floorSpec` (pure) turns records into a spec; `registerFloor` (SDK) builds it.
 */
import type { RecordedResource } from "../../tools/lib/mock-runtime";

const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const SECRET_VALUE = "1b47061264138c4ac30d75fd1eb44270";

export interface FloorResource {
    readonly type: string;
    readonly name: string;
    /** Recorded inputs; secret values keep their wire wrapper and are re-wrapped with pulumi.secret. */
    readonly inputs: Record<string, unknown>;
    /** Index of its provider in the spec, when it had an explicit one. */
    readonly provider?: number;
    /** Indexes of the custom resources it waited for (explicitly or through inputs). */
    readonly dependsOn: readonly number[];
    readonly additionalSecretOutputs: readonly string[];
}

/**
 * Custom resources of an evaluation, in registration order, with dependencies
 * on other custom resources as indexes. Dependencies on components are
 * expanded to the custom resources below them, as the engine does.
 */
export function floorSpec(records: readonly RecordedResource[]): FloorResource[] {
    const custom = records.filter((r) => r.custom);
    const index = new Map(custom.map((r, i) => [r.urn, i]));
    const children = new Map<string, RecordedResource[]>();
    for (const r of records) if (r.parent) children.set(r.parent, [...(children.get(r.parent) ?? []), r]);
    const below = (urn: string): number[] => (children.get(urn) ?? []).flatMap((c) => (c.custom ? [index.get(c.urn)!] : below(c.urn)));
    return custom.map((r, i) => {
        const deps = new Set<number>();
        for (const d of r.dependsOn) {
            const j = index.get(d);
            if (j !== undefined) deps.add(j);
            else for (const k of below(d)) deps.add(k);
        }
        for (const d of deps) if (d >= i) throw new Error(`floor: ${r.name} depends on a later resource`);
        const provider = r.provider ? index.get(r.provider.slice(0, r.provider.lastIndexOf("::"))) : undefined;
        return {
            type: r.type,
            name: r.name,
            inputs: r.inputs,
            ...(provider !== undefined ? { provider } : {}),
            dependsOn: [...deps].sort((a, b) => a - b),
            additionalSecretOutputs: r.additionalSecretOutputs,
        };
    });
}

/**
 * Where the SDK class of a type token lives in its package's exports:
 * `proxmoxve:index/vmLegacy:VmLegacy` → VmLegacy (root),
 * `proxmoxve:network/linux/vlan:Vlan` → network.linux.Vlan,
 * `command:remote:Command` → remote.Command,
 * `pulumi:providers:proxmoxve` → Provider of package proxmoxve.
 */
export function classPath(type: string): { pkg: string; path: string[] } {
    const parts = type.split(":");
    if (parts.length !== 3) throw new Error(`floor: not a type token: ${type}`);
    const [pkg, mod, cls] = parts as [string, string, string];
    if (pkg === "pulumi" && mod === "providers") return { pkg: cls, path: ["Provider"] };
    const segs = mod.split("/");
    // The last module segment names the file when it is the class name in camelCase.
    if (segs.length > 1 && segs[segs.length - 1]!.toLowerCase() === cls.toLowerCase()) segs.pop();
    if (segs[0] === "index") segs.shift();
    return { pkg, path: [...segs, cls] };
}

/** Wire-form secrets (`{sig: secret, value}`) → a marker the builder turns into pulumi.secret. */
export function secretLeaves(value: unknown, wrap: (v: unknown) => unknown): unknown {
    if (Array.isArray(value)) return value.map((v) => secretLeaves(v, wrap));
    if (value !== null && typeof value === "object") {
        const o = value as Record<string, unknown>;
        if (o[SECRET_SIG] === SECRET_VALUE) return wrap(secretLeaves(o.value, wrap));
        return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, secretLeaves(v, wrap)]));
    }
    return value;
}

/**
 * Provider packages serialize non-string provider inputs as JSON text on the
 * wire (`insecure: "false"`); their classes take the plain value.
 */
export function providerArgs(inputs: Record<string, unknown>): Record<string, unknown> {
    return Object.fromEntries(
        Object.entries(inputs).map(([k, v]) => {
            if (typeof v !== "string") return [k, v];
            try {
                const parsed: unknown = JSON.parse(v);
                return [k, typeof parsed === "string" ? v : parsed];
            } catch {
                return [k, v];
            }
        }),
    );
}
