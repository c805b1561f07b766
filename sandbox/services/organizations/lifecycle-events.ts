import type { BusEvent } from '../../core/event-log';

/**
 * The account lifecycle events as EventBridge delivers them: the envelope, and in `detail` the
 * CloudTrail record. The sandbox emits these when its organization changes, and
 * test/fixtures/events/ is written from them (test/support/event-fixtures.ts), so the fixtures the
 * parser is tested on and the events the sandbox hands the state machine are one shape.
 *
 * What each follows (test/fixtures/events/README.md says it per fixture):
 * - CreateAccountResult, CloseAccountResult: AWS's CloudTrail examples (orgs_cloudtrail-integration),
 *   whose timestamps are "Mar 18, 2022 6:16:58 PM", not ISO-8601.
 * - API calls (MoveAccount, CloseAccount, RemoveAccountFromOrganization, LeaveOrganization,
 *   InviteAccountToOrganization, AcceptHandshake): CloudTrail's record format, request members
 *   camel-cased as in AWS's CloseAccount and InviteAccountToOrganization examples.
 * - AccountJoinedOrganization, AccountDepartedOrganization: [Inference] AWS names the fields
 *   (joinedMethod/joinedTime; departureMethod/departureTime, or departedMethod/departedTime in
 *   older texts) but has published no record. They are built as Organizations' other service
 *   events are: the payload in serviceEventDetails, the account as `accountId`.
 * - Control Tower's: its lifecycle-events page.
 */
export const SERVICE_EVENT = 'AWS Service Event via CloudTrail';
export const API_CALL = 'AWS API Call via CloudTrail';
const ORGANIZATIONS = 'organizations.amazonaws.com';

/** Where and when an event was recorded, and its two ids. */
export interface EventOrigin {
  /** The EventBridge event's id. */
  id: string;
  /** CloudTrail's eventID. */
  eventId: string;
  time: Date;
  /** The Region it is recorded in: the partition's global Region for Organizations. */
  region: string;
  /** The account whose trail and default bus receive it. */
  account: string;
}

/** Who made an API call, as CloudTrail records the caller. */
export interface ApiCaller {
  userIdentity: Record<string, unknown>;
  sourceIPAddress: string;
  userAgent: string;
  requestId: string;
}

/** How the membership events spell their method (WorldSettings.membershipEventSpelling). */
export type MembershipSpelling = 'departureMethod' | 'departedMethod';

// ---------------------------------------------------------------- Organizations service events

export function createAccountResult(
  origin: EventOrigin,
  status: {
    requestId: string;
    state: 'SUCCEEDED' | 'FAILED';
    accountName: string;
    accountId?: string;
    failureReason?: string;
    requestedAt: Date;
    completedAt: Date;
  },
): BusEvent {
  return serviceEvent(origin, 'CreateAccountResult', {
    createAccountStatus: {
      id: status.requestId,
      state: status.state,
      accountName: status.accountName,
      ...(status.accountId ? { accountId: status.accountId } : {}),
      ...(status.failureReason ? { failureReason: status.failureReason } : {}),
      requestedTimestamp: displayTime(status.requestedAt),
      completedTimestamp: displayTime(status.completedAt),
    },
  });
}

export function closeAccountResult(
  origin: EventOrigin,
  status: {
    accountId: string;
    state: 'SUCCEEDED' | 'FAILED';
    /** [Inference] AWS's example is of a success; a failure is taken to name its reason as CreateAccountResult does. */
    failureReason?: string;
    requestedAt: Date;
    completedAt: Date;
  },
): BusEvent {
  return serviceEvent(origin, 'CloseAccountResult', {
    closeAccountStatus: {
      accountId: status.accountId,
      state: status.state,
      ...(status.failureReason ? { failureReason: status.failureReason } : {}),
      requestedTimestamp: displayTime(status.requestedAt),
      completedTimestamp: displayTime(status.completedAt),
    },
  });
}

