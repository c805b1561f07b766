import { randomUUID } from 'node:crypto';
import { partitionOf } from '../../../commons/partition';
import { useFunctionClock, useFunctionCredentials } from '../../../commons/runtime';
import { SANDBOX_STAGE, type StackResources, stackResources } from '../../../commons/stack-resources';
import { parseRunInputText } from '../../../functions/resolve-targets/run-input';
import { LOAD_TARGETS_STATE } from '../../../statemachine/local/adapt-definition';
import { loadDefinition, taskStates } from '../../../statemachine/local/definition';
import { type EventLog, runLocal } from '../../../statemachine/local/run-local';
import { resourcePolicyAllows } from '../../core/authorize';
import { issueRoleSession } from '../../core/identity';
import type { World } from '../../core/world';
import { deployedStack } from '../../scenario/stack-deployment';
import { stackEnvironment } from '../../scenario/stack-environment';
import { FUNCTION_SESSION_SECONDS, inProcessFunctionCredentials } from '../lambda';
import { type HistoryEvent, HistoryRecorder, type HistoryShape } from './history';

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'ABORTED';
export type MapRunStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED';

export interface Execution {
  readonly executionArn: string;
  readonly stateMachineArn: string;
  readonly name: string;
  readonly input: string;
  readonly startDate: Date;
  status: ExecutionStatus;
  stopDate?: Date;
  output?: string;
  error?: string;
  cause?: string;
  /** Replaced by the run's recorder once it starts; read while the execution goes on. */
  history: HistoryEvent[];
  mapRunArns: string[];
  /** Settles when the execution has finished (tests). */
  readonly finished: Promise<void>;
}

/** MapRunItemCounts and MapRunExecutionCounts: one child execution per item here. */
export interface MapRunCounts {
  pending: number;
  running: number;
  succeeded: number;
  failed: number;
  timedOut: number;
  aborted: number;
  total: number;
  resultsWritten: number;
  failuresNotRedrivable: number;
  pendingRedrive: number;
}

export interface MapRun {
  readonly mapRunArn: string;
  readonly executionArn: string;
  /** The map's own "state machine": `<machine>/<Label>`. */
  readonly stateMachineArn: string;
  readonly startDate: Date;
  status: MapRunStatus;
  stopDate?: Date;
  readonly maxConcurrency: number;
  readonly toleratedFailurePercentage: number;
  readonly toleratedFailureCount: number;
  readonly counts: MapRunCounts;
}

/** The Step Functions state of one sandbox: executions and map runs by ARN. */
export interface StepFunctionsState {
  readonly stack: StackResources;
  readonly executions: Map<string, Execution>;
  readonly mapRuns: Map<string, MapRun>;
}

const states = new WeakMap<World, StepFunctionsState>();

export function stepFunctionsState(world: World): StepFunctionsState {
  let state = states.get(world);
  if (!state) {
    const stack = stackResources(world.organization.casbridgeAccountId, world.settings.defaultRegion);
    state = { stack, executions: new Map(), mapRuns: new Map() };
    states.set(world, state);
  }
  return state;
}

/** The state machine's own role, as serverless.yml names it (ExecutionStarted's roleArn). */
export function stateMachineRoleArn(stack: StackResources): string {
  return `arn:${partitionOf(stack.region)}:iam::${stack.accountId}:role/casbridge-${SANDBOX_STAGE}-stateMachine`;
}

/** The sandbox this process's handlers are configured for (see bindProcessEnvironment). */
let boundTo: { world: World; endpoint: string } | undefined;

/**
 * Starts an execution of the stack's state machine in this process, under the same local runner
 * as `casbridge run --local` (statemachine/local/run-local.ts), with the real handlers calling the
 * sandbox back at `endpoint`, each as its function's role. Returns at once; the execution's record
 * follows the run as its events arrive.
 */
export function startExecution(
  world: World,
  options: { endpoint: string; name: string; input: string; executionArn: string },
): Execution {
  const state = stepFunctionsState(world);
  const startDate = world.clock.now();
  let finish: () => void = () => undefined;
  const execution: Execution = {
    executionArn: options.executionArn,
    stateMachineArn: state.stack.stateMachineArn,
    name: options.name,
    input: options.input,
    startDate,
    status: 'RUNNING',
    history: [],
    mapRunArns: [],
    finished: new Promise<void>((resolve) => {
      finish = resolve;
    }),
  };
  state.executions.set(execution.executionArn, execution);
  void run(world, state, execution, options.endpoint)
    .catch((error: unknown) => {
      // The runner itself broke (not a task): the execution fails as a States.Runtime error would.
      const now = world.clock.now();
      execution.status = 'FAILED';
      execution.error = 'States.Runtime';
      execution.cause = `The sandbox could not run the execution: ${(error as Error)?.message ?? String(error)}`;
      execution.stopDate = now;
      execution.history.push({
        id: execution.history.length + 1,
        previousEventId: execution.history.length,
        timestamp: now,
        type: 'ExecutionFailed',
        executionFailedEventDetails: { error: execution.error, cause: execution.cause },
      });
    })
    .finally(finish);
  return execution;
}

