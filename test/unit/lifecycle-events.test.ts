import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseTrigger } from '../../functions/resolve-targets/run-input';
import {
  FIXTURE_DESTINATION_PARENT,
  FIXTURE_MANAGEMENT,
  FIXTURE_MEMBER,
  FIXTURE_SOURCE_PARENT,
  FIXTURES_DIR,
} from '../support/event-fixtures';

type Event = { detail: Record<string, unknown> & { serviceEventDetails?: Record<string, unknown> } } & Record<
  string,
  unknown
>;

/** A fresh copy of a fixture, as EventBridge would deliver it. */
function fixture(name: string): Event {
  return JSON.parse(readFileSync(path.join(FIXTURES_DIR, name), 'utf8')) as Event;
}

/** The fixture with its serviceEventDetails replaced (the account id moved elsewhere, a method changed). */
function withDetails(
  name: string,
  change: (details: Record<string, unknown>) => Record<string, unknown>,
): Event {
  const event = fixture(name);
  event.detail.serviceEventDetails = change({ ...event.detail.serviceEventDetails });
  return event;
}

function withoutAccountId(details: Record<string, unknown>): Record<string, unknown> {
  const { accountId: _, ...rest } = details;
  return rest;
}

const refusal = (event: unknown) => {
  try {
    parseTrigger(event);
  } catch (error) {
    return error as Error & { step?: string; retryable?: boolean };
  }
  throw new Error('the event was accepted');
};

