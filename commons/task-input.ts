import * as z from 'zod/mini';
import { InvalidTaskInputError } from './errors';
import type { LedgerView } from './ledger';
import { LEDGER_VIEW_FIELDS } from './ledger-view';
import type { StepResult, TargetAccount } from './step-result';
import './zod-locale';

/**
 * The mode one account is worked in, which the map routes on (RouteByMode). A run's mode
 * (commons/run.ts RunMode) is what a person or a trigger asked for; each account of the run gets
 * the mode its own case calls for (functions/resolve-targets):
 * - `onboard`, `reconcile`: the ensure pipeline, Access to Verify;
 * - `offboard`: a person's offboarding (an `offboard` run, as before there were others): the
 *   Offboard task, connector RETIRED;
 * - `auto-offboard`: casbridge's own offboarding of an account closed, suspended or moved out of
 *   scope: the Offboard task, connector OFFBOARDED;
 * - `depart`: an account no longer in the organization: the Depart task, central records only,
 *   connector DEPARTED;
 * - `retry-failed`: never an item's mode in practice (a retried account takes the mode it failed
 *   in), kept so the ledger's lastMode of every earlier run still parses.
 */
export const ITEM_MODES = [
  'onboard',
  'reconcile',
  'offboard',
  'auto-offboard',
  'depart',
  'retry-failed',
] as const;
export type ItemMode = (typeof ITEM_MODES)[number];

/** A view of the account's ledger item, or a step's changes to it: ids, times and statuses only. */
const ledgerFieldsSchema = z.strictObject(
  Object.fromEntries(LEDGER_VIEW_FIELDS.map((field) => [field, z.optional(z.nullable(z.string()))])),
);

const stepResultSchema = z.strictObject({
  action: z.enum(['created', 'updated', 'unchanged', 'skipped']),
  reason: z.optional(z.string()),
  details: z.optional(z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]))),
  ledger: z.optional(ledgerFieldsSchema),
  // A hand-off message (about 2 KB): well inside SNS's 256 KiB, which it has already passed.
  pendingWebhook: z.optional(z.string().check(z.maxLength(262_144))),
});

export const targetAccountSchema = z.strictObject({
  accountId: z.string().check(z.regex(/^\d{12}$/)),
  name: z.string(),
  ou: z.string(),
  state: z.string(),
  joinedMethod: z.enum(['CREATED', 'INVITED']),
  joinedTimestamp: z.optional(z.string()),
});

export const taskInputSchema = z.strictObject({
  runId: z.string().check(z.regex(/^[\w.-]{1,80}$/)),
  execution: z.string().check(z.minLength(1), z.maxLength(2048)),
  mode: z.enum(ITEM_MODES),
  dryRun: z._default(z.boolean(), false),
  account: targetAccountSchema,
  steps: z._default(z.record(z.string(), stepResultSchema), {}),
  ledger: z.optional(ledgerFieldsSchema),
  lease: z.optional(z.strictObject({ expiresAt: z.number().check(z.int(), z.positive()) })),
  checked: z.optional(z.record(z.string(), stepResultSchema)),
  trailCoverage: z.optional(
    z.strictObject({
      trailArn: z.string().check(z.regex(/^arn:[\w-]+:cloudtrail:[\w-]+:\d{12}:trail\/[\w.-]{1,128}$/)),
      // Only an organization trail covers every account of a run (TaskInput.trailCoverage).
      organization: z.literal(true),
      logFileValidation: z.boolean(),
      excludedSources: z.array(z.string().check(z.maxLength(256))).check(z.maxLength(16)),
    }),
  ),
  seen: z.optional(
    z.strictObject({
      view: ledgerFieldsSchema,
      updatedAt: z.iso.datetime(),
      lease: z.optional(
        z.strictObject({
          owner: z.string().check(z.minLength(1), z.maxLength(2048)),
          expiresAt: z.number().check(z.int()),
        }),
      ),
    }),
  ),
});

/**
 * What flows between the per-account tasks of the state machine: the run, the account, each
 * finished step's result and the account's ledger view. Small (well under Step Functions'
 * 256 KiB) and free of secrets.
 */
