import type { Config } from './config';
import { ConnectorUserTamperedError, type StepName } from './errors';

/**
 * One thing the connector user has that casbridge did not give it. `repair` removes it where
 * casbridge owns what holds it; without one it can only be reported.
 */
export interface TamperFinding {
  /** What and where, for the report and the error: `inline policy admin on user CloudAppSecurity`. */
  what: string;
  repair?: () => Promise<void>;
}

/**
 * Applies the configured tamper response (CASBRIDGE_TAMPER_RESPONSE) to a step's findings:
 * `repair` removes every repairable one and fails the account only for the rest; `report` fails it
 * for all, changing nothing. A dry run plans and changes nothing. Returns what was (or, in a dry
 * run, would be) removed.
 */
export async function respondToTamper(
  findings: readonly TamperFinding[],
  context: { config: Config; step: StepName; accountId: string; dryRun: boolean },
): Promise<string[]> {
  if (findings.length === 0) return [];
  const { config, step, accountId, dryRun } = context;
  const fail = (found: readonly TamperFinding[], repairable: boolean) =>
    new ConnectorUserTamperedError(
      `The connector user of account ${accountId} was changed by someone other than casbridge: ${found.map((f) => f.what).join('; ')}`,
      found.map((f) => f.what),
      { step, repairable },
    );
  if (config.tamperResponse === 'report')
    throw fail(
      findings,
      findings.every((f) => f.repair),
    );
  const repaired: string[] = [];
  for (const finding of findings) {
    if (!finding.repair) continue;
    if (!dryRun) await finding.repair();
    repaired.push(finding.what);
  }
  const unrepairable = findings.filter((f) => !f.repair);
  if (unrepairable.length > 0) throw fail(unrepairable, false);
  return repaired;
}
