import {
  AddUserToGroupCommand,
  AttachGroupPolicyCommand,
  AttachUserPolicyCommand,
  CreateAccessKeyCommand,
  CreateGroupCommand,
  CreatePolicyCommand,
  CreateUserCommand,
  DeleteGroupCommand,
  DeletePolicyCommand,
  DeleteUserCommand,
  DetachGroupPolicyCommand,
  GetGroupCommand,
  GetGroupPolicyCommand,
  GetLoginProfileCommand,
  GetPolicyCommand,
  GetPolicyVersionCommand,
  IAMClient,
  ListAccessKeysCommand,
  ListAttachedGroupPoliciesCommand,
  ListAttachedUserPoliciesCommand,
  ListGroupPoliciesCommand,
  ListGroupsCommand,
  ListGroupsForUserCommand,
  ListUserPoliciesCommand,
  ListUsersCommand,
  paginateGetGroup,
  RemoveUserFromGroupCommand,
  SimulatePrincipalPolicyCommand,
} from '@aws-sdk/client-iam';
import { connectorPolicyDocument } from '../../commons/connector-policy';
import type { Sandbox, SandboxCredentials } from '../../sandbox';
import { parseScenario } from '../../sandbox/scenario/scenario';
import { seedWorld } from '../../sandbox/scenario/seed';
import { assumeRole, useSandbox } from '../support/sandbox';

const READ_ONLY = 'arn:aws:iam::aws:policy/ReadOnlyAccess';

function iamClient(sandbox: Sandbox, credentials?: SandboxCredentials): IAMClient {
  // One attempt: LimitExceeded is on the SDK's throttling list and would be retried.
  return new IAMClient({ ...sandbox.clientConfig(credentials), maxAttempts: 1 });
}

function allow(actions: string[], resource = '*', condition?: Record<string, unknown>): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Action: actions,
        Resource: resource,
        ...(condition ? { Condition: condition } : {}),
      },
    ],
  });
}

