/**
 * Proves: the real program, evaluated under the mock runtime for each
 * committed stack (config read as the Pulumi CLI hands it over, secrets as
 * distinct placeholders), passes every policy of the pack with zero
 * violations; and the run is not vacuous: a stack with HA guests must have
 * recorded one Haresource per HA guest (else this test fails), and every
 * policy that the stack's shape calls for (HA replication, QDevice on two
 * nodes, firewall allowlist, RPO target, secrets in command text) actually
 * applied instead of declaring itself not applicable.
 * Does not prove: what the engine sends a policy pack (props here are the
 * recorded inputs with secrets unwrapped, dependencies as the SDK registered
 * them), nor a preview's unknown values (under mocks every value is known).
 */
import { describe, it } from "node:test";
import * as assert from "node:assert/strict";
import { main } from "../../components/program";
import { SECRET_KEYS } from "../../components/schema";
import { PROJECT } from "../../components/validate";
import { evaluate, type RecordedResource } from "../../tools/lib/mock-runtime";
import { listStacks, readStack } from "../../tools/lib/stack";
import { guardrails, POLICY, siteConfigFrom, TYPES } from "../../policy/policies";
import { runAll, type ResourceSpec } from "./harness";

/** A distinct placeholder per secret key, so a leak of one secret into a command text is attributable. */
const placeholder = (key: string) => `placeholder-secret-${key.replace(/[^A-Za-z]/g, "-")}-7f3a9c`;
/** What cluster-create prints as its token line under mocks when the stack has no apiToken: the provider then gets this secret. */
const BOOTSTRAPPED_TOKEN = "proxmox-ha@pve!pulumi-1=placeholder-bootstrapped-token-5e1d";

async function evaluateStack(stack: string) {
    const cfg = readStack(stack);
    const config = { ...cfg.config };
    const secretKeys = new Set(cfg.secretKeys);
    // As tools/plan.ts: secrets stand in as placeholders; an absent apiToken stays absent (the bootstrap creates one).
    for (const k of SECRET_KEYS.map((s) => `${PROJECT}:${s}`)) {
        if (k === `${PROJECT}:apiToken` && !(k in config)) continue;
        if (k in config && !secretKeys.has(k)) continue;
        config[k] = placeholder(k);
        secretKeys.add(k);
    }
    const evaluation = await evaluate(() => main(), {
        config,
        secretKeys: [...secretKeys],
        stack,
        outputs: (type, name, inputs) =>
            // Only the token step prints the token (scripts/api-token.sh).
            type === TYPES.remoteCommand && name.endsWith("-api-token") && String(inputs.create).includes(" 'pulumi-1' ")
                ? { stdout: `token=${BOOTSTRAPPED_TOKEN}\n`, stderr: "" }
                : { stdout: "", stderr: "" },
    });
    return { config, records: evaluation.resources, site: evaluation.result.site };
}

/** Pulumi's wire signature of a secret value (as tools/lib/mock-runtime.ts records inputs). */
const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const SECRET_VALUE = "1b47061264138c4ac30d75fd1eb44270";

/** Inputs as a policy receives them: the policy SDK unwraps every secret to its plain value. */
function unwrapSecrets(v: unknown): unknown {
    if (Array.isArray(v)) return v.map(unwrapSecrets);
    if (v === null || typeof v !== "object") return v;
    const o = v as Record<string, unknown>;
    if (o[SECRET_SIG] === SECRET_VALUE) return unwrapSecrets(o.value);
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, unwrapSecrets(x)]));
}

/** A recorded registration as a policy sees it: inputs with secrets unwrapped, dependencies by URN. */
function toSpec(r: RecordedResource): ResourceSpec {
    return {
        type: r.type,
        name: r.name,
        urn: r.urn,
        props: unwrapSecrets(JSON.parse(JSON.stringify(r.inputs))) as Record<string, unknown>,
        additionalSecretOutputs: r.additionalSecretOutputs,
        ...(r.parent ? { parent: r.parent } : {}),
        dependsOn: r.dependsOn.filter((u) => u.startsWith("urn:")),
        propertyDependencies: Object.fromEntries(
            Object.entries(r.propertyDependencies).map(([k, v]) => [k, v.filter((u) => u.startsWith("urn:"))]),
        ),
    };
}

