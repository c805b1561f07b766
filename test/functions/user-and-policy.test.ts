import {
  CreatePolicyVersionCommand,
  DetachUserPolicyCommand,
  GetPolicyCommand,
  GetPolicyVersionCommand,
  IAMClient,
  ListPolicyVersionsCommand,
} from '@aws-sdk/client-iam';
import { connectorPolicyArn } from '../../commons/config';
import { ensurePolicy } from '../../functions/policy/ensure-policy';
import { ensureUser } from '../../functions/user/ensure-user';
import { defaultAccountId } from '../../sandbox/scenario/default-scenario';
import { memberAccountClients } from '../support/member';
import { sandboxConfig } from '../support/product';
import { assumeRole, useSandbox } from '../support/sandbox';

describe('the user and policy steps', () => {
  const sandbox = useSandbox({ accounts: 40 });
  const config = () => sandboxConfig(sandbox());

  it('create the tagged user and the attached policy in a fresh account, then change nothing on a re-run', async () => {
    const accountId = defaultAccountId(1);
    const { iam } = await memberAccountClients(sandbox(), config(), accountId, 'policy');
    expect(await ensureUser(iam, config(), accountId, { dryRun: false })).toMatchObject({
      action: 'created',
    });
    expect(await ensurePolicy(iam, config(), accountId, { dryRun: false })).toMatchObject({
      action: 'created',
    });
    const mark = sandbox().world.callLog.mark();
    expect(await ensureUser(iam, config(), accountId, { dryRun: false })).toMatchObject({
      action: 'unchanged',
    });
    expect(await ensurePolicy(iam, config(), accountId, { dryRun: false })).toMatchObject({
      action: 'unchanged',
    });
    const calls = sandbox().world.callLog.list({ sinceSeq: mark, account: accountId });
    expect(calls.filter((c) => !c.readOnly)).toEqual([]);
  });

  it('plan the same in a dry run and change nothing', async () => {
    const accountId = defaultAccountId(2);
    const { iam } = await memberAccountClients(sandbox(), config(), accountId, 'policy');
    const mark = sandbox().world.callLog.mark();
    expect(await ensureUser(iam, config(), accountId, { dryRun: true })).toMatchObject({
      action: 'created',
      reason: 'dry-run',
    });
    expect(await ensurePolicy(iam, config(), accountId, { dryRun: true })).toMatchObject({
      action: 'created',
      reason: 'dry-run',
    });
    expect(
      sandbox()
        .world.callLog.list({ sinceSeq: mark, account: accountId })
        .filter((c) => !c.readOnly),
    ).toEqual([]);
  });

  it('refuse a same-named user that is not ours', async () => {
    const accountId = defaultAccountId(3);
    const { iam } = await memberAccountClients(sandbox(), config(), accountId, 'policy');
    await expect(ensureUser(iam, config(), accountId, { dryRun: false })).rejects.toMatchObject({
      name: 'ForeignUserConflict',
      step: 'user',
    });
  });

  it('repair a drifted policy when five versions exist, deleting the oldest non-default one', async () => {
    const accountId = defaultAccountId(17);
    const { iam } = await memberAccountClients(sandbox(), config(), accountId, 'policy');
    await ensureUser(iam, config(), accountId, { dryRun: false });
    const result = await ensurePolicy(iam, config(), accountId, { dryRun: false });
    expect(result).toMatchObject({ action: 'updated', details: { reason: 'document-drift' } });
    const arn = connectorPolicyArn(config(), accountId);
    const versions = (await iam.send(new ListPolicyVersionsCommand({ PolicyArn: arn }))).Versions ?? [];
    expect(versions.map((v) => v.VersionId).sort()).toEqual(['v2', 'v3', 'v4', 'v5', 'v6']);
    expect(await ensurePolicy(iam, config(), accountId, { dryRun: false })).toMatchObject({
      action: 'unchanged',
    });
  });

  it('repair an edited document and a detached policy, a recorded version notwithstanding', async () => {
    const accountId = defaultAccountId(4);
    const { iam } = await memberAccountClients(sandbox(), config(), accountId, 'policy');
    await ensureUser(iam, config(), accountId, { dryRun: false });
    const created = await ensurePolicy(iam, config(), accountId, { dryRun: false });
    // What the ledger keeps after the run: the default version proven to hold the document.
    const ledger = { lastOutcome: 'SUCCEEDED' as const, policyVersion: created.ledger?.policyVersion };
    expect(ledger.policyVersion).toMatch(/^ANPA\w+:v1:[0-9a-f]{16}$/);
    const mark = sandbox().world.callLog.mark();
    expect(await ensurePolicy(iam, config(), accountId, { dryRun: false, ledger })).toEqual({
      action: 'unchanged',
      details: { policyArn: connectorPolicyArn(config(), accountId) },
    });
    expect(
      sandbox()
        .world.callLog.list({ sinceSeq: mark })
        .map((c) => c.operation),
    ).toEqual(['GetPolicy', 'ListAttachedUserPolicies']);
    const arn = connectorPolicyArn(config(), accountId);
    // Someone with administrator rights in the account edits the policy and detaches it.
    const oaar = new IAMClient(
      sandbox().clientConfig(
        await assumeRole(sandbox(), `arn:aws:iam::${accountId}:role/OrganizationAccountAccessRole`),
      ),
    );
    await oaar.send(
      new CreatePolicyVersionCommand({
        PolicyArn: arn,
        SetAsDefault: true,
        PolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: 'iam:*', Resource: '*' }],
        }),
      }),
    );
    await oaar.send(new DetachUserPolicyCommand({ UserName: 'CloudAppSecurity', PolicyArn: arn }));
    const repaired = await ensurePolicy(iam, config(), accountId, { dryRun: false, ledger });
    expect(repaired).toMatchObject({
      action: 'updated',
      details: { reason: 'document-drift', versionId: 'v3' },
    });
    // The repaired version is the one recorded for the next run.
    expect(repaired.ledger?.policyVersion).toMatch(/:v3:/);
    const policy = (await iam.send(new GetPolicyCommand({ PolicyArn: arn }))).Policy!;
    expect(policy.AttachmentCount).toBe(1);
    const doc =
      (await iam.send(new GetPolicyVersionCommand({ PolicyArn: arn, VersionId: policy.DefaultVersionId })))
        .PolicyVersion?.Document ?? '';
    expect(decodeURIComponent(doc)).toContain('cloudtrail:LookupEvents');
  });

  it('turn AWS throttling that outlasts the SDK retries into the retryable TransientAwsError, reads included', async () => {
    const accountId = defaultAccountId(9);
    const { iam } = await memberAccountClients(sandbox(), config(), accountId, 'policy');
    sandbox().world.faults.inject(accountId, {
      service: 'iam',
      operation: 'GetUser',
      code: 'Throttling',
      status: 400,
      remaining: 3,
    });
    await expect(ensureUser(iam, config(), accountId, { dryRun: false })).rejects.toMatchObject({
      name: 'TransientAwsError',
      retryable: true,
      step: 'user',
    });
    sandbox().world.faults.inject(accountId, {
      service: 'iam',
      operation: 'GetPolicy',
      code: 'Throttling',
      status: 400,
      remaining: 3,
    });
    await expect(ensurePolicy(iam, config(), accountId, { dryRun: false })).rejects.toMatchObject({
      name: 'TransientAwsError',
      step: 'policy',
    });
  });
});
