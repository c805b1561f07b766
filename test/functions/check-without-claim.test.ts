import { CloudTrailClient, StopLoggingCommand } from '@aws-sdk/client-cloudtrail';
import { ledger } from '../../commons/clients/dynamodb';
import { organizationsClient } from '../../commons/clients/organizations';
import { s3Client } from '../../commons/clients/s3';
import { LEDGER_VIEW_FIELDS, snapshotOf } from '../../commons/ledger-view';
import type { ReportAccount } from '../../commons/run';
import { createRuntime, getRuntime, type Runtime, resetRuntime } from '../../commons/runtime';
import { lambdaFunctionName, SANDBOX_STAGE } from '../../commons/stack-resources';
import type { TaskInput } from '../../commons/task-input';
import { handler as accessHandler } from '../../functions/access/handler';
import { resolveTargets } from '../../functions/resolve-targets/resolve-targets';
import { defaultAccountId, defaultFaultLabel } from '../../sandbox/scenario/default-scenario';
import { lambdaContext } from '../support/lambda-context';
import { setLambdaEnvironment } from '../support/lambda-env';
import { accountInput, loadPipeline, type PipelineRunner } from '../support/pipeline';
import { functionRoleSettings, sandboxConfig } from '../support/product';
import { started, targetItems } from '../support/resolve-input';
import { assumeRole, useSandbox } from '../support/sandbox';

const ACCOUNTS = 30;
const HEALTHY = Array.from({ length: ACCOUNTS }, (_, i) => i + 1)
  .filter((i) => defaultFaultLabel(i) === 'healthy')
  .map(defaultAccountId);

/**
 * Issue 14 §4: a compliant reconcile checked on ResolveTargets' snapshot of the account's item,
 * without the claim. Every test takes its own healthy account, onboarded in beforeAll.
 */
