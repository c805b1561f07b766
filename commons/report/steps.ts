import type { ReportAccount, RunReport } from '../run';
import { pipelineFor, type StepAction } from '../step-result';

/** What a report shows for one step of one account: the step's action, or the step that failed. */
export type StepStatus = StepAction | 'failed';

export interface StepCell {
  status: StepStatus;
  reason?: string;
}

/**
 * The step columns of a report, in pipeline order for the run's mode, then any other step an
 * account reports (alphabetically), so CSV columns and HTML badges line up across accounts.
 */
export function stepColumns(report: Pick<RunReport, 'mode' | 'accounts'>): string[] {
  const columns = [...pipelineFor(report.mode)];
  const extra = new Set<string>();
  for (const account of report.accounts) {
    for (const step of Object.keys(account.steps)) if (!columns.includes(step)) extra.add(step);
    const failed = account.error?.step;
    if (failed && !columns.includes(failed)) extra.add(failed);
  }
  return [...columns, ...[...extra].sort()];
}

/**
 * The account's cell for `step`: `failed` for the step its error names (even with a result: a
 * register step whose SNS hand-off went out and whose webhook failed), else its result. A step
 * the account never reached (after a failure, or a skipped account) has no cell.
 */
export function stepCell(account: ReportAccount, step: string): StepCell | undefined {
  if (account.outcome === 'FAILED' && account.error?.step === step) {
    return { status: 'failed', reason: `${account.error.name}: ${account.error.message}` };
  }
  const result = account.steps[step];
  if (result) return { status: result.action, ...(result.reason ? { reason: result.reason } : {}) };
  return undefined;
}
