import { centralAccountId } from '../../commons/clients/central-account';
import { ledger } from '../../commons/clients/dynamodb';
import { readOnlyMemberClients } from '../../commons/clients/read-only';
import { desiredStateHash } from '../../commons/desired-state';
import { leaseNeedsRenewal } from '../../commons/lease';
import { logger } from '../../commons/logger';
import type { Runtime } from '../../commons/runtime';
import { finishStep, lambdaHandler } from '../../commons/step-handler';
import { ledgerView, parseTaskInput, type TaskInput } from '../../commons/task-input';
import { checkAccount } from './check-account';
import { accessAccount } from './member-account';

/**
 * Lambda for two states. Access: claim the account for this execution (one execution per account
 * at a time; a dry run changes nothing, the ledger included), then reach it through its role. The
 * claim returns the account's ledger view, which the later steps decide on, and the lease's
 * expiry, which they keep (commons/step-handler.ts keepLease). The credentials stay in this
 * process. CheckAccount (`{check: <item>}`, the state's Parameters): the daily reconcile's fast
 * path (./check-account.ts), in this function because it needs exactly this role (the claim, the
 * member role, the outcome's write) and leaves the member role's session cached for Access.
 */
export const handler = lambdaHandler(
  'access',
  parseAccessEvent,
  ({ input }) => ({ runId: input.runId, accountId: input.account.accountId, dryRun: input.dryRun }),
  async ({ input: { task, input }, runtime }) =>
    task === 'check' ? check(runtime, input) : access(runtime, input),
);

type AccessEvent = { task: 'access' | 'check'; input: TaskInput };

function parseAccessEvent(event: unknown): AccessEvent {
  if (event !== null && typeof event === 'object' && 'check' in event)
    return { task: 'check', input: parseTaskInput((event as { check: unknown }).check) };
  return { task: 'access', input: parseTaskInput(event) };
}

async function check(runtime: Runtime, input: TaskInput) {
  const outcome = await checkAccount(
    {
      ledger: ledger(runtime),
      config: runtime.config,
      settings: runtime.settings,
      reach: (account, runId) => accessAccount(runtime, account, runId),
      memberClients: readOnlyMemberClients,
      centralAccountId: centralAccountId(runtime),
      desiredStateHash: desiredStateHash(runtime.config),
      now: runtime.now,
    },
    input,
  );
  if (!outcome.recorded) {
    logger.info('account to the pipeline', { reason: outcome.reason });
    return outcome.input;
  }
  logger.info('account finished', {
    outcome: outcome.result.outcome,
    changed: outcome.result.changed,
    connector: outcome.result.connector,
    errorName: outcome.result.error?.name,
  });
  return outcome.result;
}

async function access(runtime: Runtime, received: TaskInput): Promise<TaskInput> {
  // The snapshot served CheckAccount; from here on the claim's view is the account's.
  const { seen, checked: carried, ...input } = received;
  const { accountId } = input.account;
  const holder = { token: input.execution, runId: input.runId };
  let claimed: { view: TaskInput['ledger']; expiresAt?: number; updatedAt?: string };
  if (input.dryRun) claimed = { view: await ledger(runtime).view(accountId) };
  else if (input.lease) {
    // CheckAccount claimed it and handed it on: the view is the claim's, the lease kept.
    const expiresAt = leaseNeedsRenewal(input.lease.expiresAt, runtime.now())
      ? await ledger(runtime).renewLease(accountId, holder, runtime.config.leaseSeconds, 'access')
      : input.lease.expiresAt;
    claimed = { view: ledgerView(input), expiresAt };
  } else claimed = await ledger(runtime).claim(accountId, holder, runtime.config.leaseSeconds);
  // The check's results stand for the steps' own reads only if they were decided on the view the
  // pipeline decides on: under the lease it keeps, or on a snapshot of the very item it claimed
  // (no run wrote it since the scan). Otherwise every step reads again.
  const checked =
    carried && (input.lease || (seen && claimed.updatedAt === seen.updatedAt)) ? carried : undefined;
  if (carried && !checked) logger.info('checked results discarded: the account changed since the scan');
  // Reached by CheckAccount a moment ago: its session served the check's reads, and the steps
  // it settled need none; each later step assumes the role in its own function anyway.
  const result = checked?.access ?? (await accessAccount(runtime, input.account, input.runId)).result;
  const output = finishStep({ ...input, ...(checked ? { checked } : {}) }, 'access', result, claimed.view);
  return claimed.expiresAt === undefined ? output : { ...output, lease: { expiresAt: claimed.expiresAt } };
}
