import { setTimeout as sleep } from 'node:timers/promises';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  DescribeMapRunCommand,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  ListExecutionsCommand,
  ListMapRunsCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { causeMessage } from '../../commons/failure';
import { type ResolvedRun, type RunReport, runPrefix } from '../../commons/run';

/** What a follower sees of a run while it goes on. */
export interface RemoteProgress {
  status: string;
  /** Set once the map run started: its items are the run's target accounts. */
  accounts?: { total: number; done: number; running: number; failed: number };
  /**
   * The error each running account's child execution is in a retrier's backoff after, by child
   * execution ARN, as of the last sweep of the running children (at most every SWEEP_MS).
   */
  retrying?: ReadonlyMap<string, string>;
}

export interface RemoteRunOptions {
  stateMachineArn: string;
  /** The AWS CLI profile to sign with (a casbridge profile's aws_profile); else the default chain. */
  profile?: string;
  executionName: string;
  /** How often to ask for the execution's state. */
  pollMs?: number;
  onProgress?: (progress: RemoteProgress) => void;
  /** Called once the execution started, before it is followed. */
  onStarted?: (executionArn: string) => void;
}

export interface RemoteRunOutcome {
  executionArn: string;
  status: string;
  error?: string;
  cause?: string;
  /** Set once ResolveTargets produced the run. */
  runId?: string;
  /** The run's report, read from the reports bucket where WriteReport put it. */
  report?: RunReport;
  /** Why the run could not start (ResolveTargets failed: bad input, bad event). */
  startError?: { name: string; message: string };
}

const DEFAULT_POLL_MS = 500;
/**
 * How often the running children are looked into, and how many at most: each costs one
 * GetExecutionHistory, whose bucket AWS refills at a handful a second (reference §4), and a
 * follower must leave the console and other operators their share.
 */
const SWEEP_MS = 5_000;
const SWEEP_CHILDREN = 50;
const RESOLVE_TARGETS_STATE = 'ResolveTargets';

/**
 * Starts an execution of the deployed state machine and follows it to its report, with nothing
 * but the Step Functions and S3 APIs an operator would use: DescribeExecution for the status,
 * ListMapRuns and DescribeMapRun for the accounts' progress, GetExecutionHistory for the run that
 * ResolveTargets made, and the report object WriteReport wrote. The Region is the state machine's.
 */
export async function runRemotely(input: unknown, options: RemoteRunOptions): Promise<RemoteRunOutcome> {
  const region = options.stateMachineArn.split(':')[3] || undefined;
  const profile = options.profile ? { profile: options.profile } : {};
  const sfn = new SFNClient({ ...(region ? { region } : {}), ...profile });
  try {
    const { executionArn } = await sfn.send(
      new StartExecutionCommand({
        stateMachineArn: options.stateMachineArn,
        name: options.executionName,
        input: JSON.stringify(input),
      }),
    );
    options.onStarted?.(executionArn as string);
    const execution = await follow(sfn, executionArn as string, options);
    const resolved = await resolvedRun(sfn, execution.executionArn as string);
    const outcome: RemoteRunOutcome = {
      executionArn: execution.executionArn as string,
      status: execution.status as string,
      ...(execution.error !== undefined ? { error: execution.error } : {}),
      ...(execution.cause !== undefined ? { cause: execution.cause } : {}),
    };
    if (!resolved) {
      return {
        ...outcome,
        startError: { name: execution.error ?? 'Error', message: causeMessage(execution.cause) },
      };
    }
    const report = await readReport(resolved, region, profile);
    return { ...outcome, runId: resolved.run.runId, ...(report ? { report } : {}) };
  } finally {
    sfn.destroy();
  }
}

