import { createHash } from 'node:crypto';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SNSClient } from '@aws-sdk/client-sns';
import {
  type Config,
  connectorGroupArn,
  connectorPolicyArn,
  connectorSecretName,
  connectorUserArn,
} from '../../commons/config';
import { describeConnectorSecret } from '../../commons/connector-resources';
import { classifyAwsError } from '../../commons/errors';
import type { ConnectorStatus, LedgerChanges, LedgerView } from '../../commons/ledger';
import { deleteConnectorSecret } from '../../commons/secret-retention';
import type { StepResult, TargetAccount } from '../../commons/step-result';
import { type OperatorMessage, publishHandoff, subjectLine } from '../register/ensure-registration';

/** The SNS message type (and `type` message attribute) of a departed account's connector removal. */
export const REMOVAL_MESSAGE_TYPE = 'connector.removal';

/** The statuses of an account whose operator was asked to connect it, and not told since to remove it. */
const HANDED_OFF: readonly ConnectorStatus[] = [
  'AWAITING_CONNECTION',
  'HANDOFF_OVERDUE',
  'CONNECTED',
  'STALE',
];

export interface DepartDeps {
  /** Secrets Manager in the central account, where the connector's secret lives. */
  secrets: SecretsManagerClient;
  /** SNS in the central account, for the removal hand-off on config.topicArn. */
  sns: SNSClient;
  config: Config;
  now?: () => number;
}

/** What the operator receives when an account has left the organization: which instance to remove. */
export interface RemovalMessage extends OperatorMessage {
  type: typeof REMOVAL_MESSAGE_TYPE;
  accountName: string;
  instanceName: string;
  /** The key the connector instance holds: still valid in the departed account until its owner deletes it. */
  accessKeyId?: string;
  secretName: string;
  secretDeletionDate?: string;
  /** What casbridge made in the account and cannot remove: it no longer reaches the account. */
  remainingInAccount: string;
  portalSteps: string[];
  requestedAt: string;
}

/**
 * The Depart step: an account the organization no longer has (it left, was removed, or was
 * cleaned out after its closure). casbridge cannot reach it (its member role went with the
 * StackSet instance) and must not try: the account may belong to someone else now. So only the
 * central records are cleaned up: the connector secret is scheduled for deletion, the operator is
 * asked, once, to remove the Defender connector instance (`connector.removal`, on the hand-off
 * topic and webhook, the one-hand-off mechanism of the Register state), and the ledger keeps the
 * record as DEPARTED, with what stays in the account. An account whose operator was never asked
 * to connect it, or was told at an offboarding, gets no message: there is no instance to remove,
 * or they know.
 *
 * Its own function and role (not Offboard's with a branch): the role has no AssumeRole of member
 * roles at all, so a departure cannot touch an account that has left whatever the code did.
 */
export async function departAccount(
  deps: DepartDeps,
  account: Pick<TargetAccount, 'accountId' | 'name'>,
  options: { dryRun: boolean; ledger: LedgerView },
): Promise<StepResult> {
  try {
    return await depart(deps, account, options);
  } catch (error) {
    throw classifyAwsError(error, 'depart');
  }
}

