import './polyfill';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import type { Context } from 'aws-lambda';
import { partitionOf } from '../../commons/partition';
import type { S3Location } from '../../commons/run';
import { lambdaFunctionName, SANDBOX_STAGE } from '../../commons/stack-resources';
import {
  adaptForLocalRun,
  type DistributedMapMode,
  distributedMapStates,
  LOAD_TARGETS_STATE,
  resolveForLocalRun,
} from './adapt-definition';
import { type Definition, loadDefinition, taskStates } from './definition';
import {
  type EventOrigin,
  type ExecutionObserver,
  type ExecutionRecord,
  type MapRunRecord,
  runDistributedMap,
} from './distributed-map';
import { FUNCTION_HANDLERS, type LambdaHandler } from './handlers';
import { HistoryRecorder, type HistoryShape, type HistorySize } from './history';
import { buildMachine, type EventLog, runMachine, type TaskHandler } from './machine';

export type { EventLog } from './machine';

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
  /**
   * The run's event log: the parent's events, and each child execution's with `index` set to its
   * item's, between MapIterationStarted and MapIterationSucceeded|Failed, as an inline Map's.
   */
  events: EventLog[];
  /** The execution as Step Functions records it (its history's events only when kept). */
  record: ExecutionRecord;
  /** Its Distributed Maps' runs, each with its child executions (none on the inline path). */
  mapRuns: MapRunRecord[];
  /** The largest history and payload of any child execution, against the 25,000-event and 256 KiB quotas. */
  largestChild: HistorySize;
}

export interface LocalRunOptions {
  executionName: string;
  /**
   * Called for each event as it happens (progress display); `origin` names the child execution
   * an event of a native Distributed Map's child belongs to.
   */
  onEvent?: (event: EventLog, origin?: EventOrigin) => void;
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
  /**
   * `native` (default): each Distributed Map runs one child execution per item
   * (statemachine/local/distributed-map.ts); `inline`: an inline Map over the items.
   */
  distributedMap?: DistributedMapMode;
  /** The machine the execution is of: child ARNs are built from it. Default `casbridge-<stage>`, account 000000000000. */
  stateMachineArn?: string;
  /** The state machine's role (ExecutionStarted's roleArn). */
  roleArn?: string;
  /** Timestamps of the histories (the sandbox's clock); default now. */
  now?: () => Date;
  /**
   * Keep every execution's history events (the sandbox serves them); otherwise only their sizes
   * are kept, so that 10,000 children cost their results, not their histories.
   */
  keepHistories?: boolean;
  /** The parent's history, when the caller keeps it (and records its start and end itself). */
  parentHistory?: HistoryRecorder;
  observer?: ExecutionObserver;
  /** Evaluates the state machine role's states:StartExecution for each child (the sandbox's IAM). */
  authorizeChildStart?: (stateMachineArn: string) => Promise<void>;
  /** The AWS CLI profile the map's ItemReader and ResultWriter call S3 with; else the default chain. */
  profile?: string;
  /**
   * What the map's ItemReader and ResultWriter call S3 with, as Step Functions does with the state
   * machine's role (the tests' sandbox gives a session of it); else `profile` or the default chain.
   */
  stateMachineCredentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
}

/**
 * Runs the deployed state machine definition locally under aws-local-stepfunctions, every Task
 * bound to the real Lambda handler, against whatever AWS endpoint the environment names (the
 * sandbox, or AWS itself). Handlers read their configuration from the environment, as in Lambda,
 * and their credentials from the source registered for their function (commons/runtime.ts), else
 * the process's own. The Distributed Map's ItemReader and ResultWriter (or, inline, LoadTargets)
 * call S3 with the process's own: in the sandbox, the state machine role's.
 */
