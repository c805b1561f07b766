import { AddUserToGroupCommand, CreateUserCommand, IAMClient } from '@aws-sdk/client-iam';
import {
  AcceptHandshakeCommand,
  CloseAccountCommand,
  DescribeAccountCommand,
  InviteAccountToOrganizationCommand,
  LeaveOrganizationCommand,
  ListParentsCommand,
  MoveAccountCommand,
  OrganizationsClient,
  paginateListAccounts,
  RemoveAccountFromOrganizationCommand,
} from '@aws-sdk/client-organizations';
import { parseTrigger } from '../../functions/resolve-targets/run-input';
import type { SandboxCredentials } from '../../sandbox';
import type { BusEvent } from '../../sandbox/core/event-log';
import { defaultAccountId } from '../../sandbox/scenario/default-scenario';
import {
  addStandaloneAccount,
  busEvents,
  CLOSURE_MS,
  INVITATION_MS,
  POST_CLOSURE_MS,
} from '../../sandbox/services/organizations/membership';
import { assumeRole, memberRoleCredentials, useSandbox } from '../support/sandbox';

const MEMBER_ACCOUNTS = 45;
const MANAGEMENT = '999988887777';

describe("the organization's changes and the events they emit", () => {
  const sandbox = useSandbox({ accounts: MEMBER_ACCOUNTS });
  const org = () => sandbox().world.organization;
  const organizations = (credentials?: SandboxCredentials) =>
    new OrganizationsClient({ ...sandbox().clientConfig(credentials), maxAttempts: 1 });
  const ouIdNamed = (name: string) => [...org().ous.values()].find((o) => o.name === name)!.id;
  /** The member's OrganizationAccountAccessRole, as the management account's administrator assumes it. */
  const memberAdmin = (accountId: string) =>
    assumeRole(sandbox(), `arn:aws:iam::${accountId}:role/OrganizationAccountAccessRole`);
  const listed = async () => {
    const ids: string[] = [];
    for await (const page of paginateListAccounts({ client: organizations() }, {})) {
      ids.push(...(page.Accounts ?? []).map((a) => a.Id!));
    }
    return ids;
  };
  /** What the buses received since `mark`, each bus's account and event name. */
  const received = (mark: number) =>
    busEvents(sandbox().world, { sinceSeq: mark }).map((e) => [
      e.account,
      e['detail-type'],
      e.detail.eventName,
    ]);
  const lifecycleEvent = (mark: number, eventName: string): BusEvent => {
    const [event] = busEvents(sandbox().world, { sinceSeq: mark, eventName });
    if (!event) throw new Error(`no ${eventName} since ${mark}`);
    return event;
  };

  describe('MoveAccount', () => {
    it('moves an account to another OU and records the call in the management account, as the parser reads it', async () => {
      const id = defaultAccountId(1);
      const from = org().accounts.get(id)!.parentId;
      const to = ouIdNamed('Security');
      const mark = sandbox().world.events.mark();

      await organizations().send(
        new MoveAccountCommand({ AccountId: id, SourceParentId: from, DestinationParentId: to }),
      );

      const { Parents } = await organizations().send(new ListParentsCommand({ ChildId: id }));
      expect(Parents).toEqual([{ Id: to, Type: 'ORGANIZATIONAL_UNIT' }]);
      expect(received(mark)).toEqual([[MANAGEMENT, 'AWS API Call via CloudTrail', 'MoveAccount']]);
      const event = lifecycleEvent(mark, 'MoveAccount');
      expect(event.detail).toMatchObject({
        userIdentity: { type: 'IAMUser', arn: sandbox().admin.arn, accountId: MANAGEMENT },
        requestParameters: { accountId: id, sourceParentId: from, destinationParentId: to },
        eventType: 'AwsApiCall',
        recipientAccountId: MANAGEMENT,
      });
      expect(parseTrigger(event)).toMatchObject({
        lifecycle: 'moved',
        succeeded: true,
        accountId: id,
        sourceParentId: from,
        destinationParentId: to,
        envelope: { account: MANAGEMENT, region: 'us-east-1' },
      });
    });

    it.each([
      [
        'already in the destination',
        () => ({ from: ouIdNamed('Security'), to: ouIdNamed('Security') }),
        'DuplicateAccountException',
      ],
      [
        'from a parent it is not in',
        () => ({ from: org().rootId, to: ouIdNamed('Sandbox') }),
        'SourceParentNotFoundException',
      ],
      [
        'from a parent that does not exist',
        () => ({ from: 'ou-zzzz-zzzzzzzz', to: ouIdNamed('Sandbox') }),
        'SourceParentNotFoundException',
      ],
      [
        'to a parent that does not exist',
        () => ({ from: ouIdNamed('Security'), to: 'ou-zzzz-zzzzzzzz' }),
        'DestinationParentNotFoundException',
      ],
    ])('refuses to move an account %s, and records nothing', async (_, parents, code) => {
      const { from, to } = parents();
      const mark = sandbox().world.events.mark();
      await expect(
        organizations().send(
          new MoveAccountCommand({
            AccountId: defaultAccountId(1),
            SourceParentId: from,
            DestinationParentId: to,
          }),
        ),
      ).rejects.toMatchObject({ name: code });
      expect(received(mark)).toEqual([]);
    });

    it('refuses an account outside the organization, a malformed id, and a member account as the caller', async () => {
      const move = (accountId: string, credentials?: SandboxCredentials) =>
        organizations(credentials).send(
          new MoveAccountCommand({
            AccountId: accountId,
            SourceParentId: org().rootId,
            DestinationParentId: ouIdNamed('Sandbox'),
          }),
        );
      await expect(move('123456789012')).rejects.toMatchObject({ name: 'AccountNotFoundException' });
      await expect(move('12345')).rejects.toMatchObject({
        name: 'InvalidInputException',
        Reason: 'INVALID_PATTERN',
      });
      await expect(move(defaultAccountId(1), await memberAdmin(defaultAccountId(1)))).rejects.toMatchObject({
        name: 'AccessDeniedException',
      });
    });
  });

  describe('RemoveAccountFromOrganization', () => {
    it('removes the account: Organizations no longer knows it, the StackSet takes the member role away, its IAM world stays', async () => {
      const id = defaultAccountId(4);
      const iam = sandbox().world.accounts.get(id)!.iam;
      expect(iam.roles.has('casbridgeexecutionrole')).toBe(true);
      const mark = sandbox().world.events.mark();

      await organizations().send(new RemoveAccountFromOrganizationCommand({ AccountId: id }));

      expect(await listed()).not.toContain(id);
      await expect(organizations().send(new DescribeAccountCommand({ AccountId: id }))).rejects.toMatchObject(
        {
          name: 'AccountNotFoundException',
        },
      );
      expect(received(mark)).toEqual([
        [MANAGEMENT, 'AWS API Call via CloudTrail', 'RemoveAccountFromOrganization'],
        [MANAGEMENT, 'AWS Service Event via CloudTrail', 'AccountDepartedOrganization'],
      ]);
      const departed = lifecycleEvent(mark, 'AccountDepartedOrganization');
      expect(departed.detail.serviceEventDetails).toEqual({
        accountId: id,
        departureMethod: 'REMOVED',
        departureTime: expect.stringMatching(/^[A-Z][a-z]{2} \d{1,2}, \d{4} \d{1,2}:\d\d:\d\d [AP]M$/),
      });
      expect(parseTrigger(departed)).toMatchObject({
        lifecycle: 'departed',
        departureMethod: 'removed',
        accountId: id,
      });

      // The stack instance is gone with everything in it; the role CreateAccount made stays.
      expect(iam.roles.has('casbridgeexecutionrole')).toBe(false);
      expect(iam.groups.has('cloudappsecurity')).toBe(false);
      expect([...iam.policies.keys()]).toEqual([]);
      await expect(memberRoleCredentials(sandbox(), id)).rejects.toMatchObject({ name: 'AccessDenied' });
      expect(await memberAdmin(id)).toMatchObject({ accessKeyId: expect.stringMatching(/^ASIA/) });
    });

    it('keeps the connector group and boundary when the connector user still holds them, as CloudFormation cannot delete them', async () => {
      const id = defaultAccountId(8);
      const member = new IAMClient(sandbox().clientConfig(await memberAdmin(id)));
      const boundary = [...sandbox().world.accounts.get(id)!.iam.policies.keys()][0]!;
      await member.send(
        new CreateUserCommand({
          UserName: 'CloudAppSecurity',
          Path: '/casbridge/',
          PermissionsBoundary: boundary,
        }),
      );
      await member.send(
        new AddUserToGroupCommand({ GroupName: 'CloudAppSecurity', UserName: 'CloudAppSecurity' }),
      );

      await organizations().send(new RemoveAccountFromOrganizationCommand({ AccountId: id }));

      const iam = sandbox().world.accounts.get(id)!.iam;
      expect(iam.roles.has('casbridgeexecutionrole')).toBe(false);
      expect(iam.groups.get('cloudappsecurity')?.members).toEqual(['cloudappsecurity']);
      expect([...iam.policies.keys()]).toEqual([boundary]);
    });

    it('spells the departure as the older texts do when the world is set to', async () => {
      sandbox().world.settings.membershipEventSpelling = 'departedMethod';
      try {
        const mark = sandbox().world.events.mark();
        await organizations().send(
          new RemoveAccountFromOrganizationCommand({ AccountId: defaultAccountId(9) }),
        );
        const departed = lifecycleEvent(mark, 'AccountDepartedOrganization');
        expect(departed.detail.serviceEventDetails).toMatchObject({ departedMethod: 'Removed' });
        expect(parseTrigger(departed)).toMatchObject({ departureMethod: 'removed' });
      } finally {
        sandbox().world.settings.membershipEventSpelling = 'departureMethod';
      }
    });

    it('refuses the management account and an account outside the organization', async () => {
      await expect(
        organizations().send(new RemoveAccountFromOrganizationCommand({ AccountId: MANAGEMENT })),
      ).rejects.toMatchObject({ name: 'MasterCannotLeaveOrganizationException' });
      await expect(
        organizations().send(new RemoveAccountFromOrganizationCommand({ AccountId: defaultAccountId(4) })),
      ).rejects.toMatchObject({ name: 'AccountNotFoundException' });
    });
  });

  describe('LeaveOrganization', () => {
    it("leaves from the member account: the call is in the member's trail, the departure in the management account's", async () => {
      const id = defaultAccountId(5);
      const mark = sandbox().world.events.mark();

      await organizations(await memberAdmin(id)).send(new LeaveOrganizationCommand({}));

      expect(await listed()).not.toContain(id);
      expect(received(mark)).toEqual([
        [id, 'AWS API Call via CloudTrail', 'LeaveOrganization'],
        [MANAGEMENT, 'AWS Service Event via CloudTrail', 'AccountDepartedOrganization'],
      ]);
      const leave = lifecycleEvent(mark, 'LeaveOrganization');
      expect(leave.detail).toMatchObject({
        userIdentity: { type: 'AssumedRole', accountId: id },
        recipientAccountId: id,
        requestParameters: null,
      });
      expect(parseTrigger(lifecycleEvent(mark, 'AccountDepartedOrganization'))).toMatchObject({
        lifecycle: 'departed',
        departureMethod: 'left',
        accountId: id,
        envelope: { account: MANAGEMENT },
      });
      await expect(memberRoleCredentials(sandbox(), id)).rejects.toMatchObject({ name: 'AccessDenied' });
    });

    it('refuses the management account, and a departed account is in no organization to leave', async () => {
      await expect(organizations().send(new LeaveOrganizationCommand({}))).rejects.toMatchObject({
        name: 'MasterCannotLeaveOrganizationException',
      });
      await expect(
        organizations(await memberAdmin(defaultAccountId(5))).send(new LeaveOrganizationCommand({})),
      ).rejects.toMatchObject({ name: 'AWSOrganizationsNotInUseException' });
    });
  });

  describe('CloseAccount', () => {
    it('closes an account a few minutes after the call, lists it CLOSED for the post-closure period, then it departs as Cleaned', async () => {
      const id = defaultAccountId(6);
      const state = async () =>
        (await organizations().send(new DescribeAccountCommand({ AccountId: id }))).Account?.State;
      const mark = sandbox().world.events.mark();

      await organizations().send(new CloseAccountCommand({ AccountId: id }));

      // Closing, the account is still usable.
      expect(await state()).toBe('PENDING_CLOSURE');
      expect(received(mark)).toEqual([[MANAGEMENT, 'AWS API Call via CloudTrail', 'CloseAccount']]);
      expect(await memberRoleCredentials(sandbox(), id)).toMatchObject({ accessKeyId: expect.any(String) });
      await expect(organizations().send(new CloseAccountCommand({ AccountId: id }))).rejects.toMatchObject({
        name: 'ConflictException',
      });

      sandbox().world.clock.advance(CLOSURE_MS);
      expect(await state()).toBe('CLOSED');
      expect(await listed()).toContain(id);
      const result = lifecycleEvent(mark, 'CloseAccountResult');
      expect(result.detail.serviceEventDetails).toEqual({
        closeAccountStatus: {
          accountId: id,
          state: 'SUCCEEDED',
          requestedTimestamp: expect.any(String),
          completedTimestamp: expect.any(String),
        },
      });
      expect(parseTrigger(result)).toMatchObject({ lifecycle: 'closed', succeeded: true, accountId: id });
      await expect(memberRoleCredentials(sandbox(), id)).rejects.toMatchObject({ name: 'AccessDenied' });
      await expect(memberAdmin(id)).rejects.toMatchObject({ name: 'AccessDenied' });
      await expect(organizations().send(new CloseAccountCommand({ AccountId: id }))).rejects.toMatchObject({
        name: 'AccountAlreadyClosedException',
      });

      sandbox().world.clock.advance(POST_CLOSURE_MS);
      expect(await listed()).not.toContain(id);
      const cleaned = lifecycleEvent(mark, 'AccountDepartedOrganization');
      expect(parseTrigger(cleaned)).toMatchObject({
        lifecycle: 'departed',
        departureMethod: 'cleaned',
        accountId: id,
      });
      expect(received(mark).map(([, , name]) => name)).toEqual([
        'CloseAccount',
        'CloseAccountResult',
        'AccountDepartedOrganization',
      ]);
      // Closed for good: not even the role CreateAccount made can be assumed.
      await expect(memberAdmin(id)).rejects.toMatchObject({ name: 'AccessDenied' });
    });

    it('refuses the management account, and more closures in 30 days than its quota', async () => {
      await expect(
        organizations().send(new CloseAccountCommand({ AccountId: MANAGEMENT })),
      ).rejects.toMatchObject({
        name: 'ConstraintViolationException',
        Reason: 'CANNOT_CLOSE_MANAGEMENT_ACCOUNT',
      });
      // 10% of the members, but at least 10.
      const healthy = [10, 12, 14, 15, 16, 18, 20, 21, 22, 24].map(defaultAccountId);
      for (const id of healthy) await organizations().send(new CloseAccountCommand({ AccountId: id }));
      await expect(
        organizations().send(new CloseAccountCommand({ AccountId: defaultAccountId(25) })),
      ).rejects.toMatchObject({
        name: 'ConstraintViolationException',
        Reason: 'CLOSE_ACCOUNT_QUOTA_EXCEEDED',
      });
    });
  });

  describe('an invited account joining', () => {
    it("joins when it accepts the invitation: the acceptance is in its trail, AccountJoinedOrganization in the management account's", async () => {
      const id = '300000000001';
      const invitee = addStandaloneAccount(sandbox().world, {
        id,
        name: 'acquired-1',
        email: 'aws+acquired-1@example.com',
      });
      const mark = sandbox().world.events.mark();

      const { Handshake } = await organizations().send(
        new InviteAccountToOrganizationCommand({
          Target: { Type: 'ACCOUNT', Id: id },
          Notes: 'Welcome aboard',
        }),
      );
      expect(Handshake).toMatchObject({ Action: 'INVITE', State: 'OPEN', Id: expect.stringMatching(/^h-/) });
      const accepted = await organizations(invitee).send(
        new AcceptHandshakeCommand({ HandshakeId: Handshake!.Id }),
      );

      expect(accepted.Handshake?.State).toBe('ACCEPTED');
      const { Account } = await organizations().send(new DescribeAccountCommand({ AccountId: id }));
      expect(Account).toMatchObject({ Id: id, Name: 'acquired-1', State: 'ACTIVE', JoinedMethod: 'INVITED' });
      const { Parents } = await organizations().send(new ListParentsCommand({ ChildId: id }));
      expect(Parents).toEqual([{ Id: org().rootId, Type: 'ROOT' }]);
      expect(received(mark)).toEqual([
        [MANAGEMENT, 'AWS API Call via CloudTrail', 'InviteAccountToOrganization'],
        [id, 'AWS API Call via CloudTrail', 'AcceptHandshake'],
        [MANAGEMENT, 'AWS Service Event via CloudTrail', 'AccountJoinedOrganization'],
      ]);
      expect(parseTrigger(lifecycleEvent(mark, 'AccountJoinedOrganization'))).toMatchObject({
        lifecycle: 'joined',
        joinedMethod: 'invited',
        accountId: id,
      });
      // Invited, it has no role casbridge can assume until the StackSet reaches it.
      await expect(memberRoleCredentials(sandbox(), id)).rejects.toMatchObject({ name: 'AccessDenied' });
    });

    it('accepts an invitation sent to the email address of the account that accepts it', async () => {
      const invitee = addStandaloneAccount(sandbox().world, {
        id: '300000000002',
        name: 'acquired-2',
        email: 'aws+acquired-2@example.com',
      });
      const { Handshake } = await organizations().send(
        new InviteAccountToOrganizationCommand({
          Target: { Type: 'EMAIL', Id: 'aws+acquired-2@example.com' },
        }),
      );
      await organizations(invitee).send(new AcceptHandshakeCommand({ HandshakeId: Handshake!.Id }));
      expect(await listed()).toContain('300000000002');
    });

    it('refuses to invite a member, to invite twice, to accept for another account, to accept twice, or after 15 days', async () => {
      await expect(
        organizations().send(
          new InviteAccountToOrganizationCommand({ Target: { Type: 'ACCOUNT', Id: defaultAccountId(1) } }),
        ),
      ).rejects.toMatchObject({
        name: 'HandshakeConstraintViolationException',
        Reason: 'ALREADY_IN_AN_ORGANIZATION',
      });

      const invitee = addStandaloneAccount(sandbox().world, {
        id: '300000000003',
        name: 'c',
        email: 'aws+c@example.com',
      });
      const other = addStandaloneAccount(sandbox().world, {
        id: '300000000004',
        name: 'd',
        email: 'aws+d@example.com',
      });
      const invite = () =>
        organizations().send(
          new InviteAccountToOrganizationCommand({ Target: { Type: 'ACCOUNT', Id: '300000000003' } }),
        );
      const { Handshake } = await invite();
      await expect(invite()).rejects.toMatchObject({ name: 'DuplicateHandshakeException' });
      const accept = (credentials: SandboxCredentials) =>
        organizations(credentials).send(new AcceptHandshakeCommand({ HandshakeId: Handshake!.Id }));
      await expect(accept(other)).rejects.toMatchObject({ name: 'HandshakeNotFoundException' });
      await accept(invitee);
      await expect(accept(invitee)).rejects.toMatchObject({ name: 'InvalidHandshakeTransitionException' });

      const late = await organizations().send(
        new InviteAccountToOrganizationCommand({ Target: { Type: 'ACCOUNT', Id: '300000000004' } }),
      );
      sandbox().world.clock.advance(INVITATION_MS);
      await expect(
        organizations(other).send(new AcceptHandshakeCommand({ HandshakeId: late.Handshake!.Id })),
      ).rejects.toMatchObject({ name: 'InvalidHandshakeTransitionException' });
    });
  });

  describe("the sandbox's own surface", () => {
    it('creates a standalone account and lists the events over HTTP, for a test or person outside the process', async () => {
      const created = await fetch(`${sandbox().endpoint}/_sandbox/accounts`, {
        method: 'POST',
        body: JSON.stringify({ id: '300000000009', name: 'over-http' }),
      });
      expect(created.status).toBe(200);
      const invitee = (await created.json()) as SandboxCredentials & { arn: string };
      expect(invitee.arn).toBe('arn:aws:iam::300000000009:user/Admin');
      const again = await fetch(`${sandbox().endpoint}/_sandbox/accounts`, {
        method: 'POST',
        body: JSON.stringify({ id: '300000000009' }),
      });
      expect(again.status).toBe(400);

      const mark = sandbox().world.events.mark();
      const { Handshake } = await organizations().send(
        new InviteAccountToOrganizationCommand({ Target: { Type: 'ACCOUNT', Id: '300000000009' } }),
      );
      await organizations(invitee).send(new AcceptHandshakeCommand({ HandshakeId: Handshake!.Id }));
      const response = await fetch(
        `${sandbox().endpoint}/_sandbox/events?account=${MANAGEMENT}&eventName=AccountJoinedOrganization&since=${mark}`,
      );
      const events = (await response.json()) as BusEvent[];
      expect(events.map((e) => e.detail.serviceEventDetails)).toEqual([
        { accountId: '300000000009', joinedMethod: 'INVITED', joinedTime: expect.any(String) },
      ]);
    });

    it('answers without the retired Status field when the world is set to', async () => {
      sandbox().world.settings.accountStatusField = false;
      try {
        const { Account } = await organizations().send(
          new DescribeAccountCommand({ AccountId: defaultAccountId(1) }),
        );
        expect(Account).toMatchObject({ State: 'ACTIVE' });
        expect(Account).not.toHaveProperty('Status');
      } finally {
        sandbox().world.settings.accountStatusField = true;
      }
    });
  });
});
