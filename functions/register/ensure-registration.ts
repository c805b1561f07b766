import { createHash, createHmac } from 'node:crypto';
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import { type Config, connectorSecretName } from '../../commons/config';
import { connectorLiveness, keyUseOf, type Liveness } from '../../commons/connector-liveness';
import {
  describeConnectorSecret,
  KEY_TAG,
  PENDING_KEY_TAG,
  secretTag,
} from '../../commons/connector-resources';
import { awsErrorName, ConfigurationError, classifyAwsError, WebhookFailedError } from '../../commons/errors';
import {
  type HandoffWait,
  handoffWait,
  IAM3_MAX_KEY_AGE_DAYS,
  IAM22_UNUSED_DAYS,
} from '../../commons/handoff-overdue';
import type { KeyDueReason, LedgerChanges, LedgerView } from '../../commons/ledger';
import { newKeyCommand } from '../../commons/secret-retention';
import type { StepResult, TargetAccount } from '../../commons/step-result';
import { handOffKeyDue, keyDueWaiting } from './key-due';
import { type StaleNotice, staleNoticeMessage } from './stale-notice';

export interface RegisterDeps {
  /** SNS in the central account, where the hand-off topic lives. */
  sns: SNSClient;
  /** Secrets Manager in the central account: the connector secret's metadata and the webhook's signing key. */
  secrets: SecretsManagerClient;
  config: Config;
  now?: () => number;
}

/** The `type` message attribute: subscribers filter on it (SNS subscription filter policies). */
export type HandoffType = 'connector.handoff' | 'connector.rotation' | 'connector.stale';

/**
 * What the operator receives, on the topic and the webhook alike. It names where the keys are and
 * how to reveal them, never the secret access key itself.
 */
export interface HandoffMessage {
  type: HandoffType;
  /**
   * The same for every delivery of one hand-off: on the topic and every webhook attempt, and on
   * the topic again in the one case it is published twice (publishHandoff): subscribers dedupe on it.
   */
  handoffId: string;
  accountId: string;
  accountName: string;
  instanceName: string;
  accessKeyId: string;
  /** Absent on a stale notice for a key whose secret casbridge deleted (commons/secret-retention.ts). */
  secretArn?: string;
  credentialsCommand: string;
  confirmCommand: string;
  portalSteps: string[];
  requestedAt: string;
  /** Set on a reminder of a hand-off the connector has not acted on (commons/handoff-overdue.ts). */
  reminder?: HandoffReminder;
  /** Set on a `connector.stale` notice: a connected connector stopped using its key (./stale-notice.ts). */
  stale?: StaleNotice;
}

/**
 * Any message of the hand-off channels, the topic and the webhook: a hand-off, its reminder, a
 * stale notice (all HandoffMessage), or a departed account's connector removal
 * (functions/depart). Subscribers filter on `type` and deduplicate on `handoffId`.
 */
export interface OperatorMessage {
  type: string;
  handoffId: string;
  accountId: string;
  reminder?: unknown;
}

/** What a reminder adds to the hand-off it repeats: how long the key has waited, and what that costs. */
export interface HandoffReminder {
  handedOffAt: string;
  waitingDays: number;
  /** When Security Hub IAM.22 (credentials unused for 45 days) fails the key if it is still unused. */
  failsSecurityHubIam22At: string;
  /**
   * During a rotation: when Security Hub IAM.3 (active keys rotated within 90 days) fails the key
   * still in service, which stays active until the connector uses the new one.
   */
  keyInServiceFailsSecurityHubIam3At?: string;
  notice: string;
}

export interface RegisterOptions {
  dryRun: boolean;
  /** The account's ledger view: whether, and for which key, the operator was already asked. */
  ledger: LedgerView;
  /** The results of the account's earlier steps in this run: the access key step's names the key's creation time. */
  steps?: Record<string, StepResult>;
}

/** SNS refuses subjects over 100 characters or outside printable ASCII (email headers). */
const MAX_SUBJECT_LENGTH = 100;

