import { type OperationHandler, type RequestContext, requireString } from '../../core/service';
import type { IamGroup, IamUser } from '../../core/world';
import { userBoundaryContext } from './attachments';
import {
  authorizedGroup,
  authorizedUser,
  encodePolicyDocument,
  entityName,
  iamPage,
  limitExceeded,
  noSuchEntity,
  parsePolicyDocument,
  policySize,
} from './common';

type Holder = IamUser | IamGroup;
interface HolderKind {
  find: (
    ctx: RequestContext,
    action: string,
    name: string,
    options?: { context?: Record<string, string | string[]> },
  ) => Promise<Holder>;
  noun: 'User' | 'Group';
  member: 'UserName' | 'GroupName';
  maxNameLength: number;
  /**
   * IAM's quota on the holder's inline policies together (not each), counted without whitespace:
   * 2,048 for a user, 5,120 for a group.
   */
  maxTotalChars: number;
  /** Condition keys IAM sets from the holder (a user's current permissions boundary). */
  context: (ctx: RequestContext, name: string) => Record<string, string>;
}

const USERS: HolderKind = {
  find: authorizedUser,
  noun: 'User',
  member: 'UserName',
  maxNameLength: 64,
  maxTotalChars: 2048,
  context: userBoundaryContext,
};
const GROUPS: HolderKind = {
  find: authorizedGroup,
  noun: 'Group',
  member: 'GroupName',
  maxNameLength: 128,
  maxTotalChars: 5120,
  context: () => ({}),
};

/** Inline (embedded) policies of users and groups; roles keep theirs in roles.ts. */
export const inlinePolicyOperations: Record<string, OperationHandler> = {
  PutUserPolicy: (ctx, input) => put(ctx, input, USERS),
  GetUserPolicy: (ctx, input) => get(ctx, input, USERS),
  ListUserPolicies: (ctx, input) => list(ctx, input, USERS),
  DeleteUserPolicy: (ctx, input) => remove(ctx, input, USERS),
  PutGroupPolicy: (ctx, input) => put(ctx, input, GROUPS),
  GetGroupPolicy: (ctx, input) => get(ctx, input, GROUPS),
  ListGroupPolicies: (ctx, input) => list(ctx, input, GROUPS),
  DeleteGroupPolicy: (ctx, input) => remove(ctx, input, GROUPS),
};

async function put(ctx: RequestContext, input: Record<string, unknown>, kind: HolderKind) {
  const name = entityName(input, kind.member, kind.maxNameLength);
  const holder = await kind.find(ctx, `iam:Put${kind.noun}Policy`, name, {
    context: kind.context(ctx, name),
  });
  const policyName = entityName(input, 'PolicyName', 128);
  const text = requireString(input, 'PolicyDocument');
  const document = parsePolicyDocument(text);
  let total = policySize(text);
  for (const [other, existing] of holder.inlinePolicies)
    if (other !== policyName) total += policySize(existing);
  if (total > kind.maxTotalChars) {
    throw limitExceeded(
      `Maximum policy size of ${kind.maxTotalChars} bytes exceeded for ${kind.noun.toLowerCase()} ${name}`,
    );
  }
  holder.inlinePolicies.set(policyName, document);
  return undefined;
}

async function get(ctx: RequestContext, input: Record<string, unknown>, kind: HolderKind) {
  const name = entityName(input, kind.member, kind.maxNameLength);
  const holder = await kind.find(ctx, `iam:Get${kind.noun}Policy`, name);
  const policyName = entityName(input, 'PolicyName', 128);
  const document = holder.inlinePolicies.get(policyName);
  if (!document) throw missing(kind, policyName);
  return {
    [kind.member]: 'userName' in holder ? holder.userName : holder.groupName,
    PolicyName: policyName,
    // URL-encoded, as every policy document IAM returns.
    PolicyDocument: encodePolicyDocument(document),
  };
}

async function list(ctx: RequestContext, input: Record<string, unknown>, kind: HolderKind) {
  const name = entityName(input, kind.member, kind.maxNameLength);
  const holder = await kind.find(ctx, `iam:List${kind.noun}Policies`, name);
  const { page, ...more } = iamPage([...holder.inlinePolicies.keys()].sort(), input);
  return { PolicyNames: page, ...more };
}

async function remove(ctx: RequestContext, input: Record<string, unknown>, kind: HolderKind) {
  const name = entityName(input, kind.member, kind.maxNameLength);
  const holder = await kind.find(ctx, `iam:Delete${kind.noun}Policy`, name, {
    context: kind.context(ctx, name),
  });
  const policyName = entityName(input, 'PolicyName', 128);
  if (!holder.inlinePolicies.delete(policyName)) throw missing(kind, policyName);
  return undefined;
}

function missing(kind: HolderKind, policyName: string) {
  return noSuchEntity(`The ${kind.noun.toLowerCase()} policy with name ${policyName} cannot be found.`);
}
