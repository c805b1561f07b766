import { iamClient } from '../../commons/clients/iam';
import { secretsManagerClient } from '../../commons/clients/secrets-manager';
import { stepHandler } from '../../commons/step-handler';
import { accessAccount } from '../access/member-account';
import { ensureAccessKey, keyDueForNewUser } from './ensure-access-key';

/** Lambda: the connector's access key, its secret kept in Secrets Manager only. */
export const handler = stepHandler('accessKey', async ({ input, runtime }) => {
  // A user created in this run, its key not asked for yet: nothing to read, so no member session.
  const due = keyDueForNewUser(runtime.config, input);
  if (due) return due;
  const { member } = await accessAccount(runtime, input.account, input.runId);
  return ensureAccessKey(
    { iam: iamClient(member), secrets: secretsManagerClient(runtime), config: runtime.config },
    input.account.accountId,
    input,
  );
});
