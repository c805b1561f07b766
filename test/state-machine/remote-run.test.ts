import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ReportAccount, RunReport } from '../../commons/run';
import { defaultAccountId } from '../../sandbox/scenario/default-scenario';
import { BIN, type CliSandbox, ROOT, runAtTerminal, startCliSandbox } from '../support/cli-sandbox';

/**
 * `casbridge run` without --local, as an operator runs it: the CLI starts an execution through
 * the Step Functions API and follows it, here against `casbridge sandbox` in its own process,
 * whose Step Functions runs the state machine with the real handlers. Compared with a local run
 * over an identical sandbox, it must report the same thing.
 */
const ACCOUNTS = '12';
const SLOW = 180_000;

/** Runs `casbridge <args>` with the sandbox's exports as its only AWS configuration. */
function casbridge(
  sandbox: CliSandbox,
  args: readonly string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: os.tmpdir(),
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    AWS_EC2_METADATA_DISABLED: 'true',
    ...sandbox.exports,
  };
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd: ROOT, env }, (error, stdout, stderr) => {
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** What a run decided, without what differs from one run to the next (ids, times, key ids). */
function decisions(report: RunReport) {
  return {
    mode: report.mode,
    dryRun: report.dryRun,
    trigger: report.trigger,
    summary: report.summary,
    accounts: [...report.accounts]
      .sort((a, b) => a.accountId.localeCompare(b.accountId))
      .map((account: ReportAccount) => ({
        accountId: account.accountId,
        name: account.name,
        ou: account.ou,
        outcome: account.outcome,
        changed: account.changed,
        connector: account.connector,
        skipReason: account.skipReason,
        error: account.error,
        steps: Object.fromEntries(
          Object.entries(account.steps).map(([step, result]) => [
            step,
            { action: result.action, reason: result.reason },
          ]),
        ),
      })),
  };
}

describe('casbridge run against the deployed state machine', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'casbridge-remote-run-'));
  let sandboxes: CliSandbox[] = [];

  beforeAll(async () => {
    sandboxes = await Promise.all([
      startCliSandbox(['--port', '0', '--accounts', ACCOUNTS]),
      startCliSandbox(['--port', '0', '--accounts', ACCOUNTS]),
    ]);
  }, SLOW);

  afterAll(async () => {
    await Promise.all(sandboxes.map((s) => s.stop('SIGTERM')));
    rmSync(dir, { recursive: true, force: true });
  });

  it(
    'reports exactly what a local run over the same organization reports, with the same exit code',
    async () => {
      const [deployed, local] = sandboxes as [CliSandbox, CliSandbox];
      const remoteFile = path.join(dir, 'remote.json');
      const localFile = path.join(dir, 'local.json');

      const [remote, inProcess] = await Promise.all([
        casbridge(deployed, ['run', '--mode', 'onboard', '--json', remoteFile]),
        casbridge(local, ['run', '--local', '--mode', 'onboard', '--json', localFile]),
      ]);

      // Accounts 3 (a foreign connector user) and 7 (invited, no role) fail: exit code 2.
      expect({ code: remote.code, stderr: remote.stderr }).toEqual({ code: 2, stderr: expect.any(String) });
      expect(inProcess.code).toBe(2);
      const remoteReport = JSON.parse(readFileSync(remoteFile, 'utf8')) as RunReport;
      const localReport = JSON.parse(readFileSync(localFile, 'utf8')) as RunReport;
      expect(remoteReport.summary).toMatchObject({
        total: Number(ACCOUNTS) + 1,
        failuresByError: { ForeignUserConflict: 1, RoleMissing: 1 },
      });
      expect(decisions(remoteReport)).toEqual(decisions(localReport));
      expect(remote.stdout).toContain(remoteReport.runId);
      // Progress on stderr: the execution to find first, last the report's own counts.
      const progress = remote.stderr.trim().split('\n');
      expect(progress[0]).toMatch(/^Execution arn:aws:states:[\w-]+:\d{12}:execution:\S+:cli-\S+$/);
      expect(progress[1]).toMatch(
        /^Console https:\/\/[\w-]+\.console\.aws\.amazon\.com\/states\/home\?region=[\w-]+#\/v2\/executions\/details\/\S+$/,
      );
      const s = remoteReport.summary;
      expect(progress[progress.length - 1]).toMatch(
        new RegExp(
          `^[A-Z_]+: ${s.total}/${s.total} accounts done — ${s.byOutcome.SUCCEEDED} succeeded, ${s.byOutcome.FAILED} failed, ${s.byOutcome.SKIPPED} skipped$`,
        ),
      );
      expect(s.byOutcome.FAILED).toBe(2);
    },
    SLOW,
  );

  it(
    'says which flag or variable names the state machine when none is given',
    async () => {
      const [deployed] = sandboxes as [CliSandbox];
      const { CASBRIDGE_STATE_MACHINE_ARN: _arn, ...rest } = deployed.exports;

      const out = await casbridge({ ...deployed, exports: rest }, ['run', '--mode', 'reconcile']);

      expect(out.code).toBe(1);
      expect(out.stderr).toMatch(/--state-machine-arn.*CASBRIDGE_STATE_MACHINE_ARN/);
    },
    SLOW,
  );
});

/**
 * A remote run's progress on a terminal names what its accounts wait for, read from the map run's
 * child executions as an operator's console would show them: the default organization's account
 * 23 joined moments ago and its role becomes assumable 30 s after the sandbox starts.
 */
describe('casbridge run against the deployed state machine, on a terminal', () => {
  let sandbox: CliSandbox;

  beforeAll(async () => {
    sandbox = await startCliSandbox(['--port', '0', '--accounts', '23']);
  }, SLOW);

  afterAll(async () => {
    await sandbox.stop('SIGTERM');
  });

  it(
    "names the new account's role it waits for while the child execution backs off, then ends on the report's counts",
    async () => {
      const newAccount = defaultAccountId(23);
      const { code, output } = await runAtTerminal(
        ['run', '--mode', 'onboard', '--accounts', newAccount],
        sandbox.exports,
        { columns: 120, color: false },
      );

      expect(code).toBe(0);
      const drawn = output.split('\n').flatMap((line) => line.split('\r'));
      expect(drawn).toContainEqual(
        expect.stringMatching(
          /^RUNNING: 0\/1 accounts done, 1 running; waiting for the role in 1 new account/,
        ),
      );
      expect(drawn).toContainEqual(
        expect.stringMatching(/^SUCCEEDED: 1\/1 accounts done — 1 succeeded, 0 failed, 0 skipped/),
      );
    },
    SLOW,
  );
});
