import { createHash } from 'node:crypto';
import {
  DeleteAccessKeyCommand,
  DeletePolicyCommand,
  DeletePolicyVersionCommand,
  DeleteUserCommand,
  DetachGroupPolicyCommand,
  DetachUserPolicyCommand,
  GetLoginProfileCommand,
  type IAMClient,
  ListAccessKeysCommand,
  ListAttachedGroupPoliciesCommand,
  ListAttachedUserPoliciesCommand,
  ListGroupsForUserCommand,
  ListPolicyVersionsCommand,
  ListUserPoliciesCommand,
  type PolicyVersion,
  RemoveUserFromGroupCommand,
} from '@aws-sdk/client-iam';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SNSClient } from '@aws-sdk/client-sns';
import {
  type Config,
  connectorGroupArn,
  connectorPolicyArn,
  connectorSecretName,
  connectorUserArn,
} from '../../commons/config';
import {
  describeConnectorSecret,
  getConnectorPolicy,
  getConnectorUser,
  isManaged,
  listAll,
  MANAGED_TAG,
  unlessMissing,
} from '../../commons/connector-resources';
import {
  awsErrorName,
  classifyAwsError,
  ForeignUserConflictError,
  OffboardingBlockedError,
} from '../../commons/errors';
import type { ConnectorStatus, Ledger } from '../../commons/ledger';
import { OFFBOARDED_STATUSES } from '../../commons/ledger-view';
import { deleteConnectorSecret } from '../../commons/secret-retention';
import type { StepResult, TargetAccount } from '../../commons/step-result';
import { publishHandoff, subjectLine } from '../register/ensure-registration';

/** The SNS message type (and `type` message attribute) subscribers filter the offboarding hand-off on. */
export const OFFBOARDING_MESSAGE_TYPE = 'connector.offboarding';

export interface OffboardDeps {
  /**
   * IAM in the member account through the member role. Absent when the account cannot be reached:
   * a SUSPENDED or CLOSED account may refuse AssumeRole, and its central records must still go.
   */
  iam?: IAMClient;
  /** Secrets Manager in the central account, where the connector's secret lives. */
  secrets: SecretsManagerClient;
  /** SNS in the central account, for the operator hand-off on config.topicArn. */
  sns: SNSClient;
  ledger: Ledger;
  config: Config;
  now?: () => number;
}

export type OffboardTarget = Pick<TargetAccount, 'accountId' | 'name'> &
  Partial<Pick<TargetAccount, 'state'>>;

export interface OffboardOptions {
  dryRun: boolean;
  /**
   * Whose offboarding it is (commons/task-input.ts ItemMode): a person's (`offboard`, an offboard
   * run) retires the account (RETIRED: no later run onboards it unless it names it); casbridge's
   * own (`auto-offboard`: closed, suspended, moved out of scope) leaves it OFFBOARDED, onboarded
   * again once it is back. Unset: a person's.
   */
  mode?: 'offboard' | 'auto-offboard';
}

/**
 * Offboarding (by a person, or because the account was suspended, closed or left the scope):
 * delete the connector's access keys, its policy (every version, detached from the StackSet's
 * connector group, which stays) and its user in the member account; schedule the deletion of its
 * secret; ask the operator to remove the Defender connector instance; keep the ledger record as
 * RETIRED (a person's) or OFFBOARDED (casbridge's own). The casbridge trail stays: it is the account's audit record, which the customer
 * keeps under their own retention rules, and removing it would erase the evidence of offboarding.
 *
 * Every "already gone" counts as done, so a second run, or a run after a kill half-way, converges
 * and a finished account reports `unchanged` / `already-offboarded` after read calls only.
 */
export async function offboardAccount(
  deps: OffboardDeps,
  account: OffboardTarget,
  options: OffboardOptions,
): Promise<StepResult> {
  try {
    return await offboard(deps, account, options);
  } catch (error) {
    throw classifyAwsError(error, 'offboard');
  }
}

interface MemberOutcome {
  changed: boolean;
  accessKeysDeleted: number;
  policyDetached: boolean;
  policyVersionsDeleted: number;
  policyDeleted: boolean;
  removedFromGroup: boolean;
  userDeleted: boolean;
}

