import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { ledger } from '../../commons/clients/dynamodb';
import { organizationsClient } from '../../commons/clients/organizations';
import { s3Client } from '../../commons/clients/s3';
import type { Config } from '../../commons/config';
import type { ResolvedRun, SkippedAccount } from '../../commons/run';
import { createRuntime, type Runtime } from '../../commons/runtime';
import { lambdaFunctionName, SANDBOX_STAGE } from '../../commons/stack-resources';
import { parseTaskInput, type TaskInput } from '../../commons/task-input';
import { handler as resolveTargetsHandler } from '../../functions/resolve-targets/handler';
import {
  compactTimestamp,
  executionSuffix,
  type ResolveDependencies,
  resolveTargets,
} from '../../functions/resolve-targets/resolve-targets';
import { defaultAccountId, defaultFaultLabel } from '../../sandbox/scenario/default-scenario';
import { captureOutput } from '../support/capture-output';
import { lambdaContext } from '../support/lambda-context';
import { setLambdaEnvironment } from '../support/lambda-env';
import { functionRoleSettings, sandboxConfig } from '../support/product';
import { started } from '../support/resolve-input';
import { useSandbox } from '../support/sandbox';

/**
 * 100 accounts put 30 in Workloads/Prod: more than one 20-account page, so ListAccountsForParent
 * serves the sandbox's empty page with a NextToken in the middle of that listing.
 */
const ACCOUNTS = 100;
const MANAGEMENT = '999988887777';

const CONTEXT: Context = lambdaContext(lambdaFunctionName(SANDBOX_STAGE, 'resolveTargets'));

