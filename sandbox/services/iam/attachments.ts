import type { OperationHandler, RequestContext } from '../../core/service';
import {
  authorizedGroup,
  authorizedRole,
  authorizedUser,
  entityName,
  iamOf,
  iamPage,
  limitExceeded,
  noSuchEntity,
  optionalString,
} from './common';
import { arnOf, findManagedPolicy, nameOf, policyArnOf } from './policies';

/** Default IAM quota on managed policies attached to one user, role or group. */
const MANAGED_POLICIES_PER_ENTITY = 10;

type Holder = { attachedPolicyArns: string[] };
interface HolderKind {
  find: (
    ctx: RequestContext,
    action: string,
    name: string,
    options?: { context?: Record<string, string | string[]> },
  ) => Promise<Holder>;
  noun: 'User' | 'Role' | 'Group';
  member: 'UserName' | 'RoleName' | 'GroupName';
  maxNameLength: number;
  /** Condition keys IAM sets from the holder itself (a user's current permissions boundary). */
  context: (ctx: RequestContext, name: string) => Record<string, string>;
}

const NO_CONTEXT = () => ({});
const USERS: HolderKind = {
  find: authorizedUser,
  noun: 'User',
  member: 'UserName',
  maxNameLength: 64,
  context: userBoundaryContext,
};
const ROLES: HolderKind = {
  find: authorizedRole,
  noun: 'Role',
  member: 'RoleName',
  maxNameLength: 64,
  context: NO_CONTEXT,
};
const GROUPS: HolderKind = {
  find: authorizedGroup,
  noun: 'Group',
  member: 'GroupName',
  maxNameLength: 128,
  context: NO_CONTEXT,
};

export const attachmentOperations: Record<string, OperationHandler> = {
  AttachUserPolicy: (ctx, input) => attach(ctx, input, USERS),
  DetachUserPolicy: (ctx, input) => detach(ctx, input, USERS),
  ListAttachedUserPolicies: (ctx, input) => listAttached(ctx, input, USERS),
  AttachRolePolicy: (ctx, input) => attach(ctx, input, ROLES),
  DetachRolePolicy: (ctx, input) => detach(ctx, input, ROLES),
  ListAttachedRolePolicies: (ctx, input) => listAttached(ctx, input, ROLES),
  AttachGroupPolicy: (ctx, input) => attach(ctx, input, GROUPS),
  DetachGroupPolicy: (ctx, input) => detach(ctx, input, GROUPS),
  ListAttachedGroupPolicies: (ctx, input) => listAttached(ctx, input, GROUPS),
};

/**
 * `iam:PermissionsBoundary` on a call that changes a user's policies is the boundary the user has
 * now, so an administrator can allow such changes only on users that carry a given boundary.
 */
export function userBoundaryContext(ctx: RequestContext, userName: string): Record<string, string> {
  const boundary = iamOf(ctx).users.get(userName.toLowerCase())?.permissionsBoundaryArn;
  return boundary === undefined ? {} : { 'iam:PermissionsBoundary': boundary };
}

async function attach(ctx: RequestContext, input: Record<string, unknown>, kind: HolderKind) {
  const name = entityName(input, kind.member, kind.maxNameLength);
  const policyArn = policyArnOf(input);
  // iam:PolicyARN lets an administrator limit which policies a principal may attach.
  const holder = await kind.find(ctx, `iam:Attach${kind.noun}Policy`, name, {
    context: { ...kind.context(ctx, name), 'iam:PolicyARN': policyArn },
  });
  if (!findManagedPolicy(iamOf(ctx), policyArn)) {
    throw noSuchEntity(`Policy ${policyArn} does not exist or is not attachable.`);
  }
  if (holder.attachedPolicyArns.includes(policyArn)) return undefined;
  if (holder.attachedPolicyArns.length >= MANAGED_POLICIES_PER_ENTITY) {
    throw limitExceeded(`Cannot exceed quota for PoliciesPer${kind.noun}: ${MANAGED_POLICIES_PER_ENTITY}`);
  }
  holder.attachedPolicyArns.push(policyArn);
  return undefined;
}

async function detach(ctx: RequestContext, input: Record<string, unknown>, kind: HolderKind) {
  const name = entityName(input, kind.member, kind.maxNameLength);
  const policyArn = policyArnOf(input);
  const holder = await kind.find(ctx, `iam:Detach${kind.noun}Policy`, name, {
    context: { ...kind.context(ctx, name), 'iam:PolicyARN': policyArn },
  });
  if (!holder.attachedPolicyArns.includes(policyArn))
    throw noSuchEntity(`Policy ${policyArn} was not found.`);
  holder.attachedPolicyArns = holder.attachedPolicyArns.filter((arn) => arn !== policyArn);
  return undefined;
}

async function listAttached(ctx: RequestContext, input: Record<string, unknown>, kind: HolderKind) {
  const name = entityName(input, kind.member, kind.maxNameLength);
  const holder = await kind.find(ctx, `iam:ListAttached${kind.noun}Policies`, name);
  const iam = iamOf(ctx);
  const prefix = optionalString(input, 'PathPrefix') ?? '/';
  const attached = holder.attachedPolicyArns
    .map((arn) => findManagedPolicy(iam, arn))
    .filter((policy) => policy !== undefined)
    .filter((policy) => (policy.kind === 'aws' ? '/' : policy.policy.path).startsWith(prefix));
  const { page, ...more } = iamPage(attached, input);
  return {
    AttachedPolicies: page.map((policy) => ({ PolicyName: nameOf(policy), PolicyArn: arnOf(policy) })),
    ...more,
  };
}
