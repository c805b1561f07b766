import * as z from 'zod/mini';
import { ConfigurationError } from './errors';
import { IAM3_MAX_KEY_AGE_DAYS, IAM22_UNUSED_DAYS } from './handoff-overdue';
import { LEASE_STEP_SECONDS } from './lease';
import { type Partition, partitionOf } from './partition';
import './zod-locale';

/**
 * casbridge's configuration, read from the environment once (at cold start) and validated here;
 * no other module reads process.env. Each variable is documented in the README's configuration
 * reference under the same name.
 */
const bool = z.pipe(
  z.enum(['true', 'false']),
  z.transform((v) => v === 'true'),
);
const text = (minLength: number) => z.string().check(z.minLength(minLength));
const whole = (...checks: z.core.$ZodCheck<number>[]) => z.coerce.number().check(z.int(), ...checks);
const arn = z.string().check(z.startsWith('arn:'));

/** The trail modes of CASBRIDGE_TRAIL_MODE. */
export const TRAIL_MODES = ['own', 'reuse-existing', 'organization'] as const;
export type TrailMode = (typeof TRAIL_MODES)[number];
/** The organization trail's name is the trail's with this suffix (organizationTrailName). */
const ORGANIZATION_TRAIL_SUFFIX = '-organization';
/** What the legacy CASBRIDGE_ORG_TRAIL values mean as a trail mode. */
const LEGACY_ORG_TRAIL: Readonly<Record<'skip' | 'create', TrailMode>> = {
  skip: 'reuse-existing',
  create: 'own',
};

/** Organizations' patterns for an OU id and a root id. */
const OU_ID = /^ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}$/;
const PARENT_ID = /^(r-[0-9a-z]{4,32}|ou-[0-9a-z]{4,32}-[a-z0-9]{8,32})$/;

/** A comma-separated list of parent ids (unset or empty: none). */
function parentIdList(message: string, pattern: RegExp = PARENT_ID) {
  return z.pipe(
    z.pipe(
      z._default(z.string(), ''),
      z.transform((v) =>
        v
          .split(',')
          .map((id) => id.trim())
          .filter(Boolean),
      ),
    ),
    z.array(z.string().check(z.regex(pattern, message))),
  );
}

/** CASBRIDGE_KEY_DELIVERY's values (README "Keys minted on demand"). */
export const KEY_DELIVERIES = ['on-demand', 'at-handoff'] as const;
export type KeyDelivery = (typeof KEY_DELIVERIES)[number];

/** CASBRIDGE_OUT_OF_SCOPE_ACTION's values. */
export const OUT_OF_SCOPE_ACTIONS = ['report', 'offboard'] as const;
export type OutOfScopeAction = (typeof OUT_OF_SCOPE_ACTIONS)[number];

