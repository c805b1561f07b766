import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CloudTrailClient, DescribeTrailsCommand } from '@aws-sdk/client-cloudtrail';
import { Command, InvalidArgumentError, Option } from 'commander';
import { DASHBOARD_KEY } from '../../commons/report/history';
import { renderHtml } from '../../commons/report/render-html';
import type { ReportAccount, RunReport } from '../../commons/run';
import { useFunctionCredentials } from '../../commons/runtime';
import { type Sandbox, startSandbox } from '../../sandbox';
import {
  defaultAccountId,
  defaultFaultLabel,
  defaultScenario,
} from '../../sandbox/scenario/default-scenario';
import type { ScenarioInput } from '../../sandbox/scenario/scenario';
import { stackEnvironment } from '../../sandbox/scenario/stack-environment';
import { inProcessFunctionCredentials } from '../../sandbox/services/lambda';
import { stateMachineSession } from '../../sandbox/services/step-functions/executions';
import { executeRunLocally } from '../../statemachine/local/execute-run';
import { accountFinished, type EventLog } from '../../statemachine/local/run-local';
import { cliConfiguration } from '../cli-input';
import { CliError } from '../errors';
import { type Column, fitTable, tableWidth } from '../render/columns';
import {
  DEFAULT_WIDTH,
  failuresFirst,
  renderRemediations,
  renderReportTable,
  renderSummary,
} from '../render/report-table';
import { paintConnector, paintOutcome, type Style, styleFor } from '../render/style';
import { escapeControl, type TerminalStream, terminal, terminalSafe } from '../render/terminal-text';
import { mintAndRevealKey } from './credentials';
import { parsePort, readScenarioFile } from './sandbox';

export interface DemoCommandOptions {
  accounts: number;
  scenario?: string;
  json: string;
  html: string;
  /** The sandbox's port on 127.0.0.1 (0, the default, picks a free one). */
  port?: number;
  /** Every column, however wide the terminal. */
  wide?: boolean;
}

/** Exit codes: the demo ran as designed (its faulty accounts failed, as they should) / it did not. */
export const DEMO_OK = 0;
export const DEMO_BROKEN = 1;

const DEFAULT_ACCOUNTS = 40;
/** /out/ is git-ignored: the demo's files never end up in a commit by accident. */
export const DEFAULT_JSON = 'out/casbridge-demo-report.json';
export const DEFAULT_HTML = 'out/casbridge-demo-report.html';
/**
 * The default organization's new account becomes assumable after 30 s, which the RoleNotReady
 * retrier (10 s·2^n, full jitter) rides out in up to a minute. The demo shortens it so nobody
 * watches a minute of waiting; the retry path it shows is the same.
 */
const DEMO_ROLE_DELAY_SECONDS = 5;
/** How many connectors the demo pretends Defender for Cloud Apps has started using. */
const SIMULATED_CONNECTORS = 3;

/** What each fault of the default organization must come to in a run: the demo's own check. */
const EXPECTED: Readonly<Record<string, { outcome: ReportAccount['outcome']; error?: string }>> = {
  healthy: { outcome: 'SUCCEEDED' },
  'foreign-user': { outcome: 'FAILED', error: 'ForeignUserConflict' },
  'invited-no-role': { outcome: 'FAILED', error: 'RoleMissing' },
  'two-keys': { outcome: 'SUCCEEDED' },
  suspended: { outcome: 'SKIPPED' },
  'five-policy-versions': { outcome: 'SUCCEEDED' },
  closed: { outcome: 'SKIPPED' },
  'role-not-ready': { outcome: 'SUCCEEDED' },
  'transient-iam-error': { outcome: 'SUCCEEDED' },
  'scp-denies-trail': { outcome: 'FAILED', error: 'AccessDenied' },
  throttled: { outcome: 'SUCCEEDED' },
  'invited-with-role': { outcome: 'SUCCEEDED' },
  'five-trails': { outcome: 'FAILED', error: 'LimitReached' },
};

