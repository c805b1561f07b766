import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { OrganizationsClient, RemoveAccountFromOrganizationCommand } from '@aws-sdk/client-organizations';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { renderCsv } from '../../commons/report/render-csv';
import type { RunReport } from '../../commons/run';
import { lambdaFunctionName, SANDBOX_STAGE } from '../../commons/stack-resources';
import { regionalState } from '../../sandbox/core/world';
import { defaultAccountId } from '../../sandbox/scenario/default-scenario';
import { busEvents } from '../../sandbox/services/organizations/membership';
import { renderReportTable } from '../../scripts/render/report-table';
import { loadDefinition, type State } from '../../statemachine/local/definition';
import { parseCsv } from '../support/csv';
import { setLambdaEnvironment } from '../support/lambda-env';
import { runStateMachine } from '../support/local-run';
import { operatorLedger } from '../support/operator-ledger';
import { useSandbox } from '../support/sandbox';

const SIGNING_KEY = 'whsec-state-machine-key';

/** How many times the definition runs a Task that keeps failing with `error`: once, then its Retry's attempts. */
function attemptsOf(stateName: string, error: string): number {
  const map = Object.values(loadDefinition().States).find((s) => s.Type === 'Map') as State;
  const state = (map.ItemProcessor as { States: Record<string, State> }).States[stateName];
  const retrier = ((state?.Retry ?? []) as { ErrorEquals: string[]; MaxAttempts: number }[]).find((r) =>
    r.ErrorEquals.includes(error),
  );
  return 1 + (retrier?.MaxAttempts ?? 0);
}

