import { createHash } from 'node:crypto';
import {
  AddUserToGroupCommand,
  AttachGroupPolicyCommand,
  CreatePolicyCommand,
  CreatePolicyVersionCommand,
  DeletePolicyVersionCommand,
  DetachGroupPolicyCommand,
  DetachUserPolicyCommand,
  GetGroupCommand,
  GetPolicyVersionCommand,
  type IAMClient,
  ListAttachedGroupPoliciesCommand,
  ListGroupPoliciesCommand,
  ListPolicyVersionsCommand,
  type Policy,
  RemoveUserFromGroupCommand,
  type User,
} from '@aws-sdk/client-iam';
import { type Config, connectorGroupArn, connectorPolicyArn } from '../../commons/config';
import {
  CONNECTOR_CEILING_POLICY,
  connectorPolicyDocument,
  samePolicy,
} from '../../commons/connector-policy';
import { getConnectorPolicy, listAll, unlessMissing } from '../../commons/connector-resources';
import { awsErrorName, ConnectorGroupMissingError, classifyAwsError } from '../../commons/errors';
import type { LedgerView } from '../../commons/ledger';
import { neverOnboarded } from '../../commons/ledger-view';
import type { StepResult } from '../../commons/step-result';
import { respondToTamper, type TamperFinding } from '../../commons/tamper';
import {
  type ConnectorUserFacts,
  connectorUserFacts,
  inspectConnectorUser,
} from '../user/connector-user-tamper';

/** IAM keeps at most five versions of a managed policy. */
const MAX_POLICY_VERSIONS = 5;

/**
 * Step 3: the customer-managed connector policy holds exactly the documented permissions and is
 * attached to the connector group, whose member the connector user is (Security Hub IAM.2: no
 * policy directly on a user). Drift is repaired with a new default version, deleting the oldest
 * non-default version first when IAM's five are taken.
 */
export interface PolicyOptions {
  dryRun: boolean;
  /**
   * The account's ledger view: on an account casbridge never onboarded the policy is created
   * first, and a default version already proven to hold the desired document is not read again.
   */
  ledger?: LedgerView;
  /** The account's earlier steps in this run: the user step says whether the user is in the group. */
  steps?: Record<string, StepResult>;
}

export async function ensurePolicy(
  iam: IAMClient,
  config: Config,
  accountId: string,
  options: PolicyOptions,
): Promise<StepResult> {
  try {
    return await reconcile(iam, config, accountId, options);
  } catch (error) {
    throw classifyAwsError(error, 'policy');
  }
}

async function reconcile(
  iam: IAMClient,
  config: Config,
  accountId: string,
  options: PolicyOptions,
): Promise<StepResult> {
  const { dryRun, ledger, steps } = options;
  const arn = connectorPolicyArn(config, accountId);
  const desired = JSON.stringify(connectorPolicyDocument({ allowPutBucketAcl: config.allowPutBucketAcl }));
  const documentHash = createHash('sha256').update(desired).digest('hex').slice(0, 16);
  const existing = !dryRun && neverOnboarded(ledger) ? undefined : await getConnectorPolicy(iam, arn);
  let policy: Pick<Policy, 'PolicyId' | 'DefaultVersionId'> | undefined = existing;
  let action: StepResult['action'] = 'unchanged';
  const details: Record<string, string | number | boolean> = { policyArn: arn };
  if (!existing) {
    action = 'created';
    if (!dryRun) {
      try {
        policy = (
          await iam.send(
            new CreatePolicyCommand({
              PolicyName: config.policyName,
              Path: config.userPath,
              PolicyDocument: desired,
              Description: 'Microsoft Defender for Cloud Apps AWS connector (managed by casbridge)',
            }),
          )
        ).Policy;
      } catch (error) {
        // There already (a concurrent or interrupted run): converge on it with a read.
        if (awsErrorName(error) !== 'EntityAlreadyExistsException') throw error;
        return reconcile(iam, config, accountId, { dryRun, ...(steps ? { steps } : {}) });
      }
    }
  } else if (ledger?.policyVersion !== versionKey(existing, documentHash)) {
    const current = await iam.send(
      new GetPolicyVersionCommand({ PolicyArn: arn, VersionId: existing.DefaultVersionId }),
    );
    if (!samePolicy(current.PolicyVersion?.Document ?? '{}', desired)) {
      action = 'updated';
      details.reason = 'document-drift';
      if (!dryRun) {
        details.versionId = await replaceDefaultVersion(iam, arn, desired);
        policy = { ...existing, DefaultVersionId: details.versionId };
      }
    }
  }
  const group = await ensureGroup(iam, config, accountId, {
    dryRun,
    fresh: !dryRun && neverOnboarded(ledger),
    facts: connectorUserFacts(steps?.user) ?? (await readUserFacts(iam, config, accountId)),
  });
  if (group.changes.length > 0) {
    Object.assign(details, group.details);
    if (action === 'unchanged') {
      action = 'updated';
      details.reason = group.changes[0] as string;
    }
  }
  const policyVersion = dryRun ? undefined : versionKey(policy, documentHash);
  return {
    action,
    ...(dryRun && action !== 'unchanged' ? { reason: 'dry-run' } : {}),
    details,
    ...(policyVersion && policyVersion !== ledger?.policyVersion ? { ledger: { policyVersion } } : {}),
  };
}

