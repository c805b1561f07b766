import { AwsError } from '../../core/aws-error';
import { paginate } from '../../core/pagination';
import { type RequestContext, requireString } from '../../core/service';
import {
  accountState,
  type IamGroup,
  type IamRole,
  type IamState,
  type IamUser,
  type PolicyDocument,
} from '../../core/world';

/** IAM is global: one state per account, whatever Region the request was signed for. */
export function iamOf(ctx: RequestContext): IamState {
  return accountState(ctx.world, ctx.accountId).iam;
}

export function noSuchEntity(message: string): AwsError {
  return new AwsError('NoSuchEntity', message, 404);
}

export function entityAlreadyExists(message: string): AwsError {
  return new AwsError('EntityAlreadyExists', message, 409);
}

export function deleteConflict(message: string): AwsError {
  return new AwsError('DeleteConflict', message, 409);
}

export function limitExceeded(message: string): AwsError {
  return new AwsError('LimitExceeded', message, 409);
}

export function invalidInput(message: string): AwsError {
  return new AwsError('InvalidInput', message, 400);
}

export function validationError(member: string, value: string, constraint: string): AwsError {
  return new AwsError(
    'ValidationError',
    `1 validation error detected: Value '${value}' at '${member}' failed to satisfy constraint: ${constraint}`,
  );
}

/** Names of users, roles and policies: `[\w+=,.@-]+`, compared without regard to case. */
export function entityName(input: Record<string, unknown>, member: string, maxLength: number): string {
  const name = requireString(input, member);
  const wireMember = member.charAt(0).toLowerCase() + member.slice(1);
  if (!/^[\w+=,.@-]+$/.test(name)) {
    throw validationError(wireMember, name, 'Member must satisfy regular expression pattern: [\\w+=,.@-]+');
  }
  if (name.length > maxLength) {
    throw validationError(wireMember, name, `Member must have length less than or equal to ${maxLength}`);
  }
  return name;
}

