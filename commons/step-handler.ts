import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import {
  CasBridgeError,
  classifyAwsError,
  InvalidTaskInputError,
  type StepName,
  TaskFailedError,
} from './errors';
import { leaseNeedsRenewal } from './lease';
import type { LedgerView } from './ledger';
import { logger } from './logger';
import { getRuntime, type Runtime } from './runtime';
import { pipelineFor, type StepResult } from './step-result';
import { parseTaskInput, type TaskInput } from './task-input';

export interface StepContext<I = TaskInput> {
  input: I;
  runtime: Runtime;
}

/**
 * The shape every casbridge Lambda shares: parse the input at the boundary, tag every log line
 * with what the input says (run, account, task), run one domain function, and log errors by name
 * and request id before rethrowing them for the state machine's Retry/Catch.
 */
export function lambdaHandler<I, O>(
  task: StepName,
  parse: (event: unknown) => I,
  logKeys: (input: I) => Record<string, unknown>,
  run: (ctx: StepContext<I>) => Promise<O>,
) {
  return middy(async (event: unknown, context: Context): Promise<O> => {
    logger.appendKeys({ step: task });
    const input = parse(event);
    logger.appendKeys(logKeys(input));
    try {
      // Keyed by the function (and the container, where a local run models several): locally
      // every function runs in this one process, each as its role.
      return await run({ input, runtime: getRuntime(context?.functionName, context?.logStreamName) });
    } catch (error) {
      const e = error as { name?: string; message?: string; $metadata?: { requestId?: string } };
      logger.error('task failed', {
        errorName: e.name,
        errorMessage: e.message,
        awsRequestId: e.$metadata?.requestId,
      });
      // The safety net: an AWS error a domain module let through raw (a throttled ledger write,
      // say) still reaches Retry/Catch by casbridge's names, not the SDK's; and one casbridge does
      // not classify at all (NoSuchEntityException, a TypeError) reaches the execution's history
      // as TaskFailed naming it, never under a name no Retry, Catch or remediation knows.
      const classified = classifyAwsError(error, task);
      if (classified instanceof CasBridgeError) throw classified;
      const name = e.name ?? 'Error';
      throw new TaskFailedError(e.message ? `${name}: ${e.message}` : name, {
        step: task,
        original: name,
        cause: error,
      });
    }
  }).use(injectLambdaContext(logger, { resetKeys: true }));
}

/** A per-account task: its log lines carry the run id, the account id and the dry-run flag. */
export function taskHandler<I extends TaskInput, O>(
  task: StepName,
  parse: (event: unknown) => I,
  run: (ctx: StepContext<I>) => Promise<O>,
) {
  return lambdaHandler(
    task,
    parse,
    (input) => ({ runId: input.runId, accountId: input.account.accountId, dryRun: input.dryRun }),
    run,
  );
}

/**
 * A pipeline step: it makes sure the execution still holds the account (keepLease) before the
 * step's own work, and its result is added to the account's steps.
 */
export function stepHandler(step: StepName, run: (ctx: StepContext) => Promise<StepResult>) {
  return taskHandler(step, parseTaskInput, async (ctx) => {
    const kept = await keepLease(ctx, step);
    // The first step of a pipeline without Access claims the account: the claim's view of the
    // ledger is the one the step and RecordResult decide on, as Access's is for the others.
    const input = kept
      ? { ...ctx.input, lease: kept.lease, ...(kept.view && !ctx.input.ledger ? { ledger: kept.view } : {}) }
      : ctx.input;
    const checked = input.checked?.[step];
    if (checked) {
      // CheckAccount made this step's reads moments ago, under the same lease, and found nothing
      // to do: the same result, its state and report line kept, without a second member session.
      logger.info('step settled by the check');
      return finishStep(input, step, checked);
    }
    return finishStep(input, step, await run({ ...ctx, input }));
  });
}

/**
 * The ledger client, loaded on first use: a step that does not otherwise write the ledger keeps
 * the DynamoDB client out of its cold start (a normal run never renews). A CommonJS require, as
 * the functions are bundled (esbuild keeps a required module's code uninitialised until then);
 * an import() would need a `.js` path the test runner does not resolve.
 */
function lazyLedger(): typeof import('./clients/dynamodb')['ledger'] {
  return (require('./clients/dynamodb') as typeof import('./clients/dynamodb')).ledger;
}

/**
 * The lease every attempt of a step starts under, settled before the step calls anything. Its
 * expiry travels in the task input, so while it has more than one step's budget left
 * (commons/lease.ts) nobody else can hold the account and no call is spent; with less, one
 * conditional UpdateItem renews it, or fails with LeaseLost, before the step changes anything.
 * The first step of a pipeline that has no Access (Offboard) claims the account itself. A dry
 * run holds no lease.
 */
async function keepLease(
  ctx: StepContext,
  step: StepName,
): Promise<{ lease: NonNullable<TaskInput['lease']>; view?: LedgerView } | undefined> {
  const { input, runtime } = ctx;
  if (input.dryRun) return undefined;
  const holder = { token: input.execution, runId: input.runId };
  const { accountId } = input.account;
  if (!input.lease) {
    if (pipelineFor(input.mode)[0] !== step)
      throw new InvalidTaskInputError('Invalid task input: lease: required after the access task', { step });
    const { expiresAt, view } = await lazyLedger()(runtime).claim(
      accountId,
      holder,
      runtime.config.leaseSeconds,
    );
    return { lease: { expiresAt }, view };
  }
  if (!leaseNeedsRenewal(input.lease.expiresAt, runtime.now())) return { lease: input.lease };
  const expiresAt = await lazyLedger()(runtime).renewLease(
    accountId,
    holder,
    runtime.config.leaseSeconds,
    step,
  );
  logger.info('lease renewed', { leaseExpiresAt: new Date(expiresAt).toISOString() });
  return { lease: { expiresAt } };
}

/**
 * The next task's input: the step's result added to the account's steps, and its ledger changes
 * applied to the view the later steps decide on (`view` replaces it: the access task's claim).
 */
export function finishStep(
  input: TaskInput,
  step: StepName,
  result: StepResult,
  view: LedgerView | undefined = input.ledger,
): TaskInput {
  logger.info('step finished', { action: result.action, reason: result.reason });
  const ledger = view || result.ledger ? { ...view, ...result.ledger } : undefined;
  return { ...input, steps: { ...input.steps, [step]: result }, ...(ledger ? { ledger } : {}) };
}
