/**
 * A throwaway PKI made with the real openssl CLI, as an operator's would be:
 * a root CA, an intermediate, and server certificates issued by the
 * intermediate with the subject alternative names and lifetime asked for.
 * Every call writes into its own temporary directory (`close()` removes it).
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export interface Leaf {
    /** The chain as a stack supplies it: leaf, then the intermediate. */
    readonly chain: string;
    readonly key: string;
    /** SHA-256 fingerprint, `AA:BB:…` upper case. */
    readonly fingerprint: string;
}

export interface Pki {
    readonly dir: string;
    readonly caPem: string;
    readonly caFile: string;
    readonly intermediatePem: string;
    /** A server certificate valid for 30 days from now, for `san` (e.g. `IP:10.0.0.11,DNS:pve1`). */
    leaf(name: string, san: string, extra?: { eku?: string }): Leaf;
    close(): void;
}

function openssl(args: string[]): string {
    const r = spawnSync("openssl", args, { encoding: "utf8", input: "" });
    if (r.status !== 0) throw new Error(`openssl ${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
}

export function makePki(): Pki {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `pki-${process.pid}-`));
    const f = (n: string) => path.join(dir, n);
    const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    openssl(["req", "-x509", ...ec, "-subj", "/CN=Test Root CA", "-days", "30", "-keyout", f("ca.key"), "-out", f("ca.pem")]);
    openssl(["req", ...ec, "-subj", "/CN=Test Intermediate", "-keyout", f("int.key"), "-out", f("int.csr")]);
    fs.writeFileSync(f("int.ext"), "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n");
    openssl([
        "x509",
        "-req",
        "-in",
        f("int.csr"),
        "-CA",
        f("ca.pem"),
        "-CAkey",
        f("ca.key"),
        "-CAcreateserial",
        "-days",
        "30",
        "-extfile",
        f("int.ext"),
        "-out",
        f("int.pem"),
    ]);
    return {
        dir,
        caPem: fs.readFileSync(f("ca.pem"), "utf8"),
        caFile: f("ca.pem"),
        intermediatePem: fs.readFileSync(f("int.pem"), "utf8"),
        leaf(name, san, extra = {}) {
            openssl(["req", ...ec, "-subj", `/CN=${name}`, "-keyout", f(`${name}.key`), "-out", f(`${name}.csr`)]);
            fs.writeFileSync(f(`${name}.ext`), `subjectAltName=${san}\nextendedKeyUsage=${extra.eku ?? "serverAuth"}\n`);
            openssl([
                "x509",
                "-req",
                "-in",
                f(`${name}.csr`),
                "-CA",
                f("int.pem"),
                "-CAkey",
                f("int.key"),
                "-CAcreateserial",
                "-days",
                "30",
                "-extfile",
                f(`${name}.ext`),
                "-out",
                f(`${name}.pem`),
            ]);
            const chain = fs.readFileSync(f(`${name}.pem`), "utf8") + fs.readFileSync(f("int.pem"), "utf8");
            const fingerprint = openssl(["x509", "-noout", "-fingerprint", "-sha256", "-in", f(`${name}.pem`)])
                .trim()
                .split("=")[1]!
                .toUpperCase();
            return { chain, key: fs.readFileSync(f(`${name}.key`), "utf8"), fingerprint };
        },
        close() {
            fs.rmSync(dir, { recursive: true, force: true });
        },
    };
}