/** `casbridge demo`: the whole product over a sandboxed organization, in one command. */
export function demoCommand(): Command {
  return new Command('demo')
    .description(
      'onboards then reconciles a sandboxed organization (with faults) through the real state machine, and reports',
    )
    .addOption(
      new Option('--accounts <n>', 'member accounts of the default organization')
        .argParser(parseAccounts)
        .default(DEFAULT_ACCOUNTS)
        .conflicts('scenario'),
    )
    .option('--scenario <file>', 'seed the organization a scenario JSON file describes (docs/sandbox.md)')
    .option('--json <file>', 'write the final report as JSON here', DEFAULT_JSON)
    .option('--html <file>', 'write the final report as HTML here', DEFAULT_HTML)
    .addOption(
      new Option(
        '--port <port>',
        "the sandbox's port on 127.0.0.1 while the demo runs (default: a free one)",
      ).argParser(parsePort),
    )
    .option('--wide', 'every column of the tables, however narrow the terminal', false)
    .action(async (options: DemoCommandOptions) => {
      process.exitCode = await runDemo(options);
    });
}

export async function runDemo(
  options: DemoCommandOptions,
  outStream: NodeJS.WriteStream = process.stdout,
  errStream: NodeJS.WriteStream = process.stderr,
): Promise<number> {
  const out = terminal(outStream);
  const err = terminal(errStream);
  const scenarioFile = options.scenario;
  const scenario =
    scenarioFile === undefined ? demoScenario(options.accounts) : readScenarioFile(scenarioFile);
  const style = styleFor(outStream);
  const say = (...lines: string[]) => out.write(`${lines.join('\n')}\n`);
  const width = tableWidth(outStream, options.wide);
  const sandbox = await startSandbox({ scenario, ...(options.port ? { port: options.port } : {}) }).catch(
    (error: unknown) => {
      throw new CliError(`The sandbox did not start: ${(error as Error).message}`, DEMO_BROKEN, {
        cause: error,
      });
    },
  );
  try {
    actAsCasbridge(sandbox);
    const members = sandbox.scenario.accounts.length;
    say(
      style.bold(
        `casbridge demo: an organization of ${members} member accounts, emulated by the sandbox on ${sandbox.endpoint}.`,
      ),
      'No AWS account is touched: every call goes to the sandbox, through the same code a deployed casbridge runs.',
      ...(scenarioFile === undefined
        ? faultLines(members)
        : [`Organization from ${escapeControl(scenarioFile)}.`]),
      '',
    );

    say(
      style.bold('1. Onboard'),
      '   `casbridge run --mode onboard` against the sandbox: the state machine, every step, every retry.',
    );
    const onboard = await runOnce(sandbox, 'onboard', err);
    say(renderReportTable(onboard, { style, width }));
    const failed = onboard.summary.byOutcome.FAILED;
    if (failed > 0)
      say(
        '',
        `On its own this run exits 2 (${failed} accounts failed), as \`casbridge run\` does: those failures are the faults`,
        'the organization was built with, each with the error name and remediation an operator would get.',
      );

    const simulated = onboard.accounts
      .filter((a) => a.outcome === 'SUCCEEDED' && a.connector === 'AWAITING_CONNECTION')
      .slice(0, SIMULATED_CONNECTORS)
      .map((a) => a.accountId);
    say(
      '',
      style.bold(
        `2. The operator at the Defender portal, for ${simulated.length} accounts: ${simulated.join(', ')}`,
      ),
      '   No run minted a key (keyDelivery on-demand, the default): each account handed off that its key is ready to mint.',
      '   Defender for Cloud Apps has no API, so at the portal the operator runs',
      '   `casbridge credentials ACCOUNT --new-key --local`: a one-account run mints the key, the command shows it once',
      '   and schedules its secret for deletion, and the operator pastes it. Here the pasted key is used for a CloudTrail',
      '   call, as Defender would use it.',
    );
    for (const line of await mintAtThePortal(sandbox, simulated)) say(`   ${line}`);

    say(
      '',
      style.bold('3. Reconcile'),
      '   The daily run: read calls only where nothing drifted; connectors seen in use become CONNECTED.',
    );
    const reconcile = await runOnce(sandbox, 'reconcile', err);
    say(
      renderChanges(onboard, reconcile, style, width),
      '',
      renderSummary(reconcile, width ?? DEFAULT_WIDTH),
    );

    const problems = [
      ...(scenarioFile === undefined
        ? unexpectedOutcomes(onboard, 'onboard').concat(unexpectedOutcomes(reconcile, 'reconcile'))
        : []),
      ...notConnected(reconcile, simulated),
    ];
    const dashboard = dashboardFile(options.html);
    writeReportFiles(reconcile, options, [
      dashboard,
      sandbox.world.buckets
        .get(sandbox.stack.reportsBucket)
        ?.objects.get(DASHBOARD_KEY)
        ?.body.toString('utf8'),
    ]);
    say(
      '',
      style.bold('Next'),
      `  The reconcile run's report, to open in a browser: ${escapeControl(options.html)}`,
      `  The organization's dashboard WriteReport drew after it: ${escapeControl(dashboard)}`,
      `  The same report as JSON: ${escapeControl(options.json)}`,
      '  Explore it yourself: start the sandbox as a server, paste the export lines it prints into another shell, then:',
      '    node bin/casbridge.cjs sandbox',
      '    node bin/casbridge.cjs run --local --mode onboard',
      '    node bin/casbridge.cjs status',
      `    node bin/casbridge.cjs credentials ${simulated[0] ?? defaultAccountId(1)} --new-key --local`,
      `    node bin/casbridge.cjs confirm ${simulated[0] ?? defaultAccountId(1)}`,
      '    /usr/bin/aws --endpoint-url http://127.0.0.1:4599 organizations list-accounts',
    );
    if (problems.length > 0) {
      err.write(
        `casbridge: the demo did not go as designed:\n${problems.map((p) => `  ${escapeControl(p)}`).join('\n')}\n`,
      );
      return DEMO_BROKEN;
    }
    return DEMO_OK;
  } finally {
    await sandbox.close();
  }
}

