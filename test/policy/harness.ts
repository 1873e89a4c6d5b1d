/**
 * A small local stand-in for pulumi-policy-aws's test utilities
 * (createResourceValidationArgs / runResourcePolicy / assertHasResourceViolation),
 * which @pulumi/policy does not ship: it builds the arguments a policy receives
 * and collects what the policy reports.
 *
 * Fidelity to the engine side (@pulumi/policy 1.21.0 server.js): props are
 * wrapped in the SDK's own `unknownCheckingProxy`, so reading a value that is
 * unknown during a preview throws `UnknownValueError` as it does there, and an
 * UnknownValueError that escapes a policy is reported the way the server
 * reports it (advisory "can't run ... during preview"); `notApplicable` throws
 * and is caught the same way. `isType` compares the class's `__pulumiType`.
 */
import {
    UnknownValueError,
    unknownCheckingProxy,
    type PolicyResource,
    type ResourceValidationArgs,
    type ResourceValidationPolicy,
    type StackValidationArgs,
    type StackValidationPolicy,
    type Policies,
} from "@pulumi/policy";

/** The SDK's sentinel for a string input that is unknown during preview (exported at runtime, @internal in typings). */
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const UNKNOWN_STRING = (require("@pulumi/policy/proxy") as { unknownStringValue: string }).unknownStringValue;

export interface ResourceSpec {
    readonly type: string;
    readonly name: string;
    readonly props: Record<string, unknown>;
    readonly additionalSecretOutputs?: readonly string[];
    /** Parent URN. */
    readonly parent?: string;
    /** Resources (in the same list) this one depends on, by URN or by name. */
    readonly dependsOn?: readonly string[];
    /** Per input property, the resources (URN or name) its value was computed from. */
    readonly propertyDependencies?: Readonly<Record<string, readonly string[]>>;
    /** Defaults to a URN built from type and name. */
    readonly urn?: string;
}

export function urnOf(spec: Pick<ResourceSpec, "type" | "name" | "urn">): string {
    return spec.urn ?? `urn:pulumi:test::proxmox-ha::${spec.type}::${spec.name}`;
}

class NotApplicable extends Error {
    constructor(readonly reason: string | undefined) {
        super(reason);
    }
}
const notApplicable = (reason?: string): never => {
    throw new NotApplicable(reason);
};

function typeOf(cls: unknown): string | undefined {
    const t = (cls as { __pulumiType?: unknown }).__pulumiType;
    return typeof t === "string" ? t : undefined;
}

function options(spec: ResourceSpec) {
    return {
        protect: false,
        ignoreChanges: [],
        aliases: [],
        customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
        additionalSecretOutputs: [...(spec.additionalSecretOutputs ?? [])],
        ...(spec.parent ? { parent: spec.parent } : {}),
    };
}

export function resourceArgs(spec: ResourceSpec): ResourceValidationArgs {
    const props = unknownCheckingProxy(structuredClone(spec.props)) as Record<string, unknown>;
    return {
        type: spec.type,
        props,
        urn: urnOf(spec),
        name: spec.name,
        opts: options(spec),
        stackTags: new Map(),
        isType: (cls: unknown) => typeOf(cls) === spec.type,
        asType: ((cls: unknown) => (typeOf(cls) === spec.type ? props : undefined)) as ResourceValidationArgs["asType"],
        getConfig: <T extends object>() => ({}) as T,
        notApplicable,
    };
}