describe('IAM groups', () => {
  const sandbox = useSandbox({ accounts: 1 });
  const admin = () => iamClient(sandbox());
  const mgmt = () => sandbox().stack.accountId;

  async function userWithKey(userName: string): Promise<SandboxCredentials> {
    await admin().send(new CreateUserCommand({ UserName: userName }));
    const { AccessKey } = await admin().send(new CreateAccessKeyCommand({ UserName: userName }));
    return { accessKeyId: AccessKey!.AccessKeyId!, secretAccessKey: AccessKey!.SecretAccessKey! };
  }

  it('creates a group at a path, lists its members page by page, and deletes it once empty', async () => {
    // Prepare
    const iam = admin();
    const { Group } = await iam.send(new CreateGroupCommand({ GroupName: 'Readers', Path: '/team/' }));
    for (const name of ['member-a', 'member-b', 'member-c']) {
      await iam.send(new CreateUserCommand({ UserName: name }));
      await iam.send(new AddUserToGroupCommand({ GroupName: 'readers', UserName: name }));
    }
    // Act
    const pages: string[][] = [];
    for await (const page of paginateGetGroup({ client: iam, pageSize: 2 }, { GroupName: 'Readers' })) {
      pages.push((page.Users ?? []).map((u) => u.UserName!));
    }
    const first = await iam.send(new GetGroupCommand({ GroupName: 'Readers', MaxItems: 2 }));
    const listed = await iam.send(new ListGroupsCommand({ PathPrefix: '/team/' }));
    // Assess
    expect(Group).toMatchObject({
      GroupName: 'Readers',
      Path: '/team/',
      Arn: `arn:aws:iam::${mgmt()}:group/team/Readers`,
    });
    expect(Group?.GroupId).toMatch(/^AGPA[A-Z2-7]{16}$/);
    expect(Group?.CreateDate).toBeInstanceOf(Date);
    expect(pages).toEqual([['member-a', 'member-b'], ['member-c']]);
    expect(first).toMatchObject({ IsTruncated: true, Group: { GroupName: 'Readers' } });
    expect(first.Users?.[0]).toMatchObject({
      UserName: 'member-a',
      Arn: `arn:aws:iam::${mgmt()}:user/member-a`,
    });
    expect(listed.Groups?.map((g) => g.GroupName)).toEqual(['Readers']);

    await expect(iam.send(new DeleteGroupCommand({ GroupName: 'Readers' }))).rejects.toMatchObject({
      name: 'DeleteConflictException',
      message: 'Cannot delete entity, must remove users from group first.',
      $metadata: { httpStatusCode: 409 },
    });
    for (const name of ['member-a', 'member-b', 'member-c']) {
      await iam.send(new RemoveUserFromGroupCommand({ GroupName: 'Readers', UserName: name }));
    }
    await iam.send(new DeleteGroupCommand({ GroupName: 'Readers' }));
    const gone = await iam.send(new GetGroupCommand({ GroupName: 'Readers' })).catch((e: Error) => e);
    expect(gone).toMatchObject({ name: 'NoSuchEntityException', $metadata: { httpStatusCode: 404 } });
    expect((gone as Error).message).toBe('The group with name Readers cannot be found.');
  });

  it('refuses a second group whose name differs only in case, and a member who does not exist', async () => {
    const iam = admin();
    await iam.send(new CreateGroupCommand({ GroupName: 'Unique' }));
    await expect(iam.send(new CreateGroupCommand({ GroupName: 'UNIQUE' }))).rejects.toMatchObject({
      name: 'EntityAlreadyExistsException',
      message: 'Group with name UNIQUE already exists.',
      $metadata: { httpStatusCode: 409 },
    });
    await expect(
      iam.send(new AddUserToGroupCommand({ GroupName: 'Unique', UserName: 'nobody' })),
    ).rejects.toMatchObject({
      name: 'NoSuchEntityException',
      message: 'The user with name nobody cannot be found.',
    });
    await iam.send(new CreateUserCommand({ UserName: 'outsider' }));
    await expect(
      iam.send(new RemoveUserFromGroupCommand({ GroupName: 'Unique', UserName: 'outsider' })),
    ).rejects.toMatchObject({ name: 'NoSuchEntityException' });
  });

  it('keeps a user in at most ten groups and lists them for the user', async () => {
    const iam = admin();
    await iam.send(new CreateUserCommand({ UserName: 'joiner' }));
    for (let i = 1; i <= 11; i++) await iam.send(new CreateGroupCommand({ GroupName: `club-${i}` }));
    for (let i = 1; i <= 10; i++) {
      await iam.send(new AddUserToGroupCommand({ GroupName: `club-${i}`, UserName: 'joiner' }));
    }
    // Adding a member again changes nothing and is not refused.
    await iam.send(new AddUserToGroupCommand({ GroupName: 'club-1', UserName: 'joiner' }));
    const error = await iam
      .send(new AddUserToGroupCommand({ GroupName: 'club-11', UserName: 'joiner' }))
      .catch((e: Error) => e);
    expect(error).toMatchObject({ name: 'LimitExceededException', $metadata: { httpStatusCode: 409 } });
    expect((error as Error).message).toBe('Cannot exceed quota for GroupsPerUser: 10');

    const page = await iam.send(new ListGroupsForUserCommand({ UserName: 'joiner', MaxItems: 4 }));
    expect(page).toMatchObject({ IsTruncated: true });
    expect(page.Groups).toHaveLength(4);
    const rest = await iam.send(new ListGroupsForUserCommand({ UserName: 'joiner', Marker: page.Marker }));
    expect(rest.IsTruncated).toBe(false);
    expect(rest.Marker).toBeUndefined();
    expect([...page.Groups!, ...rest.Groups!].map((g) => g.GroupName).sort()).toEqual(
      Array.from({ length: 10 }, (_, i) => `club-${i + 1}`).sort(),
    );

    await expect(iam.send(new DeleteUserCommand({ UserName: 'joiner' }))).rejects.toMatchObject({
      name: 'DeleteConflictException',
      message: 'Cannot delete entity, must remove users from group first.',
    });
  });

  it('attaches at most ten managed policies to a group, counts them as attachments, and detaches them', async () => {
    // Prepare
    const iam = admin();
    await iam.send(new CreateGroupCommand({ GroupName: 'policy-holder' }));
    const arns: string[] = [];
    for (let i = 1; i <= 11; i++) {
      const { Policy } = await iam.send(
        new CreatePolicyCommand({ PolicyName: `group-policy-${i}`, PolicyDocument: allow(['s3:GetObject']) }),
      );
      arns.push(Policy!.Arn!);
    }
    // Act
    for (const arn of arns.slice(0, 10)) {
      await iam.send(new AttachGroupPolicyCommand({ GroupName: 'policy-holder', PolicyArn: arn }));
    }
    const eleventh = await iam
      .send(new AttachGroupPolicyCommand({ GroupName: 'policy-holder', PolicyArn: arns[10] }))
      .catch((e: Error) => e);
    // Assess
    expect(eleventh).toMatchObject({
      name: 'LimitExceededException',
      message: 'Cannot exceed quota for PoliciesPerGroup: 10',
    });
    const { AttachedPolicies } = await iam.send(
      new ListAttachedGroupPoliciesCommand({ GroupName: 'policy-holder' }),
    );
    expect(AttachedPolicies?.map((p) => p.PolicyArn)).toEqual(arns.slice(0, 10));
    const first = arns[0]!;
    expect((await iam.send(new GetPolicyCommand({ PolicyArn: first }))).Policy?.AttachmentCount).toBe(1);
    await expect(iam.send(new DeletePolicyCommand({ PolicyArn: first }))).rejects.toMatchObject({
      name: 'DeleteConflictException',
      message: 'Cannot delete a policy attached to entities.',
    });
    await expect(iam.send(new DeleteGroupCommand({ GroupName: 'policy-holder' }))).rejects.toMatchObject({
      name: 'DeleteConflictException',
      message: 'Cannot delete entity, must detach all policies first.',
    });
    for (const arn of arns.slice(0, 10)) {
      await iam.send(new DetachGroupPolicyCommand({ GroupName: 'policy-holder', PolicyArn: arn }));
    }
    await expect(
      iam.send(new DetachGroupPolicyCommand({ GroupName: 'policy-holder', PolicyArn: first })),
    ).rejects.toMatchObject({ name: 'NoSuchEntityException' });
    expect((await iam.send(new GetPolicyCommand({ PolicyArn: first }))).Policy?.AttachmentCount).toBe(0);
    await iam.send(new DeleteGroupCommand({ GroupName: 'policy-holder' }));
  });

  it('gives a user the permissions of its group’s policies, and takes them away when the user leaves', async () => {
    // Prepare
    const iam = admin();
    const key = await userWithKey('grouped');
    const asUser = iamClient(sandbox(), key);
    await iam.send(new CreateGroupCommand({ GroupName: 'auditors' }));
    await iam.send(new AttachGroupPolicyCommand({ GroupName: 'auditors', PolicyArn: READ_ONLY }));
    await expect(asUser.send(new ListUsersCommand({}))).rejects.toMatchObject({ name: 'AccessDenied' });
    // Act
    await iam.send(new AddUserToGroupCommand({ GroupName: 'auditors', UserName: 'grouped' }));
    const asMember = await asUser.send(new ListUsersCommand({}));
    await iam.send(new RemoveUserFromGroupCommand({ GroupName: 'auditors', UserName: 'grouped' }));
    const afterLeaving = await asUser.send(new ListUsersCommand({})).catch((e: Error) => e);
    // Assess
    expect(asMember.Users?.map((u) => u.UserName)).toContain('grouped');
    expect(afterLeaving).toMatchObject({ name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
  });

  it('simulates a user with the policies of its groups', async () => {
    const iam = admin();
    await iam.send(new CreateUserCommand({ UserName: 'simulated' }));
    await iam.send(new CreateGroupCommand({ GroupName: 'simulated-readers' }));
    await iam.send(new AttachGroupPolicyCommand({ GroupName: 'simulated-readers', PolicyArn: READ_ONLY }));
    const userArn = `arn:aws:iam::${mgmt()}:user/simulated`;
    const simulate = () =>
      iam.send(
        new SimulatePrincipalPolicyCommand({
          PolicySourceArn: userArn,
          ActionNames: ['iam:GetUser', 'iam:CreateUser'],
          ResourceArns: [userArn],
        }),
      );
    const before = await simulate();
    await iam.send(new AddUserToGroupCommand({ GroupName: 'simulated-readers', UserName: 'simulated' }));
    const after = await simulate();
    expect(before.EvaluationResults?.map((r) => r.EvalDecision)).toEqual(['implicitDeny', 'implicitDeny']);
    expect(after.EvaluationResults?.map((r) => r.EvalDecision)).toEqual(['allowed', 'implicitDeny']);
  });

  it('authorizes group calls on the group’s ARN and attachments on the policy ARN', async () => {
    // Prepare: a user may manage one group only, and attach one policy only.
    const iam = admin();
    const key = await userWithKey('group-admin');
    await iam.send(new CreateGroupCommand({ GroupName: 'managed', Path: '/casbridge/' }));
    await iam.send(new CreateGroupCommand({ GroupName: 'other' }));
    await iam.send(new CreateUserCommand({ UserName: 'newcomer' }));
    const { Policy } = await iam.send(
      new CreatePolicyCommand({
        PolicyName: 'manage-one-group',
        PolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Action: ['iam:AddUserToGroup', 'iam:GetGroup'],
              Resource: `arn:aws:iam::${mgmt()}:group/casbridge/managed`,
            },
            {
              Effect: 'Allow',
              Action: 'iam:AttachGroupPolicy',
              Resource: `arn:aws:iam::${mgmt()}:group/casbridge/managed`,
              Condition: { ArnEquals: { 'iam:PolicyARN': READ_ONLY } },
            },
          ],
        }),
      }),
    );
    await iam.send(new AttachUserPolicyCommand({ UserName: 'group-admin', PolicyArn: Policy!.Arn! }));
    const asAdmin = iamClient(sandbox(), key);
    // Act + Assess
    await asAdmin.send(new AddUserToGroupCommand({ GroupName: 'managed', UserName: 'newcomer' }));
    await asAdmin.send(new AttachGroupPolicyCommand({ GroupName: 'managed', PolicyArn: READ_ONLY }));
    const otherGroup = await asAdmin
      .send(new AddUserToGroupCommand({ GroupName: 'other', UserName: 'newcomer' }))
      .catch((e: Error) => e);
    expect(otherGroup).toMatchObject({ name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
    expect((otherGroup as Error).message).toContain(
      `iam:AddUserToGroup on resource: arn:aws:iam::${mgmt()}:group/other`,
    );
    await expect(
      asAdmin.send(
        new AttachGroupPolicyCommand({
          GroupName: 'managed',
          PolicyArn: 'arn:aws:iam::aws:policy/AdministratorAccess',
        }),
      ),
    ).rejects.toMatchObject({ name: 'AccessDenied' });
    const { Users } = await asAdmin.send(new GetGroupCommand({ GroupName: 'managed' }));
    expect(Users?.map((u) => u.UserName)).toEqual(['newcomer']);
  });
});

