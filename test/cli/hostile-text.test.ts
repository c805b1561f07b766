import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { RunReport } from '../../commons/run';
import type { ScenarioInput } from '../../sandbox/scenario/scenario';
import { captureOutput } from '../support/capture-output';
import { type CliResult, runCasbridgeBytes, sandboxExports, startCliSandbox } from '../support/cli-sandbox';
import { setLambdaEnvironment } from '../support/lambda-env';
import { runStateMachine } from '../support/local-run';
import { useSandbox } from '../support/sandbox';

/**
 * An organization whose names carry terminal escape sequences, CR/LF, C1 and bidi controls, and
 * an AWS error message that quotes them, seen through every command an operator runs as a
 * separate process (piped, as a script or CI reads them): no byte a terminal acts on reaches
 * stdout or stderr, the text shows them escaped, and JSON still parses to the names as they are.
 */

const HOSTILE_NAME = '\u001b[2J\u001b[31mPWNED\r\n';
const SHOWN_NAME = '\\x1b[2J\\x1b[31mPWNED\\r\\n';
const BIDI_OU = 'Work\u202eloads';
const HOSTILE = '200000000001';
const DENIED = '200000000002';
const AWS_MESSAGE = `User: arn:aws:sts::${DENIED}:assumed-role/CasBridgeExecutionRole/casbridge is not authorized to perform: cloudtrail:CreateTrail \u001b]0;owned\u0007\u009b2J\r\nall good`;

const SCENARIO: ScenarioInput = {
  organizationalUnits: [BIDI_OU],
  accounts: [
    { id: HOSTILE, name: HOSTILE_NAME, ou: BIDI_OU, tags: { owner: '\u001b[5mblink' } },
    {
      id: DENIED,
      name: `ledger\u009b2J\u2066`,
      ou: '',
      faults: {
        injectedErrors: [
          {
            service: 'cloudtrail',
            operation: 'CreateTrail',
            code: 'AccessDeniedException',
            message: AWS_MESSAGE,
            times: 100,
          },
        ],
      },
    },
    { id: '200000000003', name: 'plain-prod', ou: '' },
  ],
};

