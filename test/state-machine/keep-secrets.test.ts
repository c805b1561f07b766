import { CloudTrailClient, DescribeTrailsCommand } from '@aws-sdk/client-cloudtrail';
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { regionalState } from '../../sandbox/core/world';
import { defaultAccountId } from '../../sandbox/scenario/default-scenario';
import { setLambdaEnvironment } from '../support/lambda-env';
import { runStateMachine } from '../support/local-run';
import { useSandbox } from '../support/sandbox';

const DAY = 86_400_000;
const ID = defaultAccountId(1);

/** The stack deployed with keepSecrets=true: the connector secret outlives the connection. */
describe('a stack that keeps connector secrets', () => {
  const sandbox = useSandbox({ accounts: 1, stackParameters: { keepSecrets: 'true' } });
  const secretName = `casbridge/connector/${ID}`;
  const admin = () => new SecretsManagerClient(sandbox().clientConfig());

  beforeAll(async () => {
    setLambdaEnvironment(sandbox());
    await runStateMachine(sandbox(), { mode: 'onboard' });
  });

  it('keeps the secret once the connector uses its key, and the verify role may not delete it', async () => {
    const key = JSON.parse(
      (await admin().send(new GetSecretValueCommand({ SecretId: secretName }))).SecretString!,
    ) as { accessKeyId: string; secretAccessKey: string };
    await new CloudTrailClient(sandbox().clientConfig(key)).send(new DescribeTrailsCommand({}));

    const outcome = await runStateMachine(sandbox(), { mode: 'reconcile' });

    const account = outcome.report!.accounts.find((a) => a.accountId === ID)!;
    expect(account).toMatchObject({ connector: 'CONNECTED' });
    expect(account.steps.verify?.details?.secret).toBeUndefined();
    const secret = await admin().send(new DescribeSecretCommand({ SecretId: secretName }));
    expect(secret.DeletedDate).toBeUndefined();
    expect(sandbox().world.callLog.list({ operation: 'DeleteSecret' })).toEqual([]);
    // Least privilege: without the deletion there is no grant for it.
    const verifyRole = sandbox().deployment.roles.find((r) => r.logicalId === 'VerifyRole')!;
    expect(JSON.stringify(verifyRole.inlinePolicies)).not.toContain('secretsmanager:DeleteSecret');

    // Gone quiet, the notice points at the kept secret to paste the key again.
    const record = sandbox().world.accounts.get(ID)!.iam.accessKeys.get(key.accessKeyId)!;
    record.lastUsed = { ...record.lastUsed!, date: new Date(record.lastUsed!.date.getTime() - 8 * DAY) };
    const stale = await runStateMachine(sandbox(), { mode: 'reconcile' });
    expect(stale.report!.accounts.find((a) => a.accountId === ID)).toMatchObject({ connector: 'STALE' });
    const { accountId, region, topicArn } = sandbox().stack;
    const notice = (regionalState(sandbox().world, accountId, region).topics.get(topicArn)?.messages ?? [])
      .map((m) => JSON.parse(m.message))
      .find((m) => m.type === 'connector.stale');
    expect(notice).toMatchObject({ secretArn: secret.ARN, stale: { secretKept: true } });
    expect(notice.portalSteps.join('\n')).toContain(`revealed by \`casbridge credentials ${ID}\``);
  });
});