interface CentralOutcome {
  changed: boolean;
  /** The account's connector status once offboarded. */
  connector: ConnectorStatus;
  secretDeletionScheduled: boolean;
  secretDeletionDate?: string;
  handoffPublished: boolean;
  ledgerUpdated: boolean;
  /** What the report shows of the hand-off's channels, and the webhook's delivery still owed. */
  sent?: { details: Record<string, string | boolean>; pending: { pendingWebhook?: string } };
}

async function offboard(
  deps: OffboardDeps,
  account: OffboardTarget,
  { dryRun, mode = 'offboard' }: OffboardOptions,
): Promise<StepResult> {
  const { config } = deps;
  const { accountId } = account;
  const details: Record<string, string | number | boolean> = {
    userArn: connectorUserArn(config, accountId),
    policyArn: connectorPolicyArn(config, accountId),
    secretName: connectorSecretName(config, accountId),
    trailKept: config.trailName,
  };

  // The member account goes first: a foreign user (or any other refusal there) must leave the
  // secret and the ledger as they were, so nothing central claims an offboarding that did not happen.
  const member = deps.iam ? await cleanUpMember(deps.iam, config, accountId, dryRun) : undefined;
  const remaining = member ? undefined : remainingInAccount(config, accountId);
  const central = await cleanUpCentral(deps, account, {
    dryRun,
    remaining,
    connector: mode === 'offboard' ? 'RETIRED' : 'OFFBOARDED',
  });

  if (member) {
    Object.assign(details, {
      accessKeysDeleted: member.accessKeysDeleted,
      policyDetached: member.policyDetached,
      policyVersionsDeleted: member.policyVersionsDeleted,
      policyDeleted: member.policyDeleted,
      removedFromGroup: member.removedFromGroup,
      userDeleted: member.userDeleted,
    });
  } else {
    details.accountReachable = false;
    details.remainingInAccount = remaining ?? '';
  }
  Object.assign(details, {
    secretDeletionScheduled: central.secretDeletionScheduled,
    handoffPublished: central.handoffPublished,
    ledgerUpdated: central.ledgerUpdated,
    connector: central.connector,
    ...(central.secretDeletionDate ? { secretDeletionDate: central.secretDeletionDate } : {}),
    ...central.sent?.details,
  });
  // The webhook gets the offboarding in its own state (DeliverOffboardingWebhook), as Register's
  // and Depart's hand-offs: its retries never publish to the topic again.
  const pending = central.sent?.pending ?? {};

  const changed = (member?.changed ?? false) || central.changed;
  if (dryRun && changed) return { action: 'updated', reason: 'dry-run', details };
  if (!member) {
    // Leftovers stay in the account whatever happened centrally: the reason says so every time,
    // so the report keeps pointing at them until a run can reach the account.
    return {
      action: changed ? 'updated' : 'unchanged',
      reason: 'account-unreachable-central-cleanup-only',
      details,
      ...pending,
    };
  }
  return changed
    ? { action: 'updated', details, ...pending }
    : { action: 'unchanged', reason: 'already-offboarded', details };
}

// ---------------------------------------------------------------- member account

/**
 * Removes the connector user and policy in IAM's required order (keys, attachments and the group
 * membership before the user, the group's attachment and non-default versions before the policy).
 * The connector group stays: it is the member-role StackSet's, with its ceiling, and goes with the
 * StackSet instance. Only the configured names are ever addressed, which is all the member role
 * grants.
 */
