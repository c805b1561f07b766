import {
  AddUserToGroupCommand,
  AttachGroupPolicyCommand,
  CreateAccessKeyCommand,
  CreatePolicyVersionCommand,
  CreateUserCommand,
  DeleteGroupPolicyCommand,
  GetGroupCommand,
  GetLoginProfileCommand,
  GetUserCommand,
  IAMClient,
  ListAccessKeysCommand,
  ListAttachedGroupPoliciesCommand,
  ListAttachedUserPoliciesCommand,
  ListGroupPoliciesCommand,
  ListGroupsForUserCommand,
  ListUserPoliciesCommand,
  PutGroupPolicyCommand,
  PutUserPermissionsBoundaryCommand,
} from '@aws-sdk/client-iam';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { clientConfig } from '../../commons/aws-clients';
import { type Config, connectorBoundaryArn, connectorPolicyArn } from '../../commons/config';
import { ensureAccessKey } from '../../functions/access-key/ensure-access-key';
import { ensurePolicy } from '../../functions/policy/ensure-policy';
import { ensureUser } from '../../functions/user/ensure-user';
import { verifyConnector } from '../../functions/verify/verify-connector';
import { captureOutput } from '../support/capture-output';
import { setLambdaEnvironment } from '../support/lambda-env';
import { memberAccountClients } from '../support/member';
import { accountInput, loadPipeline } from '../support/pipeline';
import { functionRoleSettings, sandboxConfig } from '../support/product';
import { assumeRole, useSandbox } from '../support/sandbox';

const ADMINISTRATOR = 'arn:aws:iam::aws:policy/AdministratorAccess';
const READ_ONLY = 'arn:aws:iam::aws:policy/ReadOnlyAccess';
const USER = 'CloudAppSecurity';
const GROUP = 'CloudAppSecurity';

/** Accounts whose connector user someone else changed, one kind each, and clean ones. */
const ACCOUNTS = {
  attached: '300000000001',
  inline: '300000000002',
  foreignGroup: '300000000003',
  loginProfile: '300000000004',
  key: '300000000005',
  group: '300000000006',
  effective: '300000000007',
  boundary: '300000000008',
};

