import { defaultAccountId } from '../../sandbox/scenario/default-scenario';
import { setLambdaEnvironment } from '../support/lambda-env';
import { accountInput, loadPipeline, OFFBOARD_STEPS } from '../support/pipeline';
import { useSandbox } from '../support/sandbox';

/**
 * A stack deployed with `fallbackRoleName`: serverless.yml's HasFallbackRole then grants every
 * function that reaches a member account the fallback role too, and only then.
 */
describe('a stack deployed with the fallback role', () => {
  const sandbox = useSandbox({
    accounts: 4,
    stackParameters: { fallbackRoleName: 'OrganizationAccountAccessRole' },
  });

  beforeAll(() => {
    setLambdaEnvironment(sandbox());
  });

  it('onboards and offboards an account without the member role through it, flagged over-privileged', async () => {
    // Account 1 is healthy and was created by Organizations: it has OrganizationAccountAccessRole.
    const id = defaultAccountId(1);
    sandbox().world.accounts.get(id)!.iam.roles.delete('casbridgeexecutionrole');
    const onboard = await loadPipeline(sandbox());
    const result = await onboard.run(accountInput(sandbox(), id, 'run-fallback'));
    expect(result).toMatchObject({
      outcome: 'SUCCEEDED',
      connector: 'AWAITING_CONNECTION',
      steps: { access: { reason: 'over-privileged-fallback-role', details: { overPrivileged: true } } },
    });
    // Every function assumed the fallback itself, as its own role.
    const assumedBy = sandbox()
      .world.callLog.list({ operation: 'AssumeRole', outcome: 'ok' })
      .map((c) => c.callerArn?.split('/')[1]);
    expect(new Set(assumedBy)).toEqual(
      new Set([
        'casbridge-dev-access',
        'casbridge-dev-user',
        'casbridge-dev-policy',
        'casbridge-dev-accessKey',
        'casbridge-dev-trail',
        'casbridge-dev-verify',
      ]),
    );

    const offboard = await loadPipeline(sandbox(), OFFBOARD_STEPS);
    const gone = await offboard.run(accountInput(sandbox(), id, 'run-fallback-off', { mode: 'offboard' }));
    expect(gone).toMatchObject({ outcome: 'SUCCEEDED', connector: 'RETIRED' });
  });
});
