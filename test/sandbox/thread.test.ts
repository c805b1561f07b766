import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { type SandboxThread, startSandboxThread } from '../../sandbox/thread';

describe('a sandbox in a worker thread', () => {
  let sandbox: SandboxThread | undefined;
  const thread = () => {
    if (!sandbox) throw new Error('the sandbox thread did not start');
    return sandbox;
  };
  beforeAll(async () => {
    sandbox = await startSandboxThread({ accounts: 3, performanceModel: true });
  });
  afterAll(async () => {
    await sandbox?.close();
  });

  it('serves the unchanged SDK, and its call log is readable from the starting thread', async () => {
    // Prepare
    const mark = thread().markCalls();
    // Act
    const identity = await new STSClient(thread().clientConfig()).send(new GetCallerIdentityCommand({}));
    // Assess: the mark moves as soon as the call is answered, as world.callLog.mark() does in-process.
    expect(identity.Arn).toBe(thread().admin.arn);
    expect(thread().markCalls()).toBe(mark + 1);
    expect(await thread().listCalls({ sinceSeq: mark })).toEqual([
      expect.objectContaining({
        seq: mark + 1,
        service: 'sts',
        operation: 'GetCallerIdentity',
        account: thread().stack.accountId,
        outcome: 'ok',
      }),
    ]);
  });

  it('reports the heap of its own thread', async () => {
    // Act
    const heapUsed = await thread().heapUsed();
    // Assess
    expect(heapUsed).toBeGreaterThan(1024 * 1024);
  });

  it('hands over the seeded organization and the performance model', () => {
    // Assess
    expect(thread().organization.accounts.size).toBe(4);
    expect(thread().organization.accounts.get(thread().stack.accountId)?.name).toBe('management');
    expect(thread().performanceModel?.rates.secretsmanager?.write.perSecond).toBe(50);
  });
});

describe('starting a sandbox thread', () => {
  it('fails with the reason when the scenario is invalid', async () => {
    // Act / Assess
    await expect(
      startSandboxThread({ scenario: { accounts: [{ id: 'not-an-id', name: 'x' }] } }),
    ).rejects.toThrow(/12 digits/);
  });
});
