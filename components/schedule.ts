/**
 * Proxmox calendar events (pve-docs calendar-events.adoc), the subset that
 * `pvesr` schedules use: `[WEEKDAY] [[YEARS-]MONTHS-DAYS] [HOURS:MINUTES[:SECONDS]]`
 * plus the special words (`hourly`, `daily`, ...).
 *
 * We parse a schedule to find how often it fires, because the worst-case
 * recovery point of a replicated guest is the longest gap between two runs.
 */

export interface ScheduleInfo {
    /** The schedule as written. */
    readonly spec: string;
    /** Longest gap between two consecutive runs, in minutes: the worst-case RPO. */
    readonly worstCaseGapMinutes: number;
    /** Shortest gap between two consecutive runs, in minutes. */
    readonly bestCaseGapMinutes: number;
}

export class ScheduleError extends Error {}

const WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] as const;

const SPECIAL: Record<string, string> = {
    minutely: "*-*-* *:*",
    hourly: "*-*-* *:00",
    daily: "*-*-* 00:00",
    weekly: "mon *-*-* 00:00",
    monthly: "*-*-01 00:00",
    yearly: "*-01-01 00:00",
    annually: "*-01-01 00:00",
    quarterly: "*-01,04,07,10-01 00:00",
    semiannually: "*-01,07-01 00:00",
};

/** Expands one comma-separated field (`*`, `5`, `1..3`, `*\/5`, `8/15`, `8..17/2`) into the set of values in [min, max]. */
function expandField(text: string, min: number, max: number, what: string): Set<number> {
    const out = new Set<number>();
    for (const item of text.split(",")) {
        const m = /^(\*|\d+)(?:\.\.(\d+))?(?:\/(\d+))?$/.exec(item);
        if (!m) throw new ScheduleError(`"${item}" is not a valid ${what} value`);
        const start = m[1] === "*" ? min : Number(m[1]);
        const hasRange = m[2] !== undefined;
        const step = m[3] !== undefined ? Number(m[3]) : undefined;
        const end = hasRange ? Number(m[2]) : m[1] === "*" || step !== undefined ? max : start;
        if (start < min || start > max || end < min || end > max || end < start) {
            throw new ScheduleError(`${what} "${item}" is out of range ${min}..${max}`);
        }
        if (step !== undefined && step < 1) throw new ScheduleError(`${what} step in "${item}" must be at least 1`);
        for (let v = start; v <= end; v += step ?? 1) out.add(v);
    }
    return out;
}

function expandWeekdays(text: string): Set<number> {
    const out = new Set<number>();
    for (const item of text.split(",")) {
        const [a, b] = item.split("..");
        const ia = WEEKDAYS.indexOf(a as (typeof WEEKDAYS)[number]);
        const ib = b === undefined ? ia : WEEKDAYS.indexOf(b as (typeof WEEKDAYS)[number]);
        if (ia < 0 || ib < 0 || ib < ia) throw new ScheduleError(`"${item}" is not a weekday or weekday range (mon..sun)`);
        for (let d = ia; d <= ib; d++) out.add(d);
    }
    return out;
}

interface Parsed {
    weekdays: Set<number> | undefined; // 0 = Monday
    years: Set<number> | undefined;
    months: Set<number>;
    days: Set<number>;
    hours: Set<number>;
    minutes: Set<number>;
}

function parse(specIn: string): Parsed {
    const spec = SPECIAL[specIn.trim().toLowerCase()] ?? specIn.trim().toLowerCase();
    if (spec === "") throw new ScheduleError("the schedule is empty");
    const tokens = spec.split(/\s+/);
    let weekdays: Set<number> | undefined;
    if (/^[a-z]/.test(tokens[0]!)) weekdays = expandWeekdays(tokens.shift()!);
    let years: Set<number> | undefined;
    let months = expandField("*", 1, 12, "month");
    let days = expandField("*", 1, 31, "day");
    let hours: Set<number> | undefined;
    let minutes: Set<number> | undefined;
    for (const tok of tokens) {
        if (tok.includes("-")) {
            if (hours !== undefined) throw new ScheduleError(`the date "${tok}" must come before the time`);
            const parts = tok.split("-");
            if (parts.length === 3) {
                years = parts[0] === "*" ? undefined : expandField(parts[0]!, 1970, 9999, "year");
                parts.shift();
            } else if (parts.length !== 2) {
                throw new ScheduleError(`"${tok}" is not a date of the form [YEARS-]MONTHS-DAYS`);
            }
            months = expandField(parts[0]!, 1, 12, "month");
            days = expandField(parts[1]!, 1, 31, "day");
        } else if (tok.includes(":")) {
            const parts = tok.split(":");
            if (parts.length > 3) throw new ScheduleError(`"${tok}" is not a time of the form HOURS:MINUTES[:SECONDS]`);
            hours = expandField(parts[0]!, 0, 23, "hour");
            minutes = expandField(parts[1]!, 0, 59, "minute");
            if (parts[2] !== undefined) expandField(parts[2], 0, 59, "second");
        } else if (hours === undefined && minutes === undefined) {
            // A lone number is the minutes of every hour (`*/5`, `30/10`).
            hours = expandField("*", 0, 23, "hour");
            minutes = expandField(tok, 0, 59, "minute");
        } else {
            throw new ScheduleError(`unexpected "${tok}"`);
        }
    }
    if (hours === undefined || minutes === undefined) {
        // Only a weekday and/or a date: at midnight.
        hours = new Set([0]);
        minutes = new Set([0]);
    }
    return { weekdays, years, months, days, hours, minutes };
}

