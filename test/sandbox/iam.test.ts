import {
  AttachRolePolicyCommand,
  AttachUserPolicyCommand,
  CreateAccessKeyCommand,
  CreatePolicyCommand,
  CreatePolicyVersionCommand,
  CreateRoleCommand,
  CreateUserCommand,
  DeleteAccessKeyCommand,
  DeletePolicyCommand,
  DeletePolicyVersionCommand,
  DeleteRoleCommand,
  DeleteUserCommand,
  DetachUserPolicyCommand,
  GetAccessKeyLastUsedCommand,
  GetPolicyCommand,
  GetPolicyVersionCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  GetUserCommand,
  IAMClient,
  ListAccessKeysCommand,
  ListAttachedRolePoliciesCommand,
  ListAttachedUserPoliciesCommand,
  ListPoliciesCommand,
  ListPolicyVersionsCommand,
  ListRolePoliciesCommand,
  ListRolesCommand,
  ListUsersCommand,
  ListUserTagsCommand,
  PutRolePolicyCommand,
  paginateListPolicyVersions,
  paginateListUsers,
  SetDefaultPolicyVersionCommand,
  SimulatePrincipalPolicyCommand,
  TagUserCommand,
  UntagUserCommand,
  UpdateAccessKeyCommand,
} from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import type { Sandbox, SandboxCredentials } from '../../sandbox';
import { defaultAccountId } from '../../sandbox/scenario/default-scenario';
import { assumeRole, memberRoleCredentials, useSandbox } from '../support/sandbox';

/** The account's administrators (OrganizationAccountAccessRole), who may simulate any principal. */
function accountAdminCredentials(sandbox: Sandbox, accountId: string): Promise<SandboxCredentials> {
  return assumeRole(sandbox, `arn:aws:iam::${accountId}:role/OrganizationAccountAccessRole`);
}

const READ_ONLY = 'arn:aws:iam::aws:policy/ReadOnlyAccess';
const CASBRIDGE_USER = 'CloudAppSecurity';
const CASBRIDGE_PATH = '/casbridge/';

function policyDocument(actions: string[], sid = 'Connector'): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Sid: sid, Effect: 'Allow', Action: actions, Resource: '*' }],
  });
}

function iamClient(sandbox: Sandbox, credentials?: SandboxCredentials, maxAttempts?: number): IAMClient {
  return new IAMClient({
    ...sandbox.clientConfig(credentials),
    ...(maxAttempts === undefined ? {} : { maxAttempts }),
  });
}

async function createUserWithKey(
  sandbox: Sandbox,
  userName: string,
): Promise<{ accessKeyId: string; secretAccessKey: string }> {
  const iam = iamClient(sandbox);
  await iam.send(new CreateUserCommand({ UserName: userName }));
  const { AccessKey } = await iam.send(new CreateAccessKeyCommand({ UserName: userName }));
  return { accessKeyId: AccessKey!.AccessKeyId!, secretAccessKey: AccessKey!.SecretAccessKey! };
}

