import type { Ledger, LedgerView } from '../../commons/ledger';
import type { StepResult } from '../../commons/step-result';

/**
 * Runs a step's domain function as the pipeline does: on the account's ledger view (what the
 * access task's claim returns), its changes then written as RecordResult writes them. A step
 * that fails writes nothing.
 */
export async function withLedger(
  ledger: Ledger,
  accountId: string,
  step: (view: LedgerView) => Promise<StepResult>,
): Promise<StepResult> {
  const result = await step(await ledger.view(accountId));
  if (result.ledger) await ledger.update(accountId, result.ledger);
  return result;
}
