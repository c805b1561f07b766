import type { LedgerChanges } from './ledger';

/** What one step did to one account: the unit of the per-account report. */
export type StepAction = 'created' | 'updated' | 'unchanged' | 'skipped';

export interface StepResult {
  action: StepAction;
  reason?: string;
  /** Small, secret-free facts (ids, names, counts) for the report. */
  details?: Record<string, string | number | boolean>;
  /**
   * What the step learned that the ledger must keep (a hand-off, a proven key, the checked policy
   * version). Later steps see it in the task input's view; RecordResult writes it with the
   * outcome, so a step never writes the ledger itself. Not part of the report.
   */
  ledger?: LedgerChanges;
  /**
   * The register step's hand-off exactly as the SNS topic got it, still owed to the webhook: the
   * DeliverWebhook state POSTs these bytes, once per attempt, and drops them once the receiver
   * took them. Carried in the execution's state, so that state's retries never publish to the
   * topic again. Not part of the report.
   */
  pendingWebhook?: string;
}

/** The account a run works on, as ResolveTargets describes it. */
export interface TargetAccount {
  accountId: string;
  name: string;
  ou: string;
  state: string;
  joinedMethod: 'CREATED' | 'INVITED';
  joinedTimestamp?: string;
}

/** The tasks an account goes through, in order, by run mode (the state machine's map branch). */
export const ONBOARD_PIPELINE = [
  'access',
  'user',
  'policy',
  'accessKey',
  'trail',
  'register',
  'verify',
] as const;
export const OFFBOARD_PIPELINE = ['offboard'] as const;

export function pipelineFor(mode: string): readonly string[] {
  return mode === 'offboard' ? OFFBOARD_PIPELINE : ONBOARD_PIPELINE;
}
