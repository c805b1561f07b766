import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { type Sandbox, startSandbox } from '../../sandbox';
import { defaultFaultLabel } from '../../sandbox/scenario/default-scenario';
import { type AccountFaultsSpec, parseScenario, type Scenario } from '../../sandbox/scenario/scenario';
import { stackEnvironment } from '../../sandbox/scenario/stack-environment';
import { CliError } from '../errors';
import { type Column, fitTable, tableWidth } from '../render/columns';
import { PLAIN } from '../render/style';
import { escapeControl, terminal } from '../render/terminal-text';

export interface SandboxCommandOptions {
  port: number;
  accounts: number;
  scenario?: string;
  performanceModel: boolean;
  /** Only the export lines on standard output (`casbridge sandbox --env > sandbox.env &`); the rest on stderr. */
  env?: boolean;
}

export const DEFAULT_SANDBOX_PORT = 4599;
const DEFAULT_ACCOUNTS = 40;
/** One period of the default fault pattern: enough to show every fault without flooding the terminal. */
const LISTED_ACCOUNTS = 40;
const READ_FAILURES: Readonly<Record<string, string>> = {
  ENOENT: 'does not exist',
  EACCES: 'is not readable',
  EISDIR: 'is a directory',
};
/** Closing waits for open connections; a client holding one must not keep Ctrl-C from working. */
const CLOSE_TIMEOUT_MS = 5_000;

/** `casbridge sandbox`: the sandbox as a long-running server for exploration with the AWS CLI. */
export function sandboxCommand(): Command {
  return new Command('sandbox')
    .description('runs the sandbox, a local multi-account AWS emulator, until interrupted')
    .addOption(
      new Option('--port <port>', 'port on 127.0.0.1 (0 picks a free one)')
        .argParser(parsePort)
        .default(DEFAULT_SANDBOX_PORT),
    )
    .addOption(
      new Option('--accounts <n>', 'member accounts of the default organization')
        .argParser(parseAccountCount)
        .default(DEFAULT_ACCOUNTS)
        .conflicts('scenario'),
    )
    .option('--scenario <file>', 'seed the organization a scenario JSON file describes (docs/sandbox.md)')
    .option('--performance-model', 'add per-service latency and rate limits, as the benchmark does', false)
    .option(
      '--env',
      'print only the export lines on standard output (everything else on standard error)',
      false,
    )
    .action((options: SandboxCommandOptions) => runSandbox(options));
}

/** Starts the sandbox, prints how to reach it, serves until SIGINT or SIGTERM, then closes it. */
export async function runSandbox(
  options: SandboxCommandOptions,
  stream: NodeJS.WritableStream = process.stdout,
  errStream: NodeJS.WritableStream = process.stderr,
): Promise<void> {
  const exports = terminal(stream);
  // With --env, standard output is a file of shell lines: the banner and the stop lines go to stderr.
  const out = options.env ? terminal(errStream) : exports;
  const scenario = options.scenario === undefined ? undefined : readScenarioFile(options.scenario);
  const sandbox = await startSandbox({
    port: options.port,
    ...(scenario ? { scenario } : { accounts: options.accounts }),
    performanceModel: options.performanceModel,
  }).catch((error: unknown) => {
    throw startFailure(error, options);
  });
  // Listen before announcing: a supervisor may signal as soon as it reads the ready line.
  const stopped = nextTerminationSignal();
  const banner = describeSandbox(sandbox, {
    defaultScenario: scenario === undefined,
    width: tableWidth((options.env ? errStream : stream) as { isTTY?: boolean; columns?: number }),
  });
  if (options.env) {
    const lines = banner.split('\n');
    exports.write(`${lines.filter((line) => line.startsWith('export ')).join('\n')}\n`);
    out.write(`${lines.filter((line) => !line.startsWith('export ')).join('\n')}`);
  } else {
    out.write(banner);
  }
  const signal = await stopped;
  out.write(`sandbox stopping (${signal})\n`);
  await Promise.race([
    sandbox.close(),
    new Promise<void>((resolve) => setTimeout(resolve, CLOSE_TIMEOUT_MS).unref()),
  ]);
  out.write('sandbox stopped\n');
}

