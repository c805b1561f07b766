import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { clientConfig } from '../../commons/aws-clients';
import { Ledger } from '../../commons/ledger';
import type { RunHistory } from '../../commons/report/history';
import type { ReportAccount, ResolvedRun, RunReport, SkippedAccount } from '../../commons/run';
import type { TaskInput } from '../../commons/task-input';
import { handler as writeReportHandler } from '../../functions/write-report/handler';
import { regionalState } from '../../sandbox/core/world';
import { defaultAccountId } from '../../sandbox/scenario/default-scenario';
import { parseCsv } from '../support/csv';
import { emfDocuments, metricNames } from '../support/emf';
import { lambdaContext } from '../support/lambda-context';
import { setLambdaEnvironment } from '../support/lambda-env';
import { functionRoleSettings } from '../support/product';
import { useSandbox } from '../support/sandbox';

type Handler = (event: unknown, context: Context) => Promise<unknown>;

const CONTEXT = lambdaContext('casbridge-write-report', 600_000);

const EVIL_NAME = '<script>alert("owned")</script><img src=x onerror=alert(1)>';

describe('the WriteReport task', () => {
  const sandbox = useSandbox({ accounts: 8 });
  let handler: Handler;
  let s3: S3Client;
  let stdout: string[];

  beforeAll(async () => {
    await setLambdaEnvironment(sandbox());
    // Configuration is read at the first call, after the environment is set.
    handler = writeReportHandler as Handler;
    s3 = new S3Client(sandbox().clientConfig());
    // A skipped account onboarded by an earlier run: its connector status comes from the ledger.
    // Recorded as RecordResult records an account's outcome.
    const settings = await functionRoleSettings(sandbox(), 'recordResult');
    const ledger = new Ledger(
      DynamoDBDocumentClient.from(new DynamoDBClient(clientConfig(settings))),
      sandbox().stack.ledgerTable,
    );
    await ledger.update(id(7), { connector: 'CONNECTED', name: 'paused' });
    // Handed off three days before the runs: the report's and the dashboard's hand-off age.
    await ledger.update(id(1), {
      connector: 'AWAITING_CONNECTION',
      name: 'account-1',
      handoffAt: new Date(Date.now() - 3 * 86_400_000 - 60_000).toISOString(),
    });
  });

  beforeEach(() => {
    stdout = [];
    jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stdout.push(String(chunk));
      return true;
    });
  });

  afterEach(() => jest.restoreAllMocks());

  const id = (i: number) => defaultAccountId(i);
  const bucket = () => sandbox().stack.reportsBucket;
  const object = (key: string) =>
    sandbox().world.buckets.get(bucket())?.objects.get(key)?.body.toString('utf8');
  const messages = () => {
    const { accountId, region, topicArn } = sandbox().stack;
    return regionalState(sandbox().world, accountId, region).topics.get(topicArn)?.messages ?? [];
  };

  function target(i: number, name = `account-${i}`): TaskInput {
    return {
      runId: 'unused',
      execution: 'unused',
      mode: 'onboard',
      dryRun: false,
      account: { accountId: id(i), name, ou: 'Workloads/Prod', state: 'ACTIVE', joinedMethod: 'CREATED' },
      steps: {},
    };
  }

  function result(i: number, fields: Partial<ReportAccount> = {}): ReportAccount {
    return {
      accountId: id(i),
      name: `account-${i}`,
      ou: 'Workloads/Prod',
      outcome: 'SUCCEEDED',
      changed: true,
      steps: {
        access: { action: 'unchanged' },
        user: { action: 'created' },
        policy: { action: 'created' },
        accessKey: { action: 'created', details: { accessKeyId: 'AKIAEXAMPLE' } },
        trail: { action: 'skipped', reason: 'covered-by-organization-trail' },
        register: { action: 'created', reason: 'handoff-sent' },
        verify: { action: 'unchanged', reason: 'awaiting-connection' },
      },
      connector: 'AWAITING_CONNECTION',
      ...fields,
    };
  }

  const failed = (i: number): ReportAccount =>
    result(i, {
      outcome: 'FAILED',
      changed: false,
      steps: {},
      connector: 'NOT_REGISTERED',
      error: {
        name: 'RoleMissing',
        step: 'access',
        message: 'The member role does not exist',
        remediation: 'Deploy templates/member-role.yml with the StackSet.',
      },
    });

  const SKIPPED: SkippedAccount[] = [
    { accountId: id(6), name: 'suspended-one', ou: 'Suspended', reason: 'suspended' },
    { accountId: id(7), name: 'paused', ou: 'Workloads', reason: 'excluded' },
  ];

  /** Puts the run's targets and skipped lists where ResolveTargets would, and returns the run. */
  async function resolvedRun(runId: string, targets: TaskInput[], options: { dryRun?: boolean } = {}) {
    const put = (key: string, body: unknown) =>
      s3.send(new PutObjectCommand({ Bucket: bucket(), Key: key, Body: JSON.stringify(body) }));
    await put(`runs/${runId}/targets.json`, targets);
    await put(`runs/${runId}/skipped.json`, SKIPPED);
    const run: ResolvedRun = {
      run: {
        runId,
        execution: `execution-of-${runId}`,
        mode: 'onboard',
        dryRun: options.dryRun ?? false,
        trigger: { type: 'schedule' },
        startedAt: new Date(Date.now() - 65_000).toISOString(),
        maxConcurrency: 10,
      },
      targets: { bucket: bucket(), key: `runs/${runId}/targets.json`, count: targets.length },
      skipped: { bucket: bucket(), key: `runs/${runId}/skipped.json`, count: SKIPPED.length },
    };
    return run;
  }

  const reportOf = (runId: string) => JSON.parse(object(`runs/${runId}/report.json`) ?? 'null') as RunReport;

  it('writes report.json, report.csv and report.html under the run and under runs/latest/', async () => {
    const run = await resolvedRun('run-ok', [target(1), target(2, EVIL_NAME), target(3)]);
    const output = await handler(
      {
        ...run,
        results: [
          result(1),
          result(2, { name: EVIL_NAME, changed: false }),
          result(3, { outcome: 'SKIPPED', skipReason: 'lease-held-by-another-run', steps: {} }),
        ],
      },
      CONTEXT,
    );

    expect(output).toEqual({
      runId: 'run-ok',
      reportKey: 'runs/run-ok/report.json',
      summary: {
        total: 5,
        byOutcome: { SUCCEEDED: 2, FAILED: 0, SKIPPED: 3 },
        changed: 2,
        unchanged: 3,
        byConnector: {
          CONNECTED: 1,
          AWAITING_CONNECTION: 3,
          HANDOFF_OVERDUE: 0,
          STALE: 0,
          NOT_REGISTERED: 1,
          OFFBOARDED: 0,
          RETIRED: 0,
          DEPARTED: 0,
        },
        failuresByError: {},
      },
    });
    for (const file of ['report.json', 'report.csv', 'report.html']) {
      expect(object(`runs/run-ok/${file}`)).toBeDefined();
      expect(object(`runs/latest/${file}`)).toBe(object(`runs/run-ok/${file}`));
    }
    const report = reportOf('run-ok');
    expect(report.accounts.map((a) => [a.accountId, a.outcome, a.skipReason ?? null, a.connector])).toEqual([
      [id(1), 'SUCCEEDED', null, 'AWAITING_CONNECTION'],
      [id(2), 'SUCCEEDED', null, 'AWAITING_CONNECTION'],
      [id(3), 'SKIPPED', 'lease-held-by-another-run', 'AWAITING_CONNECTION'],
      // Skipped by ResolveTargets: the reason from the list, the connector from the ledger.
      [id(6), 'SKIPPED', 'suspended', 'NOT_REGISTERED'],
      [id(7), 'SKIPPED', 'excluded', 'CONNECTED'],
    ]);
    expect(report).toMatchObject({ mode: 'onboard', dryRun: false, trigger: { type: 'schedule' } });
    expect(report.durationMs).toBeGreaterThanOrEqual(65_000);
  });

  it('adds the run to runs/history.json and draws the organization dashboard from the ledger and that history', () => {
    // The first run finds no history: without s3:ListBucket S3 says AccessDenied, read as none yet.
    const history = JSON.parse(object('runs/history.json') ?? 'null') as RunHistory;
    expect(history.runs.map((r) => [r.runId, r.total, r.byConnector.AWAITING_CONNECTION])).toEqual([
      ['run-ok', 5, 3],
    ]);
    const dashboard = object('runs/dashboard.html') ?? '';
    expect(dashboard).toContain('<title>casbridge organization dashboard</title>');
    expect(dashboard).toContain('default-src &#39;none&#39;');
    expect(dashboard).toContain('<tr data-run-id="run-ok">');
    expect(dashboard).toMatch(
      new RegExp(`<li data-account-id="${id(1)}" data-connector="AWAITING_CONNECTION">.*waiting 3 days`),
    );
    // The report's hand-off list tells the same age, from the same ledger item.
    expect(reportOf('run-ok').accounts[0]).toMatchObject({ accountId: id(1), handoffAt: expect.any(String) });
    expect(object('runs/run-ok/report.html')).toContain(`casbridge credentials ${id(1)}</code>`);
  });

  it('writes a CSV that parses back to the report, one row per account', () => {
    const report = reportOf('run-ok');
    const [header, ...rows] = parseCsv(object('runs/run-ok/report.csv') ?? '');
    expect(header!.slice(0, 6)).toEqual(['accountId', 'name', 'ou', 'outcome', 'changed', 'connector']);
    const records = rows.map((r) => Object.fromEntries(header!.map((h, i) => [h, r[i] ?? ''])));
    expect(records).toEqual(
      report.accounts.map((a) => ({
        accountId: a.accountId,
        name: a.name,
        ou: a.ou,
        outcome: a.outcome,
        changed: String(a.changed),
        connector: a.connector,
        access: a.steps.access?.action ?? '',
        user: a.steps.user?.action ?? '',
        policy: a.steps.policy?.action ?? '',
        accessKey: a.steps.accessKey?.action ?? '',
        trail: a.steps.trail?.action ?? '',
        register: a.steps.register?.action ?? '',
        verify: a.steps.verify?.action ?? '',
        errorName: '',
        errorStep: '',
        remediation: '',
        skipReason: a.skipReason ?? '',
        handledByRunId: a.handledByRunId ?? '',
      })),
    );
  });

  it('writes one self-contained HTML page naming every account, with account names escaped', () => {
    const html = object('runs/run-ok/report.html') ?? '';
    for (const account of reportOf('run-ok').accounts) {
      expect(html).toContain(`data-account-id="${account.accountId}"`);
    }
    // Nothing to fetch: no remote URL, no external script, stylesheet, image or font.
    expect(html).not.toMatch(/https?:\/\//);
    expect(html).not.toMatch(/<script[^>]*\bsrc=/i);
    expect(html).not.toMatch(/<link[^>]*\bhref=/i);
    expect(html).not.toMatch(/<img\b/i);
    expect(html).not.toMatch(/@import|url\(/i);
    expect(html.match(/<script>/g)).toHaveLength(1);
    // The account name is text, never markup.
    expect(html).not.toContain(EVIL_NAME);
    expect(html).toContain(
      '&lt;script&gt;alert(&quot;owned&quot;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;',
    );
    expect(html).toContain('data-testid="summary-skipped">3<');
    expect(html).toContain('data-testid="run-trigger">schedule<');
  });

  it('publishes a short run summary with type=run.summary that says where the report is', () => {
    const sent = messages().filter(
      (m) =>
        (m.messageAttributes.type as { StringValue?: string } | undefined)?.StringValue === 'run.summary',
    );
    const message = sent.map((m) => JSON.parse(m.message)).find((m) => m.runId === 'run-ok');
    expect(message).toMatchObject({
      type: 'run.summary',
      mode: 'onboard',
      summary: { total: 5, byOutcome: { SUCCEEDED: 2, FAILED: 0, SKIPPED: 3 } },
      report: { html: `s3://${bucket()}/runs/run-ok/report.html`, latest: `s3://${bucket()}/runs/latest/` },
    });
    // Counts and locations only: no account's details (nor any key id) travel on the topic.
    const raw = JSON.stringify(sent);
    expect(raw).not.toContain('AKIAEXAMPLE');
    expect(raw).not.toContain(id(1));
  });

  it('emits the run metrics as EMF in the casbridge namespace, overdue hand-offs counted', async () => {
    const run = await resolvedRun('run-metrics', [target(1), target(2)]);
    const overdue = result(2, {
      changed: false,
      connector: 'HANDOFF_OVERDUE',
      steps: { verify: { action: 'unchanged', reason: 'handoff-overdue' } },
    });
    await handler({ ...run, results: [result(1), overdue] }, CONTEXT);
    const emf = emfDocuments(stdout);
    const names = metricNames(emf);
    expect(names).toEqual(
      expect.arrayContaining([
        'AccountsSucceeded',
        'AccountsFailed',
        'AccountsSkipped',
        'AccountsChanged',
        'HandoffsOverdue',
        'ConnectorsStale',
        'RunDurationMs',
      ]),
    );
    expect(emf.every((doc) => doc._aws.CloudWatchMetrics[0]?.Namespace === 'casbridge')).toBe(true);
    expect(emf.find((doc) => 'AccountsSucceeded' in doc)).toMatchObject({
      AccountsSucceeded: 2,
      AccountsFailed: 0,
      AccountsSkipped: 2,
      AccountsChanged: 1,
      HandoffsOverdue: 1,
      runId: 'run-metrics',
    });
  });

  it('fails with AccountsFailed after writing the report, publishing the summary and emitting metrics', async () => {
    const run = await resolvedRun('run-failed', [target(1), target(4), target(5)]);
    const before = messages().length;
    await expect(
      handler({ ...run, results: [result(1), failed(4), failed(5)] }, CONTEXT),
    ).rejects.toMatchObject({
      name: 'AccountsFailed',
      message: expect.stringContaining(
        `2 of 5 accounts failed in run run-failed; report: s3://${bucket()}/runs/run-failed/report.html`,
      ),
    });
    expect(reportOf('run-failed').summary).toMatchObject({
      byOutcome: { SUCCEEDED: 1, FAILED: 2, SKIPPED: 2 },
      failuresByError: { RoleMissing: 2 },
    });
    expect(object('runs/latest/report.csv')).toBe(object('runs/run-failed/report.csv'));
    expect(object('runs/run-failed/report.csv')).toContain(
      'RoleMissing,access,Deploy templates/member-role.yml',
    );
    expect(messages().length).toBe(before + 1);
    const failedMetric = emfDocuments(stdout).filter((doc) => 'FailedAccounts' in doc);
    expect(failedMetric).toHaveLength(1);
    expect(failedMetric[0]).toMatchObject({ FailedAccounts: 2, ErrorName: 'RoleMissing' });
    expect(failedMetric[0]!._aws.CloudWatchMetrics[0]!.Dimensions[0]).toContain('ErrorName');
  });

  it('reads the Distributed Map result files through its manifest into the same report', async () => {
    const arrayRun = await resolvedRun('run-array', [target(1), target(2), target(3)]);
    await handler(
      { ...arrayRun, results: [result(1), result(2, { changed: false }), failed(3)] },
      CONTEXT,
    ).catch(() => undefined);

    // What Step Functions' ResultWriter leaves for the same three accounts: account 3's child
    // failed outside the record task, so only its Input and the error are known.
    const runId = 'run-manifest';
    const run = await resolvedRun(runId, [target(1), target(2), target(3)]);
    const prefix = `runs/${runId}/map/4977ded7-b097-3bee-81e1-7863c5660f29/`;
    const child = (i: number, status: string, extra: Record<string, unknown>) => ({
      ExecutionArn: `arn:aws:states:${sandbox().region}:${sandbox().stack.accountId}:execution:casbridge/Accounts:${i}`,
      Input: JSON.stringify(target(i)),
      InputDetails: { Included: true },
      Name: `child-${i}`,
      RedriveCount: 0,
      RedriveStatus: 'NOT_REDRIVABLE',
      StartDate: '2026-01-02T03:00:01.000Z',
      StateMachineArn: `arn:aws:states:${sandbox().region}:${sandbox().stack.accountId}:stateMachine:casbridge/Accounts`,
      Status: status,
      StopDate: '2026-01-02T03:00:09.000Z',
      ...extra,
    });
    const files: Record<string, string> = {
      'SUCCEEDED_0.json': JSON.stringify([
        child(1, 'SUCCEEDED', { Output: JSON.stringify(result(1)), OutputDetails: { Included: true } }),
        child(2, 'SUCCEEDED', {
          Output: JSON.stringify(result(2, { changed: false })),
          OutputDetails: { Included: true },
        }),
      ]),
      'FAILED_0.json': JSON.stringify([
        child(3, 'FAILED', {
          Error: 'RoleMissing',
          Cause: JSON.stringify({
            errorType: 'RoleMissing',
            errorMessage: 'The member role does not exist',
            trace: [
              'RoleMissing: The member role does not exist',
              '    at ensureAccess (/var/task/index.js:1:1)',
            ],
          }),
        }),
      ]),
      'manifest.json': JSON.stringify({
        DestinationBucket: bucket(),
        MapRunArn: `arn:aws:states:${sandbox().region}:${sandbox().stack.accountId}:mapRun:casbridge/Accounts:4977ded7`,
        ResultFiles: {
          FAILED: [{ Key: `${prefix}FAILED_0.json`, Size: 0 }],
          PENDING: [],
          SUCCEEDED: [{ Key: `${prefix}SUCCEEDED_0.json`, Size: 0 }],
        },
      }),
    };
    for (const [name, body] of Object.entries(files)) {
      await s3.send(new PutObjectCommand({ Bucket: bucket(), Key: `${prefix}${name}`, Body: body }));
    }

    await expect(
      handler(
        {
          ...run,
          results: {
            MapRunArn: 'arn:aws:states:us-east-1:000000000000:mapRun:casbridge/Accounts:4977ded7',
            ResultWriterDetails: { Bucket: bucket(), Key: `${prefix}manifest.json` },
          },
        },
        CONTEXT,
      ),
    ).rejects.toMatchObject({ name: 'AccountsFailed' });

    const fromManifest = reportOf(runId);
    const fromArray = reportOf('run-array');
    expect(fromManifest.summary).toEqual(fromArray.summary);
    // The failed child's remediation is rebuilt from its error name, as the record task would.
    const strip = (r: RunReport) => r.accounts.map(({ error, ...rest }) => ({ ...rest, error: error?.name }));
    expect(strip(fromManifest)).toEqual(strip(fromArray));
    expect(fromManifest.accounts.find((a) => a.accountId === id(3))?.error).toMatchObject({
      name: 'RoleMissing',
      message: 'The member role does not exist',
      remediation: expect.stringContaining('StackSet'),
    });
  });

  it('reports a target the map returned nothing for as FAILED: no account disappears', async () => {
    const run = await resolvedRun('run-missing', [target(1), target(2)]);
    await expect(handler({ ...run, results: [result(1)] }, CONTEXT)).rejects.toMatchObject({
      name: 'AccountsFailed',
    });
    expect(reportOf('run-missing').accounts.find((a) => a.accountId === id(2))).toMatchObject({
      outcome: 'FAILED',
      name: 'account-2',
      error: { name: 'ResultMissing' },
    });
  });

  it("writes a dry run's plan under its own run and runs/latest-plan/, leaving runs/latest/ at the latest real run", async () => {
    const latest = ['report.json', 'report.csv', 'report.html'].map((f) => object(`runs/latest/${f}`));
    const kept = ['runs/history.json', 'runs/dashboard.html'].map(object);
    expect(kept[0]).toBeDefined();
    expect(latest[0]).toBeDefined();
    const run = await resolvedRun('run-dry', [target(1), target(4)], { dryRun: true });
    // A predicted failure does not fail the plan: the execution succeeds with the plan's output.
    const output = await handler({ ...run, results: [result(1), failed(4)] }, CONTEXT);
    expect(output).toMatchObject({ runId: 'run-dry', reportKey: 'runs/run-dry/report.json' });

    expect(['report.json', 'report.csv', 'report.html'].map((f) => object(`runs/latest/${f}`))).toEqual(
      latest,
    );
    // A plan changed nothing: the history and the dashboard stay as the latest run left them.
    expect(['runs/history.json', 'runs/dashboard.html'].map(object)).toEqual(kept);
    for (const file of ['report.json', 'report.csv', 'report.html']) {
      expect(object(`runs/run-dry/${file}`)).toBeDefined();
      expect(object(`runs/latest-plan/${file}`)).toBe(object(`runs/run-dry/${file}`));
    }
    expect(reportOf('run-dry')).toMatchObject({
      dryRun: true,
      summary: { changed: 1, byOutcome: { SUCCEEDED: 1, FAILED: 1 } },
    });
    const html = object('runs/run-dry/report.html') ?? '';
    expect(html).toContain('data-testid="dry-run-banner"');
    expect(html).toContain('<b>would create</b>');
  });

  it("words a plan's CSV as what a run would do, keeping the outcome and error columns as they are", () => {
    const [header, ...rows] = parseCsv(object('runs/run-dry/report.csv') ?? '');
    const records = rows.map((r) => Object.fromEntries(header!.map((h, i) => [h, r[i] ?? ''])));
    expect(records.find((r) => r.accountId === id(1))).toMatchObject({
      outcome: 'SUCCEEDED',
      changed: 'true',
      access: 'unchanged',
      user: 'would create',
      trail: 'would skip',
    });
    expect(records.find((r) => r.accountId === id(4))).toMatchObject({
      outcome: 'FAILED',
      access: 'would fail',
      errorName: 'RoleMissing',
      remediation: 'Deploy templates/member-role.yml with the StackSet.',
    });
  });

  it('publishes a plan as run.plan, marked as a dry run, so filters on run summaries never receive it', () => {
    const plans = messages().filter((m) => m.message.includes('"runId":"run-dry"'));
    expect(plans).toHaveLength(1);
    const [plan] = plans;
    expect(plan!.subject).toBe('casbridge Plan (dry run) run-dry: 1 would fail, 1 would succeed, 2 skipped');
    expect(plan!.messageAttributes).toMatchObject({
      type: { StringValue: 'run.plan' },
      dryRun: { StringValue: 'true' },
      outcome: { StringValue: 'WOULD_FAIL' },
    });
    expect(JSON.parse(plan!.message)).toMatchObject({
      type: 'run.plan',
      dryRun: true,
      headline: plan!.subject,
      report: {
        html: `s3://${bucket()}/runs/run-dry/report.html`,
        latest: `s3://${bucket()}/runs/latest-plan/`,
      },
    });
    // A real run's summary carries dryRun=false, for a filter that wants the opposite.
    const real = messages().find((m) => m.message.includes('"runId":"run-ok"'));
    expect(real?.messageAttributes).toMatchObject({
      type: { StringValue: 'run.summary' },
      dryRun: { StringValue: 'false' },
      outcome: { StringValue: 'SUCCEEDED' },
    });
  });

  it('emits no outcome metric for a dry run, only its DryRuns count', async () => {
    const stderr: string[] = [];
    jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stderr.push(String(chunk));
      return true;
    });
    const run = await resolvedRun('run-dry-metrics', [target(1), target(2), target(4)], { dryRun: true });
    const overdue = result(2, { connector: 'HANDOFF_OVERDUE' });
    await handler({ ...run, results: [result(1), overdue, failed(4)] }, CONTEXT);
    const emf = emfDocuments(stdout);
    const names = metricNames(emf);
    expect(names).toEqual(['DryRuns']);
    expect(emf).toHaveLength(1);
    expect(emf[0]).toMatchObject({ DryRuns: 1, runId: 'run-dry-metrics', dryRun: 'true' });
    // Nothing logged the warning of an invocation without metrics.
    expect(stderr.join('')).not.toContain('No application metrics to publish');
  });

  it('rejects a malformed input with InvalidTaskInput and writes nothing', async () => {
    const run = await resolvedRun('run-bad', [target(1)]);
    await expect(
      handler({ ...run, run: { ...run.run, runId: '../escape' }, results: [] }, CONTEXT),
    ).rejects.toMatchObject({ name: 'InvalidTaskInput', message: expect.stringContaining('run.runId') });
    await expect(
      handler({ ...run, results: [{ accountId: id(1), outcome: 'MAYBE' }] }, CONTEXT),
    ).rejects.toMatchObject({ name: 'InvalidTaskInput', message: expect.stringContaining('results.0') });
    expect(object('runs/run-bad/report.json')).toBeUndefined();
  });
});
