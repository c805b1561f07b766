import {
  AttachUserPolicyCommand,
  CreateAccessKeyCommand,
  CreateLoginProfileCommand,
  CreatePolicyCommand,
  CreateUserCommand,
  DeleteLoginProfileCommand,
  DeletePolicyCommand,
  DeleteUserCommand,
  DeleteUserPermissionsBoundaryCommand,
  GetLoginProfileCommand,
  GetPolicyCommand,
  GetUserCommand,
  IAMClient,
  ListUsersCommand,
  PutUserPermissionsBoundaryCommand,
  SimulatePrincipalPolicyCommand,
  UpdateLoginProfileCommand,
} from '@aws-sdk/client-iam';
import type { Sandbox, SandboxCredentials } from '../../sandbox';
import { useSandbox } from '../support/sandbox';

const ADMINISTRATOR = 'arn:aws:iam::aws:policy/AdministratorAccess';
const READ_ONLY = 'arn:aws:iam::aws:policy/ReadOnlyAccess';

function iamClient(sandbox: Sandbox, credentials?: SandboxCredentials): IAMClient {
  return new IAMClient({ ...sandbox.clientConfig(credentials), maxAttempts: 1 });
}

describe('IAM permissions boundaries', () => {
  const sandbox = useSandbox({ accounts: 1 });
  const admin = () => iamClient(sandbox());
  const mgmt = () => sandbox().stack.accountId;

  async function readOnlyBoundary(name: string): Promise<string> {
    const { Policy } = await admin().send(
      new CreatePolicyCommand({
        PolicyName: name,
        PolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: ['iam:Get*', 'iam:List*'], Resource: '*' }],
        }),
      }),
    );
    return Policy!.Arn!;
  }

  it('sets a boundary at creation, reports it on GetUser only, and keeps its policy from deletion', async () => {
    // Prepare
    const iam = admin();
    const boundary = await readOnlyBoundary('boundary-at-creation');
    // Act
    const created = await iam.send(
      new CreateUserCommand({ UserName: 'bounded', PermissionsBoundary: boundary }),
    );
    const fetched = await iam.send(new GetUserCommand({ UserName: 'bounded' }));
    const listed = await iam.send(new ListUsersCommand({}));
    // Assess
    const expected = { PermissionsBoundaryType: 'Policy', PermissionsBoundaryArn: boundary };
    expect(created.User?.PermissionsBoundary).toEqual(expected);
    expect(fetched.User?.PermissionsBoundary).toEqual(expected);
    expect(listed.Users?.find((u) => u.UserName === 'bounded')?.PermissionsBoundary).toBeUndefined();
    const { Policy } = await iam.send(new GetPolicyCommand({ PolicyArn: boundary }));
    expect(Policy).toMatchObject({ AttachmentCount: 0, PermissionsBoundaryUsageCount: 1 });
    await expect(iam.send(new DeletePolicyCommand({ PolicyArn: boundary }))).rejects.toMatchObject({
      name: 'DeleteConflictException',
      message: 'Cannot delete a policy attached to entities.',
    });

    await iam.send(new DeleteUserPermissionsBoundaryCommand({ UserName: 'bounded' }));
    expect(
      (await iam.send(new GetUserCommand({ UserName: 'bounded' }))).User?.PermissionsBoundary,
    ).toBeUndefined();
    await iam.send(new DeletePolicyCommand({ PolicyArn: boundary }));
  });

  it('refuses a boundary naming a policy that does not exist, in IAM’s words', async () => {
    const iam = admin();
    const missing = `arn:aws:iam::${mgmt()}:policy/no-such-boundary`;
    await iam.send(new CreateUserCommand({ UserName: 'unbounded' }));
    const error = await iam
      .send(new PutUserPermissionsBoundaryCommand({ UserName: 'unbounded', PermissionsBoundary: missing }))
      .catch((e: Error) => e);
    expect(error).toMatchObject({ name: 'NoSuchEntityException', $metadata: { httpStatusCode: 404 } });
    expect((error as Error).message).toBe(`Scope ARN: ${missing} does not exist or is not attachable.`);
    await expect(
      iam.send(new CreateUserCommand({ UserName: 'never-created', PermissionsBoundary: missing })),
    ).rejects.toMatchObject({ name: 'NoSuchEntityException' });
    await expect(iam.send(new GetUserCommand({ UserName: 'never-created' }))).rejects.toMatchObject({
      name: 'NoSuchEntityException',
    });
  });

  it('caps an attached AdministratorAccess at what the boundary allows, for requests and simulations', async () => {
    // Prepare
    const iam = admin();
    const boundary = await readOnlyBoundary('read-only-boundary');
    await iam.send(new CreateUserCommand({ UserName: 'capped-admin', PermissionsBoundary: boundary }));
    await iam.send(new AttachUserPolicyCommand({ UserName: 'capped-admin', PolicyArn: ADMINISTRATOR }));
    const { AccessKey } = await iam.send(new CreateAccessKeyCommand({ UserName: 'capped-admin' }));
    const asUser = iamClient(sandbox(), {
      accessKeyId: AccessKey!.AccessKeyId!,
      secretAccessKey: AccessKey!.SecretAccessKey!,
    });
    const userArn = `arn:aws:iam::${mgmt()}:user/capped-admin`;
    // Act
    const read = await asUser.send(new ListUsersCommand({}));
    const write = await asUser.send(new CreateUserCommand({ UserName: 'escalated' })).catch((e: Error) => e);
    const simulation = await iam.send(
      new SimulatePrincipalPolicyCommand({
        PolicySourceArn: userArn,
        ActionNames: ['iam:GetUser', 'iam:CreateUser'],
        ResourceArns: [userArn],
      }),
    );
    // Assess
    expect(read.Users).toBeDefined();
    expect(write).toMatchObject({ name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
    expect((write as Error).message).toContain('because no permissions boundary allows the action');
    expect(
      simulation.EvaluationResults?.map((r) => [
        r.EvalActionName,
        r.EvalDecision,
        r.PermissionsBoundaryDecisionDetail,
      ]),
    ).toEqual([
      ['iam:GetUser', 'allowed', { AllowedByPermissionsBoundary: true }],
      ['iam:CreateUser', 'implicitDeny', { AllowedByPermissionsBoundary: false }],
    ]);

    // Without the boundary the same call, already decided once, is decided afresh.
    await iam.send(new DeleteUserPermissionsBoundaryCommand({ UserName: 'capped-admin' }));
    await expect(asUser.send(new CreateUserCommand({ UserName: 'escalated' }))).resolves.toHaveProperty(
      'User',
    );
  });

  it('lets an administrator allow new users and boundary changes only with a given boundary (iam:PermissionsBoundary)', async () => {
    // Prepare: a delegated administrator who must put the read-only boundary on every user.
    const iam = admin();
    const boundary = await readOnlyBoundary('delegated-boundary');
    const { Policy } = await iam.send(
      new CreatePolicyCommand({
        PolicyName: 'delegated-admin',
        PolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Action: ['iam:CreateUser', 'iam:PutUserPermissionsBoundary'],
              Resource: '*',
              Condition: { ArnEquals: { 'iam:PermissionsBoundary': boundary } },
            },
          ],
        }),
      }),
    );
    await iam.send(new CreateUserCommand({ UserName: 'delegate' }));
    await iam.send(new AttachUserPolicyCommand({ UserName: 'delegate', PolicyArn: Policy!.Arn! }));
    const { AccessKey } = await iam.send(new CreateAccessKeyCommand({ UserName: 'delegate' }));
    const asDelegate = iamClient(sandbox(), {
      accessKeyId: AccessKey!.AccessKeyId!,
      secretAccessKey: AccessKey!.SecretAccessKey!,
    });
    // Act + Assess
    await expect(asDelegate.send(new CreateUserCommand({ UserName: 'free-user' }))).rejects.toMatchObject({
      name: 'AccessDenied',
    });
    await expect(
      asDelegate.send(new CreateUserCommand({ UserName: 'wide-user', PermissionsBoundary: ADMINISTRATOR })),
    ).rejects.toMatchObject({ name: 'AccessDenied' });
    const { User } = await asDelegate.send(
      new CreateUserCommand({ UserName: 'boxed-user', PermissionsBoundary: boundary }),
    );
    expect(User?.PermissionsBoundary?.PermissionsBoundaryArn).toBe(boundary);
    await expect(
      asDelegate.send(
        new PutUserPermissionsBoundaryCommand({ UserName: 'boxed-user', PermissionsBoundary: READ_ONLY }),
      ),
    ).rejects.toMatchObject({ name: 'AccessDenied' });
  });
});