describe("the policy pack over every committed stack", () => {
    for (const stack of listStacks()) {
        it(`${stack}: zero violations, and every policy the site calls for applied`, async () => {
            const { config, records, site } = await evaluateStack(stack);
            const specs = records.map(toSpec);
            const known = new Set(specs.map((s) => s.urn));
            for (const s of specs) s.dependsOn!.forEach((u) => assert.ok(known.has(u), `${s.name} depends on a recorded resource ${u}`));

            // Not vacuous: the API layer recorded what the stack asks for.
            const haGuests = site.guests.filter((g) => g.ha !== undefined);
            const haResources = specs.filter((s) => s.type === TYPES.haresource);
            assert.equal(haResources.length, haGuests.length, `one Haresource per HA guest (${haGuests.map((g) => g.vmid).join(", ")})`);
            const jobs = site.guests.reduce((n, g) => n + g.replicateTo.length, 0);
            assert.equal(specs.filter((s) => s.type === TYPES.replication).length, jobs, "one Replication per guest and target");

            // The provider's token is a secret the policy searches for too: bootstrapped, or the stack's.
            const provider = specs.find((s) => s.type === TYPES.proxmoxProvider);
            assert.equal(provider?.props.apiToken, config[`${PROJECT}:apiToken`] ?? BOOTSTRAPPED_TOKEN);

            // The join takes the root password on stdin: the logging policy has a secret-taking command to check.
            const withStdin = specs.filter((s) => s.type === TYPES.remoteCommand && typeof s.props.stdin === "string");
            if (site.nodes.length > 1) assert.ok(withStdin.length > 0, "a command takes a secret on stdin");
            assert.ok(
                withStdin.every((s) => s.props.stdin !== "" && !JSON.stringify(s.props.stdin).includes(SECRET_SIG)),
                "secrets reach the policies unwrapped, as the policy SDK hands them over",
            );

            const { violations, outcomes } = await runAll(
                guardrails(() => siteConfigFrom(config)),
                specs,
            );
            assert.deepEqual(violations, []);

            const applied = (name: string) => (outcomes.get(name) ?? []).some((o) => o.notApplicable === undefined);
            if (haGuests.length > 0) assert.ok(applied(POLICY.haReplication), `${POLICY.haReplication} applied`);
            if (haGuests.length > 0 && site.nodes.length === 2) assert.ok(applied(POLICY.qdevice), `${POLICY.qdevice} applied`);
            if (site.firewall.enabled) assert.ok(applied(POLICY.firewallAllowlist), `${POLICY.firewallAllowlist} applied`);
            if (site.replication.rpoTargetMinutes !== undefined && jobs > 0) assert.ok(applied(POLICY.rpo), `${POLICY.rpo} applied`);
            assert.ok(applied(POLICY.secretInText), `${POLICY.secretInText} applied`);
        });
    }
});

/**
 * Every policy fails on the real program's output with one mutation: the
 * recorded resources of a committed stack, changed in one place the way a
 * careless edit of the program would change them. So no policy can only pass
 * (firewall-needs-management-allowlist could not fail on the program's own
 * output before: its node IP set admits 22 and 8006).
 */