/**
 * Names the policy's default version and the document it was checked against. IAM policy
 * versions are immutable and a re-created policy gets a new PolicyId, so an unchanged key means
 * an unchanged document.
 */
function versionKey(
  policy: Pick<Policy, 'PolicyId' | 'DefaultVersionId'> | undefined,
  documentHash: string,
): string | undefined {
  return policy?.PolicyId && policy.DefaultVersionId
    ? `${policy.PolicyId}:${policy.DefaultVersionId}:${documentHash}`
    : undefined;
}

async function replaceDefaultVersion(iam: IAMClient, arn: string, document: string): Promise<string> {
  const versions = (await iam.send(new ListPolicyVersionsCommand({ PolicyArn: arn }))).Versions ?? [];
  if (versions.length >= MAX_POLICY_VERSIONS) {
    const oldest = versions
      .filter((v) => !v.IsDefaultVersion)
      .sort((a, b) => (a.CreateDate?.getTime() ?? 0) - (b.CreateDate?.getTime() ?? 0))[0];
    if (oldest?.VersionId)
      await iam.send(new DeletePolicyVersionCommand({ PolicyArn: arn, VersionId: oldest.VersionId }));
  }
  const created = await iam.send(
    new CreatePolicyVersionCommand({ PolicyArn: arn, PolicyDocument: document, SetAsDefault: true }),
  );
  return created.PolicyVersion?.VersionId ?? '';
}

interface GroupOutcome {
  /** What changed, first change first: the step's reason when the policy itself is unchanged. */
  changes: string[];
  details: Record<string, string | boolean>;
}

/**
 * The connector group (the member-role StackSet's, with its ceiling) holds the connector policy and
 * nothing else of anyone else's, and the user is its member; an account onboarded with the policy
 * on the user directly is migrated in the order that never leaves the connector without its
 * permissions: the policy on the group, the user in the group, and only then the direct
 * attachment removed.
 */
