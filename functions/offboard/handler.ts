import type { MemberClients } from '../../commons/aws-clients';
import { CasBridgeError } from '../../commons/errors';
import { logger } from '../../commons/logger';
import { stepHandler } from '../../commons/step-handler';
import { offboardAccount } from './offboard-account';

/**
 * Lambda: offboard the account. It claims the account and reaches it itself, because a
 * suspended or closed account often refuses the role: then only the central records are cleaned
 * up, and the result says what remains in the account.
 */
export const handler = stepHandler('offboard', async ({ input, runtime }) => {
  if (!input.dryRun)
    await runtime.ledger.claim(input.account.accountId, input.runId, runtime.config.leaseSeconds);
  let clients: MemberClients | undefined;
  try {
    clients = (await runtime.access(input.account, input.runId)).clients;
  } catch (error) {
    if (!(error instanceof CasBridgeError) || error.retryable) throw error;
    logger.warn('account unreachable, offboarding central records only', { errorName: error.name });
  }
  return offboardAccount(
    {
      ...(clients ? { iam: clients.iam } : {}),
      secrets: runtime.secrets,
      sns: runtime.sns,
      ledger: runtime.ledger,
      config: runtime.config,
    },
    input.account,
    input,
  );
});
