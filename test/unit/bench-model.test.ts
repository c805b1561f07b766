import type { Context } from 'aws-lambda';
import { pause, spaceCloudTrailWrites, usePauseScale } from '../../commons/pause';
import type { CallRecord } from '../../sandbox/core/call-log';
import {
  DEFAULT_PERFORMANCE_MODEL,
  type PerformanceModel,
  scalePerformanceModel,
} from '../../sandbox/core/performance-model';
import { type DeployedModel, deployedModel, scaleDeployedModel } from '../../scripts/bench/deployed-model';
import { type BoundInput, idealBound, listingChain, pagesFor } from '../../scripts/bench/ideal-bound';
import { DeployedLambda } from '../../scripts/bench/lambda-service';
import { scaleDefinition, scaledBackoffMs } from '../../scripts/bench/time-scale';
import { bucketDrainMs, TokenBucket } from '../../scripts/bench/token-bucket';
import { loadDefinition } from '../../statemachine/local/definition';
import type { EventLog } from '../../statemachine/local/run-local';

const CENTRAL = '999988887777';

function call(service: string, operation: string, account: string, readOnly: boolean, seq = 0): CallRecord {
  return {
    seq,
    time: '',
    requestId: '',
    service,
    operation,
    region: 'us-east-1',
    account,
    readOnly,
    outcome: 'ok',
    status: 200,
    durationMs: 0,
  };
}

function model(overrides: Partial<DeployedModel['lambda']> = {}): DeployedModel {
  const base = deployedModel({
    functions: ['access', 'user', 'resolveTargets', 'organizationTrail', 'writeReport'],
    memoryMb: {},
    measuredInitMs: { access: 80, user: 70, resolveTargets: 100, organizationTrail: 90, writeReport: 100 },
  });
  return { ...base, lambda: { ...base.lambda, ...overrides } };
}

/** A model without any wait of its own: what the Lambda tests step through on a clock they move. */
function instantModel(scaling: { perSecond: number; burst: number }): DeployedModel {
  const zero = { value: 0, unit: 'ms', basis: 'test' };
  return model({
    invokeOverheadMs: zero,
    environmentSetupMs: zero,
    initMs: { access: zero },
    scaling: { ...scaling, basis: 'test' },
    // Above the scaling rule's burst, so that the rule alone refuses.
    accountConcurrency: { value: 10_000, unit: 'environments', basis: 'test' },
  });
}

function entered(name: string, index?: number): EventLog {
  return {
    type: 'StateEntered',
    state: { name, type: 'Task' },
    ...(index === undefined ? {} : { index }),
  } as unknown as EventLog;
}

describe('the token bucket', () => {
  it('refuses a take when empty and refills at its rate', () => {
    const bucket = new TokenBucket(10, 2, 0);
    expect([bucket.tryTake(0), bucket.tryTake(0), bucket.tryTake(0)]).toEqual([true, true, false]);
    expect(bucket.tryTake(50)).toBe(false);
    expect(bucket.tryTake(100)).toBe(true);
  });

  it('queues reservations beyond the burst, each waiting for its own token in turn', () => {
    const bucket = new TokenBucket(100, 3, 0);
    const waits = Array.from({ length: 6 }, () => bucket.reserve(0));
    expect(waits).toEqual([0, 0, 0, 10, 20, 30]);
    expect(bucket.waitMs(30)).toBe(0);
  });

  it('drains the burst at once and the rest at the rate', () => {
    expect(bucketDrainMs(1000, 50, 50)).toBe(19_000);
    expect(bucketDrainMs(40, 50, 50)).toBe(0);
  });
});

describe("the deployed Lambda's scaling rule", () => {
  it('creates at most the burst of new environments at once, then refuses with TooManyRequests until it refills', async () => {
    let now = 0;
    const lambda = new DeployedLambda(instantModel({ perSecond: 100, burst: 1000 }), () => now);
    const release: (() => void)[] = [];
    const hold = lambda.wrap(
      'access',
      () => new Promise((resolve) => release.push(() => resolve(undefined))),
    );
    const context = { functionName: 'casbridge-dev-access' } as Context;
    const running = Array.from({ length: 1000 }, () => hold(undefined as never, context));
    await new Promise((resolve) => setImmediate(resolve));
    await expect(hold(undefined as never, context)).rejects.toMatchObject({
      name: 'Lambda.TooManyRequestsException',
    });
    now = 1000;
    const more = Array.from({ length: 100 }, () => hold(undefined as never, context));
    await new Promise((resolve) => setImmediate(resolve));
    await expect(hold(undefined as never, context)).rejects.toMatchObject({
      name: 'Lambda.TooManyRequestsException',
    });
    for (const r of release) r();
    await Promise.all([...running, ...more]);
    expect(lambda.result().byFunction.access).toEqual({
      invocations: 1100,
      environments: 1100,
      throttled: 2,
    });
  });

  it('serves a later invocation from an idle environment, with that environment’s own log stream', async () => {
    const lambda = new DeployedLambda(instantModel({ perSecond: 1, burst: 1 }), () => 0);
    const streams: string[] = [];
    const handler = lambda.wrap('access', async (_event, context) => {
      streams.push(context.logStreamName);
      return undefined;
    });
    const context = { functionName: 'casbridge-dev-access' } as Context;
    await handler(undefined as never, context);
    await handler(undefined as never, context);
    expect(streams).toHaveLength(2);
    expect(streams[1]).toBe(streams[0]);
    expect(lambda.result().environments).toBe(1);
  });
});