describe('a scenario that tampered with the connector user', () => {
  const account = '111122223333';
  const legacy = '111122224444';
  const ADMINISTRATOR = 'arn:aws:iam::aws:policy/AdministratorAccess';
  const sandbox = useSandbox({
    scenario: {
      accounts: [
        {
          id: account,
          name: 'tampered',
          faults: {
            preexisting: {
              accessKeys: 1,
              extraAttachedPolicies: [ADMINISTRATOR],
              inlinePolicies: [{ name: 'backdoor', actions: ['iam:*'] }],
              otherGroups: [{ name: 'Admins', attachedPolicies: [ADMINISTRATOR] }],
              loginProfile: true,
            },
          },
        },
        {
          id: legacy,
          name: 'onboarded-before-groups',
          faults: { preexisting: { legacyDirectAttachment: true } },
        },
      ],
    },
  });

  async function asAccountAdmin(accountId: string): Promise<IAMClient> {
    const credentials = await assumeRole(
      sandbox(),
      `arn:aws:iam::${accountId}:role/OrganizationAccountAccessRole`,
    );
    return iamClient(sandbox(), credentials);
  }

  it('seeds the extra policies, the foreign group and the console password on the connector user', async () => {
    // Act
    const iam = await asAccountAdmin(account);
    const attached = await iam.send(new ListAttachedUserPoliciesCommand({ UserName: 'CloudAppSecurity' }));
    const inline = await iam.send(new ListUserPoliciesCommand({ UserName: 'CloudAppSecurity' }));
    const groups = await iam.send(new ListGroupsForUserCommand({ UserName: 'CloudAppSecurity' }));
    const login = await iam.send(new GetLoginProfileCommand({ UserName: 'CloudAppSecurity' }));
    const keys = await iam.send(new ListAccessKeysCommand({ UserName: 'CloudAppSecurity' }));
    const userArn = `arn:aws:iam::${account}:user/casbridge/CloudAppSecurity`;
    const simulation = await iam.send(
      new SimulatePrincipalPolicyCommand({ PolicySourceArn: userArn, ActionNames: ['iam:CreateUser'] }),
    );
    // Assess
    expect(attached.AttachedPolicies).toEqual([
      { PolicyName: 'AdministratorAccess', PolicyArn: ADMINISTRATOR },
    ]);
    expect(inline.PolicyNames).toEqual(['backdoor']);
    expect(groups.Groups).toEqual([
      expect.objectContaining({
        GroupName: 'Admins',
        Path: '/',
        Arn: `arn:aws:iam::${account}:group/Admins`,
      }),
    ]);
    expect(login.LoginProfile?.UserName).toBe('CloudAppSecurity');
    expect(keys.AccessKeyMetadata).toHaveLength(1);
    expect(simulation.EvaluationResults?.[0]?.EvalDecision).toBe('allowed');
  });

  it('seeds the connector policy attached directly to the user of an account onboarded before the group', async () => {
    const iam = await asAccountAdmin(legacy);
    const policyArn = `arn:aws:iam::${legacy}:policy/casbridge/CasBridgeCloudAppSecurity`;
    const attached = await iam.send(new ListAttachedUserPoliciesCommand({ UserName: 'CloudAppSecurity' }));
    expect(attached.AttachedPolicies).toEqual([
      { PolicyName: 'CasBridgeCloudAppSecurity', PolicyArn: policyArn },
    ]);
    const { Policy } = await iam.send(new GetPolicyCommand({ PolicyArn: policyArn }));
    expect(Policy).toMatchObject({ AttachmentCount: 1, DefaultVersionId: 'v1' });
    const { PolicyVersion } = await iam.send(
      new GetPolicyVersionCommand({ PolicyArn: policyArn, VersionId: 'v1' }),
    );
    expect(JSON.parse(decodeURIComponent(PolicyVersion!.Document!))).toEqual(
      connectorPolicyDocument({ allowPutBucketAcl: true }),
    );
    expect((await iam.send(new ListGroupsForUserCommand({ UserName: 'CloudAppSecurity' }))).Groups).toEqual(
      [],
    );
  });

  it('refuses a scenario that names an AWS managed policy the sandbox does not have', () => {
    const scenario = parseScenario({
      accounts: [
        {
          id: account,
          name: 'bad',
          faults: { preexisting: { extraAttachedPolicies: ['arn:aws:iam::aws:policy/NoSuchPolicy'] } },
        },
      ],
    });
    expect(() => seedWorld(scenario)).toThrow(
      'arn:aws:iam::aws:policy/NoSuchPolicy, not an AWS managed policy the sandbox has',
    );
  });
});