/**
 * Step 6: Defender for Cloud Apps has no API to create app connectors, so registration is a
 * hand-off to a human. The operator is told, once per key, which account is ready, where its
 * secret is and the exact portal steps; the connector becomes AWAITING_CONNECTION until verify
 * sees it in use. A key still waiting after handoffOverdueDays is reminded of once per overdue
 * period, here because this is the step with the hand-off channels and the grants to use them.
 * What the ledger must keep (the hand-off, the keys, a reminder) is in the result's `ledger`:
 * RecordResult writes it with the outcome.
 *
 * This is the Register state: it publishes to the SNS topic and, with a webhook configured,
 * leaves the same message in the result's `pendingWebhook` for the DeliverWebhook state
 * (deliverWebhook below). So a webhook that fails retries only its own state: the topic gets one
 * message per hand-off however often the receiver fails, and a WebhookFailed caught into
 * RecordResult still finds this result and records the hand-off (the account is
 * AWAITING_CONNECTION and no later run hands the key off again).
 */
export async function ensureRegistration(
  deps: RegisterDeps,
  account: Pick<TargetAccount, 'accountId' | 'name'>,
  options: RegisterOptions,
): Promise<StepResult> {
  try {
    return await register(deps, account, options);
  } catch (error) {
    throw classifyAwsError(error, 'register');
  }
}

