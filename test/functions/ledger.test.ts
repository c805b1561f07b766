import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { Ledger } from '../../commons/ledger';
import { useSandbox } from '../support/sandbox';

describe('the ledger', () => {
  const sandbox = useSandbox({ accounts: 2 });
  const ledger = () =>
    new Ledger(
      DynamoDBDocumentClient.from(new DynamoDBClient(sandbox().clientConfig())),
      sandbox().stack.ledgerTable,
      () => sandbox().world.clock.nowMs(),
    );

  it('gives an account to one run at a time until the lease is released or expires', async () => {
    expect(await ledger().acquireLease('111122223333', 'run-a', 900)).toBe(true);
    expect(await ledger().acquireLease('111122223333', 'run-b', 900)).toBe(false);
    expect(await ledger().acquireLease('111122223333', 'run-a', 900)).toBe(true);
    await ledger().releaseLease('111122223333', 'run-b');
    expect(await ledger().acquireLease('111122223333', 'run-b', 900)).toBe(false);
    await ledger().releaseLease('111122223333', 'run-a');
    expect(await ledger().acquireLease('111122223333', 'run-b', 900)).toBe(true);
    sandbox().world.clock.advance(901_000);
    expect(await ledger().acquireLease('111122223333', 'run-c', 900)).toBe(true);
  });

  it('lets exactly one of many concurrent runs take a free account', async () => {
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => ledger().acquireLease('444455556666', `run-${i}`, 900)),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it('records outcomes and connector status, starting from NOT_REGISTERED', async () => {
    const first = await ledger().update('777788889999', { lastOutcome: 'SUCCEEDED', lastRunId: 'run-1' });
    expect(first).toMatchObject({
      accountId: '777788889999',
      connector: 'NOT_REGISTERED',
      lastOutcome: 'SUCCEEDED',
    });
    await ledger().update('777788889999', { connector: 'AWAITING_CONNECTION', lastError: null });
    expect(await ledger().get('777788889999')).toMatchObject({
      connector: 'AWAITING_CONNECTION',
      lastRunId: 'run-1',
      createdAt: first.createdAt,
    });
    expect((await ledger().list()).map((i) => i.accountId)).toContain('777788889999');
  });

  it('frees the lease with the outcome in one write, but never the lease of another run', async () => {
    expect(await ledger().acquireLease('121212121212', 'run-x', 900)).toBe(true);
    await ledger().update('121212121212', { lastOutcome: 'SUCCEEDED' }, { releaseLeaseOf: 'run-x' });
    expect(await ledger().get('121212121212')).toMatchObject({ lastOutcome: 'SUCCEEDED', leaseOwner: null });
    expect(await ledger().acquireLease('121212121212', 'run-y', 900)).toBe(true);
    await ledger().update('121212121212', { lastOutcome: 'FAILED' }, { releaseLeaseOf: 'run-x' });
    expect(await ledger().get('121212121212')).toMatchObject({ lastOutcome: 'FAILED', leaseOwner: 'run-y' });
  });
});
