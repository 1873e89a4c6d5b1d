/**
 * The runbook as one self-contained HTML page: the Markdown of render.ts
 * turned into HTML, and the Mermaid topology drawn in the browser by the
 * `mermaid` package's own browser bundle, embedded in the page. The page
 * loads nothing (its Content-Security-Policy forbids every fetch), so it works
 * offline, from a file, on a laptop in the datacentre.
 *
 * The Markdown converter knows only what render.ts writes: headings,
 * paragraphs, lists (numbered, with nested fenced blocks), tables, fenced
 * code, and inline `code`, **bold** and [links](…).
 */
import * as fs from "node:fs";
import type { Site } from "../../components/model";
import { renderRunbook } from "./render";

/** The mermaid browser bundle (an IIFE that sets globalThis.mermaid). */
export function mermaidBundle(): string {
    return fs.readFileSync(require.resolve("mermaid/dist/mermaid.min.js"), "utf8");
}

function esc(text: string): string {
    return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** Inline Markdown: `code`, **bold**, [text](href); everything else escaped. `<br>` in table cells is kept. */
function inline(text: string): string {
    const parts = text.split(/(`[^`]*`)/);
    return parts
        .map((p) => {
            if (p.startsWith("`") && p.endsWith("`") && p.length > 1) return `<code>${esc(p.slice(1, -1))}</code>`;
            return esc(p)
                .replace(/&lt;br&gt;/g, "<br>")
                .replace(/\*\*([^*]+)\*\*/g, "<strong>$1</strong>")
                .replace(/\[([^\]]+)\]\(([^)\s]+)\)/g, (_m, label: string, href: string) => `<a href="${href}">${label}</a>`);
        })
        .join("");
}

function slug(title: string): string {
    return title
        .toLowerCase()
        .replace(/<[^>]+>/g, "")
        .replace(/[^\p{L}\p{N} _-]/gu, "")
        .replace(/ /g, "-");
}

/** Markdown (the subset render.ts writes) to HTML. Mermaid blocks become `<pre class="mermaid">`. */
export function markdownToHtml(md: string): string {
    const lines = md.split("\n");
    const out: string[] = [];
    let list: "ol" | "ul" | undefined;
    let para: string[] = [];
    const flushPara = () => {
        if (para.length) out.push(`<p>${inline(para.join(" "))}</p>`);
        para = [];
    };
    const closeList = () => {
        if (list) out.push(`</li></${list}>`);
        list = undefined;
    };
    for (let i = 0; i < lines.length; i++) {
        const line = lines[i]!;
        const fence = /^( *)```(\w*)$/.exec(line);
        if (fence) {
            flushPara();
            const indent = fence[1]!.length;
            const body: string[] = [];
            for (i++; i < lines.length && !/^ *```$/.test(lines[i]!); i++) body.push(lines[i]!.slice(indent));
            if (indent === 0) closeList();
            out.push(
                fence[2] === "mermaid"
                    ? `<pre class="mermaid">${esc(body.join("\n"))}</pre>`
                    : `<pre><code>${esc(body.join("\n"))}</code></pre>`,
            );
            continue;
        }
        const heading = /^(#{1,4}) (.*)$/.exec(line);
        if (heading) {
            flushPara();
            closeList();
            const level = heading[1]!.length;
            out.push(`<h${level} id="${slug(heading[2]!)}">${inline(heading[2]!)}</h${level}>`);
            continue;
        }
        if (line.startsWith("|")) {
            flushPara();
            closeList();
            const rows: string[][] = [];
            for (; i < lines.length && lines[i]!.startsWith("|"); i++) {
                rows.push(
                    lines[i]!.slice(1, -1)
                        .split(/(?<!\\)\|/)
                        .map((c) => c.trim().replace(/\\\|/g, "|")),
                );
            }
            i--;
            const [head, , ...body] = rows;
            out.push(
                "<table>",
                `<tr>${head!.map((c) => `<th>${inline(c)}</th>`).join("")}</tr>`,
                ...body.map((r) => `<tr>${r.map((c) => `<td>${inline(c)}</td>`).join("")}</tr>`),
                "</table>",
            );
            continue;
        }
        const item = /^(\d+)\. (.*)$/.exec(line) ?? /^(-) (.*)$/.exec(line);
        if (item) {
            flushPara();
            const kind = item[1] === "-" ? "ul" : "ol";
            if (list !== kind) {
                closeList();
                out.push(`<${kind}><li>`);
                list = kind;
            } else out.push("</li><li>");
            out.push(inline(item[2]!));
            continue;
        }
        if (line.trim() === "") {
            flushPara();
            continue;
        }
        if (list && line.startsWith("   ")) {
            out.push(`<br>${inline(line.trim())}`);
            continue;
        }
        closeList();
        para.push(line);
    }
    flushPara();
    closeList();
    return out.join("\n");
}

const STYLE = `body{font:15px/1.5 system-ui,sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem;color:#1b1b1b}
table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #bbb;padding:.3rem .5rem;vertical-align:top;text-align:left}
pre{background:#f4f4f4;padding:.6rem;overflow-x:auto}pre.mermaid{background:#fff;text-align:center}code{font-size:90%}`;

/** The page opens with the picture: the Topology section moves up to right after the title block. */
function topologyFirst(md: string): string {
    const sections = md.split(/\n(?=## )/);
    const i = sections.findIndex((x) => x.startsWith("## Topology\n"));
    if (i <= 1) return md;
    const [topo] = sections.splice(i, 1);
    sections.splice(1, 0, topo!);
    return sections.join("\n");
}

/** The whole page. `bundle` is the mermaid browser bundle (mermaidBundle()). */
export function renderRunbookHtml(stack: string, site: Site, bundle = mermaidBundle()): string {
    const body = markdownToHtml(topologyFirst(renderRunbook(stack, site)));
    // A `</script` inside the bundle would end the script element early.
    const script = bundle.replace(/<\/script/gi, "<\\/script");
    return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; font-src data:">
<title>Runbook: stack ${esc(stack)}, cluster ${esc(site.cluster.name)}</title>
<style>${STYLE}</style>
</head>
<body>
${body}
<script>${script}</script>
<script>
mermaid.initialize({ startOnLoad: false, securityLevel: "strict", flowchart: { htmlLabels: true } });
mermaid.run({ querySelector: "pre.mermaid" }).then(
    () => document.body.setAttribute("data-diagram", "rendered"),
    (e) => { document.body.setAttribute("data-diagram", "failed"); document.body.insertAdjacentText("afterbegin", "diagram: " + e); },
);
</script>
</body>
</html>
`;
}