export interface TaskInput {
  runId: string;
  /**
   * The token of the execution the run is (the parent's: inside a Distributed Map each child has
   * its own `$$.Execution.Id`, so ResolveTargets writes the run's into every item). The account's
   * lease is held by it.
   */
  execution: string;
  mode: ItemMode;
  dryRun: boolean;
  account: TargetAccount;
  steps: Record<string, StepResult>;
  /**
   * The account's ledger item as the access task claimed it, with the changes of the steps since:
   * what the later steps decide on, without reading the ledger again. Absent before access.
   */
  ledger?: LedgerView;
  /**
   * When the execution's lease on the account lapses (epoch ms), as Access took it or a step last
   * renewed it: each step renews it only when less than one step's budget is left, so a normal
   * run spends no ledger call on it. Absent before Access and in a dry run (which takes none).
   */
  lease?: { expiresAt: number };
  /**
   * Set by CheckAccount when it hands the account to the pipeline: the results of the steps it
   * found settled before the first one with something to do, each decided on the same view and
   * in the same order as the pipeline decides it. The pipeline's task for such a step takes its
   * result from here instead of making the same reads again (commons/step-handler.ts).
   */
  checked?: Record<string, StepResult>;
  /**
   * The organization trail ResolveTargets found recording every management event of every account
   * of the organization, proven once for the run from the central account (an onboard or
   * reconcile item, trail modes `reuse-existing` and `organization`): the trail step reports the
   * account covered by it without a call (functions/trail/trail-coverage.ts runCoveredResult).
   * Absent when none covered when the run started: the account checks itself.
   */
  trailCoverage?: TrailCoverage;
  /**
   * The account's ledger item as ResolveTargets scanned it (reconcile items only, commons/
   * ledger-view.ts snapshotOf): CheckAccount checks a compliant account on it without claiming
   * it, and records the outcome only while the item is unchanged since (`updatedAt`).
   */
  seen?: LedgerSnapshot;
}

/** A trail that already records every management event of an account, in every Region. */
export interface TrailCoverage {
  trailArn: string;
  organization: boolean;
  logFileValidation: boolean;
  /** Management event sources the trail leaves out (KMS, RDS Data API), by its owner's choice. */
  excludedSources: string[];
}

/** An account's ledger item as a scan read it: its view, when it was last written, any lease. */
export interface LedgerSnapshot {
  view: LedgerView;
  updatedAt: string;
  /** The lease the item had (its holder's token, its expiry in epoch ms), if any. */
  lease?: { owner: string; expiresAt: number };
}

/** The ledger view a step after access decides on; its absence is a malformed input, not an empty ledger. */
export function ledgerView(input: TaskInput): LedgerView {
  if (!input.ledger)
    throw new InvalidTaskInputError('Invalid task input: ledger: required after the access task');
  return input.ledger;
}

/** Parses a task's input at the boundary; a bad one is a named, non-retryable error. */
export function parseTaskInput(event: unknown): TaskInput {
  const parsed = taskInputSchema.safeParse(event);
  if (!parsed.success) {
    throw new InvalidTaskInputError(
      `Invalid task input: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`,
    );
  }
  return parsed.data as TaskInput;
}

const recordInputSchema = z.extend(taskInputSchema, {
  // What a Catch with ResultPath $.failure puts there: the error name and its cause.
  failure: z.optional(z.strictObject({ Error: z.string(), Cause: z.optional(z.string()) })),
});

export interface RecordInput extends TaskInput {
  /**
   * Set by the state machine's Catch. `Cause` is Lambda's JSON `{errorType, errorMessage, trace}`
   * for a task's own error, or plain text for a States.* error such as a timeout.
   */
  failure?: { Error: string; Cause?: string };
}

/** The input of the task that ends every account's pipeline, failed or not. */
export function parseRecordInput(event: unknown): RecordInput {
  const parsed = recordInputSchema.safeParse(event);
  if (!parsed.success) {
    throw new InvalidTaskInputError(
      `Invalid task input: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`,
    );
  }
  return parsed.data as RecordInput;
}
