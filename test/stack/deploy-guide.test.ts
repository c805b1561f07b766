import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  evaluateCondition,
  readTemplate,
  resolveIntrinsics,
  templateScope,
} from '../../sandbox/scenario/cloudformation';
import { Resolver, type Resource, type Statement, type Template } from './cloudformation';

/**
 * What the README's deploy guide hands a user: the deployers' IAM policies
 * (docs/deploy-permissions/*.json) against every resource type of what they deploy, and the
 * delegated administrator's templates against the stack they serve. The stack is packaged with
 * every optional parameter set, so each resource type a parameter can add is in it.
 */
const { packageCopy } = require('../../scripts/package/package-copy.cjs') as {
  packageCopy: (options: { out: string; region?: string; params?: Record<string, string> }) => {
    status: number | null;
    stdout: string;
    stderr: string;
  };
};
const { ALL_OPTIONAL_PARAMETERS } = require('../../scripts/package/optional-parameters.cjs') as {
  ALL_OPTIONAL_PARAMETERS: Record<string, string>;
};

const ROOT = path.resolve(__dirname, '../..');
const ACCOUNT = '999988887777';
const MANAGEMENT = '111111111111';
const REGION = 'us-east-1';

interface PolicyDocument {
  Statement: Statement[];
}
const policy = (name: string): PolicyDocument =>
  JSON.parse(readFileSync(path.join(ROOT, 'docs/deploy-permissions', name), 'utf8'));
const template = (name: string) => readTemplate(path.join(ROOT, 'templates', name)) as unknown as Template;
/** A template of templates/ resolved as CloudFormation deploys it with these parameters. */
function deployed(name: string, parameters: Record<string, string>, account: string, region = REGION) {
  const raw = readTemplate(path.join(ROOT, 'templates', name));
  const scope = templateScope(raw, parameters, { accountId: account, region });
  return {
    resource: <T>(logicalId: string) =>
      resolveIntrinsics((raw.Resources as Record<string, Resource>)[logicalId]?.Properties, scope) as T,
    condition: (condition: string) => evaluateCondition(condition, scope),
  };
}
const ORGANIZATION = 'o-abcd1234ef';

/** What a deployment needs on one resource (an ARN of the shape CloudFormation gives it, or `*`). */
type Need = [resource: string, ...actions: string[]];

const arn = (service: string, rest: string, region = REGION, account = ACCOUNT) =>
  `arn:aws:${service}:${region}:${account}:${rest}`;
const stackNeeds = (account: string): Need => [
  arn('cloudformation', 'stack/casbridge-prod/0a1b2c3d-0000-4000-8000-000000000000', REGION, account),
  'cloudformation:CreateStack',
  'cloudformation:UpdateStack',
  'cloudformation:DeleteStack',
  'cloudformation:DescribeStacks',
  'cloudformation:DescribeStackEvents',
  'cloudformation:DescribeStackResources',
  'cloudformation:GetTemplate',
  'cloudformation:CreateChangeSet',
  'cloudformation:DescribeChangeSet',
  'cloudformation:ExecuteChangeSet',
  'cloudformation:DeleteChangeSet',
];
const ROLE = (name: string, account = ACCOUNT) => `arn:aws:iam::${account}:role/${name}`;

/**
 * Per resource type, the calls CloudFormation makes to create, update, tag and delete it (AWS's
 * resource type schemas' handler permissions, trimmed to the properties casbridge's templates
 * set). A type missing here fails the test: whoever adds it says what deploying it needs.
 */