describe("the deployed Lambda's account concurrency", () => {
  it('refuses an invocation beyond the concurrent environments the account may run, warm or not', async () => {
    const zero = { value: 0, unit: 'ms', basis: 'test' };
    const lambda = new DeployedLambda(
      model({
        invokeOverheadMs: zero,
        environmentSetupMs: zero,
        initMs: {},
        accountConcurrency: { value: 2, unit: 'environments', basis: 'test' },
      }),
      () => 0,
    );
    const release: (() => void)[] = [];
    const hold = lambda.wrap('user', () => new Promise((resolve) => release.push(() => resolve(undefined))));
    const context = { functionName: 'casbridge-dev-user' } as Context;
    const running = [hold(undefined as never, context), hold(undefined as never, context)];
    await new Promise((resolve) => setImmediate(resolve));
    await expect(hold(undefined as never, context)).rejects.toMatchObject({
      name: 'Lambda.TooManyRequestsException',
    });
    for (const r of release) r();
    await Promise.all(running);
  });
});

describe("the deployed Step Functions' buckets", () => {
  it('charges a transition for every state entered and a child execution start once per map item', () => {
    const lambda = new DeployedLambda(model(), () => 0);
    lambda.onEvent('run', entered('ResolveTargets'));
    lambda.onEvent('run', entered('LoadTargets'));
    for (const index of [0, 1, 2]) {
      lambda.onEvent('run', entered('CheckAccount', index));
      lambda.onEvent('run', entered('Checked', index));
    }
    const figures = lambda.result();
    expect(figures.transitionsCharged).toBe(7);
    expect(figures.executionStartsCharged).toBe(3);
  });
});

describe('the listing chain', () => {
  it('pages as the sandbox does: 20 to a page, an empty page at every third position', () => {
    expect([0, 1, 20, 21, 40, 41, 1000].map((n) => pagesFor(n))).toEqual([1, 1, 1, 3, 3, 4, 75]);
    expect(pagesFor(1000, false)).toBe(50);
  });

  it("is the longest single parent's chain of pages, not the sum over parents", () => {
    const org = {
      rootId: 'r-1',
      ous: [
        { id: 'ou-a', parentId: 'r-1' },
        { id: 'ou-b', parentId: 'r-1' },
      ],
      accounts: [
        ...Array.from({ length: 1000 }, () => ({ parentId: 'ou-a' })),
        ...Array.from({ length: 400 }, () => ({ parentId: 'ou-b' })),
        { parentId: 'r-1' },
      ],
    };
    // DescribeOrganization and ListRoots, the root's one page of OUs, then ou-a's 75 pages.
    expect(listingChain(org)).toEqual({ pages: 2 + 1 + 75, parent: 'ou-a' });
  });
});

describe('the ideal bound', () => {
  const account = '300000000001';
  const base = (performance: PerformanceModel, deployed: DeployedModel): BoundInput => ({
    model: performance,
    deployed,
    phaseCalls: Array.from({ length: 1000 }, (_, i) =>
      call('secretsmanager', 'CreateSecret', CENTRAL, false, i),
    ),
    sequences: [
      {
        calls: [
          call('sts', 'AssumeRole', CENTRAL, true),
          call('iam', 'CreateUser', account, false),
          call('cloudtrail', 'CreateTrail', account, false),
          call('cloudtrail', 'StartLogging', account, false),
        ],
        functions: ['access', 'user'],
      },
    ],
    centralAccount: CENTRAL,
    organization: {
      rootId: 'r-1',
      ous: [],
      accounts: Array.from({ length: 20 }, () => ({ parentId: 'r-1' })),
    },
    transitions: 11_000,
    childExecutions: 1000,
    environments: { access: 150 },
  });

  it("adds the listing chain and the run's own tasks to the larger of the critical path and the busiest bucket", () => {
    const deployed = model();
    const bound = idealBound(base(DEFAULT_PERFORMANCE_MODEL, deployed));
    expect(bound.bindingConstraint).toBe('secretsmanager:write');
    expect(bound.mapMs).toBe(19_000);
    const task = (init: number) => 20 + 150 + init;
    expect(bound.listingChainMs).toBe(3 * 90);
    expect(bound.beforeMapMs).toBe(3 * 90 + task(100) + task(90));
    expect(bound.afterMapMs).toBe(task(100));
    expect(bound.boundMs).toBe(bound.beforeMapMs + 19_000 + bound.afterMapMs);
    // The account's path: its calls' latencies, CloudTrail's 1 write/s between its two writes, two
    // invocations' overhead and the first one's cold start.
    expect(bound.criticalPathMs).toBe(45 + 70 + 80 + (1000 - 80) + 80 + 2 * 20 + 150 + 80);
  });

  it('takes exactly K times as long at time scale K', () => {
    const k = 7;
    const at1 = idealBound(base(DEFAULT_PERFORMANCE_MODEL, model()));
    const atK = idealBound(
      base(scalePerformanceModel(DEFAULT_PERFORMANCE_MODEL, k), scaleDeployedModel(model(), k)),
    );
    for (const figure of ['boundMs', 'criticalPathMs', 'mapMs', 'beforeMapMs', 'afterMapMs'] as const)
      expect(atK[figure]).toBeCloseTo(at1[figure] * k, 0);
    expect(atK.bindingConstraint).toBe(at1.bindingConstraint);
  });
});

