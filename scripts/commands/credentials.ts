import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { Command } from 'commander';
import { ledger } from '../../commons/clients/dynamodb';
import { secretsManagerClient } from '../../commons/clients/secrets-manager';
import { stsClient } from '../../commons/clients/sts';
import { type Config, connectorSecretName } from '../../commons/config';
import {
  describeConnectorSecret,
  KEY_TAG,
  PENDING_KEY_TAG,
  secretTag,
} from '../../commons/connector-resources';
import type { LedgerItem } from '../../commons/ledger';
import { OFFBOARDED_STATUSES } from '../../commons/ledger-view';
import type { Runtime } from '../../commons/runtime';
import { newKeyInstructions } from '../../commons/secret-retention';
import { handoffMessage } from '../../functions/register/ensure-registration';
import { withAwsContext } from '../aws-errors';
import { cliRuntime, parseAccountId } from '../cli-input';
import { CliError } from '../errors';
import { escapeControl, terminal } from '../render/terminal-text';

export interface CredentialsCommandOptions {
  yes: boolean;
}

/**
 * `casbridge credentials ACCOUNT_ID`: the connector's access key id and secret, for pasting into
 * the Defender portal. The secret goes to standard output only, never to a log or the ledger; the
 * ledger records who revealed it and when.
 */
export function credentialsCommand(): Command {
  return new Command('credentials')
    .description(
      "prints an account's connector key for pasting into the Defender portal, and records who revealed it",
    )
    .argument('<account-id>', 'the member account', parseAccountId)
    .option('--yes', 'print the secret even though standard output is not a terminal', false)
    .action(async (accountId: string, options: CredentialsCommandOptions) => {
      terminal(process.stdout).write(
        await revealCredentials(accountId, options, Boolean(process.stdout.isTTY)),
      );
    });
}

export async function revealCredentials(
  accountId: string,
  options: CredentialsCommandOptions,
  interactive: boolean,
): Promise<string> {
  // A secret in a pipe ends up in files and CI logs: only a person at a terminal, or one who says so.
  if (!interactive && !options.yes)
    throw new CliError(
      'Refusing to print a secret access key to a pipe or file: run this in a terminal, or add --yes if you mean it.',
    );
  const runtime = cliRuntime(['ledgerTable']);
  const { config } = runtime;
  const item = await knownAccount(runtime, accountId);
  // Its secret was scheduled for deletion with the offboarding: there is no key to paste.
  if (OFFBOARDED_STATUSES.includes(item.connector))
    throw new CliError(
      `Account ${accountId} was offboarded (${item.connector}): casbridge keeps no connector key for it.`,
    );
  const secretName = connectorSecretName(config, accountId);
  const context = {
    doing: `read the connector secret ${secretName}`,
    region: config.region,
    notFound: `Account ${accountId} has no connector secret (${secretName}): onboard it first with \`casbridge run --mode onboard --accounts ${accountId}\`.`,
  };
  const secret = await withAwsContext(context, () =>
    describeConnectorSecret(secretsManagerClient(runtime), secretName),
  );
  const currentId = secretTag(secret, KEY_TAG);
  if ((!secret?.ARN || !currentId) && item.secretDeletedAt) throw new CliError(noSecretKept(item));
  if (!secret?.ARN || !currentId) throw new CliError(context.notFound);
  const pendingId = secretTag(secret, PENDING_KEY_TAG);
  // During a staged rotation the operator must paste the new key: the old one is retired once Defender uses it.
  const stage = pendingId ? 'AWSPENDING' : 'AWSCURRENT';
  const caller = await callerArn(runtime, config);
  const value = await withAwsContext(context, () =>
    secretsManagerClient(runtime).send(
      new GetSecretValueCommand({ SecretId: secret.ARN, VersionStage: stage }),
    ),
  );
  const key = parseKey(value.SecretString, secretName);
  const revealedAt = new Date().toISOString();
  // Recorded before printing: a reveal the ledger does not know about must not happen.
  await withAwsContext(
    { doing: `record the reveal in the ledger table ${config.ledgerTable}`, region: config.region },
    () => ledger(runtime).update(accountId, { revealedBy: caller, revealedAt }),
  );
  // The account's name is the organization's to choose, and the portal steps quote it.
  const name = item.name === undefined ? undefined : escapeControl(item.name);
  const steps = handoffMessage(
    { accountId, name: name ?? accountId },
    pendingId ? 'connector.rotation' : 'connector.handoff',
    key.accessKeyId,
    secret.ARN,
    new Date(revealedAt),
  ).portalSteps;
  return [
    `Account ${accountId}${name ? ` (${name})` : ''}: ${
      pendingId
        ? `a key rotation is pending; this is the NEW key (secret stage AWSPENDING), which replaces ${currentId} in the existing connector instance.`
        : 'the key in service (secret stage AWSCURRENT).'
    }`,
    `Access key ID: ${key.accessKeyId}`,
    `Secret access key: ${key.secretAccessKey}`,
    '',
    'In the Microsoft Defender portal:',
    ...steps.map((step, i) => `  ${i + 1}. ${step}`),
    '',
    `Recorded in the ledger: revealed by ${escapeControl(caller)} at ${revealedAt}.`,
    '',
  ].join('\n');
}

/**
 * Why there is nothing to reveal for a connected account, and the one way to a key that can be
 * pasted again (commons/secret-retention.ts).
 */
function noSecretKept(item: LedgerItem): string {
  const day = item.secretDeletedAt?.slice(0, 10) ?? '?';
  const state =
    item.connector === 'STALE'
      ? 'the connector holds the key but has stopped using it (STALE).'
      : 'the connector already holds the key, and nothing needs pasting while it uses it.';
  return `Account ${item.accountId}: casbridge keeps no secret for access key ${item.accessKeyId ?? '?'}. The Defender connector was seen using the key, so casbridge deleted its secret on ${day} (CASBRIDGE_KEEP_SECRETS is off): ${state} ${newKeyInstructions(item.accountId)}`;
}

/** The ledger record of an account casbridge has worked on, or one sentence saying it has not. */
export async function knownAccount(runtime: Runtime, accountId: string): Promise<LedgerItem> {
  const { config } = runtime;
  const item = await withAwsContext(
    { doing: `read the ledger table ${config.ledgerTable}`, region: config.region },
    () => ledger(runtime).get(accountId),
  );
  if (!item)
    throw new CliError(
      `Account ${accountId} is not in the ledger: casbridge has never worked on it (\`casbridge status\` lists the accounts it knows).`,
    );
  return item;
}

/** Who is at the terminal, as AWS knows them: what the ledger records for reveals and confirmations. */
export async function callerArn(runtime: Runtime, config: Config): Promise<string> {
  const identity = await withAwsContext(
    { doing: 'identify the caller with STS', region: config.region },
    () => stsClient(runtime).send(new GetCallerIdentityCommand({})),
  );
  if (!identity.Arn) throw new Error('STS GetCallerIdentity returned no ARN');
  return identity.Arn;
}

function parseKey(
  text: string | undefined,
  secretName: string,
): { accessKeyId: string; secretAccessKey: string } {
  try {
    const value = JSON.parse(text ?? '') as { accessKeyId?: unknown; secretAccessKey?: unknown };
    if (typeof value.accessKeyId === 'string' && typeof value.secretAccessKey === 'string')
      return { accessKeyId: value.accessKeyId, secretAccessKey: value.secretAccessKey };
  } catch {
    // Fall through: the message below must not quote the value.
  }
  throw new CliError(
    `The secret ${secretName} does not hold a casbridge connector key (accessKeyId, secretAccessKey).`,
  );
}
