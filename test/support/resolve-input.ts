import type { ResolveInput } from '../../functions/resolve-targets/resolve-targets';

/** The default scenario's management account, where casbridge's executions run in these tests. */
const MANAGEMENT = '999988887777';
let executions = 0;

/**
 * ResolveTargets' input as the state machine's Parameters build it: the trigger, and a new
 * execution (its ARN and start time) unless the test names one.
 */
export function started(
  input: unknown,
  execution = `arn:aws:states:us-east-1:${MANAGEMENT}:execution:casbridge-dev:test-${++executions}`,
  startedAt = '2026-03-04T10:15:42.123Z',
): ResolveInput {
  return { input, execution, startedAt };
}
