import * as z from 'zod';
import { ConfigurationError } from './errors';

/**
 * casbridge's configuration, read from the environment once (at cold start) and validated here;
 * no other module reads process.env. Each variable is documented in the README's configuration
 * reference under the same name.
 */
const bool = z.enum(['true', 'false']).transform((v) => v === 'true');

const schema = z.object({
  AWS_REGION: z.string().min(1).default('us-east-1'),
  CASBRIDGE_MEMBER_ROLE_NAME: z.string().min(1).default('CasBridgeExecutionRole'),
  CASBRIDGE_EXTERNAL_ID: z.string().min(2),
  /** e.g. OrganizationAccountAccessRole: used when the member role is missing, flagged as over-privileged. */
  CASBRIDGE_FALLBACK_ROLE_NAME: z.string().min(1).optional(),
  CASBRIDGE_SESSION_SECONDS: z.coerce.number().int().min(900).max(3600).default(3600),
  CASBRIDGE_USER_NAME: z
    .string()
    .regex(/^[\w+=,.@-]{1,64}$/)
    .default('CloudAppSecurity'),
  CASBRIDGE_USER_PATH: z
    .string()
    .regex(/^\/([\w+=,.@-]+\/)*$/)
    .default('/casbridge/'),
  CASBRIDGE_POLICY_NAME: z
    .string()
    .regex(/^[\w+=,.@-]{1,128}$/)
    .default('CasBridgeCloudAppSecurity'),
  CASBRIDGE_ALLOW_PUT_BUCKET_ACL: bool.default(true),
  CASBRIDGE_KEY_MAX_AGE_DAYS: z.coerce.number().int().min(1).max(3650).default(90),
  CASBRIDGE_SECRET_PREFIX: z.string().min(1).default('casbridge/connector/'),
  CASBRIDGE_SECRETS_KMS_KEY_ID: z.string().min(1).optional(),
  CASBRIDGE_TRAIL_NAME: z.string().min(3).default('casbridge'),
  CASBRIDGE_LOG_BUCKET: z.string().min(3),
  CASBRIDGE_TRAIL_PREFIX: z.string().min(1).default('casbridge'),
  CASBRIDGE_ORG_TRAIL: z.enum(['skip', 'create']).default('skip'),
  CASBRIDGE_TOPIC_ARN: z.string().startsWith('arn:'),
  CASBRIDGE_WEBHOOK_URL: z.string().url().optional(),
  CASBRIDGE_WEBHOOK_SECRET_ARN: z.string().startsWith('arn:').optional(),
  CASBRIDGE_LEDGER_TABLE: z.string().min(3),
  CASBRIDGE_REPORTS_BUCKET: z.string().min(3).optional(),
  CASBRIDGE_LEASE_SECONDS: z.coerce.number().int().min(60).default(900),
  /** Default parallelism of a run's fan-out; a run input's maxConcurrency overrides it. */
  CASBRIDGE_MAX_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(40),
  /** Comma-separated account ids casbridge never works on (skipped as `excluded`). */
  CASBRIDGE_EXCLUDED_ACCOUNTS: z
    .string()
    .default('')
    .transform((v) =>
      v
        .split(',')
        .map((id) => id.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.string().regex(/^\d{12}$/, 'each excluded account must be a 12-digit account id'))),
});

export interface Config {
  region: string;
  memberRoleName: string;
  externalId: string;
  fallbackRoleName: string | undefined;
  sessionSeconds: number;
  userName: string;
  userPath: string;
  policyName: string;
  allowPutBucketAcl: boolean;
  keyMaxAgeDays: number;
  secretPrefix: string;
  secretsKmsKeyId: string | undefined;
  trailName: string;
  logBucket: string;
  trailPrefix: string;
  organizationTrail: 'skip' | 'create';
  topicArn: string;
  webhookUrl: string | undefined;
  webhookSecretArn: string | undefined;
  ledgerTable: string;
  reportsBucket: string | undefined;
  leaseSeconds: number;
  maxConcurrency: number;
  excludedAccounts: readonly string[];
}

