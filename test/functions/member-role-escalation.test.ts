import {
  type CloudTrailClient,
  CreateTrailCommand,
  DeleteTrailCommand,
  PutEventSelectorsCommand,
  StopLoggingCommand,
  UpdateTrailCommand,
} from '@aws-sdk/client-cloudtrail';
import {
  AddUserToGroupCommand,
  AttachGroupPolicyCommand,
  AttachUserPolicyCommand,
  CreateAccessKeyCommand,
  CreateGroupCommand,
  CreateLoginProfileCommand,
  CreatePolicyCommand,
  CreatePolicyVersionCommand,
  CreateRoleCommand,
  CreateUserCommand,
  DeleteGroupCommand,
  DeleteGroupPolicyCommand,
  DeleteUserPermissionsBoundaryCommand,
  IAMClient,
  PutGroupPolicyCommand,
  PutUserPermissionsBoundaryCommand,
  PutUserPolicyCommand,
  SetDefaultPolicyVersionCommand,
  SimulatePrincipalPolicyCommand,
} from '@aws-sdk/client-iam';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { clientConfig } from '../../commons/aws-clients';
import {
  connectorBoundaryArn,
  connectorPolicyArn,
  connectorUserArn,
  memberRoleArn,
} from '../../commons/config';
import { ensurePolicy } from '../../functions/policy/ensure-policy';
import { ensureTrail } from '../../functions/trail/ensure-trail';
import { ensureUser } from '../../functions/user/ensure-user';
import { defaultAccountId } from '../../sandbox/scenario/default-scenario';
import { memberAccountClients } from '../support/member';
import { sandboxConfig } from '../support/product';
import { assumeRole, useSandbox } from '../support/sandbox';

const ADMINISTRATOR = 'arn:aws:iam::aws:policy/AdministratorAccess';
const USER = 'CloudAppSecurity';
const GROUP = 'CloudAppSecurity';
const ALLOW_ALL = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }],
});

/**
 * Every way a compromised central function could try to become more than its job through the
 * member role, tried through the SDK from a member-role session as casbridge's tasks reach it.
 */
