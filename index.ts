// proxmox-ha: one stack file per site (Pulumi.<site>.yaml). See README.md.
import { skipPromiseStacks } from "./components/promiseStacks";
import { checkedMain } from "./components/program";

// Before any resource: the SDK's per-promise stack capture costs most of a large
// preview and is read only with PULUMI_DEBUG_PROMISE_LEAKS (components/promiseStacks.ts).
skipPromiseStacks();

// An async program: the example guard and the host keys are checked before any resource exists.
export = async () => {
    const { outputs } = await checkedMain();
    return { summary: outputs.summary };
};
