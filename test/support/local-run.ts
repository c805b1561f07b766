import type { Sandbox } from '../../sandbox';
import { stateMachineSession } from '../../sandbox/services/step-functions/executions';
import { adaptForLocalRun, type DistributedMapMode } from '../../statemachine/local/adapt-definition';
import { type Definition, loadDefinition, taskStates } from '../../statemachine/local/definition';
import { executeRunLocally, type LocalRunOutcome } from '../../statemachine/local/execute-run';

let executions = 0;

/**
 * Runs the real state machine definition locally against the sandbox, as `casbridge run --local`
 * does. Retry waits take no wall time: each retry moves the sandbox clock forward by the
 * retrier's backoff instead, so a role that becomes assumable after 30 s does so after the
 * retries that would have waited that long.
 */
export async function runStateMachine(
  sandbox: Sandbox,
  input: unknown,
  /**
   * `definition`: another than the deployed one (the cost tests' definition without the fast path);
   * `distributedMap`: `inline` for the local adaptation's inline Map instead of the native driver.
   */
  options: { executionName?: string; definition?: Definition; distributedMap?: DistributedMapMode } = {},
): Promise<LocalRunOutcome> {
  const definition = options.definition ?? loadDefinition();
  const overrides: Record<string, number> = {};
  // The inline form lists every Task, the map's processor's included, by the names both forms run.
  for (const task of taskStates(adaptForLocalRun(definition, { distributedMap: 'inline' })))
    overrides[task.name] = 0;
  const session = await stateMachineSession(sandbox.world);
  return executeRunLocally(input, {
    definition,
    ...(options.distributedMap ? { distributedMap: options.distributedMap } : {}),
    // The map's ItemReader and ResultWriter as the state machine's role, so IAM judges them.
    stateMachineCredentials: {
      accessKeyId: session.accessKeyId,
      secretAccessKey: session.secretAccessKey,
      sessionToken: session.sessionToken as string,
    },
    executionName: options.executionName ?? `test-${++executions}`,
    startTime: sandbox.world.clock.now(),
    retryIntervalOverrides: overrides,
    onEvent: (event) => {
      if (event.type === 'StateRetried') sandbox.world.clock.advance(2 ** event.retry.attempt * 10_000);
    },
  });
}
