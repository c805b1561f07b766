import { CloudTrailClient, DescribeTrailsCommand } from '@aws-sdk/client-cloudtrail';
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { KEY_TAG, PENDING_KEY_TAG } from '../../commons/connector-resources';
import type { ReportAccount } from '../../commons/run';
import { resetRuntime } from '../../commons/runtime';
import { regionalState } from '../../sandbox/core/world';
import { defaultAccountId } from '../../sandbox/scenario/default-scenario';
import { accountStatus, renderStatusTable } from '../../scripts/render/status-table';
import { captureOutput } from '../support/capture-output';
import { setLambdaEnvironment } from '../support/lambda-env';
import { runStateMachine } from '../support/local-run';
import { operatorLedger } from '../support/operator-ledger';
import { sandboxConfig } from '../support/product';
import { useSandbox } from '../support/sandbox';

const DAY = 86_400_000;
const ID = defaultAccountId(1);

/**
 * Issue 12 §4 and §5 through the state machine run locally: a connected account's key is checked
 * on every reconcile (STALE after 7 days unused, one notice, CONNECTED again once used), and the
 * connector secret is deleted, with its recovery window, once the connector is seen using the key,
 * a rotation's secret likewise once the new key is in use. Each test builds on the one before.
 */
describe('a connected connector, run after run', () => {
  const sandbox = useSandbox({ accounts: 2 });
  const admin = () => new SecretsManagerClient(sandbox().clientConfig());
  const ledger = () => operatorLedger(sandbox());
  const secretName = `casbridge/connector/${ID}`;
  const describeSecret = () => admin().send(new DescribeSecretCommand({ SecretId: secretName }));
  /** The key the operator pasted, read from the secret while casbridge keeps it. */
  const readKey = async (stage = 'AWSCURRENT') =>
    JSON.parse(
      (await admin().send(new GetSecretValueCommand({ SecretId: secretName, VersionStage: stage })))
        .SecretString!,
    ) as { accessKeyId: string; secretAccessKey: string };
  /**
   * Defender polls CloudTrail with the key, `daysAgo` days before now. casbridge's tasks read the
   * machine's clock (the sandbox's can only be moved for what the sandbox stamps), so the poll is
   * made now and IAM's record of the key's last use then aged, as no-secret-leaks ages keys.
   */
  const connectorPolls = async (key: { accessKeyId: string; secretAccessKey: string }, daysAgo = 0) => {
    await new CloudTrailClient(sandbox().clientConfig(key)).send(new DescribeTrailsCommand({}));
    const record = sandbox().world.accounts.get(ID)!.iam.accessKeys.get(key.accessKeyId)!;
    record.lastUsed = {
      ...record.lastUsed!,
      date: new Date(record.lastUsed!.date.getTime() - daysAgo * DAY),
    };
  };
  const reconcile = async (): Promise<ReportAccount & { summary: Record<string, unknown> }> => {
    const outcome = await runStateMachine(sandbox(), { mode: 'reconcile', accounts: [ID] });
    const account = outcome.report!.accounts.find((a) => a.accountId === ID)!;
    return { ...account, summary: outcome.report!.summary as unknown as Record<string, unknown> };
  };
  /** The hand-off topic's messages about the account, by their `type`. */
  const messages = (type: string) => {
    const { accountId, region, topicArn } = sandbox().stack;
    return (regionalState(sandbox().world, accountId, region).topics.get(topicArn)?.messages ?? [])
      .filter(
        (m) => (m.messageAttributes.accountId as { StringValue?: string } | undefined)?.StringValue === ID,
      )
      .filter((m) => (m.messageAttributes.type as { StringValue?: string }).StringValue === type);
  };
  let pasted: { accessKeyId: string; secretAccessKey: string };

  beforeAll(async () => {
    setLambdaEnvironment(sandbox());
    await runStateMachine(sandbox(), { mode: 'onboard' });
    pasted = await readKey();
  });

  it('deletes the secret, with a 7-day recovery window, once the connector is seen using its key', async () => {
    await connectorPolls(pasted);

    const connected = await reconcile();

    expect(connected).toMatchObject({
      outcome: 'SUCCEEDED',
      connector: 'CONNECTED',
      steps: { verify: { reason: 'connector-connected', details: { secret: 'deleted' } } },
    });
    const secret = await describeSecret();
    expect(secret.DeletedDate).toBeInstanceOf(Date);
    const deletion = Date.parse(String(connected.steps.verify?.details?.secretDeletionDate));
    expect(Math.round((deletion - secret.DeletedDate!.getTime()) / DAY)).toBe(7);
    await expect(readKey()).rejects.toMatchObject({ name: 'InvalidRequestException' });
    // The ledger keeps the key id and the dates, never the secret, and no ARN of a deleted one.
    const item = await ledger().get(ID);
    expect(item).toMatchObject({
      connector: 'CONNECTED',
      accessKeyId: pasted.accessKeyId,
      secretArn: null,
      secretDeletedAt: expect.any(String),
    });
    expect(JSON.stringify(item)).not.toContain(pasted.secretAccessKey);
  });

  it('keeps an account CONNECTED while a service other than STS used its key within 7 days, secret untouched', async () => {
    await connectorPolls(pasted, 6);
    const mark = sandbox().world.callLog.mark();

    const result = await reconcile();

    expect(result).toMatchObject({
      outcome: 'SUCCEEDED',
      changed: false,
      connector: 'CONNECTED',
      steps: {
        accessKey: { action: 'unchanged', details: { keyLastUsedService: 'cloudtrail' } },
        register: { action: 'unchanged', reason: 'connected' },
        verify: { action: 'unchanged', details: { connector: 'CONNECTED', idleDays: 6 } },
      },
    });
    expect(messages('connector.stale')).toHaveLength(0);
    // The deleted secret stays deleted: nothing restores it, and nothing describes it daily.
    const secretCalls = sandbox()
      .world.callLog.list({ sinceSeq: mark })
      .filter((c) => c.service === 'secretsmanager');
    expect(secretCalls).toEqual([]);
  });

  it('makes a connector unused for 8 days STALE, tells the operator once, and counts it', async () => {
    await connectorPolls(pasted, 8);
    const output = captureOutput();
    let stale: Awaited<ReturnType<typeof reconcile>>;
    try {
      stale = await reconcile();
    } finally {
      jest.restoreAllMocks();
    }

    expect(stale).toMatchObject({
      outcome: 'SUCCEEDED',
      connector: 'STALE',
      steps: {
        register: { action: 'updated', reason: 'stale-notice-sent' },
        verify: { action: 'updated', reason: 'connector-stale', details: { idleDays: 8 } },
      },
    });
    expect(stale.summary).toMatchObject({ byConnector: expect.objectContaining({ STALE: 1, CONNECTED: 0 }) });
    // The run's metrics count it, for an alarm.
    const emf = output
      .flatMap((chunk) => chunk.split('\n'))
      .filter((line) => line.includes('"ConnectorsStale"'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(emf).toEqual([expect.objectContaining({ ConnectorsStale: 1 })]);

    // One notice, on the hand-off channel, that says the secret is gone and names the commands.
    const [notice] = messages('connector.stale');
    expect(messages('connector.stale')).toHaveLength(1);
    const body = JSON.parse(notice!.message);
    expect(notice!.subject).toBe(
      `casbridge: Defender stopped using the key of ${body.instanceName} (idle 8 days)`,
    );
    expect(body).toMatchObject({
      type: 'connector.stale',
      accountId: ID,
      accessKeyId: pasted.accessKeyId,
      stale: { idleDays: 8, staleAfterDays: 7, secretKept: false, rotateCommand: `casbridge rotate ${ID}` },
    });
    expect(body.secretArn).toBeUndefined();
    expect(body.portalSteps.join('\n')).toContain(
      `get a new one at the portal: \`casbridge credentials ${ID} --new-key\``,
    );
    expect(body.stale.notice).toMatch(/has not used access key \w+ for 8 days.*IAM\.22/);
    expect(notice!.message).not.toContain(pasted.secretAccessKey);

    // `casbridge status` shows it, what was done and what to do, and counts it.
    const item = (await ledger().get(ID))!;
    const status = renderStatusTable([accountStatus(item, Date.now(), sandboxConfig(sandbox()))]);
    expect(status).toMatch(new RegExp(`^${ID} +\\S+ +\\S+ +STALE +SUCCEEDED`, 'm'));
    expect(status).toContain(
      `${ID} STALE key ${pasted.accessKeyId}; last used ${item.keyLastUsedAt!.slice(0, 10)}; operator told ${item.staleNoticeAt!.slice(0, 10)}; no secret kept: \`casbridge credentials ${ID} --new-key\` for a new key to paste`,
    );
    expect(status).toMatch(/^1 accounts in the ledger: STALE 1;/m);

    // The next daily run: still STALE, no second notice.
    await expect(reconcile()).resolves.toMatchObject({
      connector: 'STALE',
      steps: {
        register: { action: 'unchanged', reason: 'stale-notice-sent-earlier' },
        verify: { action: 'unchanged', reason: 'connector-still-stale' },
      },
    });
    expect(messages('connector.stale')).toHaveLength(1);
  });

  it('returns a STALE connector to CONNECTED once it uses its key again', async () => {
    await connectorPolls(pasted);

    const result = await reconcile();

    expect(result).toMatchObject({
      connector: 'CONNECTED',
      changed: true,
      steps: { verify: { action: 'updated', reason: 'connector-live-again', details: { idleDays: 0 } } },
    });
    expect(messages('connector.stale')).toHaveLength(1);
  });

  it("deletes a rotation's secret once the connector uses the new key", async () => {
    // Past the recovery window the deleted secret is gone for good; the key reaches rotation age.
    sandbox().world.clock.advance(8 * DAY);
    resetRuntime();
    await expect(describeSecret()).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    const iam = sandbox().world.accounts.get(ID)!.iam;
    const inService = iam.accessKeys.get(pasted.accessKeyId)!;
    inService.createDate = new Date(inService.createDate.getTime() - 76 * DAY);

    const started = await reconcile();

    expect(started).toMatchObject({
      connector: 'AWAITING_CONNECTION',
      steps: {
        accessKey: { reason: 'rotation-started' },
        register: { reason: 'rotation-handoff-sent', details: { type: 'connector.rotation' } },
      },
    });
    // A new secret holds only the new key, as AWSPENDING, and names the key in service as current.
    const pendingId = String(started.steps.accessKey?.details?.pendingAccessKeyId);
    const secret = await describeSecret();
    expect(secret.DeletedDate).toBeUndefined();
    expect(Object.fromEntries((secret.Tags ?? []).map((t) => [t.Key, t.Value]))).toMatchObject({
      [KEY_TAG]: pasted.accessKeyId,
      [PENDING_KEY_TAG]: pendingId,
    });
    expect(Object.values(secret.VersionIdsToStages ?? {})).toEqual([['AWSPENDING']]);
    const [rotation] = messages('connector.rotation');
    expect(JSON.parse(rotation!.message)).toMatchObject({ accessKeyId: pendingId, secretArn: secret.ARN });

    // The operator pastes the new key; the connector uses it.
    const next = await readKey('AWSPENDING');
    expect(next.accessKeyId).toBe(pendingId);
    await connectorPolls(next);

    const completed = await reconcile();

    expect(completed).toMatchObject({
      connector: 'CONNECTED',
      steps: {
        accessKey: { reason: 'rotation-completed', details: { accessKeyId: pendingId } },
        verify: { reason: 'connector-connected', details: { secret: 'deleted' } },
      },
    });
    expect((await describeSecret()).DeletedDate).toBeInstanceOf(Date);
    expect(iam.accessKeys.get(pasted.accessKeyId)?.status).toBe('Inactive');
    expect(await ledger().get(ID)).toMatchObject({
      accessKeyId: pendingId,
      pendingAccessKeyId: null,
      secretArn: null,
      secretDeletedAt: expect.any(String),
    });
    // And the day after: connected on the new key, with no secret and no call to Secrets Manager.
    await expect(reconcile()).resolves.toMatchObject({
      connector: 'CONNECTED',
      changed: false,
      steps: { accessKey: { action: 'unchanged', details: { accessKeyId: pendingId, secretDeleted: true } } },
    });
  });
});
