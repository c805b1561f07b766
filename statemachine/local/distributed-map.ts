import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { State } from './definition';
import { type HistoryEvent, HistoryRecorder, type HistoryShape, type HistorySize } from './history';
import {
  buildMachine,
  type EventLog,
  evaluatePath,
  evaluateTemplate,
  runMachine,
  type TaskHandler,
} from './machine';

/**
 * Step Functions runs up to 10,000 child executions of a Distributed Map at once, and that many
 * when MaxConcurrency is 0 or not set (docs: state-map-distributed).
 */
export const DISTRIBUTED_MAP_MAX_CONCURRENCY = 10_000;

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';
export type MapRunStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'ABORTED';

/** One execution as Step Functions keeps it: what DescribeExecution and GetExecutionHistory show. */
export interface ExecutionRecord {
  readonly executionArn: string;
  readonly stateMachineArn: string;
  readonly name: string;
  /** The input as a JSON string, as the API returns it. */
  readonly input: string;
  readonly startDate: Date;
  status: ExecutionStatus;
  stopDate?: Date;
  output?: string;
  error?: string;
  cause?: string;
  /** The history so far (read while the execution goes on); empty when histories are not kept. */
  history: HistoryEvent[];
  /** Its size against the quotas, kept or not. */
  historySize: HistorySize;
  /** A child execution's: the map run that started it. */
  readonly mapRunArn?: string;
  /** A parent's: the map runs its Distributed Maps started. */
  readonly mapRunArns: string[];
}

/** MapRunItemCounts and MapRunExecutionCounts: one child execution per item, so the same counts. */
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

/** One Map Run: what DescribeMapRun and ListMapRuns show, and its child executions. */
export interface MapRunRecord {
  readonly mapRunArn: string;
  /** The parent execution. */
  readonly executionArn: string;
  /** The map's own "state machine", `<machine>/<Label>`: its children's stateMachineArn. */
  readonly stateMachineArn: string;
  readonly startDate: Date;
  status: MapRunStatus;
  stopDate?: Date;
  readonly maxConcurrency: number;
  readonly toleratedFailurePercentage: number;
  readonly toleratedFailureCount: number;
  readonly counts: MapRunCounts;
  /** In the order of their items. */
  readonly children: ExecutionRecord[];
}

/** Who wants to know of map runs and child executions as they start (the sandbox's Step Functions). */
export interface ExecutionObserver {
  mapRunStarted?: (mapRun: MapRunRecord) => void;
  childStarted?: (child: ExecutionRecord) => void;
}

/** Which child execution an event belongs to; a parent's events have none. */
export interface EventOrigin {
  executionArn: string;
  mapRunArn: string;
}

/** What the driver needs from the run it is part of. */
export interface MapDriverContext {
  readonly parent: ExecutionRecord;
  readonly parentRecorder: HistoryRecorder;
  /** The parent's `$$.Execution`, for the map's own fields (ItemReader, ItemSelector, ResultWriter). */
  readonly executionContext: Record<string, unknown>;
  /** The role Step Functions runs the executions as (ExecutionStarted's roleArn). */
  readonly roleArn: string;
  /** Every Task of the definition bound to its handler, by state name. */
  readonly handlers: Record<string, TaskHandler>;
  readonly retryIntervalOverrides?: Record<string, number | number[]>;
  readonly historyShape: HistoryShape;
  readonly keepHistories: boolean;
  readonly now: () => Date;
  /** S3 as the state machine's role: ItemReader and ResultWriter call it as Step Functions would. */
  readonly s3: S3Client;
  readonly signal?: AbortSignal;
  /** Each child's events, with `index` set to its item's as an inline Map's iterations have it. */
  readonly onEvent?: (event: EventLog, origin?: EventOrigin) => void;
  readonly observer?: ExecutionObserver;
  /** Step Functions starts each child as the state machine's role: a denial fails the map run. */
  readonly authorizeChildStart?: (stateMachineArn: string) => Promise<void>;
}