export function accountJoinedOrganization(
  origin: EventOrigin,
  joined: { accountId: string; method: 'CREATED' | 'INVITED'; at: Date },
  spelling: MembershipSpelling,
): BusEvent {
  return serviceEvent(origin, 'AccountJoinedOrganization', {
    accountId: joined.accountId,
    // The newer texts write INVITED, the older Invited and Created.
    joinedMethod: spelling === 'departureMethod' ? joined.method : capitalised(joined.method),
    joinedTime: displayTime(joined.at),
  });
}

export function accountDepartedOrganization(
  origin: EventOrigin,
  departed: { accountId: string; method: 'LEFT' | 'REMOVED' | 'CLEANED'; at: Date },
  spelling: MembershipSpelling,
): BusEvent {
  return serviceEvent(
    origin,
    'AccountDepartedOrganization',
    spelling === 'departureMethod'
      ? {
          accountId: departed.accountId,
          departureMethod: departed.method,
          departureTime: displayTime(departed.at),
        }
      : {
          accountId: departed.accountId,
          departedMethod: capitalised(departed.method),
          departedTime: displayTime(departed.at),
        },
  );
}

// ---------------------------------------------------------------- Organizations API calls

export function moveAccountCall(
  origin: EventOrigin,
  caller: ApiCaller,
  request: { accountId: string; sourceParentId: string; destinationParentId: string },
): BusEvent {
  return apiCall(origin, caller, 'MoveAccount', { ...request }, null);
}

export function closeAccountCall(origin: EventOrigin, caller: ApiCaller, accountId: string): BusEvent {
  return apiCall(origin, caller, 'CloseAccount', { accountId }, null);
}

export function removeAccountCall(origin: EventOrigin, caller: ApiCaller, accountId: string): BusEvent {
  return apiCall(origin, caller, 'RemoveAccountFromOrganization', { accountId }, null);
}

/** Recorded in the member account: the only account that can make the call. */
export function leaveOrganizationCall(origin: EventOrigin, caller: ApiCaller): BusEvent {
  return apiCall(origin, caller, 'LeaveOrganization', null, null);
}

/** A handshake as CloudTrail records it: lower camel case, the action in lower case. */
export interface RecordedHandshake {
  id: string;
  arn: string;
  state: string;
  organizationId: string;
  target: { type: 'ACCOUNT' | 'EMAIL'; id: string };
  requestedAt: Date;
  expiresAt: Date;
}

export function inviteAccountCall(
  origin: EventOrigin,
  caller: ApiCaller,
  handshake: RecordedHandshake,
  notes: string | undefined,
): BusEvent {
  return apiCall(
    origin,
    caller,
    'InviteAccountToOrganization',
    { target: { type: handshake.target.type, id: handshake.target.id }, ...(notes ? { notes } : {}) },
    { handshake: recordedHandshake(handshake) },
  );
}

/** Recorded in the invited account, which accepts with its own credentials. */
export function acceptHandshakeCall(
  origin: EventOrigin,
  caller: ApiCaller,
  handshake: RecordedHandshake,
): BusEvent {
  return apiCall(
    origin,
    caller,
    'AcceptHandshake',
    { handshakeId: handshake.id },
    { handshake: recordedHandshake(handshake) },
  );
}

// ---------------------------------------------------------------- Control Tower

export function managedAccountEvent(
  origin: EventOrigin,
  eventName: 'CreateManagedAccount' | 'UpdateManagedAccount',
  status: {
    state: 'SUCCEEDED' | 'FAILED';
    message: string;
    accountId: string;
    accountName: string;
    organizationalUnitId: string;
    organizationalUnitName: string;
    requestedAt: Date;
    completedAt: Date;
  },
): BusEvent {
  const member =
    eventName === 'CreateManagedAccount' ? 'createManagedAccountStatus' : 'updateManagedAccountStatus';
  return {
    ...envelope(origin, SERVICE_EVENT, 'aws.controltower'),
    detail: {
      eventVersion: '1.05',
      userIdentity: { accountId: origin.account, invokedBy: 'AWS Internal' },
      eventTime: isoSeconds(origin.time),
      eventSource: 'controltower.amazonaws.com',
      eventName,
      awsRegion: origin.region,
      sourceIPAddress: 'AWS Internal',
      userAgent: 'AWS Internal',
      eventID: origin.eventId,
      readOnly: false,
      eventType: 'AwsServiceEvent',
      serviceEventDetails: {
        [member]: {
          organizationalUnit: {
            organizationalUnitName: status.organizationalUnitName,
            organizationalUnitId: status.organizationalUnitId,
          },
          account: { accountName: status.accountName, accountId: status.accountId },
          state: status.state,
          message: status.message,
          // Control Tower's examples: an offset without a colon.
          requestedTimestamp: controlTowerTime(status.requestedAt),
          completedTimestamp: controlTowerTime(status.completedAt),
        },
      },
    },
  };
}

