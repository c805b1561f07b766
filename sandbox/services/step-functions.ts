import { withoutExecutionData } from '../../statemachine/local/history';
import { PARTITION_PATTERN, worldArn } from '../core/arn';
import { AwsError } from '../core/aws-error';
import { paginate } from '../core/pagination';
import { JSON_ERRORS, type RequestContext, type RestRequest, type RestService } from '../core/service';
import { decodeJsonRequest, encodeJsonError, encodeJsonResponse } from '../protocols/json';
import {
  type Execution,
  type ExecutionStatus,
  type MapRun,
  startExecution as runExecution,
  type StepFunctionsState,
  stepFunctionsState,
} from './step-functions/executions';

const TARGET_PREFIX = 'AWSStepFunctions.';
const STATE_MACHINE_ARN = new RegExp(
  `^arn:${PARTITION_PATTERN}:states:([a-z0-9-]+):(\\d{12}):stateMachine:([^:/]+)$`,
);
/** A parent's `execution:<machine>:<name>`, or a Distributed Map child's `execution:<machine>/<label>:<name>`. */
const EXECUTION_ARN = new RegExp(
  `^arn:${PARTITION_PATTERN}:states:([a-z0-9-]+):(\\d{12}):execution:([^:/]+)(\\/[^:/]+)?:([^:]+)$`,
);
const MAP_RUN_ARN = new RegExp(
  `^arn:${PARTITION_PATTERN}:states:([a-z0-9-]+):(\\d{12}):mapRun:([^:/]+)\\/([^:]+):([^:]+)$`,
);
/** Whitespace, brackets, wildcards and these punctuation marks are refused (control characters too). */
const NAME_FORBIDDEN = /[\s<>{}[\]?*"#%\\^|~`$&,;:/]/;
const MAX_NAME_LENGTH = 80;
const MAX_INPUT_BYTES = 262_144;
const DEFAULT_PAGE = 100;
const MAX_PAGE = 1000;

type Input = Record<string, unknown>;
type Operation = (ctx: RequestContext, input: Input, request: RestRequest) => unknown | Promise<unknown>;

/**
 * Step Functions for the stack's state machine (`casbridge-dev`, seeded with the stack): executions
 * run in the sandbox process under the local runner, with the real handlers, as the stack's task
 * role (step-functions/executions.ts). Spoken as awsJson1.0, but declared as a REST service because
 * StartExecution needs the request's Host: the handlers call the sandbox back where the caller
 * reached it. Error codes have no `Exception` suffix, as the service's model names them.
 */
export const stepFunctionsService: RestService = {
  kind: 'rest',
  signingName: 'states',
  protocol: 'json1.0',
  errors: JSON_ERRORS,
  operationOf: (request) => {
    const target = request.headers['x-amz-target'] ?? '';
    return target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : '';
  },
  handle: async (ctx, request) => {
    const target = request.headers['x-amz-target'] ?? '';
    const { operation, input } = decodeBody(target, request.body.toString('utf8'));
    const handler = target.startsWith(TARGET_PREFIX) ? OPERATIONS[operation] : undefined;
    if (!handler) {
      throw new AwsError(
        'UnknownOperationException',
        `The action ${operation || target} is not valid for this web service.`,
      );
    }
    const result = await handler(ctx, input, request);
    return {
      status: 200,
      headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': ctx.requestId },
      body: encodeJsonResponse(result),
    };
  },
  renderError: (error, requestId) => ({
    status: error.status,
    headers: {
      'content-type': 'application/x-amz-json-1.0',
      'x-amzn-requestid': requestId,
      'x-amzn-errortype': error.code,
    },
    body: encodeJsonError(new AwsError(error.code, error.message, error.status, error.fields)),
  }),
};

const OPERATIONS: Readonly<Record<string, Operation>> = {
  ListStateMachines: listStateMachines,
  StartExecution: startExecution,
  DescribeExecution: describeExecution,
  ListExecutions: listExecutions,
  GetExecutionHistory: getExecutionHistory,
  ListMapRuns: listMapRuns,
  DescribeMapRun: describeMapRun,
};

async function listStateMachines(ctx: RequestContext) {
  await ctx.authorize('states:ListStateMachines', '*');
  const { stack } = stateOf(ctx);
  const mine = stack.accountId === ctx.accountId && stack.region === ctx.region;
  return {
    stateMachines: mine
      ? [
          {
            stateMachineArn: stack.stateMachineArn,
            name: nameOf(stack.stateMachineArn),
            type: 'STANDARD',
            creationDate: new Date(0),
          },
        ]
      : [],
  };
}

async function startExecution(ctx: RequestContext, input: Input, request: RestRequest) {
  const stateMachineArn = requireMember(input, 'stateMachineArn');
  if (!STATE_MACHINE_ARN.test(stateMachineArn)) throw invalidArn(stateMachineArn);
  await ctx.authorize('states:StartExecution', stateMachineArn, {
    resourceAccountId: accountOf(stateMachineArn),
  });
  const state = stateOf(ctx);
  if (stateMachineArn !== state.stack.stateMachineArn || accountOf(stateMachineArn) !== ctx.accountId) {
    throw new AwsError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${stateMachineArn}'`);
  }
  const name = input.name === undefined ? ctx.world.rng.uuid() : String(input.name);
  if (
    name === '' ||
    name.length > MAX_NAME_LENGTH ||
    NAME_FORBIDDEN.test(name) ||
    hasControlCharacter(name)
  ) {
    throw new AwsError('InvalidName', `Invalid Name: '${name}'`);
  }
  const executionInput = input.input === undefined ? '{}' : String(input.input);
  if (Buffer.byteLength(executionInput) > MAX_INPUT_BYTES) {
    throw new AwsError(
      'InvalidExecutionInput',
      `Input exceeds the maximum size of ${MAX_INPUT_BYTES} bytes: ${Buffer.byteLength(executionInput)}`,
    );
  }
  try {
    JSON.parse(executionInput);
  } catch (error) {
    throw new AwsError(
      'InvalidExecutionInput',
      `Invalid State Machine Execution Input: '${(error as Error).message}'`,
    );
  }
  const executionArn = worldArn(
    ctx.world,
    'states',
    ctx.region,
    ctx.accountId,
    `execution:${nameOf(stateMachineArn)}:${name}`,
  );
  const existing = state.executions.get(executionArn);
  if (existing) {
    // A Standard execution is idempotent by name only while it runs and with the same input.
    if (existing.status === 'RUNNING' && existing.input === executionInput) {
      return { executionArn, startDate: existing.startDate };
    }
    throw new AwsError('ExecutionAlreadyExists', `Execution Already Exists: '${executionArn}'`);
  }
  const host = request.headers.host;
  if (!host)
    throw new AwsError('ValidationException', 'The request names no Host to run the execution against');
  const execution = runExecution(ctx.world, {
    endpoint: `http://${host}`,
    name,
    input: executionInput,
    executionArn,
  });
  return { executionArn, startDate: execution.startDate };
}

async function describeExecution(ctx: RequestContext, input: Input) {
  const execution = await resolveExecution(ctx, 'states:DescribeExecution', input);
  const data = input.includedData !== 'METADATA_ONLY';
  return {
    executionArn: execution.executionArn,
    stateMachineArn: execution.stateMachineArn,
    name: execution.name,
    status: execution.status,
    startDate: execution.startDate,
    ...(execution.stopDate ? { stopDate: execution.stopDate } : {}),
    ...(data ? { input: execution.input, inputDetails: { included: true } } : {}),
    ...(data && execution.output !== undefined
      ? { output: execution.output, outputDetails: { included: true } }
      : {}),
    ...(execution.error !== undefined ? { error: execution.error } : {}),
    ...(data && execution.cause !== undefined ? { cause: execution.cause } : {}),
    ...(execution.mapRunArn ? { mapRunArn: execution.mapRunArn } : {}),
    redriveCount: 0,
  };
}

async function listExecutions(ctx: RequestContext, input: Input) {
  if (input.mapRunArn !== undefined && input.stateMachineArn !== undefined) {
    throw new AwsError('ValidationException', 'Specify either a stateMachineArn or a mapRunArn, not both');
  }
  const state = stateOf(ctx);
  const statusFilter = input.statusFilter as ExecutionStatus | undefined;
  let executions: Execution[];
  if (input.mapRunArn !== undefined) {
    // A Map Run's child executions, in the order they started (the order of their items).
    const mapRunArn = requireMember(input, 'mapRunArn');
    if (!MAP_RUN_ARN.test(mapRunArn)) throw invalidArn(mapRunArn);
    await ctx.authorize('states:ListExecutions', mapRunArn, { resourceAccountId: accountOf(mapRunArn) });
    const mapRun = state.mapRuns.get(mapRunArn);
    if (!mapRun || accountOf(mapRunArn) !== ctx.accountId) {
      throw new AwsError('ResourceNotFound', `Resource not found: '${mapRunArn}'`);
    }
    executions = mapRun.children.filter(
      (e) => e !== undefined && (!statusFilter || e.status === statusFilter),
    );
  } else {
    const stateMachineArn = requireMember(input, 'stateMachineArn');
    if (!STATE_MACHINE_ARN.test(stateMachineArn)) throw invalidArn(stateMachineArn);
    await ctx.authorize('states:ListExecutions', stateMachineArn, {
      resourceAccountId: accountOf(stateMachineArn),
    });
    if (stateMachineArn !== state.stack.stateMachineArn || accountOf(stateMachineArn) !== ctx.accountId) {
      throw new AwsError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${stateMachineArn}'`);
    }
    // Newest first, as the console and the API list them. A Map Run's children are the map's.
    executions = [...state.executions.values()]
      .filter((e) => e.stateMachineArn === stateMachineArn && (!statusFilter || e.status === statusFilter))
      .reverse();
  }
  const { page, nextToken } = paginate(executions, pageSize(input.maxResults), input.nextToken, invalidToken);
  return {
    executions: page.map((e) => ({
      executionArn: e.executionArn,
      stateMachineArn: e.stateMachineArn,
      name: e.name,
      status: e.status,
      startDate: e.startDate,
      ...(e.stopDate ? { stopDate: e.stopDate } : {}),
      // Returned only when the list is a Map Run's (ExecutionListItem.mapRunArn).
      ...(input.mapRunArn !== undefined && e.mapRunArn ? { mapRunArn: e.mapRunArn } : {}),
      redriveCount: 0,
    })),
    ...(nextToken ? { nextToken } : {}),
  };
}

async function getExecutionHistory(ctx: RequestContext, input: Input) {
  const execution = await resolveExecution(ctx, 'states:GetExecutionHistory', input);
  const ordered = input.reverseOrder === true ? [...execution.history].reverse() : execution.history;
  const { page, nextToken } = paginate(ordered, pageSize(input.maxResults), input.nextToken, invalidToken);
  const withData = input.includeExecutionData !== false;
  return {
    events: withData ? page : page.map(withoutExecutionData),
    ...(nextToken ? { nextToken } : {}),
  };
}

async function listMapRuns(ctx: RequestContext, input: Input) {
  const execution = await resolveExecution(ctx, 'states:ListMapRuns', input);
  const state = stateOf(ctx);
  const runs = execution.mapRunArns.map((arn) => state.mapRuns.get(arn)).filter((r) => r !== undefined);
  const { page, nextToken } = paginate(runs, pageSize(input.maxResults), input.nextToken, invalidToken);
  return {
    mapRuns: page.map((r) => ({
      executionArn: r.executionArn,
      mapRunArn: r.mapRunArn,
      stateMachineArn: r.stateMachineArn,
      startDate: r.startDate,
      ...(r.stopDate ? { stopDate: r.stopDate } : {}),
    })),
    ...(nextToken ? { nextToken } : {}),
  };
}

async function describeMapRun(ctx: RequestContext, input: Input) {
  const mapRunArn = requireMember(input, 'mapRunArn');
  if (!MAP_RUN_ARN.test(mapRunArn)) throw invalidArn(mapRunArn);
  await ctx.authorize('states:DescribeMapRun', mapRunArn, { resourceAccountId: accountOf(mapRunArn) });
  const mapRun: MapRun | undefined = stateOf(ctx).mapRuns.get(mapRunArn);
  if (!mapRun || accountOf(mapRunArn) !== ctx.accountId) {
    throw new AwsError('ResourceNotFound', `Resource not found: '${mapRunArn}'`);
  }
  return {
    mapRunArn: mapRun.mapRunArn,
    executionArn: mapRun.executionArn,
    status: mapRun.status,
    startDate: mapRun.startDate,
    ...(mapRun.stopDate ? { stopDate: mapRun.stopDate } : {}),
    maxConcurrency: mapRun.maxConcurrency,
    toleratedFailurePercentage: mapRun.toleratedFailurePercentage,
    toleratedFailureCount: mapRun.toleratedFailureCount,
    // From the children themselves. One child execution per item (no ItemBatcher): the two sets
    // of counts are the same.
    itemCounts: { ...mapRun.counts },
    executionCounts: { ...mapRun.counts },
    redriveCount: 0,
  };
}

// ---------------------------------------------------------------- helpers

function stateOf(ctx: RequestContext): StepFunctionsState {
  return stepFunctionsState(ctx.world);
}

async function resolveExecution(ctx: RequestContext, action: string, input: Input): Promise<Execution> {
  const executionArn = requireMember(input, 'executionArn');
  if (!EXECUTION_ARN.test(executionArn)) throw invalidArn(executionArn);
  await ctx.authorize(action, executionArn, { resourceAccountId: accountOf(executionArn) });
  const execution = stateOf(ctx).executions.get(executionArn);
  if (!execution || accountOf(executionArn) !== ctx.accountId) {
    throw new AwsError('ExecutionDoesNotExist', `Execution Does Not Exist: '${executionArn}'`);
  }
  return execution;
}

function decodeBody(target: string, body: string): { operation: string; input: Input } {
  try {
    return decodeJsonRequest(target, body);
  } catch {
    throw new AwsError('SerializationException', 'The request body is not valid JSON');
  }
}

function requireMember(input: Input, name: string): string {
  const value = input[name];
  if (typeof value !== 'string' || value === '') {
    throw new AwsError(
      'ValidationException',
      `1 validation error detected: Value null at '${name}' failed to satisfy constraint: Member must not be null`,
    );
  }
  return value;
}

function pageSize(maxResults: unknown): number {
  if (maxResults === undefined || maxResults === 0) return DEFAULT_PAGE;
  const n = Number(maxResults);
  if (!Number.isInteger(n) || n < 0 || n > MAX_PAGE) {
    throw new AwsError(
      'ValidationException',
      `1 validation error detected: Value '${String(maxResults)}' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to ${MAX_PAGE}`,
    );
  }
  return n;
}

function hasControlCharacter(name: string): boolean {
  return [...name].some((c) => {
    const code = c.charCodeAt(0);
    return code < 0x20 || (code >= 0x7f && code <= 0x9f);
  });
}

function nameOf(stateMachineArn: string): string {
  return stateMachineArn.slice(stateMachineArn.lastIndexOf(':') + 1);
}

function accountOf(arn: string): string {
  return arn.split(':')[4] ?? '';
}

function invalidArn(arn: string): AwsError {
  return new AwsError('InvalidArn', `Invalid Arn: '${arn}'`);
}

function invalidToken(): AwsError {
  return new AwsError('InvalidToken', 'Invalid Token: the nextToken is not one this API issued');
}