/** The default organization, with its new account's role delay cut to a few seconds. */
export function demoScenario(accounts: number): ScenarioInput {
  const scenario = defaultScenario({ accounts });
  for (const account of scenario.accounts) {
    if (account.faults?.roleNotAssumableForSeconds)
      account.faults = { ...account.faults, roleNotAssumableForSeconds: DEMO_ROLE_DELAY_SECONDS };
  }
  return scenario;
}

/**
 * The environment `casbridge run --local` gets from the exports `casbridge sandbox` prints: the
 * management account's administrator as the caller, and each function as its own role, handed
 * over by the sandbox as Lambda would: a local run of the demo is a local run like any other. Any
 * AWS or casbridge variable of the user's shell is dropped first, so the demo can only reach the
 * sandbox.
 */
function actAsCasbridge(sandbox: Sandbox): void {
  for (const name of Object.keys(process.env)) {
    if (/^(AWS_|CASBRIDGE_)/.test(name) && !name.startsWith('AWS_SDK_')) delete process.env[name];
  }
  Object.assign(process.env, {
    ...stackEnvironment(sandbox.stack, sandbox.deployment.parameters),
    AWS_ENDPOINT_URL: sandbox.endpoint,
    AWS_ACCESS_KEY_ID: sandbox.admin.accessKeyId,
    AWS_SECRET_ACCESS_KEY: sandbox.admin.secretAccessKey,
  });
  cliConfiguration(['ledgerTable', 'externalId', 'logBucket', 'topicArn', 'reportsBucket']);
  useFunctionCredentials(inProcessFunctionCredentials(sandbox.world));
}

