/**
 * The stack file adopt writes: a header that says where it came from and
 * lists, key by key, what could not be adopted, then `config:` with one
 * `proxmox-ha:<section>` per key. Deterministic: the same site gives the same
 * bytes (no dates, no host-dependent ordering), so a second adopt shows no
 * difference.
 */
import { stringify } from "yaml";
import { PROJECT } from "../../components/validate";
import type { Adoption } from "./build";

export function renderStack(a: Adoption): string {
    const header = [
        `# Stack ${a.stack}, written by \`npm run adopt\` from the running cluster ${String((a.config.cluster as { name: string }).name)}.`,
        "# `import` lists the existing objects the first `pulumi up` adopts (Pulumi's import",
        "# resource option, ids as the provider documents them); it may stay after that.",
        "#",
        "# Secrets are not written. Before `pulumi up`:",
        "#   pulumi config set --secret sshPrivateKey < ~/.ssh/id_ed25519",
        "#   pulumi config set --secret rootPassword",
        "#   pulumi config set --secret apiToken 'root@pam!pulumi=…'   # optional",
        ...(a.notes.length
            ? [
                  "#",
                  "# Not adopted (the stack cannot express it, or it was not read):",
                  ...a.notes.map((n) => `#   - ${n.where}: ${n.message}`),
              ]
            : []),
    ];
    const config = Object.fromEntries(Object.entries(a.config).map(([k, v]) => [`${PROJECT}:${k}`, v]));
    return `${header.join("\n")}\n${stringify({ config }, { lineWidth: 0 })}`;
}
