import type { Outcome } from '../ledger';
import type { ReportAccount, RunReport, Trigger } from '../run';
import { CONNECTOR_STATUSES, HANDOFF_STATUSES, keyDueOf, OUTCOMES } from './build-report';
import {
  barChart,
  CONNECTOR_LABELS,
  connectorPill,
  daysBetween,
  esc,
  HANDOFF_HOW,
  handoffList,
  htmlPage,
  section,
  table,
} from './html-page';
import { type StepCell, stepCell, stepColumns } from './steps';
import { capitalize, PLAN_BANNER, type ReportWording, reportWording } from './wording';

/**
 * The report as one self-contained HTML file (html-page.ts: inline CSS and JS under a hash-based
 * Content Security Policy, no request), read as a to-do list: failed accounts first with their
 * message and remediation in plain sight, the hand-off list with the command that reveals each
 * connector's credentials, a rollup per OU, filters by outcome, connector, OU and step, and every
 * account with nothing to do folded into one line. Every value from the report is escaped:
 * account names are user-controlled. The output depends on the report only (no clock, no
 * locale), so the same report renders to the same bytes; `data-testid` / `data-*` attributes are
 * what browser tests and the filters hold on to.
 */
export function renderHtml(report: RunReport): string {
  const steps = stepColumns(report);
  const words = reportWording(report);
  const ordered = [...report.accounts].sort((a, b) => priority(a) - priority(b));
  const quiet = report.accounts.filter(isQuiet).length;
  const ous = [...new Set(report.accounts.map((a) => a.ou))].sort();
  const body = `<header>
<h1>casbridge ${words.noun} <code data-testid="run-id">${esc(report.runId)}</code></h1>
${report.dryRun ? `<p class="banner" data-testid="dry-run-banner">${esc(PLAN_BANNER)}</p>\n` : ''}<dl class="meta">
${meta('Mode', 'run-mode', report.mode)}
${meta('Trigger', 'run-trigger', describeTrigger(report.trigger))}
${meta('Dry run', 'run-dry-run', report.dryRun ? 'yes' : 'no')}
${meta('Started', 'run-started', report.startedAt)}
${meta('Finished', 'run-finished', report.finishedAt)}
${meta('Duration', 'run-duration', formatDuration(report.durationMs))}
</dl>
</header>
<main>
${summaryCards(report, words)}
${failuresSection(report, words)}
<section aria-labelledby="accounts-heading">
<h2 id="accounts-heading">Accounts</h2>
<div class="controls">
<label>Search <input type="search" data-testid="filter-text" placeholder="id, name, OU, error…" autocomplete="off"></label>
${select(
  'Outcome',
  'filter-outcome',
  OUTCOMES.map((o) => [o, outcomeLabel(words, o)]),
)}
${select(
  'Connector',
  'filter-connector',
  CONNECTOR_STATUSES.map((c) => [c, CONNECTOR_LABELS[c]]),
)}
${select(
  'OU',
  'filter-ou',
  ous.map((ou) => [ou, ou || '(none)']),
)}
${select(
  'Step',
  'filter-step',
  steps.map((s) => [s, s]),
  'changed or failed at this step',
)}
<output data-testid="visible-count">${report.accounts.length - quiet} of ${report.accounts.length} accounts</output>
</div>
<div class="table-wrap cards-on-phone-wrap">
<table class="accounts cards-on-phone" data-testid="accounts-table">
<thead>
<tr>
${COLUMNS.map((c) => `<th scope="col">${c.sortable ? `<button type="button" data-sort="${c.key}" data-testid="sort-${c.key}">${c.label}</button>` : c.label}</th>`).join('\n')}
</tr>
</thead>
<tbody>
${ordered.map((a) => accountRow(a, steps, words)).join('\n')}
${quiet > 0 ? `<tr class="quiet-summary" data-testid="quiet-summary"><td colspan="${COLUMNS.length}"><button type="button" data-testid="show-quiet" aria-expanded="false" data-quiet-count="${quiet}">${quiet} ${quiet === 1 ? 'account' : 'accounts'} unchanged, nothing to do — show</button></td></tr>` : ''}
</tbody>
</table>
</div>
<p class="empty" data-testid="no-match"${report.accounts.length === 0 ? '' : ' hidden'}>${report.accounts.length === 0 ? `This ${words.noun} had no accounts.` : 'No account matches the filter.'}</p>
</section>
${handoffSection(report)}
${keysDueSection(report)}
${ouRollup(report, words, ous)}
<section class="charts" aria-label="Charts">
${barChart(
  'Outcomes',
  'chart-outcomes',
  'outcome',
  OUTCOMES.map((o) => ({ key: o, label: outcomeLabel(words, o), count: report.summary.byOutcome[o] ?? 0 })),
)}
${barChart(
  'Connector status',
  'chart-connectors',
  'connector',
  CONNECTOR_STATUSES.map((c) => ({
    key: c,
    label: CONNECTOR_LABELS[c],
    count: report.summary.byConnector[c] ?? 0,
  })),
)}
</section>
</main>
<footer>casbridge report of ${words.noun} ${esc(report.runId)}. Times are UTC (ISO 8601). The organization's dashboard is <code>runs/dashboard.html</code> beside the runs.</footer>`;
  return htmlPage({
    title: `casbridge ${report.mode} ${words.noun} ${report.runId}`,
    style: STYLE,
    script: SCRIPT,
    body,
  });
}