async function run(
  world: World,
  state: StepFunctionsState,
  execution: Execution,
  endpoint: string,
): Promise<void> {
  await bindProcessEnvironment(world, state.stack, endpoint);
  const definition = loadDefinition();
  const taskResources: Record<string, HistoryShape['taskResources'][string]> = {};
  for (const task of taskStates(definition)) {
    if (!task.functionName) continue;
    taskResources[task.name] = {
      resource: `arn:${partitionOf(state.stack.region)}:lambda:${state.stack.region}:${state.stack.accountId}:function:casbridge-${SANDBOX_STAGE}-${task.functionName}`,
      ...(typeof task.state.TimeoutSeconds === 'number' ? { timeoutSeconds: task.state.TimeoutSeconds } : {}),
    };
  }
  const recorder = new HistoryRecorder({ taskResources, hiddenStates: new Set([LOAD_TARGETS_STATE]) }, () =>
    world.clock.now(),
  );
  execution.history = recorder.events;
  recorder.started(execution.input, stateMachineRoleArn(state.stack));
  const maps = distributedMaps(definition.States);
  const mapRunByState = new Map<string, MapRun>();

  let input: unknown;
  try {
    input = parseRunInputText(execution.input);
  } catch (error) {
    // AWS does not document what Step Functions does with a key named twice in an execution's
    // input (it hands the Lambda a parsed copy, so casbridge could never tell). The sandbox takes
    // the strict side: the execution fails as ResolveTargets fails a bad input, by name, before
    // any state runs, so nothing against the sandbox ever runs on a silently collapsed input.
    const { name, message } = error as Error;
    execution.error = name;
    execution.cause = JSON.stringify({ errorType: name, errorMessage: message });
    recorder.failedExecution(execution.error, execution.cause);
    execution.stopDate = world.clock.now();
    execution.status = 'FAILED';
    return;
  }
  const result = await runLocal(input, {
    executionName: execution.name,
    executionId: execution.executionArn,
    startTime: execution.startDate,
    region: state.stack.region,
    onEvent: (event) => {
      const top = !('index' in event) || event.index === undefined;
      if (event.type === 'StateEntered' && top && maps.has(event.state.name)) {
        const map = maps.get(event.state.name) as DistributedMap;
        const mapRun = openMapRun(world, state, execution, map, event.state.input);
        mapRunByState.set(event.state.name, mapRun);
      }
      const stateName =
        'parentState' in event ? event.parentState.name : 'state' in event ? event.state.name : '';
      const mapRun = mapRunByState.get(stateName);
      if (mapRun) countIteration(mapRun, event, world);
      recorder.record(event, mapRun ? { mapRunArn: mapRun.mapRunArn } : {});
    },
  });
  const now = world.clock.now();
  if (result.status === 'SUCCEEDED') {
    execution.output = JSON.stringify(result.output ?? null);
    recorder.succeeded(execution.output);
  } else {
    execution.error = result.error ?? 'States.TaskFailed';
    execution.cause = result.cause ?? '';
    recorder.failedExecution(execution.error, execution.cause);
  }
  for (const mapRun of mapRunByState.values()) {
    if (mapRun.status === 'RUNNING') {
      mapRun.status = 'FAILED';
      mapRun.stopDate = now;
    }
  }
  execution.stopDate = now;
  execution.status = result.status;
}

/**
 * Handlers read their configuration from the environment once per process, as in Lambda. So the
 * sandbox sets this process's environment to the stack's, with itself as the endpoint, before the
 * first execution — and therefore one sandbox process serves executions for one sandbox only.
 * Each task runs as its function's role, handed over as the Lambda service would
 * (sandbox/services/lambda.ts); the process's own credentials, which LoadTargets (the
 * Distributed Map's ItemReader) reads the targets with, are the state machine role's.
 */
async function bindProcessEnvironment(world: World, stack: StackResources, endpoint: string): Promise<void> {
  if (boundTo) {
    if (boundTo.world === world && boundTo.endpoint === endpoint) return;
    throw new Error(
      `this process already runs executions for the sandbox at ${boundTo.endpoint}: handlers read their configuration once per process, so one process serves one sandbox`,
    );
  }
  const roleName = stateMachineRoleArn(stack).split('/').pop() as string;
  const role = world.accounts.get(stack.accountId)?.iam.roles.get(roleName.toLowerCase());
  if (!role) throw new Error(`the state machine role ${stateMachineRoleArn(stack)} does not exist`);
  const trusted = await resourcePolicyAllows({
    principal: 'states.amazonaws.com',
    action: 'sts:AssumeRole',
    resource: role.arn,
    resourceAccountId: stack.accountId,
    resourcePolicy: role.assumeRolePolicy,
    context: { 'aws:SourceAccount': stack.accountId },
  });
  if (!trusted) throw new Error(`the state machine role ${role.arn} does not trust Step Functions`);
  const session = issueRoleSession(
    world,
    stack.accountId,
    role,
    `casbridge-sandbox-${process.pid}`,
    FUNCTION_SESSION_SECONDS,
  );
  Object.assign(process.env, {
    ...stackEnvironment(stack, deployedStack(world).parameters),
    AWS_ENDPOINT_URL: endpoint,
    AWS_ACCESS_KEY_ID: session.accessKeyId,
    AWS_SECRET_ACCESS_KEY: session.secretAccessKey,
    AWS_SESSION_TOKEN: session.sessionToken,
  });
  useFunctionCredentials(inProcessFunctionCredentials(world));
  // The functions run "in" the sandbox: their leases are timed by its clock, as its resources are.
  useFunctionClock(() => world.clock.nowMs());
  boundTo = { world, endpoint };
}

