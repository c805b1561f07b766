import type { MemberAccount } from '../../commons/aws-clients';
import { ledger } from '../../commons/clients/dynamodb';
import { iamClient } from '../../commons/clients/iam';
import { secretsManagerClient } from '../../commons/clients/secrets-manager';
import { snsClient } from '../../commons/clients/sns';
import { CasBridgeError } from '../../commons/errors';
import { logger } from '../../commons/logger';
import { stepHandler } from '../../commons/step-handler';
import { accessAccount } from '../access/member-account';
import { deliverWebhook } from '../register/ensure-registration';
import { offboardAccount } from './offboard-account';

/**
 * Lambda: offboard the account. The account is claimed first (stepHandler: Offboard is the first
 * step of its pipeline), and the task reaches it itself, because a suspended or closed account
 * often refuses the role: then only the central records are cleaned up, and the result says what
 * remains in the account. Two states run it, as Register's two: Offboard, and
 * DeliverOffboardingWebhook when Offboard's result still owes the webhook its message.
 */
export const handler = stepHandler('offboard', async ({ input, runtime }) => {
  // The DeliverOffboardingWebhook state: the offboarding's webhook, owed by the Offboard state.
  const handedOff = input.steps.offboard;
  if (handedOff?.pendingWebhook !== undefined)
    return deliverWebhook(
      { secrets: secretsManagerClient(runtime), sns: snsClient(runtime), config: runtime.config },
      handedOff,
    );
  let member: MemberAccount | undefined;
  try {
    member = (await accessAccount(runtime, input.account, input.runId)).member;
  } catch (error) {
    if (!(error instanceof CasBridgeError) || error.retryable) throw error;
    logger.warn('account unreachable, offboarding central records only', { errorName: error.name });
  }
  return offboardAccount(
    {
      ...(member ? { iam: iamClient(member) } : {}),
      secrets: secretsManagerClient(runtime),
      sns: snsClient(runtime),
      ledger: ledger(runtime),
      config: runtime.config,
    },
    input.account,
    { dryRun: input.dryRun, mode: input.mode === 'auto-offboard' ? 'auto-offboard' : 'offboard' },
  );
});
