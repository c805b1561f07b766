import { buildReport } from '../../commons/report/build-report';
import { appendRun, EMPTY_HISTORY, HISTORY_LENGTH, type RunHistory } from '../../commons/report/history';
import { type DashboardAccount, renderDashboard } from '../../commons/report/render-dashboard';
import { renderHtml } from '../../commons/report/render-html';
import type { ReportAccount, RunContext } from '../../commons/run';

const RUN: RunContext = {
  runId: 'run-dash-1',
  execution: 'arn:aws:states:us-east-1:999988887777:execution:casbridge-dev:dash-1',
  mode: 'reconcile',
  dryRun: false,
  trigger: { type: 'schedule' },
  startedAt: '2026-05-10T03:00:00.000Z',
  maxConcurrency: 10,
};
const NOW = '2026-05-10T03:05:00.000Z';

function account(id: string, fields: Partial<ReportAccount> = {}): ReportAccount {
  return {
    accountId: id,
    name: `acct-${id.slice(-2)}`,
    ou: 'Workloads',
    outcome: 'SUCCEEDED',
    changed: false,
    steps: { access: { action: 'unchanged' } },
    connector: 'CONNECTED',
    ...fields,
  };
}

const failedWith = (id: string, name: string): ReportAccount =>
  account(id, {
    outcome: 'FAILED',
    connector: 'NOT_REGISTERED',
    error: { name, message: 'm', step: 'access', remediation: 'r' },
  });

function run(runId: string, accounts: ReportAccount[], dryRun = false) {
  return buildReport({ ...RUN, runId, dryRun }, accounts, [], NOW);
}

const days = (n: number) => new Date(Date.parse(NOW) - n * 86_400_000).toISOString();

describe('the run history', () => {
  it('puts the newest run first, replaces a run written twice and keeps the last 30', () => {
    let history: RunHistory = EMPTY_HISTORY;
    for (let i = 1; i <= HISTORY_LENGTH + 5; i++)
      history = appendRun(history, run(`run-${i}`, [account('111111111101')]));
    history = appendRun(
      history,
      run(`run-${HISTORY_LENGTH + 5}`, [account('111111111101'), account('111111111102')]),
    );

    expect(history.runs).toHaveLength(HISTORY_LENGTH);
    expect(history.runs[0]).toMatchObject({ runId: 'run-35', total: 2, mode: 'reconcile', finishedAt: NOW });
    expect(history.runs.filter((r) => r.runId === 'run-35')).toHaveLength(1);
    expect(history.runs.at(-1)?.runId).toBe('run-6');
  });

  it('leaves a plan out: its counts are predictions', () => {
    expect(
      appendRun(EMPTY_HISTORY, run('plan-1', [failedWith('111111111101', 'RoleMissing')], true)),
    ).toEqual(EMPTY_HISTORY);
  });
});

