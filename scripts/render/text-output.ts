import type { RunReport } from '../../commons/run';
import type { AccountStatus } from './status-table';
import { escapeControl } from './terminal-text';

/**
 * `--output text`, as the AWS CLI's: one record per line, fields tab-separated in a fixed order
 * and no header, for `cut`, `awk` and `while read`; an absent value is `None`, as there. A value's
 * own tab, line break or control character (an account's name is the organization's to choose) is
 * escaped (`\t`), so a record stays one line of the fields it has. Written with writeRecords.
 */
export function statusText(accounts: readonly AccountStatus[]): string {
  return lines(
    accounts.map((a) => [
      a.accountId,
      a.name,
      a.ou,
      a.connector,
      a.lastOutcome,
      a.lastRunAt,
      a.accessKeyId,
      a.keyAgeDays,
    ]),
  );
}

/** A report's accounts: id, name, OU, outcome, connector status, and the error's name when failed. */
export function reportText(report: RunReport): string {
  return lines(
    report.accounts.map((a) => [a.accountId, a.name, a.ou, a.outcome, a.connector, a.error?.name ?? null]),
  );
}

function lines(records: readonly (readonly (string | number | null | undefined)[])[]): string {
  return records
    .map((fields) =>
      fields.map((f) => (f === null || f === undefined ? 'None' : escapeControl(String(f)))).join('\t'),
    )
    .map((line) => `${line}\n`)
    .join('');
}
