import type { FailureRecord } from './failure';
import type { ConnectorStatus, Outcome } from './ledger';
import type { StepResult } from './step-result';

/**
 * The contracts between the state machine's stages: what ResolveTargets hands to the fan-out and
 * to WriteReport, and what the report holds (DESIGN §4.2). Large lists (targets, skipped
 * accounts, results) travel through S3, never in the payload: a run over 10,000 accounts stays
 * far inside Step Functions' 256 KiB.
 */
export type RunMode = 'onboard' | 'reconcile' | 'offboard' | 'retry-failed';

/** The Organizations events a run may start from (CloudTrail's eventName). */
export type OrganizationsEventName =
  | 'CreateAccountResult'
  | 'AccountJoinedOrganization'
  | 'AccountDepartedOrganization'
  | 'CloseAccountResult'
  | 'MoveAccount';

export type Trigger =
  | { type: 'manual' }
  | { type: 'schedule' }
  | {
      type: 'organizations-event';
      eventId: string;
      requestId?: string;
      /**
       * Which event; absent for CreateAccountResult, the first one casbridge handled, so the
       * runs and reports recorded before the others came keep their shape.
       */
      eventName?: Exclude<OrganizationsEventName, 'CreateAccountResult'>;
    }
  | {
      type: 'control-tower-event';
      eventId: string;
      eventName: 'CreateManagedAccount' | 'UpdateManagedAccount';
    };

export interface RunContext {
  /** `<mode>-<execution start, yyyymmddThhmmss>-<6 characters of the execution id's hash>`. */
  runId: string;
  /** The execution's token (`$$.Execution.Id`): what the run's account leases are held by. */
  execution: string;
  mode: RunMode;
  dryRun: boolean;
  trigger: Trigger;
  startedAt: string;
  maxConcurrency: number;
}

/** Why an account of the organization is not worked on in a run. */
export type SkipReason =
  | 'suspended'
  | 'closed'
  | 'pending-closure'
  | 'pending-activation'
  | 'management-account'
  | 'excluded'
  | 'out-of-scope'
  | 'lease-held-by-another-run'
  | 'event-failed'
  | 'not-failed-last-run'
  | 'duplicate-event'
  /** Offboarded by a person (connector RETIRED): only a run naming the account onboards it again. */
  | 'retired'
  /** A departure casbridge has recorded already (connector DEPARTED). */
  | 'departed'
  /** A departure of an account casbridge never worked on: nothing of it to clean up. */
  | 'never-onboarded'
  /**
   * AccountJoinedOrganization of an account the organization created: AWS logs
   * CreateAccountResult for it too, and that event's run onboards it.
   */
  | 'joined-by-creation'
  /** AccountDepartedOrganization of an account the organization still has (it joined again). */
  | 'still-in-organization';

export interface SkippedAccount {
  accountId: string;
  name?: string;
  ou?: string;
  reason: SkipReason;
  /** The run that handles the account instead: the one a duplicate event's first delivery started. */
  handledByRunId?: string;
}

export interface S3Location {
  bucket: string;
  key: string;
}

/** ResolveTargets' output: the state machine's payload from then on. */
export interface ResolvedRun {
  run: RunContext;
  /** A JSON array of TaskInput items: the Distributed Map's ItemReader reads it. */
  targets: S3Location & { count: number };
  /** A JSON array of SkippedAccount. */
  skipped: S3Location & { count: number };
}

/** One account's line in the report: a worked-on account's result, or a skipped one. */
export interface ReportAccount {
  accountId: string;
  name: string;
  ou: string;
  outcome: Outcome;
  changed: boolean;
  steps: Record<string, StepResult>;
  connector: ConnectorStatus;
  error?: FailureRecord;
  skipReason?: string;
  /**
   * The run that handles the account instead of this one: the first delivery's run of a
   * duplicate event, or the run that took over the account's lease (LeaseLost).
   */
  handledByRunId?: string;
  /** When the operator was asked to connect (the ledger's), for an account awaiting connection: its age on the report. */
  handoffAt?: string;
}

export interface ReportSummary {
  total: number;
  byOutcome: Record<Outcome, number>;
  changed: number;
  unchanged: number;
  byConnector: Record<ConnectorStatus, number>;
  failuresByError: Record<string, number>;
  /**
   * keyDelivery on-demand: accounts whose access key step found a key due and minted none (a new
   * account's "key not minted yet", a rotation due), minted by `casbridge credentials --new-key`.
   * Present only when there are any.
   */
  keysDue?: { notMintedYet: number; rotationDue: number };
}

export interface RunReport {
  runId: string;
  mode: RunMode;
  dryRun: boolean;
  trigger: Trigger;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  summary: ReportSummary;
  accounts: ReportAccount[];
}

/** Where a run's files live in the reports bucket. */
export function runPrefix(runId: string): string {
  return `runs/${runId}/`;
}

/** Where the latest real run's report is copied, so `casbridge report` and a bookmark find it. */
export const LATEST_RUN_PREFIX = 'runs/latest/';

/**
 * Where the latest plan's (dry run's) report is copied instead: a plan never replaces the latest
 * run's report, and `casbridge report --plan` finds the last plan.
 */
export const LATEST_PLAN_PREFIX = 'runs/latest-plan/';

export function latestPrefix(report: Pick<RunReport, 'dryRun'>): string {
  return report.dryRun ? LATEST_PLAN_PREFIX : LATEST_RUN_PREFIX;
}
