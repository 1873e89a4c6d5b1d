/**
 * Proves (issue #13): `npm test` first checks its prerequisites, read from
 * `.ci/run`'s package list, and reports what is missing in one line with the
 * command that installs it.
 * Does not prove: that `.ci/run` installs them on a fresh machine (CI does).
 */
import { describe, it } from "node:test";
import * as assert from "node:assert/strict";
import { ciPackages, missingPrerequisites, prerequisiteLine } from "../prereqs";

describe("npm test prerequisites", () => {
    it("reads the package list from .ci/run", () => {
        const pkgs = ciPackages();
        for (const p of ["zfs-fuse", "openssh-server", "shellcheck"]) assert.ok(pkgs.includes(p), p);
        assert.deepEqual(ciPackages("x\npackages=(a b  c)\n"), ["a", "b", "c"]);
    });
    it("names everything missing in one line with the install command", () => {
        const missing = missingPrerequisites(["zfs-fuse", "openssh-server", "corosync"], {
            uid: 1000,
            nodeMajor: 22,
            installed: (p) => p === "openssh-server",
        });
        assert.deepEqual(missing, ["root", "zfs-fuse", "corosync"]);
        assert.equal(
            prerequisiteLine(missing),
            "npm test needs root, zfs-fuse, corosync: run `sudo bash .ci/run` on Debian, which installs the packages and Node 22 and then runs the tests (set SKIP_PREREQUISITES=1 to try anyway)",
        );
    });
    it("says when the machine is not Debian, and nothing when all is there", () => {
        assert.deepEqual(missingPrerequisites(["zfs-fuse"], { uid: 0, nodeMajor: 20, installed: () => undefined }), [
            "Node 22 or later (this is 20)",
            "a Debian machine (dpkg-query not found)",
        ]);
        assert.deepEqual(missingPrerequisites(["zfs-fuse"], { uid: 0, nodeMajor: 22, installed: () => true }), []);
    });
});
