import { readFileSync, writeFileSync } from 'node:fs';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { Command, InvalidArgumentError, Option } from 'commander';
import { ledger } from '../../commons/clients/dynamodb';
import { localLambdaEndpoint, stateMachineArn, useConfig } from '../../commons/config';
import { awsErrorName } from '../../commons/errors';
import { type ReportWording, reportWording } from '../../commons/report/wording';
import type { RunReport } from '../../commons/run';
import { useFunctionCredentials } from '../../commons/runtime';
import { parseRunInputText } from '../../functions/resolve-targets/run-input';
import { executeRunLocally, resolvedBy } from '../../statemachine/local/execute-run';
import { releaseLeasesOf } from '../../statemachine/local/release-leases';
import { accountFinished, type EventLog } from '../../statemachine/local/run-local';
import { sandboxFunctionCredentials } from '../../statemachine/local/sandbox-lambda';
import { withAwsContext } from '../aws-errors';
import { cliConfiguration, cliRuntime, cliSettings, outputFormat } from '../cli-input';
import { CliError, isCliError } from '../errors';
import { type RemoteProgress, runRemotely } from '../remote/follow-run';
import { FALLBACK_WIDTH, tableWidth } from '../render/columns';
import { describeLease, leaseStatus } from '../render/lease-text';
import { finalProgressLine, waitingText } from '../render/progress-text';
import { renderReportTable } from '../render/report-table';
import { styleFor } from '../render/style';
import { escapeControl, type TerminalStream, terminal, terminalSafe } from '../render/terminal-text';
import { reportText } from '../render/text-output';

export interface RunCommandOptions {
  mode?: string;
  accounts?: string[];
  ou?: string[];
  dryRun: boolean;
  maxConcurrency?: number;
  input?: string;
  local: boolean;
  stateMachineArn?: string;
  json?: string;
  /** Every column of the report's table, however wide the terminal. */
  wide?: boolean;
}

/**
 * Exit codes: the run completed with no failed account / some accounts failed / it could not
 * start. A dry run's plan exits 2 when accounts would fail, although its execution succeeds: a CI
 * job gates on the plan's predictions, and a plan is the cheap place to learn of them.
 */
export const EXIT_OK = 0;
export const EXIT_ACCOUNTS_FAILED = 2;
export const EXIT_NOT_STARTED = 1;

/** `casbridge run`: one run of the state machine, followed to its report. */
export function runCommand(): Command {
  return new Command('run')
    .description('starts a run (onboard, reconcile, offboard, retry-failed) and prints its report')
    .addOption(
      new Option('--mode <mode>', 'what the run does').choices([
        'onboard',
        'reconcile',
        'offboard',
        'retry-failed',
      ]),
    )
    .option('--accounts <ids>', 'only these accounts (comma-separated ids)', splitList)
    .option('--ou <ids>', 'only accounts under these OUs, recursively (comma-separated ids)', splitList)
    .option('--dry-run', 'plan only: report what would change, change nothing', false)
    .addOption(new Option('--max-concurrency <n>', 'accounts worked on at once').argParser(parsePositive))
    .option('--input <file>', 'a run input or an EventBridge event as JSON, instead of the flags above')
    .option(
      '--local',
      'run the state machine in this process: against the sandbox each function as its own role; against AWS every function with your own credentials (README "Running a run locally against AWS")',
      false,
    )
    .option(
      '--state-machine-arn <arn>',
      'the deployed state machine to start (default: CASBRIDGE_STATE_MACHINE_ARN, the stack output StateMachineArn)',
    )
    .option('--json <file>', 'also write the report as JSON to this file')
    .option('--wide', "every column of the report's table, however narrow the terminal", false)
    .action(async (options: RunCommandOptions) => {
      process.exitCode = await runRun(options);
    });
}

export async function runRun(options: RunCommandOptions): Promise<number> {
  const input = runInput(options);
  const end = await executeRun(input, options);
  return 'report' in end ? printReport(end.report, options) : end.exitCode;
}

/**
 * A run another command starts for its own ends (`casbridge credentials --new-key`): started and
 * followed as `casbridge run` does it (deployed, or with `local` in this process), its progress on
 * standard error, its report returned rather than printed; one sentence when it has none.
 */
export async function runToReport(
  input: unknown,
  options: Pick<RunCommandOptions, 'local' | 'stateMachineArn'>,
): Promise<RunReport> {
  const end = await executeRun(input, { dryRun: false, ...options });
  if ('report' in end) return end.report;
  throw new CliError(
    `the run did not finish (exit code ${end.exitCode}): nothing was done after it.`,
    end.exitCode,
  );
}

