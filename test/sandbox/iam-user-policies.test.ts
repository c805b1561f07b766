import {
  AddUserToGroupCommand,
  CreateAccessKeyCommand,
  CreateGroupCommand,
  CreateUserCommand,
  DeleteGroupCommand,
  DeleteGroupPolicyCommand,
  DeleteUserCommand,
  DeleteUserPolicyCommand,
  GetGroupPolicyCommand,
  GetUserPolicyCommand,
  IAMClient,
  ListGroupPoliciesCommand,
  ListUserPoliciesCommand,
  ListUsersCommand,
  PutGroupPolicyCommand,
  PutUserPolicyCommand,
} from '@aws-sdk/client-iam';
import type { Sandbox, SandboxCredentials } from '../../sandbox';
import { useSandbox } from '../support/sandbox';

function iamClient(sandbox: Sandbox, credentials?: SandboxCredentials): IAMClient {
  // One attempt: LimitExceeded is on the SDK's throttling list and would be retried.
  return new IAMClient({ ...sandbox.clientConfig(credentials), maxAttempts: 1 });
}

function allow(actions: string[], sid = 'Allow'): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Sid: sid, Effect: 'Allow', Action: actions, Resource: '*' }],
  });
}

describe('IAM inline policies of users and groups', () => {
  const sandbox = useSandbox({ accounts: 1 });
  const admin = () => iamClient(sandbox());

  async function userWithKey(userName: string): Promise<SandboxCredentials> {
    await admin().send(new CreateUserCommand({ UserName: userName }));
    const { AccessKey } = await admin().send(new CreateAccessKeyCommand({ UserName: userName }));
    return { accessKeyId: AccessKey!.AccessKeyId!, secretAccessKey: AccessKey!.SecretAccessKey! };
  }

  it('puts, reads back URL-encoded, lists and deletes a user’s inline policy', async () => {
    // Prepare
    const iam = admin();
    await iam.send(new CreateUserCommand({ UserName: 'inline-holder' }));
    const document = JSON.stringify(JSON.parse(allow(['s3:GetObject'])), null, 2);
    // Act
    await iam.send(
      new PutUserPolicyCommand({ UserName: 'inline-holder', PolicyName: 'read', PolicyDocument: document }),
    );
    await iam.send(
      new PutUserPolicyCommand({
        UserName: 'inline-holder',
        PolicyName: 'extra',
        PolicyDocument: allow(['sns:Publish']),
      }),
    );
    const got = await iam.send(new GetUserPolicyCommand({ UserName: 'inline-holder', PolicyName: 'read' }));
    const firstPage = await iam.send(new ListUserPoliciesCommand({ UserName: 'inline-holder', MaxItems: 1 }));
    const secondPage = await iam.send(
      new ListUserPoliciesCommand({ UserName: 'inline-holder', Marker: firstPage.Marker }),
    );
    // Assess
    expect(got).toMatchObject({ UserName: 'inline-holder', PolicyName: 'read' });
    expect(got.PolicyDocument).toMatch(/^%7B%22Version%22/);
    expect(JSON.parse(decodeURIComponent(got.PolicyDocument!))).toEqual(JSON.parse(document));
    expect(firstPage).toMatchObject({ PolicyNames: ['extra'], IsTruncated: true });
    expect(secondPage).toMatchObject({ PolicyNames: ['read'], IsTruncated: false });

    await expect(iam.send(new DeleteUserCommand({ UserName: 'inline-holder' }))).rejects.toMatchObject({
      name: 'DeleteConflictException',
      message: 'Cannot delete entity, must delete policies first.',
      $metadata: { httpStatusCode: 409 },
    });
    await iam.send(new DeleteUserPolicyCommand({ UserName: 'inline-holder', PolicyName: 'read' }));
    await iam.send(new DeleteUserPolicyCommand({ UserName: 'inline-holder', PolicyName: 'extra' }));
    const missing = await iam
      .send(new GetUserPolicyCommand({ UserName: 'inline-holder', PolicyName: 'read' }))
      .catch((e: Error) => e);
    expect(missing).toMatchObject({ name: 'NoSuchEntityException', $metadata: { httpStatusCode: 404 } });
    expect((missing as Error).message).toBe('The user policy with name read cannot be found.');
    await iam.send(new DeleteUserCommand({ UserName: 'inline-holder' }));
  });

  it('holds a user’s inline policies to 2,048 characters together, as IAM does', async () => {
    const iam = admin();
    await iam.send(new CreateUserCommand({ UserName: 'quota-holder' }));
    const actions = (prefix: string) => Array.from({ length: 40 }, (_, i) => `s3:${prefix}${i}`);
    const big = allow(actions('GetObjectVersionTagging'));
    expect(big.length).toBeGreaterThan(1024);
    await iam.send(
      new PutUserPolicyCommand({ UserName: 'quota-holder', PolicyName: 'one', PolicyDocument: big }),
    );
    // Replacing a policy counts it once.
    await iam.send(
      new PutUserPolicyCommand({ UserName: 'quota-holder', PolicyName: 'one', PolicyDocument: big }),
    );
    const error = await iam
      .send(new PutUserPolicyCommand({ UserName: 'quota-holder', PolicyName: 'two', PolicyDocument: big }))
      .catch((e: Error) => e);
    expect(error).toMatchObject({ name: 'LimitExceededException', $metadata: { httpStatusCode: 409 } });
    expect((error as Error).message).toBe('Maximum policy size of 2048 bytes exceeded for user quota-holder');
    expect((await iam.send(new ListUserPoliciesCommand({ UserName: 'quota-holder' }))).PolicyNames).toEqual([
      'one',
    ]);
    await expect(
      iam.send(
        new PutUserPolicyCommand({
          UserName: 'quota-holder',
          PolicyName: 'bad',
          PolicyDocument: '{"Version":',
        }),
      ),
    ).rejects.toMatchObject({ name: 'MalformedPolicyDocumentException', $metadata: { httpStatusCode: 400 } });
  });

  it('gives a user the permissions of its inline policy and of its group’s, until they are deleted', async () => {
    // Prepare
    const iam = admin();
    const key = await userWithKey('inline-grantee');
    const asUser = iamClient(sandbox(), key);
    await iam.send(new CreateGroupCommand({ GroupName: 'inline-group' }));
    await iam.send(new AddUserToGroupCommand({ GroupName: 'inline-group', UserName: 'inline-grantee' }));
    await expect(asUser.send(new ListUsersCommand({}))).rejects.toMatchObject({ name: 'AccessDenied' });
    // Act + Assess: through the user's own inline policy.
    await iam.send(
      new PutUserPolicyCommand({
        UserName: 'inline-grantee',
        PolicyName: 'list',
        PolicyDocument: allow(['iam:ListUsers']),
      }),
    );
    await expect(asUser.send(new ListUsersCommand({}))).resolves.toHaveProperty('Users');
    await iam.send(new DeleteUserPolicyCommand({ UserName: 'inline-grantee', PolicyName: 'list' }));
    await expect(asUser.send(new ListUsersCommand({}))).rejects.toMatchObject({ name: 'AccessDenied' });
    // Through the group's inline policy.
    await iam.send(
      new PutGroupPolicyCommand({
        GroupName: 'inline-group',
        PolicyName: 'list',
        PolicyDocument: allow(['iam:ListUsers']),
      }),
    );
    await expect(asUser.send(new ListUsersCommand({}))).resolves.toHaveProperty('Users');
    const got = await iam.send(new GetGroupPolicyCommand({ GroupName: 'inline-group', PolicyName: 'list' }));
    expect(got).toMatchObject({ GroupName: 'inline-group', PolicyName: 'list' });
    expect(JSON.parse(decodeURIComponent(got.PolicyDocument!))).toEqual(JSON.parse(allow(['iam:ListUsers'])));
    expect((await iam.send(new ListGroupPoliciesCommand({ GroupName: 'inline-group' }))).PolicyNames).toEqual(
      ['list'],
    );
    await iam.send(new DeleteGroupPolicyCommand({ GroupName: 'inline-group', PolicyName: 'list' }));
    await expect(asUser.send(new ListUsersCommand({}))).rejects.toMatchObject({ name: 'AccessDenied' });
    await expect(
      iam.send(new DeleteGroupPolicyCommand({ GroupName: 'inline-group', PolicyName: 'list' })),
    ).rejects.toMatchObject({
      name: 'NoSuchEntityException',
      message: 'The group policy with name list cannot be found.',
    });
  });

  it('refuses to delete a group that still has an inline policy', async () => {
    const iam = admin();
    await iam.send(new CreateGroupCommand({ GroupName: 'inline-only' }));
    await iam.send(
      new PutGroupPolicyCommand({
        GroupName: 'inline-only',
        PolicyName: 'p',
        PolicyDocument: allow(['s3:*']),
      }),
    );
    await expect(iam.send(new DeleteGroupCommand({ GroupName: 'inline-only' }))).rejects.toMatchObject({
      name: 'DeleteConflictException',
      message: 'Cannot delete entity, must delete policies first.',
    });
    await iam.send(new DeleteGroupPolicyCommand({ GroupName: 'inline-only', PolicyName: 'p' }));
    await iam.send(new DeleteGroupCommand({ GroupName: 'inline-only' }));
  });
});