const NEEDS: Record<string, (account: string) => Need[]> = {
  'AWS::S3::Bucket': () => [
    [
      'arn:aws:s3:::casbridge-reports-999988887777-us-east-1',
      's3:CreateBucket',
      's3:DeleteBucket',
      's3:PutEncryptionConfiguration',
      's3:PutBucketPublicAccessBlock',
      's3:PutBucketVersioning',
      's3:PutBucketOwnershipControls',
      's3:PutLifecycleConfiguration',
      's3:PutBucketTagging',
    ],
  ],
  'AWS::S3::BucketPolicy': () => [
    [
      'arn:aws:s3:::casbridge-trail-logs-999988887777-us-east-1',
      's3:GetBucketPolicy',
      's3:PutBucketPolicy',
      's3:DeleteBucketPolicy',
    ],
  ],
  'AWS::Logs::LogGroup': () => [
    [
      arn('logs', 'log-group:/aws/lambda/casbridge-prod-resolve-targets'),
      'logs:CreateLogGroup',
      'logs:DeleteLogGroup',
      'logs:PutRetentionPolicy',
      'logs:TagResource',
    ],
    ['*', 'logs:DescribeLogGroups'],
  ],
  'AWS::Lambda::Function': () => [
    [
      arn('lambda', 'function:casbridge-prod-resolve-targets'),
      'lambda:CreateFunction',
      'lambda:DeleteFunction',
      'lambda:GetFunction',
      'lambda:UpdateFunctionCode',
      'lambda:UpdateFunctionConfiguration',
      'lambda:TagResource',
      'lambda:ListTags',
    ],
    [ROLE('casbridge-prod-resolve-targets'), 'iam:PassRole'],
  ],
  'AWS::StepFunctions::StateMachine': () => [
    [
      arn('states', 'stateMachine:casbridge-prod'),
      'states:CreateStateMachine',
      'states:UpdateStateMachine',
      'states:DeleteStateMachine',
      'states:DescribeStateMachine',
      'states:TagResource',
    ],
    [ROLE('casbridge-prod-state-machine'), 'iam:PassRole'],
  ],
  'AWS::DynamoDB::Table': () => [
    [
      arn('dynamodb', 'table/casbridge-ledger'),
      'dynamodb:CreateTable',
      'dynamodb:UpdateTable',
      'dynamodb:DeleteTable',
      'dynamodb:DescribeTable',
      'dynamodb:UpdateContinuousBackups',
      'dynamodb:DescribeContinuousBackups',
      'dynamodb:UpdateTimeToLive',
      'dynamodb:DescribeTimeToLive',
      'dynamodb:TagResource',
    ],
  ],
  'AWS::SNS::Topic': () => [
    [
      arn('sns', 'casbridge-handoff'),
      'sns:CreateTopic',
      'sns:DeleteTopic',
      'sns:GetTopicAttributes',
      'sns:SetTopicAttributes',
      'sns:TagResource',
    ],
  ],
  // The key is retained (DeletionPolicy): nothing may schedule its deletion or disable it.
  'AWS::KMS::Key': () => [
    ['*', 'kms:CreateKey'],
    [
      arn('kms', 'key/00000000-0000-4000-8000-000000000000'),
      'kms:DescribeKey',
      'kms:PutKeyPolicy',
      'kms:GetKeyPolicy',
      'kms:EnableKeyRotation',
      'kms:GetKeyRotationStatus',
      'kms:TagResource',
    ],
  ],
  'AWS::KMS::Alias': () => [
    [arn('kms', 'alias/casbridge-secrets'), 'kms:CreateAlias', 'kms:UpdateAlias', 'kms:DeleteAlias'],
    [
      arn('kms', 'key/00000000-0000-4000-8000-000000000000'),
      'kms:CreateAlias',
      'kms:UpdateAlias',
      'kms:DeleteAlias',
    ],
  ],
  'AWS::IAM::Role': (account) => [
    [
      // Named by casbridge (casbridge-<stage>-…) or by CloudFormation after the stack (casbridge-…).
      ROLE('casbridge-event-forwarding-ForwardRole-AbCdEf012345', account),
      'iam:CreateRole',
      'iam:DeleteRole',
      'iam:GetRole',
      'iam:UpdateAssumeRolePolicy',
      'iam:PutRolePolicy',
      'iam:GetRolePolicy',
      'iam:DeleteRolePolicy',
      'iam:TagRole',
    ],
  ],
  'AWS::Events::Rule': (account) => [
    [
      arn('events', 'rule/casbridge-prod-account-created', REGION, account),
      'events:PutRule',
      'events:DeleteRule',
      'events:DescribeRule',
      'events:PutTargets',
      'events:RemoveTargets',
      'events:ListTargetsByRule',
    ],
    [ROLE('casbridge-prod-events', account), 'iam:PassRole'],
  ],
  'AWS::Events::EventBusPolicy': () => [
    [
      arn('events', 'event-bus/default'),
      'events:PutPermission',
      'events:RemovePermission',
      'events:DescribeEventBus',
    ],
  ],
  'AWS::SQS::Queue': () => [
    [
      arn('sqs', 'casbridge-prod-events-dlq'),
      'sqs:CreateQueue',
      'sqs:DeleteQueue',
      'sqs:GetQueueAttributes',
      'sqs:SetQueueAttributes',
      'sqs:TagQueue',
    ],
  ],
  'AWS::SQS::QueuePolicy': () => [[arn('sqs', 'casbridge-prod-events-dlq'), 'sqs:SetQueueAttributes']],
  'AWS::Organizations::ResourcePolicy': () => [
    [
      '*',
      'organizations:PutResourcePolicy',
      'organizations:DescribeResourcePolicy',
      'organizations:DeleteResourcePolicy',
      'organizations:TagResource',
    ],
  ],
};