/**
 * Runs one Distributed Map state as Step Functions does (docs: state-map-distributed,
 * input-output-itemreader, input-output-resultwriter, concepts-examine-map-run):
 *
 * - MaxConcurrency or MaxConcurrencyPath (0 or unset: up to 10,000 at once), and the failure
 *   tolerance (ToleratedFailurePercentage/Count and their Paths) are read from the state input;
 * - the map run starts (its ARN `mapRun:<machine>/<Label>:<uuid>`, MapRunStarted in the parent's
 *   history); the ItemReader's Parameters are evaluated against the state input and its object
 *   read through S3 (InputType JSON: an array), a failure being States.ItemReaderFailed;
 * - each item (through ItemSelector, with `$$.Map.Item`) is the input of its own child execution of
 *   the ItemProcessor, with its own ARN `execution:<machine>/<Label>:<uuid>`, `$$.Execution`, and
 *   history; at most MaxConcurrency run at once;
 * - once more children failed than the tolerance allows, no child starts, the running ones are
 *   stopped (ABORTED), and the map fails with States.ExceedToleratedFailureThreshold;
 * - the ResultWriter writes `<Prefix>/<map run id>/SUCCEEDED_0.json`, `FAILED_0.json` (each a
 *   JSON array of child executions) and `manifest.json` listing them, and the map's result is
 *   `{ MapRunArn, ResultWriterDetails: { Bucket, Key } }`; without one, the children's outputs.
 *
 * Returns the map's result; throws the map's error (its name is what Retry and Catch match).
 */