async function register(
  deps: RegisterDeps,
  account: Pick<TargetAccount, 'accountId' | 'name'>,
  { dryRun, steps, ledger: item }: RegisterOptions,
): Promise<StepResult> {
  const { config } = deps;
  const planned = dryRun ? plannedNewKey(steps?.accessKey) : undefined;
  if (planned) {
    // The access key step only planned a new key: the real run hands that key off, whatever the
    // secret's tags name now (a key deleted by hand, say), and it has no id to name yet.
    return {
      action: item.handoffAccessKeyId ? 'updated' : 'created',
      reason: 'dry-run',
      details: {
        planned: planned === 'connector.rotation' ? 'rotation-handoff-sent' : 'handoff-sent',
        connector: 'AWAITING_CONNECTION',
        type: planned,
      },
    };
  }
  const due = steps?.accessKey?.details?.keyDue;
  if (typeof due === 'string') {
    // keyDelivery on-demand: no key was minted. The operator is told once that one is due, and
    // reminded as a handed-off key is; a connected account's rotation goes on as below meanwhile.
    const told = await handOffKeyDue(deps, account, {
      due: due as KeyDueReason,
      item,
      dryRun,
      ...(typeof steps?.accessKey?.details?.keyCreatedAt === 'string'
        ? { keyCreatedAt: steps.accessKey.details.keyCreatedAt }
        : {}),
    });
    if (told || due === 'new-account')
      return told ?? keyDueWaiting(item, deps.config, (deps.now ?? Date.now)());
  }
  const { secretArn, currentId, pendingId, secretDeleted } = await connectorKeys(
    deps,
    account.accountId,
    steps,
  );
  if (!currentId || (!secretArn && !secretDeleted)) return { action: 'skipped', reason: 'no-access-key' };
  // During a staged rotation the operator must paste the new key; the old one keeps working meanwhile.
  const keyId = pendingId ?? currentId;
  const type: HandoffType = pendingId ? 'connector.rotation' : 'connector.handoff';
  const keyCreatedAt = keyCreationTime(steps?.accessKey, currentId);
  const keys = {
    secretArn: secretArn ?? null,
    accessKeyId: currentId,
    pendingAccessKeyId: pendingId ?? null,
    ...(keyCreatedAt ? { keyCreatedAt } : {}),
  };
  // A completed rotation moves the pending key to current without a new hand-off; `casbridge
  // status` should still name the keys as they are.
  const keyChanges = dryRun || sameKeys(item, keys) ? {} : { ledger: keys };

  if ((item.connector === 'CONNECTED' || item.connector === 'STALE') && connectedKey(item) === keyId) {
    // The connector may have stopped using its key: the access key step looked, in this run.
    const live = connectorLiveness(item, keyUseOf(steps?.accessKey, keyId), config, (deps.now ?? Date.now)());
    if (live?.noticeDue) return notifyStale(deps, account, { live, secretArn, dryRun, keyChanges });
    return {
      action: 'unchanged',
      reason: live?.stale ? 'stale-notice-sent-earlier' : 'connected',
      details: { connector: live?.stale ? 'STALE' : 'CONNECTED', accessKeyId: keyId },
      ...keyChanges,
    };
  }
  // Reconcile runs daily: one hand-off per key, not one notification a day; a key that waits
  // past handoffOverdueDays gets one reminder per overdue period.
  if (
    (item.connector === 'AWAITING_CONNECTION' || item.connector === 'HANDOFF_OVERDUE') &&
    item.handoffAccessKeyId === keyId
  ) {
    const wait = handoffWait(item, config, (deps.now ?? Date.now)());
    if (wait?.reminderDue) {
      const previousReminderAt =
        item.handoffReminderAccessKeyId === keyId ? (item.handoffReminderAt ?? undefined) : undefined;
      const inServiceCreatedAt = type === 'connector.rotation' ? (item.keyCreatedAt ?? undefined) : undefined;
      return remind(deps, account, {
        type,
        keyId,
        secretArn,
        wait,
        previousReminderAt,
        inServiceCreatedAt,
        dryRun,
        keyChanges,
      });
    }
    const connector = wait?.overdue ? 'HANDOFF_OVERDUE' : 'AWAITING_CONNECTION';
    return {
      action: 'unchanged',
      reason: wait?.overdue ? 'reminder-sent-earlier' : 'awaiting-connection',
      details: { connector, accessKeyId: keyId },
      ...keyChanges,
    };
  }
  // Every other path hands off a key: the access key step keeps a secret for any key not yet used.
  if (!secretArn) return { action: 'skipped', reason: 'no-access-key' };
  const action = item.handoffAccessKeyId ? 'updated' : 'created';
  const reason = type === 'connector.rotation' ? 'rotation-handoff-sent' : 'handoff-sent';
  if (dryRun) {
    return {
      action,
      reason: 'dry-run',
      details: { planned: reason, connector: 'AWAITING_CONNECTION', type, accessKeyId: keyId },
    };
  }

  const requestedAt = new Date((deps.now ?? Date.now)());
  const handoff: LedgerChanges = {
    connector: 'AWAITING_CONNECTION',
    handoffAt: requestedAt.toISOString(),
    handoffAccessKeyId: keyId,
    ...keys,
  };
  if (steps?.accessKey?.details?.mintedOnRequest === true) {
    // Minted for the operator's `credentials --new-key`, who is at the portal and is shown the key
    // when this run ends: the ledger records the hand-off (verify waits for the connector from
    // now), and no message says what the operator is doing.
    return {
      action,
      reason: 'key-minted-on-request',
      details: { connector: 'AWAITING_CONNECTION', type, accessKeyId: keyId, secretArn, sns: 'not-sent' },
      ledger: handoff,
    };
  }
  const message = handoffMessage(account, type, keyId, secretArn, requestedAt);
  const sent = await publishHandoff(deps, message, subjectFor(message));
  return {
    action,
    reason,
    details: {
      connector: 'AWAITING_CONNECTION',
      type,
      accessKeyId: keyId,
      secretArn,
      instanceName: message.instanceName,
      ...sent.details,
    },
    ledger: handoff,
    ...sent.pending,
  };
}

/**
 * The reminder of an overdue hand-off: the same message, channels and portal steps as the
 * hand-off it repeats (a rotation's reminder still says Edit settings), with how long the key
 * has waited and when Security Hub IAM.22 fails it. The ledger learns which key was reminded when,
 * so the next reminder waits another overdue period. Never the secret, as every hand-off.
 */
