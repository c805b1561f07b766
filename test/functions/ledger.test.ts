import { operatorLedger } from '../support/operator-ledger';
import { useSandbox } from '../support/sandbox';

/** An execution taking leases: its token and, for people, its run id. */
const run = (name: string) => ({
  token: `arn:aws:states:us-east-1:999988887777:execution:casbridge-dev:${name}`,
  runId: `onboard-20260101T000000-${name}`,
});

describe('the ledger', () => {
  const sandbox = useSandbox({ accounts: 2 });
  const ledger = () => operatorLedger(sandbox());

  it('gives an account to one execution at a time until the lease is released or expires', async () => {
    const [a, b, c] = [run('a'), run('b'), run('c')];
    expect(await ledger().acquireLease('111122223333', a, 900)).toBe(true);
    expect(await ledger().acquireLease('111122223333', b, 900)).toBe(false);
    expect(await ledger().acquireLease('111122223333', a, 900)).toBe(true);
    await ledger().releaseLease('111122223333', b.token);
    expect(await ledger().acquireLease('111122223333', b, 900)).toBe(false);
    await ledger().releaseLease('111122223333', a.token);
    expect(await ledger().acquireLease('111122223333', b, 900)).toBe(true);
    sandbox().world.clock.advance(901_000);
    const before = sandbox().world.clock.nowMs();
    expect(await ledger().acquireLease('111122223333', c, 900)).toBe(true);
    const item = await ledger().get('111122223333');
    expect(item).toMatchObject({ leaseOwner: c.token, leaseRunId: c.runId });
    expect(item?.leaseExpiresAt).toBeGreaterThanOrEqual(before + 900_000);
    expect(item?.leaseExpiresAt).toBeLessThanOrEqual(sandbox().world.clock.nowMs() + 900_000);
  });

  it('lets exactly one of many concurrent executions take a free account', async () => {
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => ledger().acquireLease('444455556666', run(`many-${i}`), 900)),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it('refuses a claim on a held account with LeaseHeld, naming the run that holds it', async () => {
    const { expiresAt } = await ledger().claim('131313131313', run('holder'), 900);
    expect(await ledger().get('131313131313')).toMatchObject({ leaseExpiresAt: expiresAt });
    await expect(ledger().claim('131313131313', run('late'), 900)).rejects.toMatchObject({
      name: 'LeaseHeld',
      message: expect.stringContaining(run('holder').runId),
    });
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

  describe('renewing a lease', () => {
    it("extends the execution's own lease, lapsed or not, from now", async () => {
      const x = run('renew-x');
      await ledger().acquireLease('141414141414', x, 900);
      sandbox().world.clock.advance(1_000_000);
      const before = sandbox().world.clock.nowMs();
      const expiresAt = await ledger().renewLease('141414141414', x, 900);
      expect(expiresAt).toBeGreaterThanOrEqual(before + 900_000);
      expect(expiresAt).toBeLessThanOrEqual(sandbox().world.clock.nowMs() + 900_000);
      expect(await ledger().get('141414141414')).toMatchObject({
        leaseOwner: x.token,
        leaseExpiresAt: expiresAt,
      });
    });

    it('fails with LeaseLost, naming the run that took the account, and changes nothing', async () => {
      const [x, y] = [run('lost-x'), run('lost-y')];
      await ledger().acquireLease('151515151515', x, 900);
      sandbox().world.clock.advance(901_000);
      await ledger().acquireLease('151515151515', y, 900);
      const before = await ledger().get('151515151515');
      await expect(ledger().renewLease('151515151515', x, 900, 'trail')).rejects.toMatchObject({
        name: 'LeaseLost',
        step: 'trail',
        retryable: false,
        message: expect.stringContaining(`casbridge run ${y.runId} holds it now`),
      });
      expect(await ledger().get('151515151515')).toEqual(before);
    });

    it('fails with LeaseLost when the lease was released under the execution', async () => {
      const x = run('released-x');
      await ledger().acquireLease('161616161616', x, 900);
      await ledger().releaseLease('161616161616', x.token);
      await expect(ledger().renewLease('161616161616', x, 900)).rejects.toMatchObject({ name: 'LeaseLost' });
    });
  });

  describe("recording a run's outcome", () => {
    it('writes the outcome and frees the lease in one write', async () => {
      const x = run('record-x');
      await ledger().acquireLease('121212121212', x, 900);
      const recorded = await ledger().recordOutcome(
        '121212121212',
        { lastOutcome: 'SUCCEEDED', lastRunId: x.runId },
        { ...x, held: true },
      );
      expect(recorded).toEqual({ recorded: true, connector: 'NOT_REGISTERED' });
      expect(await ledger().get('121212121212')).toMatchObject({
        lastOutcome: 'SUCCEEDED',
        leaseOwner: null,
        leaseRunId: null,
        leaseExpiresAt: null,
      });
      // Its retry, after an answer lost on the way, finds its own outcome there.
      expect(
        await ledger().recordOutcome(
          '121212121212',
          { lastOutcome: 'SUCCEEDED', lastRunId: x.runId },
          { ...x, held: true },
        ),
      ).toEqual({ recorded: true, connector: 'NOT_REGISTERED' });
    });

    it('writes nothing over the account of the execution that took it, and names its run', async () => {
      const [x, y] = [run('over-x'), run('over-y')];
      await ledger().acquireLease('171717171717', x, 900);
      sandbox().world.clock.advance(901_000);
      await ledger().acquireLease('171717171717', y, 900);
      const before = await ledger().get('171717171717');
      const recorded = await ledger().recordOutcome(
        '171717171717',
        { lastOutcome: 'FAILED', lastRunId: x.runId },
        { ...x, held: true },
      );
      expect(recorded).toEqual({ recorded: false, holderRunId: y.runId, connector: 'NOT_REGISTERED' });
      expect(await ledger().get('171717171717')).toEqual(before);
      // Nor, once that execution finished and freed it, over the outcome it recorded.
      await ledger().recordOutcome(
        '171717171717',
        { lastOutcome: 'SUCCEEDED', lastRunId: y.runId },
        { ...y, held: true },
      );
      expect(
        await ledger().recordOutcome(
          '171717171717',
          { lastOutcome: 'FAILED', lastRunId: x.runId },
          { ...x, held: true },
        ),
      ).toMatchObject({ recorded: false, holderRunId: y.runId });
      expect(await ledger().get('171717171717')).toMatchObject({
        lastOutcome: 'SUCCEEDED',
        lastRunId: y.runId,
      });
    });

    it('records the failure of an execution that never got the lease only on a free or lapsed one', async () => {
      const [x, y] = [run('never-x'), run('never-y')];
      expect(
        await ledger().recordOutcome('181818181818', { lastOutcome: 'FAILED' }, { ...x, held: false }),
      ).toMatchObject({ recorded: true });
      await ledger().acquireLease('181818181818', y, 900);
      expect(
        await ledger().recordOutcome('181818181818', { lastOutcome: 'FAILED' }, { ...x, held: false }),
      ).toMatchObject({ recorded: false, holderRunId: y.runId });
      sandbox().world.clock.advance(901_000);
      expect(
        await ledger().recordOutcome('181818181818', { lastOutcome: 'FAILED' }, { ...x, held: false }),
      ).toMatchObject({ recorded: true });
    });
  });

  describe('remembering lifecycle events', () => {
    it('remembers the first run of an event, is not fooled by its own retry, and forgets it after its TTL', async () => {
      const [x, y] = [run('event-x'), run('event-y')];
      const of = (r: typeof x) => ({
        runId: r.runId,
        execution: r.token,
        startedAt: '2026-01-01T00:00:00.000Z',
      });
      expect(await ledger().rememberEvent('evt-1', of(x))).toBeUndefined();
      expect(await ledger().rememberEvent('evt-1', of(x))).toBeUndefined();
      expect(await ledger().rememberEvent('evt-1', of(y))).toEqual({ duplicateOf: x.runId });
      // DynamoDB deletes an expired item only some time after its TTL: it is forgotten already.
      sandbox().world.clock.advance(30 * 86_400_000 + 1000);
      expect(await ledger().rememberEvent('evt-1', of(y))).toBeUndefined();
      expect((await ledger().list()).map((i) => i.accountId)).not.toContain('event#evt-1');
    });

    it('lets exactly one of two simultaneous deliveries start a run', async () => {
      const answers = await Promise.all(
        ['twin-a', 'twin-b'].map((name) =>
          ledger().rememberEvent('evt-twins', {
            runId: run(name).runId,
            execution: run(name).token,
            startedAt: '2026-01-01T00:00:00.000Z',
          }),
        ),
      );
      expect(answers.filter((a) => a === undefined)).toHaveLength(1);
      const winner = answers.indexOf(undefined) === 0 ? 'twin-a' : 'twin-b';
      expect(answers.find((a) => a !== undefined)).toEqual({ duplicateOf: run(winner).runId });
    });
  });
});
