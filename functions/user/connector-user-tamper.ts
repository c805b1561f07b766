import {
  DeleteLoginProfileCommand,
  DeleteUserPolicyCommand,
  DetachUserPolicyCommand,
  GetLoginProfileCommand,
  type IAMClient,
  ListAttachedUserPoliciesCommand,
  ListGroupsForUserCommand,
  ListUserPoliciesCommand,
} from '@aws-sdk/client-iam';
import { type Config, connectorGroupArn, connectorPolicyArn } from '../../commons/config';
import { listAll, unlessMissing } from '../../commons/connector-resources';
import type { StepResult } from '../../commons/step-result';
import type { TamperFinding } from '../../commons/tamper';

/**
 * What the connector user holds besides what casbridge gives it (the connector group, and the
 * connector policy while an account still has the direct attachment to migrate): each extra
 * attached policy, inline policy, other group and the console password is a finding. The member
 * role may remove all but a group that is not casbridge's: removing the user from it would need
 * RemoveUserFromGroup on every group of the account (templates/member-role.yml, ConnectorGroup).
 */
export interface ConnectorUserInspection {
  /** Whether the user is in the connector group, and still has the connector policy directly. */
  facts: ConnectorUserFacts;
  findings: TamperFinding[];
}

export interface ConnectorUserFacts {
  connectorGroupMember: boolean;
  connectorPolicyOnUser: boolean;
}

export async function inspectConnectorUser(
  iam: IAMClient,
  config: Config,
  accountId: string,
): Promise<ConnectorUserInspection> {
  const UserName = config.userName;
  const policyArn = connectorPolicyArn(config, accountId);
  const groupArn = connectorGroupArn(config, accountId);
  // One after the other: four small reads, and the account's call log stays in a fixed order.
  const attached = await listAll(async (Marker) => {
    const page = await iam.send(new ListAttachedUserPoliciesCommand({ UserName, Marker }));
    return { items: page.AttachedPolicies, marker: page.IsTruncated ? page.Marker : undefined };
  });
  const inline = await listAll(async (Marker) => {
    const page = await iam.send(new ListUserPoliciesCommand({ UserName, Marker }));
    return { items: page.PolicyNames, marker: page.IsTruncated ? page.Marker : undefined };
  });
  const groups = await listAll(async (Marker) => {
    const page = await iam.send(new ListGroupsForUserCommand({ UserName, Marker }));
    return { items: page.Groups, marker: page.IsTruncated ? page.Marker : undefined };
  });
  // The connector never has a console password (also Security Hub's concern): absent is the answer.
  const loginProfile = await unlessMissing('NoSuchEntityException', () =>
    iam.send(new GetLoginProfileCommand({ UserName })),
  );
  const findings: TamperFinding[] = [];
  for (const policy of attached) {
    const PolicyArn = policy.PolicyArn ?? '';
    if (PolicyArn === policyArn) continue;
    findings.push({
      what: `managed policy ${PolicyArn} attached to user ${UserName}`,
      repair: async () => {
        await unlessMissing('NoSuchEntityException', () =>
          iam.send(new DetachUserPolicyCommand({ UserName, PolicyArn })),
        );
      },
    });
  }
  for (const PolicyName of inline) {
    findings.push({
      what: `inline policy ${PolicyName} on user ${UserName}`,
      repair: async () => {
        await unlessMissing('NoSuchEntityException', () =>
          iam.send(new DeleteUserPolicyCommand({ UserName, PolicyName })),
        );
      },
    });
  }
  for (const group of groups) {
    if (group.Arn === groupArn) continue;
    findings.push({ what: `user ${UserName} is a member of group ${group.Arn ?? group.GroupName}` });
  }
  if (loginProfile) {
    findings.push({
      what: `user ${UserName} has a console password (login profile)`,
      repair: async () => {
        await unlessMissing('NoSuchEntityException', () =>
          iam.send(new DeleteLoginProfileCommand({ UserName })),
        );
      },
    });
  }
  return {
    facts: {
      connectorGroupMember: groups.some((g) => g.Arn === groupArn),
      connectorPolicyOnUser: attached.some((p) => p.PolicyArn === policyArn),
    },
    findings,
  };
}

/**
 * The facts the user step found, as the policy step reads them from the run's earlier steps; a
 * user created in this run (or to be created, in a dry run) is in no group and has no policy.
 * Undefined when the user step did not say (a step run on its own).
 */
export function connectorUserFacts(user: StepResult | undefined): ConnectorUserFacts | undefined {
  if (user?.action === 'created') return { connectorGroupMember: false, connectorPolicyOnUser: false };
  const member = user?.details?.connectorGroupMember;
  const direct = user?.details?.connectorPolicyOnUser;
  if (typeof member !== 'boolean' || typeof direct !== 'boolean') return undefined;
  return { connectorGroupMember: member, connectorPolicyOnUser: direct };
}
