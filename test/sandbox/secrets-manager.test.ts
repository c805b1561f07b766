import {
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
  PutSecretValueCommand,
  RestoreSecretCommand,
  SecretsManagerClient,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { connectorSecretName } from '../../commons/config';
import { defaultAccountId } from '../../sandbox/scenario/default-scenario';
import { sandboxConfig } from '../support/product';
import { functionRoleCredentials, memberRoleCredentials, useSandbox } from '../support/sandbox';

const TOKEN_A = 'aaaaaaaa-0000-4000-8000-000000000001';
const TOKEN_B = 'bbbbbbbb-0000-4000-8000-000000000002';
const TOKEN_C = 'cccccccc-0000-4000-8000-000000000003';

describe('Secrets Manager', () => {
  const sandbox = useSandbox({ accounts: 3 });
  const client = () => new SecretsManagerClient(sandbox().clientConfig());

  it('creates a secret whose ARN is its name and a six-character suffix, with the value as AWSCURRENT', async () => {
    const created = await client().send(
      new CreateSecretCommand({
        Name: 'casbridge/create/reader',
        SecretString: '{"key":"v1"}',
        ClientRequestToken: TOKEN_A,
        Description: 'reader key',
        KmsKeyId: sandbox().stack.secretsKmsKeyArn,
        Tags: [{ Key: 'managed-by', Value: 'casbridge' }],
      }),
    );
    expect(created.ARN).toMatch(
      new RegExp(
        `^arn:aws:secretsmanager:${sandbox().region}:${sandbox().stack.accountId}:secret:casbridge/create/reader-[A-Za-z0-9]{6}$`,
      ),
    );
    expect(created.VersionId).toBe(TOKEN_A);

    const value = await client().send(new GetSecretValueCommand({ SecretId: 'casbridge/create/reader' }));
    expect(value).toMatchObject({
      SecretString: '{"key":"v1"}',
      VersionId: TOKEN_A,
      VersionStages: ['AWSCURRENT'],
    });
    expect(value.CreatedDate).toBeInstanceOf(Date);

    const described = await client().send(new DescribeSecretCommand({ SecretId: created.ARN }));
    expect(described).toMatchObject({
      Name: 'casbridge/create/reader',
      Description: 'reader key',
      KmsKeyId: sandbox().stack.secretsKmsKeyArn,
      Tags: [{ Key: 'managed-by', Value: 'casbridge' }],
      VersionIdsToStages: { [TOKEN_A]: ['AWSCURRENT'] },
    });
    expect(described.DeletedDate).toBeUndefined();
  });

  it('treats a retried CreateSecret with the same token and value as done', async () => {
    const input = { Name: 'casbridge/retry/reader', SecretString: 's3cret', ClientRequestToken: TOKEN_A };
    const first = await client().send(new CreateSecretCommand(input));
    const again = await client().send(new CreateSecretCommand(input));
    expect(again).toMatchObject({ ARN: first.ARN, VersionId: TOKEN_A });
  });

  it('refuses to create a secret whose name is taken, or to change a version through its token', async () => {
    await client().send(
      new CreateSecretCommand({ Name: 'casbridge/taken', SecretString: 'one', ClientRequestToken: TOKEN_A }),
    );
    await expect(
      client().send(
        new CreateSecretCommand({
          Name: 'casbridge/taken',
          SecretString: 'two',
          ClientRequestToken: TOKEN_A,
        }),
      ),
    ).rejects.toMatchObject({ name: 'ResourceExistsException', $metadata: { httpStatusCode: 400 } });
    await expect(
      client().send(new CreateSecretCommand({ Name: 'casbridge/taken', SecretString: 'one' })),
    ).rejects.toMatchObject({ name: 'ResourceExistsException' });
  });

  it('moves AWSCURRENT to a new value and keeps the old one as AWSPREVIOUS', async () => {
    const name = 'casbridge/put/reader';
    await client().send(
      new CreateSecretCommand({ Name: name, SecretString: 'v1', ClientRequestToken: TOKEN_A }),
    );
    const put = await client().send(
      new PutSecretValueCommand({ SecretId: name, SecretString: 'v2', ClientRequestToken: TOKEN_B }),
    );
    expect(put).toMatchObject({ VersionId: TOKEN_B, VersionStages: ['AWSCURRENT'] });

    const current = await client().send(new GetSecretValueCommand({ SecretId: name }));
    expect(current.SecretString).toBe('v2');
    const previous = await client().send(
      new GetSecretValueCommand({ SecretId: name, VersionStage: 'AWSPREVIOUS' }),
    );
    expect(previous).toMatchObject({ SecretString: 'v1', VersionId: TOKEN_A });
    const byId = await client().send(new GetSecretValueCommand({ SecretId: name, VersionId: TOKEN_A }));
    expect(byId.SecretString).toBe('v1');

    const replay = await client().send(
      new PutSecretValueCommand({ SecretId: name, SecretString: 'v2', ClientRequestToken: TOKEN_B }),
    );
    expect(replay.VersionId).toBe(TOKEN_B);
    await expect(
      client().send(
        new PutSecretValueCommand({ SecretId: name, SecretString: 'v3', ClientRequestToken: TOKEN_B }),
      ),
    ).rejects.toMatchObject({ name: 'ResourceExistsException' });
  });

  it('rotates a key by staging it as AWSPENDING, then promoting it to AWSCURRENT', async () => {
    const name = 'casbridge/rotate/reader';
    await client().send(
      new CreateSecretCommand({ Name: name, SecretString: 'old', ClientRequestToken: TOKEN_A }),
    );
    await client().send(
      new PutSecretValueCommand({
        SecretId: name,
        SecretString: 'new',
        ClientRequestToken: TOKEN_B,
        VersionStages: ['AWSPENDING'],
      }),
    );
    expect((await client().send(new GetSecretValueCommand({ SecretId: name }))).SecretString).toBe('old');
    const pending = await client().send(
      new GetSecretValueCommand({ SecretId: name, VersionStage: 'AWSPENDING' }),
    );
    expect(pending).toMatchObject({ SecretString: 'new', VersionStages: ['AWSPENDING'] });

    await expect(
      client().send(
        new UpdateSecretVersionStageCommand({
          SecretId: name,
          VersionStage: 'AWSCURRENT',
          MoveToVersionId: TOKEN_B,
        }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidParameterException' });
    await client().send(
      new UpdateSecretVersionStageCommand({
        SecretId: name,
        VersionStage: 'AWSCURRENT',
        MoveToVersionId: TOKEN_B,
        RemoveFromVersionId: TOKEN_A,
      }),
    );

    expect((await client().send(new GetSecretValueCommand({ SecretId: name }))).SecretString).toBe('new');
    const described = await client().send(new DescribeSecretCommand({ SecretId: name }));
    expect(described.VersionIdsToStages).toEqual({
      [TOKEN_A]: ['AWSPREVIOUS'],
      [TOKEN_B]: ['AWSPENDING', 'AWSCURRENT'],
    });
  });

  it('gives AWSPENDING to a newer pending value, taking it from the older one', async () => {
    const name = 'casbridge/pending-twice';
    await client().send(
      new CreateSecretCommand({ Name: name, SecretString: 'v1', ClientRequestToken: TOKEN_A }),
    );
    for (const [token, value] of [
      [TOKEN_B, 'v2'],
      [TOKEN_C, 'v3'],
    ] as const) {
      await client().send(
        new PutSecretValueCommand({
          SecretId: name,
          SecretString: value,
          ClientRequestToken: token,
          VersionStages: ['AWSPENDING'],
        }),
      );
    }
    const described = await client().send(new DescribeSecretCommand({ SecretId: name }));
    expect(described.VersionIdsToStages).toEqual({ [TOKEN_A]: ['AWSCURRENT'], [TOKEN_C]: ['AWSPENDING'] });
  });

  it('says a missing secret cannot be found', async () => {
    const error = await client()
      .send(new GetSecretValueCommand({ SecretId: 'casbridge/never-created' }))
      .catch((e: Error) => e);
    expect(error).toMatchObject({
      name: 'ResourceNotFoundException',
      message: "Secrets Manager can't find the specified secret.",
      $metadata: { httpStatusCode: 400 },
    });
  });

  it('schedules deletion for 30 days by default, blocks reads and the name meanwhile, and restores', async () => {
    const name = 'casbridge/delete/reader';
    await client().send(new CreateSecretCommand({ Name: name, SecretString: 'x' }));
    const deleted = await client().send(new DeleteSecretCommand({ SecretId: name }));
    const now = sandbox().world.clock.nowMs();
    expect(deleted.DeletionDate!.getTime()).toBeGreaterThan(now + 29 * 86_400_000);

    await expect(client().send(new GetSecretValueCommand({ SecretId: name }))).rejects.toMatchObject({
      name: 'InvalidRequestException',
    });
    await expect(
      client().send(new CreateSecretCommand({ Name: name, SecretString: 'y' })),
    ).rejects.toMatchObject({
      name: 'InvalidRequestException',
      message:
        "You can't create this secret because a secret with this name is already scheduled for deletion.",
    });
    expect((await client().send(new DescribeSecretCommand({ SecretId: name }))).DeletedDate).toBeInstanceOf(
      Date,
    );

    await client().send(new RestoreSecretCommand({ SecretId: name }));
    expect((await client().send(new GetSecretValueCommand({ SecretId: name }))).SecretString).toBe('x');
  });

  it('refuses writes to a secret scheduled for deletion until RestoreSecret brings it back, with its ARN and tags', async () => {
    const name = 'casbridge/delete/restored';
    const created = await client().send(
      new CreateSecretCommand({ Name: name, SecretString: 'x', Tags: [{ Key: 'a', Value: '1' }] }),
    );
    await client().send(new DeleteSecretCommand({ SecretId: name, RecoveryWindowInDays: 7 }));
    const markedForDeletion = {
      name: 'InvalidRequestException',
      message: "You can't perform this operation on the secret because it was marked for deletion.",
    };
    await expect(
      client().send(new PutSecretValueCommand({ SecretId: name, SecretString: 'y' })),
    ).rejects.toMatchObject(markedForDeletion);
    await expect(
      client().send(new TagResourceCommand({ SecretId: name, Tags: [{ Key: 'a', Value: '2' }] })),
    ).rejects.toMatchObject(markedForDeletion);

    expect(await client().send(new RestoreSecretCommand({ SecretId: created.ARN }))).toMatchObject({
      ARN: created.ARN,
      Name: name,
    });
    const restored = await client().send(new DescribeSecretCommand({ SecretId: name }));
    expect(restored).toMatchObject({ ARN: created.ARN, Tags: [{ Key: 'a', Value: '1' }] });
    expect(restored.DeletedDate).toBeUndefined();
    await client().send(new PutSecretValueCommand({ SecretId: name, SecretString: 'y' }));
    // Restored, it is no longer purged when the window it was scheduled with ends.
    sandbox().world.clock.advance(8 * 86_400_000);
    expect((await client().send(new GetSecretValueCommand({ SecretId: name }))).SecretString).toBe('y');
  });

  it('cannot restore a secret that does not exist or whose recovery window has ended', async () => {
    await expect(
      client().send(new RestoreSecretCommand({ SecretId: 'casbridge/never-created' })),
    ).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
      message: "Secrets Manager can't find the specified secret.",
      $metadata: { httpStatusCode: 400 },
    });
    const name = 'casbridge/delete/purged';
    await client().send(new CreateSecretCommand({ Name: name, SecretString: 'x' }));
    await client().send(new DeleteSecretCommand({ SecretId: name, RecoveryWindowInDays: 7 }));
    sandbox().world.clock.advance(7 * 86_400_000 + 1000);
    await expect(client().send(new RestoreSecretCommand({ SecretId: name }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
  });

  it('lets RestoreSecret only a role granted secretsmanager:RestoreSecret on that secret', async () => {
    const connector = connectorSecretName(sandboxConfig(sandbox()), '200000000099');
    const other = 'casbridge-other/restore';
    for (const name of [connector, other]) {
      await client().send(new CreateSecretCommand({ Name: name, SecretString: 'x' }));
      await client().send(new DeleteSecretCommand({ SecretId: name, RecoveryWindowInDays: 7 }));
    }
    const as = async (functionKey: string) =>
      new SecretsManagerClient(sandbox().clientConfig(await functionRoleCredentials(sandbox(), functionKey)));
    const denied = { name: 'AccessDeniedException', $metadata: { httpStatusCode: 400 } };
    // The offboard function schedules deletions and never undoes one.
    await expect(
      (await as('offboard')).send(new RestoreSecretCommand({ SecretId: connector })),
    ).rejects.toMatchObject(denied);
    // The access key function restores connector secrets, and no other.
    const accessKey = await as('accessKey');
    await expect(accessKey.send(new RestoreSecretCommand({ SecretId: other }))).rejects.toMatchObject(denied);
    await expect(accessKey.send(new RestoreSecretCommand({ SecretId: connector }))).resolves.toHaveProperty(
      'Name',
      connector,
    );
    expect((await client().send(new DescribeSecretCommand({ SecretId: other }))).DeletedDate).toBeInstanceOf(
      Date,
    );
  });

  it('frees the name once the recovery window has passed', async () => {
    const name = 'casbridge/delete/window';
    await client().send(new CreateSecretCommand({ Name: name, SecretString: 'x' }));
    await client().send(new DeleteSecretCommand({ SecretId: name, RecoveryWindowInDays: 7 }));
    sandbox().world.clock.advance(7 * 86_400_000 + 1000);
    await expect(client().send(new DescribeSecretCommand({ SecretId: name }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
    await expect(
      client().send(new CreateSecretCommand({ Name: name, SecretString: 'y' })),
    ).resolves.toHaveProperty('ARN');
  });

  it('force-deletes at once, and refuses a recovery window together with force or outside 7 to 30 days', async () => {
    const name = 'casbridge/delete/force';
    await client().send(new CreateSecretCommand({ Name: name, SecretString: 'x' }));
    await expect(
      client().send(
        new DeleteSecretCommand({
          SecretId: name,
          ForceDeleteWithoutRecovery: true,
          RecoveryWindowInDays: 7,
        }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidParameterException' });
    await expect(
      client().send(new DeleteSecretCommand({ SecretId: name, RecoveryWindowInDays: 6 })),
    ).rejects.toMatchObject({ name: 'InvalidParameterException' });

    await client().send(new DeleteSecretCommand({ SecretId: name, ForceDeleteWithoutRecovery: true }));
    await expect(client().send(new DescribeSecretCommand({ SecretId: name }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
    await expect(
      client().send(new DeleteSecretCommand({ SecretId: name, ForceDeleteWithoutRecovery: true })),
    ).resolves.toHaveProperty('DeletionDate');
  });

  it('lists secrets by name prefix and tag, page by page, leaving out those scheduled for deletion', async () => {
    for (const n of [1, 2, 3]) {
      await client().send(
        new CreateSecretCommand({
          Name: `casbridge/list/${n}`,
          SecretString: 'x',
          Tags: [{ Key: 'account', Value: `acct-${n}` }],
        }),
      );
    }
    await client().send(new DeleteSecretCommand({ SecretId: 'casbridge/list/3' }));
    const byName = { Key: 'name' as const, Values: ['casbridge/list/'] };

    const first = await client().send(new ListSecretsCommand({ Filters: [byName], MaxResults: 1 }));
    expect(first.SecretList?.map((s) => s.Name)).toEqual(['casbridge/list/1']);
    expect(first.NextToken).toBeDefined();
    const second = await client().send(
      new ListSecretsCommand({ Filters: [byName], MaxResults: 1, NextToken: first.NextToken }),
    );
    expect(second.SecretList?.map((s) => s.Name)).toEqual(['casbridge/list/2']);
    expect(second.NextToken).toBeUndefined();

    const withDeleted = await client().send(
      new ListSecretsCommand({ Filters: [byName], IncludePlannedDeletion: true }),
    );
    expect(withDeleted.SecretList?.map((s) => s.Name)).toEqual([
      'casbridge/list/1',
      'casbridge/list/2',
      'casbridge/list/3',
    ]);
    expect(withDeleted.SecretList?.[2]?.DeletedDate).toBeInstanceOf(Date);

    const byTag = await client().send(
      new ListSecretsCommand({
        Filters: [
          { Key: 'tag-key', Values: ['account'] },
          { Key: 'tag-value', Values: ['acct-2'] },
        ],
      }),
    );
    expect(byTag.SecretList?.map((s) => s.Name)).toEqual(['casbridge/list/2']);
  });

  it('adds, replaces and removes tags', async () => {
    const name = 'casbridge/tags';
    await client().send(
      new CreateSecretCommand({ Name: name, SecretString: 'x', Tags: [{ Key: 'a', Value: '1' }] }),
    );
    await client().send(
      new TagResourceCommand({
        SecretId: name,
        Tags: [
          { Key: 'a', Value: '2' },
          { Key: 'b', Value: '3' },
        ],
      }),
    );
    await client().send(new UntagResourceCommand({ SecretId: name, TagKeys: ['b'] }));
    expect((await client().send(new DescribeSecretCommand({ SecretId: name }))).Tags).toEqual([
      { Key: 'a', Value: '2' },
    ]);
  });

  it('denies the member role, which grants no Secrets Manager actions', async () => {
    const creds = await memberRoleCredentials(sandbox(), defaultAccountId(1));
    const member = new SecretsManagerClient(sandbox().clientConfig(creds));
    await expect(
      member.send(new CreateSecretCommand({ Name: 'member/secret', SecretString: 'x' })),
    ).rejects.toMatchObject({ name: 'AccessDeniedException', $metadata: { httpStatusCode: 400 } });
    await expect(member.send(new ListSecretsCommand({}))).rejects.toMatchObject({
      name: 'AccessDeniedException',
    });
    await expect(member.send(new GetSecretValueCommand({ SecretId: 'anything' }))).rejects.toMatchObject({
      name: 'AccessDeniedException',
    });
  });
});
