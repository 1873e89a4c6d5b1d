/**
 * Proves (issue #13): `runbook --html` writes a self-contained page that a
 * real browser (headless Chromium from Debian) renders with the topology drawn
 * as SVG, naming every node, the QDevice and every guest of the site; the page
 * references nothing outside itself; a broken diagram is reported by the page
 * (so the check can fail); `--screenshot` writes a PNG.
 * Needs /usr/bin/chromium (`.ci/run` installs it; `npm test` says so when it
 * is missing).
 * Does not prove: how the page looks in other browsers, or that the layout is
 * pleasant (the screenshot in docs/images is for a person to judge).
 */
import { describe, it, before, after } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { loadStackSite } from "../../tools/health/load";
import { listStacks } from "../../tools/lib/stack";
import { dumpDom } from "../../tools/runbook/browser";
import { main } from "../../tools/runbook/cli";
import { markdownToHtml, mermaidBundle, renderRunbookHtml } from "../../tools/runbook/html";

let dir: string;
let bundle: string;
before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), `proxmox-ha-html-${process.pid}-`));
    bundle = mermaidBundle();
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The inner text of the rendered diagram's SVG (labels are HTML inside foreignObject or SVG text). */
function svgOf(dom: string): string {
    const start = dom.indexOf('<pre class="mermaid"');
    assert.ok(start >= 0, "the diagram block is in the page");
    const svg = /<svg[\s\S]*?<\/svg>/.exec(dom.slice(start));
    assert.ok(svg, "the diagram block holds an SVG");
    return svg[0];
}

describe("runbook --html in headless Chromium", () => {
    for (const stack of listStacks()) {
        it(`${stack}: the diagram is drawn as SVG with every node, the QDevice and every guest`, () => {
            const site = loadStackSite(stack).site!;
            const file = path.join(dir, `${stack}.html`);
            fs.writeFileSync(file, renderRunbookHtml(stack, site, bundle));
            const dom = dumpDom(file);
            assert.match(dom, /<body[^>]* data-diagram="rendered"/);
            const svg = svgOf(dom);
            const text = svg.replace(/<[^>]+>/g, " ");
            for (const n of site.nodes) assert.ok(text.includes(n.name), `node ${n.name}`);
            if (site.qdevice) assert.ok(text.includes(site.qdevice.address), "the QDevice");
            for (const g of site.guests) assert.ok(text.includes(`${g.vmid}`) && text.includes(g.name), `guest ${g.vmid}`);
            // The rest of the runbook is there as HTML too.
            assert.match(dom, /<h2 id="what-happens-when-something-fails">/);
            assert.match(dom, /<table>/);
        });
    }
    it("loads nothing from outside the page", () => {
        const html = renderRunbookHtml("prod", loadStackSite("prod").site!, bundle);
        assert.doesNotMatch(html, /<script[^>]+src=|<link[^>]+href=|<img[^>]+src="?http/);
        assert.match(html, /<meta http-equiv="Content-Security-Policy" content="default-src 'none';/);
    });
    it("reports a diagram that does not parse (the check can fail)", () => {
        const good = renderRunbookHtml("prod", loadStackSite("prod").site!, bundle);
        const broken = good.replace(/(<pre class="mermaid">)flowchart/, "$1flowchart LR\n  a --> --> b\n  %%");
        assert.notEqual(broken, good);
        const file = path.join(dir, "broken.html");
        fs.writeFileSync(file, broken);
        const dom = dumpDom(file);
        assert.match(dom, /<body[^>]* data-diagram="failed"/);
    });
    it("--screenshot writes a PNG of the page", () => {
        const html = path.join(dir, "shot.html");
        const png = path.join(dir, "shot", "prod.png");
        const r = main(["--stack", "prod", "--html", html, "--screenshot", png]);
        assert.equal(r.code, 0, r.stderr);
        const bytes = fs.readFileSync(png);
        assert.deepEqual([...bytes.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
        assert.equal(bytes.readUInt32BE(16), 1300, "width");
        assert.equal(bytes.readUInt32BE(20), 1100, "height");
    });
});

describe("the Markdown subset", () => {
    it("turns headings, lists with nested code, tables and inline marks into HTML", () => {
        const html = markdownToHtml(
            "## The site\n\n1. Run `a`:\n\n   ```sh\n   ls\n   ```\n\n2. **Then** [b](#b)\n\n| x | y |\n|---|---|\n| 1<br>2 | a \\| b |\n",
        );
        assert.equal(
            html,
            [
                '<h2 id="the-site">The site</h2>',
                "<ol><li>",
                "Run <code>a</code>:",
                "<pre><code>ls</code></pre>",
                "</li><li>",
                '<strong>Then</strong> <a href="#b">b</a>',
                "</li></ol>",
                "<table>",
                "<tr><th>x</th><th>y</th></tr>",
                "<tr><td>1<br>2</td><td>a | b</td></tr>",
                "</table>",
            ].join("\n"),
        );
    });
});
