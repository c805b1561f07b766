import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getConfig } from '../../commons/config';
import { causeMessage } from '../../commons/failure';
import type { ResolvedRun, RunReport } from '../../commons/run';
import { runPrefix } from '../../commons/run';
import { type EventLog, type LocalExecution, type LocalRunOptions, runLocal } from './run-local';

export interface LocalRunOutcome {
  execution: LocalExecution;
  /** Set once ResolveTargets produced the run. */
  runId?: string;
  /** The run's report, read back from the reports bucket where WriteReport put it. */
  report?: RunReport;
  /** Why the run could not start (ResolveTargets failed: bad input, bad event). */
  startError?: { name: string; message: string };
}

/**
 * Executes one run of the state machine locally and reads its report back: the path shared by
 * `casbridge run --local`, the demo and the benchmark. The report is read from S3, as an operator
 * would read it, never taken from the execution's payload.
 */
export async function executeRunLocally(
  input: unknown,
  options: LocalRunOptions & {
    /** The AWS CLI profile the report is read with (a casbridge profile's aws_profile); else the default chain. */
    profile?: string;
  },
): Promise<LocalRunOutcome> {
  const execution = await runLocal(input, options);
  const resolved = resolvedRun(execution.events);
  // An interrupted run wrote no report; what it holds in the ledger is the caller's to release.
  if (execution.status === 'ABORTED')
    return { execution, ...(resolved ? { runId: resolved.run.runId } : {}) };
  if (!resolved) {
    return {
      execution,
      startError: { name: execution.error ?? 'Error', message: causeMessage(execution.cause) },
    };
  }
  const config = getConfig();
  if (!config.reportsBucket)
    throw new Error('CASBRIDGE_REPORTS_BUCKET is not set: the run wrote its report nowhere to read it from');
  const s3 = new S3Client({
    region: config.region,
    ...(options.profile ? { profile: options.profile } : {}),
    forcePathStyle: true,
  });
  const object = await s3.send(
    new GetObjectCommand({
      Bucket: config.reportsBucket,
      Key: `${runPrefix(resolved.run.runId)}report.json`,
    }),
  );
  const report = JSON.parse(await object.Body!.transformToString()) as RunReport;
  s3.destroy();
  return { execution, runId: resolved.run.runId, report };
}

function resolvedRun(events: EventLog[]): ResolvedRun | undefined {
  for (const event of events) {
    const resolved = resolvedBy(event);
    if (resolved) return resolved;
  }
  return undefined;
}

/** The run, when `event` is ResolveTargets handing it on: a follower learns the run id from it. */
export function resolvedBy(event: EventLog): ResolvedRun | undefined {
  return event.type === 'StateExited' && event.state.name === 'ResolveTargets'
    ? (event.state.output as unknown as ResolvedRun)
    : undefined;
}
