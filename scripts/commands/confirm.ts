import { Command } from 'commander';
import { ledger } from '../../commons/clients/dynamodb';
import { OFFBOARDED_STATUSES } from '../../commons/ledger-view';
import { withAwsContext } from '../aws-errors';
import { cliRuntime, parseAccountId } from '../cli-input';
import { CliError } from '../errors';
import { escapeControl, terminal } from '../render/terminal-text';
import { callerArn, knownAccount } from './credentials';

/**
 * `casbridge confirm ACCOUNT_ID`: an operator records that the account's Defender connector is
 * live. The verify step of the next run promotes the connector to CONNECTED on this evidence when
 * it is newer than the hand-off, without waiting to see the key in use.
 */
export function confirmCommand(): Command {
  return new Command('confirm')
    .description("records that an account's Defender connector is live (the next run marks it CONNECTED)")
    .argument('<account-id>', 'the member account', parseAccountId)
    .action(async (accountId: string) => {
      terminal(process.stdout).write(await confirmConnector(accountId));
    });
}

export async function confirmConnector(accountId: string): Promise<string> {
  const runtime = cliRuntime(['ledgerTable']);
  const { config } = runtime;
  const item = await knownAccount(runtime, accountId);
  if (OFFBOARDED_STATUSES.includes(item.connector))
    throw new CliError(
      `Account ${accountId} was offboarded (${item.connector}): there is no connector to confirm.`,
    );
  if (!item.handoffAt)
    throw new CliError(
      `Account ${accountId} has not been handed off yet (connector ${item.connector}): onboard it first, then connect it in the portal.`,
    );
  const confirmedBy = await callerArn(runtime, config);
  const confirmedAt = new Date().toISOString();
  await withAwsContext(
    { doing: `write to the ledger table ${config.ledgerTable}`, region: config.region },
    () => ledger(runtime).update(accountId, { confirmedBy, confirmedAt }),
  );
  const already = item.connector === 'CONNECTED';
  return [
    `Recorded that the Defender connector of account ${accountId}${item.name ? ` (${escapeControl(item.name)})` : ''} is live: confirmed by ${escapeControl(confirmedBy)} at ${confirmedAt}.`,
    already
      ? 'The connector was already CONNECTED; the confirmation is kept as evidence.'
      : `Its status is ${item.connector} until the next run: the verify step then marks it CONNECTED (\`casbridge run --mode reconcile --accounts ${accountId}\`, or wait for the daily run).`,
    '',
  ].join('\n');
}
