import type { Config } from '../../commons/config';
import { handoffWait, IAM3_MAX_KEY_AGE_DAYS } from '../../commons/handoff-overdue';
import type { ConnectorStatus, KeyDueReason, LedgerItem } from '../../commons/ledger';
import { type Column, fitTable } from './columns';
import {
  describeLease,
  type LeaseStatus,
  leaseHolder,
  leaseStatus,
  relativeTime,
  type UnlockRecord,
  unlockRecord,
} from './lease-text';
import { CONNECTOR_ABBREVIATIONS, DEFAULT_WIDTH, foldLine, wrap } from './report-table';
import { PLAIN, paintConnector, paintOutcome, type Style } from './style';
import { terminalSafe } from './terminal-text';

const DAY_MS = 86_400_000;
/** Long names would push the table past 120 columns; the JSON output has them whole. */
const NAME_WIDTH = 18;
export const CONNECTOR_ORDER: readonly ConnectorStatus[] = [
  'CONNECTED',
  'AWAITING_CONNECTION',
  'HANDOFF_OVERDUE',
  'STALE',
  'NOT_REGISTERED',
  'OFFBOARDED',
  'RETIRED',
  'DEPARTED',
];

/** One account's ledger record as `casbridge status --json` prints it. */
export interface AccountStatus {
  accountId: string;
  name: string | null;
  ou: string | null;
  connector: ConnectorStatus;
  lastOutcome: string | null;
  lastRunId: string | null;
  lastRunAt: string | null;
  accessKeyId: string | null;
  pendingAccessKeyId: string | null;
  keyCreatedAt: string | null;
  keyAgeDays: number | null;
  secretArn: string | null;
  handoffAt: string | null;
  /** The key the operator was asked to paste (the pending one during a rotation). */
  handoffAccessKeyId: string | null;
  /** Whole days the handed-off key has waited for the connector; null when none waits. */
  handoffWaitingDays: number | null;
  /** When the operator was last reminded of the waiting key. */
  handoffReminderAt: string | null;
  /** When Security Hub IAM.22 fails the waiting key if it stays unused. */
  failsIam22At: string | null;
  connectedAt: string | null;
  /** The connector's last use of the key in service (by a service other than STS), as last seen. */
  keyLastUsedAt: string | null;
  /** When casbridge deleted the connector secret once the connector held the key; null while kept. */
  secretDeletedAt: string | null;
  /** When the operator was last told the connector stopped using its key. */
  staleNoticeAt: string | null;
  confirmedAt: string | null;
  confirmedBy: string | null;
  revealedAt: string | null;
  revealedBy: string | null;
  lastError: { name: string; message: string; step: string | null; remediation: string | null } | null;
  /**
   * keyDelivery on-demand: a key is due and not minted yet (`new-account`: "key not minted yet";
   * `rotation-due`, `requested`: a rotation), minted by `casbridge credentials ID --new-key`.
   */
  keyDue: KeyDueReason | null;
  keyDueAt: string | null;
  /** When a rotation due's key in service fails Security Hub IAM.3 (90 days old). */
  failsIam3At: string | null;
  /** The lease that serialises runs on the account; null when none is recorded. */
  lease: LeaseStatus | null;
  lastUnlock: UnlockRecord | null;
}

export function accountStatus(
  item: LedgerItem,
  now: number,
  config: Pick<Config, 'handoffOverdueDays'>,
): AccountStatus {
  const wait = handoffWait(item, config, now);
  return {
    accountId: item.accountId,
    name: item.name ?? null,
    ou: item.ou ?? null,
    connector: item.connector,
    lastOutcome: item.lastOutcome ?? null,
    lastRunId: item.lastRunId ?? null,
    lastRunAt: item.lastRunAt ?? null,
    accessKeyId: item.accessKeyId ?? null,
    pendingAccessKeyId: item.pendingAccessKeyId ?? null,
    keyCreatedAt: item.keyCreatedAt ?? null,
    keyAgeDays: item.keyCreatedAt ? Math.floor((now - Date.parse(item.keyCreatedAt)) / DAY_MS) : null,
    secretArn: item.secretArn ?? null,
    handoffAt: item.handoffAt ?? null,
    handoffAccessKeyId: item.handoffAccessKeyId ?? null,
    handoffWaitingDays: wait?.waitingDays ?? null,
    handoffReminderAt:
      wait && item.handoffReminderAccessKeyId === wait.accessKeyId ? (item.handoffReminderAt ?? null) : null,
    failsIam22At: wait?.failsIam22At ?? null,
    connectedAt: item.connectedAt ?? null,
    keyLastUsedAt: item.keyLastUsedAt ?? null,
    secretDeletedAt: item.secretDeletedAt ?? null,
    staleNoticeAt: item.staleNoticeAt ?? null,
    confirmedAt: item.confirmedAt ?? null,
    confirmedBy: item.confirmedBy ?? null,
    revealedAt: item.revealedAt ?? null,
    revealedBy: item.revealedBy ?? null,
    lastError: item.lastError
      ? {
          name: item.lastError.name,
          message: item.lastError.message,
          step: item.lastError.step ?? null,
          remediation: item.lastError.remediation ?? null,
        }
      : null,
    keyDue: item.keyDue ?? null,
    keyDueAt: item.keyDueAt ?? null,
    failsIam3At:
      item.keyDue && item.keyDue !== 'new-account' && item.keyCreatedAt
        ? new Date(Date.parse(item.keyCreatedAt) + IAM3_MAX_KEY_AGE_DAYS * DAY_MS).toISOString()
        : null,
    lease: leaseStatus(item, now),
    lastUnlock: unlockRecord(item),
  };
}