describe('the member role refuses every escalation path', () => {
  const sandbox = useSandbox({ accounts: 40 });
  const config = () => sandboxConfig(sandbox());
  // Account 1 is onboarded (user, group, policy, trail); account 2 has no connector user yet;
  // account 37 has five trails that are not casbridge's.
  const onboarded = defaultAccountId(1);
  const fresh = defaultAccountId(2);
  const otherTrails = defaultAccountId(37);
  let iam: IAMClient;
  let freshIam: IAMClient;
  let cloudtrail: CloudTrailClient;
  let otherCloudtrail: CloudTrailClient;
  let sts: STSClient;

  async function admin(accountId: string): Promise<IAMClient> {
    return new IAMClient(
      sandbox().clientConfig(
        await assumeRole(sandbox(), `arn:aws:iam::${accountId}:role/OrganizationAccountAccessRole`),
      ),
    );
  }

  beforeAll(async () => {
    const member = await memberAccountClients(sandbox(), config(), onboarded, 'trail');
    iam = member.iam;
    cloudtrail = member.cloudtrail;
    await ensureUser(iam, config(), onboarded, { dryRun: false });
    await ensurePolicy(iam, config(), onboarded, { dryRun: false });
    expect(await ensureTrail(cloudtrail, config(), onboarded, { dryRun: false })).toMatchObject({
      action: 'created',
    });
    freshIam = (await memberAccountClients(sandbox(), config(), fresh, 'user')).iam;
    otherCloudtrail = (await memberAccountClients(sandbox(), config(), otherTrails, 'trail')).cloudtrail;
    // The member role's session credentials, for calls outside IAM and CloudTrail.
    const credentials = await iam.config.credentials();
    sts = new STSClient(
      clientConfig({ region: sandbox().region, endpoint: sandbox().endpoint, credentials }),
    );
    await (await admin(onboarded)).send(new CreateGroupCommand({ GroupName: 'Admins' }));
    await (await admin(onboarded)).send(new CreateUserCommand({ UserName: 'alice' }));
  });

  const denied = expect.objectContaining({ name: expect.stringMatching(/^AccessDenied/) });

  /** What IAM decides for the member role itself: for grants no API call of its own can show. */
  async function memberRoleAllowed(accountId: string, action: string, resource: string): Promise<boolean> {
    const out = await (await admin(accountId)).send(
      new SimulatePrincipalPolicyCommand({
        PolicySourceArn: memberRoleArn(config(), accountId),
        ActionNames: [action],
        ResourceArns: [resource],
      }),
    );
    return out.EvaluationResults?.[0]?.EvalDecision === 'allowed';
  }

  /** What IAM decides for a principal of the account on the high-risk actions these tests try. */
  async function highRiskDecisions(accountId: string, principalArn: string): Promise<Record<string, string>> {
    const out = await (await admin(accountId)).send(
      new SimulatePrincipalPolicyCommand({
        PolicySourceArn: principalArn,
        ActionNames: [
          'iam:CreateUser',
          'iam:AttachUserPolicy',
          'sts:AssumeRole',
          's3:PutObject',
          'iam:ListUsers',
        ],
      }),
    );
    return Object.fromEntries((out.EvaluationResults ?? []).map((r) => [r.EvalActionName, r.EvalDecision]));
  }

  it('refuses attaching AdministratorAccess to the connector user', async () => {
    await expect(
      iam.send(new AttachUserPolicyCommand({ UserName: USER, PolicyArn: ADMINISTRATOR })),
    ).rejects.toEqual(denied);
  });

  it('refuses attaching even the connector policy to the connector user directly (IAM.2)', async () => {
    await expect(
      iam.send(
        new AttachUserPolicyCommand({ UserName: USER, PolicyArn: connectorPolicyArn(config(), onboarded) }),
      ),
    ).rejects.toEqual(denied);
  });

  it('refuses attaching AdministratorAccess to the connector group', async () => {
    await expect(
      iam.send(new AttachGroupPolicyCommand({ GroupName: GROUP, PolicyArn: ADMINISTRATOR })),
    ).rejects.toEqual(denied);
  });

  it('refuses putting an inline policy on the connector user', async () => {
    await expect(
      iam.send(new PutUserPolicyCommand({ UserName: USER, PolicyName: 'x', PolicyDocument: ALLOW_ALL })),
    ).rejects.toEqual(denied);
  });

  it('refuses putting an inline policy on the connector group', async () => {
    await expect(
      iam.send(new PutGroupPolicyCommand({ GroupName: GROUP, PolicyName: 'x', PolicyDocument: ALLOW_ALL })),
    ).rejects.toEqual(denied);
  });

  it('refuses creating another user', async () => {
    await expect(
      iam.send(
        new CreateUserCommand({
          UserName: 'intruder',
          Path: '/casbridge/',
          PermissionsBoundary: connectorBoundaryArn(config(), onboarded),
        }),
      ),
    ).rejects.toEqual(denied);
  });

  it('refuses creating the connector user without the boundary', async () => {
    await expect(
      freshIam.send(new CreateUserCommand({ UserName: USER, Path: '/casbridge/' })),
    ).rejects.toEqual(denied);
  });

  it('refuses creating the connector user with AdministratorAccess as its boundary', async () => {
    await expect(
      freshIam.send(
        new CreateUserCommand({ UserName: USER, Path: '/casbridge/', PermissionsBoundary: ADMINISTRATOR }),
      ),
    ).rejects.toEqual(denied);
  });

  it('refuses creating an access key for another user', async () => {
    await expect(iam.send(new CreateAccessKeyCommand({ UserName: 'alice' }))).rejects.toEqual(denied);
  });

  it('refuses creating a login profile for another user', async () => {
    await expect(
      iam.send(new CreateLoginProfileCommand({ UserName: 'alice', Password: 'Correct-horse-battery-9' })),
    ).rejects.toEqual(denied);
  });

  it('refuses creating a login profile (a console password) for the connector user', async () => {
    await expect(
      iam.send(new CreateLoginProfileCommand({ UserName: USER, Password: 'Correct-horse-battery-9' })),
    ).rejects.toEqual(denied);
  });

  it('refuses adding the connector user to another group', async () => {
    await expect(
      iam.send(new AddUserToGroupCommand({ GroupName: 'Admins', UserName: USER })),
    ).rejects.toEqual(denied);
  });

  it('refuses creating another policy', async () => {
    await expect(
      iam.send(
        new CreatePolicyCommand({ PolicyName: 'escalate', Path: '/casbridge/', PolicyDocument: ALLOW_ALL }),
      ),
    ).rejects.toEqual(denied);
  });

  it("allows a wider version of the connector policy, but the boundary and the group's ceiling keep the connector user from using it", async () => {
    const policyArn = connectorPolicyArn(config(), onboarded);
    await iam.send(
      new CreatePolicyVersionCommand({ PolicyArn: policyArn, PolicyDocument: ALLOW_ALL, SetAsDefault: true }),
    );
    expect(await highRiskDecisions(onboarded, connectorUserArn(config(), onboarded))).toEqual({
      'iam:CreateUser': 'explicitDeny', // the ceiling's Deny (the boundary alone: implicitDeny)
      'iam:AttachUserPolicy': 'explicitDeny',
      'sts:AssumeRole': 'explicitDeny',
      's3:PutObject': 'explicitDeny',
      'iam:ListUsers': 'allowed',
    });
    // The next reconcile puts the document back.
    expect(await ensurePolicy(iam, config(), onboarded, { dryRun: false })).toMatchObject({
      details: { reason: 'document-drift' },
    });
  });

  it('lets no other user put in the connector group do more than the connector, even with the connector policy rewritten to allow everything', async () => {
    // Both through the member role, as a compromised central function could: a version allowing
    // "*", and alice (who has no boundary) in the connector group.
    const policyArn = connectorPolicyArn(config(), onboarded);
    await iam.send(
      new CreatePolicyVersionCommand({ PolicyArn: policyArn, PolicyDocument: ALLOW_ALL, SetAsDefault: true }),
    );
    await iam.send(new AddUserToGroupCommand({ GroupName: GROUP, UserName: 'alice' }));
    // The StackSet's ceiling on the group denies everything but the connector's list.
    expect(await highRiskDecisions(onboarded, `arn:aws:iam::${onboarded}:user/alice`)).toEqual({
      'iam:CreateUser': 'explicitDeny',
      'iam:AttachUserPolicy': 'explicitDeny',
      'sts:AssumeRole': 'explicitDeny',
      's3:PutObject': 'explicitDeny',
      'iam:ListUsers': 'allowed',
    });
    // The member role can take the ceiling away neither with its policy nor with the group.
    await expect(
      iam.send(new DeleteGroupPolicyCommand({ GroupName: GROUP, PolicyName: 'casbridge-ceiling' })),
    ).rejects.toEqual(denied);
    await expect(iam.send(new DeleteGroupCommand({ GroupName: GROUP }))).rejects.toEqual(denied);
    // The next reconcile puts the document back and takes alice out of the group.
    expect(await ensurePolicy(iam, config(), onboarded, { dryRun: false })).toMatchObject({
      details: {
        reason: 'document-drift',
        removed: `user arn:aws:iam::${onboarded}:user/alice is a member of the connector group ${GROUP}`,
      },
    });
  });

  it('refuses making an older version of the connector policy the default', async () => {
    await expect(
      iam.send(
        new SetDefaultPolicyVersionCommand({
          PolicyArn: connectorPolicyArn(config(), onboarded),
          VersionId: 'v1',
        }),
      ),
    ).rejects.toEqual(denied);
  });

  it("refuses removing the connector user's boundary", async () => {
    await expect(iam.send(new DeleteUserPermissionsBoundaryCommand({ UserName: USER }))).rejects.toEqual(
      denied,
    );
  });

  it("refuses replacing the connector user's boundary with AdministratorAccess", async () => {
    await expect(
      iam.send(new PutUserPermissionsBoundaryCommand({ UserName: USER, PermissionsBoundary: ADMINISTRATOR })),
    ).rejects.toEqual(denied);
  });

  it('refuses widening the boundary policy itself', async () => {
    await expect(
      iam.send(
        new CreatePolicyVersionCommand({
          PolicyArn: connectorBoundaryArn(config(), onboarded),
          PolicyDocument: ALLOW_ALL,
          SetAsDefault: true,
        }),
      ),
    ).rejects.toEqual(denied);
  });

  it('refuses creating another trail', async () => {
    await expect(
      cloudtrail.send(new CreateTrailCommand({ Name: 'shadow', S3BucketName: sandbox().stack.logBucket })),
    ).rejects.toEqual(denied);
  });

  it('refuses changing another trail', async () => {
    await expect(
      otherCloudtrail.send(
        new UpdateTrailCommand({ Name: 'legacy-trail-1', S3BucketName: sandbox().stack.logBucket }),
      ),
    ).rejects.toEqual(denied);
  });

  it("refuses changing another trail's event selectors", async () => {
    await expect(
      otherCloudtrail.send(
        new PutEventSelectorsCommand({
          TrailName: 'legacy-trail-1',
          EventSelectors: [{ ReadWriteType: 'WriteOnly', IncludeManagementEvents: false }],
        }),
      ),
    ).rejects.toEqual(denied);
  });

  it("refuses stopping casbridge's trail", async () => {
    await expect(cloudtrail.send(new StopLoggingCommand({ Name: 'casbridge' }))).rejects.toEqual(denied);
  });

  it("refuses deleting casbridge's trail", async () => {
    await expect(cloudtrail.send(new DeleteTrailCommand({ Name: 'casbridge' }))).rejects.toEqual(denied);
  });

  it('refuses assuming any other role', async () => {
    await expect(
      sts.send(
        new AssumeRoleCommand({
          RoleArn: `arn:aws:iam::${onboarded}:role/OrganizationAccountAccessRole`,
          RoleSessionName: 'escalate',
        }),
      ),
    ).rejects.toEqual(denied);
    expect(await memberRoleAllowed(onboarded, 'sts:AssumeRole', `arn:aws:iam::${onboarded}:role/*`)).toBe(
      false,
    );
  });

  it('refuses creating a role', async () => {
    await expect(
      iam.send(
        new CreateRoleCommand({
          RoleName: 'escalate',
          AssumeRolePolicyDocument: JSON.stringify({
            Version: '2012-10-17',
            Statement: [{ Effect: 'Allow', Principal: { AWS: '*' }, Action: 'sts:AssumeRole' }],
          }),
        }),
      ),
    ).rejects.toEqual(denied);
  });

  it('refuses passing a role', async () => {
    // PassRole is no API call of its own: IAM checks it when a service is handed a role.
    expect(
      await memberRoleAllowed(
        onboarded,
        'iam:PassRole',
        `arn:aws:iam::${onboarded}:role/OrganizationAccountAccessRole`,
      ),
    ).toBe(false);
  });
});