describe('IAM login profiles', () => {
  const sandbox = useSandbox({ accounts: 1 });
  const admin = () => iamClient(sandbox());
  const PASSWORD = 'Correct-Horse-9';

  it('creates, reads, updates and deletes a console password, and blocks DeleteUser while it exists', async () => {
    // Prepare
    const iam = admin();
    await iam.send(new CreateUserCommand({ UserName: 'console-user' }));
    // Act
    const created = await iam.send(
      new CreateLoginProfileCommand({
        UserName: 'console-user',
        Password: PASSWORD,
        PasswordResetRequired: true,
      }),
    );
    const again = await iam
      .send(new CreateLoginProfileCommand({ UserName: 'console-user', Password: PASSWORD }))
      .catch((e: Error) => e);
    await iam.send(new UpdateLoginProfileCommand({ UserName: 'console-user', PasswordResetRequired: false }));
    const fetched = await iam.send(new GetLoginProfileCommand({ UserName: 'console-user' }));
    // Assess
    expect(created.LoginProfile).toMatchObject({ UserName: 'console-user', PasswordResetRequired: true });
    expect(created.LoginProfile?.CreateDate).toBeInstanceOf(Date);
    expect(again).toMatchObject({ name: 'EntityAlreadyExistsException', $metadata: { httpStatusCode: 409 } });
    expect((again as Error).message).toBe('Login Profile for user console-user already exists.');
    expect(fetched.LoginProfile).toMatchObject({ UserName: 'console-user', PasswordResetRequired: false });
    await expect(iam.send(new DeleteUserCommand({ UserName: 'console-user' }))).rejects.toMatchObject({
      name: 'DeleteConflictException',
      message: 'Cannot delete entity, must delete login profile first.',
    });

    await iam.send(new DeleteLoginProfileCommand({ UserName: 'console-user' }));
    const gone = await iam
      .send(new GetLoginProfileCommand({ UserName: 'console-user' }))
      .catch((e: Error) => e);
    expect(gone).toMatchObject({ name: 'NoSuchEntityException', $metadata: { httpStatusCode: 404 } });
    expect((gone as Error).message).toBe('Login Profile for User console-user cannot be found.');
    await expect(iam.send(new DeleteLoginProfileCommand({ UserName: 'console-user' }))).rejects.toMatchObject(
      {
        name: 'NoSuchEntityException',
      },
    );
    await iam.send(new DeleteUserCommand({ UserName: 'console-user' }));
  });

  it('refuses a password weaker than IAM’s default policy without repeating it', async () => {
    const iam = admin();
    await iam.send(new CreateUserCommand({ UserName: 'weak-password' }));
    for (const password of ['Sh0rt!', 'alllowercaseletters']) {
      const error = await iam
        .send(new CreateLoginProfileCommand({ UserName: 'weak-password', Password: password }))
        .catch((e: Error) => e);
      expect(error).toMatchObject({
        name: 'PasswordPolicyViolationException',
        $metadata: { httpStatusCode: 400 },
      });
      expect((error as Error).message).not.toContain(password);
    }
    await expect(
      iam.send(new CreateLoginProfileCommand({ UserName: 'weak-password', Password: 'Strong-Pass-1\u0001' })),
    ).rejects.toMatchObject({ name: 'ValidationError', $metadata: { httpStatusCode: 400 } });
    await expect(iam.send(new GetLoginProfileCommand({ UserName: 'weak-password' }))).rejects.toMatchObject({
      name: 'NoSuchEntityException',
    });
  });

  it('authorizes a login profile on the user it is for', async () => {
    const iam = admin();
    await iam.send(new CreateUserCommand({ UserName: 'self-service' }));
    await iam.send(new CreateUserCommand({ UserName: 'someone-else' }));
    await iam.send(new AttachUserPolicyCommand({ UserName: 'self-service', PolicyArn: READ_ONLY }));
    const { Policy } = await iam.send(
      new CreatePolicyCommand({
        PolicyName: 'own-password',
        PolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Action: 'iam:CreateLoginProfile',
              Resource: `arn:aws:iam::${sandbox().stack.accountId}:user/self-service`,
            },
          ],
        }),
      }),
    );
    await iam.send(new AttachUserPolicyCommand({ UserName: 'self-service', PolicyArn: Policy!.Arn! }));
    const { AccessKey } = await iam.send(new CreateAccessKeyCommand({ UserName: 'self-service' }));
    const asUser = iamClient(sandbox(), {
      accessKeyId: AccessKey!.AccessKeyId!,
      secretAccessKey: AccessKey!.SecretAccessKey!,
    });
    await expect(
      asUser.send(new CreateLoginProfileCommand({ UserName: 'someone-else', Password: PASSWORD })),
    ).rejects.toMatchObject({
      name: 'AccessDenied',
      message: expect.stringContaining('iam:CreateLoginProfile'),
    });
    const own = await asUser.send(new CreateLoginProfileCommand({ Password: PASSWORD }));
    expect(own.LoginProfile?.UserName).toBe('self-service');
  });
});