async function remind(
  deps: RegisterDeps,
  account: Pick<TargetAccount, 'accountId' | 'name'>,
  request: {
    type: HandoffType;
    keyId: string;
    /** Absent once casbridge deleted the secret of a key shown on demand. */
    secretArn: string | undefined;
    wait: HandoffWait;
    /** The reminder of this key sent before, if any: the new one's id follows it. */
    previousReminderAt: string | undefined;
    /** During a rotation, when the key still in service was created. */
    inServiceCreatedAt: string | undefined;
    dryRun: boolean;
    keyChanges: { ledger?: LedgerChanges };
  },
): Promise<StepResult> {
  const { type, keyId, secretArn, wait, previousReminderAt, inServiceCreatedAt, dryRun, keyChanges } =
    request;
  const details = { connector: 'HANDOFF_OVERDUE', type, accessKeyId: keyId, waitingDays: wait.waitingDays };
  if (dryRun)
    return { action: 'updated', reason: 'dry-run', details: { planned: 'reminder-sent', ...details } };
  const requestedAt = new Date((deps.now ?? Date.now)());
  const message = handoffMessage(account, type, keyId, secretArn, requestedAt, {
    wait,
    previousReminderAt,
    inServiceCreatedAt,
  });
  const sent = await publishHandoff(deps, message, subjectFor(message));
  return {
    action: 'updated',
    reason: 'reminder-sent',
    details: { ...details, ...sent.details },
    ...sent.pending,
    ledger: {
      ...keyChanges.ledger,
      connector: 'HANDOFF_OVERDUE',
      handoffReminderAt: requestedAt.toISOString(),
      handoffReminderAccessKeyId: keyId,
    },
  };
}

/**
 * Tells the operator, through the hand-off channels, that a connected connector stopped using its
 * key: once per stale period (commons/connector-liveness.ts), the ledger learning when and for
 * which key. What to do depends on whether casbridge still keeps the key's secret.
 */
async function notifyStale(
  deps: RegisterDeps,
  account: Pick<TargetAccount, 'accountId' | 'name'>,
  request: {
    live: Liveness;
    secretArn: string | undefined;
    dryRun: boolean;
    keyChanges: { ledger?: LedgerChanges };
  },
): Promise<StepResult> {
  const { live, secretArn, dryRun, keyChanges } = request;
  const details = {
    connector: 'STALE',
    type: 'connector.stale',
    accessKeyId: live.accessKeyId,
    idleDays: live.idleDays,
  };
  if (dryRun) return { action: 'updated', reason: 'dry-run', details };
  const requestedAt = new Date((deps.now ?? Date.now)());
  const message = staleNoticeMessage(account, live, secretArn, requestedAt, deps.config);
  const sent = await publishHandoff(deps, message, subjectFor(message));
  return {
    action: 'updated',
    reason: 'stale-notice-sent',
    details: { ...details, ...sent.details },
    ...sent.pending,
    ledger: {
      ...keyChanges.ledger,
      staleNoticeAt: requestedAt.toISOString(),
      staleNoticeAccessKeyId: live.accessKeyId,
    },
  };
}

/**
 * Publishes a hand-off (or its reminder) to the topic, and says what the report shows of its
 * channels and, with a webhook configured, what the DeliverWebhook state still owes it. The
 * ledger learns of it from this step's result (RecordResult), so the one window for a duplicate
 * is a crash after the publish and before the result reaches Step Functions (the function timing
 * out or dying, its answer lost): the Register state then runs again and publishes again, with
 * the same handoffId, on which subscribers dedupe.
 */
export async function publishHandoff(
  deps: Pick<RegisterDeps, 'sns' | 'config'>,
  message: OperatorMessage,
  subject: string,
): Promise<{
  details: Record<string, string | boolean>;
  pending: { pendingWebhook?: string };
}> {
  const { config } = deps;
  const body = JSON.stringify(message);
  const published = await deps.sns.send(
    new PublishCommand({
      TopicArn: config.topicArn,
      Subject: subject,
      Message: body,
      MessageAttributes: {
        type: { DataType: 'String', StringValue: message.type },
        accountId: { DataType: 'String', StringValue: message.accountId },
        ...(message.reminder ? { reminder: { DataType: 'String', StringValue: 'true' } } : {}),
      },
    }),
  );
  return {
    details: {
      handoffId: message.handoffId,
      messageId: published.MessageId ?? '',
      sns: 'delivered',
      webhook: config.webhookUrl ? 'pending' : 'not-configured',
      // The topic is the operator's channel: once it has the message, the operator has been told.
      operatorReached: true,
    },
    pending: config.webhookUrl ? { pendingWebhook: body } : {},
  };
}

/**
 * The DeliverWebhook state: POSTs the hand-off the Register state published (its result's
 * `pendingWebhook`, the very bytes the topic got) to the webhook, once per attempt and with no
 * retry of its own: the state machine's Retry is the only one, so the receiver sees one request
 * per attempt, each with the same body and handoffId and a fresh signed timestamp. A failed
 * attempt throws WebhookFailed naming the receiver's answer; once the receiver has taken it the
 * result is Register's with the webhook delivered, and nothing is owed.
 */