interface DistributedMap {
  label: string;
  toleratedFailurePercentage: number;
  toleratedFailureCount: number;
  maxConcurrency?: number;
  maxConcurrencyPath?: string;
}

/** The deployed definition's Distributed Maps (the local adaptation turns them inline). */
function distributedMaps(states: Record<string, Record<string, unknown>>): Map<string, DistributedMap> {
  const out = new Map<string, DistributedMap>();
  for (const [name, state] of Object.entries(states)) {
    if (state.Type !== 'Map' || !state.ItemReader) continue;
    out.set(name, {
      label: typeof state.Label === 'string' ? state.Label : name,
      toleratedFailurePercentage: Number(state.ToleratedFailurePercentage ?? 0),
      toleratedFailureCount: Number(state.ToleratedFailureCount ?? 0),
      ...(typeof state.MaxConcurrency === 'number' ? { maxConcurrency: state.MaxConcurrency } : {}),
      ...(typeof state.MaxConcurrencyPath === 'string'
        ? { maxConcurrencyPath: state.MaxConcurrencyPath }
        : {}),
    });
  }
  return out;
}

function openMapRun(
  world: World,
  state: StepFunctionsState,
  execution: Execution,
  map: DistributedMap,
  input: unknown,
): MapRun {
  const machine = state.stack.stateMachineArn.slice(state.stack.stateMachineArn.lastIndexOf(':') + 1);
  const prefix = `arn:${partitionOf(state.stack.region)}:states:${state.stack.region}:${state.stack.accountId}`;
  // The adapted definition reads the items into `$.items` before the map: the ItemReader's list.
  const items = (input as { items?: unknown[] } | null)?.items;
  const total = Array.isArray(items) ? items.length : 0;
  const mapRun: MapRun = {
    mapRunArn: `${prefix}:mapRun:${machine}/${map.label}:${randomUUID()}`,
    executionArn: execution.executionArn,
    stateMachineArn: `${prefix}:stateMachine:${machine}/${map.label}`,
    startDate: world.clock.now(),
    status: 'RUNNING',
    maxConcurrency: map.maxConcurrency ?? readPath(input, map.maxConcurrencyPath) ?? 0,
    toleratedFailurePercentage: map.toleratedFailurePercentage,
    toleratedFailureCount: map.toleratedFailureCount,
    counts: {
      pending: total,
      running: 0,
      succeeded: 0,
      failed: 0,
      timedOut: 0,
      aborted: 0,
      total,
      resultsWritten: 0,
      failuresNotRedrivable: 0,
      pendingRedrive: 0,
    },
  };
  state.mapRuns.set(mapRun.mapRunArn, mapRun);
  execution.mapRunArns.push(mapRun.mapRunArn);
  return mapRun;
}

function countIteration(mapRun: MapRun, event: EventLog, world: World): void {
  const counts = mapRun.counts;
  switch (event.type) {
    case 'MapIterationStarted':
      counts.pending = Math.max(0, counts.pending - 1);
      counts.running++;
      return;
    case 'MapIterationSucceeded':
      counts.running = Math.max(0, counts.running - 1);
      counts.succeeded++;
      return;
    case 'MapIterationFailed':
      counts.running = Math.max(0, counts.running - 1);
      counts.failed++;
      return;
    case 'StateExited':
      if ('index' in event && event.index !== undefined) return;
      // The ResultWriter has written every child's result once the map is done.
      counts.resultsWritten = counts.succeeded + counts.failed;
      mapRun.status = 'SUCCEEDED';
      mapRun.stopDate = world.clock.now();
      return;
    case 'StateFailed':
      if ('index' in event && event.index !== undefined) return;
      mapRun.status = 'FAILED';
      mapRun.stopDate = world.clock.now();
      return;
    default:
      return;
  }
}

/** A `$.a.b` reference path's number in `input`, if any. */
function readPath(input: unknown, path: string | undefined): number | undefined {
  if (!path?.startsWith('$.')) return undefined;
  let value: unknown = input;
  for (const key of path.slice(2).split('.')) {
    value = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
  }
  return typeof value === 'number' ? value : undefined;
}
