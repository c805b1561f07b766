import { buildReport, summarize } from '../../commons/report/build-report';
import { esc } from '../../commons/report/html-page';
import { csvField, renderCsv } from '../../commons/report/render-csv';
import { formatDuration, renderHtml } from '../../commons/report/render-html';
import { type StepStatus, stepColumns } from '../../commons/report/steps';
import { reportWording } from '../../commons/report/wording';
import type { ReportAccount, RunContext } from '../../commons/run';
import { renderReportTable } from '../../scripts/render/report-table';
import { parseCsv } from '../support/csv';

const RUN: RunContext = {
  runId: 'run-unit-1',
  execution: 'arn:aws:states:us-east-1:999988887777:execution:casbridge-dev:unit-1',
  mode: 'onboard',
  dryRun: false,
  trigger: { type: 'manual' },
  startedAt: '2026-01-02T03:00:00.000Z',
  maxConcurrency: 10,
};
const FINISHED = '2026-01-02T03:02:05.000Z';

function account(id: string, fields: Partial<ReportAccount> = {}): ReportAccount {
  return {
    accountId: id,
    name: `acct-${id.slice(-2)}`,
    ou: 'Workloads/Prod',
    outcome: 'SUCCEEDED',
    changed: false,
    steps: { access: { action: 'unchanged' }, user: { action: 'unchanged' } },
    connector: 'CONNECTED',
    ...fields,
  };
}

const FAILED = account('111111111103', {
  outcome: 'FAILED',
  connector: 'NOT_REGISTERED',
  steps: { access: { action: 'unchanged' } },
  error: { name: 'ForeignUserConflict', step: 'user', message: 'not ours', remediation: 'Rename it.' },
});

describe('buildReport', () => {
  it('reports an empty run with every count at zero', () => {
    const report = buildReport(RUN, [], [], FINISHED);
    expect(report.accounts).toEqual([]);
    expect(report.summary).toEqual({
      total: 0,
      byOutcome: { SUCCEEDED: 0, FAILED: 0, SKIPPED: 0 },
      changed: 0,
      unchanged: 0,
      byConnector: {
        CONNECTED: 0,
        AWAITING_CONNECTION: 0,
        HANDOFF_OVERDUE: 0,
        STALE: 0,
        NOT_REGISTERED: 0,
        OFFBOARDED: 0,
        RETIRED: 0,
        DEPARTED: 0,
      },
      failuresByError: {},
    });
    expect(report.durationMs).toBe(125_000);
  });

  it('keeps every result and every skipped account, with its reason, sorted by account id', () => {
    const report = buildReport(
      RUN,
      [
        account('111111111105', { changed: true, connector: 'AWAITING_CONNECTION' }),
        FAILED,
        account('111111111101'),
      ],
      [
        { accountId: '111111111104', name: 'old', reason: 'suspended' },
        { accountId: '111111111102', reason: 'management-account', connector: 'OFFBOARDED' },
      ],
      FINISHED,
    );
    expect(report.accounts.map((a) => [a.accountId, a.outcome, a.skipReason])).toEqual([
      ['111111111101', 'SUCCEEDED', undefined],
      ['111111111102', 'SKIPPED', 'management-account'],
      ['111111111103', 'FAILED', undefined],
      ['111111111104', 'SKIPPED', 'suspended'],
      ['111111111105', 'SUCCEEDED', undefined],
    ]);
    expect(report.accounts[1]).toMatchObject({ name: '', ou: '', connector: 'OFFBOARDED', changed: false });
    expect(report.accounts[3]).toMatchObject({ name: 'old', connector: 'NOT_REGISTERED' });
    expect(report.summary).toEqual({
      total: 5,
      byOutcome: { SUCCEEDED: 2, FAILED: 1, SKIPPED: 2 },
      changed: 1,
      unchanged: 4,
      byConnector: {
        CONNECTED: 1,
        AWAITING_CONNECTION: 1,
        HANDOFF_OVERDUE: 0,
        STALE: 0,
        NOT_REGISTERED: 2,
        OFFBOARDED: 1,
        RETIRED: 0,
        DEPARTED: 0,
      },
      failuresByError: { ForeignUserConflict: 1 },
    });
  });

  it('keeps one line per account: the worked-on result over a skip, a success over a redriven failure', () => {
    const report = buildReport(
      RUN,
      [FAILED, { ...FAILED, outcome: 'SUCCEEDED', error: undefined }, account('111111111101')],
      [{ accountId: '111111111101', reason: 'excluded' }],
      FINISHED,
    );
    expect(report.accounts.map((a) => [a.accountId, a.outcome])).toEqual([
      ['111111111101', 'SUCCEEDED'],
      ['111111111103', 'SUCCEEDED'],
    ]);
  });

  it('counts failures by error name, unknown when a failed account names none', () => {
    const summary = summarize([
      FAILED,
      { ...FAILED, accountId: '111111111104' },
      { ...FAILED, accountId: '111111111105', error: undefined },
    ]);
    expect(summary.failuresByError).toEqual({ ForeignUserConflict: 2, Unknown: 1 });
  });
});

