import { terminal } from '../render/terminal-text';
import { measureCost } from './cost';
import { defaultScenario, monthlyCost } from './cost-model';
import { costTable, settingsTable } from './cost-table';
import { progress } from './format';

/**
 * Every kind of account-run counted from local executions (./cost.ts), then priced for 1,000 and
 * 10,000 accounts with the daily reconcile (./cost-model.ts): before the fast path (the per-step
 * pipeline for every account, a secret kept per account) and as deployed, with keys minted by the run
 * (at-handoff) and on demand (the default).
 */
export async function costPhase(accountsPerKind: number) {
  const started = performance.now();
  const { onDemand, after, before } = await measureCost(accountsPerKind);
  progress(
    `cost: every kind of run over ${accountsPerKind} accounts, three times, in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
  const out = terminal(process.stdout);
  const figures: Record<string, unknown> = { accountsPerKind, measured: { onDemand, after, before } };
  for (const accounts of [1000, 10_000]) {
    const base = defaultScenario(accounts);
    const beforeCost = monthlyCost(before, { ...base, keepSecrets: true });
    const afterCost = monthlyCost(after, base);
    const onDemandCost = monthlyCost(onDemand, base);
    out.write(
      `\n${costTable('Before (every account through the per-step pipeline, a secret per account)', beforeCost)}\n`,
    );
    out.write(
      `\n${costTable("keyDelivery at-handoff (the check's fast path, keys minted by the run, secrets deleted once the connector uses them)", afterCost)}\n`,
    );
    out.write(
      `\n${costTable('keyDelivery on-demand, the default (keys minted at the paste by `credentials --new-key`, secrets deleted once shown)', onDemandCost)}\n`,
    );
    figures[accounts] = { before: beforeCost, atHandoff: afterCost, onDemand: onDemandCost };
  }
  out.write(`\n${settingsTable(onDemand, after, 10_000)}\n`);
  const transitions = (m: typeof onDemand) =>
    Object.entries(m.kinds)
      .map(([kind, k]) => `${kind} ${k.transitions}`)
      .join(', ');
  out.write(`\ntransitions per account-run, on-demand: ${transitions(onDemand)}\n`);
  out.write(
    `transitions per account-run, at-handoff (after / before): ${Object.entries(after.kinds)
      .map(
        ([kind, k]) =>
          `${kind} ${k.transitions} / ${before.kinds[kind as keyof typeof before.kinds]?.transitions}`,
      )
      .join(', ')}\n`,
  );
  return figures;
}
