/**
 * Ids the program gives Proxmox objects (components/api/guests.ts `sid` and
 * `nodeAffinityRuleId`), restated here so the adopt CLI does not load the
 * Pulumi SDK. The adoption test plans the adopted stack with the real program,
 * which refuses an import name it does not declare, so a drift fails there.
 */
export const sidOf = (vmid: number): string => `vm:${vmid}`;
export const nodeAffinityRuleIdOf = (vmid: number): string => `ha-guest-${vmid}`;
