import type { AccountFaultsSpec, ScenarioInput } from './scenario';

/**
 * The default organization: mostly healthy accounts plus, in a fixed pattern that repeats every 40
 * accounts, one of each fault casbridge must handle. Fixed, so a test knows each account's fate.
 */
export const DEFAULT_FAULT_PATTERN: Readonly<
  Record<
    number,
    { label: string; joinedMethod?: 'INVITED'; state?: 'SUSPENDED' | 'CLOSED'; faults?: AccountFaultsSpec }
  >
> = {
  3: { label: 'foreign-user', faults: { preexisting: { foreignUser: true } } },
  7: { label: 'invited-no-role', joinedMethod: 'INVITED', faults: { roleMissing: true } },
  11: { label: 'two-keys', faults: { preexisting: { accessKeys: 2 } } },
  13: { label: 'suspended', state: 'SUSPENDED' },
  17: { label: 'five-policy-versions', faults: { preexisting: { policyVersions: 5 } } },
  19: { label: 'closed', state: 'CLOSED' },
  23: { label: 'role-not-ready', faults: { roleNotAssumableForSeconds: 30 } },
  27: {
    label: 'transient-iam-error',
    faults: {
      injectedErrors: [
        { service: 'iam', operation: 'CreateUser', code: 'ServiceFailure', status: 500, times: 1 },
      ],
    },
  },
  29: { label: 'scp-denies-trail', faults: { scpDeny: ['cloudtrail:CreateTrail'] } },
  31: { label: 'throttled', faults: { throttle: { iam: 0.3, cloudtrail: 0.3 } } },
  35: { label: 'invited-with-role', joinedMethod: 'INVITED' },
  37: { label: 'five-trails', faults: { preexisting: { trails: 5 } } },
};

const OUS = ['Security', 'Infrastructure', 'Workloads/Prod', 'Workloads/Dev', 'Sandbox', 'Suspended'];
const TEAMS = [
  'payments',
  'identity',
  'search',
  'catalog',
  'billing',
  'mobile',
  'data',
  'edge',
  'ml',
  'support',
];
const ENVS: { suffix: string; ou: string }[] = [
  { suffix: 'prod', ou: 'Workloads/Prod' },
  { suffix: 'dev', ou: 'Workloads/Dev' },
  { suffix: 'sandbox', ou: 'Sandbox' },
];

/** The id of the i-th (1-based) member account of the default scenario. */
export function defaultAccountId(index: number): string {
  return String(200_000_000_000 + index);
}

/** The label of the fault the i-th account carries, or `healthy`. */
export function defaultFaultLabel(index: number): string {
  return DEFAULT_FAULT_PATTERN[((index - 1) % 40) + 1]?.label ?? 'healthy';
}

export function defaultScenario(
  options: { accounts?: number; seed?: number; organizationTrail?: boolean } = {},
): ScenarioInput {
  const count = options.accounts ?? 40;
  const accounts: ScenarioInput['accounts'] = [];
  for (let i = 1; i <= count; i++) {
    const pattern = DEFAULT_FAULT_PATTERN[((i - 1) % 40) + 1];
    const env = ENVS[i % ENVS.length] as { suffix: string; ou: string };
    const team = TEAMS[Math.floor(i / ENVS.length) % TEAMS.length] as string;
    const infra = i % 10 === 0;
    accounts.push({
      id: defaultAccountId(i),
      name: infra ? `shared-services-${i}` : `${team}-${env.suffix}-${i}`,
      ou: pattern?.state ? 'Suspended' : infra ? (i % 20 === 0 ? 'Security' : 'Infrastructure') : env.ou,
      ...(pattern?.state ? { state: pattern.state } : {}),
      ...(pattern?.joinedMethod ? { joinedMethod: pattern.joinedMethod } : {}),
      ...(pattern?.faults ? { faults: pattern.faults } : {}),
    });
  }
  return {
    seed: options.seed ?? 20261124,
    organization: { organizationTrail: options.organizationTrail ?? false },
    organizationalUnits: OUS,
    accounts,
  };
}