// ---------------------------------------------------------------- what needs doing

/**
 * Nothing for the operator to do about this account in this report: it did not fail, changed
 * nothing, and its connector is not stale. One awaiting connection is on the hand-off list below
 * the table, one line with its command, so its table row folds away too.
 */
export function isQuiet(account: ReportAccount): boolean {
  return account.outcome !== 'FAILED' && !account.changed && account.connector !== 'STALE';
}

/** The table's first order: failures, then connectors to look at, then changes, then the rest. */
function priority(account: ReportAccount): number {
  if (account.outcome === 'FAILED') return 0;
  if (account.connector === 'STALE' || account.connector === 'HANDOFF_OVERDUE') return 1;
  if (account.changed) return 2;
  return 3;
}

/** `Succeeded`, or `Would succeed` in a plan. */
function outcomeLabel(words: ReportWording, outcome: Outcome): string {
  return capitalize(words.outcome(outcome));
}

const COLUMNS = [
  { key: 'accountId', label: 'Account', sortable: true },
  { key: 'name', label: 'Name', sortable: true },
  { key: 'ou', label: 'OU', sortable: true },
  { key: 'outcome', label: 'Outcome', sortable: true },
  { key: 'changed', label: 'Changed', sortable: true },
  { key: 'steps', label: 'Steps', sortable: false },
  { key: 'connector', label: 'Connector', sortable: true },
  { key: 'error', label: 'Error', sortable: true },
] as const;

function meta(label: string, testId: string, value: string): string {
  return `<div><dt>${esc(label)}</dt><dd data-testid="${testId}">${esc(value)}</dd></div>`;
}

function select(label: string, testId: string, options: readonly [string, string][], title?: string): string {
  return `<label${title ? ` title="${esc(title)}"` : ''}>${esc(label)} <select data-testid="${testId}">
<option value="">All</option>
${options.map(([value, text]) => `<option value="${esc(value)}">${esc(text)}</option>`).join('\n')}
</select></label>`;
}

function summaryCards(report: RunReport, words: ReportWording): string {
  const s = report.summary;
  const cards: [string, string, number, string][] = [
    ['summary-total', 'Accounts', s.total, 'total'],
    ['summary-succeeded', outcomeLabel(words, 'SUCCEEDED'), s.byOutcome.SUCCEEDED ?? 0, 'succeeded'],
    ['summary-failed', outcomeLabel(words, 'FAILED'), s.byOutcome.FAILED ?? 0, 'failed'],
    ['summary-skipped', outcomeLabel(words, 'SKIPPED'), s.byOutcome.SKIPPED ?? 0, 'skipped'],
    ['summary-changed', capitalize(words.changed), s.changed, 'changed'],
    ['summary-connected', 'Connected', s.byConnector.CONNECTED ?? 0, 'connected'],
    ['summary-awaiting', 'Awaiting connection', s.byConnector.AWAITING_CONNECTION ?? 0, 'awaiting'],
    ['summary-overdue', 'Hand-off overdue', s.byConnector.HANDOFF_OVERDUE ?? 0, 'overdue'],
    ['summary-stale', 'Stale', s.byConnector.STALE ?? 0, 'stale'],
  ];
  return `<section class="cards" aria-label="Summary">
${cards
  .map(
    ([id, label, value, kind]) =>
      `<div class="card card-${kind}"><span class="value" data-testid="${id}">${value}</span><span class="label">${esc(label)}</span></div>`,
  )
  .join('\n')}
</section>`;
}