describe('an overdue hand-off in the report', () => {
  const overdue = account('111111111102', {
    connector: 'HANDOFF_OVERDUE',
    steps: {
      register: { action: 'updated', reason: 'reminder-sent' },
      verify: { action: 'unchanged', reason: 'handoff-overdue' },
    },
  });
  const report = buildReport(RUN, [account('111111111101'), overdue], [], FINISHED);

  it('counts HANDOFF_OVERDUE apart from AWAITING_CONNECTION in the summary', () => {
    expect(report.summary.byConnector).toMatchObject({
      CONNECTED: 1,
      AWAITING_CONNECTION: 0,
      HANDOFF_OVERDUE: 1,
    });
  });

  it('names the status in the CSV connector column', () => {
    const [header, , row] = parseCsv(renderCsv(report));
    expect(row![header!.indexOf('connector')]).toBe('HANDOFF_OVERDUE');
  });

  it('shows the status chip on the account row and the count on its own summary card', () => {
    const html = renderHtml(report);
    expect(html).toMatch(
      /<tr data-account-id="111111111102"[^>]*data-connector="HANDOFF_OVERDUE"[\s\S]*?<span class="pill connector-handoff-overdue">Hand-off overdue<\/span>/,
    );
    expect(html).toContain('data-testid="summary-overdue">1<');
    expect(html).toContain('.connector-handoff-overdue{');
    expect(html).toMatch(
      /<g class="bar bar-handoff-overdue" data-connector="HANDOFF_OVERDUE" data-count="1">/,
    );
  });
});

describe('a connector that stopped using its key in the report', () => {
  const stale = account('111111111103', {
    connector: 'STALE',
    steps: {
      register: { action: 'updated', reason: 'stale-notice-sent' },
      verify: { action: 'updated', reason: 'connector-stale' },
    },
  });
  const report = buildReport(RUN, [account('111111111101'), stale], [], FINISHED);

  it('counts STALE apart from CONNECTED in the summary, the CSV and the HTML', () => {
    expect(report.summary.byConnector).toMatchObject({ CONNECTED: 1, STALE: 1 });
    const [header, , row] = parseCsv(renderCsv(report));
    expect(row![header!.indexOf('connector')]).toBe('STALE');
    const html = renderHtml(report);
    expect(html).toMatch(
      /<tr data-account-id="111111111103"[^>]*data-connector="STALE"[\s\S]*?<span class="pill connector-stale">Stale<\/span>/,
    );
    expect(html).toContain('data-testid="summary-stale">1<');
    expect(html).toMatch(/<g class="bar bar-stale" data-connector="STALE" data-count="1">/);
  });
});

