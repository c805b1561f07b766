import { buildReport } from '../../commons/report/build-report';
import type { ReportAccount, RunContext } from '../../commons/run';
import { fitTable, tableWidth, visibleWidth, wrapWords } from '../../scripts/render/columns';
import { renderReportTable } from '../../scripts/render/report-table';
import { createStyle, PLAIN } from '../../scripts/render/style';

describe('tables that fit the terminal', () => {
  const rows = [
    { id: '200000000001', note: 'a short one' },
    { id: '200000000002', note: 'a much longer note that will not fit on one line of a narrow terminal' },
  ];
  const id = { head: 'ID', cell: (r: (typeof rows)[number]) => r.id };
  const note = { head: 'NOTE', cell: (r: (typeof rows)[number]) => r.note, wrap: { min: 10 } };
  const extra = { head: 'EXTRA', cell: () => 'x'.repeat(30) };

  it('prints the widest layout whole when there is no width to fit (a pipe, --wide)', () => {
    const table = fitTable(
      [
        [id, extra, note],
        [id, note],
      ],
      rows,
      { style: PLAIN, width: undefined },
    );

    expect(table.split('\n')[0]).toBe(`ID            EXTRA${' '.repeat(27)}NOTE`);
    expect(table.split('\n')).toHaveLength(3);
  });

  it('drops to the next layout and wraps its text column so no line passes the width', () => {
    const table = fitTable(
      [
        [id, extra, note],
        [id, note],
      ],
      rows,
      { style: PLAIN, width: 40 },
    );

    const lines = table.split('\n');
    expect(lines[0]).toBe('ID            NOTE');
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(40);
    expect(
      lines
        .slice(2)
        .map((line) => line.slice(14))
        .join(' '),
    ).toBe(rows[1]?.note);
  });

  it('measures cells before their colour, so a coloured table is laid out as a plain one', () => {
    const style = createStyle(true);
    const painted = fitTable([[id, { ...note, paint: (t: string) => style.red(t) }]], rows, {
      style,
      width: 40,
    });
    const plain = fitTable([[id, note]], rows, { style: PLAIN, width: 40 });

    expect(painted.split('\n').map(visibleWidth)).toEqual(plain.split('\n').map((line) => line.length));
  });

  it('cuts a word longer than the line (an ARN) across lines', () => {
    expect(wrapWords('see arn:aws:iam::200000000003:user/CloudAppSecurity now', 20)).toEqual([
      'see',
      'arn:aws:iam::2000000',
      '00003:user/CloudAppS',
      'ecurity now',
    ]);
  });

  it("fits a terminal's width, 80 when it reports none, and nothing for a pipe or --wide", () => {
    expect(tableWidth({ isTTY: true, columns: 100 })).toBe(100);
    expect(tableWidth({ isTTY: true, columns: 0 })).toBe(80);
    expect(tableWidth({ isTTY: false, columns: 100 })).toBeUndefined();
    expect(tableWidth({ isTTY: true, columns: 100 }, true)).toBeUndefined();
  });

  it('lists failed accounts first in the report table', () => {
    const run: RunContext = {
      runId: 'run-unit-1',
      execution: 'arn:aws:states:us-east-1:999988887777:execution:casbridge-dev:unit-1',
      mode: 'onboard',
      dryRun: false,
      trigger: { type: 'manual' },
      startedAt: '2026-01-02T03:00:00.000Z',
      maxConcurrency: 10,
    };
    const ok: ReportAccount = {
      accountId: '111111111101',
      name: 'ok',
      ou: 'Workloads/Prod',
      outcome: 'SUCCEEDED',
      changed: false,
      steps: { access: { action: 'unchanged' } },
      connector: 'CONNECTED',
    };
    const failed: ReportAccount = {
      ...ok,
      accountId: '111111111102',
      outcome: 'FAILED',
      connector: 'NOT_REGISTERED',
      error: { name: 'ForeignUserConflict', step: 'user', message: 'not ours', remediation: 'Rename it.' },
    };

    const table = renderReportTable(buildReport(run, [ok, failed], [], '2026-01-02T03:02:05.000Z'), {
      width: 80,
    });

    const ids = table
      .split('\n')
      .filter((line) => /^\d{12}\s/.test(line))
      .map((line) => line.slice(0, 12));
    expect(ids).toEqual(['111111111102', '111111111101']);
  });
});
