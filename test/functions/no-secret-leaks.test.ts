import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CloudTrailClient, DescribeTrailsCommand } from '@aws-sdk/client-cloudtrail';
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import {
  CreateSecretCommand,
  GetSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { connectorSecretName } from '../../commons/config';
import { Ledger } from '../../commons/ledger';
import { regionalState } from '../../sandbox/core/world';
import { defaultAccountId } from '../../sandbox/scenario/default-scenario';
import { captureOutput } from '../support/capture-output';
import { setLambdaEnvironment } from '../support/lambda-env';
import { accountInput, DEPART_STEPS, loadPipeline, OFFBOARD_STEPS } from '../support/pipeline';
import { sandboxConfig } from '../support/product';
import { useSandbox } from '../support/sandbox';

/**
 * DESIGN §6: secrets never appear in task input/output, logs, reports, notifications or error
 * messages. One full pass (onboard, connector use, reconcile and the secret's deletion, a stale
 * notice, rotation, overdue reminders, offboard) is recorded
 * everywhere a secret could escape to, then searched for every secret the sandbox ever issued.
 */
describe('a full pass of the pipeline', () => {
  const sandbox = useSandbox({ accounts: 12 });
  const webhookBodies: string[] = [];
  let webhook: Server;

  beforeAll(async () => {
    webhook = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => {
        body += c.toString('utf8');
      });
      req.on('end', () => {
        webhookBodies.push(body);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => webhook.listen(0, '127.0.0.1', resolve));
    const signing = await new SecretsManagerClient(sandbox().clientConfig()).send(
      new CreateSecretCommand({
        Name: 'casbridge/webhook-signing',
        SecretString: 'webhook-signing-key-0123456789',
      }),
    );
    // Deployed with the webhook, as an operator would: the register role may read its signing key.
    sandbox().deployStack({
      webhookUrl: `http://127.0.0.1:${(webhook.address() as AddressInfo).port}/hooks/casbridge`,
      webhookSecretArn: signing.ARN!,
    });
    setLambdaEnvironment(sandbox());
  });

  afterAll(() => new Promise<void>((resolve) => webhook.close(() => resolve())));

  it('leaves no secret access key in logs, task outputs, messages, webhook bodies or the ledger', async () => {
    const logs = captureOutput();
    const onboard = await loadPipeline(sandbox());
    const offboard = await loadPipeline(sandbox(), OFFBOARD_STEPS);
    const depart = await loadPipeline(sandbox(), DEPART_STEPS);
    const ids = Array.from({ length: 12 }, (_, i) => defaultAccountId(i + 1));
    const results = [];
    for (const id of ids) results.push(await onboard.run(accountInput(sandbox(), id, 'run-1')));
    // The connector of account 1 starts using its key; everything is reconciled; 90 days on, keys rotate.
    const secrets = new SecretsManagerClient(sandbox().clientConfig());
    const stored = JSON.parse(
      (
        await secrets.send(
          new GetSecretValueCommand({ SecretId: connectorSecretName(sandboxConfig(sandbox()), ids[0]!) }),
        )
      ).SecretString!,
    ) as { accessKeyId: string; secretAccessKey: string };
    await new CloudTrailClient(sandbox().clientConfig(stored)).send(new DescribeTrailsCommand({}));
    for (const id of ids)
      results.push(await onboard.run(accountInput(sandbox(), id, 'run-2', { mode: 'reconcile' })));
    // Its secret is deleted now; a week and a day without a poll, and the operator is told (a stale notice).
    const used = sandbox().world.accounts.get(ids[0]!)!.iam.accessKeys.get(stored.accessKeyId)!;
    used.lastUsed = { ...used.lastUsed!, date: new Date(used.lastUsed!.date.getTime() - 8 * 86_400_000) };
    results.push(await onboard.run(accountInput(sandbox(), ids[0]!, 'run-2b', { mode: 'reconcile' })));
    // Age every key past keyMaxAgeDays (moving the clock would expire the task role's session).
    for (const account of sandbox().world.accounts.values()) {
      for (const key of account.iam.accessKeys.values())
        key.createDate = new Date(key.createDate.getTime() - 91 * 86_400_000);
    }
    for (const id of ids)
      results.push(await onboard.run(accountInput(sandbox(), id, 'run-3', { mode: 'reconcile' })));
    // Age every hand-off past handoffOverdueDays the same way: the next reconcile sends reminders.
    const ledger = new Ledger(
      DynamoDBDocumentClient.from(new DynamoDBClient(sandbox().clientConfig())),
      sandbox().stack.ledgerTable,
    );
    for (const item of await ledger.list())
      if (item.handoffAt)
        await ledger.update(item.accountId, {
          handoffAt: new Date(Date.parse(item.handoffAt) - 15 * 86_400_000).toISOString(),
        });
    for (const id of ids)
      results.push(await onboard.run(accountInput(sandbox(), id, 'run-3b', { mode: 'reconcile' })));
    results.push(await offboard.run(accountInput(sandbox(), ids[1]!, 'run-4', { mode: 'offboard' })));
    // An account that left the organization: its secret scheduled, the removal on both channels.
    results.push(await depart.run(accountInput(sandbox(), ids[4]!, 'run-5', { mode: 'depart' })));
    jest.restoreAllMocks();

    expect(results.filter((r) => r.steps.register?.action === 'created').length).toBeGreaterThan(5);
    expect(results.some((r) => r.steps.accessKey?.reason === 'rotation-started')).toBe(true);
    expect(results.some((r) => r.steps.verify?.details?.secret === 'deleted')).toBe(true);
    expect(results.some((r) => r.steps.register?.reason === 'stale-notice-sent')).toBe(true);
    expect(results.filter((r) => r.steps.register?.reason === 'reminder-sent').length).toBeGreaterThan(5);
    expect(webhookBodies.length).toBeGreaterThan(5);
    expect(results.at(-1)?.steps.depart).toMatchObject({
      reason: 'removal-handoff-sent',
      details: { webhook: 'delivered' },
    });

    const world = sandbox().world;
    const topic = regionalState(world, sandbox().stack.accountId, sandbox().region).topics.get(
      sandbox().stack.topicArn,
    )!;
    const items = await new DynamoDBClient(sandbox().clientConfig()).send(
      new ScanCommand({ TableName: sandbox().stack.ledgerTable }),
    );
    const haystack = {
      logs: logs.join(''),
      outputs: JSON.stringify([onboard.outputs, offboard.outputs, depart.outputs]),
      results: JSON.stringify(results),
      messages: JSON.stringify(topic.messages),
      webhooks: webhookBodies.join('\n'),
      ledger: JSON.stringify(items.Items),
    };
    const issued = world.credentials.all().map((c) => c.secretAccessKey);
    const storedValues = [...world.accounts.values()].flatMap((a) =>
      [...a.regions.values()].flatMap((r) =>
        [...r.secrets.values()].flatMap((s) => [...s.versions.values()].map((v) => v.secretString ?? '')),
      ),
    );
    const connectorSecrets = storedValues.flatMap((v) => {
      try {
        const parsed = JSON.parse(v) as { secretAccessKey?: string };
        return parsed.secretAccessKey ? [parsed.secretAccessKey] : [];
      } catch {
        return [];
      }
    });
    expect(connectorSecrets.length).toBeGreaterThan(10);
    const secretsToFind = [...new Set([...issued, ...connectorSecrets, 'webhook-signing-key-0123456789'])];
    for (const [where, text] of Object.entries(haystack)) {
      expect(text.length).toBeGreaterThan(0);
      const found = secretsToFind.filter((secret) => text.includes(secret));
      expect({ where, found }).toEqual({ where, found: [] });
    }
  });
});
