/**
 * Which resources belong to one guest, by the names components/api/guests.ts
 * gives them: `<api>-vm-<vmid>`, `<api>-replication-<vmid>-<n>`,
 * `<api>-ha-<vmid>` and `<api>-harule-ha-guest-<vmid>`. Pure.
 */
export function ownedByGuest(name: string, vmid: number): boolean {
    const id = String(vmid);
    return (
        name.endsWith(`-vm-${id}`) ||
        name.endsWith(`-ha-${id}`) ||
        name.endsWith(`-harule-ha-guest-${id}`) ||
        new RegExp(`-replication-${id}-\\d+$`).test(name)
    );
}
