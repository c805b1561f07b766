import { secretsManagerClient } from '../../commons/clients/secrets-manager';
import { snsClient } from '../../commons/clients/sns';
import { stepHandler } from '../../commons/step-handler';
import { ledgerView } from '../../commons/task-input';
import { deliverWebhook, ensureRegistration } from './ensure-registration';

/**
 * Lambda: hand the ready account to the operator (SNS, optional signed webhook); never the secret.
 * Two states run it, with the one role that may do both: Register, and DeliverWebhook when
 * Register's result still owes the webhook the hand-off it published.
 */
export const handler = stepHandler('register', async ({ input, runtime }) => {
  const deps = { sns: snsClient(runtime), secrets: secretsManagerClient(runtime), config: runtime.config };
  const handedOff = input.steps.register;
  if (handedOff?.pendingWebhook !== undefined) return deliverWebhook(deps, handedOff);
  return ensureRegistration(deps, input.account, { ...input, ledger: ledgerView(input) });
});