function failuresSection(report: RunReport, words: ReportWording): string {
  const entries = Object.entries(report.summary.failuresByError);
  if (entries.length === 0) return '';
  return `<section aria-labelledby="failures-heading">
<h2 id="failures-heading">${esc(words.failures)} by error</h2>
<ul class="failures" data-testid="failures-by-error">
${entries.map(([name, count]) => `<li data-error-name="${esc(name)}"><code>${esc(name)}</code> <span class="count">${count}</span></li>`).join('\n')}
</ul>
</section>`;
}

/** Accounts whose credentials wait for the operator, the oldest hand-off first, each with its command. */
function handoffSection(report: RunReport): string {
  const waiting = report.accounts
    .filter((a) => HANDOFF_STATUSES.includes(a.connector))
    .map((a) => ({ ...a, days: daysBetween(a.handoffAt, report.finishedAt) }));
  if (waiting.length === 0) return '';
  return section(
    'handoff',
    `Awaiting connection: ${waiting.length} to hand over`,
    `<p class="muted">${esc(HANDOFF_HOW)}</p>\n${handoffList('handoff-list', waiting)}`,
  );
}

/**
 * keyDelivery on-demand: the accounts whose key is due and not minted yet ("key not minted yet"
 * for a new account, "rotation due" for a key in service past keyMaxAgeDays, which stays in service
 * and fails Security Hub IAM.3 at 90 days), each with the one command that mints it at the portal.
 */
function keysDueSection(report: RunReport): string {
  const due = report.accounts.filter((a) => keyDueOf(a));
  if (due.length === 0) return '';
  const rotations = due.filter((a) => keyDueOf(a) !== 'new-account').length;
  const items = due
    .map((a) => {
      const what = keyDueOf(a) === 'new-account' ? 'key not minted yet' : 'rotation due';
      return `<li data-account-id="${esc(a.accountId)}" data-key-due="${esc(keyDueOf(a) ?? '')}"><strong>${esc(a.name || a.accountId)}</strong> (${esc(a.accountId)}): ${what} — <code>casbridge credentials ${esc(a.accountId)} --new-key</code></li>`;
    })
    .join('\n');
  return section(
    'keys-due',
    `Keys due: ${due.length - rotations} not minted yet, ${rotations} rotation due`,
    `<p class="muted">${esc('At the Defender portal, run the command: it mints the key in a one-account run, shows it once and deletes its secret. A key in service past its rotation stays active until the new one is used; Security Hub IAM.3 fails it at 90 days.')}</p>\n<ul class="accounts" data-testid="keys-due-list">\n${items}\n</ul>`,
  );
}

/** One line per OU: how many accounts, failed, changed, waiting for a hand-off, stale. */
function ouRollup(report: RunReport, words: ReportWording, ous: readonly string[]): string {
  if (ous.length === 0) return '';
  const columns: [string, string, (a: ReportAccount) => boolean][] = [
    ['total', 'Accounts', () => true],
    ['failed', outcomeLabel(words, 'FAILED'), (a) => a.outcome === 'FAILED'],
    ['changed', capitalize(words.changed), (a) => a.changed],
    ['handoff', 'Awaiting connection', (a) => HANDOFF_STATUSES.includes(a.connector)],
    ['stale', 'Stale', (a) => a.connector === 'STALE'],
    ['quiet', 'Nothing to do', isQuiet],
  ];
  const rows = ous.map((ou) => {
    const inOu = report.accounts.filter((a) => a.ou === ou);
    return `<tr data-ou="${esc(ou)}">
<td data-label="OU"><button type="button" class="link" data-set-ou="${esc(ou)}" title="Show this OU's accounts">${esc(ou || '(none)')}</button></td>
${columns.map(([key, label, test]) => `<td class="num" data-label="${esc(label)}" data-count="${key}">${inOu.filter(test).length}</td>`).join('\n')}
</tr>`;
  });
  const head = `<th scope="col">OU</th>${columns.map(([, label]) => `<th scope="col" class="num">${esc(label)}</th>`).join('')}`;
  return section('ou', 'By OU', table('ou-rollup', head, rows, false, 'rollup'));
}