/** A string as a regular expression that matches it literally. */
function literal(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * What a terminal would act on: every C0 byte but LF (and CR of a CRLF line end, the CSV
 * report's), DEL, and, decoded, the C1 and bidi controls.
 */
function rawControls(bytes: Buffer): string[] {
  const found = [...bytes]
    .filter((b, i) => (b < 0x20 && b !== 0x0a && !(b === 0x0d && bytes[i + 1] === 0x0a)) || b === 0x7f)
    .map((b) => `0x${b.toString(16)}`);
  for (const c of bytes.toString('utf8')) {
    const code = c.codePointAt(0) ?? 0;
    if (
      (code >= 0x80 && code <= 0x9f) ||
      (code >= 0x202a && code <= 0x202e) ||
      (code >= 0x2066 && code <= 0x2069) ||
      [0x061c, 0x200e, 0x200f, 0x2028, 0x2029].includes(code)
    )
      found.push(`U+${code.toString(16).padStart(4, '0')}`);
  }
  return found;
}

describe('hostile names and messages at the terminal', () => {
  const sandbox = useSandbox({ scenario: SCENARIO });
  let dir: string;

  const exports = (): Record<string, string> => ({
    ...sandboxExports(sandbox()),
    // run --local: the sandbox hands each function its own role, as Lambda would.
    CASBRIDGE_LOCAL_LAMBDA_ENDPOINT: sandbox().endpoint,
  });

  const casbridge = (args: string[], env: Record<string, string> = exports()) => runCasbridgeBytes(args, env);

  /** Neither stream carries a byte a terminal acts on. */
  function expectClean(result: CliResult<Buffer>): void {
    expect({ stdout: rawControls(result.stdout), stderr: rawControls(result.stderr) }).toEqual({
      stdout: [],
      stderr: [],
    });
  }

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'casbridge-hostile-'));
    await setLambdaEnvironment(sandbox());
    // The run's handlers log as in Lambda; a passing test prints nothing.
    captureOutput();
    try {
      await runStateMachine(sandbox(), { mode: 'onboard' });
    } finally {
      jest.restoreAllMocks();
    }
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('status shows the names, the OU and the AWS message escaped, and --json keeps them exact', async () => {
    const table = await casbridge(['status']);
    expect(table.code).toBe(0);
    expectClean(table);
    const text = table.stdout.toString();
    // The name column is cut at 18 characters; what is shown of it is escaped.
    expect(text).toMatch(
      new RegExp(`^${HOSTILE} +${literal('\\x1b[2J\\x1b[31mPW…')} +${literal('Work\\u202eloads')} +`, 'm'),
    );
    expect(text).toContain('\\x1b]0;owned\\x07\\u009b2J\\r\\nall good');

    const json = await casbridge(['status', '--json']);
    expectClean(json);
    const accounts = (
      JSON.parse(json.stdout.toString()) as {
        accounts: { accountId: string; name: string; ou: string; lastError: { message: string } | null }[];
      }
    ).accounts;
    const byId = new Map(accounts.map((a) => [a.accountId, a]));
    expect(byId.get(HOSTILE)).toMatchObject({ name: HOSTILE_NAME, ou: BIDI_OU });
    expect(byId.get(DENIED)?.name).toBe('ledger\u009b2J\u2066');
    expect(byId.get(DENIED)?.lastError?.message).toContain(AWS_MESSAGE.slice(-30));
  });

  it('report shows the OU escaped in the table, and JSON and CSV carry no raw control', async () => {
    const [table, json, csv] = await Promise.all([
      casbridge(['report']),
      casbridge(['report', '--format', 'json']),
      casbridge(['report', '--format', 'csv']),
    ]);
    for (const result of [table, json, csv]) {
      expect(result.code).toBe(0);
      expectClean(result);
    }
    expect(table.stdout.toString()).toMatch(
      new RegExp(`^${HOSTILE} +${literal('Work\\u202eloads')} +SUCCEEDED`, 'm'),
    );
    const report = JSON.parse(json.stdout.toString()) as RunReport;
    expect(report.accounts.find((a) => a.accountId === HOSTILE)).toMatchObject({
      name: HOSTILE_NAME,
      ou: BIDI_OU,
    });
    // Quoted (it holds a line end), its ESCs escaped; CRLF is CSV's own line end and stays.
    expect(csv.stdout.toString()).toContain(`${HOSTILE},"\\x1b[2J\\x1b[31mPWNED\r\n",Work\\u202eloads,`);
  });

  it('run --local prints its table with the OU escaped, and exits 2 for the denied account', async () => {
    const result = await casbridge(['run', '--local', '--mode', 'reconcile']);
    expect(result.code).toBe(2);
    expectClean(result);
    const text = result.stdout.toString();
    expect(text).toMatch(new RegExp(`^${HOSTILE} +${literal('Work\\u202eloads')} +SUCCEEDED`, 'm'));
    expect(text).toMatch(new RegExp(`^${DENIED} +\\(root\\) +FAILED .*AccessDenied$`, 'm'));
  });

  it('echoes a bad flag, a bad account id and a bad input file escaped', async () => {
    const flag = await casbridge(['status', `--acount\u001b[2J`]);
    const id = await casbridge(['confirm', `2000\u001b]0;x\u0007`]);
    const choice = await casbridge(['run', '--mode', `on\u009bboard\u202e`]);
    const file = path.join(dir, `input\u001b[2J.json`);
    writeFileSync(file, '{"mode":"onboard","mode":"offboard"}');
    const input = await casbridge(['run', '--local', '--input', file]);
    for (const result of [flag, id, choice, input]) {
      expect(result.code).toBe(1);
      expectClean(result);
    }
    expect(flag.stderr.toString()).toContain("unknown option '--acount\\x1b[2J'");
    expect(choice.stderr.toString()).toContain("'on\\u009bboard\\u202e'");
    expect(input.stderr.toString()).toBe(
      "casbridge: the run did not start: InvalidRunInput: duplicate key 'mode': a JSON object names it twice, and which one counts is not up to casbridge to guess; give each field once\n",
    );
  });

  it("credentials' portal steps and confirm quote the account's name escaped", async () => {
    const credentials = await casbridge(['credentials', HOSTILE, '--yes']);
    expect(credentials.code).toBe(0);
    expectClean(credentials);
    expect(credentials.stdout.toString()).toContain(`Account ${HOSTILE} (${SHOWN_NAME}):`);
    expect(credentials.stdout.toString()).toContain(`${SHOWN_NAME} (${HOSTILE})`);

    const confirm = await casbridge(['confirm', HOSTILE]);
    expect(confirm.code).toBe(0);
    expectClean(confirm);
    expect(confirm.stdout.toString()).toContain(`account ${HOSTILE} (${SHOWN_NAME}) is live`);
  });

  it('the sandbox banner and the demo show the names escaped', async () => {
    const file = path.join(dir, 'scenario.json');
    writeFileSync(file, JSON.stringify(SCENARIO));
    const server = await startCliSandbox(['--port', '0', '--scenario', file]);
    await server.stop('SIGTERM');
    const banner = Buffer.from(server.stdout());
    expect(rawControls(banner)).toEqual([]);
    expect(server.stdout()).toMatch(
      new RegExp(`^ {2}${HOSTILE} +${literal(SHOWN_NAME)} +${literal('Root/Work\\u202eloads')} `, 'm'),
    );

    const demo = await casbridge(
      [
        'demo',
        '--scenario',
        file,
        '--json',
        path.join(dir, 'demo.json'),
        '--html',
        path.join(dir, 'demo.html'),
      ],
      {},
    );
    expectClean(demo);
    expect(demo.stdout.toString()).toMatch(
      new RegExp(`^${HOSTILE} +${literal('Work\\u202eloads')} +SUCCEEDED`, 'm'),
    );
  }, 120_000);
});
