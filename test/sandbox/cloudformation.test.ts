import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { defaultAccountId } from '../../sandbox/scenario/default-scenario';
import { memberRoleCredentials, useSandbox } from '../support/sandbox';

describe('CloudFormation', () => {
  const sandbox = useSandbox({ accounts: 2 });

  it("describes the casbridge stack with serverless.yml's outputs, resolved as deployed", async () => {
    const { stack } = sandbox();
    const cloudformation = new CloudFormationClient(sandbox().clientConfig());
    const { Stacks } = await cloudformation.send(new DescribeStacksCommand({ StackName: 'casbridge-dev' }));
    expect(Stacks).toHaveLength(1);
    const described = Stacks?.[0];
    expect(described?.StackId).toMatch(
      new RegExp(`^arn:aws:cloudformation:${stack.region}:${stack.accountId}:stack/casbridge-dev/`),
    );
    expect(Object.fromEntries((described?.Outputs ?? []).map((o) => [o.OutputKey, o.OutputValue]))).toEqual({
      StateMachineArn: stack.stateMachineArn,
      ReportsBucket: stack.reportsBucket,
      LogBucket: stack.logBucket,
      LedgerTable: stack.ledgerTable,
      TopicArn: stack.topicArn,
      SecretsKeyArn: stack.secretsKmsKeyArn,
      ExternalId: stack.externalId,
      MemberRoleName: 'CasBridgeExecutionRole',
      Stage: 'dev',
      Region: stack.region,
      Partition: 'aws',
    });
    // By its stack id too, as CloudFormation takes either.
    const byId = await cloudformation.send(new DescribeStacksCommand({ StackName: described?.StackId }));
    expect(byId.Stacks?.[0]?.StackName).toBe('casbridge-dev');
  });

  it('answers a stack it does not have as CloudFormation does, and refuses a caller not allowed to describe stacks', async () => {
    const unknown = new DescribeStacksCommand({ StackName: 'casbridge-prod' });
    await expect(new CloudFormationClient(sandbox().clientConfig()).send(unknown)).rejects.toMatchObject({
      name: 'ValidationError',
      message: 'Stack with id casbridge-prod does not exist',
    });
    const member = new CloudFormationClient(
      sandbox().clientConfig(await memberRoleCredentials(sandbox(), defaultAccountId(1))),
    );
    await expect(
      member.send(new DescribeStacksCommand({ StackName: 'casbridge-dev' })),
    ).rejects.toMatchObject({
      name: 'AccessDenied',
    });
  });
});
