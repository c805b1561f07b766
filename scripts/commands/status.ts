import { writeFileSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { ledger } from '../../commons/clients/dynamodb';
import { s3Client } from '../../commons/clients/s3';
import type { Config } from '../../commons/config';
import type { LedgerItem } from '../../commons/ledger';
import { readHistory } from '../../commons/report/history';
import { renderDashboard } from '../../commons/report/render-dashboard';
import type { Runtime } from '../../commons/runtime';
import { withAwsContext } from '../aws-errors';
import { cliRuntime, outputFormat, parseAccountId, reportsBucket } from '../cli-input';
import { CliError, isCliError } from '../errors';
import { type LastRunDetail, renderAccountDetail } from '../render/account-detail';
import { tableWidth } from '../render/columns';
import {
  accountStatus,
  CONNECTOR_ORDER,
  countByConnector,
  countKeysDue,
  renderStatusTable,
} from '../render/status-table';
import { styleFor } from '../render/style';
import { escapeControl, terminal } from '../render/terminal-text';
import { statusText } from '../render/text-output';
import { readReport } from './report';

export interface StatusCommandOptions {
  account?: string;
  json: boolean;
  /** Write the organization's dashboard (HTML) to this file instead of printing the table. */
  html?: string;
  /** Only accounts whose last run failed. */
  failed?: boolean;
  /** Only accounts with this connector status. */
  connector?: string;
  /** Every column, however wide the terminal. */
  wide?: boolean;
}

/**
 * `casbridge status [ACCOUNT_ID]`: the ledger, one line per account, the leases held and the
 * counts by connector status; for one account, also its lease (holder, expiry) and last unlock.
 */
export function statusCommand(): Command {
  return new Command('status')
    .description(
      'shows the ledger: connector status, last outcome, key age, last error and lease per account',
    )
    .argument('[account-id]', 'only this account, its lease spelled out (same as --account)', parseAccountId)
    .option('--account <id>', 'only this account', parseAccountId)
    .option('--json', 'print JSON instead of a table (the same as --output json)', false)
    .option(
      '--html <file>',
      'write the organization dashboard (HTML, from the ledger and the runs kept) to FILE',
    )
    .option('--failed', 'only accounts whose last run failed', false)
    .option(
      '--connector <status>',
      `only accounts with this connector status (${CONNECTOR_ORDER.join(', ')})`,
      parseConnector,
    )
    .option('--wide', 'every column, however narrow the terminal (a pipe always gets every column)', false)
    .action(async (accountId: string | undefined, options: StatusCommandOptions) => {
      if (accountId && options.account && accountId !== options.account)
        throw new CliError(`Name one account: ${accountId} or --account ${options.account}.`);
      const text = await runStatus({ ...options, account: accountId ?? options.account });
      const out = terminal(process.stdout);
      if (!options.json && outputFormat() === 'text') out.writeRecords(text);
      else out.write(text);
    });
}

export async function runStatus(options: StatusCommandOptions, now = Date.now()): Promise<string> {
  // The dashboard also reads the runs' summaries from the reports bucket.
  const runtime = cliRuntime(options.html ? ['ledgerTable', 'reportsBucket'] : ['ledgerTable']);
  const { config } = runtime;
  const items = await withAwsContext(
    { doing: `read the ledger table ${config.ledgerTable}`, region: config.region },
    async () => {
      if (!options.account) return ledger(runtime).list();
      const item = await ledger(runtime).get(options.account);
      return item ? [item] : [];
    },
  );
  if (options.html) return writeDashboard(config, runtime, items, options.html, now);
  if (options.account && items.length === 0)
    throw new CliError(`Account ${options.account} is not in the ledger: casbridge has never worked on it.`);
  const all = items.map((item) => accountStatus(item, now, config));
  const accounts = all.filter(
    (a) =>
      (!options.failed || a.lastOutcome === 'FAILED') &&
      (!options.connector || a.connector === options.connector),
  );
  const format = options.json ? 'json' : (outputFormat() ?? 'table');
  if (format === 'json')
    return `${JSON.stringify({ counts: countByConnector(accounts), keysDue: countKeysDue(accounts), accounts }, null, 2)}\n`;
  if (format === 'text') return statusText(accounts);
  if (accounts.length === 0 && all.length > 0)
    return `None of the ${all.length} accounts in the ledger ${filterWords(options)}.\n`;
  if (accounts.length === 0)
    return 'The ledger is empty: no run has worked on any account yet (try `casbridge run --mode onboard`).\n';
  const style = styleFor(process.stdout);
  const width = tableWidth(process.stdout, options.wide);
  const table = renderStatusTable(accounts, style, { oneAccount: Boolean(options.account), width });
  const one = options.account ? items[0] : undefined;
  if (one && accounts[0]) {
    const lastRun = one.lastRunId ? await lastRunDetail(runtime, one.lastRunId, one.accountId) : undefined;
    return `${table}\n${renderAccountDetail(one, accounts[0], lastRun, { style, width })}\n`;
  }
  const shown =
    accounts.length < all.length
      ? `\n${accounts.length} of ${all.length} accounts shown: those that ${filterWords(options)}.`
      : '';
  return `${table}${shown}\n`;
}

/**
 * The account's row in its last run's report: the steps the ledger does not keep. A missing
 * report (a dry run's, a run that died before WriteReport, a bucket casbridge cannot read) is one
 * sentence in the view, never a failed command: the ledger's part is shown whatever happens.
 */
async function lastRunDetail(runtime: Runtime, runId: string, accountId: string): Promise<LastRunDetail> {
  if (!runtime.config.reportsBucket)
    return { runId, unavailable: 'CASBRIDGE_REPORTS_BUCKET is not set, so its report is not read.' };
  try {
    const report = await readReport(runtime, runId);
    const account = report.accounts.find((a) => a.accountId === accountId);
    return account
      ? { runId, account, mode: report.mode }
      : { runId, unavailable: `its report does not list account ${accountId}.` };
  } catch (error) {
    return {
      runId,
      unavailable: isCliError(error)
        ? error.message
        : `its report could not be read (${(error as Error).name}).`,
    };
  }
}

function filterWords(options: StatusCommandOptions): string {
  return [
    ...(options.failed ? ['failed their last run'] : []),
    ...(options.connector ? [`have connector status ${options.connector}`] : []),
  ].join(' and ');
}

/** A connector status as typed, any case: one of the ledger's, or commander's one-line refusal. */
export function parseConnector(value: string): string {
  const status = value.trim().toUpperCase();
  if (!(CONNECTOR_ORDER as readonly string[]).includes(status))
    throw new InvalidArgumentError(`A connector status is one of ${CONNECTOR_ORDER.join(', ')}.`);
  return status;
}

/** The dashboard WriteReport writes with each run, drawn now from the ledger and runs/history.json. */
async function writeDashboard(
  config: Config,
  runtime: Runtime,
  items: readonly LedgerItem[],
  file: string,
  now: number,
): Promise<string> {
  // The command requires the bucket (runStatus); a history not written yet reads as empty.
  const bucket = reportsBucket(config);
  const history = await withAwsContext(
    { doing: `read s3://${bucket}/runs/history.json`, region: config.region },
    () => readHistory(s3Client(runtime), bucket),
  );
  writeFileSync(
    file,
    renderDashboard({ generatedAt: new Date(now).toISOString(), accounts: items, history }),
  );
  return `Wrote the organization dashboard (${items.length} accounts, ${history.runs.length} ${history.runs.length === 1 ? 'run' : 'runs'}) to ${escapeControl(file)}\n`;
}