describe('renderDashboard', () => {
  const ledger: (DashboardAccount & { secretArn?: string; accessKeyId?: string })[] = [
    {
      accountId: '111111111101',
      name: 'fresh',
      ou: 'Sandbox',
      connector: 'AWAITING_CONNECTION',
      handoffAt: days(2),
    },
    {
      accountId: '111111111102',
      name: '<b>late</b>',
      ou: 'Prod',
      connector: 'HANDOFF_OVERDUE',
      handoffAt: days(50),
    },
    { accountId: '111111111103', name: 'no-time', connector: 'AWAITING_CONNECTION' },
    { accountId: '111111111104', name: 'quiet', ou: 'Prod', connector: 'STALE', keyLastUsedAt: days(9) },
    {
      accountId: '111111111105',
      name: '<b>evil</b>',
      connector: 'CONNECTED',
      secretArn: 'arn:aws:secretsmanager:us-east-1:111111111105:secret:casbridge/never-shown',
      accessKeyId: 'AKIANEVERSHOWN000000',
    },
    {
      accountId: '111111111106',
      connector: 'NOT_REGISTERED',
      lastOutcome: 'FAILED',
      lastError: { name: 'RoleMissing', message: 'no role' },
    },
  ];
  let history: RunHistory = EMPTY_HISTORY;
  history = appendRun(
    history,
    run('run-old', [failedWith('111111111106', 'RoleMissing'), failedWith('111111111107', 'LimitReached')]),
  );
  history = appendRun(
    history,
    run('run-new', [failedWith('111111111106', 'RoleMissing'), account('111111111101')]),
  );
  const html = renderDashboard({ generatedAt: NOW, accounts: ledger, history });

  it('buckets the hand-offs by age, the oldest listed first with its credentials command', () => {
    const bucket = (key: string) => html.match(new RegExp(`data-age="${key}" data-count="(\\d+)"`))?.[1];
    expect([bucket('week'), bucket('past-iam22'), bucket('unknown'), bucket('month')]).toEqual([
      '1',
      '1',
      '1',
      '0',
    ]);
    const order = [
      ...html.matchAll(
        /<li data-account-id="(\d+)" data-connector="(AWAITING_CONNECTION|HANDOFF_OVERDUE)">/g,
      ),
    ].map((m) => m[1]);
    expect(order).toEqual(['111111111102', '111111111101', '111111111103']);
    expect(html).toContain('<code class="command">casbridge credentials 111111111102</code>');
    expect(html).toContain('waiting 50 days');
    expect(html).toContain('waiting, since unknown');
  });

  it('lists the stale connectors with how long their key went unused', () => {
    expect(html).toMatch(
      /data-testid="stale-list">\n<li data-account-id="111111111104" data-connector="STALE">.*key last used 9 days ago/,
    );
  });

  it('sums each error over the kept runs and counts the accounts failing with it now', () => {
    expect(html).toMatch(
      /<tr data-error-name="RoleMissing">[\s\S]*?data-count="failures">2<[\s\S]*?data-count="runs">2<[\s\S]*?data-count="now">1<[\s\S]*?run-new/,
    );
    expect(html).toMatch(
      /<tr data-error-name="LimitReached">[\s\S]*?data-count="failures">1<[\s\S]*?run-old/,
    );
    expect(html.indexOf('data-error-name="RoleMissing"')).toBeLessThan(
      html.indexOf('data-error-name="LimitReached"'),
    );
  });

  it('draws each kept run’s connector statuses, newest first', () => {
    const rows = [...html.matchAll(/<tr data-run-id="([^"]+)">/g)].map((m) => m[1]);
    expect(rows).toEqual(['run-new', 'run-old']);
    expect(html).toMatch(/<tr data-run-id="run-new">[\s\S]*?data-connector="CONNECTED">1</);
  });

  it('escapes names, never shows a secret ARN or key id, and allows no script', () => {
    expect(html).toContain('&lt;b&gt;late&lt;/b&gt;');
    expect(html).not.toContain('<b>late');
    expect(html).not.toContain('never-shown');
    expect(html).not.toContain('AKIANEVERSHOWN');
    expect(html).toContain('script-src &#39;none&#39;');
    expect(html).not.toContain('<script');
  });

  it('says what is empty on a first look: no runs, no hand-off, no stale connector, no failure', () => {
    const empty = renderDashboard({ generatedAt: NOW, accounts: [], history: EMPTY_HISTORY });
    for (const id of ['no-history', 'no-handoffs', 'no-stale', 'no-failures']) {
      expect(empty).toContain(`data-testid="${id}"`);
    }
    expect(renderDashboard({ generatedAt: NOW, accounts: [], history: EMPTY_HISTORY })).toBe(empty);
  });
});

describe('the run report as a to-do list', () => {
  const report = buildReport(
    RUN,
    [
      account('111111111101'),
      account('111111111102', { changed: true, steps: { access: { action: 'updated' } } }),
      failedWith('111111111103', 'RoleMissing'),
      account('111111111104', { connector: 'AWAITING_CONNECTION', handoffAt: days(3) }),
      account('111111111105', { connector: 'STALE', ou: 'Prod' }),
    ],
    [],
    NOW,
  );
  const html = renderHtml(report);

  it('puts the failures first, then stale connectors, then changes, and folds the rest into one line', () => {
    const order = [...html.matchAll(/<tr data-account-id="(\d+)"[^>]*?( hidden)?[ >]/g)].map((m) => m[1]);
    expect(order).toEqual(['111111111103', '111111111105', '111111111102', '111111111101', '111111111104']);
    expect(html).toMatch(/data-account-id="111111111101"[^>]*data-quiet="true" hidden/);
    expect(html).toContain('2 accounts unchanged, nothing to do — show');
    expect(html).toContain('3 of 5 accounts');
  });

  it('lists each account awaiting connection with its credentials command and age', () => {
    expect(html).toMatch(
      /data-testid="handoff-list">\n<li data-account-id="111111111104" data-connector="AWAITING_CONNECTION"><code class="command">casbridge credentials 111111111104<\/code>.*waiting 3 days/,
    );
  });

  it('rolls the accounts up by OU', () => {
    expect(html).toMatch(/<tr data-ou="Prod">[\s\S]*?data-count="total">1<[\s\S]*?data-count="stale">1</);
    expect(html).toMatch(
      /<tr data-ou="Workloads">[\s\S]*?data-count="total">4<[\s\S]*?data-count="failed">1<[\s\S]*?data-count="changed">1<[\s\S]*?data-count="handoff">1<[\s\S]*?data-count="stale">0<[\s\S]*?data-count="quiet">2</,
    );
  });
});
