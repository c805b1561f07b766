import { GetRolePolicyCommand, IAMClient, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import {
  DescribeExecutionCommand,
  DescribeMapRunCommand,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  ListMapRunsCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { stepFunctionsState } from '../../sandbox/services/step-functions/executions';
import { useSandbox } from '../support/sandbox';

/**
 * The state machine role's grants, judged by the sandbox's IAM as Step Functions' are on AWS:
 * its own file, as one process runs executions for one sandbox (docs/sandbox.md).
 */
describe("Step Functions without the state machine role's StartExecution grant", () => {
  const sandbox = useSandbox({ accounts: 2 });

  it('fails the map run as the role may not start the child executions, and starts none', async () => {
    const iam = new IAMClient(sandbox().clientConfig());
    const RoleName = 'casbridge-dev-stateMachine';
    const current = await iam.send(new GetRolePolicyCommand({ RoleName, PolicyName: 'state-machine' }));
    const document = JSON.parse(decodeURIComponent(current.PolicyDocument ?? '')) as {
      Statement: { Sid?: string }[];
    };
    document.Statement = document.Statement.filter((s) => s.Sid !== 'StartChildExecutions');
    await iam.send(
      new PutRolePolicyCommand({
        RoleName,
        PolicyName: 'state-machine',
        PolicyDocument: JSON.stringify(document),
      }),
    );
    const sfn = new SFNClient(sandbox().clientConfig());

    const { executionArn } = await sfn.send(
      new StartExecutionCommand({
        stateMachineArn: sandbox().stack.stateMachineArn,
        name: 'no-grant',
        input: JSON.stringify({ mode: 'onboard' }),
      }),
    );
    await stepFunctionsState(sandbox().world).executions.get(executionArn ?? '')?.finished;

    const done = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    expect(done).toMatchObject({ status: 'FAILED', error: 'States.Runtime' });
    expect(done.cause).toMatch(
      /casbridge-dev-stateMachine.*not authorized to perform: states:StartExecution/,
    );
    const mapRunArn = (await sfn.send(new ListMapRunsCommand({ executionArn }))).mapRuns?.[0]?.mapRunArn;
    const mapRun = await sfn.send(new DescribeMapRunCommand({ mapRunArn }));
    expect(mapRun).toMatchObject({ status: 'FAILED', itemCounts: { total: 2, pending: 2, running: 0 } });
    expect((await sfn.send(new ListExecutionsCommand({ mapRunArn }))).executions).toEqual([]);
    const types = (await sfn.send(new GetExecutionHistoryCommand({ executionArn }))).events?.map(
      (e) => e.type,
    );
    expect(types?.slice(-2)).toEqual(['MapRunFailed', 'ExecutionFailed']);
  });
});
