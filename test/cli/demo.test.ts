import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { RunReport } from '../../commons/run';
import { defaultAccountId } from '../../sandbox/scenario/default-scenario';
import { type CliResult, runCasbridge } from '../support/cli-sandbox';

/** `casbridge demo` as `npm run demo` runs it: a separate process, its output, its exit code, its files. */
const ACCOUNTS = 12;

describe('casbridge demo', () => {
  let dir: string;
  let result: CliResult;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'casbridge-demo-'));
    // A shell with no AWS or casbridge settings, as on a fresh clone.
    result = await runCasbridge(
      ['demo', '--accounts', String(ACCOUNTS), '--json', `${dir}/r.json`, '--html', `${dir}/r.html`],
      {},
    );
  }, 60_000);

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('exits 0 when the demo ran as designed, though the onboard run had failed accounts', () => {
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
    expect(result.stdout).toContain('this run exits 2 (2 accounts failed)');
  });

  it('prints the per-account table with a mark per step, and a FAILED RoleMissing row with its remediation', () => {
    expect(result.stdout).toMatch(
      /^ACCOUNT +OU +OUTCOME +acc +usr +pol +key +trl +reg +ver +CONNECTOR +ERROR$/m,
    );
    expect(result.stdout).toMatch(
      new RegExp(
        // Keys are minted on demand (the default): no key, and nothing for verify to prove yet.
        `^${defaultAccountId(1)} +Workloads/Dev +SUCCEEDED += +\\+ +\\+ +- +\\+ +\\+ +- +AWAITING_CONNECTION$`,
        'm',
      ),
    );
    expect(result.stdout).toMatch(
      new RegExp(`^${defaultAccountId(7)} +\\S+ +FAILED +x +NOT_REGISTERED +RoleMissing$`, 'm'),
    );
    expect(result.stdout).toMatch(
      new RegExp(
        `^ {2}RoleMissing \\(${defaultAccountId(7)}\\)\\n {4}Deploy templates/member-role\\.yml`,
        'm',
      ),
    );
  });

  it('prints the summary of the onboard and of the reconcile', () => {
    expect(result.stdout).toMatch(
      /^Run onboard-\S+ \(onboard, [\d.]+ s\): 13 accounts — 10 succeeded, 2 failed, 1 skipped$/m,
    );
    expect(result.stdout).toMatch(
      /^Run reconcile-\S+ \(reconcile, [\d.]+ s\): 13 accounts — 10 succeeded, 2 failed, 1 skipped$/m,
    );
    expect(result.stdout).toMatch(/^Connectors: CONNECTED 3, AWAITING_CONNECTION 7, NOT_REGISTERED 3$/m);
    expect(result.stdout).toMatch(/^Failures: ForeignUserConflict 1, RoleMissing 1$/m);
  });

  it('mints a key at the portal for three accounts and shows them CONNECTED after the reconcile', () => {
    const simulated = /at the Defender portal, for 3 accounts: (\d{12}), (\d{12}), (\d{12})/.exec(
      result.stdout,
    );
    expect(simulated).not.toBeNull();
    for (const id of simulated!.slice(1)) {
      expect(result.stdout).toMatch(
        new RegExp(
          `^ {3}${id}: key AKIA\\w+ minted and shown once, its secret scheduled for deletion; pasted\\.$`,
          'm',
        ),
      );
      expect(result.stdout).toMatch(
        new RegExp(`^${id} +\\S+ +SUCCEEDED +AWAITING_CONNECTION → CONNECTED`, 'm'),
      );
    }
  });

  it('writes the HTML and JSON reports it names, with every account in them', () => {
    expect(result.stdout).toContain(`to open in a browser: ${dir}/r.html`);
    expect(existsSync(`${dir}/r.html`)).toBe(true);
    const html = readFileSync(`${dir}/r.html`, 'utf8');
    const report = JSON.parse(readFileSync(`${dir}/r.json`, 'utf8')) as RunReport;
    expect(report.mode).toBe('reconcile');
    const ids = [...Array.from({ length: ACCOUNTS }, (_, i) => defaultAccountId(i + 1)), '999988887777'];
    expect(ids.filter((id) => !html.includes(id))).toEqual([]);
    expect(report.accounts.map((a) => a.accountId).sort()).toEqual(ids.sort());
  });

  it('tells the user what to look at next', () => {
    expect(result.stdout).toContain('node bin/casbridge.cjs sandbox');
    expect(result.stdout).toContain('--endpoint-url http://127.0.0.1:4599 organizations list-accounts');
  });

  it('keeps the table within 120 columns', () => {
    const wide = result.stdout.split('\n').filter((line) => line.length > 120);
    expect(wide).toEqual([]);
  });
});
