/** What one step did to one account: the unit of the per-account report. */
export type StepAction = 'created' | 'updated' | 'unchanged' | 'skipped';

export interface StepResult {
  action: StepAction;
  reason?: string;
  /** Small, secret-free facts (ids, names, counts) for the report. */
  details?: Record<string, string | number | boolean>;
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