export async function runDistributedMap(
  driver: MapDriverContext,
  stateName: string,
  map: State,
  input: unknown,
): Promise<unknown> {
  const parentArn = driver.parent.stateMachineArn;
  const machineName = parentArn.slice(parentArn.lastIndexOf(':') + 1);
  const label = typeof map.Label === 'string' ? map.Label : stateName;
  const arnPrefix = parentArn.slice(0, parentArn.indexOf(':stateMachine:'));
  const mapRunId = randomUUID();
  const context = driver.executionContext;

  const maxConcurrency = await concurrencyOf(map, input);
  const tolerance = await toleranceOf(map, input);
  const mapRun: MapRunRecord = {
    mapRunArn: `${arnPrefix}:mapRun:${machineName}/${label}:${mapRunId}`,
    executionArn: driver.parent.executionArn,
    stateMachineArn: `${arnPrefix}:stateMachine:${machineName}/${label}`,
    startDate: driver.now(),
    status: 'RUNNING',
    maxConcurrency,
    toleratedFailurePercentage: tolerance.percentage ?? 0,
    toleratedFailureCount: tolerance.count ?? 0,
    counts: {
      pending: 0,
      running: 0,
      succeeded: 0,
      failed: 0,
      timedOut: 0,
      aborted: 0,
      total: 0,
      resultsWritten: 0,
      failuresNotRedrivable: 0,
      pendingRedrive: 0,
    },
    children: [],
  };
  driver.parent.mapRunArns.push(mapRun.mapRunArn);
  driver.observer?.mapRunStarted?.(mapRun);
  driver.parentRecorder.mapRunStarted(stateName, mapRun.mapRunArn);
  const fail = (status: MapRunStatus, name: string, cause: string): Error => {
    mapRun.status = status;
    mapRun.stopDate = driver.now();
    return statesError(name, cause);
  };

  const items = await readItems(driver, map, input, context).catch((error: Error) => {
    throw fail('FAILED', error.name, error.message);
  });
  mapRun.counts.total = items.length;
  mapRun.counts.pending = items.length;

  const processor = map.ItemProcessor as { StartAt: string; States: Record<string, State> };
  const machine = buildMachine({ StartAt: processor.StartAt, States: processor.States });
  // Stops the children: the parent stopped, the tolerance was exceeded, or a child could not start.
  const stop = new AbortController();
  // Each running child listens to it: as many listeners as MaxConcurrency allows.
  setMaxListeners(Number.POSITIVE_INFINITY, stop.signal);
  const onParentAbort = () => stop.abort();
  driver.signal?.addEventListener('abort', onParentAbort, { once: true });
  if (driver.signal?.aborted) stop.abort();
  let failures = 0;
  let exceeded = false;
  let startFailure: Error | undefined;

  const runChild = async (index: number): Promise<void> => {
    try {
      await driver.authorizeChildStart?.(parentArn);
    } catch (error) {
      startFailure ??= error as Error;
      stop.abort();
      return;
    }
    if (stop.signal.aborted) return;
    const item = items[index];
    const childInput =
      map.ItemSelector === undefined
        ? item
        : await evaluateTemplate(map.ItemSelector, input, {
            ...context,
            Map: { Item: { Index: index, Value: item } },
          });
    const name = randomUUID();
    const recorder = new HistoryRecorder(driver.historyShape, driver.now, driver.keepHistories);
    const child: ExecutionRecord = {
      executionArn: `${arnPrefix}:execution:${machineName}/${label}:${name}`,
      stateMachineArn: mapRun.stateMachineArn,
      name,
      input: JSON.stringify(childInput ?? null),
      startDate: driver.now(),
      status: 'RUNNING',
      history: recorder.events,
      historySize: recorder.size,
      mapRunArn: mapRun.mapRunArn,
      mapRunArns: [],
    };
    mapRun.children[index] = child;
    mapRun.counts.pending--;
    mapRun.counts.running++;
    driver.observer?.childStarted?.(child);
    recorder.started(child.input, driver.roleArn);
    const origin = { executionArn: child.executionArn, mapRunArn: mapRun.mapRunArn };
    const parentState = { name: stateName, type: 'Map' as const, input: input as never };
    driver.onEvent?.({ type: 'MapIterationStarted', timestamp: Date.now(), parentState, index }, origin);
    const outcome = await runMachine(machine, childInput, {
      handlers: driver.handlers,
      ...(driver.retryIntervalOverrides ? { retryIntervalOverrides: driver.retryIntervalOverrides } : {}),
      context: {
        Execution: {
          Id: child.executionArn,
          Name: name,
          StartTime: child.startDate.toISOString(),
          Input: childInput,
          RoleArn: driver.roleArn,
        },
      },
      signal: stop.signal,
      onEvent: (event) => {
        recorder.record(event);
        driver.onEvent?.({ ...event, index } as EventLog, origin);
      },
    });
    child.stopDate = driver.now();
    mapRun.counts.running--;
    if (outcome.status === 'SUCCEEDED') {
      child.output = JSON.stringify(outcome.output ?? null);
      recorder.succeeded(child.output);
      child.status = 'SUCCEEDED';
      mapRun.counts.succeeded++;
      driver.onEvent?.({ type: 'MapIterationSucceeded', timestamp: Date.now(), parentState, index }, origin);
      return;
    }
    if (outcome.status === 'ABORTED') {
      recorder.aborted();
      child.status = 'ABORTED';
      mapRun.counts.aborted++;
    } else {
      child.error = outcome.error ?? 'States.TaskFailed';
      child.cause = outcome.cause ?? '';
      recorder.failedExecution(child.error, child.cause);
      child.status = 'FAILED';
      mapRun.counts.failed++;
    }
    driver.onEvent?.(
      {
        type: 'MapIterationFailed',
        timestamp: Date.now(),
        parentState,
        index,
        Error: child.error ?? 'States.Aborted',
        Cause: child.cause ?? '',
      },
      origin,
    );
    // A child stopped because the map run is stopping is not one more failure against the tolerance.
    if (outcome.status === 'ABORTED' && stop.signal.aborted) return;
    failures++;
    if (exceedsTolerance(failures, items.length, tolerance)) {
      exceeded = true;
      stop.abort();
    }
  };

  await new Promise<void>((resolve) => {
    const limit = maxConcurrency === 0 ? DISTRIBUTED_MAP_MAX_CONCURRENCY : maxConcurrency;
    let next = 0;
    let running = 0;
    const launch = () => {
      while (!stop.signal.aborted && running < limit && next < items.length) {
        const index = next++;
        running++;
        void runChild(index)
          .catch((error: Error) => {
            startFailure ??= error;
            stop.abort();
          })
          .finally(() => {
            running--;
            launch();
          });
      }
      if (running === 0) resolve();
    };
    launch();
  });
  driver.signal?.removeEventListener('abort', onParentAbort);

  if (driver.signal?.aborted) throw fail('ABORTED', 'States.Aborted', 'The execution was stopped');
  if (startFailure) throw fail('FAILED', 'States.Runtime', startFailure.message);
  let output: unknown;
  if (map.ResultWriter) {
    try {
      output = await writeResults(driver, map.ResultWriter as ResultWriter, mapRun, mapRunId, input, context);
    } catch (error) {
      throw fail('FAILED', 'States.ResultWriterFailed', (error as Error).message);
    }
  } else {
    output = mapRun.children.map((child) =>
      child.status === 'SUCCEEDED' ? JSON.parse(child.output as string) : resultEntry(child),
    );
  }
  if (exceeded) {
    throw fail(
      'FAILED',
      'States.ExceedToleratedFailureThreshold',
      'The specified tolerated failure threshold was exceeded',
    );
  }
  mapRun.status = 'SUCCEEDED';
  mapRun.stopDate = driver.now();
  return output;
}

interface Tolerance {
  percentage?: number;
  count?: number;
}

/**
 * The map run fails once its failed children are more than either threshold allows; with no
 * threshold at all, at the first failed child (Step Functions' default tolerance is zero).
 */
