/**
 * The program: load and validate the stack, build the site, return outputs.
 * `index.ts` calls it; tests, the offline plan and the benchmark call it under mocks.
 */
import { loadSite } from "./config";
import { ProxmoxSite } from "./site";

export interface MainOptions {
    /** Where the stack's warnings go; the offline plan prints them in its own section instead. */
    readonly warn?: (warning: string) => void;
}

export function main(opts: MainOptions = {}) {
    const { site, secrets } = loadSite();
    const warn = opts.warn ?? ((w: string) => console.warn(`warning: ${w}`));
    for (const w of site.warnings) warn(w);
    const built = new ProxmoxSite(site.cluster.name, { site, secrets });
    return { site, component: built, outputs: { summary: built.summary } };
}
