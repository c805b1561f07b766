import {
  AccessDeniedError,
  AccountsFailedError,
  BucketPolicyNotReadyError,
  CasBridgeError,
  ConfigurationError,
  ConnectorGroupMissingError,
  ConnectorPermissionsMissingError,
  ConnectorSecretMismatchError,
  ConnectorUserTamperedError,
  classifyAwsError,
  ERROR_NAMES,
  type ErrorName,
  ForeignUserConflictError,
  InvalidAccountResultError,
  InvalidLifecycleEventError,
  InvalidRunInputError,
  InvalidTaskInputError,
  KeyNotPropagatedError,
  LeaseHeldError,
  LeaseLostError,
  LimitReachedError,
  NotProcessedError,
  OffboardingBlockedError,
  OrganizationTrailPrerequisiteError,
  ResultMissingError,
  RoleMissingError,
  RoleNotReadyError,
  type StepName,
  TaskFailedError,
  TaskTimedOutError,
  TransientAwsError,
  WebhookFailedError,
} from './errors';

/** A failed account's error as the report and the ledger keep it. */
export interface FailureRecord {
  name: string;
  message: string;
  step?: string;
  remediation: string;
  /**
   * Small, secret-free facts about the failure. For a failure in the register step: the hand-off's
   * channels and whether the operator was reached (HandoffChannels).
   */
  details?: Record<string, string | number | boolean>;
}

/**
 * What a failed register step did with the hand-off, per channel: `sns` delivered, not sent, or
 * unknown (the step was stopped or crashed, perhaps after publishing); `webhook` failed (the
 * topic has the hand-off, the receiver not), not sent with the topic, or not configured; `webhookStatus` the
 * receiver's last answer (`HTTP 500`, `timeout`, `unreachable`).
 */
export interface HandoffChannels {
  sns: 'delivered' | 'not-sent' | 'unknown';
  webhook: 'failed' | 'not-sent' | 'not-configured';
  webhookStatus?: string;
  operatorReached: boolean;
}

/**
 * Rebuilds the record of an error that crossed the state machine: a Catch keeps only the error's
 * name and message (Lambda serialises nothing else), so the remediation is derived again here
 * from the name, with what the account tells (an invited account's role hint). A name casbridge
 * does not throw (Step Functions' States.*, Lambda's Lambda.*, a raw AWS error a task let
 * through) is given a casbridge one, its original name kept at the head of the message: a report
 * never carries an unclassified name or a generic remediation.
 */
export function failureRecord(
  error: { name: string; message: string },
  context: {
    step?: string;
    joinedMethod?: 'CREATED' | 'INVITED';
    /**
     * For a failure in the register step: whether its hand-off reached the SNS topic first, and
     * whether the stack has a webhook. The remediation then starts by saying whether the operator
     * was reached, and `details` names each channel's fate (HandoffChannels).
     */
    handoff?: { snsDelivered: boolean; webhookConfigured: boolean };
  } = {},
): FailureRecord {
  const step = context.step as StepName | undefined;
  const rebuilt =
    error instanceof CasBridgeError ? error : rebuild(error, step, context.joinedMethod === 'INVITED');
  const channels =
    context.handoff && step === 'register' ? handoffChannels(rebuilt, context.handoff) : undefined;
  return {
    name: rebuilt.name,
    message: rebuilt.message,
    ...(step ? { step } : rebuilt.step ? { step: rebuilt.step } : {}),
    remediation: channels ? `${reachedSentence(channels)} ${rebuilt.remediation}` : rebuilt.remediation,
    ...(channels ? { details: { ...channels } } : {}),
  };
}

/**
 * The hand-off's fate when the register step failed. The topic is the operator's channel: with
 * it delivered the operator was reached whatever the webhook did. A register step stopped by a
 * timeout or killed under Lambda may have published before it died, so casbridge cannot say.
 */
function handoffChannels(
  rebuilt: CasBridgeError,
  { snsDelivered, webhookConfigured }: { snsDelivered: boolean; webhookConfigured: boolean },
): HandoffChannels {
  if (snsDelivered) {
    return {
      sns: 'delivered',
      webhook: 'failed',
      ...(rebuilt instanceof WebhookFailedError ? { webhookStatus: rebuilt.answer } : {}),
      operatorReached: true,
    };
  }
  // Stopped from outside (a timeout, Lambda, the runtime): perhaps after the publish. An error
  // the code threw (AccessDenied, a raw AWS error) came from a call that did not publish.
  const unknown =
    rebuilt instanceof TaskTimedOutError ||
    (rebuilt instanceof TaskFailedError && /^(Lambda|Runtime|States|Sandbox)\./.test(rebuilt.message));
  return {
    sns: unknown ? 'unknown' : 'not-sent',
    webhook: webhookConfigured ? 'not-sent' : 'not-configured',
    operatorReached: false,
  };
}

/** What leads a register failure's remediation: whether anyone was told, and what the next run does. */
function reachedSentence(channels: HandoffChannels): string {
  if (channels.operatorReached) {
    return 'The operator was reached: the hand-off went out on the SNS topic, so the account is AWAITING_CONNECTION and no later run hands this key off again; only the webhook missed it.';
  }
  return channels.sns === 'unknown'
    ? 'The operator may not have been reached: the register step stopped before it could tell whether the SNS topic got the hand-off; the next run sends it (subscribers may get it twice, with the same handoffId).'
    : 'The operator was not reached: no hand-off went out (the webhook is tried only after the SNS topic took it), and the next run sends it.';
}

