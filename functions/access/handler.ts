import { stepHandler } from '../../commons/step-handler';

/**
 * Lambda: claim the account for this run (one run per account at a time; a dry run changes
 * nothing, the ledger included), then reach it through its role. The credentials stay in this
 * process.
 */
export const handler = stepHandler('access', async ({ input, runtime }) => {
  if (!input.dryRun)
    await runtime.ledger.claim(input.account.accountId, input.runId, runtime.config.leaseSeconds);
  return (await runtime.access(input.account, input.runId)).result;
});
