import { stepHandler } from '../../commons/step-handler';
import { ledgerView } from '../../commons/task-input';
import { verifyConnector } from './verify-connector';

/** Lambda: prove the key works with the connector's permissions, and detect the live connector. */
export const handler = stepHandler('verify', async ({ input, runtime }) => {
  const { clients } = await runtime.access(input.account, input.runId);
  return verifyConnector(
    { iam: clients.iam, secrets: runtime.secrets, config: runtime.config, settings: runtime.settings },
    input.account.accountId,
    { ...input, ledger: ledgerView(input) },
  );
});