export async function deliverWebhook(deps: RegisterDeps, handedOff: StepResult): Promise<StepResult> {
  const { pendingWebhook: body, ...result } = handedOff;
  if (body === undefined) return handedOff;
  const url = deps.config.webhookUrl;
  // Redeployed without the webhook while this run was between the two states: nothing to deliver.
  const webhook = url ? 'delivered' : 'not-configured';
  try {
    if (url) await postWebhook(deps, url, body, new Date((deps.now ?? Date.now)()));
  } catch (error) {
    throw classifyAwsError(error, 'register');
  }
  return { ...result, details: { ...result.details, webhook } };
}

/**
 * The hand-off a dry run's access key step implies: a key it would issue (a first key, or one
 * replacing a key gone from IAM) is handed off, a rotation's new key as a rotation.
 */
function plannedNewKey(accessKey: StepResult | undefined): HandoffType | undefined {
  if (accessKey?.reason !== 'dry-run') return undefined;
  if (accessKey.action === 'created') return 'connector.handoff';
  return accessKey.details?.planned === 'rotation-started' ? 'connector.rotation' : undefined;
}

function sameKeys(
  item: LedgerView,
  keys: {
    secretArn: string | null;
    accessKeyId: string;
    pendingAccessKeyId: string | null;
    keyCreatedAt?: string;
  },
): boolean {
  return (
    (item.secretArn ?? null) === keys.secretArn &&
    item.accessKeyId === keys.accessKeyId &&
    (item.pendingAccessKeyId ?? null) === keys.pendingAccessKeyId &&
    (keys.keyCreatedAt === undefined || item.keyCreatedAt === keys.keyCreatedAt)
  );
}

/** When the key in service was created, if this run's access key step reported it for that very key. */
function keyCreationTime(accessKey: StepResult | undefined, keyId: string): string | undefined {
  const created = accessKey?.details?.keyCreatedAt;
  return accessKey?.details?.accessKeyId === keyId && typeof created === 'string' ? created : undefined;
}

/** The key the connector was last seen connected with: the one handed off, or (before any hand-off) the current one. */
function connectedKey(item: LedgerView): string | undefined {
  return item.handoffAccessKeyId ?? item.accessKeyId;
}

/**
 * The portal procedure of reference/defender-for-cloud-apps.md §1.3. A rotation edits the
 * existing instance: a second instance for the same account would duplicate every event.
 */
export function handoffMessage(
  account: Pick<TargetAccount, 'accountId' | 'name'>,
  type: HandoffType,
  accessKeyId: string,
  /** Absent once casbridge deleted the secret of a key shown on demand (it was shown once). */
  secretArn: string | undefined,
  requestedAt: Date,
  reminderOf?: {
    wait: HandoffWait;
    previousReminderAt: string | undefined;
    inServiceCreatedAt?: string | undefined;
  },
): HandoffMessage {
  const instanceName = `${account.name} (${account.accountId})`;
  const credentialsCommand = `casbridge credentials ${account.accountId}`;
  const confirmCommand = `casbridge confirm ${account.accountId}`;
  const open =
    'In the Microsoft Defender portal, open Settings → Cloud Apps → App Connectors (Connected apps).';
  const source = secretArn
    ? `revealed by \`${credentialsCommand}\` from Secrets Manager secret ${secretArn}`
    : `shown once by \`${newKeyCommand(account.accountId)}\` (casbridge deleted its secret then; if it was lost before the paste, run that command again for a new key)`;
  const check = `Check that the connector status is Connected. casbridge detects the connector's first use of the key on its next run; to record it at once, run \`${confirmCommand}\`.`;
  const portalSteps =
    type === 'connector.rotation'
      ? [
          open,
          `Find the existing Amazon Web Services instance "${instanceName}" and choose Edit settings on its row (do not connect a new instance).`,
          `Click through to the credentials and paste the new Access key and Secret key (access key id ${accessKeyId}), ${source}.`,
          'Save the connector.',
          `${check} The previous key is deactivated only after the new one is seen in use.`,
        ]
      : [
          open,
          'Choose + Connect an app → Amazon Web Services.',
          `Name the instance "${instanceName}" and choose Security auditing.`,
          `Paste the Access key and Secret key (access key id ${accessKeyId}), ${source}, then choose Next.`,
          check,
        ];
  // Every delivery of one hand-off, or of one reminder, has the same id, whatever the time it
  // was requested at; a reminder follows the reminder before it (or the hand-off), so each has its own.
  const reminderSeed = reminderOf
    ? `:reminder:${reminderOf.previousReminderAt ?? reminderOf.wait.handoffAt}`
    : '';
  return {
    type,
    handoffId: createHash('sha256')
      .update(`${type}:${account.accountId}:${accessKeyId}${reminderSeed}`)
      .digest('hex')
      .slice(0, 32),
    accountId: account.accountId,
    accountName: account.name,
    instanceName,
    accessKeyId,
    ...(secretArn ? { secretArn } : {}),
    credentialsCommand,
    confirmCommand,
    portalSteps,
    requestedAt: requestedAt.toISOString(),
    ...(reminderOf
      ? { reminder: reminder(instanceName, accessKeyId, reminderOf.wait, reminderOf.inServiceCreatedAt) }
      : {}),
  };
}

