import { createHash } from 'node:crypto';
import type { ConnectorStatus } from '../ledger';

/**
 * What the run report (render-html.ts) and the organization dashboard (render-dashboard.ts) share:
 * the page shell with its Content Security Policy, escaping, the connector statuses' labels, the
 * bar chart and the stylesheet both pages start from. Each page is one self-contained file: the
 * policy forbids every load and allows only the page's own inline style and script, by hash.
 */
export interface PageParts {
  title: string;
  /** The page's own CSS, appended to the shared stylesheet. */
  style: string;
  /** The page's inline script; none, and the policy allows no script at all. */
  script?: string;
  body: string;
}

export function htmlPage(parts: PageParts): string {
  const style = `${BASE_STYLE}${parts.style}`;
  const csp = [
    "default-src 'none'",
    `style-src '${sha256(style)}'`,
    parts.script ? `script-src '${sha256(parts.script)}'` : "script-src 'none'",
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
<title>${esc(parts.title)}</title>
<style>${style}</style>
</head>
<body>
${parts.body}
${parts.script ? `<script>${parts.script}</script>\n` : ''}</body>
</html>
`;
}

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

/** `HANDOFF_OVERDUE` → `handoff-overdue`: a status as a CSS class suffix. */
export function kebab(value: string): string {
  return value.toLowerCase().replaceAll('_', '-');
}

// A Record over the type, not a list: a status added to ConnectorStatus fails to compile here
// until it has a label, so neither page ever shows a raw machine value.
export const CONNECTOR_LABELS: Readonly<Record<ConnectorStatus, string>> = {
  CONNECTED: 'Connected',
  AWAITING_CONNECTION: 'Awaiting connection',
  HANDOFF_OVERDUE: 'Hand-off overdue',
  STALE: 'Stale',
  NOT_REGISTERED: 'Not registered',
  OFFBOARDED: 'Offboarded',
  RETIRED: 'Retired',
  DEPARTED: 'Departed',
};

export function connectorPill(status: ConnectorStatus): string {
  return `<span class="pill connector-${kebab(status)}">${esc(CONNECTOR_LABELS[status] ?? status)}</span>`;
}

/** Whole days from `from` to `to` (ISO times), or undefined when either is missing or unreadable. */
export function daysBetween(from: string | undefined | null, to: string): number | undefined {
  if (!from) return undefined;
  const ms = Date.parse(to) - Date.parse(from);
  return Number.isFinite(ms) ? Math.max(0, Math.floor(ms / 86_400_000)) : undefined;
}

export interface AccountLine {
  accountId: string;
  name?: string;
  ou?: string;
  connector: ConnectorStatus;
  /** Days since the hand-off (or the key's last use); undefined when the ledger does not say. */
  days: number | undefined;
}

/** The oldest first, then by account id. */
function byAge(a: AccountLine, b: AccountLine): number {
  return (
    (b.days ?? -1) - (a.days ?? -1) || (a.accountId < b.accountId ? -1 : a.accountId > b.accountId ? 1 : 0)
  );
}

const plural = (days: number) => `${days} ${days === 1 ? 'day' : 'days'}`;

/** A list of accounts to act on, the oldest first: each line the command to run, who, and how long. */
function accountLines(
  testId: string,
  lines: readonly AccountLine[],
  line: { command: string; age: (days: number | undefined) => string; pill: (c: ConnectorStatus) => boolean },
): string {
  const item = (h: AccountLine) => {
    const who = `${esc(h.name ?? '')}${h.ou ? ` <span class="muted">${esc(h.ou)}</span>` : ''}`;
    return `<li data-account-id="${esc(h.accountId)}" data-connector="${esc(h.connector)}"><code class="command">casbridge ${line.command} ${esc(h.accountId)}</code> <span class="who">${who}</span> ${line.pill(h.connector) ? `${connectorPill(h.connector)} ` : ''}<span class="age" data-days="${h.days ?? ''}">${esc(line.age(h.days))}</span></li>`;
  };
  return `<ul class="handoffs" data-testid="${testId}">
${[...lines].sort(byAge).map(item).join('\n')}
</ul>`;
}

export const HANDOFF_HOW =
  'Reveal each connector’s key with its command, paste it in Defender for Cloud Apps (the command prints the portal steps), then confirm it with casbridge confirm, or let the next run see the key in use.';

/** Connectors waiting for their operator: `casbridge credentials` reveals each key. */
export function handoffList(testId: string, handoffs: readonly AccountLine[]): string {
  return accountLines(testId, handoffs, {
    command: 'credentials',
    age: (days) => (days === undefined ? 'waiting, since unknown' : `waiting ${plural(days)}`),
    // Only an overdue one says so: every other line awaits connection, as the heading says.
    pill: (c) => c !== 'AWAITING_CONNECTION',
  });
}

/** Connected connectors gone quiet: `casbridge status` shows the account's key and lease. */
export function staleList(testId: string, stale: readonly AccountLine[]): string {
  return accountLines(testId, stale, {
    command: 'status',
    age: (days) => (days === undefined ? 'key never seen in use' : `key last used ${plural(days)} ago`),
    pill: () => true,
  });
}

/** A titled section: `id` names its heading for the section's aria-labelledby. */
export function section(id: string, title: string, body: string): string {
  return `<section aria-labelledby="${id}-heading">
<h2 id="${id}-heading">${esc(title)}</h2>
${body}
</section>`;
}

/**
 * A table in its frame: `head` is the header row's cells (HTML), `rows` the body's rows. On a
 * phone a `cards` table shows each row as a card; else it stays a table, scrolling in its frame.
 */
export function table(
  testId: string,
  head: string,
  rows: readonly string[],
  cards: boolean,
  className = '',
): string {
  const classes = [cards ? 'cards-on-phone' : '', className].filter(Boolean).join(' ');
  return `<div class="table-wrap${cards ? ' cards-on-phone-wrap' : ''}">
<table${classes ? ` class="${classes}"` : ''} data-testid="${testId}">
<thead><tr>${head}</tr></thead>
<tbody>
${rows.join('\n')}
</tbody>
</table>
</div>`;
}

export interface Bar {
  key: string;
  label: string;
  count: number;
}

/** A horizontal bar chart as inline SVG; colours come from the stylesheet, by class. */
export function barChart(title: string, testId: string, attribute: string, bars: readonly Bar[]): string {
  const rowHeight = 28;
  const labelWidth = 150;
  const barSpace = 190;
  const max = Math.max(0, ...bars.map((b) => b.count));
  const height = bars.length * rowHeight;
  const rows = bars.map((bar, i) => {
    const y = i * rowHeight;
    const width = max === 0 ? 0 : Math.round((bar.count / max) * barSpace * 10) / 10;
    return `<g class="bar bar-${kebab(bar.key)}" data-${attribute}="${esc(bar.key)}" data-count="${bar.count}">
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

function sha256(text: string): string {
  return `sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}`;
}

/**
 * Both pages' common stylesheet. Tables with class `cards-on-phone` turn into one card per row
 * below 720 px, each cell a label (its `data-label`) beside its content, so no page scrolls
 * sideways on a phone.
 */
const BASE_STYLE = `
:root{--bg:#f7f8fa;--fg:#1d232b;--muted:#5b6572;--card:#fff;--line:#dde2e8;--ok:#1f7a3d;--fail:#b3261e;--skip:#6b7280;--warn:#a15c00;--info:#1d5fa8;
font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--fg);background:var(--bg)}
*{box-sizing:border-box}
body{margin:0 auto;max-width:1400px;padding:1rem;line-height:1.4}
h1{font-size:1.35rem;margin:.2rem 0 .6rem;overflow-wrap:anywhere}
h2{font-size:1.1rem;margin:1.4rem 0 .6rem}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.92em;overflow-wrap:anywhere}
.meta{display:flex;flex-wrap:wrap;gap:.4rem 1.4rem;margin:0;font-size:.92rem}
.meta div{display:flex;gap:.35rem}.meta dt{color:var(--muted)}.meta dd{margin:0;font-weight:600;overflow-wrap:anywhere}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(8.5rem,1fr));gap:.6rem;margin-top:1rem}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:.7rem .8rem;display:flex;flex-direction:column}
.card .value{font-size:1.6rem;font-weight:700}.card .label{color:var(--muted);font-size:.85rem}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,22rem),1fr));gap:.6rem;margin-top:.6rem}
figure{margin:0;background:var(--card);border:1px solid var(--line);border-radius:8px;padding:.7rem}
figcaption{font-weight:600;margin-bottom:.3rem}
svg{max-width:100%;height:auto;display:block;font-size:13px}
svg text{fill:var(--fg)}svg .count{fill:var(--muted)}
.bar rect{fill:var(--info)}
.bar-succeeded rect,.bar-connected rect{fill:var(--ok)}.bar-failed rect{fill:var(--fail)}
.bar-skipped rect,.bar-not-registered rect,.bar-offboarded rect,.bar-retired rect,.bar-departed rect{fill:var(--skip)}.bar-awaiting-connection rect{fill:var(--warn)}.bar-handoff-overdue rect{fill:var(--fail)}.bar-stale rect{fill:var(--fail)}
.table-wrap{overflow-x:auto;background:var(--card);border:1px solid var(--line);border-radius:8px}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{text-align:left;vertical-align:top;padding:.4rem .6rem;border-bottom:1px solid var(--line)}
th{background:#eef1f5;white-space:nowrap}
td.num,th.num{text-align:right}
.pill{display:inline-block;border-radius:999px;padding:.05rem .5rem;font-size:.8rem;font-weight:600;white-space:nowrap;background:#e5e7eb}
.connector-connected{background:#dcf3e3;color:var(--ok)}.connector-awaiting-connection{background:#fff0d1;color:var(--warn)}.connector-handoff-overdue{background:#fbe1df;color:var(--fail)}.connector-stale{background:#fbe1df;color:var(--fail)}
.muted,.empty{color:var(--muted)}
.handoffs{list-style:none;padding:0;margin:0;background:var(--card);border:1px solid var(--line);border-radius:8px;display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,40rem),1fr));column-gap:1rem}
.handoffs li{display:flex;flex-wrap:wrap;gap:0 .6rem;align-items:baseline;padding:.25rem .6rem;border-bottom:1px solid var(--line);font-size:.9rem;min-width:0}
.handoffs .command{font-weight:600}.handoffs .age{color:var(--muted);font-size:.85rem}
footer{margin:1.5rem 0 .5rem;color:var(--muted);font-size:.8rem}
@media (max-width:720px){
body{padding:.6rem}
.cards{grid-template-columns:repeat(3,minmax(0,1fr));gap:.4rem}
.card{padding:.4rem .5rem}.card .value{font-size:1.25rem}.card .label{font-size:.75rem}
.cards-on-phone-wrap{border:0;background:none;overflow:visible}
.cards-on-phone,.cards-on-phone tbody,.cards-on-phone tr,.cards-on-phone td{display:block;width:100%}
.cards-on-phone thead{display:none}
.cards-on-phone tbody tr{background:var(--card);border:1px solid var(--line);border-radius:8px;margin-bottom:.5rem;padding:.25rem .2rem}
.cards-on-phone td{border:0;display:grid;grid-template-columns:6.5rem minmax(0,1fr);gap:.5rem;padding:.2rem .5rem;text-align:left}
.cards-on-phone td::before{content:attr(data-label);color:var(--muted);font-size:.8rem}
}
`;
