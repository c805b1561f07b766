import { OUTCOMES } from '../../commons/report/build-report';
import { type StepStatus, stepCell, stepColumns } from '../../commons/report/steps';
import { capitalize, PLAN_BANNER, type ReportWording, reportWording } from '../../commons/report/wording';
import type { ReportAccount, RunReport } from '../../commons/run';
import { PLAIN, paintConnector, paintOutcome, renderTable, type Style } from './style';
import { terminalSafe } from './terminal-text';

/** One character per step action, so a row shows an account's whole pipeline at a glance. */
export const STEP_MARKS: Readonly<Record<StepStatus, string>> = {
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
  depart: 'dep',
};

/** A terminal's usual width: the table and the wrapped remediations fit in it. */
export const DEFAULT_WIDTH = 120;

export interface RenderOptions {
  /** Colour or plain (default plain: files, pipes and tests). */
  style?: Style;
  /** Wrap the remediation text at this width (default 120). */
  width?: number;
}

/**
 * The per-account table, what to do about each failure, and the summary: what `casbridge run`,
 * `report` and the demo print. The account's name is left out so a row fits in 120 columns; the
 * JSON, CSV and HTML reports carry it. A plan (dry run) says so above its table and words its
 * outcomes, failures and marks as what a run would do.
 */
export function renderReportTable(untrusted: RunReport, options: RenderOptions = {}): string {
  // A report read back from S3 holds the organization's names and AWS's messages as they were.
  const report = terminalSafe(untrusted);
  const style = options.style ?? PLAIN;
  const steps = stepColumns(report);
  const words = reportWording(report);
  const head = ['ACCOUNT', 'OU', 'OUTCOME', ...steps.map((s) => STEP_LABELS[s] ?? s), 'CONNECTOR', 'ERROR'];
  const rows = report.accounts.map((a) => [
    a.accountId,
    a.ou || '(root)',
    paintOutcome(a.outcome, style, words.outcome(a.outcome).toUpperCase()),
    ...steps.map((s) => paintMark(stepMark(a, s), style)),
    paintConnector(a.connector, style),
    // The failed step is the row's `x`; the error's name is what the README's troubleshooting lists.
    (a.error ? style.red(`${words.failurePrefix}${a.error.name}`) : style.dim(a.skipReason ?? '')) +
      (a.handledByRunId ? style.dim(` (handled by ${a.handledByRunId})`) : ''),
  ]);
  const out = report.dryRun ? [style.bold(PLAN_BANNER), ''] : [];
  out.push(renderTable(head, rows, style));
  const remediations = renderRemediations(report.accounts, options.width ?? DEFAULT_WIDTH, style, words);
  if (remediations) out.push('', remediations);
  out.push('', renderSummary(report));
  return out.join('\n');
}

/**
 * What to do, once per distinct error and remediation, naming the accounts it applies to: a
 * fault shared by fifty accounts is one instruction, not fifty lines.
 */
export function renderRemediations(
  untrusted: readonly ReportAccount[],
  width: number,
  style: Style,
  words: ReportWording = reportWording({ dryRun: false }),
): string {
  const accounts = terminalSafe(untrusted);
  const groups = new Map<string, { name: string; remediation: string; accounts: string[] }>();
  for (const account of accounts) {
    if (!account.error) continue;
    const key = `${account.error.name}\u0000${account.error.remediation}`;
    const group = groups.get(key) ?? {
      name: account.error.name,
      remediation: account.error.remediation,
      accounts: [],
    };
    group.accounts.push(account.accountId);
    groups.set(key, group);
  }
  if (groups.size === 0) return '';
  const lines = ['What to do:'];
  for (const group of groups.values()) {
    lines.push(`  ${style.red(`${words.failurePrefix}${group.name}`)} (${group.accounts.join(', ')})`);
    lines.push(...wrap(group.remediation, width - 4).map((line) => `    ${line}`));
  }
  return lines.join('\n');
}

export function renderSummary(untrusted: RunReport): string {
  const report = terminalSafe(untrusted);
  const words = reportWording(report);
  const s = report.summary;
  const connectors = Object.entries(s.byConnector)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  const failures = Object.entries(s.failuresByError)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  const marks = Object.entries(STEP_MARKS)
    .map(([status, mark]) => `${mark} ${words.step('', status as StepStatus)}`)
    .join('  ');
  return [
    `${capitalize(words.noun)} ${report.runId} (${report.mode}${report.dryRun ? ', dry run' : ''}, ${(report.durationMs / 1000).toFixed(1)} s): ` +
      `${s.total} accounts — ${OUTCOMES.map((o) => `${s.byOutcome[o]} ${words.outcome(o)}`).join(', ')}`,
    `Changes: ${s.changed} accounts ${words.changed}, ${s.unchanged} unchanged`,
    `Connectors: ${connectors || 'none'}`,
    ...(failures ? [`${words.failures}: ${failures}`] : []),
    `Marks: ${marks}`,
  ].join('\n');
}

/** Words onto lines of at most `width` characters (a longer word keeps a line to itself). */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(line);
  return lines;
}

function stepMark(account: ReportAccount, step: string): string {
  const cell = stepCell(account, step);
  return cell ? (STEP_MARKS[cell.status] ?? '?') : '';
}

function paintMark(mark: string, style: Style): string {
  if (mark === STEP_MARKS.failed) return style.red(mark);
  if (mark === STEP_MARKS.skipped || mark === STEP_MARKS.unchanged) return style.dim(mark);
  if (mark === STEP_MARKS.created || mark === STEP_MARKS.updated) return style.green(mark);
  return mark;
}
