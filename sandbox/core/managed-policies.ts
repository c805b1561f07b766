import type { PolicyDocument } from '../core/world';

/**
 * The AWS managed policies the sandbox's seeded principals use. Their ARNs are AWS's; their
 * documents are trimmed to what matters here (the real ReadOnlyAccess lists hundreds of services).
 */
export const AWS_MANAGED_POLICIES: ReadonlyMap<string, { name: string; document: PolicyDocument }> = new Map([
  [
    'arn:aws:iam::aws:policy/AdministratorAccess',
    {
      name: 'AdministratorAccess',
      document: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] },
    },
  ],
  [
    'arn:aws:iam::aws:policy/ReadOnlyAccess',
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

export const FULL_AWS_ACCESS_SCP: PolicyDocument = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }],
};
