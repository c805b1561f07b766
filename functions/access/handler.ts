import { ledger } from '../../commons/clients/dynamodb';
import { accessAccount } from '../../commons/clients/member-account';
import { finishStep, taskHandler } from '../../commons/step-handler';
import { parseTaskInput } from '../../commons/task-input';

/**
 * Lambda: claim the account for this execution (one execution per account at a time; a dry run
 * changes nothing, the ledger included), then reach it through its role. The claim returns the
 * account's ledger view, which the later steps decide on, and the lease's expiry, which they keep
 * (commons/step-handler.ts keepLease). The credentials stay in this process.
 */
export const handler = taskHandler('access', parseTaskInput, async ({ input, runtime }) => {
  const { accountId } = input.account;
  const claimed = input.dryRun
    ? { view: await ledger(runtime).view(accountId) }
    : await ledger(runtime).claim(
        accountId,
        { token: input.execution, runId: input.runId },
        runtime.config.leaseSeconds,
      );
  const { result } = await accessAccount(runtime, input.account, input.runId);
  const output = finishStep(input, 'access', result, claimed.view);
  return 'expiresAt' in claimed ? { ...output, lease: { expiresAt: claimed.expiresAt } } : output;
});
