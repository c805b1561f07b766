import { inspect } from 'node:util';
import { CloudTrailClient, DescribeTrailsCommand } from '@aws-sdk/client-cloudtrail';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DeleteAccessKeyCommand,
  DetachGroupPolicyCommand,
  GetAccessKeyLastUsedCommand,
} from '@aws-sdk/client-iam';
import {
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { clientConfig } from '../../commons/aws-clients';
import { connectorPolicyArn, connectorSecretName } from '../../commons/config';
import type { CasBridgeError } from '../../commons/errors';
import { Ledger } from '../../commons/ledger';
import type { StepResult } from '../../commons/step-result';
import { ensureAccessKey } from '../../functions/access-key/ensure-access-key';
import { ensurePolicy } from '../../functions/policy/ensure-policy';
import { ensureRegistration } from '../../functions/register/ensure-registration';
import { ensureUser } from '../../functions/user/ensure-user';
import { verifyConnector } from '../../functions/verify/verify-connector';
import type { Sandbox } from '../../sandbox';
import { regionalState } from '../../sandbox/core/world';
import { defaultAccountId } from '../../sandbox/scenario/default-scenario';
import { accountStatus, renderStatusTable } from '../../scripts/render/status-table';
import { withLedger } from '../support/ledger-step';
import { memberAccountClients } from '../support/member';
import { functionRoleSettings, sandboxConfig } from '../support/product';
import { useSandbox } from '../support/sandbox';

/**
 * Runs the pipeline up to register for the i-th account and returns verify's dependencies. The
 * wait between propagation retries advances the sandbox clock, so no test sleeps.
 */
async function prepare(sandbox: Sandbox, index: number, options: { register?: boolean } = {}) {
  const config = sandboxConfig(sandbox);
  const accountId = defaultAccountId(index);
  const name = sandbox.world.organization.accounts.get(accountId)?.name ?? '';
  const { iam } = await memberAccountClients(sandbox, config, accountId, 'verify');
  // Each step as its own function's role: the key's secret written by accessKey, the hand-off
  // by register, the ledger by recordResult, and verify reading the secret.
  const settings = await functionRoleSettings(sandbox, 'verify');
  const secrets = new SecretsManagerClient(clientConfig(settings));
  const keySecrets = new SecretsManagerClient(clientConfig(await functionRoleSettings(sandbox, 'accessKey')));
  const registerSettings = await functionRoleSettings(sandbox, 'register');
  const now = () => sandbox.world.clock.nowMs();
  const ledger = new Ledger(
    DynamoDBDocumentClient.from(
      new DynamoDBClient(clientConfig(await functionRoleSettings(sandbox, 'recordResult'))),
    ),
    sandbox.stack.ledgerTable,
    now,
  );
  /** The register step as the pipeline runs it after the access key step, as its own function's role. */
  const register = (accessKey: StepResult) =>
    withLedger(ledger, accountId, (view) =>
      ensureRegistration(
        {
          sns: new SNSClient(clientConfig(registerSettings)),
          secrets: new SecretsManagerClient(clientConfig(registerSettings)),
          config,
          now,
        },
        { accountId, name },
        { dryRun: false, ledger: view, steps: { accessKey } },
      ),
    );
  await ensureUser(iam, config, accountId, { dryRun: false });
  await ensurePolicy(iam, config, accountId, { dryRun: false });
  // On the ledger's view, as the pipeline runs it: once the connector holds the key and its secret
  // is deleted, the ledger is what names the key in service.
  const accessKeyStep = () =>
    withLedger(ledger, accountId, (view) =>
      ensureAccessKey({ iam, secrets: keySecrets, config, now }, accountId, { dryRun: false, ledger: view }),
    );
  const accessKey = await accessKeyStep();
  if (options.register !== false) await register(accessKey);
  const waits: number[] = [];
  const sleep = async (ms: number) => {
    waits.push(ms);
    sandbox.world.clock.advance(ms);
  };
  const deps = { iam, secrets, config, settings, sleep, now };
  /**
   * The key as the operator pasted it from the secret; once the connector uses it casbridge
   * deletes the secret, and the connector still holds the key last read.
   */
  let pasted: { accessKeyId: string; secretAccessKey: string } | undefined;
  const key = async () => {
    try {
      pasted = JSON.parse(
        (await secrets.send(new GetSecretValueCommand({ SecretId: connectorSecretName(config, accountId) })))
          .SecretString ?? '{}',
      ) as { accessKeyId: string; secretAccessKey: string };
    } catch (error) {
      if (!pasted || (error as Error).name !== 'InvalidRequestException') throw error;
    }
    return pasted;
  };
  const lastUsed = async () =>
    (await iam.send(new GetAccessKeyLastUsedCommand({ AccessKeyId: (await key()).accessKeyId })))
      .AccessKeyLastUsed;
  /** What Defender for Cloud Apps does once the operator pasted the key: read CloudTrail. */
  const connectorPolls = async () => {
    const { accessKeyId, secretAccessKey } = await key();
    await new CloudTrailClient(sandbox.clientConfig({ accessKeyId, secretAccessKey })).send(
      new DescribeTrailsCommand({}),
    );
  };
  /** Calls signed with the connector's key: a refused one has no account, so match on the key id. */
  const stsCalls = async () => {
    const { accessKeyId } = await key();
    return sandbox.world.callLog
      .list({ service: 'sts', operation: 'GetCallerIdentity' })
      .filter((c) => c.accessKeyId === accessKeyId);
  };
  const verify = (dryRun = false) =>
    withLedger(ledger, accountId, (view) => verifyConnector(deps, accountId, { dryRun, ledger: view }));
  /** The next run's access key and register steps, as the pipeline runs them before verify. */
  const rerunKeyAndHandoff = async () => {
    // As the pipeline runs them: each step as its own function's role.
    await register(await accessKeyStep());
  };
  return {
    accountId,
    config,
    iam,
    ledger,
    deps,
    key,
    lastUsed,
    connectorPolls,
    stsCalls,
    verify,
    waits,
    rerunKeyAndHandoff,
  };
}

describe('the verify step', () => {
  const sandbox = useSandbox({ accounts: 12 });

  it('proves the key once and stays AWAITING_CONNECTION before the connector uses it', async () => {
    const { verify, ledger, accountId, key, stsCalls } = await prepare(sandbox(), 1);

    const result = await verify();

    expect(result).toMatchObject({ action: 'unchanged', details: { connector: 'AWAITING_CONNECTION' } });
    const { accessKeyId, secretAccessKey } = await key();
    const item = await ledger.get(accountId);
    expect(item).toMatchObject({ connector: 'AWAITING_CONNECTION', verifiedAccessKeyId: accessKeyId });
    expect((await stsCalls()).filter((c) => c.outcome === 'ok')).toHaveLength(1);
    // The next daily run does not sign with the key again.
    await expect(verify()).resolves.toMatchObject({ action: 'unchanged' });
    expect(await stsCalls()).toHaveLength(1);
    for (const recorded of [result, item]) expect(JSON.stringify(recorded)).not.toContain(secretAccessKey);
  });

  it("does not count its own GetCallerIdentity as the connector's use of the key", async () => {
    const { verify, lastUsed } = await prepare(sandbox(), 2);
    sandbox().world.clock.advance(60_000);

    await verify();

    expect((await lastUsed())?.ServiceName).toBe('sts');
    sandbox().world.clock.advance(60_000);
    await expect(verify()).resolves.toMatchObject({
      action: 'unchanged',
      details: { connector: 'AWAITING_CONNECTION' },
    });
  });

  it('promotes the connector to CONNECTED once the key is used by a service other than STS after the hand-off', async () => {
    const { verify, ledger, accountId, connectorPolls, stsCalls } = await prepare(sandbox(), 4);
    await verify();
    // The operator pastes the keys a few minutes later; the connector starts polling CloudTrail.
    sandbox().world.clock.advance(5 * 60_000);
    await connectorPolls();

    const result = await verify();

    expect(result).toMatchObject({
      action: 'updated',
      reason: 'connector-connected',
      details: { connector: 'CONNECTED', evidence: 'key-used' },
    });
    expect(await ledger.get(accountId)).toMatchObject({
      connector: 'CONNECTED',
      connectedAt: expect.any(String),
    });
    const calls = (await stsCalls()).length;
    const mark = sandbox().world.callLog.mark();
    await expect(verify()).resolves.toMatchObject({
      action: 'unchanged',
      details: { connector: 'CONNECTED' },
    });
    // A healthy account: no further use of the key, and two calls into the account: the proof
    // that the connector user can do nothing high-risk, and whether the connector still uses the
    // key (in the pipeline the access key step looks, and verify asks nothing more).
    expect(await stsCalls()).toHaveLength(calls);
    expect(
      sandbox()
        .world.callLog.list({ sinceSeq: mark, account: accountId })
        .map((c) => c.operation),
    ).toEqual(['SimulatePrincipalPolicy', 'GetAccessKeyLastUsed']);
  });

  it("never signs with a key the connector already uses, so the connector's evidence stays intact", async () => {
    const { verify, connectorPolls, stsCalls, lastUsed } = await prepare(sandbox(), 5);
    sandbox().world.clock.advance(60_000);
    await connectorPolls();

    await expect(verify()).resolves.toMatchObject({ action: 'updated', reason: 'connector-connected' });

    expect(await stsCalls()).toHaveLength(0);
    expect((await lastUsed())?.ServiceName).toBe('cloudtrail');
  });

  it('promotes the connector to CONNECTED when an operator confirmed it', async () => {
    const { verify, ledger, accountId } = await prepare(sandbox(), 6);
    sandbox().world.clock.advance(60_000);
    await ledger.update(accountId, {
      confirmedAt: new Date(sandbox().world.clock.nowMs()).toISOString(),
      confirmedBy: 'operator@example.com',
    });

    await expect(verify()).resolves.toMatchObject({
      action: 'updated',
      reason: 'connector-connected',
      details: { connector: 'CONNECTED', evidence: 'confirmed' },
    });
    expect((await ledger.get(accountId))?.connector).toBe('CONNECTED');
  });

  it('fails with ConnectorPermissionsMissing naming the actions when the connector policy is detached', async () => {
    const { verify, iam, config, accountId, ledger } = await prepare(sandbox(), 8);
    await iam.send(
      new DetachGroupPolicyCommand({
        GroupName: config.groupName,
        PolicyArn: connectorPolicyArn(config, accountId),
      }),
    );

    const failure = verify();

    await expect(failure).rejects.toMatchObject({
      name: 'ConnectorPermissionsMissing',
      retryable: false,
      step: 'verify',
      actions: expect.arrayContaining(['cloudtrail:LookupEvents', 'iam:ListUsers', 's3:ListAllMyBuckets']),
    });
    await expect(failure).rejects.toThrow(/cloudtrail:DescribeTrails.*s3:GetBucketAcl/);
    expect((await ledger.get(accountId))?.connector).toBe('AWAITING_CONNECTION');
  });

  it('fails with ConnectorSecretMismatch when the stored secret does not sign for the key, and passes once the key is replaced as its remediation says', async () => {
    const { verify, key, stsCalls, ledger, accountId, config, iam, rerunKeyAndHandoff } = await prepare(
      sandbox(),
      12,
    );
    const stored = await key();
    // Someone outside casbridge writes a valid-looking secret for the same key id into the secret.
    const foreign = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
    await new SecretsManagerClient(sandbox().clientConfig()).send(
      new PutSecretValueCommand({
        SecretId: connectorSecretName(config, accountId),
        SecretString: JSON.stringify({ accessKeyId: stored.accessKeyId, secretAccessKey: foreign }),
      }),
    );

    const failure = (await verify().catch((error: unknown) => error)) as CasBridgeError;

    expect(failure).toMatchObject({ name: 'ConnectorSecretMismatch', retryable: false, step: 'verify' });
    expect(failure.remediation).toContain(
      `aws iam delete-access-key --user-name ${config.userName} --access-key-id ${stored.accessKeyId}`,
    );
    // What a log line or a report could carry: the record, and the error with its cause, in full.
    const told = `${JSON.stringify(failure.toRecord())} ${inspect(failure, { depth: 10 })}`;
    for (const secret of [foreign, stored.secretAccessKey]) expect(told).not.toContain(secret);
    // One refused signature, not retried as if the key were still propagating.
    expect((await stsCalls()).map((c) => c.errorCode)).toEqual(['SignatureDoesNotMatch']);
    expect((await ledger.get(accountId))?.verifiedAccessKeyId).toBeUndefined();

    await iam.send(
      new DeleteAccessKeyCommand({ UserName: config.userName, AccessKeyId: stored.accessKeyId }),
    );
    await rerunKeyAndHandoff();

    const replaced = await key();
    expect(replaced.accessKeyId).not.toBe(stored.accessKeyId);
    await expect(verify()).resolves.toMatchObject({
      action: 'unchanged',
      details: { connector: 'AWAITING_CONNECTION', accessKeyId: replaced.accessKeyId },
    });
    expect((await ledger.get(accountId))?.verifiedAccessKeyId).toBe(replaced.accessKeyId);
  });

  it('skips an account that was never handed off', async () => {
    const { verify, stsCalls } = await prepare(sandbox(), 9, { register: false });

    await expect(verify()).resolves.toMatchObject({ action: 'skipped', reason: 'not-registered' });
    expect(await stsCalls()).toHaveLength(0);
  });

  it('plans in a dry run without signing with the key or writing the ledger', async () => {
    const { verify, ledger, accountId, connectorPolls, stsCalls } = await prepare(sandbox(), 10);
    sandbox().world.clock.advance(60_000);
    await connectorPolls();

    await expect(verify(true)).resolves.toMatchObject({ action: 'updated', reason: 'dry-run' });

    expect(await stsCalls()).toHaveLength(0);
    expect((await ledger.get(accountId))?.connector).toBe('AWAITING_CONNECTION');
  });
});

describe('the verify step while IAM propagates a new key', () => {
  const sandbox = useSandbox({ accounts: 10, keyPropagationMs: 60_000 });

  it('retries a refused key with backoff, fails with KeyNotPropagated, then passes once IAM caught up', async () => {
    const { verify, waits, stsCalls, ledger, accountId, key } = await prepare(sandbox(), 1);

    const failure = (await verify().catch((error: unknown) => error)) as Error;
    expect(failure).toMatchObject({ name: 'KeyNotPropagated', retryable: true, step: 'verify' });
    expect(`${failure.message} ${failure.stack}`).not.toContain((await key()).secretAccessKey);

    const refused = (await stsCalls()).filter((c) => c.errorCode === 'InvalidClientTokenId');
    expect(refused.length).toBeGreaterThan(1);
    expect(waits).toHaveLength(refused.length - 1);
    expect(waits).toEqual([...waits].sort((a, b) => a - b));
    expect((await ledger.get(accountId))?.verifiedAccessKeyId).toBeUndefined();

    sandbox().world.clock.advance(60_000);
    await expect(verify()).resolves.toMatchObject({
      action: 'unchanged',
      details: { connector: 'AWAITING_CONNECTION' },
    });
    expect((await ledger.get(accountId))?.verifiedAccessKeyId).toBe((await key()).accessKeyId);
  });
});

describe('a hand-off the connector does not act on', () => {
  const sandbox = useSandbox({ accounts: 4 });
  const DAY = 86_400_000;

  /** The hand-off topic's messages about one account, as SNS delivered them. */
  const messagesFor = (accountId: string) => {
    const { accountId: central, region, topicArn } = sandbox().stack;
    return (regionalState(sandbox().world, central, region).topics.get(topicArn)?.messages ?? []).filter(
      (m) =>
        (m.messageAttributes.accountId as { StringValue?: string } | undefined)?.StringValue === accountId,
    );
  };
  /** A later day's reconcile: fresh sessions through the steps to register (prepare), then verify. */
  const dayLater = async (index: number, days: number) => {
    sandbox().world.clock.advance(days * DAY);
    const run = await prepare(sandbox(), index);
    return { ...run, verified: await run.verify() };
  };
  /** The ledger item, read with the administrator's credentials: a test's own sessions expire as days pass. */
  const ledgerItem = (accountId: string) =>
    new Ledger(
      DynamoDBDocumentClient.from(new DynamoDBClient(sandbox().clientConfig())),
      sandbox().stack.ledgerTable,
    ).get(accountId);

  it('is HANDOFF_OVERDUE after handoffOverdueDays, reminded once per overdue period, and CONNECTED once used', async () => {
    const first = await prepare(sandbox(), 1);
    const { accountId, config } = first;
    await expect(first.verify()).resolves.toMatchObject({ details: { connector: 'AWAITING_CONNECTION' } });
    const [handoff] = messagesFor(accountId);
    const { accessKeyId, secretAccessKey } = await first.key();
    expect(config.handoffOverdueDays).toBe(14);

    // Fifteen days without the connector: one reminder, through the hand-off's own channel.
    const late = await dayLater(1, 15);

    expect(late.verified).toMatchObject({
      action: 'unchanged',
      reason: 'handoff-overdue',
      details: { connector: 'HANDOFF_OVERDUE', accessKeyId, waitingDays: 15 },
    });
    const sent = messagesFor(accountId);
    expect(sent).toHaveLength(2);
    const reminder = JSON.parse(sent[1]!.message);
    const original = JSON.parse(handoff!.message);
    const item = await ledgerItem(accountId);
    expect(reminder).toMatchObject({
      type: 'connector.handoff',
      accessKeyId,
      portalSteps: original.portalSteps,
      reminder: {
        handedOffAt: item?.handoffAt,
        waitingDays: 15,
        failsSecurityHubIam22At: new Date(Date.parse(item!.handoffAt!) + 45 * DAY).toISOString(),
      },
    });
    expect(reminder.reminder.notice).toMatch(/waited 15 days.*Security Hub IAM\.22.*45 days.*in 30 days/);
    // Subscribers dedupe on handoffId: a reminder is a message of its own.
    expect(reminder.handoffId).not.toBe(original.handoffId);
    expect(sent[1]!.subject).toMatch(/^casbridge: Overdue 15 days: Connect /);
    expect(sent[1]!.messageAttributes).toMatchObject({ type: { StringValue: 'connector.handoff' } });
    expect(JSON.stringify(sent)).not.toContain(secretAccessKey);
    expect(item).toMatchObject({
      connector: 'HANDOFF_OVERDUE',
      handoffReminderAccessKeyId: accessKeyId,
      handoffReminderAt: reminder.requestedAt,
    });
    expect(JSON.stringify(item)).not.toContain(secretAccessKey);

    // `casbridge status` shows the account, the wait and the count.
    const status = renderStatusTable([accountStatus(item!, sandbox().world.clock.nowMs(), config)]);
    // Name and OU come with RecordResult, which this test does not run.
    expect(status).toMatch(new RegExp(`^${accountId} +HANDOFF_OVERDUE +never run +${accessKeyId}`, 'm'));
    expect(status).toContain(`${accountId} HANDOFF_OVERDUE key ${accessKeyId} has waited 15 d; reminded`);
    expect(status).toMatch(/^1 accounts in the ledger: HANDOFF_OVERDUE 1;/m);

    // The next daily run: still overdue, no second reminder.
    await expect(dayLater(1, 1)).resolves.toMatchObject({
      verified: { details: { connector: 'HANDOFF_OVERDUE', waitingDays: 16 } },
    });
    expect(messagesFor(accountId)).toHaveLength(2);

    // Another overdue period after the reminder: the second one, before IAM.22 fails at day 45.
    await dayLater(1, 13);
    expect(messagesFor(accountId)).toHaveLength(3);
    const second = JSON.parse(messagesFor(accountId)[2]!.message);
    expect(second.reminder).toMatchObject({ waitingDays: 29 });
    expect(second.handoffId).not.toBe(reminder.handoffId);

    // The operator pastes the key at last; the connector polls CloudTrail and the account connects.
    sandbox().world.clock.advance(60_000);
    const connecting = await prepare(sandbox(), 1);
    await connecting.connectorPolls();
    await expect(connecting.verify()).resolves.toMatchObject({
      action: 'updated',
      details: { connector: 'CONNECTED', evidence: 'key-used' },
    });
    expect((await ledgerItem(accountId))?.connector).toBe('CONNECTED');
    // Connected: no reminder of the hand-off, whatever time passes; a connector quiet for longer
    // than connectorStaleDays is another notice (test/state-machine/connector-liveness.test.ts).
    await dayLater(1, 15);
    const types = messagesFor(accountId).map((m) => JSON.parse(m.message).type);
    expect(types.filter((t) => t === 'connector.handoff')).toHaveLength(3);
    expect(types.slice(3)).toEqual(['connector.stale']);
  });

  it("treats a rotation's pending key alike: reminded with the rotation's portal steps", async () => {
    const first = await prepare(sandbox(), 2);
    const { accountId } = first;
    await first.connectorPolls();
    await expect(first.verify()).resolves.toMatchObject({ details: { connector: 'CONNECTED' } });
    const currentKey = (await first.key()).accessKeyId;

    // Day 76: the rotation hands off the pending key; fourteen days later it is still unused.
    await dayLater(2, 76);
    const rotation = messagesFor(accountId).at(-1)!;
    expect(JSON.parse(rotation.message)).toMatchObject({ type: 'connector.rotation' });
    const pendingKey = (await ledgerItem(accountId))?.pendingAccessKeyId;
    expect(pendingKey).toMatch(/^AKIA/);
    const late = await dayLater(2, 14);

    expect(late.verified).toMatchObject({
      reason: 'handoff-overdue',
      details: { connector: 'HANDOFF_OVERDUE', accessKeyId: pendingKey, waitingDays: 14 },
    });
    const reminder = JSON.parse(messagesFor(accountId).at(-1)!.message);
    expect(reminder).toMatchObject({
      type: 'connector.rotation',
      accessKeyId: pendingKey,
      reminder: { waitingDays: 14 },
    });
    expect(reminder.portalSteps.join('\n')).toContain('Edit settings');
    // The key in service is what IAM.3 fails at 90 days: the reminder says when.
    const inService = await ledgerItem(accountId);
    expect(reminder.reminder.keyInServiceFailsSecurityHubIam3At).toBe(
      new Date(Date.parse(inService!.keyCreatedAt!) + 90 * DAY).toISOString(),
    );
    expect(reminder.reminder.notice).toMatch(/IAM\.3 fails it once it is 90 days old/);
    // The connector still works with the key in service meanwhile: a rotation never breaks it.
    expect((await ledgerItem(accountId))?.accessKeyId).toBe(currentKey);
  });

  it('plans the reminder in a dry run without sending it or marking the account', async () => {
    const first = await prepare(sandbox(), 4);
    const { accountId } = first;
    sandbox().world.clock.advance(20 * DAY);
    const later = await prepare(sandbox(), 4, { register: false });
    const before = messagesFor(accountId).length;

    const registerSettings = await functionRoleSettings(sandbox(), 'register');
    const plan = await withLedger(later.ledger, accountId, (view) =>
      ensureRegistration(
        {
          sns: new SNSClient(clientConfig(registerSettings)),
          secrets: new SecretsManagerClient(clientConfig(registerSettings)),
          config: later.config,
          now: later.deps.now,
        },
        { accountId, name: '' },
        { dryRun: true, ledger: view },
      ),
    );

    expect(plan).toMatchObject({
      action: 'updated',
      reason: 'dry-run',
      details: { connector: 'HANDOFF_OVERDUE' },
    });
    await expect(later.verify(true)).resolves.toMatchObject({ details: { connector: 'HANDOFF_OVERDUE' } });
    expect(messagesFor(accountId)).toHaveLength(before);
    expect(await ledgerItem(accountId)).toMatchObject({ connector: 'AWAITING_CONNECTION' });
    expect((await ledgerItem(accountId))?.handoffReminderAt).toBeUndefined();
  });
});
