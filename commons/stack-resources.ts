import { type Partition, partitionOf } from './partition';
/**
 * What a deployed casbridge stack creates in the central account, named as the stack names it.
 * The sandbox seeds exactly these so the product runs against it unchanged; keep this the one
 * place that follows the stack's resources. `serverless.yml` writes the same names, and
 * test/stack/template.test.ts checks the packaged template against the functions below.
 *
 * The naming pattern:
 * - the organization's data, one set per account and Region whatever the stage (casbridge runs
 *   once per organization; its ledger, secrets and logs outlive any deployment):
 *   `casbridge-ledger`, `casbridge-handoff`, `casbridge-reports-<account>-<region>`,
 *   `casbridge-trail-logs-<account>-<region>`, `alias/casbridge-secrets`;
 * - the deployment: the state machine `casbridge-<stage>`, and per function
 *   `casbridge-<stage>-<function>` (the function, by the framework, and its role). Every role
 *   starts with `casbridge-`: the member role trusts only those.
 */
export interface StackResources {
  accountId: string;
  region: string;
  reportsBucket: string;
  logBucket: string;
  ledgerTable: string;
  topicName: string;
  topicArn: string;
  secretsKmsKeyArn: string;
  secretsKmsKeyAlias: string;
  externalId: string;
  /**
   * The deployment's state machine (`stateMachineName(SANDBOX_STAGE)`): the sandbox's Step
   * Functions runs it with the real handlers; the stack's `StateMachineArn` output on AWS.
   */
  stateMachineArn: string;
}

export const DEFAULT_EXTERNAL_ID = 'casbridge-sandbox-external-id';

/** The stage the sandbox's stack stands for: serverless.yml's default (`--stage` unset). */
export const SANDBOX_STAGE = 'dev';

/** Prefix of every casbridge name in the central account. */
export const NAME_PREFIX = 'casbridge';
/** The trail's key prefix in the log bucket when not configured (CASBRIDGE_TRAIL_PREFIX). */
export const DEFAULT_TRAIL_PREFIX = 'casbridge';

export function stackResources(accountId: string, region: string): StackResources {
  const topicName = `${NAME_PREFIX}-handoff`;
  const partition = partitionOf(region);
  return {
    accountId,
    region,
    reportsBucket: `${NAME_PREFIX}-reports-${accountId}-${region}`,
    logBucket: `${NAME_PREFIX}-trail-logs-${accountId}-${region}`,
    ledgerTable: `${NAME_PREFIX}-ledger`,
    topicName,
    topicArn: `arn:${partition}:sns:${region}:${accountId}:${topicName}`,
    // A deployed key's id is AWS's choice; the sandbox fixes one.
    secretsKmsKeyArn: `arn:${partition}:kms:${region}:${accountId}:key/6f1c2d3e-0000-4000-8000-casbridge0001`,
    secretsKmsKeyAlias: `alias/${NAME_PREFIX}-secrets`,
    externalId: DEFAULT_EXTERNAL_ID,
    stateMachineArn: `arn:${partition}:states:${region}:${accountId}:stateMachine:${stateMachineName(SANDBOX_STAGE)}`,
  };
}

/** The deployment's state machine. */
export function stateMachineName(stage: string): string {
  return `${NAME_PREFIX}-${stage}`;
}

/** A function's role in the deployed stack (`functionName` is its key in serverless.yml). */
export function functionRoleName(stage: string, functionName: string): string {
  return `${NAME_PREFIX}-${stage}-${functionName}`;
}

/** A function of the deployed stack, as Lambda names it (`functionKey` is its key in serverless.yml). */
export function lambdaFunctionName(stage: string, functionKey: string): string {
  return `${NAME_PREFIX}-${stage}-${functionKey}`;
}

/** The trail's name when not configured (CASBRIDGE_TRAIL_NAME). */
export const DEFAULT_TRAIL_NAME = 'casbridge';

