import { OUTCOMES } from '../../commons/report/build-report';
import { type StepStatus, stepCell, stepColumns } from '../../commons/report/steps';
import { capitalize, PLAN_BANNER, type ReportWording, reportWording } from '../../commons/report/wording';
import type { ReportAccount, RunReport } from '../../commons/run';
import { type Column, fitTable, wrapWords } from './columns';
import { PLAIN, paintConnector, paintOutcome, type Style } from './style';
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

/** The width remediations wrap at when the table is printed whole (a pipe, a file, `--wide`). */
export const DEFAULT_WIDTH = 120;

/** A connector status in at most ten characters, for a table squeezed into a narrow terminal. */
export const CONNECTOR_ABBREVIATIONS: Readonly<Record<string, string>> = {
  AWAITING_CONNECTION: 'AWAITING',
  HANDOFF_OVERDUE: 'OVERDUE',
  NOT_REGISTERED: 'NOT_REG',
};

export interface RenderOptions {
  /** Colour or plain (default plain: files, pipes and tests). */
  style?: Style;
  /**
   * The terminal's width: the table drops the OU, folds the step marks into one cell, abbreviates
   * connector statuses and wraps errors until it fits. Undefined (a pipe, `--wide`): every column.
   */
  width?: number | undefined;
}

/**
 * The per-account table, what to do about each failure, and the summary: what `casbridge run`,
 * `report` and the demo print. Failed accounts come first: they are what the operator acts on.
 * The account's name is left out (the JSON, CSV and HTML reports carry it). A plan (dry run) says
 * so above its table and words its outcomes, failures and marks as what a run would do.
 */
export function renderReportTable(untrusted: RunReport, options: RenderOptions = {}): string {
  // A report read back from S3 holds the organization's names and AWS's messages as they were.
  const report = terminalSafe(untrusted);
  const style = options.style ?? PLAIN;
  const out = report.dryRun ? [style.bold(PLAN_BANNER), ''] : [];
  out.push(
    fitTable(reportLayouts(report, style), failuresFirst(report.accounts), { style, width: options.width }),
  );
  const width = options.width ?? DEFAULT_WIDTH;
  const remediations = renderRemediations(report.accounts, width, style, reportWording(report));
  if (remediations) out.push('', remediations);
  out.push('', renderSummary(report, width));
  return out.join('\n');
}

/** Failed accounts first, the others in the order the run listed them. */
export function failuresFirst<T extends { outcome: string }>(accounts: readonly T[]): T[] {
  return [
    ...accounts.filter((a) => a.outcome === 'FAILED'),
    ...accounts.filter((a) => a.outcome !== 'FAILED'),
  ];
}

/** The table's layouts, widest first: each drops or shortens what matters least. */
function reportLayouts(report: RunReport, style: Style): Column<ReportAccount>[][] {
  const words = reportWording(report);
  const steps = stepColumns(report);
  const account: Column<ReportAccount> = { head: 'ACCOUNT', cell: (a) => a.accountId };
  const ou: Column<ReportAccount> = { head: 'OU', cell: (a) => a.ou || '(root)' };
  const outcome: Column<ReportAccount> = {
    head: 'OUTCOME',
    cell: (a) => words.outcome(a.outcome).toUpperCase(),
    paint: (text, a) => paintOutcome(a.outcome, style, text),
  };
  const stepEach = steps.map(
    (s): Column<ReportAccount> => ({
      head: STEP_LABELS[s] ?? s,
      cell: (a) => stepMark(a, s),
      paint: (text) => paintMark(text, style),
    }),
  );
  // One cell of marks, headed by each step's initial (A U P K T R V): the same marks, 8 columns not 40.
  const stepsCompact: Column<ReportAccount> = {
    head: steps.map((s) => (STEP_LABELS[s] ?? s).charAt(0).toUpperCase()).join(''),
    cell: (a) => steps.map((s) => stepMark(a, s) || ' ').join(''),
    paint: (text) => [...text].map((mark) => paintMark(mark, style)).join(''),
  };
  const connector: Column<ReportAccount> = {
    head: 'CONNECTOR',
    cell: (a) => a.connector,
    paint: (text) => paintConnector(text, style),
  };
  const connectorShort: Column<ReportAccount> = {
    head: 'CONNECTOR',
    cell: (a) => CONNECTOR_ABBREVIATIONS[a.connector] ?? a.connector,
    paint: (text, a) => paintConnector(a.connector, style).replace(a.connector, text),
  };
  // The failed step is the row's `x`; the error's name is what the README's troubleshooting lists.
  const error: Column<ReportAccount> = {
    head: 'ERROR',
    cell: (a) =>
      (a.error ? `${words.failurePrefix}${a.error.name}` : (a.skipReason ?? '')) +
      (a.handledByRunId ? ` (handled by ${a.handledByRunId})` : ''),
    paint: (text, a) => (a.error ? style.red(text) : style.dim(text)),
    wrap: { min: 16 },
  };
  return [
    [account, ou, outcome, ...stepEach, connector, error],
    [account, outcome, ...stepEach, connector, error],
    [account, outcome, stepsCompact, connector, error],
    [account, outcome, stepsCompact, connectorShort, error],
  ];
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
    const [first, ...more] = wrap(
      `(${group.accounts.join(', ')})`,
      width - 4 - group.name.length - words.failurePrefix.length,
    );
    lines.push(`  ${style.red(`${words.failurePrefix}${group.name}`)} ${first ?? ''}`);
    if (more.length > 0) lines.push(...wrap(more.join(' '), width - 4).map((line) => `    ${line}`));
    lines.push(...wrap(group.remediation, width - 4).map((line) => `    ${line}`));
  }
  return lines.join('\n');
}

/** The run's counts; lines longer than `width` fold onto indented lines. */
export function renderSummary(untrusted: RunReport, width = DEFAULT_WIDTH): string {
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
    ...(s.keysDue
      ? [
          `Keys due (\`casbridge credentials ACCOUNT --new-key\`): ${s.keysDue.notMintedYet} not minted yet, ${s.keysDue.rotationDue} rotation due`,
        ]
      : []),
    ...(failures ? [`${words.failures}: ${failures}`] : []),
    `Marks: ${marks}`,
  ]
    .flatMap((line) => foldLine(line, width))
    .join('\n');
}

/** Words onto lines of at most `width` characters (a longer word, an ARN, is cut across lines). */
export function wrap(text: string, width: number): string[] {
  return wrapWords(text, width);
}

export function foldLine(line: string, width: number): string[] {
  if (line.length <= width) return [line];
  const [first, ...rest] = wrap(line, width);
  return [first ?? '', ...wrap(rest.join(' '), width - 2).map((part) => `  ${part}`)];
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
