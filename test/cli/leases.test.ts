import { spawn } from 'node:child_process';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { Ledger, type LedgerItem } from '../../commons/ledger';
import { runPrefix } from '../../commons/run';
import { defaultAccountId } from '../../sandbox/scenario/default-scenario';
import { stepFunctionsState } from '../../sandbox/services/step-functions/executions';
import { BIN, ROOT, runCasbridge, sandboxExports, spawnCasbridge } from '../support/cli-sandbox';
import { useSandbox } from '../support/sandbox';

/**
 * Leases as the operator meets them: `run --local` interrupted by SIGINT or SIGTERM releases its
 * leases; a SIGKILLed run cannot, so the next run skips its accounts until `casbridge unlock`
 * releases them; `status` shows who holds a lease and until when. Every command is a separate
 * process against the sandbox, as an operator runs it; member accounts answer slowly (the
 * sandbox's per-account latency) while a run is to be caught in the middle.
 */
const INTERRUPTED = [defaultAccountId(1), defaultAccountId(2), defaultAccountId(4)];
const KILLED = defaultAccountId(5);
const RUNNING_ELSEWHERE = defaultAccountId(6);
const SEEDED = defaultAccountId(8);
const ABANDONED = [defaultAccountId(9), defaultAccountId(10)];
const SLOW_MS = 250;