async function runOnce(
  sandbox: Sandbox,
  mode: 'onboard' | 'reconcile',
  err: TerminalStream,
): Promise<RunReport> {
  const progress = new DemoProgress(mode, err);
  const outcome = await executeRunLocally(
    { mode },
    {
      executionName: `demo-${mode}-${Date.now()}`,
      onEvent: (event) => progress.update(event),
      // The Distributed Map reads its items and writes its results as the state machine's role.
      stateMachineCredentials: await stateMachineCredentials(sandbox),
    },
  );
  progress.done(outcome.report);
  if (!outcome.report) {
    const why = outcome.startError
      ? `${outcome.startError.name}: ${outcome.startError.message}`
      : 'no report';
    throw new CliError(`The demo's ${mode} run did not complete (${why}).`, DEMO_BROKEN);
  }
  return outcome.report;
}

/** A session of the stack's state machine role, as Step Functions would use it. */
async function stateMachineCredentials(sandbox: Sandbox) {
  const session = await stateMachineSession(sandbox.world);
  return {
    accessKeyId: session.accessKeyId,
    secretAccessKey: session.secretAccessKey,
    sessionToken: session.sessionToken as string,
  };
}

/**
 * What an operator at the portal does for each account: `casbridge credentials ID --new-key
 * --local` (the command itself: its request, its one-account run, its reveal and the secret's
 * deletion), then the paste, played by a CloudTrail call with the key shown. The demo prints the
 * key id only: the secret is on the operator's screen once, not in the demo's output.
 */
async function mintAtThePortal(sandbox: Sandbox, accountIds: readonly string[]): Promise<string[]> {
  // The sandbox stands in for Lambda, as `casbridge sandbox` exports it for `run --local`.
  process.env.CASBRIDGE_LOCAL_LAMBDA_ENDPOINT = sandbox.endpoint;
  const lines: string[] = [];
  for (const accountId of accountIds) {
    const shown = await mintAndRevealKey(accountId, { yes: true, newKey: true, local: true }, true);
    const accessKeyId = /^Access key ID: (\S+)$/m.exec(shown)?.[1] ?? '';
    const secretAccessKey = /^Secret access key: (\S+)$/m.exec(shown)?.[1] ?? '';
    const cloudtrail = new CloudTrailClient(sandbox.clientConfig({ accessKeyId, secretAccessKey }));
    await cloudtrail.send(new DescribeTrailsCommand({}));
    cloudtrail.destroy();
    const deleted = /is scheduled for deletion/.test(shown) ? ', its secret scheduled for deletion' : '';
    lines.push(`${accountId}: key ${accessKeyId} minted and shown once${deleted}; pasted.`);
  }
  return lines;
}

/** The reconcile's rows that differ from the onboard's (connector, outcome, or any step that changed). */
function renderChanges(
  untrustedBefore: RunReport,
  untrustedAfter: RunReport,
  style: Style,
  width: number | undefined,
): string {
  const before = terminalSafe(untrustedBefore);
  const after = terminalSafe(untrustedAfter);
  const previous = new Map(before.accounts.map((a) => [a.accountId, a]));
  const changed = after.accounts.filter((a) => {
    const p = previous.get(a.accountId);
    return !p || p.connector !== a.connector || p.outcome !== a.outcome || a.changed;
  });
  const same = after.accounts.length - changed.length;
  if (changed.length === 0) return `   Every account as after the onboard (${same}): nothing changed.`;
  const column = (
    head: string,
    cell: (a: ReportAccount) => string,
    paint?: (text: string, a: ReportAccount) => string,
  ) => ({ head, cell, ...(paint ? { paint } : {}) }) as Column<ReportAccount>;
  const account = column('ACCOUNT', (a) => a.accountId);
  const ou = column('OU', (a) => a.ou || '(root)');
  const outcome = column(
    'OUTCOME',
    (a) => a.outcome,
    (text, a) => paintOutcome(a.outcome, style, text),
  );
  const connector = column(
    'CONNECTOR',
    (a) => {
      const p = previous.get(a.accountId);
      return p ? `${p.connector} → ${a.connector}` : a.connector;
    },
    (text, a) => text.replace(new RegExp(`${a.connector}$`), paintConnector(a.connector, style)),
  );
  const changes = column('CHANGES', (a) => (a.changed ? 'changed' : 'read calls only'));
  const lines = [
    fitTable(
      [
        [account, ou, outcome, connector, changes],
        [account, outcome, connector, changes],
      ],
      failuresFirst(changed),
      {
        style,
        width,
      },
    ),
    `The other ${same} accounts are as the onboard left them: every step unchanged, or the same failure again.`,
  ];
  const remediations = renderRemediations(
    changed.filter((a) => a.error),
    width ?? DEFAULT_WIDTH,
    style,
  );
  if (remediations) lines.push('', remediations);
  return lines.join('\n');
}

