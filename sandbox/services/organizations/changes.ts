import { AwsError } from '../../core/aws-error';
import type { BusEvent } from '../../core/event-log';
import type { OperationHandler, RequestContext } from '../../core/service';
import type { Handshake, World } from '../../core/world';
import {
  accountNotFound,
  admit,
  arnOf,
  constraintViolation,
  inputRequired,
  invalidInput,
  isParent,
  readId,
} from './common';
import {
  type ApiCaller,
  acceptHandshakeCall,
  closeAccountCall,
  type EventOrigin,
  inviteAccountCall,
  leaveOrganizationCall,
  moveAccountCall,
  type RecordedHandshake,
  removeAccountCall,
} from './lifecycle-events';
import { beginClosure, createInvitation, depart, emitEvent, join } from './membership';

/**
 * The Organizations calls that change membership or structure, with AWS's errors (API
 * reference), each recorded as CloudTrail records it (an "AWS API Call via CloudTrail" event on
 * the bus of the account that made the call) beside the lifecycle event it causes (membership.ts).
 * Only successful calls are recorded: AWS also records refused ones, with an errorCode.
 */
export const changeOperations: Record<string, OperationHandler> = {
  MoveAccount: async (ctx, input) => {
    const { id } = readId(input, 'AccountId', ['account']);
    const source = readId(input, 'SourceParentId', ['root', 'ou']).id;
    const destination = readId(input, 'DestinationParentId', ['root', 'ou']).id;
    const org = ctx.world.organization;
    await admit(ctx, 'MoveAccount', arnOf(org, 'account', id));
    const account = org.accounts.get(id);
    if (!account) throw accountNotFound();
    if (!isParent(org, source)) throw sourceParentNotFound();
    if (!isParent(org, destination)) {
      throw new AwsError(
        'DestinationParentNotFoundException',
        "We can't find the destination container (a root or OU) with the ParentId that you specified.",
      );
    }
    if (account.parentId === destination) {
      throw new AwsError(
        'DuplicateAccountException',
        'That account is already present in the specified destination.',
      );
    }
    // [Inference] AWS does not say what naming a parent the account is not in returns; the
    // source parent is then not the account's.
    if (account.parentId !== source) throw sourceParentNotFound();
    account.parentId = destination;
    record(ctx, org.managementAccountId, (origin, caller) =>
      moveAccountCall(origin, caller, {
        accountId: id,
        sourceParentId: source,
        destinationParentId: destination,
      }),
    );
    return {};
  },

  RemoveAccountFromOrganization: async (ctx, input) => {
    const { id } = readId(input, 'AccountId', ['account']);
    const org = ctx.world.organization;
    await admit(ctx, 'RemoveAccountFromOrganization', arnOf(org, 'account', id));
    if (id === org.managementAccountId) throw managementCannotLeave();
    const account = org.accounts.get(id);
    if (!account) throw accountNotFound();
    refuseClosing(account.state);
    record(ctx, org.managementAccountId, (origin, caller) => removeAccountCall(origin, caller, id));
    depart(ctx.world, id, 'REMOVED');
    return {};
  },

  LeaveOrganization: async (ctx) => {
    const org = ctx.world.organization;
    await admit(ctx, 'LeaveOrganization', '*', 'any-member');
    if (ctx.accountId === org.managementAccountId) throw managementCannotLeave();
    refuseClosing(org.accounts.get(ctx.accountId)?.state);
    // Recorded in the member account, whose call it is: the management account sees only the
    // AccountDepartedOrganization that follows.
    record(ctx, ctx.accountId, (origin, caller) => leaveOrganizationCall(origin, caller));
    depart(ctx.world, ctx.accountId, 'LEFT');
    return {};
  },

  CloseAccount: async (ctx, input) => {
    const { id } = readId(input, 'AccountId', ['account']);
    const org = ctx.world.organization;
    await admit(ctx, 'CloseAccount', arnOf(org, 'account', id));
    if (id === org.managementAccountId) {
      throw constraintViolation(
        'CANNOT_CLOSE_MANAGEMENT_ACCOUNT',
        "You can't close the management account with the CloseAccount operation.",
      );
    }
    const account = org.accounts.get(id);
    if (!account) throw accountNotFound();
    if (account.state === 'CLOSED') {
      throw new AwsError(
        'AccountAlreadyClosedException',
        'You attempted to close an account that is already closed.',
      );
    }
    if (account.state === 'PENDING_CLOSURE') {
      throw new AwsError(
        'ConflictException',
        'The request failed because it conflicts with the current state of the specified resource.',
      );
    }
    if (closedInLast30Days(ctx.world) >= closureQuota(ctx.world)) {
      throw constraintViolation(
        'CLOSE_ACCOUNT_QUOTA_EXCEEDED',
        'You have exceeded close account quota for the past 30 days.',
      );
    }
    beginClosure(ctx.world, id);
    record(ctx, org.managementAccountId, (origin, caller) => closeAccountCall(origin, caller, id));
    return {};
  },

  InviteAccountToOrganization: async (ctx, input) => {
    const target = readTarget(input.Target);
    const notes = input.Notes;
    if (notes !== undefined && notes !== null && (typeof notes !== 'string' || notes.length > 1024)) {
      throw invalidInput(
        'MAX_LENGTH_EXCEEDED',
        'You provided a value that exceeds the maximum allowed length.',
      );
    }
    const org = ctx.world.organization;
    // The action takes no resource: it can only be granted on '*'.
    await admit(ctx, 'InviteAccountToOrganization', '*');
    if (target.type === 'ACCOUNT' && org.accounts.has(target.id)) {
      throw new AwsError(
        'HandshakeConstraintViolationException',
        'The handshake request is invalid because the invited account is already a member of an organization.',
        400,
        { Reason: 'ALREADY_IN_AN_ORGANIZATION' },
      );
    }
    const pending = [...org.handshakes.values()].some(
      (h) => h.state === 'OPEN' && h.target.type === target.type && h.target.id === target.id,
    );
    if (pending) {
      throw new AwsError(
        'DuplicateHandshakeException',
        'A handshake with the same action and target already exists. For example, if you invited an account to join your organization, the invited account might already have a pending invitation from this organization.',
      );
    }
    const handshake = createInvitation(ctx.world, target, typeof notes === 'string' ? notes : undefined);
    record(ctx, org.managementAccountId, (origin, caller) =>
      inviteAccountCall(origin, caller, recorded(ctx.world, handshake), handshake.notes),
    );
    return { Handshake: handshakeShape(ctx.world, handshake) };
  },

  AcceptHandshake: async (ctx, input) => {
    const { id } = readId(input, 'HandshakeId', ['handshake']);
    const world = ctx.world;
    const org = world.organization;
    // Called by the invited account, which is in no organization yet: no admit().
    await ctx.authorize('organizations:AcceptHandshake', arnOf(org, 'handshake', id));
    const handshake = org.handshakes.get(id);
    // A handshake is visible to its parties only.
    if (!handshake || !isRecipient(world, handshake, ctx.accountId)) {
      throw new AwsError(
        'HandshakeNotFoundException',
        "We can't find a handshake with the HandshakeId that you specified.",
      );
    }
    if (handshake.state !== 'OPEN') {
      throw new AwsError(
        'InvalidHandshakeTransitionException',
        "You can't perform the operation on the handshake in its current state. For example, you can't cancel a handshake that was already accepted or accept a handshake that was already declined.",
      );
    }
    if (org.accounts.has(ctx.accountId)) {
      throw new AwsError(
        'HandshakeConstraintViolationException',
        'The handshake request is invalid because the invited account is already a member of an organization.',
        400,
        { Reason: 'ALREADY_IN_AN_ORGANIZATION' },
      );
    }
    handshake.state = 'ACCEPTED';
    // The invitee's own call, in its own trail; the management account gets AccountJoinedOrganization.
    record(ctx, ctx.accountId, (origin, caller) =>
      acceptHandshakeCall(origin, caller, recorded(world, handshake)),
    );
    join(world, ctx.accountId);
    return { Handshake: handshakeShape(world, handshake) };
  },
};