async function depart(
  deps: DepartDeps,
  account: Pick<TargetAccount, 'accountId' | 'name'>,
  { dryRun, ledger }: { dryRun: boolean; ledger: LedgerView },
): Promise<StepResult> {
  const { config } = deps;
  const { accountId } = account;
  const secretName = connectorSecretName(config, accountId);
  const remaining = remainingInAccount(config, accountId);
  const details: Record<string, string | number | boolean> = {
    secretName,
    accountReachable: false,
    remainingInAccount: remaining,
    connector: 'DEPARTED',
  };
  if (ledger.connector === 'DEPARTED') return { action: 'unchanged', reason: 'already-departed', details };

  // Only a live secret is scheduled: Secrets Manager refuses to delete one already scheduled.
  const secret = await describeConnectorSecret(deps.secrets, secretName);
  let secretDeletionDate: string | undefined;
  if (secret) {
    details.secretDeletionScheduled = true;
    if (!dryRun)
      secretDeletionDate = (
        await deleteConnectorSecret(deps.secrets, secretName, deps.config.secretRecoveryDays)
      ).deletionDate;
    if (secretDeletionDate) details.secretDeletionDate = secretDeletionDate;
  }

  const owed =
    ledger.connector !== undefined && (HANDED_OFF.includes(ledger.connector) || Boolean(ledger.handoffAt));
  const told = ledger.connector === 'OFFBOARDED' || ledger.connector === 'RETIRED';
  const now = new Date((deps.now ?? Date.now)());
  const changes: LedgerChanges = {
    connector: 'DEPARTED',
    departedAt: now.toISOString(),
    ...(secret || ledger.secretArn ? { secretArn: null } : {}),
  };
  if (!owed || told) {
    details.handoff = told ? 'sent-at-offboarding' : 'none-owed';
    if (dryRun) return { action: 'updated', reason: 'dry-run', details: { ...details, planned: 'departed' } };
    return { action: 'updated', reason: 'departed', details, ledger: changes };
  }
  if (dryRun)
    return { action: 'updated', reason: 'dry-run', details: { ...details, planned: 'removal-handoff-sent' } };

  const message = removalMessage(account, {
    accessKeyId: ledger.accessKeyId,
    secretName,
    secretDeletionDate,
    remaining,
    requestedAt: now,
  });
  const sent = await publishHandoff(
    deps,
    message,
    // The instance first: SNS cuts a subject at 100 characters, and account names run to 50.
    subjectLine(
      `casbridge: remove connector instance ${message.instanceName}: account left the organization`,
    ),
  );
  return {
    action: 'updated',
    reason: 'removal-handoff-sent',
    details: { ...details, type: REMOVAL_MESSAGE_TYPE, instanceName: message.instanceName, ...sent.details },
    ledger: changes,
    ...sent.pending,
  };
}

/**
 * The removal of the instance register named `<account name> (<account id>)`. Its id is the same
 * for every delivery of one removal (the topic, each webhook attempt, a republish after a crash),
 * on which subscribers deduplicate.
 */
export function removalMessage(
  account: Pick<TargetAccount, 'accountId' | 'name'>,
  facts: {
    accessKeyId: string | undefined;
    secretName: string;
    secretDeletionDate: string | undefined;
    remaining: string;
    requestedAt: Date;
  },
): RemovalMessage {
  const instanceName = `${account.name} (${account.accountId})`;
  const key = facts.accessKeyId ? ` access key ${facts.accessKeyId} of` : '';
  return {
    type: REMOVAL_MESSAGE_TYPE,
    handoffId: createHash('sha256')
      .update(`${REMOVAL_MESSAGE_TYPE}:${account.accountId}:${facts.accessKeyId ?? ''}`)
      .digest('hex')
      .slice(0, 32),
    accountId: account.accountId,
    accountName: account.name,
    instanceName,
    ...(facts.accessKeyId ? { accessKeyId: facts.accessKeyId } : {}),
    secretName: facts.secretName,
    ...(facts.secretDeletionDate ? { secretDeletionDate: facts.secretDeletionDate } : {}),
    remainingInAccount: facts.remaining,
    portalSteps: [
      `Account ${account.accountId} has left the organization: casbridge no longer manages it.`,
      'Open the Microsoft Defender portal and go to Settings → Cloud Apps → App Connectors.',
      `Find the Amazon Web Services instance named "${instanceName}".`,
      "In that instance's row, open the menu (⋮) and choose Disconnect, then Delete, to remove the instance.",
      `casbridge cannot reach the account any more, so these stay in it: ${facts.remaining}. The${key} connector user stays valid there until the account's owner deletes the user: ask them to.`,
      `The connector secret ${facts.secretName} is ${facts.secretDeletionDate ? `scheduled for deletion on ${facts.secretDeletionDate}` : 'not kept'}; the ledger keeps the account's record as DEPARTED.`,
    ],
    requestedAt: facts.requestedAt.toISOString(),
  };
}

/** What casbridge made in the account, which it no longer reaches (the trail is kept anyway). */
function remainingInAccount(config: Config, accountId: string): string {
  return [
    `user ${connectorUserArn(config, accountId)} and its access keys`,
    `policy ${connectorPolicyArn(config, accountId)} (attached to group ${connectorGroupArn(config, accountId)})`,
    `trail ${config.trailName}`,
  ].join('; ');
}
