import { ledger } from '../../commons/clients/dynamodb';
import { accessAccount } from '../../commons/clients/member-account';
import { finishStep, taskHandler } from '../../commons/step-handler';
import { parseTaskInput } from '../../commons/task-input';

/**
 * Lambda: claim the account for this run (one run per account at a time; a dry run changes
 * nothing, the ledger included), then reach it through its role. The claim returns the account's
 * ledger view, which the later steps decide on. The credentials stay in this process.
 */
export const handler = taskHandler('access', parseTaskInput, async ({ input, runtime }) => {
  const { accountId } = input.account;
  const view = input.dryRun
    ? await ledger(runtime).view(accountId)
    : await ledger(runtime).claim(accountId, input.runId, runtime.config.leaseSeconds);
  const { result } = await accessAccount(runtime, input.account, input.runId);
  return finishStep(input, 'access', result, view);
});
