import type { OperationHandler, RequestContext } from '../../core/service';
import type { IamGroup } from '../../core/world';
import {
  authorizedGroup,
  authorizedUser,
  byName,
  deleteConflict,
  entityAlreadyExists,
  entityName,
  entityPath,
  groupsOfUser,
  iamArn,
  iamOf,
  iamPage,
  limitExceeded,
  noSuchEntity,
  underPathPrefix,
} from './common';
import { userShape } from './users';

/** Default IAM quotas: groups in an account, and groups one user can belong to. */
const GROUPS_PER_ACCOUNT = 300;
const GROUPS_PER_USER = 10;

/**
 * IAM groups. They take no tags on AWS (there is no TagGroup), and membership is a relation the
 * group holds: a user lists its groups through ListGroupsForUser, authorized on the user.
 */
export const groupOperations: Record<string, OperationHandler> = {
  CreateGroup: async (ctx, input) => {
    const groupName = entityName(input, 'GroupName', 128);
    const path = entityPath(input);
    const arn = iamArn(ctx.accountId, 'group', path, groupName);
    await ctx.authorize('iam:CreateGroup', arn);
    const groups = iamOf(ctx).groups;
    if (groups.has(groupName.toLowerCase())) {
      throw entityAlreadyExists(`Group with name ${groupName} already exists.`);
    }
    if (groups.size >= GROUPS_PER_ACCOUNT) {
      throw limitExceeded(`Cannot exceed quota for GroupsPerAccount: ${GROUPS_PER_ACCOUNT}`);
    }
    const group: IamGroup = {
      groupName,
      groupId: ctx.world.rng.iamId('AGPA'),
      arn,
      path,
      createDate: ctx.world.clock.now(),
      members: [],
      attachedPolicyArns: [],
      inlinePolicies: new Map(),
    };
    groups.set(groupName.toLowerCase(), group);
    return { Group: groupShape(group) };
  },

  GetGroup: async (ctx, input) => {
    const group = await authorizedGroup(ctx, 'iam:GetGroup', entityName(input, 'GroupName', 128));
    const users = iamOf(ctx).users;
    const members = group.members.map((name) => users.get(name)).filter((user) => user !== undefined);
    const { page, ...more } = iamPage(members, input);
    return {
      Group: groupShape(group),
      Users: page.map((user) => userShape(user, { detailed: false })),
      ...more,
    };
  },

  ListGroups: async (ctx, input) => {
    // ListGroups has no resource type: it can only be granted on '*'.
    await ctx.authorize('iam:ListGroups', '*');
    const groups = underPathPrefix([...iamOf(ctx).groups.values()], input).sort(byName((g) => g.groupName));
    const { page, ...more } = iamPage(groups, input);
    return { Groups: page.map(groupShape), ...more };
  },

  DeleteGroup: async (ctx, input) => {
    const group = await authorizedGroup(ctx, 'iam:DeleteGroup', entityName(input, 'GroupName', 128));
    // In the order the API Reference lists what must go first: members, inline, then managed.
    if (group.members.length > 0) {
      throw deleteConflict('Cannot delete entity, must remove users from group first.');
    }
    if (group.inlinePolicies.size > 0) {
      throw deleteConflict('Cannot delete entity, must delete policies first.');
    }
    if (group.attachedPolicyArns.length > 0) {
      throw deleteConflict('Cannot delete entity, must detach all policies first.');
    }
    iamOf(ctx).groups.delete(group.groupName.toLowerCase());
    return undefined;
  },

  AddUserToGroup: async (ctx, input) => {
    // Authorized on the group alone: the IAM action has no user resource.
    const group = await authorizedGroup(ctx, 'iam:AddUserToGroup', entityName(input, 'GroupName', 128));
    const user = memberUser(ctx, entityName(input, 'UserName', 64));
    const key = user.userName.toLowerCase();
    if (group.members.includes(key)) return undefined;
    if (groupsOfUser(iamOf(ctx), key).length >= GROUPS_PER_USER) {
      throw limitExceeded(`Cannot exceed quota for GroupsPerUser: ${GROUPS_PER_USER}`);
    }
    group.members.push(key);
    return undefined;
  },

  RemoveUserFromGroup: async (ctx, input) => {
    const group = await authorizedGroup(ctx, 'iam:RemoveUserFromGroup', entityName(input, 'GroupName', 128));
    const user = memberUser(ctx, entityName(input, 'UserName', 64));
    const key = user.userName.toLowerCase();
    // A user outside the group is not found in it [Inference: same wording as a missing user].
    if (!group.members.includes(key)) {
      throw noSuchEntity(`The user with name ${user.userName} cannot be found.`);
    }
    group.members = group.members.filter((member) => member !== key);
    return undefined;
  },

  ListGroupsForUser: async (ctx, input) => {
    const user = await authorizedUser(ctx, 'iam:ListGroupsForUser', entityName(input, 'UserName', 64));
    const { page, ...more } = iamPage(groupsOfUser(iamOf(ctx), user.userName), input);
    return { Groups: page.map(groupShape), ...more };
  },
};

function memberUser(ctx: RequestContext, userName: string) {
  const user = iamOf(ctx).users.get(userName.toLowerCase());
  if (!user) throw noSuchEntity(`The user with name ${userName} cannot be found.`);
  return user;
}

/** The `Group` structure. */
export function groupShape(group: IamGroup) {
  return {
    Path: group.path,
    GroupName: group.groupName,
    GroupId: group.groupId,
    Arn: group.arn,
    CreateDate: group.createDate,
  };
}
