import type { PerformanceModel } from '../../sandbox/core/performance-model';

/**
 * What the deployed system adds to the AWS calls the sandbox's performance model times: Lambda
 * (an invocation's overhead, a new execution environment's cold start, the scaling rule, the
 * account's concurrency) and Step Functions (the state-transition and execution-start token
 * buckets). Figures from ../shared/reference/lifecycle-and-scale.md §4 (us-east-1, Standard);
 * where AWS publishes nothing, the basis says "assumption". Every figure here is at time scale 1:
 * `scaleDeployedModel` slows it as `--time-scale` asks.
 */
export interface Figure {
  value: number;
  unit: string;
  basis: string;
}

export interface BucketFigure {
  perSecond: number;
  burst: number;
  basis: string;
}

export interface DeployedModel {
  /** Every latency here is multiplied by it, every rate divided (1: as AWS would run). */
  timeScale: number;
  lambda: {
    invokeOverheadMs: Figure;
    environmentSetupMs: Figure;
    /** Per function (serverless.yml's names): the bundle's module initialisation. */
    initMs: Record<string, Figure>;
    /** New execution environments per function: 1,000 per 10 s, refilled continuously. */
    scaling: BucketFigure;
    accountConcurrency: Figure;
    memoryMb: Record<string, number>;
  };
  stepFunctions: {
    transitions: BucketFigure;
    executionStarts: BucketFigure;
  };
}

/** Where the init figures come from when `npm run package` was skipped. */
const ASSUMED_INIT_MS = 100;

export function deployedModel(options: {
  functions: readonly string[];
  memoryMb: Record<string, number>;
  /** Measured init per function (`npm run package`, a fresh Node process per run), if measured. */
  measuredInitMs?: Record<string, number>;
  initRuns?: number;
}): DeployedModel {
  const initMs = Object.fromEntries(
    options.functions.map((fn) => {
      const measured = options.measuredInitMs?.[fn];
      return [
        fn,
        measured === undefined
          ? {
              value: ASSUMED_INIT_MS,
              unit: 'ms',
              basis:
                'assumption: not measured in this bench (--skip-package); docs/performance.md measured 75–109 ms',
            }
          : {
              value: measured,
              unit: 'ms',
              basis: `measured: require of the packaged bundle in a fresh Node process on this host, median of ${options.initRuns ?? 1}`,
            },
      ];
    }),
  );
  return {
    timeScale: 1,
    lambda: {
      invokeOverheadMs: {
        value: 20,
        unit: 'ms',
        basis:
          'assumption: AWS publishes no Step Functions → Lambda invoke overhead (lifecycle-and-scale.md §4.2: none retrieved)',
      },
      environmentSetupMs: {
        value: 150,
        unit: 'ms',
        basis:
          "assumption: AWS publishes no cold-start figure; the new environment's setup before the bundle's init",
      },
      initMs,
      scaling: {
        perSecond: 100,
        burst: 1000,
        basis:
          'AWS: 1,000 new execution environments per 10 s per function, refilled continuously, beyond that 429 (Lambda scaling behavior, §4.2)',
      },
      accountConcurrency: {
        value: 1000,
        unit: 'environments',
        basis: 'AWS: default concurrency 1,000 per account and Region (§4.2)',
      },
      memoryMb: options.memoryMb,
    },
    stepFunctions: {
      transitions: {
        perSecond: 1500,
        burst: 5000,
        basis:
          'AWS quota: StateTransition, Standard, us-east-1: bucket 5,000, refill 1,500/s (§4.1, archived copy; new accounts start lower)',
      },
      executionStarts: {
        perSecond: 300,
        burst: 1300,
        basis:
          "AWS quota: StartExecution, Standard, us-east-1: bucket 1,300, refill 300/s (§4.1); that a Distributed Map's child executions draw on it: assumption (§4.1's inference, AWS publishes no child start rate)",
      },
    },
  };
}

