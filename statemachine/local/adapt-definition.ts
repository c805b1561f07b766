import { partitionOf } from '../../commons/partition';
import type { Definition, State } from './definition';
import { taskStates } from './definition';

/** The state the local adaptation inserts before the map to read its items from S3. */
export const LOAD_TARGETS_STATE = 'LoadTargets';

/**
 * The one place the deployed definition is adapted to run under aws-local-stepfunctions, which
 * runs a Map inline and ignores ItemReader and ResultWriter (a Distributed Map would silently run
 * over the wrong input). The adaptation:
 *
 * 1. Each Task's `Fn::GetAtt` resource becomes a placeholder Lambda ARN: tasks are bound to the
 *    real handlers by state name, so the ARN is never called. The pseudo parameters
 *    serverless-step-functions substitutes at packaging (`#{AWS::Partition}`, `#{AWS::Region}`,
 *    `#{AWS::AccountId}`) are resolved for the Region and account given, as CloudFormation would.
 * 2. The Distributed Map becomes an inline Map over `$.items`, read by an inserted
 *    `LoadTargets` Task from the same S3 object the ItemReader names; its results stay in the
 *    payload (an array) instead of ResultWriter files. WriteReport reads either form.
 *
 * Everything else — states, Choice rules, Retry, Catch, timeouts, paths — runs as written.
 */
export function adaptForLocalRun(
  definition: Definition,
  options: { region?: string; accountId?: string } = {},
): Definition {
  const region = options.region ?? 'us-east-1';
  const accountId = options.accountId ?? '000000000000';
  const partition = partitionOf(region);
  const copy = resolvePseudoParameters(definition, {
    'AWS::Partition': partition,
    'AWS::Region': region,
    'AWS::AccountId': accountId,
  });
  for (const task of taskStates(copy)) {
    if (task.functionName)
      task.state.Resource = `arn:${partition}:lambda:${region}:${accountId}:function:casbridge-${task.functionName}`;
  }
  for (const [name, state] of Object.entries(copy.States)) {
    if (state.Type !== 'Map' || !state.ItemReader) continue;
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
    delete state.Label;
    state.ItemsPath = '$.items';
    (state.ItemProcessor as { ProcessorConfig?: unknown }).ProcessorConfig = { Mode: 'INLINE' };
  }
  return copy;
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