/** A run to its report, or the exit code of a run that has none (it did not start, or was stopped). */
type RunEnd = { report: RunReport } | { exitCode: number };

async function executeRun(input: unknown, options: RunCommandOptions): Promise<RunEnd> {
  if (!options.local) return runDeployed(input, options);
  const settings = cliSettings();
  // Every variable a function reads, from the profile too: the functions run in this process.
  useConfig(cliConfiguration(LOCAL_RUN_SETTINGS, settings));
  // The sandbox stands in for Lambda and gives each function its role; against AWS there is no
  // Lambda service in a local run, so every function runs with the caller's own credentials.
  const lambda = localLambdaEndpoint();
  if (lambda) useFunctionCredentials(sandboxFunctionCredentials(lambda));
  else {
    if (settings.awsProfile) useFunctionCredentials(profileCredentials(settings.awsProfile));
    terminal(process.stderr).write(
      'casbridge: a local run against AWS runs every function with your own credentials: they need what the functions\' roles grant together, and the member role trusts only those roles, so each member account fails RoleMissing unless its trust admits you; `casbridge run` without --local starts the deployed state machine (README "Running a run locally against AWS").\n',
    );
  }
  const progress = new Progress(terminal(process.stderr), wordingFor(input));
  const executionName = `local-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  const interruption = new Interruption(executionName, () => progress.done());
  let outcome: Awaited<ReturnType<typeof executeRunLocally>>;
  try {
    outcome = await executeRunLocally(input, {
      ...(settings.awsProfile && !lambda ? { profile: settings.awsProfile } : {}),
      executionName,
      onEvent: (event) => {
        interruption.follow(event);
        progress.update(event);
      },
      signal: interruption.signal,
    });
    if (outcome.execution.status === 'ABORTED') return { exitCode: await interruption.releaseLeases() };
  } finally {
    // A signal from here on ends the process as it would anywhere: the run is over.
    interruption.dispose();
  }
  progress.done(outcome.report ?? undefined);
  if (outcome.startError) return { exitCode: notStarted(outcome.startError) };
  return { report: outcome.report as RunReport };
}

/** Exit codes of a run stopped by a signal: 128 + the signal's number, as shells report them. */
const SIGNAL_EXIT: Readonly<Record<'SIGINT' | 'SIGTERM', number>> = { SIGINT: 130, SIGTERM: 143 };

/**
 * SIGINT and SIGTERM during `run --local`: the first stops the execution (no task starts, the
 * running ones finish) and then releases the leases it still holds, so the accounts are not
 * locked until their leases expire; a second one exits at once. SIGKILL cannot be caught: a
 * killed run's leases stay until they expire or `casbridge unlock` releases them.
 */
class Interruption {
  private readonly controller = new AbortController();
  private received: 'SIGINT' | 'SIGTERM' | undefined;
  private runId: string | undefined;
  private readonly listener = (signal: NodeJS.Signals) => this.onSignal(signal as 'SIGINT' | 'SIGTERM');

  constructor(
    private readonly executionName: string,
    private readonly endProgress: () => void,
  ) {
    process.on('SIGINT', this.listener);
    process.on('SIGTERM', this.listener);
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  follow(event: EventLog): void {
    this.runId ??= resolvedBy(event)?.run.runId;
  }

  /** Releases what the stopped execution holds; resolves to the exit code the signal calls for. */
  async releaseLeases(): Promise<number> {
    const signal = this.received ?? 'SIGINT';
    // The operator's own credentials, as for `status` and `unlock`: not a function's role.
    const runtime = cliRuntime(['ledgerTable']);
    const { config } = runtime;
    const owners = [this.executionName, ...(this.runId ? [this.runId] : [])];
    let released: string[];
    try {
      released = await withAwsContext(
        {
          doing: `release the run's leases in the ledger table ${config.ledgerTable}`,
          region: config.region,
        },
        () => releaseLeasesOf(ledger(runtime), owners),
      );
    } catch (error) {
      const reason = isCliError(error)
        ? error.message
        : `${(error as Error).name}: ${(error as Error).message}`;
      this.say(
        `${this.run()} was interrupted by ${signal}, its report not written; its leases were not released (${reason}): they stay until they expire or \`casbridge unlock ACCOUNT\` releases them.`,
      );
      return SIGNAL_EXIT[signal];
    }
    this.say(
      `${this.run()} was interrupted by ${signal}, its report not written: released ${plural(released.length, 'lease')}${released.length > 0 ? ` (${listed(released)})` : ''}.`,
    );
    return SIGNAL_EXIT[signal];
  }

  dispose(): void {
    process.off('SIGINT', this.listener);
    process.off('SIGTERM', this.listener);
  }

  private onSignal(signal: 'SIGINT' | 'SIGTERM'): void {
    if (this.received) {
      this.say(
        `${signal} again: exiting now; the leases of ${this.run()} may stay until they expire or \`casbridge unlock ACCOUNT\` releases them.`,
      );
      process.exit(SIGNAL_EXIT[signal]);
    }
    this.received = signal;
    this.endProgress();
    this.say(
      `${signal}: stopping ${this.run()}; it releases its leases once the tasks in flight return (${signal} again exits at once).`,
    );
    this.controller.abort();
  }

  private run(): string {
    return this.runId
      ? `run ${this.runId} (execution ${this.executionName})`
      : `execution ${this.executionName}`;
  }

  private say(line: string): void {
    terminal(process.stderr).write(`casbridge: ${escapeControl(line)}\n`);
  }
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/** Account ids for one line: the first ten, then how many more. */
function listed(accounts: readonly string[]): string {
  const shown = accounts.slice(0, 10).join(', ');
  return accounts.length > 10 ? `${shown} and ${accounts.length - 10} more` : shown;
}

