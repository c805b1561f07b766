import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { Ledger } from '../../commons/ledger';
import type { RunReport } from '../../commons/run';
import { defaultAccountId } from '../../sandbox/scenario/default-scenario';
import { runCasbridge, sandboxExports } from '../support/cli-sandbox';
import { setLambdaEnvironment } from '../support/lambda-env';
import { runStateMachine } from '../support/local-run';
import { useSandbox } from '../support/sandbox';

/**
 * status, report, credentials and confirm as an operator runs them: separate processes with the
 * exports `casbridge sandbox` prints, against a sandbox where an onboard run has finished.
 */
const HEALTHY = defaultAccountId(1);
const ROLE_MISSING = defaultAccountId(7);
const UNKNOWN = '123456789012';

describe('the operator commands', () => {
  const sandbox = useSandbox({ accounts: 8 });
  let runId: string;
  let dir: string;

  /** The exports of `casbridge sandbox`: its administrator's keys and the stack's configuration. */
  const exports = (): Record<string, string> => sandboxExports(sandbox());

  const casbridge = (args: string[], env: Record<string, string> = exports()) => runCasbridge(args, env);

  const ledger = () =>
    new Ledger(
      DynamoDBDocumentClient.from(new DynamoDBClient(sandbox().clientConfig())),
      sandbox().stack.ledgerTable,
    );

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'casbridge-cli-'));
    await setLambdaEnvironment(sandbox());
    const outcome = await runStateMachine(sandbox(), { mode: 'onboard' });
    runId = outcome.runId!;
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('status prints the ledger as a table, with each last error and the counts', async () => {
    const result = await casbridge(['status']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^ACCOUNT +NAME +OU +CONNECTOR +LAST OUTCOME +LAST RUN +KEY ID +KEY AGE$/m);
    expect(result.stdout).toMatch(
      new RegExp(
        `^${HEALTHY} +\\S+ +Workloads/Dev +AWAITING_CONNECTION +SUCCEEDED +\\S+ \\S+ +AKIA\\w{16} +0 d$`,
        'm',
      ),
    );
    expect(result.stdout).toMatch(new RegExp(`^ {2}${ROLE_MISSING} RoleMissing in access$`, 'm'));
    expect(result.stdout).toMatch(
      /^8 accounts in the ledger: AWAITING_CONNECTION 6, NOT_REGISTERED 2; 2 failed their last run$/m,
    );
  });

  it('status --html writes the organization dashboard from the ledger and the runs the reports bucket keeps', async () => {
    const file = path.join(dir, 'dashboard.html');
    const result = await casbridge(['status', '--html', file]);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toBe(`Wrote the organization dashboard (8 accounts, 1 run) to ${file}\n`);
    const html = readFileSync(file, 'utf8');
    expect(html).toContain('<title>casbridge organization dashboard</title>');
    // The onboard run of beforeAll, from runs/history.json, and its accounts awaiting connection.
    expect(html).toContain(`<tr data-run-id="${runId}">`);
    expect(html).toContain(`casbridge credentials ${HEALTHY}</code>`);
    expect(html).toMatch(/<tr data-error-name="RoleMissing">/);
    expect(html).not.toMatch(/AKIA\w{16}|secret:/);
  });

  it('status --account --json prints one account, its key id and never a secret', async () => {
    const result = await casbridge(['status', '--account', HEALTHY, '--json']);
    expect(result.code).toBe(0);
    const status = JSON.parse(result.stdout) as {
      accounts: Record<string, unknown>[];
      counts: Record<string, number>;
    };
    expect(status.counts).toMatchObject({ AWAITING_CONNECTION: 1 });
    expect(status.accounts).toEqual([
      expect.objectContaining({
        accountId: HEALTHY,
        connector: 'AWAITING_CONNECTION',
        lastOutcome: 'SUCCEEDED',
        lastRunId: runId,
        accessKeyId: expect.stringMatching(/^AKIA/),
        keyAgeDays: 0,
      }),
    ]);
    expect(result.stdout).not.toMatch(/secretAccessKey/);
  });

  it('report prints the latest run in every format, or writes it to a file', async () => {
    const [table, json, csv, byId, html] = await Promise.all([
      casbridge(['report']),
      casbridge(['report', 'latest', '--format', 'json']),
      casbridge(['report', '--format', 'csv']),
      casbridge(['report', runId, '--format', 'json']),
      casbridge(['report', '--format', 'html', '--out', `${dir}/report.html`]),
    ]);
    expect([table.code, json.code, csv.code, byId.code, html.code]).toEqual([0, 0, 0, 0, 0]);
    expect(table.stdout).toMatch(
      new RegExp(`^${ROLE_MISSING} +\\S+ +FAILED +x +NOT_REGISTERED +RoleMissing$`, 'm'),
    );
    expect(table.stdout).toContain(`Run ${runId} (onboard,`);
    expect((JSON.parse(json.stdout) as RunReport).runId).toBe(runId);
    expect(JSON.parse(byId.stdout)).toEqual(JSON.parse(json.stdout));
    expect(csv.stdout.split('\r\n')[0]).toMatch(/^accountId,name,ou,outcome,changed,connector,access,/);
    expect(readFileSync(`${dir}/report.html`, 'utf8')).toContain(
      `<code data-testid="run-id">${runId}</code>`,
    );
  });

  it('report names a run that does not exist, or a plan not yet made, in one sentence', async () => {
    const [result, plan] = await Promise.all([
      casbridge(['report', 'onboard-19990101T000000-nosuch']),
      casbridge(['report', '--plan']),
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `casbridge: There is no run onboard-19990101T000000-nosuch in s3://${sandbox().stack.reportsBucket}/runs/ (\`casbridge report\` shows the latest run).\n`,
    );
    expect([plan.code, plan.stderr]).toEqual([
      1,
      `casbridge: No dry run has written a plan to s3://${sandbox().stack.reportsBucket}/ yet: start one with \`casbridge run --mode onboard --dry-run\`.\n`,
    ]);
  });

  it('run --dry-run prints the plan and exits 2 when accounts would fail; report keeps the latest real run, report --plan the plan', async () => {
    const lambda = { ...exports(), CASBRIDGE_LOCAL_LAMBDA_ENDPOINT: sandbox().endpoint };
    const failing = await casbridge(
      ['run', '--local', '--dry-run', '--mode', 'onboard', '--accounts', `${HEALTHY},${ROLE_MISSING}`],
      lambda,
    );
    expect([failing.code, failing.stderr]).toEqual([2, '']);
    expect(failing.stdout.split('\n')[0]).toBe('Dry run: this report is the plan. Nothing was changed.');
    expect(failing.stdout).toMatch(
      new RegExp(`^${ROLE_MISSING} +\\S+ +WOULD FAIL +x +NOT_REGISTERED +would fail: RoleMissing$`, 'm'),
    );
    expect(failing.stdout).toMatch(
      new RegExp(`^${HEALTHY} +\\S+ +WOULD SUCCEED +(= +){7}AWAITING_CONNECTION$`, 'm'),
    );
    expect(failing.stdout).toContain('Marks: + would create  ~ would update  = unchanged');
    const planId = /^Plan (\S+) \(onboard, dry run, /m.exec(failing.stdout)?.[1];
    expect(planId).toBeDefined();

    const clean = await casbridge(
      ['run', '--local', '--dry-run', '--mode', 'reconcile', '--accounts', HEALTHY],
      lambda,
    );
    expect([clean.code, clean.stderr]).toEqual([0, '']);
    const cleanId =
      /^Plan (\S+) \(reconcile, dry run, [\d.]+ s\): 1 accounts — 1 would succeed, 0 would fail, 0 skipped$/m.exec(
        clean.stdout,
      )?.[1];
    expect(cleanId).toBeDefined();

    const [latest, latestPlan, byId, both] = await Promise.all([
      casbridge(['report', '--format', 'json']),
      casbridge(['report', '--plan', '--format', 'json']),
      casbridge(['report', planId!, '--format', 'csv']),
      casbridge(['report', planId!, '--plan']),
    ]);
    expect((JSON.parse(latest.stdout) as RunReport).runId).toBe(runId);
    expect(JSON.parse(latestPlan.stdout) as RunReport).toMatchObject({ runId: cleanId, dryRun: true });
    expect(byId.code).toBe(0);
    expect(byId.stdout).toContain(`${ROLE_MISSING},`);
    expect(byId.stdout).toMatch(/,FAILED,false,NOT_REGISTERED,would fail,/);
    expect([both.code, both.stderr]).toEqual([
      1,
      'casbridge: --plan shows the latest dry run: give it or a run id, not both.\n',
    ]);
  });

  it('credentials refuses to print a secret into a pipe without --yes', async () => {
    const result = await casbridge(['credentials', HEALTHY]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain('add --yes');
    expect((await ledger().get(HEALTHY))?.revealedAt).toBeUndefined();
  });

  it('credentials --yes prints the key Secrets Manager holds and records who revealed it', async () => {
    const result = await casbridge(['credentials', HEALTHY, '--yes']);
    expect(result.code).toBe(0);
    const stored = JSON.parse(
      (
        await new SecretsManagerClient(sandbox().clientConfig()).send(
          new GetSecretValueCommand({ SecretId: `casbridge/connector/${HEALTHY}` }),
        )
      ).SecretString!,
    ) as { accessKeyId: string; secretAccessKey: string };
    expect(result.stdout).toContain(
      `Access key ID: ${stored.accessKeyId}\nSecret access key: ${stored.secretAccessKey}\n`,
    );
    expect(result.stdout).toContain('Choose + Connect an app → Amazon Web Services.');
    expect(result.stderr).not.toContain(stored.secretAccessKey);
    const item = await ledger().get(HEALTHY);
    expect(item).toMatchObject({ revealedBy: sandbox().admin.arn, revealedAt: expect.any(String) });
    expect(Date.now() - Date.parse(item!.revealedAt!)).toBeLessThan(60_000);
  });

  it('confirm records that the connector is live, and says what happens next', async () => {
    const result = await casbridge(['confirm', HEALTHY]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('the verify step then marks it CONNECTED');
    expect(await ledger().get(HEALTHY)).toMatchObject({
      confirmedBy: sandbox().admin.arn,
      confirmedAt: expect.any(String),
    });
  });

  it('refuses an account casbridge does not know, in one line', async () => {
    const results = await Promise.all([
      casbridge(['credentials', UNKNOWN, '--yes']),
      casbridge(['confirm', UNKNOWN]),
      casbridge(['status', '--account', UNKNOWN]),
    ]);
    for (const result of results) {
      expect(result.code).toBe(1);
      expect(result.stderr).toBe(
        `casbridge: Account ${UNKNOWN} is not in the ledger: casbridge has never worked on it${result.stderr.includes('(`') ? ' (`casbridge status` lists the accounts it knows).' : '.'}\n`,
      );
    }
  });

  it('names the missing configuration variable in one line', async () => {
    const { CASBRIDGE_LEDGER_TABLE: _, ...env } = exports();
    const result = await casbridge(['status'], env);
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(
      /^casbridge: casbridge is not configured: the ledger table \(CASBRIDGE_LEDGER_TABLE or ledger_table in the profile\) is not set/,
    );
  });

  it('ends a bad flag, missing credentials or an unreachable endpoint in one line and a non-zero exit', async () => {
    const noCredentials = {
      ...exports(),
      AWS_ACCESS_KEY_ID: '',
      AWS_SECRET_ACCESS_KEY: '',
      AWS_CONFIG_FILE: path.join(dir, 'none'),
      AWS_SHARED_CREDENTIALS_FILE: path.join(dir, 'none'),
      AWS_EC2_METADATA_DISABLED: 'true',
    };
    const results = await Promise.all([
      casbridge(['report', '--format', 'pdf']),
      casbridge(['status', '--bogus']),
      casbridge(['credentials', '12345']),
      casbridge(['status'], noCredentials),
      casbridge(['status'], { ...exports(), AWS_ENDPOINT_URL: 'http://127.0.0.1:9' }),
    ]);
    for (const result of results) {
      expect(result.code).not.toBe(0);
      expect(result.stdout).toBe('');
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(result.stderr).not.toMatch(/\n\s+at /);
    }
    expect(results.map((r) => r.stderr)).toEqual([
      expect.stringContaining("argument 'pdf' is invalid"),
      expect.stringContaining("unknown option '--bogus'"),
      expect.stringContaining('An AWS account id is 12 digits.'),
      expect.stringContaining('no AWS credentials were found'),
      expect.stringContaining('nothing answers at 127.0.0.1:9 (ECONNREFUSED)'),
    ]);
  });

  // Last: these runs change the ledger the status tests above read.
  it('run --local against the sandbox runs each function as its own role, handed over by the sandbox', async () => {
    const mark = sandbox().world.callLog.mark();
    // Onboard: every step of the pipeline reaches the account (a reconcile's CheckAccount would
    // settle some first, and their functions would not reach it at all).
    const result = await casbridge(['run', '--local', '--mode', 'onboard', '--accounts', HEALTHY], {
      ...exports(),
      CASBRIDGE_LOCAL_LAMBDA_ENDPOINT: sandbox().endpoint,
    });
    expect([result.code, result.stderr]).toEqual([0, '']);
    expect(result.stdout).toMatch(new RegExp(`^${HEALTHY} .*SUCCEEDED`, 'm'));
    // Each function that reaches the account assumed the member role itself, as its own role.
    const assumedBy = sandbox()
      .world.callLog.list({ sinceSeq: mark, operation: 'AssumeRole', outcome: 'ok' })
      .map((c) => c.callerArn);
    expect(new Set(assumedBy)).toEqual(
      new Set(
        ['access', 'user', 'policy', 'accessKey', 'trail', 'verify'].map(
          (f) =>
            `arn:aws:sts::${sandbox().stack.accountId}:assumed-role/casbridge-dev-${f}/casbridge-dev-${f}`,
        ),
      ),
    );
  });

  it('run --local without a Lambda stand-in runs every function as the caller, whom the member role refuses', async () => {
    const result = await casbridge(['run', '--local', '--mode', 'reconcile', '--accounts', HEALTHY]);
    expect(result.code).toBe(2);
    expect(result.stdout).toMatch(new RegExp(`^${HEALTHY} .*RoleMissing`, 'm'));
  });
});
