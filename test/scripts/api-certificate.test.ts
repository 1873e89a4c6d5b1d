/**
 * scripts/api-certificate.sh on a fake Proxmox VE node, over real OpenSSH with
 * the exact command text the component sends, the chain and key on stdin
 * (issue #11 point 3).
 *
 * Proves: before the step, pveproxy serves the node's own pve-ssl.pem and a
 * client that trusts only the operator's CA refuses it (the provider's
 * "x509: certificate signed by unknown authority"); the script refuses bad
 * input (no certificate, no key, a key of another certificate, the wrong
 * host, bad arguments) before any PVE command runs; it installs the pair
 * with `pvenode cert set … --force 1 --restart 1` (the fake follows
 * pve-manager's CertHelpers::set_cert_files and pveproxy.pm); afterwards
 * the served certificate VALIDATES for the node's address with the system
 * trust store replaced by the test CA — by Node's TLS client (`ca` replaces
 * the default roots), by `openssl s_client -verify_ip` and by the program's
 * own pre-flight check (components/certificate.ts) — while the default trust
 * store does not know that CA; a re-run changes nothing; files written but a
 * pveproxy never restarted (a run interrupted in between) are completed by
 * the re-run; a rotated certificate is installed; the key is never in an
 * argument, an environment or a file other than pveproxy-ssl.key.
 *
 * Does NOT prove: real pvenode/pveproxy behaviour (fakes of test/fakes/sbin),
 * Go's verifier itself (Node and OpenSSL stand in for it; both check the
 * chain to the given CA and the IP SAN as Go does).
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { spawnSync } from "node:child_process";
import { startHosts, type Hosts } from "../harness/hosts";
import { step } from "./cluster-steps";
import { checkCertificate, chainTrusted, parseChain } from "../../components/certificate";
import { makePki, type Pki } from "../harness/pki";

// This file's own 127.0.N.0/24 (each harness has its own network namespaces).
const ADDR = "127.0.83.11";

/**
 * The TLS client the checks use, as the provider would connect: to the node's
 * address on 8006, TLS 1.3 at least, the trust store replaced by `ca` (Node's
 * `ca` option replaces the default roots) and the host checked against the
 * certificate's SANs (checkServerIdentity; an IP host needs an IP SAN, as in
 * Go). It runs inside the harness's switch namespace, where the hosts'
 * addresses are reachable.
 */
const CLIENT = `
const tls = require("node:tls");
const [host, caFile] = process.argv.slice(1);
const ca = caFile ? [require("node:fs").readFileSync(caFile, "utf8")] : undefined;
const s = tls.connect({ host, port: 8006, ...(ca ? { ca } : {}), minVersion: "TLSv1.3", rejectUnauthorized: false }, () => {
    const cert = s.getPeerCertificate();
    const identity = tls.checkServerIdentity(host, cert);
    const error = s.authorizationError ? String(s.authorizationError) : identity?.message;
    console.log(JSON.stringify({ authorized: s.authorized && !identity, ...(error ? { error } : {}), fingerprint: cert.fingerprint256 }));
    s.end();
});
s.once("error", (e) => { console.error(e.message); process.exit(3); });
`;

let inSwitch: readonly string[] = [];

function inSwitchNs(cmd: string, args: string[]): { status: number; stdout: string; stderr: string } {
    const r = spawnSync(inSwitch[0]!, [...inSwitch.slice(1), cmd, ...args], { encoding: "utf8", input: "" });
    return { status: r.status ?? 128, stdout: r.stdout, stderr: r.stderr };
}

async function connect(caFile: string | undefined): Promise<{ authorized: boolean; error?: string; fingerprint: string }> {
    const r = inSwitchNs(process.execPath, ["-e", CLIENT, ADDR, ...(caFile ? [caFile] : [])]);
    if (r.status !== 0) throw new Error(r.stderr.trim() || `client exited ${r.status}`);
    return JSON.parse(r.stdout) as { authorized: boolean; error?: string; fingerprint: string };
}

