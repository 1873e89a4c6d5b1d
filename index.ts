// proxmox-ha: one stack file per site (Pulumi.<site>.yaml). See README.md.
import { main } from "./components/program";

const { outputs } = main();

export const summary = outputs.summary;
