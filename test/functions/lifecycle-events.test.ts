import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  AcceptHandshakeCommand,
  CloseAccountCommand,
  InviteAccountToOrganizationCommand,
  LeaveOrganizationCommand,
  MoveAccountCommand,
  OrganizationsClient,
  RemoveAccountFromOrganizationCommand,
} from '@aws-sdk/client-organizations';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ledger } from '../../commons/clients/dynamodb';
import { organizationsClient } from '../../commons/clients/organizations';
import { s3Client } from '../../commons/clients/s3';
import type { SkippedAccount } from '../../commons/run';
import { createRuntime, type Runtime } from '../../commons/runtime';
import { parseTaskInput } from '../../commons/task-input';
import { type ResolveDependencies, resolveTargets } from '../../functions/resolve-targets/resolve-targets';
import type { BusEvent } from '../../sandbox/core/event-log';
import { defaultAccountId } from '../../sandbox/scenario/default-scenario';
import { addStandaloneAccount, busEvents, CLOSURE_MS } from '../../sandbox/services/organizations/membership';
import { FIXTURE_MEMBER, FIXTURES_DIR } from '../support/event-fixtures';
import { functionRoleSettings, sandboxConfig } from '../support/product';
import { started } from '../support/resolve-input';
import { assumeRole, useSandbox } from '../support/sandbox';

const MANAGEMENT = '999988887777';

/**
 * Each lifecycle event through ResolveTargets as the sandbox emits it after the organization
 * changed (issue 12 §1, §3): what run it plans, for which account, in which mode, having read
 * what. The state machine's tests (test/state-machine/lifecycle-events, closures, scope) run the
 * same events end to end.
 */
