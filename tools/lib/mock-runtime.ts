/**
 * Runs the real program under Pulumi's mock runtime and records every
 * resource registration with its options (parent, dependsOn, secrecy,
 * protect, ignoreChanges, …). Used by the offline plan, the tests and the
 * benchmark. What it cannot show: anything the engine or a provider decides
 * (diffs against real state, provider-side validation, command execution).
 */
import * as pulumi from "@pulumi/pulumi";
import { withoutPromiseStacks } from "../../components/promiseStacks";

// Internal SDK helpers (exported at runtime, @internal in the typings).
/* eslint-disable @typescript-eslint/no-require-imports */
const settings = require("@pulumi/pulumi/runtime/settings") as {
    getMonitor(): unknown;
    waitForRPCs(): Promise<void>;
};
const rpc = require("@pulumi/pulumi/runtime/rpc") as {
    deserializeProperties(struct: unknown, keepUnknowns?: boolean): Record<string, unknown>;
};
/* eslint-enable @typescript-eslint/no-require-imports */

const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const SECRET_VALUE = "1b47061264138c4ac30d75fd1eb44270";

export interface RecordedResource {
    readonly urn: string;
    readonly type: string;
    readonly name: string;
    readonly custom: boolean;
    readonly parent?: string;
    /** URNs this resource depends on explicitly or through its inputs. */
    readonly dependsOn: readonly string[];
    /** Per input property, the URNs its value was computed from (the engine's property dependencies). */
    readonly propertyDependencies: Readonly<Record<string, readonly string[]>>;
    readonly inputs: Record<string, unknown>;
    /** Input paths whose value was a secret, e.g. `connection`, `stdin`. */
    readonly secretInputs: readonly string[];
    readonly provider?: string;
    readonly protect: boolean;
    readonly retainOnDelete: boolean;
    readonly deleteBeforeReplace: boolean;
    readonly ignoreChanges: readonly string[];
    readonly replaceOnChanges: readonly string[];
    readonly additionalSecretOutputs: readonly string[];
    readonly deletedWith?: string;
    readonly customTimeouts?: { create?: string; update?: string; delete?: string };
    /** The `replacementTrigger` option: the engine replaces the resource when this value changes. */
    readonly replacementTrigger?: unknown;
    /** The `import` option: the provider id of an existing object the engine adopts. */
    readonly importId?: string;
}

export type OutputsFn = (type: string, name: string, inputs: Record<string, unknown>) => Record<string, unknown>;

export interface EvaluateOptions {
    readonly project?: string;
    readonly stack?: string;
    /** Full config map (e.g. from readStack) and which keys are secret. */
    readonly config: Record<string, string>;
    readonly secretKeys?: readonly string[];
    /** Extra output properties per resource (e.g. a command's stdout). */
    readonly outputs?: OutputsFn;
    /** Evaluate as `pulumi preview` does (pulumi.runtime.isDryRun() is true). */
    readonly preview?: boolean;
}

export interface Evaluation<T> {
    readonly resources: RecordedResource[];
    readonly result: T;
}

function secretPaths(value: unknown, prefix: string, out: string[]): void {
    if (value === null || typeof value !== "object") return;
    const obj = value as Record<string, unknown>;
    if (obj[SECRET_SIG] === SECRET_VALUE) {
        out.push(prefix);
        return;
    }
    for (const [k, v] of Object.entries(obj)) secretPaths(v, prefix ? `${prefix}.${k}` : k, out);
}

interface RegisterRequest {
    getType(): string;
    getName(): string;
    getParent(): string;
    getCustom(): boolean;
    getObject(): { toJavaScript(): unknown };
    getProvider(): string;
    getDependenciesList(): string[];
    getPropertydependenciesMap(): { forEach(cb: (v: { getUrnsList(): string[] }, k: string) => void): void };
    getProtect(): boolean;
    getRetainondelete(): boolean;
    getDeletebeforereplace(): boolean;
    getIgnorechangesList(): string[];
    getReplaceonchangesList(): string[];
    getAdditionalsecretoutputsList(): string[];
    getDeletedwith(): string;
    getCustomtimeouts(): { getCreate(): string; getUpdate(): string; getDelete(): string } | undefined;
    hasReplacementTrigger(): boolean;
    getReplacementTrigger(): { toJavaScript(): unknown } | undefined;
    getImportid(): string;
}