function accountRow(account: ReportAccount, steps: readonly string[], words: ReportWording): string {
  const error = account.error;
  const search = [
    account.accountId,
    account.name,
    account.ou,
    account.outcome,
    account.connector,
    error?.name ?? '',
    account.skipReason ?? '',
    account.handledByRunId ?? '',
  ]
    .join(' ')
    .toLowerCase();
  const outcome = outcomeLabel(words, account.outcome);
  const active = steps.filter((step) => {
    const status = stepCell(account, step)?.status;
    return status !== undefined && status !== 'unchanged';
  });
  const cells = [
    cell('accountId', 'Account', account.accountId, `<code>${esc(account.accountId)}</code>`),
    cell('name', 'Name', account.name, esc(account.name)),
    cell('ou', 'OU', account.ou, esc(account.ou)),
    cell(
      'outcome',
      'Outcome',
      account.outcome,
      `<span class="pill outcome-${account.outcome.toLowerCase()}">${esc(outcome)}</span>`,
    ),
    cell('changed', 'Changed', String(account.changed), account.changed ? 'yes' : 'no'),
    cell('steps', 'Steps', '', stepBadges(account, steps, words)),
    cell('connector', 'Connector', account.connector, connectorPill(account.connector)),
    cell(
      'error',
      'Error',
      error?.name ?? '',
      error
        ? `${words.failurePrefix ? `<span class="error-prefix">${esc(words.failurePrefix)}</span>` : ''}<code class="error-name">${esc(error.name)}</code>${error.step ? ` <span class="error-step">in ${esc(error.step)}</span>` : ''}${handledBy(account)}<p class="message">${esc(error.message)}</p><p class="remediation">${esc(error.remediation)}</p>`
        : '',
    ),
  ];
  const quiet = isQuiet(account);
  return `<tr data-account-id="${esc(account.accountId)}" data-outcome="${esc(account.outcome)}" data-connector="${esc(account.connector)}" data-ou="${esc(account.ou)}" data-steps="${esc(active.join(' '))}" data-changed="${account.changed}"${quiet ? ' data-quiet="true" hidden' : ''}${error ? ` data-error-name="${esc(error.name)}"` : ''} data-search="${esc(search)}">
${cells.join('\n')}
</tr>`;
}

/** The run that handles the account instead of this one (a duplicate event's, a lost lease's). */
function handledBy(account: ReportAccount): string {
  if (!account.handledByRunId) return '';
  return ` <span class="handled-by" data-testid="handled-by">handled by run <code>${esc(account.handledByRunId)}</code></span>`;
}

function cell(key: string, label: string, sortValue: string, html: string): string {
  return `<td data-col="${key}" data-label="${esc(label)}" data-value="${esc(sortValue)}"><div class="cell">${html}</div></td>`;
}

/**
 * A badge per step that did something (or failed), with its reason written out; the steps left
 * unchanged share one badge, so a quiet account is one short line and not seven chips.
 */
function stepBadges(account: ReportAccount, steps: readonly string[], words: ReportWording): string {
  if (account.outcome === 'SKIPPED') {
    return `<span class="skip-reason" data-testid="skip-reason">Skipped: ${esc(account.skipReason ?? 'no reason given')}</span>${handledBy(account)}`;
  }
  const cells = steps
    .map((step) => ({ step, cell: stepCell(account, step) }))
    .filter((b): b is { step: string; cell: StepCell } => b.cell !== undefined);
  const unchanged = cells.filter((b) => b.cell.status === 'unchanged').map((b) => b.step);
  const badges = cells
    .filter((b) => b.cell.status !== 'unchanged')
    .map(({ step, cell }) => {
      const word = words.step(step, cell.status);
      const reason = cell.status !== 'failed' && cell.reason ? ` <i>${esc(cell.reason)}</i>` : '';
      return `<span class="badge badge-${cell.status}" data-step="${esc(step)}" data-action="${cell.status}">${esc(step)} <b>${esc(word)}</b>${reason}</span>`;
    });
  if (unchanged.length > 0) {
    const word = words.step(unchanged[0] as string, 'unchanged');
    const text =
      unchanged.length === cells.length
        ? `all ${unchanged.length} steps ${word}`
        : `${unchanged.length} more ${word}`;
    badges.push(
      `<span class="badge badge-unchanged" data-action="unchanged" data-steps="${esc(unchanged.join(' '))}" title="${esc(unchanged.join(', '))}">${esc(text)}</span>`,
    );
  }
  return `<div class="badges">${badges.join('')}</div>`;
}

