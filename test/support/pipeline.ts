import type { Context } from 'aws-lambda';
import { RETRYABLE_ERROR_NAMES } from '../../commons/errors';
import type { TaskInput } from '../../commons/task-input';
import type { AccountResult } from '../../functions/record-result/record-result';
import type { Sandbox } from '../../sandbox';

type Handler = (event: unknown, context: Context) => Promise<unknown>;

const CONTEXT = {
  functionName: 'casbridge-test',
  awsRequestId: 'test',
  getRemainingTimeInMillis: () => 60_000,
} as unknown as Context;

/** The onboarding pipeline's task handlers, in order, as the state machine chains them. */
export const ONBOARD_STEPS = [
  ['access', '../../functions/access/handler'],
  ['user', '../../functions/user/handler'],
  ['policy', '../../functions/policy/handler'],
  ['accessKey', '../../functions/access-key/handler'],
  ['trail', '../../functions/trail/handler'],
] as const;

export interface PipelineRunner {
  run(input: TaskInput): Promise<AccountResult>;
}

/**
 * Runs one account through the real Lambda handlers with the state machine's semantics: each
 * Task's retryable errors are retried (the waits taken on the sandbox clock), any other error is
 * caught into the account's FAILED result, and the record task always ends the pipeline. Load
 * after setLambdaEnvironment(): handlers read their configuration once.
 */
export async function loadPipeline(
  sandbox: Sandbox,
  steps: readonly (readonly [string, string])[] = ONBOARD_STEPS,
): Promise<PipelineRunner> {
  const handlers: [string, Handler][] = [];
  for (const [name, path] of steps) handlers.push([name, (await import(path)).handler as Handler]);
  const record = (await import('../../functions/record-result/handler')).handler as Handler;
  const retryable = new Set<string>(RETRYABLE_ERROR_NAMES);
  return {
    async run(input) {
      let state: TaskInput = input;
      for (const [name, handler] of handlers) {
        for (let attempt = 1; ; attempt++) {
          try {
            state = (await handler(state, CONTEXT)) as TaskInput;
            break;
          } catch (error) {
            const e = error as Error;
            if (retryable.has(e.name) && attempt < 6) {
              sandbox.world.clock.advance(2 ** attempt * 5_000);
              continue;
            }
            return (await record(
              { ...state, failure: { name: e.name, message: e.message, step: name } },
              CONTEXT,
            )) as AccountResult;
          }
        }
      }
      return (await record(state, CONTEXT)) as AccountResult;
    },
  };
}

/** The task input for an account of the sandbox's organization. */
export function accountInput(
  sandbox: Sandbox,
  accountId: string,
  runId: string,
  options: { mode?: TaskInput['mode']; dryRun?: boolean } = {},
): TaskInput {
  const account = sandbox.world.organization.accounts.get(accountId);
  if (!account) throw new Error(`no account ${accountId}`);
  return {
    runId,
    mode: options.mode ?? 'onboard',
    dryRun: options.dryRun ?? false,
    account: {
      accountId,
      name: account.name,
      ou: account.parentId,
      state: account.state,
      joinedMethod: account.joinedMethod,
      joinedTimestamp: account.joinedTimestamp.toISOString(),
    },
    steps: {},
  };
}
