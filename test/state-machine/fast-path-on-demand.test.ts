import { measureAccountKinds } from '../../scripts/bench/account-kinds';
import { setLambdaEnvironment } from '../support/lambda-env';
import { DEFAULT_KEY_DELIVERY, useSandbox } from '../support/sandbox';

const SCENARIO = {
  seed: 8,
  organization: { organizationTrail: false },
  organizationalUnits: ['Kinds'],
  accounts: [1, 2].map((i) => ({ id: String(730_000_000_000 + i), name: `kind-${i}`, ou: 'Kinds' })),
};

/**
 * fast-path.test.ts's pinned counts for the default key delivery (on-demand), in a process of its
 * own (the functions read their configuration once): what docs/cost.md prices.
 */
describe('the kinds of account-run with keys minted on demand', () => {
  const sandbox = useSandbox({ scenario: SCENARIO, stackParameters: { keyDelivery: DEFAULT_KEY_DELIVERY } });

  beforeAll(async () => {
    await setLambdaEnvironment(sandbox());
  });

  it('bills 4 transitions while a key is due, mints only in the --new-key run and keeps no secret past the reveal', async () => {
    const measured = await measureAccountKinds(sandbox(), {
      accounts: SCENARIO.accounts.map((a) => a.id),
      keyMaxAgeDays: 75,
      secretRecoveryDays: 7,
      keyDelivery: 'on-demand',
    });
    const transitions = Object.fromEntries(
      Object.entries(measured.kinds).map(([kind, k]) => [kind, k.transitions]),
    );
    expect(transitions).toEqual({
      onboard: 12,
      awaiting: 4,
      minting: 12,
      connecting: 12,
      connected: 4,
      rotationDue: 12,
      rotating: 12,
      rotated: 12,
    });
    expect(measured.kinds.awaiting.fastPathShare).toBe(1);
    // No run but the --new-key one creates a key or writes a secret.
    const minted = Object.entries(measured.kinds)
      .filter(([, k]) => (k.calls['iam:CreateAccessKey'] ?? 0) > 0)
      .map(([kind]) => kind);
    expect(minted.sort()).toEqual(['minting', 'rotating']);
    for (const kind of [
      'onboard',
      'awaiting',
      'connecting',
      'connected',
      'rotationDue',
      'rotated',
    ] as const) {
      const calls = measured.kinds[kind]?.calls ?? {};
      expect(
        Object.keys(calls).filter((c) => /^secretsmanager:(CreateSecret|PutSecretValue)$/.test(c)),
      ).toEqual([]);
    }
    // The connector's first use finds no secret to delete: the CLI deleted it once shown.
    expect(measured.kinds.connecting.calls['secretsmanager:DeleteSecret']).toBeUndefined();
  });
});
