/**
 * Proves: the calendar-event parser accepts the forms pve-docs
 * calendar-events.adoc lists, refuses malformed ones with a reason, and
 * computes the longest and shortest gap between runs (the worst-case RPO).
 * Does not prove: that Proxmox's own parser agrees on every exotic form
 * (`systemd-analyze calendar` is not Proxmox's parser, and no PVE runs here).
 */
import { describe, it } from "node:test";
import * as assert from "node:assert/strict";
import { analyseSchedule, formatMinutes, parseDuration, ScheduleError } from "../../components/schedule";

describe("analyseSchedule", () => {
    const table: [string, number, number][] = [
        ["*/5", 5, 5],
        ["0/5", 5, 5],
        ["*", 1, 1],
        ["*/15", 15, 15],
        ["*/2:00", 120, 120],
        ["*-*-* 02:00", 1440, 1440],
        ["02:00", 1440, 1440],
        ["hourly", 60, 60],
        ["daily", 1440, 1440],
        ["weekly", 7 * 1440, 7 * 1440],
        ["mon..fri", 3 * 1440, 1440],
        ["mon,wed,fri", 3 * 1440, 2 * 1440],
        ["mon..wed 30/10", 4 * 1440 + 40, 10],
        ["12,14,16,18,20,22:5", 14 * 60, 120],
        ["fri 12..13:5/20", 7 * 1440 - 100, 20],
        ["monthly", 31 * 1440, 28 * 1440],
        ["Sat *-1..7 15:00", 35 * 1440, 28 * 1440],
    ];
    for (const [spec, worst, best] of table) {
        it(`${spec}: worst ${worst} min, best ${best} min`, () => {
            const info = analyseSchedule(spec);
            assert.equal(info.worstCaseGapMinutes, worst);
            assert.equal(info.bestCaseGapMinutes, best);
        });
    }
    const bad: [string, string][] = [
        ["", "the schedule is empty"],
        ["*/0", `minute step in "*/0" must be at least 1`],
        ["61", `minute "61" is out of range 0..59`],
        ["25:00", `hour "25" is out of range 0..23`],
        ["funday", `"funday" is not a weekday or weekday range (mon..sun)`],
        ["2015-10-21", "a schedule bound to specific years does not recur; use e.g. */5, */15 or daily"],
        ["*-02-30", "the schedule never fires, or fires only once"],
        ["5:00 *-*-*", `the date "*-*-*" must come before the time`],
    ];
    for (const [spec, message] of bad) {
        it(`refuses ${JSON.stringify(spec)}`, () => {
            assert.throws(
                () => analyseSchedule(spec),
                (e: unknown) => e instanceof ScheduleError && e.message === message,
            );
        });
    }
});

describe("durations", () => {
    it("formats minutes for people", () => {
        assert.equal(formatMinutes(5), "5 min");
        assert.equal(formatMinutes(120), "2 h");
        assert.equal(formatMinutes(1440 * 3 + 61), "3 d 1 h 1 min");
    });
    it("parses durations", () => {
        assert.equal(parseDuration("90s"), 90);
        assert.equal(parseDuration("15m"), 900);
        assert.equal(parseDuration("2h"), 7200);
        assert.equal(parseDuration("1d"), 86400);
        assert.equal(parseDuration("1w"), undefined);
    });
});