function exceedsTolerance(failures: number, total: number, tolerance: Tolerance): boolean {
  if (tolerance.percentage === undefined && tolerance.count === undefined) return failures > 0;
  if (tolerance.count !== undefined && failures > tolerance.count) return true;
  return tolerance.percentage !== undefined && (failures / Math.max(1, total)) * 100 > tolerance.percentage;
}

async function concurrencyOf(map: State, input: unknown): Promise<number> {
  const value =
    typeof map.MaxConcurrencyPath === 'string'
      ? await selectPath(map.MaxConcurrencyPath, input, 'MaxConcurrencyPath')
      : (map.MaxConcurrency ?? 0);
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw statesError(
      'States.Runtime',
      `MaxConcurrency must be a non-negative integer, not ${JSON.stringify(value)}`,
    );
  }
  return value;
}

async function toleranceOf(map: State, input: unknown): Promise<Tolerance> {
  const read = async (field: string, max: number): Promise<number | undefined> => {
    const path = map[`${field}Path`];
    const value = typeof path === 'string' ? await selectPath(path, input, `${field}Path`) : map[field];
    if (value === undefined) return undefined;
    if (typeof value !== 'number' || value < 0 || value > max) {
      throw statesError(
        'States.Runtime',
        `${field} must be a number from 0 to ${max}, not ${JSON.stringify(value)}`,
      );
    }
    return value;
  };
  const percentage = await read('ToleratedFailurePercentage', 100);
  const count = await read('ToleratedFailureCount', Number.MAX_SAFE_INTEGER);
  return { ...(percentage === undefined ? {} : { percentage }), ...(count === undefined ? {} : { count }) };
}

async function selectPath(path: string, input: unknown, field: string): Promise<unknown> {
  try {
    return await evaluatePath(path, input);
  } catch {
    throw statesError('States.Runtime', `The ${field} ${path} does not point to a value in the state input`);
  }
}

/** The items: the ItemReader's S3 object (a JSON array), or without one the array at ItemsPath. */
async function readItems(
  driver: MapDriverContext,
  map: State,
  input: unknown,
  context: Record<string, unknown>,
): Promise<unknown[]> {
  const reader = map.ItemReader as
    | { Resource?: string; ReaderConfig?: { InputType?: string }; Parameters?: unknown }
    | undefined;
  if (!reader) {
    const items = await selectPath(
      typeof map.ItemsPath === 'string' ? map.ItemsPath : '$',
      input,
      'ItemsPath',
    );
    if (!Array.isArray(items)) throw statesError('States.Runtime', 'The ItemsPath does not select an array');
    return items;
  }
  if (
    !/^arn:[a-z-]+:states:::s3:getObject$/.test(reader.Resource ?? '') ||
    reader.ReaderConfig?.InputType !== 'JSON'
  ) {
    throw statesError(
      'States.Runtime',
      `The sandbox reads items with s3:getObject and InputType JSON only, not ${reader.Resource} ${reader.ReaderConfig?.InputType}`,
    );
  }
  const location = (await evaluateTemplate(reader.Parameters, input, context)) as {
    Bucket?: string;
    Key?: string;
    VersionId?: string;
  };
  let text: string;
  try {
    const object = await driver.s3.send(
      new GetObjectCommand({
        Bucket: location.Bucket,
        Key: location.Key,
        ...(location.VersionId ? { VersionId: location.VersionId } : {}),
      }),
    );
    text = (await object.Body?.transformToString('utf-8')) ?? '';
  } catch (error) {
    const e = error as Error;
    throw statesError(
      'States.ItemReaderFailed',
      `${e.name}: ${e.message} (s3://${location.Bucket}/${location.Key})`,
    );
  }
  let items: unknown;
  try {
    items = JSON.parse(text);
  } catch {
    throw statesError('States.ItemReaderFailed', `s3://${location.Bucket}/${location.Key} is not JSON`);
  }
  if (!Array.isArray(items)) {
    throw statesError(
      'States.ItemReaderFailed',
      `s3://${location.Bucket}/${location.Key} is not a JSON array`,
    );
  }
  return items;
}

interface ResultWriter {
  Resource?: string;
  Parameters?: unknown;
  WriterConfig?: { Transformation?: string; OutputType?: string };
}

/**
 * The ResultWriter's export (docs: input-output-resultwriter): one file per status with every
 * child execution of that status, then `manifest.json` naming them, under
 * `<Prefix>/<map run id>/`. Transformation NONE (the default when exporting) writes each child
 * with its metadata; COMPACT writes a successful child's output alone. A failed child is always
 * written with its metadata. Every child has ended by now, so PENDING lists no file.
 */