/** The keys due under keyDelivery on-demand: new accounts' keys not minted yet, and rotations due. */
export function countKeysDue(accounts: readonly AccountStatus[]): {
  notMintedYet: number;
  rotationDue: number;
} {
  return {
    notMintedYet: accounts.filter((a) => a.keyDue === 'new-account').length,
    rotationDue: accounts.filter((a) => a.keyDue === 'rotation-due' || a.keyDue === 'requested').length,
  };
}

/** Counts by connector status, in the order an operator works through them. */
export function countByConnector(accounts: readonly AccountStatus[]): Record<ConnectorStatus, number> {
  const counts = Object.fromEntries(CONNECTOR_ORDER.map((c) => [c, 0])) as Record<ConnectorStatus, number>;
  for (const account of accounts) counts[account.connector] = (counts[account.connector] ?? 0) + 1;
  return counts;
}

/**
 * The ledger as a table (account, name, OU, connector, last outcome and run, key id and age),
 * then each account's last error with its remediation, then the counts.
 */
export function renderStatusTable(
  untrusted: readonly AccountStatus[],
  style: Style = PLAIN,
  options: {
    /** One account asked for by id: its lease (or none) and last unlock are spelled out. */
    oneAccount?: boolean;
    /** The terminal's width to fit (see `fitTable`); undefined prints every column. */
    width?: number | undefined;
  } = {},
): string {
  // Names and OUs are the organization's, last errors quote AWS: escaped before they are laid out.
  const accounts = failedFirst(terminalSafe(untrusted));
  const width = options.width ?? DEFAULT_WIDTH;
  const out = [fitTable(statusLayouts(style), accounts, { style, width: options.width })];
  const overdue = accounts.filter((a) => a.connector === 'HANDOFF_OVERDUE');
  if (overdue.length > 0) {
    out.push('', 'Hand-offs overdue (Security Hub IAM.22 fails a key unused for 45 days):');
    for (const a of overdue) {
      const waited = a.handoffWaitingDays === null ? '' : ` has waited ${a.handoffWaitingDays} d;`;
      const reminded = a.handoffReminderAt ? ` reminded ${a.handoffReminderAt.slice(0, 10)};` : '';
      const fails = a.failsIam22At ? ` IAM.22 from ${a.failsIam22At.slice(0, 10)}` : '';
      out.push(
        `  ${a.accountId} ${style.red('HANDOFF_OVERDUE')} key ${a.handoffAccessKeyId ?? '?'}${waited}${reminded}${fails}`,
      );
    }
  }
  const due = accounts.filter((a) => a.keyDue);
  if (due.length > 0) {
    out.push('', 'Keys due, minted at the portal by `casbridge credentials ACCOUNT --new-key`:');
    for (const a of due) {
      const since = a.keyDueAt ? ` since ${a.keyDueAt.slice(0, 10)}` : '';
      const what =
        a.keyDue === 'new-account'
          ? 'key not minted yet'
          : `rotation due (key ${a.accessKeyId ?? '?'}, ${a.keyAgeDays ?? '?'} d old, stays in service until the new one is used${a.failsIam3At ? `; IAM.3 fails it from ${a.failsIam3At.slice(0, 10)}` : ''})`;
      out.push(`  ${a.accountId} ${style.yellow(what)}${since}`);
    }
  }
  const stale = accounts.filter((a) => a.connector === 'STALE');
  if (stale.length > 0) {
    out.push('', 'Connectors that stopped using their key (STALE):');
    for (const a of stale) {
      const used = a.keyLastUsedAt ? ` last used ${a.keyLastUsedAt.slice(0, 10)};` : ' no use seen;';
      const told = a.staleNoticeAt ? ` operator told ${a.staleNoticeAt.slice(0, 10)};` : '';
      const next = a.secretDeletedAt
        ? ` no secret kept: \`casbridge credentials ${a.accountId} --new-key\` for a new key to paste`
        : ` re-paste from \`casbridge credentials ${a.accountId}\``;
      out.push(`  ${a.accountId} ${style.red('STALE')} key ${a.accessKeyId ?? '?'};${used}${told}${next}`);
    }
  }
  const one = options.oneAccount ? accounts[0] : undefined;
  if (one) {
    const a = one;
    out.push('', `Lease: ${describeLease(a.lease)}`);
    if (a.lastUnlock) {
      const whose = a.lastUnlock.token
        ? ` (${leaseHolder({ runId: a.lastUnlock.runId, token: a.lastUnlock.token })})`
        : '';
      out.push(`Last unlocked by ${a.lastUnlock.by} at ${a.lastUnlock.at}${whose}`);
    }
  } else {
    // A section, not a column: the table stays as narrow as it is.
    const held = accounts.filter((a) => a.lease && !a.lease.expired);
    if (held.length > 0) {
      out.push('', 'Leases held (a run is working on these accounts, or died holding them):');
      for (const a of held) {
        const lease = a.lease as LeaseStatus;
        const expires =
          lease.expiresInSeconds === null ? '' : `, expires ${relativeTime(lease.expiresInSeconds)}`;
        // The run id alone: a deployed execution's token is an ARN too long for the line.
        out.push(`  ${a.accountId} run ${lease.runId ?? lease.token}${expires}`);
      }
    }
  }
  const failing = accounts.filter((a) => a.lastError);
  if (failing.length > 0) {
    out.push('', 'Last errors:');
    for (const a of failing) {
      const error = a.lastError!;
      out.push(`  ${a.accountId} ${style.red(error.name)}${error.step ? ` in ${error.step}` : ''}`);
      for (const text of [error.message, error.remediation ?? ''])
        out.push(...wrap(text, width - 4).map((line) => `    ${line}`));
    }
  }
  out.push('', renderCounts(accounts));
  // The table fits itself; on a terminal the sections' long lines (an ARN in a message) fold
  // under it, and a pipe gets them whole, as it gets the table.
  if (options.width === undefined) return out.join('\n');
  const [table, ...sections] = out;
  return [
    table,
    ...sections.flatMap((line) => (line.includes('\u001b') ? [line] : foldLine(line, width))),
  ].join('\n');
}

