/**
 * pveum warnings on stderr do not break the JSON the scripts parse (issue #11
 * point 13), over real OpenSSH on a fake host.
 *
 * Every pveum call reads /etc/pve/user.cfg and `warn`s on stderr about each
 * entry it ignores (pve-access-control AccessControl.pm parse_user_config),
 * e.g. "user config - ignore invalid privilege 'VM.Monitor'" for a role a PVE 8
 * node wrote (PVE 9 no longer has that privilege); the fake pveum does the
 * same. Before the fix cluster-create.sh read pveum with `2>&1`, so the warning
 * became part of the "JSON" and the token step failed with "unexpected output
 * of pveum user token list".
 *
 * Proves: with such a user.cfg the token is still created and printed, the
 * warning is not repeated on the script's stderr; pveum's own output is that
 * warning plus valid JSON (the fake behaves as described).
 */
import * as assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startHosts, type Hosts } from "../harness/hosts";
import { created, step } from "./cluster-steps";

const USER_CFG = "user:root@pam:1:0:::root@localhost::\nrole:PVE8Monitor:VM.Audit,VM.Monitor:\n";

describe("pveum warnings stay out of the parsed JSON (real SSH, fake PVE)", () => {
    let site: Hosts;

    before(async () => {
        site = await startHosts("pveumwarn", [{ name: "prox1", address: "127.0.10.11" }]);
        const w = await site.run("prox1", `printf '%s' '${USER_CFG}' > /etc/pve/user.cfg`);
        assert.equal(w.code, 0, w.stderr);
    });
    after(async () => site?.close());

    it("cluster-create with a token argument succeeds and prints the token", async () => {
        const c = created(await step(site, "prox1", "cluster-create", ["prod", "root@pam!pulumi", "127.0.10.11"]), "create", true);
        assert.match(c.token!, /^root@pam!pulumi=[0-9a-f-]{36}$/);
    });

    it("the fake warns as parse_user_config does, and its stdout stays JSON", async () => {
        const r = await site.run("prox1", "pveum user token list root@pam --output-format json");
        assert.equal(r.code, 0);
        assert.equal(r.stderr, "user config - ignore invalid privilege 'VM.Monitor'\n");
        assert.deepEqual(
            (JSON.parse(r.stdout) as { tokenid: string }[]).map((t) => t.tokenid),
            ["pulumi"],
        );
    });
});