describe('a reconcile check on the ledger as ResolveTargets scanned it', () => {
  const sandbox = useSandbox({ accounts: ACCOUNTS });
  let pipeline: PipelineRunner;
  /** The ledger as another run's Access writes it (its role). */
  let other: Runtime;
  const accounts = [...HEALTHY];
  const take = () => {
    const id = accounts.shift();
    if (!id) throw new Error('more tests than healthy accounts');
    return id;
  };

  const check = async (input: unknown) =>
    (await accessHandler({ check: input }, lambdaContext(lambdaFunctionName(SANDBOX_STAGE, 'access')))) as
      | ReportAccount
      | TaskInput;
  /** The item as ResolveTargets' Scan reads it. */
  const scanned = async (id: string) =>
    snapshotOf((await ledger(getRuntime()).list()).find((item) => item.accountId === id));
  const reconcileItem = async (id: string, runId: string): Promise<TaskInput> => ({
    ...accountInput(sandbox(), id, runId, { mode: 'reconcile' }),
    ...(await scannedSeen(id)),
  });
  const scannedSeen = async (id: string) => {
    const seen = await scanned(id);
    if (!seen) throw new Error(`no ledger item for ${id}`);
    return { seen };
  };
  const ledgerCalls = (since: number) =>
    sandbox()
      .world.callLog.list({ sinceSeq: since, service: 'dynamodb' })
      .map((c) => `${c.operation}${c.outcome === 'ok' ? '' : ` (${c.errorCode})`}`);
  const memberCalls = (since: number) =>
    sandbox()
      .world.callLog.list({ sinceSeq: since })
      .filter((c) => c.account !== sandbox().stack.accountId);
  const item = async (id: string) => ledger(getRuntime()).get(id);

  beforeAll(async () => {
    await setLambdaEnvironment(sandbox());
    pipeline = await loadPipeline(sandbox());
    for (const id of HEALTHY) {
      await expect(pipeline.run(accountInput(sandbox(), id, 'run-onboard'))).resolves.toMatchObject({
        outcome: 'SUCCEEDED',
      });
    }
    sandbox().world.clock.advance(86_400_000);
    resetRuntime();
    // Its session taken on the new day: one of the day before would have expired.
    other = createRuntime(sandboxConfig(sandbox()), await functionRoleSettings(sandbox(), 'access'));
  });

  it('has ResolveTargets hand each reconcile item its ledger item as scanned, and no other item', async () => {
    const [id] = HEALTHY as [string];
    const runtime = createRuntime(
      sandboxConfig(sandbox()),
      await functionRoleSettings(sandbox(), 'resolveTargets'),
    );
    const deps = {
      organizations: organizationsClient(runtime),
      s3: s3Client(runtime),
      ledger: ledger(runtime),
      config: runtime.config,
      now: () => new Date(sandbox().world.clock.nowMs()),
    };
    const targetsOf = async (input: unknown) =>
      targetItems(sandbox(), await resolveTargets(deps, started(input)));
    const [reconcile] = await targetsOf({ mode: 'reconcile', accounts: [id] });
    const stored = await item(id);
    expect(reconcile?.seen).toEqual(snapshotOf(stored));
    // The view's fields and the item's updatedAt: nothing else (10,000 of these are targets.json).
    expect(Object.keys(reconcile?.seen ?? {}).sort()).toEqual(['updatedAt', 'view']);
    for (const field of Object.keys(reconcile?.seen?.view ?? {}))
      expect(LEDGER_VIEW_FIELDS).toContain(field as (typeof LEDGER_VIEW_FIELDS)[number]);
    expect(reconcile?.seen?.updatedAt).toBe(stored?.updatedAt);
    const [dry] = await targetsOf({ mode: 'reconcile', accounts: [id], dryRun: true });
    const [onboard] = await targetsOf({ mode: 'onboard', accounts: [id] });
    expect([dry?.seen, onboard?.seen]).toEqual([undefined, undefined]);
  });

  it('records a compliant account in one ledger write, taking no lease, and a retried check writes nothing more', async () => {
    const id = take();
    const input = await reconcileItem(id, 'run-lease-free');
    const mark = sandbox().world.callLog.mark();
    const result = await check(input);
    expect(result).toMatchObject({ outcome: 'SUCCEEDED', changed: false, connector: 'AWAITING_CONNECTION' });
    expect(ledgerCalls(mark)).toEqual(['UpdateItem']);
    const recorded = await item(id);
    expect(recorded).toMatchObject({
      lastRunId: 'run-lease-free',
      lastOutcome: 'SUCCEEDED',
      lastError: null,
    });
    expect(recorded?.leaseOwner ?? null).toBeNull();
    // The same attempt again, as Step Functions retries a task whose answer was lost: the item
    // has moved on from the snapshot, but the outcome on it is this run's.
    const again = sandbox().world.callLog.mark();
    expect(await check(input)).toEqual(result);
    expect(ledgerCalls(again)).toEqual(['UpdateItem (ConditionalCheckFailedException)']);
    expect(await item(id)).toEqual(recorded);
  });

  it('lets two overlapping reconciles both check an account: one records on the fast path, the other claims it in the pipeline', async () => {
    const id = take();
    // Both runs scanned the ledger before either checked.
    const [a, b] = [await reconcileItem(id, 'run-overlap-a'), await reconcileItem(id, 'run-overlap-b')];
    const first = await check(a);
    expect(first).toMatchObject({ outcome: 'SUCCEEDED', changed: false });
    const mark = sandbox().world.callLog.mark();
    const handed = (await check(b)) as TaskInput;
    // B's reads were made, its write refused: the item is no longer the one it scanned.
    expect(ledgerCalls(mark)).toEqual(['UpdateItem (ConditionalCheckFailedException)']);
    expect(handed).toMatchObject({ runId: 'run-overlap-b', steps: {} });
    expect('outcome' in handed).toBe(false);
    expect(handed.lease).toBeUndefined();
    expect(handed.checked).toBeUndefined();
    const second = await pipeline.run(handed);
    expect(second).toMatchObject({ outcome: 'SUCCEEDED', changed: false, connector: 'AWAITING_CONNECTION' });
    // The pipeline claimed (B's Access) and recorded: the ledger says B was last, and holds no lease.
    expect(ledgerCalls(mark).slice(1)).toEqual(['UpdateItem', 'UpdateItem']);
    const ended = await item(id);
    expect(ended).toMatchObject({
      lastRunId: 'run-overlap-b',
      lastOutcome: 'SUCCEEDED',
      connector: 'AWAITING_CONNECTION',
    });
    expect(ended?.leaseOwner ?? null).toBeNull();
  });

  it('reports an account another run claimed after the scan as held by that run, and leaves its lease alone', async () => {
    const id = take();
    const input = await reconcileItem(id, 'run-late');
    const holder = { token: 'execution-of-run-holder', runId: 'run-holder' };
    await ledger(other).claim(id, holder, 900);
    const before = await item(id);
    const handed = (await check(input)) as TaskInput;
    expect('outcome' in handed).toBe(false);
    const line = await pipeline.run(handed);
    expect(line).toMatchObject({ outcome: 'SKIPPED', skipReason: 'lease-held-by-another-run' });
    expect(await item(id)).toEqual(before);
    await ledger(other).releaseLease(id, holder.token);
  });

  it('writes nothing on the fast path when the ledger changed between the scan and the check, and the pipeline records the account', async () => {
    const id = take();
    const input = await reconcileItem(id, 'run-changed');
    // An operator's write in between (the same name again: only updatedAt moves).
    const current = await item(id);
    await ledger(other).update(id, { name: current?.name });
    const mark = sandbox().world.callLog.mark();
    const handed = (await check(input)) as TaskInput;
    expect(ledgerCalls(mark)).toEqual(['UpdateItem (ConditionalCheckFailedException)']);
    expect(handed).toMatchObject({ runId: 'run-changed', steps: {} });
    expect(handed.checked).toBeUndefined();
    expect(await item(id)).toMatchObject({ lastRunId: 'run-onboard' });
    const line = await pipeline.run(handed);
    expect(line).toMatchObject({ outcome: 'SUCCEEDED', changed: false, connector: 'AWAITING_CONNECTION' });
    expect(await item(id)).toMatchObject({ lastRunId: 'run-changed', lastOutcome: 'SUCCEEDED' });
  });

  it('sends the member account nothing when the snapshot shows another run holding a live lease', async () => {
    const id = take();
    const holder = { token: 'execution-of-run-busy', runId: 'run-busy' };
    await ledger(other).claim(id, holder, 900);
    const input = await reconcileItem(id, 'run-behind');
    expect(input.seen?.lease).toMatchObject({ owner: holder.token });
    const mark = sandbox().world.callLog.mark();
    const handed = (await check(input)) as TaskInput;
    expect(handed).toMatchObject({ runId: 'run-behind', steps: {} });
    expect(handed.checked).toBeUndefined();
    expect(sandbox().world.callLog.list({ sinceSeq: mark })).toEqual([]);
    // Access's claim decides, as for any held account.
    expect(await pipeline.run(handed)).toMatchObject({
      outcome: 'SKIPPED',
      skipReason: 'lease-held-by-another-run',
    });
    expect(memberCalls(mark)).toEqual([]);
    await ledger(other).releaseLease(id, holder.token);
  });

  it('refuses a malformed snapshot with InvalidTaskInput, having called nothing', async () => {
    const id = take();
    const input = await reconcileItem(id, 'run-malformed');
    const before = await item(id);
    const mark = sandbox().world.callLog.mark();
    for (const seen of [
      { ...input.seen, updatedAt: 'yesterday' },
      { ...input.seen, view: { connector: 42 } },
      { ...input.seen, leaseOwner: 'someone' },
      { updatedAt: input.seen?.updatedAt },
    ]) {
      await expect(check({ ...input, seen })).rejects.toMatchObject({
        name: 'InvalidTaskInput',
        message: expect.stringContaining('seen'),
      });
    }
    expect(sandbox().world.callLog.list({ sinceSeq: mark })).toEqual([]);
    expect(await item(id)).toEqual(before);
  });

  describe('an account with something to change', () => {
    /** The trail stopped in the member account: the trail step has to start it again. */
    const stopTrail = async (id: string) => {
      const admin = new CloudTrailClient(
        sandbox().clientConfig(
          await assumeRole(sandbox(), `arn:aws:iam::${id}:role/OrganizationAccountAccessRole`),
        ),
      );
      await admin.send(new StopLoggingCommand({ Name: getRuntime().config.trailName }));
    };
    const count = (since: number, operation: string) =>
      sandbox().world.callLog.list({ sinceSeq: since, operation }).length;

    it('is claimed once, by Access, which takes the results the check settled while the item is the one scanned', async () => {
      const id = take();
      await stopTrail(id);
      const input = await reconcileItem(id, 'run-fix');
      const mark = sandbox().world.callLog.mark();
      const handed = (await check(input)) as TaskInput;
      expect(handed.lease).toBeUndefined();
      expect(Object.keys(handed.checked ?? {})).toEqual(['access', 'user', 'policy', 'accessKey']);
      const line = await pipeline.run(handed);
      expect(line).toMatchObject({
        outcome: 'SUCCEEDED',
        changed: true,
        steps: { trail: { action: 'updated' } },
      });
      // Access's claim and RecordResult's write: the check wrote nothing.
      expect(ledgerCalls(mark)).toEqual(['UpdateItem', 'UpdateItem']);
      // The user's reads once (the check's), the role assumed by the check and each step from the trail on.
      expect(count(mark, 'GetUser')).toBe(1);
      expect(count(mark, 'ListAccessKeys')).toBe(1);
    });

    it('has Access read every step again when the item changed between the scan and its claim', async () => {
      const id = take();
      await stopTrail(id);
      const input = await reconcileItem(id, 'run-fix-late');
      const name = (await item(id))?.name;
      const mark = sandbox().world.callLog.mark();
      const handed = (await check(input)) as TaskInput;
      expect(Object.keys(handed.checked ?? {})).toContain('user');
      await ledger(other).update(id, { name });
      const line = await pipeline.run(handed);
      expect(line).toMatchObject({
        outcome: 'SUCCEEDED',
        changed: true,
        steps: { trail: { action: 'updated' } },
      });
      expect(ledgerCalls(mark)).toEqual(['UpdateItem', 'UpdateItem', 'UpdateItem']);
      // The check's reads and the pipeline's own: the carried results were not used.
      expect(count(mark, 'GetUser')).toBe(2);
      expect(count(mark, 'ListAccessKeys')).toBe(2);
    });
  });
});