/** The model slowed K times, as `scalePerformanceModel` slows the sandbox's: latencies ×K, rates ÷K, bursts kept. */
export function scaleDeployedModel(model: DeployedModel, k: number): DeployedModel {
  if (!(k > 0) || !Number.isFinite(k)) throw new RangeError(`time scale must be a positive number, not ${k}`);
  const ms = (f: Figure): Figure => ({ ...f, value: f.value * k });
  const rate = (b: BucketFigure): BucketFigure => ({ ...b, perSecond: b.perSecond / k });
  return {
    timeScale: model.timeScale * k,
    lambda: {
      ...model.lambda,
      invokeOverheadMs: ms(model.lambda.invokeOverheadMs),
      environmentSetupMs: ms(model.lambda.environmentSetupMs),
      initMs: Object.fromEntries(Object.entries(model.lambda.initMs).map(([fn, f]) => [fn, ms(f)])),
      scaling: rate(model.lambda.scaling),
    },
    stepFunctions: {
      transitions: rate(model.stepFunctions.transitions),
      executionStarts: rate(model.stepFunctions.executionStarts),
    },
  };
}

/** A new environment's cold start for `fn`: its setup, then its bundle's init. */
export function coldStartMs(model: DeployedModel, fn: string): number {
  return model.lambda.environmentSetupMs.value + (model.lambda.initMs[fn]?.value ?? 0);
}

/** Every parameter the bench runs with, with its basis: what the results print and keep. */
export function modelParameters(
  deployed: DeployedModel,
  performance: PerformanceModel,
): { parameter: string; value: string; basis: string }[] {
  // Printed at time scale 1, whatever the model's own: the bases are AWS's figures.
  const k = deployed.timeScale;
  const rows: { parameter: string; value: string; basis: string }[] = [];
  const { lambda, stepFunctions } = deployed;
  rows.push(
    {
      parameter: 'Lambda invoke overhead',
      value: `${lambda.invokeOverheadMs.value / k} ms`,
      basis: lambda.invokeOverheadMs.basis,
    },
    {
      parameter: 'Lambda environment setup (cold start, before init)',
      value: `${lambda.environmentSetupMs.value / k} ms`,
      basis: lambda.environmentSetupMs.basis,
    },
  );
  const inits = Object.entries(lambda.initMs);
  if (inits.length > 0) {
    const values = inits.map(([, f]) => f.value / k);
    rows.push({
      parameter: 'Lambda init per function (cold start)',
      value: `${Math.min(...values).toFixed(0)}–${Math.max(...values).toFixed(0)} ms`,
      basis: inits[0]?.[1].basis ?? '',
    });
  }
  const bucket = (name: string, b: BucketFigure, unit: string) =>
    rows.push({
      parameter: name,
      value: `${b.perSecond * k}/s, burst ${b.burst} ${unit}`,
      basis: b.basis,
    });
  bucket('Lambda scaling, per function', lambda.scaling, 'environments');
  rows.push({
    parameter: 'Lambda concurrency, per account',
    value: `${lambda.accountConcurrency.value} ${lambda.accountConcurrency.unit}`,
    basis: lambda.accountConcurrency.basis,
  });
  bucket('Step Functions state transitions', stepFunctions.transitions, 'transitions');
  bucket('Step Functions execution starts (child executions)', stepFunctions.executionStarts, 'starts');
  for (const [service, rates] of Object.entries(performance.rates)) {
    for (const kind of ['read', 'write'] as const) {
      const spec = rates[kind];
      if (spec.pool && kind === 'write') continue;
      rows.push({
        parameter: `${service} ${spec.pool ? 'all calls' : `${kind}s`}, ${spec.scope === 'region' ? 'per Region' : 'per account and Region'}`,
        value: `${+(spec.perSecond * k).toFixed(2)}/s, burst ${spec.burst}`,
        basis: spec.basis,
      });
    }
  }
  for (const [service, l] of Object.entries(performance.latency)) {
    rows.push({
      parameter: `${service} latency`,
      value: `${l.meanMs / k} ± ${l.jitterMs / k} ms`,
      basis: 'assumption: AWS publishes no latency',
    });
  }
  return rows;
}
