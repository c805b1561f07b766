import { stepHandler } from '../../commons/step-handler';
import { ensureAccessKey } from './ensure-access-key';

/** Lambda: the connector's access key, its secret kept in Secrets Manager only. */
export const handler = stepHandler('accessKey', async ({ input, runtime }) => {
  const { clients } = await runtime.access(input.account, input.runId);
  return ensureAccessKey(
    { iam: clients.iam, secrets: runtime.secrets, config: runtime.config },
    input.account.accountId,
    input,
  );
});