const schema = z.object({
  AWS_REGION: z._default(text(1), 'us-east-1'),
  CASBRIDGE_MEMBER_ROLE_NAME: z._default(text(1), 'CasBridgeExecutionRole'),
  CASBRIDGE_EXTERNAL_ID: text(2),
  /** e.g. OrganizationAccountAccessRole: used when the member role is missing, flagged as over-privileged. */
  CASBRIDGE_FALLBACK_ROLE_NAME: z.optional(text(1)),
  CASBRIDGE_SESSION_SECONDS: z._default(whole(z.minimum(900), z.maximum(3600)), 3600),
  CASBRIDGE_USER_NAME: z._default(z.string().check(z.regex(/^[\w+=,.@-]{1,64}$/)), 'CloudAppSecurity'),
  CASBRIDGE_USER_PATH: z._default(z.string().check(z.regex(/^\/([\w+=,.@-]+\/)*$/)), '/casbridge/'),
  CASBRIDGE_POLICY_NAME: z._default(
    z.string().check(z.regex(/^[\w+=,.@-]{1,128}$/)),
    'CasBridgeCloudAppSecurity',
  ),
  CASBRIDGE_GROUP_NAME: z._default(z.string().check(z.regex(/^[\w+=,.@-]{1,128}$/)), 'CloudAppSecurity'),
  /** What a reconcile does with what someone else gave the connector user: remove it, or fail the account. */
  CASBRIDGE_TAMPER_RESPONSE: z._default(z.enum(['repair', 'report']), 'repair'),
  CASBRIDGE_ALLOW_PUT_BUCKET_ACL: z._default(bool, true),
  /**
   * Security Hub IAM.3 fails an active key older than 90 days, and a staged rotation keeps the old
   * key active until the operator has pasted the new one: rotating at 75 days leaves the hand-off
   * 15 days inside the control. Above 90 the control fails before a rotation even starts.
   */
  CASBRIDGE_KEY_MAX_AGE_DAYS: z._default(
    whole(
      z.minimum(1),
      z.maximum(
        IAM3_MAX_KEY_AGE_DAYS,
        `must be at most ${IAM3_MAX_KEY_AGE_DAYS}: Security Hub IAM.3 fails an active access key older than ${IAM3_MAX_KEY_AGE_DAYS} days`,
      ),
    ),
    75,
  ),
  /**
   * Days a handed-off key may wait for the connector's first use before it is HANDOFF_OVERDUE and
   * the operator is reminded. Below 45: Security Hub IAM.22 fails a key unused for 45 days, and a
   * reminder must come while there is time to act on it.
   */
  CASBRIDGE_HANDOFF_OVERDUE_DAYS: z._default(
    whole(
      z.minimum(1),
      z.maximum(
        IAM22_UNUSED_DAYS - 1,
        `must be at most ${IAM22_UNUSED_DAYS - 1}: Security Hub IAM.22 fails an access key unused for ${IAM22_UNUSED_DAYS} days`,
      ),
    ),
    14,
  ),
  /**
   * Days a connected connector's key may go without a use by a service other than STS before the
   * account is STALE and the operator told. At least 2: IAM records a key's last use hours late
   * and Defender may poll only once a day. Below 45: Security Hub IAM.22 fails a key unused for
   * 45 days, and the notice must come while there is time to act on it.
   */
  CASBRIDGE_CONNECTOR_STALE_DAYS: z._default(
    whole(
      z.minimum(2),
      z.maximum(
        IAM22_UNUSED_DAYS - 1,
        `must be at most ${IAM22_UNUSED_DAYS - 1}: Security Hub IAM.22 fails an access key unused for ${IAM22_UNUSED_DAYS} days`,
      ),
    ),
    7,
  ),
  /**
   * Keep the connector secret after the connector is seen using its key. Off by default: the
   * connector holds the key by then, and a kept secret costs $0.40 a month and is one more copy.
   */
  CASBRIDGE_KEEP_SECRETS: z._default(bool, false),
  /**
   * The recovery window of a connector secret deleted once the connector holds its key: Secrets
   * Manager's bounds (7–30). Seven, its shortest: the secret has no use left (a paste needs a new
   * key), and the window only undoes a mistake.
   */
  CASBRIDGE_SECRET_RECOVERY_DAYS: z._default(whole(z.minimum(7), z.maximum(30)), 7),
  /**
   * When a connector key is minted. `on-demand` (default): no run mints one by itself; a run that
   * finds a key due (a new account, a rotation) hands off once that it is, and the operator's
   * `casbridge credentials ACCOUNT --new-key` at the portal mints, reveals and deletes its secret
   * within minutes. `at-handoff`: the run mints the key and keeps its secret until the connector
   * uses it (days: $0.40 a secret-month, ~$420 a month at 10,000 accounts, docs/cost.md).
   */
  CASBRIDGE_KEY_DELIVERY: z._default(z.enum(KEY_DELIVERIES), 'on-demand'),
  CASBRIDGE_SECRET_PREFIX: z._default(text(1), 'casbridge/connector/'),
  CASBRIDGE_SECRETS_KMS_KEY_ID: z.optional(text(1)),
  CASBRIDGE_TRAIL_NAME: z._default(text(3), 'casbridge'),
  CASBRIDGE_LOG_BUCKET: text(3),
  CASBRIDGE_TRAIL_PREFIX: z._default(text(1), 'casbridge'),
  /**
   * Whose trail records each account's management events (README "Trails and coverage"): casbridge
   * always keeps its own (`own`), relies on a trail already recording them (`reuse-existing`), or
   * ensures one organization trail from the management account (`organization`). Unset, the
   * legacy CASBRIDGE_ORG_TRAIL decides, else `reuse-existing`.
   */
  CASBRIDGE_TRAIL_MODE: z.optional(z.enum(TRAIL_MODES)),
  /** Before CASBRIDGE_TRAIL_MODE: `skip` is `reuse-existing`, `create` is `own`. */
  CASBRIDGE_ORG_TRAIL: z.optional(z.enum(['skip', 'create'])),
  CASBRIDGE_TOPIC_ARN: arn,
  CASBRIDGE_WEBHOOK_URL: z.optional(z.url()),
  CASBRIDGE_WEBHOOK_SECRET_ARN: z.optional(arn),
  /**
   * How long one webhook attempt waits for the receiver's answer before it counts as failed and
   * the state machine retries. At most 60: the DeliverWebhook state and the register function
   * time out at 120 and 110 seconds.
   */
  CASBRIDGE_WEBHOOK_TIMEOUT_SECONDS: z._default(whole(z.minimum(1), z.maximum(60)), 10),
  CASBRIDGE_LEDGER_TABLE: text(3),
  CASBRIDGE_REPORTS_BUCKET: z.optional(text(3)),
  /**
   * A step renews the account's lease when less than one step's budget is left (commons/lease.ts),
   * so a shorter lease would lapse inside a step that had just renewed it.
   */
  CASBRIDGE_LEASE_SECONDS: z._default(
    whole(
      z.minimum(
        LEASE_STEP_SECONDS,
        `must be at least ${LEASE_STEP_SECONDS}: the longest attempt of a pipeline step plus its longest retry wait (statemachine/casbridge.asl.yml), which one lease must outlast`,
      ),
    ),
    900,
  ),
  /** Default parallelism of a run's fan-out; a run input's maxConcurrency overrides it. */
  CASBRIDGE_MAX_CONCURRENCY: z._default(whole(z.minimum(1), z.maximum(1000)), 40),
  /** Where Control Tower emits its lifecycle events; casbridge's own Region when unset. */
  CASBRIDGE_CONTROL_TOWER_HOME_REGION: z.optional(z.string().check(z.regex(/^[a-z]{2}(-[a-z]+)+-\d{1,2}$/))),
  /** Comma-separated account ids casbridge never works on (skipped as `excluded`). */
  CASBRIDGE_EXCLUDED_ACCOUNTS: z.pipe(
    z.pipe(
      z._default(z.string(), ''),
      z.transform((v) =>
        v
          .split(',')
          .map((id) => id.trim())
          .filter(Boolean),
      ),
    ),
    z.array(z.string().check(z.regex(/^\d{12}$/, 'each excluded account must be a 12-digit account id'))),
  ),
  /**
   * The scope every onboard, reconcile and event run keeps to (README "The account lifecycle"):
   * comma-separated OU ids (recursive) or the root id; unset, the whole organization.
   */
  CASBRIDGE_SCOPE_OUS: parentIdList('each scope entry must be an OU id (ou-…) or the root id (r-…)'),
  /** Comma-separated OU ids (recursive) left out of the scope. */
  CASBRIDGE_SCOPE_EXCLUDED_OUS: parentIdList('each excluded OU must be an OU id (ou-…)', OU_ID),
  /**
   * What a run does with an account that casbridge connected and that is now out of scope (moved
   * to an OU outside it): `report` (default) skips it as out-of-scope and leaves its connector
   * alone; `offboard` offboards it (OFFBOARDED). Report by default: an account moved out of
   * scope is often one moved into a quarantine or "Suspended" OU after an incident, exactly when
   * its Defender connector must keep watching, and a mistaken move or scope edit must not
   * disconnect a branch of the organization. Offboarding stays one deliberate setting away.
   */
  CASBRIDGE_OUT_OF_SCOPE_ACTION: z._default(z.enum(OUT_OF_SCOPE_ACTIONS), 'report'),
});