describe('tamper detection and repair on the connector user', () => {
  const sandbox = useSandbox({
    scenario: {
      accounts: [
        {
          id: ACCOUNTS.attached,
          name: 'attached',
          faults: { preexisting: { extraAttachedPolicies: [ADMINISTRATOR] } },
        },
        {
          id: ACCOUNTS.inline,
          name: 'inline',
          faults: { preexisting: { inlinePolicies: [{ name: 'backdoor', actions: ['iam:*'] }] } },
        },
        {
          id: ACCOUNTS.foreignGroup,
          name: 'foreign-group',
          faults: { preexisting: { otherGroups: [{ name: 'Admins', attachedPolicies: [ADMINISTRATOR] }] } },
        },
        { id: ACCOUNTS.loginProfile, name: 'login-profile', faults: { preexisting: { loginProfile: true } } },
        { id: ACCOUNTS.key, name: 'key' },
        { id: ACCOUNTS.group, name: 'group' },
        { id: ACCOUNTS.effective, name: 'effective' },
        { id: ACCOUNTS.boundary, name: 'boundary' },
      ],
    },
  });
  const repair = () => sandboxConfig(sandbox());
  const report = () => sandboxConfig(sandbox(), { CASBRIDGE_TAMPER_RESPONSE: 'report' });

  /** IAM in the account as its administrators have it: how the tampering is made and seen. */
  async function admin(accountId: string): Promise<IAMClient> {
    return new IAMClient(
      sandbox().clientConfig(
        await assumeRole(sandbox(), `arn:aws:iam::${accountId}:role/OrganizationAccountAccessRole`),
      ),
    );
  }

  /** The user and policy steps of a run, the policy step told what the user step found. */
  async function userAndPolicy(accountId: string, config: Config) {
    const { iam } = await memberAccountClients(sandbox(), config, accountId, 'user');
    const ledger = { lastOutcome: 'SUCCEEDED' as const };
    const user = await ensureUser(iam, config, accountId, { dryRun: false, ledger });
    const policy = await ensurePolicy(iam, config, accountId, { dryRun: false, ledger, steps: { user } });
    return { user, policy };
  }

  async function accessKey(accountId: string, config: Config) {
    const { iam } = await memberAccountClients(sandbox(), config, accountId, 'accessKey');
    const secrets = new SecretsManagerClient(
      clientConfig(await functionRoleSettings(sandbox(), 'accessKey')),
    );
    return ensureAccessKey({ iam, secrets, config, now: () => sandbox().world.clock.nowMs() }, accountId, {
      dryRun: false,
      ledger: { lastOutcome: 'SUCCEEDED', connector: 'AWAITING_CONNECTION' },
    });
  }

  const attachedToUser = async (accountId: string) =>
    (
      (await (await admin(accountId)).send(new ListAttachedUserPoliciesCommand({ UserName: USER })))
        .AttachedPolicies ?? []
    ).map((p) => p.PolicyArn);

  it('under report, fails an AdministratorAccess attached to the connector user as ConnectorUserTampered naming it, and leaves it', async () => {
    await expect(userAndPolicy(ACCOUNTS.attached, report())).rejects.toMatchObject({
      name: 'ConnectorUserTampered',
      step: 'user',
      findings: [`managed policy ${ADMINISTRATOR} attached to user ${USER}`],
      remediation: expect.stringContaining('CASBRIDGE_TAMPER_RESPONSE=repair'),
    });
    expect(await attachedToUser(ACCOUNTS.attached)).toEqual([ADMINISTRATOR]);
  });

  it('under repair, detaches an AdministratorAccess attached to the connector user and says so', async () => {
    const { user } = await userAndPolicy(ACCOUNTS.attached, repair());
    expect(user).toMatchObject({
      action: 'updated',
      details: { removed: `managed policy ${ADMINISTRATOR} attached to user ${USER}` },
    });
    expect(await attachedToUser(ACCOUNTS.attached)).toEqual([]);
  });

  it('under report, fails an inline policy on the connector user, and under repair deletes it', async () => {
    const inline = async () =>
      (await (await admin(ACCOUNTS.inline)).send(new ListUserPoliciesCommand({ UserName: USER })))
        .PolicyNames;
    await expect(userAndPolicy(ACCOUNTS.inline, report())).rejects.toMatchObject({
      name: 'ConnectorUserTampered',
      findings: [`inline policy backdoor on user ${USER}`],
    });
    expect(await inline()).toEqual(['backdoor']);
    await expect(userAndPolicy(ACCOUNTS.inline, repair())).resolves.toMatchObject({
      user: { details: { removed: `inline policy backdoor on user ${USER}` } },
    });
    expect(await inline()).toEqual([]);
  });

  it('under report, fails a console password on the connector user, and under repair deletes it', async () => {
    const hasLoginProfile = async () =>
      (await admin(ACCOUNTS.loginProfile)).send(new GetLoginProfileCommand({ UserName: USER })).then(
        () => true,
        () => false,
      );
    await expect(userAndPolicy(ACCOUNTS.loginProfile, report())).rejects.toMatchObject({
      name: 'ConnectorUserTampered',
      findings: [`user ${USER} has a console password (login profile)`],
    });
    expect(await hasLoginProfile()).toBe(true);
    await userAndPolicy(ACCOUNTS.loginProfile, repair());
    expect(await hasLoginProfile()).toBe(false);
  });

  it('reports the connector user in a group casbridge does not own even under repair, and leaves the membership', async () => {
    for (const config of [report(), repair()]) {
      await expect(userAndPolicy(ACCOUNTS.foreignGroup, config)).rejects.toMatchObject({
        name: 'ConnectorUserTampered',
        step: 'user',
        findings: [`user ${USER} is a member of group arn:aws:iam::${ACCOUNTS.foreignGroup}:group/Admins`],
        remediation: expect.stringContaining('cannot remove this itself'),
      });
    }
    const groups = await (await admin(ACCOUNTS.foreignGroup)).send(
      new ListGroupsForUserCommand({ UserName: USER }),
    );
    expect(groups.Groups?.map((g) => g.GroupName)).toEqual(['Admins']);
  });

  it('under report, fails an access key someone else made and used, and under repair deletes it', async () => {
    await userAndPolicy(ACCOUNTS.key, repair());
    await accessKey(ACCOUNTS.key, repair());
    sandbox().world.clock.advance(60_000);
    const other = (await (await admin(ACCOUNTS.key)).send(new CreateAccessKeyCommand({ UserName: USER })))
      .AccessKey!.AccessKeyId!;
    sandbox().world.accounts.get(ACCOUNTS.key)!.iam.accessKeys.get(other)!.lastUsed = {
      date: sandbox().world.clock.now(),
      serviceName: 's3',
      region: 'us-east-1',
    };
    const keys = async () =>
      (
        (await (await admin(ACCOUNTS.key)).send(new ListAccessKeysCommand({ UserName: USER })))
          .AccessKeyMetadata ?? []
      ).map((k) => k.AccessKeyId);
    await expect(accessKey(ACCOUNTS.key, report())).rejects.toMatchObject({
      name: 'ConnectorUserTampered',
      step: 'accessKey',
      findings: [expect.stringContaining(`access key ${other}`)],
    });
    expect(await keys()).toContain(other);
    await expect(accessKey(ACCOUNTS.key, repair())).resolves.toMatchObject({
      action: 'updated',
      reason: 'tamper-repaired',
    });
    expect(await keys()).not.toContain(other);
    expect(await keys()).toHaveLength(1);
  });

  it('under report, fails a policy or another member someone else put in the connector group; under repair removes them and still fails the inline policy it may not delete', async () => {
    await userAndPolicy(ACCOUNTS.group, repair());
    const iam = await admin(ACCOUNTS.group);
    await iam.send(new AttachGroupPolicyCommand({ GroupName: GROUP, PolicyArn: READ_ONLY }));
    // Another user in the connector group gets its policy without the connector user's boundary.
    await iam.send(new CreateUserCommand({ UserName: 'alice' }));
    await iam.send(new AddUserToGroupCommand({ GroupName: GROUP, UserName: 'alice' }));
    await iam.send(
      new PutGroupPolicyCommand({
        GroupName: GROUP,
        PolicyName: 'extra',
        PolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }],
        }),
      }),
    );
    const inlineFinding = `inline policy extra on the connector group ${GROUP} (casbridge may not delete group policies, so that it cannot remove the ceiling: delete it by hand)`;
    await expect(userAndPolicy(ACCOUNTS.group, report())).rejects.toMatchObject({
      name: 'ConnectorUserTampered',
      step: 'policy',
      findings: [
        `user arn:aws:iam::${ACCOUNTS.group}:user/alice is a member of the connector group ${GROUP}`,
        `managed policy ${READ_ONLY} attached to the connector group ${GROUP}`,
        inlineFinding,
      ],
    });
    // The member role may not delete a group policy, so that the StackSet's ceiling stays.
    await expect(userAndPolicy(ACCOUNTS.group, repair())).rejects.toMatchObject({
      name: 'ConnectorUserTampered',
      findings: [inlineFinding],
      remediation: expect.stringContaining('casbridge cannot remove this itself'),
    });
    const attached = await iam.send(new ListAttachedGroupPoliciesCommand({ GroupName: GROUP }));
    expect(attached.AttachedPolicies?.map((p) => p.PolicyArn)).toEqual([
      connectorPolicyArn(repair(), ACCOUNTS.group),
    ]);
    expect((await iam.send(new ListGroupPoliciesCommand({ GroupName: GROUP }))).PolicyNames).toEqual([
      'casbridge-ceiling',
      'extra',
    ]);
    expect((await iam.send(new GetGroupCommand({ GroupName: GROUP }))).Users?.map((u) => u.UserName)).toEqual(
      [USER],
    );
  });

  it("under report, fails a permissions boundary someone else put on the connector user, and under repair puts the StackSet's back", async () => {
    await userAndPolicy(ACCOUNTS.boundary, repair());
    const iam = await admin(ACCOUNTS.boundary);
    await iam.send(
      new PutUserPermissionsBoundaryCommand({ UserName: USER, PermissionsBoundary: ADMINISTRATOR }),
    );
    const boundary = async () =>
      (await iam.send(new GetUserCommand({ UserName: USER }))).User?.PermissionsBoundary
        ?.PermissionsBoundaryArn;
    await expect(userAndPolicy(ACCOUNTS.boundary, report())).rejects.toMatchObject({
      name: 'ConnectorUserTampered',
      findings: [`user ${USER} has the permissions boundary ${ADMINISTRATOR}`],
    });
    expect(await boundary()).toBe(ADMINISTRATOR);
    await expect(userAndPolicy(ACCOUNTS.boundary, repair())).resolves.toMatchObject({
      user: { action: 'updated', reason: 'tamper-repaired' },
    });
    expect(await boundary()).toBe(connectorBoundaryArn(repair(), ACCOUNTS.boundary));
  });

  it('fails verify with ConnectorUserTampered naming each high-risk action the connector user is effectively allowed', async () => {
    const config = repair();
    await userAndPolicy(ACCOUNTS.effective, config);
    // What no listing of the user shows: its boundary widened, and a grant through its group
    // once the group's ceiling is gone (an administrator's doing: the member role cannot).
    const iam = await admin(ACCOUNTS.effective);
    await iam.send(new DeleteGroupPolicyCommand({ GroupName: GROUP, PolicyName: 'casbridge-ceiling' }));
    const everything = JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }],
    });
    await iam.send(
      new CreatePolicyVersionCommand({
        PolicyArn: connectorBoundaryArn(config, ACCOUNTS.effective),
        PolicyDocument: everything,
        SetAsDefault: true,
      }),
    );
    await iam.send(
      new PutGroupPolicyCommand({
        GroupName: GROUP,
        PolicyName: 'quiet',
        PolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: ['iam:CreateUser', 'sts:AssumeRole'], Resource: '*' }],
        }),
      }),
    );
    const member = await memberAccountClients(sandbox(), config, ACCOUNTS.effective, 'verify');
    const settings = await functionRoleSettings(sandbox(), 'verify');
    await expect(
      verifyConnector(
        { iam: member.iam, secrets: new SecretsManagerClient(clientConfig(settings)), config, settings },
        ACCOUNTS.effective,
        { dryRun: false, ledger: {} },
      ),
    ).rejects.toMatchObject({
      name: 'ConnectorUserTampered',
      step: 'verify',
      findings: [
        'iam:CreateUser allowed to the connector user',
        'sts:AssumeRole allowed to the connector user',
      ],
    });
  });

  it('repairs what it owns in a full onboarding run and fails only the account whose user is in a foreign group', async () => {
    await setLambdaEnvironment(sandbox());
    const pipeline = await loadPipeline(sandbox());
    const logs = captureOutput();
    // The seeded accounts as a first onboarding meets them (the earlier tests repaired two).
    sandbox().world.accounts.get(ACCOUNTS.loginProfile)!.iam.users.get(USER.toLowerCase())!.loginProfile = {
      createDate: sandbox().world.clock.now(),
      passwordResetRequired: false,
    };
    const [login, foreign] = await Promise.all(
      [ACCOUNTS.loginProfile, ACCOUNTS.foreignGroup].map((id) =>
        pipeline.run(accountInput(sandbox(), id, 'run-tamper')),
      ),
    );
    expect(login).toMatchObject({
      outcome: 'SUCCEEDED',
      steps: { user: { action: 'updated', reason: 'tamper-repaired' } },
    });
    expect(foreign).toMatchObject({
      outcome: 'FAILED',
      error: {
        name: 'ConnectorUserTampered',
        step: 'user',
        message: expect.stringContaining('group/Admins'),
      },
    });
    jest.restoreAllMocks();
    // The finding reaches the operator's log by name.
    expect(logs.join('')).toContain('"errorName":"ConnectorUserTampered"');
  });
});
