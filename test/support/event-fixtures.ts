import path from 'node:path';
import type { BusEvent } from '../../sandbox/core/event-log';
import {
  type ApiCaller,
  accountDepartedOrganization,
  accountJoinedOrganization,
  closeAccountCall,
  closeAccountResult,
  createAccountResult,
  type EventOrigin,
  managedAccountEvent,
  moveAccountCall,
  removeAccountCall,
} from '../../sandbox/services/organizations/lifecycle-events';

/**
 * test/fixtures/events/: each lifecycle event casbridge handles (and the API calls that come with
 * them), built by the module the sandbox emits them with. test/unit/event-fixtures.test.ts keeps
 * the files equal to these; after changing one, write them again with
 * `node --require tsx/cjs test/support/write-event-fixtures.ts`.
 */
export const FIXTURES_DIR = path.join(__dirname, '..', 'fixtures', 'events');

/** The sandbox's default organization: its management account and its first member. */
export const FIXTURE_MANAGEMENT = '999988887777';
export const FIXTURE_MEMBER = '200000000001';
export const FIXTURE_SOURCE_PARENT = 'r-ab12';
export const FIXTURE_DESTINATION_PARENT = 'ou-ab12-3cd45ef6';

const origin = (n: number, overrides: Partial<EventOrigin> = {}): EventOrigin => ({
  id: `5c2e0f9a-1b7d-4c3e-8a61-0d9e4f2b7a${String(n).padStart(2, '0')}`,
  eventId: `8e1d2c3b-4a59-4f60-9b7c-1a2b3c4d5e${String(n).padStart(2, '0')}`,
  time: new Date(Date.UTC(2026, 10, 24, 9, n, 0)),
  region: 'us-east-1',
  account: FIXTURE_MANAGEMENT,
  ...overrides,
});

const at = (minute: number, second = 0) => new Date(Date.UTC(2026, 10, 24, 9, minute, second));

/** The management account's administrator, as CloudTrail names an IAM user. */
const administrator: ApiCaller = {
  userIdentity: {
    type: 'IAMUser',
    principalId: 'AIDAEXAMPLEADMIN00001',
    arn: `arn:aws:iam::${FIXTURE_MANAGEMENT}:user/Admin`,
    accountId: FIXTURE_MANAGEMENT,
    accessKeyId: 'AKIAEXAMPLEADMIN0001',
    userName: 'Admin',
  },
  sourceIPAddress: '192.0.2.10',
  userAgent: 'aws-cli/2.17.0',
  requestId: '0f1e2d3c-4b5a-4968-8776-655443322110',
};

const departed = (
  n: number,
  method: 'LEFT' | 'REMOVED' | 'CLEANED',
  spelling: 'departureMethod' | 'departedMethod',
) => accountDepartedOrganization(origin(n), { accountId: FIXTURE_MEMBER, method, at: at(n) }, spelling);

export const FIXTURES: Readonly<Record<string, BusEvent>> = {
  'create-account-result.succeeded.json': createAccountResult(origin(1), {
    requestId: 'car-5f0a9b8c7d6e4f3a2b1c0d9e8f7a6b5c',
    state: 'SUCCEEDED',
    accountName: 'payments-prod',
    accountId: FIXTURE_MEMBER,
    requestedAt: at(0, 12),
    completedAt: at(1),
  }),
  'create-account-result.failed.json': createAccountResult(origin(2), {
    requestId: 'car-6a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d',
    state: 'FAILED',
    accountName: 'payments-prod',
    failureReason: 'EMAIL_ALREADY_EXISTS',
    requestedAt: at(1, 30),
    completedAt: at(2),
  }),
  'account-joined-organization.invited.json': accountJoinedOrganization(
    origin(3),
    { accountId: FIXTURE_MEMBER, method: 'INVITED', at: at(3) },
    'departureMethod',
  ),
  'account-joined-organization.invited.capitalised.json': accountJoinedOrganization(
    origin(4),
    { accountId: FIXTURE_MEMBER, method: 'INVITED', at: at(4) },
    'departedMethod',
  ),
  'account-joined-organization.created.json': accountJoinedOrganization(
    origin(5),
    { accountId: FIXTURE_MEMBER, method: 'CREATED', at: at(5) },
    'departedMethod',
  ),
  'account-departed-organization.left.departure-method.json': departed(6, 'LEFT', 'departureMethod'),
  'account-departed-organization.removed.departure-method.json': departed(7, 'REMOVED', 'departureMethod'),
  'account-departed-organization.cleaned.departure-method.json': departed(8, 'CLEANED', 'departureMethod'),
  'account-departed-organization.left.departed-method.json': departed(9, 'LEFT', 'departedMethod'),
  'account-departed-organization.removed.departed-method.json': departed(10, 'REMOVED', 'departedMethod'),
  'account-departed-organization.cleaned.departed-method.json': departed(11, 'CLEANED', 'departedMethod'),
  'close-account-result.succeeded.json': closeAccountResult(origin(12), {
    accountId: FIXTURE_MEMBER,
    state: 'SUCCEEDED',
    requestedAt: at(7),
    completedAt: at(12),
  }),
  'close-account-result.failed.json': closeAccountResult(origin(13), {
    accountId: FIXTURE_MEMBER,
    state: 'FAILED',
    failureReason: 'INTERNAL_FAILURE',
    requestedAt: at(8),
    completedAt: at(13),
  }),
  'move-account.json': moveAccountCall(origin(14), administrator, {
    accountId: FIXTURE_MEMBER,
    sourceParentId: FIXTURE_SOURCE_PARENT,
    destinationParentId: FIXTURE_DESTINATION_PARENT,
  }),
  'close-account.json': closeAccountCall(origin(15), administrator, FIXTURE_MEMBER),
  'remove-account-from-organization.json': removeAccountCall(origin(16), administrator, FIXTURE_MEMBER),
  'control-tower.create-managed-account.json': managedAccountEvent(origin(17), 'CreateManagedAccount', {
    state: 'SUCCEEDED',
    message: 'AWS Control Tower successfully created a managed account.',
    accountId: FIXTURE_MEMBER,
    accountName: 'payments-prod',
    organizationalUnitId: FIXTURE_DESTINATION_PARENT,
    organizationalUnitName: 'Workloads',
    requestedAt: at(10),
    completedAt: at(17),
  }),
  'control-tower.update-managed-account.json': managedAccountEvent(origin(18), 'UpdateManagedAccount', {
    state: 'SUCCEEDED',
    message: 'AWS Control Tower successfully updated a managed account.',
    accountId: FIXTURE_MEMBER,
    accountName: 'payments-prod',
    organizationalUnitId: FIXTURE_DESTINATION_PARENT,
    organizationalUnitName: 'Workloads',
    requestedAt: at(11),
    completedAt: at(18),
  }),
};

/** A fixture's file text: what the writer writes and the test compares. */
export function fixtureText(event: BusEvent): string {
  return `${JSON.stringify(event, null, 2)}\n`;
}
