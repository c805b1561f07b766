import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { defaultScenario } from '../../sandbox/scenario/default-scenario';
import { parseScenario } from '../../sandbox/scenario/scenario';
import { seedWorld } from '../../sandbox/scenario/seed';
import { useSandbox } from '../support/sandbox';

describe('the sandbox core', () => {
  const sandbox = useSandbox({ accounts: 3 });
  const mgmt = () => sandbox().stack.accountId;

  it('logs every call with caller, account, service, operation and outcome', async () => {
    const mark = sandbox().world.callLog.mark();
    await new STSClient(sandbox().clientConfig()).send(new GetCallerIdentityCommand({}));
    expect(sandbox().world.callLog.list({ sinceSeq: mark })).toEqual([
      expect.objectContaining({
        service: 'sts',
        operation: 'GetCallerIdentity',
        account: mgmt(),
        callerArn: sandbox().admin.arn,
        readOnly: true,
        outcome: 'ok',
        status: 200,
      }),
    ]);
  });

  it('serves the call log and a state dump over HTTP, with secrets redacted', async () => {
    const calls = (await (await fetch(`${sandbox().endpoint}/_sandbox/calls?service=sts`)).json()) as {
      operation: string;
    }[];
    expect(calls.length).toBeGreaterThan(0);
    const state = await (await fetch(`${sandbox().endpoint}/_sandbox/state`)).text();
    expect(JSON.parse(state)).toHaveProperty('organization.id', sandbox().world.organization.id);
    expect(state).not.toContain(sandbox().admin.secretAccessKey);
  });

  it('fails an injected error for exactly the next K calls, and the SDK retries a 5xx', async () => {
    sandbox().world.faults.inject(mgmt(), {
      service: 'sts',
      operation: 'GetCallerIdentity',
      code: 'InternalFailure',
      status: 500,
      remaining: 2,
    });
    const mark = sandbox().world.callLog.mark();
    await new STSClient(sandbox().clientConfig()).send(new GetCallerIdentityCommand({}));
    const outcomes = sandbox()
      .world.callLog.list({ sinceSeq: mark })
      .map((c) => c.errorCode ?? c.outcome);
    expect(outcomes).toEqual(['InternalFailure', 'InternalFailure', 'ok']);
  });

  it('throttles with the protocol code, and the SDK gives up after its attempts', async () => {
    sandbox().world.faults.forAccount(mgmt()).throttle = { sts: 1 };
    try {
      const mark = sandbox().world.callLog.mark();
      const sts = new STSClient({ ...sandbox().clientConfig(), maxAttempts: 2, retryMode: 'standard' });
      await expect(sts.send(new GetCallerIdentityCommand({}))).rejects.toMatchObject({
        name: 'Throttling',
        $metadata: { attempts: 2 },
      });
      expect(sandbox().world.callLog.list({ sinceSeq: mark, outcome: 'error' })).toHaveLength(2);
    } finally {
      sandbox().world.faults.forAccount(mgmt()).throttle = {};
    }
  });

  it('holds the next K calls of an operation until released, and serves them then', async () => {
    const order: string[] = [];
    sandbox().world.faults.hold(mgmt(), {
      service: 'sts',
      operation: 'GetCallerIdentity',
      remaining: 1,
      hold: async () => {
        order.push('held');
        // Another call of the same operation meanwhile: the hold was for one call only.
        await new STSClient(sandbox().clientConfig()).send(new GetCallerIdentityCommand({}));
        order.push('meanwhile served');
      },
    });
    await new STSClient(sandbox().clientConfig()).send(new GetCallerIdentityCommand({}));
    order.push('held call served');
    expect(order).toEqual(['held', 'meanwhile served', 'held call served']);
  });

  it("moves the sandbox's clock by an account's per-service call latency, without waiting", async () => {
    const faults = sandbox().world.faults.forAccount(mgmt());
    faults.clockLatencyMs = { sts: 600_000 };
    try {
      const before = sandbox().world.clock.nowMs();
      await new STSClient(sandbox().clientConfig()).send(new GetCallerIdentityCommand({}));
      await new STSClient(sandbox().clientConfig()).send(new GetCallerIdentityCommand({}));
      expect(sandbox().world.clock.nowMs() - before).toBeGreaterThanOrEqual(1_200_000);
    } finally {
      delete faults.clockLatencyMs;
    }
  });

  it('refuses a request without a signature', async () => {
    const response = await fetch(sandbox().endpoint, { method: 'POST', body: 'Action=GetCallerIdentity' });
    expect(response.status).toBe(403);
  });
});

describe('scenarios', () => {
  it('seed the same organization, ids and keys for the same seed', () => {
    const scenario = parseScenario(defaultScenario({ accounts: 10 }));
    const a = seedWorld(scenario);
    const b = seedWorld(scenario);
    expect(a.world.organization.id).toBe(b.world.organization.id);
    expect([...a.world.organization.ous.keys()]).toEqual([...b.world.organization.ous.keys()]);
    expect(a.admin.accessKeyId).toBe(b.admin.accessKeyId);
  });

  it('reject an unknown field with a message naming it', () => {
    expect(() => parseScenario({ accounts: [], colour: 'blue' })).toThrow(/Invalid sandbox scenario.*colour/);
  });

  it('give invited accounts no OrganizationAccountAccessRole, as AWS does', () => {
    const { world } = seedWorld(
      parseScenario({
        accounts: [
          { id: '111111111111', name: 'made' },
          { id: '222222222222', name: 'invited', joinedMethod: 'INVITED' },
        ],
      }),
    );
    expect(world.accounts.get('111111111111')?.iam.roles.has('organizationaccountaccessrole')).toBe(true);
    expect(world.accounts.get('222222222222')?.iam.roles.has('organizationaccountaccessrole')).toBe(false);
    expect(world.accounts.get('222222222222')?.iam.roles.has('casbridgeexecutionrole')).toBe(true);
  });
});
