import { resetRuntime, useFunctionClock, useFunctionCredentials } from '../../commons/runtime';
import { startSandbox } from '../../sandbox';
import { stackEnvironment } from '../../sandbox/scenario/stack-environment';
import { inProcessFunctionCredentials } from '../../sandbox/services/lambda';
import { loadDefinition } from '../../statemachine/local/definition';
import { type KindsMeasurement, measureAccountKinds, perStepOnly } from './account-kinds';

const KINDS_OU = 'Kinds';

/**
 * The cost phase of `npm run bench`: a small sandbox organization of its own (in this thread, so
 * that its clock can stand for the days between runs), `accountsPerKind` healthy accounts taken
 * through every kind of run, with the definition as deployed and without its fast path (the
 * "before"). The functions' environment points at this sandbox for the phase and is restored.
 */
export async function measureCost(accountsPerKind: number): Promise<{
  after: KindsMeasurement;
  before: KindsMeasurement;
}> {
  const saved = { ...process.env };
  const sandbox = await startSandbox({
    scenario: {
      seed: 20261202,
      organization: { organizationTrail: false },
      organizationalUnits: [KINDS_OU],
      accounts: Array.from({ length: 2 * accountsPerKind }, (_, i) => ({
        id: String(600_000_000_000 + i + 1),
        name: `kind-${i + 1}`,
        ou: KINDS_OU,
      })),
    },
  });
  try {
    Object.assign(process.env, {
      ...stackEnvironment(sandbox.stack, sandbox.deployment.parameters),
      AWS_ENDPOINT_URL: sandbox.endpoint,
      AWS_ACCESS_KEY_ID: sandbox.admin.accessKeyId,
      AWS_SECRET_ACCESS_KEY: sandbox.admin.secretAccessKey,
    });
    delete process.env.AWS_SESSION_TOKEN;
    useFunctionCredentials(inProcessFunctionCredentials(sandbox.world));
    useFunctionClock(() => sandbox.world.clock.nowMs());
    const organization = sandbox.world.organization;
    const root = [...organization.ous.values()].find((o) => o.name === KINDS_OU);
    if (!root) throw new Error(`no OU ${KINDS_OU}`);
    // Two halves of the OU, so the before and after runs each start from fresh accounts.
    const ids = [...organization.accounts.values()].filter((a) => a.parentId === root.id).map((a) => a.id);
    const half = (n: 0 | 1) => ids.slice(n * accountsPerKind, (n + 1) * accountsPerKind);
    const definition = loadDefinition();
    const settings = { keyMaxAgeDays: 75, secretRecoveryDays: 7 };
    const after = await measureAccountKinds(sandbox, { accounts: half(0), definition, ...settings });
    const before = await measureAccountKinds(sandbox, {
      accounts: half(1),
      definition: perStepOnly(definition),
      ...settings,
    });
    return { after, before };
  } finally {
    useFunctionClock(undefined);
    useFunctionCredentials(undefined);
    resetRuntime();
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
    await sandbox.close();
  }
}