async function cleanUpMember(
  iam: IAMClient,
  config: Config,
  accountId: string,
  dryRun: boolean,
): Promise<MemberOutcome> {
  const outcome: MemberOutcome = {
    changed: false,
    accessKeysDeleted: 0,
    policyDetached: false,
    policyVersionsDeleted: 0,
    policyDeleted: false,
    removedFromGroup: false,
    userDeleted: false,
  };
  const userName = config.userName;
  const policyArn = connectorPolicyArn(config, accountId);
  const groupArn = connectorGroupArn(config, accountId);

  // What a dry run sees would make IAM refuse DeletePolicy or DeleteUser (DeleteConflict): the
  // real run fails there with OffboardingBlocked, so the dry run fails with it too.
  const userBlockers: string[] = [];
  let onUser = false;
  const user = await getConnectorUser(iam, userName);
  if (user && !isManaged(user.Tags)) {
    throw new ForeignUserConflictError(
      `Account ${accountId} has a user named ${user.UserName} (${user.Arn}) that is not tagged ${MANAGED_TAG.Key}=${MANAGED_TAG.Value}; offboarding leaves it alone`,
      { step: 'offboard' },
    );
  }

  if (user) {
    const keys = await listAll(async (marker) => {
      const page = await iam.send(new ListAccessKeysCommand({ UserName: userName, Marker: marker }));
      return { items: page.AccessKeyMetadata, marker: page.Marker };
    });
    for (const key of keys) {
      if (!key.AccessKeyId) continue;
      if (!dryRun)
        await ignoreMissing(
          iam.send(new DeleteAccessKeyCommand({ UserName: userName, AccessKeyId: key.AccessKeyId })),
        );
      outcome.accessKeysDeleted++;
    }
    const attached = await listAll(async (marker) => {
      const page = await iam.send(
        new ListAttachedUserPoliciesCommand({ UserName: userName, Marker: marker }),
      );
      return { items: page.AttachedPolicies, marker: page.Marker };
    });
    onUser = attached.some((p) => p.PolicyArn === policyArn);
    if (onUser) {
      if (!dryRun)
        await ignoreMissing(
          iam.send(new DetachUserPolicyCommand({ UserName: userName, PolicyArn: policyArn })),
        );
      outcome.policyDetached = true;
    }
    const groups = await listAll(async (marker) => {
      const page = await iam.send(new ListGroupsForUserCommand({ UserName: userName, Marker: marker }));
      return { items: page.Groups, marker: page.Marker };
    });
    if (groups.some((g) => g.Arn === groupArn)) {
      if (!dryRun)
        await ignoreMissing(
          iam.send(new RemoveUserFromGroupCommand({ GroupName: config.groupName, UserName: userName })),
        );
      outcome.removedFromGroup = true;
    }
    if (dryRun) {
      userBlockers.push(
        ...attached
          .filter((p) => p.PolicyArn !== policyArn)
          .map((p) => `managed policy ${p.PolicyArn} is attached to it`),
        ...groups
          .filter((g) => g.Arn !== groupArn)
          .map((g) => `it is a member of group ${g.Arn ?? g.GroupName}`),
        ...(await otherUserHolds(iam, userName)),
      );
    }
  }

  // The group is looked at even when the user is gone, for the same reason as the policy below.
  const groupPolicies = await unlessMissing('NoSuchEntityException', () =>
    listAll(async (marker) => {
      const page = await iam.send(
        new ListAttachedGroupPoliciesCommand({ GroupName: config.groupName, Marker: marker }),
      );
      return { items: page.AttachedPolicies, marker: page.Marker };
    }),
  );
  const onGroup = groupPolicies?.some((p) => p.PolicyArn === policyArn) ?? false;
  if (onGroup) {
    if (!dryRun)
      await ignoreMissing(
        iam.send(new DetachGroupPolicyCommand({ GroupName: config.groupName, PolicyArn: policyArn })),
      );
    outcome.policyDetached = true;
  }

  // The policy is looked at even when the user is gone: a run killed after DeleteUser's
  // prerequisites, or an onboarding that stopped between the policy and the user, leaves it behind.
  const policy = await getConnectorPolicy(iam, policyArn);
  if (policy && dryRun) {
    // GetPolicy counts every attachment: the connector user's and group's go first, any other
    // (someone's role, another user) holds the policy.
    const others = (policy.AttachmentCount ?? 0) - Number(onUser) - Number(onGroup);
    const held = [
      ...(others > 0 ? [`it is attached to ${others} other IAM users, groups or roles`] : []),
      ...((policy.PermissionsBoundaryUsageCount ?? 0) > 0
        ? [`it is the permissions boundary of ${policy.PermissionsBoundaryUsageCount} IAM users or roles`]
        : []),
    ];
    if (held.length > 0)
      throw new OffboardingBlockedError(
        `Could not delete policy ${policyArn} in account ${accountId}: ${held.join('; ')}`,
        { step: 'offboard' },
      );
  }
  if (user && userBlockers.length > 0)
    throw new OffboardingBlockedError(
      `Could not delete user ${user.Arn ?? userName} in account ${accountId}: ${userBlockers.join('; ')}`,
      { step: 'offboard' },
    );
  if (policy) {
    const versions = await listAll(async (marker) => {
      const page = await iam.send(new ListPolicyVersionsCommand({ PolicyArn: policyArn, Marker: marker }));
      return { items: page.Versions, marker: page.Marker };
    });
    for (const version of versions.filter(isDeletableVersion)) {
      if (!dryRun)
        await ignoreMissing(
          iam.send(new DeletePolicyVersionCommand({ PolicyArn: policyArn, VersionId: version.VersionId })),
        );
      outcome.policyVersionsDeleted++;
    }
    // The default version goes with the policy itself: IAM refuses to delete it on its own.
    if (!dryRun)
      await blockedOnConflict(
        ignoreMissing(iam.send(new DeletePolicyCommand({ PolicyArn: policyArn }))),
        `Could not delete policy ${policyArn} in account ${accountId}`,
      );
    outcome.policyDeleted = true;
  }

  if (user) {
    if (!dryRun)
      await blockedOnConflict(
        ignoreMissing(iam.send(new DeleteUserCommand({ UserName: userName }))),
        `Could not delete user ${user.Arn ?? userName} in account ${accountId}`,
      );
    outcome.userDeleted = true;
  }

  outcome.changed =
    outcome.accessKeysDeleted > 0 ||
    outcome.policyDetached ||
    outcome.removedFromGroup ||
    outcome.policyDeleted ||
    outcome.userDeleted;
  return outcome;
}

