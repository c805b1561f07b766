import { stepHandler } from '../../commons/step-handler';
import { ensureTrail } from './ensure-trail';

/** Lambda: the account's multi-Region trail, unless an organization trail covers it. */
export const handler = stepHandler('trail', async ({ input, runtime }) => {
  const { clients } = await runtime.access(input.account, input.runId);
  return ensureTrail(clients.cloudtrail, runtime.config, input.account.accountId, input);
});
