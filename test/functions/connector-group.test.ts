import {
  DeleteGroupCommand,
  DeleteGroupPolicyCommand,
  IAMClient,
  ListAttachedGroupPoliciesCommand,
} from '@aws-sdk/client-iam';
import { connectorGroupArn, connectorPolicyArn } from '../../commons/config';
import { ensurePolicy } from '../../functions/policy/ensure-policy';
import { ensureUser } from '../../functions/user/ensure-user';
import { defaultAccountId } from '../../sandbox/scenario/default-scenario';
import { memberAccountClients } from '../support/member';
import { sandboxConfig } from '../support/product';
import { assumeRole, useSandbox } from '../support/sandbox';

const GROUP = 'CloudAppSecurity';
const CEILING = 'casbridge-ceiling';

/**
 * The connector group is the member-role StackSet's, with its ceiling: casbridge fills it and
 * checks it, and fails by name where the StackSet has not brought it or its ceiling is gone.
 */
describe("the policy step on the member-role StackSet's connector group", () => {
  const sandbox = useSandbox({ accounts: 6 });
  const config = () => sandboxConfig(sandbox());

  async function admin(accountId: string): Promise<IAMClient> {
    return new IAMClient(
      sandbox().clientConfig(
        await assumeRole(sandbox(), `arn:aws:iam::${accountId}:role/OrganizationAccountAccessRole`),
      ),
    );
  }

  /** An account whose StackSet instance predates the group: as if it never had one. */
  async function withoutGroup(accountId: string): Promise<void> {
    const iam = await admin(accountId);
    await iam.send(new DeleteGroupPolicyCommand({ GroupName: GROUP, PolicyName: CEILING }));
    await iam.send(new DeleteGroupCommand({ GroupName: GROUP }));
  }

  const groupMissing = (accountId: string) =>
    expect.objectContaining({
      name: 'ConnectorGroupMissing',
      step: 'policy',
      retryable: false,
      message: expect.stringContaining(connectorGroupArn(config(), accountId)),
      remediation: expect.stringContaining('Update the casbridge member-role StackSet'),
    });

  it('fails an account without the connector group with ConnectorGroupMissing, predicted by a dry run that changes nothing', async () => {
    const accountId = defaultAccountId(5); // healthy, never onboarded
    await withoutGroup(accountId);
    const { iam } = await memberAccountClients(sandbox(), config(), accountId, 'policy');
    const ledger = {};
    const mark = sandbox().world.callLog.mark();
    const planned = await ensureUser(iam, config(), accountId, { dryRun: true, ledger });
    await expect(
      ensurePolicy(iam, config(), accountId, { dryRun: true, ledger, steps: { user: planned } }),
    ).rejects.toEqual(groupMissing(accountId));
    expect(
      sandbox()
        .world.callLog.list({ sinceSeq: mark })
        .filter((c) => !c.readOnly),
    ).toEqual([]);

    // The real run: a first onboarding, and a reconcile after the operator looked elsewhere.
    const user = await ensureUser(iam, config(), accountId, { dryRun: false, ledger });
    await expect(
      ensurePolicy(iam, config(), accountId, { dryRun: false, ledger, steps: { user } }),
    ).rejects.toEqual(groupMissing(accountId));
    await expect(
      ensurePolicy(iam, config(), accountId, { dryRun: false, ledger: { lastOutcome: 'FAILED' } }),
    ).rejects.toEqual(groupMissing(accountId));
  });

  it('fails, even under repair, a connector group whose ceiling is gone, and leaves the group as it is', async () => {
    const accountId = defaultAccountId(6); // healthy
    const { iam } = await memberAccountClients(sandbox(), config(), accountId, 'policy');
    const user = await ensureUser(iam, config(), accountId, { dryRun: false, ledger: {} });
    expect(
      await ensurePolicy(iam, config(), accountId, { dryRun: false, ledger: {}, steps: { user } }),
    ).toMatchObject({
      action: 'created',
      details: { groupArn: connectorGroupArn(config(), accountId) },
    });
    // An administrator of the account removes the ceiling (the member role cannot).
    const iamAdmin = await admin(accountId);
    await iamAdmin.send(new DeleteGroupPolicyCommand({ GroupName: GROUP, PolicyName: CEILING }));
    expect(config().tamperResponse).toBe('repair');
    await expect(
      ensurePolicy(iam, config(), accountId, { dryRun: false, ledger: { lastOutcome: 'SUCCEEDED' } }),
    ).rejects.toMatchObject({
      name: 'ConnectorUserTampered',
      step: 'policy',
      findings: [
        `the connector group ${GROUP} lacks its ${CEILING} policy (the member-role StackSet's: update the StackSet or repair its drift)`,
      ],
      remediation: expect.stringContaining('casbridge cannot remove this itself'),
    });
    expect(
      (await iamAdmin.send(new ListAttachedGroupPoliciesCommand({ GroupName: GROUP }))).AttachedPolicies?.map(
        (p) => p.PolicyArn,
      ),
    ).toEqual([connectorPolicyArn(config(), accountId)]);
  });
});
