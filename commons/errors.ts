/**
 * Every error a casbridge task throws. Each `name` is the contract with the state machine's
 * Retry/Catch (`ErrorEquals` matches `error.name`), so names never change once shipped. Each
 * error knows whether a retry can help, which step raised it, and what an operator should do.
 */
export type StepName =
  | 'resolve'
  | 'access'
  | 'user'
  | 'policy'
  | 'accessKey'
  | 'trail'
  | 'organizationTrail'
  | 'register'
  | 'verify'
  | 'offboard'
  | 'depart'
  | 'record'
  | 'report';

export interface CasBridgeErrorOptions {
  step?: StepName;
  cause?: unknown;
}

export abstract class CasBridgeError extends Error {
  abstract override readonly name: string;
  /** Whether the state machine's Retry may try again. */
  abstract readonly retryable: boolean;
  /** One sentence an operator can act on. */
  abstract readonly remediation: string;
  readonly step: StepName | undefined;

  constructor(message: string, options: CasBridgeErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.step = options.step;
  }

  /** The shape recorded in results, reports and the ledger: never the cause's raw payload. */
  toRecord(): { name: string; message: string; step?: StepName; remediation: string; retryable: boolean } {
    return {
      name: this.name,
      message: this.message,
      ...(this.step ? { step: this.step } : {}),
      remediation: this.remediation,
      retryable: this.retryable,
    };
  }
}

const STACKSET_HINT =
  'Deploy templates/member-role.yml to the account with the casbridge member-role StackSet (service-managed, auto-deployment on its OU)';

export class RoleMissingError extends CasBridgeError {
  readonly name = 'RoleMissing';
  readonly retryable = false;
  readonly remediation: string;

  constructor(message: string, options: CasBridgeErrorOptions & { invited?: boolean } = {}) {
    super(message, options);
    this.remediation = options.invited
      ? `${STACKSET_HINT}. This account was invited, so it has no role until the StackSet reaches it: move it into a targeted OU or add it to the StackSet's deployment targets.`
      : `${STACKSET_HINT}, and check that the role trusts casbridge's task roles with the configured ExternalId.`;
  }
}

export class RoleNotReadyError extends CasBridgeError {
  readonly name = 'RoleNotReady';
  readonly retryable = true;
  readonly remediation =
    'A newly created account can take minutes before its role is assumable; casbridge retries, and the next run picks it up.';
}

export class ForeignUserConflictError extends CasBridgeError {
  readonly name = 'ForeignUserConflict';
  readonly retryable = false;
  readonly remediation =
    'An IAM user with the connector name exists and is not tagged managed-by=casbridge; rename or tag it, or configure another connector user name.';
}

export class AccessDeniedError extends CasBridgeError {
  readonly name = 'AccessDenied';
  readonly retryable = false;
  readonly remediation: string;

  constructor(
    message: string,
    readonly action: string | undefined,
    options: CasBridgeErrorOptions & { byScp?: boolean } = {},
  ) {
    super(message, options);
    // AWS names the denied principal only in the message: a central call (a function's own role,
    // casbridge-<stage>-<function>) is fixed by deploying the stack, a member-account call by the
    // StackSet.
    const role = /assumed-role\/([\w+=,.@-]+)\//.exec(message)?.[1];
    this.remediation = options.byScp
      ? `A service control policy denies ${action ?? 'the call'} in this account; exempt casbridge's member role from it or move the account.`
      : role?.startsWith('casbridge-')
        ? `casbridge's function role ${role} lacks ${action ?? 'a permission'}; deploy the current serverless.yml (npx osls deploy) so the role has what its code calls.`
        : `The member role lacks ${action ?? 'a permission'}; redeploy the current templates/member-role.yml with the StackSet.`;
  }
}

export class TransientAwsError extends CasBridgeError {
  readonly name = 'TransientAwsError';
  readonly retryable = true;
  readonly remediation =
    'AWS throttled or failed the call; casbridge retries with backoff. Persistent failures point at a service event.';
}

export class LimitReachedError extends CasBridgeError {
  readonly name = 'LimitReached';
  readonly retryable = false;
  readonly remediation: string;

  /** `remediation` names the quota's fix where the thrower knows it; without it, both quotas' fixes. */
  constructor(message: string, remediation?: string, options: CasBridgeErrorOptions = {}) {
    super(message, options);
    this.remediation =
      remediation ??
      "An AWS quota named in the message is full: for CloudTrail's 5 trails per Region, delete an unused trail in that Region or let a trail that already records the account's management events cover it (CASBRIDGE_TRAIL_MODE=reuse-existing or organization); for the connector user's two access keys, delete the unused one by hand. Then run casbridge again.";
  }
}