function unexpectedOutcomes(report: RunReport, mode: string): string[] {
  const problems: string[] = [];
  const byId = new Map(report.accounts.map((a) => [a.accountId, a]));
  for (let i = 1; byId.has(defaultAccountId(i)); i++) {
    const label = defaultFaultLabel(i);
    const expected = EXPECTED[label];
    const account = byId.get(defaultAccountId(i))!;
    if (!expected) continue;
    if (account.outcome !== expected.outcome || (expected.error && account.error?.name !== expected.error)) {
      problems.push(
        `${mode}: account ${account.accountId} (${label}) ended ${account.outcome}${account.error ? ` with ${account.error.name}` : ''}, expected ${expected.outcome}${expected.error ? ` with ${expected.error}` : ''}`,
      );
    }
  }
  return problems;
}

function notConnected(report: RunReport, accountIds: readonly string[]): string[] {
  const byId = new Map(report.accounts.map((a) => [a.accountId, a]));
  return accountIds
    .filter((id) => byId.get(id)?.connector !== 'CONNECTED')
    .map(
      (id) =>
        `reconcile: account ${id} used its connector key but is ${byId.get(id)?.connector ?? 'missing'}, not CONNECTED`,
    );
}

/** Beside the report: `out/casbridge-demo-report.html` → `out/casbridge-demo-dashboard.html`. */
function dashboardFile(html: string): string {
  const name = path.basename(html);
  const dashboard = name.includes('report') ? name.replace('report', 'dashboard') : `dashboard-${name}`;
  return path.join(path.dirname(html), dashboard);
}

function writeReportFiles(
  report: RunReport,
  options: DemoCommandOptions,
  [dashboard, dashboardHtml]: [string, string | undefined],
): void {
  const files: [string, string][] = [
    [options.json, `${JSON.stringify(report, null, 2)}\n`],
    [options.html, renderHtml(report)],
  ];
  // The copy WriteReport put in the sandbox's reports bucket (runs/dashboard.html).
  if (dashboardHtml !== undefined) files.push([dashboard, dashboardHtml]);
  for (const [file, content] of files) {
    try {
      mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
      writeFileSync(file, content);
    } catch (error) {
      throw new CliError(
        `Cannot write ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}.`,
        DEMO_BROKEN,
        {
          cause: error,
        },
      );
    }
  }
}

function faultLines(members: number): string[] {
  const counts = new Map<string, number>();
  for (let i = 1; i <= members; i++) {
    const label = defaultFaultLabel(i);
    if (label !== 'healthy') counts.set(label, (counts.get(label) ?? 0) + 1);
  }
  if (counts.size === 0) return ['Every account is healthy.'];
  const roleNotReady = counts.has('role-not-ready');
  return [
    `Built-in faults: ${[...counts].map(([label, n]) => `${label} ${n}`).join(', ')}; the other accounts are healthy.`,
    ...(roleNotReady
      ? [
          `The new account's role becomes assumable after ${DEMO_ROLE_DELAY_SECONDS} s here (30 s in \`casbridge sandbox\`), so the RoleNotReady retry is short.`,
        ]
      : []),
  ];
}