/** What every deployment of a stack needs, whatever it holds. */
const CASBRIDGE_BASE: Need[] = [
  stackNeeds(ACCOUNT),
  ['*', 'cloudformation:ValidateTemplate'],
  // osls uploads the functions' zips and the template to its deployment bucket, and prunes them.
  ['arn:aws:s3:::casbridge-prod-serverlessdeploymentbucket-abc123', 's3:ListBucket', 's3:GetBucketLocation'],
  [
    'arn:aws:s3:::casbridge-prod-serverlessdeploymentbucket-abc123/serverless/casbridge/prod/1/x.zip',
    's3:PutObject',
    's3:GetObject',
    's3:DeleteObject',
  ],
];
const MANAGEMENT_BASE: Need[] = [
  stackNeeds(MANAGEMENT),
  ['*', 'cloudformation:ValidateTemplate'],
  // Trusted access for StackSets (once per organization), and the optional delegation.
  [
    '*',
    'cloudformation:ActivateOrganizationsAccess',
    'cloudformation:DescribeOrganizationsAccess',
    'organizations:EnableAWSServiceAccess',
  ],
  ['*', 'organizations:RegisterDelegatedAdministrator', 'organizations:ListDelegatedAdministrators'],
  [
    `arn:aws:iam::${MANAGEMENT}:role/aws-service-role/stacksets.cloudformation.amazonaws.com/AWSServiceRoleForCloudFormationStackSetsOrgAdmin`,
    'iam:CreateServiceLinkedRole',
  ],
  // The member role's template is deployed by StackSets into the members, never by the deployer.
  [
    `arn:aws:cloudformation:${REGION}:${MANAGEMENT}:stackset/casbridge-member-role:0a1b2c3d-0000-4000-8000-000000000000`,
    'cloudformation:CreateStackSet',
    'cloudformation:UpdateStackSet',
    'cloudformation:DeleteStackSet',
    'cloudformation:DescribeStackSet',
    'cloudformation:CreateStackInstances',
    'cloudformation:DeleteStackInstances',
    'cloudformation:DescribeStackSetOperation',
  ],
  [
    `arn:aws:cloudformation:${REGION}:${MANAGEMENT}:stackset-target/casbridge-member-role:0a1b2c3d-0000-4000-8000-000000000000/ou-ab12-3cd45ef6`,
    'cloudformation:CreateStackInstances',
    'cloudformation:DeleteStackInstances',
  ],
  [`arn:aws:cloudformation:${REGION}::type/resource/AWS-IAM-Role`, 'cloudformation:CreateStackInstances'],
];

