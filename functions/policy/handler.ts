import { iamClient } from '../../commons/clients/iam';
import { stepHandler } from '../../commons/step-handler';
import { accessAccount } from '../access/member-account';
import { ensurePolicy } from './ensure-policy';

/** Lambda: the connector policy, attached to the connector user. */
export const handler = stepHandler('policy', async ({ input, runtime }) => {
  const { member } = await accessAccount(runtime, input.account, input.runId);
  return ensurePolicy(iamClient(member), runtime.config, input.account.accountId, input);
});
