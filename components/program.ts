/**
 * The program: load and validate the stack, build the site, return outputs.
 * `index.ts` calls it; tests, the offline plan and the benchmark call it under mocks.
 */
import { loadSite } from "./config";
import { ProxmoxSite } from "./site";

export function main() {
    const { site, secrets } = loadSite();
    for (const w of site.warnings) console.warn(`warning: ${w}`);
    const built = new ProxmoxSite(site.cluster.name, { site, secrets });
    return { site, component: built, outputs: { summary: built.summary } };
}