describe('the lifecycle events a run starts from', () => {
  describe('an account that departed the organization', () => {
    it.each([
      ['account-departed-organization.left.departure-method.json', 'left'],
      ['account-departed-organization.removed.departure-method.json', 'removed'],
      ['account-departed-organization.cleaned.departure-method.json', 'cleaned'],
      ['account-departed-organization.left.departed-method.json', 'left'],
      ['account-departed-organization.removed.departed-method.json', 'removed'],
      ['account-departed-organization.cleaned.departed-method.json', 'cleaned'],
    ])('is read from %s, whichever way AWS spells its method', (name, method) => {
      const event = fixture(name);
      expect(parseTrigger(event)).toEqual({
        kind: 'event',
        lifecycle: 'departed',
        eventName: 'AccountDepartedOrganization',
        eventId: event.id,
        succeeded: true,
        accountId: FIXTURE_MEMBER,
        accountName: undefined,
        departureMethod: method,
        changedAt: expect.stringMatching(/^Nov 24, 2026 9:\d\d:00 AM$/),
        envelope: { account: FIXTURE_MANAGEMENT, region: 'us-east-1' },
        trigger: { type: 'organizations-event', eventId: event.id, eventName: 'AccountDepartedOrganization' },
      });
    });

    it.each([
      ['serviceEventDetails.accountId', (d: Record<string, unknown>) => d],
      [
        'an object inside serviceEventDetails',
        (d: Record<string, unknown>) => ({
          accountDepartedOrganizationStatus: { ...withoutAccountId(d), accountId: FIXTURE_MEMBER },
        }),
      ],
    ])('finds the account id in %s', (_, change) => {
      const event = withDetails('account-departed-organization.removed.departure-method.json', change);
      expect(parseTrigger(event)).toMatchObject({
        accountId: FIXTURE_MEMBER,
        departureMethod: 'removed',
      });
    });

    it('finds the account id in the request parameters, and in the ARN of the account among the resources', () => {
      const inRequest = withDetails(
        'account-departed-organization.left.departed-method.json',
        withoutAccountId,
      );
      inRequest.detail.requestParameters = { accountId: FIXTURE_MEMBER };
      expect(parseTrigger(inRequest)).toMatchObject({ accountId: FIXTURE_MEMBER, departureMethod: 'left' });

      const inResources = withDetails(
        'account-departed-organization.left.departed-method.json',
        withoutAccountId,
      );
      inResources.detail.resources = [
        // The owner of an Organizations resource is the management account: never the member.
        {
          accountId: FIXTURE_MANAGEMENT,
          type: 'AWS::Organizations::Account',
          ARN: `arn:aws:organizations::${FIXTURE_MANAGEMENT}:account/o-a1b2c3d4e5/${FIXTURE_MEMBER}`,
        },
      ];
      expect(parseTrigger(inResources)).toMatchObject({ accountId: FIXTURE_MEMBER });
    });

    it('is read as an API call without serviceEventDetails, its account in the request parameters', () => {
      const event = fixture('account-departed-organization.left.departure-method.json');
      event['detail-type'] = 'AWS API Call via CloudTrail';
      delete event.detail.serviceEventDetails;
      event.detail.requestParameters = { accountId: FIXTURE_MEMBER };
      expect(parseTrigger(event)).toMatchObject({
        lifecycle: 'departed',
        accountId: FIXTURE_MEMBER,
        departureMethod: undefined,
      });
    });

    it('takes the event as either CloudTrail detail type, since AWS has not said which it is', () => {
      const event = fixture('account-departed-organization.left.departure-method.json');
      event['detail-type'] = 'AWS API Call via CloudTrail';
      expect(parseTrigger(event)).toMatchObject({ lifecycle: 'departed', accountId: FIXTURE_MEMBER });
    });

    it('is accepted without a method, which it then leaves undefined', () => {
      const event = withDetails('account-departed-organization.left.departure-method.json', (d) => ({
        accountId: d.accountId,
      }));
      expect(parseTrigger(event)).toMatchObject({
        lifecycle: 'departed',
        departureMethod: undefined,
        changedAt: undefined,
      });
    });

    it('is refused by name when it names no account, saying where casbridge looked, before any AWS call', () => {
      const error = refusal(
        withDetails('account-departed-organization.left.departure-method.json', withoutAccountId),
      );
      expect(error).toMatchObject({ name: 'InvalidLifecycleEvent', step: 'resolve', retryable: false });
      expect(error.message).toBe(
        `AccountDepartedOrganization ${fixture('account-departed-organization.left.departure-method.json').id} names no account: casbridge reads its account from detail.serviceEventDetails.accountId, detail.serviceEventDetails.*.accountId, detail.requestParameters.accountId, detail.resources[].ARN (type 'AWS::Organizations::Account'), and the event has none of them`,
      );
    });

    it('is refused when two places name different accounts, or one names no account id', () => {
      const two = withDetails('account-departed-organization.removed.departure-method.json', (d) => ({
        ...d,
        status: { accountId: '200000000002' },
      }));
      expect(refusal(two)).toMatchObject({
        name: 'InvalidLifecycleEvent',
        message: expect.stringMatching(
          /names 2 accounts \(detail\.serviceEventDetails\.accountId: 200000000001, detail\.serviceEventDetails\.status\.accountId: 200000000002\)/,
        ),
      });
      const malformed = withDetails('account-departed-organization.removed.departure-method.json', (d) => ({
        ...d,
        accountId: '2000000001',
      }));
      expect(refusal(malformed)).toMatchObject({
        name: 'InvalidLifecycleEvent',
        message: expect.stringContaining(
          "detail.serviceEventDetails.accountId: '2000000001' is not a 12-digit account id",
        ),
      });
    });

    it('is refused when its method is one casbridge does not know, or two spellings disagree', () => {
      const unknown = withDetails('account-departed-organization.left.departure-method.json', (d) => ({
        ...d,
        departureMethod: 'TRANSFERRED',
      }));
      expect(refusal(unknown)).toMatchObject({
        name: 'InvalidLifecycleEvent',
        message: expect.stringContaining(
          "detail.serviceEventDetails.departureMethod: 'TRANSFERRED' is not a departure method casbridge knows (LEFT, REMOVED, CLEANED, in any case)",
        ),
      });
      const disagreeing = withDetails('account-departed-organization.left.departure-method.json', (d) => ({
        ...d,
        departedMethod: 'Removed',
      }));
      expect(refusal(disagreeing)).toMatchObject({
        name: 'InvalidLifecycleEvent',
        message: expect.stringContaining('names 2 departure methods'),
      });
    });
  });

  describe('an account that joined the organization', () => {
    it.each([
      ['account-joined-organization.invited.json', 'invited'],
      ['account-joined-organization.invited.capitalised.json', 'invited'],
      ['account-joined-organization.created.json', 'created'],
    ])('is read from %s', (name, method) => {
      const event = fixture(name);
      expect(parseTrigger(event)).toEqual({
        kind: 'event',
        lifecycle: 'joined',
        eventName: 'AccountJoinedOrganization',
        eventId: event.id,
        succeeded: true,
        accountId: FIXTURE_MEMBER,
        accountName: undefined,
        joinedMethod: method,
        changedAt: expect.stringMatching(/^Nov 24, 2026 9:0\d:00 AM$/),
        envelope: { account: FIXTURE_MANAGEMENT, region: 'us-east-1' },
        trigger: { type: 'organizations-event', eventId: event.id, eventName: 'AccountJoinedOrganization' },
      });
    });

    it('is refused by name when it names no account', () => {
      const event = withDetails('account-joined-organization.invited.json', withoutAccountId);
      expect(refusal(event)).toMatchObject({
        name: 'InvalidLifecycleEvent',
        message: expect.stringContaining(`AccountJoinedOrganization ${event.id} names no account`),
      });
    });
  });

  describe('a closed account', () => {
    it('is read from a SUCCEEDED CloseAccountResult, and a FAILED one is read as not succeeded', () => {
      const succeeded = fixture('close-account-result.succeeded.json');
      expect(parseTrigger(succeeded)).toEqual({
        kind: 'event',
        lifecycle: 'closed',
        eventName: 'CloseAccountResult',
        eventId: succeeded.id,
        succeeded: true,
        accountId: FIXTURE_MEMBER,
        accountName: undefined,
        changedAt: 'Nov 24, 2026 9:12:00 AM',
        envelope: { account: FIXTURE_MANAGEMENT, region: 'us-east-1' },
        trigger: { type: 'organizations-event', eventId: succeeded.id, eventName: 'CloseAccountResult' },
      });
      expect(parseTrigger(fixture('close-account-result.failed.json'))).toMatchObject({
        lifecycle: 'closed',
        succeeded: false,
        accountId: FIXTURE_MEMBER,
      });
    });

    it('is refused by name when the result names no account, and as malformed when it has no state', () => {
      const event = fixture('close-account-result.succeeded.json');
      const status = (event.detail.serviceEventDetails as { closeAccountStatus: Record<string, unknown> })
        .closeAccountStatus;
      delete status.accountId;
      expect(refusal(event)).toMatchObject({
        name: 'InvalidLifecycleEvent',
        message: expect.stringContaining(
          'names no account: casbridge reads its account from detail.serviceEventDetails.closeAccountStatus.accountId',
        ),
      });
      const stateless = fixture('close-account-result.succeeded.json');
      delete (stateless.detail.serviceEventDetails as { closeAccountStatus: Record<string, unknown> })
        .closeAccountStatus.state;
      expect(refusal(stateless)).toMatchObject({
        name: 'InvalidRunInput',
        message: 'detail.serviceEventDetails.closeAccountStatus.state: is required: SUCCEEDED or FAILED',
      });
    });
  });

  describe('a moved account', () => {
    it('is read from the MoveAccount call, with where it came from and went', () => {
      const event = fixture('move-account.json');
      expect(parseTrigger(event)).toEqual({
        kind: 'event',
        lifecycle: 'moved',
        eventName: 'MoveAccount',
        eventId: event.id,
        succeeded: true,
        accountId: FIXTURE_MEMBER,
        accountName: undefined,
        sourceParentId: FIXTURE_SOURCE_PARENT,
        destinationParentId: FIXTURE_DESTINATION_PARENT,
        changedAt: '2026-11-24T09:14:00Z',
        envelope: { account: FIXTURE_MANAGEMENT, region: 'us-east-1' },
        trigger: { type: 'organizations-event', eventId: event.id, eventName: 'MoveAccount' },
      });
    });

    it('is read as not succeeded when AWS refused the call, which then moved nothing', () => {
      const event = fixture('move-account.json');
      event.detail.errorCode = 'AccessDenied';
      event.detail.errorMessage = 'User is not authorized to perform: organizations:MoveAccount';
      expect(parseTrigger(event)).toMatchObject({ lifecycle: 'moved', succeeded: false });
    });

    it('is refused naming the field when a parent is not a root or OU id, and by name with no account id', () => {
      const badParent = fixture('move-account.json');
      (badParent.detail.requestParameters as Record<string, unknown>).destinationParentId = 'Workloads';
      expect(refusal(badParent)).toMatchObject({
        name: 'InvalidRunInput',
        message: "detail.requestParameters.destinationParentId: 'Workloads' is not a root or OU id",
      });
      const anonymous = fixture('move-account.json');
      delete (anonymous.detail.requestParameters as Record<string, unknown>).accountId;
      expect(refusal(anonymous)).toMatchObject({
        name: 'InvalidLifecycleEvent',
        message: expect.stringContaining('reads its account from detail.requestParameters.accountId'),
      });
    });
  });

  describe('the events that already started runs', () => {
    it('reads CreateAccountResult as before, its trigger naming the creation request', () => {
      const event = fixture('create-account-result.succeeded.json');
      expect(parseTrigger(event)).toMatchObject({
        lifecycle: 'created',
        succeeded: true,
        accountId: FIXTURE_MEMBER,
        accountName: 'payments-prod',
        trigger: {
          type: 'organizations-event',
          eventId: event.id,
          requestId: 'car-5f0a9b8c7d6e4f3a2b1c0d9e8f7a6b5c',
        },
      });
      expect(parseTrigger(event).trigger).not.toHaveProperty('eventName');
      expect(parseTrigger(fixture('create-account-result.failed.json'))).toMatchObject({
        lifecycle: 'created',
        succeeded: false,
        accountId: undefined,
      });
    });

    it.each([
      ['control-tower.create-managed-account.json', 'CreateManagedAccount', 'managed-created'],
      ['control-tower.update-managed-account.json', 'UpdateManagedAccount', 'managed-updated'],
    ])('reads %s as before', (name, eventName, lifecycle) => {
      const event = fixture(name);
      expect(parseTrigger(event)).toMatchObject({
        lifecycle,
        eventName,
        succeeded: true,
        accountId: FIXTURE_MEMBER,
        accountName: 'payments-prod',
        trigger: { type: 'control-tower-event', eventId: event.id, eventName },
      });
    });
  });

  describe('an Organizations event casbridge does not handle', () => {
    it.each([
      ['close-account.json', 'CloseAccount'],
      ['remove-account-from-organization.json', 'RemoveAccountFromOrganization'],
    ])('is refused by its name: %s', (name, eventName) => {
      expect(refusal(fixture(name))).toMatchObject({
        name: 'InvalidRunInput',
        message: expect.stringContaining(
          `event aws.organizations / AWS API Call via CloudTrail / ${eventName} is not a trigger casbridge handles`,
        ),
      });
    });

    it('is refused when a known name arrives as another detail type than AWS delivers it as', () => {
      const event = fixture('close-account-result.succeeded.json');
      event['detail-type'] = 'AWS API Call via CloudTrail';
      expect(refusal(event)).toMatchObject({
        name: 'InvalidRunInput',
        message: expect.stringContaining('CloseAccountResult is not a trigger casbridge handles'),
      });
    });
  });
});
