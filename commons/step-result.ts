import type { LedgerChanges } from './ledger';

/**
 * What one step did to one account: the unit of the per-account report.
 *
 * A dry run reads what the real run reads, writes nothing anywhere (member accounts, secrets,
 * ledger, topic), and each step returns what the real run would do: its action, the reason
 * `dry-run`, and where the action alone does not say it, the real run's reason as
 * `details.planned`. A later step decides on those predictions in `TaskInput.steps`, never by
 * reading what an earlier step only planned to create or remove (the access key step lists no
 * keys of a user the user step would create; register hands off the key the access key step
 * would issue).
 *
 * Where a read shows that the real run would fail, the step throws the very error the real run
 * would throw (same name, so the same remediation), rather than returning a result that predicts
 * it: the state machine's Catch then takes it down the one path a real failure takes, to
 * RecordResult, which writes nothing to the ledger in a dry run. So a dry-run report reads like
 * the real run's, and no second, "predicted failure" shape exists for the report, the CLI or
 * retry-failed to learn. What no read call of casbridge's roles can see is not predicted: an SCP
 * or a missing member-role grant (the member role may simulate only the connector user, not
 * itself), the log bucket's existence and policy (another account's, often), a webhook that
 * does not answer.
 */
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
/** An account no longer in the organization: central records only (functions/depart). */
export const DEPART_PIPELINE = ['depart'] as const;

export function pipelineFor(mode: string): readonly string[] {
  if (mode === 'offboard' || mode === 'auto-offboard') return OFFBOARD_PIPELINE;
  if (mode === 'depart') return DEPART_PIPELINE;
  return ONBOARD_PIPELINE;
}
