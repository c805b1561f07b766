import type { LedgerItem } from '../../commons/ledger';
import { operatorLedger } from '../support/operator-ledger';
import { useSandbox } from '../support/sandbox';

const run = (name: string) => ({
  token: `arn:aws:states:us-east-1:999988887777:execution:casbridge-dev:${name}`,
  runId: `reconcile-20260101T000000-${name}`,
});

/** CheckAccount's write on the item as ResolveTargets scanned it (Ledger.recordSeenOutcome). */
describe("the ledger's outcome on a scanned item", () => {
  const sandbox = useSandbox({ accounts: 2 });
  const ledger = () => operatorLedger(sandbox());
  const outcome = (runId: string) => ({
    lastOutcome: 'SUCCEEDED' as const,
    lastRunId: runId,
    lastError: null,
  });
  const scanned = async (id: string) => (await ledger().list()).find((i) => i.accountId === id) as LedgerItem;

  it('records on the item scanned, takes no lease and leaves a lapsed one as it was', async () => {
    const id = '121212121212';
    const stalled = run('stalled');
    await ledger().claim(id, stalled, 60);
    sandbox().world.clock.advance(61_000);
    const seen = await scanned(id);
    const mine = run('mine');
    await expect(
      ledger().recordSeenOutcome(id, outcome(mine.runId), { updatedAt: seen.updatedAt, runId: mine.runId }),
    ).resolves.toEqual({ recorded: true, connector: 'NOT_REGISTERED' });
    expect(await ledger().get(id)).toMatchObject({
      lastRunId: mine.runId,
      leaseOwner: stalled.token,
      leaseExpiresAt: seen.leaseExpiresAt,
    });
  });

  it('writes nothing when another execution renewed its lease since the scan, though updatedAt is unchanged', async () => {
    const id = '343434343434';
    const other = run('other');
    await ledger().claim(id, other, 60);
    sandbox().world.clock.advance(61_000);
    const seen = await scanned(id);
    // A renewal moves only the expiry: the item's updatedAt is the scanned one, the lease live.
    await ledger().renewLease(id, other, 900);
    const mine = run('late');
    await expect(
      ledger().recordSeenOutcome(id, outcome(mine.runId), { updatedAt: seen.updatedAt, runId: mine.runId }),
    ).resolves.toMatchObject({ recorded: false, holderRunId: other.runId });
    expect((await ledger().get(id))?.lastRunId).toBeUndefined();
  });

  it('writes nothing on an item written since the scan, and reports its own earlier write as recorded', async () => {
    const id = '565656565656';
    await ledger().update(id, { name: 'before' });
    const seen = await scanned(id);
    sandbox().world.clock.advance(1_000);
    await ledger().update(id, { name: 'since' });
    const mine = run('stale');
    await expect(
      ledger().recordSeenOutcome(id, outcome(mine.runId), { updatedAt: seen.updatedAt, runId: mine.runId }),
    ).resolves.toMatchObject({ recorded: false });
    const fresh = await scanned(id);
    const first = await ledger().recordSeenOutcome(id, outcome(mine.runId), {
      updatedAt: fresh.updatedAt,
      runId: mine.runId,
    });
    expect(first).toEqual({ recorded: true, connector: 'NOT_REGISTERED' });
    const recorded = await ledger().get(id);
    // The same write again (a retried attempt whose answer was lost): refused, and this run's.
    sandbox().world.clock.advance(1_000);
    await expect(
      ledger().recordSeenOutcome(id, outcome(mine.runId), { updatedAt: fresh.updatedAt, runId: mine.runId }),
    ).resolves.toEqual(first);
    expect(await ledger().get(id)).toEqual(recorded);
  });
});
