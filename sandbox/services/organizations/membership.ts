import { globalRegionOf } from '../../../commons/partition';
import type { BusEvent, EventFilter } from '../../core/event-log';
import { issueUserKey } from '../../core/identity';
import type { Handshake, IamState, World } from '../../core/world';
import { accountState } from '../../core/world';
import { arnOf } from './common';
import {
  accountDepartedOrganization,
  accountJoinedOrganization,
  closeAccountResult,
  type EventOrigin,
} from './lifecycle-events';

/**
 * How the organization changes over time, and the lifecycle events each change emits into the
 * sandbox's EventBridge (world.events), on the management account's bus in the partition's
 * Organizations Region, as AWS logs them "only in the management account's event history".
 *
 * - A departure (Left, Removed, Cleaned) takes the account out of the organization: ListAccounts
 *   and DescribeAccount no longer know it, no SCP applies to it, and its IAM world stays. The
 *   member-role StackSet (service-managed, automatic deployment, RetainStacksOnAccountRemoval
 *   false, as the README deploys it) deletes its stack instance: the member role goes, so
 *   casbridge's AssumeRole is refused (AccessDenied). The stack's connector group and boundary
 *   policy go too unless casbridge's connector user still uses them, which CloudFormation cannot
 *   delete (its stack ends DELETE_FAILED and keeps them). OrganizationAccountAccessRole, which
 *   CreateAccount made and no stack owns, stays: it trusts the management account still.
 * - A closure: CloseAccount puts the account in PENDING_CLOSURE (still usable); CLOSURE_MS later
 *   it is CLOSED (CloseAccountResult SUCCEEDED), still listed with State CLOSED, and no role in it
 *   can be assumed; POST_CLOSURE_MS after that it departs as Cleaned, closed for good.
 * - A join: an invited standalone account that accepts joins at the root, INVITED, with no role
 *   but what it had (the StackSet reaches it only once it is in a targeted OU, which the sandbox
 *   does not model: moves keep the roles an account has).
 *
 * Time-driven steps happen lazily: settleOrganization runs before every request the sandbox
 * serves, and before its event log is read.
 */

/** AWS: CloseAccount may answer before the closure is done; "wait a few minutes". */
export const CLOSURE_MS = 5 * 60_000;
/** The post-closure period, after which AWS deletes the account's resources and it departs (Cleaned). */
export const POST_CLOSURE_MS = 90 * 86_400_000;
/** Invitations expire after 15 days. */
export const INVITATION_MS = 15 * 86_400_000;

/** Accounts with a closure still to finish, so a request need not look at every account. */
const closing = new WeakMap<World, Set<string>>();

/** Where Organizations records its events: the global Region of the world's partition. */
export function organizationsEventRegion(world: World): string {
  return globalRegionOf(world.settings.partition);
}

/** Appends an event recorded in `account`'s trail and bus at `at` (now by default). */
export function emitEvent(
  world: World,
  account: string,
  build: (origin: EventOrigin) => BusEvent,
  at: Date = world.clock.now(),
): BusEvent {
  const origin: EventOrigin = {
    id: world.rng.uuid(),
    eventId: world.rng.uuid(),
    time: at,
    region: organizationsEventRegion(world),
    account,
  };
  return world.events.append(build(origin)).event;
}

/** Applies what time has done: closures finished, post-closure periods ended, invitations expired. */
export function settleOrganization(world: World): void {
  const nowMs = world.clock.nowMs();
  const org = world.organization;
  for (const id of closing.get(world) ?? []) {
    const account = org.accounts.get(id);
    const closure = account?.closure;
    if (!account || !closure) {
      closing.get(world)?.delete(id);
      continue;
    }
    if (account.state === 'PENDING_CLOSURE' && closure.closesAtMs <= nowMs) {
      account.state = 'CLOSED';
      emitEvent(
        world,
        org.managementAccountId,
        (origin) =>
          closeAccountResult(origin, {
            accountId: id,
            state: 'SUCCEEDED',
            requestedAt: new Date(closure.requestedAtMs),
            completedAt: new Date(closure.closesAtMs),
          }),
        new Date(closure.closesAtMs),
      );
    }
    if (account.state === 'CLOSED' && closure.cleanedAtMs <= nowMs) {
      depart(world, id, 'CLEANED', new Date(closure.cleanedAtMs));
      accountState(world, id).permanentlyClosed = true;
      closing.get(world)?.delete(id);
    }
  }
  for (const handshake of org.handshakes.values()) {
    if (handshake.state === 'OPEN' && handshake.expirationTimestamp.getTime() <= nowMs) {
      handshake.state = 'EXPIRED';
    }
  }
}

/** CloseAccount accepted: PENDING_CLOSURE now, CLOSED after CLOSURE_MS. */
export function beginClosure(world: World, accountId: string): void {
  const account = world.organization.accounts.get(accountId);
  if (!account) return;
  const requestedAtMs = world.clock.nowMs();
  account.state = 'PENDING_CLOSURE';
  account.closure = {
    requestedAtMs,
    closesAtMs: requestedAtMs + CLOSURE_MS,
    cleanedAtMs: requestedAtMs + CLOSURE_MS + POST_CLOSURE_MS,
  };
  let ids = closing.get(world);
  if (!ids) {
    ids = new Set();
    closing.set(world, ids);
  }
  ids.add(accountId);
}

