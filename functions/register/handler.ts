import { secretsManagerClient } from '../../commons/clients/secrets-manager';
import { snsClient } from '../../commons/clients/sns';
import { stepHandler } from '../../commons/step-handler';
import { ledgerView } from '../../commons/task-input';
import { ensureRegistration } from './ensure-registration';

/** Lambda: hand the ready account to the operator (SNS, optional signed webhook); never the secret. */
export const handler = stepHandler('register', async ({ input, runtime }) =>
  ensureRegistration(
    { sns: snsClient(runtime), secrets: secretsManagerClient(runtime), config: runtime.config },
    input.account,
    { ...input, ledger: ledgerView(input) },
  ),
);
