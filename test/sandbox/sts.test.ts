import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { defaultAccountId } from '../../sandbox/scenario/default-scenario';
import { assumeRole, functionRoleCredentials, memberRoleCredentials, useSandbox } from '../support/sandbox';

describe('STS', () => {
  const sandbox = useSandbox({ accounts: 40 });

  it('names the management administrator from its access key', async () => {
    const sts = new STSClient(sandbox().clientConfig());
    const me = await sts.send(new GetCallerIdentityCommand({}));
    expect(me.Account).toBe(sandbox().stack.accountId);
    expect(me.Arn).toBe(`arn:aws:iam::${sandbox().stack.accountId}:user/Admin`);
  });

  it('assumes the member role with the ExternalId and acts in the member account', async () => {
    const creds = await memberRoleCredentials(sandbox(), defaultAccountId(1));
    const me = await new STSClient(sandbox().clientConfig(creds)).send(new GetCallerIdentityCommand({}));
    expect(me.Account).toBe(defaultAccountId(1));
    expect(me.Arn).toBe(
      `arn:aws:sts::${defaultAccountId(1)}:assumed-role/CasBridgeExecutionRole/by-hand-test`,
    );
  });

  it("refuses a function's role to anyone but Lambda, the one principal it trusts", async () => {
    const arn = `arn:aws:iam::${sandbox().stack.accountId}:role/casbridge-dev-access`;
    await expect(assumeRole(sandbox(), arn)).rejects.toMatchObject({ name: 'AccessDenied' });
  });

  it("hands a deployed function its role's session, as Lambda does, and only for a role that trusts Lambda", async () => {
    const ask = (functionName: string) =>
      fetch(`${sandbox().endpoint}/_sandbox/lambda/credentials`, {
        method: 'POST',
        body: JSON.stringify({ functionName }),
      });
    const answer = (await (await ask('casbridge-dev-trail')).json()) as Record<string, string>;
    const me = await new STSClient(
      sandbox().clientConfig({
        accessKeyId: answer.AccessKeyId ?? '',
        secretAccessKey: answer.SecretAccessKey ?? '',
        sessionToken: answer.SessionToken ?? '',
      }),
    ).send(new GetCallerIdentityCommand({}));
    expect(me.Arn).toBe(
      `arn:aws:sts::${sandbox().stack.accountId}:assumed-role/casbridge-dev-trail/casbridge-dev-trail`,
    );

    const unknown = await ask('casbridge-dev-nothing');
    expect(unknown.status).toBe(400);
    const role = sandbox()
      .world.accounts.get(sandbox().stack.accountId)!
      .iam.roles.get('casbridge-dev-user')!;
    const trust = role.assumeRolePolicy;
    role.assumeRolePolicy = {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { AWS: `arn:aws:iam::${sandbox().stack.accountId}:root` },
          Action: 'sts:AssumeRole',
        },
      ],
    };
    try {
      const refused = await ask('casbridge-dev-user');
      expect(refused.status).toBe(400);
      expect(((await refused.json()) as { message: string }).message).toContain(
        'does not trust lambda.amazonaws.com',
      );
    } finally {
      role.assumeRolePolicy = trust;
    }
  });

  it('refuses the member role without the ExternalId', async () => {
    const task = await functionRoleCredentials(sandbox(), 'access');
    await expect(
      assumeRole(sandbox(), `arn:aws:iam::${defaultAccountId(1)}:role/CasBridgeExecutionRole`, { as: task }),
    ).rejects.toMatchObject({
      name: 'AccessDenied',
      $metadata: { httpStatusCode: 403 },
    });
  });

  it('refuses the member role to a principal the trust policy does not name', async () => {
    await expect(
      assumeRole(sandbox(), `arn:aws:iam::${defaultAccountId(1)}:role/CasBridgeExecutionRole`, {
        externalId: sandbox().stack.externalId,
      }),
    ).rejects.toMatchObject({ name: 'AccessDenied' });
  });

  it('answers a missing role exactly as a refused trust', async () => {
    const task = await functionRoleCredentials(sandbox(), 'access');
    const error = await assumeRole(
      sandbox(),
      `arn:aws:iam::${defaultAccountId(7)}:role/CasBridgeExecutionRole`,
      {
        as: task,
        externalId: sandbox().stack.externalId,
      },
    ).catch((e: Error) => e);
    expect(error).toMatchObject({ name: 'AccessDenied' });
    expect((error as Error).message).toContain('is not authorized to perform: sts:AssumeRole');
  });

  it('refuses a role that is not assumable yet, then accepts it once its time has come', async () => {
    const roleArn = `arn:aws:iam::${defaultAccountId(23)}:role/CasBridgeExecutionRole`;
    const task = await functionRoleCredentials(sandbox(), 'access');
    await expect(
      assumeRole(sandbox(), roleArn, { as: task, externalId: sandbox().stack.externalId }),
    ).rejects.toMatchObject({ name: 'AccessDenied' });
    sandbox().world.clock.advance(31_000);
    await expect(
      assumeRole(sandbox(), roleArn, { as: task, externalId: sandbox().stack.externalId }),
    ).resolves.toHaveProperty('sessionToken');
  });

  it('rejects an unknown access key as InvalidClientTokenId', async () => {
    const sts = new STSClient(
      sandbox().clientConfig({ accessKeyId: 'AKIAUNKNOWNUNKNOWN00', secretAccessKey: 'x' }),
    );
    await expect(sts.send(new GetCallerIdentityCommand({}))).rejects.toMatchObject({
      name: 'InvalidClientTokenId',
    });
  });

  it('rejects expired session credentials as ExpiredToken', async () => {
    const task = await memberRoleCredentials(sandbox(), defaultAccountId(1));
    sandbox().world.clock.advance(3601_000);
    const sts = new STSClient(sandbox().clientConfig(task));
    await expect(sts.send(new GetCallerIdentityCommand({}))).rejects.toMatchObject({
      name: 'ExpiredTokenException',
    });
  });

  it('caps chained role sessions at one hour', async () => {
    const task = await functionRoleCredentials(sandbox(), 'access');
    const sts = new STSClient(sandbox().clientConfig(task));
    const { AssumeRoleCommand } = await import('@aws-sdk/client-sts');
    await expect(
      sts.send(
        new AssumeRoleCommand({
          RoleArn: `arn:aws:iam::${defaultAccountId(1)}:role/CasBridgeExecutionRole`,
          RoleSessionName: 'long',
          ExternalId: sandbox().stack.externalId,
          DurationSeconds: 7200,
        }),
      ),
    ).rejects.toMatchObject({ name: 'ValidationError' });
  });
});
