import { causeMessage, type FailureRecord, failureRecord } from '../../commons/failure';
import type { ConnectorStatus, Ledger, LedgerChanges, LedgerUpdate, Outcome } from '../../commons/ledger';
import { OFFBOARDED_STATUSES } from '../../commons/ledger-view';
import type { ReportAccount } from '../../commons/run';
import { ONBOARD_PIPELINE, pipelineFor, type StepResult } from '../../commons/step-result';
import type { RecordInput } from '../../commons/task-input';

/**
 * The end of every account's pipeline, failed or not: the ledger learns, in one write, the
 * outcome, the error and what the steps found (their `ledger` changes: a hand-off, a proven
 * key), the account's lease is released, and the report gets the account's result. A dry run
 * records nothing in the ledger, and neither does an execution that lost the account's lease:
 * the write is conditional on the execution's token (commons/ledger.ts recordOutcome).
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
    const recorded = await ledger.recordOutcome(
      account.accountId,
      outcomeFields(input, outcome, error, desiredStateHash),
      // Held once Access (or Offboard) claimed it: its expiry is in the input from then on.
      { token: input.execution, runId, held: input.lease !== undefined },
    );
    if (!recorded.recorded) return leaseLost(input, recorded.holderRunId, recorded.connector);
    connector = recorded.connector;
  }
  return line(input, outcome, connector, error);
}

/**
 * CheckAccount's record of a compliant account it checked on ResolveTargets' snapshot, without a
 * lease: what recordResult writes and reports for it, in one write conditional on the item being
 * the one scanned (commons/ledger.ts recordSeenOutcome). Undefined when nothing was written: the
 * item changed or is held since the scan, and the pipeline is to take the account.
 */
export async function recordSeenResult(
  ledger: Ledger,
  input: RecordInput & { seen: NonNullable<RecordInput['seen']> },
  desiredStateHash: string,
): Promise<ReportAccount | undefined> {
  const recorded = await ledger.recordSeenOutcome(
    input.account.accountId,
    outcomeFields(input, 'SUCCEEDED', undefined, desiredStateHash),
    { updatedAt: input.seen.updatedAt, runId: input.runId },
  );
  return recorded.recorded ? line(input, 'SUCCEEDED', recorded.connector) : undefined;
}

/** The outcome's ledger fields: the steps' findings, the run, the error (null when none). */
function outcomeFields(
  input: RecordInput,
  outcome: Outcome,
  error: FailureRecord | undefined,
  desiredStateHash: string,
): LedgerUpdate {
  const { account, runId } = input;
  const onboarding = pipelineFor(input.mode) === ONBOARD_PIPELINE;
  return {
    ...reonboarded(input, onboarding),
    ...stepChanges(input),
    name: account.name,
    ou: account.ou,
    lastOutcome: outcome,
    lastRunId: runId,
    // What retry-failed retries the account as (resolve-targets workMode).
    lastMode: input.mode,
    lastRunAt: new Date().toISOString(),
    lastError: error ?? null,
    ...(outcome === 'SUCCEEDED' && onboarding ? { desiredStateHash } : {}),
  };
}

function line(
  input: RecordInput,
  outcome: Outcome,
  connector: ConnectorStatus,
  error?: FailureRecord,
): ReportAccount {
  return {
    ...base(input),
    outcome,
    changed: Object.values(input.steps).some((s) => s.action === 'created' || s.action === 'updated'),
    connector,
    ...(error ? { error } : {}),
  };
}

/**
 * The line of an account whose lease another execution took while this one worked on it: its
 * steps stopped at LeaseLost (or its outcome would have overwritten the other's), and the ledger
 * is that execution's to write. FAILED, not SKIPPED like a lease found held at the start: a lease
 * that lapses under a running pipeline means a step stalled past what the lease allows (or an
 * operator unlocked the account), and the steps before it may have changed the account on a view
 * that is no longer current. That must reach the operator as a failed run (AccountsFailed and the
 * FailedAccounts metric by error name), not pass as routine; the line names the run that owns
 * the account's outcome now. A retry-failed run does not retry it: the ledger holds that run's
 * outcome, not this failure.
 */
function leaseLost(
  input: RecordInput,
  holderRunId: string | undefined,
  connector: ConnectorStatus | undefined,
): ReportAccount {
  const { account, runId } = input;
  const caught = input.failure?.Error === 'LeaseLost' ? describeCaught(input) : undefined;
  const error = failureRecord(
    caught ?? {
      name: 'LeaseLost',
      message: `Run ${runId} no longer holds account ${account.accountId}: ${holderRunId ? `casbridge run ${holderRunId} holds it now` : 'another run took its lease'}; its outcome was not recorded`,
    },
    { step: caught?.step ?? 'record', joinedMethod: account.joinedMethod },
  );
  const handledBy = holderRunId && holderRunId !== runId ? holderRunId : undefined;
  return {
    ...base(input),
    outcome: 'FAILED',
    changed: Object.values(input.steps).some((s) => s.action === 'created' || s.action === 'updated'),
    connector: connector ?? input.ledger?.connector ?? 'NOT_REGISTERED',
    error,
    ...(handledBy ? { handledByRunId: handledBy } : {}),
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

/**
 * An offboarded account (RETIRED, OFFBOARDED, DEPARTED) a run works on again is managed again
 * from that run on, whether or not it got as far as the register step, which hands its new key
 * off: a retired account named for onboarding stays out of every later run no longer, and
 * retry-failed and the daily reconcile finish it. Its claim's view says what it was.
 */
function reonboarded(input: RecordInput, onboarding: boolean): LedgerChanges {
  const was = input.ledger?.connector;
  return onboarding && was && OFFBOARDED_STATUSES.includes(was) ? { connector: 'NOT_REGISTERED' } : {};
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
