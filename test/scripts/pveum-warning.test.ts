/**
 * pveum warnings on stderr do not break the JSON the scripts parse (issue #11
 * point 13), over real OpenSSH on a fake host.
 *
 * Every pveum call reads /etc/pve/user.cfg and `warn`s on stderr about each
 * entry it ignores (pve-access-control AccessControl.pm parse_user_config),
 * e.g. "user config - ignore invalid privilege 'VM.Monitor'" for a role a PVE 8
 * node wrote (PVE 9 no longer has that privilege); the fake pveum does the
 * same. A script that read pveum with `2>&1` took the warning for part of the
 * "JSON" and failed with "unexpected output of pveum user token list".
 *
 * Proves: with such a user.cfg the token scripts (api-token.sh, api-access.sh,
 * api-token-remove.sh; the token is no longer cluster-create's) still create,
 * converge, print and remove the token, and the warning is not repeated on
 * the scripts' stderr; pveum's own output is that warning plus valid JSON (the
 * fake behaves as described).
 */
import * as assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startHosts, type Hosts } from "../harness/hosts";
import { ok, step } from "./cluster-steps";
import { API_ROLE, API_USER, apiPrivilegeList } from "../../components/hosts/steps";

const USER_CFG = "user:root@pam:1:0:::root@localhost::\nrole:PVE8Monitor:VM.Audit,VM.Monitor:\n";

describe("pveum warnings stay out of the parsed JSON (real SSH, fake PVE)", () => {
    let site: Hosts;

    before(async () => {
        site = await startHosts("pveumwarn", [{ name: "prox1", address: "127.0.10.11" }]);
        const w = await site.run("prox1", `printf '%s' '${USER_CFG}' > /etc/pve/user.cfg`);
        assert.equal(w.code, 0, w.stderr);
    });
    after(async () => site?.close());

    it("api-token, api-access and api-token-remove succeed and print only their result", async () => {
        const t = await step(site, "prox1", "api-token", [API_USER, "pulumi-1", API_ROLE, apiPrivilegeList()]);
        assert.equal(t.code, 0, t.stderr);
        assert.equal(t.stderr, "");
        assert.match(t.stdout, /^token=proxmox-ha@pve!pulumi-1=[0-9a-f-]{36}\n$/);
        assert.equal(
            ok(await step(site, "prox1", "api-access", [API_USER, API_ROLE, apiPrivilegeList(), "pulumi-1"]), "access").changed,
            "none",
        );
        assert.equal(ok(await step(site, "prox1", "api-token-remove", [API_USER, "pulumi-1"]), "remove").action, "removed");
        const again = await step(site, "prox1", "api-token", [API_USER, "pulumi-2", API_ROLE, apiPrivilegeList()]);
        assert.equal(again.code, 0, again.stderr);
    });

    it("the fake warns as parse_user_config does, and its stdout stays JSON", async () => {
        const r = await site.run("prox1", `pveum user token list ${API_USER} --output-format json`);
        assert.equal(r.code, 0);
        assert.equal(r.stderr, "user config - ignore invalid privilege 'VM.Monitor'\n");
        assert.deepEqual(
            (JSON.parse(r.stdout) as { tokenid: string }[]).map((t) => t.tokenid),
            ["pulumi-2"],
        );
    });
});