/** Takes an account out of the organization, as any departure does, and emits AccountDepartedOrganization. */
export function depart(
  world: World,
  accountId: string,
  method: 'LEFT' | 'REMOVED' | 'CLEANED',
  at: Date = world.clock.now(),
): void {
  const org = world.organization;
  const account = org.accounts.get(accountId);
  if (!account) return;
  org.accounts.delete(accountId);
  org.tags.delete(accountId);
  for (const scp of org.scps.values()) scp.targets.delete(accountId);
  const state = accountState(world, accountId);
  state.standalone = { name: account.name, email: account.email };
  removeMemberRoleStack(state.iam, state.memberRoleStack);
  delete state.memberRoleStack;
  emitEvent(
    world,
    org.managementAccountId,
    (origin) => accountDepartedOrganization(origin, { accountId, method, at }, membershipSpelling(world)),
    at,
  );
}

/** An invited account accepted: it joins at the root and AccountJoinedOrganization is emitted. */
export function join(world: World, accountId: string, at: Date = world.clock.now()): void {
  const org = world.organization;
  const state = accountState(world, accountId);
  const contact = state.standalone ?? { name: `account-${accountId}`, email: `aws+${accountId}@example.com` };
  org.accounts.set(accountId, {
    id: accountId,
    arn: arnOf(org, 'account', accountId),
    email: contact.email,
    name: contact.name,
    state: 'ACTIVE',
    joinedMethod: 'INVITED',
    joinedTimestamp: at,
    parentId: org.rootId,
  });
  delete state.standalone;
  emitEvent(
    world,
    org.managementAccountId,
    (origin) =>
      accountJoinedOrganization(origin, { accountId, method: 'INVITED', at }, membershipSpelling(world)),
    at,
  );
}

/** An invitation to join, OPEN for INVITATION_MS. */
export function createInvitation(
  world: World,
  target: Handshake['target'],
  notes: string | undefined,
): Handshake {
  const org = world.organization;
  const id = `h-${world.rng.lowerId(16)}`;
  const now = world.clock.now();
  const handshake: Handshake = {
    id,
    arn: arnOf(org, 'handshake', id),
    action: 'INVITE',
    state: 'OPEN',
    target,
    ...(notes ? { notes } : {}),
    requestedTimestamp: now,
    expirationTimestamp: new Date(now.getTime() + INVITATION_MS),
  };
  org.handshakes.set(id, handshake);
  return handshake;
}

/**
 * An AWS account outside the organization, with an administrator (an IAM user with
 * AdministratorAccess) whose key is returned once: what an invitation is sent to.
 */
export function addStandaloneAccount(
  world: World,
  account: { id: string; name: string; email: string },
): { accessKeyId: string; secretAccessKey: string; arn: string } {
  if (!/^\d{12}$/.test(account.id)) throw new Error(`${account.id} is not a 12-digit account id`);
  if (world.organization.accounts.has(account.id) || world.accounts.has(account.id)) {
    throw new Error(`account ${account.id} exists already`);
  }
  const state = accountState(world, account.id);
  state.standalone = { name: account.name, email: account.email };
  const userName = 'Admin';
  const arn = `arn:${world.settings.partition}:iam::${account.id}:user/${userName}`;
  state.iam.users.set(userName.toLowerCase(), {
    userName,
    userId: world.rng.iamId('AIDA'),
    arn,
    path: '/',
    createDate: world.clock.now(),
    tags: [],
    attachedPolicyArns: [`arn:${world.settings.partition}:iam::aws:policy/AdministratorAccess`],
    inlinePolicies: new Map(),
  });
  const { record, secretAccessKey } = issueUserKey(world, account.id, userName, { propagated: true });
  return { accessKeyId: record.accessKeyId, secretAccessKey, arn };
}

function membershipSpelling(world: World): 'departureMethod' | 'departedMethod' {
  return world.settings.membershipEventSpelling ?? 'departureMethod';
}

/**
 * The StackSet deletes its stack instance from a departed account: CloudFormation deletes the
 * member role, and the group and policy unless something outside the stack still holds them
 * (a member, an attached policy, a user's boundary), which IAM refuses to delete.
 */
function removeMemberRoleStack(
  iam: IamState,
  stack: { roles: string[]; groups: string[]; policyArns: string[] } | undefined,
): void {
  if (!stack) return;
  for (const role of stack.roles) iam.roles.delete(role);
  for (const name of stack.groups) {
    const group = iam.groups.get(name);
    if (group && group.members.length === 0 && group.attachedPolicyArns.length === 0) iam.groups.delete(name);
  }
  for (const arn of stack.policyArns) {
    const holders = [...iam.users.values(), ...iam.groups.values(), ...iam.roles.values()];
    const inUse =
      holders.some((holder) => holder.attachedPolicyArns.includes(arn)) ||
      [...iam.users.values()].some((user) => user.permissionsBoundaryArn === arn);
    if (!inUse) iam.policies.delete(arn);
  }
}

/** The events the buses received, once what time has done is applied (see settleOrganization). */
export function busEvents(world: World, filter: EventFilter = {}): BusEvent[] {
  settleOrganization(world);
  return world.events.list(filter);
}
