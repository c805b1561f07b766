import './polyfill';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { Context } from 'aws-lambda';
import { ExecutionAbortedError, ExecutionError, StateMachine } from 'aws-local-stepfunctions';
import type { S3Location } from '../../commons/run';
import { lambdaFunctionName, SANDBOX_STAGE } from '../../commons/stack-resources';
import { adaptForLocalRun, LOAD_TARGETS_STATE } from './adapt-definition';
import { type Definition, loadDefinition, taskStates } from './definition';
import { FUNCTION_HANDLERS, type LambdaHandler } from './handlers';

/** One event of a local execution (the library does not export the type). */
export type EventLog =
  ReturnType<StateMachine['run']>['eventLogs'] extends AsyncGenerator<infer E> ? E : never;

/**
 * The states an account's pipeline ends in: RecordResult, or AccountUnchanged after the check
 * recorded a compliant account itself. Either one's output is the account's report line.
 */
export const ACCOUNT_END_STATES: ReadonlySet<string> = new Set(['RecordResult', 'AccountUnchanged']);

/** The account's report line, when `event` is its pipeline's end. */
export function accountFinished(event: EventLog): { outcome?: string } | undefined {
  return event.type === 'StateExited' && ACCOUNT_END_STATES.has(event.state.name)
    ? ((event.state.output as { outcome?: string } | undefined) ?? {})
    : undefined;
}

export interface LocalExecution {
  /** ABORTED: stopped through `signal`, every task that was running has finished. */
  status: 'SUCCEEDED' | 'FAILED' | 'ABORTED';
  output?: unknown;
  error?: string;
  cause?: string;
  /** The execution's event log, as GetExecutionHistory would give it. */
  events: EventLog[];
}

export interface LocalRunOptions {
  executionName: string;
  /** Called for each event as it happens (progress display). */
  onEvent?: (event: EventLog) => void;
  /** Milliseconds to wait instead of each retrier's backoff, by state name (tests). */
  retryIntervalOverrides?: Record<string, number | number[]>;
  region?: string;
  definition?: Definition;
  /**
   * The stage whose function names the tasks' Lambda contexts carry (`casbridge-<stage>-<key>`):
   * what a registered credential source (commons/runtime.ts) knows each function by. Default `dev`,
   * serverless.yml's and the sandbox's.
   */
  stage?: string;
  /**
   * Stops the execution (an interrupted `casbridge run --local`): no task starts after it aborts,
   * and the run resolves ABORTED once the tasks already running have returned, so that whatever
   * they claimed is in the ledger before the caller releases it.
   */
  signal?: AbortSignal;
  /** The execution's start (`$$.Execution.StartTime`): now, unless the caller keeps its own clock. */
  startTime?: Date;
  /**
   * `$$.Execution.Id`, the token the run's leases are held by: on AWS the execution's ARN, which a
   * caller that has one passes (the sandbox's Step Functions); a local run's is its name.
   */
  executionId?: string;
}

/**
 * Definitions this process has already validated. aws-local-stepfunctions validates the
 * definition each time a StateMachine is built, and asl-validator compiles its JSON schemas each
 * time: 0.3–0.7 s of CPU before the first state runs, which a benchmark's wall time counted for
 * every run.
 */
const validatedDefinitions = new Set<string>();

/**
 * Runs the deployed state machine definition locally under aws-local-stepfunctions, every Task
 * bound to the real Lambda handler, against whatever AWS endpoint the environment names (the
 * sandbox, or AWS itself). Handlers read their configuration from the environment, as in Lambda,
 * and their credentials from the source registered for their function (commons/runtime.ts), else
 * the process's own. LoadTargets stands for the Distributed Map's ItemReader: the process's own.
 */
