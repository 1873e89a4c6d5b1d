/**
 * Opens a page in headless Chromium (Debian's `chromium` package) and returns
 * the DOM after its scripts ran, optionally writing a screenshot. Used to
 * prove that the runbook's HTML page draws its diagram in a real browser, and
 * to make the screenshot in the docs.
 *
 * Flags: no sandbox (root), no GPU, and no background network of the browser's
 * own (component updates, sync, QUIC); a fresh profile per call. Virtual time
 * lets the page's scripts finish before the DOM is read.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { pathToFileURL } from "node:url";

export const CHROMIUM = process.env.PROXMOX_HA_CHROMIUM ?? "/usr/bin/chromium";

const FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--virtual-time-budget=20000",
];

export class BrowserError extends Error {}

function run(args: string[]): string {
    if (!fs.existsSync(CHROMIUM))
        throw new BrowserError(`${CHROMIUM} not found: install Debian's chromium package (apt-get install chromium)`);
    const profile = fs.mkdtempSync(path.join(os.tmpdir(), `proxmox-ha-chromium-${process.pid}-`));
    try {
        const r = spawnSync(CHROMIUM, [...FLAGS, `--user-data-dir=${profile}`, ...args], {
            encoding: "utf8",
            timeout: 120_000,
            maxBuffer: 64 * 1024 * 1024,
        });
        if (r.error) throw new BrowserError(`chromium: ${r.error.message}`);
        if (r.status !== 0) throw new BrowserError(`chromium exited ${r.status}: ${r.stderr.split("\n").slice(-3).join(" ")}`);
        return r.stdout;
    } finally {
        fs.rmSync(profile, { recursive: true, force: true });
    }
}

/** The DOM of `file` after its scripts ran. */
export function dumpDom(file: string): string {
    return run(["--dump-dom", pathToFileURL(path.resolve(file)).href]);
}

/** Writes a PNG of the top `width`×`height` of the page. */
export function screenshot(file: string, png: string, width = 1300, height = 1100): void {
    run([`--window-size=${width},${height}`, `--screenshot=${path.resolve(png)}`, pathToFileURL(path.resolve(file)).href]);
    if (!fs.existsSync(png)) throw new BrowserError(`chromium wrote no screenshot to ${png}`);
}