function describeTrigger(trigger: Trigger): string {
  switch (trigger.type) {
    case 'manual':
      return 'manual';
    case 'schedule':
      return 'schedule';
    case 'organizations-event':
      return trigger.eventName
        ? `Organizations ${trigger.eventName} ${trigger.eventId}`
        : `Organizations event ${trigger.eventId}`;
    case 'control-tower-event':
      return `Control Tower ${trigger.eventName} ${trigger.eventId}`;
    default:
      return String((trigger as { type?: unknown }).type ?? 'unknown');
  }
}

/** "850 ms", "42 s", "3 min 5 s", "1 h 2 min": the same text everywhere (no locale). */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${seconds % 60} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

// ---------------------------------------------------------------- the report's own stylesheet and script

const STYLE = `
.banner{background:#fff4d6;border:1px solid #e8c35a;padding:.5rem .75rem;border-radius:6px;margin:.5rem 0}
.card-failed .value{color:var(--fail)}.card-succeeded .value{color:var(--ok)}.card-skipped .value{color:var(--skip)}
.card-connected .value{color:var(--ok)}.card-awaiting .value{color:var(--warn)}.card-overdue .value{color:var(--fail)}.card-stale .value{color:var(--fail)}.card-changed .value{color:var(--info)}
.failures{display:flex;flex-wrap:wrap;gap:.4rem;list-style:none;padding:0;margin:0}
.failures li{background:var(--card);border:1px solid var(--line);border-radius:6px;padding:.25rem .55rem}
.failures .count{font-weight:700;color:var(--fail)}
.controls{display:flex;flex-wrap:wrap;gap:.5rem .9rem;align-items:center;margin-bottom:.6rem}
.controls label{display:flex;gap:.4rem;align-items:center;color:var(--muted);min-width:0}
.controls input,.controls select{font:inherit;padding:.3rem .45rem;border:1px solid var(--line);border-radius:6px;background:#fff;min-width:0;max-width:14rem}
.controls input{width:14rem;max-width:60vw}
output{color:var(--muted);font-size:.9rem}
.accounts th{position:sticky;top:0}
th button{font:inherit;font-weight:600;border:0;background:none;padding:0;cursor:pointer;color:inherit}
th[aria-sort=ascending] button::after{content:" \\25B2";font-size:.7em}
th[aria-sort=descending] button::after{content:" \\25BC";font-size:.7em}
td[data-col=name],td[data-col=ou]{overflow-wrap:break-word;min-width:7rem;max-width:16rem}
td[data-col=error]{min-width:14rem}
td[data-col=accountId]{white-space:nowrap}td[data-col=steps]{min-width:13rem}
.rollup td,.rollup th{padding:.3rem .5rem}.rollup th{white-space:normal}
tr[hidden]{display:none}
.quiet-summary td{background:#f1f3f5;padding:.3rem .6rem}
button.link,.quiet-summary button{font:inherit;border:0;background:none;padding:0;cursor:pointer;color:var(--info);text-decoration:underline;text-align:left}
.outcome-succeeded{background:#dcf3e3;color:var(--ok)}.outcome-failed{background:#fbe1df;color:var(--fail)}.outcome-skipped{background:#eceef1;color:var(--skip)}
.badges{display:flex;flex-wrap:wrap;gap:.25rem}
.badge{border-radius:4px;padding:.05rem .35rem;font-size:.75rem;border:1px solid var(--line)}
.badge b{font-weight:600}.badge i{color:var(--muted)}
.badge-created{background:#dcf3e3;border-color:#a6d9b5}.badge-updated{background:#dbe8fa;border-color:#a9c4ec}
.badge-unchanged{background:#f1f3f5;color:var(--muted)}.badge-skipped{background:#eceef1;color:var(--skip);border-style:dashed}
.badge-failed{background:#fbe1df;border-color:#eba8a2;color:var(--fail)}
.error-name{color:var(--fail);font-weight:600}.error-step{color:var(--muted)}
.message{margin:.2rem 0 0;overflow-wrap:anywhere}
.remediation{margin:.2rem 0 0;color:var(--muted);font-size:.85rem;max-width:38rem}
.skip-reason{color:var(--skip)}
@media (max-width:720px){
.accounts thead{display:block}
.accounts thead tr{display:flex;flex-wrap:wrap;gap:.3rem;margin-bottom:.5rem}
.accounts thead th{position:static;border:1px solid var(--line);border-radius:6px;padding:.25rem .5rem}
.accounts thead th:not(:has(button)){display:none}
.accounts td[data-value=""]:not([data-col=steps]){display:none}
.accounts tr.quiet-summary td{display:block}
.accounts tr.quiet-summary td::before{content:none}
td[data-col=name],td[data-col=ou],td[data-col=error]{max-width:none;min-width:0;overflow-wrap:anywhere}
.controls label{flex:1 1 10rem}.controls select,.controls input{flex:1;max-width:none;width:auto}
}
`;

