import type { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import type { IAMClient } from '@aws-sdk/client-iam';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SNSClient } from '@aws-sdk/client-sns';
import type { ClientSettings, MemberAccount } from '../../commons/aws-clients';
import { ReadOnlyGuard, refusingClient } from '../../commons/clients/read-only';
import type { Config } from '../../commons/config';
import type { StepName } from '../../commons/errors';
import type { Ledger } from '../../commons/ledger';
import type { ReportAccount } from '../../commons/run';
import { finishStep } from '../../commons/step-handler';
import type { StepResult, TargetAccount } from '../../commons/step-result';
import { type LedgerSnapshot, ledgerView, type TaskInput } from '../../commons/task-input';
import { ensureAccessKey } from '../access-key/ensure-access-key';
import { ensurePolicy } from '../policy/ensure-policy';
import { recordResult, recordSeenResult } from '../record-result/record-result';
import { ensureRegistration } from '../register/ensure-registration';
import { ensureTrail } from '../trail/ensure-trail';
import { ensureUser } from '../user/ensure-user';
import { verifyConnector } from '../verify/verify-connector';

export interface CheckDeps {
  ledger: Ledger;
  config: Config;
  settings: ClientSettings;
  /** The access step: the member role's session (cached for the Access state), and its result. */
  reach: (account: TargetAccount, runId: string) => Promise<{ member: MemberAccount; result: StepResult }>;
  /** IAM and CloudTrail in the member account that send only what the guard allows. */
  memberClients: (
    member: MemberAccount,
    guard: ReadOnlyGuard,
  ) => { iam: IAMClient; cloudtrail: CloudTrailClient };
  centralAccountId: () => Promise<string>;
  /** The configuration's desired-state hash, as RecordResult keeps it. */
  desiredStateHash: string;
  /** What a snapshot's lease is compared with (epoch ms). */
  now: () => number;
}

/**
 * What the check did: the account's result, recorded as RecordResult would have recorded it, or
 * the item for the per-step pipeline (from Access), with the lease the check took, if it took one.
 */
export type CheckOutcome =
  | { recorded: true; result: ReportAccount }
  | { recorded: false; input: TaskInput; reason: string };

/**
 * The daily reconcile's fast path (issue 12 §7). Most accounts are compliant on most days, and the
 * per-step pipeline costs them ten state transitions each (Step Functions Standard bills every
 * state entered). The CheckAccount state runs this first: it runs every step's own decision, for
 * real and in order, each step's result feeding the next as the state machine would chain them,
 * but through clients that send only reads (commons/clients/read-only.ts). If every step comes out
 * `unchanged` or `skipped`, nothing was due (no hand-off, reminder, stale notice, rotation or
 * secret deletion: each of those is a call the guard refuses), and the results are exactly those
 * the pipeline would have produced, so the check records them as RecordResult does (the same
 * fields, the same report line, steps included) and the account ends there: three states instead
 * of ten.
 *
 * A reconcile item from ResolveTargets carries the account's ledger item as its scan read it
 * (`seen`, issue 14 §4): the check then takes no lease, since it changes nothing in the account,
 * and decides on that view; its one write is conditional on the item being unchanged since the
 * scan and free of any live lease (checkSeen below). One ledger call instead of two: a compliant
 * account in 16 calls. An item without one (a one-account run of an event, an item of an earlier
 * ResolveTargets) is claimed first, as before, and its outcome written as RecordResult writes it.
 *
 * Anything else (a step that would change something, a refused call, any error, a dry run, a
 * mode other than reconcile) hands the item to the pipeline from Access, where every step has its
 * own state, retry and result in the report. A lease the check took goes with it: Access keeps it
 * rather than claiming again; without one Access claims. So do the results of the steps the check
 * settled before the first with something to do (`checked`): their tasks take them instead of
 * reading again and assuming the role for nothing, so only that step's reads are made twice (a
 * connecting account: 21 calls, not 37). Without a lease they stand only if the item Access
 * claims is still the one scanned (functions/access/handler.ts).
 *
 * Dry runs take the pipeline: a plan is asked for rarely, and there each step's prediction keeps
 * its own state, retry and report line, as the dry-run tests know them.
 */
export async function checkAccount(deps: CheckDeps, item: TaskInput): Promise<CheckOutcome> {
  if (item.mode !== 'reconcile' || item.dryRun)
    return { recorded: false, input: item, reason: item.dryRun ? 'dry-run' : `mode-${item.mode}` };
  if (item.seen) return checkSeen(deps, item as TaskInput & { seen: LedgerSnapshot });
  const { accountId } = item.account;
  // Not caught: LeaseHeld takes the Catch to RecordResult (the account is another run's), a
  // throttled claim the Retry, exactly as from Access.
  const claimed = await deps.ledger.claim(
    accountId,
    { token: item.execution, runId: item.runId },
    deps.config.leaseSeconds,
  );
  const held: TaskInput = { ...item, ledger: claimed.view, lease: { expiresAt: claimed.expiresAt } };
  const checked = await check(deps, held);
  if ('handOff' in checked) return pipeline(held, checked.handOff, checked.settledSteps);
  try {
    return {
      recorded: true,
      result: await recordResult(deps.ledger, checked.state, deps.desiredStateHash, {
        webhookConfigured: deps.config.webhookUrl !== undefined,
      }),
    };
  } catch (error) {
    // The write may have landed (and released the lease) before its answer was lost: Access
    // claims the account again rather than keep a lease that may be gone.
    const { lease: _lease, ...unheld } = held;
    return pipeline(unheld, `record-${(error as Error).name || 'Error'}`);
  }
}