// ---------------------------------------------------------------- helpers

/** Records the call in `account`'s trail and bus, made by the request's caller. */
function record(
  ctx: RequestContext,
  account: string,
  build: (origin: EventOrigin, caller: ApiCaller) => BusEvent,
): void {
  const caller = callerOf(ctx);
  emitEvent(ctx.world, account, (origin) => build(origin, caller));
}

/** The caller as CloudTrail's userIdentity names it. */
function callerOf(ctx: RequestContext): ApiCaller {
  const principal = ctx.principal;
  const iam = ctx.world.accounts.get(principal.accountId)?.iam;
  const userIdentity =
    principal.kind === 'user'
      ? {
          type: 'IAMUser',
          principalId: iam?.users.get(principal.userName.toLowerCase())?.userId ?? principal.userName,
          arn: principal.arn,
          accountId: principal.accountId,
          accessKeyId: ctx.accessKeyId,
          userName: principal.userName,
        }
      : (() => {
          const roleId = iam?.roles.get(principal.roleName.toLowerCase())?.roleId ?? principal.roleName;
          return {
            type: 'AssumedRole',
            principalId: `${roleId}:${principal.sessionName}`,
            arn: principal.arn,
            accountId: principal.accountId,
            accessKeyId: ctx.accessKeyId,
            sessionContext: {
              sessionIssuer: {
                type: 'Role',
                principalId: roleId,
                arn: principal.roleArn,
                accountId: principal.accountId,
                userName: principal.roleName,
              },
              attributes: { mfaAuthenticated: 'false' },
            },
          };
        })();
  return { userIdentity, sourceIPAddress: '127.0.0.1', userAgent: 'sandbox', requestId: ctx.requestId };
}

