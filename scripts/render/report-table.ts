import type { ReportAccount, RunReport } from '../../commons/run';
import { OFFBOARD_PIPELINE, ONBOARD_PIPELINE } from '../../commons/step-result';

/** One character per step action, so a row shows an account's whole pipeline at a glance. */
export const STEP_MARKS: Readonly<Record<string, string>> = {
  created: '+',
  updated: '~',
  unchanged: '=',
  skipped: '-',
  failed: 'x',
};

const STEP_LABELS: Readonly<Record<string, string>> = {
  access: 'acc',
  user: 'usr',
  policy: 'pol',
  accessKey: 'key',
  trail: 'trl',
  register: 'reg',
  verify: 'ver',
  offboard: 'off',
};

/**
 * The per-account table and the summary as plain text: what `casbridge run`, `report` and the
 * demo print. Colour is added by the caller when the terminal supports it.
 */
export function renderReportTable(report: RunReport, options: { width?: number } = {}): string {
  const steps = report.mode === 'offboard' ? OFFBOARD_PIPELINE : ONBOARD_PIPELINE;
  const header = [
    'ACCOUNT',
    'NAME',
    'OU',
    'OUTCOME',
    ...steps.map((s) => STEP_LABELS[s] ?? s),
    'CONNECTOR',
    'ERROR',
  ];
  const rows = report.accounts.map((a) => [
    a.accountId,
    a.name,
    a.ou || '(root)',
    a.outcome,
    ...steps.map((s) => stepMark(a, s)),
    a.connector,
    a.error ? `${a.error.name}${a.error.step ? ` in ${a.error.step}` : ''}` : (a.skipReason ?? ''),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  const out = [line(header), ...rows.map(line)];
  const remediations = report.accounts
    .filter((a) => a.error)
    .map((a) => `  ${a.accountId} ${a.error!.name}: ${a.error!.remediation}`);
  if (remediations.length > 0) out.push('', 'What to do:', ...remediations);
  out.push('', renderSummary(report));
  const width = options.width;
  return width
    ? out.map((l) => (l.length > width ? `${l.slice(0, width - 1)}…` : l)).join('\n')
    : out.join('\n');
}

export function renderSummary(report: RunReport): string {
  const s = report.summary;
  const connectors = Object.entries(s.byConnector)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  const failures = Object.entries(s.failuresByError)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  return [
    `Run ${report.runId} (${report.mode}${report.dryRun ? ', dry run' : ''}): ${s.total} accounts — ` +
      `${s.byOutcome.SUCCEEDED} succeeded, ${s.byOutcome.FAILED} failed, ${s.byOutcome.SKIPPED} skipped; ` +
      `${s.changed} changed, ${s.unchanged} unchanged; ${(report.durationMs / 1000).toFixed(1)} s`,
    `Connectors: ${connectors || 'none'}${failures ? ` | Failures: ${failures}` : ''}`,
    `Marks: + created  ~ updated  = unchanged  - skipped  x failed`,
  ].join('\n');
}

function stepMark(account: ReportAccount, step: string): string {
  const result = account.steps[step];
  if (result) return STEP_MARKS[result.action] ?? '?';
  return account.error?.step === step ? STEP_MARKS.failed! : '';
}