export interface Config {
  region: string;
  /** The Region's partition (`aws`, `aws-us-gov`, `aws-cn`): the second field of every ARN built. */
  partition: Partition;
  memberRoleName: string;
  externalId: string;
  fallbackRoleName: string | undefined;
  sessionSeconds: number;
  userName: string;
  userPath: string;
  policyName: string;
  groupName: string;
  tamperResponse: 'repair' | 'report';
  allowPutBucketAcl: boolean;
  keyMaxAgeDays: number;
  handoffOverdueDays: number;
  connectorStaleDays: number;
  keepSecrets: boolean;
  secretRecoveryDays: number;
  keyDelivery: KeyDelivery;
  secretPrefix: string;
  secretsKmsKeyId: string | undefined;
  trailName: string;
  logBucket: string;
  trailPrefix: string;
  trailMode: TrailMode;
  topicArn: string;
  webhookUrl: string | undefined;
  webhookSecretArn: string | undefined;
  webhookTimeoutSeconds: number;
  ledgerTable: string;
  reportsBucket: string | undefined;
  leaseSeconds: number;
  maxConcurrency: number;
  excludedAccounts: readonly string[];
  controlTowerHomeRegion: string;
  /** The scope's OUs (recursive) and root; empty: the whole organization. */
  scopeOus: readonly string[];
  /** OUs (recursive) left out of the scope. */
  scopeExcludedOus: readonly string[];
  outOfScopeAction: OutOfScopeAction;
}