async function follow(
  sfn: SFNClient,
  executionArn: string,
  options: RemoteRunOptions,
): Promise<DescribeExecutionCommandOutput> {
  let mapRunArn: string | undefined;
  let retrying: ReadonlyMap<string, string> | undefined;
  let sweptAt = Number.NEGATIVE_INFINITY;
  for (;;) {
    const execution = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    const progress: RemoteProgress = { status: execution.status ?? 'RUNNING' };
    // A Distributed Map's run is found by its parent execution; DescribeExecution names only the
    // map run that dispatched a child.
    mapRunArn ??= (await sfn.send(new ListMapRunsCommand({ executionArn }))).mapRuns?.[0]?.mapRunArn;
    if (mapRunArn) {
      const counts = (await sfn.send(new DescribeMapRunCommand({ mapRunArn }))).itemCounts;
      if (counts) {
        progress.accounts = {
          total: counts.total ?? 0,
          done:
            (counts.succeeded ?? 0) + (counts.failed ?? 0) + (counts.timedOut ?? 0) + (counts.aborted ?? 0),
          running: counts.running ?? 0,
          failed: (counts.failed ?? 0) + (counts.timedOut ?? 0) + (counts.aborted ?? 0),
        };
        if (!counts.running) retrying = undefined;
        else if (Date.now() - sweptAt >= SWEEP_MS) {
          sweptAt = Date.now();
          retrying = await retryingChildren(sfn, mapRunArn);
        }
      }
    }
    if (retrying) progress.retrying = retrying;
    options.onProgress?.(progress);
    if (execution.status !== 'RUNNING' && execution.status !== 'PENDING_REDRIVE') return execution;
    await sleep(options.pollMs ?? DEFAULT_POLL_MS);
  }
}

/**
 * The running accounts that wait in a retrier's backoff, and the error each waits after: a child
 * whose newest history event is a failed attempt (`LambdaFunctionFailed`, the Task names a Lambda
 * ARN) has not been scheduled again yet, so it is waiting out its Retry interval.
 */
async function retryingChildren(sfn: SFNClient, mapRunArn: string): Promise<Map<string, string>> {
  const waiting = new Map<string, string>();
  const running = await sfn.send(
    new ListExecutionsCommand({ mapRunArn, statusFilter: 'RUNNING', maxResults: SWEEP_CHILDREN }),
  );
  for (const child of running.executions ?? []) {
    if (!child.executionArn) continue;
    const { events } = await sfn.send(
      new GetExecutionHistoryCommand({
        executionArn: child.executionArn,
        reverseOrder: true,
        maxResults: 1,
        includeExecutionData: false,
      }),
    );
    const newest = events?.[0];
    const error =
      newest?.type === 'LambdaFunctionFailed' ? newest.lambdaFunctionFailedEventDetails?.error : undefined;
    if (error) waiting.set(child.executionArn, error);
  }
  return waiting;
}

/** The run ResolveTargets returned, from the execution's history. */
async function resolvedRun(sfn: SFNClient, executionArn: string): Promise<ResolvedRun | undefined> {
  let nextToken: string | undefined;
  do {
    const page = await sfn.send(
      new GetExecutionHistoryCommand({ executionArn, maxResults: 1000, nextToken }),
    );
    const exited = (page.events ?? []).find(isResolveTargetsExit);
    const output = exited?.stateExitedEventDetails?.output;
    if (output) return JSON.parse(output) as ResolvedRun;
    nextToken = page.nextToken;
  } while (nextToken);
  return undefined;
}

function isResolveTargetsExit(event: HistoryEvent): boolean {
  return event.type === 'TaskStateExited' && event.stateExitedEventDetails?.name === RESOLVE_TARGETS_STATE;
}

/** The report sits beside the run's targets: WriteReport writes it under the same run prefix. */
async function readReport(
  resolved: ResolvedRun,
  region: string | undefined,
  profile: { profile?: string },
): Promise<RunReport | undefined> {
  const s3 = new S3Client({ ...(region ? { region } : {}), ...profile, forcePathStyle: true });
  try {
    const object = await s3.send(
      new GetObjectCommand({
        Bucket: resolved.targets.bucket,
        Key: `${runPrefix(resolved.run.runId)}report.json`,
      }),
    );
    return JSON.parse(await object.Body!.transformToString()) as RunReport;
  } catch (error) {
    // A run that failed before WriteReport has no report; the caller says so with the run's error.
    if ((error as Error).name === 'NoSuchKey') return undefined;
    throw error;
  } finally {
    s3.destroy();
  }
}
