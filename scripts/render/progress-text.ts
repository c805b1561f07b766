import { OUTCOMES } from '../../commons/report/build-report';
import type { ReportWording } from '../../commons/report/wording';
import type { RunReport } from '../../commons/run';

/**
 * What a run's progress line says it is waiting for, by the error its accounts are retrying: the
 * retriers back off for seconds to a minute, and a line that only counts accounts looks stuck.
 */
const WAITING_FOR: Readonly<Record<string, (n: number) => string>> = {
  TransientAwsError: (n) => `retrying ${accounts(n)} after throttling`,
  RoleNotReady: (n) => `waiting for the role in ${n} new ${n === 1 ? 'account' : 'accounts'}`,
  BucketPolicyNotReady: (n) => `waiting for the trail bucket's policy for ${accounts(n)}`,
  KeyNotPropagated: (n) => `waiting for the new key of ${accounts(n)} to propagate`,
};

/** "retrying 2 accounts after throttling; waiting for the role in 1 new account", or ''. */
export function waitingText(retrying: ReadonlyMap<unknown, string>): string {
  const byError = new Map<string, number>();
  for (const error of retrying.values()) byError.set(error, (byError.get(error) ?? 0) + 1);
  return [...byError.entries()]
    .map(([error, n]) => (WAITING_FOR[error] ?? ((k: number) => `retrying ${accounts(k)} after ${error}`))(n))
    .join('; ');
}

/** The run's last progress line, from its report: the counts the table below it shows. */
export function finalProgressLine(report: RunReport, words: ReportWording, status = 'Finished'): string {
  const s = report.summary;
  return `${status}: ${s.total}/${s.total} accounts done — ${OUTCOMES.map((o) => `${s.byOutcome[o]} ${words.outcome(o)}`).join(', ')}`;
}

function accounts(n: number): string {
  return `${n} ${n === 1 ? 'account' : 'accounts'}`;
}