/** Parses configuration from an environment; throws ConfigurationError naming every bad variable. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ConfigurationError(`Invalid casbridge configuration: ${problems}`);
  }
  const e = parsed.data;
  if (e.CASBRIDGE_WEBHOOK_URL && !e.CASBRIDGE_WEBHOOK_SECRET_ARN) {
    throw new ConfigurationError(
      'Invalid casbridge configuration: CASBRIDGE_WEBHOOK_URL needs CASBRIDGE_WEBHOOK_SECRET_ARN to sign its requests',
    );
  }
  return Object.freeze({
    region: e.AWS_REGION,
    memberRoleName: e.CASBRIDGE_MEMBER_ROLE_NAME,
    externalId: e.CASBRIDGE_EXTERNAL_ID,
    fallbackRoleName: e.CASBRIDGE_FALLBACK_ROLE_NAME,
    sessionSeconds: e.CASBRIDGE_SESSION_SECONDS,
    userName: e.CASBRIDGE_USER_NAME,
    userPath: e.CASBRIDGE_USER_PATH,
    policyName: e.CASBRIDGE_POLICY_NAME,
    allowPutBucketAcl: e.CASBRIDGE_ALLOW_PUT_BUCKET_ACL,
    keyMaxAgeDays: e.CASBRIDGE_KEY_MAX_AGE_DAYS,
    secretPrefix: e.CASBRIDGE_SECRET_PREFIX,
    secretsKmsKeyId: e.CASBRIDGE_SECRETS_KMS_KEY_ID,
    trailName: e.CASBRIDGE_TRAIL_NAME,
    logBucket: e.CASBRIDGE_LOG_BUCKET,
    trailPrefix: e.CASBRIDGE_TRAIL_PREFIX,
    organizationTrail: e.CASBRIDGE_ORG_TRAIL,
    topicArn: e.CASBRIDGE_TOPIC_ARN,
    webhookUrl: e.CASBRIDGE_WEBHOOK_URL,
    webhookSecretArn: e.CASBRIDGE_WEBHOOK_SECRET_ARN,
    ledgerTable: e.CASBRIDGE_LEDGER_TABLE,
    reportsBucket: e.CASBRIDGE_REPORTS_BUCKET,
    leaseSeconds: e.CASBRIDGE_LEASE_SECONDS,
    maxConcurrency: e.CASBRIDGE_MAX_CONCURRENCY,
    excludedAccounts: Object.freeze([...new Set(e.CASBRIDGE_EXCLUDED_ACCOUNTS)]),
  });
}

let cached: Config | undefined;

/** The process's configuration, read once at first use. */
export function getConfig(): Config {
  cached ??= loadConfig(process.env);
  return cached;
}

// ---------------------------------------------------------------- names derived from configuration

export function connectorUserArn(config: Config, accountId: string): string {
  return `arn:aws:iam::${accountId}:user${config.userPath}${config.userName}`;
}

export function connectorPolicyArn(config: Config, accountId: string): string {
  return `arn:aws:iam::${accountId}:policy${config.userPath}${config.policyName}`;
}

export function memberRoleArn(config: Config, accountId: string, roleName = config.memberRoleName): string {
  return `arn:aws:iam::${accountId}:role/${roleName}`;
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
 * For local runs only (`casbridge run --local`, the demo): the role the CLI acts as, as Lambda
 * would, because the member role trusts only casbridge's task roles.
 */
export function localRoleArn(env: Record<string, string | undefined> = process.env): string | undefined {
  const arn = env.CASBRIDGE_LOCAL_ROLE_ARN;
  return arn?.startsWith('arn:') ? arn : undefined;
}

/**
 * The deployed state machine `casbridge run` starts (the stack's StateMachineArn output; the
 * sandbox exports its own).
 */
export function stateMachineArn(env: Record<string, string | undefined> = process.env): string | undefined {
  const arn = env.CASBRIDGE_STATE_MACHINE_ARN;
  return arn?.startsWith('arn:') ? arn : undefined;
}