describe("api-certificate.sh (real SSH, fake pvenode/pveproxy)", () => {
    let site: Hosts;
    let pki: Pki;
    let a: ReturnType<Pki["leaf"]>;
    const pvenodeCalls = () => site.calls("pve1").filter((c) => c.argv.some((x) => x.endsWith("pvenode")));
    const nodeDir = () => path.join(site.stateDir, "hosts", "pve1", "pve-local", "nodes", "pve1");

    before(async () => {
        pki = makePki();
        a = pki.leaf("a", `IP:${ADDR},DNS:pve1.example.test`);
        site = await startHosts("apicert", [{ name: "pve1", address: ADDR }]);
        inSwitch = site.switchPrefix;
        // A booted node: pveproxy serves pve-ssl.pem (pveproxy.pm init without a custom certificate).
        const r = await site.run(
            "pve1",
            `setsid /usr/bin/python3 /usr/local/sbin/_fakepveproxy.py pve1 ${ADDR} </dev/null >/tmp/fakepveproxy.log 2>&1 & echo $! >/run/fakepveproxy.pid`,
        );
        assert.equal(r.code, 0, r.stderr);
        // Wait until it answers (a booting fake on a loaded machine may take a while); fail loudly if it never does.
        let up = false;
        let last = "";
        for (let i = 0; i < 600 && !up; i++) {
            up = await connect(undefined).then(
                () => true,
                (e: Error) => ((last = e.message), false),
            );
            if (!up) await new Promise((res) => setTimeout(res, 100));
        }
        if (!up) {
            const log = await site.run(
                "pve1",
                "cat /tmp/fakepveproxy.log; cat /run/fakepveproxy.pid; ss -ltn; ps -eo pid,stat,args | grep _fakepvepro[x]y",
            );
            assert.fail(`the fake pveproxy never answered on ${ADDR}:8006 (${last}): ${log.stdout}${log.stderr}`);
        }
    });
    after(async () => {
        await site?.close();
        pki?.close();
    });

    it("before: pveproxy serves the node's own certificate, which a client trusting the operator's CA refuses", async () => {
        const c = await connect(pki.caFile);
        assert.equal(c.authorized, false);
        assert.match(c.error ?? "", /self.signed|unable to (get|verify)/i);
    });

    it("refuses bad input before any PVE command runs", async () => {
        const other = pki.leaf("other", `IP:${ADDR}`);
        const cases: [(string | number)[], string, RegExp, number][] = [
            [["pve1"], a.chain + a.key, /^api-certificate: usage: /, 2],
            [["pve1", ADDR], a.key, /^api-certificate: no PEM certificate on stdin/, 1],
            [["pve1", ADDR], a.chain, /^api-certificate: no PEM private key on stdin/, 1],
            [
                ["pve1", ADDR],
                a.chain + other.key,
                /^api-certificate: the private key does not belong to the first certificate of the chain; nothing was changed$/,
                1,
            ],
            [["pve1", ADDR], a.chain + a.key + other.key, /^api-certificate: stdin holds more than one private key/, 1],
            [["pve2", ADDR], a.chain + a.key, /^api-certificate: this host's node name is 'pve1', not 'pve2'/, 1],
            [["pve1", `${ADDR};reboot`], a.chain + a.key, /^api-certificate: invalid address/, 1],
        ];
        for (const [args, stdin, reason, code] of cases) {
            const r = await step(site, "pve1", "api-certificate", args, stdin);
            assert.equal(r.code, code, `${args.join(" ")}: ${r.stderr}`);
            assert.match(r.stderr.trim(), reason, args.join(" "));
            assert.equal(r.stdout, "");
        }
        assert.deepEqual(pvenodeCalls(), [], "no pvenode call");
        assert.ok(!fs.existsSync(path.join(nodeDir(), "pveproxy-ssl.pem")));
    });

    it("installs the pair with pvenode cert set --force 1 --restart 1; the served certificate validates for the node address against the CA", async () => {
        const r = await step(site, "pve1", "api-certificate", ["pve1", ADDR], a.chain + a.key);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stderr, "");
        assert.deepEqual(r.lines, [{ certificate: "installed", fingerprint: a.fingerprint }]);
        const calls = pvenodeCalls();
        assert.equal(calls.length, 1);
        assert.deepEqual(calls[0]!.argv.slice(1, 3), ["cert", "set"]);
        assert.deepEqual(calls[0]!.argv.slice(5), ["--force", "1", "--restart", "1"]);
        assert.equal(fs.readFileSync(path.join(nodeDir(), "pveproxy-ssl.pem"), "utf8"), a.chain);

        // Node's TLS client with the trust store replaced by the test CA, host = the node's IP.
        const c = await connect(pki.caFile);
        assert.deepEqual([c.authorized, c.error], [true, undefined]);
        assert.equal(c.fingerprint.toUpperCase(), a.fingerprint);
        // OpenSSL: chain to the CA and the IP SAN, against what the server sends.
        const caFile = pki.caFile;
        const sc = inSwitchNs("openssl", [
            "s_client",
            "-connect",
            `${ADDR}:8006`,
            "-CAfile",
            caFile,
            "-verify_ip",
            ADDR,
            "-verify_return_error",
        ]);
        assert.equal(sc.status, 0, sc.stderr);
        assert.match(sc.stdout, /Verify return code: 0 \(ok\)/);
        // …and with the default trust store (no test CA) the same server is refused.
        assert.equal((await connect(undefined)).authorized, false);
        // The program's pre-flight check agrees with both.
        const chk = checkCertificate(a.chain, a.key, [{ node: "pve1", address: ADDR }], new Date());
        assert.deepEqual(chk.problems, []);
        assert.equal(chainTrusted(chk.facts!.chain, { source: "test CA", roots: parseChain(pki.caPem) }), true);
    });

    it("a re-run changes nothing", async () => {
        const before = pvenodeCalls().length;
        const r = await step(site, "pve1", "api-certificate", ["pve1", ADDR], a.chain + a.key);
        assert.equal(r.code, 0, r.stderr);
        assert.deepEqual(r.lines, [{ certificate: "unchanged", fingerprint: a.fingerprint }]);
        assert.equal(pvenodeCalls().length, before);
    });

    it("completes a run interrupted between writing the files and restarting pveproxy; installs a rotated certificate", async () => {
        const b = pki.leaf("b", `IP:${ADDR}`);
        // The files of b written without the restart: pveproxy still serves a.
        const w = await site.run(
            "pve1",
            `d=$(mktemp -d) && cat >"$d/all" && awk -v c="$d/c" -v k="$d/k" '/BEGIN CERT/{o=c} /PRIVATE KEY/{o=k} o{print > o} /^-----END/{o=""}' "$d/all" && pvenode cert set "$d/c" "$d/k" --force 1 >/dev/null && rm -rf "$d"`,
            b.chain + b.key,
        );
        assert.equal(w.code, 0, w.stderr);
        assert.equal((await connect(pki.caFile)).fingerprint.toUpperCase(), a.fingerprint, "pveproxy still serves a");
        const r = await step(site, "pve1", "api-certificate", ["pve1", ADDR], b.chain + b.key);
        assert.equal(r.code, 0, r.stderr);
        assert.deepEqual(r.lines, [{ certificate: "installed", fingerprint: b.fingerprint }]);
        const c = await connect(pki.caFile);
        assert.deepEqual([c.authorized, c.fingerprint.toUpperCase()], [true, b.fingerprint]);

        // Rotation back to a: installed and served.
        const r2 = await step(site, "pve1", "api-certificate", ["pve1", ADDR], a.chain + a.key);
        assert.deepEqual(r2.lines, [{ certificate: "installed", fingerprint: a.fingerprint }]);
        assert.equal((await connect(pki.caFile)).fingerprint.toUpperCase(), a.fingerprint);
    });

    it("the key travels only on stdin: in no argument, environment, or file but pveproxy-ssl.key", () => {
        const keyLine = a.key.split("\n").find((l) => l.length > 40 && !l.startsWith("-----"))!;
        for (const c of site.calls("pve1")) {
            for (const s of [...c.argv, ...c.env, ...c.ancestors.flatMap((x) => [...x.argv, ...x.env])]) {
                assert.ok(!s.includes(keyLine), "key text in an argument or environment");
            }
        }
        const files = site.filesContaining(keyLine).map((f) => path.relative(site.root, f));
        assert.deepEqual(files, [path.relative(site.root, path.join(nodeDir(), "pveproxy-ssl.key"))]);
    });
});
