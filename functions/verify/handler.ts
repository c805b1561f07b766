import { iamClient } from '../../commons/clients/iam';
import { secretsManagerClient } from '../../commons/clients/secrets-manager';
import { stepHandler } from '../../commons/step-handler';
import { ledgerView } from '../../commons/task-input';
import { accessAccount } from '../access/member-account';
import { verifyConnector } from './verify-connector';

/** Lambda: prove the key works with the connector's permissions, and detect the live connector. */
export const handler = stepHandler('verify', async ({ input, runtime }) => {
  const { member } = await accessAccount(runtime, input.account, input.runId);
  return verifyConnector(
    {
      iam: iamClient(member),
      secrets: secretsManagerClient(runtime),
      config: runtime.config,
      settings: runtime.settings,
    },
    input.account.accountId,
    { ...input, ledger: ledgerView(input) },
  );
});