async function ensureGroup(
  iam: IAMClient,
  config: Config,
  accountId: string,
  options: { dryRun: boolean; fresh: boolean; facts: ConnectorUserFacts },
): Promise<GroupOutcome> {
  const { dryRun, fresh, facts } = options;
  const GroupName = config.groupName;
  const groupArn = connectorGroupArn(config, accountId);
  const policyArn = connectorPolicyArn(config, accountId);
  const outcome: GroupOutcome = { changes: [], details: { groupArn } };
  const missing = () =>
    new ConnectorGroupMissingError(
      `Account ${accountId} has no connector group ${groupArn}: its member-role StackSet instance predates the template that creates the group`,
      { step: 'policy' },
    );
  if (fresh && !facts.connectorGroupMember && !facts.connectorPolicyOnUser) {
    // An account never onboarded, its user new: the StackSet created the group with the role and
    // nothing else is expected in it (every reconcile checks), so the policy goes on without a read. AttachGroupPolicy
    // is idempotent; on a group that is not there IAM authorises it against the path-less ARN,
    // which the member role may not attach to (AccessDenied), so only then is the group looked for.
    try {
      await iam.send(new AttachGroupPolicyCommand({ GroupName, PolicyArn: policyArn }));
    } catch (error) {
      if (awsErrorName(error) === 'NoSuchEntityException' || !(await groupPolicies(iam, GroupName)))
        throw missing();
      throw error;
    }
    await iam.send(new AddUserToGroupCommand({ GroupName, UserName: config.userName }));
    outcome.changes.push('attached-to-group', 'user-added-to-group');
    return outcome;
  }
  const attached = await groupPolicies(iam, GroupName);
  if (!attached) throw missing();
  // The group may hold what someone else put there: another member gets the connector policy
  // without the connector user's boundary (if still within the ceiling), another policy widens it.
  const inline = await groupInlinePolicies(iam, GroupName);
  const others = (await groupMembers(iam, GroupName)).filter(
    (u) => u.UserName?.toLowerCase() !== config.userName.toLowerCase(),
  );
  const findings: TamperFinding[] = [
    ...others.map((user) => ({
      what: `user ${user.Arn ?? user.UserName} is a member of the connector group ${GroupName}`,
      repair: async () => {
        await unlessMissing('NoSuchEntityException', () =>
          iam.send(new RemoveUserFromGroupCommand({ GroupName, UserName: user.UserName })),
        );
      },
    })),
    ...attached
      .filter((arn) => arn !== policyArn)
      .map((PolicyArn) => ({
        what: `managed policy ${PolicyArn} attached to the connector group ${GroupName}`,
        repair: async () => {
          await unlessMissing('NoSuchEntityException', () =>
            iam.send(new DetachGroupPolicyCommand({ GroupName, PolicyArn })),
          );
        },
      })),
    // Reported only: the member role may not delete a group policy, so that it can never remove
    // the StackSet's ceiling (and a policy the ceiling denies beyond grants nothing anyway).
    ...inline
      .filter((name) => name !== CONNECTOR_CEILING_POLICY)
      .map((PolicyName) => ({
        what: `inline policy ${PolicyName} on the connector group ${GroupName} (casbridge may not delete group policies, so that it cannot remove the ceiling: delete it by hand)`,
      })),
    ...(inline.includes(CONNECTOR_CEILING_POLICY)
      ? []
      : [
          {
            what: `the connector group ${GroupName} lacks its ${CONNECTOR_CEILING_POLICY} policy (the member-role StackSet's: update the StackSet or repair its drift)`,
          },
        ]),
  ];
  const removed = await respondToTamper(findings, { config, step: 'policy', accountId, dryRun });
  if (removed.length > 0) {
    outcome.changes.push('tamper-repaired');
    outcome.details.removed = removed.join('; ');
  }
  if (!attached.includes(policyArn)) {
    if (!dryRun) await iam.send(new AttachGroupPolicyCommand({ GroupName, PolicyArn: policyArn }));
    outcome.changes.push('attached-to-group');
  }
  if (!facts.connectorGroupMember) {
    if (!dryRun) await iam.send(new AddUserToGroupCommand({ GroupName, UserName: config.userName }));
    outcome.changes.push('user-added-to-group');
  }
  if (facts.connectorPolicyOnUser) {
    if (!dryRun)
      await unlessMissing('NoSuchEntityException', () =>
        iam.send(new DetachUserPolicyCommand({ UserName: config.userName, PolicyArn: policyArn })),
      );
    outcome.changes.push('migrated-to-group');
    outcome.details.migratedToGroup = true;
  }
  return outcome;
}

/** The ARNs of the policies attached to the group; undefined when there is no such group. */
async function groupPolicies(iam: IAMClient, GroupName: string): Promise<string[] | undefined> {
  return unlessMissing('NoSuchEntityException', async () =>
    (
      await listAll(async (Marker) => {
        const page = await iam.send(new ListAttachedGroupPoliciesCommand({ GroupName, Marker }));
        return { items: page.AttachedPolicies, marker: page.IsTruncated ? page.Marker : undefined };
      })
    ).map((p) => p.PolicyArn ?? ''),
  );
}

async function groupMembers(iam: IAMClient, GroupName: string): Promise<User[]> {
  return listAll(async (Marker) => {
    const page = await iam.send(new GetGroupCommand({ GroupName, Marker }));
    return { items: page.Users, marker: page.IsTruncated ? page.Marker : undefined };
  });
}

async function groupInlinePolicies(iam: IAMClient, GroupName: string): Promise<string[]> {
  return listAll(async (Marker) => {
    const page = await iam.send(new ListGroupPoliciesCommand({ GroupName, Marker }));
    return { items: page.PolicyNames, marker: page.IsTruncated ? page.Marker : undefined };
  });
}

/** When the user step's facts are not at hand (the step run on its own): read them. */
async function readUserFacts(iam: IAMClient, config: Config, accountId: string): Promise<ConnectorUserFacts> {
  const inspection = await unlessMissing('NoSuchEntityException', () =>
    inspectConnectorUser(iam, config, accountId),
  );
  return inspection?.facts ?? { connectorGroupMember: false, connectorPolicyOnUser: false };
}
