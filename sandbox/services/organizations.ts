import { createHash } from 'node:crypto';
import { AwsError } from '../core/aws-error';
import { JSON_ERRORS, type RequestContext, type RpcService } from '../core/service';
import type {
  AccountLifecycleState,
  OrgAccount,
  Organization,
  OrganizationalUnit,
  World,
} from '../core/world';
import { changeOperations } from './organizations/changes';
import {
  accountNotFound,
  admit,
  arnOf,
  inputRequired,
  invalidInput,
  readId,
  requireParent,
} from './organizations/common';

/**
 * AWS Organizations (awsJson1_1, `AWSOrganizationsV20161128.<Op>`): the read side casbridge uses
 * to discover the organization, and the changes whose lifecycle events casbridge handles (moves,
 * removals, departures, closures, invitations: ./organizations/changes.ts). Only the management
 * account may list or describe its structure; any member may describe the organization itself.
 */
export const organizationsService: RpcService = {
  kind: 'rpc',
  signingName: 'organizations',
  protocol: 'json1.1',
  global: true,
  // Organizations throttles with its own TooManyRequestsException, not ThrottlingException.
  errors: { ...JSON_ERRORS, throttling: { code: 'TooManyRequestsException', status: 400 } },
  operations: {
    DescribeOrganization: describeOrganization,
    ListRoots: listRoots,
    ListAccounts: listAccounts,
    ListAccountsForParent: listAccountsForParent,
    ListChildren: listChildren,
    ListParents: listParents,
    DescribeAccount: describeAccount,
    ListOrganizationalUnitsForParent: listOrganizationalUnitsForParent,
    DescribeOrganizationalUnit: describeOrganizationalUnit,
    ListTagsForResource: listTagsForResource,
    ...changeOperations,
    ListAWSServiceAccessForOrganization: listAwsServiceAccess,
  },
};

/** Organizations' page-size limit on every List* call. */
export const MAX_PAGE_SIZE = 20;

/**
 * Which response of a listing comes back empty (with a NextToken) when the quirk is on: the 2nd,
 * 5th, 8th... The first page is never empty, so a caller that stops at the first empty page gets
 * some accounts and silently misses the rest, which is how the bug shows up against AWS.
 */
const EMPTY_PAGE_EVERY = 3;

const SCP_POLICY_TYPES = [{ Type: 'SERVICE_CONTROL_POLICY', Status: 'ENABLED' }];

/** The Account.Status AWS still sends beside State until it retires the field (2026-09-09). */
const RETIRED_STATUS: Record<AccountLifecycleState, 'ACTIVE' | 'SUSPENDED' | 'PENDING_CLOSURE'> = {
  ACTIVE: 'ACTIVE',
  SUSPENDED: 'SUSPENDED',
  PENDING_CLOSURE: 'PENDING_CLOSURE',
  CLOSED: 'SUSPENDED',
  PENDING_ACTIVATION: 'ACTIVE',
};

// ---------------------------------------------------------------- operations

async function describeOrganization(ctx: RequestContext) {
  await admit(ctx, 'DescribeOrganization', '*', 'any-member');
  const org = ctx.world.organization;
  const management = org.accounts.get(org.managementAccountId);
  return {
    Organization: {
      Id: org.id,
      Arn: org.arn,
      FeatureSet: 'ALL',
      MasterAccountArn: management?.arn ?? arnOf(org, 'account', org.managementAccountId),
      MasterAccountId: org.managementAccountId,
      MasterAccountEmail: org.managementAccountEmail,
      AvailablePolicyTypes: SCP_POLICY_TYPES,
    },
  };
}

/** The services with trusted access: CloudTrail needs it for an organization trail. */
async function listAwsServiceAccess(ctx: RequestContext, input: Record<string, unknown>) {
  await admit(ctx, 'ListAWSServiceAccessForOrganization', '*');
  const enabled = [...ctx.world.organization.trustedServices].map(([ServicePrincipal, DateEnabled]) => ({
    ServicePrincipal,
    DateEnabled,
  }));
  const page = paginate(ctx, input, 'ListAWSServiceAccessForOrganization', enabled);
  return { EnabledServicePrincipals: page.items, NextToken: page.nextToken };
}

async function listRoots(ctx: RequestContext, input: Record<string, unknown>) {
  await admit(ctx, 'ListRoots', '*');
  const org = ctx.world.organization;
  const roots = [{ Id: org.rootId, Arn: org.rootArn, Name: 'Root', PolicyTypes: SCP_POLICY_TYPES }];
  const page = paginate(ctx, input, 'ListRoots', roots);
  return { Roots: page.items, NextToken: page.nextToken };
}

async function listAccounts(ctx: RequestContext, input: Record<string, unknown>) {
  await admit(ctx, 'ListAccounts', '*');
  const org = ctx.world.organization;
  const page = paginate(ctx, input, 'ListAccounts', [...org.accounts.values()]);
  return { Accounts: page.items.map((a) => accountShape(ctx.world, a)), NextToken: page.nextToken };
}

