import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { defaultAccountId } from '../../sandbox/scenario/default-scenario';
import { BIN, NO_CONFIG_FILE, ROOT, runCasbridge } from '../support/cli-sandbox';
import { setLambdaEnvironment } from '../support/lambda-env';
import { runStateMachine } from '../support/local-run';
import { useSandbox } from '../support/sandbox';

/**
 * Configuration as the AWS CLI does it: `casbridge configure --stack NAME` reads the stack's
 * outputs (CloudFormation DescribeStacks, which the sandbox serves for its stack) into a casbridge
 * profile, and every command takes its settings from a flag, else the environment, else that
 * profile. Each command is a separate process, its home and config file the test's own.
 */
const HEALTHY = defaultAccountId(1);

describe('casbridge configure and the settings every command takes', () => {
  const sandbox = useSandbox({ accounts: 2 });
  let home: string;

  /** The sandbox's endpoint and its administrator's keys: no Region, no casbridge variable. */
  const signing = (): Record<string, string> => ({
    AWS_ENDPOINT_URL: sandbox().endpoint,
    AWS_ACCESS_KEY_ID: sandbox().admin.accessKeyId,
    AWS_SECRET_ACCESS_KEY: sandbox().admin.secretAccessKey,
    HOME: home,
  });
  const configFile = () => path.join(home, '.casbridge', 'config');

  beforeAll(async () => {
    home = mkdtempSync(path.join(os.tmpdir(), 'casbridge-configure-'));
    await setLambdaEnvironment(sandbox());
    await runStateMachine(sandbox(), { mode: 'onboard' });
  });

  afterAll(() => {
    rmSync(home, { recursive: true, force: true });
  });

  it("configure reads the stack's outputs into the default profile of ~/.casbridge/config, readable only by its owner", async () => {
    const { stack } = sandbox();
    const result = await runCasbridge(['configure', '--stack', 'casbridge-dev', '--region', stack.region], {
      ...signing(),
      CASBRIDGE_CONFIG_FILE: '',
    });
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toContain(`Wrote the casbridge profile default to ${configFile()}`);
    const text = readFileSync(configFile(), 'utf8');
    expect(text.split('\n')[0]).toBe('[default]');
    for (const line of [
      'stack = casbridge-dev',
      `region = ${stack.region}`,
      `state_machine_arn = ${stack.stateMachineArn}`,
      `ledger_table = ${stack.ledgerTable}`,
      `reports_bucket = ${stack.reportsBucket}`,
      `log_bucket = ${stack.logBucket}`,
      `topic_arn = ${stack.topicArn}`,
      `secrets_kms_key_id = ${stack.secretsKmsKeyArn}`,
      `external_id = ${stack.externalId}`,
      'member_role_name = CasBridgeExecutionRole',
    ])
      expect(text).toContain(`\n${line}\n`);
    expect(statSync(configFile()).mode & 0o777).toBe(0o600);
  });

  it('configure --profile adds a named profile and keeps the others as they were', async () => {
    const file = path.join(home, 'named-config');
    writeFileSync(file, '# mine\n[default]\nregion = eu-west-1\n');
    const result = await runCasbridge(
      ['configure', '--stack', 'casbridge-dev', '--profile', 'sandbox', '--region', sandbox().stack.region],
      { ...signing(), CASBRIDGE_CONFIG_FILE: file },
    );
    expect(result.code).toBe(0);
    const text = readFileSync(file, 'utf8');
    expect(
      text.startsWith('# mine\n[default]\nregion = eu-west-1\n\n[profile sandbox]\nstack = casbridge-dev\n'),
    ).toBe(true);
    const status = await runCasbridge(['status', '--profile', 'sandbox'], {
      ...signing(),
      CASBRIDGE_CONFIG_FILE: file,
    });
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(new RegExp(`^${HEALTHY} +\\S+ +Workloads/Dev +AWAITING_CONNECTION`, 'm'));
  });

  it('a command with --profile takes every setting from that profile: no variable but the keys', async () => {
    const result = await runCasbridge(['--profile', 'default', 'status', '--account', HEALTHY, '--json'], {
      ...signing(),
      CASBRIDGE_CONFIG_FILE: configFile(),
    });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout).accounts).toEqual([expect.objectContaining({ accountId: HEALTHY })]);
  });

  it('the environment overrides the profile file, and a flag overrides the environment', async () => {
    const env = {
      ...signing(),
      CASBRIDGE_CONFIG_FILE: configFile(),
      CASBRIDGE_LEDGER_TABLE: 'casbridge-elsewhere',
      AWS_REGION: 'eu-west-1',
    };
    const fromEnv = await runCasbridge(['status'], env);
    expect(fromEnv.code).toBe(1);
    expect(fromEnv.stderr).toBe(
      'casbridge: Cannot read the ledger table casbridge-elsewhere: it does not exist in eu-west-1 (ResourceNotFoundException); check AWS_REGION and that casbridge is deployed there.\n',
    );
    const fromFlag = await runCasbridge(['status', '--region', 'ap-south-1'], env);
    expect(fromFlag.stderr).toContain('it does not exist in ap-south-1');
    const run = await runCasbridge(
      [
        'run',
        '--mode',
        'onboard',
        '--dry-run',
        '--state-machine-arn',
        `${sandbox().stack.stateMachineArn}-gone`,
      ],
      { ...signing(), CASBRIDGE_CONFIG_FILE: configFile() },
    );
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(
      `casbridge: The state machine ${sandbox().stack.stateMachineArn}-gone does not exist: check --state-machine-arn, CASBRIDGE_STATE_MACHINE_ARN or state_machine_arn in the casbridge profile (\`casbridge configure --stack NAME\` reads it again).\n`,
    );
  });

  it('status needs only the Region and the ledger table', async () => {
    const result = await runCasbridge(['status'], {
      ...signing(),
      AWS_REGION: sandbox().stack.region,
      CASBRIDGE_LEDGER_TABLE: sandbox().stack.ledgerTable,
    });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^2 accounts in the ledger: /m);
  });

  it('a missing setting is named in one sentence: its variable, its profile key and casbridge configure', async () => {
    const result = await runCasbridge(['status'], { ...signing(), AWS_REGION: sandbox().stack.region });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      `casbridge: casbridge is not configured: the ledger table (CASBRIDGE_LEDGER_TABLE or ledger_table in the profile) is not set by a flag, the environment or ${NO_CONFIG_FILE} (no profile default): run \`casbridge configure --stack NAME\` to read it from the stack (for the sandbox, eval the exports \`casbridge sandbox\` prints).\n`,
    );
    const report = await runCasbridge(['report'], { ...signing() });
    expect(report.stderr.split('\n')).toEqual([
      expect.stringMatching(
        /^casbridge: casbridge is not configured: the Region \(--region, AWS_REGION or region in the profile\) and the reports bucket \(CASBRIDGE_REPORTS_BUCKET or reports_bucket in the profile\) are not set by a flag, the environment or .*: run `casbridge configure --stack NAME`/,
      ),
      '',
    ]);
  });

  it('a profile asked for and not in the file is named in one sentence', async () => {
    const result = await runCasbridge(['status', '--profile', 'prod'], {
      ...signing(),
      CASBRIDGE_CONFIG_FILE: configFile(),
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `casbridge: casbridge is not configured: the casbridge profile prod is not in ${configFile()}: write it with \`casbridge configure --stack NAME --profile prod\` (for the sandbox, eval the exports \`casbridge sandbox\` prints).\n`,
    );
  });

  it('configure for a stack that does not exist fails in one line and writes nothing', async () => {
    const file = path.join(home, 'untouched-config');
    const result = await runCasbridge(
      ['configure', '--stack', 'casbridge-prod', '--region', sandbox().stack.region],
      {
        ...signing(),
        CASBRIDGE_CONFIG_FILE: file,
      },
    );
    expect(result).toMatchObject({ code: 1, stdout: '' });
    expect(result.stderr).toBe(
      `casbridge: There is no stack casbridge-prod in ${sandbox().stack.region}: Stack with id casbridge-prod does not exist (check --stack and --region).\n`,
    );
    expect(() => statSync(file)).toThrow();
  });

  it('a casbridge profile signs with the AWS CLI profile it names (aws_profile)', async () => {
    const credentials = path.join(home, 'aws-credentials');
    writeFileSync(
      credentials,
      `[sandbox-admin]\naws_access_key_id = ${sandbox().admin.accessKeyId}\naws_secret_access_key = ${sandbox().admin.secretAccessKey}\n`,
    );
    const file = path.join(home, 'signed-config');
    const env = {
      AWS_ENDPOINT_URL: sandbox().endpoint,
      AWS_SHARED_CREDENTIALS_FILE: credentials,
      AWS_CONFIG_FILE: path.join(home, 'aws-config-none'),
      HOME: home,
      CASBRIDGE_CONFIG_FILE: file,
    };
    const configure = await runCasbridge(
      [
        'configure',
        '--stack',
        'casbridge-dev',
        '--aws-profile',
        'sandbox-admin',
        '--region',
        sandbox().stack.region,
      ],
      env,
    );
    expect(configure.code).toBe(0);
    expect(readFileSync(file, 'utf8')).toContain('\naws_profile = sandbox-admin\n');
    const status = await runCasbridge(['status', '--output', 'json'], env);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout).counts).toBeDefined();
  });

  it('--version prints the version of package.json', async () => {
    const { version } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
      version: string;
    };
    await expect(runCasbridge(['--version'], {})).resolves.toEqual({
      code: 0,
      stdout: `${version}\n`,
      stderr: '',
    });
  });

  it('--output json is status --json, and --output text one tab-separated line per account', async () => {
    const env = { ...signing(), CASBRIDGE_CONFIG_FILE: configFile() };
    const json = await runCasbridge(['status', '--output', 'json'], env);
    const alias = await runCasbridge(['status', '--json'], env);
    expect(JSON.parse(json.stdout)).toEqual(JSON.parse(alias.stdout));
    const text = await runCasbridge(['--output', 'text', 'status'], env);
    expect(text.code).toBe(0);
    const lines = text.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines.find((l) => l.startsWith(HEALTHY))?.split('\t')).toEqual([
      HEALTHY,
      expect.any(String),
      'Workloads/Dev',
      'AWAITING_CONNECTION',
      'SUCCEEDED',
      expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      expect.stringMatching(/^AKIA/),
      '0',
    ]);
    const report = await runCasbridge(['report', '--output', 'text'], env);
    expect(
      report.stdout
        .trimEnd()
        .split('\n')
        .map((l) => l.split('\t').slice(0, 4)),
    ).toContainEqual([HEALTHY, expect.any(String), 'Workloads/Dev', 'SUCCEEDED']);
  });

  it('run starts the state machine the profile names and prints its report as --output asks', async () => {
    const env = { ...signing(), CASBRIDGE_CONFIG_FILE: configFile() };
    const result = await runCasbridge(['run', '--mode', 'reconcile', '--dry-run', '--output', 'text'], env);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      new RegExp(`^${HEALTHY}\t[^\t]+\tWorkloads/Dev\tSUCCEEDED\tAWAITING_CONNECTION\tNone$`, 'm'),
    );
  });

  it('--no-color keeps a terminal free of colour, which it otherwise gets', async () => {
    const onTerminal = async (args: string) => {
      // `script` gives the command a terminal of its own, where casbridge colours its tables.
      const { stdout } = await promisify(execFile)(
        'script',
        ['-qc', `${process.execPath} ${BIN} ${args}`, '/dev/null'],
        {
          cwd: ROOT,
          env: { PATH: process.env.PATH ?? '', ...signing(), CASBRIDGE_CONFIG_FILE: configFile() },
        },
      );
      return stdout;
    };
    expect(await onTerminal('status')).toContain('\u001b[');
    const plain = await onTerminal('status --no-color');
    expect(plain).not.toContain('\u001b[');
    expect(plain).toMatch(new RegExp(`^${HEALTHY} +`, 'm'));
  });
});
