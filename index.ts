// proxmox-ha: one stack file per site (Pulumi.<site>.yaml). See README.md.
import { skipPromiseStacks } from "./components/promiseStacks";
import { main } from "./components/program";

// Before any resource: the SDK's per-promise stack capture costs most of a large
// preview and is read only with PULUMI_DEBUG_PROMISE_LEAKS (components/promiseStacks.ts).
skipPromiseStacks();

const { outputs } = main();

export const summary = outputs.summary;
