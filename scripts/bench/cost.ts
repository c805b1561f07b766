import { type KeyDelivery, loadConfig, useConfig } from '../../commons/config';
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
  /** keyDelivery on-demand, the default: keys minted at the operator's `credentials --new-key`. */
  onDemand: KindsMeasurement;
  /** keyDelivery at-handoff: the fast path, keys minted by the run and their secrets kept until used. */
  after: KindsMeasurement;
  before: KindsMeasurement;
}> {
  const saved = { ...process.env };
  const sandbox = await startSandbox({
    scenario: {
      seed: 20261202,
      organization: { organizationTrail: false },
      organizationalUnits: [KINDS_OU],
      accounts: Array.from({ length: 3 * accountsPerKind }, (_, i) => ({
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
    // The functions of this process read their configuration once: each measurement sets its
    // key delivery, as a stack deployed with that parameter would.
    const deliver = (keyDelivery: KeyDelivery) => {
      useConfig(loadConfig({ ...process.env, CASBRIDGE_KEY_DELIVERY: keyDelivery }));
      resetRuntime();
    };
    useFunctionCredentials(inProcessFunctionCredentials(sandbox.world));
    useFunctionClock(() => sandbox.world.clock.nowMs());
    const organization = sandbox.world.organization;
    const root = [...organization.ous.values()].find((o) => o.name === KINDS_OU);
    if (!root) throw new Error(`no OU ${KINDS_OU}`);
    // Three thirds of the OU, so each measurement starts from fresh accounts.
    const ids = [...organization.accounts.values()].filter((a) => a.parentId === root.id).map((a) => a.id);
    const third = (n: 0 | 1 | 2) => ids.slice(n * accountsPerKind, (n + 1) * accountsPerKind);
    const definition = loadDefinition();
    const settings = { keyMaxAgeDays: 75, secretRecoveryDays: 7 };
    deliver('on-demand');
    const onDemand = await measureAccountKinds(sandbox, {
      accounts: third(2),
      definition,
      keyDelivery: 'on-demand',
      ...settings,
    });
    deliver('at-handoff');
    const after = await measureAccountKinds(sandbox, {
      accounts: third(0),
      definition,
      keyDelivery: 'at-handoff',
      ...settings,
    });
    const before = await measureAccountKinds(sandbox, {
      accounts: third(1),
      definition: perStepOnly(definition),
      keyDelivery: 'at-handoff',
      ...settings,
    });
    return { onDemand, after, before };
  } finally {
    useFunctionClock(undefined);
    useFunctionCredentials(undefined);
    resetRuntime();
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
    await sandbox.close();
  }
}
