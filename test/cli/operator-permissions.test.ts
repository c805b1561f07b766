import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  CreateAccessKeyCommand,
  CreateUserCommand,
  IAMClient,
  PutUserPolicyCommand,
} from '@aws-sdk/client-iam';
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { defaultAccountId } from '../../sandbox/scenario/default-scenario';
import { ROOT, runCasbridge, sandboxExports } from '../support/cli-sandbox';
import { setLambdaEnvironment } from '../support/lambda-env';
import { runStateMachine } from '../support/local-run';
import { DEFAULT_KEY_DELIVERY, useSandbox } from '../support/sandbox';

const ID = defaultAccountId(1);
const SLOW = 120_000;

/**
 * The operator's own identity, with exactly docs/operator-permissions.json: `casbridge
 * credentials --new-key` works with it (the run, the reveal and the secret's deletion, which is
 * the grant keys minted on demand add), and the deletion it grants reaches the connector secrets
 * and nothing else.
 */
describe("the operator's documented permissions", () => {
  const sandbox = useSandbox({ accounts: 1, stackParameters: { keyDelivery: DEFAULT_KEY_DELIVERY } });
  let operator: { accessKeyId: string; secretAccessKey: string };

  beforeAll(async () => {
    setLambdaEnvironment(sandbox());
    await runStateMachine(sandbox(), { mode: 'onboard' });
    const iam = new IAMClient(sandbox().clientConfig());
    await iam.send(new CreateUserCommand({ UserName: 'operator' }));
    await iam.send(
      new PutUserPolicyCommand({
        UserName: 'operator',
        PolicyName: 'casbridge-operator',
        PolicyDocument: readFileSync(path.join(ROOT, 'docs/operator-permissions.json'), 'utf8'),
      }),
    );
    const key = (await iam.send(new CreateAccessKeyCommand({ UserName: 'operator' }))).AccessKey!;
    operator = { accessKeyId: key.AccessKeyId!, secretAccessKey: key.SecretAccessKey! };
    iam.destroy();
  });

  it(
    'mints, shows and deletes a connector key with credentials --new-key, DeleteSecret used',
    async () => {
      const mark = sandbox().world.callLog.mark();
      const result = await runCasbridge(['credentials', ID, '--new-key', '--yes'], {
        ...sandboxExports(sandbox()),
        AWS_ACCESS_KEY_ID: operator.accessKeyId,
        AWS_SECRET_ACCESS_KEY: operator.secretAccessKey,
      });

      expect(result.stderr).not.toMatch(/AccessDenied|not authorized/);
      expect(result.code).toBe(0);
      const deletions = sandbox()
        .world.callLog.list({ sinceSeq: mark, operation: 'DeleteSecret' })
        .filter((c) => c.callerArn?.includes(':user/operator'));
      expect(deletions.map((c) => c.outcome)).toEqual(['ok']);
      const secret = await new SecretsManagerClient(sandbox().clientConfig()).send(
        new DescribeSecretCommand({ SecretId: `casbridge/connector/${ID}` }),
      );
      expect(secret.DeletedDate).toBeDefined();
    },
    SLOW,
  );

  it('may not delete a secret outside the connector prefix', async () => {
    const admin = new SecretsManagerClient(sandbox().clientConfig());
    await admin.send(new CreateSecretCommand({ Name: 'payments/database', SecretString: 'not casbridge' }));
    const asOperator = new SecretsManagerClient(sandbox().clientConfig(operator));

    await expect(
      asOperator.send(new DeleteSecretCommand({ SecretId: 'payments/database', RecoveryWindowInDays: 7 })),
    ).rejects.toMatchObject({ name: 'AccessDeniedException' });
    expect(
      (await admin.send(new DescribeSecretCommand({ SecretId: 'payments/database' }))).DeletedDate,
    ).toBeUndefined();
  });
});
