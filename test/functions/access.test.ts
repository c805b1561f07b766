import { STSClient } from '@aws-sdk/client-sts';
import { CredentialCache, clientConfig } from '../../commons/aws-clients';
import type { TargetAccount } from '../../commons/step-result';
import { ensureAccess } from '../../functions/access/ensure-access';
import type { Sandbox } from '../../sandbox';
import { defaultAccountId } from '../../sandbox/scenario/default-scenario';
import { functionRoleSettings, sandboxConfig } from '../support/product';
import { useSandbox } from '../support/sandbox';

function target(sandbox: Sandbox, index: number): TargetAccount {
  const account = sandbox.world.organization.accounts.get(defaultAccountId(index))!;
  return {
    accountId: account.id,
    name: account.name,
    ou: '',
    state: account.state,
    joinedMethod: account.joinedMethod,
    joinedTimestamp: account.joinedTimestamp.toISOString(),
  };
}

describe('the access step', () => {
  const sandbox = useSandbox({ accounts: 40 });

  async function deps(overrides: Record<string, string> = {}) {
    const settings = await functionRoleSettings(sandbox(), 'access');
    return {
      sts: new STSClient(clientConfig(settings)),
      cache: new CredentialCache(() => sandbox().world.clock.nowMs()),
      config: sandboxConfig(sandbox(), overrides),
      now: () => sandbox().world.clock.nowMs(),
    };
  }

  it('assumes the member role with the ExternalId and changes nothing', async () => {
    const { session, result } = await ensureAccess(await deps(), target(sandbox(), 1), 'run-1');
    expect(session.roleName).toBe('CasBridgeExecutionRole');
    expect(result).toEqual({
      action: 'unchanged',
      details: { role: 'CasBridgeExecutionRole', overPrivileged: false },
    });
  });

  it('assumes each account role once per run, from the cache afterwards', async () => {
    const d = await deps();
    const mark = sandbox().world.callLog.mark();
    await ensureAccess(d, target(sandbox(), 2), 'run-1');
    await ensureAccess(d, target(sandbox(), 2), 'run-1');
    expect(sandbox().world.callLog.list({ sinceSeq: mark, operation: 'AssumeRole' })).toHaveLength(1);
  });

  it('fails an invited account without the role as RoleMissing, naming the StackSet', async () => {
    await expect(ensureAccess(await deps(), target(sandbox(), 7), 'run-1')).rejects.toMatchObject({
      name: 'RoleMissing',
      retryable: false,
      step: 'access',
      remediation: expect.stringMatching(/StackSet.*invited/),
    });
  });

  it('reports a fresh account whose role is not assumable yet as RoleNotReady, then succeeds once it is', async () => {
    const d = await deps();
    await expect(ensureAccess(d, target(sandbox(), 23), 'run-1')).rejects.toMatchObject({
      name: 'RoleNotReady',
      retryable: true,
    });
    sandbox().world.clock.advance(31_000);
    await expect(ensureAccess(d, target(sandbox(), 23), 'run-1')).resolves.toHaveProperty(
      'result.action',
      'unchanged',
    );
  });

  it('uses the configured fallback role and flags it as over-privileged', async () => {
    sandbox().world.accounts.get(defaultAccountId(5))!.iam.roles.delete('casbridgeexecutionrole');
    // Configured only in the function's environment, the access role may not assume the fallback.
    const unpermitted = await deps({ CASBRIDGE_FALLBACK_ROLE_NAME: 'OrganizationAccountAccessRole' });
    await expect(ensureAccess(unpermitted, target(sandbox(), 5), 'run-1')).rejects.toMatchObject({
      name: 'RoleMissing',
    });
    // Deployed with the stack parameter, the role is granted it too (serverless.yml's HasFallbackRole).
    const d = await deps(sandbox().deployStack({ fallbackRoleName: 'OrganizationAccountAccessRole' }));
    const { result } = await ensureAccess(d, target(sandbox(), 5), 'run-1');
    expect(result).toEqual({
      action: 'unchanged',
      reason: 'over-privileged-fallback-role',
      details: { role: 'OrganizationAccountAccessRole', overPrivileged: true },
    });
  });
});