async function writeResults(
  driver: MapDriverContext,
  writer: ResultWriter,
  mapRun: MapRunRecord,
  mapRunId: string,
  input: unknown,
  context: Record<string, unknown>,
): Promise<{ MapRunArn: string; ResultWriterDetails: { Bucket: string; Key: string } }> {
  const transformation = writer.WriterConfig?.Transformation ?? 'NONE';
  const outputType = writer.WriterConfig?.OutputType ?? 'JSON';
  if (!/^arn:[a-z-]+:states:::s3:putObject$/.test(writer.Resource ?? '')) {
    throw new Error(`The sandbox writes results with s3:putObject only, not ${writer.Resource}`);
  }
  if (!['NONE', 'COMPACT'].includes(transformation) || outputType !== 'JSON') {
    throw new Error(`The sandbox writes OutputType JSON with Transformation NONE or COMPACT only`);
  }
  const { Bucket, Prefix } = (await evaluateTemplate(writer.Parameters, input, context)) as {
    Bucket: string;
    Prefix?: string;
  };
  const base = `${Prefix ? (Prefix.endsWith('/') ? Prefix : `${Prefix}/`) : ''}${mapRunId}/`;
  const groups: Record<'SUCCEEDED' | 'FAILED' | 'PENDING', ExecutionRecord[]> = {
    SUCCEEDED: [],
    FAILED: [],
    PENDING: [],
  };
  for (const child of mapRun.children) {
    if (!child) continue;
    if (child.status === 'SUCCEEDED') groups.SUCCEEDED.push(child);
    else if (child.status === 'RUNNING') groups.PENDING.push(child);
    else groups.FAILED.push(child);
  }
  const files: Record<string, { Key: string; Size: number }[]> = { FAILED: [], PENDING: [], SUCCEEDED: [] };
  for (const status of ['SUCCEEDED', 'FAILED', 'PENDING'] as const) {
    const children = groups[status];
    if (children.length === 0) continue;
    const entries = children.map((child) =>
      child.status === 'SUCCEEDED' && transformation === 'COMPACT'
        ? JSON.parse(child.output as string)
        : resultEntry(child),
    );
    const body = JSON.stringify(entries);
    const key = `${base}${status}_0.json`;
    await driver.s3.send(
      new PutObjectCommand({ Bucket, Key: key, Body: body, ContentType: 'application/json' }),
    );
    (files[status] as { Key: string; Size: number }[]).push({ Key: key, Size: Buffer.byteLength(body) });
    mapRun.counts.resultsWritten += children.length;
  }
  const manifestKey = `${base}manifest.json`;
  const manifest = { DestinationBucket: Bucket, MapRunArn: mapRun.mapRunArn, ResultFiles: files };
  await driver.s3.send(
    new PutObjectCommand({
      Bucket,
      Key: manifestKey,
      Body: JSON.stringify(manifest),
      ContentType: 'application/json',
    }),
  );
  return { MapRunArn: mapRun.mapRunArn, ResultWriterDetails: { Bucket, Key: manifestKey } };
}

/** A child execution as the ResultWriter exports it with Transformation NONE. */
function resultEntry(child: ExecutionRecord): Record<string, unknown> {
  const succeeded = child.status === 'SUCCEEDED';
  return {
    ExecutionArn: child.executionArn,
    Input: child.input,
    InputDetails: { Included: true },
    Name: child.name,
    ...(succeeded
      ? { Output: child.output, OutputDetails: { Included: true } }
      : {
          ...(child.error === undefined ? {} : { Error: child.error }),
          ...(child.cause === undefined ? {} : { Cause: child.cause }),
        }),
    RedriveCount: 0,
    RedriveStatus: succeeded ? 'NOT_REDRIVABLE' : 'REDRIVABLE_BY_MAP_RUN',
    ...(succeeded ? { RedriveStatusReason: 'Execution is SUCCEEDED and cannot be redriven' } : {}),
    StartDate: child.startDate.toISOString(),
    StateMachineArn: child.stateMachineArn,
    Status: child.status,
    ...(child.stopDate ? { StopDate: child.stopDate.toISOString() } : {}),
  };
}

/** A Step Functions error (`States.*`): its name is what a Retry or Catch on the map matches. */
function statesError(name: string, cause: string): Error {
  const error = new Error(cause);
  error.name = name;
  (error as { cause?: string }).cause = cause;
  return error;
}