function reminder(
  instanceName: string,
  accessKeyId: string,
  wait: HandoffWait,
  inServiceCreatedAt: string | undefined,
): HandoffReminder {
  const day = (iso: string) => iso.slice(0, 10);
  const iam22 =
    wait.daysUntilIam22 > 0
      ? `on ${day(wait.failsIam22At)}, in ${wait.daysUntilIam22} days`
      : `since ${day(wait.failsIam22At)}`;
  const createdMs = inServiceCreatedAt ? Date.parse(inServiceCreatedAt) : Number.NaN;
  const iam3At = Number.isFinite(createdMs)
    ? new Date(createdMs + IAM3_MAX_KEY_AGE_DAYS * 86_400_000).toISOString()
    : undefined;
  return {
    handedOffAt: wait.handoffAt,
    waitingDays: wait.waitingDays,
    failsSecurityHubIam22At: wait.failsIam22At,
    ...(iam3At ? { keyInServiceFailsSecurityHubIam3At: iam3At } : {}),
    notice:
      `Access key ${accessKeyId} for "${instanceName}" has waited ${wait.waitingDays} days (handed off on ${day(wait.handoffAt)}) and the Defender for Cloud Apps connector has not used it yet. ` +
      `AWS Security Hub IAM.22 fails an access key unused for ${IAM22_UNUSED_DAYS} days: this one ${iam22}. ` +
      (iam3At
        ? `The key in service stays active until then, and IAM.3 fails it once it is ${IAM3_MAX_KEY_AGE_DAYS} days old, on ${day(iam3At)}. `
        : '') +
      'Follow the portal steps below; a connector connected in the last day is recorded by the next run.',
  };
}

function subjectFor(message: HandoffMessage): string {
  const verb = message.type === 'connector.rotation' ? 'Update the keys of' : 'Connect';
  const overdue = message.reminder ? `Overdue ${message.reminder.waitingDays} days: ` : '';
  const text = message.stale
    ? `casbridge: Defender stopped using the key of ${message.instanceName} (idle ${message.stale.idleDays} days)`
    : `casbridge: ${overdue}${verb} ${message.instanceName} in Defender for Cloud Apps`;
  return subjectLine(text);
}

/** SNS refuses a subject over 100 characters or outside printable ASCII (email headers). */
export function subjectLine(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '?').slice(0, MAX_SUBJECT_LENGTH);
}

/**
 * POSTs the hand-off, signed like common webhook providers do: HMAC-SHA256 over
 * "<timestamp>.<body>", so a receiver can reject forged and replayed requests. The timestamp is
 * the attempt's, so a retried attempt is not refused as a replay; the body, and its handoffId,
 * stay the same.
 */