async function listAccountsForParent(ctx: RequestContext, input: Record<string, unknown>) {
  const parent = readId(input, 'ParentId', ['root', 'ou']);
  const org = ctx.world.organization;
  await admit(ctx, 'ListAccountsForParent', arnOf(org, parent.kind, parent.id));
  requireParent(org, parent.id);
  // Not recursive: an OU's accounts are only those directly in it, the root's those in no OU.
  const accounts = [...org.accounts.values()].filter((a) => a.parentId === parent.id);
  const page = paginate(ctx, input, `ListAccountsForParent/${parent.id}`, accounts);
  return { Accounts: page.items.map((a) => accountShape(ctx.world, a)), NextToken: page.nextToken };
}

async function listChildren(ctx: RequestContext, input: Record<string, unknown>) {
  const parent = readId(input, 'ParentId', ['root', 'ou']);
  const childType = input.ChildType;
  if (childType === undefined || childType === null) throw inputRequired('ChildType');
  if (childType !== 'ACCOUNT' && childType !== 'ORGANIZATIONAL_UNIT') {
    throw invalidInput(
      'INVALID_ENUM',
      `You specified an invalid value for ChildType: ${String(childType)}. Valid values are ACCOUNT and ORGANIZATIONAL_UNIT.`,
    );
  }
  const org = ctx.world.organization;
  await admit(ctx, 'ListChildren', arnOf(org, parent.kind, parent.id));
  requireParent(org, parent.id);
  const ids =
    childType === 'ACCOUNT'
      ? [...org.accounts.values()].filter((a) => a.parentId === parent.id).map((a) => a.id)
      : [...org.ous.values()].filter((ou) => ou.parentId === parent.id).map((ou) => ou.id);
  const page = paginate(ctx, input, `ListChildren/${parent.id}/${childType}`, ids);
  return { Children: page.items.map((Id) => ({ Id, Type: childType })), NextToken: page.nextToken };
}

async function listParents(ctx: RequestContext, input: Record<string, unknown>) {
  const child = readId(input, 'ChildId', ['account', 'ou']);
  const org = ctx.world.organization;
  await admit(ctx, 'ListParents', arnOf(org, child.kind, child.id));
  const parentId =
    child.kind === 'account' ? org.accounts.get(child.id)?.parentId : org.ous.get(child.id)?.parentId;
  if (parentId === undefined) {
    throw new AwsError(
      'ChildNotFoundException',
      "We can't find an organizational unit (OU) or AWS account with the ChildId that you specified.",
    );
  }
  const parents = [{ Id: parentId, Type: parentId === org.rootId ? 'ROOT' : 'ORGANIZATIONAL_UNIT' }];
  const page = paginate(ctx, input, `ListParents/${child.id}`, parents);
  return { Parents: page.items, NextToken: page.nextToken };
}

async function describeAccount(ctx: RequestContext, input: Record<string, unknown>) {
  const { id } = readId(input, 'AccountId', ['account']);
  const org = ctx.world.organization;
  await admit(ctx, 'DescribeAccount', arnOf(org, 'account', id));
  const account = org.accounts.get(id);
  if (!account) throw accountNotFound();
  return { Account: accountShape(ctx.world, account) };
}

async function listOrganizationalUnitsForParent(ctx: RequestContext, input: Record<string, unknown>) {
  const parent = readId(input, 'ParentId', ['root', 'ou']);
  const org = ctx.world.organization;
  await admit(ctx, 'ListOrganizationalUnitsForParent', arnOf(org, parent.kind, parent.id));
  requireParent(org, parent.id);
  const ous = [...org.ous.values()].filter((ou) => ou.parentId === parent.id);
  const page = paginate(ctx, input, `ListOrganizationalUnitsForParent/${parent.id}`, ous);
  return { OrganizationalUnits: page.items.map((ou) => ouShape(org, ou)), NextToken: page.nextToken };
}

async function describeOrganizationalUnit(ctx: RequestContext, input: Record<string, unknown>) {
  const { id } = readId(input, 'OrganizationalUnitId', ['ou']);
  const org = ctx.world.organization;
  await admit(ctx, 'DescribeOrganizationalUnit', arnOf(org, 'ou', id));
  const ou = org.ous.get(id);
  if (!ou) {
    throw new AwsError(
      'OrganizationalUnitNotFoundException',
      "We can't find an OU with the OrganizationalUnitId that you specified.",
    );
  }
  return { OrganizationalUnit: ouShape(org, ou) };
}

async function listTagsForResource(ctx: RequestContext, input: Record<string, unknown>) {
  const resource = readId(input, 'ResourceId', ['account', 'ou', 'root', 'policy']);
  const org = ctx.world.organization;
  await admit(ctx, 'ListTagsForResource', arnOf(org, resource.kind, resource.id));
  const exists =
    resource.kind === 'account'
      ? org.accounts.has(resource.id)
      : resource.kind === 'ou'
        ? org.ous.has(resource.id)
        : resource.kind === 'root'
          ? resource.id === org.rootId
          : org.scps.has(resource.id);
  if (!exists) {
    throw new AwsError(
      'TargetNotFoundException',
      "We can't find a root, OU, account, or policy with the TargetId that you specified.",
    );
  }
  const page = paginate(ctx, input, `ListTagsForResource/${resource.id}`, org.tags.get(resource.id) ?? []);
  return { Tags: page.items, NextToken: page.nextToken };
}