function readTarget(value: unknown): Handshake['target'] {
  if (value === undefined || value === null) throw inputRequired('Target');
  const target = value as { Id?: unknown; Type?: unknown };
  if (typeof target !== 'object' || typeof target.Id !== 'string' || target.Id === '') {
    throw inputRequired('Target.Id');
  }
  if (target.Type === 'ACCOUNT') {
    if (!/^\d{12}$/.test(target.Id)) {
      throw invalidInput('INVALID_PATTERN', 'You specified an invalid value for Target.Id.');
    }
    return { type: 'ACCOUNT', id: target.Id };
  }
  if (target.Type === 'EMAIL') {
    if (!/^[^@\s]+@[^@\s]+$/.test(target.Id)) {
      throw invalidInput(
        'INVALID_EMAIL_ADDRESS_TARGET',
        'You specified an invalid email address for the invited account owner.',
      );
    }
    return { type: 'EMAIL', id: target.Id };
  }
  throw invalidInput(
    'INVALID_ENUM',
    'You specified an invalid value for Target.Type. Valid values are ACCOUNT and EMAIL.',
  );
}

function isRecipient(world: World, handshake: Handshake, accountId: string): boolean {
  if (handshake.target.type === 'ACCOUNT') return handshake.target.id === accountId;
  return world.accounts.get(accountId)?.standalone?.email === handshake.target.id;
}

/** A closing or closed account stays in the organization until it is cleaned. [Inference] */
function refuseClosing(state: string | undefined): void {
  if (state === 'PENDING_CLOSURE' || state === 'CLOSED') {
    throw constraintViolation(
      'ACCOUNT_CANNOT_LEAVE_ORGANIZATION',
      'A closed account stays in the organization until the post-closure period ends.',
    );
  }
}

/** AWS: "You can close only 10% of member accounts, between 10 and 1000, within a rolling 30 day period." */
function closureQuota(world: World): number {
  const members = world.organization.accounts.size - 1;
  return Math.min(1000, Math.max(10, Math.floor(members / 10)));
}

function closedInLast30Days(world: World): number {
  const since = world.clock.nowMs() - 30 * 86_400_000;
  return [...world.organization.accounts.values()].filter((a) => (a.closure?.requestedAtMs ?? 0) > since)
    .length;
}

function sourceParentNotFound(): AwsError {
  return new AwsError(
    'SourceParentNotFoundException',
    "We can't find a source root or OU with the ParentId that you specified.",
  );
}

function managementCannotLeave(): AwsError {
  return new AwsError(
    'MasterCannotLeaveOrganizationException',
    "You can't remove a management account from an organization. If you want the management account to become a member account in another organization, you must first delete the current organization of the management account.",
  );
}

function recorded(world: World, handshake: Handshake): RecordedHandshake {
  return {
    id: handshake.id,
    arn: handshake.arn,
    state: handshake.state,
    organizationId: world.organization.id,
    target: handshake.target,
    requestedAt: handshake.requestedTimestamp,
    expiresAt: handshake.expirationTimestamp,
  };
}

/** The Handshake shape the API returns. */
function handshakeShape(world: World, handshake: Handshake) {
  const org = world.organization;
  const management = org.accounts.get(org.managementAccountId);
  return {
    Id: handshake.id,
    Arn: handshake.arn,
    Parties: [
      { Id: org.id, Type: 'ORGANIZATION' },
      { Id: handshake.target.id, Type: handshake.target.type },
    ],
    State: handshake.state,
    RequestedTimestamp: handshake.requestedTimestamp,
    ExpirationTimestamp: handshake.expirationTimestamp,
    Action: handshake.action,
    Resources: [
      { Type: 'MASTER_EMAIL', Value: org.managementAccountEmail },
      { Type: 'MASTER_NAME', Value: management?.name ?? 'management' },
      { Type: 'ORGANIZATION_FEATURE_SET', Value: 'ALL' },
      ...(handshake.notes ? [{ Type: 'NOTES', Value: handshake.notes }] : []),
    ],
  };
}
