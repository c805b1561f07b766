import {
  CreatePolicyVersionCommand,
  DetachGroupPolicyCommand,
  GetPolicyCommand,
  GetPolicyVersionCommand,
  GetUserCommand,
  IAMClient,
  ListAttachedGroupPoliciesCommand,
  ListAttachedUserPoliciesCommand,
  ListGroupsForUserCommand,
  ListPolicyVersionsCommand,
  SimulatePrincipalPolicyCommand,
} from '@aws-sdk/client-iam';
import {
  connectorBoundaryArn,
  connectorGroupArn,
  connectorPolicyArn,
  connectorUserArn,
} from '../../commons/config';
import { ensurePolicy } from '../../functions/policy/ensure-policy';
import { ensureUser } from '../../functions/user/ensure-user';
import { CONNECTOR_ACTIONS } from '../../functions/verify/verify-connector';
import { defaultAccountId } from '../../sandbox/scenario/default-scenario';
import { memberAccountClients, preGroupConnector } from '../support/member';
import { sandboxConfig } from '../support/product';
import { assumeRole, useSandbox } from '../support/sandbox';

describe('the user and policy steps', () => {
  const sandbox = useSandbox({ accounts: 40 });
  const config = () => sandboxConfig(sandbox());

  /** IAM in the account as its administrators have it (OrganizationAccountAccessRole). */
  async function adminIam(accountId: string): Promise<IAMClient> {
    return new IAMClient(
      sandbox().clientConfig(
        await assumeRole(sandbox(), `arn:aws:iam::${accountId}:role/OrganizationAccountAccessRole`),
      ),
    );
  }

  it('create the tagged user under its boundary and the policy on the connector group the user is in, then change nothing on a re-run', async () => {
    const accountId = defaultAccountId(1);
    const { iam } = await memberAccountClients(sandbox(), config(), accountId, 'policy');
    expect(await ensureUser(iam, config(), accountId, { dryRun: false })).toMatchObject({
      action: 'created',
    });
    expect(await ensurePolicy(iam, config(), accountId, { dryRun: false })).toMatchObject({
      action: 'created',
    });
    const admin = await adminIam(accountId);
    const user = (await admin.send(new GetUserCommand({ UserName: 'CloudAppSecurity' }))).User;
    expect(user?.PermissionsBoundary?.PermissionsBoundaryArn).toBe(connectorBoundaryArn(config(), accountId));
    // Security Hub IAM.2: nothing attached to the user itself.
    expect(
      (await admin.send(new ListAttachedUserPoliciesCommand({ UserName: 'CloudAppSecurity' })))
        .AttachedPolicies,
    ).toEqual([]);
    expect(
      (await admin.send(new ListGroupsForUserCommand({ UserName: 'CloudAppSecurity' }))).Groups?.map(
        (g) => g.Arn,
      ),
    ).toEqual([connectorGroupArn(config(), accountId)]);
    expect(
      (
        await admin.send(new ListAttachedGroupPoliciesCommand({ GroupName: 'CloudAppSecurity' }))
      ).AttachedPolicies?.map((p) => p.PolicyArn),
    ).toEqual([connectorPolicyArn(config(), accountId)]);
    const mark = sandbox().world.callLog.mark();
    expect(await ensureUser(iam, config(), accountId, { dryRun: false })).toMatchObject({
      action: 'unchanged',
    });
    expect(await ensurePolicy(iam, config(), accountId, { dryRun: false })).toMatchObject({
      action: 'unchanged',
    });
    const calls = sandbox().world.callLog.list({ sinceSeq: mark, account: accountId });
    expect(calls.filter((c) => !c.readOnly)).toEqual([]);
  });

  it('plan the same in a dry run and change nothing', async () => {
    const accountId = defaultAccountId(2);
    const { iam } = await memberAccountClients(sandbox(), config(), accountId, 'policy');
    const mark = sandbox().world.callLog.mark();
    expect(await ensureUser(iam, config(), accountId, { dryRun: true })).toMatchObject({
      action: 'created',
      reason: 'dry-run',
    });
    expect(await ensurePolicy(iam, config(), accountId, { dryRun: true })).toMatchObject({
      action: 'created',
      reason: 'dry-run',
    });
    expect(
      sandbox()
        .world.callLog.list({ sinceSeq: mark, account: accountId })
        .filter((c) => !c.readOnly),
    ).toEqual([]);
  });

  it('refuse a same-named user that is not ours', async () => {
    const accountId = defaultAccountId(3);
    const { iam } = await memberAccountClients(sandbox(), config(), accountId, 'policy');
    await expect(ensureUser(iam, config(), accountId, { dryRun: false })).rejects.toMatchObject({
      name: 'ForeignUserConflict',
      step: 'user',
    });
  });

  it('repair a drifted policy when five versions exist, deleting the oldest non-default one', async () => {
    const accountId = defaultAccountId(17);
    const { iam } = await memberAccountClients(sandbox(), config(), accountId, 'policy');
    await ensureUser(iam, config(), accountId, { dryRun: false });
    const result = await ensurePolicy(iam, config(), accountId, { dryRun: false });
    expect(result).toMatchObject({ action: 'updated', details: { reason: 'document-drift' } });
    const arn = connectorPolicyArn(config(), accountId);
    const versions = (await iam.send(new ListPolicyVersionsCommand({ PolicyArn: arn }))).Versions ?? [];
    expect(versions.map((v) => v.VersionId).sort()).toEqual(['v2', 'v3', 'v4', 'v5', 'v6']);
    expect(await ensurePolicy(iam, config(), accountId, { dryRun: false })).toMatchObject({
      action: 'unchanged',
    });
  });

  it('repair an edited document and a detached policy, a recorded version notwithstanding', async () => {
    const accountId = defaultAccountId(4);
    const { iam } = await memberAccountClients(sandbox(), config(), accountId, 'policy');
    await ensureUser(iam, config(), accountId, { dryRun: false });
    const created = await ensurePolicy(iam, config(), accountId, { dryRun: false });
    // What the ledger keeps after the run: the default version proven to hold the document.
    const ledger = { lastOutcome: 'SUCCEEDED' as const, policyVersion: created.ledger?.policyVersion };
    expect(ledger.policyVersion).toMatch(/^ANPA\w+:v1:[0-9a-f]{16}$/);
    // The user step of the same run says the user is in the connector group.
    const steps = { user: await ensureUser(iam, config(), accountId, { dryRun: false, ledger }) };
    const mark = sandbox().world.callLog.mark();
    expect(await ensurePolicy(iam, config(), accountId, { dryRun: false, ledger, steps })).toEqual({
      action: 'unchanged',
      details: { policyArn: connectorPolicyArn(config(), accountId) },
    });
    expect(
      sandbox()
        .world.callLog.list({ sinceSeq: mark })
        .map((c) => c.operation),
    ).toEqual(['GetPolicy', 'ListAttachedGroupPolicies', 'ListGroupPolicies', 'GetGroup']);
    const arn = connectorPolicyArn(config(), accountId);
    // Someone with administrator rights in the account edits the policy and detaches it.
    const oaar = new IAMClient(
      sandbox().clientConfig(
        await assumeRole(sandbox(), `arn:aws:iam::${accountId}:role/OrganizationAccountAccessRole`),
      ),
    );
    await oaar.send(
      new CreatePolicyVersionCommand({
        PolicyArn: arn,
        SetAsDefault: true,
        PolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: 'iam:*', Resource: '*' }],
        }),
      }),
    );
    await oaar.send(new DetachGroupPolicyCommand({ GroupName: 'CloudAppSecurity', PolicyArn: arn }));
    const repaired = await ensurePolicy(iam, config(), accountId, { dryRun: false, ledger, steps });
    expect(repaired).toMatchObject({
      action: 'updated',
      details: { reason: 'document-drift', versionId: 'v3' },
    });
    // The repaired version is the one recorded for the next run.
    expect(repaired.ledger?.policyVersion).toMatch(/:v3:/);
    const policy = (await iam.send(new GetPolicyCommand({ PolicyArn: arn }))).Policy!;
    expect(policy.AttachmentCount).toBe(1);
    const doc =
      (await iam.send(new GetPolicyVersionCommand({ PolicyArn: arn, VersionId: policy.DefaultVersionId })))
        .PolicyVersion?.Document ?? '';
    expect(decodeURIComponent(doc)).toContain('cloudtrail:LookupEvents');
  });

  it('migrate an account onboarded with the policy on the user to the group, the connector allowed its actions at every call', async () => {
    const accountId = defaultAccountId(5);
    const admin = await adminIam(accountId);
    // How casbridge left an account before the connector group: the policy attached to the user,
    // no boundary; the updated member-role StackSet has since brought the (empty) group.
    await preGroupConnector(admin, config(), accountId);
    const userArn = connectorUserArn(config(), accountId);
    const connectorAllowed = async () => {
      const out = await admin.send(
        new SimulatePrincipalPolicyCommand({ PolicySourceArn: userArn, ActionNames: [...CONNECTOR_ACTIONS] }),
      );
      return out.EvaluationResults?.every((r) => r.EvalDecision === 'allowed') ?? false;
    };
    expect(await connectorAllowed()).toBe(true);
    const { iam } = await memberAccountClients(sandbox(), config(), accountId, 'policy');
    // After every write of the migration, the connector can still do all it does.
    const afterEachWrite: { operation: string; allowed: boolean }[] = [];
    iam.middlewareStack.add(
      (next, context) => async (args) => {
        const out = await next(args);
        const operation = String(context.commandName).replace(/Command$/, '');
        if (!/^(Get|List|Simulate)/.test(operation))
          afterEachWrite.push({ operation, allowed: await connectorAllowed() });
        return out;
      },
      { step: 'initialize', name: 'simulateAfterEachWrite' },
    );
    const ledger = { lastOutcome: 'SUCCEEDED' as const };
    const user = await ensureUser(iam, config(), accountId, { dryRun: false, ledger });
    expect(user).toMatchObject({
      action: 'updated',
      reason: 'boundary-set',
      details: { connectorGroupMember: false, connectorPolicyOnUser: true },
    });
    const policy = await ensurePolicy(iam, config(), accountId, { dryRun: false, ledger, steps: { user } });
    expect(policy).toMatchObject({
      action: 'updated',
      details: { reason: 'attached-to-group', migratedToGroup: true },
    });
    expect(afterEachWrite).toEqual([
      { operation: 'PutUserPermissionsBoundary', allowed: true },
      { operation: 'AttachGroupPolicy', allowed: true },
      { operation: 'AddUserToGroup', allowed: true },
      { operation: 'DetachUserPolicy', allowed: true },
    ]);
    expect(
      (await admin.send(new ListAttachedUserPoliciesCommand({ UserName: 'CloudAppSecurity' })))
        .AttachedPolicies,
    ).toEqual([]);
    // Migrated: the next run reads and changes nothing.
    const again = await ensureUser(iam, config(), accountId, { dryRun: false, ledger });
    expect(again).toMatchObject({ action: 'unchanged' });
    expect(
      await ensurePolicy(iam, config(), accountId, { dryRun: false, ledger, steps: { user: again } }),
    ).toMatchObject({
      action: 'unchanged',
    });
  });

  it('turn AWS throttling that outlasts the SDK retries into the retryable TransientAwsError, reads included', async () => {
    const accountId = defaultAccountId(9);
    const { iam } = await memberAccountClients(sandbox(), config(), accountId, 'policy');
    sandbox().world.faults.inject(accountId, {
      service: 'iam',
      operation: 'GetUser',
      code: 'Throttling',
      status: 400,
      remaining: 3,
    });
    await expect(ensureUser(iam, config(), accountId, { dryRun: false })).rejects.toMatchObject({
      name: 'TransientAwsError',
      retryable: true,
      step: 'user',
    });
    sandbox().world.faults.inject(accountId, {
      service: 'iam',
      operation: 'GetPolicy',
      code: 'Throttling',
      status: 400,
      remaining: 3,
    });
    await expect(ensurePolicy(iam, config(), accountId, { dryRun: false })).rejects.toMatchObject({
      name: 'TransientAwsError',
      step: 'policy',
    });
  });
});