export async function runLocal(input: unknown, options: LocalRunOptions): Promise<LocalExecution> {
  const region = options.region ?? process.env.AWS_REGION ?? 'us-east-1';
  const partition = partitionOf(region);
  const stage = options.stage ?? SANDBOX_STAGE;
  const stateMachineArn =
    options.stateMachineArn ??
    `arn:${partition}:states:${region}:000000000000:stateMachine:casbridge-${stage}`;
  const accountId = stateMachineArn.split(':')[4] ?? '000000000000';
  const mode = options.distributedMap ?? 'native';
  const deployed = options.definition ?? loadDefinition();
  const resolved = resolveForLocalRun(deployed, { region, accountId });
  const definition = adaptForLocalRun(deployed, { region, accountId, distributedMap: mode });
  const maps = mode === 'native' ? distributedMapStates(resolved) : new Map();
  const now = options.now ?? (() => new Date());
  const startTime = options.startTime ?? now();
  const historyShape = historyShapeOf(deployed, {
    region,
    accountId,
    stage,
    mapStates: new Set(maps.keys()),
  });
  const keepHistories = options.keepHistories ?? false;
  const roleArn =
    options.roleArn ?? `arn:${partition}:iam::${accountId}:role/casbridge-${stage}-stateMachine`;
  const executionId = options.executionId ?? options.executionName;
  const parentRecorder = options.parentHistory ?? new HistoryRecorder(historyShape, now, keepHistories);
  const record: ExecutionRecord = {
    executionArn: executionId.startsWith('arn:')
      ? executionId
      : `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${options.executionName}`,
    stateMachineArn,
    name: options.executionName,
    input: JSON.stringify(input ?? null),
    startDate: startTime,
    status: 'RUNNING',
    history: parentRecorder.events,
    historySize: parentRecorder.size,
    mapRunArns: [],
  };
  if (!options.parentHistory) parentRecorder.started(record.input, roleArn);
  const mapRuns: MapRunRecord[] = [];
  const context = {
    Execution: { Id: executionId, Name: options.executionName, StartTime: startTime.toISOString() },
  };
  const events: EventLog[] = [];
  const s3 = new S3Client({
    region,
    forcePathStyle: true,
    ...(options.profile ? { profile: options.profile } : {}),
    ...(options.stateMachineCredentials ? { credentials: options.stateMachineCredentials } : {}),
  });
  const tasks = new TaskTracker(options.signal);
  const handlers: Record<string, TaskHandler> = {};
  // The parent's Tasks, and the Tasks of each native map's processor (its children's).
  const childTasks = [...maps.values()].flatMap((map) =>
    taskStates({ StartAt: '', States: (map.ItemProcessor as { States: Definition['States'] }).States }),
  );
  for (const task of [...taskStates(definition), ...childTasks]) {
    const functionName =
      task.functionName ?? /function:casbridge-(.+)$/.exec(String(task.state.Resource))?.[1];
    if (task.name === LOAD_TARGETS_STATE) {
      handlers[task.name] = tasks.track((state) =>
        loadTargets(s3, (state as { targets: S3Location }).targets),
      );
      continue;
    }
    const map = maps.get(task.name);
    if (map) {
      handlers[task.name] = tasks.track((state) =>
        runDistributedMap(
          {
            parent: record,
            parentRecorder,
            executionContext: context,
            roleArn,
            handlers,
            ...(options.retryIntervalOverrides
              ? { retryIntervalOverrides: options.retryIntervalOverrides }
              : {}),
            historyShape,
            keepHistories,
            now,
            s3,
            ...(options.signal ? { signal: options.signal } : {}),
            onEvent: (event, origin) => {
              events.push(event);
              options.onEvent?.(event, origin);
            },
            observer: {
              mapRunStarted: (mapRun) => {
                mapRuns.push(mapRun);
                options.observer?.mapRunStarted?.(mapRun);
              },
              childStarted: (child) => options.observer?.childStarted?.(child),
            },
            ...(options.authorizeChildStart ? { authorizeChildStart: options.authorizeChildStart } : {}),
          },
          task.name,
          map,
          state,
        ),
      );
      continue;
    }
    const handler = functionName ? FUNCTION_HANDLERS[functionName] : undefined;
    if (!handler)
      throw new Error(`local run: no handler for Task ${task.name} (${String(task.state.Resource)})`);
    handlers[task.name] = tasks.track(asLambda(handler, lambdaFunctionName(stage, functionName as string)));
  }
  // A native map's children run the processor as their own machine (validated there); the parent
  // has the map's Task in its place.
  const machine = buildMachine(definition);
  const outcome = await runMachine(machine, input, {
    handlers,
    ...(options.retryIntervalOverrides ? { retryIntervalOverrides: options.retryIntervalOverrides } : {}),
    context,
    ...(options.signal ? { signal: options.signal } : {}),
    onEvent: (event) => {
      events.push(event);
      parentRecorder.record(event);
      options.onEvent?.(event);
    },
  });
  if (outcome.status === 'ABORTED') await tasks.settled();
  s3.destroy();
  record.stopDate = now();
  record.status = outcome.status;
  if (outcome.status === 'SUCCEEDED') record.output = JSON.stringify(outcome.output ?? null);
  if (outcome.status === 'FAILED') {
    record.error = outcome.error ?? 'States.TaskFailed';
    record.cause = outcome.cause ?? '';
  }
  if (!options.parentHistory) {
    if (outcome.status === 'SUCCEEDED') parentRecorder.succeeded(record.output as string);
    else if (outcome.status === 'FAILED')
      parentRecorder.failedExecution(record.error as string, record.cause as string);
    else parentRecorder.aborted();
  }
  const largestChild: HistorySize = { events: 0, largestPayloadBytes: 0 };
  for (const mapRun of mapRuns) {
    for (const child of mapRun.children) {
      if (!child) continue;
      largestChild.events = Math.max(largestChild.events, child.historySize.events);
      largestChild.largestPayloadBytes = Math.max(
        largestChild.largestPayloadBytes,
        child.historySize.largestPayloadBytes,
      );
    }
  }
  return {
    status: outcome.status,
    ...(outcome.status === 'SUCCEEDED' ? { output: outcome.output } : {}),
    ...(outcome.status === 'FAILED' ? { error: record.error, cause: record.cause } : {}),
    events,
    record,
    mapRuns,
    largestChild,
  };
}

/**
 * The history's view of the deployed definition: each Task's Lambda ARN as the stack names its
 * functions (`casbridge-<stage>-<function>`), and the Distributed Maps run natively.
 */
export function historyShapeOf(
  definition: Definition,
  place: { region: string; accountId: string; stage: string; mapStates: ReadonlySet<string> },
): HistoryShape {
  const taskResources: Record<string, HistoryShape['taskResources'][string]> = {};
  for (const task of taskStates(definition)) {
    if (!task.functionName) continue;
    taskResources[task.name] = {
      resource: `arn:${partitionOf(place.region)}:lambda:${place.region}:${place.accountId}:function:${lambdaFunctionName(place.stage, task.functionName)}`,
      ...(typeof task.state.TimeoutSeconds === 'number' ? { timeoutSeconds: task.state.TimeoutSeconds } : {}),
    };
  }
  return { taskResources, hiddenStates: new Set([LOAD_TARGETS_STATE]), mapStates: place.mapStates };
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

async function loadTargets(s3: S3Client, location: S3Location): Promise<unknown[]> {
  const object = await s3.send(new GetObjectCommand({ Bucket: location.bucket, Key: location.key }));
  return JSON.parse(await object.Body!.transformToString()) as unknown[];
}
