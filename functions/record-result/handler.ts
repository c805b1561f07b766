import { ledger } from '../../commons/clients/dynamodb';
import { desiredStateHash } from '../../commons/desired-state';
import { logger } from '../../commons/logger';
import { taskHandler } from '../../commons/step-handler';
import { parseRecordInput } from '../../commons/task-input';
import { recordResult } from './record-result';

/** Lambda: the account's outcome into the ledger, its lease released, its line of the report out. */
export const handler = taskHandler('record', parseRecordInput, async ({ input, runtime }) => {
  const result = await recordResult(ledger(runtime), input, desiredStateHash(runtime.config), {
    webhookConfigured: runtime.config.webhookUrl !== undefined,
  });
  logger.info('account finished', {
    outcome: result.outcome,
    changed: result.changed,
    connector: result.connector,
    errorName: result.error?.name,
  });
  return result;
});