/**
 * The check of an item that carries ResolveTargets' snapshot of its ledger item (issue 14 §4):
 * no claim. A compliant check sends the account only reads, so it needs no lease, only that its
 * one write lands on the item it decided on while no execution holds the account: the outcome's
 * write is conditional on both (Ledger.recordSeenOutcome), and one ledger call replaces two.
 * When that condition fails, another run wrote or holds the account since the scan: nothing was
 * written, and the pipeline claims the account as always, its steps reading afresh (no results
 * carried: they were decided on a view that is no longer the ledger's). An account with something
 * to change goes to the pipeline without a lease too; Access's claim returns the item as it is
 * then, and the results the check carries count only if it is still the scanned one.
 */
async function checkSeen(deps: CheckDeps, item: TaskInput & { seen: LedgerSnapshot }): Promise<CheckOutcome> {
  const { seen } = item;
  // A live lease (another run's, taken after ResolveTargets decided, or this execution's own):
  // the write's condition would fail, so no read is worth making; Access's claim decides.
  if (seen.lease && seen.lease.expiresAt > deps.now()) return pipeline(item, 'lease-held');
  const checked = await check(deps, { ...item, ledger: seen.view });
  if ('handOff' in checked) return pipeline(item, checked.handOff, checked.settledSteps);
  let result: ReportAccount | undefined;
  try {
    result = await recordSeenResult(deps.ledger, { ...checked.state, seen }, deps.desiredStateHash);
  } catch (error) {
    // The write may have landed before its answer was lost: the pipeline claims and reads again.
    return pipeline(item, `record-${(error as Error).name || 'Error'}`);
  }
  return result ? { recorded: true, result } : pipeline(item, 'changed-since-scan');
}

/** The steps on `input`'s view: every one settled (`state`), or why and what to hand on. */
async function check(
  deps: CheckDeps,
  input: TaskInput,
): Promise<{ state: TaskInput } | { handOff: string; settledSteps?: TaskInput['steps'] }> {
  const guard = new ReadOnlyGuard();
  // The steps settled so far: a step that stops the check (a refused write, an error) leaves
  // those before it settled, and the pipeline takes their results.
  const progress: { state?: TaskInput } = {};
  let checked: { state: TaskInput; unsettled?: string };
  try {
    checked = await runSteps(deps, input, guard, progress);
  } catch (error) {
    return {
      handOff: guard.refused ?? `error-${(error as Error).name || 'Error'}`,
      settledSteps: progress.state?.steps,
    };
  }
  if (checked.unsettled) return { handOff: checked.unsettled, settledSteps: checked.state.steps };
  return { state: checked.state };
}

/** An account with nothing to do: every step unchanged (or skipped, as a covered trail is). */
function settled(result: StepResult): boolean {
  return (
    (result.action === 'unchanged' || result.action === 'skipped') && result.pendingWebhook === undefined
  );
}

/**
 * The item as the pipeline starts from it: no step done, the lease (if any) and view kept, and
 * the results of the steps the check settled before the first with something to do (Access's
 * among them), which the pipeline's tasks for those steps take instead of reading again: each
 * was decided on this view, in the pipeline's order, while the lease the pipeline keeps was held
 * (or, with no lease, on the snapshot: Access takes them only if its claim finds that very item).
 */
function pipeline(input: TaskInput, reason: string, settledSteps?: TaskInput['steps']): CheckOutcome {
  const carried = settledSteps && Object.keys(settledSteps).length > 0 ? { checked: settledSteps } : {};
  return { recorded: false, input: { ...input, steps: {}, ...carried }, reason };
}

/**
 * The pipeline's steps in the state machine's order, each on the results of those before it,
 * up to the first that would change something (`unsettled` names it and its action).
 */
async function runSteps(
  deps: CheckDeps,
  held: TaskInput,
  guard: ReadOnlyGuard,
  progress: { state?: TaskInput },
): Promise<{ state: TaskInput; unsettled?: string }> {
  const { config } = deps;
  const { account, runId } = held;
  const { accountId } = account;
  const reached = await deps.reach(account, runId);
  const { iam, cloudtrail } = deps.memberClients(reached.member, guard);
  // A compliant account needs neither: their first call is the account's first change.
  const secrets = refusingClient<SecretsManagerClient>('secretsmanager', guard);
  const sns = refusingClient<SNSClient>('sns', guard);
  let state = finishStep(held, 'access', reached.result, held.ledger);
  progress.state = state;
  const steps: [StepName, (input: TaskInput) => Promise<StepResult>][] = [
    ['user', (input) => ensureUser(iam, config, accountId, input)],
    ['policy', (input) => ensurePolicy(iam, config, accountId, input)],
    ['accessKey', (input) => ensureAccessKey({ iam, secrets, config }, accountId, input)],
    [
      'trail',
      () =>
        ensureTrail(cloudtrail, config, accountId, {
          dryRun: false,
          centralAccountId: deps.centralAccountId,
          runCoverage: held.trailCoverage,
        }),
    ],
    [
      'register',
      (input) =>
        ensureRegistration({ sns, secrets, config }, account, { ...input, ledger: ledgerView(input) }),
    ],
    [
      'verify',
      (input) =>
        verifyConnector({ iam, secrets, config, settings: deps.settings }, accountId, {
          ...input,
          ledger: ledgerView(input),
        }),
    ],
  ];
  for (const [name, run] of steps) {
    const result = await run(state);
    // A change ahead: the later steps' decisions would rest on one the pipeline has yet to make.
    if (!settled(result)) return { state, unsettled: `${name}-${result.action}` };
    state = finishStep(state, name, result);
    progress.state = state;
  }
  return { state };
}