/**
 * Starts an execution of the deployed state machine and follows it to its report through the
 * Step Functions API: the same path against AWS and against the sandbox.
 */
async function runDeployed(input: unknown, options: RunCommandOptions): Promise<RunEnd> {
  const settings = cliSettings({ stateMachineArn: options.stateMachineArn });
  cliConfiguration(['stateMachineArn'], settings);
  const arn = stateMachineArn(settings.variables);
  if (!arn)
    throw new CliError(
      `The state machine ${escapeControl(settings.variables.CASBRIDGE_STATE_MACHINE_ARN ?? '')} is no ARN: give the stack output StateMachineArn (\`casbridge configure --stack NAME\` reads it).`,
    );
  const progress = new RemoteProgressLine(terminal(process.stderr), wordingFor(input));
  let outcome: Awaited<ReturnType<typeof runRemotely>>;
  try {
    outcome = await startedRemotely(arn, () =>
      runRemotely(input, {
        stateMachineArn: arn,
        ...(settings.awsProfile ? { profile: settings.awsProfile } : {}),
        executionName: `cli-${new Date().toISOString().replace(/[:.]/g, '-')}`,
        onStarted: (executionArn) => progress.started(executionArn),
        onProgress: (p) => progress.update(p),
      }),
    );
  } catch (error) {
    progress.done();
    throw error;
  }
  progress.done(outcome.report, outcome.status);
  if (outcome.startError) return { exitCode: notStarted(outcome.startError) };
  if (!outcome.report) {
    throw new CliError(
      `execution ${outcome.executionArn} ended ${outcome.status} without a report: ${outcome.error ?? ''} ${outcome.cause ?? ''}`.trim(),
    );
  }
  return { report: outcome.report };
}

/** A state machine that is not there is a setting to fix (classified by name), not a casbridge bug. */
async function startedRemotely<T>(arn: string, start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (error) {
    if (awsErrorName(error) === 'StateMachineDoesNotExist')
      throw new CliError(
        `The state machine ${escapeControl(arn)} does not exist: check --state-machine-arn, CASBRIDGE_STATE_MACHINE_ARN or state_machine_arn in the casbridge profile (\`casbridge configure --stack NAME\` reads it again).`,
        EXIT_NOT_STARTED,
        { cause: error },
      );
    throw error;
  }
}

/** The run's own error (a bad input quotes it): one line, escaped. */
function notStarted(error: { name: string; message: string }): number {
  terminal(process.stderr).write(
    `casbridge: the run did not start: ${escapeControl(error.name)}: ${escapeControl(error.message)}\n`,
  );
  return EXIT_NOT_STARTED;
}

