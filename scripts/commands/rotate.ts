import { Command } from 'commander';
import { ledger } from '../../commons/clients/dynamodb';
import { OFFBOARDED_STATUSES } from '../../commons/ledger-view';
import { withAwsContext } from '../aws-errors';
import { cliRuntime, parseAccountId } from '../cli-input';
import { CliError } from '../errors';
import { escapeControl, terminal } from '../render/terminal-text';
import { callerArn, knownAccount } from './credentials';

/**
 * `casbridge rotate ACCOUNT_ID`: an operator asks for a new connector key before keyMaxAgeDays,
 * the one way to a key that can be pasted again once casbridge deleted the secret of the key in
 * service (commons/secret-retention.ts). The request goes into the ledger; the access key step of
 * the next run starts the staged rotation (new key and its secret, a connector.rotation hand-off,
 * the old key deactivated only once the new one is in use), or, with keys minted on demand, hands
 * off that a key is due, which `credentials --new-key` mints.
 */
export function rotateCommand(): Command {
  return new Command('rotate')
    .description(
      'asks for a new connector key for an account (the next run starts a staged rotation and hands it off)',
    )
    .argument('<account-id>', 'the member account', parseAccountId)
    .action(async (accountId: string) => {
      terminal(process.stdout).write(await requestRotation(accountId));
    });
}

export async function requestRotation(accountId: string): Promise<string> {
  const runtime = cliRuntime(['ledgerTable']);
  const { config } = runtime;
  const item = await knownAccount(runtime, accountId);
  if (OFFBOARDED_STATUSES.includes(item.connector))
    throw new CliError(
      `Account ${accountId} was offboarded (${item.connector}): it has no connector key to rotate.`,
    );
  if (!item.accessKeyId)
    throw new CliError(
      `Account ${accountId} has no connector key yet (connector ${item.connector}): onboard it first with \`casbridge run --mode onboard --accounts ${accountId}\`.`,
    );
  if (item.pendingAccessKeyId)
    throw new CliError(
      `Account ${accountId} already has a rotation pending: new key ${item.pendingAccessKeyId} waits for the connector. \`casbridge credentials ${accountId}\` shows it.`,
    );
  const rotationRequestedBy = await callerArn(runtime, config);
  const rotationRequestedAt = new Date().toISOString();
  await withAwsContext(
    { doing: `write to the ledger table ${config.ledgerTable}`, region: config.region },
    () => ledger(runtime).update(accountId, { rotationRequestedBy, rotationRequestedAt }),
  );
  return [
    `Recorded a rotation request for the connector key ${item.accessKeyId} of account ${accountId}${item.name ? ` (${escapeControl(item.name)})` : ''}: requested by ${escapeControl(rotationRequestedBy)} at ${rotationRequestedAt}.`,
    config.keyDelivery === 'on-demand'
      ? `Keys are minted on demand: the next run hands off that a new key is due (connector.key-due), and \`casbridge credentials ${accountId} --new-key\` at the portal mints it (now, if you like), shows it once and deletes its secret; the key in service stays active until the new one is used.`
      : `The next run creates the new key, keeps its secret until the connector uses it and sends a connector.rotation hand-off; the key in service stays active until then. Run \`casbridge run --mode reconcile --accounts ${accountId}\` (or wait for the daily run), then \`casbridge credentials ${accountId}\` shows the new key.`,
    '',
  ].join('\n');
}