export class BucketPolicyNotReadyError extends CasBridgeError {
  readonly name = 'BucketPolicyNotReady';
  readonly retryable = true;
  readonly remediation =
    'CloudTrail did not yet see a bucket policy that admits this account; casbridge retries. If it persists, check the central log bucket policy.';
}

export class KeyNotPropagatedError extends CasBridgeError {
  readonly name = 'KeyNotPropagated';
  readonly retryable = true;
  readonly remediation = 'IAM has not propagated the new access key yet; casbridge retries.';
}

export class LeaseHeldError extends CasBridgeError {
  readonly name = 'LeaseHeld';
  readonly retryable = false;
  readonly remediation =
    'Another casbridge run is working on this account; it will be reconciled by that run or the next one.';
}

/**
 * The account's lease is no longer this execution's: it lapsed while the execution stalled and
 * another execution took it, or an operator released it (`casbridge unlock`). Thrown before the
 * step touches the account, so the execution stops without changing anything more, and the
 * ledger is left to the execution that holds the account now.
 */
export class LeaseLostError extends CasBridgeError {
  readonly name = 'LeaseLost';
  readonly retryable = false;
  readonly remediation =
    "Nothing to repair: another casbridge execution took over this account after this one's lease lapsed (or the lease was released with casbridge unlock), this execution stopped before changing anything more, and the run that holds the account records its outcome. If it recurs, find the step that stalled in this run's logs, or raise the leaseSeconds parameter (CASBRIDGE_LEASE_SECONDS).";
}

export class InvalidRunInputError extends CasBridgeError {
  readonly name = 'InvalidRunInput';
  readonly retryable = false;
  readonly remediation = 'Fix the run input: see the README section on run input for the accepted fields.';
}

/**
 * A lifecycle event that cannot be what it says: emitted in another account than the
 * organization's management account, or in a Region where that event is not delivered; or one
 * that does not say which account it is about (no account id where AWS documents one, two that
 * disagree, a departure or join method casbridge does not know). Nothing is read beyond
 * DescribeOrganization (the account checks; the shape checks read nothing), and nothing is written.
 */
export class InvalidLifecycleEventError extends CasBridgeError {
  readonly name = 'InvalidLifecycleEvent';
  readonly retryable = false;
  readonly remediation =
    "Only the management account's Organizations (us-east-1) and Control Tower (home Region) events start runs, each about one account: check the EventBridge rule or forwarding that delivered it, and CASBRIDGE_CONTROL_TOWER_HOME_REGION. An event the message says names no account (or two, or an unknown method) has a shape casbridge does not know: keep it (it is the execution's input), report it, and run the account by name (casbridge run --accounts).";
}

export class InvalidTaskInputError extends CasBridgeError {
  readonly name = 'InvalidTaskInput';
  readonly retryable = false;
  readonly remediation =
    'A task received input that does not match its schema; this is a casbridge bug, please report it with the run id.';
}

export class ConfigurationError extends CasBridgeError {
  readonly name = 'ConfigurationError';
  readonly retryable = false;
  readonly remediation = 'Fix the deployment parameters named in the message and redeploy.';
}

/**
 * `organization` trail mode cannot have its trail: CloudTrail makes an organization trail only
 * from the management account, of an organization with all features, once CloudTrail has trusted
 * access to it. The message names which is missing; nothing was changed.
 */
export class OrganizationTrailPrerequisiteError extends CasBridgeError {
  readonly name = 'OrganizationTrailPrerequisite';
  readonly retryable = false;
  readonly remediation: string;

  constructor(message: string, remediation?: string, options: CasBridgeErrorOptions = {}) {
    super(message, options);
    this.remediation =
      remediation ??
      'An organization trail needs casbridge deployed in the management account, an organization with all features, and CloudTrail trusted access (aws organizations enable-aws-service-access --service-principal cloudtrail.amazonaws.com, from the management account); provide the one the message names, or deploy with trailMode reuse-existing or own. Then run casbridge again.';
  }
}

export class AccountsFailedError extends CasBridgeError {
  readonly name = 'AccountsFailed';
  readonly retryable = false;
  readonly remediation =
    "Open the run report for each failed account's error and remediation, then start a retry-failed run.";
}