describe("the member-role StackSet's connector group", () => {
  const member = '111122225555';
  const withoutRole = '111122226666';
  const sandbox = useSandbox({
    scenario: {
      accounts: [
        { id: member, name: 'member' },
        { id: withoutRole, name: 'no-member-role', faults: { roleMissing: true } },
      ],
    },
  });

  async function asAccountAdmin(accountId: string): Promise<IAMClient> {
    const credentials = await assumeRole(
      sandbox(),
      `arn:aws:iam::${accountId}:role/OrganizationAccountAccessRole`,
    );
    return iamClient(sandbox(), credentials);
  }

  it('is seeded empty, with its ceiling policy from templates/member-role.yml, in each account the member role is in', async () => {
    const iam = await asAccountAdmin(member);
    const group = await iam.send(new GetGroupCommand({ GroupName: 'CloudAppSecurity' }));
    expect(group.Group).toMatchObject({
      Path: '/casbridge/',
      Arn: `arn:aws:iam::${member}:group/casbridge/CloudAppSecurity`,
    });
    expect(group.Users).toEqual([]);
    expect(
      (await iam.send(new ListAttachedGroupPoliciesCommand({ GroupName: 'CloudAppSecurity' })))
        .AttachedPolicies,
    ).toEqual([]);
    expect(
      (await iam.send(new ListGroupPoliciesCommand({ GroupName: 'CloudAppSecurity' }))).PolicyNames,
    ).toEqual(['casbridge-ceiling']);
    const ceiling = await iam.send(
      new GetGroupPolicyCommand({ GroupName: 'CloudAppSecurity', PolicyName: 'casbridge-ceiling' }),
    );
    const document = JSON.parse(decodeURIComponent(ceiling.PolicyDocument ?? '{}'));
    expect(document.Statement).toEqual([
      expect.objectContaining({
        Effect: 'Deny',
        NotAction: expect.arrayContaining(['iam:Get*']),
        Resource: '*',
      }),
    ]);
  });

  it('is not in an account without the member role', async () => {
    const iam = await asAccountAdmin(withoutRole);
    await expect(iam.send(new GetGroupCommand({ GroupName: 'CloudAppSecurity' }))).rejects.toMatchObject({
      name: 'NoSuchEntityException',
    });
  });
});
