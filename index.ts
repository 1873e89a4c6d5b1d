// proxmox-ha: one stack file per site (Pulumi.<site>.yaml). See README.md.
// An async program: the host keys are checked before any resource exists.
import { checkedMain } from "./components/program";

export = async () => {
    const { outputs } = await checkedMain();
    return { summary: outputs.summary };
};
