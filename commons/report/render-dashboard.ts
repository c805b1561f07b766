import type { ConnectorStatus, LedgerItem } from '../ledger';
import { CONNECTOR_STATUSES, HANDOFF_STATUSES } from './build-report';
import type { RunHistory, RunHistoryEntry } from './history';
import {
  barChart,
  CONNECTOR_LABELS,
  daysBetween,
  esc,
  HANDOFF_HOW,
  handoffList,
  htmlPage,
  kebab,
  section,
  staleList,
  table,
} from './html-page';

/** What the dashboard reads of a ledger item: names, statuses and times, never a key id or secret ARN. */
export type DashboardAccount = Pick<LedgerItem, 'accountId' | 'connector'> &
  Partial<Pick<LedgerItem, 'name' | 'ou' | 'handoffAt' | 'keyLastUsedAt' | 'lastOutcome' | 'lastError'>>;

export interface DashboardInput {
  /** When the page was made (WriteReport: the run's finish; `casbridge status --html`: now). */
  generatedAt: string;
  /** The ledger, one item per account casbridge has worked on. */
  accounts: readonly DashboardAccount[];
  history: RunHistory;
}

/**
 * The organization's dashboard (runs/dashboard.html, and `casbridge status --html`): where every
 * connector stands now (the ledger), how that moved over the last runs (runs/history.json), who
 * still has to paste credentials and for how long, which connected connectors went quiet, and
 * which errors keep coming back. One self-contained page with no script (its policy allows none);
 * the same input renders to the same bytes. It reads only a ledger item's names, statuses and
 * times: a secret's ARN or key id never reaches it.
 */
export function renderDashboard(input: DashboardInput): string {
  const now = input.generatedAt;
  const byConnector = countBy(input.accounts);
  const handoffs = input.accounts
    .filter((a) => HANDOFF_STATUSES.includes(a.connector))
    .map((a) => ({
      accountId: a.accountId,
      name: a.name,
      ou: a.ou,
      connector: a.connector,
      days: daysBetween(a.handoffAt, now),
    }));
  const body = `<header>
<h1>casbridge organization dashboard</h1>
<dl class="meta">
<div><dt>Generated</dt><dd data-testid="generated-at">${esc(now)}</dd></div>
<div><dt>Accounts in the ledger</dt><dd data-testid="ledger-total">${input.accounts.length}</dd></div>
<div><dt>Runs kept</dt><dd data-testid="runs-kept">${input.history.runs.length}</dd></div>
</dl>
</header>
<main>
<section class="cards" aria-label="Connectors now">
${CONNECTOR_STATUSES.map(
  (c) =>
    `<div class="card card-${kebab(c)}"><span class="value" data-testid="now-${kebab(c)}">${byConnector[c]}</span><span class="label">${esc(CONNECTOR_LABELS[c])}</span></div>`,
).join('\n')}
</section>
${connectorHistory(input.history.runs)}
<section aria-labelledby="handoff-heading">
<h2 id="handoff-heading">Awaiting connection by age</h2>
${
  handoffs.length === 0
    ? '<p class="empty" data-testid="no-handoffs">No connector is waiting for its credentials.</p>'
    : `<div class="charts">${barChart(
        'Days since the hand-off',
        'handoff-ages',
        'age',
        AGE_BUCKETS.map((bucket) => ({
          key: bucket.key,
          label: bucket.label,
          count: handoffs.filter((h) => bucketOf(h.days) === bucket.key).length,
        })),
      )}</div>
<p class="muted">${esc(HANDOFF_HOW)}</p>
${handoffList('handoff-list', handoffs)}`
}
</section>
${staleSection(input.accounts, now)}
${failuresAcrossRuns(input.history.runs, input.accounts)}
</main>
<footer>casbridge organization dashboard, from the ledger and the last ${input.history.runs.length} runs' summaries (runs/history.json). Times are UTC (ISO 8601).</footer>`;
  return htmlPage({ title: 'casbridge organization dashboard', style: STYLE, body });
}

