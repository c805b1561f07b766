import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { Command } from 'commander';
import { ledger } from '../../commons/clients/dynamodb';
import { secretsManagerClient } from '../../commons/clients/secrets-manager';
import { stsClient } from '../../commons/clients/sts';
import { type Config, connectorSecretName } from '../../commons/config';
import { isLiveChecked } from '../../commons/connector-liveness';
import {
  describeConnectorSecret,
  KEY_TAG,
  PENDING_KEY_TAG,
  secretTag,
} from '../../commons/connector-resources';
import type { LedgerItem } from '../../commons/ledger';
import { OFFBOARDED_STATUSES } from '../../commons/ledger-view';
import type { Runtime } from '../../commons/runtime';
import {
  deleteConnectorSecret,
  newKeyCommand,
  newKeyInstructions,
  secretDeletionChanges,
} from '../../commons/secret-retention';
import { handoffMessage } from '../../functions/register/ensure-registration';
import { withAwsContext } from '../aws-errors';
import { cliRuntime, parseAccountId } from '../cli-input';
import { CliError } from '../errors';
import { leaseHolder, leaseStatus } from '../render/lease-text';
import { escapeControl, terminal } from '../render/terminal-text';
import { runToReport } from './run';

export interface CredentialsCommandOptions {
  yes: boolean;
  /** Mint a new key first, in a one-account run, and delete its secret once shown (keys on demand). */
  newKey?: boolean;
  /** With newKey: the run in this process, as `casbridge run --local`. */
  local?: boolean;
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
    .option(
      '--new-key',
      'mint a new key now (a one-account run), show it once, then schedule its secret for deletion',
      false,
    )
    .option('--local', 'with --new-key: run in this process, as `casbridge run --local` does', false)
    .action(async (accountId: string, options: CredentialsCommandOptions) => {
      const interactive = Boolean(process.stdout.isTTY);
      if (options.local && !options.newKey)
        throw new CliError('--local goes with --new-key: it says where the run that mints the key runs.');
      terminal(process.stdout).write(
        options.newKey
          ? await mintAndRevealKey(accountId, options, interactive)
          : await revealCredentials(accountId, options, interactive),
      );
    });
}

/**
 * `casbridge credentials ACCOUNT --new-key`, at the Defender portal (keyDelivery on-demand, issue
 * 12 §5): the request goes into the ledger (who, when), a one-account run mints the key (its
 * access key step, with its retries and report line: replacing an unused pending key, never the
 * one the connector uses), the key is shown as `credentials` shows it, and its secret is
 * scheduled for deletion at once. So a secret lives the minutes between the mint and the paste,
 * not the days a hand-off waits; the next run sees the connector use the key (CONNECTED) and, in
 * a rotation, only then retires the old key.
 */
export async function mintAndRevealKey(
  accountId: string,
  options: CredentialsCommandOptions,
  interactive: boolean,
): Promise<string> {
  // Before the run: a key minted for a pipe that is then refused would be a secret for nobody.
  refuseUnlessInteractive(options, interactive);
  const runtime = cliRuntime(['ledgerTable']);
  const { config } = runtime;
  const item = await knownAccount(runtime, accountId);
  if (OFFBOARDED_STATUSES.includes(item.connector))
    throw new CliError(
      `Account ${accountId} was offboarded (${item.connector}): casbridge mints no connector key for it until a run onboards it again (\`casbridge run --mode onboard --accounts ${accountId}\`).`,
    );
  const lease = leaseStatus(item, Date.now());
  if (lease && !lease.expired)
    throw new CliError(
      `Account ${accountId} is being worked on by ${leaseHolder(lease)} until ${lease.expiresAt}: run this again once it ends (\`casbridge unlock ${accountId}\` frees the lease of a run that died).`,
    );
  const keyRequestedBy = await callerArn(runtime, config);
  const keyRequestedAt = new Date().toISOString();
  await withAwsContext(
    { doing: `write to the ledger table ${config.ledgerTable}`, region: config.region },
    () => ledger(runtime).update(accountId, { keyRequestedAt, keyRequestedBy }),
  );
  const report = await runToReport(
    { mode: 'reconcile', accounts: [accountId] },
    { local: options.local ?? false },
  );
  const line = report.accounts.find((a) => a.accountId === accountId);
  if (line?.steps.accessKey?.details?.mintedOnRequest !== true) {
    const why = !line
      ? 'did not work on it'
      : line.error
        ? `failed at ${line.error.step ?? 'a step'}: ${line.error.name}: ${line.error.message}`
        : line.outcome === 'SKIPPED'
          ? `skipped it (${line.skipReason ?? 'skipped'})`
          : `minted no key (access key step: ${line.steps.accessKey?.action ?? 'none'}${line.steps.accessKey?.reason ? `, ${line.steps.accessKey.reason}` : ''})`;
    throw new CliError(
      `Run ${report.runId} ${escapeControl(why)}; no key was minted or shown (\`casbridge report ${report.runId}\` has its line; the request stays recorded and the next run serves it).`,
    );
  }
  const revealed = await revealCredentials(accountId, { ...options, yes: true }, true, {
    deleteAfterReveal: true,
  });
  const failed = line.error
    ? [
        `The run ${report.runId} then failed at ${line.error.step ?? 'a step'} (${escapeControl(line.error.name)}): \`casbridge report ${report.runId}\` says what to do.`,
        '',
      ]
    : [];
  return `${revealed}${failed.join('\n')}`;
}

