import type { Context } from 'aws-lambda';
import { RETRYABLE_ERROR_NAMES } from '../../commons/errors';
import type { ReportAccount } from '../../commons/run';
import { lambdaFunctionName, SANDBOX_STAGE } from '../../commons/stack-resources';
import type { TaskInput } from '../../commons/task-input';
import { handler as accessHandler } from '../../functions/access/handler';
import { handler as accessKeyHandler } from '../../functions/access-key/handler';
import { handler as departHandler } from '../../functions/depart/handler';
import { handler as offboardHandler } from '../../functions/offboard/handler';
import { handler as policyHandler } from '../../functions/policy/handler';
import { handler as recordHandler } from '../../functions/record-result/handler';
import { handler as registerHandler } from '../../functions/register/handler';
import { handler as trailHandler } from '../../functions/trail/handler';
import { handler as userHandler } from '../../functions/user/handler';
import { handler as verifyHandler } from '../../functions/verify/handler';
import type { Sandbox } from '../../sandbox';
import { lambdaContext } from './lambda-context';

type Handler = (event: unknown, context: Context) => Promise<unknown>;

/** Each handler's Lambda context names its function, whose role it then runs as. */
const contextOf = (functionKey: string) => lambdaContext(lambdaFunctionName(SANDBOX_STAGE, functionKey));

/** A task of the pipeline: its function's key, its handler, and when the state machine runs it (a Choice). */
type PipelineTask = readonly [string, Handler, ((state: TaskInput) => boolean)?];

/** The onboarding pipeline's task handlers, in order, as the state machine chains them. */
export const ONBOARD_STEPS: readonly PipelineTask[] = [
  ['access', accessHandler],
  ['user', userHandler],
  ['policy', policyHandler],
  ['accessKey', accessKeyHandler],
  ['trail', trailHandler],
  ['register', registerHandler],
  // DeliverWebhook, after the WebhookOwed Choice: the same function, when Register left a webhook owed.
  ['register', registerHandler, (state) => state.steps.register?.pendingWebhook !== undefined],
  ['verify', verifyHandler],
];

export interface PipelineRunner {
  run(input: TaskInput): Promise<ReportAccount>;
  /** Every task's output so far, as the execution history would hold them. */
  readonly outputs: unknown[];
}

/**
 * Runs one account through the real Lambda handlers with the state machine's semantics: each
 * Task's retryable errors are retried (the waits taken on the sandbox clock), any other error is
 * caught into the account's FAILED result, and the record task always ends the pipeline. Load
 * after setLambdaEnvironment(): handlers read their configuration at first call, once.
 */
export async function loadPipeline(
  sandbox: Sandbox,
  handlers: readonly PipelineTask[] = ONBOARD_STEPS,
): Promise<PipelineRunner> {
  const record: Handler = recordHandler;
  const retryable = new Set<string>(RETRYABLE_ERROR_NAMES);
  const outputs: unknown[] = [];
  const invoke = async (handler: Handler, event: unknown, functionKey: string) => {
    const output = await handler(event, contextOf(functionKey));
    outputs.push(output);
    return output;
  };
  return {
    outputs,
    async run(input) {
      let state: TaskInput = input;
      for (const [functionKey, handler, when] of handlers) {
        if (when && !when(state)) continue;
        for (let attempt = 1; ; attempt++) {
          try {
            state = (await invoke(handler, state, functionKey)) as TaskInput;
            break;
          } catch (error) {
            const e = error as Error;
            if (retryable.has(e.name) && attempt < 6) {
              sandbox.world.clock.advance(2 ** attempt * 5_000);
              continue;
            }
            return (await invoke(
              record,
              {
                ...state,
                // What Lambda and a Catch with ResultPath $.failure hand on.
                failure: {
                  Error: e.name,
                  Cause: JSON.stringify({ errorType: e.name, errorMessage: e.message }),
                },
              },
              'recordResult',
            )) as ReportAccount;
          }
        }
      }
      return (await invoke(record, state, 'recordResult')) as ReportAccount;
    },
  };
}

/** The offboarding pipeline: the offboard task reaches the account itself, when it can. */
export const OFFBOARD_STEPS: readonly PipelineTask[] = [
  ['offboard', offboardHandler],
  // DeliverOffboardingWebhook, when Offboard left its message owed to the webhook.
  ['offboard', offboardHandler, (state) => state.steps.offboard?.pendingWebhook !== undefined],
];

/** A departed account's pipeline: Depart, then DeliverRemovalWebhook when Depart left one owed. */
export const DEPART_STEPS: readonly PipelineTask[] = [
  ['depart', departHandler],
  ['depart', departHandler, (state) => state.steps.depart?.pendingWebhook !== undefined],
];

/** The task input for an account of the sandbox's organization. */
export function accountInput(
  sandbox: Sandbox,
  accountId: string,
  runId: string,
  options: { mode?: TaskInput['mode']; dryRun?: boolean; execution?: string } = {},
): TaskInput {
  const account = sandbox.world.organization.accounts.get(accountId);
  if (!account) throw new Error(`no account ${accountId}`);
  return {
    runId,
    // The execution the run is (its leases' token): one per run id unless a test names another.
    execution: options.execution ?? `execution-of-${runId}`,
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

/**
 * Every call the sandbox logged since `since`, as the pinned lists write them: `service:Operation`,
 * ` (write)` for a write, and the error code of an answered error (a "not found" is an answer that
 * costs a request too).
 */
export function callsSince(sandbox: Sandbox, since: number): string[] {
  return sandbox.world.callLog
    .list({ sinceSeq: since })
    .map(
      (c) =>
        `${c.service}:${c.operation}${c.readOnly ? '' : ' (write)'}${c.outcome === 'ok' ? '' : ` (${c.errorCode})`}`,
    );
}
