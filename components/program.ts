/**
 * The program: load and validate the stack, build the site, return outputs.
 * `index.ts` calls it; tests, the offline plan and the benchmark call it under mocks.
 */
import type * as pulumi from "@pulumi/pulumi";
import { loadSite } from "./config";
import { hostKeyProblems, type HostKeyProbe } from "./hostkeys";
import { ProxmoxSite } from "./site";
import { keyPath, SiteValidationError } from "./validate";

/**
 * Adoption of existing objects (stack key `import`, written by `npm run adopt`):
 * Pulumi's `import` resource option on each named provider resource. The engine
 * imports a resource that is not in the stack's state yet, reading it by that
 * id, and ignores the option once the resource is in the state (pulumi/pulumi
 * developer-docs/architecture/import.md), so the key may stay in the stack.
 * Scoped to this site's resources (a component transformation, not a global one).
 */
function importTransformation(imports: Readonly<Record<string, string>>, used: Set<string>): pulumi.ResourceTransformation {
    return (args) => {
        const id = imports[args.name];
        if (id === undefined || !args.type.startsWith("proxmoxve:") || args.type.startsWith("pulumi:providers:")) return undefined;
        used.add(args.name);
        return { props: args.props, opts: { ...args.opts, import: id } };
    };
}

export interface MainOptions {
    /** Where the stack's warnings go; the offline plan prints them in its own section instead. */
    readonly warn?: (warning: string) => void;
}

export function main(opts: MainOptions = {}) {
    const { site, secrets } = loadSite();
    const warn = opts.warn ?? ((w: string) => console.warn(`warning: ${w}`));
    for (const w of site.warnings) warn(w);
    const used = new Set<string>();
    const transformations = Object.keys(site.imports).length ? [importTransformation(site.imports, used)] : [];
    const built = new ProxmoxSite(site.cluster.name, { site, secrets }, { transformations });
    const unknown = Object.keys(site.imports).filter((k) => !used.has(k));
    if (unknown.length) {
        throw new SiteValidationError(
            unknown.map((k) => ({
                path: keyPath("import", [k]),
                message:
                    "names no Proxmox resource this stack declares; remove it, or re-run `npm run adopt` to regenerate the import list",
            })),
        );
    }
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
    const { site } = loadSite();
    if (site.example) {
        throw new SiteValidationError([
            {
                path: keyPath("example"),
                message: `this stack is one of the project's examples (its addresses, disks and host keys are made up), so \`pulumi up\` and \`preview\` refuse it. Copy it to Pulumi.<your site>.yaml, write your own values, delete the line \`proxmox-ha:example: true\`, then \`pulumi stack init <your site>\``,
            },
        ]);
    }
    if (env.PROXMOX_HA_SKIP_HOST_KEY_CHECK !== "1") {
        const problems = await hostKeyProblems(site, opts.probe);
        if (problems.length) throw new SiteValidationError(problems);
    }
    return main(opts);
}