/**
 * The central log bucket's policy: CloudTrail may write for any account of the organization
 * (`aws:SourceOrgID`), so a new account needs no policy edit and concurrent onboardings never race
 * on the policy; but each account's casbridge trail (`aws:SourceArn`) only under that account's own
 * prefix, `<trailPrefix>/<account>/AWSLogs/<account>/`. `${aws:SourceAccount}` is an IAM policy
 * variable (a global condition key, resolved per request), not a template placeholder.
 *
 * With `organizationTrailOwner` (the stack's account and Region, as the stack always has it),
 * also casbridge's organization trail (CASBRIDGE_TRAIL_MODE=organization), that trail's ARN only:
 * CloudTrail writes every member's files under `<trailPrefix>/AWSLogs/<org-id>/` and the
 * management account's under `<trailPrefix>/AWSLogs/<account>/`, where they go should the trail
 * ever stop being an organization trail (AWS's documented organization trail policy).
 */
export function logBucketPolicy(
  bucket: string,
  organizationId: string,
  trailPrefix: string = DEFAULT_TRAIL_PREFIX,
  partition: Partition = 'aws',
  trailName: string = DEFAULT_TRAIL_NAME,
  organizationTrailOwner?: { accountId: string; region: string },
): Record<string, unknown> {
  const casbridgeTrails = `arn:${partition}:cloudtrail:*:\${aws:SourceAccount}:trail/${trailName}`;
  const statements: Record<string, unknown>[] = [
    {
      Sid: 'CloudTrailAclCheck',
      Effect: 'Allow',
      Principal: { Service: 'cloudtrail.amazonaws.com' },
      Action: 's3:GetBucketAcl',
      Resource: `arn:${partition}:s3:::${bucket}`,
      Condition: {
        StringEquals: { 'aws:SourceOrgID': organizationId },
        StringLike: { 'aws:SourceArn': casbridgeTrails },
      },
    },
    {
      Sid: 'CloudTrailWrite',
      Effect: 'Allow',
      Principal: { Service: 'cloudtrail.amazonaws.com' },
      Action: 's3:PutObject',
      Resource: `arn:${partition}:s3:::${bucket}/${trailPrefix}/\${aws:SourceAccount}/AWSLogs/\${aws:SourceAccount}/*`,
      Condition: {
        StringEquals: { 's3:x-amz-acl': 'bucket-owner-full-control', 'aws:SourceOrgID': organizationId },
        StringLike: { 'aws:SourceArn': casbridgeTrails },
      },
    },
  ];
  if (organizationTrailOwner) {
    const { accountId, region } = organizationTrailOwner;
    const organizationTrail = `arn:${partition}:cloudtrail:${region}:${accountId}:trail/${trailName}${ORGANIZATION_TRAIL_SUFFIX}`;
    statements.push(
      {
        Sid: 'OrganizationTrailAclCheck',
        Effect: 'Allow',
        Principal: { Service: 'cloudtrail.amazonaws.com' },
        Action: 's3:GetBucketAcl',
        Resource: `arn:${partition}:s3:::${bucket}`,
        Condition: { StringEquals: { 'aws:SourceArn': organizationTrail } },
      },
      {
        Sid: 'OrganizationTrailWrite',
        Effect: 'Allow',
        Principal: { Service: 'cloudtrail.amazonaws.com' },
        Action: 's3:PutObject',
        Resource: [
          `arn:${partition}:s3:::${bucket}/${trailPrefix}/AWSLogs/${accountId}/*`,
          `arn:${partition}:s3:::${bucket}/${trailPrefix}/AWSLogs/${organizationId}/*`,
        ],
        Condition: {
          StringEquals: { 's3:x-amz-acl': 'bucket-owner-full-control', 'aws:SourceArn': organizationTrail },
        },
      },
    );
  }
  return { Version: '2012-10-17', Statement: statements };
}

/** The organization trail's name is the trail's with this suffix (commons/config.ts organizationTrailName). */
export const ORGANIZATION_TRAIL_SUFFIX = '-organization';
