import { createHash } from 'node:crypto';
import type { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import type { OrganizationsClient } from '@aws-sdk/client-organizations';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import * as z from 'zod/mini';
import type { Config } from '../../commons/config';
import {
  ConfigurationError,
  classifyAwsError,
  InvalidLifecycleEventError,
  InvalidRunInputError,
  InvalidTaskInputError,
} from '../../commons/errors';
import type { Ledger, LedgerItem } from '../../commons/ledger';
import { snapshotOf } from '../../commons/ledger-view';
import {
  type ResolvedRun,
  type RunContext,
  type RunMode,
  runPrefix,
  type SkippedAccount,
} from '../../commons/run';
import type { TargetAccount } from '../../commons/step-result';
import type { ItemMode, TaskInput, TrailCoverage } from '../../commons/task-input';
import { findRunCoverage } from '../trail/trail-coverage';
import { type Decision, type DecisionContext, decideDeparted, decideMember } from './decide';
import {
  describeOrganizationAccount,
  managementAccount,
  type OrganizationAccount,
  type OrganizationView,
  walkOrganization,
} from './organization';
import { type LifecycleEvent, listProblems, parseTrigger, type RunRequest } from './run-input';
import { checkScope, checkScopeExists, inScope } from './scope';

export interface ResolveDependencies {
  organizations: OrganizationsClient;
  s3: S3Client;
  ledger: Ledger;
  config: Config;
  /**
   * CloudTrail in the central account, where the organization trail that covers every account of
   * a run is looked for once (findRunCoverage). Without it every account checks itself.
   */
  cloudtrail?: CloudTrailClient;
  /** What leases are compared with, and the event item's TTL counted from. */
  now: () => Date;
}

/**
 * ResolveTargets' input, as the state machine's Parameters build it: the execution's own input
 * (a run input or a lifecycle event) and the execution itself, whose id is the token every lease
 * of the run is held by and whose start time names the run. Both come from the context object, so
 * a ResolveTargets retried by Step Functions resolves the same run.
 */
export interface ResolveInput {
  input: unknown;
  execution: string;
  startedAt: string;
}

const resolveInputSchema = z.strictObject({
  input: z.unknown(),
  execution: z.string().check(z.minLength(1), z.maxLength(2048)),
  startedAt: z.iso.datetime({ offset: true }),
});

/**
 * ResolveTargets: turns any trigger into a run. The run id, mode and options; the accounts to work
 * on, with their metadata, as the Distributed Map's items (runs/<runId>/targets.json); and every
 * other account of the run's selection with the reason it is left alone (runs/<runId>/skipped.json),
 * so nothing silently disappears from the report.
 *
 * Everything is read and validated before the first write: a bad input or an unknown account or
 * OU fails with InvalidRunInput having only read. The two files are the only writes.
 */
export async function resolveTargets(deps: ResolveDependencies, event: unknown): Promise<ResolvedRun> {
  const execution = parseResolveInput(event);
  const trigger = parseTrigger(execution.input);
  const bucket = deps.config.reportsBucket;
  if (!bucket) {
    throw new ConfigurationError('CASBRIDGE_REPORTS_BUCKET is not set: ResolveTargets writes the run there', {
      step: 'resolve',
    });
  }
  let plan: Plan;
  let trailCoverage: TrailCoverage | undefined;
  try {
    plan =
      trigger.kind === 'event'
        ? await planEvent(deps, trigger, execution)
        : await planRequest(deps, trigger, execution);
    trailCoverage = await runTrailCoverage(deps, plan);
  } catch (error) {
    throw classifyAwsError(error, 'resolve');
  }
  const { run } = plan;
  const items: TaskInput[] = plan.targets.map(({ mode, ...account }) => ({
    runId: run.runId,
    execution: run.execution,
    // The mode the account is worked in, which the map routes on (decide.ts): the run's, or the
    // one the account's case calls for (a departure, a closure), or for retry-failed the mode of
    // the run where the account failed, so a blocked offboarding is retried as an offboarding,
    // never as an onboarding. The run id and the report still say which run it was.
    mode,
    dryRun: run.dryRun,
    account,
    steps: {},
    ...(trailCoverage && TRAIL_STEP_MODES.has(mode) ? { trailCoverage } : {}),
    ...seenBy(plan, mode, account.accountId),
  }));
  // A dry run writes these too: they are the plan it reports on, not a change to any account.
  const prefix = runPrefix(run.runId);
  const targets = { bucket, key: `${prefix}targets.json`, count: items.length };
  const skipped = { bucket, key: `${prefix}skipped.json`, count: plan.skipped.length };
  try {
    await Promise.all([putJson(deps.s3, targets, items), putJson(deps.s3, skipped, plan.skipped)]);
  } catch (error) {
    throw classifyAwsError(error, 'resolve');
  }
  return { run, targets, skipped };
}

// ---------------------------------------------------------------- planning

/** The item modes whose pipeline has a trail step (Offboard and Depart touch no trail). */
const TRAIL_STEP_MODES: ReadonlySet<ItemMode> = new Set(['onboard', 'reconcile']);

/**
 * The organization trail every account of the run is covered by, looked for once (two CloudTrail
 * reads in the central account, a third if its selectors were customised) instead of in each
 * account (functions/trail/trail-coverage.ts findRunCoverage says why that is sound). Only for a
 * run with an account whose pipeline has a trail step: an offboard run, a duplicate event, a
 * run of skipped accounts spend nothing on it.
 */
async function runTrailCoverage(deps: ResolveDependencies, plan: Plan): Promise<TrailCoverage | undefined> {
  if (!deps.cloudtrail || !plan.targets.some((target) => TRAIL_STEP_MODES.has(target.mode))) return undefined;
  return findRunCoverage(deps.cloudtrail, deps.config);
}

/** An account to work on, in the mode it is worked in (decide.ts). */
type Target = TargetAccount & { mode: ItemMode };

interface Plan {
  run: RunContext;
  targets: Target[];
  skipped: SkippedAccount[];
  /** The ledger as the plan's scan read it (a run from a request; an event's run reads its one item). */
  scanned?: ReadonlyMap<string, LedgerItem>;
}

/**
 * A reconcile item carries its account's item as the scan read it: CheckAccount then checks a
 * compliant account without claiming it, one ledger write instead of two (check-account.ts). The
 * Scan is eventually consistent: a stale snapshot only fails that write's condition, and the
 * account takes the pipeline, which claims it. A dry run writes nothing, so it needs none.
 */
function seenBy(plan: Plan, mode: ItemMode, accountId: string): Pick<TaskInput, 'seen'> {
  if (mode !== 'reconcile' || plan.run.dryRun) return {};
  const seen = snapshotOf(plan.scanned?.get(accountId));
  return seen ? { seen } : {};
}

/** The run modes whose runs over the whole organization also look for departures the ledger missed. */
const FINDS_DEPARTURES: ReadonlySet<RunMode> = new Set(['reconcile', 'offboard', 'retry-failed']);

/**
 * A run from the console, the CLI or the schedule: a walk of the organization, then the selection.
 * A reconcile (offboard, retry-failed) of the whole organization also finds the accounts the
 * ledger knows that the organization no longer has: a departure whose event was lost or came
 * before casbridge was deployed is cleaned up by the next daily run. An account named by id that
 * has left is handled as a departure in any mode.
 */
async function planRequest(
  deps: ResolveDependencies,
  request: RunRequest,
  execution: ResolveInput,
): Promise<Plan> {
  const org = await walkOrganization(deps.organizations);
  checkScope(deps.config, { ous: new Set(org.ous.keys()), roots: org.rootIds });
  // One scan for every account's lease (and, for retry-failed, its last outcome): a read per
  // account would cost 10,000 calls in a large organization.
  const ledger = new Map((await deps.ledger.list()).map((item) => [item.accountId, item]));
  const { members, departed } = select(org, request, ledger);
  const run: RunContext = {
    ...runOf(request.mode, execution),
    dryRun: request.dryRun,
    trigger: request.trigger,
    maxConcurrency: request.maxConcurrency ?? deps.config.maxConcurrency,
  };
  const named = new Set(request.accounts ?? []);
  const ctx = decisionContext(deps, run, org.managementAccountId);
  const member = (account: OrganizationAccount): Decided => ({
    account: targetAccount(account),
    decision: decideMember(account, {
      ...ctx,
      named: named.has(account.accountId),
      ledger: ledger.get(account.accountId),
    }),
  });
  const sweep = !request.accounts && !request.organizationalUnits && FINDS_DEPARTURES.has(request.mode);
  const missing = sweep
    ? [...ledger.values()].filter(
        (item) => !org.accounts.has(item.accountId) && item.connector !== 'DEPARTED',
      )
    : departed;
  const { stillMembers, gone } = await confirmDepartures(deps.organizations, missing);
  const decided: Decided[] = [...members, ...stillMembers].map(member);
  for (const item of gone) {
    const decision = decideDeparted(item.accountId, { ...ctx, ledger: item });
    // The sweep lists the departures it works on, and those another run holds: the ledger's
    // other accounts are no accounts of the organization, and a report that listed every account
    // that ever left would grow for ever. A departed account named by id is always listed.
    if (!sweep || 'mode' in decision || decision.skip === 'lease-held-by-another-run')
      decided.push({ account: departedAccount(item), decision });
  }
  return { ...sortPlan(collect(run, decided)), scanned: ledger };
}

/**
 * Whether the accounts a walk did not find have really left: DescribeAccount, one call each (a
 * departure is rare). The walk lists each parent once, so an account moved between two parents
 * while the walk read them is in neither listing, and cleaning it up as departed would delete
 * its secret and ask to remove a working connector. One the organization still has is decided
 * as the member it is.
 */
async function confirmDepartures(
  organizations: OrganizationsClient,
  items: readonly LedgerItem[],
): Promise<{ stillMembers: OrganizationAccount[]; gone: LedgerItem[] }> {
  const stillMembers: OrganizationAccount[] = [];
  const gone: LedgerItem[] = [];
  for (const item of items) {
    const account = await describeOrganizationAccount(organizations, item.accountId);
    if (account) stillMembers.push(account);
    else gone.push(item);
  }
  return { stillMembers, gone };
}

/**
 * A lifecycle event: a run of that one account, in the mode its event calls for (decide.ts),
 * unless the event already started a run. EventBridge delivers at least once, so two executions
 * (at once, or hours apart) may carry the same event: once the event is known to be valid, the
 * ledger remembers which run it started, in one conditional write before any target is written,
 * and every other execution of it works on nothing and reports the account SKIPPED
 * `duplicate-event`, naming that run.
 */
async function planEvent(
  deps: ResolveDependencies,
  event: LifecycleEvent,
  execution: ResolveInput,
): Promise<Plan> {
  checkEnvelopeRegion(deps.config, event);
  // The one DescribeOrganization a SUCCEEDED event needs anyway (the management account is never
  // a target); a FAILED one spends it too, so a forged event cannot even record a run.
  const managementAccountId = await managementAccount(deps.organizations);
  if (event.envelope.account !== managementAccountId) {
    throw new InvalidLifecycleEventError(
      `account: event ${event.eventId} was emitted in account ${event.envelope.account}, not in the organization's management account ${managementAccountId}, where Organizations and Control Tower emit their lifecycle events`,
      { step: 'resolve' },
    );
  }
  const decided = await decideEvent(deps, event, managementAccountId, execution);
  const run: RunContext = {
    ...runOf(eventRunMode(event, decided), execution),
    dryRun: false,
    trigger: event.trigger,
    maxConcurrency: deps.config.maxConcurrency,
  };
  const plan = collect(run, decided);
  // Last, once the event is known to be good: a refused event remembers nothing, so it cannot
  // make a later, valid delivery of the same id look like a duplicate.
  const remembered = await deps.ledger.rememberEvent(event.eventId, {
    runId: run.runId,
    execution: run.execution,
    startedAt: run.startedAt,
  });
  if (!remembered) return plan;
  return {
    run,
    targets: [],
    skipped: [...plan.targets, ...plan.skipped].map((account) => ({
      accountId: account.accountId,
      ...nameOf(account.name),
      ...(account.ou ? { ou: account.ou } : {}),
      reason: 'duplicate-event' as const,
      ...(remembered.duplicateOf ? { handledByRunId: remembered.duplicateOf } : {}),
    })),
  };
}

interface Decided {
  account: Pick<TargetAccount, 'accountId'> & Partial<TargetAccount>;
  decision: Decision;
}

/**
 * What an event does to its account. A failed change never starts work on the account: the run
 * only records it (a failed CreateAccountResult names no account: none was created). A departure
 * cleans up the central records of an account the organization no longer has; every other event
 * is decided on what the account is now, as a reconcile would decide it (its scope, its State,
 * a retired connector), without a walk of the organization.
 */
async function decideEvent(
  deps: ResolveDependencies,
  event: LifecycleEvent,
  managementAccountId: string,
  execution: ResolveInput,
): Promise<Decided[]> {
  if (!event.succeeded) {
    return event.accountId
      ? [
          {
            account: { accountId: event.accountId, ...nameOf(event.accountName) },
            decision: { skip: 'event-failed' },
          },
        ]
      : [];
  }
  const accountId = event.accountId as string;
  // AWS logs AccountJoinedOrganization for an account CreateAccount made, beside its
  // CreateAccountResult: that event's run onboards it, and this one would only race it for the lease.
  if (event.lifecycle === 'joined' && event.joinedMethod === 'created') {
    return [{ account: { accountId }, decision: { skip: 'joined-by-creation' } }];
  }
  const ctx = decisionContext(deps, { mode: 'onboard', execution: execution.execution }, managementAccountId);
  const [account, ledger] = await Promise.all([
    describeOrganizationAccount(deps.organizations, accountId),
    deps.ledger.get(accountId),
  ]);
  if (!account) {
    if (event.lifecycle !== 'departed' && event.lifecycle !== 'closed') {
      throw new InvalidRunInputError(
        `account ${accountId} of event ${event.eventId} is not an account of the organization`,
        { step: 'resolve' },
      );
    }
    // Gone already: a closure's account cleaned out since, or the departure itself.
    return [
      {
        account: ledger ? departedAccount(ledger) : { accountId },
        decision: decideDeparted(accountId, { ...ctx, ledger }),
      },
    ];
  }
  // A departure of an account the organization has again (it left and was invited back before
  // this event was handled) is no departure any more: the account's own runs handle it.
  if (event.lifecycle === 'departed') {
    return [{ account: targetAccount(account), decision: { skip: 'still-in-organization' } }];
  }
  if (
    event.lifecycle === 'joined' &&
    event.joinedMethod === undefined &&
    account.joinedMethod === 'CREATED'
  ) {
    return [{ account: targetAccount(account), decision: { skip: 'joined-by-creation' } }];
  }
  const decision = decideMember(account, { ...ctx, named: false, ledger });
  const outOfScope = account.state === 'ACTIVE' && !inScope(deps.config, account);
  if (outOfScope && ('mode' in decision || decision.skip === 'out-of-scope')) {
    // A mistyped scope OU must not pass for an account moved out of scope (and be offboarded).
    await checkScopeExists(deps.config, deps.organizations);
  }
  return [{ account: targetAccount(account), decision }];
}

/**
 * An event's run is an offboard run when it offboards or cleans up its account (a departure, a
 * closure, a move out of scope with CASBRIDGE_OUT_OF_SCOPE_ACTION=offboard), and an onboard run
 * otherwise, as the runs of creation events always were.
 */
function eventRunMode(event: LifecycleEvent, decided: readonly Decided[]): RunMode {
  if (event.lifecycle === 'departed' || event.lifecycle === 'closed') return 'offboard';
  const offboards = decided.some(
    ({ decision }) => 'mode' in decision && (decision.mode === 'auto-offboard' || decision.mode === 'depart'),
  );
  return offboards ? 'offboard' : 'onboard';
}

function decisionContext(
  deps: ResolveDependencies,
  run: Pick<RunContext, 'mode' | 'execution'>,
  managementAccountId: string,
): Omit<DecisionContext, 'named' | 'ledger'> {
  return {
    mode: run.mode,
    execution: run.execution,
    managementAccountId,
    config: deps.config,
    nowMs: deps.now().getTime(),
  };
}

/** The decisions as the run's targets and skipped accounts. */
function collect(run: RunContext, decided: readonly Decided[]): Plan {
  const targets: Target[] = [];
  const skipped: SkippedAccount[] = [];
  for (const { account, decision } of decided) {
    if ('mode' in decision) {
      targets.push({ ...(account as TargetAccount), mode: decision.mode });
      continue;
    }
    // An account of the organization has a name and an OU path ('' at the root); an event's
    // account that was not looked up has what its event says, if anything.
    skipped.push({
      accountId: account.accountId,
      ...(account.name !== undefined ? { name: account.name } : {}),
      ...(account.ou !== undefined ? { ou: account.ou } : {}),
      reason: decision.skip,
    });
  }
  return { run, targets, skipped };
}

/**
 * The run of an execution: its id names the mode, the execution's start (sortable) and six
 * characters of a hash of the execution's id, so every execution has its own (its reports
 * never overwrite another's) and a retried ResolveTargets of one execution resolves the same.
 */
function runOf(
  mode: RunMode,
  execution: ResolveInput,
): Pick<RunContext, 'runId' | 'execution' | 'mode' | 'startedAt'> {
  const startedAt = new Date(execution.startedAt);
  return {
    runId: `${mode}-${compactTimestamp(startedAt)}-${executionSuffix(execution.execution)}`,
    execution: execution.execution,
    mode,
    startedAt: startedAt.toISOString(),
  };
}

/** Parses ResolveTargets' input: the envelope the state machine builds, then the trigger inside it. */
export function parseResolveInput(event: unknown): ResolveInput {
  const parsed = resolveInputSchema.safeParse(event);
  if (!parsed.success) {
    throw new InvalidTaskInputError(
      `Invalid task input: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')} (ResolveTargets takes {input, execution, startedAt}, as the state machine's Parameters give it)`,
      { step: 'resolve' },
    );
  }
  return parsed.data as ResolveInput;
}

/**
 * Organizations emits its events in the partition's Organizations Region only (us-east-1 in
 * `aws`); Control Tower in its home Region (CASBRIDGE_CONTROL_TOWER_HOME_REGION, casbridge's own
 * Region by default). A forwarded event keeps the Region it was emitted in, so the check holds
 * for forwarded events too.
 */
function checkEnvelopeRegion(config: Config, event: LifecycleEvent): void {
  const organizations = event.trigger.type === 'organizations-event';
  const expected = organizations ? organizationsRegion(config.region) : config.controlTowerHomeRegion;
  if (event.envelope.region === expected) return;
  throw new InvalidLifecycleEventError(
    `region: event ${event.eventId} was emitted in ${event.envelope.region}, but ${
      organizations
        ? `Organizations emits its lifecycle events only in ${expected}`
        : `Control Tower's home Region is ${expected} (CASBRIDGE_CONTROL_TOWER_HOME_REGION)`
    }`,
    { step: 'resolve' },
  );
}

/** Organizations is a global service hosted in one Region per partition. */
export function organizationsRegion(region: string): string {
  if (region.startsWith('us-gov-')) return 'us-gov-west-1';
  if (region.startsWith('cn-')) return 'cn-northwest-1';
  return 'us-east-1';
}

/**
 * The accounts a request selects: those named, plus every account under a named OU at any depth;
 * the whole organization when neither is given. A named account the organization does not have
 * but the ledger knows has left it (`departed`). Naming an account neither knows, or an OU that
 * does not exist, is an error, not an empty run: a typo must not look like success.
 */
function select(
  org: OrganizationView,
  request: RunRequest,
  ledger: ReadonlyMap<string, LedgerItem>,
): { members: OrganizationAccount[]; departed: LedgerItem[] } {
  const problems: string[] = [];
  const departed: LedgerItem[] = [];
  request.accounts?.forEach((id, i) => {
    if (org.accounts.has(id)) return;
    const known = ledger.get(id);
    if (known) departed.push(known);
    else problems.push(`accounts[${i}]: ${id} is not an account of the organization`);
  });
  request.organizationalUnits?.forEach((id, i) => {
    if (!org.ous.has(id)) problems.push(`organizationalUnits[${i}]: ${id} does not exist`);
  });
  if (problems.length > 0) throw new InvalidRunInputError(listProblems(problems), { step: 'resolve' });
  if (!request.accounts && !request.organizationalUnits)
    return { members: [...org.accounts.values()], departed };
  const accounts = new Set(request.accounts);
  const ous = new Set(request.organizationalUnits);
  return {
    members: [...org.accounts.values()].filter(
      (a) => accounts.has(a.accountId) || a.ouIds.some((ou) => ous.has(ou)),
    ),
    departed: [...new Map(departed.map((item) => [item.accountId, item])).values()],
  };
}

function targetAccount(account: OrganizationAccount): TargetAccount {
  return {
    accountId: account.accountId,
    name: account.name,
    ou: account.ou,
    state: account.state ?? '',
    joinedMethod: account.joinedMethod,
    ...(account.joinedTimestamp ? { joinedTimestamp: account.joinedTimestamp } : {}),
  };
}

/**
 * A departed account as the ledger last knew it: Organizations tells nothing of an account that
 * is not a member any more. It has no State then, and its join method is unknown: `INVITED`,
 * as organization.ts reads an account without one (only a RoleMissing remediation reads it, and
 * a departure never assumes a role).
 */
function departedAccount(item: LedgerItem): TargetAccount {
  return {
    accountId: item.accountId,
    name: item.name ?? '',
    ou: item.ou ?? '',
    state: '',
    joinedMethod: 'INVITED',
  };
}

// ---------------------------------------------------------------- helpers

function sortPlan(plan: Plan): Plan {
  const byId = (a: { accountId: string }, b: { accountId: string }) => a.accountId.localeCompare(b.accountId);
  return { ...plan, targets: [...plan.targets].sort(byId), skipped: [...plan.skipped].sort(byId) };
}

function nameOf(name: string | undefined): { name?: string } {
  return name ? { name } : {};
}

async function putJson(
  s3: S3Client,
  location: { bucket: string; key: string },
  body: unknown,
): Promise<void> {
  await s3.send(
    new PutObjectCommand({
      Bucket: location.bucket,
      Key: location.key,
      Body: JSON.stringify(body),
      ContentType: 'application/json',
    }),
  );
}

/** `yyyymmddThhmmss` in UTC: sortable, and safe in a Step Functions execution name. */
export function compactTimestamp(at: Date): string {
  return at
    .toISOString()
    .replace(/\.\d{3}Z$/, '')
    .replace(/[-:]/g, '');
}

/**
 * Six characters of [a-z0-9] from a SHA-256 of the execution's id: a run id unique among runs
 * started the same second, and the same for every attempt of one execution's ResolveTargets.
 */
export function executionSuffix(execution: string): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  return [...createHash('sha256').update(execution).digest().subarray(0, 6)]
    .map((b) => alphabet[b % alphabet.length])
    .join('');
}
