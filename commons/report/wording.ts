import type { Outcome } from '../ledger';
import type { RunReport } from '../run';
import type { StepStatus } from './steps';

/**
 * The words a report shows a person: what a run did, or, for a plan (a dry run, which changes
 * nothing), what a run would do. One table serves the HTML, the CSV, the terminal and the run's
 * summary message, so a plan reads as a plan wherever it is read and no renderer says `created`
 * for something that was not created. The machine values (`action`, `outcome`, the error's name)
 * stay as they are in the JSON and in the data attributes: scripts and filters compare those.
 */
export interface ReportWording {
  /** `run` or `plan`: what the report is of. */
  noun: 'run' | 'plan';
  /** A step's cell: `created`, or `would create` in a plan. */
  step(step: string, status: StepStatus): string;
  /** An outcome in a sentence or a count: `failed`, or `would fail` in a plan. */
  outcome(outcome: Outcome): string;
  /** Accounts with a change: `changed`, or `would change`. */
  changed: string;
  /** Before a failed account's error name: nothing, or `would fail: ` in a plan. */
  failurePrefix: string;
  /** The failures by error name: `Failures`, or `Predicted failures`. */
  failures: string;
}

/** What a plan says once, above its table, on its page and in its message. */
export const PLAN_BANNER = 'Dry run: this report is the plan. Nothing was changed.';

const RUN_STEP: Readonly<Record<StepStatus, string>> = {
  created: 'created',
  updated: 'updated',
  unchanged: 'unchanged',
  skipped: 'skipped',
  failed: 'failed',
};

const PLAN_STEP: Readonly<Record<StepStatus, string>> = {
  created: 'would create',
  updated: 'would update',
  // It is unchanged now and a run would leave it so: the same word holds for both.
  unchanged: 'unchanged',
  skipped: 'would skip',
  failed: 'would fail',
};

/** Steps whose change is a removal: offboard's `updated` deletes the key, policy and user; depart's the secret. */
const PLAN_STEP_BY_NAME: Readonly<Record<string, Partial<Record<StepStatus, string>>>> = {
  offboard: { updated: 'would delete' },
  depart: { updated: 'would delete' },
};

const RUN_OUTCOME: Readonly<Record<Outcome, string>> = {
  SUCCEEDED: 'succeeded',
  FAILED: 'failed',
  SKIPPED: 'skipped',
};

const PLAN_OUTCOME: Readonly<Record<Outcome, string>> = {
  SUCCEEDED: 'would succeed',
  FAILED: 'would fail',
  // ResolveTargets did skip it in the plan, as it would in a run: not a prediction.
  SKIPPED: 'skipped',
};

const RUN_WORDING: ReportWording = {
  noun: 'run',
  step: (_step, status) => RUN_STEP[status] ?? status,
  outcome: (outcome) => RUN_OUTCOME[outcome] ?? outcome,
  changed: 'changed',
  failurePrefix: '',
  failures: 'Failures',
};

const PLAN_WORDING: ReportWording = {
  noun: 'plan',
  step: (step, status) => PLAN_STEP_BY_NAME[step]?.[status] ?? PLAN_STEP[status] ?? status,
  outcome: (outcome) => PLAN_OUTCOME[outcome] ?? outcome,
  changed: 'would change',
  failurePrefix: 'would fail: ',
  failures: 'Predicted failures',
};

export function reportWording(report: Pick<RunReport, 'dryRun'>): ReportWording {
  return report.dryRun ? PLAN_WORDING : RUN_WORDING;
}

/** `would fail` → `Would fail`: a label at the start of a line or a card. */
export function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