describe('IAM', () => {
  const sandbox = useSandbox({ accounts: 40 });
  const admin = () => iamClient(sandbox());
  const mgmt = () => sandbox().stack.accountId;

  describe('users', () => {
    it('creates a user with a path and tags, keeps its tags up to date, and deletes it', async () => {
      const iam = admin();
      const created = await iam.send(
        new CreateUserCommand({
          UserName: 'tagged',
          Path: '/team/',
          Tags: [
            { Key: 'owner', Value: 'platform' },
            { Key: 'stage', Value: 'dev' },
          ],
        }),
      );
      expect(created.User).toMatchObject({
        UserName: 'tagged',
        Path: '/team/',
        Arn: `arn:aws:iam::${mgmt()}:user/team/tagged`,
      });
      expect(created.User?.UserId).toMatch(/^AIDA[A-Z2-7]{16}$/);
      expect(created.User?.CreateDate).toBeInstanceOf(Date);

      await iam.send(
        new TagUserCommand({
          UserName: 'tagged',
          Tags: [
            { Key: 'stage', Value: 'prod' },
            { Key: 'cost-center', Value: '42' },
          ],
        }),
      );
      await iam.send(new UntagUserCommand({ UserName: 'tagged', TagKeys: ['owner'] }));
      const { Tags } = await iam.send(new ListUserTagsCommand({ UserName: 'tagged' }));
      expect(Tags).toEqual([
        { Key: 'stage', Value: 'prod' },
        { Key: 'cost-center', Value: '42' },
      ]);
      const fetched = await iam.send(new GetUserCommand({ UserName: 'tagged' }));
      expect(fetched.User?.Tags).toEqual(Tags);

      await iam.send(new DeleteUserCommand({ UserName: 'tagged' }));
      const error = await iam.send(new GetUserCommand({ UserName: 'tagged' })).catch((e: Error) => e);
      expect(error).toMatchObject({ name: 'NoSuchEntityException', $metadata: { httpStatusCode: 404 } });
      expect((error as Error).message).toBe('The user with name tagged cannot be found.');
    });

    it('describes the caller when GetUser names no user', async () => {
      const { User } = await admin().send(new GetUserCommand({}));
      expect(User?.Arn).toBe(sandbox().admin.arn);
    });

    it('refuses a second user whose name differs only in case', async () => {
      const iam = admin();
      await iam.send(new CreateUserCommand({ UserName: 'CaseSensitive' }));
      await expect(iam.send(new CreateUserCommand({ UserName: 'casesensitive' }))).rejects.toMatchObject({
        name: 'EntityAlreadyExistsException',
        $metadata: { httpStatusCode: 409 },
      });
    });

    it('refuses to delete a user that still has an access key or an attached policy', async () => {
      const iam = admin();
      const key = await createUserWithKey(sandbox(), 'holder');
      await iam.send(new AttachUserPolicyCommand({ UserName: 'holder', PolicyArn: READ_ONLY }));
      await expect(iam.send(new DeleteUserCommand({ UserName: 'holder' }))).rejects.toMatchObject({
        name: 'DeleteConflictException',
        $metadata: { httpStatusCode: 409 },
      });
      await iam.send(new DeleteAccessKeyCommand({ UserName: 'holder', AccessKeyId: key.accessKeyId }));
      await expect(iam.send(new DeleteUserCommand({ UserName: 'holder' }))).rejects.toMatchObject({
        name: 'DeleteConflictException',
      });
      await iam.send(new DetachUserPolicyCommand({ UserName: 'holder', PolicyArn: READ_ONLY }));
      await iam.send(new DeleteUserCommand({ UserName: 'holder' }));
    });

    it('pages through users one at a time with the SDK paginator', async () => {
      const iam = admin();
      for (const name of ['page-a', 'page-b', 'page-c'])
        await iam.send(new CreateUserCommand({ UserName: name }));
      const { Users: all } = await iam.send(new ListUsersCommand({ MaxItems: 1000 }));
      const mark = sandbox().world.callLog.mark();
      const names: string[] = [];
      let pages = 0;
      for await (const page of paginateListUsers({ client: iam, pageSize: 1 }, {})) {
        pages++;
        expect(page.Users).toHaveLength(1);
        names.push(...(page.Users ?? []).map((u) => u.UserName!));
      }
      expect(names).toEqual(all?.map((u) => u.UserName));
      expect(names).toEqual(expect.arrayContaining(['Admin', 'page-a', 'page-b', 'page-c']));
      expect(pages).toBe(all?.length);
      expect(sandbox().world.callLog.list({ sinceSeq: mark, operation: 'ListUsers' })).toHaveLength(pages);
    });
  });

  describe('managed policies', () => {
    it('keeps at most five versions: the sixth is refused, and the SDK retries it as throttling', async () => {
      const iam = admin();
      const { Policy } = await iam.send(
        new CreatePolicyCommand({
          PolicyName: 'five-versions',
          PolicyDocument: policyDocument(['s3:GetObject']),
        }),
      );
      expect(Policy).toMatchObject({ DefaultVersionId: 'v1', AttachmentCount: 0, IsAttachable: true });
      const policyArn = Policy!.Arn!;
      expect(policyArn).toBe(`arn:aws:iam::${mgmt()}:policy/five-versions`);
      for (let i = 2; i <= 5; i++) {
        const { PolicyVersion } = await iam.send(
          new CreatePolicyVersionCommand({
            PolicyArn: policyArn,
            PolicyDocument: policyDocument(['s3:GetObject'], `V${i}`),
            SetAsDefault: true,
          }),
        );
        expect(PolicyVersion).toMatchObject({ VersionId: `v${i}`, IsDefaultVersion: true });
      }

      const mark = sandbox().world.callLog.mark();
      const error = await iam
        .send(
          new CreatePolicyVersionCommand({ PolicyArn: policyArn, PolicyDocument: policyDocument(['s3:*']) }),
        )
        .catch((e: Error) => e);
      expect(error).toMatchObject({ name: 'LimitExceededException', $metadata: { httpStatusCode: 409 } });
      expect((error as Error).message).toBe(
        'A managed policy can have up to 5 versions. Before you create a new version, you must delete an existing version.',
      );
      // LimitExceededException is on the SDK's throttling list: one send is three attempts.
      expect(
        sandbox()
          .world.callLog.list({ sinceSeq: mark, operation: 'CreatePolicyVersion' })
          .map((c) => c.errorCode),
      ).toEqual(['LimitExceeded', 'LimitExceeded', 'LimitExceeded']);

      await expect(
        iam.send(new DeletePolicyVersionCommand({ PolicyArn: policyArn, VersionId: 'v5' })),
      ).rejects.toMatchObject({ name: 'DeleteConflictException', $metadata: { httpStatusCode: 409 } });
      await iam.send(new DeletePolicyVersionCommand({ PolicyArn: policyArn, VersionId: 'v1' }));
      const { PolicyVersion } = await iam.send(
        new CreatePolicyVersionCommand({ PolicyArn: policyArn, PolicyDocument: policyDocument(['s3:*']) }),
      );
      expect(PolicyVersion).toMatchObject({ VersionId: 'v6', IsDefaultVersion: false });
    });

    it('returns the document URL-encoded, as IAM does', async () => {
      const iam = admin();
      const document = JSON.stringify(
        {
          Version: '2012-10-17',
          Statement: [{ Sid: 'Read', Effect: 'Allow', Action: 'cloudtrail:Describe*', Resource: '*' }],
        },
        null,
        2,
      );
      const { Policy } = await iam.send(
        new CreatePolicyCommand({ PolicyName: 'encoded', Path: '/docs/', PolicyDocument: document }),
      );
      const { PolicyVersion } = await iam.send(
        new GetPolicyVersionCommand({ PolicyArn: Policy!.Arn!, VersionId: 'v1' }),
      );
      expect(PolicyVersion?.Document).not.toBe(document);
      expect(PolicyVersion?.Document).toContain('%7B%0A%20%20%22Version%22%3A%20%222012-10-17%22');
      expect(decodeURIComponent(PolicyVersion!.Document!)).toBe(document);
      expect(PolicyVersion?.IsDefaultVersion).toBe(true);
    });

    it('rejects documents that are not JSON, lack a Statement, or exceed 6144 characters', async () => {
      const iam = iamClient(sandbox(), undefined, 1);
      await expect(
        iam.send(new CreatePolicyCommand({ PolicyName: 'bad-json', PolicyDocument: '{"Version": ' })),
      ).rejects.toMatchObject({
        name: 'MalformedPolicyDocumentException',
        $metadata: { httpStatusCode: 400 },
      });
      await expect(
        iam.send(
          new CreatePolicyCommand({ PolicyName: 'no-statement', PolicyDocument: '{"Version":"2012-10-17"}' }),
        ),
      ).rejects.toMatchObject({ name: 'MalformedPolicyDocumentException' });
      const actions = Array.from({ length: 400 }, (_, i) => `s3:GetObjectVersion${i}`);
      const error = await iam
        .send(new CreatePolicyCommand({ PolicyName: 'too-big', PolicyDocument: policyDocument(actions) }))
        .catch((e: Error) => e);
      expect(error).toMatchObject({ name: 'LimitExceededException', $metadata: { httpStatusCode: 409 } });
      expect((error as Error).message).toBe('Cannot exceed quota for PolicySize: 6144');
    });

    it('counts attachments and refuses to delete a policy while attached or while it has old versions', async () => {
      const iam = admin();
      await iam.send(new CreateUserCommand({ UserName: 'reader' }));
      const { Policy } = await iam.send(
        new CreatePolicyCommand({
          PolicyName: 'attached',
          PolicyDocument: policyDocument(['iam:ListUsers']),
        }),
      );
      const policyArn = Policy!.Arn!;
      await iam.send(new AttachUserPolicyCommand({ UserName: 'reader', PolicyArn: policyArn }));
      await iam.send(new AttachUserPolicyCommand({ UserName: 'reader', PolicyArn: READ_ONLY }));
      const { AttachedPolicies } = await iam.send(
        new ListAttachedUserPoliciesCommand({ UserName: 'reader' }),
      );
      expect(AttachedPolicies).toEqual([
        { PolicyName: 'attached', PolicyArn: policyArn },
        { PolicyName: 'ReadOnlyAccess', PolicyArn: READ_ONLY },
      ]);
      expect((await iam.send(new GetPolicyCommand({ PolicyArn: policyArn }))).Policy?.AttachmentCount).toBe(
        1,
      );
      await expect(iam.send(new DeletePolicyCommand({ PolicyArn: policyArn }))).rejects.toMatchObject({
        name: 'DeleteConflictException',
      });

      await iam.send(new DetachUserPolicyCommand({ UserName: 'reader', PolicyArn: policyArn }));
      expect((await iam.send(new GetPolicyCommand({ PolicyArn: policyArn }))).Policy?.AttachmentCount).toBe(
        0,
      );
      await iam.send(
        new CreatePolicyVersionCommand({
          PolicyArn: policyArn,
          PolicyDocument: policyDocument(['iam:Get*']),
        }),
      );
      await expect(iam.send(new DeletePolicyCommand({ PolicyArn: policyArn }))).rejects.toMatchObject({
        name: 'DeleteConflictException',
      });
      await iam.send(new DeletePolicyVersionCommand({ PolicyArn: policyArn, VersionId: 'v2' }));
      await iam.send(new DeletePolicyCommand({ PolicyArn: policyArn }));
      await expect(iam.send(new GetPolicyCommand({ PolicyArn: policyArn }))).rejects.toMatchObject({
        name: 'NoSuchEntityException',
        $metadata: { httpStatusCode: 404 },
      });
    });

    it('refuses to attach a policy that does not exist', async () => {
      const iam = admin();
      await iam.send(new CreateUserCommand({ UserName: 'attach-missing' }));
      await expect(
        iam.send(
          new AttachUserPolicyCommand({
            UserName: 'attach-missing',
            PolicyArn: `arn:aws:iam::${mgmt()}:policy/nope`,
          }),
        ),
      ).rejects.toMatchObject({ name: 'NoSuchEntityException' });
    });

    it('gives a user the permissions of the policy attached to it, and none before', async () => {
      const iam = admin();
      const key = await createUserWithKey(sandbox(), 'grantee');
      const asGrantee = iamClient(sandbox(), key);
      await expect(asGrantee.send(new ListUsersCommand({}))).rejects.toMatchObject({
        name: 'AccessDenied',
        $metadata: { httpStatusCode: 403 },
      });
      await iam.send(new AttachUserPolicyCommand({ UserName: 'grantee', PolicyArn: READ_ONLY }));
      await expect(asGrantee.send(new ListUsersCommand({}))).resolves.toHaveProperty('Users');
    });

    it('lists only the account’s own policies with Scope Local', async () => {
      const iam = admin();
      await iam.send(
        new CreatePolicyCommand({
          PolicyName: 'local-only',
          PolicyDocument: policyDocument(['sns:Publish']),
        }),
      );
      const local = await iam.send(new ListPoliciesCommand({ Scope: 'Local' }));
      const names = local.Policies?.map((p) => p.PolicyName);
      expect(names).toContain('local-only');
      expect(names).not.toContain('ReadOnlyAccess');
      const aws = await iam.send(new ListPoliciesCommand({ Scope: 'AWS' }));
      expect(aws.Policies?.map((p) => p.Arn)).toContain(READ_ONLY);
    });

    it('pages through the five versions of a seeded policy, newest first', async () => {
      const account = defaultAccountId(17);
      const iam = iamClient(sandbox(), await memberRoleCredentials(sandbox(), account));
      const policyArn = `arn:aws:iam::${account}:policy/casbridge/CasBridgeCloudAppSecurity`;
      const versions: string[] = [];
      for await (const page of paginateListPolicyVersions(
        { client: iam, pageSize: 1 },
        { PolicyArn: policyArn },
      )) {
        expect(page.Versions).toHaveLength(1);
        versions.push(...(page.Versions ?? []).map((v) => v.VersionId!));
      }
      expect(versions).toEqual(['v5', 'v4', 'v3', 'v2', 'v1']);
      const last = await iam.send(new ListPolicyVersionsCommand({ PolicyArn: policyArn, MaxItems: 5 }));
      expect(last.IsTruncated).toBe(false);
      expect(last.Marker).toBeUndefined();
    });

    it('moves the default version on SetDefaultPolicyVersion', async () => {
      const iam = admin();
      const { Policy } = await iam.send(
        new CreatePolicyCommand({ PolicyName: 'rollback', PolicyDocument: policyDocument(['s3:GetObject']) }),
      );
      await iam.send(
        new CreatePolicyVersionCommand({
          PolicyArn: Policy!.Arn!,
          PolicyDocument: policyDocument(['s3:*']),
          SetAsDefault: true,
        }),
      );
      await iam.send(new SetDefaultPolicyVersionCommand({ PolicyArn: Policy!.Arn!, VersionId: 'v1' }));
      const { Versions } = await iam.send(new ListPolicyVersionsCommand({ PolicyArn: Policy!.Arn! }));
      expect(Versions?.map((v) => [v.VersionId, v.IsDefaultVersion])).toEqual([
        ['v2', false],
        ['v1', true],
      ]);
    });
  });

  describe('access keys', () => {
    it('allows two keys per user, counts inactive keys, and frees a slot only on delete', async () => {
      const iam = iamClient(sandbox(), undefined, 1);
      await iam.send(new CreateUserCommand({ UserName: 'two-keys' }));
      const first = await iam.send(new CreateAccessKeyCommand({ UserName: 'two-keys' }));
      await iam.send(new CreateAccessKeyCommand({ UserName: 'two-keys' }));
      expect(first.AccessKey).toMatchObject({ UserName: 'two-keys', Status: 'Active' });
      expect(first.AccessKey?.AccessKeyId).toMatch(/^AKIA/);
      expect(first.AccessKey?.SecretAccessKey).toHaveLength(40);
      const firstId = first.AccessKey!.AccessKeyId!;

      await iam.send(
        new UpdateAccessKeyCommand({ UserName: 'two-keys', AccessKeyId: firstId, Status: 'Inactive' }),
      );
      const error = await iam
        .send(new CreateAccessKeyCommand({ UserName: 'two-keys' }))
        .catch((e: Error) => e);
      expect(error).toMatchObject({ name: 'LimitExceededException', $metadata: { httpStatusCode: 409 } });
      expect((error as Error).message).toBe('Cannot exceed quota for AccessKeysPerUser: 2');
      const { AccessKeyMetadata } = await iam.send(new ListAccessKeysCommand({ UserName: 'two-keys' }));
      expect(AccessKeyMetadata?.map((k) => k.Status).sort()).toEqual(['Active', 'Inactive']);

      await iam.send(new DeleteAccessKeyCommand({ UserName: 'two-keys', AccessKeyId: firstId }));
      await expect(iam.send(new CreateAccessKeyCommand({ UserName: 'two-keys' }))).resolves.toHaveProperty(
        'AccessKey',
      );
    });

    it('refuses a third key for the seeded connector user that already has two', async () => {
      const account = defaultAccountId(11);
      const iam = iamClient(sandbox(), await memberRoleCredentials(sandbox(), account), 1);
      const { AccessKeyMetadata } = await iam.send(new ListAccessKeysCommand({ UserName: CASBRIDGE_USER }));
      expect(AccessKeyMetadata).toHaveLength(2);
      await expect(iam.send(new CreateAccessKeyCommand({ UserName: CASBRIDGE_USER }))).rejects.toMatchObject({
        name: 'LimitExceededException',
      });
    });

    it('refuses an inactive or deleted key and accepts it again once reactivated', async () => {
      const iam = admin();
      const key = await createUserWithKey(sandbox(), 'switch');
      const sts = new STSClient(sandbox().clientConfig(key));
      await expect(sts.send(new GetCallerIdentityCommand({}))).resolves.toHaveProperty('Arn');
      await iam.send(
        new UpdateAccessKeyCommand({ UserName: 'switch', AccessKeyId: key.accessKeyId, Status: 'Inactive' }),
      );
      await expect(sts.send(new GetCallerIdentityCommand({}))).rejects.toMatchObject({
        name: 'InvalidClientTokenId',
        $metadata: { httpStatusCode: 403 },
      });
      await iam.send(
        new UpdateAccessKeyCommand({ UserName: 'switch', AccessKeyId: key.accessKeyId, Status: 'Active' }),
      );
      await expect(sts.send(new GetCallerIdentityCommand({}))).resolves.toHaveProperty('Arn');
      await iam.send(new DeleteAccessKeyCommand({ UserName: 'switch', AccessKeyId: key.accessKeyId }));
      await expect(sts.send(new GetCallerIdentityCommand({}))).rejects.toMatchObject({
        name: 'InvalidClientTokenId',
      });
    });

    it('reports a key as never used until it signs a call, then names the service and Region', async () => {
      const iam = admin();
      const key = await createUserWithKey(sandbox(), 'last-used');
      const before = await iam.send(new GetAccessKeyLastUsedCommand({ AccessKeyId: key.accessKeyId }));
      expect(before.UserName).toBe('last-used');
      expect(before.AccessKeyLastUsed).toEqual({ ServiceName: 'N/A', Region: 'N/A' });

      await new STSClient(sandbox().clientConfig(key)).send(new GetCallerIdentityCommand({}));
      const after = await iam.send(new GetAccessKeyLastUsedCommand({ AccessKeyId: key.accessKeyId }));
      expect(after.AccessKeyLastUsed).toMatchObject({ ServiceName: 'sts', Region: sandbox().region });
      expect(after.AccessKeyLastUsed?.LastUsedDate).toBeInstanceOf(Date);
    });
  });

  describe('roles', () => {
    it('creates a role with a trust policy, inline and managed policies, and refuses to delete it while they remain', async () => {
      const iam = admin();
      const trust = JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' },
        ],
      });
      const { Role } = await iam.send(
        new CreateRoleCommand({ RoleName: 'worker', Path: '/service/', AssumeRolePolicyDocument: trust }),
      );
      expect(Role).toMatchObject({
        Arn: `arn:aws:iam::${mgmt()}:role/service/worker`,
        MaxSessionDuration: 3600,
      });
      expect(Role?.RoleId).toMatch(/^AROA/);

      const fetched = await iam.send(new GetRoleCommand({ RoleName: 'worker' }));
      expect(JSON.parse(decodeURIComponent(fetched.Role!.AssumeRolePolicyDocument!))).toEqual(
        JSON.parse(trust),
      );

      const inline = policyDocument(['logs:PutLogEvents']);
      await iam.send(
        new PutRolePolicyCommand({ RoleName: 'worker', PolicyName: 'logs', PolicyDocument: inline }),
      );
      const got = await iam.send(new GetRolePolicyCommand({ RoleName: 'worker', PolicyName: 'logs' }));
      expect(JSON.parse(decodeURIComponent(got.PolicyDocument!))).toEqual(JSON.parse(inline));
      expect((await iam.send(new ListRolePoliciesCommand({ RoleName: 'worker' }))).PolicyNames).toEqual([
        'logs',
      ]);

      await iam.send(new AttachRolePolicyCommand({ RoleName: 'worker', PolicyArn: READ_ONLY }));
      const attached = await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: 'worker' }));
      expect(attached.AttachedPolicies).toEqual([{ PolicyName: 'ReadOnlyAccess', PolicyArn: READ_ONLY }]);
      const { Roles } = await iam.send(new ListRolesCommand({ PathPrefix: '/service/' }));
      expect(Roles?.map((r) => r.RoleName)).toEqual(['worker']);

      await expect(iam.send(new DeleteRoleCommand({ RoleName: 'worker' }))).rejects.toMatchObject({
        name: 'DeleteConflictException',
        $metadata: { httpStatusCode: 409 },
      });
    });

    it('answers NoSuchEntity for a role that does not exist', async () => {
      const error = await admin()
        .send(new GetRoleCommand({ RoleName: 'ghost' }))
        .catch((e: Error) => e);
      expect(error).toMatchObject({ name: 'NoSuchEntityException', $metadata: { httpStatusCode: 404 } });
      expect((error as Error).message).toBe('The role with name ghost cannot be found.');
    });
  });

  describe('the casbridge member role', () => {
    it('may create the connector user at its path, and nothing else', async () => {
      const account = defaultAccountId(1);
      const iam = iamClient(sandbox(), await memberRoleCredentials(sandbox(), account));
      // Only under the StackSet's boundary (templates/member-role.yml: iam:PermissionsBoundary).
      await expect(
        iam.send(new CreateUserCommand({ UserName: CASBRIDGE_USER, Path: CASBRIDGE_PATH })),
      ).rejects.toMatchObject({ name: 'AccessDenied' });
      const { User } = await iam.send(
        new CreateUserCommand({
          UserName: CASBRIDGE_USER,
          Path: CASBRIDGE_PATH,
          PermissionsBoundary: `arn:aws:iam::${account}:policy/casbridge/CasBridgeConnectorBoundary`,
        }),
      );
      expect(User?.Arn).toBe(`arn:aws:iam::${account}:user/casbridge/CloudAppSecurity`);
      await expect(iam.send(new GetUserCommand({ UserName: CASBRIDGE_USER }))).resolves.toHaveProperty(
        'User',
      );

      const denied = await iam
        .send(
          new CreateRoleCommand({
            RoleName: 'Escalate',
            AssumeRolePolicyDocument: JSON.stringify({
              Version: '2012-10-17',
              Statement: [{ Effect: 'Allow', Principal: { AWS: '*' }, Action: 'sts:AssumeRole' }],
            }),
          }),
        )
        .catch((e: Error) => e);
      expect(denied).toMatchObject({ name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
      expect((denied as Error).message).toContain('is not authorized to perform: iam:CreateRole');
      await expect(
        iam.send(new CreateUserCommand({ UserName: 'SomeoneElse', Path: CASBRIDGE_PATH })),
      ).rejects.toMatchObject({ name: 'AccessDenied' });
      await expect(
        iam.send(new CreateUserCommand({ UserName: CASBRIDGE_USER.concat('2') })),
      ).rejects.toMatchObject({ name: 'AccessDenied' });
    });

    it('sees that the connector user is missing, since IAM authorizes a missing user by its path-less ARN', async () => {
      const iam = iamClient(sandbox(), await memberRoleCredentials(sandbox(), defaultAccountId(2)));
      await expect(iam.send(new GetUserCommand({ UserName: CASBRIDGE_USER }))).rejects.toMatchObject({
        name: 'NoSuchEntityException',
      });
      // The path-less grant is for GetUser alone: no write reaches a user outside the casbridge path.
      await expect(iam.send(new CreateUserCommand({ UserName: CASBRIDGE_USER }))).rejects.toMatchObject({
        name: 'AccessDenied',
        message: expect.stringContaining(
          `on resource: arn:aws:iam::${defaultAccountId(2)}:user/CloudAppSecurity`,
        ),
      });
    });

    it('simulates what the member role may do, with the evaluator that enforces it', async () => {
      const account = defaultAccountId(1);
      // As the account's administrator: the member role may simulate only the connector user.
      const iam = iamClient(sandbox(), await accountAdminCredentials(sandbox(), account));
      const roleArn = `arn:aws:iam::${account}:role/CasBridgeExecutionRole`;
      const connector = `arn:aws:iam::${account}:user/casbridge/CloudAppSecurity`;
      const other = `arn:aws:iam::${account}:user/casbridge/SomeoneElse`;
      const users = await iam.send(
        new SimulatePrincipalPolicyCommand({
          PolicySourceArn: roleArn,
          ActionNames: ['iam:DeleteUser', 'iam:CreateAccessKey'],
          ResourceArns: [connector, other],
        }),
      );
      expect(
        users.EvaluationResults?.map((r) => [r.EvalActionName, r.EvalResourceName, r.EvalDecision]),
      ).toEqual([
        ['iam:DeleteUser', connector, 'allowed'],
        ['iam:DeleteUser', other, 'implicitDeny'],
        ['iam:CreateAccessKey', connector, 'allowed'],
        ['iam:CreateAccessKey', other, 'implicitDeny'],
      ]);
      expect(users.EvaluationResults?.[0]?.OrganizationsDecisionDetail).toEqual({
        AllowedByOrganizations: true,
      });

      const roles = await iam.send(
        new SimulatePrincipalPolicyCommand({
          PolicySourceArn: roleArn,
          ActionNames: ['iam:CreateRole'],
          ResourceArns: [`arn:aws:iam::${account}:role/Escalate`],
        }),
      );
      expect(roles.EvaluationResults?.map((r) => r.EvalDecision)).toEqual(['implicitDeny']);
    });
  });
});