export class OffboardingBlockedError extends CasBridgeError {
  readonly name = 'OffboardingBlocked';
  readonly retryable = false;
  readonly remediation =
    'Something casbridge did not create still holds on to the connector user or policy (the message names it and what IAM refused to delete: another policy attached to the user, the connector policy attached to another user, group or role, a login profile, an MFA device or a signing certificate); remove it by hand, then start a retry-failed run: it offboards the account again (never onboards it), and the steps already done are skipped.';
}

/**
 * The hand-off webhook did not take one attempt's POST: it answered non-2xx, did not answer in
 * time, or could not be reached. Thrown only by the DeliverWebhook state, after the hand-off went
 * out on the SNS topic: the operator was reached, and a retry POSTs the same body again.
 */
export class WebhookFailedError extends CasBridgeError {
  readonly name = 'WebhookFailed';
  readonly retryable = true;
  readonly remediation =
    'The hand-off webhook did not accept the hand-off on any attempt (one POST each; the message names the last answer: an HTTP status, no answer within CASBRIDGE_WEBHOOK_TIMEOUT_SECONDS, or no connection). Check CASBRIDGE_WEBHOOK_URL and that the receiver is up, answers 2xx in time and accepts the signature made with the key in CASBRIDGE_WEBHOOK_SECRET_ARN. No later run posts this hand-off: if the receiver needs it, give it the SNS message (same handoffId).';
  /** The receiver's last answer: `HTTP <status>`, `timeout` or `unreachable`. */
  readonly answer: string;

  constructor(message: string, options: CasBridgeErrorOptions & { answer?: string } = {}) {
    super(message, options);
    this.answer = options.answer ?? webhookAnswerOf(message);
  }
}

/** The answer a WebhookFailed message names (postWebhook writes it; a Catch keeps only the message). */
function webhookAnswerOf(message: string): string {
  const status = /answered HTTP (\d{3})/.exec(message)?.[1];
  if (status) return `HTTP ${status}`;
  return /did not answer within/.test(message) ? 'timeout' : 'unreachable';
}

export class ConnectorPermissionsMissingError extends CasBridgeError {
  readonly name = 'ConnectorPermissionsMissing';
  readonly retryable = false;
  readonly remediation: string;

  constructor(
    message: string,
    readonly actions: string[],
    options: CasBridgeErrorOptions & { byScp?: boolean } = {},
  ) {
    super(message, options);
    this.remediation = options.byScp
      ? `A service control policy denies the connector ${actions.join(', ')}; exempt the connector user from it, or Defender for Cloud Apps cannot read this account.`
      : `The connector user lacks ${actions.join(', ')}: re-run casbridge so the policy step re-attaches the connector policy, and check for a permissions boundary or deny policy on the user.`;
  }
}

/**
 * The connector group is not in the account: the member-role StackSet instance there predates the
 * template that creates it (with its ceiling policy). casbridge no longer creates the group, so
 * that the member role cannot delete it or its ceiling; no retry helps until the StackSet does.
 */
export class ConnectorGroupMissingError extends CasBridgeError {
  readonly name = 'ConnectorGroupMissing';
  readonly retryable = false;
  readonly remediation =
    'Update the casbridge member-role StackSet to the current templates/member-role.yml (it creates the connector group with its casbridge-ceiling policy) and let it reach this account, then run casbridge again.';
}

/**
 * Something casbridge did not give the connector user: another policy, group or console
 * password, a key casbridge does not know, or an effective permission beyond the connector's.
 * Each finding names what was found and where.
 */
export class ConnectorUserTamperedError extends CasBridgeError {
  readonly name = 'ConnectorUserTampered';
  readonly retryable = false;
  readonly remediation: string;

  constructor(
    message: string,
    readonly findings: string[],
    /** Unknown for an error rebuilt from its name and message after a Catch: both ways are named. */
    options: CasBridgeErrorOptions & { repairable?: boolean },
  ) {
    super(message, options);
    const byHand =
      "remove by hand what the message names (a group not casbridge's: remove the user from it; an allowed high-risk action: the policy granting it) and run casbridge again";
    this.remediation =
      options.repairable === true
        ? 'Find out who changed the connector user and why (CloudTrail), then remove what the message names by hand, or set CASBRIDGE_TAMPER_RESPONSE=repair and let the next run remove it.'
        : options.repairable === false
          ? `casbridge cannot remove this itself: find out who changed the connector user and why (CloudTrail), then ${byHand}.`
          : `Find out who changed the connector user and why (CloudTrail), then ${byHand}; a policy, group membership, console password or key casbridge owns can instead be removed by the next run with CASBRIDGE_TAMPER_RESPONSE=repair.`;
  }
}

