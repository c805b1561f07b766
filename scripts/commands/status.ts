import { Command, InvalidArgumentError } from 'commander';
import { ledger } from '../../commons/clients/dynamodb';
import { createRuntime } from '../../commons/runtime';
import { withAwsContext } from '../aws-errors';
import { cliConfiguration, parseAccountId } from '../cli-input';
import { CliError } from '../errors';
import { tableWidth } from '../render/columns';
import { accountStatus, CONNECTOR_ORDER, countByConnector, renderStatusTable } from '../render/status-table';
import { styleFor } from '../render/style';
import { terminal } from '../render/terminal-text';

export interface StatusCommandOptions {
  account?: string;
  json: boolean;
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
    .option('--json', 'print JSON instead of a table', false)
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
      terminal(process.stdout).write(await runStatus({ ...options, account: accountId ?? options.account }));
    });
}

export async function runStatus(options: StatusCommandOptions, now = Date.now()): Promise<string> {
  const config = cliConfiguration();
  const runtime = createRuntime(config, { region: config.region });
  const items = await withAwsContext(
    { doing: `read the ledger table ${config.ledgerTable}`, region: config.region },
    async () => {
      if (!options.account) return ledger(runtime).list();
      const item = await ledger(runtime).get(options.account);
      return item ? [item] : [];
    },
  );
  if (options.account && items.length === 0)
    throw new CliError(`Account ${options.account} is not in the ledger: casbridge has never worked on it.`);
  const all = items.map((item) => accountStatus(item, now, config));
  const accounts = all.filter(
    (a) =>
      (!options.failed || a.lastOutcome === 'FAILED') &&
      (!options.connector || a.connector === options.connector),
  );
  if (options.json) return `${JSON.stringify({ counts: countByConnector(accounts), accounts }, null, 2)}\n`;
  if (accounts.length === 0 && all.length > 0)
    return `None of the ${all.length} accounts in the ledger ${filterWords(options)}.\n`;
  if (accounts.length === 0)
    return 'The ledger is empty: no run has worked on any account yet (try `casbridge run --mode onboard`).\n';
  const table = renderStatusTable(accounts, styleFor(process.stdout), {
    oneAccount: Boolean(options.account),
    width: tableWidth(process.stdout, options.wide),
  });
  const shown =
    accounts.length < all.length
      ? `\n${accounts.length} of ${all.length} accounts shown: those that ${filterWords(options)}.`
      : '';
  return `${table}${shown}\n`;
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
