import { ledger } from '../../commons/clients/dynamodb';
import { secretsManagerClient } from '../../commons/clients/secrets-manager';
import { snsClient } from '../../commons/clients/sns';
import { stepHandler } from '../../commons/step-handler';
import { deliverWebhook } from '../register/ensure-registration';
import { departAccount } from './depart-account';

/**
 * Lambda: clean up the central records of an account that left the organization (never the
 * account itself). Two states run it, as Register's two: Depart, which claims the account
 * (stepHandler: Depart is the first step of its pipeline) and publishes the removal hand-off, and
 * DeliverRemovalWebhook when Depart's result still owes the webhook that hand-off.
 */
export const handler = stepHandler('depart', async ({ input, runtime }) => {
  const deps = { secrets: secretsManagerClient(runtime), sns: snsClient(runtime), config: runtime.config };
  const handedOff = input.steps.depart;
  if (handedOff?.pendingWebhook !== undefined) return deliverWebhook(deps, handedOff);
  // A dry run claims nothing, so it reads the view the claim would have returned.
  const view = input.ledger ?? (await ledger(runtime).view(input.account.accountId));
  return departAccount(deps, input.account, { dryRun: input.dryRun, ledger: view });
});
