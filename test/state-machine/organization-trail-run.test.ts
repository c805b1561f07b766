import type { RunReport } from '../../commons/run';
import { defaultScenario } from '../../sandbox/scenario/default-scenario';
import type { LocalRunOutcome } from '../../statemachine/local/execute-run';
import { setLambdaEnvironment } from '../support/lambda-env';
import { runStateMachine } from '../support/local-run';
import { useSandbox } from '../support/sandbox';

const ACCOUNTS = 12;

/** What EnsureOrganizationTrail returned in the execution (its ResultPath, $.organizationTrail). */
function organizationTrailStep(outcome: LocalRunOutcome): unknown {
  for (const event of outcome.execution.events) {
    if (event.type === 'StateExited' && event.state.name === 'EnsureOrganizationTrail')
      return (event.state.output as { organizationTrail?: unknown }).organizationTrail;
  }
  return undefined;
}

/** Each worked account's trail step, by account id. */
function trailSteps(report: RunReport): Map<string, unknown> {
  return new Map(
    report.accounts.filter((a) => a.outcome === 'SUCCEEDED').map((a) => [a.accountId, a.steps.trail]),
  );
}

describe('the state machine in trail mode organization', () => {
  const sandbox = useSandbox({
    scenario: {
      ...defaultScenario({ accounts: ACCOUNTS }),
      organization: { trustedServices: ['cloudtrail.amazonaws.com'] },
    },
    stackParameters: { trailMode: 'organization' },
  });
  const trailArn = () =>
    `arn:aws:cloudtrail:us-east-1:${sandbox().stack.accountId}:trail/casbridge-organization`;
  const cloudTrailWrites = (mark: number) =>
    sandbox()
      .world.callLog.list({ sinceSeq: mark, service: 'cloudtrail' })
      .filter((c) => !c.readOnly && c.outcome === 'ok');
  let planned: Map<string, unknown>;

  beforeAll(async () => {
    await setLambdaEnvironment(sandbox());
  });

  it('plans one organization trail, and every account covered by it, in a dry run that writes no trail', async () => {
    const mark = sandbox().world.callLog.mark();
    const outcome = await runStateMachine(sandbox(), { mode: 'onboard', dryRun: true });
    expect(organizationTrailStep(outcome)).toEqual({
      action: 'created',
      reason: 'dry-run',
      details: { trailArn: trailArn() },
    });
    planned = trailSteps(outcome.report!);
    expect(planned.size).toBeGreaterThan(ACCOUNTS / 2);
    for (const step of planned.values())
      expect(step).toEqual({
        action: 'skipped',
        reason: 'covered-by-organization-trail',
        details: { coveredBy: trailArn(), coveredByLogFileValidation: true },
      });
    expect(cloudTrailWrites(mark)).toEqual([]);
  });

  it('creates the organization trail once, before the accounts, and no account a trail of its own', async () => {
    const mark = sandbox().world.callLog.mark();
    const outcome = await runStateMachine(sandbox(), { mode: 'onboard' });
    expect(organizationTrailStep(outcome)).toEqual({ action: 'created', details: { trailArn: trailArn() } });
    // One trail for the whole organization, from the management account: one CreateTrail.
    expect(cloudTrailWrites(mark).map((c) => [c.account, c.operation])).toEqual([
      [sandbox().stack.accountId, 'CreateTrail'],
      [sandbox().stack.accountId, 'StartLogging'],
    ]);
    const started = cloudTrailWrites(mark)[1]?.seq ?? 0;
    const firstMemberCall = sandbox()
      .world.callLog.list({ sinceSeq: mark })
      .find((c) => c.account !== undefined && c.account !== sandbox().stack.accountId);
    expect(firstMemberCall?.seq).toBeGreaterThan(started);
    // The report names the covering trail for every account, as the dry run planned it.
    const steps = trailSteps(outcome.report!);
    expect([...steps.keys()].sort()).toEqual([...planned.keys()].sort());
    for (const [accountId, step] of steps)
      expect({ accountId, step }).toEqual({ accountId, step: planned.get(accountId) });
  });

  it('reconciles with reads only: the organization trail unchanged, every account still covered by it', async () => {
    const mark = sandbox().world.callLog.mark();
    const outcome = await runStateMachine(sandbox(), { mode: 'reconcile' });
    expect(organizationTrailStep(outcome)).toEqual({
      action: 'unchanged',
      details: { trailArn: trailArn() },
    });
    for (const step of trailSteps(outcome.report!).values())
      expect(step).toMatchObject({ action: 'skipped', details: { coveredBy: trailArn() } });
    expect(cloudTrailWrites(mark)).toEqual([]);
  });
});
