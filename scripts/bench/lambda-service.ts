import type { Context } from 'aws-lambda';
import { FUNCTION_HANDLERS, type LambdaHandler } from '../../statemachine/local/handlers';
import type { EventLog } from '../../statemachine/local/run-local';
import { coldStartMs, type DeployedModel } from './deployed-model';
import { RUN_WIDE_TASKS, type RunWideTask } from './footprint';
import { functionTimeouts } from './serverless-functions';
import { TokenBucket } from './token-bucket';

/** The framework's default timeout, for a function serverless.yml does not list. */
const DEFAULT_TIMEOUT_SECONDS = 6;

interface Container {
  /** Lambda gives each execution environment its own log stream: the runtime is kept by it. */
  logStreamName: string;
  invocations: number;
}

interface FunctionState {
  /** Idle environments, the longest idle first. */
  idle: Container[];
  created: number;
  scaling: TokenBucket;
  throttled: number;
  invocations: number;
}

export interface LambdaFigures {
  byFunction: Record<string, { invocations: number; environments: number; throttled: number }>;
  environments: number;
  coldStarts: number;
  peakConcurrency: number;
  throttled: number;
  transitionsCharged: number;
  executionStartsCharged: number;
  /** Milliseconds tasks waited, summed, for a Step Functions token (a throttled transition or start). */
  stepFunctionsWaitMs: number;
}

/**
 * Lambda and Step Functions as the local run meets them when deployed: every Task invocation goes
 * to an execution environment of its function — an idle one if there is one, else a new one,
 * which pays a cold start (setup, then the bundle's init) and is allowed only as the scaling rule
 * refills (beyond it the invocation fails with `Lambda.TooManyRequestsException`, which the
 * definition's Retry takes, as on AWS). Each environment has its own casbridge runtime (clients,
 * member-role sessions: commons/runtime.ts, keyed by the invocation's `logStreamName`), so the
 * AssumeRoles the sandbox logs are those AWS would see. Idle environments are taken the longest
 * idle first (assumption: AWS documents no order), so an account's next invocation of the same
 * function rarely finds its own session.
 *
 * Step Functions: every state entered takes a transition token, every child execution (an
 * account's first state in the map) a start token; a task waits while either bucket is in debt
 * (a throttled transition is delayed, not failed).
 */
export class DeployedLambda {
  private readonly functions = new Map<string, FunctionState>();
  private readonly transitions: TokenBucket;
  private readonly starts: TokenBucket;
  private readonly seenItems = new Set<string>();
  private inFlight = 0;
  private figures = { peak: 0, transitions: 0, starts: 0, waitMs: 0 };
  private readonly timeouts = functionTimeouts();

  constructor(
    private readonly model: DeployedModel,
    private readonly now: () => number = () => performance.now(),
  ) {
    const t = model.stepFunctions;
    this.transitions = new TokenBucket(t.transitions.perSecond, t.transitions.burst, now());
    this.starts = new TokenBucket(t.executionStarts.perSecond, t.executionStarts.burst, now());
  }

  /**
   * Replaces every handler the local runner binds (FUNCTION_HANDLERS) with one invoked through
   * this model, until the returned function puts them back. The runner looks handlers up there at
   * each run, so the bench's runs go through `executeRunLocally` unchanged.
   */
  /** ResolveTargets' and WriteReport's last input and wall time, to replay them alone (./footprint.ts). */
  readonly runWide = new Map<RunWideTask, { input: unknown; durationMs: number }>();

  install(): () => void {
    const handlers = FUNCTION_HANDLERS as Record<string, LambdaHandler>;
    const originals = { ...handlers };
    for (const [name, handler] of Object.entries(originals)) handlers[name] = this.wrap(name, handler);
    return () => Object.assign(handlers, originals);
  }

