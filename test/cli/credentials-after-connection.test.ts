import { CloudTrailClient, DescribeTrailsCommand } from '@aws-sdk/client-cloudtrail';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { Ledger } from '../../commons/ledger';
import { defaultAccountId } from '../../sandbox/scenario/default-scenario';
import { runCasbridge, sandboxExports } from '../support/cli-sandbox';
import { setLambdaEnvironment } from '../support/lambda-env';
import { runStateMachine } from '../support/local-run';
import { useSandbox } from '../support/sandbox';

const ID = defaultAccountId(1);

/**
 * `casbridge credentials` and `casbridge rotate` as an operator runs them (separate processes),
 * once casbridge deleted the connector secret because the connector was seen using its key.
 */
describe('the operator commands once the connector holds its key', () => {
  const sandbox = useSandbox({ accounts: 2 });
  const casbridge = (args: string[]) => runCasbridge(args, sandboxExports(sandbox()));
  const secretName = `casbridge/connector/${ID}`;
  const admin = () => new SecretsManagerClient(sandbox().clientConfig());
  const readKey = async (stage = 'AWSCURRENT') =>
    JSON.parse(
      (await admin().send(new GetSecretValueCommand({ SecretId: secretName, VersionStage: stage })))
        .SecretString!,
    ) as { accessKeyId: string; secretAccessKey: string };
  const connectorPolls = (key: { accessKeyId: string; secretAccessKey: string }) =>
    new CloudTrailClient(sandbox().clientConfig(key)).send(new DescribeTrailsCommand({}));
  const reconcile = async () =>
    (await runStateMachine(sandbox(), { mode: 'reconcile', accounts: [ID] })).report!.accounts.find(
      (a) => a.accountId === ID,
    )!;
  const ledgerItem = () =>
    new Ledger(
      DynamoDBDocumentClient.from(new DynamoDBClient(sandbox().clientConfig())),
      sandbox().stack.ledgerTable,
    ).get(ID);
  let pasted: { accessKeyId: string; secretAccessKey: string };

  beforeAll(async () => {
    setLambdaEnvironment(sandbox());
    await runStateMachine(sandbox(), { mode: 'onboard' });
    pasted = await readKey();
    await connectorPolls(pasted);
    await reconcile();
  });

  it('credentials says no secret is kept, why, and the exact commands for a new key', async () => {
    expect(
      (await admin().send(new DescribeSecretCommand({ SecretId: secretName }))).DeletedDate,
    ).toBeDefined();

    const result = await casbridge(['credentials', ID, '--yes']);

    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    const deletedOn = (await ledgerItem())?.secretDeletedAt?.slice(0, 10);
    expect(result.stderr).toContain(
      `casbridge: Account ${ID}: casbridge keeps no secret for access key ${pasted.accessKeyId}. The Defender connector was seen using the key, so casbridge deleted its secret on ${deletedOn}`,
    );
    expect(result.stderr).toContain(
      `get a new one at the portal: \`casbridge credentials ${ID} --new-key\` mints it in a one-account run, shows it once`,
    );
    expect(result.stderr).not.toContain(pasted.secretAccessKey);
    expect((await ledgerItem())?.revealedAt).toBeUndefined();
  });

  it('rotate records the request; the next run hands off a new key that credentials then shows', async () => {
    const requested = await casbridge(['rotate', ID]);
    expect(requested.code).toBe(0);
    expect(requested.stdout).toContain(
      `Recorded a rotation request for the connector key ${pasted.accessKeyId}`,
    );
    expect(await ledgerItem()).toMatchObject({
      rotationRequestedBy: sandbox().admin.arn,
      rotationRequestedAt: expect.any(String),
    });

    const started = await reconcile();

    expect(started).toMatchObject({
      connector: 'AWAITING_CONNECTION',
      steps: {
        accessKey: { reason: 'rotation-started' },
        register: { reason: 'rotation-handoff-sent' },
      },
    });
    const pendingId = String(started.steps.accessKey?.details?.pendingAccessKeyId);
    // A second request while the new key waits is refused, naming it.
    const again = await casbridge(['rotate', ID]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`already has a rotation pending: new key ${pendingId}`);

    const shown = await casbridge(['credentials', ID, '--yes']);
    expect(shown.code).toBe(0);
    const next = await readKey('AWSPENDING');
    expect(shown.stdout).toContain('this is the NEW key (secret stage AWSPENDING)');
    expect(shown.stdout).toContain(
      `Access key ID: ${pendingId}\nSecret access key: ${next.secretAccessKey}\n`,
    );

    // Pasted and used: the rotation completes and its secret is deleted in the same run.
    await connectorPolls(next);
    await expect(reconcile()).resolves.toMatchObject({
      connector: 'CONNECTED',
      steps: {
        accessKey: { reason: 'rotation-completed' },
        verify: { reason: 'connector-connected', details: { secret: 'deleted' } },
      },
    });
    expect(
      (await admin().send(new DescribeSecretCommand({ SecretId: secretName }))).DeletedDate,
    ).toBeDefined();
  });

  it('credentials, rotate and confirm refuse an account offboarded by hand, naming its status', async () => {
    const retired = defaultAccountId(2);
    const offboarded = await runStateMachine(sandbox(), { mode: 'offboard', accounts: [retired] });
    expect(offboarded.report!.accounts).toMatchObject([{ accountId: retired, connector: 'RETIRED' }]);

    for (const command of [
      ['credentials', retired, '--yes'],
      ['rotate', retired],
      ['confirm', retired],
    ]) {
      const result = await casbridge(command);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`casbridge: Account ${retired} was offboarded (RETIRED):`);
    }
  });
});
