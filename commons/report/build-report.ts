import type { ConnectorStatus, Outcome } from '../ledger';
import type { ReportAccount, ReportSummary, RunContext, RunReport, SkippedAccount } from '../run';

/** A skipped account as WriteReport knows it: the ledger may tell its connector status. */
export type SkippedForReport = SkippedAccount & { connector?: ConnectorStatus };

export const OUTCOMES: readonly Outcome[] = ['SUCCEEDED', 'FAILED', 'SKIPPED'];
export const CONNECTOR_STATUSES: readonly ConnectorStatus[] = [
  'CONNECTED',
  'AWAITING_CONNECTION',
  'HANDOFF_OVERDUE',
  'STALE',
  'NOT_REGISTERED',
  'OFFBOARDED',
  'RETIRED',
  'DEPARTED',
];
/** The statuses of a connector whose credentials wait for the operator: the reports' hand-off lists. */
export const HANDOFF_STATUSES: readonly ConnectorStatus[] = ['AWAITING_CONNECTION', 'HANDOFF_OVERDUE'];

/**
 * The run report (DESIGN §4.2): every worked-on account's result and every skipped account, one
 * line each, sorted by account id. Nothing silently disappears: an account named twice keeps one
 * line (the worked-on result over the skip, a success over a failure of a redriven child) and
 * every other account keeps its own.
 */
export function buildReport(
  run: RunContext,
  accounts: readonly ReportAccount[],
  skipped: readonly SkippedForReport[],
  finishedAt: string,
): RunReport {
  const byId = new Map<string, ReportAccount>();
  for (const s of skipped) {
    if (byId.has(s.accountId)) continue;
    byId.set(s.accountId, {
      accountId: s.accountId,
      name: s.name ?? '',
      ou: s.ou ?? '',
      outcome: 'SKIPPED',
      changed: false,
      steps: {},
      connector: s.connector ?? 'NOT_REGISTERED',
      skipReason: s.reason,
      ...(s.handledByRunId ? { handledByRunId: s.handledByRunId } : {}),
    });
  }
  const worked = new Set<string>();
  for (const account of accounts) {
    const earlier = worked.has(account.accountId) ? byId.get(account.accountId) : undefined;
    // A redriven child can leave a FAILED and a later SUCCEEDED result for one account: the
    // success is the account's state now.
    if (earlier && account.outcome === 'FAILED' && earlier.outcome !== 'FAILED') continue;
    byId.set(account.accountId, account);
    worked.add(account.accountId);
  }
  const sorted = [...byId.values()].sort((a, b) => compareIds(a.accountId, b.accountId));
  const startedMs = Date.parse(run.startedAt);
  const finishedMs = Date.parse(finishedAt);
  return {
    runId: run.runId,
    mode: run.mode,
    dryRun: run.dryRun,
    trigger: run.trigger,
    startedAt: run.startedAt,
    finishedAt,
    durationMs:
      Number.isFinite(startedMs) && Number.isFinite(finishedMs) ? Math.max(0, finishedMs - startedMs) : 0,
    summary: summarize(sorted),
    accounts: sorted,
  };
}

/** Counts by outcome, changed/unchanged, connector status and failing error name; every key present. */
export function summarize(accounts: readonly ReportAccount[]): ReportSummary {
  const byOutcome = Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<Outcome, number>;
  const byConnector = Object.fromEntries(CONNECTOR_STATUSES.map((c) => [c, 0])) as Record<
    ConnectorStatus,
    number
  >;
  const failures = new Map<string, number>();
  const keysDue = { notMintedYet: 0, rotationDue: 0 };
  let changed = 0;
  for (const account of accounts) {
    const due = keyDueOf(account);
    if (due === 'new-account') keysDue.notMintedYet++;
    else if (due) keysDue.rotationDue++;
    byOutcome[account.outcome] = (byOutcome[account.outcome] ?? 0) + 1;
    byConnector[account.connector] = (byConnector[account.connector] ?? 0) + 1;
    if (account.changed) changed++;
    if (account.outcome === 'FAILED') {
      const name = account.error?.name ?? 'Unknown';
      failures.set(name, (failures.get(name) ?? 0) + 1);
    }
  }
  // Sorted keys: the same run always serialises to the same bytes.
  const failuresByError = Object.fromEntries([...failures.entries()].sort(([a], [b]) => compareIds(a, b)));
  return {
    total: accounts.length,
    byOutcome,
    changed,
    unchanged: accounts.length - changed,
    byConnector,
    failuresByError,
    ...(keysDue.notMintedYet + keysDue.rotationDue > 0 ? { keysDue } : {}),
  };
}

/** Why the account's key is due and not minted (keyDelivery on-demand), from its access key step. */
export function keyDueOf(account: Pick<ReportAccount, 'steps'>): string | undefined {
  const due = account.steps.accessKey?.details?.keyDue;
  return typeof due === 'string' ? due : undefined;
}

/** Plain code-unit order: locale-independent, so a report renders identically everywhere. */
function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
