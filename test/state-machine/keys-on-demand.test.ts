import { CloudTrailClient, DescribeTrailsCommand } from '@aws-sdk/client-cloudtrail';
import { DescribeSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { regionalState } from '../../sandbox/core/world';
import { defaultAccountId } from '../../sandbox/scenario/default-scenario';
import { runCasbridge, sandboxExports } from '../support/cli-sandbox';
import { setLambdaEnvironment } from '../support/lambda-env';
import { runStateMachine } from '../support/local-run';
import { operatorLedger } from '../support/operator-ledger';
import { DEFAULT_KEY_DELIVERY, useSandbox } from '../support/sandbox';

const DAY = 86_400_000;
const ID = defaultAccountId(1);
const SECOND = defaultAccountId(2);
const SLOW = 120_000;

interface ShownKey {
  accessKeyId: string;
  secretAccessKey: string;
}

/**
 * The default key delivery (on-demand, issue 12 §5): no run mints a connector key by itself; the
 * operator's `casbridge credentials ACCOUNT --new-key` at the portal mints it in a one-account run
 * of the deployed state machine, shows it once and schedules its secret's deletion.
 */
describe('connector keys minted on demand, the default', () => {
  const sandbox = useSandbox({ accounts: 2, stackParameters: { keyDelivery: DEFAULT_KEY_DELIVERY } });
  const casbridge = (args: string[]) => runCasbridge(args, sandboxExports(sandbox()));
  const secretName = (id: string) => `casbridge/connector/${id}`;
  const admin = () => new SecretsManagerClient(sandbox().clientConfig());
  const keysOf = (id: string) => [...sandbox().world.accounts.get(id)!.iam.accessKeys.values()];
  const ledgerItem = (id: string) => operatorLedger(sandbox()).get(id);
  const messages = (id: string) => {
    const { accountId, region, topicArn } = sandbox().stack;
    return (regionalState(sandbox().world, accountId, region).topics.get(topicArn)?.messages ?? [])
      .map((m) => JSON.parse(m.message) as Record<string, unknown>)
      .filter((m) => m.accountId === id);
  };
  const reconcile = async (id: string) =>
    (await runStateMachine(sandbox(), { mode: 'reconcile', accounts: [id] })).report!.accounts.find(
      (a) => a.accountId === id,
    )!;
  const connectorPolls = (key: ShownKey) =>
    new CloudTrailClient(sandbox().clientConfig(key)).send(new DescribeTrailsCommand({}));
  const shownKey = (stdout: string): ShownKey => ({
    accessKeyId: /^Access key ID: (\S+)$/m.exec(stdout)?.[1] ?? '',
    secretAccessKey: /^Secret access key: (\S+)$/m.exec(stdout)?.[1] ?? '',
  });

  /** The key the first account's connector holds, as --new-key showed it. */
  let pasted: ShownKey;

  beforeAll(async () => {
    setLambdaEnvironment(sandbox());
  });

  it('onboarding prepares the account, mints no key and hands off once that a key is ready to mint', async () => {
    const onboard = await runStateMachine(sandbox(), { mode: 'onboard' });

    const account = onboard.report!.accounts.find((a) => a.accountId === ID)!;
    expect(account).toMatchObject({ outcome: 'SUCCEEDED', connector: 'AWAITING_CONNECTION' });
    expect(account.steps.user?.action).toBe('created');
    expect(account.steps.accessKey).toMatchObject({ action: 'skipped', reason: 'key-not-minted' });
    expect(account.steps.register).toMatchObject({ reason: 'key-due-handoff-sent' });
    expect(keysOf(ID)).toEqual([]);
    expect(sandbox().world.callLog.list({ operation: 'CreateAccessKey' })).toEqual([]);
    expect(sandbox().world.callLog.list({ operation: 'CreateSecret' })).toEqual([]);
    expect(await ledgerItem(ID)).toMatchObject({ keyDue: 'new-account', connector: 'AWAITING_CONNECTION' });
    const [handoff, ...others] = messages(ID);
    expect(others).toEqual([]);
    expect(handoff).toMatchObject({
      type: 'connector.key-due',
      keyDue: 'new-account',
      newKeyCommand: `casbridge credentials ${ID} --new-key`,
    });
    expect(handoff).not.toHaveProperty('secretArn');
    // Visible where the operator looks: the run's summary and `casbridge status`.
    expect(onboard.report!.summary.keysDue).toEqual({ notMintedYet: 2, rotationDue: 0 });
    const status = await casbridge(['status']);
    expect(status.stdout).toMatch(
      new RegExp(`^ {2}${ID} key not minted yet since \\d{4}-\\d{2}-\\d{2}$`, 'm'),
    );
    expect(status.stdout).toContain('keys due: 2 not minted yet, 0 rotation due');

    // The daily reconcile tells nobody again and stays on the read-only check.
    const again = await reconcile(ID);
    expect(again).toMatchObject({ connector: 'AWAITING_CONNECTION', changed: false });
    expect(again.steps.register?.reason).toBe('key-not-minted');
    expect(messages(ID)).toHaveLength(1);
  });

  it('--new-key refuses a pipe before it starts any run', async () => {
    const result = await casbridge(['credentials', ID, '--new-key']);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain('Refusing to print a secret access key to a pipe or file');
    expect((await ledgerItem(ID))?.keyRequestedAt).toBeUndefined();
  });

  it(
    '--new-key mints the key in a run, shows it once and schedules its secret for deletion; the next reconcile connects',
    async () => {
      const result = await casbridge(['credentials', ID, '--new-key', '--yes']);

      expect(result.stderr).not.toContain('Error');
      expect(result.code).toBe(0);
      const key = shownKey(result.stdout);
      pasted = key;
      expect(keysOf(ID).map((k) => k.accessKeyId)).toEqual([key.accessKeyId]);
      expect(result.stdout).toContain('is scheduled for deletion');
      const secret = await admin()
        .send(new DescribeSecretCommand({ SecretId: secretName(ID) }))
        .catch((error: Error) => error);
      // Scheduled for deletion: Secrets Manager's DescribeSecret still answers, with a DeletedDate.
      expect(secret).toMatchObject({ DeletedDate: expect.any(Date) });
      const item = await ledgerItem(ID);
      expect(item).toMatchObject({
        accessKeyId: key.accessKeyId,
        handoffAccessKeyId: key.accessKeyId,
        secretArn: null,
        secretDeletedAt: expect.any(String),
        revealedAt: expect.any(String),
        keyRequestedBy: sandbox().admin.arn,
        keyDue: null,
      });
      // No message tells the operator what the operator is doing.
      expect(messages(ID)).toHaveLength(1);

      const waiting = await reconcile(ID);
      expect(waiting).toMatchObject({ outcome: 'SUCCEEDED', connector: 'AWAITING_CONNECTION' });

      await connectorPolls(key);
      const connected = await reconcile(ID);
      expect(connected).toMatchObject({ outcome: 'SUCCEEDED', connector: 'CONNECTED' });
      expect(connected.steps.verify?.details?.evidence).toBe('key-used');
    },
    SLOW,
  );

  it('credentials without --new-key says the key was shown once and how to get another', async () => {
    // The second account was onboarded with the first: a key is due, none minted.
    const due = await casbridge(['credentials', SECOND, '--yes']);
    expect(due.code).toBe(1);
    expect(due.stderr).toContain(`run \`casbridge credentials ${SECOND} --new-key\``);
  });

  it(
    '--new-key again replaces a key shown and never used, never leaving two',
    async () => {
      const first = shownKey((await casbridge(['credentials', SECOND, '--new-key', '--yes'])).stdout);
      const second = await casbridge(['credentials', SECOND, '--new-key', '--yes']);

      expect(second.code).toBe(0);
      const key = shownKey(second.stdout);
      expect(key.accessKeyId).not.toBe(first.accessKeyId);
      expect(keysOf(SECOND).map((k) => k.accessKeyId)).toEqual([key.accessKeyId]);
      await connectorPolls(key);
      expect(await reconcile(SECOND)).toMatchObject({ connector: 'CONNECTED' });
    },
    SLOW,
  );

  it(
    'a rotation due mints nothing and hands off once; --new-key rotates; the old key is retired only once the new one is used',
    async () => {
      const inService = keysOf(ID)[0]!;
      // The key reaches rotation age (keyMaxAgeDays 75).
      inService.createDate = new Date(inService.createDate.getTime() - 76 * DAY);
      const polled = pasted;
      await connectorPolls(polled);

      const due = await reconcile(ID);
      expect(due).toMatchObject({ connector: 'CONNECTED' });
      expect(due.steps.accessKey).toMatchObject({ action: 'unchanged', reason: 'rotation-due' });
      expect(keysOf(ID)).toHaveLength(1);
      const told = messages(ID).filter((m) => m.type === 'connector.key-due' && m.keyDue === 'rotation-due');
      expect(told).toHaveLength(1);
      const status = JSON.parse((await casbridge(['status', '--json'])).stdout) as {
        keysDue: { rotationDue: number };
        accounts: { accountId: string; keyDue: string | null; failsIam3At: string | null }[];
      };
      expect(status.keysDue.rotationDue).toBe(1);
      expect(status.accounts.find((a) => a.accountId === ID)).toMatchObject({
        keyDue: 'rotation-due',
        failsIam3At: expect.any(String),
      });
      await connectorPolls(polled);
      await reconcile(ID);
      expect(messages(ID).filter((m) => m.keyDue === 'rotation-due')).toHaveLength(1);

      const rotated = await casbridge(['credentials', ID, '--new-key', '--yes']);
      expect(rotated.code).toBe(0);
      expect(rotated.stdout).toContain('this is the NEW key');
      const fresh = shownKey(rotated.stdout);
      expect(keysOf(ID).map((k) => [k.accessKeyId, k.status])).toEqual([
        [inService.accessKeyId, 'Active'],
        [fresh.accessKeyId, 'Active'],
      ]);

      await connectorPolls(polled);
      const awaiting = await reconcile(ID);
      expect(awaiting.steps.accessKey?.reason).toBe('rotation-awaiting-connector');
      expect(keysOf(ID).find((k) => k.accessKeyId === inService.accessKeyId)?.status).toBe('Active');

      await connectorPolls(fresh);
      const done = await reconcile(ID);
      expect(done).toMatchObject({ outcome: 'SUCCEEDED', connector: 'CONNECTED' });
      expect(done.steps.accessKey?.reason).toBe('rotation-completed');
      expect(keysOf(ID).find((k) => k.accessKeyId === inService.accessKeyId)?.status).toBe('Inactive');
      expect(await ledgerItem(ID)).toMatchObject({
        accessKeyId: fresh.accessKeyId,
        pendingAccessKeyId: null,
        connector: 'CONNECTED',
      });
    },
    SLOW,
  );

  it('casbridge rotate, on demand, makes the next run hand off a key due as requested, minting nothing', async () => {
    const before = keysOf(ID).map((k) => k.accessKeyId);
    const requested = await casbridge(['rotate', ID]);
    expect(requested.code).toBe(0);
    expect(requested.stdout).toContain(`\`casbridge credentials ${ID} --new-key\` at the portal mints it`);

    const run = await reconcile(ID);

    expect(run).toMatchObject({ outcome: 'SUCCEEDED', connector: 'CONNECTED' });
    expect(run.steps.accessKey).toMatchObject({ reason: 'rotation-due', details: { keyDue: 'requested' } });
    expect(keysOf(ID).map((k) => k.accessKeyId)).toEqual(before);
    expect(messages(ID).filter((m) => m.keyDue === 'requested')).toHaveLength(1);
  });

  it('--new-key on an account it cannot serve (unknown, held by a run, offboarded) changes nothing', async () => {
    const unknown = await casbridge(['credentials', '999999999999', '--new-key', '--yes']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr.trim().split('\n')).toHaveLength(1);
    expect(unknown.stderr).toContain('is not in the ledger');

    const ledger = operatorLedger(sandbox());
    await ledger.acquireLease(SECOND, { token: 'execution-elsewhere', runId: 'run-elsewhere' }, 900);
    const before = await ledgerItem(SECOND);
    const held = await casbridge(['credentials', SECOND, '--new-key', '--yes']);
    expect(held.code).toBe(1);
    expect(held.stderr).toContain('is being worked on by run run-elsewhere');
    expect((await ledgerItem(SECOND))?.keyRequestedAt).toBe(before?.keyRequestedAt);
    await ledger.releaseLease(SECOND, 'execution-elsewhere');

    // A person offboards the account: it is RETIRED, and no key is minted for it.
    await runStateMachine(sandbox(), { mode: 'offboard', accounts: [SECOND] });
    const mark = sandbox().world.callLog.mark();
    const retired = await casbridge(['credentials', SECOND, '--new-key', '--yes']);
    expect(retired.code).toBe(1);
    expect(retired.stderr.trim().split('\n')).toHaveLength(1);
    expect(retired.stderr).toContain(`Account ${SECOND} was offboarded (RETIRED)`);
    expect((await ledgerItem(SECOND))?.keyRequestedAt).toBe(before?.keyRequestedAt);
    expect(sandbox().world.callLog.list({ sinceSeq: mark, operation: 'StartExecution' })).toEqual([]);
  });
});
