import { iamClient } from '../../commons/clients/iam';
import { stepHandler } from '../../commons/step-handler';
import { accessAccount } from '../access/member-account';
import { ensureUser } from './ensure-user';

/** Lambda: the connector's IAM user. */
export const handler = stepHandler('user', async ({ input, runtime }) => {
  const { member } = await accessAccount(runtime, input.account, input.runId);
  return ensureUser(iamClient(member), runtime.config, input.account.accountId, input);
});
