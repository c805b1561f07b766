import type { RunReport } from '../../commons/run';
import { accountState } from '../../sandbox/core/world';
import { defaultAccountId, defaultFaultLabel } from '../../sandbox/scenario/default-scenario';
import { setLambdaEnvironment } from '../support/lambda-env';
import { runStateMachine } from '../support/local-run';
import { operatorLedger } from '../support/operator-ledger';
import { useSandbox } from '../support/sandbox';

const READ_ONLY = 'arn:aws:iam::aws:policy/ReadOnlyAccess';

describe('a retry-failed run through the state machine', () => {
  const sandbox = useSandbox({ accounts: 12 });
  const indexOf = (label: string) =>
    [...Array(12).keys()].map((i) => i + 1).find((i) => defaultFaultLabel(i) === label)!;
  const offboarded = defaultAccountId(indexOf('healthy'));
  const foreign = defaultAccountId(indexOf('foreign-user'));
  const account = (report: RunReport | undefined, id: string) =>
    report?.accounts.find((a) => a.accountId === id);
  const connectorUser = (id: string) => accountState(sandbox().world, id).iam.users.get('cloudappsecurity');
  // The ledger as the status command reads it: the sandbox's default (operator) credentials.
  const ledger = () => operatorLedger(sandbox());

  beforeAll(async () => {
    await setLambdaEnvironment(sandbox());
  });

  it('retries a blocked offboarding as an offboarding, never re-onboarding the account, and a failed onboarding as an onboarding', async () => {
    const onboard = await runStateMachine(sandbox(), { mode: 'onboard', accounts: [offboarded, foreign] });
    expect(account(onboard.report, offboarded)).toMatchObject({ outcome: 'SUCCEEDED' });
    expect(account(onboard.report, foreign)?.error).toMatchObject({
      name: 'ForeignUserConflict',
      step: 'user',
    });

    // Someone attached an AWS managed policy to the connector user: casbridge must not detach it.
    connectorUser(offboarded)?.attachedPolicyArns.push(READ_ONLY);
    const blocked = await runStateMachine(sandbox(), { mode: 'offboard', accounts: [offboarded] });
    expect(account(blocked.report, offboarded)).toMatchObject({
      outcome: 'FAILED',
      error: {
        name: 'OffboardingBlocked',
        step: 'offboard',
        remediation: expect.stringContaining('start a retry-failed run: it offboards the account again'),
      },
    });
    expect(await ledger().get(offboarded)).toMatchObject({ lastOutcome: 'FAILED', lastMode: 'offboard' });

    // The operator does what each remediation says: detaches the policy, moves the foreign user.
    const user = connectorUser(offboarded);
    if (user) user.attachedPolicyArns = user.attachedPolicyArns.filter((arn) => arn !== READ_ONLY);
    accountState(sandbox().world, foreign).iam.users.delete('cloudappsecurity');

    const retry = await runStateMachine(sandbox(), { mode: 'retry-failed' });
    expect(retry.report?.mode).toBe('retry-failed');
    const retriedOffboarding = account(retry.report, offboarded);
    expect(retriedOffboarding).toMatchObject({ outcome: 'SUCCEEDED', connector: 'RETIRED' });
    // Only the offboard step ran: no access, user, key or hand-off step onboarded it again.
    expect(Object.keys(retriedOffboarding?.steps ?? {})).toEqual(['offboard']);
    expect(connectorUser(offboarded)).toBeUndefined();
    expect(await ledger().get(offboarded)).toMatchObject({ connector: 'RETIRED', lastMode: 'offboard' });

    expect(account(retry.report, foreign)).toMatchObject({
      outcome: 'SUCCEEDED',
      connector: 'AWAITING_CONNECTION',
      steps: {
        user: { action: 'created' },
        accessKey: { action: 'created' },
        register: { action: 'created' },
      },
    });
    expect(connectorUser(foreign)?.path).toBe('/casbridge/');
    // Nothing else had failed: every other account is listed as passed over.
    const worked = retry.report?.accounts.filter((a) => a.outcome !== 'SKIPPED').map((a) => a.accountId);
    expect(worked?.sort()).toEqual([offboarded, foreign].sort());
  });
});