/** Reads and validates a scenario file; every way it can be wrong is one sentence for the user. */
export function readScenarioFile(file: string): Scenario {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const why = READ_FAILURES[errorCode(error) ?? ''] ?? 'cannot be read';
    throw new CliError(`Scenario file ${file} ${why}.`, 1, { cause: error });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new CliError(`Scenario file ${file} is not valid JSON: ${messageOf(error)}.`, 1, { cause: error });
  }
  try {
    return parseScenario(raw);
  } catch (error) {
    const reason = messageOf(error).replace(/^Invalid sandbox scenario: /, '');
    throw new CliError(`Scenario file ${file} is not a valid scenario: ${reason}.`, 1, { cause: error });
  }
}

/** The banner: the ready line, shell exports, the organization, the stack, and how to use it. */
export function describeSandbox(
  sandbox: Sandbox,
  options: { defaultScenario: boolean; width?: number | undefined },
): string {
  const { endpoint, stack, scenario, world } = sandbox;
  const lines: string[] = [
    `sandbox ready on ${endpoint}`,
    `export AWS_ENDPOINT_URL=${endpoint}`,
    `export AWS_ACCESS_KEY_ID=${sandbox.admin.accessKeyId}`,
    `export AWS_SECRET_ACCESS_KEY=${sandbox.admin.secretAccessKey}`,
    `export AWS_REGION=${sandbox.region}`,
    // The AWS CLI (v1 and Debian's 2.9) reads the Region only from AWS_DEFAULT_REGION.
    `export AWS_DEFAULT_REGION=${sandbox.region}`,
    // casbridge's own configuration, as the stack gives it to its functions, so that
    // `casbridge run --local` works in the same shell.
    ...Object.entries(stackEnvironment(stack, sandbox.deployment.parameters))
      .filter(([name]) => name !== 'AWS_REGION')
      .map(([name, value]) => `export ${name}=${value}`),
    // For `casbridge run --local`: the sandbox's stand-in for Lambda, which gives each function
    // its own role's credentials.
    `export CASBRIDGE_LOCAL_LAMBDA_ENDPOINT=${endpoint}`,
    '',
  ];

  const members = scenario.accounts;
  lines.push(
    `Organization ${world.organization.id}: management account ${stack.accountId} and ${members.length} member accounts (administrator ${sandbox.admin.arn})`,
  );
  const rows: string[][] = [];
  rows.push([
    stack.accountId,
    scenario.organization.managementAccountName,
    'Root',
    'ACTIVE',
    'CREATED',
    'management',
  ]);
  const labels = members.map((account, i) =>
    options.defaultScenario ? defaultFaultLabel(i + 1) : faultLabel(account.faults),
  );
  members.slice(0, LISTED_ACCOUNTS).forEach((account, i) => {
    rows.push([
      account.id,
      account.name,
      account.ou === '' ? 'Root' : `Root/${account.ou}`,
      account.state,
      account.joinedMethod,
      labels[i] ?? 'healthy',
    ]);
  });
  // Fitted to the terminal (the OU goes first, then how it joined, then the name); a pipe gets it whole.
  const column = (head: string, i: number) => ({
    head,
    cell: (row: string[]) => escapeControl(row[i] ?? ''),
  });
  const [id, name, ou, state, joined, fault] = ['ACCOUNT', 'NAME', 'OU', 'STATE', 'JOINED', 'FAULT'].map(
    column,
  ) as [
    Column<string[]>,
    Column<string[]>,
    Column<string[]>,
    Column<string[]>,
    Column<string[]>,
    Column<string[]>,
  ];
  const width = options.width === undefined ? undefined : options.width - 2;
  const accounts = fitTable(
    [
      [id, name, ou, state, joined, fault],
      [id, name, state, joined, fault],
      [id, name, state, fault],
      [id, state, fault],
    ],
    rows,
    { style: PLAIN, width },
  );
  lines.push(...accounts.split('\n').map((row) => `  ${row}`));
  if (members.length > LISTED_ACCOUNTS) {
    lines.push(
      `  … and ${members.length - LISTED_ACCOUNTS} more (all of them: curl -s ${endpoint}/_sandbox/state)`,
    );
    lines.push(`  faults: ${countLabels(labels)}`);
  }
  lines.push('');

  lines.push(`Central stack (account ${stack.accountId}, ${stack.region})`);
  lines.push(
    ...table([
      ['reports bucket', stack.reportsBucket],
      ['log bucket', stack.logBucket],
      ['ledger table', stack.ledgerTable],
      ['topic', stack.topicArn],
      [
        'function roles',
        `${sandbox.deployment.functions.length} (${sandbox.deployment.functions[0]?.roleArn ?? ''}, …)`,
      ],
      ['ExternalId', stack.externalId],
    ]).map((row) => `  ${row}`),
  );
  lines.push('');

  const aws = `/usr/bin/aws --endpoint-url ${endpoint}`;
  const member = members.find((a) => a.joinedMethod === 'CREATED' && a.state === 'ACTIVE');
  lines.push(
    'Use it',
    "  Paste the export lines into a shell. Debian's AWS CLI 2.9 ignores AWS_ENDPOINT_URL, so pass --endpoint-url:",
    `    ${aws} organizations list-accounts`,
  );
  if (member) {
    lines.push(
      '  To act in a member account, assume the role Organizations created there, then export the',
      '  returned AccessKeyId, SecretAccessKey and SessionToken (as AWS_SESSION_TOKEN):',
      `    ${aws} sts assume-role --role-arn arn:${world.settings.partition}:iam::${member.id}:role/OrganizationAccountAccessRole --role-session-name explore`,
      `  casbridge's functions each run as their own role (${sandbox.deployment.functions[0]?.roleName ?? ''}, …), which trusts only Lambda;`,
      `  those that reach a member account assume CasBridgeExecutionRole there with --external-id ${stack.externalId}.`,
    );
  }
  lines.push(
    `  Every call the sandbox served: curl -s ${endpoint}/_sandbox/calls   (state: ${endpoint}/_sandbox/state)`,
    'Ctrl-C stops the sandbox.',
    '',
  );
  return lines.join('\n');
}