function countBy(accounts: readonly DashboardAccount[]): Record<ConnectorStatus, number> {
  const counts = Object.fromEntries(CONNECTOR_STATUSES.map((c) => [c, 0])) as Record<ConnectorStatus, number>;
  for (const a of accounts) counts[a.connector] = (counts[a.connector] ?? 0) + 1;
  return counts;
}

// Security Hub's IAM.22 flags credentials unused for 45 days: the last bucket is past it.
const AGE_BUCKETS = [
  { key: 'week', label: '0–7 days', max: 7 },
  { key: 'fortnight', label: '8–14 days', max: 14 },
  { key: 'month', label: '15–30 days', max: 30 },
  { key: 'before-iam22', label: '31–45 days', max: 45 },
  { key: 'past-iam22', label: 'over 45 days', max: Number.POSITIVE_INFINITY },
  { key: 'unknown', label: 'unknown', max: Number.NaN },
] as const;

function bucketOf(days: number | undefined): string {
  if (days === undefined) return 'unknown';
  return AGE_BUCKETS.find((b) => days <= b.max)?.key ?? 'unknown';
}

const HISTORY_SECTION = 'history';
const HISTORY_TITLE = 'Connector status over the last runs';

/** A row per run, newest first: a stacked bar of its connector statuses and the counts beside it. */
function connectorHistory(runs: readonly RunHistoryEntry[]): string {
  if (runs.length === 0) {
    return section(
      HISTORY_SECTION,
      HISTORY_TITLE,
      '<p class="empty" data-testid="no-history">No run has written its summary yet: the next run starts the history.</p>',
    );
  }
  const rows = runs.map((run) => {
    const total = CONNECTOR_STATUSES.reduce((sum, c) => sum + (run.byConnector[c] ?? 0), 0);
    let x = 0;
    const segments = CONNECTOR_STATUSES.filter((c) => (run.byConnector[c] ?? 0) > 0).map((c) => {
      const width = total === 0 ? 0 : ((run.byConnector[c] ?? 0) / total) * 100;
      const rect = `<g class="bar bar-${kebab(c)}"><rect x="${round(x)}" y="0" width="${round(width)}" height="10"></rect></g>`;
      x += width;
      return rect;
    });
    const label = CONNECTOR_STATUSES.map((c) => `${CONNECTOR_LABELS[c]} ${run.byConnector[c] ?? 0}`).join(
      ', ',
    );
    // On a phone the bar's own line names its non-zero counts, in place of a column each.
    const legend = CONNECTOR_STATUSES.filter((c) => (run.byConnector[c] ?? 0) > 0)
      .map((c) => `${run.byConnector[c]} ${CONNECTOR_LABELS[c].toLowerCase()}`)
      .join(' · ');
    return `<tr data-run-id="${esc(run.runId)}">
<td data-label="Run" class="run-cell"><code>${esc(run.runId)}</code><br><span class="muted">${esc(run.mode)}, ${esc(run.finishedAt)}</span></td>
<td data-label="Connectors" class="stack-cell"><svg class="stack" viewBox="0 0 100 10" preserveAspectRatio="none" role="img" aria-label="${esc(label)}">${segments.join('')}</svg><span class="stack-legend">${esc(legend)}</span></td>
${CONNECTOR_STATUSES.map((c) => `<td class="num" data-label="${esc(CONNECTOR_LABELS[c])}" data-connector="${c}">${run.byConnector[c] ?? 0}</td>`).join('\n')}
<td class="num" data-label="Failed" data-outcome="FAILED">${run.byOutcome.FAILED ?? 0}</td>
</tr>`;
  });
  const head = `<th scope="col">Run</th><th scope="col">Connectors</th>${CONNECTOR_STATUSES.map((c) => `<th scope="col" class="num">${esc(CONNECTOR_LABELS[c])}</th>`).join('')}<th scope="col" class="num">Failed</th>`;
  return section(HISTORY_SECTION, HISTORY_TITLE, table('connector-history', head, rows, true));
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

/** Connected connectors whose key has gone unused: the longest quiet first. */
function staleSection(accounts: readonly DashboardAccount[], now: string): string {
  const stale = accounts
    .filter((a) => a.connector === 'STALE')
    .map((a) => ({ ...a, days: daysBetween(a.keyLastUsedAt, now) }));
  return section(
    'stale',
    'Stale connectors',
    stale.length === 0
      ? '<p class="empty" data-testid="no-stale">No connected connector has gone quiet.</p>'
      : staleList('stale-list', stale),
  );
}

/** Each error's failures summed over the kept runs, with how many runs it hit and how many accounts fail with it now. */
function failuresAcrossRuns(runs: readonly RunHistoryEntry[], accounts: readonly DashboardAccount[]): string {
  const byError = new Map<string, { total: number; runs: number; lastRunId: string }>();
  // Oldest first, so the last run to see an error is the one kept.
  for (const run of [...runs].reverse()) {
    for (const [name, count] of Object.entries(run.failuresByError)) {
      const seen = byError.get(name) ?? { total: 0, runs: 0, lastRunId: run.runId };
      byError.set(name, { total: seen.total + count, runs: seen.runs + 1, lastRunId: run.runId });
    }
  }
  const failingNow = new Map<string, number>();
  for (const a of accounts) {
    if (a.lastOutcome !== 'FAILED' || !a.lastError) continue;
    failingNow.set(a.lastError.name, (failingNow.get(a.lastError.name) ?? 0) + 1);
    if (!byError.has(a.lastError.name)) byError.set(a.lastError.name, { total: 0, runs: 0, lastRunId: '' });
  }
  const rows = [...byError.entries()].sort(([a, x], [b, y]) => y.total - x.total || (a < b ? -1 : 1));
  const body =
    rows.length === 0
      ? '<p class="empty" data-testid="no-failures">No failure in the kept runs.</p>'
      : table(
          'failures-across-runs',
          '<th scope="col">Error</th><th scope="col" class="num">Failures</th><th scope="col" class="num">Runs</th><th scope="col" class="num">Failing now</th><th scope="col">Last run</th>',
          rows.map(
            ([name, e]) => `<tr data-error-name="${esc(name)}">
<td data-label="Error"><code class="error-name">${esc(name)}</code></td>
<td class="num" data-label="Failures" data-count="failures">${e.total}</td>
<td class="num" data-label="Runs" data-count="runs">${e.runs}</td>
<td class="num" data-label="Failing now" data-count="now">${failingNow.get(name) ?? 0}</td>
<td data-label="Last run">${e.lastRunId ? `<code>${esc(e.lastRunId)}</code>` : ''}</td>
</tr>`,
          ),
          true,
        );
  return section('failures', 'Failures by error across runs', body);
}

const STYLE = `
.card-connected .value{color:var(--ok)}.card-awaiting-connection .value{color:var(--warn)}.card-handoff-overdue .value,.card-stale .value{color:var(--fail)}
.run-cell{min-width:15rem}.stack-cell{min-width:10rem;width:30%}
.bar-month rect,.bar-before-iam22 rect{fill:var(--warn)}.bar-past-iam22 rect{fill:var(--fail)}.bar-unknown rect{fill:var(--skip)}
.stack-legend{display:none}
@media (max-width:720px){.run-cell{min-width:0}.stack-legend{display:block;color:var(--muted);font-size:.8rem;margin-top:.2rem}[data-testid="connector-history"] td[data-connector]{display:none}}
svg.stack{width:100%;height:14px;border-radius:3px;background:#eef1f5}
.error-name{color:var(--fail);font-weight:600}
`;