/** Accounts whose last run failed first, the others in the ledger's order. */
function failedFirst(accounts: readonly AccountStatus[]): AccountStatus[] {
  return [
    ...accounts.filter((a) => a.lastOutcome === 'FAILED'),
    ...accounts.filter((a) => a.lastOutcome !== 'FAILED'),
  ];
}

/** The ledger table's layouts, widest first: the key id and OU go before the name and the key's age. */
function statusLayouts(style: Style): Column<AccountStatus>[][] {
  const account: Column<AccountStatus> = { head: 'ACCOUNT', cell: (a) => a.accountId };
  const name: Column<AccountStatus> = { head: 'NAME', cell: (a) => truncate(a.name ?? '', NAME_WIDTH) };
  const ou: Column<AccountStatus> = { head: 'OU', cell: (a) => (a.ou === null ? '' : a.ou || '(root)') };
  const connector: Column<AccountStatus> = {
    head: 'CONNECTOR',
    cell: (a) => a.connector,
    paint: (text) => paintConnector(text, style),
  };
  const connectorShort: Column<AccountStatus> = {
    head: 'CONNECTOR',
    cell: (a) => CONNECTOR_ABBREVIATIONS[a.connector] ?? a.connector,
    paint: (text, a) => paintConnector(a.connector, style).replace(a.connector, text),
  };
  const outcome: Column<AccountStatus> = {
    head: 'LAST OUTCOME',
    cell: (a) => a.lastOutcome ?? 'never run',
    paint: (text, a) => (a.lastOutcome ? paintOutcome(a.lastOutcome, style) : style.dim(text)),
  };
  const lastRun: Column<AccountStatus> = {
    head: 'LAST RUN',
    cell: (a) => (a.lastRunAt ? `${a.lastRunAt.slice(0, 16).replace('T', ' ')}Z` : ''),
  };
  const lastRunDay: Column<AccountStatus> = {
    head: 'LAST RUN',
    cell: (a) => a.lastRunAt?.slice(0, 10) ?? '',
  };
  const keyId: Column<AccountStatus> = { head: 'KEY ID', cell: (a) => a.accessKeyId ?? '' };
  const keyAge: Column<AccountStatus> = {
    head: 'KEY AGE',
    cell: (a) => (a.keyAgeDays === null ? '' : `${a.keyAgeDays} d`),
  };
  return [
    [account, name, ou, connector, outcome, lastRun, keyId, keyAge],
    [account, name, connector, outcome, lastRun, keyAge],
    [account, name, connectorShort, outcome, lastRunDay, keyAge],
    [account, connectorShort, outcome, lastRunDay, keyAge],
  ];
}

export function renderCounts(accounts: readonly AccountStatus[]): string {
  const counts = Object.entries(countByConnector(accounts))
    .filter(([, n]) => n > 0)
    .map(([status, n]) => `${status} ${n}`)
    .join(', ');
  const failed = accounts.filter((a) => a.lastOutcome === 'FAILED').length;
  const due = countKeysDue(accounts);
  const keysDue =
    due.notMintedYet + due.rotationDue > 0
      ? `; keys due: ${due.notMintedYet} not minted yet, ${due.rotationDue} rotation due`
      : '';
  return `${accounts.length} accounts in the ledger: ${counts || 'none'}; ${failed} failed their last run${keysDue}`;
}

function truncate(text: string, width: number): string {
  return text.length > width ? `${text.slice(0, width - 1)}…` : text;
}
