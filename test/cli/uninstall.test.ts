import { spawn, spawnSync } from 'node:child_process';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { OrganizationsClient, RemoveAccountFromOrganizationCommand } from '@aws-sdk/client-organizations';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { Ledger } from '../../commons/ledger';
import { accountState, regionalState } from '../../sandbox/core/world';
import { defaultAccountId } from '../../sandbox/scenario/default-scenario';
import { BIN, ROOT, runCasbridge, sandboxExports } from '../support/cli-sandbox';
import { setLambdaEnvironment } from '../support/lambda-env';
import { runStateMachine } from '../support/local-run';
import { useSandbox } from '../support/sandbox';

/**
 * `casbridge uninstall` as an operator removing casbridge runs it, a separate process against the
 * sandbox: every account casbridge onboarded is offboarded in one run, only after a confirmation
 * that names how many, and the command then says how to remove the stacks and what stays.
 */
const ONBOARDED = [defaultAccountId(1), defaultAccountId(2)];
const NEVER_ONBOARDED = defaultAccountId(4);
const CONNECTOR_USER = 'cloudappsecurity';
/** util-linux `script`, which runs a command on a pseudo-terminal (macOS's takes other flags). */
const hasScript = spawnSync('script', ['--version'], { stdio: 'ignore' }).status === 0;