/**
 * What else holds the connector user that the member role may read: inline policies and a console
 * password. MFA devices, signing certificates and SSH keys also block DeleteUser, but the member
 * role may not list them, so a dry run cannot predict those.
 */
async function otherUserHolds(iam: IAMClient, userName: string): Promise<string[]> {
  const inline = await listAll(async (marker) => {
    const page = await iam.send(new ListUserPoliciesCommand({ UserName: userName, Marker: marker }));
    return { items: page.PolicyNames, marker: page.Marker };
  });
  const login = await unlessMissing('NoSuchEntityException', () =>
    iam.send(new GetLoginProfileCommand({ UserName: userName })),
  );
  return [
    ...inline.map((name) => `inline policy ${name} is on it`),
    ...(login ? ['it has a console password (login profile)'] : []),
  ];
}

function isDeletableVersion(version: PolicyVersion): version is PolicyVersion & { VersionId: string } {
  return !version.IsDefaultVersion && typeof version.VersionId === 'string';
}

/** A delete whose target is already gone has done its job: that is what makes a re-run converge. */
async function ignoreMissing(call: Promise<unknown>): Promise<void> {
  try {
    await call;
  } catch (error) {
    if (awsErrorName(error) !== 'NoSuchEntityException') throw error;
  }
}

/**
 * DeleteConflict means something casbridge did not create still holds on (another policy on the
 * user, a login profile, the connector policy attached to someone else's role). The member role
 * may not and should not remove those, so the operator has to.
 */
async function blockedOnConflict(call: Promise<void>, what: string): Promise<void> {
  try {
    await call;
  } catch (error) {
    if (awsErrorName(error) !== 'DeleteConflictException') throw error;
    const reason = (error as { message?: string }).message;
    throw new OffboardingBlockedError(`${what}: ${reason ?? 'DeleteConflict'}`, {
      step: 'offboard',
      cause: error,
    });
  }
}

/**
 * Why the account was offboarded, for the operator's message: a person's offboard run, or the
 * account's own State (closed, suspended), or the scope it left.
 */
function offboardingReason(account: OffboardTarget, connector: 'RETIRED' | 'OFFBOARDED'): string {
  if (connector === 'RETIRED') return 'offboarded-by-operator';
  const state = account.state ?? '';
  if (state === 'SUSPENDED' || state === 'CLOSED' || state === 'PENDING_CLOSURE')
    return state.toLowerCase().replace('_', '-');
  return 'out-of-scope';
}

/** What an unreachable account still holds for casbridge to remove (the trail stays anyway). */
function remainingInAccount(config: Config, accountId: string): string {
  return [
    `user ${connectorUserArn(config, accountId)} and its access keys`,
    `policy ${connectorPolicyArn(config, accountId)} (attached to group ${connectorGroupArn(config, accountId)})`,
  ].join('; ');
}

// ---------------------------------------------------------------- central account

