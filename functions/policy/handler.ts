import { stepHandler } from '../../commons/step-handler';
import { ensurePolicy } from './ensure-policy';

/** Lambda: the connector policy, attached to the connector user. */
export const handler = stepHandler('policy', async ({ input, runtime }) => {
  const { clients } = await runtime.access(input.account, input.runId);
  return ensurePolicy(clients.iam, runtime.config, input.account.accountId, input);
});