describe('the time scale', () => {
  it('slows every modelled latency K times and divides every modelled rate by K, bursts kept', () => {
    const scaled = scalePerformanceModel(DEFAULT_PERFORMANCE_MODEL, 4);
    expect(scaled.latency.iam).toEqual({ meanMs: 280, jitterMs: 120 });
    expect(scaled.rates.sts?.read).toMatchObject({ perSecond: 150, burst: 600 });
    expect(scaled.rates.secretsmanager?.write).toMatchObject({ perSecond: 12.5, burst: 50 });
    const deployed = scaleDeployedModel(model(), 4);
    expect(deployed.timeScale).toBe(4);
    expect(deployed.lambda.invokeOverheadMs.value).toBe(80);
    expect(deployed.lambda.initMs.access?.value).toBe(320);
    expect(deployed.lambda.scaling).toMatchObject({ perSecond: 25, burst: 1000 });
    expect(deployed.stepFunctions.transitions).toMatchObject({ perSecond: 375, burst: 5000 });
    expect(deployed.stepFunctions.executionStarts).toMatchObject({ perSecond: 75, burst: 1300 });
  });

  it("waits K times the SDK's own backoff before each retry, its cap included", () => {
    expect(scaledBackoffMs(1, 1, 0.5)).toBe(500);
    expect(scaledBackoffMs(10, 1, 0.5)).toBe(5000);
    expect(scaledBackoffMs(10, 2, 0.5)).toBe(10_000);
    expect(scaledBackoffMs(3, 10, 0.99)).toBe(3 * 20_000);
  });

  it("stretches the definition's Retry waits and timeouts K times, its backoff and jitter kept", () => {
    const definition = loadDefinition();
    const scaled = scaleDefinition(definition, 8);
    const retry = (d: typeof definition) =>
      (d.States.ResolveTargets as unknown as { Retry: Record<string, unknown>[] }).Retry[1];
    expect(retry(scaled)).toMatchObject({
      IntervalSeconds: 16,
      MaxDelaySeconds: 480,
      BackoffRate: 2,
      MaxAttempts: 6,
      JitterStrategy: 'FULL',
    });
    expect(scaled.States.ResolveTargets?.TimeoutSeconds).toBe(2400);
    expect(scaleDefinition(definition, 1)).toBe(definition);
  });

  it("stretches casbridge's own waits K times, CloudTrail's write spacing among them, and only while registered", async () => {
    jest.useFakeTimers();
    try {
      const settledAfter = async (wait: () => Promise<void>) => {
        let done = false;
        const waiting = wait().then(() => {
          done = true;
        });
        let ms = 0;
        while (!done) {
          await jest.advanceTimersByTimeAsync(500);
          ms += 500;
        }
        await waiting;
        return ms;
      };
      expect(await settledAfter(spaceCloudTrailWrites)).toBe(1000);
      usePauseScale(8);
      expect(await settledAfter(spaceCloudTrailWrites)).toBe(8000);
      expect(await settledAfter(() => pause(250))).toBe(2000);
      usePauseScale(undefined);
      expect(await settledAfter(spaceCloudTrailWrites)).toBe(1000);
    } finally {
      usePauseScale(undefined);
      jest.useRealTimers();
    }
  });

  it('refuses a scale that is not a positive number', () => {
    expect(() => scalePerformanceModel(DEFAULT_PERFORMANCE_MODEL, 0)).toThrow(RangeError);
    expect(() => scaleDeployedModel(model(), Number.NaN)).toThrow(RangeError);
  });
});

describe('STS in the performance model', () => {
  it('is one bucket of 600 calls a second for every operation, as AWS publishes', () => {
    const sts = DEFAULT_PERFORMANCE_MODEL.rates.sts;
    expect(sts?.read).toMatchObject({ perSecond: 600, pool: 'all' });
    expect(sts?.write).toMatchObject({ perSecond: 600, pool: 'all' });
  });
});
