import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DeleteAccessKeyCommand,
  GetPolicyCommand,
  GetUserCommand,
  IAMClient,
  ListAccessKeysCommand,
  ListAttachedGroupPoliciesCommand,
} from '@aws-sdk/client-iam';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { clientConfig } from '../../commons/aws-clients';
import { connectorPolicyArn, connectorSecretName } from '../../commons/config';
import { Ledger } from '../../commons/ledger';
import { ensureAccessKey } from '../../functions/access-key/ensure-access-key';
import { type OffboardDeps, offboardAccount } from '../../functions/offboard/offboard-account';
import { ensurePolicy } from '../../functions/policy/ensure-policy';
import { ensureUser } from '../../functions/user/ensure-user';
import { accountState, regionalState } from '../../sandbox/core/world';
import { defaultAccountId } from '../../sandbox/scenario/default-scenario';
import { memberAccountClients, preGroupConnector } from '../support/member';
import { functionRoleSettings, sandboxConfig } from '../support/product';
import { assumeRole, useSandbox } from '../support/sandbox';

describe('the offboard step', () => {
  const sandbox = useSandbox({ accounts: 20 });
  const config = () => sandboxConfig(sandbox());

  /**
   * Central-account clients as the offboard function's role has them, the member account's IAM
   * when reachable, and the operator's Secrets Manager for what a test prepares or inspects.
   */
  async function context(index: number) {
    const accountId = defaultAccountId(index);
    const settings = await functionRoleSettings(sandbox(), 'offboard');
    const secrets = new SecretsManagerClient(clientConfig(settings));
    const operatorSecrets = new SecretsManagerClient(sandbox().clientConfig());
    const ledger = new Ledger(
      DynamoDBDocumentClient.from(new DynamoDBClient(clientConfig(settings))),
      sandbox().stack.ledgerTable,
      () => sandbox().world.clock.nowMs(),
    );
    const deps = (iam: IAMClient | undefined): OffboardDeps => ({
      ...(iam ? { iam } : {}),
      secrets,
      sns: new SNSClient(clientConfig(settings)),
      ledger,
      config: config(),
      now: () => sandbox().world.clock.nowMs(),
    });
    const name = sandbox().world.organization.accounts.get(accountId)?.name ?? '';
    const member = () => memberAccountClients(sandbox(), config(), accountId, 'offboard');
    return { accountId, name, target: { accountId, name }, secrets, operatorSecrets, ledger, deps, member };
  }

  /** An account as onboarding leaves it: user, policy, key with its secret, and the operator told. */
  async function onboarded(index: number) {
    const ctx = await context(index);
    const { iam } = await ctx.member();
    await ensureUser(iam, config(), ctx.accountId, { dryRun: false });
    await ensurePolicy(iam, config(), ctx.accountId, { dryRun: false });
    const keySecrets = new SecretsManagerClient(
      clientConfig(await functionRoleSettings(sandbox(), 'accessKey')),
    );
    await ensureAccessKey(
      { iam, secrets: keySecrets, config: config(), now: () => sandbox().world.clock.nowMs() },
      ctx.accountId,
      { dryRun: false },
    );
    await ctx.ledger.update(ctx.accountId, { connector: 'AWAITING_CONNECTION', lastOutcome: 'SUCCEEDED' });
    const secretValue =
      (
        await ctx.operatorSecrets.send(
          new GetSecretValueCommand({ SecretId: connectorSecretName(config(), ctx.accountId) }),
        )
      ).SecretString ?? '';
    return { ...ctx, iam, secretValue };
  }

  function handoffs() {
    const topic = regionalState(sandbox().world, sandbox().stack.accountId, sandbox().region).topics.get(
      sandbox().stack.topicArn,
    );
    return topic?.messages ?? [];
  }

  function handoffsFor(accountId: string) {
    return handoffs().filter((m) => (JSON.parse(m.message) as { accountId: string }).accountId === accountId);
  }

  function writesSince(seq: number, account?: string) {
    return sandbox()
      .world.callLog.list({ sinceSeq: seq, ...(account ? { account } : {}) })
      .filter((c) => !c.readOnly);
  }

  async function missing(call: Promise<unknown>): Promise<string | undefined> {
    try {
      await call;
      return undefined;
    } catch (error) {
      return (error as Error).name;
    }
  }

  it("removes keys, every policy version and the user but leaves the StackSet's group, schedules the secret deletion, hands off and records RETIRED (a person's offboarding)", async () => {
    // Account 17 starts with five policy versions, so the policy holds non-default versions to delete.
    const { accountId, name, target, iam, secrets, ledger, deps, secretValue } = await onboarded(17);
    expect(JSON.parse(secretValue)).toHaveProperty('secretAccessKey');

    const startedAt = sandbox().world.clock.nowMs();
    const result = await offboardAccount(deps(iam), target, { dryRun: false });

    expect(result).toMatchObject({
      action: 'updated',
      details: {
        accessKeysDeleted: 1,
        policyDetached: true,
        policyVersionsDeleted: 4,
        policyDeleted: true,
        removedFromGroup: true,
        userDeleted: true,
        secretDeletionScheduled: true,
        handoffPublished: true,
      },
    });
    expect(await missing(iam.send(new GetUserCommand({ UserName: 'CloudAppSecurity' })))).toBe(
      'NoSuchEntityException',
    );
    // The connector group is the member-role StackSet's: it stays, empty, without the policy.
    expect(
      (await iam.send(new ListAttachedGroupPoliciesCommand({ GroupName: 'CloudAppSecurity' })))
        .AttachedPolicies,
    ).toEqual([]);
    expect(
      await missing(iam.send(new GetPolicyCommand({ PolicyArn: connectorPolicyArn(config(), accountId) }))),
    ).toBe('NoSuchEntityException');
    expect(
      [...accountState(sandbox().world, accountId).iam.accessKeys.values()].filter(
        (k) => k.userName === 'CloudAppSecurity',
      ),
    ).toHaveLength(0);
    // Scheduled, not purged: RestoreSecret can still undo a mistaken offboarding.
    const described = await secrets.send(
      new DescribeSecretCommand({ SecretId: connectorSecretName(config(), accountId) }),
    );
    expect(described.DeletedDate).toBeInstanceOf(Date);

    const [handoff, ...more] = handoffsFor(accountId);
    expect(more).toHaveLength(0);
    // As every message of the hand-off channels: subscribers filter on type, and on accountId.
    expect(handoff?.messageAttributes).toEqual({
      type: { DataType: 'String', StringValue: 'connector.offboarding' },
      accountId: { DataType: 'String', StringValue: accountId },
    });
    const message = JSON.parse(handoff?.message ?? '{}') as Record<string, unknown>;
    expect(message).toMatchObject({
      type: 'connector.offboarding',
      accountId,
      accountName: name,
      instanceName: `${name} (${accountId})`,
    });
    expect((message.steps as string[]).join(' ')).toMatch(/App Connectors/);
    expect((message.steps as string[]).join(' ')).toMatch(/trail "casbridge" stays/);
    // The hand-off must never carry the key: neither the secret value nor the secret access key.
    const { secretAccessKey } = JSON.parse(secretValue) as { secretAccessKey: string };
    expect(handoff?.message).not.toContain(secretAccessKey);
    expect(JSON.stringify(result)).not.toContain(secretAccessKey);

    // The record is kept; lastOutcome is the report step's, so it is left as it was.
    const record = await ledger.get(accountId);
    expect(record).toMatchObject({ connector: 'RETIRED', lastOutcome: 'SUCCEEDED' });
    expect(Date.parse(record?.offboardedAt ?? '')).toBeGreaterThanOrEqual(startedAt);
  });

  it('offboards an account onboarded before the connector group, the policy still on the user', async () => {
    const { accountId, target, member, deps } = await context(8);
    const admin = new IAMClient(
      sandbox().clientConfig(
        await assumeRole(sandbox(), `arn:aws:iam::${accountId}:role/OrganizationAccountAccessRole`),
      ),
    );
    const policyArn = await preGroupConnector(admin, config(), accountId);
    const { iam } = await member();

    expect(await offboardAccount(deps(iam), target, { dryRun: false })).toMatchObject({
      action: 'updated',
      details: { policyDetached: true, removedFromGroup: false, userDeleted: true },
    });
    expect(await missing(iam.send(new GetPolicyCommand({ PolicyArn: policyArn })))).toBe(
      'NoSuchEntityException',
    );
  });

  it('reports a finished account as already offboarded after read calls only, and tells the operator once', async () => {
    const { accountId, target, iam, deps } = await onboarded(1);
    await offboardAccount(deps(iam), target, { dryRun: false });
    const mark = sandbox().world.callLog.mark();

    expect(await offboardAccount(deps(iam), target, { dryRun: false })).toMatchObject({
      action: 'unchanged',
      reason: 'already-offboarded',
    });
    expect(writesSince(mark, accountId)).toEqual([]);
    // Nor anything central: no second DeleteSecret, hand-off or ledger write.
    expect(writesSince(mark)).toEqual([]);
    expect(handoffsFor(accountId)).toHaveLength(1);
  });

  it('converges when re-run after a run that died half-way through the member account', async () => {
    const { accountId, target, iam, deps, ledger } = await onboarded(2);
    // Half of an earlier run: the keys are already gone when this one starts.
    const keys = (await iam.send(new ListAccessKeysCommand({ UserName: 'CloudAppSecurity' })))
      .AccessKeyMetadata;
    for (const key of keys ?? [])
      await iam.send(
        new DeleteAccessKeyCommand({ UserName: 'CloudAppSecurity', AccessKeyId: key.AccessKeyId }),
      );
    // ... and IAM fails DeleteUser for longer than the SDK retries within one attempt.
    sandbox().world.faults.inject(accountId, {
      service: 'iam',
      operation: 'DeleteUser',
      code: 'ServiceFailure',
      status: 500,
      remaining: 5,
    });

    await expect(offboardAccount(deps(iam), target, { dryRun: false })).rejects.toMatchObject({
      name: 'TransientAwsError',
      retryable: true,
      step: 'offboard',
    });
    // The step failed before any central change: the operator is not told about a half-done job.
    expect(handoffsFor(accountId)).toHaveLength(0);
    expect((await ledger.get(accountId))?.connector).toBe('AWAITING_CONNECTION');

    expect(await offboardAccount(deps(iam), target, { dryRun: false })).toMatchObject({
      action: 'updated',
      details: { accessKeysDeleted: 0, policyDeleted: false, userDeleted: true, handoffPublished: true },
    });
    expect(await missing(iam.send(new GetUserCommand({ UserName: 'CloudAppSecurity' })))).toBe(
      'NoSuchEntityException',
    );
    expect(await offboardAccount(deps(iam), target, { dryRun: false })).toMatchObject({
      action: 'unchanged',
      reason: 'already-offboarded',
    });
    expect(handoffsFor(accountId)).toHaveLength(1);
  });

  it("refuses to touch a same-named user that is not casbridge's, and changes nothing", async () => {
    // Account 3 holds a user named CloudAppSecurity that someone else owns.
    const { accountId, target, secrets, operatorSecrets, ledger, deps, member } = await context(3);
    const { iam } = await member();
    await operatorSecrets.send(
      new CreateSecretCommand({ Name: connectorSecretName(config(), accountId), SecretString: '{}' }),
    );
    const mark = sandbox().world.callLog.mark();

    await expect(offboardAccount(deps(iam), target, { dryRun: false })).rejects.toMatchObject({
      name: 'ForeignUserConflict',
      step: 'offboard',
    });
    expect(writesSince(mark)).toEqual([]);
    expect((await iam.send(new GetUserCommand({ UserName: 'CloudAppSecurity' }))).User?.Path).toBe('/');
    const described = await secrets.send(
      new DescribeSecretCommand({ SecretId: connectorSecretName(config(), accountId) }),
    );
    expect(described.DeletedDate).toBeUndefined();
    expect(handoffsFor(accountId)).toHaveLength(0);
    expect(await ledger.get(accountId)).toBeUndefined();
  });

  it('stops with OffboardingBlocked when something casbridge did not create still holds the user', async () => {
    const { accountId, target, iam, deps, ledger } = await onboarded(6);
    // Someone attached an AWS managed policy to the connector user; casbridge must not detach it.
    accountState(sandbox().world, accountId)
      .iam.users.get('cloudappsecurity')
      ?.attachedPolicyArns.push('arn:aws:iam::aws:policy/ReadOnlyAccess');

    await expect(offboardAccount(deps(iam), target, { dryRun: false })).rejects.toMatchObject({
      name: 'OffboardingBlocked',
      retryable: false,
      step: 'offboard',
      message: expect.stringMatching(/detach all policies/),
    });
    // The key, which is what gives access, is gone all the same; the foreign attachment stays.
    expect(
      (await iam.send(new ListAccessKeysCommand({ UserName: 'CloudAppSecurity' }))).AccessKeyMetadata,
    ).toEqual([]);
    expect(
      accountState(sandbox().world, accountId).iam.users.get('cloudappsecurity')?.attachedPolicyArns,
    ).toEqual(['arn:aws:iam::aws:policy/ReadOnlyAccess']);
    expect((await ledger.get(accountId))?.connector).toBe('AWAITING_CONNECTION');
  });

  it('plans the offboarding in a dry run without changing anything', async () => {
    const { accountId, target, iam, ledger, deps } = await onboarded(4);
    const mark = sandbox().world.callLog.mark();

    expect(await offboardAccount(deps(iam), target, { dryRun: true })).toMatchObject({
      action: 'updated',
      reason: 'dry-run',
      details: {
        accessKeysDeleted: 1,
        policyDeleted: true,
        userDeleted: true,
        secretDeletionScheduled: true,
        handoffPublished: true,
      },
    });
    expect(writesSince(mark)).toEqual([]);
    expect((await iam.send(new GetUserCommand({ UserName: 'CloudAppSecurity' }))).User).toBeDefined();
    expect(handoffsFor(accountId)).toHaveLength(0);
    expect((await ledger.get(accountId))?.connector).toBe('AWAITING_CONNECTION');
  });

  it('cleans up centrally when the account cannot be reached, and finishes the account once it can', async () => {
    const { accountId, target, iam, secrets, ledger, deps } = await onboarded(5);

    const result = await offboardAccount(deps(undefined), target, { dryRun: false });

    expect(result).toMatchObject({
      action: 'updated',
      reason: 'account-unreachable-central-cleanup-only',
      details: { accountReachable: false, secretDeletionScheduled: true, handoffPublished: true },
    });
    expect(String(result.details?.remainingInAccount)).toContain(`user/casbridge/CloudAppSecurity`);
    expect(String(result.details?.remainingInAccount)).toContain(connectorPolicyArn(config(), accountId));
    // Nothing in the account was touched, since nothing there could be reached.
    expect((await iam.send(new GetUserCommand({ UserName: 'CloudAppSecurity' }))).User).toBeDefined();
    const described = await secrets.send(
      new DescribeSecretCommand({ SecretId: connectorSecretName(config(), accountId) }),
    );
    expect(described.DeletedDate).toBeInstanceOf(Date);
    const [handoff] = handoffsFor(accountId);
    expect(JSON.parse(handoff?.message ?? '{}')).toMatchObject({ accountCleanup: 'pending' });
    expect((await ledger.get(accountId))?.connector).toBe('RETIRED');

    // Later the account answers again: the member part is finished without a second hand-off.
    expect(await offboardAccount(deps(iam), target, { dryRun: false })).toMatchObject({
      action: 'updated',
      details: { userDeleted: true, policyDeleted: true, accessKeysDeleted: 1, handoffPublished: false },
    });
    expect(handoffsFor(accountId)).toHaveLength(1);
  });
});
