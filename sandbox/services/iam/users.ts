import type { OperationHandler } from '../../core/service';
import { mergeTags, readTags, removeTagKeys } from '../../core/tags';
import type { IamUser, Tag } from '../../core/world';
import {
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
  targetUserName,
  underPathPrefix,
} from './common';
import { requireBoundaryPolicy } from './permissions-boundaries';
import { policyArnOf } from './policies';

const TAGS_PER_USER = 50;

export const userOperations: Record<string, OperationHandler> = {
  GetUser: async (ctx, input) => {
    const user = await authorizedUser(ctx, 'iam:GetUser', targetUserName(ctx, input));
    return { User: userShape(user, { detailed: true }) };
  },

  CreateUser: async (ctx, input) => {
    const userName = entityName(input, 'UserName', 64);
    const path = entityPath(input);
    const tags = checkedTags([], readTags(input.Tags));
    const arn = iamArn(ctx.accountId, 'user', path, userName);
    const boundary =
      input.PermissionsBoundary === undefined ? undefined : policyArnOf(input, 'PermissionsBoundary');
    // iam:PermissionsBoundary lets an administrator allow new users only with a given boundary.
    await ctx.authorize(
      'iam:CreateUser',
      arn,
      boundary === undefined ? {} : { context: { 'iam:PermissionsBoundary': boundary } },
    );
    if (boundary !== undefined) requireBoundaryPolicy(ctx, boundary);
    // As on AWS: tags given at creation need iam:TagUser on the user too.
    if (tags.length > 0) await ctx.authorize('iam:TagUser', arn);
    const users = iamOf(ctx).users;
    if (users.has(userName.toLowerCase())) {
      throw entityAlreadyExists(`User with name ${userName} already exists.`);
    }
    const user: IamUser = {
      userName,
      userId: ctx.world.rng.iamId('AIDA'),
      arn,
      path,
      createDate: ctx.world.clock.now(),
      tags,
      attachedPolicyArns: [],
      inlinePolicies: new Map(),
      ...(boundary === undefined ? {} : { permissionsBoundaryArn: boundary }),
    };
    users.set(userName.toLowerCase(), user);
    return { User: userShape(user, { detailed: true }) };
  },

  DeleteUser: async (ctx, input) => {
    const user = await authorizedUser(ctx, 'iam:DeleteUser', entityName(input, 'UserName', 64));
    const iam = iamOf(ctx);
    const key = user.userName.toLowerCase();
    // IAM refuses while anything hangs off the user, checked in the order the API Reference lists
    // what to remove first: password, keys, inline policies, managed policies, group memberships.
    if (user.loginProfile) throw deleteConflict('Cannot delete entity, must delete login profile first.');
    if ([...iam.accessKeys.values()].some((k) => k.userName.toLowerCase() === key)) {
      throw deleteConflict('Cannot delete entity, must delete access keys first.');
    }
    if (user.inlinePolicies.size > 0)
      throw deleteConflict('Cannot delete entity, must delete policies first.');
    if (user.attachedPolicyArns.length > 0) {
      throw deleteConflict('Cannot delete entity, must detach all policies first.');
    }
    if (groupsOfUser(iam, key).length > 0) {
      throw deleteConflict('Cannot delete entity, must remove users from group first.');
    }
    iam.users.delete(key);
    return undefined;
  },

  TagUser: async (ctx, input) => {
    const user = await authorizedUser(ctx, 'iam:TagUser', entityName(input, 'UserName', 64));
    user.tags = checkedTags(user.tags, readTags(input.Tags));
    return undefined;
  },

  UntagUser: async (ctx, input) => {
    const user = await authorizedUser(ctx, 'iam:UntagUser', entityName(input, 'UserName', 64));
    const keys = Array.isArray(input.TagKeys) ? input.TagKeys.map(String) : [];
    user.tags = removeTagKeys(user.tags, keys);
    return undefined;
  },

  ListUserTags: async (ctx, input) => {
    const user = await authorizedUser(ctx, 'iam:ListUserTags', entityName(input, 'UserName', 64));
    const { page, ...more } = iamPage(user.tags, input);
    return { Tags: page, ...more };
  },

  ListUsers: async (ctx, input) => {
    // ListUsers has no resource type: it can only be granted on '*'.
    await ctx.authorize('iam:ListUsers', '*');
    const users = underPathPrefix([...iamOf(ctx).users.values()], input).sort(byName((u) => u.userName));
    const { page, ...more } = iamPage(users, input);
    return { Users: page.map((user) => userShape(user, { detailed: false })), ...more };
  },
};

/**
 * The `User` structure; only GetUser (and CreateUser) carry the tags and the permissions
 * boundary: the List calls leave them out, as IAM's do.
 */
export function userShape(user: IamUser, options: { detailed: boolean }) {
  return {
    Path: user.path,
    UserName: user.userName,
    UserId: user.userId,
    Arn: user.arn,
    CreateDate: user.createDate,
    PermissionsBoundary:
      options.detailed && user.permissionsBoundaryArn !== undefined
        ? { PermissionsBoundaryType: 'Policy', PermissionsBoundaryArn: user.permissionsBoundaryArn }
        : undefined,
    Tags: options.detailed && user.tags.length > 0 ? user.tags : undefined,
  };
}

function checkedTags(existing: readonly Tag[], incoming: readonly Tag[]): Tag[] {
  const merged = mergeTags(existing, incoming);
  if (merged.length > TAGS_PER_USER) {
    throw limitExceeded(`Cannot exceed quota for TagsPerUser: ${TAGS_PER_USER}`);
  }
  return merged;
}
