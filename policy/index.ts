/**
 * The proxmox-ha policy pack, run by the workflows with `--policy-pack policy`
 * on every `pulumi preview` and `pulumi up` (docs/pull-requests.md). The
 * policies themselves are in ./policies.ts; this file only hands them the
 * stack's config, which the engine passes to a policy pack in PULUMI_CONFIG.
 */
import * as pulumi from "@pulumi/pulumi";
import { PolicyPack } from "@pulumi/policy";
import { guardrails, siteConfigFrom } from "./policies";

new PolicyPack("proxmox-ha-guardrails", {
    description: "Mandatory guardrails for proxmox-ha sites: replication before HA, QDevice, data-safe pools, secrets, firewall, RPO.",
    enforcementLevel: "mandatory",
    policies: guardrails(() => siteConfigFrom(pulumi.runtime.allConfig())),
});
