import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { RunReport } from '../../commons/run';
import { regionalState } from '../../sandbox/core/world';
import { defaultAccountId } from '../../sandbox/scenario/default-scenario';
import { renderReportTable } from '../../scripts/render/report-table';
import { captureOutput } from '../support/capture-output';
import { parseCsv } from '../support/csv';
import { emfDocuments, metricNames } from '../support/emf';
import { setLambdaEnvironment } from '../support/lambda-env';
import { runStateMachine } from '../support/local-run';
import { useSandbox } from '../support/sandbox';

/**
 * A dry run through the whole state machine, after a real run: its report is a plan, and nothing
 * of it passes for a run's (the latest report, the run summaries, the metrics, the execution's
 * status).
 */
const ONBOARDED = [1, 2].map(defaultAccountId);
const NEW = defaultAccountId(4);
const FOREIGN_USER = defaultAccountId(3);
const ROLE_MISSING = defaultAccountId(7);
const FILES = ['report.json', 'report.csv', 'report.html'];

describe('a dry run after a real run', () => {
  const sandbox = useSandbox({ accounts: 8 });
  let s3: S3Client;
  let realRunId: string;
  let latestBefore: string[];
  let plan: { runId: string; report: RunReport; status: string; error?: string };
  let published: { subject?: string; message: string; messageAttributes: Record<string, unknown> }[];
  let written: string[];

  const read = async (key: string) => {
    const object = await s3.send(new GetObjectCommand({ Bucket: sandbox().stack.reportsBucket, Key: key }));
    return object.Body!.transformToString();
  };
  const topic = () =>
    regionalState(sandbox().world, sandbox().stack.accountId, sandbox().region).topics.get(
      sandbox().stack.topicArn,
    )!;
  const attribute = (m: { messageAttributes: Record<string, unknown> }, name: string) =>
    (m.messageAttributes[name] as { StringValue?: string } | undefined)?.StringValue;

  beforeAll(async () => {
    await setLambdaEnvironment(sandbox());
    s3 = new S3Client(sandbox().clientConfig());
    const real = await runStateMachine(sandbox(), {
      mode: 'onboard',
      accounts: [...ONBOARDED, ROLE_MISSING],
    });
    expect(real.execution).toMatchObject({ status: 'FAILED', error: 'AccountsFailed' });
    realRunId = real.runId!;
    latestBefore = await Promise.all(FILES.map((f) => read(`runs/latest/${f}`)));

    const sent = topic().messages.length;
    written = captureOutput();
    const outcome = await runStateMachine(sandbox(), { mode: 'onboard', dryRun: true });
    jest.restoreAllMocks();
    plan = {
      runId: outcome.runId!,
      report: outcome.report!,
      status: outcome.execution.status,
      ...(outcome.execution.error ? { error: outcome.execution.error } : {}),
    };
    published = topic().messages.slice(sent);
  });

  it('plans every account: what it would create, what would fail and why', () => {
    const accounts = new Map(plan.report.accounts.map((a) => [a.accountId, a]));
    expect(plan.report.dryRun).toBe(true);
    expect(accounts.get(NEW)).toMatchObject({
      outcome: 'SUCCEEDED',
      changed: true,
      steps: { user: { action: 'created' }, trail: { action: 'created' } },
    });
    for (const id of ONBOARDED)
      expect(accounts.get(id)).toMatchObject({ outcome: 'SUCCEEDED', changed: false });
    expect(accounts.get(FOREIGN_USER)?.error).toMatchObject({ name: 'ForeignUserConflict', step: 'user' });
    expect(accounts.get(ROLE_MISSING)?.error).toMatchObject({ name: 'RoleMissing', step: 'access' });
  });

  it('succeeds as an execution although accounts would fail: the plan itself did not', () => {
    expect(plan.report.summary.byOutcome.FAILED).toBe(2);
    expect({ status: plan.status, error: plan.error }).toEqual({ status: 'SUCCEEDED', error: undefined });
  });

  it('leaves runs/latest/ at the real run and writes the plan under its own run id and runs/latest-plan/', async () => {
    expect(plan.runId).not.toBe(realRunId);
    expect(await Promise.all(FILES.map((f) => read(`runs/latest/${f}`)))).toEqual(latestBefore);
    expect((JSON.parse(latestBefore[0]!) as RunReport).runId).toBe(realRunId);
    const own = await Promise.all(FILES.map((f) => read(`runs/${plan.runId}/${f}`)));
    expect(await Promise.all(FILES.map((f) => read(`runs/latest-plan/${f}`)))).toEqual(own);
    expect(JSON.parse(own[0]!)).toEqual(plan.report);
  });

  it('sends one message, a run.plan marked as a dry run, and no run summary', () => {
    expect(published.map((m) => attribute(m, 'type'))).toEqual(['run.plan']);
    const [message] = published;
    expect(attribute(message!, 'dryRun')).toBe('true');
    expect(attribute(message!, 'outcome')).toBe('WOULD_FAIL');
    expect(message!.subject).toBe(
      `casbridge Plan (dry run) ${plan.runId}: 2 would fail, 6 would succeed, 1 skipped`,
    );
    expect(JSON.parse(message!.message)).toMatchObject({ type: 'run.plan', dryRun: true, runId: plan.runId });
  });

  it('emits none of the run metrics, only a DryRuns count', () => {
    const names = metricNames(emfDocuments(written));
    expect(names).toEqual(['DryRuns']);
  });

  it('says "would create" and "would fail" in its CSV, HTML and terminal table', async () => {
    const [header, ...rows] = parseCsv(await read(`runs/${plan.runId}/report.csv`));
    const byId = new Map(rows.map((r) => [r[0], Object.fromEntries(header!.map((h, i) => [h, r[i]]))]));
    expect(byId.get(NEW)).toMatchObject({
      user: 'would create',
      policy: 'would create',
      trail: 'would create',
    });
    expect(byId.get(FOREIGN_USER)).toMatchObject({
      outcome: 'FAILED',
      user: 'would fail',
      errorName: 'ForeignUserConflict',
      remediation: expect.stringMatching(/\S/),
    });
    expect(await read(`runs/${plan.runId}/report.html`)).toContain(
      `data-step="user" data-action="created">user <b>would create</b> <i>dry-run</i>`,
    );

    const table = renderReportTable(plan.report);
    expect(table.split('\n')[0]).toBe('Dry run: this report is the plan. Nothing was changed.');
    expect(table).toMatch(
      // verify `=`: the plan predicts what the real run reports for a new account, awaiting connection.
      new RegExp(`^${NEW} +\\S+ +WOULD SUCCEED += +\\+ +\\+ +\\+ +\\+ +\\+ += +NOT_REGISTERED$`, 'm'),
    );
    expect(table).toMatch(
      new RegExp(`^${ROLE_MISSING} +\\S+ +WOULD FAIL +x +NOT_REGISTERED +would fail: RoleMissing$`, 'm'),
    );
    expect(table).toContain(`Plan ${plan.runId} (onboard, dry run, `);
    expect(table).toMatch(/: 9 accounts — 6 would succeed, 2 would fail, 1 skipped$/m);
    expect(table).toContain('Predicted failures: ForeignUserConflict 1, RoleMissing 1');
    expect(table).toContain('Marks: + would create  ~ would update  = unchanged  - would skip  x would fail');
  });

  it('words an offboarding plan as what it would delete, and still leaves runs/latest/ alone', async () => {
    const outcome = await runStateMachine(sandbox(), {
      mode: 'offboard',
      accounts: [ONBOARDED[0]],
      dryRun: true,
    });
    expect(outcome.execution.status).toBe('SUCCEEDED');
    const [header, ...rows] = parseCsv(await read(`runs/${outcome.runId}/report.csv`));
    const row = rows.find((r) => r[0] === ONBOARDED[0])!;
    expect(row[header!.indexOf('offboard')]).toBe('would delete');
    expect(await read('runs/latest/report.json')).toBe(latestBefore[0]);
    expect((JSON.parse(await read('runs/latest-plan/report.json')) as RunReport).runId).toBe(outcome.runId);
  });
});