async function cleanUpCentral(
  deps: OffboardDeps,
  account: OffboardTarget,
  {
    dryRun,
    remaining,
    connector,
  }: { dryRun: boolean; remaining: string | undefined; connector: 'RETIRED' | 'OFFBOARDED' },
): Promise<CentralOutcome> {
  const { config, ledger } = deps;
  const { accountId } = account;
  const outcome: CentralOutcome = {
    changed: false,
    connector,
    secretDeletionScheduled: false,
    handoffPublished: false,
    ledgerUpdated: false,
  };

  const secretName = connectorSecretName(config, accountId);
  // Only a live secret is scheduled: Secrets Manager refuses to delete one already scheduled.
  if (await describeConnectorSecret(deps.secrets, secretName)) {
    outcome.secretDeletionScheduled = true;
    if (!dryRun)
      outcome.secretDeletionDate = (
        await deleteConnectorSecret(deps.secrets, secretName, config.secretRecoveryDays)
      ).deletionDate;
  }

  // The ledger's OFFBOARDED (RETIRED) is written only after the hand-off went out, so it doubles
  // as the record that the operator was told: a run killed in between tells them twice, never not
  // at all. An account offboarded before (or departed) was told of then: a person who retires an
  // account casbridge offboarded only makes it RETIRED, and a retired account stays RETIRED.
  const record = await ledger.get(accountId);
  const told = record !== undefined && OFFBOARDED_STATUSES.includes(record.connector);
  const status = told && record.connector === 'RETIRED' ? 'RETIRED' : connector;
  outcome.connector = status;
  if (!told || record.connector !== status) {
    outcome.handoffPublished = !told;
    outcome.ledgerUpdated = true;
    if (!dryRun) {
      if (!told) {
        outcome.sent = await publishOffboarding(deps, account, {
          secretName,
          secretDeletionDate: outcome.secretDeletionDate,
          remaining,
          reason: offboardingReason(account, connector),
        });
      }
      const now = (deps.now ?? Date.now)();
      // lastOutcome and lastError are the report step's to write; the record itself is never deleted.
      await ledger.update(accountId, { connector: status, offboardedAt: new Date(now).toISOString() });
    }
  }

  outcome.changed = outcome.secretDeletionScheduled || outcome.handoffPublished || outcome.ledgerUpdated;
  return outcome;
}

/**
 * Defender for Cloud Apps has no API to remove an app connector instance, so, as with
 * registration, the operator does it from this message. It names the secret, never its value.
 */
async function publishOffboarding(
  deps: Pick<OffboardDeps, 'sns' | 'config'>,
  account: OffboardTarget,
  facts: {
    secretName: string;
    secretDeletionDate: string | undefined;
    remaining: string | undefined;
    reason: string;
  },
): Promise<NonNullable<CentralOutcome['sent']>> {
  const { config } = deps;
  const instanceName = `${account.name} (${account.accountId})`;
  const steps = [
    'Open the Microsoft Defender portal and go to Settings → Cloud Apps → App Connectors.',
    `Find the Amazon Web Services instance named "${instanceName}".`,
    "In that instance's row, open the menu (⋮) and choose Disconnect, then Delete, to remove the instance.",
    `The CloudTrail trail "${config.trailName}" stays in the account on purpose: it is the account's audit record. Remove it only under your own log-retention rules.`,
    `The connector secret ${facts.secretName} is scheduled for deletion${facts.secretDeletionDate ? ` on ${facts.secretDeletionDate}` : ''}; until then, a mistaken offboarding can be undone with Secrets Manager RestoreSecret.`,
  ];
  if (facts.remaining) {
    steps.push(
      `casbridge could not reach the account, so these remain in it: ${facts.remaining}. The next offboard run that reaches the account removes them; delete them by hand if the account comes back otherwise.`,
    );
  }
  const message = {
    type: OFFBOARDING_MESSAGE_TYPE,
    // The same for the topic and every webhook attempt: subscribers deduplicate on it.
    handoffId: createHash('sha256')
      .update(`${OFFBOARDING_MESSAGE_TYPE}:${account.accountId}:${facts.reason}:${facts.secretName}`)
      .digest('hex')
      .slice(0, 32),
    accountId: account.accountId,
    accountName: account.name,
    instanceName,
    reason: facts.reason,
    secretName: facts.secretName,
    trailKept: config.trailName,
    accountCleanup: facts.remaining ? 'pending' : 'complete',
    steps,
  };
  // SNS refuses subjects over 100 characters; account names run to 50.
  return publishHandoff(
    { sns: deps.sns, config },
    message,
    subjectLine(`casbridge: remove connector instance ${instanceName}`),
  );
}
