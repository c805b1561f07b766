import type { ReportAccount, RunReport } from '../run';
import { stepCell, stepColumns } from './steps';
import { type ReportWording, reportWording } from './wording';

/**
 * The report as CSV (RFC 4180): a header, then one row per account, CRLF line ends. Columns:
 * accountId, name, ou, outcome, changed, connector, one per step (its action, or `failed`; in a
 * plan `would create`, `would fail`...), errorName, errorStep, remediation, skipReason,
 * handledByRunId (the run that handles the account instead: a duplicate event's first run, or the
 * run that took over a lost lease). The outcome, connector and error columns keep their machine
 * values in a plan too, so a filter on them works on both.
 */
export function renderCsv(report: RunReport): string {
  const steps = stepColumns(report);
  const header = [
    'accountId',
    'name',
    'ou',
    'outcome',
    'changed',
    'connector',
    ...steps,
    'errorName',
    'errorStep',
    'remediation',
    'skipReason',
    'handledByRunId',
  ];
  const words = reportWording(report);
  const rows = report.accounts.map((account) => csvRow(account, steps, words));
  return `${[header, ...rows].map((cells) => cells.map(csvField).join(',')).join('\r\n')}\r\n`;
}

function csvRow(account: ReportAccount, steps: readonly string[], words: ReportWording): string[] {
  return [
    account.accountId,
    account.name,
    account.ou,
    account.outcome,
    String(account.changed),
    account.connector,
    ...steps.map((step) => {
      const cell = stepCell(account, step);
      return cell ? words.step(step, cell.status) : '';
    }),
    account.error?.name ?? '',
    account.error?.step ?? '',
    account.error?.remediation ?? '',
    account.skipReason ?? '',
    account.handledByRunId ?? '',
  ];
}

/**
 * One field, quoted when it holds a comma, quote, CR or LF (quotes doubled). Account names are
 * user-controlled and spreadsheets run a cell starting with = + - @ (or a tab or CR) as a
 * formula, so such a cell is prefixed with an apostrophe, the OWASP mitigation for CSV injection.
 */
export function csvField(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}
