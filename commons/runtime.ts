import type { AwsCredentialIdentityProvider, RetryStrategyV2 } from '@smithy/types';
import type { ClientSettings } from './aws-clients';
import { type Config, getConfig } from './config';

/**
 * What a task runs with, one per function and process (a Lambda cold start; locally, one per
 * function of the stack): the configuration, and the settings every AWS client is built with.
 * The clients themselves come from commons/clients/, one module per service, each built on first
 * use and kept for the runtime's life: a function imports only the clients it calls, so its
 * bundle holds (and its cold start loads) only those SDK clients.
 */
export interface Runtime {
  readonly config: Config;
  readonly settings: ClientSettings;
  /**
   * Epoch milliseconds as the functions see them: the machine's clock, or the registered one
   * (useFunctionClock). What leases and cached member-role sessions are timed by.
   */
  readonly now: () => number;
}

export function createRuntime(config: Config, settings: ClientSettings): Runtime {
  return Object.freeze({ config, settings, now: (globalThis as WithSource)[CLOCK] ?? Date.now });
}

/**
 * Where a function's credentials come from when no Lambda service hands them over: the local
 * runner registers one for the functions it runs (each as its own role, as deployed), by the
 * function name its Lambda context carries. Unregistered (in Lambda), or `undefined` for a
 * function: the SDK's default chain, which in Lambda finds the function's role in the environment.
 */
export type FunctionCredentialSource = (functionName: string) => AwsCredentialIdentityProvider | undefined;

/**
 * Kept on the global object, not in this module: each bundled function carries its own copy of
 * this module, and a local run of the bundles (test/stack) must reach them all, as the one Lambda
 * service reaches every function.
 */
const SOURCE = Symbol.for('casbridge.functionCredentialSource');
const CLOCK = Symbol.for('casbridge.functionClock');
const RETRIES = Symbol.for('casbridge.clientRetryStrategy');
type WithSource = {
  [SOURCE]?: FunctionCredentialSource;
  [CLOCK]?: () => number;
  [RETRIES]?: (maxAttempts: number) => RetryStrategyV2;
};

/** Registers (or, with `undefined`, removes) the source of every function's credentials. */
export function useFunctionCredentials(source: FunctionCredentialSource | undefined): void {
  (globalThis as WithSource)[SOURCE] = source;
  resetRuntime();
}

/**
 * Registers (or, with `undefined`, removes) the clock the functions read time from. The sandbox
 * stands in for Lambda when the functions run in its process, and its clock is the world's time
 * (tests move it by hours instead of waiting): a lease taken by one function and checked by the
 * next must be timed by that clock, as every AWS resource the sandbox serves is. Unregistered (in
 * Lambda), the machine's clock.
 */
export function useFunctionClock(clock: (() => number) | undefined): void {
  (globalThis as WithSource)[CLOCK] = clock;
  resetRuntime();
}

/**
 * Registers (or, with `undefined`, removes) the retry strategy every runtime's clients are built
 * with, one per client: the benchmark's `--time-scale K` slows the modelled AWS K times, and the
 * SDK's backoff must slow with it, or its retries would give up K times sooner against the same
 * throttling. Unregistered (in Lambda, in tests), the SDK's standard retries.
 */
export function useClientRetryStrategy(build: ((maxAttempts: number) => RetryStrategyV2) | undefined): void {
  (globalThis as WithSource)[RETRIES] = build;
  resetRuntime();
}

const cached = new Map<string, Runtime>();

/**
 * The function's runtime: configuration from the environment (the stack gives every function
 * the same), credentials from the registered source for `functionName`, else the default chain.
 * In Lambda a process runs one function, so there is one; locally, one per function, so no
 * function ever calls AWS with another's role or reuses another's member-role sessions.
 * `container` (the invocation's `logStreamName`: Lambda gives each execution environment its own
 * stream) keeps one runtime per emulated container when a local run models several per function,
 * as the benchmark does; in Lambda it is the same for every invocation of the process.
 */
export function getRuntime(functionName = '', container = ''): Runtime {
  const key = container ? `${functionName}\n${container}` : functionName;
  let runtime = cached.get(key);
  if (!runtime) {
    const config = getConfig();
    const credentials = (globalThis as WithSource)[SOURCE]?.(functionName);
    const newRetryStrategy = (globalThis as WithSource)[RETRIES];
    runtime = createRuntime(config, {
      region: config.region,
      ...(credentials ? { credentials } : {}),
      ...(newRetryStrategy ? { newRetryStrategy } : {}),
    });
    cached.set(key, runtime);
  }
  return runtime;
}

/**
 * Drops every runtime: the next task builds a new one, with new clients and no cached
 * member-role sessions, as a new Lambda container would. For local runs that stand for a later
 * day's run (the benchmark's reconcile), never for Lambda itself.
 */
export function resetRuntime(): void {
  cached.clear();
}

/**
 * One value per runtime, built by `build` on first use: a warm Lambda reuses its clients (and
 * their connections) across invocations, while a test's or the CLI's own runtime gets its own.
 */
export function perRuntime<T>(build: (runtime: Runtime) => T): (runtime: Runtime) => T {
  const built = new WeakMap<Runtime, T>();
  return (runtime) => {
    let value = built.get(runtime);
    if (value === undefined) {
      value = build(runtime);
      built.set(runtime, value);
    }
    return value;
  };
}