describe('leases from the operator side', () => {
  const sandbox = useSandbox({ accounts: 10 });

  /** `casbridge sandbox`'s exports, each function run as its own role by the sandbox. */
  const env = (): Record<string, string> => ({
    ...sandboxExports(sandbox()),
    CASBRIDGE_LOCAL_LAMBDA_ENDPOINT: sandbox().endpoint,
  });
  const casbridge = (args: string[]) => runCasbridge(args, env());

  const doc = () => DynamoDBDocumentClient.from(new DynamoDBClient(sandbox().clientConfig()));
  const ledger = () => new Ledger(doc(), sandbox().stack.ledgerTable);
  const heldLeases = async () => (await ledger().list()).filter((item) => item.leaseOwner);

  const slowDown = (accounts: readonly string[], ms: number) => {
    for (const id of accounts) sandbox().world.faults.forAccount(id).latencyMs = ms;
  };

  /** Polls until `check` returns something: the run has reached the point the test waits for. */
  async function eventually<T>(check: () => Promise<T | undefined>, what: string): Promise<T> {
    for (let attempt = 0; attempt < 600; attempt++) {
      const found = await check();
      if (found !== undefined) return found;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`waited in vain for ${what}`);
  }

  /** A lease as a deployed execution would have left it. */
  async function seedLease(
    accountId: string,
    lease: Pick<LedgerItem, 'leaseOwner' | 'leaseRunId' | 'leaseExpiresAt'>,
  ) {
    const at = new Date().toISOString();
    await doc().send(
      new UpdateCommand({
        TableName: sandbox().stack.ledgerTable,
        Key: { accountId },
        UpdateExpression:
          'SET leaseOwner = :owner, leaseRunId = :runId, leaseExpiresAt = :expires, connector = if_not_exists(connector, :connector), createdAt = if_not_exists(createdAt, :at), updatedAt = :at',
        ExpressionAttributeValues: {
          ':owner': lease.leaseOwner,
          ':runId': lease.leaseRunId,
          ':expires': lease.leaseExpiresAt,
          ':connector': 'NOT_REGISTERED',
          ':at': at,
        },
      }),
    );
  }

  /**
   * `casbridge <args>` on a terminal (util-linux `script` gives it a pseudo-terminal), the person
   * at it typing `typed`: what it wrote there, CRLF line ends and the echoed answer included.
   */
  async function atTerminal(args: string[], typed: string): Promise<{ code: number; output: string }> {
    const command = [process.execPath, BIN, ...args].map((word) => `'${word}'`).join(' ');
    const shell = Object.fromEntries(
      Object.entries(process.env).filter(([name]) => !/^(AWS_|CASBRIDGE_)/.test(name)),
    );
    const child = spawn('script', ['-qec', command, '/dev/null'], {
      cwd: ROOT,
      env: { ...shell, NO_COLOR: '1', ...env() },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    child.stdin.end(typed);
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
    });
    const code = await new Promise<number>((resolve) => child.on('close', (exit) => resolve(exit ?? -1)));
    return { code, output: output.replace(/\r\n/g, '\n') };
  }

  afterEach(() => {
    slowDown([...INTERRUPTED, KILLED, RUNNING_ELSEWHERE, ...ABANDONED, sandbox().stack.accountId], 0);
  });

  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)(
    '%s mid-run stops the run, releases its leases, says so and exits %i',
    async (signal, exitCode) => {
      slowDown(INTERRUPTED, SLOW_MS);
      const run = spawnCasbridge(
        ['run', '--local', '--mode', 'onboard', '--accounts', INTERRUPTED.join(',')],
        env(),
      );
      const held = await eventually(async () => {
        const leases = await heldLeases();
        return leases.length > 0 ? leases : undefined;
      }, 'the run to hold a lease');

      run.kill(signal);
      const result = await run.exited;

      expect(result.code).toBe(exitCode);
      expect(result.stdout).toBe('');
      const lines = result.stderr.trim().split('\n');
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatch(
        new RegExp(
          `^casbridge: ${signal}: stopping run \\S+ \\(execution local-\\S+\\); it releases its leases once the tasks in flight return \\(${signal} again exits at once\\)\\.$`,
        ),
      );
      const done = new RegExp(
        `^casbridge: run (\\S+) \\(execution (local-\\S+)\\) was interrupted by ${signal}, its report not written: released (\\d+) leases? \\(([\\d, ]+)\\)\\.$`,
      ).exec(lines[1] ?? '');
      expect(done).not.toBeNull();
      const [, runId, , count, accounts] = done as RegExpExecArray;
      const released = (accounts as string).split(', ');
      expect(released).toHaveLength(Number(count));
      // Its own accounts (a task in flight may have released its lease itself), and none is left.
      expect(held.length).toBeGreaterThan(0);
      expect(INTERRUPTED).toEqual(expect.arrayContaining(released));
      expect(await heldLeases()).toEqual([]);
      await expect(
        new S3Client(sandbox().clientConfig()).send(
          new HeadObjectCommand({
            Bucket: sandbox().stack.reportsBucket,
            Key: `${runPrefix(runId as string)}report.json`,
          }),
        ),
      ).rejects.toMatchObject({ name: 'NotFound' });
    },
  );

  it('a second SIGINT exits at once, saying the leases stay until they expire or casbridge unlock', async () => {
    // The release's read of the ledger (its Scan for this execution's leases) is held until the
    // test lets it go, so the second signal arrives while the first one's release waits, however
    // fast or loaded the machine.
    let letGo: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      letGo = resolve;
    });
    const run = spawnCasbridge(
      ['run', '--local', '--mode', 'onboard', '--accounts', ABANDONED.join(',')],
      env(),
    );
    try {
      await eventually(
        async () => ((await heldLeases()).length > 0 ? true : undefined),
        'the run to hold a lease',
      );
      sandbox().world.faults.hold(sandbox().stack.accountId, {
        service: 'dynamodb',
        operation: 'Scan',
        remaining: 1,
        hold: () => held,
      });
      run.kill('SIGINT');
      await eventually(async () => (run.stderr().includes('stopping') ? true : undefined), 'the run to stop');
      run.kill('SIGINT');
      const result = await run.exited;

      expect(result.code).toBe(130);
      const lines = result.stderr.trim().split('\n');
      expect(lines).toHaveLength(2);
      expect(lines[1]).toMatch(
        /^casbridge: SIGINT again: exiting now; the leases of run \S+ \(execution local-\S+\) may stay until they expire or `casbridge unlock ACCOUNT` releases them\.$/,
      );
    } finally {
      letGo();
    }
    const left = await heldLeases();
    expect(left.length).toBeGreaterThan(0);
    for (const item of left) expect((await casbridge(['unlock', item.accountId, '--yes'])).code).toBe(0);
    expect(await heldLeases()).toEqual([]);
  });

  it('a killed run keeps its lease: the next run skips the account naming the holder until casbridge unlock releases it', async () => {
    // Prepare: an onboard run killed while it works on the account, which cannot release anything.
    slowDown([KILLED], SLOW_MS);
    const killed = spawnCasbridge(['run', '--local', '--mode', 'onboard', '--accounts', KILLED], env());
    const lease = await eventually(async () => {
      const item = await ledger().get(KILLED);
      return item?.leaseOwner ? item : undefined;
    }, 'the run to take the lease');
    killed.kill('SIGKILL');
    expect((await killed.exited).signal).toBe('SIGKILL');
    slowDown([KILLED], 0);
    const token = lease.leaseOwner as string;

    // Act and assess: the next run skips it and says who holds it.
    const skipped = await casbridge(['run', '--local', '--mode', 'onboard', '--accounts', KILLED]);
    expect(skipped.code).toBe(0);
    expect(skipped.stdout).toMatch(new RegExp(`^${KILLED} .*SKIPPED.*lease-held-by-another-run$`, 'm'));
    expect(skipped.stdout).toContain('Skipped, another run holds the lease:\n');
    expect(skipped.stdout).toMatch(
      new RegExp(`^ {2}${KILLED} held by run .*${token}.* until .*\\(in \\d+ min\\)$`, 'm'),
    );
    expect(skipped.stdout).toContain('`casbridge unlock ACCOUNT` releases its lease');

    const status = await casbridge(['status', KILLED, '--json']);
    expect(status.code).toBe(0);
    const [account] = (JSON.parse(status.stdout) as { accounts: { lease: { expiresInSeconds: number } }[] })
      .accounts;
    expect(account?.lease).toEqual({
      runId: lease.leaseRunId ?? null,
      token,
      expiresAt: new Date(lease.leaseExpiresAt as number).toISOString(),
      expiresInSeconds: expect.any(Number),
      expired: false,
    });
    const expiresIn = account?.lease.expiresInSeconds;
    expect(expiresIn).toBeGreaterThan(0);
    expect(expiresIn).toBeLessThanOrEqual(900);
    const table = await casbridge(['status', '--account', KILLED]);
    expect(table.stdout).toMatch(
      new RegExp(`^Lease: held by run .*${token}.* until \\S+ \\S+Z \\(in \\d+ min\\)$`, 'm'),
    );
    const all = await casbridge(['status']);
    expect(all.stdout).toMatch(
      new RegExp(
        `^Leases held .*:\n {2}${KILLED} run ${lease.leaseRunId ?? token}, expires in \\d+ min$`,
        'm',
      ),
    );

    // Not without a confirmation: a pipe is not a terminal.
    const unconfirmed = await casbridge(['unlock', KILLED]);
    expect(unconfirmed.code).toBe(1);
    expect(unconfirmed.stderr.trim().split('\n')).toHaveLength(1);
    expect(unconfirmed.stderr).toContain('without confirmation: run this on a terminal, or add --yes.');
    expect(unconfirmed.stderr).toContain('casbridge cannot check whether that process is still running');
    expect((await ledger().get(KILLED))?.leaseOwner).toBe(token);

    const unlocked = await casbridge(['unlock', KILLED, '--yes']);
    expect([unlocked.code, unlocked.stderr]).toEqual([0, '']);
    expect(unlocked.stdout).toContain(`Released the lease of account ${KILLED} held by run `);
    expect(unlocked.stdout).toContain(`Recorded in the ledger: unlocked by ${sandbox().admin.arn} at `);
    expect(unlocked.stdout).toContain(`a local run (\`casbridge run --local\`, execution ${token})`);
    const after = await ledger().get(KILLED);
    expect(after).toMatchObject({
      leaseOwner: null,
      leaseExpiresAt: null,
      unlockedBy: sandbox().admin.arn,
      unlockedLeaseOwner: token,
      unlockedLeaseRunId: lease.leaseRunId ?? null,
    });
    expect(Date.now() - Date.parse(after?.unlockedAt as string)).toBeLessThan(60_000);
    const unlockedStatus = await casbridge(['status', KILLED]);
    expect(unlockedStatus.stdout).toMatch(/^Lease: none$/m);
    expect(unlockedStatus.stdout).toMatch(
      new RegExp(`^Last unlocked by ${sandbox().admin.arn} at \\S+ \\(run .*${token}.*\\)$`, 'm'),
    );

    // The next run works the account.
    const next = await casbridge(['run', '--local', '--mode', 'onboard', '--accounts', KILLED]);
    expect(next.code).toBe(0);
    expect(next.stdout).toMatch(new RegExp(`^${KILLED} .*SUCCEEDED`, 'm'));
    expect(next.stdout).not.toContain('another run holds the lease');
    expect((await ledger().get(KILLED))?.leaseOwner).toBeNull();

    const nothing = await casbridge(['unlock', KILLED, '--yes']);
    expect(nothing.code).toBe(1);
    expect(nothing.stderr).toBe(`casbridge: Account ${KILLED} holds no lease: there is nothing to unlock.\n`);
  }, 180_000);

  it('unlock refuses while the holding execution is RUNNING unless forced, and releases an ended or vanished one', async () => {
    // Prepare: a deployed execution working slowly on another account, RUNNING for minutes.
    slowDown([RUNNING_ELSEWHERE], 5_000);
    const { executionArn } = await new SFNClient(sandbox().clientConfig()).send(
      new StartExecutionCommand({
        stateMachineArn: sandbox().stack.stateMachineArn,
        name: 'still-running',
        input: JSON.stringify({ mode: 'onboard', accounts: [RUNNING_ELSEWHERE] }),
      }),
    );
    const execution = stepFunctionsState(sandbox().world).executions.get(executionArn as string);
    const expires = Date.now() + 900_000;
    await seedLease(SEEDED, {
      leaseOwner: executionArn,
      leaseRunId: 'onboard-20990101T000000-held01',
      leaseExpiresAt: expires,
    });

    const refused = await casbridge(['unlock', SEEDED, '--yes']);
    expect(execution?.status).toBe('RUNNING');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      `The lease is held by the execution ${executionArn}, which is still RUNNING`,
    );
    expect(refused.stderr).toContain(
      `stop it first (\`aws stepfunctions stop-execution --execution-arn ${executionArn}\`)`,
    );
    expect((await ledger().get(SEEDED))?.leaseOwner).toBe(executionArn);

    const forced = await casbridge(['unlock', SEEDED, '--yes', '--force']);
    expect([forced.code, forced.stderr]).toEqual([0, '']);
    expect(forced.stdout).toContain(`held by run onboard-20990101T000000-held01 (token ${executionArn})`);
    expect(forced.stdout).toContain('is still RUNNING: --force releases its lease anyway.');
    expect(await ledger().get(SEEDED)).toMatchObject({
      leaseOwner: null,
      unlockedLeaseRunId: 'onboard-20990101T000000-held01',
    });

    // Once the execution has ended, its lease is released without --force.
    slowDown([RUNNING_ELSEWHERE], 0);
    await execution?.finished;
    await seedLease(SEEDED, {
      leaseOwner: executionArn,
      leaseRunId: 'onboard-20990101T000000-held01',
      leaseExpiresAt: expires,
    });
    const ended = await casbridge(['unlock', SEEDED, '--yes']);
    expect([ended.code, ended.stderr]).toEqual([0, '']);
    expect(ended.stdout).toMatch(
      new RegExp(
        `The execution ${executionArn} ended ${execution?.status} at \\S+: it can no longer release the lease\\.`,
      ),
    );

    const vanished = executionArn!.replace(/still-running$/, 'long-gone');
    await seedLease(SEEDED, { leaseOwner: vanished, leaseRunId: null, leaseExpiresAt: expires });
    const gone = await casbridge(['unlock', SEEDED, '--yes']);
    expect([gone.code, gone.stderr]).toEqual([0, '']);
    expect(gone.stdout).toContain(`The execution ${vanished} no longer exists in Step Functions`);
  }, 180_000);

  it('an expired lease shows as free and leaves nothing to unlock', async () => {
    const expiredAt = Date.now() - 120_000;
    await seedLease(SEEDED, {
      leaseOwner: 'local-2099-01-01T00-00-00-000Z',
      leaseRunId: 'onboard-20990101T000000-gone01',
      leaseExpiresAt: expiredAt,
    });
    const status = await casbridge(['status', SEEDED]);
    expect(status.stdout).toMatch(
      /^Lease: expired \S+ \S+Z \(\d+ min ago\), last held by run onboard-20990101T000000-gone01 \(token local-2099-01-01T00-00-00-000Z\): free, the next run takes it$/m,
    );
    const json = await casbridge(['status', SEEDED, '--json']);
    expect((JSON.parse(json.stdout) as { accounts: { lease: unknown }[] }).accounts[0]?.lease).toMatchObject({
      expired: true,
      expiresAt: new Date(expiredAt).toISOString(),
    });
    const all = await casbridge(['status']);
    expect(all.stdout).not.toMatch(new RegExp(`^ {2}${SEEDED} run `, 'm'));

    const unlock = await casbridge(['unlock', SEEDED, '--yes']);
    expect(unlock.code).toBe(1);
    expect(unlock.stderr).toMatch(
      new RegExp(
        `^casbridge: The lease of account ${SEEDED} is expired .*: there is nothing to unlock\\.\n$`,
      ),
    );
    expect((await ledger().get(SEEDED))?.leaseOwner).toBe('local-2099-01-01T00-00-00-000Z');
  });

  it('unlock on a terminal says what it would release and asks, releasing only on yes', async () => {
    const token = 'local-2099-01-01T00-00-01-000Z';
    await seedLease(SEEDED, {
      leaseOwner: token,
      leaseRunId: 'onboard-20990101T000001-asked1',
      leaseExpiresAt: Date.now() + 900_000,
    });
    const prompt = new RegExp(
      `cannot check whether that process is still running, so make sure it is not\\.\nRelease the lease of account ${SEEDED}, held by run onboard-20990101T000001-asked1 \\(token ${token}\\) until \\S+ \\S+Z \\(in \\d+ min\\)\\? \\[y/N\\] `,
    );

    const declined = await atTerminal(['unlock', SEEDED], 'n\n');
    expect(declined.code).toBe(1);
    expect(declined.output).toMatch(prompt);
    expect(declined.output).toContain('casbridge: Nothing was unlocked.\n');
    expect((await ledger().get(SEEDED))?.leaseOwner).toBe(token);

    const accepted = await atTerminal(['unlock', SEEDED], 'y\n');
    expect(accepted.code).toBe(0);
    expect(accepted.output).toMatch(prompt);
    expect(accepted.output).toContain(
      `Released the lease of account ${SEEDED} held by run onboard-20990101T000001-asked1`,
    );
    expect(await ledger().get(SEEDED)).toMatchObject({ leaseOwner: null, unlockedLeaseOwner: token });
  }, 120_000);

  it('the unlock write releases only the lease the operator saw, not one a new run took since', async () => {
    await seedLease(SEEDED, {
      leaseOwner: 'local-new-run',
      leaseRunId: 'reconcile-20990101T000000-new001',
      leaseExpiresAt: Date.now() + 900_000,
    });
    const result = await ledger().unlockLease(SEEDED, 'local-2099-01-01T00-00-00-000Z', sandbox().admin.arn);
    expect(result.unlocked).toBe(false);
    expect(result.item).toMatchObject({
      leaseOwner: 'local-new-run',
      leaseRunId: 'reconcile-20990101T000000-new001',
    });
  });
});