// ---------------------------------------------------------------- pagination

/**
 * One page of a listing (`scope` names it, tokens are bound to it). When the quirk is on, some
 * pages come back empty but with a NextToken: AWS documents that List* may do so and that callers
 * must loop until NextToken is absent.
 */
function paginate<T>(
  ctx: RequestContext,
  input: Record<string, unknown>,
  scope: string,
  items: readonly T[],
): { items: T[]; nextToken?: string } {
  const limit = readMaxResults(input);
  const token = input.NextToken;
  let position: PagePosition = { offset: 0, page: 0 };
  if (token !== undefined && token !== null) {
    const decoded = typeof token === 'string' ? decodePageToken(scope, token) : undefined;
    if (!decoded) {
      throw invalidInput('INVALID_NEXT_TOKEN', 'The specified NextToken is not valid.');
    }
    position = decoded;
  }
  const offset = Math.min(position.offset, items.length);
  const more = (next: number) =>
    next < items.length ? encodePageToken(scope, { offset: next, page: position.page + 1 }) : undefined;
  const emptyPages = ctx.world.settings.organizationsEmptyPages ?? true;
  if (emptyPages && position.page % EMPTY_PAGE_EVERY === 1 && offset < items.length) {
    return withToken([], more(offset));
  }
  return withToken(items.slice(offset, offset + limit), more(offset + limit));
}

interface PagePosition {
  offset: number;
  /** Pages already served in this listing: the empty-page rule counts them. */
  page: number;
}

/**
 * Tokens are opaque on AWS and refused when altered or replayed against another listing (another
 * parent, another operation), so each carries a digest over the listing's scope and the position.
 */
function encodePageToken(scope: string, position: PagePosition): string {
  const body = `${position.offset}.${position.page}`;
  return Buffer.from(`${body}.${tokenDigest(scope, body)}`, 'utf8').toString('base64url');
}

function decodePageToken(scope: string, token: string): PagePosition | undefined {
  const match = /^(\d{1,9})\.(\d{1,9})\.([\w-]{16})$/.exec(Buffer.from(token, 'base64url').toString('utf8'));
  if (!match) return undefined;
  const [, offset, page, digest] = match as unknown as [string, string, string, string];
  if (digest !== tokenDigest(scope, `${offset}.${page}`)) return undefined;
  return { offset: Number(offset), page: Number(page) };
}

function tokenDigest(scope: string, body: string): string {
  return createHash('sha256').update(`${scope}\n${body}`).digest('base64url').slice(0, 16);
}

function withToken<T>(items: T[], nextToken: string | undefined): { items: T[]; nextToken?: string } {
  return nextToken === undefined ? { items } : { items, nextToken };
}

function readMaxResults(input: Record<string, unknown>): number {
  const value = input.MaxResults;
  if (value === undefined || value === null) return MAX_PAGE_SIZE;
  // A JSON front end refuses a mistyped member before the service sees it.
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new AwsError('SerializationException', 'MaxResults must be an integer.');
  }
  if (value < 1) {
    throw invalidInput('MIN_VALUE_EXCEEDED', 'You provided a value that is less than the minimum allowed.');
  }
  if (value > MAX_PAGE_SIZE) {
    throw invalidInput(
      'MAX_VALUE_EXCEEDED',
      'You provided a value that is greater than the maximum allowed.',
    );
  }
  return value;
}

// ---------------------------------------------------------------- shapes

function accountShape(world: World, account: OrgAccount) {
  const org = world.organization;
  return {
    Id: account.id,
    Arn: account.arn,
    Email: account.email,
    Name: account.name,
    State: account.state,
    ...((world.settings.accountStatusField ?? true) ? { Status: RETIRED_STATUS[account.state] } : {}),
    JoinedMethod: account.joinedMethod,
    JoinedTimestamp: account.joinedTimestamp,
    Paths: [`${pathOf(org, account.parentId)}${account.id}/`],
  };
}

function ouShape(org: Organization, ou: OrganizationalUnit) {
  return { Id: ou.id, Arn: ou.arn, Name: ou.name, Path: `${pathOf(org, ou.parentId)}${ou.id}/` };
}

/** `o-…/r-…/ou-…/…/` down to and including `parentId`, the form of Account.Paths. */
function pathOf(org: Organization, parentId: string): string {
  const ids: string[] = [];
  let current: string | undefined = parentId;
  while (current !== undefined && current !== org.rootId) {
    ids.unshift(current);
    current = org.ous.get(current)?.parentId;
  }
  return `${org.id}/${org.rootId}/${ids.map((id) => `${id}/`).join('')}`;
}
