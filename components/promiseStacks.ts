/**
 * The SDK's per-promise stack capture, switched off unless someone asked for it.
 *
 * @pulumi/pulumi wraps every promise it makes (about four per property of every
 * resource) in `debuggablePromise` (runtime/debuggable.js), which stores
 * `new Error().stack` on the promise. That text is read only when
 * PULUMI_DEBUG_PROMISE_LEAKS is set, to say where a leaked promise was made. Under
 * `pulumi preview`/`up` the SDK's runner has installed source-map-support
 * (cmd/run/index.js) and ts-node, so every capture maps every frame through source
 * maps: for 2 nodes × 1000 guests that was about 50 s of a 58 s evaluation
 * (`npm run bench`, docs/performance.md).
 *
 * The lever: while the SDK calls `debuggablePromise`, `Error.stackTraceLimit` is 0,
 * so the stored trace is the bare "Error" line and nothing is formatted. Ids,
 * contexts and leak tracking stay as they are; errors thrown anywhere else keep
 * their full stacks. With PULUMI_DEBUG_PROMISE_LEAKS set nothing changes, so the
 * SDK's leak report keeps its full diagnostics.
 *
 * This reaches into SDK internals (`runtime/debuggable`, @internal in its typings).
 * test/site/promise-stacks.test.ts fails when the SDK changes under it: when the
 * export is gone, when the SDK stops calling it through the module (the patch would
 * then have no effect), or when the env switch no longer restores full stacks.
 */

// Internal SDK module (exported at runtime, @internal in the typings).
/* eslint-disable-next-line @typescript-eslint/no-require-imports */
const debuggable = require("@pulumi/pulumi/runtime/debuggable") as {
    debuggablePromise<T>(p: Promise<T>, ctx: unknown): Promise<T>;
    debugPromiseLeaks: boolean;
};

type Capture = typeof debuggable.debuggablePromise & { stackless?: true };

/** True while the SDK's captures carry no stack frames. */
export function promiseStacksSkipped(): boolean {
    return (debuggable.debuggablePromise as Capture).stackless === true;
}

/**
 * Makes the SDK's captures stackless until the returned function is called (which
 * puts back what was there). A no-op that returns a no-op when leak debugging is on
 * or the captures are already stackless.
 */
export function skipPromiseStacks(): () => void {
    const original = debuggable.debuggablePromise as Capture;
    if (debuggable.debugPromiseLeaks || original.stackless) return () => undefined;
    if (typeof original !== "function") {
        throw new Error("@pulumi/pulumi/runtime/debuggable no longer exports debuggablePromise: review components/promiseStacks.ts");
    }
    const stackless = <P>(p: Promise<P>, ctx: unknown): Promise<P> => {
        const limit = Error.stackTraceLimit;
        Error.stackTraceLimit = 0;
        try {
            return original(p, ctx);
        } finally {
            Error.stackTraceLimit = limit;
        }
    };
    debuggable.debuggablePromise = Object.assign(stackless, { stackless: true as const });
    return () => {
        debuggable.debuggablePromise = original;
    };
}

/** `run` with stackless captures, restored when it settles. */
export function withoutPromiseStacks<T>(run: () => Promise<T>): Promise<T> {
    const restore = skipPromiseStacks();
    return run().finally(restore);
}