// Static: it reads everything from the rendered DOM, so no report value is ever placed inside a
// script (where HTML escaping would not protect) and its CSP hash is the same for every report.
const SCRIPT = `
(function () {
  var table = document.querySelector('[data-testid="accounts-table"]');
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.querySelectorAll('tr[data-account-id]'));
  var quietRow = body.querySelector('[data-testid="quiet-summary"]');
  var showQuiet = document.querySelector('[data-testid="show-quiet"]');
  var expanded = false;
  var text = document.querySelector('[data-testid="filter-text"]');
  var selects = [
    [document.querySelector('[data-testid="filter-outcome"]'), 'data-outcome'],
    [document.querySelector('[data-testid="filter-connector"]'), 'data-connector'],
    [document.querySelector('[data-testid="filter-ou"]'), 'data-ou']
  ];
  var step = document.querySelector('[data-testid="filter-step"]');
  var count = document.querySelector('[data-testid="visible-count"]');
  var none = document.querySelector('[data-testid="no-match"]');
  function apply() {
    var q = text.value.trim().toLowerCase();
    var s = step.value;
    var filtering = Boolean(q || s) || selects.some(function (f) { return f[0].value !== ''; });
    var shown = 0;
    rows.forEach(function (row) {
      var visible = (!q || row.getAttribute('data-search').indexOf(q) !== -1) &&
        (!s || (' ' + row.getAttribute('data-steps') + ' ').indexOf(' ' + s + ' ') !== -1) &&
        selects.every(function (f) { return !f[0].value || row.getAttribute(f[1]) === f[0].value; }) &&
        (filtering || expanded || row.getAttribute('data-quiet') !== 'true');
      row.hidden = !visible;
      if (visible) shown++;
    });
    if (quietRow) {
      quietRow.hidden = filtering;
      var n = showQuiet.getAttribute('data-quiet-count');
      showQuiet.textContent = n + (n === '1' ? ' account' : ' accounts') + ' unchanged, nothing to do — ' + (expanded ? 'hide' : 'show');
      showQuiet.setAttribute('aria-expanded', String(expanded));
    }
    count.textContent = shown + ' of ' + rows.length + ' accounts';
    if (rows.length > 0) none.hidden = !(filtering && shown === 0);
  }
  function value(row, key) {
    var cell = row.querySelector('[data-col="' + key + '"]');
    return cell ? cell.getAttribute('data-value') : '';
  }
  function sortBy(button) {
    var key = button.getAttribute('data-sort');
    var th = button.parentNode;
    var ascending = th.getAttribute('aria-sort') !== 'ascending';
    Array.prototype.forEach.call(table.querySelectorAll('th[aria-sort]'), function (other) {
      other.removeAttribute('aria-sort');
    });
    th.setAttribute('aria-sort', ascending ? 'ascending' : 'descending');
    rows.sort(function (a, b) {
      var c = value(a, key).localeCompare(value(b, key), 'en', { numeric: true });
      if (c === 0) c = a.getAttribute('data-account-id') < b.getAttribute('data-account-id') ? -1 : 1;
      return ascending ? c : -c;
    });
    rows.forEach(function (row) { body.appendChild(row); });
    if (quietRow) body.appendChild(quietRow);
  }
  text.addEventListener('input', apply);
  step.addEventListener('change', apply);
  selects.forEach(function (f) { f[0].addEventListener('change', apply); });
  if (showQuiet) showQuiet.addEventListener('click', function () { expanded = !expanded; apply(); });
  Array.prototype.forEach.call(table.querySelectorAll('th button[data-sort]'), function (button) {
    button.addEventListener('click', function () { sortBy(button); });
  });
  Array.prototype.forEach.call(document.querySelectorAll('button[data-set-ou]'), function (button) {
    button.addEventListener('click', function () {
      selects[2][0].value = button.getAttribute('data-set-ou');
      apply();
      table.scrollIntoView();
    });
  });
  apply();
})();
`;
