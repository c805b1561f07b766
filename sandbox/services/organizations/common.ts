import { AwsError } from '../../core/aws-error';
import { JSON_ERRORS, type RequestContext } from '../../core/service';
import type { Organization } from '../../core/world';

/** What Organizations' own ids look like, by kind (its API reference's patterns). */
export type IdKind = 'account' | 'root' | 'ou' | 'policy' | 'handshake';

const ID_PATTERNS: Record<IdKind, RegExp> = {
  account: /^\d{12}$/,
  root: /^r-[0-9a-z]{4,32}$/,
  ou: /^ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}$/,
  policy: /^p-[0-9a-zA-Z_]{8,128}$/,
  handshake: /^h-[0-9a-z]{8,32}$/,
};

/**
 * Organizations answers in this order: the caller's IAM permission, then whether its account is in
 * an organization at all, then whether that account may see the organization's structure. A member
 * account with full IAM rights still gets AccessDeniedException from the List/Describe calls.
 */
export async function admit(
  ctx: RequestContext,
  operation: string,
  resource: string,
  who: 'management' | 'any-member' = 'management',
): Promise<void> {
  const org = ctx.world.organization;
  // A member account's call that only the management account may make is admitted through the
  // organization's delegation policy, a resource policy of the management account: the caller's
  // own policies and that policy must both allow it (AWS's cross-account evaluation).
  const delegated =
    who === 'management' && ctx.accountId !== org.managementAccountId && org.accounts.has(ctx.accountId);
  if (delegated && org.delegationPolicy) {
    await ctx.authorize(`organizations:${operation}`, resource, {
      resourcePolicy: org.delegationPolicy,
      resourceAccountId: org.managementAccountId,
    });
    return;
  }
  await ctx.authorize(`organizations:${operation}`, resource);
  if (!org.accounts.has(ctx.accountId)) {
    throw new AwsError(
      'AWSOrganizationsNotInUseException',
      'Your account is not a member of an organization.',
    );
  }
  if (who === 'management' && ctx.accountId !== org.managementAccountId) {
    throw new AwsError(
      JSON_ERRORS.accessDenied.code,
      "You don't have permissions to access this resource.",
      JSON_ERRORS.accessDenied.status,
    );
  }
}

export function readId(
  input: Record<string, unknown>,
  member: string,
  kinds: readonly IdKind[],
): { kind: IdKind; id: string } {
  const value = input[member];
  if (value === undefined || value === null || value === '') throw inputRequired(member);
  const kind = typeof value === 'string' ? kinds.find((k) => ID_PATTERNS[k].test(value)) : undefined;
  if (kind === undefined) {
    throw invalidInput('INVALID_PATTERN', `You specified an invalid value for ${member}.`);
  }
  return { kind, id: value as string };
}

export function isParent(org: Organization, parentId: string): boolean {
  return parentId === org.rootId || org.ous.has(parentId);
}

export function requireParent(org: Organization, parentId: string): void {
  if (isParent(org, parentId)) return;
  throw new AwsError(
    'ParentNotFoundException',
    "We can't find a root or OU with the ParentId that you specified.",
  );
}

export function accountNotFound(): AwsError {
  return new AwsError('AccountNotFoundException', "You specified an account that doesn't exist.");
}

export function invalidInput(reason: string, message: string): AwsError {
  return new AwsError('InvalidInputException', message, 400, { Reason: reason });
}

export function inputRequired(member: string): AwsError {
  return invalidInput('INPUT_REQUIRED', `You must specify a value for ${member}.`);
}

export function constraintViolation(reason: string, message: string): AwsError {
  return new AwsError('ConstraintViolationException', message, 400, { Reason: reason });
}

export function arnOf(org: Organization, kind: IdKind, id: string): string {
  // The organization's own ARN carries the partition every ARN in it shares.
  const base = `arn:${org.arn.split(':')[1]}:organizations::${org.managementAccountId}`;
  // The sandbox's only policy type is the SCP; a policy ARN names its type.
  if (kind === 'policy') return `${base}:policy/${org.id}/service_control_policy/${id}`;
  if (kind === 'handshake') return `${base}:handshake/${org.id}/invite/${id}`;
  return `${base}:${kind}/${org.id}/${id}`;
}