export function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65_535) {
    throw new InvalidArgumentError('A port is an integer from 0 to 65535.');
  }
  return port;
}

function parseAccountCount(value: string): number {
  const count = Number(value);
  // Default-scenario account ids are 2000000000NN: 12 digits hold far more than this.
  if (!/^\d+$/.test(value) || count > 100_000) {
    throw new InvalidArgumentError('The number of accounts is an integer from 0 to 100000.');
  }
  return count;
}

function nextTerminationSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      // From here a second Ctrl-C takes Node's default action and ends the process at once.
      resolve(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

function startFailure(error: unknown, options: SandboxCommandOptions): Error {
  if (errorCode(error) === 'EADDRINUSE') {
    return new CliError(
      `Port ${options.port} on 127.0.0.1 is already in use; choose another with --port (0 picks a free one).`,
      1,
      { cause: error },
    );
  }
  if (errorCode(error) === 'EACCES') {
    return new CliError(`Port ${options.port} on 127.0.0.1 needs privileges; choose one above 1023.`, 1, {
      cause: error,
    });
  }
  // Seeding reads the member-role template and resolves its parameters: the scenario names both.
  if (options.scenario !== undefined) {
    return new CliError(`Scenario file ${options.scenario} cannot be seeded: ${messageOf(error)}.`, 1, {
      cause: error,
    });
  }
  return error instanceof Error ? error : new Error(String(error));
}

function faultLabel(faults: AccountFaultsSpec | undefined): string {
  if (!faults) return 'healthy';
  const labels: string[] = [];
  if (faults.roleMissing) labels.push('role-missing');
  if (faults.roleNotAssumableForSeconds) labels.push('role-not-ready');
  if (faults.scpDeny?.length) labels.push('scp-deny');
  if (faults.throttle && Object.keys(faults.throttle).length > 0) labels.push('throttled');
  if (faults.latencyMs) labels.push('latency');
  if (faults.injectedErrors?.length) labels.push('injected-errors');
  if (faults.preexisting && Object.keys(faults.preexisting).length > 0) labels.push('preexisting');
  return labels.length === 0 ? 'healthy' : labels.join(',');
}

function countLabels(labels: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const label of labels) counts.set(label, (counts.get(label) ?? 0) + 1);
  return [...counts]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([label, count]) => `${label} ${count}`)
    .join(', ');
}

/** Columns two spaces apart; a scenario's names are escaped first (a name must not break a row). */
function table(untrusted: readonly string[][]): string[] {
  const rows = untrusted.map((row) => row.map(escapeControl));
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length);
    });
  }
  return rows.map((row) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd(),
  );
}

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function messageOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/\s+/g, ' ').replace(/\.$/, '');
}
