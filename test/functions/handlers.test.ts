import type { Context } from 'aws-lambda';
import { lambdaFunctionName, SANDBOX_STAGE } from '../../commons/stack-resources';
import type { TaskInput } from '../../commons/task-input';
import { handler as recordHandler } from '../../functions/record-result/handler';
import { defaultAccountId } from '../../sandbox/scenario/default-scenario';
import { captureOutput } from '../support/capture-output';
import { lambdaContext } from '../support/lambda-context';
import { setLambdaEnvironment } from '../support/lambda-env';
import { useSandbox } from '../support/sandbox';

type Handler = (event: unknown, context: Context) => Promise<TaskInput>;

/** A handler's Lambda context names its function: each runs as that function's role. */
const contextOf = (functionKey: string) => lambdaContext(lambdaFunctionName(SANDBOX_STAGE, functionKey));

describe('the task handlers', () => {
  const sandbox = useSandbox({ accounts: 40 });
  let pipeline: { name: string; handler: Handler }[];
  let logs: string[];

  beforeAll(async () => {
    await setLambdaEnvironment(sandbox());
    const load = async (name: string, path: string) => ({
      name,
      handler: (await import(path)).handler as Handler,
    });
    pipeline = [
      await load('access', '../../functions/access/handler'),
      await load('user', '../../functions/user/handler'),
      await load('policy', '../../functions/policy/handler'),
      await load('accessKey', '../../functions/access-key/handler'),
      await load('trail', '../../functions/trail/handler'),
    ];
  });

  beforeEach(() => {
    logs = captureOutput();
  });

  afterEach(() => jest.restoreAllMocks());

  function input(index: number, runId = 'run-1'): TaskInput {
    const account = sandbox().world.organization.accounts.get(defaultAccountId(index))!;
    return {
      runId,
      execution: `execution-of-${runId}`,
      mode: 'onboard',
      dryRun: false,
      account: {
        accountId: account.id,
        name: account.name,
        ou: 'Workloads/Prod',
        state: account.state,
        joinedMethod: account.joinedMethod,
      },
      steps: {},
    };
  }

  async function runPipeline(event: TaskInput): Promise<TaskInput> {
    let state = event;
    for (const step of pipeline) state = await step.handler(state, contextOf(step.name));
    return state;
  }

  it('bring a fresh account to the desired state, each adding its result to the account', async () => {
    const out = await runPipeline(input(1));
    expect(Object.fromEntries(Object.entries(out.steps).map(([k, v]) => [k, v.action]))).toEqual({
      access: 'unchanged',
      user: 'created',
      policy: 'created',
      accessKey: 'created',
      trail: 'created',
    });
    expect(JSON.stringify(out).length).toBeLessThan(4096);
  });

  it('log one JSON line per step with the run id, account id and step', async () => {
    await runPipeline(input(2, 'run-logs'));
    const lines = logs
      .flatMap((l) => l.split('\n'))
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const finished = lines.filter((l) => l.message === 'step finished');
    expect(finished.map((l) => l.step)).toEqual(['access', 'user', 'policy', 'accessKey', 'trail']);
    for (const line of finished)
      expect(line).toMatchObject({ runId: 'run-logs', accountId: defaultAccountId(2), service: 'casbridge' });
  });

  it('reject a malformed task input with InvalidTaskInput, touching nothing', async () => {
    const mark = sandbox().world.callLog.mark();
    await expect(
      pipeline[1]!.handler({ ...input(5), account: { accountId: 'not-an-id' } }, contextOf('user')),
    ).rejects.toMatchObject({
      name: 'InvalidTaskInput',
      message: expect.stringContaining('account'),
    });
    expect(sandbox().world.callLog.list({ sinceSeq: mark })).toEqual([]);
  });

  it('throw errors by name for the state machine, and log them by name', async () => {
    await expect(pipeline[0]!.handler(input(7), contextOf('access'))).rejects.toMatchObject({
      name: 'RoleMissing',
    });
    expect(logs.join('')).toContain('"errorName":"RoleMissing"');
  });

  it('turn an AWS error a task let through raw into the retryable name of casbridge', async () => {
    // The ledger write is throttled past the SDK's own attempts.
    sandbox().world.faults.inject(sandbox().stack.accountId, {
      service: 'dynamodb',
      operation: 'UpdateItem',
      code: 'ThrottlingException',
      remaining: 5,
    });
    await expect(recordHandler(input(10), contextOf('recordResult'))).rejects.toMatchObject({
      name: 'TransientAwsError',
      retryable: true,
      step: 'record',
    });
    sandbox().world.faults.forAccount(sandbox().stack.accountId).injectedErrors = [];
  });

  it('ride out a burst of throttled AssumeRoles within the SDK attempts, as a fan-out meets STS at its start', async () => {
    // Three throttles in a row: past the SDK's default three attempts, within the six STS gets.
    sandbox().world.faults.inject(sandbox().stack.accountId, {
      service: 'sts',
      operation: 'AssumeRole',
      code: 'Throttling',
      remaining: 3,
    });
    const mark = sandbox().world.callLog.mark();
    const out = await pipeline[0]!.handler(input(12, 'run-throttled'), contextOf('access'));
    expect(out.steps.access).toMatchObject({ action: 'unchanged' });
    expect(
      sandbox()
        .world.callLog.list({ sinceSeq: mark, operation: 'AssumeRole' })
        .map((c) => c.errorCode ?? 'ok'),
    ).toEqual(['Throttling', 'Throttling', 'Throttling', 'ok']);
  });

  it('turn an AWS error casbridge does not classify into TaskFailed naming it, never a raw SDK name', async () => {
    // A ledger write refused with an error no domain module expects: the execution's history and
    // the Catch see casbridge's name, and the original leads the message.
    sandbox().world.faults.inject(sandbox().stack.accountId, {
      service: 'dynamodb',
      operation: 'UpdateItem',
      code: 'ItemCollectionSizeLimitExceededException',
      remaining: 1,
    });
    await expect(recordHandler(input(11), contextOf('recordResult'))).rejects.toMatchObject({
      name: 'TaskFailed',
      retryable: false,
      step: 'record',
      message: expect.stringMatching(/^ItemCollectionSizeLimitExceededException/),
      remediation: expect.stringContaining('ItemCollectionSizeLimitExceededException'),
    });
    sandbox().world.faults.forAccount(sandbox().stack.accountId).injectedErrors = [];
  });
});
