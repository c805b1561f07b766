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
import { defaultAccountId } from '../../sandbox/scenario/default-scenario';
import { useSandbox } from '../support/sandbox';

/**
 * The sandbox's Step Functions, driven by the real SDK client: executions of the stack's state
 * machine run in the sandbox process with the real handlers (here: the test's process, whose
 * environment the sandbox sets to the stack's on the first execution).
 */
const ACCOUNTS = 4;
const WAIT_MS = 50_000;

describe('Step Functions', () => {
  const sandbox = useSandbox({ accounts: ACCOUNTS });
  const sfn = () => new SFNClient(sandbox().clientConfig());
  const machine = () => sandbox().stack.stateMachineArn;
  let onboard: { executionArn: string; done: DescribeExecutionCommandOutput } | undefined;

  /** Starts an onboard of the whole organization once; the tests below read what it left. */
  async function onboardRun() {
    if (!onboard) {
      const input = JSON.stringify({ mode: 'onboard' });
      const started = await sfn().send(
        new StartExecutionCommand({ stateMachineArn: machine(), name: 'onboard-1', input }),
      );
      // The same name and input while it runs: the original execution, not a second one.
      const again = await sfn().send(
        new StartExecutionCommand({ stateMachineArn: machine(), name: 'onboard-1', input }),
      );
      expect(again).toMatchObject({ executionArn: started.executionArn, startDate: started.startDate });
      onboard = { executionArn: started.executionArn!, done: await untilDone(started.executionArn!) };
    }
    return onboard;
  }

  async function untilDone(executionArn: string): Promise<DescribeExecutionCommandOutput> {
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      const out = await sfn().send(new DescribeExecutionCommand({ executionArn }));
      if (out.status !== 'RUNNING' || Date.now() > deadline) return out;
      await sleep(100);
    }
  }

  async function history(executionArn: string): Promise<HistoryEvent[]> {
    const events: HistoryEvent[] = [];
    let nextToken: string | undefined;
    do {
      const page = await sfn().send(
        new GetExecutionHistoryCommand({ executionArn, maxResults: 20, nextToken }),
      );
      events.push(...(page.events ?? []));
      nextToken = page.nextToken;
    } while (nextToken);
    return events;
  }

  it(
    "runs the stack's state machine to the end and fails it with AccountsFailed when an account fails",
    async () => {
      const { executionArn, done } = await onboardRun();

      expect(executionArn).toBe(
        `arn:aws:states:${sandbox().region}:${sandbox().stack.accountId}:execution:casbridge-dev:onboard-1`,
      );
      // Account 3 holds a foreign CloudAppSecurity user: its failure fails the run, after the report.
      expect(done).toMatchObject({
        status: 'FAILED',
        error: 'AccountsFailed',
        stateMachineArn: machine(),
        name: 'onboard-1',
        input: '{"mode":"onboard"}',
      });
      expect(done.stopDate!.getTime()).toBeGreaterThanOrEqual(done.startDate!.getTime());
      expect(JSON.parse(done.cause!)).toMatchObject({ errorType: 'AccountsFailed' });
    },
    WAIT_MS + 10_000,
  );

  it(
    'records the history as Step Functions does: ResolveTargets, EnsureOrganizationTrail, the map run, WriteReport',
    async () => {
      const { executionArn } = await onboardRun();

      const events = await history(executionArn);

      expect(events.map((e) => e.id)).toEqual(events.map((_, i) => i + 1));
      expect(events[0]).toMatchObject({
        type: 'ExecutionStarted',
        previousEventId: 0,
        executionStartedEventDetails: { input: '{"mode":"onboard"}' },
      });
      const entered = events.filter((e) => e.type?.endsWith('StateEntered'));
      expect(entered.map((e) => [e.type, e.stateEnteredEventDetails?.name])).toEqual([
        ['TaskStateEntered', 'ResolveTargets'],
        ['TaskStateEntered', 'EnsureOrganizationTrail'],
        ['MapStateEntered', 'ProcessAccounts'],
        ['TaskStateEntered', 'WriteReport'],
      ]);
      const resolved = events.find(
        (e) => e.type === 'TaskStateExited' && e.stateExitedEventDetails?.name === 'ResolveTargets',
      );
      expect(JSON.parse(resolved!.stateExitedEventDetails!.output!)).toMatchObject({
        run: { mode: 'onboard', runId: expect.any(String) },
        targets: { count: ACCOUNTS },
      });
      expect(events.map((e) => e.type)).toEqual(
        expect.arrayContaining(['LambdaFunctionScheduled', 'MapRunStarted', 'MapRunSucceeded']),
      );
      expect(events.at(-1)).toMatchObject({
        type: 'ExecutionFailed',
        executionFailedEventDetails: { error: 'AccountsFailed' },
      });
      const reversed = await sfn().send(
        new GetExecutionHistoryCommand({ executionArn, reverseOrder: true, maxResults: 1 }),
      );
      expect(reversed.events?.[0]?.id).toBe(events.length);
    },
    WAIT_MS + 10_000,
  );

  it(
    "counts the map run's items: every account processed, none still pending",
    async () => {
      const { executionArn } = await onboardRun();

      const runs = await sfn().send(new ListMapRunsCommand({ executionArn }));
      const mapRunArn = runs.mapRuns?.[0]?.mapRunArn;
      const mapRun = await sfn().send(new DescribeMapRunCommand({ mapRunArn }));

      expect(mapRunArn).toMatch(/:mapRun:casbridge-dev\/Accounts:[0-9a-f-]{36}$/);
      // Each account catches its own failure into its result, so every child execution succeeds.
      expect(mapRun).toMatchObject({
        executionArn,
        status: 'SUCCEEDED',
        toleratedFailurePercentage: 100,
        itemCounts: { pending: 0, running: 0, succeeded: ACCOUNTS, failed: 0, total: ACCOUNTS },
        executionCounts: { succeeded: ACCOUNTS, total: ACCOUNTS, resultsWritten: ACCOUNTS },
      });
      expect(mapRun.startDate).toBeInstanceOf(Date);
    },
    WAIT_MS + 10_000,
  );

  it(
    "lists the map run's child executions, one per account, each described and with its own history",
    async () => {
      const { executionArn } = await onboardRun();
      const mapRunArn = (await sfn().send(new ListMapRunsCommand({ executionArn }))).mapRuns?.[0]?.mapRunArn;

      const children = await sfn().send(new ListExecutionsCommand({ mapRunArn }));
      const failed = await sfn().send(new ListExecutionsCommand({ mapRunArn, statusFilter: 'FAILED' }));
      const paged = await sfn().send(new ListExecutionsCommand({ mapRunArn, maxResults: 3 }));

      expect(children.executions).toHaveLength(ACCOUNTS);
      expect(failed.executions).toEqual([]);
      expect(paged.executions).toHaveLength(3);
      expect(paged.nextToken).toEqual(expect.any(String));
      const prefix = `arn:aws:states:${sandbox().region}:${sandbox().stack.accountId}`;
      for (const child of children.executions ?? []) {
        expect(child).toMatchObject({
          executionArn: expect.stringMatching(/:execution:casbridge-dev\/Accounts:[0-9a-f-]{36}$/),
          stateMachineArn: `${prefix}:stateMachine:casbridge-dev/Accounts`,
          mapRunArn,
          status: 'SUCCEEDED',
        });
      }
      const first = children.executions![0]!;
      const described = await sfn().send(new DescribeExecutionCommand({ executionArn: first.executionArn }));
      expect(described).toMatchObject({ mapRunArn, status: 'SUCCEEDED', name: first.name });
      // Its input is its item: one account of the run's targets.
      expect(JSON.parse(described.input!)).toMatchObject({
        mode: 'onboard',
        account: { accountId: expect.any(String) },
      });
      const events = await history(first.executionArn!);
      expect(events[0]).toMatchObject({
        type: 'ExecutionStarted',
        executionStartedEventDetails: { input: described.input },
      });
      expect(
        events.filter((e) => e.type === 'TaskStateEntered').map((e) => e.stateEnteredEventDetails?.name),
      ).toEqual(expect.arrayContaining(['CheckAccount', 'Access', 'EnsureUser', 'RecordResult']));
      expect(events.at(-1)).toMatchObject({
        type: 'ExecutionSucceeded',
        executionSucceededEventDetails: { output: described.output },
      });
      // The parent's history holds none of the children's states.
      const parent = (await history(executionArn)).map((e) => e.stateEnteredEventDetails?.name);
      expect(parent).not.toContain('CheckAccount');
      // The parent's list names the parent only.
      const parents = await sfn().send(new ListExecutionsCommand({ stateMachineArn: machine() }));
      expect(parents.executions?.map((e) => e.executionArn)).not.toContain(first.executionArn);
      await expect(
        sfn().send(new ListExecutionsCommand({ mapRunArn, stateMachineArn: machine() })),
      ).rejects.toMatchObject({ name: 'ValidationException' });
    },
    WAIT_MS + 10_000,
  );

  it(
    "writes the map's results where WriteReport reads them: the manifest and its SUCCEEDED file under the run's prefix",
    async () => {
      const { executionArn } = await onboardRun();
      const mapRunArn =
        (await sfn().send(new ListMapRunsCommand({ executionArn }))).mapRuns?.[0]?.mapRunArn ?? '';
      const resolved = (await history(executionArn)).find(
        (e) => e.type === 'TaskStateExited' && e.stateExitedEventDetails?.name === 'ResolveTargets',
      );
      const runId = JSON.parse(resolved!.stateExitedEventDetails!.output!).run.runId as string;
      const exited = (await history(executionArn)).find(
        (e) => e.type === 'MapStateExited' && e.stateExitedEventDetails?.name === 'ProcessAccounts',
      );
      const manifestKey = `runs/${runId}/map/${mapRunArn.split(':').at(-1)}/manifest.json`;

      expect(JSON.parse(exited!.stateExitedEventDetails!.output!).results).toEqual({
        MapRunArn: mapRunArn,
        ResultWriterDetails: { Bucket: sandbox().stack.reportsBucket, Key: manifestKey },
      });
      const s3 = new S3Client({ ...sandbox().clientConfig(), forcePathStyle: true });
      const read = async (key: string) =>
        JSON.parse(
          await (
            await s3.send(new GetObjectCommand({ Bucket: sandbox().stack.reportsBucket, Key: key }))
          ).Body!.transformToString(),
        );
      const manifest = await read(manifestKey);
      expect(manifest).toMatchObject({
        DestinationBucket: sandbox().stack.reportsBucket,
        MapRunArn: mapRunArn,
      });
      const children = await read(manifest.ResultFiles.SUCCEEDED[0].Key);
      expect(children).toHaveLength(ACCOUNTS);
      expect(children.map((c: { Status: string }) => c.Status)).toEqual(Array(ACCOUNTS).fill('SUCCEEDED'));
      // The ResultWriter wrote them as the state machine's role.
      const writes = sandbox()
        .world.callLog.list({ service: 's3', operation: 'PutObject' })
        .filter((c) => /casbridge-dev-stateMachine/.test(c.callerArn ?? ''));
      expect(writes.length).toBeGreaterThanOrEqual(2);
    },
    WAIT_MS + 10_000,
  );

  it(
    'lists the executions newest first, filtered by status',
    async () => {
      await onboardRun();
      const second = await sfn().send(
        new StartExecutionCommand({
          stateMachineArn: machine(),
          name: 'reconcile-1',
          input: JSON.stringify({ mode: 'reconcile', accounts: [defaultAccountId(1)] }),
        }),
      );
      await untilDone(second.executionArn!);

      const all = await sfn().send(new ListExecutionsCommand({ stateMachineArn: machine() }));
      const failed = await sfn().send(
        new ListExecutionsCommand({ stateMachineArn: machine(), statusFilter: 'FAILED' }),
      );
      const firstPage = await sfn().send(
        new ListExecutionsCommand({ stateMachineArn: machine(), maxResults: 1 }),
      );

      expect(all.executions?.map((e) => [e.name, e.status])).toEqual([
        ['reconcile-1', 'SUCCEEDED'],
        ['onboard-1', 'FAILED'],
      ]);
      expect(failed.executions?.map((e) => e.name)).toEqual(['onboard-1']);
      expect(firstPage.executions).toHaveLength(1);
      expect(firstPage.nextToken).toEqual(expect.any(String));
    },
    WAIT_MS + 10_000,
  );

  it(
    'refuses to reuse the name of a finished execution with ExecutionAlreadyExists',
    async () => {
      await onboardRun();

      await expect(
        sfn().send(
          new StartExecutionCommand({
            stateMachineArn: machine(),
            name: 'onboard-1',
            input: JSON.stringify({ mode: 'onboard' }),
          }),
        ),
      ).rejects.toMatchObject({ name: 'ExecutionAlreadyExists', $metadata: { httpStatusCode: 400 } });
    },
    WAIT_MS + 10_000,
  );

  it('answers a state machine that is not deployed with StateMachineDoesNotExist', async () => {
    const missing = machine().replace(/casbridge-dev$/, 'casbridge-prod');

    await expect(
      sfn().send(new StartExecutionCommand({ stateMachineArn: missing, input: '{}' })),
    ).rejects.toMatchObject({ name: 'StateMachineDoesNotExist', message: expect.stringContaining(missing) });
  });

  it('refuses an input that is not JSON with InvalidExecutionInput, and an unknown execution', async () => {
    await expect(
      sfn().send(new StartExecutionCommand({ stateMachineArn: machine(), input: '{mode: onboard' })),
    ).rejects.toMatchObject({ name: 'InvalidExecutionInput' });
    const unknown = `${machine().replace(':stateMachine:', ':execution:')}:no-such-run`;
    await expect(sfn().send(new DescribeExecutionCommand({ executionArn: unknown }))).rejects.toMatchObject({
      name: 'ExecutionDoesNotExist',
    });
  });

  it('fails an execution whose input names a key twice with InvalidRunInput naming the key, before any state runs', async () => {
    const world = sandbox().world;
    const mark = world.callLog.mark();
    const started = await sfn().send(
      new StartExecutionCommand({
        stateMachineArn: machine(),
        name: 'duplicate-mode',
        input: '{"mode":"onboard","mode":"offboard"}',
      }),
    );
    const done = await untilDone(started.executionArn!);

    expect(done).toMatchObject({ status: 'FAILED', error: 'InvalidRunInput' });
    expect(JSON.parse(done.cause ?? '{}')).toMatchObject({
      errorType: 'InvalidRunInput',
      errorMessage: expect.stringContaining("duplicate key 'mode'"),
    });
    const types = (await history(started.executionArn!)).map((e) => e.type);
    expect(types).toEqual(['ExecutionStarted', 'ExecutionFailed']);
    // Neither an offboard nor an onboard: no call reached any service.
    expect(world.callLog.list({ sinceSeq: mark }).filter((c) => c.service !== 'states')).toEqual([]);
  });
});
