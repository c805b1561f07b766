/**
 * What a deployed casbridge stack creates in the central account, named as the stack names it.
 * The sandbox seeds exactly these so the product runs against it unchanged; keep this the one
 * place that follows the stack's resources.
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
  /** Role the product's tasks run as; the member role trusts roles with this prefix. */
  taskRoleName: string;
  taskRoleArn: string;
  externalId: string;
}

export const DEFAULT_EXTERNAL_ID = 'casbridge-sandbox-external-id';

export function stackResources(accountId: string, region: string): StackResources {
  return {
    accountId,
    region,
    reportsBucket: `casbridge-reports-${accountId}-${region}`,
    logBucket: `casbridge-trail-logs-${accountId}-${region}`,
    ledgerTable: 'casbridge-ledger',
    topicName: 'casbridge-handoff',
    topicArn: `arn:aws:sns:${region}:${accountId}:casbridge-handoff`,
    secretsKmsKeyArn: `arn:aws:kms:${region}:${accountId}:key/6f1c2d3e-0000-4000-8000-casbridge0001`,
    taskRoleName: 'casbridge-tasks',
    taskRoleArn: `arn:aws:iam::${accountId}:role/casbridge-tasks`,
    externalId: DEFAULT_EXTERNAL_ID,
  };
}

/**
 * The central log bucket's policy: CloudTrail may write for any account of the organization
 * (`aws:SourceOrgID`), so a new account needs no policy edit and concurrent onboardings never race
 * on the policy.
 */
export function logBucketPolicy(bucket: string, organizationId: string): Record<string, unknown> {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'CloudTrailAclCheck',
        Effect: 'Allow',
        Principal: { Service: 'cloudtrail.amazonaws.com' },
        Action: 's3:GetBucketAcl',
        Resource: `arn:aws:s3:::${bucket}`,
        Condition: { StringEquals: { 'aws:SourceOrgID': organizationId } },
      },
      {
        Sid: 'CloudTrailWrite',
        Effect: 'Allow',
        Principal: { Service: 'cloudtrail.amazonaws.com' },
        Action: 's3:PutObject',
        Resource: `arn:aws:s3:::${bucket}/casbridge/*/AWSLogs/*`,
        Condition: {
          StringEquals: { 's3:x-amz-acl': 'bucket-owner-full-control', 'aws:SourceOrgID': organizationId },
        },
      },
    ],
  };
}
