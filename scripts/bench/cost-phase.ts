import { terminal } from '../render/terminal-text';
import { measureCost } from './cost';
import { defaultScenario, monthlyCost } from './cost-model';
import { costTable, settingsTable } from './cost-table';
import { progress } from './format';

/**
 * Every kind of account-run counted from local executions (./cost.ts), then priced for 1,000 and
 * 10,000 accounts with the daily reconcile (./cost-model.ts): before the fast path (the per-step
 * pipeline for every account, a secret kept per account) and as deployed.
 */
export async function costPhase(accountsPerKind: number) {
  const started = performance.now();
  const { after, before } = await measureCost(accountsPerKind);
  progress(
    `cost: every kind of run over ${accountsPerKind} accounts, twice, in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
  const out = terminal(process.stdout);
  const figures: Record<string, unknown> = { accountsPerKind, measured: { after, before } };
  for (const accounts of [1000, 10_000]) {
    const base = defaultScenario(accounts);
    const beforeCost = monthlyCost(before, { ...base, keepSecrets: true });
    const afterCost = monthlyCost(after, base);
    out.write(
      `\n${costTable('Before (every account through the per-step pipeline, a secret per account)', beforeCost)}\n`,
    );
    out.write(
      `\n${costTable("After (the check's fast path, secrets deleted once the connector uses its key)", afterCost)}\n`,
    );
    figures[accounts] = { before: beforeCost, after: afterCost };
  }
  out.write(`\n${settingsTable(after, 10_000)}\n`);
  out.write(
    `\ntransitions per account-run (after / before): ${Object.entries(after.kinds)
      .map(
        ([kind, k]) =>
          `${kind} ${k.transitions} / ${before.kinds[kind as keyof typeof before.kinds].transitions}`,
      )
      .join(', ')}\n`,
  );
  return figures;
}