// ---------------------------------------------------------------- shapes

function serviceEvent(origin: EventOrigin, eventName: string, details: Record<string, unknown>): BusEvent {
  return {
    ...envelope(origin, SERVICE_EVENT, 'aws.organizations'),
    detail: {
      eventVersion: '1.08',
      userIdentity: { accountId: origin.account, invokedBy: ORGANIZATIONS },
      eventTime: isoSeconds(origin.time),
      eventSource: ORGANIZATIONS,
      eventName,
      awsRegion: origin.region,
      sourceIPAddress: ORGANIZATIONS,
      userAgent: ORGANIZATIONS,
      requestParameters: null,
      responseElements: null,
      eventID: origin.eventId,
      readOnly: false,
      eventType: 'AwsServiceEvent',
      managementEvent: true,
      recipientAccountId: origin.account,
      serviceEventDetails: details,
      eventCategory: 'Management',
    },
  };
}

function apiCall(
  origin: EventOrigin,
  caller: ApiCaller,
  eventName: string,
  requestParameters: Record<string, unknown> | null,
  responseElements: Record<string, unknown> | null,
): BusEvent {
  return {
    ...envelope(origin, API_CALL, 'aws.organizations'),
    detail: {
      eventVersion: '1.11',
      userIdentity: caller.userIdentity,
      eventTime: isoSeconds(origin.time),
      eventSource: ORGANIZATIONS,
      eventName,
      awsRegion: origin.region,
      sourceIPAddress: caller.sourceIPAddress,
      userAgent: caller.userAgent,
      requestParameters,
      responseElements,
      requestID: caller.requestId,
      eventID: origin.eventId,
      readOnly: false,
      eventType: 'AwsApiCall',
      managementEvent: true,
      recipientAccountId: origin.account,
      eventCategory: 'Management',
    },
  };
}

function envelope(origin: EventOrigin, detailType: string, source: string): Omit<BusEvent, 'detail'> {
  return {
    version: '0',
    id: origin.id,
    'detail-type': detailType,
    source,
    account: origin.account,
    time: isoSeconds(origin.time),
    region: origin.region,
    resources: [],
  };
}

function recordedHandshake(handshake: RecordedHandshake): Record<string, unknown> {
  return {
    id: handshake.id,
    arn: handshake.arn,
    state: handshake.state,
    // CloudTrail writes the action in lower case where the API returns INVITE.
    action: 'invite',
    parties: [
      { type: 'ORGANIZATION', id: handshake.organizationId },
      { type: handshake.target.type, id: handshake.target.id },
    ],
    requestedTimestamp: displayTime(handshake.requestedAt),
    expirationTimestamp: displayTime(handshake.expiresAt),
  };
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** "Mar 18, 2022 6:16:58 PM" (UTC): how Organizations' CloudTrail records render their timestamps. */
export function displayTime(at: Date): string {
  const hours = at.getUTCHours();
  const two = (n: number) => String(n).padStart(2, '0');
  return `${MONTHS[at.getUTCMonth()]} ${at.getUTCDate()}, ${at.getUTCFullYear()} ${hours % 12 || 12}:${two(
    at.getUTCMinutes(),
  )}:${two(at.getUTCSeconds())} ${hours < 12 ? 'AM' : 'PM'}`;
}

function isoSeconds(at: Date): string {
  return at.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function controlTowerTime(at: Date): string {
  return at.toISOString().replace(/\.\d{3}Z$/, '+0000');
}

function capitalised(word: string): string {
  return word.charAt(0) + word.slice(1).toLowerCase();
}
