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
import { FIXTURES_DIR } from '../support/event-fixtures';
import { functionRoleSettings, sandboxConfig } from '../support/product';
import { started } from '../support/resolve-input';
import { assumeRole, useSandbox } from '../support/sandbox';

const MANAGEMENT = '999988887777';

/**
 * Each lifecycle event through ResolveTargets as the sandbox emits it after the organization
 * changed. ResolveTargets plans every event as an onboard run of its account today (planEvent):
 * these tests pin what that does with the events it does not plan for yet (a departed account is
 * refused as outside the organization, a closed one skipped by its State), for the handling that
 * is to come.
 */
describe('ResolveTargets on the lifecycle events the organization emits', () => {
  const sandbox = useSandbox({ accounts: 40 });
  let runtime: Runtime;
  let reader: S3Client;

  beforeAll(async () => {
    runtime = createRuntime(
      sandboxConfig(sandbox()),
      await functionRoleSettings(sandbox(), 'resolveTargets'),
    );
    reader = new S3Client(sandbox().clientConfig());
  });

  const deps = (): ResolveDependencies => ({
    organizations: organizationsClient(runtime),
    s3: s3Client(runtime),
    ledger: ledger(runtime),
    config: runtime.config,
    now: () => sandbox().world.clock.now(),
  });
  const admin = () => new OrganizationsClient({ ...sandbox().clientConfig(), maxAttempts: 1 });
  const org = () => sandbox().world.organization;

  async function readJson<T>(location: { bucket: string; key: string }): Promise<T> {
    const out = await reader.send(new GetObjectCommand({ Bucket: location.bucket, Key: location.key }));
    return JSON.parse(await out.Body!.transformToString()) as T;
  }

  async function resolve(event: unknown) {
    const run = await resolveTargets(deps(), started(event));
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

  it('plans an onboard run of a moved account, in its new OU', async () => {
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

  /** A departed account's event through ResolveTargets: refused, having read only. */
  async function expectDepartureRefused(id: string, method: string, depart: () => Promise<void>) {
    const mark = sandbox().world.events.mark();
    await depart();
    const event = emitted(mark, 'AccountDepartedOrganization');
    const calls = sandbox().world.callLog.mark();

    await expect(resolveTargets(deps(), started(event))).rejects.toMatchObject({
      name: 'InvalidRunInput',
      message: `account ${id} of event ${event.id} is not an account of the organization`,
    });
    // Parsed as the departure it is, then looked up in the organization: nothing was written.
    expect(writesSince(calls)).toEqual([]);
    expect(
      sandbox()
        .world.callLog.list({ sinceSeq: calls, service: 'organizations' })
        .map((c) => [c.operation, c.errorCode]),
    ).toEqual([
      ['DescribeOrganization', undefined],
      ['DescribeAccount', 'AccountNotFoundException'],
    ]);
    expect(event.detail.serviceEventDetails).toMatchObject({ departureMethod: method });
  }

  it('refuses, as today, the departure of an account removed by the management account: it is no longer in the organization', async () => {
    const id = defaultAccountId(2);
    await expectDepartureRefused(id, 'REMOVED', async () => {
      await admin().send(new RemoveAccountFromOrganizationCommand({ AccountId: id }));
    });
  });

  it('refuses, as today, the departure of an account that left by itself', async () => {
    const id = defaultAccountId(4);
    await expectDepartureRefused(id, 'LEFT', async () => {
      const member = await assumeRole(sandbox(), `arn:aws:iam::${id}:role/OrganizationAccountAccessRole`);
      await new OrganizationsClient({ ...sandbox().clientConfig(member), maxAttempts: 1 }).send(
        new LeaveOrganizationCommand({}),
      );
    });
  });

  it('skips, as today, the account of a CloseAccountResult by its State CLOSED', async () => {
    const id = defaultAccountId(5);
    const mark = sandbox().world.events.mark();
    await admin().send(new CloseAccountCommand({ AccountId: id }));
    sandbox().world.clock.advance(CLOSURE_MS);
    const event = emitted(mark, 'CloseAccountResult');

    const { run, targets, skipped } = await resolve(event);

    expect(run.run).toMatchObject({ mode: 'onboard', trigger: { eventName: 'CloseAccountResult' } });
    expect(targets).toEqual([]);
    expect(skipped).toMatchObject([{ accountId: id, reason: 'closed' }]);
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
