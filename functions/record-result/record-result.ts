import { causeMessage, failureRecord } from '../../commons/failure';
import type { ConnectorStatus, Ledger, LedgerChanges, Outcome } from '../../commons/ledger';
import type { ReportAccount } from '../../commons/run';
import { pipelineFor, type StepResult } from '../../commons/step-result';
import type { RecordInput } from '../../commons/task-input';

/**
 * The end of every account's pipeline, failed or not: the ledger learns, in one write, the
 * outcome, the error and what the steps found (their `ledger` changes: a hand-off, a proven
 * key), the account's lease is released, and the report gets the account's result. A dry run
 * records nothing in the ledger.
 */
export async function recordResult(
  ledger: Ledger,
  input: RecordInput,
  /** The configuration's desired-state hash: kept for an account brought to that state. */
  desiredStateHash: string,
  /** Whether the stack has a hand-off webhook: what a failed register step's report says of it. */
  options: { webhookConfigured?: boolean } = {},
): Promise<ReportAccount> {
  const { account, runId } = input;
  const failure = input.failure ? describeCaught(input) : undefined;
  if (failure?.name === 'LeaseHeld') {
    // Another run owns the account: its outcome and lease are that run's to record.
    const current = await ledger.get(account.accountId);
    return {
      ...base(input),
      outcome: 'SKIPPED',
      changed: false,
      connector: current?.connector ?? 'NOT_REGISTERED',
      skipReason: 'lease-held-by-another-run',
    };
  }
  const error = failure
    ? failureRecord(failure, {
        step: failure.step,
        joinedMethod: account.joinedMethod,
        // Register's result is here only if its state finished: the topic has the hand-off.
        handoff: {
          snsDelivered: input.steps.register?.details?.sns === 'delivered',
          webhookConfigured: options.webhookConfigured ?? false,
        },
      })
    : undefined;
  const outcome: Outcome = error ? 'FAILED' : 'SUCCEEDED';
  let connector: ConnectorStatus;
  if (input.dryRun) {
    // The view the access task read (an account whose access failed has none).
    const view = input.ledger ?? (await ledger.view(account.accountId));
    connector = view.connector ?? 'NOT_REGISTERED';
  } else {
    const item = await ledger.update(
      account.accountId,
      {
        ...stepChanges(input),
        name: account.name,
        ou: account.ou,
        lastOutcome: outcome,
        lastRunId: runId,
        // What retry-failed retries the account as (resolve-targets workMode).
        lastMode: input.mode,
        lastRunAt: new Date().toISOString(),
        lastError: error ?? null,
        ...(outcome === 'SUCCEEDED' && input.mode !== 'offboard' ? { desiredStateHash } : {}),
      },
      { releaseLeaseOf: runId },
    );
    connector = item.connector;
  }
  return {
    ...base(input),
    outcome,
    changed: Object.values(input.steps).some((s) => s.action === 'created' || s.action === 'updated'),
    connector,
    ...(error ? { error } : {}),
  };
}

function base(input: RecordInput): Pick<ReportAccount, 'accountId' | 'name' | 'ou' | 'steps'> {
  const steps: Record<string, StepResult> = {};
  for (const [name, { ledger: _changes, pendingWebhook, ...result }] of Object.entries(input.steps)) {
    // Still owed at the end: DeliverWebhook failed (the account's error says how).
    steps[name] =
      pendingWebhook === undefined
        ? result
        : { ...result, details: { ...result.details, webhook: 'failed' } };
  }
  return { accountId: input.account.accountId, name: input.account.name, ou: input.account.ou, steps };
}

/** The steps' ledger changes, later steps over earlier ones (the pipeline's order). */
function stepChanges(input: RecordInput): LedgerChanges {
  const changes: LedgerChanges = {};
  for (const step of pipelineFor(input.mode)) Object.assign(changes, input.steps[step]?.ledger);
  return changes;
}

/**
 * The caught error's name, message and step. Catch keeps no step, but the steps run in a fixed
 * order and each adds its result: the failed one is the first of the mode's pipeline without one,
 * or the register step when its result still owes the webhook (DeliverWebhook failed).
 */
function describeCaught(input: RecordInput): { name: string; message: string; step?: string } {
  const caught = input.failure as { Error: string; Cause?: string };
  const message = causeMessage(caught.Cause);
  const pipeline = pipelineFor(input.mode);
  const step =
    pipeline.find((s) => input.steps[s]?.pendingWebhook !== undefined) ??
    pipeline.find((s) => !(s in input.steps));
  return { name: caught.Error, message, ...(step ? { step } : {}) };
}