describe("one mutation of the real program's resources per policy", () => {
    const cache = new Map<string, Promise<{ config: Record<string, string>; specs: ResourceSpec[] }>>();
    const real = (stack: string) => {
        if (!cache.has(stack))
            cache.set(
                stack,
                evaluateStack(stack).then(({ config, records }) => ({ config, specs: records.map(toSpec) })),
            );
        return cache.get(stack)!.then(({ config, specs }) => ({ config, specs: structuredClone(specs) }));
    };
    const named = (specs: ResourceSpec[], suffix: string) => {
        const s = specs.filter((x) => x.name.endsWith(suffix));
        assert.equal(s.length, 1, `one resource named *${suffix}: ${s.map((x) => x.name).join(", ")}`);
        return s[0]!;
    };
    const drop = (specs: ResourceSpec[], keep: (s: ResourceSpec) => boolean): ResourceSpec[] => {
        const gone = new Set(specs.filter((s) => !keep(s)).map((s) => s.urn!));
        assert.ok(gone.size > 0, "the mutation removes something");
        return specs.filter(keep).map((s) => ({
            ...s,
            dependsOn: (s.dependsOn ?? []).filter((u) => !gone.has(u)),
            propertyDependencies: Object.fromEntries(
                Object.entries(s.propertyDependencies ?? {}).map(([k, v]) => [k, v.filter((u) => !gone.has(u))]),
            ),
        }));
    };
    const check = async (
        stack: string,
        policy: string,
        mutate: (specs: ResourceSpec[], config: Record<string, string>) => ResourceSpec[] | void,
        expect: RegExp,
    ) => {
        const { config, specs } = await real(stack);
        const before = await runAll(
            guardrails(() => siteConfigFrom(config)),
            specs,
        );
        assert.deepEqual(before.violations, [], "the unmutated output passes");
        const mutated = mutate(specs, config) ?? specs;
        const { violations } = await runAll(
            guardrails(() => siteConfigFrom(config)),
            mutated,
        );
        const ours = violations.filter((v) => v.startsWith(`${policy}: `));
        assert.ok(ours.length > 0, `${policy} reports the mutation; all violations: ${JSON.stringify(violations)}`);
        for (const v of ours) assert.match(v, expect);
    };

    it(`${POLICY.haReplication}: an HA guest loses its replication job`, () =>
        check("prod", POLICY.haReplication, (specs) => drop(specs, (s) => s.type !== TYPES.replication), /has no replication job to/));
    it(`${POLICY.qdevice}: the QDevice step goes`, () =>
        check("prod", POLICY.qdevice, (specs) => drop(specs, (s) => !s.name.endsWith("-qdevice-setup")), /QDevice|qdevice/));
    it(`${POLICY.zfsCleanup}: a node.disk.Zfs with cleanupDisks appears`, () =>
        check(
            "prod",
            POLICY.zfsCleanup,
            (specs) =>
                void specs.push({
                    type: TYPES.zfs,
                    name: "prod-zfs-prox1",
                    props: { name: "pool1", nodeName: "prox1", devices: ["/dev/sdb", "/dev/sdc"], raidLevel: "mirror", cleanupDisks: true },
                }),
            /sets cleanupDisks/,
        ));
    it(`${POLICY.secretInText}: the root password, shell-quoted, lands in a script's arguments`, () =>
        check(
            "prod",
            POLICY.secretInText,
            (specs, config) => {
                const zpool = named(specs, "-prox1-zpool");
                zpool.props.create = `${String(zpool.props.create)} '${config[`${PROJECT}:rootPassword`]!.replace(/'/g, "'\\''")}'`;
            },
            /its create text contains the value of secret config proxmox-ha:rootPassword/,
        ));
    it(`${POLICY.secretLogging}: the token step (stdout is the provider's token, no stdin) logs its output`, () =>
        check(
            "prod",
            POLICY.secretLogging,
            (specs) => {
                const token = named(specs, "-api-token");
                const provider = specs.find((s) => s.type === TYPES.proxmoxProvider)!;
                assert.deepEqual(
                    provider.propertyDependencies?.apiToken,
                    [token.urn],
                    "the recorded provider token comes from the token step",
                );
                assert.equal(token.props.stdin, undefined, "the token step takes no stdin");
                token.props.logging = "stdoutAndStderr";
            },
            /command prod-hosts-api-token prints a secret \(its output feeds the apiToken of prod-api-provider\) but its logging is "stdoutAndStderr"/,
        ));
    it(`${POLICY.firewallAllowlist}: the operators' allowlist is emptied (the nodes' own IP set still admits 22 and 8006)`, () =>
        check(
            "prod",
            POLICY.firewallAllowlist,
            (specs) => {
                const sets = specs.filter((s) => s.type === TYPES.ipset);
                assert.ok(
                    sets.some((s) => s.props.name === "cluster-nodes"),
                    "the program's node IP set is there",
                );
                for (const s of sets.filter((x) => x.name.endsWith("-fw-ipset-allowlist"))) s.props.cidrs = [];
            },
            /no rule admits .* from an IP set holding an address other than the cluster nodes' own/,
        ));
    it(`${POLICY.rpo}: a replication schedule beyond the stack's rpoTarget`, () =>
        check(
            "dc2",
            POLICY.rpo,
            (specs) => {
                for (const s of specs.filter((x) => x.type === TYPES.replication)) s.props.schedule = "*/30";
            },
            /rpoTarget|RPO/,
        ));
    it(`${POLICY.haMedia}: an HA VM's CD drive holds an ISO no download puts on its nodes`, () =>
        check(
            "prod",
            POLICY.haMedia,
            (specs) => {
                const vm = specs.find((s) => s.type === TYPES.vmLegacy && s.props.vmId === 101)!;
                vm.props.cdrom = { fileId: "local:iso/rescue.iso", interface: "ide2" };
            },
            /its CD drive holds local:iso\/rescue\.iso and no download puts that file there/,
        ));
});
