import type { LedgerItem } from '../../commons/ledger';
import { stepCell } from '../../commons/report/steps';
import type { ReportAccount } from '../../commons/run';
import { type Column, fitTable, wrapWords } from './columns';
import { DEFAULT_WIDTH, STEP_MARKS } from './report-table';
import type { AccountStatus } from './status-table';
import { PLAIN, type Style } from './style';
import { terminalSafe } from './terminal-text';

/** The last run's part in an account's detail: its row of the run's report, or why there is none. */
export type LastRunDetail =
  | { runId: string; account: ReportAccount; mode: string }
  | { runId: string; unavailable: string };

/**
 * `casbridge status ACCOUNT` below the account's row and lease: the steps of its last run (from
 * that run's report), its keys and their ages, the hand-off's history (asked, reminded, told it
 * went stale, confirmed, revealed, unlocked), then every field of its ledger record as stored.
 */
export function renderAccountDetail(
  untrustedItem: LedgerItem,
  untrustedStatus: AccountStatus,
  untrustedLastRun: LastRunDetail | undefined,
  options: { style?: Style; width?: number | undefined } = {},
): string {
  const item = terminalSafe(untrustedItem);
  const status = terminalSafe(untrustedStatus);
  const lastRun = terminalSafe(untrustedLastRun);
  const style = options.style ?? PLAIN;
  const width = options.width ?? DEFAULT_WIDTH;
  const out: string[] = [];

  if (lastRun) {
    out.push('');
    if ('unavailable' in lastRun) {
      out.push(`Steps of the last run ${lastRun.runId}: ${lastRun.unavailable}`);
    } else {
      out.push(`Steps of the last run ${lastRun.runId} (${lastRun.mode}, ${lastRun.account.outcome}):`);
      out.push(indent(renderSteps(lastRun.account, style, width - 2)));
    }
  }

  out.push('', 'Keys:');
  const keys = fields(
    [
      ['in service', keyLine(status.accessKeyId, status.keyAgeDays, status.keyCreatedAt)],
      ['pending (rotation)', status.pendingAccessKeyId],
      ['last used', status.keyLastUsedAt],
      ['verified', item.verifiedAccessKeyId],
      ['secret', status.secretArn ?? (status.secretDeletedAt ? `deleted ${status.secretDeletedAt}` : null)],
      [
        'rotation asked',
        item.rotationRequestedAt ? `${item.rotationRequestedAt} by ${item.rotationRequestedBy ?? '?'}` : null,
      ],
    ],
    width,
  );
  out.push(...(keys.length > 0 ? keys : ['  none']));

  out.push('', 'Hand-off history:');
  const history = fields(
    [
      ['handed off', item.handoffAt ? `${item.handoffAt} (key ${item.handoffAccessKeyId ?? '?'})` : null],
      [
        'reminded',
        item.handoffReminderAt
          ? `${item.handoffReminderAt} (key ${item.handoffReminderAccessKeyId ?? '?'})`
          : null,
      ],
      [
        'stale notice',
        item.staleNoticeAt ? `${item.staleNoticeAt} (key ${item.staleNoticeAccessKeyId ?? '?'})` : null,
      ],
      ['confirmed', item.confirmedAt ? `${item.confirmedAt} by ${item.confirmedBy ?? '?'}` : null],
      ['revealed', item.revealedAt ? `${item.revealedAt} by ${item.revealedBy ?? '?'}` : null],
      ['connected', item.connectedAt],
      ['offboarded', item.offboardedAt],
      [
        'unlocked',
        item.unlockedAt
          ? `${item.unlockedAt} by ${item.unlockedBy ?? '?'} (run ${item.unlockedLeaseRunId ?? item.unlockedLeaseOwner ?? '?'})`
          : null,
      ],
    ],
    width,
  );
  out.push(...(history.length > 0 ? history : ['  none yet']));

  out.push('', 'Ledger record (every field, as stored):');
  const record = Object.entries(item as unknown as Record<string, unknown>)
    .filter(([, value]) => value !== undefined)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, value]): [string, string] => [
      key,
      typeof value === 'string' ? value : JSON.stringify(value),
    ]);
  out.push(...fields(record, width));
  return out.join('\n');
}

/** One line per step of the account's last run: its mark, what it did and why. */
function renderSteps(account: ReportAccount, style: Style, width: number): string {
  const steps = [
    ...new Set([...Object.keys(account.steps), ...(account.error?.step ? [account.error.step] : [])]),
  ];
  const rows = steps.map((step) => ({ step, cell: stepCell(account, step) }));
  const columns: Column<(typeof rows)[number]>[] = [
    { head: 'STEP', cell: (r) => r.step },
    {
      head: 'DID',
      cell: (r) => (r.cell ? `${STEP_MARKS[r.cell.status]} ${r.cell.status}` : ''),
      paint: (text, r) => (r.cell?.status === 'failed' ? style.red(text) : text),
    },
    { head: 'WHY', cell: (r) => r.cell?.reason ?? '', wrap: { min: 20 } },
  ];
  return fitTable([columns], rows, { style, width });
}

function keyLine(id: string | null, ageDays: number | null, createdAt: string | null): string | null {
  if (!id) return null;
  return `${id}${createdAt ? `, created ${createdAt}` : ''}${ageDays === null ? '' : ` (${ageDays} d old)`}`;
}

/** `  label  value` lines, values wrapped under themselves; empty values left out. */
function fields(pairs: readonly [string, string | null | undefined][], width: number): string[] {
  const shown = pairs.filter((pair): pair is [string, string] => Boolean(pair[1]));
  const labelWidth = Math.max(0, ...shown.map(([label]) => label.length));
  return shown.flatMap(([label, value]) => {
    const [first, ...rest] = wrapWords(value, Math.max(20, width - labelWidth - 4));
    return [
      `  ${label.padEnd(labelWidth)}  ${first ?? ''}`,
      ...rest.map((line) => `  ${' '.repeat(labelWidth)}  ${line}`),
    ];
  });
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `  ${line}`)
    .join('\n');
}
