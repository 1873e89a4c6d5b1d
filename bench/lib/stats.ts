/**
 * Summary statistics of repeated measurements: median, min, max. Pure.
 */

export interface Summary {
    readonly median: number;
    readonly min: number;
    readonly max: number;
    readonly n: number;
}

/** Median (mean of the two middle values for an even count), min and max. */
export function summarize(values: readonly number[]): Summary {
    if (values.length === 0) throw new Error("summarize: no values");
    if (values.some((v) => !Number.isFinite(v))) throw new Error(`summarize: non-finite value in ${JSON.stringify(values)}`);
    const s = [...values].sort((a, b) => a - b);
    const mid = Math.floor(s.length / 2);
    const median = s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
    return { median, min: s[0]!, max: s[s.length - 1]!, n: s.length };
}

/** a / b of two summaries' medians. */
export function ratio(a: Summary, b: Summary): number {
    if (b.median === 0) throw new Error("ratio: zero denominator");
    return a.median / b.median;
}

/** Rounds to `digits` decimals (for JSON and tables). */
export function round(x: number, digits = 2): number {
    const f = 10 ** digits;
    return Math.round(x * f) / f;
}