async function printReport(report: RunReport, options: RunCommandOptions): Promise<number> {
  const output = outputFormat();
  if (output === 'text') terminal(process.stdout).writeRecords(reportText(report));
  else if (output === 'json') terminal(process.stdout).write(`${JSON.stringify(report, null, 2)}\n`);
  else {
    // Coloured on a terminal (unless NO_COLOR), fitted to its width; a pipe gets the whole table, plain.
    const table = renderReportTable(report, {
      style: styleFor(process.stdout),
      width: tableWidth(process.stdout, options.wide),
    });
    terminal(process.stdout).write(`${table}\n`);
  }
  if (options.json) writeFileSync(options.json, `${JSON.stringify(report, null, 2)}\n`);
  const leased = report.accounts
    .filter((a) => a.outcome === 'SKIPPED' && a.skipReason === 'lease-held-by-another-run')
    .map((a) => a.accountId);
  if (leased.length > 0) terminal(process.stdout).write(await leaseHolders(leased));
  return report.summary.byOutcome.FAILED > 0 ? EXIT_ACCOUNTS_FAILED : EXIT_OK;
}

/** Leases named in a run's output at most: the rest are one `casbridge status` away. */
const LEASES_NAMED = 10;

/**
 * Who holds the leases the run was skipped for: a run that died holding them (killed, its
 * machine gone) keeps them until they expire, and `casbridge unlock` is what frees them sooner.
 */
async function leaseHolders(accountIds: readonly string[]): Promise<string> {
  const advice =
    'A run still working records these accounts itself; if it died (killed, its machine gone), `casbridge unlock ACCOUNT` releases its lease.';
  let lines: string[];
  try {
    const runtime = cliRuntime(['ledgerTable']);
    const now = Date.now();
    const items = await Promise.all(accountIds.slice(0, LEASES_NAMED).map((id) => ledger(runtime).get(id)));
    lines = items.map((item, i) => {
      const lease = item ? leaseStatus(item, now) : null;
      return `  ${accountIds[i]} ${lease ? describeLease(lease) : 'no longer held'}`;
    });
  } catch {
    // The report is printed and complete; naming the holders is a courtesy that must not fail the
    // command (a deployed run's operator may have no ledger configured or no right to read it).
    return `\n${plural(accountIds.length, 'account')} skipped: another run holds the lease (\`casbridge status\` shows who). ${advice}\n`;
  }
  const more =
    accountIds.length > LEASES_NAMED
      ? [`  and ${accountIds.length - LEASES_NAMED} more (\`casbridge status\`)`]
      : [];
  return `\n${['Skipped, another run holds the lease:', ...terminalSafe(lines), ...more, advice].join('\n')}\n`;
}