function parseAccounts(value: string): number {
  const count = Number(value);
  if (!/^\d+$/.test(value) || count < 1 || count > 1000)
    throw new InvalidArgumentError('The demo takes from 1 to 1000 accounts.');
  return count;
}

/**
 * Live progress on a terminal: one line rewritten per event (accounts done and failed, how many
 * are in each step, how many wait for a new account's role). Elsewhere one line when a run starts
 * and one when it ends.
 */
class DemoProgress {
  private total = 0;
  private finished = 0;
  private failed = 0;
  private readonly current = new Map<number, string>();
  private readonly waitingForRole = new Set<number>();
  private readonly tty: boolean;
  private readonly startedAt = Date.now();
  private lastDraw = 0;

  constructor(
    private readonly mode: string,
    private readonly out: TerminalStream,
  ) {
    this.tty = out.isTTY;
    if (!this.tty) out.write(`${mode} run started\n`);
  }

  update(event: EventLog): void {
    if (event.type === 'StateExited' && event.state.name === 'ResolveTargets')
      this.total = (event.state.output as { targets?: { count?: number } } | undefined)?.targets?.count ?? 0;
    if (event.type === 'StateEntered' && event.index !== undefined) {
      this.current.set(event.index, stepLabel(event.state.name));
      if (event.state.name !== 'Access') this.waitingForRole.delete(event.index);
    }
    if (
      event.type === 'StateRetried' &&
      event.index !== undefined &&
      event.retry.retrier.ErrorEquals.includes('RoleNotReady')
    )
      this.waitingForRole.add(event.index);
    const finished = accountFinished(event);
    if (finished && event.type === 'StateExited' && event.index !== undefined) {
      this.finished++;
      this.current.delete(event.index);
      this.waitingForRole.delete(event.index);
      if (finished.outcome === 'FAILED') this.failed++;
    }
    // Redraw at most every 50 ms: a fast run emits thousands of events.
    const now = Date.now();
    if (this.tty && now - this.lastDraw > 50) {
      this.lastDraw = now;
      // A line longer than the terminal wraps, and \r then rewrites only its last part.
      const width = (this.out.columns || 120) - 1;
      const line = this.line();
      this.out.write(`\r${line.length > width ? `${line.slice(0, width - 1)}…` : line}\u001b[K`);
    }
  }

  done(report: RunReport | undefined): void {
    const seconds = ((Date.now() - this.startedAt) / 1000).toFixed(1);
    const summary = report
      ? `${this.mode} run finished in ${seconds} s: ${report.summary.byOutcome.SUCCEEDED} succeeded, ${report.summary.byOutcome.FAILED} failed, ${report.summary.byOutcome.SKIPPED} skipped`
      : `${this.mode} run ended without a report after ${seconds} s`;
    this.out.write(this.tty ? `\r${summary}\u001b[K\n` : `${summary}\n`);
  }

  private line(): string {
    const steps = new Map<string, number>();
    for (const step of this.current.values()) steps.set(step, (steps.get(step) ?? 0) + 1);
    const inSteps = [...steps].map(([step, n]) => `${step} ${n}`).join(', ');
    const waiting = this.waitingForRole.size;
    return [
      `${this.mode}: ${this.finished}/${this.total || '?'} accounts done, ${this.failed} failed`,
      ...(inSteps ? [`in progress: ${inSteps}`] : []),
      ...(waiting > 0
        ? [
            `waiting for ${waiting} new account${waiting === 1 ? "'s role" : "s' roles"} (RoleNotReady, retried)`,
          ]
        : []),
    ].join(' | ');
  }
}

/** `EnsureAccessKey` → `accessKey`: the step names of the report. */
function stepLabel(state: string): string {
  if (state === 'RecordResult') return 'recording';
  const name = state.replace(/^Ensure/, '');
  return name.charAt(0).toLowerCase() + name.slice(1);
}
