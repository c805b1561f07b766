import { AwsError } from '../../core/aws-error';
import { type OperationHandler, requireString } from '../../core/service';
import { readTags } from '../../core/tags';
import type { IamRole } from '../../core/world';
import {
  authorizedRole,
  byName,
  deleteConflict,
  encodePolicyDocument,
  entityAlreadyExists,
  entityName,
  entityPath,
  iamArn,
  iamOf,
  iamPage,
  noSuchEntity,
  optionalString,
  parsePolicyDocument,
  underPathPrefix,
} from './common';

/** Default quota on a trust policy (raisable to 4096 on AWS). */
const TRUST_POLICY_SIZE = { name: 'ACLSizePerRole', maxChars: 2048 };
/** Quota on a role's inline policies, counted without whitespace. */
const ROLE_POLICY_SIZE = { name: 'RolePolicySize', maxChars: 10240 };

export const roleOperations: Record<string, OperationHandler> = {
  GetRole: async (ctx, input) => {
    const role = await authorizedRole(ctx, 'iam:GetRole', entityName(input, 'RoleName', 64));
    return { Role: roleShape(role, { withTags: true }) };
  },

  ListRoles: async (ctx, input) => {
    // ListRoles has no resource type: it can only be granted on '*'.
    await ctx.authorize('iam:ListRoles', '*');
    const roles = underPathPrefix([...iamOf(ctx).roles.values()], input).sort(byName((r) => r.roleName));
    const { page, ...more } = iamPage(roles, input);
    return { Roles: page.map((role) => roleShape(role, { withTags: false })), ...more };
  },

  CreateRole: async (ctx, input) => {
    const roleName = entityName(input, 'RoleName', 64);
    const path = entityPath(input);
    const arn = iamArn(ctx, 'role', path, roleName);
    await ctx.authorize('iam:CreateRole', arn);
    const trust = parsePolicyDocument(
      requireString(input, 'AssumeRolePolicyDocument'),
      TRUST_POLICY_SIZE,
      ctx.world.settings.partition,
    );
    const maxSessionDuration =
      input.MaxSessionDuration === undefined ? 3600 : Number(input.MaxSessionDuration);
    if (!Number.isInteger(maxSessionDuration) || maxSessionDuration < 3600 || maxSessionDuration > 43200) {
      throw new AwsError(
        'ValidationError',
        `1 validation error detected: Value '${String(input.MaxSessionDuration)}' at 'maxSessionDuration' failed to satisfy constraint: Member must have value between 3600 and 43200`,
      );
    }
    const roles = iamOf(ctx).roles;
    if (roles.has(roleName.toLowerCase()))
      throw entityAlreadyExists(`Role with name ${roleName} already exists.`);
    const description = optionalString(input, 'Description');
    const role: IamRole = {
      roleName,
      roleId: ctx.world.rng.iamId('AROA'),
      arn,
      path,
      createDate: ctx.world.clock.now(),
      ...(description === undefined ? {} : { description }),
      maxSessionDuration,
      assumeRolePolicy: trust,
      attachedPolicyArns: [],
      inlinePolicies: new Map(),
      tags: readTags(input.Tags),
    };
    roles.set(roleName.toLowerCase(), role);
    return { Role: roleShape(role, { withTags: role.tags.length > 0 }) };
  },

  DeleteRole: async (ctx, input) => {
    const role = await authorizedRole(ctx, 'iam:DeleteRole', entityName(input, 'RoleName', 64));
    if (role.attachedPolicyArns.length > 0) {
      throw deleteConflict('Cannot delete entity, must detach all policies first.');
    }
    if (role.inlinePolicies.size > 0)
      throw deleteConflict('Cannot delete entity, must delete policies first.');
    iamOf(ctx).roles.delete(role.roleName.toLowerCase());
    return undefined;
  },

  PutRolePolicy: async (ctx, input) => {
    const role = await authorizedRole(ctx, 'iam:PutRolePolicy', entityName(input, 'RoleName', 64));
    const policyName = entityName(input, 'PolicyName', 128);
    const document = parsePolicyDocument(
      requireString(input, 'PolicyDocument'),
      ROLE_POLICY_SIZE,
      ctx.world.settings.partition,
    );
    role.inlinePolicies.set(policyName, document);
    return undefined;
  },

  GetRolePolicy: async (ctx, input) => {
    const role = await authorizedRole(ctx, 'iam:GetRolePolicy', entityName(input, 'RoleName', 64));
    const policyName = entityName(input, 'PolicyName', 128);
    const document = role.inlinePolicies.get(policyName);
    if (!document) throw noSuchEntity(`The role policy with name ${policyName} cannot be found.`);
    return {
      RoleName: role.roleName,
      PolicyName: policyName,
      PolicyDocument: encodePolicyDocument(document),
    };
  },

  ListRolePolicies: async (ctx, input) => {
    const role = await authorizedRole(ctx, 'iam:ListRolePolicies', entityName(input, 'RoleName', 64));
    const { page, ...more } = iamPage([...role.inlinePolicies.keys()].sort(), input);
    return { PolicyNames: page, ...more };
  },

  DeleteRolePolicy: async (ctx, input) => {
    const role = await authorizedRole(ctx, 'iam:DeleteRolePolicy', entityName(input, 'RoleName', 64));
    const policyName = entityName(input, 'PolicyName', 128);
    if (!role.inlinePolicies.delete(policyName)) {
      throw noSuchEntity(`The role policy with name ${policyName} cannot be found.`);
    }
    return undefined;
  },
};

/** The `Role` structure; its trust policy leaves IAM URL-encoded like every policy document. */
function roleShape(role: IamRole, options: { withTags: boolean }) {
  return {
    Path: role.path,
    RoleName: role.roleName,
    RoleId: role.roleId,
    Arn: role.arn,
    CreateDate: role.createDate,
    AssumeRolePolicyDocument: encodePolicyDocument(role.assumeRolePolicy),
    Description: role.description,
    MaxSessionDuration: role.maxSessionDuration,
    Tags: options.withTags && role.tags.length > 0 ? role.tags : undefined,
  };
}
