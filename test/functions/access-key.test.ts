import { CloudTrailClient, DescribeTrailsCommand } from '@aws-sdk/client-cloudtrail';
import {
  CreateAccessKeyCommand,
  DeleteAccessKeyCommand,
  DeleteUserCommand,
  ListAccessKeysCommand,
  RemoveUserFromGroupCommand,
  UpdateAccessKeyCommand,
} from '@aws-sdk/client-iam';
import {
  DeleteSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { clientConfig } from '../../commons/aws-clients';
import { connectorSecretName } from '../../commons/config';
import { ensureAccessKey } from '../../functions/access-key/ensure-access-key';
import { ensurePolicy } from '../../functions/policy/ensure-policy';
import { ensureUser } from '../../functions/user/ensure-user';
import { defaultAccountId } from '../../sandbox/scenario/default-scenario';
import { memberAccountClients } from '../support/member';
import { functionRoleSettings, sandboxConfig } from '../support/product';
import { useSandbox } from '../support/sandbox';

describe('the access key step', () => {
  const sandbox = useSandbox({ accounts: 40 });
  const config = () => sandboxConfig(sandbox());

  async function prepare(index: number) {
    const accountId = defaultAccountId(index);
    const { iam } = await memberAccountClients(sandbox(), config(), accountId, 'accessKey');
    await ensureUser(iam, config(), accountId, { dryRun: false });
    await ensurePolicy(iam, config(), accountId, { dryRun: false });
    const secrets = new SecretsManagerClient(
      clientConfig(await functionRoleSettings(sandbox(), 'accessKey')),
    );
    const deps = { iam, secrets, config: config(), now: () => sandbox().world.clock.nowMs() };
    const keys = async () =>
      (await iam.send(new ListAccessKeysCommand({ UserName: 'CloudAppSecurity' }))).AccessKeyMetadata ?? [];
    // What the operator reads (`casbridge credentials`): the access key function never reads a value.
    const operator = new SecretsManagerClient(sandbox().clientConfig());
    const secret = async (stage = 'AWSCURRENT') =>
      JSON.parse(
        (
          await operator.send(
            new GetSecretValueCommand({
              SecretId: connectorSecretName(config(), accountId),
              VersionStage: stage,
            }),
          )
        ).SecretString ?? '{}',
      ) as { accessKeyId: string; secretAccessKey: string };
    return { accountId, iam, secrets, deps, keys, secret };
  }

  it('creates one key, stores its secret only in Secrets Manager, and changes nothing on a re-run', async () => {
    const { accountId, deps, keys, secret, secrets } = await prepare(1);
    const result = await ensureAccessKey(deps, accountId, { dryRun: false });
    expect(result.action).toBe('created');
    expect(JSON.stringify(result)).not.toMatch(/secretAccessKey/);
    const [key] = await keys();
    expect((await secret()).accessKeyId).toBe(key?.AccessKeyId);
    const described = await secrets.send(
      new DescribeSecretCommand({ SecretId: connectorSecretName(config(), accountId) }),
    );
    expect(described.KmsKeyId).toBe(sandbox().stack.secretsKmsKeyArn);
    expect(described.Tags).toEqual(
      expect.arrayContaining([
        { Key: 'casbridge:account', Value: accountId },
        { Key: 'casbridge:access-key-id', Value: key?.AccessKeyId },
      ]),
    );
    expect(await ensureAccessKey(deps, accountId, { dryRun: false })).toMatchObject({ action: 'unchanged' });
    expect(await keys()).toHaveLength(1);
  });

  it('converges after a crash between CreateAccessKey and the secret write, with no duplicate key', async () => {
    const { accountId, iam, deps, keys, secret } = await prepare(2);
    await ensureAccessKey(deps, accountId, { dryRun: false });
    // The crash: a key was created and the process died before its secret was stored.
    await iam.send(new CreateAccessKeyCommand({ UserName: 'CloudAppSecurity' }));
    expect(await keys()).toHaveLength(2);
    expect(await ensureAccessKey(deps, accountId, { dryRun: false })).toMatchObject({
      action: 'updated',
      reason: 'orphan-key-removed',
    });
    expect((await keys()).map((k) => k.AccessKeyId)).toEqual([(await secret()).accessKeyId]);
    expect(await ensureAccessKey(deps, accountId, { dryRun: false })).toMatchObject({ action: 'unchanged' });
  });

  it('keeps a key a hand-made connector uses, clears never-used ones, and issues its own', async () => {
    const { accountId, deps, keys, secret } = await prepare(11);
    const before = await keys();
    expect(before).toHaveLength(2);
    // A connector configured by hand before casbridge came uses the first key.
    const inUse = before[0]!.AccessKeyId!;
    sandbox().world.accounts.get(accountId)!.iam.accessKeys.get(inUse)!.lastUsed = {
      date: sandbox().world.clock.now(),
      serviceName: 'cloudtrail',
      region: 'us-east-1',
    };
    expect(await ensureAccessKey(deps, accountId, { dryRun: false })).toMatchObject({ action: 'created' });
    const after = (await keys()).map((k) => k.AccessKeyId);
    expect(after.sort()).toEqual([inUse, (await secret()).accessKeyId].sort());
    expect(await ensureAccessKey(deps, accountId, { dryRun: false })).toMatchObject({ action: 'unchanged' });
  });

  it('rotates in stages: a pending key first, the old key retired only once the connector uses the new one', async () => {
    const first = await prepare(4);
    await ensureAccessKey(first.deps, first.accountId, { dryRun: false });
    const original = (await first.secret()).accessKeyId;
    sandbox().world.clock.advance(91 * 86_400_000);
    // Ninety days on, the next run has fresh sessions.
    const { accountId, deps, keys, secret } = await prepare(4);
    expect(await ensureAccessKey(deps, accountId, { dryRun: false })).toMatchObject({
      action: 'updated',
      reason: 'rotation-started',
    });
    const pending = await secret('AWSPENDING');
    expect((await secret()).accessKeyId).toBe(original);
    expect(await ensureAccessKey(deps, accountId, { dryRun: false })).toMatchObject({
      action: 'unchanged',
      reason: 'rotation-awaiting-connector',
    });
    // The operator pastes the new key into the portal; the connector starts reading CloudTrail.
    const connector = new CloudTrailClient(
      sandbox().clientConfig({ accessKeyId: pending.accessKeyId, secretAccessKey: pending.secretAccessKey }),
    );
    await connector.send(new DescribeTrailsCommand({}));
    expect(await ensureAccessKey(deps, accountId, { dryRun: false })).toMatchObject({
      action: 'updated',
      reason: 'rotation-completed',
    });
    expect((await secret()).accessKeyId).toBe(pending.accessKeyId);
    expect((await keys()).find((k) => k.AccessKeyId === original)?.Status).toBe('Inactive');
  });

  it('plans a key in a dry run without creating one', async () => {
    const { accountId, deps, keys } = await prepare(5);
    expect(await ensureAccessKey(deps, accountId, { dryRun: true })).toMatchObject({
      action: 'created',
      reason: 'dry-run',
    });
    expect(await keys()).toHaveLength(0);
  });

  it('replaces a deleted key and reactivates a deactivated one, whatever the ledger recorded', async () => {
    const { accountId, iam, deps, keys, secret } = await prepare(6);
    const created = await ensureAccessKey(deps, accountId, { dryRun: false });
    const first = (await secret()).accessKeyId;
    // What the ledger keeps after the run: the key in service and its secret.
    const ledger = {
      lastOutcome: 'SUCCEEDED' as const,
      accessKeyId: String(created.details?.accessKeyId),
      secretArn: String(created.details?.secretArn),
    };
    const mark = sandbox().world.callLog.mark();
    expect(await ensureAccessKey(deps, accountId, { dryRun: false, ledger })).toMatchObject({
      action: 'unchanged',
      details: { accessKeyId: first, secretArn: ledger.secretArn },
    });
    // The one key is the recorded one: the secret is not described again.
    expect(
      sandbox()
        .world.callLog.list({ sinceSeq: mark })
        .map((c) => c.operation),
    ).toEqual(['ListAccessKeys']);
    await iam.send(
      new UpdateAccessKeyCommand({ UserName: 'CloudAppSecurity', AccessKeyId: first, Status: 'Inactive' }),
    );
    expect(await ensureAccessKey(deps, accountId, { dryRun: false, ledger })).toMatchObject({
      action: 'updated',
      reason: 'key-reactivated',
    });
    expect((await keys())[0]?.Status).toBe('Active');
    await iam.send(new DeleteAccessKeyCommand({ UserName: 'CloudAppSecurity', AccessKeyId: first }));
    expect(await ensureAccessKey(deps, accountId, { dryRun: false, ledger })).toMatchObject({
      action: 'created',
      reason: 'secret-key-missing',
    });
    const now = await keys();
    expect(now.map((k) => k.AccessKeyId)).toEqual([(await secret()).accessKeyId]);
    expect(now[0]?.AccessKeyId).not.toBe(first);
  });
  it("stores a new user's first key in the secret an earlier user left, without reading it first", async () => {
    const { accountId, iam, deps, keys, secret, secrets } = await prepare(8);
    await ensureAccessKey(deps, accountId, { dryRun: false });
    // Someone deletes the connector user (keys and policy first, as IAM demands); its secret stays.
    const [old] = await keys();
    await iam.send(
      new DeleteAccessKeyCommand({ UserName: 'CloudAppSecurity', AccessKeyId: old?.AccessKeyId }),
    );
    await iam.send(
      new RemoveUserFromGroupCommand({ GroupName: 'CloudAppSecurity', UserName: 'CloudAppSecurity' }),
    );
    await iam.send(new DeleteUserCommand({ UserName: 'CloudAppSecurity' }));
    const user = await ensureUser(iam, config(), accountId, { dryRun: false });
    expect(user.action).toBe('created');
    const mark = sandbox().world.callLog.mark();

    const result = await ensureAccessKey(deps, accountId, { dryRun: false, steps: { user } });

    expect(
      sandbox()
        .world.callLog.list({ sinceSeq: mark })
        .map((c) => `${c.operation}${c.outcome === 'error' ? ` ${c.errorCode}` : ''}`),
    ).toEqual([
      'CreateAccessKey',
      'CreateSecret ResourceExistsException',
      'DescribeSecret',
      'PutSecretValue',
      'TagResource',
    ]);

    const [key] = await keys();
    expect(result).toMatchObject({ action: 'created', details: { accessKeyId: key?.AccessKeyId } });
    expect((await secret()).accessKeyId).toBe(key?.AccessKeyId);
    const described = await secrets.send(
      new DescribeSecretCommand({ SecretId: connectorSecretName(config(), accountId) }),
    );
    expect(described.Tags).toContainEqual({ Key: 'casbridge:access-key-id', Value: key?.AccessKeyId });
    expect(result.details?.secretArn).toBe(described.ARN);
  });
  it('converges when a retried attempt for a user created this run finds keys an earlier attempt left', async () => {
    const { accountId, iam, deps, keys, secret } = await prepare(9);
    // Two attempts died after CreateAccessKey: the user holds IAM's two keys, never used.
    for (let i = 0; i < 2; i++) await iam.send(new CreateAccessKeyCommand({ UserName: 'CloudAppSecurity' }));
    const user = { action: 'created' as const };

    const result = await ensureAccessKey(deps, accountId, { dryRun: false, steps: { user } });

    const left = await keys();
    expect(result).toMatchObject({ action: 'created', details: { accessKeyId: left[0]?.AccessKeyId } });
    expect(left).toHaveLength(1);
    expect((await secret()).accessKeyId).toBe(left[0]?.AccessKeyId);
  });

  it('restores a secret scheduled for deletion that still holds the key in service, keeping that key', async () => {
    // An offboarding that could not reach the account scheduled the secret and left user and key.
    const { accountId, deps, keys, secret } = await prepare(10);
    const first = await ensureAccessKey(deps, accountId, { dryRun: false });
    const operator = new SecretsManagerClient(sandbox().clientConfig());
    const name = connectorSecretName(config(), accountId);
    await operator.send(new DeleteSecretCommand({ SecretId: name, RecoveryWindowInDays: 7 }));

    // The plan names the key it keeps, as the real run's result does: register hands that key off.
    expect(await ensureAccessKey(deps, accountId, { dryRun: true })).toEqual({
      action: 'updated',
      reason: 'dry-run',
      details: {
        planned: 'secret-restored',
        accessKeyId: first.details?.accessKeyId,
        keyCreatedAt: first.details?.keyCreatedAt,
        secret: 'restored',
        secretArn: first.details?.secretArn,
      },
    });
    expect((await operator.send(new DescribeSecretCommand({ SecretId: name }))).DeletedDate).toBeInstanceOf(
      Date,
    );
    expect(await ensureAccessKey(deps, accountId, { dryRun: false })).toMatchObject({
      action: 'updated',
      reason: 'secret-restored',
      details: {
        accessKeyId: first.details?.accessKeyId,
        secretArn: first.details?.secretArn,
        secret: 'restored',
      },
    });
    expect((await keys()).map((k) => k.AccessKeyId)).toEqual([first.details?.accessKeyId]);
    expect((await secret()).accessKeyId).toBe(first.details?.accessKeyId);
    expect(await ensureAccessKey(deps, accountId, { dryRun: false })).toMatchObject({ action: 'unchanged' });
  });

  it("restores the secret an earlier user left scheduled for deletion when CreateSecret refuses the new user's", async () => {
    // Nothing in the ledger says offboarded (the user and secret removed by hand, say): the step
    // writes first, and Secrets Manager's InvalidRequestException sends it to restore the secret.
    const { accountId, iam, deps, keys, secret } = await prepare(12);
    const first = await ensureAccessKey(deps, accountId, { dryRun: false });
    await iam.send(
      new DeleteAccessKeyCommand({
        UserName: 'CloudAppSecurity',
        AccessKeyId: first.details?.accessKeyId as string,
      }),
    );
    const operator = new SecretsManagerClient(sandbox().clientConfig());
    const name = connectorSecretName(config(), accountId);
    await operator.send(new DeleteSecretCommand({ SecretId: name, RecoveryWindowInDays: 7 }));
    const mark = sandbox().world.callLog.mark();

    const result = await ensureAccessKey(deps, accountId, {
      dryRun: false,
      steps: { user: { action: 'created' } },
    });
    expect(
      sandbox()
        .world.callLog.list({ sinceSeq: mark })
        .map((c) => `${c.operation}${c.outcome === 'ok' ? '' : ` (${c.errorCode})`}`),
    ).toEqual([
      'CreateAccessKey',
      'CreateSecret (InvalidRequestException)',
      'DescribeSecret',
      'RestoreSecret',
      'PutSecretValue',
      'TagResource',
    ]);
    const [key] = await keys();
    expect(result).toMatchObject({
      action: 'created',
      reason: 'secret-restored',
      details: { accessKeyId: key?.AccessKeyId, secretArn: first.details?.secretArn, secret: 'restored' },
    });
    expect((await secret()).accessKeyId).toBe(key?.AccessKeyId);
    expect((await operator.send(new DescribeSecretCommand({ SecretId: name }))).DeletedDate).toBeUndefined();
  });
});
