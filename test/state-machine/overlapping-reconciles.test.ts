import { CloudTrailClient, StopLoggingCommand } from '@aws-sdk/client-cloudtrail';
import { ledger } from '../../commons/clients/dynamodb';
import type { RunReport } from '../../commons/run';
import { getRuntime, resetRuntime } from '../../commons/runtime';
import { setLambdaEnvironment } from '../support/lambda-env';
import { runStateMachine } from '../support/local-run';
import { assumeRole, useSandbox } from '../support/sandbox';

const SCENARIO = {
  seed: 11,
  organization: { organizationTrail: false },
  organizationalUnits: ['Overlap'],
  accounts: [1, 2].map((i) => ({ id: String(740_000_000_000 + i), name: `overlap-${i}`, ou: 'Overlap' })),
};
const [COMPLIANT, TO_FIX] = SCENARIO.accounts.map((a) => a.id) as [string, string];

/**
 * Two daily reconciles at once (issue 14 §4): a compliant account's check takes no lease, so the
 * runs may both check it; an account with something to change is still changed by one run only.
 */
describe('two overlapping reconcile runs', () => {
  const sandbox = useSandbox({ scenario: SCENARIO });
  const byId = (report: RunReport | undefined) =>
    new Map((report?.accounts ?? []).map((a) => [a.accountId, a]));

  beforeAll(async () => {
    await setLambdaEnvironment(sandbox());
    await runStateMachine(sandbox(), { mode: 'onboard', accounts: [COMPLIANT, TO_FIX] });
    sandbox().world.clock.advance(86_400_000);
    resetRuntime();
  });

  it('both check a compliant account and change one with something to do once, the ledger ending on one run each', async () => {
    const admin = new CloudTrailClient(
      sandbox().clientConfig(
        await assumeRole(sandbox(), `arn:aws:iam::${TO_FIX}:role/OrganizationAccountAccessRole`),
      ),
    );
    await admin.send(new StopLoggingCommand({ Name: getRuntime().config.trailName }));
    const mark = sandbox().world.callLog.mark();
    const runs = await Promise.all([
      runStateMachine(sandbox(), { mode: 'reconcile', accounts: [COMPLIANT, TO_FIX] }),
      runStateMachine(sandbox(), { mode: 'reconcile', accounts: [COMPLIANT, TO_FIX] }),
    ]);
    for (const id of [COMPLIANT, TO_FIX]) {
      const lines = runs.map((run) => byId(run.report).get(id));
      // Each run says what it did: recorded the account, or found it held by the other.
      for (const line of lines)
        expect(line).toMatchObject(
          line?.outcome === 'SKIPPED'
            ? { skipReason: 'lease-held-by-another-run' }
            : { outcome: 'SUCCEEDED', connector: 'AWAITING_CONNECTION' },
        );
      const recorded = runs.filter((run) => byId(run.report).get(id)?.outcome === 'SUCCEEDED');
      expect(recorded.length).toBeGreaterThan(0);
      const item = await ledger(getRuntime()).get(id);
      expect(recorded.map((run) => run.runId)).toContain(item?.lastRunId);
      expect(item).toMatchObject({ lastOutcome: 'SUCCEEDED', lastError: null });
      expect(item?.leaseOwner ?? null).toBeNull();
    }
    // The compliant account: reads only, from both runs.
    expect(
      byId(runs[0]?.report).get(COMPLIANT)?.changed || byId(runs[1]?.report).get(COMPLIANT)?.changed,
    ).toBe(false);
    // The stopped trail: started once, by the one run that reports the change.
    const starts = sandbox()
      .world.callLog.list({ sinceSeq: mark, operation: 'StartLogging' })
      .filter((c) => c.outcome === 'ok');
    expect(starts).toHaveLength(1);
    expect(runs.filter((run) => byId(run.report).get(TO_FIX)?.changed === true)).toHaveLength(1);
    const writes = sandbox()
      .world.callLog.list({ sinceSeq: mark })
      .filter((c) => c.account === COMPLIANT && !c.readOnly);
    expect(writes).toEqual([]);
  });
});
