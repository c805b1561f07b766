import type { Ledger } from '../../commons/ledger';

/** At most this many conditional writes at once: an interrupted run holds up to its concurrency. */
const RELEASE_CONCURRENCY = 25;

/**
 * Releases every lease an interrupted local execution still holds, and returns the accounts it
 * released. A lease is the execution's when its owner is one of `owners`: the execution token,
 * and the run id, which is what leases taken before the owner became the execution token name.
 * Each release is conditional on that owner still holding it, so a lease another run took since
 * is never released by mistake.
 */
export async function releaseLeasesOf(ledger: Ledger, owners: readonly string[]): Promise<string[]> {
  const held = await ledger.leasesHeldBy(owners);
  const released: string[] = [];
  for (let i = 0; i < held.length; i += RELEASE_CONCURRENCY) {
    const batch = held.slice(i, i + RELEASE_CONCURRENCY);
    const results = await Promise.all(
      batch.map((item) => ledger.releaseHeldLease(item.accountId, item.leaseOwner as string)),
    );
    batch.forEach((item, j) => {
      if (results[j]) released.push(item.accountId);
    });
  }
  return released;
}
