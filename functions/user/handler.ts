import { stepHandler } from '../../commons/step-handler';
import { ensureUser } from './ensure-user';

/** Lambda: the connector's IAM user. */
export const handler = stepHandler('user', async ({ input, runtime }) => {
  const { clients } = await runtime.access(input.account, input.runId);
  return ensureUser(clients.iam, runtime.config, input.account.accountId, input);
});