describe('the hand-off through the state machine, with a webhook', () => {
  const sandbox = useSandbox({ accounts: 6 });
  let server: Server;
  /** The receiver's answer: a status, or none at all (it holds the request open). */
  let answer: number | 'hang' = 200;
  const received: { headers: IncomingHttpHeaders; body: string }[] = [];
  const held: ServerResponse[] = [];

  const accountOf = (report: RunReport | undefined, id: string) =>
    report?.accounts.find((a) => a.accountId === id);
  /** The topic's hand-offs for one account (the topic also carries the run summaries). */
  const handoffs = (id: string) => {
    const { accountId, region, topicArn } = sandbox().stack;
    return (regionalState(sandbox().world, accountId, region).topics.get(topicArn)?.messages ?? []).filter(
      (m) => (m.messageAttributes.accountId as { StringValue?: string } | undefined)?.StringValue === id,
    );
  };
  const posts = (id: string) =>
    received.filter((r) => (JSON.parse(r.body) as { accountId: string }).accountId === id);
  // The ledger as `casbridge status` reads it: the operator's credentials.
  const ledger = () => operatorLedger(sandbox());

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
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/casbridge`;
    const admin = new SecretsManagerClient(sandbox().clientConfig());
    const signing = await admin.send(
      new CreateSecretCommand({ Name: 'casbridge/webhook-signing', SecretString: SIGNING_KEY }),
    );
    // Deployed with the webhook; a receiver that hangs is given up on after one second an attempt.
    setLambdaEnvironment(sandbox(), {
      ...sandbox().deployStack({ webhookUrl: url, webhookSecretArn: signing.ARN ?? '' }),
      CASBRIDGE_WEBHOOK_TIMEOUT_SECONDS: '1',
    });
  });
  afterAll(() => {
    for (const response of held) response.destroy();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('publishes one SNS hand-off while the webhook answers 500 on every attempt, and records the account as handed off', async () => {
    const id = defaultAccountId(1);
    answer = 500;

    const run = await runStateMachine(sandbox(), { mode: 'onboard', accounts: [id] });

    const published = handoffs(id);
    expect(published).toHaveLength(1);
    const message = published[0]!.message;
    const { handoffId } = JSON.parse(message) as { handoffId: string };
    // One POST per attempt of DeliverWebhook, each the topic's message, signed the same way.
    const attempts = attemptsOf('DeliverWebhook', 'WebhookFailed');
    expect(attempts).toBeGreaterThan(1);
    expect(posts(id)).toHaveLength(attempts);
    for (const { headers, body } of posts(id)) {
      expect(body).toBe(message);
      const timestamp = String(headers['x-casbridge-timestamp']);
      const signature = createHmac('sha256', SIGNING_KEY).update(`${timestamp}.${body}`).digest('hex');
      expect(headers['x-casbridge-signature']).toBe(`sha256=${signature}`);
    }
    // The report's line: the webhook failed with its last answer, the operator was reached by SNS.
    const account = accountOf(run.report, id);
    expect(account).toMatchObject({
      outcome: 'FAILED',
      connector: 'AWAITING_CONNECTION',
      steps: {
        register: {
          action: 'created',
          details: { handoffId, sns: 'delivered', webhook: 'failed', operatorReached: true },
        },
      },
      error: {
        name: 'WebhookFailed',
        step: 'register',
        message: expect.stringContaining('answered HTTP 500'),
        remediation: expect.stringMatching(
          /^The operator was reached: the hand-off went out on the SNS topic/,
        ),
        details: { sns: 'delivered', webhook: 'failed', webhookStatus: 'HTTP 500', operatorReached: true },
      },
    });
    expect(account?.steps.verify).toBeUndefined();
    // The table and the CSV an operator reads say the same.
    expect(renderReportTable(run.report!)).toContain('The operator was reached');
    const [header = [], ...rows] = parseCsv(renderCsv(run.report!));
    const line = rows.find((r) => r[0] === id) ?? [];
    const row = Object.fromEntries(header.map((column, i) => [column, line[i]]));
    expect(row).toMatchObject({
      register: 'failed',
      errorName: 'WebhookFailed',
      connector: 'AWAITING_CONNECTION',
    });
    expect(row?.remediation).toContain('webhook');
    // The hand-off counts: the ledger knows it, so no later run hands this key off again.
    expect(await ledger().get(id)).toMatchObject({
      connector: 'AWAITING_CONNECTION',
      handoffAccessKeyId: JSON.parse(message).accessKeyId,
      handoffAt: expect.any(String),
      lastOutcome: 'FAILED',
      lastError: { name: 'WebhookFailed' },
    });

    answer = 200;
    const before = posts(id).length;
    const retry = await runStateMachine(sandbox(), { mode: 'retry-failed' });
    expect(accountOf(retry.report, id)).toMatchObject({
      outcome: 'SUCCEEDED',
      connector: 'AWAITING_CONNECTION',
      steps: { register: { action: 'unchanged', reason: 'awaiting-connection' } },
    });
    expect(handoffs(id)).toHaveLength(1);
    expect(posts(id)).toHaveLength(before);
  });

  it('publishes one SNS hand-off while the webhook never answers, one POST per attempt, each timed out', async () => {
    const id = defaultAccountId(2);
    answer = 'hang';

    const run = await runStateMachine(sandbox(), { mode: 'onboard', accounts: [id] });
    answer = 200;

    expect(handoffs(id)).toHaveLength(1);
    expect(posts(id)).toHaveLength(attemptsOf('DeliverWebhook', 'WebhookFailed'));
    expect(new Set(posts(id).map((p) => p.body))).toEqual(new Set([handoffs(id)[0]?.message]));
    expect(accountOf(run.report, id)).toMatchObject({
      outcome: 'FAILED',
      connector: 'AWAITING_CONNECTION',
      error: {
        name: 'WebhookFailed',
        message: expect.stringContaining('did not answer within 1 s'),
        details: { sns: 'delivered', webhook: 'failed', webhookStatus: 'timeout', operatorReached: true },
      },
    });
  });

  it('says the operator was not reached when SNS refuses the hand-off, and sends it once on the next run', async () => {
    const id = defaultAccountId(4);
    const { accountId, topicArn } = sandbox().stack;
    const role = lambdaFunctionName(SANDBOX_STAGE, 'register');
    sandbox().world.faults.inject(accountId, {
      service: 'sns',
      operation: 'Publish',
      code: 'AuthorizationError',
      message: `User: arn:aws:sts::${accountId}:assumed-role/${role}/${role} is not authorized to perform: SNS:Publish on resource: ${topicArn}`,
      status: 403,
      remaining: 1,
    });

    const failed = await runStateMachine(sandbox(), { mode: 'onboard', accounts: [id] });

    expect(handoffs(id)).toHaveLength(0);
    expect(posts(id)).toHaveLength(0);
    const account = accountOf(failed.report, id);
    expect(account).toMatchObject({
      outcome: 'FAILED',
      connector: 'NOT_REGISTERED',
      error: {
        name: 'AccessDenied',
        step: 'register',
        remediation: expect.stringMatching(/^The operator was not reached: no hand-off went out/),
        details: { sns: 'not-sent', webhook: 'not-sent', operatorReached: false },
      },
    });
    expect(account?.steps.register).toBeUndefined();

    const retry = await runStateMachine(sandbox(), { mode: 'retry-failed' });
    expect(accountOf(retry.report, id)).toMatchObject({
      outcome: 'SUCCEEDED',
      connector: 'AWAITING_CONNECTION',
      steps: { register: { action: 'created', details: { sns: 'delivered', webhook: 'delivered' } } },
    });
    expect(handoffs(id)).toHaveLength(1);
    expect(posts(id)).toHaveLength(1);

    // The next day's reconcile: the same key, already handed off, on neither channel again.
    const reconcile = await runStateMachine(sandbox(), { mode: 'reconcile', accounts: [id] });
    expect(accountOf(reconcile.report, id)).toMatchObject({
      outcome: 'SUCCEEDED',
      steps: { register: { action: 'unchanged' } },
    });
    expect(handoffs(id)).toHaveLength(1);
    expect(posts(id)).toHaveLength(1);
  });

  it("hands off a departed account's connector removal once on the topic, and to the webhook from its own state", async () => {
    const removals = (id: string) =>
      handoffs(id).filter((m) => JSON.parse(m.message).type === 'connector.removal');
    const depart = async (id: string) => {
      answer = 200;
      await runStateMachine(sandbox(), { mode: 'onboard', accounts: [id] });
      const mark = sandbox().world.events.mark();
      await new OrganizationsClient({ ...sandbox().clientConfig(), maxAttempts: 1 }).send(
        new RemoveAccountFromOrganizationCommand({ AccountId: id }),
      );
      const [event] = busEvents(sandbox().world, {
        sinceSeq: mark,
        eventName: 'AccountDepartedOrganization',
      });
      return event!;
    };

    const id = defaultAccountId(5);
    const event = await depart(id);
    const before = posts(id).length;
    const delivered = await runStateMachine(sandbox(), event);
    expect(accountOf(delivered.report, id)).toMatchObject({
      outcome: 'SUCCEEDED',
      connector: 'DEPARTED',
      steps: {
        depart: { reason: 'removal-handoff-sent', details: { sns: 'delivered', webhook: 'delivered' } },
      },
    });
    expect(removals(id)).toHaveLength(1);
    expect(
      posts(id)
        .slice(before)
        .map((p) => p.body),
    ).toEqual([removals(id)[0]!.message]);

    // A receiver that fails: DeliverRemovalWebhook alone is retried, the topic keeps one message,
    // and the departure counts, so no later run sends the removal again.
    const other = defaultAccountId(6);
    const failing = await depart(other);
    const start = posts(other).length;
    answer = 500;
    const failed = await runStateMachine(sandbox(), failing);
    expect(removals(other)).toHaveLength(1);
    expect(posts(other).length - start).toBe(attemptsOf('DeliverRemovalWebhook', 'WebhookFailed'));
    expect(accountOf(failed.report, other)).toMatchObject({
      outcome: 'FAILED',
      connector: 'DEPARTED',
      error: { name: 'WebhookFailed', step: 'depart' },
    });
    expect(await ledger().get(other)).toMatchObject({ connector: 'DEPARTED', lastOutcome: 'FAILED' });
    answer = 200;
    const daily = await runStateMachine(sandbox(), { mode: 'reconcile' });
    expect(accountOf(daily.report, other)).toBeUndefined();
    expect(removals(other)).toHaveLength(1);
  });

  it("sends an offboarding's connector.offboarding to the webhook too, from its own state, once on the topic", async () => {
    // Account 1 was handed off by the first test; a person offboards it.
    const id = defaultAccountId(1);
    const offboardings = () =>
      handoffs(id).filter((m) => JSON.parse(m.message).type === 'connector.offboarding');
    answer = 200;
    const before = posts(id).length;

    const run = await runStateMachine(sandbox(), { mode: 'offboard', accounts: [id] });

    expect(accountOf(run.report, id)).toMatchObject({
      outcome: 'SUCCEEDED',
      connector: 'RETIRED',
      steps: { offboard: { details: { sns: 'delivered', webhook: 'delivered' } } },
    });
    const [message, ...more] = offboardings();
    expect(more).toEqual([]);
    expect(JSON.parse(message!.message)).toMatchObject({
      type: 'connector.offboarding',
      handoffId: expect.any(String),
    });
    expect(
      posts(id)
        .slice(before)
        .map((p) => p.body),
    ).toEqual([message!.message]);
  });
});
