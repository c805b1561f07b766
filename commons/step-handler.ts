import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { StepName } from './errors';
import { logger } from './logger';
import { getRuntime, type Runtime } from './runtime';
import type { StepResult } from './step-result';
import { parseTaskInput, type TaskInput } from './task-input';

export interface StepContext {
  input: TaskInput;
  runtime: Runtime;
}

/**
 * The shape every per-account task shares: parse the input at the boundary, tag every log line
 * with the run, account and step, run the one domain function, and add its result to the
 * account's steps. Errors are logged by name and request id, then rethrown for Retry/Catch.
 */
export function stepHandler(step: StepName, run: (ctx: StepContext) => Promise<StepResult>) {
  return middy(async (event: unknown): Promise<TaskInput> => {
    const input = parseTaskInput(event);
    logger.appendKeys({ runId: input.runId, accountId: input.account.accountId, step, dryRun: input.dryRun });
    try {
      const result = await run({ input, runtime: getRuntime() });
      logger.info('step finished', { action: result.action, reason: result.reason });
      return { ...input, steps: { ...input.steps, [step]: result } };
    } catch (error) {
      const e = error as { name?: string; message?: string; $metadata?: { requestId?: string } };
      logger.error('step failed', {
        errorName: e.name,
        errorMessage: e.message,
        awsRequestId: e.$metadata?.requestId,
      });
      throw error;
    }
  }).use(injectLambdaContext(logger, { resetKeys: true }));
}
