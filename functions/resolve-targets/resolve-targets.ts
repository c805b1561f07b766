import { createHash } from 'node:crypto';
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
import {
  type ResolvedRun,
  type RunContext,
  type RunMode,
  runPrefix,
  type SkippedAccount,
  type SkipReason,
} from '../../commons/run';
import type { TaskInput } from '../../commons/task-input';
import {
  describeOrganizationAccount,
  managementAccount,
  type OrganizationAccount,
  type OrganizationView,
  walkOrganization,
} from './organization';
import { type LifecycleEvent, listProblems, parseTrigger, type RunRequest } from './run-input';

export interface ResolveDependencies {
  organizations: OrganizationsClient;
  s3: S3Client;
  ledger: Ledger;
  config: Config;
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
  try {
    plan =
      trigger.kind === 'event'
        ? await planEvent(deps, trigger, execution)
        : await planRequest(deps, trigger, execution);
  } catch (error) {
    throw classifyAwsError(error, 'resolve');
  }
  const { run } = plan;
  const items: TaskInput[] = plan.targets.map(({ mode, ...account }) => ({
    runId: run.runId,
    execution: run.execution,
    // The mode the account is worked in, which the map routes on (only `offboard` apart): the
    // run's, but for retry-failed the mode of the run where the account failed, so a blocked
    // offboarding is retried as an offboarding, never as an onboarding. The run id and the
    // report still say it was a retry-failed run.
    mode,
    dryRun: run.dryRun,
    account: {
      accountId: account.accountId,
      name: account.name,
      ou: account.ou,
      state: account.state ?? '',
      joinedMethod: account.joinedMethod,
      ...(account.joinedTimestamp ? { joinedTimestamp: account.joinedTimestamp } : {}),
    },
    steps: {},
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

/** An account to work on, in the mode it is worked in (workMode). */
type Target = OrganizationAccount & { mode: TaskInput['mode'] };

interface Plan {
  run: RunContext;
  targets: Target[];
  skipped: SkippedAccount[];
}

/** A run from the console, the CLI or the schedule: a walk of the organization, then the selection. */
async function planRequest(
  deps: ResolveDependencies,
  request: RunRequest,
  execution: ResolveInput,
): Promise<Plan> {
  const org = await walkOrganization(deps.organizations);
  const selection = select(org, request);
  // One scan for every account's lease (and, for retry-failed, its last outcome): a read per
  // account would cost 10,000 calls in a large organization.
  const ledger = new Map((await deps.ledger.list()).map((item) => [item.accountId, item]));
  const run: RunContext = {
    ...runOf(request.mode, execution),
    dryRun: request.dryRun,
    trigger: request.trigger,
    maxConcurrency: request.maxConcurrency ?? deps.config.maxConcurrency,
  };
  const named = new Set(request.accounts ?? []);
  return sortPlan({
    run,
    ...partition(deps, run, org.managementAccountId, selection, (id) => ({
      named: named.has(id),
      ledger: ledger.get(id),
    })),
  });
}

/**
 * A lifecycle event: an onboard run of that one account, unless the event already started a run.
 * EventBridge delivers at least once, so two executions (at once, or hours apart) may carry the
 * same event: once the event is known to be valid, the ledger remembers which run it started,
 * in one conditional write before any target is written, and every other execution of it works
 * on nothing and reports the account SKIPPED `duplicate-event`, naming that run.
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
  const run: RunContext = {
    ...runOf('onboard', execution),
    dryRun: false,
    trigger: event.trigger,
    maxConcurrency: deps.config.maxConcurrency,
  };
  let plan: Plan;
  if (!event.succeeded) {
    // A failed creation never starts work on the account: the run only records it. A failed
    // CreateAccountResult names no account (none was created), so there is nothing to list.
    const skipped: SkippedAccount[] = event.accountId
      ? [{ accountId: event.accountId, ...nameOf(event.accountName), reason: 'event-failed' }]
      : [];
    plan = { run, targets: [], skipped };
  } else {
    const accountId = event.accountId as string;
    const account = await describeOrganizationAccount(deps.organizations, accountId);
    if (!account) {
      throw new InvalidRunInputError(
        `account ${accountId} of event ${event.eventId} is not an account of the organization`,
        { step: 'resolve' },
      );
    }
    const ledger = await deps.ledger.get(accountId);
    plan = {
      run,
      ...partition(deps, run, managementAccountId, [account], () => ({ named: true, ledger })),
    };
  }
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
 * the whole organization when neither is given. Naming an account or OU that does not exist is
 * an error, not an empty run: a typo must not look like success.
 */
function select(org: OrganizationView, request: RunRequest): OrganizationAccount[] {
  const problems: string[] = [];
  request.accounts?.forEach((id, i) => {
    if (!org.accounts.has(id)) problems.push(`accounts[${i}]: ${id} is not an account of the organization`);
  });
  request.organizationalUnits?.forEach((id, i) => {
    if (!org.ous.has(id)) problems.push(`organizationalUnits[${i}]: ${id} does not exist`);
  });
  if (problems.length > 0) throw new InvalidRunInputError(listProblems(problems), { step: 'resolve' });
  if (!request.accounts && !request.organizationalUnits) return [...org.accounts.values()];
  const accounts = new Set(request.accounts);
  const ous = new Set(request.organizationalUnits);
  return [...org.accounts.values()].filter(
    (a) => accounts.has(a.accountId) || a.ouIds.some((ou) => ous.has(ou)),
  );
}

function partition(
  deps: ResolveDependencies,
  run: RunContext,
  managementAccountId: string,
  selection: readonly OrganizationAccount[],
  facts: (accountId: string) => { named: boolean; ledger: LedgerItem | undefined },
): { targets: Target[]; skipped: SkippedAccount[] } {
  const excluded = new Set(deps.config.excludedAccounts);
  const nowMs = deps.now().getTime();
  const targets: Target[] = [];
  const skipped: SkippedAccount[] = [];
  for (const account of selection) {
    const { named, ledger } = facts(account.accountId);
    const reason = skipReason(account, {
      mode: run.mode,
      execution: run.execution,
      managementAccountId,
      excluded,
      named,
      ledger,
      nowMs,
    });
    if (reason) skipped.push({ accountId: account.accountId, name: account.name, ou: account.ou, reason });
    else targets.push({ ...account, mode: workMode(run.mode, ledger) });
  }
  return { targets, skipped };
}

/**
 * The mode an account is worked in: the run's, except that retry-failed retries an account that
 * failed in the mode of the run where it failed (the ledger's lastMode, written by RecordResult).
 * An item recorded before lastMode existed names that run's mode at the head of its run id.
 */
export function workMode(mode: RunMode, ledger: LedgerItem | undefined): RunMode {
  if (mode !== 'retry-failed' || ledger?.lastOutcome !== 'FAILED') return mode;
  return ledger.lastMode ?? (ledger.lastRunId?.startsWith('offboard-') ? 'offboard' : 'onboard');
}

interface SkipContext {
  mode: RunMode;
  execution: string;
  managementAccountId: string;
  excluded: ReadonlySet<string>;
  /** Named by id in the run input (not only reached through an OU or the whole organization). */
  named: boolean;
  ledger: LedgerItem | undefined;
  nowMs: number;
}

const INACTIVE: Readonly<Record<string, SkipReason>> = {
  SUSPENDED: 'suspended',
  CLOSED: 'closed',
  PENDING_CLOSURE: 'pending-closure',
};

/**
 * Why an account of the selection is not a target, or undefined when it is. The first reason that
 * applies wins, from the most permanent (what the account is) to the most passing (a lease).
 */
function skipReason(account: OrganizationAccount, ctx: SkipContext): SkipReason | undefined {
  // casbridge runs in the management account (or for it) and never puts a connector user there.
  if (account.accountId === ctx.managementAccountId) return 'management-account';
  // Exclusion holds in every mode, offboard included: casbridge never touches an excluded account.
  if (ctx.excluded.has(account.accountId)) return 'excluded';
  const state = account.state ?? '';
  const inactive = INACTIVE[state];
  if (state === 'PENDING_ACTIVATION') return 'pending-activation';
  if (workMode(ctx.mode, ctx.ledger) === 'offboard') {
    // Offboarding removes a working connector, so an ACTIVE account is offboarded only when named
    // by id: an OU or the whole organization selects only the accounts that have left (a
    // mistyped OU must not disconnect a branch of the organization). A retried offboarding was
    // in the scope of the offboard run where it failed.
    const chosen = ctx.named || ctx.mode === 'retry-failed';
    if (!inactive && !(state === 'ACTIVE' && chosen)) return 'out-of-scope';
  } else {
    if (inactive) return inactive;
    // A State AWS adds later is not worked on until casbridge knows what it means.
    if (state !== 'ACTIVE') return 'out-of-scope';
    // retry-failed lists the accounts it passes over, like every run: the report then says why a
    // retry did not touch an account, instead of the account silently missing from it.
    if (ctx.mode === 'retry-failed' && ctx.ledger?.lastOutcome !== 'FAILED') return 'not-failed-last-run';
  }
  // Another execution works on the account now; its run (or the next one) reconciles it. A dry
  // run skips it too, so its plan is what a real run started now would do.
  const lease = ctx.ledger;
  if (lease?.leaseOwner && lease.leaseOwner !== ctx.execution && (lease.leaseExpiresAt ?? 0) > ctx.nowMs) {
    return 'lease-held-by-another-run';
  }
  return undefined;
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