export function optionalString(input: Record<string, unknown>, member: string): string | undefined {
  const value = input[member];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** A `Path`: `/` or `/segments/`, printable ASCII. */
export function entityPath(input: Record<string, unknown>, member = 'Path'): string {
  const path = optionalString(input, member) ?? '/';
  if (!/^(\/|\/[\u0021-\u007e]+\/)$/.test(path) || path.length > 512) {
    throw validationError(
      member.charAt(0).toLowerCase() + member.slice(1),
      path,
      'Member must satisfy regular expression pattern: (\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)',
    );
  }
  return path;
}

export function iamArn(
  accountId: string,
  kind: 'user' | 'role' | 'group' | 'policy',
  path: string,
  name: string,
): string {
  return `arn:aws:iam::${accountId}:${kind}${path}${name}`;
}

/**
 * The user an operation names, or, when `UserName` is omitted, the calling user: IAM infers it from
 * the signing key, which only works for a user's long-term key.
 */
export function targetUserName(ctx: RequestContext, input: Record<string, unknown>): string {
  const named = optionalString(input, 'UserName');
  if (named !== undefined) return named;
  if (ctx.principal.kind === 'user') return ctx.principal.userName;
  throw new AwsError('ValidationError', 'Must specify userName when calling with non-User credentials');
}

/**
 * Authorizes `action` on a user, then finds it. IAM authorizes before it looks, and a user that does
 * not exist has no path, so the request is evaluated against `user/<name>`: a policy scoped to
 * `user/casbridge/*` gets AccessDenied, not NoSuchEntity, for a missing user [Observed].
 */
export async function authorizedUser(
  ctx: RequestContext,
  action: string,
  userName: string,
  options: { context?: Record<string, string | string[]> } = {},
): Promise<IamUser> {
  const user = iamOf(ctx).users.get(userName.toLowerCase());
  await ctx.authorize(action, user?.arn ?? iamArn(ctx.accountId, 'user', '/', userName), options);
  if (!user) throw noSuchEntity(`The user with name ${userName} cannot be found.`);
  return user;
}

/** As {@link authorizedUser}, for roles. */
export async function authorizedRole(
  ctx: RequestContext,
  action: string,
  roleName: string,
  options: { context?: Record<string, string | string[]> } = {},
): Promise<IamRole> {
  const role = iamOf(ctx).roles.get(roleName.toLowerCase());
  await ctx.authorize(action, role?.arn ?? iamArn(ctx.accountId, 'role', '/', roleName), options);
  if (!role) throw noSuchEntity(`The role with name ${roleName} cannot be found.`);
  return role;
}

/** As {@link authorizedUser}, for groups (`arn:aws:iam::ACCOUNT:group/PATH/NAME`). */
export async function authorizedGroup(
  ctx: RequestContext,
  action: string,
  groupName: string,
  options: { context?: Record<string, string | string[]> } = {},
): Promise<IamGroup> {
  const group = iamOf(ctx).groups.get(groupName.toLowerCase());
  await ctx.authorize(action, group?.arn ?? iamArn(ctx.accountId, 'group', '/', groupName), options);
  if (!group) throw noSuchEntity(`The group with name ${groupName} cannot be found.`);
  return group;
}

/** The groups a user belongs to, by group name. */
export function groupsOfUser(iam: IamState, userName: string): IamGroup[] {
  const member = userName.toLowerCase();
  return [...iam.groups.values()]
    .filter((group) => group.members.includes(member))
    .sort(byName((g) => g.groupName));
}

/**
 * Checks a submitted policy document as IAM does before storing it. `maxChars` is the quota on
 * its size, which IAM counts without whitespace; inline user and group policies share one quota
 * across the holder's documents and check it themselves ({@link policySize}).
 */
export function parsePolicyDocument(
  text: string,
  quota?: { name: string; maxChars: number },
): PolicyDocument {
  if (quota && policySize(text) > quota.maxChars) {
    throw limitExceeded(`Cannot exceed quota for ${quota.name}: ${quota.maxChars}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw malformed('Syntax errors in policy.');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw malformed('Syntax errors in policy.');
  }
  const statement = (parsed as Record<string, unknown>).Statement;
  if (statement === undefined) throw malformed('Missing required field Statement');
  const statements = Array.isArray(statement) ? statement : [statement];
  if (statements.length === 0) throw malformed('Missing required field Statement');
  for (const item of statements) {
    if (typeof item !== 'object' || item === null) throw malformed('Syntax errors in policy.');
    const effect = (item as Record<string, unknown>).Effect;
    if (effect === undefined) throw malformed('Missing required field Effect');
    if (effect !== 'Allow' && effect !== 'Deny') throw malformed(`Invalid effect: ${String(effect)}`);
  }
  return parsed as PolicyDocument;
}

/** A document's size as IAM counts it against its quotas: characters other than whitespace. */
export function policySize(document: string | PolicyDocument): number {
  return (typeof document === 'string' ? document : JSON.stringify(document)).replace(/\s/g, '').length;
}

function malformed(message: string): AwsError {
  return new AwsError('MalformedPolicyDocument', message, 400);
}

/**
 * Policy documents leave IAM URL-encoded (RFC 3986) in every response that carries one
 * (GetPolicyVersion, GetRole, GetRolePolicy), and the SDK does not decode them.
 */
export function encodePolicyDocument(document: string | PolicyDocument): string {
  return encodeURIComponent(typeof document === 'string' ? document : JSON.stringify(document));
}

/**
 * One page of an IAM listing. `Marker` is left out on the last page: SDK v3 paginators stop on a
 * missing token and never look at `IsTruncated`.
 */
export function iamPage<T>(
  items: readonly T[],
  input: Record<string, unknown>,
): { page: T[]; IsTruncated: boolean; Marker?: string } {
  const maxItems = input.MaxItems === undefined ? 100 : Number(input.MaxItems);
  if (!Number.isInteger(maxItems) || maxItems < 1 || maxItems > 1000) {
    throw validationError('maxItems', String(input.MaxItems), 'Member must have value between 1 and 1000');
  }
  const { page, nextToken } = paginate(items, maxItems, optionalString(input, 'Marker'), () =>
    invalidInput('Invalid Marker.'),
  );
  return nextToken === undefined
    ? { page, IsTruncated: false }
    : { page, IsTruncated: true, Marker: nextToken };
}

/** `PathPrefix` filtering, as every IAM List* call applies it. */
export function underPathPrefix<T extends { path: string }>(items: T[], input: Record<string, unknown>): T[] {
  const prefix = optionalString(input, 'PathPrefix') ?? '/';
  return items.filter((item) => item.path.startsWith(prefix));
}

export function byName<T>(nameOf: (item: T) => string): (a: T, b: T) => number {
  return (a, b) => nameOf(a).toLowerCase().localeCompare(nameOf(b).toLowerCase());
}
