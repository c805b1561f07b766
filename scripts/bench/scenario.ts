import path from 'node:path';
import { useFunctionCredentials } from '../../commons/runtime';
import type { TargetAccount } from '../../commons/step-result';
import type { Sandbox } from '../../sandbox';
import type { ScenarioInput } from '../../sandbox/scenario/scenario';
import { stackEnvironment } from '../../sandbox/scenario/stack-environment';
import { type SandboxThread, sandboxFacts } from '../../sandbox/thread';
import { sandboxFunctionCredentials } from '../../statemachine/local/sandbox-lambda';
import { threadCpuMs } from './cpu-time';
import type { OrganizationShape } from './ideal-bound';

/**
 * The per-account route of the definition, in order: its Task states and their functions.
 * CheckAccount ends there for an account it records (a compliant reconcile).
 */
export const PIPELINE = [
  ['CheckAccount', 'access'],
  ['Access', 'access'],
  ['EnsureUser', 'user'],
  ['EnsurePolicy', 'policy'],
  ['EnsureAccessKey', 'accessKey'],
  ['EnsureTrail', 'trail'],
  ['Register', 'register'],
  ['Verify', 'verify'],
  ['RecordResult', 'recordResult'],
] as const;

export const FLEET_OU = 'Fleet';
export const BASELINE_OU = 'Baseline';
export const PROJECT_ROOT = path.resolve(__dirname, '../..');

/**
 * N healthy accounts in one OU the runs target, and the baseline's sample in another, so the
 * baseline starts from fresh accounts too. No faults: every throttle met is the rate model's.
 * With `organizationTrail` (--organization-trail), an organization trail in the management
 * account covers every account, as Control Tower's does: ResolveTargets proves it once per run
 * and no account's trail step calls CloudTrail.
 */
export function benchScenario(accounts: number, sample: number, organizationTrail = false): ScenarioInput {
  const member = (prefix: number, i: number, ou: string) => ({
    id: String(prefix * 100_000_000_000 + i),
    name: `${ou.toLowerCase()}-${i}`,
    ou,
  });
  return {
    seed: 20261124,
    organization: { organizationTrail },
    organizationalUnits: [FLEET_OU, BASELINE_OU],
    accounts: [
      ...Array.from({ length: accounts }, (_, i) => member(3, i + 1, FLEET_OU)),
      ...Array.from({ length: sample }, (_, i) => member(4, i + 1, BASELINE_OU)),
    ],
  };
}

/**
 * What a deployed task sees: the stack's environment, the sandbox as AWS, and its function's own
 * role, which the sandbox hands over as Lambda would. The process's own identity (LoadTargets,
 * the report read) is the administrator's, as for `casbridge run --local`.
 */
export async function actAsTaskRole(sandbox: SandboxThread): Promise<void> {
  Object.assign(process.env, {
    ...stackEnvironment(sandbox.stack),
    AWS_ENDPOINT_URL: sandbox.endpoint,
    AWS_ACCESS_KEY_ID: sandbox.admin.accessKeyId,
    AWS_SECRET_ACCESS_KEY: sandbox.admin.secretAccessKey,
  });
  delete process.env.AWS_SESSION_TOKEN;
  useFunctionCredentials(sandboxFunctionCredentials(sandbox.endpoint));
}

export function ouId(sandbox: SandboxThread, name: string): string {
  const ou = [...sandbox.organization.ous.values()].find((o) => o.name === name);
  if (!ou) throw new Error(`no OU ${name} in the bench organization`);
  return ou.id;
}

export function accountsIn(sandbox: SandboxThread, ouName: string): TargetAccount[] {
  const id = ouId(sandbox, ouName);
  return [...sandbox.organization.accounts.values()]
    .filter((a) => a.parentId === id)
    .map((a) => ({
      accountId: a.id,
      name: a.name,
      ou: ouName,
      state: a.state,
      joinedMethod: a.joinedMethod,
      joinedTimestamp: a.joinedTimestamp.toISOString(),
    }));
}

/**
 * A sandbox started in this thread, seen through the worker thread's interface: how the benchmark
 * ran before the sandbox had a thread of its own (`--sandbox same-thread`), kept to compare.
 */
export function sameThread(sandbox: Sandbox): SandboxThread {
  return {
    ...sandboxFacts(sandbox),
    osThreadId: undefined,
    clientConfig: sandbox.clientConfig,
    markCalls: () => sandbox.world.callLog.mark(),
    listCalls: async (filter) => sandbox.world.callLog.list(filter),
    // This thread's heap holds the sandbox too: nothing to add.
    heapUsed: async () => undefined,
    setPerformanceModel: async (model) => sandbox.world.faults.setModel(model),
    close: () => sandbox.close(),
  };
}

export function sandboxCpuMs(sandbox: SandboxThread): number | undefined {
  return sandbox.osThreadId === undefined ? undefined : threadCpuMs(sandbox.osThreadId);
}

/** The organization's parents as ResolveTargets' walk meets them: what the listing chain is counted from. */
export function organizationShape(sandbox: SandboxThread): OrganizationShape {
  const org = sandbox.organization;
  return {
    rootId: org.rootId,
    ous: [...org.ous.values()].map((ou) => ({ id: ou.id, parentId: ou.parentId })),
    accounts: [...org.accounts.values()].map((a) => ({ parentId: a.parentId })),
  };
}