describe('casbridge uninstall', () => {
  const sandbox = useSandbox({ accounts: 4 });

  /** `casbridge sandbox`'s exports, each function run as its own role by the sandbox. */
  const env = (): Record<string, string> => ({
    ...sandboxExports(sandbox()),
    CASBRIDGE_LOCAL_LAMBDA_ENDPOINT: sandbox().endpoint,
  });
  const casbridge = (args: string[]) => runCasbridge(args, env());
  const ledger = () =>
    new Ledger(
      DynamoDBDocumentClient.from(new DynamoDBClient(sandbox().clientConfig())),
      sandbox().stack.ledgerTable,
    );
  const connectorUsers = () =>
    [...ONBOARDED, NEVER_ONBOARDED].filter((id) =>
      accountState(sandbox().world, id).iam.users.has(CONNECTOR_USER),
    );
  const connectors = async () =>
    Object.fromEntries((await ledger().list()).map((item) => [item.accountId, item.connector]));

  beforeAll(async () => {
    await setLambdaEnvironment(sandbox());
    await runStateMachine(sandbox(), { mode: 'onboard', accounts: ONBOARDED });
  });

  it('refuses, naming how many accounts it would offboard, when not on a terminal and not given --yes, and changes nothing', async () => {
    const result = await casbridge(['uninstall', '--local']);
    expect(result).toMatchObject({ code: 1, stdout: '' });
    expect(result.stderr).toBe(
      'casbridge: Refusing to offboard 2 accounts without confirmation: run this on a terminal, or add --yes. Nothing was changed.\n',
    );
    expect(connectorUsers()).toEqual(ONBOARDED);
    expect(await connectors()).toEqual({
      [ONBOARDED[0] as string]: 'AWAITING_CONNECTION',
      [ONBOARDED[1] as string]: 'AWAITING_CONNECTION',
    });
  });

  /**
   * `casbridge uninstall` on a terminal (util-linux `script` gives it one), with `typed` typed at
   * its prompt: what the terminal showed, and the exit code.
   */
  function atTerminal(typed: string): Promise<{ code: number | null; screen: string }> {
    const shell = Object.fromEntries(
      Object.entries(process.env).filter(([name]) => !/^(AWS_|CASBRIDGE_)/.test(name)),
    );
    const child = spawn('script', ['-qec', `"${process.execPath}" "${BIN}" uninstall --local`, '/dev/null'], {
      cwd: ROOT,
      env: { ...shell, NO_COLOR: '1', ...env() },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let screen = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      screen += chunk;
    });
    child.stdin.end(`${typed}\n`);
    return new Promise((resolve) => child.on('exit', (code) => resolve({ code, screen })));
  }

  it('on a terminal, asks to type how many accounts it offboards, and offboards nothing when another number is typed', async () => {
    if (!hasScript) {
      // Not a failure: the terminal needs util-linux `script`. One line says what did not run.
      console.warn(
        'test/cli/uninstall: skipped the terminal prompt (no util-linux `script` to give it a terminal)',
      );
      return;
    }
    const { code, screen } = await atTerminal('3');
    expect(screen).toContain('Offboard 2 accounts? Type 2 to confirm: ');
    expect(screen).toContain('casbridge: You typed "3", not 2: nothing was offboarded.');
    expect(code).toBe(1);
    expect(connectorUsers()).toEqual(ONBOARDED);
  });

  it('plans the offboarding of every onboarded account with --dry-run, changing nothing', async () => {
    const result = await casbridge(['uninstall', '--local', '--dry-run']);
    expect(result.code).toBe(0);
    for (const id of ONBOARDED) expect(result.stdout).toContain(id);
    expect(result.stdout).not.toContain(NEVER_ONBOARDED);
    expect(result.stdout).toContain(
      'is what `casbridge uninstall` would do to 2 accounts; nothing was changed.',
    );
    expect(connectorUsers()).toEqual(ONBOARDED);
  });

  it('offboards every account the ledger has onboarded in one run with --yes, then prints how to remove the stacks and what is retained', async () => {
    const result = await casbridge(['uninstall', '--local', '--yes']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    // The connector users are gone from the onboarded accounts; the other account was never touched.
    expect(connectorUsers()).toEqual([]);
    expect(await connectors()).toEqual({
      // Offboarded by a person's run: RETIRED, which no later reconcile re-onboards.
      [ONBOARDED[0] as string]: 'RETIRED',
      [ONBOARDED[1] as string]: 'RETIRED',
    });
    expect(result.stdout).toContain('The offboard run of 2 accounts finished with none failed');
    expect(result.stdout).toMatch(/^ {2}npx osls remove --stage dev --region us-east-1$/m);
    expect(result.stdout).toMatch(
      /^ {2}aws cloudformation delete-stack-set --stack-set-name casbridge-member-role$/m,
    );
    expect(result.stdout).toMatch(
      /^Retained on purpose: the ledger table, the reports and log buckets .* the secrets KMS key/m,
    );
  });

  it('says there is nothing left to offboard once every account is offboarded, and still prints the removal steps', async () => {
    const result = await casbridge(['uninstall', '--yes']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      /^No account is left to offboard \(the ledger holds 2, all offboarded\)\.$/m,
    );
    expect(result.stdout).toContain('npx osls remove');
  });
});

/**
 * An account that left the organization without casbridge seeing its event is still in the
 * ledger as onboarded: uninstall counts it, and its offboard run finds the departure and cleans
 * up the central part (DEPARTED, the removal hand-off) without ever calling into the account.
 */
describe('casbridge uninstall with an account that left the organization unrecorded', () => {
  const sandbox = useSandbox({ accounts: 3 });
  const STAYING = defaultAccountId(1);
  const DEPARTED = defaultAccountId(2);
  const env = (): Record<string, string> => ({
    ...sandboxExports(sandbox()),
    CASBRIDGE_LOCAL_LAMBDA_ENDPOINT: sandbox().endpoint,
  });
  const ledger = () =>
    new Ledger(
      DynamoDBDocumentClient.from(new DynamoDBClient(sandbox().clientConfig())),
      sandbox().stack.ledgerTable,
    );

  beforeAll(async () => {
    await setLambdaEnvironment(sandbox());
    await runStateMachine(sandbox(), { mode: 'onboard', accounts: [STAYING, DEPARTED] });
    await new OrganizationsClient({ ...sandbox().clientConfig(), maxAttempts: 1 }).send(
      new RemoveAccountFromOrganizationCommand({ AccountId: DEPARTED }),
    );
  });

  it('offboards the account still in the organization and records the departed one DEPARTED with a removal hand-off', async () => {
    const calls = sandbox().world.callLog.mark();
    const result = await runCasbridge(['uninstall', '--local', '--yes'], env());
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('The offboard run of 2 accounts finished with none failed');
    const connectors = Object.fromEntries(
      (await ledger().list()).map((item) => [item.accountId, item.connector]),
    );
    expect(connectors).toEqual({ [STAYING]: 'RETIRED', [DEPARTED]: 'DEPARTED' });
    expect(accountState(sandbox().world, STAYING).iam.users.has(CONNECTOR_USER)).toBe(false);
    // Nothing was sent into the account that left: its role is gone with the StackSet instance.
    expect(
      sandbox()
        .world.callLog.list({ sinceSeq: calls })
        .filter((c) => c.account === DEPARTED),
    ).toEqual([]);
    const { accountId, region, topicArn } = sandbox().stack;
    const removals = (regionalState(sandbox().world, accountId, region).topics.get(topicArn)?.messages ?? [])
      .map((m) => JSON.parse(m.message) as { type: string; accountId: string })
      .filter((m) => m.type === 'connector.removal' && m.accountId === DEPARTED);
    expect(removals).toHaveLength(1);
  });
});
