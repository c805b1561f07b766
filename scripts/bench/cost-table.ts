import {
  type Counts,
  defaultScenario,
  type MonthlyCost,
  monthlyCost,
  PRICES,
  type Scenario,
  TARGET_USD_PER_MONTH,
} from './cost-model';

/** One month at one size: each line as count × unit price = dollars, and the total against the target. */
export function costTable(title: string, cost: MonthlyCost): string {
  const rows: string[][] = [['service', 'item', 'count', '× unit price', '= USD/month']];
  for (const line of cost.lines) {
    const price = PRICES[line.price];
    rows.push([
      line.service,
      line.item,
      quantity(line.count),
      `$${price.usd} per ${quantity(price.per)} ${price.unit}`,
      usd(line.usd),
    ]);
  }
  const target = cost.scenario.accounts >= 10_000 ? TARGET_USD_PER_MONTH : undefined;
  rows.push([
    'total',
    target === undefined ? '' : `target ≤ $${target}: ${cost.totalUsd <= target ? 'met' : 'MISSED'}`,
    '',
    '',
    usd(cost.totalUsd),
  ]);
  const s = cost.scenario;
  const runs = cost.accountRuns;
  return [
    `${title}: ${s.accounts.toLocaleString('en-US')} accounts, ${s.reconcilesPerDay} reconcile a day, ${s.newAccountsPerMonth} new accounts a month, keys rotated every ${s.keyMaxAgeDays} days, pasted ${s.pasteDelayDays} days after their hand-off`,
    `  account-runs a month: ${quantity(runs.connected)} connected, ${quantity(runs.awaiting)} awaiting a paste, ${quantity(runs.connecting)} connecting, ${runs.rotationDue > 0 ? `${quantity(runs.rotationDue)} rotation due, ` : ''}${quantity(runs.rotating)} rotating, ${quantity(runs.rotated)} rotated, ${quantity(runs.onboard)} onboarded${runs.minting > 0 ? `, ${quantity(runs.minting + runs.rotating)} minted by --new-key (a run each)` : ''}; ${quantity(cost.secretsKept)} secrets kept on average`,
    ...layout(rows).map((line) => `  ${line}`),
  ].join('\n');
}

/** What each setting costs at one size: the month under the defaults, then with one setting changed. */
export function settingsTable(counts: Counts, atHandoff: Counts, accounts: number): string {
  const base = defaultScenario(accounts);
  const baseUsd = monthlyCost(counts, base).totalUsd;
  const variants: [string, Partial<Scenario>][] = [
    ['keepSecrets true (a secret per account, always)', { keepSecrets: true }],
    [
      'secretRecoveryDays 30, were pending deletion billed (AWS: not billed)',
      { secretRecoveryDays: 30, pendingDeletionBilled: true },
    ],
    ['keyMaxAgeDays 90 (the most config.ts allows)', { keyMaxAgeDays: 90 }],
    ['keyMaxAgeDays 30', { keyMaxAgeDays: 30 }],
    ['pastes within 1 day of the hand-off', { pasteDelayDays: 1 }],
    ['trailMode own, an organization trail already covering', { trailMode: 'own' }],
    ['trailMode reuse-existing, no covering trail (casbridge trails)', { coveringTrail: false }],
    [
      'trailMode organization, no covering trail (one organization trail)',
      { trailMode: 'organization', coveringTrail: false },
    ],
    ['the AWS managed key instead of the customer managed one', { customerManagedKey: false }],
    ['reconcile 4 times a day', { reconcilesPerDay: 4 }],
    ['reconcile weekly', { reconcilesPerDay: 1 / 7 }],
    ['a hand-off webhook', { webhook: true }],
    ['log retention 365 days', { logRetentionDays: 365 }],
    ['a year of run reports kept', { reportMonthsKept: 12 }],
  ];
  const rows: string[][] = [['setting', 'USD/month', 'change']];
  rows.push(['the defaults', usd(baseUsd), '']);
  const row = (label: string, total: number) => {
    const delta = total - baseUsd;
    rows.push([label, usd(total), `${delta >= 0 ? '+' : '-'}${usd(Math.abs(delta))}`]);
  };
  row(
    'keyDelivery at-handoff (the run mints keys; their secrets wait for the paste)',
    monthlyCost(atHandoff, base).totalUsd,
  );
  row(
    'keyDelivery at-handoff, pastes within 1 day',
    monthlyCost(atHandoff, { ...base, pasteDelayDays: 1 }).totalUsd,
  );
  for (const [label, change] of variants) {
    const total = monthlyCost(counts, { ...base, ...change }).totalUsd;
    const delta = total - baseUsd;
    rows.push([label, usd(total), `${delta >= 0 ? '+' : '-'}${usd(Math.abs(delta))}`]);
  }
  return [
    `What each setting costs at ${accounts.toLocaleString('en-US')} accounts (one setting changed at a time from the defaults, keyDelivery on-demand):`,
    ...layout(rows).map((line) => `  ${line}`),
  ].join('\n');
}

function layout(rows: string[][]): string[] {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) =>
    r
      .map((cell, i) => (i === r.length - 1 ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd(),
  );
}

function quantity(n: number): string {
  if (n === 0) return '0';
  if (n < 10) return n.toFixed(2).replace(/\.?0+$/, '');
  return Math.round(n).toLocaleString('en-US');
}

function usd(n: number): string {
  return `$${n.toFixed(2)}`;
}
