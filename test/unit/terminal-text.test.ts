import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { RunReport } from '../../commons/run';
import { renderReportTable } from '../../scripts/render/report-table';
import { accountStatus, renderStatusTable } from '../../scripts/render/status-table';
import { createStyle } from '../../scripts/render/style';
import { escapeControl, terminal, terminalOutput, terminalSafe } from '../../scripts/render/terminal-text';

const HOSTILE = '\u001b[2J\u001b[31mPWNED\r\n';
const ESC = String.fromCharCode(0x1b);
/** picocolors' colour sequences, the one kind of sequence a coloured table may hold. */
const COLOUR = new RegExp(`${ESC}\\[\\d+m`, 'g');

/** The characters a terminal acts on, other than newline: C0 but LF, DEL, C1, bidi controls. */
function rawControls(text: string): string[] {
  return [...text].filter((c) => {
    const code = c.codePointAt(0) ?? 0;
    return (
      (code < 0x20 && code !== 0x0a) ||
      (code >= 0x7f && code <= 0x9f) ||
      [0x061c, 0x200e, 0x200f, 0x2028, 0x2029].includes(code) ||
      (code >= 0x202a && code <= 0x202e) ||
      (code >= 0x2066 && code <= 0x2069)
    );
  });
}

describe('terminal text', () => {
  it('shows every control character escaped, so it can be read and does nothing', () => {
    expect(escapeControl(HOSTILE)).toBe('\\x1b[2J\\x1b[31mPWNED\\r\\n');
    expect(escapeControl('a\tb\u0000c\u007fd')).toBe('a\\tb\\x00c\\u007fd');
    // C1: 0x9B is a one-byte CSI on terminals that honour 8-bit controls.
    expect(escapeControl('\u009b2J\u0085')).toBe('\\u009b2J\\u0085');
    // "Trojan source": the overrides and isolates, and the marks and separators.
    expect(escapeControl('admin\u202egnp.exe \u2066x\u2069 \u200f\u2028')).toBe(
      'admin\\u202egnp.exe \\u2066x\\u2069 \\u200f\\u2028',
    );
    expect(escapeControl('payments-prod / Workloads/Prod — é ü 日本')).toBe(
      'payments-prod / Workloads/Prod — é ü 日本',
    );
  });

  it('escapes every string of plain data, keys included, and leaves other values alone', () => {
    expect(
      terminalSafe({ name: HOSTILE, n: 1, ok: true, none: null, list: ['\u202e', 2], 'k\r': 'v' }),
    ).toEqual({
      name: '\\x1b[2J\\x1b[31mPWNED\\r\\n',
      n: 1,
      ok: true,
      none: null,
      list: ['\\u202e', 2],
      'k\\r': 'v',
    });
  });

  it('lets casbridge’s own colours, erase-line and CR through only on a terminal', () => {
    const red = createStyle(true).red('FAILED');
    const progress = `\r3/4 accounts done\u001b[K`;
    expect(terminalOutput(`${red}\n${progress}`, true)).toBe(`${red}\n${progress}`);
    expect(terminalOutput(`${red}\n${progress}`, false)).toBe(
      '\\x1b[31mFAILED\\x1b[39m\n\\r3/4 accounts done\\x1b[K',
    );
    // Anything else is escaped even on a terminal: clear screen, cursor moves, OSC titles, BEL, C1.
    expect(terminalOutput('\u001b[2J\u001b[H\u001b]0;title\u0007\u009b31m', true)).toBe(
      '\\x1b[2J\\x1b[H\\x1b]0;title\\x07\\u009b31m',
    );
    // The CSV report's CRLF line ends stay everywhere.
    expect(terminalOutput('a,b\r\nc,d\r\n', false)).toBe('a,b\r\nc,d\r\n');
  });

  it('keeps JSON valid, and equal to what was written, when it escapes C1, DEL and bidi', () => {
    const value = { name: `x\u009b2J\u007f\u202e\u2028y`, esc: HOSTILE };
    const shown = terminalOutput(JSON.stringify(value, null, 2), true);
    expect(rawControls(shown)).toEqual([]);
    expect(JSON.parse(shown)).toEqual(value);
  });

  it('writes plain messages without any sequence, even to a terminal', () => {
    const chunks: string[] = [];
    const sink = Object.assign(
      new Writable({
        write(chunk, _encoding, done) {
          chunks.push(String(chunk));
          done();
        },
      }),
      { isTTY: true },
    );
    terminal(sink).writePlain(`error: unknown option '--${HOSTILE}'\n`);
    terminal(sink).write(createStyle(true).green('ok'));
    expect(chunks).toEqual([
      "error: unknown option '--\\x1b[2J\\x1b[31mPWNED\\r\n'\n",
      '\u001b[32mok\u001b[39m',
    ]);
  });

  it('lays out a report and a ledger with hostile names escaped, in colour and plain', () => {
    const report = {
      runId: 'r-1',
      mode: 'onboard',
      dryRun: false,
      durationMs: 1000,
      summary: {
        total: 1,
        byOutcome: { SUCCEEDED: 0, FAILED: 1, SKIPPED: 0 },
        byConnector: { NOT_REGISTERED: 1 },
        changed: 0,
        unchanged: 1,
        failuresByError: { [`Access${HOSTILE}`]: 1 },
      },
      accounts: [
        {
          accountId: '200000000001',
          name: HOSTILE,
          ou: 'Workloads/\u202eProd',
          outcome: 'FAILED',
          changed: false,
          steps: { access: { action: 'failed' } },
          connector: 'NOT_REGISTERED',
          error: { name: 'AccessDenied', step: 'access', message: HOSTILE, remediation: `fix ${HOSTILE} it` },
        },
      ],
    } as unknown as RunReport;
    for (const style of [createStyle(false), createStyle(true)]) {
      const table = renderReportTable(report, { style });
      // Only SGR colour sequences remain, and only in colour.
      expect(rawControls(table.replace(COLOUR, ''))).toEqual([]);
      expect(table).toContain('Workloads/\\u202eProd');
      expect(table).toContain('fix \\x1b[2J\\x1b[31mPWNED\\r\\n it');
      expect(table).toContain('Access\\x1b[2J\\x1b[31mPWNED\\r\\n 1');
    }
    const status = accountStatus(
      {
        accountId: '200000000001',
        name: HOSTILE,
        ou: '\u2067Prod',
        connector: 'NOT_REGISTERED',
        lastError: { name: 'AccessDenied', message: `denied\r${HOSTILE}` },
      } as never,
      Date.now(),
      { handoffOverdueDays: 14 },
    );
    const ledger = renderStatusTable([status], createStyle(true));
    expect(rawControls(ledger.replace(COLOUR, ''))).toEqual([]);
    expect(ledger).toContain('\\u2067Prod');
    expect(ledger).toContain('denied\\r\\x1b[2J');
  });

  it('is the only way the CLI writes to stdout or stderr', () => {
    // Every write of scripts/ but the benchmark (numbers and fixed labels) goes through terminal().
    const root = path.resolve(__dirname, '../../scripts');
    const offenders: string[] = [];
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const file = path.join(dir, entry.name);
        if (entry.isDirectory()) {
          if (entry.name !== 'bench') walk(file);
        } else if (/\.ts$/.test(entry.name) && !file.endsWith(path.join('render', 'terminal-text.ts'))) {
          readFileSync(file, 'utf8')
            .split('\n')
            .forEach((line, i) => {
              if (/process\.(stdout|stderr)\.write|console\.\w+\(/.test(line))
                offenders.push(`${path.relative(root, file)}:${i + 1}: ${line.trim()}`);
            });
        }
      }
    };
    walk(root);
    expect(offenders).toEqual([]);
  });
});