/** The run input from --input, or from the flags (ResolveTargets validates it fully). */
export function runInput(options: RunCommandOptions): unknown {
  if (options.input) {
    if (options.mode || options.accounts || options.ou || options.dryRun) {
      throw new CliError('--input replaces --mode, --accounts, --ou and --dry-run: give one or the other');
    }
    let text: string;
    try {
      text = readFileSync(options.input, 'utf8');
    } catch (error) {
      throw new CliError(
        `cannot read ${options.input}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
      );
    }
    try {
      // Strict: a key named twice is refused here, before any run starts (JSON.parse keeps the last).
      return parseRunInputText(text);
    } catch (error) {
      throw new CliError(
        `the run did not start: ${(error as Error).name}: ${(error as Error).message}`,
        EXIT_NOT_STARTED,
      );
    }
  }
  if (!options.mode)
    throw new CliError(
      'say what the run does: --mode onboard|reconcile|offboard|retry-failed (or --input FILE)',
    );
  return {
    mode: options.mode,
    ...(options.accounts ? { accounts: options.accounts } : {}),
    ...(options.ou ? { organizationalUnits: options.ou } : {}),
    ...(options.dryRun ? { dryRun: true } : {}),
    ...(options.maxConcurrency ? { maxConcurrency: options.maxConcurrency } : {}),
  };
}

/** A dry run's progress says `would fail` as its report will. */
function wordingFor(input: unknown): ReportWording {
  return reportWording({ dryRun: (input as { dryRun?: unknown } | null)?.dryRun === true });
}

/** What a local run's functions read (commons/config.ts): every setting they cannot start without. */
const LOCAL_RUN_SETTINGS = ['ledgerTable', 'externalId', 'logBucket', 'topicArn', 'reportsBucket'] as const;

/** Every function of a local run against AWS signs with the AWS profile the casbridge profile names. */
function profileCredentials(profile: string) {
  const credentials = defaultProvider({ profile });
  return () => credentials;
}

function splitList(value: string): string[] {
  return value
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean);
}

function parsePositive(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number of at least 1');
  return n;
}

/**
 * A one-line progress display on a terminal: accounts started and finished, failures, and what
 * the accounts in a retrier's backoff wait for; its last line is the report's own counts.
 */
class Progress {
  private started = 0;
  private finished = 0;
  private failed = 0;
  private lastState = '';
  private ended = false;
  private readonly tty: boolean;
  /** The error each map iteration is retrying after, by iteration index. */
  private readonly retrying = new Map<number, string>();
  private readonly lastError = new Map<number, string>();

  constructor(
    private readonly out: TerminalStream,
    private readonly words: ReportWording,
  ) {
    this.tty = out.isTTY;
  }

  update(event: EventLog): void {
    if (this.ended) return;
    if (event.type === 'MapIterationStarted') this.started++;
    const finished = accountFinished(event);
    if (finished) {
      this.finished++;
      if (finished.outcome === 'FAILED') this.failed++;
    }
    if (event.type === 'StateEntered' && event.index === undefined) this.lastState = event.state.name;
    this.followRetries(event);
    if (this.tty) this.out.write(`\r${fitLine(this.line(), this.out)}\u001b[K`);
  }

  /** Ends the line, with the report's counts when there is one; nothing is drawn after it. */
  done(report?: RunReport): void {
    if (this.ended) return;
    this.ended = true;
    if (this.tty)
      this.out.write(`\r${report ? finalProgressLine(report, this.words) : this.line()}\u001b[K\n`);
  }

  private followRetries(event: EventLog): void {
    if (!('index' in event) || event.index === undefined) return;
    const index = event.index;
    if (event.type === 'StateFailed') this.lastError.set(index, event.Error);
    else if (event.type === 'StateRetried') this.retrying.set(index, this.lastError.get(index) ?? 'an error');
    else if (event.type === 'StateExited' || event.type === 'StateCaught') this.retrying.delete(index);
    if (event.type === 'MapIterationSucceeded' || event.type === 'MapIterationFailed')
      this.retrying.delete(index);
  }

  private line(): string {
    const waiting = waitingText(this.retrying);
    // Once accounts are under way the state is always the map's: what they wait for says more.
    const state = this.started > 0 ? '' : `${this.lastState}: `;
    return `${state}${this.finished}/${this.started} accounts done, ${this.failed} ${this.words.outcome('FAILED')}${waiting ? `; ${waiting}` : ''}`;
  }
}

/** The remote run's progress on a terminal, from the map run's counts; its last line the report's. */
class RemoteProgressLine {
  private last = '';
  private readonly tty: boolean;

  constructor(
    private readonly out: TerminalStream,
    private readonly words: ReportWording,
  ) {
    this.tty = out.isTTY;
  }

  /** The execution to find in the console, before anything else: a run is long, a terminal may close. */
  started(executionArn: string): void {
    this.out.write(`Execution ${executionArn}\n`);
    const link = consoleLink(executionArn);
    if (link) this.out.write(`Console ${link}\n`);
  }

  update(progress: RemoteProgress): void {
    const a = progress.accounts;
    // The map run counts items, and an account that failed is a succeeded item (RecordResult
    // records it): the failures are counted from the report once it is written, not here.
    const waiting = progress.retrying ? waitingText(progress.retrying) : '';
    this.last = a
      ? `${progress.status}: ${a.done}/${a.total} accounts done, ${a.running} running${waiting ? `; ${waiting}` : ''}`
      : `${progress.status}: resolving the accounts`;
    if (this.tty) this.out.write(`\r${fitLine(this.last, this.out)}\u001b[K`);
  }

  done(report?: RunReport, status?: string): void {
    const line = report ? finalProgressLine(report, this.words, status) : this.last;
    if (this.tty) this.out.write(`\r${fitLine(line, this.out)}\u001b[K\n`);
    else if (report) this.out.write(`${line}\n`);
  }
}

/**
 * A progress line cut to the terminal's width: one that wrapped would leave a copy of itself on
 * every redraw, as `\r` only returns to the start of the last screen line.
 */
function fitLine(line: string, out: TerminalStream): string {
  const width = (out.columns && out.columns > 0 ? out.columns : FALLBACK_WIDTH) - 1;
  return line.length > width ? `${line.slice(0, width - 1)}…` : line;
}

/** The execution's page in the Step Functions console, in its partition and Region. */
export function consoleLink(executionArn: string): string | undefined {
  const [, partition, , region] = executionArn.split(':');
  if (!region) return undefined;
  const host =
    partition === 'aws-cn'
      ? `${region}.console.amazonaws.cn`
      : partition === 'aws-us-gov'
        ? `${region}.console.amazonaws-us-gov.com`
        : `${region}.console.aws.amazon.com`;
  return `https://${host}/states/home?region=${region}#/v2/executions/details/${encodeURIComponent(executionArn)}`;
}
