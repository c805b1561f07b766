import { createHash } from 'node:crypto';
import type { Config } from '../../commons/config';
import type { Liveness } from '../../commons/connector-liveness';
import { IAM22_UNUSED_DAYS } from '../../commons/handoff-overdue';
import { newKeyInstructions, rotateCommands } from '../../commons/secret-retention';
import type { TargetAccount } from '../../commons/step-result';
import type { HandoffMessage } from './ensure-registration';

/** What a `connector.stale` notice adds to the hand-off fields: how long the key has been quiet, and what to do. */
export interface StaleNotice {
  /** The connector's last activity with the key (its last use, else its connection). */
  lastActiveAt: string;
  idleDays: number;
  /** CASBRIDGE_CONNECTOR_STALE_DAYS: how long a connected key may go unused. */
  staleAfterDays: number;
  /** When Security Hub IAM.22 (credentials unused for 45 days) fails the key if it stays unused. */
  failsSecurityHubIam22At: string;
  /** False once casbridge deleted the key's secret: a paste then needs a new key (`rotateCommand`). */
  secretKept: boolean;
  rotateCommand: string;
  notice: string;
}

/**
 * The notice that a connected connector stopped using its key, on the hand-off channels with the
 * hand-off's fields (subscribers filter on `type` = `connector.stale`). Each notice has its own
 * `handoffId`: the key, and the spell of quiet and the day it is sent. Never the secret.
 */
export function staleNoticeMessage(
  account: Pick<TargetAccount, 'accountId' | 'name'>,
  live: Liveness,
  secretArn: string | undefined,
  requestedAt: Date,
  config: Pick<Config, 'connectorStaleDays'>,
): HandoffMessage {
  const { accountId } = account;
  const instanceName = `${account.name} (${accountId})`;
  const commands = rotateCommands(accountId);
  const confirmCommand = `casbridge confirm ${accountId}`;
  const day = (iso: string) => iso.slice(0, 10);
  const iam22 =
    Date.parse(live.failsIam22At) > requestedAt.getTime()
      ? `on ${day(live.failsIam22At)}`
      : `since ${day(live.failsIam22At)}`;
  const repaste = secretArn
    ? `If the credentials must be entered again, choose Edit settings on that row and paste the Access key and Secret key (access key id ${live.accessKeyId}) revealed by \`${commands.credentials}\` from Secrets Manager secret ${secretArn}.`
    : `casbridge no longer keeps this key's secret: it was deleted once the connector was seen using the key. ${newKeyInstructions(accountId)} Paste it with Edit settings on that row; the old key is deactivated once the new one is in use.`;
  const portalSteps = [
    'In the Microsoft Defender portal, open Settings → Cloud Apps → App Connectors (Connected apps).',
    `Find the Amazon Web Services instance "${instanceName}" and check its status: an error there says why it stopped (credentials changed or rejected, the instance disconnected or deleted). If the instance is gone, connect a new one with that name.`,
    repaste,
    `casbridge marks the account CONNECTED again on the first run after IAM shows the key in use; to record it at once, run \`${confirmCommand}\`.`,
  ];
  return {
    type: 'connector.stale',
    handoffId: createHash('sha256')
      .update(
        `connector.stale:${accountId}:${live.accessKeyId}:${live.activeAt}:${day(requestedAt.toISOString())}`,
      )
      .digest('hex')
      .slice(0, 32),
    accountId,
    accountName: account.name,
    instanceName,
    accessKeyId: live.accessKeyId,
    ...(secretArn ? { secretArn } : {}),
    credentialsCommand: commands.credentials,
    confirmCommand,
    portalSteps,
    requestedAt: requestedAt.toISOString(),
    stale: {
      lastActiveAt: live.activeAt,
      idleDays: live.idleDays,
      staleAfterDays: config.connectorStaleDays,
      failsSecurityHubIam22At: live.failsIam22At,
      secretKept: Boolean(secretArn),
      rotateCommand: commands.rotate,
      notice:
        `The Defender for Cloud Apps connector "${instanceName}" has not used access key ${live.accessKeyId} for ${live.idleDays} days (last active ${day(live.activeAt)}; casbridge expects a use within ${config.connectorStaleDays}). ` +
        `AWS Security Hub IAM.22 fails an access key unused for ${IAM22_UNUSED_DAYS} days: this one ${iam22} if it stays unused.`,
    },
  };
}
