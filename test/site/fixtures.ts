/**
 * A valid reference site as raw config (what the stack file holds), and
 * helpers to mutate one field per test case.
 */
export const HOST_KEY_1 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHC8inZ8ScQrA4Q0A5+TZX7lsrTuZtQk3fwlp5hzkX3Z";
export const HOST_KEY_2 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJCJt07ooVS+U+A18crerN85aY1FVoJ3maeZTPn04uf4";
export const HOST_KEY_Q = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAuPy3I59t7g+4LeGfv+VWS+sD3UyZYkF3IIKlzolgRo";

export type Raw = Record<string, unknown>;

export function referenceRaw(): Raw {
    return {
        cluster: { name: "prod" },
        nodes: [
            {
                name: "prox1",
                address: "10.0.0.11",
                links: ["10.10.10.11"],
                sshHostKey: HOST_KEY_1,
                zfs: { pool: "pool1", layout: "mirror", disks: ["/dev/disk/by-id/ata-A1", "/dev/disk/by-id/ata-A2"] },
            },
            {
                name: "prox2",
                address: "10.0.0.12",
                links: ["10.10.10.12"],
                sshHostKey: HOST_KEY_2,
                zfs: { pool: "pool1", layout: "mirror", disks: ["/dev/disk/by-id/ata-B1", "/dev/disk/by-id/ata-B2"] },
            },
        ],
        qdevice: { address: "10.0.0.120", sshHostKey: HOST_KEY_Q },
        storage: { id: "pool1", pool: "pool1" },
        replication: { schedule: "*/5" },
        guests: [{ vmid: 101, name: "fw", node: "prox1", disks: [{ sizeGb: 32 }], nics: [{ bridge: "vmbr0" }], ha: {} }],
        firewall: { enabled: true, managementAllowlist: ["10.0.0.0/24"] },
    };
}

/** Deep copy, then apply a mutation. */
export function mutate(fn: (raw: any) => void): Raw {
    const raw = structuredClone(referenceRaw());
    fn(raw);
    return raw;
}
