import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { ResolvedRun } from '../../commons/run';
import { lambdaFunctionName, SANDBOX_STAGE } from '../../commons/stack-resources';
import { parseTaskInput, type TaskInput } from '../../commons/task-input';
import { handler as resolveTargetsHandler } from '../../functions/resolve-targets/handler';
import type { ResolveInput } from '../../functions/resolve-targets/resolve-targets';
import type { Sandbox } from '../../sandbox';
import { lambdaContext } from './lambda-context';

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

/** The items a run's targets file holds, parsed as each task parses its input. */
export async function targetItems(sandbox: Sandbox, run: Pick<ResolvedRun, 'targets'>): Promise<TaskInput[]> {
  const out = await new S3Client(sandbox.clientConfig()).send(
    new GetObjectCommand({ Bucket: run.targets.bucket, Key: run.targets.key }),
  );
  return (JSON.parse(await out.Body!.transformToString()) as unknown[]).map(parseTaskInput);
}

/** The run's items as ResolveTargets writes them, through its handler, as its own role. */
export async function resolvedItems(sandbox: Sandbox, input: Record<string, unknown>): Promise<TaskInput[]> {
  const run = (await resolveTargetsHandler(
    started(input),
    lambdaContext(lambdaFunctionName(SANDBOX_STAGE, 'resolveTargets')),
  )) as ResolvedRun;
  return targetItems(sandbox, run);
}