export async function runLocal(input: unknown, options: LocalRunOptions): Promise<LocalExecution> {
  const region = options.region ?? process.env.AWS_REGION ?? 'us-east-1';
  const definition = adaptForLocalRun(options.definition ?? loadDefinition(), { region });
  const tasks = new TaskTracker(options.signal);
  const handlers: Record<string, (input: unknown) => Promise<unknown>> = {};
  for (const task of taskStates(definition)) {
    const functionName =
      task.functionName ?? /function:casbridge-(.+)$/.exec(String(task.state.Resource))?.[1];
    if (task.name === LOAD_TARGETS_STATE) {
      handlers[task.name] = tasks.track((state) =>
        loadTargets((state as { targets: S3Location }).targets, region),
      );
      continue;
    }
    const handler = functionName ? FUNCTION_HANDLERS[functionName] : undefined;
    if (!handler)
      throw new Error(`local run: no handler for Task ${task.name} (${String(task.state.Resource)})`);
    handlers[task.name] = tasks.track(
      asLambda(handler, lambdaFunctionName(options.stage ?? SANDBOX_STAGE, functionName as string)),
    );
  }
  // Validated once per process and definition, as Step Functions validates a definition when the
  // machine is created, not at each execution.
  const text = JSON.stringify(definition);
  const machine = new StateMachine(definition as never, {
    validationOptions: (validatedDefinitions.has(text) ? { noValidate: true } : { checkArn: false }) as never,
  });
  validatedDefinitions.add(text);
  const execution = machine.run(input as never, {
    overrides: {
      taskResourceLocalHandlers: handlers as never,
      ...(options.retryIntervalOverrides ? { retryIntervalOverrides: options.retryIntervalOverrides } : {}),
    },
    context: {
      Execution: {
        Id: options.executionId ?? options.executionName,
        Name: options.executionName,
        StartTime: (options.startTime ?? new Date()).toISOString(),
      },
    } as never,
  });
  const abort = () => execution.abort();
  if (options.signal?.aborted) abort();
  options.signal?.addEventListener('abort', abort, { once: true });
  const events: EventLog[] = [];
  const collecting = (async () => {
    for await (const event of execution.eventLogs) {
      events.push(event);
      options.onEvent?.(event);
    }
  })();
  try {
    const output = await execution.result;
    await collecting;
    return { status: 'SUCCEEDED', output, events };
  } catch (error) {
    await collecting.catch(() => undefined);
    if (error instanceof ExecutionAbortedError) {
      await tasks.settled();
      return { status: 'ABORTED', events };
    }
    const failure = error instanceof ExecutionError ? (error.cause as Error | undefined) : (error as Error);
    return {
      status: 'FAILED',
      error: failure?.name ?? 'Error',
      cause: String((failure as { cause?: unknown })?.cause ?? failure?.message ?? ''),
      events,
    };
  } finally {
    options.signal?.removeEventListener('abort', abort);
  }
}

/**
 * The tasks of one execution in flight. aws-local-stepfunctions' abort stops the state machine
 * but not a task's promise, and a Map iteration still waiting for a slot starts its first state
 * even after the abort: so a task asked to start once the execution is aborted throws instead,
 * and `settled` waits for the ones that had started.
 */
class TaskTracker {
  private readonly running = new Set<Promise<unknown>>();

  constructor(private readonly signal: AbortSignal | undefined) {}

  track(task: (input: unknown) => Promise<unknown>): (input: unknown) => Promise<unknown> {
    return (input) => {
      if (this.signal?.aborted) return Promise.reject(new Error('the local execution was aborted'));
      const running = task(input);
      this.running.add(running);
      const forget = () => this.running.delete(running);
      running.then(forget, forget);
      return running;
    };
  }

  async settled(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }
}

/**
 * Lambda hands a thrown error to Step Functions as its name and a JSON cause
 * `{errorType, errorMessage}` — never the error object, whose `cause` may be an SDK exception.
 * The local run does the same, so Catch and the record task see what they would on AWS.
 */
function asLambda(handler: LambdaHandler, functionName: string): (input: unknown) => Promise<unknown> {
  return async (input) => {
    const context = {
      functionName,
      awsRequestId: crypto.randomUUID(),
      getRemainingTimeInMillis: () => 300_000,
    } as unknown as Context;
    try {
      return await handler(input as never, context);
    } catch (error) {
      const e = error as Error;
      const thrown = new Error(e.message);
      thrown.name = e.name || 'Error';
      (thrown as { cause?: string }).cause = JSON.stringify({
        errorType: thrown.name,
        errorMessage: e.message,
      });
      throw thrown;
    }
  };
}

async function loadTargets(location: S3Location, region: string): Promise<unknown[]> {
  const s3 = new S3Client({ region, forcePathStyle: true });
  const object = await s3.send(new GetObjectCommand({ Bucket: location.bucket, Key: location.key }));
  return JSON.parse(await object.Body!.transformToString()) as unknown[];
}
