import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { RunReport } from '../../commons/run';
import { defaultAccountId } from '../../sandbox/scenario/default-scenario';
import { stateMachineSession } from '../../sandbox/services/step-functions/executions';
import type { Definition } from '../../statemachine/local/definition';
import { runLocal } from '../../statemachine/local/run-local';
import { setLambdaEnvironment } from '../support/lambda-env';
import { runStateMachine } from '../support/local-run';
import { useSandbox } from '../support/sandbox';

/**
 * The Distributed Map driver (statemachine/local/distributed-map.ts) on machines of the test's
 * own, whose children are Choice, Pass and Fail states: items read from S3 and results written
 * to S3 as the stack's state machine role, so IAM judges both as it would on AWS.
 */
describe('the Distributed Map, run natively', () => {
  const sandbox = useSandbox({ accounts: 13 });
  const s3 = () => new S3Client({ ...sandbox().clientConfig(), forcePathStyle: true });
  const bucket = () => sandbox().stack.reportsBucket;
  let runs = 0;

  beforeAll(async () => {
    setLambdaEnvironment(sandbox());
  });

  /** A parent of one Distributed Map over `runs/<id>/items.json`, its children failing an item with `fail`. */
  function machine(map: Record<string, unknown> = {}): Definition {
    return {
      StartAt: 'Fan',
      States: {
        Fan: {
          Type: 'Map',
          Label: 'Items',
          ItemReader: {
            Resource: 'arn:aws:states:::s3:getObject',
            ReaderConfig: { InputType: 'JSON' },
            Parameters: { 'Bucket.$': '$.bucket', 'Key.$': '$.key' },
          },
          ItemProcessor: {
            ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' },
            StartAt: 'Check',
            States: {
              Check: {
                Type: 'Choice',
                Choices: [
                  {
                    And: [
                      { Variable: '$.fail', IsPresent: true },
                      { Variable: '$.fail', BooleanEquals: true },
                    ],
                    Next: 'Refuse',
                  },
                ],
                Default: 'Echo',
              },
              Refuse: { Type: 'Fail', Error: 'ItemRefused', Cause: 'the item asked to fail' },
              Echo: {
                Type: 'Pass',
                Parameters: { 'item.$': '$.n', 'execution.$': '$$.Execution.Id' },
                End: true,
              },
            },
          },
          ResultWriter: {
            Resource: 'arn:aws:states:::s3:putObject',
            Parameters: { 'Bucket.$': '$.bucket', 'Prefix.$': "States.Format('runs/{}/map', $.id)" },
          },
          ResultPath: '$.results',
          End: true,
          ...map,
        },
      },
    } as Definition;
  }

  async function run(items: unknown[], map: Record<string, unknown> = {}, key?: string) {
    const id = `map-test-${++runs}`;
    const itemsKey = key ?? `runs/${id}/items.json`;
    await s3().send(new PutObjectCommand({ Bucket: bucket(), Key: itemsKey, Body: JSON.stringify(items) }));
    const session = await stateMachineSession(sandbox().world);
    const concurrency = { now: 0, peak: 0 };
    const execution = await runLocal(
      { id, bucket: bucket(), key: itemsKey, maxConcurrency: 3 },
      {
        definition: machine(map),
        executionName: id,
        region: sandbox().region,
        stateMachineArn: sandbox().stack.stateMachineArn,
        keepHistories: true,
        stateMachineCredentials: {
          accessKeyId: session.accessKeyId,
          secretAccessKey: session.secretAccessKey,
          sessionToken: session.sessionToken as string,
        },
        onEvent: (event) => {
          if (event.type === 'MapIterationStarted')
            concurrency.peak = Math.max(concurrency.peak, ++concurrency.now);
          if (event.type === 'MapIterationSucceeded' || event.type === 'MapIterationFailed')
            concurrency.now--;
        },
      },
    );
    return { id, execution, concurrency };
  }

  async function json(key: string): Promise<unknown> {
    const object = await s3().send(new GetObjectCommand({ Bucket: bucket(), Key: key }));
    return JSON.parse(await object.Body!.transformToString());
  }

  const items = (n: number, failing: number[] = []) =>
    Array.from({ length: n }, (_, i) => ({ n: i, ...(failing.includes(i) ? { fail: true } : {}) }));

  it('runs one child execution per item, each with its own ARN and $$.Execution, never more at once than MaxConcurrencyPath allows', async () => {
    const { execution, concurrency } = await run(items(10), { MaxConcurrencyPath: '$.maxConcurrency' });

    expect(execution.status).toBe('SUCCEEDED');
    const [mapRun] = execution.mapRuns;
    expect(mapRun).toMatchObject({
      maxConcurrency: 3,
      status: 'SUCCEEDED',
      counts: { total: 10, succeeded: 10, failed: 0, pending: 0, running: 0, resultsWritten: 10 },
    });
    expect(concurrency.peak).toBeLessThanOrEqual(3);
    expect(concurrency.peak).toBeGreaterThan(1);
    const arns = mapRun!.children.map((child) => child.executionArn);
    expect(new Set(arns).size).toBe(10);
    for (const child of mapRun!.children) {
      expect(child.executionArn).toMatch(/:execution:casbridge-dev\/Items:[0-9a-f-]{36}$/);
      expect(child.stateMachineArn).toMatch(/:stateMachine:casbridge-dev\/Items$/);
      // The child's own context object: its execution id is its ARN, not the parent's.
      expect(JSON.parse(child.output!)).toEqual({
        item: JSON.parse(child.input).n,
        execution: child.executionArn,
      });
      expect(child.history.map((e) => e.type)).toEqual([
        'ExecutionStarted',
        'ChoiceStateEntered',
        'ChoiceStateExited',
        'PassStateEntered',
        'PassStateExited',
        'ExecutionSucceeded',
      ]);
    }
    expect(execution.record.history.map((e) => e.type)).toEqual([
      'ExecutionStarted',
      'MapStateEntered',
      'MapRunStarted',
      'MapRunSucceeded',
      'MapStateExited',
      'ExecutionSucceeded',
    ]);
  });

  it('writes the ResultWriter files and a manifest naming them, and hands on only where they are', async () => {
    const { id, execution } = await run(items(5, [1, 3]), { ToleratedFailureCount: 2 });

    expect(execution.status).toBe('SUCCEEDED');
    const [mapRun] = execution.mapRuns;
    const mapRunId = mapRun!.mapRunArn.split(':').at(-1);
    const manifestKey = `runs/${id}/map/${mapRunId}/manifest.json`;
    expect((execution.output as { results: unknown }).results).toEqual({
      MapRunArn: mapRun!.mapRunArn,
      ResultWriterDetails: { Bucket: bucket(), Key: manifestKey },
    });
    const manifest = (await json(manifestKey)) as {
      ResultFiles: Record<string, { Key: string; Size: number }[]>;
    };
    expect(manifest).toEqual({
      DestinationBucket: bucket(),
      MapRunArn: mapRun!.mapRunArn,
      ResultFiles: {
        SUCCEEDED: [{ Key: `runs/${id}/map/${mapRunId}/SUCCEEDED_0.json`, Size: expect.any(Number) }],
        FAILED: [{ Key: `runs/${id}/map/${mapRunId}/FAILED_0.json`, Size: expect.any(Number) }],
        PENDING: [],
      },
    });
    const succeeded = (await json(manifest.ResultFiles.SUCCEEDED![0]!.Key)) as Record<string, unknown>[];
    const failed = (await json(manifest.ResultFiles.FAILED![0]!.Key)) as Record<string, unknown>[];
    expect(succeeded.map((e) => JSON.parse(e.Input as string).n)).toEqual([0, 2, 4]);
    expect(succeeded[0]).toEqual({
      ExecutionArn: mapRun!.children[0]!.executionArn,
      Input: '{"n":0}',
      InputDetails: { Included: true },
      Name: mapRun!.children[0]!.name,
      Output: JSON.stringify({ item: 0, execution: mapRun!.children[0]!.executionArn }),
      OutputDetails: { Included: true },
      RedriveCount: 0,
      RedriveStatus: 'NOT_REDRIVABLE',
      RedriveStatusReason: 'Execution is SUCCEEDED and cannot be redriven',
      StartDate: expect.any(String),
      StateMachineArn: mapRun!.stateMachineArn,
      Status: 'SUCCEEDED',
      StopDate: expect.any(String),
    });
    expect(failed.map((e) => [JSON.parse(e.Input as string).n, e.Status, e.Error, e.Cause])).toEqual([
      [1, 'FAILED', 'ItemRefused', 'the item asked to fail'],
      [3, 'FAILED', 'ItemRefused', 'the item asked to fail'],
    ]);
    expect(failed[0]).not.toHaveProperty('Output');
    expect(manifest.ResultFiles.FAILED![0]!.Size).toBe(Buffer.byteLength(JSON.stringify(failed)));
  });

  it('fails the map with States.ExceedToleratedFailureThreshold once more children failed than tolerated, starting no more', async () => {
    const { execution } = await run(items(10, [1, 3, 5, 7]), {
      ToleratedFailurePercentage: 20,
      MaxConcurrency: 1,
    });

    expect(execution).toMatchObject({ status: 'FAILED', error: 'States.ExceedToleratedFailureThreshold' });
    const [mapRun] = execution.mapRuns;
    // 2 of 10 is 20 %, tolerated; the third failure (item 5) exceeds it, and item 6 never starts.
    expect(mapRun).toMatchObject({
      status: 'FAILED',
      toleratedFailurePercentage: 20,
      counts: { total: 10, succeeded: 3, failed: 3, pending: 4, running: 0 },
    });
    expect(mapRun!.children.filter(Boolean)).toHaveLength(6);
    expect(execution.record.history.map((e) => e.type)).toEqual([
      'ExecutionStarted',
      'MapStateEntered',
      'MapRunStarted',
      'MapRunFailed',
      'ExecutionFailed',
    ]);
    expect(execution.record.history[3]).toMatchObject({
      mapRunFailedEventDetails: { error: 'States.ExceedToleratedFailureThreshold' },
    });
  });

  it('fails the map with States.Runtime, starting no map run, when its MaxConcurrencyPath points at nothing', async () => {
    const { execution } = await run(items(2), { MaxConcurrencyPath: '$.nowhere' });

    expect(execution).toMatchObject({ status: 'FAILED', error: 'States.Runtime' });
    expect(execution.cause).toContain('$.nowhere');
    expect(execution.mapRuns).toEqual([]);
    expect(execution.record.history.map((e) => e.type)).toEqual([
      'ExecutionStarted',
      'MapStateEntered',
      'MapStateFailed',
      'ExecutionFailed',
    ]);
  });

  it('fails the map with States.ItemReaderFailed when the state machine role may not read the items', async () => {
    // The role reads and writes under runs/ only (serverless.yml MapItemsAndResults).
    const { execution } = await run(items(2), {}, 'elsewhere/items.json');

    expect(execution).toMatchObject({ status: 'FAILED', error: 'States.ItemReaderFailed' });
    expect(execution.cause).toMatch(/AccessDenied.*casbridge-dev-stateMachine.*s3:GetObject/);
    expect(execution.mapRuns[0]).toMatchObject({ status: 'FAILED', counts: { total: 0 } });
  });

  it("reports an account whose child execution failed beyond the pipeline's Catch, from the ResultWriter's FAILED file", async () => {
    const id = defaultAccountId(1);
    // Every ledger write refused: the access claim fails into RecordResult (its Catch), and
    // RecordResult, which has no Catch, fails the account's child execution with the same error.
    sandbox().world.faults.inject(sandbox().stack.accountId, {
      service: 'dynamodb',
      operation: 'UpdateItem',
      code: 'ValidationException',
      status: 400,
      remaining: 2,
    });

    const outcome = await runStateMachine(sandbox(), { mode: 'onboard', accounts: [id] });

    const [mapRun] = outcome.execution.mapRuns;
    expect(mapRun!.counts).toMatchObject({ total: 1, failed: 1, succeeded: 0 });
    const child = mapRun!.children[0]!;
    // The record task's own error, as Lambda hands a thrown error to Step Functions.
    expect(child).toMatchObject({ status: 'FAILED', error: 'TaskFailed' });
    expect(child.cause).toContain('ValidationException');
    const report = outcome.report as RunReport;
    expect(report.summary.byOutcome.FAILED).toBe(1);
    expect(report.accounts.find((a) => a.accountId === id)).toMatchObject({
      outcome: 'FAILED',
      error: { name: 'TaskFailed', message: expect.stringContaining('ValidationException') },
    });
    expect(outcome.execution).toMatchObject({ status: 'FAILED', error: 'AccountsFailed' });
  });

  it('reports the same organization the same whether its map runs natively or inline', async () => {
    // A dry run changes nothing, so both runs meet the same organization, every kind of fault in it.
    const native = await runStateMachine(sandbox(), { mode: 'onboard', dryRun: true });
    const inline = await runStateMachine(
      sandbox(),
      { mode: 'onboard', dryRun: true },
      { distributedMap: 'inline' },
    );

    const lines = (report: RunReport) =>
      report.accounts
        .map((a) => ({
          accountId: a.accountId,
          outcome: a.outcome,
          changed: a.changed,
          connector: a.connector,
          error: a.error?.name,
          skip: a.skipReason,
          steps: Object.fromEntries(Object.entries(a.steps).map(([step, r]) => [step, r?.action])),
        }))
        .sort((a, b) => a.accountId.localeCompare(b.accountId));
    expect(native.execution.mapRuns).toHaveLength(1);
    expect(inline.execution.mapRuns).toHaveLength(0);
    expect(lines(native.report as RunReport)).toEqual(lines(inline.report as RunReport));
    expect(native.report?.summary).toEqual(inline.report?.summary);
    expect(new Set(lines(native.report as RunReport).map((l) => l.outcome))).toEqual(
      new Set(['SUCCEEDED', 'FAILED', 'SKIPPED']),
    );
  });
});
