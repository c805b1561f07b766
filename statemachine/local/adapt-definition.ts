import { partitionOf } from '../../commons/partition';
import type { Definition, State } from './definition';
import { taskStates } from './definition';

/** The state the inline adaptation inserts before the map to read its items from S3. */
export const LOAD_TARGETS_STATE = 'LoadTargets';

/**
 * How a Distributed Map runs locally: `native`, one child execution per item with its own ARN and
 * history, driven by statemachine/local/distributed-map.ts (the sandbox, the demo, the tests); or
 * `inline`, the map run by aws-local-stepfunctions as an inline Map over the items.
 */
export type DistributedMapMode = 'native' | 'inline';

/**
 * A Distributed Map becomes a Task of this name's resource, bound to the native driver: the
 * driver reads the map's own fields from the definition as deployed. Its timeout is the longest
 * a timer can wait (2^31 - 1 ms): a Map state has none on AWS, and the runner's default is 60 s.
 */
export const DISTRIBUTED_MAP_TASK_TIMEOUT_SECONDS = 2_000_000;

/**
 * The one place the deployed definition is adapted to run under aws-local-stepfunctions, which
 * runs a Map inline and ignores ItemReader, ResultWriter and the failure tolerance (a Distributed
 * Map given to it as written would silently run over the wrong input). The adaptation:
 *
 * 1. Each Task's `Fn::GetAtt` resource becomes a placeholder Lambda ARN: tasks are bound to the
 *    real handlers by state name, so the ARN is never called. The pseudo parameters
 *    serverless-step-functions substitutes at packaging (`#{AWS::Partition}`, `#{AWS::Region}`,
 *    `#{AWS::AccountId}`) are resolved for the Region and account given, as CloudFormation would.
 * 2. `native` (the default): each Distributed Map becomes a Task with the map's InputPath,
 *    ResultSelector, ResultPath, OutputPath, Retry, Catch and transition, which the runner binds
 *    to the Distributed Map driver; the driver runs the map from its definition as deployed
 *    (ItemReader, MaxConcurrency, tolerance, ItemProcessor, ResultWriter).
 *    `inline`: the Distributed Map becomes an inline Map over `$.items`, read by an inserted
 *    `LoadTargets` Task from the same S3 object the ItemReader names; its results stay in the
 *    payload (an array) instead of ResultWriter files. WriteReport reads either form.
 *
 * Everything else — states, Choice rules, Retry, Catch, timeouts, paths — runs as written.
 */
export function adaptForLocalRun(
  definition: Definition,
  options: { region?: string; accountId?: string; distributedMap?: DistributedMapMode } = {},
): Definition {
  const copy = resolveForLocalRun(definition, options);
  const { region, accountId, partition } = placeOf(options);
  for (const [name, state] of Object.entries(copy.States)) {
    if (!isDistributedMap(state)) continue;
    if ((options.distributedMap ?? 'native') === 'native') {
      copy.States[name] = mapAsTask(state, `arn:${partition}:states:${region}:${accountId}:map:${name}`);
      continue;
    }
    const predecessor = Object.values(copy.States).find((s) => s.Next === name);
    if (!predecessor) throw new Error(`local adaptation: no state leads to the map ${name}`);
    const loader: State = {
      Type: 'Task',
      Resource: `arn:${partition}:lambda:${region}:${accountId}:function:casbridge-local-load-targets`,
      ResultPath: '$.items',
      TimeoutSeconds: 300,
      Next: name,
    };
    if (predecessor.Retry) loader.Retry = predecessor.Retry;
    predecessor.Next = LOAD_TARGETS_STATE;
    copy.States[LOAD_TARGETS_STATE] = loader;
    delete state.ItemReader;
    delete state.ResultWriter;
    delete state.ToleratedFailurePercentage;
    delete state.ToleratedFailureCount;
    delete state.Label;
    state.ItemsPath = '$.items';
    (state.ItemProcessor as { ProcessorConfig?: unknown }).ProcessorConfig = { Mode: 'INLINE' };
  }
  return copy;
}

/**
 * Step 1 alone: the definition with its pseudo parameters and Task resources resolved, every Map
 * as deployed. The Distributed Map driver reads its maps from this copy.
 */
export function resolveForLocalRun(
  definition: Definition,
  options: { region?: string; accountId?: string } = {},
): Definition {
  const { region, accountId, partition } = placeOf(options);
  const copy = resolvePseudoParameters(definition, {
    'AWS::Partition': partition,
    'AWS::Region': region,
    'AWS::AccountId': accountId,
  });
  for (const task of taskStates(copy)) {
    if (task.functionName)
      task.state.Resource = `arn:${partition}:lambda:${region}:${accountId}:function:casbridge-${task.functionName}`;
  }
  return copy;
}

/** The top-level Distributed Map states of a definition, by name. */
export function distributedMapStates(definition: Definition): Map<string, State> {
  const out = new Map<string, State>();
  for (const [name, state] of Object.entries(definition.States))
    if (isDistributedMap(state)) out.set(name, state);
  return out;
}

function isDistributedMap(state: State): boolean {
  if (state.Type !== 'Map') return false;
  const config = (state.ItemProcessor as { ProcessorConfig?: { Mode?: string } } | undefined)
    ?.ProcessorConfig;
  return config?.Mode === 'DISTRIBUTED' || state.ItemReader !== undefined;
}

/** The Task the native driver stands behind: the map's data flow and error handling, nothing else. */
function mapAsTask(map: State, resource: string): State {
  const task: State = {
    Type: 'Task',
    Resource: resource,
    TimeoutSeconds: DISTRIBUTED_MAP_TASK_TIMEOUT_SECONDS,
  };
  for (const field of [
    'Comment',
    'InputPath',
    'ResultSelector',
    'ResultPath',
    'OutputPath',
    'Retry',
    'Catch',
    'Next',
    'End',
  ])
    if (map[field] !== undefined) task[field] = map[field];
  return task;
}

function placeOf(options: { region?: string; accountId?: string }) {
  const region = options.region ?? 'us-east-1';
  return { region, accountId: options.accountId ?? '000000000000', partition: partitionOf(region) };
}

/** `#{AWS::…}` replaced in every string of the definition; an unknown name is a definition bug. */
function resolvePseudoParameters(definition: Definition, values: Record<string, string>): Definition {
  const json = JSON.stringify(definition).replace(/#\{([^}]+)\}/g, (_, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`local adaptation: unknown pseudo parameter #{${name}}`);
    return value;
  });
  return JSON.parse(json) as Definition;
}