/** Parses configuration from an environment; throws ConfigurationError naming every bad variable. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ConfigurationError(`Invalid casbridge configuration: ${problems}`);
  }
  const e = parsed.data;
  const legacyMode = e.CASBRIDGE_ORG_TRAIL && LEGACY_ORG_TRAIL[e.CASBRIDGE_ORG_TRAIL];
  if (e.CASBRIDGE_TRAIL_MODE && legacyMode && e.CASBRIDGE_TRAIL_MODE !== legacyMode) {
    throw new ConfigurationError(
      `Invalid casbridge configuration: CASBRIDGE_TRAIL_MODE=${e.CASBRIDGE_TRAIL_MODE} contradicts CASBRIDGE_ORG_TRAIL=${e.CASBRIDGE_ORG_TRAIL} (which means ${legacyMode}): unset CASBRIDGE_ORG_TRAIL (the orgTrail parameter), CASBRIDGE_TRAIL_MODE replaces it`,
    );
  }
  const trailMode = e.CASBRIDGE_TRAIL_MODE ?? legacyMode ?? 'reuse-existing';
  // CloudTrail names are at most 128 characters, and the organization trail's adds a suffix.
  if (
    trailMode === 'organization' &&
    e.CASBRIDGE_TRAIL_NAME.length > 128 - ORGANIZATION_TRAIL_SUFFIX.length
  ) {
    throw new ConfigurationError(
      `Invalid casbridge configuration: CASBRIDGE_TRAIL_NAME: at most ${128 - ORGANIZATION_TRAIL_SUFFIX.length} characters in organization trail mode, whose trail is named <name>${ORGANIZATION_TRAIL_SUFFIX}`,
    );
  }
  if (e.CASBRIDGE_WEBHOOK_URL && !e.CASBRIDGE_WEBHOOK_SECRET_ARN) {
    throw new ConfigurationError(
      'Invalid casbridge configuration: CASBRIDGE_WEBHOOK_URL needs CASBRIDGE_WEBHOOK_SECRET_ARN to sign its requests',
    );
  }
  return Object.freeze({
    region: e.AWS_REGION,
    partition: partitionOf(e.AWS_REGION),
    memberRoleName: e.CASBRIDGE_MEMBER_ROLE_NAME,
    externalId: e.CASBRIDGE_EXTERNAL_ID,
    fallbackRoleName: e.CASBRIDGE_FALLBACK_ROLE_NAME,
    sessionSeconds: e.CASBRIDGE_SESSION_SECONDS,
    userName: e.CASBRIDGE_USER_NAME,
    userPath: e.CASBRIDGE_USER_PATH,
    policyName: e.CASBRIDGE_POLICY_NAME,
    groupName: e.CASBRIDGE_GROUP_NAME,
    tamperResponse: e.CASBRIDGE_TAMPER_RESPONSE,
    allowPutBucketAcl: e.CASBRIDGE_ALLOW_PUT_BUCKET_ACL,
    keyMaxAgeDays: e.CASBRIDGE_KEY_MAX_AGE_DAYS,
    handoffOverdueDays: e.CASBRIDGE_HANDOFF_OVERDUE_DAYS,
    connectorStaleDays: e.CASBRIDGE_CONNECTOR_STALE_DAYS,
    keepSecrets: e.CASBRIDGE_KEEP_SECRETS,
    secretRecoveryDays: e.CASBRIDGE_SECRET_RECOVERY_DAYS,
    keyDelivery: e.CASBRIDGE_KEY_DELIVERY,
    secretPrefix: e.CASBRIDGE_SECRET_PREFIX,
    secretsKmsKeyId: e.CASBRIDGE_SECRETS_KMS_KEY_ID,
    trailName: e.CASBRIDGE_TRAIL_NAME,
    logBucket: e.CASBRIDGE_LOG_BUCKET,
    trailPrefix: e.CASBRIDGE_TRAIL_PREFIX,
    trailMode,
    topicArn: e.CASBRIDGE_TOPIC_ARN,
    webhookUrl: e.CASBRIDGE_WEBHOOK_URL,
    webhookSecretArn: e.CASBRIDGE_WEBHOOK_SECRET_ARN,
    webhookTimeoutSeconds: e.CASBRIDGE_WEBHOOK_TIMEOUT_SECONDS,
    ledgerTable: e.CASBRIDGE_LEDGER_TABLE,
    reportsBucket: e.CASBRIDGE_REPORTS_BUCKET,
    leaseSeconds: e.CASBRIDGE_LEASE_SECONDS,
    maxConcurrency: e.CASBRIDGE_MAX_CONCURRENCY,
    excludedAccounts: Object.freeze([...new Set(e.CASBRIDGE_EXCLUDED_ACCOUNTS)]),
    controlTowerHomeRegion: e.CASBRIDGE_CONTROL_TOWER_HOME_REGION ?? e.AWS_REGION,
    scopeOus: Object.freeze([...new Set(e.CASBRIDGE_SCOPE_OUS)]),
    scopeExcludedOus: Object.freeze([...new Set(e.CASBRIDGE_SCOPE_EXCLUDED_OUS)]),
    outOfScopeAction: e.CASBRIDGE_OUT_OF_SCOPE_ACTION,
  });
}

let cached: Config | undefined;

/** The process's configuration, read once at first use. */
export function getConfig(): Config {
  cached ??= loadConfig(process.env);
  return cached;
}