describe('ResolveTargets', () => {
  const sandbox = useSandbox({ accounts: ACCOUNTS });
  let runtime: Runtime;
  /** The ledger writes other tasks make (leases by Access, outcomes by RecordResult), as Access's role. */
  let claims: Runtime;
  let reader: S3Client;

  beforeAll(async () => {
    runtime = createRuntime(
      sandboxConfig(sandbox()),
      await functionRoleSettings(sandbox(), 'resolveTargets'),
    );
    claims = createRuntime(sandboxConfig(sandbox()), await functionRoleSettings(sandbox(), 'access'));
    reader = new S3Client(sandbox().clientConfig());
  });

  function deps(overrides: Record<string, string> = {}, now = new Date()): ResolveDependencies {
    const config: Config = Object.keys(overrides).length
      ? sandboxConfig(sandbox(), overrides)
      : runtime.config;
    return {
      organizations: organizationsClient(runtime),
      s3: s3Client(runtime),
      ledger: ledger(runtime),
      config,
      now: () => now,
    };
  }

  async function readJson<T>(location: { bucket: string; key: string }): Promise<T> {
    const out = await reader.send(new GetObjectCommand({ Bucket: location.bucket, Key: location.key }));
    return JSON.parse(await out.Body!.transformToString()) as T;
  }

  async function resolve(event: unknown, d = deps(), execution = started(event)) {
    const run = await resolveTargets(d, execution);
    const targets = (await readJson<unknown[]>(run.targets)).map(parseTaskInput);
    const skipped = await readJson<SkippedAccount[]>(run.skipped);
    return { run, targets, skipped };
  }

  /** The sandbox's own truth about an account: its State and OU path. */
  function truth(id: string): { state: string; ou: string } {
    const org = sandbox().world.organization;
    const account = org.accounts.get(id)!;
    const names: string[] = [];
    for (let parent = account.parentId; parent !== org.rootId; ) {
      const ou = org.ous.get(parent)!;
      names.unshift(ou.name);
      parent = ou.parentId;
    }
    return { state: account.state, ou: names.join('/') };
  }

  function ouId(path: string): string {
    const org = sandbox().world.organization;
    let parent = org.rootId;
    for (const name of path.split('/')) {
      parent = [...org.ous.values()].find((ou) => ou.parentId === parent && ou.name === name)!.id;
    }
    return parent;
  }

  const members = () => Array.from({ length: ACCOUNTS }, (_, i) => defaultAccountId(i + 1));
  const activeMembers = () => members().filter((id) => truth(id).state === 'ACTIVE');
  const targetIds = (targets: TaskInput[]) => targets.map((t) => t.account.accountId);
  const writesSince = (mark: number) =>
    sandbox()
      .world.callLog.list({ sinceSeq: mark })
      .filter((c) => !c.readOnly);

  describe('a run input', () => {
    it('targets every ACTIVE member in a reconcile of the whole organization, with its OU path', async () => {
      const mark = sandbox().world.callLog.mark();
      const { run, targets, skipped } = await resolve({ mode: 'reconcile' });

      expect(targetIds(targets)).toEqual(activeMembers());
      for (const target of targets) {
        expect(target).toMatchObject({ runId: run.run.runId, mode: 'reconcile', dryRun: false, steps: {} });
        expect({ id: target.account.accountId, ou: target.account.ou, state: target.account.state }).toEqual({
          id: target.account.accountId,
          ...truth(target.account.accountId),
        });
      }
      const byId = new Map(targets.map((t) => [t.account.accountId, t.account]));
      expect(byId.get(defaultAccountId(3))).toMatchObject({ ou: 'Workloads/Prod', joinedMethod: 'CREATED' });
      expect(byId.get(defaultAccountId(7))).toMatchObject({ ou: 'Workloads/Dev', joinedMethod: 'INVITED' });
      expect(byId.get(defaultAccountId(20))).toMatchObject({ ou: 'Security' });
      expect(byId.get(defaultAccountId(1))?.joinedTimestamp).toMatch(/^\d{4}-\d\d-\d\dT/);

      // Accounts 13, 53, 93 are suspended and 19, 59, 99 closed (the fault pattern repeats every 40).
      expect(skipped.map((s) => [s.accountId, s.reason, s.ou])).toEqual(
        [
          [defaultAccountId(13), 'suspended', 'Suspended'],
          [defaultAccountId(19), 'closed', 'Suspended'],
          [defaultAccountId(53), 'suspended', 'Suspended'],
          [defaultAccountId(59), 'closed', 'Suspended'],
          [defaultAccountId(93), 'suspended', 'Suspended'],
          [defaultAccountId(99), 'closed', 'Suspended'],
          [MANAGEMENT, 'management-account', ''],
        ].sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
      );

      expect(run.run).toMatchObject({ mode: 'reconcile', dryRun: false, trigger: { type: 'manual' } });
      expect(run.run.maxConcurrency).toBe(40);
      // Named by the execution: its start, and six characters of its id's hash.
      expect(run.run.runId).toMatch(/^reconcile-20260304T101542-[a-z0-9]{6}$/);
      expect(run.targets).toEqual({
        bucket: sandbox().stack.reportsBucket,
        key: `runs/${run.run.runId}/targets.json`,
        count: targets.length,
      });
      expect(run.skipped).toMatchObject({ key: `runs/${run.run.runId}/skipped.json`, count: 7 });
      // The two files are the only writes.
      expect(writesSince(mark).map((c) => c.operation)).toEqual(['PutObject', 'PutObject']);
    });

    it('follows NextToken through the empty pages Organizations may return', async () => {
      const mark = sandbox().world.callLog.mark();
      const { targets } = await resolve({ mode: 'reconcile', organizationalUnits: [ouId('Workloads/Prod')] });
      const prod = activeMembers().filter((id) => truth(id).ou === 'Workloads/Prod');
      expect(prod.length).toBeGreaterThan(20);
      expect(targetIds(targets)).toEqual(prod);
      // 30 accounts at 20 a page, with the sandbox's empty second page: three calls.
      const listings = sandbox()
        .world.callLog.list({ sinceSeq: mark, operation: 'ListAccountsForParent' })
        .filter((c) => c.outcome === 'ok');
      const ous = [...sandbox().world.organization.ous.values()].length + 1;
      expect(listings.length).toBeGreaterThan(ous);
    });

    it('selects named accounts and every account under a named OU, at any depth', async () => {
      const { targets, skipped } = await resolve({
        mode: 'onboard',
        accounts: [defaultAccountId(2), defaultAccountId(2)],
        organizationalUnits: [ouId('Workloads')],
      });
      const workloads = activeMembers().filter((id) => truth(id).ou.startsWith('Workloads/'));
      expect(workloads.some((id) => truth(id).ou === 'Workloads/Dev')).toBe(true);
      expect(truth(defaultAccountId(2)).ou).toBe('Sandbox');
      expect(targetIds(targets)).toEqual([defaultAccountId(2), ...workloads].sort());
      expect(skipped).toEqual([]);
    });

    it('onboards an ACTIVE account the ledger records as OFFBOARDED when an onboard run names it', async () => {
      // Offboarded by name (it stays ACTIVE in the organization), then wanted back.
      const back = defaultAccountId(14);
      await ledger(claims).update(back, {
        connector: 'OFFBOARDED',
        offboardedAt: new Date().toISOString(),
        lastOutcome: 'SUCCEEDED',
      });
      const { targets, skipped } = await resolve({ mode: 'onboard', accounts: [back] });
      expect(targets.map((t) => [t.account.accountId, t.mode])).toEqual([[back, 'onboard']]);
      expect(skipped).toEqual([]);
    });

    it('skips the excluded accounts, and the management account even when named', async () => {
      const { targets, skipped } = await resolve(
        { mode: 'reconcile', accounts: [defaultAccountId(1), defaultAccountId(2), MANAGEMENT] },
        deps({ CASBRIDGE_EXCLUDED_ACCOUNTS: ` ${defaultAccountId(2)}, ${defaultAccountId(4)} ` }),
      );
      expect(targetIds(targets)).toEqual([defaultAccountId(1)]);
      expect(skipped.map((s) => [s.accountId, s.reason])).toEqual([
        [defaultAccountId(2), 'excluded'],
        [MANAGEMENT, 'management-account'],
      ]);
    });

    it('skips an account another execution holds a lease on, and takes one whose lease expired', async () => {
      const held = defaultAccountId(5);
      const expired = defaultAccountId(6);
      const mine = defaultAccountId(8);
      const other1 = { token: 'execution-other-1', runId: 'reconcile-20250101T000000-other1' };
      const other2 = { token: 'execution-other-2', runId: 'reconcile-20250101T000000-other2' };
      const itself = { token: 'execution-itself', runId: 'onboard-20250101T000000-itself' };
      await ledger(claims).acquireLease(held, other1, 900);
      await ledger(claims).acquireLease(expired, other2, -60);
      await ledger(claims).acquireLease(mine, itself, 900);
      try {
        const { targets, skipped } = await resolve({ mode: 'reconcile', accounts: [held, expired, mine] });
        expect(targetIds(targets)).toEqual([expired]);
        expect(skipped).toEqual([
          {
            accountId: held,
            name: expect.any(String),
            ou: truth(held).ou,
            reason: 'lease-held-by-another-run',
          },
          {
            accountId: mine,
            name: expect.any(String),
            ou: truth(mine).ou,
            reason: 'lease-held-by-another-run',
          },
        ]);
        // The lease is the execution's, whatever the run's trigger: its own is not another's.
        const request = { mode: 'reconcile', accounts: [mine] };
        const again = await resolve(request, deps(), started(request, itself.token));
        expect(targetIds(again.targets)).toEqual([mine]);
      } finally {
        await ledger(claims).releaseLease(held, other1.token);
        await ledger(claims).releaseLease(expired, other2.token);
        await ledger(claims).releaseLease(mine, itself.token);
      }
    });

    it('retries only the ACTIVE accounts whose last outcome in the ledger is FAILED', async () => {
      await ledger(claims).update(defaultAccountId(9), { lastOutcome: 'FAILED' });
      await ledger(claims).update(defaultAccountId(10), { lastOutcome: 'FAILED' });
      await ledger(claims).update(defaultAccountId(11), { lastOutcome: 'SUCCEEDED' });
      await ledger(claims).update(defaultAccountId(13), { lastOutcome: 'FAILED' }); // suspended since
      const { run, targets, skipped } = await resolve({ mode: 'retry-failed' });
      expect(targetIds(targets)).toEqual([defaultAccountId(9), defaultAccountId(10)]);
      // An account that failed onboarding is retried as an onboarding (no lastMode: recorded before it).
      expect(targets.map((t) => t.mode)).toEqual(['onboard', 'onboard']);
      expect(targets.every((t) => t.runId.startsWith('retry-failed-'))).toBe(true);
      const reasons = new Map(skipped.map((s) => [s.accountId, s.reason]));
      expect(reasons.get(defaultAccountId(11))).toBe('not-failed-last-run');
      expect(reasons.get(defaultAccountId(1))).toBe('not-failed-last-run');
      expect(reasons.get(defaultAccountId(13))).toBe('suspended');
      // Every account of the organization is accounted for, once.
      expect(run.targets.count + run.skipped.count).toBe(ACCOUNTS + 1);
    });

    it('retries each failed account in the mode of the run where it failed, a blocked offboarding as an offboarding', async () => {
      // A suspended account whose offboarding failed, an ACTIVE one named in an offboard run that
      // failed (recorded before lastMode: its run id says so), and a failed reconcile.
      await ledger(claims).update(defaultAccountId(13), { lastOutcome: 'FAILED', lastMode: 'offboard' });
      await ledger(claims).update(defaultAccountId(9), {
        lastOutcome: 'FAILED',
        lastRunId: 'offboard-20260101T000000-abc123',
      });
      await ledger(claims).update(defaultAccountId(10), { lastOutcome: 'FAILED', lastMode: 'reconcile' });
      const { targets } = await resolve({ mode: 'retry-failed' });
      expect(targets.map((t) => [t.account.accountId, t.mode])).toEqual([
        [defaultAccountId(9), 'offboard'],
        [defaultAccountId(10), 'reconcile'],
        [defaultAccountId(13), 'offboard'],
      ]);
      expect(targets.every((t) => t.runId.startsWith('retry-failed-'))).toBe(true);
    });

    it('offboards the suspended and closed accounts, and an ACTIVE one only when named', async () => {
      const all = await resolve({ mode: 'offboard' });
      const gone = members().filter((id) =>
        ['suspended', 'closed'].includes(defaultFaultLabel(Number(id) % 1e9)),
      );
      expect(targetIds(all.targets)).toEqual(gone);
      expect(all.targets.every((t) => t.mode === 'offboard' && t.account.ou === 'Suspended')).toBe(true);
      expect(all.skipped.find((s) => s.accountId === defaultAccountId(1))?.reason).toBe('out-of-scope');

      const named = await resolve({
        mode: 'offboard',
        accounts: [defaultAccountId(1), defaultAccountId(19)],
      });
      expect(targetIds(named.targets)).toEqual([defaultAccountId(1), defaultAccountId(19)]);
      expect(named.targets.map((t) => t.account.state)).toEqual(['ACTIVE', 'CLOSED']);
    });

    it('writes the plan of a dry run from the schedule, with its own concurrency', async () => {
      const mark = sandbox().world.callLog.mark();
      const { run, targets } = await resolve({
        mode: 'reconcile',
        trigger: 'schedule',
        dryRun: true,
        maxConcurrency: 5,
        accounts: [defaultAccountId(1)],
      });
      expect(run.run).toMatchObject({ trigger: { type: 'schedule' }, dryRun: true, maxConcurrency: 5 });
      expect(targets).toEqual([expect.objectContaining({ dryRun: true })]);
      // The plan is the dry run's only write: the files it reports on.
      expect(writesSince(mark).map((c) => c.operation)).toEqual(['PutObject', 'PutObject']);
    });
  });

  describe('an account lifecycle event', () => {
    it('onboards exactly the account of a SUCCEEDED CreateAccountResult, without walking the organization', async () => {
      const mark = sandbox().world.callLog.mark();
      const { run, targets, skipped } = await resolve(
        organizationsEvent('5c2e0f9a-1b7d-4c3e-8a61-0d9e4f2b7a10', 'SUCCEEDED', defaultAccountId(3)),
      );
      expect(targets).toEqual([
        expect.objectContaining({
          mode: 'onboard',
          account: expect.objectContaining({
            accountId: defaultAccountId(3),
            ou: 'Workloads/Prod',
            state: 'ACTIVE',
            joinedMethod: 'CREATED',
          }),
        }),
      ]);
      expect(skipped).toEqual([]);
      // Named by the execution like every run: two deliveries of one event are two executions.
      expect(run.run.runId).toMatch(/^onboard-20260304T101542-[a-z0-9]{6}$/);
      expect(run.run.trigger).toEqual({
        type: 'organizations-event',
        eventId: '5c2e0f9a-1b7d-4c3e-8a61-0d9e4f2b7a10',
        requestId: 'car-5f0a9b8c7d6e4f3a2b1c0d9e8f7a6b5c',
      });
      const operations = sandbox()
        .world.callLog.list({ sinceSeq: mark, service: 'organizations' })
        .map((c) => c.operation);
      expect(operations).not.toContain('ListAccountsForParent');
      expect(operations.length).toBeLessThan(10);
    });

    it('starts no work for a FAILED CreateAccountResult', async () => {
      const mark = sandbox().world.callLog.mark();
      const { run, targets, skipped } = await resolve(organizationsEvent('failed-1', 'FAILED'));
      expect(targets).toEqual([]);
      expect(skipped).toEqual([]);
      expect(run.run.trigger).toMatchObject({ type: 'organizations-event', eventId: 'failed-1' });
      // Only the management account, to check where the event came from: no account is read.
      expect(
        sandbox()
          .world.callLog.list({ sinceSeq: mark, service: 'organizations' })
          .map((c) => c.operation),
      ).toEqual(['DescribeOrganization']);
    });

    it('checks the envelope of a SUCCEEDED event without a call of its own', async () => {
      const mark = sandbox().world.callLog.mark();
      await resolve(organizationsEvent('one-call-1', 'SUCCEEDED', defaultAccountId(1)));
      const operations = sandbox()
        .world.callLog.list({ sinceSeq: mark, service: 'organizations' })
        .map((c) => c.operation);
      expect(operations.filter((o) => o === 'DescribeOrganization')).toEqual(['DescribeOrganization']);
    });

    it('onboards a Control Tower event forwarded from the configured home Region, which it keeps as its own', async () => {
      const { targets } = await resolve(
        controlTowerEvent(
          'ct-fwd-1',
          'CreateManagedAccount',
          'SUCCEEDED',
          defaultAccountId(20),
          {},
          'eu-west-1',
        ),
        deps({ CASBRIDGE_CONTROL_TOWER_HOME_REGION: 'eu-west-1' }),
      );
      expect(targets.map((t) => t.account.accountId)).toEqual([defaultAccountId(20)]);
    });

    it('onboards the account of a Control Tower event, whatever its timestamps look like', async () => {
      const { run, targets } = await resolve(
        controlTowerEvent('ct-1', 'CreateManagedAccount', 'SUCCEEDED', defaultAccountId(20), {
          requestedTimestamp: '2019-11-15T11:45:18+0000',
          completedTimestamp: 'Nov 15, 2019 11:52:01 AM',
        }),
      );
      expect(targets.map((t) => [t.account.accountId, t.account.ou])).toEqual([
        [defaultAccountId(20), 'Security'],
      ]);
      expect(run.run.trigger).toEqual({
        type: 'control-tower-event',
        eventId: 'ct-1',
        eventName: 'CreateManagedAccount',
      });
    });

    it('records the account of a FAILED Control Tower event as skipped, and a suspended one by its State', async () => {
      const failed = await resolve(
        controlTowerEvent('ct-2', 'UpdateManagedAccount', 'FAILED', defaultAccountId(21)),
      );
      expect(failed.targets).toEqual([]);
      expect(failed.skipped).toEqual([
        { accountId: defaultAccountId(21), name: 'account-name', reason: 'event-failed' },
      ]);

      const suspended = await resolve(
        controlTowerEvent('ct-3', 'UpdateManagedAccount', 'SUCCEEDED', defaultAccountId(13)),
      );
      expect(suspended.targets).toEqual([]);
      expect(suspended.skipped).toMatchObject([{ accountId: defaultAccountId(13), reason: 'suspended' }]);
    });
  });

  describe('the run of an execution', () => {
    it('is named by its execution, the same for every attempt of its ResolveTargets and for no other', async () => {
      const request = { mode: 'reconcile', accounts: [defaultAccountId(1)] };
      const execution = started(request);
      const first = await resolve(request, deps(), execution);
      const retried = await resolve(request, deps(), execution);
      const other = await resolve(request, deps(), started(request, `${execution.execution}-2`));
      expect(first.run.run.runId).toBe(
        `reconcile-${compactTimestamp(new Date(execution.startedAt))}-${executionSuffix(execution.execution)}`,
      );
      expect(retried.run.run.runId).toBe(first.run.run.runId);
      expect(other.run.run.runId).not.toBe(first.run.run.runId);
      expect(first.run.run).toMatchObject({ execution: execution.execution, startedAt: execution.startedAt });
      // Inside a Distributed Map each child has its own $$.Execution.Id: the run's travels in the item.
      expect(first.targets.map((t) => t.execution)).toEqual([execution.execution]);
    });

    it('remembers which run an event started: another delivery works on nothing and names that run', async () => {
      const account = defaultAccountId(21);
      const event = organizationsEvent('delivered-twice-1', 'SUCCEEDED', account);
      const firstExecution = started(event);
      const first = await resolve(event, deps(), firstExecution);
      expect(targetIds(first.targets)).toEqual([account]);

      const mark = sandbox().world.callLog.mark();
      const second = await resolve(event, deps(), started(event));
      expect(second.targets).toEqual([]);
      expect(second.skipped).toEqual([
        {
          accountId: account,
          name: expect.any(String),
          ou: truth(account).ou,
          reason: 'duplicate-event',
          handledByRunId: first.run.run.runId,
        },
      ]);
      expect(second.run.run.trigger).toMatchObject({ eventId: 'delivered-twice-1' });
      // One conditional write tells: the ledger's refusal, then the run's two files.
      const writes = writesSince(mark).map((c) => `${c.operation}:${c.outcome}`);
      expect(writes).toEqual(['PutItem:error', 'PutObject:ok', 'PutObject:ok']);

      // A retried ResolveTargets of the first execution is that execution again, not a duplicate.
      const retried = await resolve(event, deps(), firstExecution);
      expect(targetIds(retried.targets)).toEqual([account]);
    });

    it('keeps what an event started for 30 days (the TTL of its item), out of every list of accounts', async () => {
      const before = Math.floor(runtime.now() / 1000);
      await resolve(organizationsEvent('remembered-1', 'FAILED'));
      const after = Math.floor(runtime.now() / 1000);
      const doc = DynamoDBDocumentClient.from(new DynamoDBClient(sandbox().clientConfig()));
      const item = (
        await doc.send(
          new GetCommand({
            TableName: sandbox().stack.ledgerTable,
            Key: { accountId: 'event#remembered-1' },
          }),
        )
      ).Item;
      expect(item).toMatchObject({
        eventId: 'remembered-1',
        runId: expect.stringMatching(/^onboard-20260304T101542-/),
        execution: expect.stringContaining(':execution:casbridge-dev:'),
        ttl: expect.any(Number),
      });
      expect(item?.ttl).toBeGreaterThanOrEqual(before + 30 * 86_400);
      expect(item?.ttl).toBeLessThanOrEqual(after + 30 * 86_400);
      expect((await ledger(runtime).list()).map((i) => i.accountId)).not.toContain('event#remembered-1');
    });
  });

  describe('a bad trigger', () => {
    const cases: [string, () => unknown, RegExp][] = [
      [
        'an unknown field',
        () => ({ mode: 'reconcile', acounts: ['200000000001'] }),
        /unknown field 'acounts'/,
      ],
      [
        'a malformed account id',
        () => ({ mode: 'onboard', accounts: [defaultAccountId(1), defaultAccountId(2), '12345'] }),
        /accounts\[2\]: '12345' is not a 12-digit account id/,
      ],
      ['a missing mode', () => ({ accounts: [defaultAccountId(1)] }), /mode: is required/],
      ['an unknown mode', () => ({ mode: 'rebuild' }), /mode: 'rebuild' is not one of onboard/],
      [
        'a concurrency out of range',
        () => ({ mode: 'reconcile', maxConcurrency: 0 }),
        /maxConcurrency: 0 is below 1/,
      ],
      ['an empty account list', () => ({ mode: 'reconcile', accounts: [] }), /accounts: names no account/],
      ['not an object', () => 'reconcile', /must be a JSON object/],
      [
        'an unknown OU',
        () => ({ mode: 'reconcile', organizationalUnits: ['ou-ab12-zzzzzzzz'] }),
        /organizationalUnits\[0\]: ou-ab12-zzzzzzzz does not exist/,
      ],
      [
        'an account outside the organization',
        () => ({ mode: 'onboard', accounts: ['111122223333'] }),
        /accounts\[0\]: 111122223333 is not an account of the organization/,
      ],
      [
        'an event of another source',
        () => ({ ...organizationsEvent('ec2-1', 'SUCCEEDED', defaultAccountId(1)), source: 'aws.ec2' }),
        /event source 'aws.ec2' is not one casbridge handles/,
      ],
      [
        'an Organizations event of another type',
        () => {
          const event = organizationsEvent('invite-1', 'SUCCEEDED', defaultAccountId(1));
          return { ...event, detail: { ...event.detail, eventName: 'InviteAccountToOrganization' } };
        },
        /InviteAccountToOrganization is not a trigger casbridge handles/,
      ],
      [
        'a malformed account id in an event',
        () => organizationsEvent('bad-1', 'SUCCEEDED', '2000000001'),
        /detail\.serviceEventDetails\.createAccountStatus\.accountId: '2000000001' is not a 12-digit account id/,
      ],
      [
        'an event for an account outside the organization',
        () => controlTowerEvent('ct-9', 'CreateManagedAccount', 'SUCCEEDED', '111122223333'),
        /account 111122223333 of event ct-9 is not an account of the organization/,
      ],
      [
        '200,000 account ids, refused by their number before any id is read',
        () => ({ mode: 'onboard', accounts: Array.from({ length: 200_000 }, (_, i) => `x${i}`) }),
        /^accounts: names 200,000 accounts; a run input names at most 10,000 \(Organizations' limit per organization\)/,
      ],
      [
        'one account id more than an organization can hold',
        () => ({
          mode: 'onboard',
          accounts: Array.from({ length: 10_001 }, (_, i) => String(200_000_000_000 + i)),
        }),
        /^accounts: names 10,001 accounts; a run input names at most 10,000/,
      ],
      [
        'more OU ids than an organization can hold',
        () => ({
          mode: 'reconcile',
          organizationalUnits: Array.from({ length: 2_001 }, () => 'ou-ab12-3cd45ef6'),
        }),
        /^organizationalUnits: names 2,001 OUs; a run input names at most 2,000/,
      ],
      [
        'many malformed ids, listed ten at a time',
        () => ({ mode: 'onboard', accounts: Array.from({ length: 50 }, (_, i) => `bad-${i}`) }),
        /^accounts\[0\]: 'bad-0' is not a 12-digit account id; .*accounts\[9\]: 'bad-9' .*; and 40 more$/,
      ],
      [
        'an event without its envelope account',
        () => {
          const { account: _, ...event } = organizationsEvent(
            'no-account-1',
            'SUCCEEDED',
            defaultAccountId(1),
          );
          return event;
        },
        /^account: is required/,
      ],
    ];

    it.each(cases)(
      'fails with InvalidRunInput naming the problem, writing nothing: %s',
      async (_, event, message) => {
        const before = await reportObjects();
        const mark = sandbox().world.callLog.mark();
        await expect(resolveTargets(deps(), started(event()))).rejects.toMatchObject({
          name: 'InvalidRunInput',
          message,
        });
        expect(writesSince(mark)).toEqual([]);
        expect(await reportObjects()).toEqual(before);
      },
    );

    const misplaced: [string, () => unknown, string][] = [
      [
        'a CreateAccountResult emitted in another account than the management account',
        () => ({
          ...organizationsEvent('forged-1', 'SUCCEEDED', defaultAccountId(1)),
          account: '111122223333',
        }),
        "account: event forged-1 was emitted in account 111122223333, not in the organization's management account 999988887777",
      ],
      [
        'a FAILED CreateAccountResult emitted in another account',
        () => ({ ...organizationsEvent('forged-2', 'FAILED'), account: defaultAccountId(2) }),
        `account: event forged-2 was emitted in account ${defaultAccountId(2)}, not in the organization's management account 999988887777`,
      ],
      [
        'a CreateAccountResult emitted outside us-east-1',
        () => ({ ...organizationsEvent('west-1', 'SUCCEEDED', defaultAccountId(1)), region: 'eu-west-1' }),
        'region: event west-1 was emitted in eu-west-1, but Organizations emits its lifecycle events only in us-east-1',
      ],
      [
        'a Control Tower event emitted outside its home Region',
        () =>
          controlTowerEvent(
            'ct-west-1',
            'CreateManagedAccount',
            'SUCCEEDED',
            defaultAccountId(20),
            {},
            'eu-west-1',
          ),
        "region: event ct-west-1 was emitted in eu-west-1, but Control Tower's home Region is us-east-1 (CASBRIDGE_CONTROL_TOWER_HOME_REGION)",
      ],
      [
        'a Control Tower event emitted in another account',
        () => ({
          ...controlTowerEvent('ct-forged', 'UpdateManagedAccount', 'SUCCEEDED', defaultAccountId(20)),
          account: defaultAccountId(20),
        }),
        `account: event ct-forged was emitted in account ${defaultAccountId(20)}, not in the organization's management account`,
      ],
    ];

    it.each(misplaced)(
      'refuses with InvalidLifecycleEvent, reading no account and writing nothing: %s',
      async (_, event, message) => {
        const before = await reportObjects();
        const ledgerBefore = await ledger(runtime).list();
        const mark = sandbox().world.callLog.mark();
        const refusal = resolveTargets(deps(), started(event()));
        await expect(refusal).rejects.toMatchObject({
          name: 'InvalidLifecycleEvent',
          step: 'resolve',
          retryable: false,
          message: expect.stringContaining(message),
        });
        expect(writesSince(mark)).toEqual([]);
        expect(
          sandbox()
            .world.callLog.list({ sinceSeq: mark, service: 'organizations' })
            .map((c) => c.operation)
            .filter((o) => o !== 'DescribeOrganization'),
        ).toEqual([]);
        expect(await reportObjects()).toEqual(before);
        expect(await ledger(runtime).list()).toEqual(ledgerBefore);
      },
    );

    async function reportObjects(): Promise<string[]> {
      const out = await reader.send(new ListObjectsV2Command({ Bucket: sandbox().stack.reportsBucket }));
      return (out.Contents ?? []).map((o) => o.Key!);
    }
  });

  describe('the Lambda handler', () => {
    type Handler = (event: unknown, context: Context) => Promise<ResolvedRun>;
    let handler: Handler;
    let logs: string[];

    beforeAll(async () => {
      await setLambdaEnvironment(sandbox());
      // Configuration is read at the handler's first call, after the environment is set.
      handler = resolveTargetsHandler as Handler;
    });

    beforeEach(() => {
      logs = captureOutput();
    });

    afterEach(() => jest.restoreAllMocks());

    it('resolves a run as the state machine starts it, and logs it with its run id', async () => {
      const resolved = await handler(
        started({ mode: 'reconcile', accounts: [defaultAccountId(1)] }),
        CONTEXT,
      );
      expect(resolved.targets.count).toBe(1);
      const items = await readJson<unknown[]>(resolved.targets);
      expect(items.map(parseTaskInput).map((t) => t.account.accountId)).toEqual([defaultAccountId(1)]);
      const line = logs
        .flatMap((l) => l.split('\n'))
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .find((l) => l.message === 'run resolved');
      expect(line).toMatchObject({ runId: resolved.run.runId, step: 'resolve', targets: 1, skipped: 0 });
    });

    it('fails by name on a bad input, for the state machine and in the log', async () => {
      await expect(handler(started({ mode: 'reconcile', acounts: [] }), CONTEXT)).rejects.toMatchObject({
        name: 'InvalidRunInput',
      });
      expect(logs.join('')).toContain('"errorName":"InvalidRunInput"');
    });

    it('refuses an input without the execution the state machine passes, naming the field, writing nothing', async () => {
      const mark = sandbox().world.callLog.mark();
      await expect(handler({ mode: 'reconcile' }, CONTEXT)).rejects.toMatchObject({
        name: 'InvalidTaskInput',
        message: expect.stringMatching(/execution: .*startedAt: /),
      });
      await expect(
        handler({ input: { mode: 'reconcile' }, execution: '', startedAt: 'yesterday' }, CONTEXT),
      ).rejects.toMatchObject({ name: 'InvalidTaskInput', message: expect.stringContaining('execution') });
      expect(writesSince(mark)).toEqual([]);
    });
  });
});

// ---------------------------------------------------------------- events as EventBridge delivers them

function organizationsEvent(id: string, state: 'SUCCEEDED' | 'FAILED', accountId?: string) {
  return {
    version: '0',
    id,
    'detail-type': 'AWS Service Event via CloudTrail',
    source: 'aws.organizations',
    account: '999988887777',
    time: '2025-03-04T10:15:42Z',
    region: 'us-east-1',
    resources: [],
    detail: {
      eventVersion: '1.08',
      userIdentity: { accountId: '999988887777', invokedBy: 'AWS Internal' },
      eventTime: '2025-03-04T10:15:42Z',
      eventSource: 'organizations.amazonaws.com',
      eventName: 'CreateAccountResult',
      awsRegion: 'us-east-1',
      eventType: 'AwsServiceEvent',
      readOnly: false,
      serviceEventDetails: {
        createAccountStatus: {
          id: 'car-5f0a9b8c7d6e4f3a2b1c0d9e8f7a6b5c',
          state,
          accountName: 'payments-prod',
          ...(accountId ? { accountId } : { failureReason: 'EMAIL_ALREADY_EXISTS' }),
          // As AWS renders them: not ISO-8601.
          requestedTimestamp: 'Mar 4, 2025 10:13:01 AM',
          completedTimestamp: 'Mar 4, 2025 10:15:40 AM',
        },
      },
    },
  };
}

function controlTowerEvent(
  id: string,
  eventName: 'CreateManagedAccount' | 'UpdateManagedAccount',
  state: 'SUCCEEDED' | 'FAILED',
  accountId: string,
  timestamps: { requestedTimestamp?: string; completedTimestamp?: string } = {},
  region = 'us-east-1',
) {
  const status =
    eventName === 'CreateManagedAccount' ? 'createManagedAccountStatus' : 'updateManagedAccountStatus';
  return {
    version: '0',
    id,
    'detail-type': 'AWS Service Event via CloudTrail',
    source: 'aws.controltower',
    account: '999988887777',
    time: '2025-03-04T11:02:10Z',
    region,
    resources: [],
    detail: {
      eventVersion: '1.05',
      eventSource: 'controltower.amazonaws.com',
      eventName,
      awsRegion: region,
      eventType: 'AwsServiceEvent',
      serviceEventDetails: {
        [status]: {
          organizationalUnit: {
            organizationalUnitName: 'Workloads',
            organizationalUnitId: 'ou-ab12-3cd45ef6',
          },
          account: { accountName: 'account-name', accountId },
          state,
          message: 'AWS Control Tower finished.',
          requestedTimestamp: timestamps.requestedTimestamp ?? '2025-03-04T10:31:07+0000',
          completedTimestamp: timestamps.completedTimestamp ?? '2025-03-04T11:02:09+0000',
        },
      },
    },
  };
}
