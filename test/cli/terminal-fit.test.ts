import { spawn } from 'node:child_process';
import { defaultAccountId } from '../../sandbox/scenario/default-scenario';
import { demoScenario } from '../../scripts/commands/demo';
import { BIN, ROOT, runAtTerminal, runCasbridge, sandboxExports } from '../support/cli-sandbox';
import { operatorLedger } from '../support/operator-ledger';
import { useSandbox } from '../support/sandbox';

/**
 * The CLI's tables in an 80-column terminal, as an operator meets them: every command a separate
 * process on a pseudo-terminal of that size (util-linux `script`, `stty cols 80`), against the
 * demo's organization of 40 accounts with its faults. A pipe gets the whole table, plain.
 */
const SLOW = 240_000;
const COLUMNS = 80;
const FAILED = ['200000000003', '200000000007', '200000000029', '200000000037'];
// biome-ignore lint/suspicious/noControlCharactersInRegex: the colour codes the CLI writes.
const SGR = /\u001b\[[0-9;]*[mK]/g;

/** The lines a terminal shows: colour and erase codes gone, a CR-redrawn line as its last drawing. */
function screenLines(output: string): string[] {
  return output
    .replace(SGR, '')
    .split('\n')
    .map((line) => line.split('\r').pop() ?? '');
}

/** The account ids of a table's rows, top to bottom. */
function rowAccounts(lines: readonly string[]): string[] {
  return lines.map((line) => /^(\d{12})\s/.exec(line)?.[1]).filter((id): id is string => id !== undefined);
}

describe('tables that fit an 80-column terminal', () => {
  const sandbox = useSandbox({ scenario: demoScenario(40) });
  const env = (): Record<string, string> => ({
    ...sandboxExports(sandbox()),
    CASBRIDGE_LOCAL_LAMBDA_ENDPOINT: sandbox().endpoint,
  });
  let onboard: { code: number; output: string };

  beforeAll(async () => {
    // The new account's role, assumable a while after the run starts (the demo's 5 s from the
    // sandbox's start can pass while the CLI process loads): its accounts wait on RoleNotReady.
    const clock = sandbox().world.clock;
    for (const role of sandbox().world.accounts.get(defaultAccountId(23))?.iam.roles.values() ?? [])
      if (role.assumableAfterMs !== undefined) role.assumableAfterMs = clock.nowMs() + 20_000;
    onboard = await runAtTerminal(['run', '--local', '--mode', 'onboard'], env(), {
      columns: COLUMNS,
      color: true,
    });
  }, SLOW);

  it('run prints its report coloured, failures first, no line wider than the terminal', () => {
    const lines = screenLines(onboard.output);

    expect(onboard.code).toBe(2);
    expect(onboard.output).toContain('\u001b[31mFAILED');
    expect(lines.filter((line) => line.length > COLUMNS)).toEqual([]);
    const rows = rowAccounts(lines);
    expect(rows).toHaveLength(41);
    expect(rows.slice(0, FAILED.length).sort()).toEqual(FAILED);
  });

  it("run's progress names the role it waits for in the new account, and ends on the report's counts", () => {
    const screen = onboard.output.replace(SGR, '');

    expect(screen).toContain('waiting for the role in 1 new account');
    expect(screenLines(onboard.output)).toContain(
      'Finished: 41/41 accounts done — 34 succeeded, 4 failed, 3 skipped',
    );
  });

  it(
    'report fits the terminal, and --wide restores the OU and every step column',
    async () => {
      const narrow = await runAtTerminal(['report'], env(), { columns: COLUMNS, color: false });
      const wide = await runAtTerminal(['report', '--wide'], env(), { columns: COLUMNS, color: false });

      const narrowLines = screenLines(narrow.output);
      expect(narrowLines.filter((line) => line.length > COLUMNS)).toEqual([]);
      expect(narrowLines).toContainEqual(
        expect.stringMatching(/^ACCOUNT\s+OUTCOME\s+AUPKTRV\s+CONNECTOR\s+ERROR$/),
      );
      expect(narrow.output).not.toMatch(SGR);
      expect(screenLines(wide.output)).toContainEqual(
        expect.stringMatching(
          /^ACCOUNT\s+OU\s+OUTCOME\s+acc\s+usr\s+pol\s+key\s+trl\s+reg\s+ver\s+CONNECTOR\s+ERROR$/,
        ),
      );
    },
    SLOW,
  );

  it(
    'a pipe gets every column on one line per account, without colour',
    async () => {
      const piped = await runCasbridge(['report'], env());

      expect(piped.stdout).not.toMatch(SGR);
      const header = piped.stdout.split('\n').find((line) => line.startsWith('ACCOUNT'));
      expect(header).toMatch(/^ACCOUNT\s+OU\s+OUTCOME\s+acc\s+usr/);
      expect(rowAccounts(piped.stdout.split('\n'))).toHaveLength(41);
    },
    SLOW,
  );

  it(
    'report --failed shows only the failed accounts; --connector only that status',
    async () => {
      const failed = await runAtTerminal(['report', '--failed'], env(), { columns: COLUMNS, color: false });
      const awaiting = await runCasbridge(['report', '--connector', 'awaiting_connection'], env());

      expect(rowAccounts(screenLines(failed.output)).sort()).toEqual(FAILED);
      const rows = awaiting.stdout.split('\n').filter((line) => /^\d{12}\s/.test(line));
      expect(rows).toHaveLength(34);
      for (const row of rows) expect(row).toContain('AWAITING_CONNECTION');
    },
    SLOW,
  );

  it(
    'status fits the terminal, failures first, coloured; --failed and --connector filter it',
    async () => {
      const status = await runAtTerminal(['status'], env(), { columns: COLUMNS, color: true });
      const failed = await runCasbridge(['status', '--failed'], env());
      const notRegistered = await runCasbridge(['status', '--connector', 'NOT_REGISTERED'], env());

      const lines = screenLines(status.output);
      expect(lines.filter((line) => line.length > COLUMNS)).toEqual([]);
      expect(status.output).toContain('\u001b[32mSUCCEEDED');
      expect(rowAccounts(lines).slice(0, FAILED.length).sort()).toEqual(FAILED);
      expect(rowAccounts(failed.stdout.split('\n')).sort()).toEqual(FAILED);
      expect(failed.stdout).toMatch(/^4 of \d+ accounts shown: those that failed their last run\.$/m);
      const rows = notRegistered.stdout.split('\n').filter((line) => /^\d{12}\s/.test(line));
      expect(rows.length).toBeGreaterThan(0);
      for (const row of rows) expect(row).toContain('NOT_REGISTERED');
    },
    SLOW,
  );

  it(
    'NO_COLOR keeps a terminal plain',
    async () => {
      const status = await runAtTerminal(['status'], env(), { columns: COLUMNS, color: false });

      expect(status.output).not.toContain('\u001b[');
    },
    SLOW,
  );

  it(
    "status ACCOUNT shows its last run's steps, its keys, its hand-off history and every ledger field",
    async () => {
      const account = defaultAccountId(1);
      const item = await operatorLedger(sandbox()).get(account);

      const detail = await runAtTerminal(['status', account], env(), { columns: COLUMNS, color: false });

      const lines = screenLines(detail.output);
      expect(lines.filter((line) => line.length > COLUMNS)).toEqual([]);
      expect(lines).toContainEqual(
        expect.stringMatching(/^Steps of the last run onboard-\S+ \(onboard, SUCCEEDED\):$/),
      );
      expect(lines).toContainEqual(expect.stringMatching(/^ {2}user\s+\+ created/));
      expect(lines).toContainEqual(
        expect.stringMatching(
          new RegExp(`^ {2}in service\\s+${item?.accessKeyId}, created \\S+ \\(0 d old\\)$`),
        ),
      );
      expect(lines).toContainEqual(expect.stringMatching(/^ {2}handed off\s+\S+ \(key AKIA\w+\)$/));
      expect(lines).toContain('Lease: none');
      const record = lines.slice(lines.indexOf('Ledger record (every field, as stored):') + 1);
      for (const field of Object.keys(item ?? {}))
        expect(record).toContainEqual(expect.stringMatching(new RegExp(`^ {2}${field}\\s`)));
    },
    SLOW,
  );

  it(
    'report --list shows the past runs, newest first, with their outcome counts',
    async () => {
      const list = await runCasbridge(['report', '--list'], env());

      const rows = list.stdout.split('\n').filter((line) => /^(onboard|reconcile)-/.test(line));
      expect(rows[rows.length - 1]).toMatch(/^onboard-\S+\s+\S+ \S+Z\s+\d+ s\s+41\s+34\s+4\s+3$/);
      expect(list.stdout).toContain('newest first');
    },
    SLOW,
  );

  it(
    "run's progress says it retries an account after throttling",
    async () => {
      const account = defaultAccountId(2);
      sandbox().world.faults.inject(account, {
        service: 'iam',
        operation: 'GetUser',
        code: 'Throttling',
        status: 400,
        // The reconcile's check (CheckAccount) spends the SDK's attempts first and hands the
        // account to the per-step pipeline, whose EnsureUser must then fail into a Retry too.
        remaining: 10,
      });

      const run = await runAtTerminal(
        ['run', '--local', '--mode', 'reconcile', '--accounts', account],
        env(),
        {
          columns: COLUMNS,
          color: false,
        },
      );

      expect(run.output).toContain('retrying 1 account after throttling');
    },
    SLOW,
  );
});

describe('casbridge sandbox --env', () => {
  it(
    'prints only the export lines on standard output, the banner on standard error',
    async () => {
      const child = spawn(process.execPath, [BIN, 'sandbox', '--env', '--port', '0', '--accounts', '2'], {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        stdout += chunk;
      });
      const ready = new Promise<void>((resolve) => {
        child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
          stderr += chunk;
          if (/Organization o-/.test(stderr) && /AWS_REGION/.test(stdout)) resolve();
        });
      });
      await ready;
      const exited = new Promise((resolve) => child.on('exit', resolve));
      child.kill('SIGTERM');
      await exited;

      const lines = stdout.trimEnd().split('\n');
      expect(lines.length).toBeGreaterThan(5);
      for (const line of lines) expect(line).toMatch(/^export [A-Z_]+=\S*$/);
      expect(stderr).toMatch(/^sandbox ready on http:\/\/127\.0\.0\.1:\d+$/m);
      expect(stderr).toContain('sandbox stopped');
    },
    SLOW,
  );
});