/**
 * For `casbridge run --local` only: the configuration the functions of this process run with,
 * merged by the CLI from its flags, the environment and a casbridge profile
 * (commons/cli-settings.ts) instead of the environment alone. In Lambda nothing calls it.
 */
export function useConfig(config: Config): void {
  cached = config;
}

/**
 * The process's environment, for the CLI's settings (commons/cli-settings.ts merges it with the
 * flags and the config file): the one place outside this module that sees it gets it from here.
 */
export function processEnvironment(): Readonly<Record<string, string | undefined>> {
  return process.env;
}

// ---------------------------------------------------------------- names derived from configuration

export function connectorUserArn(config: Config, accountId: string): string {
  return `arn:${config.partition}:iam::${accountId}:user${config.userPath}${config.userName}`;
}

export function connectorPolicyArn(config: Config, accountId: string): string {
  return `arn:${config.partition}:iam::${accountId}:policy${config.userPath}${config.policyName}`;
}

/** The group that holds the connector policy (Security Hub IAM.2: no policy directly on a user). */
export function connectorGroupArn(config: Config, accountId: string): string {
  return `arn:${config.partition}:iam::${accountId}:group${config.userPath}${config.groupName}`;
}

/**
 * The connector user's permissions boundary: created by the member-role StackSet
 * (templates/member-role.yml, ConnectorBoundary) under the user path, never by casbridge.
 */
export const CONNECTOR_BOUNDARY_NAME = 'CasBridgeConnectorBoundary';

export function connectorBoundaryArn(config: Config, accountId: string): string {
  return `arn:${config.partition}:iam::${accountId}:policy${config.userPath}${CONNECTOR_BOUNDARY_NAME}`;
}

export function memberRoleArn(config: Config, accountId: string, roleName = config.memberRoleName): string {
  return `arn:${config.partition}:iam::${accountId}:role/${roleName}`;
}

/** One secret per member account, named deterministically so a re-run finds it. */
export function connectorSecretName(config: Config, accountId: string): string {
  return `${config.secretPrefix}${accountId}`;
}

/** CloudTrail writes under `<prefix>/AWSLogs/<account>/`; casbridge gives each account its own prefix. */
export function trailKeyPrefix(config: Config, accountId: string): string {
  return `${config.trailPrefix}/${accountId}`;
}

/**
 * The organization trail casbridge ensures in `organization` trail mode, in the management
 * account: named apart from the per-account trail, because an organization trail appears under
 * its name in every member account, where CloudTrail would refuse a trail of that name of the
 * account's own (TrailAlreadyExistsException) should one ever be needed.
 */
export function organizationTrailName(config: Config): string {
  return `${config.trailName}${ORGANIZATION_TRAIL_SUFFIX}`;
}

/**
 * For local runs against the sandbox only (`casbridge run --local`): the sandbox's stand-in for
 * the Lambda service, which gives each function its own role's credentials (`casbridge sandbox`
 * exports it). Unset (against AWS), every function runs with the caller's own credentials.
 */
export function localLambdaEndpoint(
  env: Record<string, string | undefined> = process.env,
): string | undefined {
  const url = env.CASBRIDGE_LOCAL_LAMBDA_ENDPOINT;
  return url && /^https?:\/\//.test(url) ? url : undefined;
}

/**
 * The deployed state machine `casbridge run` starts (the stack's StateMachineArn output; the
 * sandbox exports its own).
 */
export function stateMachineArn(env: Record<string, string | undefined> = process.env): string | undefined {
  const arn = env.CASBRIDGE_STATE_MACHINE_ARN;
  return arn?.startsWith('arn:') ? arn : undefined;
}
