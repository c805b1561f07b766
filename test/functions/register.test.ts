import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CloudTrailClient, DescribeTrailsCommand } from '@aws-sdk/client-cloudtrail';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  CreateSecretCommand,
  GetSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { clientConfig } from '../../commons/aws-clients';
import { connectorSecretName } from '../../commons/config';
import { Ledger } from '../../commons/ledger';
import { ensureAccessKey } from '../../functions/access-key/ensure-access-key';
import { ensurePolicy } from '../../functions/policy/ensure-policy';
import { deliverWebhook, ensureRegistration } from '../../functions/register/ensure-registration';
import { ensureUser } from '../../functions/user/ensure-user';
import { regionalState } from '../../sandbox/core/world';
import { defaultAccountId } from '../../sandbox/scenario/default-scenario';
import { withLedger } from '../support/ledger-step';
import { memberAccountClients } from '../support/member';
import { functionRoleSettings, sandboxConfig } from '../support/product';
import { useSandbox } from '../support/sandbox';

describe('the register step', () => {
  const sandbox = useSandbox({ accounts: 14 });

  /** The hand-off topic's messages, as SNS delivered them. */
  const messages = () => {
    const { accountId, region, topicArn } = sandbox().stack;
    return regionalState(sandbox().world, accountId, region).topics.get(topicArn)?.messages ?? [];
  };

  /** Runs the steps before register, as the pipeline does, and returns register's dependencies. */
  async function prepare(index: number, overrides: Record<string, string> = {}) {
    const config = sandboxConfig(sandbox(), overrides);
    const accountId = defaultAccountId(index);
    const name = sandbox().world.organization.accounts.get(accountId)?.name ?? '';
    const { iam } = await memberAccountClients(sandbox(), config, accountId, 'accessKey');
    // Each step as its function's role: register's own, the key written by accessKey, the
    // ledger by recordResult; what the test reads back, as the operator.
    const settings = await functionRoleSettings(sandbox(), 'register');
    const secrets = new SecretsManagerClient(clientConfig(settings));
    const keySecrets = new SecretsManagerClient(
      clientConfig(await functionRoleSettings(sandbox(), 'accessKey')),
    );
    const operatorSecrets = new SecretsManagerClient(sandbox().clientConfig());
    const now = () => sandbox().world.clock.nowMs();
    await ensureUser(iam, config, accountId, { dryRun: false });
    await ensurePolicy(iam, config, accountId, { dryRun: false });
    await ensureAccessKey({ iam, secrets: keySecrets, config, now }, accountId, { dryRun: false });
    const ledger = new Ledger(
      DynamoDBDocumentClient.from(
        new DynamoDBClient(clientConfig(await functionRoleSettings(sandbox(), 'recordResult'))),
      ),
      sandbox().stack.ledgerTable,
      now,
    );
    const deps = {
      sns: new SNSClient(clientConfig(settings)),
      secrets,
      config,
      now,
      /** The access key step's dependencies, to complete a rotation. */
      rotation: { iam, secrets: keySecrets, config, now },
    };
    const secretValue = async (stage = 'AWSCURRENT') =>
      JSON.parse(
        (
          await operatorSecrets.send(
            new GetSecretValueCommand({
              SecretId: connectorSecretName(config, accountId),
              VersionStage: stage,
            }),
          )
        ).SecretString ?? '{}',
      ) as { accessKeyId: string; secretAccessKey: string };
    /** The step as the pipeline runs it, on the ledger view, its changes recorded. */
    const register = (dryRun: boolean) =>
      withLedger(ledger, accountId, (view) =>
        ensureRegistration(deps, { accountId, name }, { dryRun, ledger: view }),
      );
    return { accountId, name, iam, secrets, ledger, deps, secretValue, register };
  }

  it('hands off the account once: one message naming the account, the secret and the portal steps, never the secret key', async () => {
    const { accountId, name, ledger, secretValue, register } = await prepare(1);
    const before = messages().length;

    const result = await register(false);

    expect(result).toMatchObject({
      action: 'created',
      reason: 'handoff-sent',
      details: { connector: 'AWAITING_CONNECTION' },
    });
    const sent = messages().slice(before);
    expect(sent).toHaveLength(1);
    const message = sent[0]!;
    const body = JSON.parse(message.message);
    const { accessKeyId, secretAccessKey } = await secretValue();
    const item = await ledger.get(accountId);
    expect(body).toMatchObject({
      type: 'connector.handoff',
      accountId,
      accountName: name,
      instanceName: `${name} (${accountId})`,
      accessKeyId,
      secretArn: item?.secretArn,
      credentialsCommand: `casbridge credentials ${accountId}`,
    });
    const steps = body.portalSteps.join('\n');
    expect(steps).toContain('Settings → Cloud Apps → App Connectors');
    expect(steps).toContain('Connect an app → Amazon Web Services');
    expect(steps).toContain(`"${name} (${accountId})"`);
    expect(message.messageAttributes).toMatchObject({
      type: { DataType: 'String', StringValue: 'connector.handoff' },
    });
    // The non-negotiable: the secret key is in Secrets Manager and nowhere else.
    expect(JSON.stringify(message)).not.toContain(secretAccessKey);
    expect(JSON.stringify(result)).not.toContain(secretAccessKey);
    expect(JSON.stringify(item)).not.toContain(secretAccessKey);
    expect(item).toMatchObject({
      connector: 'AWAITING_CONNECTION',
      handoffAccessKeyId: accessKeyId,
      accessKeyId,
      secretArn: expect.stringMatching(/^arn:aws:secretsmanager:/),
      handoffAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
  });

  it('does not hand off the same key again on the next daily run', async () => {
    const first = await prepare(2);
    await first.register(false);
    const before = messages().length;
    sandbox().world.clock.advance(86_400_000);
    // The next day's run, with its own sessions, goes through the earlier steps again.
    const { register } = await prepare(2);

    const again = await register(false);

    expect(again).toMatchObject({
      action: 'unchanged',
      reason: 'awaiting-connection',
      details: { connector: 'AWAITING_CONNECTION' },
    });
    expect(messages()).toHaveLength(before);
  });

  it('leaves a connector that is connected with the same key alone', async () => {
    const { accountId, ledger, register } = await prepare(4);
    await register(false);
    await ledger.update(accountId, { connector: 'CONNECTED' });
    const before = messages().length;

    const again = await register(false);

    expect(again).toMatchObject({ action: 'unchanged', details: { connector: 'CONNECTED' } });
    expect((await ledger.get(accountId))?.connector).toBe('CONNECTED');
    expect(messages()).toHaveLength(before);
  });

  it('plans the hand-off in a dry run without sending it', async () => {
    const { accountId, ledger, register } = await prepare(5);
    const before = messages().length;

    const plan = await register(true);

    expect(plan).toMatchObject({ action: 'created', reason: 'dry-run' });
    expect(messages()).toHaveLength(before);
    expect((await ledger.get(accountId))?.handoffAt).toBeUndefined();
  });

  it('asks the operator to edit the existing instance when a rotation is pending', async () => {
    const first = await prepare(6);
    await first.register(false);
    await first.ledger.update(first.accountId, { connector: 'CONNECTED' });
    sandbox().world.clock.advance(91 * 86_400_000);
    // Ninety days on, the next run has fresh sessions and starts the rotation.
    const { accountId, name, deps, ledger, secretValue, register } = await prepare(6);
    const before = messages().length;

    const result = await register(false);

    const pending = await secretValue('AWSPENDING');
    expect(result).toMatchObject({
      action: 'updated',
      reason: 'rotation-handoff-sent',
      details: { connector: 'AWAITING_CONNECTION', accessKeyId: pending.accessKeyId },
    });
    const sent = messages().slice(before);
    expect(sent).toHaveLength(1);
    const body = JSON.parse(sent[0]!.message);
    expect(body).toMatchObject({ type: 'connector.rotation', accessKeyId: pending.accessKeyId });
    const steps = body.portalSteps.join('\n');
    expect(steps).toContain(`"${name} (${accountId})"`);
    expect(steps).toContain('Edit settings');
    expect(steps).not.toContain('Connect an app');
    expect(steps).toContain(`casbridge credentials ${accountId}`);
    expect(sent[0]!.messageAttributes).toMatchObject({ type: { StringValue: 'connector.rotation' } });
    expect(JSON.stringify(sent[0])).not.toContain(pending.secretAccessKey);
    expect(JSON.stringify(result)).not.toContain(pending.secretAccessKey);
    expect(await ledger.get(accountId)).toMatchObject({
      connector: 'AWAITING_CONNECTION',
      handoffAccessKeyId: pending.accessKeyId,
      pendingAccessKeyId: pending.accessKeyId,
    });

    // The operator edits the instance; the connector uses the new key and the rotation completes.
    sandbox().world.clock.advance(5 * 60_000);
    await new CloudTrailClient(
      sandbox().clientConfig({ accessKeyId: pending.accessKeyId, secretAccessKey: pending.secretAccessKey }),
    ).send(new DescribeTrailsCommand({}));
    await ensureAccessKey(deps.rotation, accountId, { dryRun: false });
    const sentBefore = messages().length;
    await expect(register(false)).resolves.toMatchObject({
      action: 'unchanged',
      reason: 'awaiting-connection',
    });
    expect(messages()).toHaveLength(sentBefore);
    expect(await ledger.get(accountId)).toMatchObject({
      accessKeyId: pending.accessKeyId,
      pendingAccessKeyId: null,
      handoffAccessKeyId: pending.accessKeyId,
    });
  });

  describe('with a webhook', () => {
    let server: Server;
    let url: string;
    /** The receiver's answer: a status, or none at all (it holds the request open). */
    let answer: number | 'hang' = 200;
    const received: { headers: IncomingHttpHeaders; body: string }[] = [];
    const held: ServerResponse[] = [];

    beforeAll(async () => {
      server = createServer((request, response) => {
        const chunks: Buffer[] = [];
        request.on('data', (chunk: Buffer) => chunks.push(chunk));
        request.on('end', () => {
          received.push({ headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
          if (answer === 'hang') held.push(response);
          else response.writeHead(answer).end();
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/casbridge`;
    });
    afterAll(() => {
      for (const response of held) response.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    });

    /** The signing key, created by the management account's administrator at deployment. */
    async function signingSecret(name: string, key: string): Promise<string> {
      const admin = new SecretsManagerClient(sandbox().clientConfig());
      const out = await admin.send(new CreateSecretCommand({ Name: name, SecretString: key }));
      return out.ARN ?? '';
    }

    /** The topic's hand-offs of one account. */
    const handoffsOf = (accountId: string) =>
      messages().filter((m) => (JSON.parse(m.message) as { accountId?: string }).accountId === accountId);

    it('publishes to the topic first and leaves the same JSON owed to the webhook, posting nothing yet', async () => {
      const arn = await signingSecret('casbridge/webhook-signing-0', 'zeroth-key');
      const { accountId, register } = await prepare(
        12,
        sandbox().deployStack({ webhookUrl: url, webhookSecretArn: arn }),
      );
      received.length = 0;

      const handedOff = await register(false);

      expect(handedOff).toMatchObject({
        action: 'created',
        reason: 'handoff-sent',
        details: { sns: 'delivered', webhook: 'pending', operatorReached: true },
      });
      const sent = handoffsOf(accountId);
      expect(sent).toHaveLength(1);
      expect(handedOff.pendingWebhook).toBe(sent[0]?.message);
      expect(handedOff.details?.handoffId).toBe(JSON.parse(sent[0]!.message).handoffId);
      expect(received).toEqual([]);
    });

    it('posts the same JSON as the topic, signed with HMAC-SHA256 over the timestamp and body', async () => {
      const key = 'whsec-test-signing-key';
      const arn = await signingSecret('casbridge/webhook-signing', key);
      // Deployed with the webhook: the register role may read that one signing secret.
      const { accountId, deps, secretValue, register } = await prepare(
        8,
        sandbox().deployStack({ webhookUrl: url, webhookSecretArn: arn }),
      );
      answer = 200;
      received.length = 0;

      const delivered = await deliverWebhook(deps, await register(false));

      expect(received).toHaveLength(1);
      const { headers, body } = received[0]!;
      expect(body).toBe(handoffsOf(accountId)[0]?.message);
      expect(headers['content-type']).toBe('application/json');
      const timestamp = String(headers['x-casbridge-timestamp']);
      const expected = createHmac('sha256', key).update(`${timestamp}.${body}`).digest('hex');
      expect(headers['x-casbridge-signature']).toBe(`sha256=${expected}`);
      expect(body).not.toContain((await secretValue()).secretAccessKey);
      expect(body).not.toContain(key);
      expect(delivered).toMatchObject({
        action: 'created',
        details: { sns: 'delivered', webhook: 'delivered', operatorReached: true },
      });
      expect(delivered.pendingWebhook).toBeUndefined();
    });

    it('posts once per attempt while the receiver answers 500, the same hand-off each time, and never publishes again', async () => {
      const key = 'another-key';
      const arn = await signingSecret('casbridge/webhook-signing-2', key);
      const { accountId, deps, register } = await prepare(
        9,
        sandbox().deployStack({ webhookUrl: url, webhookSecretArn: arn }),
      );
      answer = 500;
      received.length = 0;
      const handedOff = await register(false);

      // The state machine's Retry runs DeliverWebhook again on the same input: three attempts.
      for (let attempt = 0; attempt < 3; attempt++) {
        await expect(deliverWebhook(deps, handedOff)).rejects.toMatchObject({
          name: 'WebhookFailed',
          retryable: true,
          step: 'register',
          answer: 'HTTP 500',
          message: expect.stringContaining('answered HTTP 500'),
        });
      }

      expect(received).toHaveLength(3);
      for (const { headers, body } of received) {
        expect(body).toBe(handedOff.pendingWebhook);
        const timestamp = String(headers['x-casbridge-timestamp']);
        const expected = createHmac('sha256', key).update(`${timestamp}.${body}`).digest('hex');
        expect(headers['x-casbridge-signature']).toBe(`sha256=${expected}`);
      }
      expect(handoffsOf(accountId)).toHaveLength(1);
      answer = 200;
      await expect(deliverWebhook(deps, handedOff)).resolves.toMatchObject({
        details: { webhook: 'delivered' },
      });
      expect(handoffsOf(accountId)).toHaveLength(1);
    });

    it('fails with WebhookFailed naming the timeout when the receiver never answers', async () => {
      const arn = await signingSecret('casbridge/webhook-signing-4', 'fourth-key');
      const { deps, register } = await prepare(14, {
        ...sandbox().deployStack({ webhookUrl: url, webhookSecretArn: arn }),
        CASBRIDGE_WEBHOOK_TIMEOUT_SECONDS: '1',
      });
      answer = 'hang';
      received.length = 0;

      const failure = await deliverWebhook(deps, await register(false)).catch((error: unknown) => error);

      expect(failure).toMatchObject({
        name: 'WebhookFailed',
        retryable: true,
        answer: 'timeout',
        message: expect.stringContaining('did not answer within 1 s'),
      });
      expect(received).toHaveLength(1);
      answer = 200;
    });

    it('fails with WebhookFailed when the receiver cannot be reached, without naming its path', async () => {
      const arn = await signingSecret('casbridge/webhook-signing-3', 'third-key');
      const closed = createServer();
      await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
      const port = (closed.address() as AddressInfo).port;
      await new Promise<void>((resolve) => closed.close(() => resolve()));
      const { deps, register } = await prepare(
        10,
        sandbox().deployStack({
          webhookUrl: `http://127.0.0.1:${port}/hooks/token-in-path`,
          webhookSecretArn: arn,
        }),
      );

      const failure = (await deliverWebhook(deps, await register(false)).catch(
        (error: unknown) => error,
      )) as Error;

      expect(failure).toMatchObject({ name: 'WebhookFailed', retryable: true, answer: 'unreachable' });
      expect(failure.message).toContain('ECONNREFUSED');
      expect(failure.message).not.toContain('token-in-path');
    });
  });
});