describe('renderCsv', () => {
  it('writes only the header for an empty run', () => {
    const csv = renderCsv(buildReport(RUN, [], [], FINISHED));
    expect(csv).toBe(
      'accountId,name,ou,outcome,changed,connector,access,user,policy,accessKey,trail,register,verify,errorName,errorStep,remediation,skipReason,handledByRunId\r\n',
    );
  });

  it('writes one row per account with each step action, failed at the failing step, and the skip reason', () => {
    const report = buildReport(
      RUN,
      [
        account('111111111101', {
          changed: true,
          steps: { access: { action: 'unchanged' }, user: { action: 'created' } },
        }),
        FAILED,
      ],
      [{ accountId: '111111111102', name: 'susp', reason: 'suspended' }],
      FINISHED,
    );
    const [header, ...rows] = parseCsv(renderCsv(report));
    const records = rows.map((r) => Object.fromEntries(header!.map((h, i) => [h, r[i]])));
    expect(records).toEqual([
      expect.objectContaining({
        accountId: '111111111101',
        changed: 'true',
        access: 'unchanged',
        user: 'created',
        policy: '',
      }),
      expect.objectContaining({
        accountId: '111111111102',
        outcome: 'SKIPPED',
        skipReason: 'suspended',
        access: '',
      }),
      expect.objectContaining({
        accountId: '111111111103',
        outcome: 'FAILED',
        access: 'unchanged',
        user: 'failed',
        policy: '',
        errorName: 'ForeignUserConflict',
        errorStep: 'user',
        remediation: 'Rename it.',
      }),
    ]);
  });

  it('marks the register step failed when its SNS hand-off went out and its webhook did not', () => {
    const handedOff = account('111111111104', {
      outcome: 'FAILED',
      connector: 'AWAITING_CONNECTION',
      changed: true,
      steps: {
        access: { action: 'unchanged' },
        register: {
          action: 'created',
          details: { sns: 'delivered', webhook: 'failed', operatorReached: true },
        },
      },
      error: {
        name: 'WebhookFailed',
        step: 'register',
        message: 'answered HTTP 500',
        remediation: 'The operator was reached: the hand-off went out on the SNS topic.',
      },
    });
    const report = buildReport(RUN, [handedOff], [], FINISHED);
    const [header, ...rows] = parseCsv(renderCsv(report));
    expect(Object.fromEntries(header!.map((h, i) => [h, rows[0]?.[i]]))).toMatchObject({
      register: 'failed',
      connector: 'AWAITING_CONNECTION',
      errorName: 'WebhookFailed',
      remediation: 'The operator was reached: the hand-off went out on the SNS topic.',
    });
  });

  it('names the run that handles an account instead, in the CSV, the HTML and the terminal table', () => {
    const report = buildReport(
      RUN,
      [],
      [
        {
          accountId: '111111111104',
          name: 'twice',
          reason: 'duplicate-event',
          handledByRunId: 'onboard-20260102T025959-k3v9qa',
        },
      ],
      FINISHED,
    );
    expect(report.accounts[0]).toMatchObject({
      outcome: 'SKIPPED',
      skipReason: 'duplicate-event',
      handledByRunId: 'onboard-20260102T025959-k3v9qa',
    });
    const [header, row] = parseCsv(renderCsv(report));
    expect(Object.fromEntries(header!.map((h, i) => [h, row![i]]))).toMatchObject({
      skipReason: 'duplicate-event',
      handledByRunId: 'onboard-20260102T025959-k3v9qa',
    });
    expect(renderHtml(report)).toMatch(
      /Skipped: duplicate-event<\/span> <span class="handled-by" data-testid="handled-by">handled by run <code>onboard-20260102T025959-k3v9qa<\/code>/,
    );
    expect(renderReportTable(report)).toContain(
      'duplicate-event (handled by onboard-20260102T025959-k3v9qa)',
    );
  });

  it('quotes commas, quotes and line breaks, and defuses cells a spreadsheet would run as formulas', () => {
    const tricky = account('111111111101', {
      name: 'a "quoted", name\nover two lines',
      ou: '=HYPERLINK("x")',
    });
    const [, row] = parseCsv(renderCsv(buildReport(RUN, [tricky], [], FINISHED)));
    expect(row![1]).toBe('a "quoted", name\nover two lines');
    expect(row![2]).toBe(`'=HYPERLINK("x")`);
    expect(csvField('plain')).toBe('plain');
    expect(csvField('+1')).toBe("'+1");
    expect(csvField('@x,y')).toBe(`"'@x,y"`);
  });

  it('names the offboard step as the column of an offboard run', () => {
    const report = buildReport(
      { ...RUN, mode: 'offboard' },
      [account('111111111101', { steps: { offboard: { action: 'updated' } } })],
      [],
      FINISHED,
    );
    expect(stepColumns(report)).toEqual(['offboard']);
    expect(parseCsv(renderCsv(report))[1]).toContain('updated');
  });
});

describe('renderHtml', () => {
  it('escapes every character that could open markup or close an attribute', () => {
    expect(esc(`<a href="x" onclick='y'>&\`</a>`)).toBe(
      '&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&#96;&lt;/a&gt;',
    );
  });

  it('renders the same report to the same bytes, and an empty run with its empty-state text', () => {
    const report = buildReport(RUN, [], [], FINISHED);
    expect(renderHtml(report)).toBe(renderHtml(report));
    expect(renderHtml(report)).toContain('This run had no accounts.');
    expect(renderHtml(report)).toContain('data-testid="summary-total">0<');
  });

  it('shows a badge per step that did something with its reason written out, the failed step as failed and its message beside the error', () => {
    const html = renderHtml(
      buildReport(
        RUN,
        [
          account('111111111101', {
            steps: { trail: { action: 'skipped', reason: 'covered-by-organization-trail' } },
          }),
          FAILED,
        ],
        [],
        FINISHED,
      ),
    );
    expect(html).toContain(
      'data-step="trail" data-action="skipped">trail <b>skipped</b> <i>covered-by-organization-trail</i></span>',
    );
    expect(html).toContain('data-step="user" data-action="failed">user <b>failed</b></span>');
    expect(html).toContain('<p class="message">not ours</p><p class="remediation">Rename it.</p>');
    // The steps left unchanged share one badge.
    expect(html).toContain(
      'data-action="unchanged" data-steps="access" title="access">1 more unchanged</span>',
    );
  });

  it('formats durations without a locale', () => {
    expect([850, 42_000, 185_000, 3_720_000].map(formatDuration)).toEqual([
      '850 ms',
      '42 s',
      '3 min 5 s',
      '1 h 2 min',
    ]);
  });
});