/** Stack arguments from resource specs; dependencies and parents resolved to the resource objects, as the server does. */
export function stackArgs(specs: readonly ResourceSpec[]): StackValidationArgs {
    const byKey = new Map<string, PolicyResource>();
    const resources: PolicyResource[] = specs.map((spec) => {
        const props = unknownCheckingProxy(structuredClone(spec.props)) as Record<string, unknown>;
        const r: PolicyResource = {
            type: spec.type,
            props,
            urn: urnOf(spec),
            name: spec.name,
            opts: options(spec),
            dependencies: [],
            propertyDependencies: {},
            isType: (cls: unknown) => typeOf(cls) === spec.type,
            asType: ((cls: unknown) => (typeOf(cls) === spec.type ? props : undefined)) as PolicyResource["asType"],
        };
        byKey.set(r.urn, r);
        if (!byKey.has(spec.name)) byKey.set(spec.name, r);
        return r;
    });
    specs.forEach((spec, i) => {
        const r = resources[i]!;
        const resolve = (n: string) => {
            const d = byKey.get(n);
            if (!d) throw new Error(`test: ${spec.name} depends on unknown resource ${n}`);
            return d;
        };
        r.dependencies = (spec.dependsOn ?? []).map(resolve);
        r.propertyDependencies = Object.fromEntries(Object.entries(spec.propertyDependencies ?? {}).map(([k, v]) => [k, v.map(resolve)]));
        const parent = resources.find((p) => p.urn === spec.parent);
        if (parent) r.parent = parent;
    });
    return { resources, stackTags: new Map(), getConfig: <T extends object>() => ({}) as T, notApplicable };
}

/** What running one policy produced. */
export interface Outcome {
    readonly violations: readonly { readonly message: string; readonly urn?: string }[];
    /** Set when the policy declared itself not applicable. */
    readonly notApplicable?: string;
    /** Set when an unknown value escaped the policy (the server turns this into an advisory "can't run during preview"). */
    readonly unknownEscaped?: string;
}

async function run(fn: (report: (message: string, urn?: string) => void) => unknown): Promise<Outcome> {
    const violations: { message: string; urn?: string }[] = [];
    try {
        await fn((message, urn) => violations.push(urn === undefined ? { message } : { message, urn }));
    } catch (e) {
        if (e instanceof NotApplicable) return { violations, notApplicable: e.reason ?? "" };
        if (e instanceof UnknownValueError) return { violations, unknownEscaped: (e as Error).message };
        throw e;
    }
    return { violations };
}

export function runResourcePolicy(policy: ResourceValidationPolicy, args: ResourceValidationArgs): Promise<Outcome> {
    const validations = policy.validateResource === undefined ? [] : [policy.validateResource].flat();
    return run(async (report) => {
        for (const v of validations) await v(args, report);
    });
}

export function runStackPolicy(policy: StackValidationPolicy, args: StackValidationArgs): Promise<Outcome> {
    return run((report) => policy.validateStack(args, report));
}

export function byName<P extends ResourceValidationPolicy | StackValidationPolicy>(policies: Policies, name: string): P {
    const p = policies.find((x) => x.name === name);
    if (!p) throw new Error(`no policy named ${name}`);
    return p as P;
}

export function isStackPolicy(p: ResourceValidationPolicy | StackValidationPolicy): p is StackValidationPolicy {
    return "validateStack" in p;
}

/**
 * Runs every policy over a stack: stack policies once, resource policies once
 * per resource (with that resource's provider, as the engine passes it).
 * Returns every violation as "<policy>: <message>".
 */
export async function runAll(
    policies: Policies,
    specs: readonly ResourceSpec[],
): Promise<{ violations: string[]; outcomes: Map<string, Outcome[]> }> {
    const violations: string[] = [];
    const outcomes = new Map<string, Outcome[]>();
    const record = (name: string, o: Outcome) => {
        outcomes.set(name, [...(outcomes.get(name) ?? []), o]);
        for (const v of o.violations) violations.push(`${name}: ${v.message}`);
        if (o.unknownEscaped) violations.push(`${name}: unknown value escaped: ${o.unknownEscaped}`);
    };
    const stack = stackArgs(specs);
    for (const p of policies) {
        if (isStackPolicy(p)) record(p.name, await runStackPolicy(p, stack));
        else for (const spec of specs) record(p.name, await runResourcePolicy(p, resourceArgs(spec)));
    }
    return { violations, outcomes };
}