/**
 * Sets up mocks and config, runs `program`, waits until every registration
 * has been recorded, and returns the records in registration order. The SDK's
 * per-promise stack capture is off meanwhile, as in `pulumi preview` of this
 * program (components/promiseStacks.ts).
 */
export function evaluate<T>(program: () => T, o: EvaluateOptions): Promise<Evaluation<T>> {
    return withoutPromiseStacks(() => evaluateRecorded(program, o));
}

async function evaluateRecorded<T>(program: () => T, o: EvaluateOptions): Promise<Evaluation<T>> {
    pulumi.runtime.setAllConfig(o.config, [...(o.secretKeys ?? [])]);
    const pending: Promise<void>[] = [];
    const records: RecordedResource[] = [];
    await pulumi.runtime.setMocks(
        {
            newResource(args) {
                const extra = o.outputs?.(args.type, args.name, args.inputs) ?? {};
                return { id: args.custom ? `${args.name}-id` : undefined, state: { ...args.inputs, ...extra } };
            },
            call(args) {
                throw new Error(`Mock not implemented: ${args.token}`);
            },
        },
        o.project ?? "proxmox-ha",
        o.stack ?? "test",
        o.preview ?? false,
    );
    const monitor = settings.getMonitor() as {
        registerResource(req: RegisterRequest, cb: (err: unknown, res: { getUrn(): string } | undefined) => void): unknown;
    };
    const original = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req, cb) => {
        let resolve!: () => void;
        pending.push(new Promise<void>((r) => (resolve = r)));
        return original(req, (err, res) => {
            if (!err && res) {
                const raw = req.getObject().toJavaScript();
                const secrets: string[] = [];
                secretPaths(raw, "", secrets);
                const deps = new Set(req.getDependenciesList());
                const propertyDependencies: Record<string, string[]> = {};
                req.getPropertydependenciesMap().forEach((v, k) => {
                    const urns = v.getUrnsList();
                    urns.forEach((u) => deps.add(u));
                    if (urns.length) propertyDependencies[k] = [...urns].sort();
                });
                const ct = req.getCustomtimeouts();
                const timeouts = ct
                    ? Object.fromEntries(
                          Object.entries({ create: ct.getCreate(), update: ct.getUpdate(), delete: ct.getDelete() }).filter(([, v]) => v),
                      )
                    : undefined;
                records.push({
                    urn: res.getUrn(),
                    type: req.getType(),
                    name: req.getName(),
                    custom: req.getCustom(),
                    ...(req.getParent() ? { parent: req.getParent() } : {}),
                    dependsOn: [...deps].sort(),
                    propertyDependencies,
                    inputs: rpc.deserializeProperties(req.getObject()),
                    secretInputs: secrets.sort(),
                    ...(req.getProvider() ? { provider: req.getProvider() } : {}),
                    protect: req.getProtect(),
                    retainOnDelete: req.getRetainondelete(),
                    deleteBeforeReplace: req.getDeletebeforereplace(),
                    ignoreChanges: req.getIgnorechangesList(),
                    replaceOnChanges: req.getReplaceonchangesList(),
                    additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
                    ...(req.getDeletedwith() ? { deletedWith: req.getDeletedwith() } : {}),
                    ...(timeouts && Object.keys(timeouts).length ? { customTimeouts: timeouts } : {}),
                    ...(req.hasReplacementTrigger() ? { replacementTrigger: req.getReplacementTrigger()?.toJavaScript() } : {}),
                    ...(req.getImportid() ? { importId: req.getImportid() } : {}),
                });
            }
            cb(err, res);
            resolve();
        });
    };
    const result = program();
    // Drain: registrations can trigger further registrations (components, outputs).
    for (let seen = -1; seen !== pending.length;) {
        seen = pending.length;
        await Promise.all(pending);
        await settings.waitForRPCs();
        await new Promise((r) => setImmediate(r));
    }
    return { resources: records, result };
}

/** Parent-relative short form of a URN: `type::name`. */
export function urnName(urn: string): string {
    return urn.split("::").slice(-1)[0]!;
}