  /** The execution's event stream (`onEvent`): each state entered or retried takes its tokens. */
  onEvent(execution: string, event: EventLog): void {
    if (event.type !== 'StateEntered' && event.type !== 'StateRetried') return;
    // The local adaptation's stand-in for the ItemReader: no state on AWS.
    if (event.state.name === 'LoadTargets') return;
    const now = this.now();
    this.transitions.reserve(now);
    this.figures.transitions++;
    if (event.type === 'StateEntered' && event.index !== undefined) {
      const item = `${execution}/${event.index}`;
      if (!this.seenItems.has(item)) {
        this.seenItems.add(item);
        this.starts.reserve(now);
        this.figures.starts++;
      }
    }
  }

  result(): LambdaFigures {
    const byFunction = Object.fromEntries(
      [...this.functions].map(([name, f]) => [
        name,
        { invocations: f.invocations, environments: f.created, throttled: f.throttled },
      ]),
    );
    const all = [...this.functions.values()];
    const environments = all.reduce((n, f) => n + f.created, 0);
    return {
      byFunction,
      environments,
      coldStarts: environments,
      peakConcurrency: this.figures.peak,
      throttled: all.reduce((n, f) => n + f.throttled, 0),
      transitionsCharged: this.figures.transitions,
      executionStartsCharged: this.figures.starts,
      stepFunctionsWaitMs: Math.round(this.figures.waitMs),
    };
  }

  /** `handler` invoked as `name` would be when deployed (what `install` puts in its place). */
  wrap(name: string, handler: LambdaHandler): LambdaHandler {
    return async (event, context) => {
      const waitMs = Math.max(this.transitions.waitMs(this.now()), this.starts.waitMs(this.now()));
      if (waitMs > 0) {
        this.figures.waitMs += waitMs;
        await sleep(waitMs);
      }
      const fn = this.state(name);
      const { container, cold } = this.environment(name, fn);
      this.inFlight++;
      this.figures.peak = Math.max(this.figures.peak, this.inFlight);
      fn.invocations++;
      try {
        await sleep(this.model.lambda.invokeOverheadMs.value + (cold ? coldStartMs(this.model, name) : 0));
        const started = performance.now();
        // The function's own timeout in modelled time (middy ends a handler that outlives it):
        // the local runner's context knows no function's timeout, nor the time scale.
        const deadline =
          started + (this.timeouts[name] ?? DEFAULT_TIMEOUT_SECONDS) * 1000 * this.model.timeScale;
        const output = await handler(event, {
          ...context,
          logStreamName: container.logStreamName,
          getRemainingTimeInMillis: () => Math.max(0, Math.round(deadline - performance.now())),
        } as Context);
        if ((RUN_WIDE_TASKS as readonly string[]).includes(name))
          this.runWide.set(name as RunWideTask, { input: event, durationMs: performance.now() - started });
        return output;
      } finally {
        this.inFlight--;
        container.invocations++;
        fn.idle.push(container);
      }
    };
  }

  private environment(name: string, fn: FunctionState): { container: Container; cold: boolean } {
    // The account's concurrency holds every invocation, warm or cold; the scaling rule new ones.
    if (this.inFlight >= this.model.lambda.accountConcurrency.value) {
      fn.throttled++;
      throw tooManyRequests(name);
    }
    const idle = fn.idle.shift();
    if (idle) return { container: idle, cold: false };
    if (!fn.scaling.tryTake(this.now())) {
      fn.throttled++;
      throw tooManyRequests(name);
    }
    fn.created++;
    return {
      container: { logStreamName: `bench/[$LATEST]${name}-${fn.created}`, invocations: 0 },
      cold: true,
    };
  }

  private state(name: string): FunctionState {
    let fn = this.functions.get(name);
    if (!fn) {
      const { perSecond, burst } = this.model.lambda.scaling;
      fn = {
        idle: [],
        created: 0,
        scaling: new TokenBucket(perSecond, burst, this.now()),
        throttled: 0,
        invocations: 0,
      };
      this.functions.set(name, fn);
    }
    return fn;
  }
}

/** What Step Functions reports when Lambda refuses an invocation for its scaling or concurrency. */
function tooManyRequests(name: string): Error {
  const error = new Error(
    `Rate exceeded: ${name} cannot scale faster (Lambda's scaling rule or concurrency)`,
  );
  error.name = 'Lambda.TooManyRequestsException';
  return error;
}

function sleep(ms: number): Promise<void> {
  return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
}