describe('IAM with key propagation delay', () => {
  const sandbox = useSandbox({ accounts: 1, keyPropagationMs: 10_000 });

  it('refuses a new key until IAM has propagated it, then accepts it', async () => {
    const key = await createUserWithKey(sandbox(), 'fresh');
    const sts = new STSClient(sandbox().clientConfig(key));
    await expect(sts.send(new GetCallerIdentityCommand({}))).rejects.toMatchObject({
      name: 'InvalidClientTokenId',
      $metadata: { httpStatusCode: 403 },
    });
    sandbox().world.clock.advance(10_000);
    const me = await sts.send(new GetCallerIdentityCommand({}));
    expect(me.Arn).toBe(`arn:aws:iam::${sandbox().stack.accountId}:user/fresh`);
  });
});

describe('IAM under a service control policy', () => {
  const account = '111122223333';
  const sandbox = useSandbox({
    scenario: {
      accounts: [{ id: account, name: 'locked-down', faults: { scpDeny: ['iam:CreateUser'] } }],
    },
  });

  it('refuses an action the SCP denies even though the member role allows it', async () => {
    const iam = iamClient(sandbox(), await memberRoleCredentials(sandbox(), account));
    const error = await iam
      .send(new CreateUserCommand({ UserName: CASBRIDGE_USER, Path: CASBRIDGE_PATH }))
      .catch((e: Error) => e);
    expect(error).toMatchObject({ name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
    expect((error as Error).message).toContain('service control policy');
  });

  it('reports the SCP deny in a simulation of the member role', async () => {
    const iam = iamClient(sandbox(), await accountAdminCredentials(sandbox(), account));
    const { EvaluationResults } = await iam.send(
      new SimulatePrincipalPolicyCommand({
        PolicySourceArn: `arn:aws:iam::${account}:role/CasBridgeExecutionRole`,
        ActionNames: ['iam:CreateUser', 'iam:DeleteUser'],
        ResourceArns: [`arn:aws:iam::${account}:user/casbridge/CloudAppSecurity`],
      }),
    );
    expect(
      EvaluationResults?.map((r) => [r.EvalActionName, r.EvalDecision, r.OrganizationsDecisionDetail]),
    ).toEqual([
      ['iam:CreateUser', 'explicitDeny', { AllowedByOrganizations: false }],
      ['iam:DeleteUser', 'allowed', { AllowedByOrganizations: true }],
    ]);
  });
});
