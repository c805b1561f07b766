import { partitionOf } from '../../../commons/partition';
import { useFunctionClock, useFunctionCredentials } from '../../../commons/runtime';
import { SANDBOX_STAGE, type StackResources, stackResources } from '../../../commons/stack-resources';
import { parseRunInputText } from '../../../functions/resolve-targets/run-input';
import { distributedMapStates } from '../../../statemachine/local/adapt-definition';
import { loadDefinition } from '../../../statemachine/local/definition';
import type { ExecutionRecord, MapRunRecord } from '../../../statemachine/local/distributed-map';
import { HistoryRecorder } from '../../../statemachine/local/history';
import { historyShapeOf, runLocal } from '../../../statemachine/local/run-local';
import { Authorizer, resourcePolicyAllows } from '../../core/authorize';
import type { Credential, Principal } from '../../core/credentials';
import { issueRoleSession } from '../../core/identity';
import type { World } from '../../core/world';
import { deployedStack } from '../../scenario/stack-deployment';
import { stackEnvironment } from '../../scenario/stack-environment';
import { FUNCTION_SESSION_SECONDS, inProcessFunctionCredentials } from '../lambda';

export type {
  ExecutionStatus,
  MapRunCounts,
  MapRunStatus,
} from '../../../statemachine/local/distributed-map';

/** An execution the sandbox keeps: a parent, or a Distributed Map's child. */
export interface Execution extends ExecutionRecord {
  /** Settles when the execution has finished (tests); a child's is its parent's. */
  readonly finished?: Promise<void>;
}

export type MapRun = MapRunRecord;

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
let boundTo: { world: World; endpoint: string; principal: Principal } | undefined;

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
    historySize: { events: 0, largestPayloadBytes: 0 },
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
  const principal = await bindProcessEnvironment(world, state.stack, endpoint);
  const definition = loadDefinition();
  const recorder = new HistoryRecorder(
    historyShapeOf(definition, {
      region: state.stack.region,
      accountId: state.stack.accountId,
      stage: SANDBOX_STAGE,
      mapStates: new Set(distributedMapStates(definition).keys()),
    }),
    () => world.clock.now(),
  );
  execution.history = recorder.events;
  execution.historySize = recorder.size;
  recorder.started(execution.input, stateMachineRoleArn(state.stack));

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
  const authorizer = new Authorizer(world);
  const result = await runLocal(input, {
    definition,
    executionName: execution.name,
    executionId: execution.executionArn,
    startTime: execution.startDate,
    region: state.stack.region,
    stateMachineArn: state.stack.stateMachineArn,
    roleArn: stateMachineRoleArn(state.stack),
    now: () => world.clock.now(),
    keepHistories: true,
    parentHistory: recorder,
    observer: {
      mapRunStarted: (mapRun) => {
        state.mapRuns.set(mapRun.mapRunArn, mapRun);
        execution.mapRunArns.push(mapRun.mapRunArn);
      },
      childStarted: (child) => {
        state.executions.set(child.executionArn, child);
      },
    },
    // Step Functions starts each child as the state machine's role: IAM decides, as for any call.
    authorizeChildStart: (stateMachineArn) =>
      authorizer.authorize(principal, 'states:StartExecution', stateMachineArn, {}, ACCESS_DENIED),
  });
  const now = world.clock.now();
  if (result.status === 'SUCCEEDED') {
    execution.output = JSON.stringify(result.output ?? null);
    recorder.succeeded(execution.output);
  } else if (result.status === 'FAILED') {
    execution.error = result.error ?? 'States.TaskFailed';
    execution.cause = result.cause ?? '';
    recorder.failedExecution(execution.error, execution.cause);
  } else recorder.aborted();
  execution.stopDate = now;
  execution.status = result.status;
}

const ACCESS_DENIED = { code: 'AccessDenied', status: 400 };

/**
 * Handlers read their configuration from the environment once per process, as in Lambda. So the
 * sandbox sets this process's environment to the stack's, with itself as the endpoint, before the
 * first execution — and therefore one sandbox process serves executions for one sandbox only.
 * Each task runs as its function's role, handed over as the Lambda service would
 * (sandbox/services/lambda.ts); the process's own credentials, which the Distributed Map's
 * ItemReader and ResultWriter call S3 with, are the state machine role's. Returns that role's
 * session principal: each child execution's start is authorized for it.
 */
async function bindProcessEnvironment(
  world: World,
  stack: StackResources,
  endpoint: string,
): Promise<Principal> {
  if (boundTo) {
    if (boundTo.world === world && boundTo.endpoint === endpoint) return boundTo.principal;
    throw new Error(
      `this process already runs executions for the sandbox at ${boundTo.endpoint}: handlers read their configuration once per process, so one process serves one sandbox`,
    );
  }
  const session = await stateMachineSession(world, stack);
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
  boundTo = { world, endpoint, principal: session.principal };
  return session.principal;
}

/**
 * A session of the state machine's role, as Step Functions assumes it (the role must trust
 * states.amazonaws.com for the stack's account): what the Distributed Map's ItemReader and
 * ResultWriter call S3 with, and what each child's StartExecution is authorized for.
 */
export async function stateMachineSession(
  world: World,
  stack: StackResources = stepFunctionsState(world).stack,
): Promise<Credential> {
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
  return issueRoleSession(
    world,
    stack.accountId,
    role,
    `casbridge-sandbox-${process.pid}`,
    FUNCTION_SESSION_SECONDS,
  );
}
