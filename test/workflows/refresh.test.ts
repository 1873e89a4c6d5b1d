/**
 * Proves: every way this program is run refreshes first (issue #11 point 4).
 * The provider (bpg/terraform-provider-proxmox, VM read in
 * proxmoxtf/resource/vm/vm.go) learns a VM's current node only when it reads
 * the VM back, which Pulumi does on refresh; after an HA failover an `up`
 * without refresh sends the update to the old node and fails. So:
 *   - Pulumi.yaml sets the project option `options.refresh: always`
 *     (pulumi/pulumi#8071: `pulumi up`, `preview` and `destroy` refresh
 *     unless told `--refresh=false`), and the pinned CLI (.pulumi-version)
 *     is newer than that option;
 *   - every pulumi/actions step that previews, updates or destroys asks for
 *     the refresh itself (the action passes --refresh), and no workflow
 *     step or document turns it off (`--refresh=false`, `--skip-refresh`);
 *   - the README and docs/operations.md say so.
 * Does not prove: that the Pulumi CLI honours the option (no CLI here).
 */
import { describe, it } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { ROOT } from "../../tools/lib/stack";

type Dict = Record<string, unknown>;
const read = (...p: string[]) => fs.readFileSync(path.join(ROOT, ...p), "utf8");
const WF_DIR = path.join(ROOT, ".github", "workflows");
const workflowFiles = fs.readdirSync(WF_DIR).filter((f) => /\.ya?ml$/.test(f));

interface Step {
    uses?: string;
    run?: string;
    with?: Dict;
}

function steps(file: string): Step[] {
    const w = parse(read(".github", "workflows", file)) as { jobs: Record<string, { steps?: Step[] }> };
    return Object.values(w.jobs).flatMap((j) => j.steps ?? []);
}

/** Every Markdown file a user reads: README and docs/ (recursively). */
function docs(): { file: string; text: string }[] {
    const out: { file: string; text: string }[] = [{ file: "README.md", text: read("README.md") }];
    const walk = (dir: string) => {
        for (const e of fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
            const rel = path.join(dir, e.name);
            if (e.isDirectory()) walk(rel);
            else if (e.name.endsWith(".md")) out.push({ file: rel, text: read(rel) });
        }
    };
    walk("docs");
    return out;
}

const TURNS_REFRESH_OFF = /--refresh=false|--skip-refresh|refresh:\s*false/;

describe("refresh is the default (issue #11 point 4)", () => {
    it("Pulumi.yaml sets options.refresh: always", () => {
        const project = parse(read("Pulumi.yaml")) as { options?: { refresh?: unknown } };
        assert.equal(project.options?.refresh, "always");
    });

    it("the pinned Pulumi CLI knows the option (pulumi/pulumi#8071, 3.14 and later)", () => {
        const [major, minor] = read(".pulumi-version").trim().split(".").map(Number);
        assert.ok(major! > 3 || (major === 3 && minor! >= 14), `.pulumi-version ${read(".pulumi-version").trim()}`);
    });

    it("every pulumi/actions preview, up or destroy step refreshes", () => {
        let seen = 0;
        for (const f of workflowFiles) {
            for (const s of steps(f)) {
                if (s.uses?.split("@")[0] !== "pulumi/actions") continue;
                const command = String(s.with?.command);
                if (!["preview", "up", "update", "destroy"].includes(command)) continue;
                seen++;
                const r = s.with?.refresh;
                // true, or an expression (the pull-request preview: only for this repository's pull requests, the only ones that preview).
                assert.ok(r === true || (typeof r === "string" && r.startsWith("${{")), `${f}: ${command} has refresh ${String(r)}`);
            }
        }
        assert.ok(seen >= 3, `found the preview, up and convergence steps (${seen})`);
    });

    it("no workflow step and no document turns the refresh off", () => {
        for (const f of workflowFiles) assert.doesNotMatch(read(".github", "workflows", f), TURNS_REFRESH_OFF, f);
        for (const d of docs()) assert.doesNotMatch(d.text, TURNS_REFRESH_OFF, d.file);
    });

    it("the README and the operations guide say why and how", () => {
        const readme = read("README.md");
        assert.match(readme, /refresh: always/);
        const ops = read("docs", "operations.md");
        assert.match(ops, /refresh: always/);
        assert.match(ops, /failover/i);
    });
});