const cache = new Map<string, ScheduleInfo>();

/**
 * Parses a schedule and computes the longest and shortest gap between runs, by
 * walking the days of four years (a leap year included), so monthly and
 * weekday-of-month schedules are measured exactly.
 * @throws ScheduleError when the schedule is not valid or does not recur.
 */
export function analyseSchedule(spec: string): ScheduleInfo {
    const hit = cache.get(spec);
    if (hit) return hit;
    const p = parse(spec);
    const minuteOfDay: number[] = [];
    for (const h of [...p.hours].sort((a, b) => a - b)) {
        for (const m of [...p.minutes].sort((a, b) => a - b)) minuteOfDay.push(h * 60 + m);
    }
    const startYear = 2024; // 2024-01-01 is a Monday; 2024 is a leap year
    const startMs = Date.UTC(startYear, 0, 1);
    const totalDays = 4 * 365 + 1;
    let prev: number | undefined;
    let worst = 0;
    let best = Infinity;
    let runs = 0;
    const years = p.years;
    if (years !== undefined && ![...years].some((y) => y >= startYear && y < startYear + 4)) {
        // Absolute-year schedules are one-shot at best: they do not recur.
        throw new ScheduleError("a schedule bound to specific years does not recur; use e.g. */5, */15 or daily");
    }
    if (years === undefined && p.weekdays === undefined && p.months.size === 12 && p.days.size === 31 && minuteOfDay.length > 0) {
        // Every day fires at the same minutes (e.g. */5): the gaps are those within
        // one day plus the one into the next day; walking four years (420,000 runs
        // of */5) gives the same answer and was most of a validation's time.
        let worstDay = 1440 - minuteOfDay[minuteOfDay.length - 1]! + minuteOfDay[0]!;
        let bestDay = worstDay;
        for (let i = 1; i < minuteOfDay.length; i++) {
            const gap = minuteOfDay[i]! - minuteOfDay[i - 1]!;
            if (gap > worstDay) worstDay = gap;
            if (gap < bestDay) bestDay = gap;
        }
        const daily: ScheduleInfo = { spec, worstCaseGapMinutes: worstDay, bestCaseGapMinutes: bestDay };
        cache.set(spec, daily);
        return daily;
    }
    for (let d = 0; d < totalDays; d++) {
        const date = new Date(startMs + d * 86_400_000);
        if (years !== undefined && !years.has(date.getUTCFullYear())) continue;
        if (!p.months.has(date.getUTCMonth() + 1) || !p.days.has(date.getUTCDate())) continue;
        if (p.weekdays !== undefined && !p.weekdays.has((date.getUTCDay() + 6) % 7)) continue;
        for (const mod of minuteOfDay) {
            const t = d * 1440 + mod;
            if (prev !== undefined) {
                const gap = t - prev;
                if (gap > worst) worst = gap;
                if (gap < best) best = gap;
            }
            prev = t;
            runs++;
        }
    }
    if (runs < 2) throw new ScheduleError("the schedule never fires, or fires only once");
    const info: ScheduleInfo = { spec, worstCaseGapMinutes: worst, bestCaseGapMinutes: best };
    cache.set(spec, info);
    return info;
}

/** "5 min", "2 h", "1 d 6 h": a duration in minutes for people. */
export function formatMinutes(total: number): string {
    if (total < 60) return `${total} min`;
    const d = Math.floor(total / 1440);
    const h = Math.floor((total % 1440) / 60);
    const m = total % 60;
    return [d ? `${d} d` : "", h ? `${h} h` : "", m ? `${m} min` : ""].filter(Boolean).join(" ");
}

/** Parses a duration like "90s", "15m", "2h", "1d" into seconds. */
export function parseDuration(text: string): number | undefined {
    const m = /^(\d+)(s|m|h|d)$/.exec(text);
    if (!m) return undefined;
    const mult = { s: 1, m: 60, h: 3600, d: 86400 }[m[2] as "s" | "m" | "h" | "d"];
    return Number(m[1]) * mult;
}