/**
 * The connector secret's secret access key does not sign for its access key id: AWS answers
 * SignatureDoesNotMatch. The value was overwritten outside casbridge (or pasted from another key);
 * no retry or wait fixes it, and staged rotation would only start at keyMaxAgeDays.
 */
export class ConnectorSecretMismatchError extends CasBridgeError {
  readonly name = 'ConnectorSecretMismatch';
  readonly retryable = false;
  readonly remediation: string;

  constructor(
    message: string,
    key: { accountId: string; accessKeyId: string; userName: string; secretName: string },
    options: CasBridgeErrorOptions = {},
  ) {
    super(message, options);
    this.remediation = `Replace the key: delete access key ${key.accessKeyId} of IAM user ${key.userName} in account ${key.accountId} (aws iam delete-access-key --user-name ${key.userName} --access-key-id ${key.accessKeyId}); the next run's access key step creates a new key, writes its secret to ${key.secretName} and hands it off again. Find who overwrote the secret in CloudTrail (PutSecretValue on ${key.secretName}).`;
  }
}

/**
 * A task that ran past its timeout: Step Functions' own `States.Timeout` (the state's
 * TimeoutSeconds) or `States.HeartbeatTimeout`, or Lambda's `Sandbox.Timedout` (the function's
 * timeout). No task throws it: the report gives this name to what the Catch received, so a
 * report never carries a raw States.* name. No Retry follows a timeout.
 */
export class TaskTimedOutError extends CasBridgeError {
  readonly name = 'TaskTimedOut';
  readonly retryable = false;
  readonly remediation =
    "The step ran past its timeout (the state's TimeoutSeconds, or the function's Lambda timeout) and was stopped without a retry; the steps before it are kept. Find the call that hung in the function's logs by run id and account id (an AWS endpoint that does not answer, a webhook that never responds), fix that, then start a retry-failed run: every step is idempotent and redoes only what is missing.";
}

/**
 * A task failure casbridge has no name for, given one by the report: Lambda could not run the
 * function (`Lambda.*`, `Runtime.*`: throttled, out of memory, a broken deployment), the state
 * machine's role may not invoke it (`States.Permissions`), or the code let an error through that
 * it does not classify (an AWS error name, a bug). The message keeps the original name.
 */
export class TaskFailedError extends CasBridgeError {
  readonly name = 'TaskFailed';
  readonly retryable = false;
  readonly remediation: string;

  constructor(message: string, options: CasBridgeErrorOptions & { original: string }) {
    super(message, options);
    const { original } = options;
    this.remediation = /^(Lambda|Runtime)\./.test(original)
      ? `Lambda could not run the step's function (${original}: throttled past the retries, out of memory, or a broken deployment); check the function's logs and its concurrency and memory settings, redeploy if the package is broken, then start a retry-failed run.`
      : original === 'States.Permissions'
        ? "The state machine's role may not invoke the step's function: redeploy the casbridge stack (serverless.yml grants lambda:InvokeFunction on each function), then start a retry-failed run."
        : `The step failed with an error casbridge does not classify (${original}): this is a casbridge bug. Report it with the run id and account id and the function's log lines for them; the account is left as the steps before it made it, and a retry-failed run retries it once the bug is fixed.`;
  }
}

const RUN_NAMING_IT =
  "so nothing recorded its outcome in the ledger and a retry-failed run does not see it: start a run naming it (casbridge run --mode <the run's mode> --accounts <account id>)";

/** WriteReport's name for an account of the targets that the map run's results do not mention. */
export class ResultMissingError extends CasBridgeError {
  readonly name = 'ResultMissing';
  readonly retryable = false;
  readonly remediation =
    `The map run's results in the reports bucket say nothing of this account, ${RUN_NAMING_IT}; if it recurs, check the map run's ResultWriter files under runs/<run id>/map/.`;
}

/** WriteReport's name for an account whose child execution ended (stopped, aborted) without a result. */
export class NotProcessedError extends CasBridgeError {
  readonly name = 'NotProcessed';
  readonly retryable = false;
  readonly remediation =
    `The map run stopped before this account's child execution finished (the execution was stopped or the map run failed), ${RUN_NAMING_IT}.`;
}