describe('a plan (dry run) in every format', () => {
  const PLAN: RunContext = { ...RUN, dryRun: true };
  const planned = buildReport(
    PLAN,
    [
      account('111111111101', {
        changed: true,
        connector: 'NOT_REGISTERED',
        steps: {
          access: { action: 'unchanged' },
          user: { action: 'created', reason: 'dry-run' },
          policy: { action: 'updated', reason: 'dry-run' },
          trail: { action: 'skipped', reason: 'covered-by-organization-trail' },
        },
      }),
      FAILED,
    ],
    [{ accountId: '111111111102', reason: 'suspended' }],
    FINISHED,
  );

  it('says would create, would update, would skip and would fail in the CSV step cells, the outcome kept', () => {
    const [header, ...rows] = parseCsv(renderCsv(planned));
    const records = rows.map((r) => Object.fromEntries(header!.map((h, i) => [h, r[i]])));
    expect(records[0]).toMatchObject({
      outcome: 'SUCCEEDED',
      access: 'unchanged',
      user: 'would create',
      policy: 'would update',
      trail: 'would skip',
    });
    expect(records[2]).toMatchObject({
      outcome: 'FAILED',
      user: 'would fail',
      errorName: 'ForeignUserConflict',
      remediation: 'Rename it.',
    });
  });

  it('says the same words on the HTML badges, cards and failures, its data attributes unchanged', () => {
    const html = renderHtml(planned);
    expect(html).toContain('<title>casbridge onboard plan run-unit-1</title>');
    expect(html).toContain(
      'data-step="user" data-action="created">user <b>would create</b> <i>dry-run</i></span>',
    );
    expect(html).toContain('data-step="user" data-action="failed">user <b>would fail</b></span>');
    expect(html).toContain(
      '<span class="error-prefix">would fail: </span><code class="error-name">ForeignUserConflict</code> <span class="error-step">in user</span><p class="message">not ours</p>',
    );
    expect(html).toMatch(/data-testid="summary-failed">1<\/span><span class="label">Would fail</);
    expect(html).toMatch(/data-testid="summary-changed">1<\/span><span class="label">Would change</);
    expect(html).toContain('<option value="SUCCEEDED">Would succeed</option>');
    expect(html).toContain('Predicted failures by error');
    expect(html).toContain(
      'data-testid="dry-run-banner">Dry run: this report is the plan. Nothing was changed.<',
    );
  });

  it('prints the plan banner, plan outcomes, would-fail errors and plan marks in the terminal table', () => {
    const table = renderReportTable(planned);
    expect(table.split('\n')[0]).toBe('Dry run: this report is the plan. Nothing was changed.');
    expect(table).toMatch(/^111111111101 +Workloads\/Prod +WOULD SUCCEED += +\+ +~ +- +NOT_REGISTERED$/m);
    expect(table).toMatch(
      /^111111111103 +Workloads\/Prod +WOULD FAIL += +x +NOT_REGISTERED +would fail: ForeignUserConflict$/m,
    );
    expect(table).toMatch(/^ {2}would fail: ForeignUserConflict \(111111111103\)\n {4}Rename it\.$/m);
    expect(table).toMatch(
      /^Plan run-unit-1 \(onboard, dry run, 125\.0 s\): 3 accounts — 1 would succeed, 1 would fail, 1 skipped$/m,
    );
    expect(table).toContain('Changes: 1 accounts would change, 2 unchanged');
    expect(table).toContain('Predicted failures: ForeignUserConflict 1');
    expect(table).toContain('Marks: + would create  ~ would update  = unchanged  - would skip  x would fail');
  });

  it('words an offboarding plan as what it would delete', () => {
    const report = buildReport(
      { ...PLAN, mode: 'offboard' },
      [
        account('111111111101', {
          changed: true,
          steps: { offboard: { action: 'updated', reason: 'dry-run' } },
        }),
      ],
      [],
      FINISHED,
    );
    expect(parseCsv(renderCsv(report))[1]).toContain('would delete');
    expect(renderHtml(report)).toContain('offboard <b>would delete</b>');
  });

  it("keeps a real run's words the actions and outcomes themselves", () => {
    const words = reportWording({ dryRun: false });
    expect(
      ['created', 'updated', 'unchanged', 'skipped', 'failed'].map((a) =>
        words.step('user', a as StepStatus),
      ),
    ).toEqual(['created', 'updated', 'unchanged', 'skipped', 'failed']);
    expect(renderReportTable(buildReport(RUN, [FAILED], [], FINISHED))).toMatch(
      /^111111111103 +Workloads\/Prod +FAILED += +x +NOT_REGISTERED +ForeignUserConflict$/m,
    );
  });
});
