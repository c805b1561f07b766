import {
  type Counts,
  DAYS_PER_MONTH,
  defaultScenario,
  type KindCounts,
  monthlyCost,
  PRICES,
} from '../../scripts/bench/cost-model';

/** Every kind of account-run alike: `transitions` each, one invocation, the given calls. */
function counts(
  kind: Partial<KindCounts> = {},
  run: Partial<KindCounts> = {},
  keyDelivery: Counts['keyDelivery'] = 'at-handoff',
): Counts {
  const k: KindCounts = { transitions: 4, invocations: { access: 1 }, calls: {}, ...kind };
  return {
    keyDelivery,
    kinds: {
      onboard: k,
      awaiting: k,
      connecting: k,
      connected: k,
      rotating: k,
      rotated: k,
      ...(keyDelivery === 'on-demand' ? { minting: k, rotationDue: k } : {}),
    },
    run: { transitions: 4, invocations: {}, calls: {}, reportBytesPerAccount: 0, ...run },
    ledgerItemBytes: 700,
  };
}

const line = (cost: ReturnType<typeof monthlyCost>, item: string) => {
  const found = cost.lines.find((l) => l.item.startsWith(item));
  if (!found) throw new Error(`no line ${item}`);
  return found;
};

describe('the cost model', () => {
  it('prices every line as its count times its unit price', () => {
    const cost = monthlyCost(counts(), defaultScenario(1000));
    for (const l of cost.lines)
      expect(l.usd).toBeCloseTo((l.count / PRICES[l.price].per) * PRICES[l.price].usd, 10);
    expect(cost.totalUsd).toBeCloseTo(
      cost.lines.reduce((t, l) => t + l.usd, 0),
      10,
    );
  });

  it('works every account once per reconcile, each new account in a run of its own', () => {
    const scenario = { ...defaultScenario(1000), newAccountsPerMonth: 30 };
    const cost = monthlyCost(counts({ transitions: 4 }, { transitions: 5 }), scenario);
    const runs = cost.accountRuns;
    const reconciled = runs.connected + runs.awaiting + runs.connecting + runs.rotating + runs.rotated;
    expect(reconciled).toBeCloseTo(1000 * DAYS_PER_MONTH, 6);
    expect(runs.onboard).toBe(30);
    expect(cost.runs).toBeCloseTo(DAYS_PER_MONTH + 30, 6);
    expect(line(cost, 'state transitions').count).toBeCloseTo(
      (reconciled + 30) * 4 + (DAYS_PER_MONTH + 30) * 5,
      6,
    );
  });

  it('rotates every key once per keyMaxAgeDays', () => {
    const cost = monthlyCost(counts(), { ...defaultScenario(7500), keyMaxAgeDays: 75 });
    expect(cost.accountRuns.rotating).toBeCloseTo((7500 * DAYS_PER_MONTH) / 75, 6);
    expect(cost.accountRuns.rotated).toBeCloseTo(cost.accountRuns.rotating, 6);
  });

  it('keeps each new key’s secret until the next reconcile after its paste, or one per account with keepSecrets', () => {
    const scenario = {
      ...defaultScenario(3000),
      newAccountsPerMonth: 100,
      keyMaxAgeDays: 60,
      pasteDelayDays: 3,
    };
    const handoffsPerDay = (100 + (3000 * DAYS_PER_MONTH) / 60) / DAYS_PER_MONTH;
    expect(monthlyCost(counts(), scenario).secretsKept).toBeCloseTo(handoffsPerDay * 3.5, 6);
    expect(monthlyCost(counts(), { ...scenario, keepSecrets: true }).secretsKept).toBe(3000);
    // AWS bills no secret scheduled for deletion; were it billed, its recovery window would count.
    expect(
      monthlyCost(counts(), { ...scenario, pendingDeletionBilled: true, secretRecoveryDays: 7 }).secretsKept,
    ).toBeCloseTo(handoffsPerDay * (3.5 + 7), 6);
  });

  it('on demand, keeps each minted key’s secret only from its mint to its reveal, billed at least an hour', () => {
    const scenario = { ...defaultScenario(3000), newAccountsPerMonth: 100, keyMaxAgeDays: 60 };
    const handoffs = 100 + (3000 * DAYS_PER_MONTH) / 60;
    const cost = monthlyCost(counts({}, {}, 'on-demand'), scenario);
    expect(cost.secretsKept).toBeCloseTo((handoffs * (1 / 24)) / DAYS_PER_MONTH, 6);
    // A run that took longer than the hour bills the time it took.
    const slow = monthlyCost(counts({}, {}, 'on-demand'), { ...scenario, mintToRevealMinutes: 90 });
    expect(slow.secretsKept).toBeCloseTo((handoffs * (1.5 / 24)) / DAYS_PER_MONTH, 6);
  });

  it('on demand, mints each key in a run of its own and reconciles every account once per reconcile all the same', () => {
    const scenario = { ...defaultScenario(1000), newAccountsPerMonth: 30 };
    const cost = monthlyCost(counts({ transitions: 4 }, { transitions: 5 }, 'on-demand'), scenario);
    const runs = cost.accountRuns;
    const rotations = (1000 * DAYS_PER_MONTH) / 75;
    const reconciled = runs.connected + runs.awaiting + runs.connecting + runs.rotationDue + runs.rotated;
    expect(reconciled).toBeCloseTo(1000 * DAYS_PER_MONTH, 6);
    expect(runs.minting).toBe(30);
    expect(runs.rotating).toBeCloseTo(rotations, 6);
    // A rotation waits for its mint as a connected account (its key in service still polled).
    expect(runs.awaiting).toBeCloseTo(30 * 7.5, 6);
    expect(cost.runs).toBeCloseTo(DAYS_PER_MONTH + 30 + 30 + rotations, 6);
  });

  it('pays for a second copy of management events only for own trails where another trail covers', () => {
    const base = { ...defaultScenario(1000), managementEventsPerAccountMonth: 50_000 };
    const copies = (change: Partial<typeof base>) =>
      line(monthlyCost(counts(), { ...base, ...change }), 'management events').count;
    expect(copies({ trailMode: 'own', coveringTrail: true })).toBe(1000 * 50_000);
    expect(copies({ trailMode: 'own', coveringTrail: false })).toBe(0);
    expect(copies({ trailMode: 'reuse-existing', coveringTrail: true })).toBe(0);
    expect(copies({ trailMode: 'organization', coveringTrail: true })).toBe(0);
  });

  it('writes trail log files only where casbridge has a trail of its own', () => {
    const files = (change: Partial<ReturnType<typeof defaultScenario>>) =>
      line(monthlyCost(counts(), { ...defaultScenario(10), ...change }), 'trail log').count;
    expect(files({ trailMode: 'reuse-existing', coveringTrail: true })).toBe(0);
    const perAccountHour = 2 * 12 + 17;
    expect(files({ trailMode: 'reuse-existing', coveringTrail: false })).toBeCloseTo(
      10 * DAYS_PER_MONTH * 24 * perAccountHour,
      6,
    );
    expect(files({ trailMode: 'own', coveringTrail: true })).toBeCloseTo(
      10 * DAYS_PER_MONTH * 24 * perAccountHour,
      6,
    );
  });

  it('sizes DynamoDB requests by the ledger item: a write unit per started KB, a read unit per started 4 KB', () => {
    const withItem = (bytes: number) => ({
      ...counts({ calls: { 'dynamodb:UpdateItem': 2, 'dynamodb:GetItem': 1 } }),
      ledgerItemBytes: bytes,
    });
    const scenario = { ...defaultScenario(100), newAccountsPerMonth: 0 };
    const small = monthlyCost(withItem(700), scenario);
    const large = monthlyCost(withItem(1500), scenario);
    const accountRuns = 100 * DAYS_PER_MONTH;
    expect(line(small, 'ledger write').count).toBeCloseTo(accountRuns * 2, 6);
    expect(line(large, 'ledger write').count).toBeCloseTo(accountRuns * 4, 6);
    expect(line(small, 'ledger read').count).toBeCloseTo(accountRuns, 6);
  });

  it('prices a Lambda invocation by its modelled duration at the functions’ memory', () => {
    const scenario = {
      ...defaultScenario(100),
      newAccountsPerMonth: 0,
      lambdaMsPerInvocation: 100,
      lambdaMsPerCall: 50,
      lambdaMemoryMb: 1024,
    };
    const cost = monthlyCost(counts({ invocations: { access: 1 }, calls: { 'iam:GetUser': 4 } }), scenario);
    const accountRuns = 100 * DAYS_PER_MONTH;
    expect(line(cost, 'requests').count).toBeCloseTo(accountRuns, 6);
    expect(line(cost, 'duration').count).toBeCloseTo(accountRuns * (0.1 + 4 * 0.05), 6);
  });
});
