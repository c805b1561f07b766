import { iamClient } from '../../commons/clients/iam';
import { secretsManagerClient } from '../../commons/clients/secrets-manager';
import { stepHandler } from '../../commons/step-handler';
import { accessAccount } from '../access/member-account';
import { ensureAccessKey } from './ensure-access-key';

/** Lambda: the connector's access key, its secret kept in Secrets Manager only. */
export const handler = stepHandler('accessKey', async ({ input, runtime }) => {
  const { member } = await accessAccount(runtime, input.account, input.runId);
  return ensureAccessKey(
    { iam: iamClient(member), secrets: secretsManagerClient(runtime), config: runtime.config },
    input.account.accountId,
    input,
  );
});
