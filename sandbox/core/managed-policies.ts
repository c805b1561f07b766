import type { Partition } from '../../commons/partition';
import { PARTITION_PATTERN } from './arn';
import type { PolicyDocument } from './world';

/**
 * The AWS managed policies the sandbox's seeded principals use. Their ARNs are AWS's; their
 * documents are trimmed to what matters here (the real ReadOnlyAccess lists hundreds of services).
 */
const BY_NAME: ReadonlyMap<string, { name: string; document: PolicyDocument }> = new Map([
  [
    'AdministratorAccess',
    {
      name: 'AdministratorAccess',
      document: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] },
    },
  ],
  [
    'ReadOnlyAccess',
    {
      name: 'ReadOnlyAccess',
      document: {
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Action: [
              'iam:Get*',
              'iam:List*',
              'organizations:Describe*',
              'organizations:List*',
              'cloudtrail:Describe*',
              'cloudtrail:Get*',
              'cloudtrail:List*',
              'cloudtrail:LookupEvents',
              's3:Get*',
              's3:List*',
              'sns:Get*',
              'sns:List*',
              'secretsmanager:Describe*',
              'secretsmanager:List*',
              'dynamodb:Describe*',
              'dynamodb:Get*',
              'dynamodb:Scan',
              'dynamodb:Query',
            ],
            Resource: '*',
          },
        ],
      },
    },
  ],
]);

/** AWS's managed policies are the same in every partition; only their ARNs name it. */
const MANAGED_POLICY_ARN = new RegExp(`^arn:${PARTITION_PATTERN}:iam::aws:policy/(.+)$`);

/**
 * AWS's managed policies by ARN. Every partition has them under its own ARN
 * (`arn:aws-us-gov:iam::aws:policy/ReadOnlyAccess` in GovCloud), so the lookup accepts any.
 */
export const AWS_MANAGED_POLICIES = {
  get(arn: string): { name: string; document: PolicyDocument } | undefined {
    const name = MANAGED_POLICY_ARN.exec(arn)?.[1];
    return name === undefined ? undefined : BY_NAME.get(name);
  },
  /** Every one of them with its ARN in the partition given. */
  inPartition(partition: Partition): [string, { name: string; document: PolicyDocument }][] {
    return [...BY_NAME].map(([name, managed]) => [`arn:${partition}:iam::aws:policy/${name}`, managed]);
  },
};

export const FULL_AWS_ACCESS_SCP: PolicyDocument = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }],
};