describe('ResolveTargets on the lifecycle events the organization emits', () => {
  const sandbox = useSandbox({ accounts: 40 });
  let runtime: Runtime;
  /** RecordResult's role: the ledger writes earlier runs made. */
  let recorder: Runtime;
  let reader: S3Client;

  beforeAll(async () => {
    runtime = createRuntime(
      sandboxConfig(sandbox()),
      await functionRoleSettings(sandbox(), 'resolveTargets'),
    );
    recorder = createRuntime(sandboxConfig(sandbox()), await functionRoleSettings(sandbox(), 'recordResult'));
    reader = new S3Client(sandbox().clientConfig());
  });

  const deps = (overrides: Record<string, string> = {}): ResolveDependencies => ({
    organizations: organizationsClient(runtime),
    s3: s3Client(runtime),
    ledger: ledger(runtime),
    config: Object.keys(overrides).length ? sandboxConfig(sandbox(), overrides) : runtime.config,
    now: () => sandbox().world.clock.now(),
  });
  /** What the ledger holds of an account casbridge connected before the event (RecordResult's writes). */
  const connected = (id: string) =>
    ledger(recorder).update(id, {
      connector: 'CONNECTED',
      accessKeyId: 'AKIAEXAMPLECONNECTED',
      handoffAt: '2026-11-01T00:00:00.000Z',
      lastOutcome: 'SUCCEEDED',
      name: org().accounts.get(id)?.name ?? '',
    });
  const ouId = (name: string) => [...org().ous.values()].find((ou) => ou.name === name)!.id;
  const fixture = (name: string) =>
    JSON.parse(readFileSync(path.join(FIXTURES_DIR, name), 'utf8')) as BusEvent;
  const admin = () => new OrganizationsClient({ ...sandbox().clientConfig(), maxAttempts: 1 });
  const org = () => sandbox().world.organization;

  async function readJson<T>(location: { bucket: string; key: string }): Promise<T> {
    const out = await reader.send(new GetObjectCommand({ Bucket: location.bucket, Key: location.key }));
    return JSON.parse(await out.Body!.transformToString()) as T;
  }

  async function resolve(event: unknown, d = deps()) {
    const run = await resolveTargets(d, started(event));
    const targets = (await readJson<unknown[]>(run.targets)).map(parseTaskInput);
    const skipped = await readJson<SkippedAccount[]>(run.skipped);
    return { run, targets, skipped };
  }

  /** The one event named `eventName` the management account's bus received since `mark`. */
  function emitted(mark: number, eventName: string): BusEvent {
    const events = busEvents(sandbox().world, { sinceSeq: mark, account: MANAGEMENT, eventName });
    expect(events).toHaveLength(1);
    return events[0]!;
  }

  const writesSince = (mark: number) =>
    sandbox()
      .world.callLog.list({ sinceSeq: mark })
      .filter((c) => !c.readOnly);

  it('plans an onboard run of an invited account that joined', async () => {
    const id = '300000000001';
    const invitee = addStandaloneAccount(sandbox().world, {
      id,
      name: 'acquired',
      email: 'aws+acquired@example.com',
    });
    const mark = sandbox().world.events.mark();
    const { Handshake } = await admin().send(
      new InviteAccountToOrganizationCommand({ Target: { Type: 'ACCOUNT', Id: id } }),
    );
    await new OrganizationsClient(sandbox().clientConfig(invitee)).send(
      new AcceptHandshakeCommand({ HandshakeId: Handshake!.Id }),
    );
    const event = emitted(mark, 'AccountJoinedOrganization');

    const { run, targets, skipped } = await resolve(event);

    expect(run.run).toMatchObject({
      mode: 'onboard',
      trigger: { type: 'organizations-event', eventId: event.id, eventName: 'AccountJoinedOrganization' },
    });
    expect(targets.map((t) => [t.account.accountId, t.mode, t.account.joinedMethod, t.account.ou])).toEqual([
      [id, 'onboard', 'INVITED', ''],
    ]);
    expect(skipped).toEqual([]);
  });

  it('plans an onboard run of an account moved within the scope, in its new OU', async () => {
    const id = defaultAccountId(1);
    const security = [...org().ous.values()].find((ou) => ou.name === 'Security')!.id;
    const mark = sandbox().world.events.mark();
    await admin().send(
      new MoveAccountCommand({
        AccountId: id,
        SourceParentId: org().accounts.get(id)!.parentId,
        DestinationParentId: security,
      }),
    );

    const { run, targets } = await resolve(emitted(mark, 'MoveAccount'));

    expect(run.run.trigger).toMatchObject({ eventName: 'MoveAccount' });
    expect(targets.map((t) => [t.account.accountId, t.mode, t.account.ou])).toEqual([
      [id, 'onboard', 'Security'],
    ]);
  });

  it('records a refused MoveAccount as a failed event, working on no account', async () => {
    const event = JSON.parse(readFileSync(path.join(FIXTURES_DIR, 'move-account.json'), 'utf8')) as BusEvent;
    event.detail.errorCode = 'AccessDenied';
    const { targets, skipped } = await resolve(event);
    expect(targets).toEqual([]);
    expect(skipped).toEqual([{ accountId: defaultAccountId(1), reason: 'event-failed' }]);
  });

  /** The departure the sandbox emitted when `depart` took the account out of the organization. */
  async function departure(depart: () => Promise<unknown>): Promise<BusEvent> {
    const mark = sandbox().world.events.mark();
    await depart();
    return emitted(mark, 'AccountDepartedOrganization');
  }

  /** The same event delivered under another id: a new event, not a duplicate of the first. */
  const redelivered = (event: BusEvent, suffix: string): BusEvent => ({
    ...event,
    id: `${event.id}-${suffix}`,
  });

  const organizationsCalls = (mark: number) =>
    sandbox()
      .world.callLog.list({ sinceSeq: mark, service: 'organizations' })
      .map((c) => (c.errorCode ? `${c.operation}:${c.errorCode}` : c.operation));

  it('plans the central cleanup of a connected account removed from the organization, having only read', async () => {
    const id = defaultAccountId(2);
    const name = org().accounts.get(id)!.name;
    await connected(id);
    const event = await departure(() =>
      admin().send(new RemoveAccountFromOrganizationCommand({ AccountId: id })),
    );
    expect(event.detail.serviceEventDetails).toMatchObject({ departureMethod: 'REMOVED' });
    const calls = sandbox().world.callLog.mark();

    const { run, targets, skipped } = await resolve(event);

    expect(run.run).toMatchObject({
      mode: 'offboard',
      trigger: { eventName: 'AccountDepartedOrganization' },
    });
    // The account as the ledger last knew it: Organizations knows it no more.
    expect(targets.map((t) => [t.account.accountId, t.mode, t.account.name, t.account.state])).toEqual([
      [id, 'depart', name, ''],
    ]);
    expect(skipped).toEqual([]);
    expect(organizationsCalls(calls)).toEqual([
      'DescribeOrganization',
      'DescribeAccount:AccountNotFoundException',
    ]);
    // The event remembered, the run's two files: nothing else written.
    expect(writesSince(calls).map((c) => c.operation)).toEqual(['PutItem', 'PutObject', 'PutObject']);
  });

  it('plans the same for a connected account that left the organization by itself', async () => {
    const id = defaultAccountId(4);
    await connected(id);
    const event = await departure(async () => {
      const member = await assumeRole(sandbox(), `arn:aws:iam::${id}:role/OrganizationAccountAccessRole`);
      await new OrganizationsClient({ ...sandbox().clientConfig(member), maxAttempts: 1 }).send(
        new LeaveOrganizationCommand({}),
      );
    });
    expect(event.detail.serviceEventDetails).toMatchObject({ departureMethod: 'LEFT' });

    const { targets } = await resolve(event);

    expect(targets.map((t) => [t.account.accountId, t.mode])).toEqual([[id, 'depart']]);
  });

  it('records the departure of an account casbridge never worked on, with nothing to clean up', async () => {
    const id = defaultAccountId(5);
    const event = await departure(() =>
      admin().send(new RemoveAccountFromOrganizationCommand({ AccountId: id })),
    );

    const { targets, skipped } = await resolve(event);

    expect(targets).toEqual([]);
    expect(skipped).toEqual([{ accountId: id, reason: 'never-onboarded' }]);
  });

  it.each([
    'account-departed-organization.left.departure-method.json',
    'account-departed-organization.removed.departure-method.json',
    'account-departed-organization.cleaned.departure-method.json',
    'account-departed-organization.left.departed-method.json',
    'account-departed-organization.removed.departed-method.json',
    'account-departed-organization.cleaned.departed-method.json',
  ])('leaves the departure %s of an account the organization still has to its own runs', async (name) => {
    const event = fixture(name);
    const { run, targets, skipped } = await resolve(event);
    expect(run.run).toMatchObject({ mode: 'offboard', trigger: { eventId: event.id } });
    expect(targets).toEqual([]);
    expect(skipped).toMatchObject([{ accountId: FIXTURE_MEMBER, reason: 'still-in-organization' }]);
  });

  it('leaves the AccountJoinedOrganization of an account the organization created to its CreateAccountResult, reading no account', async () => {
    const event = fixture('account-joined-organization.created.json');
    const calls = sandbox().world.callLog.mark();

    const { run, targets, skipped } = await resolve(event);

    expect(run.run).toMatchObject({ mode: 'onboard', trigger: { eventName: 'AccountJoinedOrganization' } });
    expect(targets).toEqual([]);
    expect(skipped).toEqual([{ accountId: FIXTURE_MEMBER, reason: 'joined-by-creation' }]);
    expect(organizationsCalls(calls)).toEqual(['DescribeOrganization']);
  });

  it('plans the offboarding of a closed account casbridge connected, and skips a closed one it never did', async () => {
    const closed = async (id: string) => {
      const mark = sandbox().world.events.mark();
      await admin().send(new CloseAccountCommand({ AccountId: id }));
      sandbox().world.clock.advance(CLOSURE_MS);
      return emitted(mark, 'CloseAccountResult');
    };
    const id = defaultAccountId(6);
    await connected(id);
    const offboarded = await resolve(await closed(id));
    expect(offboarded.run.run).toMatchObject({
      mode: 'offboard',
      trigger: { eventName: 'CloseAccountResult' },
    });
    expect(offboarded.targets.map((t) => [t.account.accountId, t.mode, t.account.state])).toEqual([
      [id, 'auto-offboard', 'CLOSED'],
    ]);

    const never = await resolve(await closed(defaultAccountId(8)));
    expect(never.targets).toEqual([]);
    expect(never.skipped).toMatchObject([{ accountId: defaultAccountId(8), reason: 'closed' }]);
  });

  it('decides a MoveAccount by the scope: into it onboards, out of it is reported, or offboarded when so configured', async () => {
    const scope = { CASBRIDGE_SCOPE_OUS: ouId('Prod') };
    const move = async (id: string, to: string) => {
      const mark = sandbox().world.events.mark();
      await admin().send(
        new MoveAccountCommand({
          AccountId: id,
          SourceParentId: org().accounts.get(id)!.parentId,
          DestinationParentId: ouId(to),
        }),
      );
      return emitted(mark, 'MoveAccount');
    };
    const inward = await resolve(await move(defaultAccountId(10), 'Prod'), deps(scope));
    expect(inward.targets.map((t) => [t.account.accountId, t.mode, t.account.ou])).toEqual([
      [defaultAccountId(10), 'onboard', 'Workloads/Prod'],
    ]);

    const id = defaultAccountId(9);
    await connected(id);
    const outward = await move(id, 'Sandbox');
    const reported = await resolve(outward, deps(scope));
    expect(reported.run.run.mode).toBe('onboard');
    expect(reported.targets).toEqual([]);
    expect(reported.skipped).toMatchObject([{ accountId: id, ou: 'Sandbox', reason: 'out-of-scope' }]);

    const offboarded = await resolve(
      redelivered(outward, 'offboard'),
      deps({ ...scope, CASBRIDGE_OUT_OF_SCOPE_ACTION: 'offboard' }),
    );
    expect(offboarded.run.run.mode).toBe('offboard');
    expect(offboarded.targets.map((t) => [t.account.accountId, t.mode])).toEqual([[id, 'auto-offboard']]);
  });

  it('refuses a scope that names an OU the organization does not have, before it writes anything', async () => {
    const typo = { CASBRIDGE_SCOPE_OUS: 'ou-ab12-0000dead', CASBRIDGE_OUT_OF_SCOPE_ACTION: 'offboard' };
    const calls = sandbox().world.callLog.mark();
    await expect(resolveTargets(deps(typo), started({ mode: 'reconcile' }))).rejects.toMatchObject({
      name: 'ConfigurationError',
      message: expect.stringContaining('ou-ab12-0000dead, which the organization does not have'),
    });
    // An event does not walk the organization: its account is out of a scope that does not exist.
    const move = fixture('move-account.json');
    await expect(resolveTargets(deps(typo), started(move))).rejects.toMatchObject({
      name: 'ConfigurationError',
    });
    expect(writesSince(calls)).toEqual([]);
  });

  it('reads the root as the whole organization and an excluded OU as out of scope with everything under it', async () => {
    const { targets, skipped } = await resolve(
      { mode: 'reconcile' },
      deps({ CASBRIDGE_SCOPE_OUS: org().rootId, CASBRIDGE_SCOPE_EXCLUDED_OUS: ouId('Workloads') }),
    );
    const outside = skipped.filter((s) => s.reason === 'out-of-scope');
    expect(outside.length).toBeGreaterThan(0);
    expect(outside.every((s) => s.ou?.startsWith('Workloads/'))).toBe(true);
    // Only the closed account casbridge connected is worked on there: it is offboarded wherever it is.
    expect(targets.filter((t) => t.account.ou.startsWith('Workloads')).map((t) => t.mode)).toEqual([
      'auto-offboard',
    ]);
    expect(targets.map((t) => t.account.ou)).toEqual(
      expect.arrayContaining(['Sandbox', 'Security', 'Infrastructure']),
    );
  });

  it('finds on a reconcile the departures whose events it missed, each confirmed gone by DescribeAccount first', async () => {
    // Accounts 2 and 4 left above and the ledger still has them connected; 5 left, never worked on.
    const calls = sandbox().world.callLog.mark();

    const { targets, skipped } = await resolve({ mode: 'reconcile', trigger: 'schedule' });

    const departures = targets.filter((t) => t.mode === 'depart').map((t) => t.account.accountId);
    expect(departures).toEqual([defaultAccountId(2), defaultAccountId(4)]);
    expect(skipped.map((s) => s.accountId)).not.toContain(defaultAccountId(5));
    // The walk lists each parent once: an account moved while it read them would be in no
    // listing, so each missing one is looked up before it is cleaned up as departed.
    const lookups = sandbox()
      .world.callLog.list({ sinceSeq: calls, service: 'organizations', operation: 'DescribeAccount' })
      .map((c) => c.errorCode);
    expect(lookups).toEqual(['AccountNotFoundException', 'AccountNotFoundException']);
  });

  it('refuses a membership event that names no account before any AWS call, and one from outside us-east-1 by its Region', async () => {
    const fixture = (name: string) =>
      JSON.parse(readFileSync(path.join(FIXTURES_DIR, name), 'utf8')) as BusEvent & {
        detail: { serviceEventDetails: Record<string, unknown> };
      };
    const anonymous = fixture('account-departed-organization.left.departure-method.json');
    delete anonymous.detail.serviceEventDetails.accountId;
    const calls = sandbox().world.callLog.mark();
    await expect(resolveTargets(deps(), started(anonymous))).rejects.toMatchObject({
      name: 'InvalidLifecycleEvent',
      message: expect.stringContaining('names no account'),
    });
    expect(sandbox().world.callLog.list({ sinceSeq: calls })).toEqual([]);

    const west = { ...fixture('account-joined-organization.invited.json'), region: 'eu-west-1' };
    await expect(resolveTargets(deps(), started(west))).rejects.toMatchObject({
      name: 'InvalidLifecycleEvent',
      message: expect.stringContaining('Organizations emits its lifecycle events only in us-east-1'),
    });
    expect(writesSince(calls)).toEqual([]);
  });
});
