import { parseArgs } from 'node:util';

export interface BenchOptions {
  accounts: number;
  concurrency: number;
  /** The reconcile's MaxConcurrency (default `concurrency`): its binding bucket is STS's 600/s, not Secrets Manager's 50. */
  reconcileConcurrency: number;
  /**
   * `--time-scale K`: every modelled latency ×K, every modelled rate ÷K; per phase with
   * `--onboard-time-scale` and `--reconcile-time-scale` (the CPU a phase needs per modelled
   * second differs). The baseline runs at 1.
   */
  timeScale: Record<Mode, number>;
  skipCost: boolean;
  sample: number;
  json: string | undefined;
  skipPackage: boolean;
  initRuns: number;
  sandbox: 'thread' | 'same-thread';
  costOnly: boolean;
  costAccounts: number;
  /** `--organization-trail`: the organization has an organization trail covering every account. */
  organizationTrail: boolean;
}

export type Mode = 'onboard' | 'reconcile';

export function readOptions(): BenchOptions {
  const { values } = parseArgs({
    options: {
      accounts: { type: 'string', default: '1000' },
      concurrency: { type: 'string', default: '150' },
      'reconcile-concurrency': { type: 'string' },
      'time-scale': { type: 'string', default: '1' },
      'onboard-time-scale': { type: 'string' },
      'reconcile-time-scale': { type: 'string' },
      'skip-cost': { type: 'boolean', default: false },
      sample: { type: 'string', default: '10' },
      json: { type: 'string' },
      'skip-package': { type: 'boolean', default: false },
      'init-runs': { type: 'string', default: '5' },
      sandbox: { type: 'string', default: 'thread' },
      'cost-only': { type: 'boolean', default: false },
      'cost-accounts': { type: 'string', default: '3' },
      'organization-trail': { type: 'boolean', default: false },
    },
    strict: true,
  });
  const positive = (
    name: 'accounts' | 'concurrency' | 'reconcile-concurrency' | 'sample' | 'init-runs' | 'cost-accounts',
  ): number => {
    const value = Number(values[name]);
    if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a positive integer`);
    return value;
  };
  const concurrency = positive('concurrency');
  const reconcileConcurrency =
    values['reconcile-concurrency'] === undefined ? concurrency : positive('reconcile-concurrency');
  if (concurrency > 1000 || reconcileConcurrency > 1000)
    throw new Error('--concurrency is at most 1000 (the run input allows no more)');
  const scale = (name: 'time-scale' | 'onboard-time-scale' | 'reconcile-time-scale'): number => {
    const value = Number(values[name] ?? values['time-scale']);
    if (!Number.isFinite(value) || value < 1) throw new Error(`--${name} must be a number ≥ 1`);
    return value;
  };
  scale('time-scale');
  const timeScale = { onboard: scale('onboard-time-scale'), reconcile: scale('reconcile-time-scale') };
  if (values.sandbox !== 'thread' && values.sandbox !== 'same-thread')
    throw new Error('--sandbox is thread or same-thread');
  return {
    accounts: positive('accounts'),
    concurrency,
    reconcileConcurrency,
    timeScale,
    skipCost: values['skip-cost'] ?? false,
    sample: positive('sample'),
    json: values.json,
    skipPackage: values['skip-package'] ?? false,
    initRuns: positive('init-runs'),
    sandbox: values.sandbox,
    costOnly: values['cost-only'] ?? false,
    costAccounts: positive('cost-accounts'),
    organizationTrail: values['organization-trail'] ?? false,
  };
}
