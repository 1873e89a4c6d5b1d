/**
 * The program: load and validate the stack, build the site, return outputs.
 * `index.ts` calls it; tests, the offline plan and the benchmark call it under mocks.
 */
import { loadSite } from "./config";
import { hostKeyProblems, type HostKeyProbe } from "./hostkeys";
import { SiteValidationError } from "./validate";
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

/**
 * What `pulumi up`/`preview` runs (index.ts): validates, then checks every
 * host's SSH host key once before any resource is registered, so a wrong
 * `sshHostKey` fails at once instead of after the steps' dial retries.
 * PROXMOX_HA_SKIP_HOST_KEY_CHECK=1 skips the probe (e.g. a preview from a
 * runner that cannot reach the hosts).
 */
export async function checkedMain(opts: MainOptions & { probe?: HostKeyProbe; env?: NodeJS.ProcessEnv } = {}) {
    const env = opts.env ?? process.env;
    if (env.PROXMOX_HA_SKIP_HOST_KEY_CHECK !== "1") {
        const { site } = loadSite();
        const problems = await hostKeyProblems(site, opts.probe);
        if (problems.length) throw new SiteValidationError(problems);
    }
    return main(opts);
}