type Rebuild = (message: string, options: { step?: StepName }, invited: boolean) => CasBridgeError;

/**
 * Every casbridge name, rebuilt from its message: the remediation stays the error class's own
 * (this table only picks the class). Typed over ErrorName, so a new name cannot be left out.
 */
const REBUILD: Record<ErrorName, Rebuild> = {
  RoleMissing: (m, o, invited) => new RoleMissingError(m, { ...o, invited }),
  RoleNotReady: (m, o) => new RoleNotReadyError(m, o),
  ForeignUserConflict: (m, o) => new ForeignUserConflictError(m, o),
  TransientAwsError: (m, o) => new TransientAwsError(m, o),
  BucketPolicyNotReady: (m, o) => new BucketPolicyNotReadyError(m, o),
  KeyNotPropagated: (m, o) => new KeyNotPropagatedError(m, o),
  WebhookFailed: (m, o) => new WebhookFailedError(m, o),
  LeaseHeld: (m, o) => new LeaseHeldError(m, o),
  LeaseLost: (m, o) => new LeaseLostError(m, o),
  InvalidRunInput: (m, o) => new InvalidRunInputError(m, o),
  InvalidLifecycleEvent: (m, o) => new InvalidLifecycleEventError(m, o),
  InvalidTaskInput: (m, o) => new InvalidTaskInputError(m, o),
  ConfigurationError: (m, o) => new ConfigurationError(m, o),
  AccountsFailed: (m, o) => new AccountsFailedError(m, o),
  OffboardingBlocked: (m, o) => new OffboardingBlockedError(m, o),
  ConnectorGroupMissing: (m, o) => new ConnectorGroupMissingError(m, o),
  // Which quota is full is in the message; the class's default names the fix of each.
  LimitReached: (m, o) => new LimitReachedError(m, undefined, o),
  // Which prerequisite is missing is in the message; the class's default names every one's fix.
  OrganizationTrailPrerequisite: (m, o) => new OrganizationTrailPrerequisiteError(m, undefined, o),
  // Whether casbridge could repair it is not in the message: the remediation names both ways.
  ConnectorUserTampered: (m, o) => new ConnectorUserTamperedError(m, [], o),
  AccessDenied: (m, o) => {
    const classified = classifyDenied(m, o.step);
    return classified ?? new AccessDeniedError(m, undefined, o);
  },
  // verify-connector's message: `… is not allowed a:B, c:D (denied by a service control policy)`.
  ConnectorPermissionsMissing: (m, o) => {
    const listed = /is not allowed (.+?)(?: \(denied by a service control policy\))?$/.exec(m)?.[1];
    const actions = listed ? listed.split(', ') : ['a permission named in the message'];
    return new ConnectorPermissionsMissingError(m, actions, {
      ...o,
      byScp: m.endsWith('(denied by a service control policy)'),
    });
  },
  // verify-connector's message names the secret, the key, the user and the account.
  ConnectorSecretMismatch: (m, o) => {
    const found =
      /^The secret (\S+) holds .* access key (\S+) of IAM user (\S+) in account (\d+)/.exec(m) ?? [];
    return new ConnectorSecretMismatchError(
      m,
      {
        secretName: found[1] ?? '<the secret named in the message>',
        accessKeyId: found[2] ?? '<the access key named in the message>',
        userName: found[3] ?? '<the connector user>',
        accountId: found[4] ?? '<the account>',
      },
      o,
    );
  },
  TaskTimedOut: (m, o) => new TaskTimedOutError(m, o),
  // Its message starts with the name it was given for (rebuild below).
  TaskFailed: (m, o) =>
    new TaskFailedError(m, { ...o, original: /^([\w.]+)(?::|$)/.exec(m)?.[1] ?? 'TaskFailed' }),
  ResultMissing: (m, o) => new ResultMissingError(m, o),
  NotProcessed: (m, o) => new NotProcessedError(m, o),
  InvalidAccountResult: (m, o) => new InvalidAccountResultError(m, o),
};

const KNOWN = new Set<string>(ERROR_NAMES);

/** What a timeout is called by Step Functions (the state's, a heartbeat's) and by Lambda. */
const TIMEOUT_NAMES = new Set(['States.Timeout', 'States.HeartbeatTimeout', 'Sandbox.Timedout']);

function rebuild(error: { name: string; message: string }, step: StepName | undefined, invited: boolean) {
  const options = step ? { step } : {};
  if (KNOWN.has(error.name)) return REBUILD[error.name as ErrorName](error.message, options, invited);
  // The original name leads the message: it is what the logs and AWS's documentation know.
  const message = error.message ? `${error.name}: ${error.message}` : error.name;
  if (TIMEOUT_NAMES.has(error.name)) return new TaskTimedOutError(message, options);
  return new TaskFailedError(message, { ...options, original: error.name });
}

function classifyDenied(message: string, step: StepName | undefined): CasBridgeError | undefined {
  const classified = classifyAwsError({ name: 'AccessDenied', message }, step ?? 'access');
  return classified instanceof CasBridgeError ? classified : undefined;
}

/**
 * The message of an error that crossed Step Functions: Lambda's cause is JSON
 * `{errorType, errorMessage, trace}`; a States.* error (timeout, runtime) carries plain text.
 */
export function causeMessage(cause: string | undefined): string {
  if (!cause) return '';
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: unknown };
    return typeof parsed.errorMessage === 'string' ? parsed.errorMessage : cause;
  } catch {
    return cause;
  }
}
