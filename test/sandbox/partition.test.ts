import { setTimeout as sleep } from 'node:timers/promises';
import { CloudTrailClient, LookupEventsCommand } from '@aws-sdk/client-cloudtrail';
import { CreatePolicyCommand, IAMClient, ListPoliciesCommand } from '@aws-sdk/client-iam';
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  ListMapRunsCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { useSandbox } from '../support/sandbox';

describe('the sandbox in AWS GovCloud (US)', () => {
  const sandbox = useSandbox({
    scenario: { region: 'us-gov-west-1', accounts: [{ id: '310000000001', name: 'gov-member' }] },
  });

  it('names every principal and AWS managed policy in aws-us-gov', async () => {
    const identity = await new STSClient(sandbox().clientConfig()).send(new GetCallerIdentityCommand({}));
    expect(identity.Arn).toBe(`arn:aws-us-gov:iam::${sandbox().stack.accountId}:user/Admin`);
    const managed = await new IAMClient(sandbox().clientConfig()).send(
      new ListPoliciesCommand({ Scope: 'AWS' }),
    );
    expect(managed.Policies?.map((p) => p.Arn)).toContain('arn:aws-us-gov:iam::aws:policy/ReadOnlyAccess');
    expect(sandbox().stack.stateMachineArn).toMatch(/^arn:aws-us-gov:states:us-gov-west-1:/);
  });

  it('assumes a role by its aws-us-gov ARN and refuses the commercial-partition one', async () => {
    const sts = new STSClient(sandbox().clientConfig());
    const role = (partition: string) =>
      sts.send(
        new AssumeRoleCommand({
          RoleArn: `arn:${partition}:iam::310000000001:role/OrganizationAccountAccessRole`,
          RoleSessionName: 'partition-check',
        }),
      );
    expect((await role('aws-us-gov')).AssumedRoleUser?.Arn).toBe(
      'arn:aws-us-gov:sts::310000000001:assumed-role/OrganizationAccountAccessRole/partition-check',
    );
    await expect(role('aws')).rejects.toMatchObject({ name: 'AccessDenied' });
  });

  it('refuses a policy whose resource names another partition, as IAM does', async () => {
    const iam = new IAMClient(sandbox().clientConfig());
    const policy = (resource: string) =>
      iam.send(
        new CreatePolicyCommand({
          PolicyName: `logs-${resource.split(':')[1]}`,
          PolicyDocument: JSON.stringify({
            Version: '2012-10-17',
            Statement: [{ Effect: 'Allow', Action: 'logs:PutLogEvents', Resource: resource }],
          }),
        }),
      );
    await expect(policy('arn:aws:logs:*:*:*')).rejects.toMatchObject({
      name: 'MalformedPolicyDocumentException',
      message: 'Partition "aws" is not valid for resource "arn:aws:logs:*:*:*".',
    });
    expect((await policy('arn:aws-us-gov:logs:*:*:*')).Policy?.Arn).toBe(
      `arn:aws-us-gov:iam::${sandbox().stack.accountId}:policy/logs-aws-us-gov`,
    );
    // IAM is global: GovCloud's trails see its events in us-gov-west-1, not in us-east-1.
    const history = await new CloudTrailClient(sandbox().clientConfig()).send(
      new LookupEventsCommand({
        LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'CreatePolicy' }],
      }),
    );
    // The refused call and the created policy, newest first, as CloudTrail records both.
    expect(
      history.Events?.map((e) => {
        const event = JSON.parse(e.CloudTrailEvent ?? '{}');
        return [event.userIdentity.arn, event.errorCode];
      }),
    ).toEqual([
      [`arn:aws-us-gov:iam::${sandbox().stack.accountId}:user/Admin`, undefined],
      [`arn:aws-us-gov:iam::${sandbox().stack.accountId}:user/Admin`, 'MalformedPolicyDocument'],
    ]);
  });

  it('runs the stack’s state machine with execution, map run and task ARNs in aws-us-gov', async () => {
    const sfn = new SFNClient(sandbox().clientConfig());
    const { executionArn } = await sfn.send(
      new StartExecutionCommand({
        stateMachineArn: sandbox().stack.stateMachineArn,
        input: '{"mode":"onboard"}',
      }),
    );
    expect(executionArn).toMatch(/^arn:aws-us-gov:states:us-gov-west-1:\d{12}:execution:casbridge-dev:/);
    const deadline = Date.now() + 50_000;
    let status = 'RUNNING';
    while (status === 'RUNNING' && Date.now() < deadline) {
      status = (await sfn.send(new DescribeExecutionCommand({ executionArn }))).status ?? 'UNKNOWN';
      if (status === 'RUNNING') await sleep(100);
    }
    expect(status).toBe('SUCCEEDED');
    const mapRuns = await sfn.send(new ListMapRunsCommand({ executionArn }));
    expect(mapRuns.mapRuns?.[0]?.mapRunArn).toMatch(/^arn:aws-us-gov:states:us-gov-west-1:/);
    const history = await sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1000 }));
    const text = JSON.stringify(history.events);
    expect(text).toContain('arn:aws-us-gov:lambda:us-gov-west-1:');
    expect(text).not.toContain('arn:aws:');
  });
});
