import { createHash } from 'node:crypto';
import type { ConnectorStatus, Outcome } from '../ledger';
import type { ReportAccount, RunReport, Trigger } from '../run';
import { CONNECTOR_STATUSES, OUTCOMES } from './build-report';
import { type StepCell, stepCell, stepColumns } from './steps';
import { capitalize, PLAN_BANNER, type ReportWording, reportWording } from './wording';

/**
 * The report as one self-contained HTML file: inline CSS and JS, no network (a Content Security
 * Policy forbids any load, and allows only this file's own style and script by hash), readable on
 * a phone and a wide screen. Every value from the report is escaped: account names are
 * user-controlled. The output depends on the report only (no clock, no locale), so the same
 * report renders to the same bytes, and stable `data-testid` / `data-*` attributes give browser
 * tests something to hold on to.
 */
export function renderHtml(report: RunReport): string {
  const steps = stepColumns(report);
  const words = reportWording(report);
  const csp = [
    "default-src 'none'",
    `style-src '${sha256(STYLE)}'`,
    `script-src '${sha256(SCRIPT)}'`,
    "img-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${esc(csp)}">
<meta name="referrer" content="no-referrer">
<title>casbridge ${esc(report.mode)} ${words.noun} ${esc(report.runId)}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
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
${failuresSection(report, words)}
<section aria-labelledby="accounts-heading">
<h2 id="accounts-heading">Accounts</h2>
<div class="controls">
<label>Search <input type="search" data-testid="filter-text" placeholder="id, name, OU, error…" autocomplete="off"></label>
<label>Outcome <select data-testid="filter-outcome">
<option value="">All</option>
${OUTCOMES.map((o) => `<option value="${o}">${esc(outcomeLabel(words, o))}</option>`).join('\n')}
</select></label>
<output data-testid="visible-count">${report.accounts.length} of ${report.accounts.length} accounts</output>
</div>
<div class="table-wrap">
<table data-testid="accounts-table">
<thead>
<tr>
${COLUMNS.map((c) => `<th scope="col"${c.key === 'accountId' ? ' aria-sort="ascending"' : ''}>${c.sortable ? `<button type="button" data-sort="${c.key}" data-testid="sort-${c.key}">${c.label}</button>` : c.label}</th>`).join('\n')}
</tr>
</thead>
<tbody>
${report.accounts.map((a) => accountRow(a, steps, words)).join('\n')}
</tbody>
</table>
</div>
<p class="empty" data-testid="no-match"${report.accounts.length === 0 ? '' : ' hidden'}>${report.accounts.length === 0 ? `This ${words.noun} had no accounts.` : 'No account matches the filter.'}</p>
</section>
</main>
<footer>casbridge report of ${words.noun} ${esc(report.runId)}. Times are UTC (ISO 8601).</footer>
<script>${SCRIPT}</script>
</body>
</html>
`;
}

// ---------------------------------------------------------------- escaping

const ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
  '`': '&#96;',
};

/** Escapes text for an element's content or a double-quoted attribute value alike. */
export function esc(value: string | number | boolean): string {
  return String(value).replace(/[&<>"'`]/g, (c) => ENTITIES[c] ?? c);
}

// ---------------------------------------------------------------- pieces

/** `Succeeded`, or `Would succeed` in a plan. */
function outcomeLabel(words: ReportWording, outcome: Outcome): string {
  return capitalize(words.outcome(outcome));
}

const CONNECTOR_LABELS: Record<ConnectorStatus, string> = {
  CONNECTED: 'Connected',
  AWAITING_CONNECTION: 'Awaiting connection',
  HANDOFF_OVERDUE: 'Hand-off overdue',
  STALE: 'Stale',
  NOT_REGISTERED: 'Not registered',
  OFFBOARDED: 'Offboarded',
  RETIRED: 'Retired',
  DEPARTED: 'Departed',
};

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

interface Bar {
  key: string;
  label: string;
  count: number;
}

/** A horizontal bar chart as inline SVG; colours come from the stylesheet, by class. */
function barChart(title: string, testId: string, attribute: string, bars: Bar[]): string {
  const rowHeight = 28;
  const labelWidth = 150;
  const barSpace = 190;
  const max = Math.max(0, ...bars.map((b) => b.count));
  const height = bars.length * rowHeight;
  const rows = bars.map((bar, i) => {
    const y = i * rowHeight;
    const width = max === 0 ? 0 : Math.round((bar.count / max) * barSpace * 10) / 10;
    const kind = bar.key.toLowerCase().replaceAll('_', '-');
    return `<g class="bar bar-${kind}" data-${attribute}="${esc(bar.key)}" data-count="${bar.count}">
<title>${esc(bar.label)}: ${bar.count}</title>
<text x="0" y="${y + 18}">${esc(bar.label)}</text>
<rect x="${labelWidth}" y="${y + 5}" width="${width}" height="18" rx="3"></rect>
<text class="count" x="${labelWidth + width + 6}" y="${y + 18}">${bar.count}</text>
</g>`;
  });
  return `<figure data-testid="${testId}">
<figcaption>${esc(title)}</figcaption>
<svg viewBox="0 0 ${labelWidth + barSpace + 50} ${height}" width="${labelWidth + barSpace + 50}" height="${height}" role="img" aria-label="${esc(title)}: ${esc(bars.map((b) => `${b.label} ${b.count}`).join(', '))}">
${rows.join('\n')}
</svg>
</figure>`;
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
  const connector = CONNECTOR_LABELS[account.connector] ?? account.connector;
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
    cell(
      'connector',
      'Connector',
      account.connector,
      `<span class="pill connector-${account.connector.toLowerCase().replaceAll('_', '-')}">${esc(connector)}</span>`,
    ),
    cell(
      'error',
      'Error',
      error?.name ?? '',
      error
        ? `${words.failurePrefix ? `<span class="error-prefix">${esc(words.failurePrefix)}</span>` : ''}<code class="error-name" title="${esc(error.message)}">${esc(error.name)}</code>${error.step ? ` <span class="error-step">in ${esc(error.step)}</span>` : ''}${handledBy(account)}<p class="remediation">${esc(error.remediation)}</p>`
        : '',
    ),
  ];
  return `<tr data-account-id="${esc(account.accountId)}" data-outcome="${esc(account.outcome)}" data-connector="${esc(account.connector)}" data-changed="${account.changed}"${error ? ` data-error-name="${esc(error.name)}"` : ''} data-search="${esc(search)}">
${cells.join('\n')}
</tr>`;
}

/** The run that handles the account instead of this one (a duplicate event's, a lost lease's). */
function handledBy(account: ReportAccount): string {
  if (!account.handledByRunId) return '';
  return ` <span class="handled-by" data-testid="handled-by">handled by run <code>${esc(account.handledByRunId)}</code></span>`;
}

function cell(key: string, label: string, sortValue: string, html: string): string {
  // One wrapper per cell: on a phone the cell is a two-column grid, label and content.
  return `<td data-col="${key}" data-label="${esc(label)}" data-value="${esc(sortValue)}"><div class="cell">${html}</div></td>`;
}

function stepBadges(account: ReportAccount, steps: readonly string[], words: ReportWording): string {
  if (account.outcome === 'SKIPPED') {
    return `<span class="skip-reason" data-testid="skip-reason">Skipped: ${esc(account.skipReason ?? 'no reason given')}</span>${handledBy(account)}`;
  }
  const badges = steps
    .map((step) => ({ step, cell: stepCell(account, step) }))
    .filter((b): b is { step: string; cell: StepCell } => b.cell !== undefined)
    .map(({ step, cell }) => {
      const word = words.step(step, cell.status);
      const tip = cell.reason ? `${step}: ${word} (${cell.reason})` : `${step}: ${word}`;
      return `<span class="badge badge-${cell.status}" data-step="${esc(step)}" data-action="${cell.status}" title="${esc(tip)}">${esc(step)} <b>${esc(word)}</b></span>`;
    });
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

function sha256(text: string): string {
  return `sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}`;
}

// ---------------------------------------------------------------- the inline stylesheet and script

const STYLE = `
:root{--bg:#f7f8fa;--fg:#1d232b;--muted:#5b6572;--card:#fff;--line:#dde2e8;--ok:#1f7a3d;--fail:#b3261e;--skip:#6b7280;--warn:#a15c00;--info:#1d5fa8;
font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--fg);background:var(--bg)}
*{box-sizing:border-box}
body{margin:0 auto;max-width:1400px;padding:1rem;line-height:1.4}
h1{font-size:1.35rem;margin:.2rem 0 .6rem;overflow-wrap:anywhere}
h2{font-size:1.1rem;margin:1.4rem 0 .6rem}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.92em}
.banner{background:#fff4d6;border:1px solid #e8c35a;padding:.5rem .75rem;border-radius:6px;margin:.5rem 0}
.meta{display:flex;flex-wrap:wrap;gap:.4rem 1.4rem;margin:0;font-size:.92rem}
.meta div{display:flex;gap:.35rem}.meta dt{color:var(--muted)}.meta dd{margin:0;font-weight:600;overflow-wrap:anywhere}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(8.5rem,1fr));gap:.6rem;margin-top:1rem}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:.7rem .8rem;display:flex;flex-direction:column}
.card .value{font-size:1.6rem;font-weight:700}.card .label{color:var(--muted);font-size:.85rem}
.card-failed .value{color:var(--fail)}.card-succeeded .value{color:var(--ok)}.card-skipped .value{color:var(--skip)}
.card-connected .value{color:var(--ok)}.card-awaiting .value{color:var(--warn)}.card-overdue .value{color:var(--fail)}.card-stale .value{color:var(--fail)}.card-changed .value{color:var(--info)}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,22rem),1fr));gap:.6rem;margin-top:.6rem}
figure{margin:0;background:var(--card);border:1px solid var(--line);border-radius:8px;padding:.7rem}
figcaption{font-weight:600;margin-bottom:.3rem}
svg{max-width:100%;height:auto;display:block;font-size:13px}
svg text{fill:var(--fg)}svg .count{fill:var(--muted)}
.bar rect{fill:var(--info)}
.bar-succeeded rect,.bar-connected rect{fill:var(--ok)}.bar-failed rect{fill:var(--fail)}
.bar-skipped rect,.bar-not-registered rect,.bar-offboarded rect,.bar-retired rect,.bar-departed rect{fill:var(--skip)}.bar-awaiting-connection rect{fill:var(--warn)}.bar-handoff-overdue rect{fill:var(--fail)}.bar-stale rect{fill:var(--fail)}
.failures{display:flex;flex-wrap:wrap;gap:.4rem;list-style:none;padding:0;margin:0}
.failures li{background:var(--card);border:1px solid var(--line);border-radius:6px;padding:.25rem .55rem}
.failures .count{font-weight:700;color:var(--fail)}
.controls{display:flex;flex-wrap:wrap;gap:.6rem 1rem;align-items:center;margin-bottom:.6rem}
.controls label{display:flex;gap:.4rem;align-items:center;color:var(--muted)}
.controls input,.controls select{font:inherit;padding:.35rem .5rem;border:1px solid var(--line);border-radius:6px;background:#fff;min-width:0}
.controls input{width:16rem;max-width:60vw}
output{color:var(--muted);font-size:.9rem}
.table-wrap{overflow-x:auto;background:var(--card);border:1px solid var(--line);border-radius:8px}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{text-align:left;vertical-align:top;padding:.45rem .6rem;border-bottom:1px solid var(--line)}
th{background:#eef1f5;white-space:nowrap;position:sticky;top:0}
th button{font:inherit;font-weight:600;border:0;background:none;padding:0;cursor:pointer;color:inherit}
th[aria-sort=ascending] button::after{content:" \\25B2";font-size:.7em}
th[aria-sort=descending] button::after{content:" \\25BC";font-size:.7em}
td[data-col=name],td[data-col=ou]{overflow-wrap:break-word;min-width:8rem;max-width:18rem}
tr[hidden]{display:none}
.pill{display:inline-block;border-radius:999px;padding:.05rem .5rem;font-size:.8rem;font-weight:600;white-space:nowrap;background:#e5e7eb}
.outcome-succeeded{background:#dcf3e3;color:var(--ok)}.outcome-failed{background:#fbe1df;color:var(--fail)}.outcome-skipped{background:#eceef1;color:var(--skip)}
.connector-connected{background:#dcf3e3;color:var(--ok)}.connector-awaiting-connection{background:#fff0d1;color:var(--warn)}.connector-handoff-overdue{background:#fbe1df;color:var(--fail)}.connector-stale{background:#fbe1df;color:var(--fail)}
.badges{display:flex;flex-wrap:wrap;gap:.25rem}
.badge{border-radius:4px;padding:.05rem .35rem;font-size:.75rem;border:1px solid var(--line);white-space:nowrap;cursor:help}
.badge b{font-weight:600}
.badge-created{background:#dcf3e3;border-color:#a6d9b5}.badge-updated{background:#dbe8fa;border-color:#a9c4ec}
.badge-unchanged{background:#f1f3f5}.badge-skipped{background:#eceef1;color:var(--skip);border-style:dashed}
.badge-failed{background:#fbe1df;border-color:#eba8a2;color:var(--fail)}
.error-name{color:var(--fail);font-weight:600;cursor:help}.error-step{color:var(--muted)}
.remediation{margin:.25rem 0 0;color:var(--muted);font-size:.85rem;max-width:38rem}
.skip-reason{color:var(--skip)}
.empty{color:var(--muted)}
footer{margin:1.5rem 0 .5rem;color:var(--muted);font-size:.8rem}
@media (max-width:720px){
body{padding:.6rem}
.table-wrap{border:0;background:none;overflow:visible}
table,tbody,tr,td{display:block;width:100%}
thead tr{display:flex;flex-wrap:wrap;gap:.3rem;margin-bottom:.5rem}
thead th{position:static;border:1px solid var(--line);border-radius:6px;padding:.25rem .5rem}
thead th:not(:has(button)){display:none}
tbody tr{background:var(--card);border:1px solid var(--line);border-radius:8px;margin-bottom:.6rem;padding:.3rem .2rem}
td{border:0;display:grid;grid-template-columns:6.5rem 1fr;gap:.5rem;padding:.25rem .5rem}
td::before{content:attr(data-label);color:var(--muted);font-size:.8rem}
td[data-col=name],td[data-col=ou]{max-width:none;overflow-wrap:anywhere}
td[data-value=""]:not([data-col=steps]){display:none}
}
`;

// Static: it reads everything from the rendered DOM, so no report value is ever placed inside a
// script (where HTML escaping would not protect) and its CSP hash is the same for every report.
const SCRIPT = `
(function () {
  var table = document.querySelector('[data-testid="accounts-table"]');
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows);
  var text = document.querySelector('[data-testid="filter-text"]');
  var outcome = document.querySelector('[data-testid="filter-outcome"]');
  var count = document.querySelector('[data-testid="visible-count"]');
  var none = document.querySelector('[data-testid="no-match"]');
  function apply() {
    var q = text.value.trim().toLowerCase();
    var o = outcome.value;
    var shown = 0;
    rows.forEach(function (row) {
      var visible = (!o || row.getAttribute('data-outcome') === o) &&
        (!q || row.getAttribute('data-search').indexOf(q) !== -1);
      row.hidden = !visible;
      if (visible) shown++;
    });
    count.textContent = shown + ' of ' + rows.length + ' accounts';
    none.hidden = shown !== 0;
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
  }
  text.addEventListener('input', apply);
  outcome.addEventListener('change', apply);
  Array.prototype.forEach.call(table.querySelectorAll('th button[data-sort]'), function (button) {
    button.addEventListener('click', function () { sortBy(button); });
  });
  apply();
})();
`;