/** WriteReport's name for a child execution whose output is not an account result. */
export class InvalidAccountResultError extends CasBridgeError {
  readonly name = 'InvalidAccountResult';
  readonly retryable = false;
  readonly remediation =
    "The record task returned something that is not an account result: a casbridge bug, or functions of two casbridge versions in one stack. Redeploy the stack so every function is the same version, report it with the run id, then run the account again (casbridge run --mode <the run's mode> --accounts <account id>).";
}

/** Names of the errors the state machine retries. */
export const RETRYABLE_ERROR_NAMES = [
  'RoleNotReady',
  'TransientAwsError',
  'BucketPolicyNotReady',
  'KeyNotPropagated',
  'WebhookFailed',
] as const;

/** Every error name a task can throw: the state machine's ErrorEquals may name only these (and States.*). */
export const ERROR_NAMES = [
  ...RETRYABLE_ERROR_NAMES,
  'RoleMissing',
  'ForeignUserConflict',
  'AccessDenied',
  'LimitReached',
  'LeaseHeld',
  'LeaseLost',
  'InvalidRunInput',
  'InvalidLifecycleEvent',
  'InvalidTaskInput',
  'ConfigurationError',
  'AccountsFailed',
  'ConnectorPermissionsMissing',
  'ConnectorSecretMismatch',
  'OffboardingBlocked',
  'ConnectorUserTampered',
  'ConnectorGroupMissing',
  'OrganizationTrailPrerequisite',
  // Given by the report to what a Catch received without a casbridge name (States.*, Lambda.*).
  'TaskTimedOut',
  'TaskFailed',
  // WriteReport's names for an account the map run left without a result of its own.
  'ResultMissing',
  'NotProcessed',
  'InvalidAccountResult',
] as const;

export type ErrorName = (typeof ERROR_NAMES)[number];

// ---------------------------------------------------------------- classifying AWS errors

/** What the SDK puts on a service exception; read by name, never by message text. */
interface SdkError {
  name?: string;
  message?: string;
  $fault?: 'client' | 'server';
  $metadata?: { httpStatusCode?: number; requestId?: string };
}

const THROTTLING_NAMES = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'SlowDown',
  'PriorRequestNotComplete',
  'RequestThrottled',
  'RequestThrottledException',
  'ProvisionedThroughputExceededException',
]);

// SNS answers AuthorizationError, which its SDK client throws as AuthorizationErrorException.
const ACCESS_DENIED_NAMES = new Set([
  'AccessDenied',
  'AccessDeniedException',
  'AuthorizationError',
  'AuthorizationErrorException',
]);

export function isThrottlingError(error: unknown): boolean {
  return THROTTLING_NAMES.has((error as SdkError)?.name ?? '');
}

/** 5xx, throttling, or a dropped connection: worth another attempt. */
export function isTransientError(error: unknown): boolean {
  const e = error as SdkError;
  if (isThrottlingError(e)) return true;
  if (e?.$fault === 'server' || (e?.$metadata?.httpStatusCode ?? 0) >= 500) return true;
  return ['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'TimeoutError', 'RequestTimeout'].includes(
    e?.name ?? '',
  );
}

export function isAccessDenied(error: unknown): boolean {
  return ACCESS_DENIED_NAMES.has((error as SdkError)?.name ?? '');
}

export function awsErrorName(error: unknown): string | undefined {
  return (error as SdkError)?.name;
}

/**
 * Turns an AWS SDK error met in `step` into a casbridge error: throttling and 5xx become the one
 * retryable name, AccessDenied names the action (and says whether an SCP denied it); anything
 * else is returned unchanged for the caller to decide.
 */
export function classifyAwsError(error: unknown, step: StepName): unknown {
  if (error instanceof CasBridgeError) return error;
  const e = error as SdkError;
  if (isTransientError(e)) {
    return new TransientAwsError(`${e.name ?? 'Error'} from AWS in step ${step}`, { step, cause: error });
  }
  if (isAccessDenied(e)) {
    const message = e.message ?? '';
    // AWS carries the denied action and the SCP origin only in the message text; nothing else names them.
    const action = /perform: ([\w-]+:\w+)/.exec(message)?.[1];
    return new AccessDeniedError(message || `Access denied in step ${step}`, action, {
      step,
      cause: error,
      byScp: /service control policy/i.test(message),
    });
  }
  return error;
}