async function postWebhook(deps: RegisterDeps, url: string, body: string, at: Date): Promise<void> {
  const key = await signingKey(deps);
  const timestamp = String(Math.floor(at.getTime() / 1000));
  const signature = createHmac('sha256', key).update(`${timestamp}.${body}`).digest('hex');
  // A webhook URL often carries a token in its path or query; errors name only its origin.
  const origin = new URL(url).origin;
  const timeoutSeconds = deps.config.webhookTimeoutSeconds;
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-casbridge-timestamp': timestamp,
        'x-casbridge-signature': `sha256=${signature}`,
      },
      body,
      // A receiver that has not answered by then is down for this attempt: the state retries
      // rather than hang the task.
      signal: AbortSignal.timeout(timeoutSeconds * 1000),
    });
  } catch (error) {
    throw unreachable(error, origin, timeoutSeconds);
  }
  // Drain the body so the connection is released; its content is the receiver's business.
  await response.arrayBuffer().catch(() => undefined);
  if (!response.ok) {
    throw new WebhookFailedError(`The hand-off webhook at ${origin} answered HTTP ${response.status}`, {
      step: 'register',
      answer: `HTTP ${response.status}`,
    });
  }
}

/** fetch's failure, by name: its own timeout, or the connection's error code (fetch wraps it in `cause`). */
function unreachable(error: unknown, origin: string, timeoutSeconds: number): WebhookFailedError {
  const e = error as { name?: string; cause?: { code?: unknown } };
  if (e?.name === 'TimeoutError') {
    return new WebhookFailedError(
      `The hand-off webhook at ${origin} did not answer within ${timeoutSeconds} s`,
      { step: 'register', answer: 'timeout' },
    );
  }
  const code = typeof e?.cause?.code === 'string' ? e.cause.code : (e?.name ?? 'Error');
  return new WebhookFailedError(`The hand-off webhook at ${origin} could not be reached (${code})`, {
    step: 'register',
    answer: 'unreachable',
  });
}

async function signingKey(deps: RegisterDeps): Promise<string> {
  const arn = deps.config.webhookSecretArn;
  if (!arn) {
    throw new ConfigurationError('CASBRIDGE_WEBHOOK_URL is set without CASBRIDGE_WEBHOOK_SECRET_ARN', {
      step: 'register',
    });
  }
  try {
    const value = (await deps.secrets.send(new GetSecretValueCommand({ SecretId: arn }))).SecretString;
    if (!value) {
      throw new ConfigurationError(`The webhook signing secret ${arn} has no string value`, {
        step: 'register',
      });
    }
    return value;
  } catch (error) {
    if (awsErrorName(error) === 'ResourceNotFoundException') {
      throw new ConfigurationError(
        `CASBRIDGE_WEBHOOK_SECRET_ARN names a secret that does not exist or has no value: ${arn}`,
        { step: 'register' },
      );
    }
    throw error;
  }
}

/**
 * The secret's ARN and the key ids it holds: from the access key step's result in this run when it
 * has them (no second DescribeSecret per account), else from the secret's tags.
 */
async function connectorKeys(
  deps: RegisterDeps,
  accountId: string,
  steps: Record<string, StepResult> | undefined,
): Promise<{ secretArn?: string; currentId?: string; pendingId?: string; secretDeleted?: boolean }> {
  const known = steps?.accessKey?.details;
  // `secretDeleted`: the connector holds the key and casbridge deleted its secret (no ARN to name).
  const secretKnown = typeof known?.secretArn === 'string' || known?.secretDeleted === true;
  if (secretKnown && typeof known?.accessKeyId === 'string' && known.accessKeyId) {
    return {
      ...(typeof known.secretArn === 'string' ? { secretArn: known.secretArn } : { secretDeleted: true }),
      currentId: known.accessKeyId,
      ...(typeof known.pendingAccessKeyId === 'string' ? { pendingId: known.pendingAccessKeyId } : {}),
    };
  }
  const secret = await describeConnectorSecret(deps.secrets, connectorSecretName(deps.config, accountId));
  return {
    ...(secret?.ARN ? { secretArn: secret.ARN } : {}),
    ...(secretTag(secret, KEY_TAG) ? { currentId: secretTag(secret, KEY_TAG) } : {}),
    ...(secretTag(secret, PENDING_KEY_TAG) ? { pendingId: secretTag(secret, PENDING_KEY_TAG) } : {}),
  };
}