/** IAM's wildcard matching: `*` any run of characters, `?` one; actions case-insensitively. */
function glob(pattern: string, value: string, ignoreCase: boolean): boolean {
  const source = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${source}$`, ignoreCase ? 'i' : '').test(value);
}
const list = (v: string | string[]) => (Array.isArray(v) ? v : [v]);

/**
 * Whether some Allow statement names the action on the resource. Conditions are not evaluated:
 * they narrow a grant (PassRole to a service), and CloudFormation's calls meet them.
 */
function allows(doc: PolicyDocument, action: string, resource: string): boolean {
  return doc.Statement.some(
    (s) =>
      s.Effect === 'Allow' &&
      list(s.Action).some((a) => glob(a, action, true)) &&
      list(s.Resource).some((r) => (resource === '*' ? r === '*' : glob(r, resource, false))),
  );
}

function missing(doc: PolicyDocument, needs: Need[]): string[] {
  return needs.flatMap(([resource, ...actions]) =>
    actions.filter((a) => !allows(doc, a, resource)).map((a) => `${a} on ${resource}`),
  );
}

/** Granted actions no need names: the policy would be wider than a deployment calls for. */
function unneeded(doc: PolicyDocument, needs: Need[]): string[] {
  const named = new Set(needs.flatMap(([, ...actions]) => actions.map((a) => a.toLowerCase())));
  return doc.Statement.flatMap((s) => list(s.Action)).filter((a) => !named.has(a.toLowerCase()));
}

const typesOf = (...templates: Template[]) =>
  [...new Set(templates.flatMap((t) => Object.values(t.Resources).map((r) => r.Type)))].sort();

/** The reads and writes osls and CloudFormation make beyond one resource's handlers. */
const EXTRA_CASBRIDGE_ACTIONS: Need[] = [
  [
    '*',
    'cloudformation:DescribeStackResource',
    'cloudformation:ListStackResources',
    's3:GetEncryptionConfiguration',
    's3:GetBucketPublicAccessBlock',
    's3:GetBucketVersioning',
    's3:GetBucketOwnershipControls',
    's3:GetLifecycleConfiguration',
    's3:GetBucketTagging',
    'logs:DeleteRetentionPolicy',
    'logs:UntagResource',
    'lambda:GetFunctionConfiguration',
    'lambda:ListVersionsByFunction',
    'lambda:PublishVersion',
    'lambda:UntagResource',
    'states:UntagResource',
    'states:ListTagsForResource',
    'dynamodb:UntagResource',
    'dynamodb:ListTagsOfResource',
    'sns:UntagResource',
    'sns:ListTagsForResource',
    'kms:UntagResource',
    'kms:ListResourceTags',
    'iam:UpdateRole',
    'iam:UpdateRoleDescription',
    'iam:ListRolePolicies',
    'iam:AttachRolePolicy',
    'iam:DetachRolePolicy',
    'iam:ListAttachedRolePolicies',
    'iam:UntagRole',
    'events:EnableRule',
    'events:DisableRule',
    'events:TagResource',
    'events:UntagResource',
    'sqs:GetQueueUrl',
    'sqs:UntagQueue',
    'sqs:ListQueueTags',
  ],
];
const EXTRA_MANAGEMENT_ACTIONS: Need[] = [
  [
    '*',
    'organizations:ListAWSServiceAccessForOrganization',
    'organizations:DescribeOrganization',
    'organizations:DeregisterDelegatedAdministrator',
    'organizations:UntagResource',
    'organizations:ListTagsForResource',
    'cloudformation:UpdateStackInstances',
    'cloudformation:ListStackInstances',
    'cloudformation:ListStackSetOperations',
    'cloudformation:ListStackSetOperationResults',
    'iam:UpdateRoleDescription',
    'iam:UntagRole',
    'events:TagResource',
    'events:UntagResource',
  ],
];

describe('the deploy guide', () => {
  let dir: string;
  let stack: Template;
  let created: Template;
  let cfn: Resolver;

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'casbridge-deploy-guide-'));
    const out = path.join(dir, 'all');
    const run = packageCopy({ out, region: REGION, params: ALL_OPTIONAL_PARAMETERS });
    if (run.status !== 0) throw new Error(`packaging failed:\n${run.stdout}${run.stderr}`);
    stack = JSON.parse(readFileSync(path.join(out, 'cloudformation-template-update-stack.json'), 'utf8'));
    created = JSON.parse(readFileSync(path.join(out, 'cloudformation-template-create-stack.json'), 'utf8'));
    cfn = new Resolver(stack, ACCOUNT, REGION);
  }, 300_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  describe('deploy permissions', () => {
    it("let the casbridge account's deployer create, update and delete every resource type of the packaged stack and of the bus policy template", () => {
      // Guards: a deployment that stops halfway with AccessDenied because a resource type (a new
      // optional queue, a bucket policy) was added to the stack and not to the deployer's policy.
      const types = typesOf(stack, created, template('event-bus-policy.yml'));
      expect(types.filter((t) => !NEEDS[t])).toEqual([]);
      const needs = [...CASBRIDGE_BASE, ...types.flatMap((t) => NEEDS[t]?.(ACCOUNT) ?? [])];
      expect(missing(policy('casbridge-account.json'), needs)).toEqual([]);
    });

    it("let the management account's deployer turn on trusted access, deploy the member-role StackSet and the delegation and forwarding stacks", () => {
      const types = typesOf(template('organizations-delegation.yml'), template('event-forwarding.yml'));
      expect(types.filter((t) => !NEEDS[t])).toEqual([]);
      const needs = [...MANAGEMENT_BASE, ...types.flatMap((t) => NEEDS[t]?.(MANAGEMENT) ?? [])];
      expect(missing(policy('management-account.json'), needs)).toEqual([]);
      // No IAM user, group or managed policy: the member role's resources are StackSets' to create.
      const memberTypes = typesOf(template('member-role.yml'));
      expect(memberTypes).toEqual(['AWS::IAM::Group', 'AWS::IAM::ManagedPolicy', 'AWS::IAM::Role']);
      expect(policy('management-account.json').Statement.flatMap((s) => list(s.Action))).not.toContain(
        'iam:CreatePolicy',
      );
    });

    it('grant no action a deployment does not call, never a whole service, and deletion of no KMS key', () => {
      // Guards: a deployer's policy that grows by copy-paste into an administrator's.
      const casbridge = policy('casbridge-account.json');
      const management = policy('management-account.json');
      expect(
        unneeded(casbridge, [
          ...CASBRIDGE_BASE,
          ...EXTRA_CASBRIDGE_ACTIONS,
          ...Object.values(NEEDS).flatMap((n) => n(ACCOUNT)),
        ]),
      ).toEqual([]);
      expect(
        unneeded(management, [
          ...MANAGEMENT_BASE,
          ...EXTRA_MANAGEMENT_ACTIONS,
          ...Object.values(NEEDS).flatMap((n) => n(MANAGEMENT)),
        ]),
      ).toEqual([]);
      const actions = [...casbridge.Statement, ...management.Statement].flatMap((s) => list(s.Action));
      expect(actions.filter((a) => a.includes('*'))).toEqual([]);
      expect(
        allows(casbridge, 'kms:ScheduleKeyDeletion', arn('kms', 'key/00000000-0000-4000-8000-000000000000')),
      ).toBe(false);
      expect(allows(casbridge, 'iam:CreateRole', ROLE('OrganizationAccountAccessRole'))).toBe(false);
      expect(allows(casbridge, 'lambda:CreateFunction', arn('lambda', 'function:someone-else'))).toBe(false);
    });
  });

  describe('the delegated administrator templates', () => {
    const grantedOrganizationsReads = () =>
      Object.values(stack.Resources)
        .filter((r: Resource) => r.Type === 'AWS::IAM::Role')
        .flatMap((role) =>
          cfn
            .resolve<{ PolicyDocument: { Statement: Statement[] } }[]>(role.Properties.Policies ?? [])
            .flatMap((p) => p.PolicyDocument.Statement),
        )
        .flatMap((s) => list(s.Action))
        .filter((a) => a.startsWith('organizations:'));

    it("delegate exactly the Organizations reads casbridge's functions make, except the organization trail's (management account only)", () => {
      // Guards: a delegated casbridge whose ResolveTargets is refused a call the management
      // account's deployment makes freely, and a delegation wider than casbridge reads.
      const content = deployed(
        'organizations-delegation.yml',
        { CasbridgeAccountId: ACCOUNT },
        MANAGEMENT,
      ).resource<{ Content: { Statement: Statement[] } }>('OrganizationsReadDelegation').Content;
      const [statement] = content.Statement;
      expect(content.Statement).toHaveLength(1);
      expect(statement).toMatchObject({
        Effect: 'Allow',
        Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` },
      });
      const reads = [...new Set(grantedOrganizationsReads())]
        .filter((a) => a !== 'organizations:ListAWSServiceAccessForOrganization')
        .sort();
      expect([...list(statement?.Action ?? [])].sort()).toEqual(reads);
    });

    it("forward exactly the lifecycle events casbridge's rules match, each source from its own Region, with a role", () => {
      // Guards: a lifecycle rule added to the stack (a new event name) whose events never reach
      // a delegated casbridge, because the management account does not forward them.
      const matched: Record<string, Set<string>> = {};
      for (const r of Object.values(stack.Resources).filter((x) => x.Type === 'AWS::Events::Rule')) {
        const pattern = r.Properties.EventPattern as
          | { source?: string[]; detail?: { eventName?: string[] } }
          | undefined;
        for (const source of pattern?.source ?? []) {
          matched[source] ??= new Set();
          for (const name of pattern?.detail?.eventName ?? []) matched[source].add(name);
        }
      }
      const forwarding = template('event-forwarding.yml');
      const forwarded: Record<string, string[]> = {};
      const conditions: Record<string, string | undefined> = {};
      for (const rule of Object.values(forwarding.Resources).filter((x) => x.Type === 'AWS::Events::Rule')) {
        const pattern = rule.Properties.EventPattern as { source: string[]; detail: { eventName: string[] } };
        const [source] = pattern.source as [string];
        forwarded[source] = [...pattern.detail.eventName].sort();
        conditions[source] = rule.Condition;
        const [target] = rule.Properties.Targets as [{ Arn: unknown; RoleArn: unknown }];
        expect(target).toMatchObject({
          Arn: { Ref: 'CasbridgeBusArn' },
          RoleArn: { 'Fn::GetAtt': ['ForwardRole', 'Arn'] },
        });
      }
      expect(forwarded).toEqual(
        Object.fromEntries(Object.entries(matched).map(([source, names]) => [source, [...names].sort()])),
      );
      expect(conditions).toEqual({
        'aws.organizations': 'OrganizationsRegion',
        'aws.controltower': 'ControlTowerRegion',
      });
      const params = {
        CasbridgeBusArn: `arn:aws:events:eu-west-1:${ACCOUNT}:event-bus/default`,
        ControlTowerHomeRegion: 'eu-west-1',
      };
      const inUsEast1 = deployed('event-forwarding.yml', params, MANAGEMENT, 'us-east-1');
      const inEuWest1 = deployed('event-forwarding.yml', params, MANAGEMENT, 'eu-west-1');
      expect([inUsEast1.condition('OrganizationsRegion'), inUsEast1.condition('ControlTowerRegion')]).toEqual(
        [true, false],
      );
      expect([inEuWest1.condition('OrganizationsRegion'), inEuWest1.condition('ControlTowerRegion')]).toEqual(
        [false, true],
      );
      // The role may put events on casbridge's bus and nowhere else.
      const role = inUsEast1.resource<{ Policies: { PolicyDocument: { Statement: Statement[] } }[] }>(
        'ForwardRole',
      );
      expect(role.Policies.flatMap((p) => p.PolicyDocument.Statement)).toEqual([
        { Effect: 'Allow', Action: 'events:PutEvents', Resource: params.CasbridgeBusArn },
      ]);
    });

    it("admit to casbridge's bus only the management account, and only while it is the organization's", () => {
      const statement = deployed(
        'event-bus-policy.yml',
        { ManagementAccountId: MANAGEMENT, OrganizationId: ORGANIZATION },
        ACCOUNT,
      ).resource<{ Statement: Statement }>('ManagementAccountPutEvents').Statement;
      expect(statement).toMatchObject({
        Effect: 'Allow',
        Action: 'events:PutEvents',
        Resource: `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/default`,
        Principal: { AWS: `arn:aws:iam::${MANAGEMENT}:root` },
        Condition: { StringEquals: { 'aws:PrincipalOrgID': ORGANIZATION } },
      });
    });
  });
});