/** A secret in a pipe ends up in files and CI logs: only a person at a terminal, or one who says so. */
function refuseUnlessInteractive(options: CredentialsCommandOptions, interactive: boolean): void {
  if (!interactive && !options.yes)
    throw new CliError(
      'Refusing to print a secret access key to a pipe or file: run this in a terminal, or add --yes if you mean it.',
    );
}

export async function revealCredentials(
  accountId: string,
  options: CredentialsCommandOptions,
  interactive: boolean,
  /** Keys minted on demand: the secret is scheduled for deletion as soon as the reveal is recorded. */
  { deleteAfterReveal = false }: { deleteAfterReveal?: boolean } = {},
): Promise<string> {
  refuseUnlessInteractive(options, interactive);
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
  if ((!secret?.ARN || !currentId) && item.keyDue)
    throw new CliError(
      `Account ${accountId} has no connector key yet: one is due (${item.keyDue}) and keys are minted on demand. At the Defender portal, run \`${newKeyCommand(accountId)}\`: it mints the key, shows it once and deletes its secret.`,
    );
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
  const deletion = deleteAfterReveal ? await deleteShownSecret(runtime, accountId, secret.ARN) : undefined;
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
    ...(deletion
      ? [
          `Its secret ${secret.ARN} is scheduled for deletion${deletion.deletionDate ? ` on ${deletion.deletionDate}` : ''} (recovery window ${config.secretRecoveryDays} days, not billed): this is the only time the key is shown. If it is lost before the paste, run \`${newKeyCommand(accountId)}\` again for another.`,
        ]
      : []),
    '',
  ].join('\n');
}

/**
 * Schedules the secret of a key just shown for deletion (commons/secret-retention.ts, the one
 * deletion helper) and records it: the ledger names the keys from now on, as after a connection.
 */
async function deleteShownSecret(
  runtime: Runtime,
  accountId: string,
  secretArn: string,
): Promise<{ deletionDate?: string }> {
  const { config } = runtime;
  const deleted = await withAwsContext(
    { doing: `schedule the deletion of the connector secret ${secretArn}`, region: config.region },
    () => deleteConnectorSecret(secretsManagerClient(runtime), secretArn, config.secretRecoveryDays),
  );
  await withAwsContext(
    {
      doing: `record the secret's deletion in the ledger table ${config.ledgerTable}`,
      region: config.region,
    },
    () => ledger(runtime).update(accountId, secretDeletionChanges(new Date().toISOString())),
  );
  return deleted;
}

/**
 * Why there is nothing to reveal for a connected account, and the one way to a key that can be
 * pasted again (commons/secret-retention.ts).
 */
function noSecretKept(item: LedgerItem): string {
  const day = item.secretDeletedAt?.slice(0, 10) ?? '?';
  if (!isLiveChecked(item))
    return `Account ${item.accountId}: casbridge keeps no secret for access key ${item.pendingAccessKeyId ?? item.accessKeyId ?? '?'}: it was shown once by \`${newKeyCommand(item.accountId)}\` and its secret deleted on ${day} (keys minted on demand). If it was not pasted, run \`${newKeyCommand(item.accountId)}\` again for a new key.`;
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
