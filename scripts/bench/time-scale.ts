import {
  ConfiguredRetryStrategy,
  MAXIMUM_RETRY_DELAY,
  THROTTLING_RETRY_DELAY_BASE,
} from '@smithy/core/retry';
import type { RetryStrategyV2 } from '@smithy/types';

/**
 * The SDK's retries K times slower, for `--time-scale K`: its full-jitter exponential backoff
 * (throttling's base of 500 ms, the 20 s cap), each wait ×K. Against a bucket that refills K times
 * slower, the same attempts then span the same modelled time they do on AWS, and give up no
 * sooner; each client keeps the attempts it asks for (commons/aws-clients.ts retryConfig). (`@smithy/core`, which the AWS SDK uses, is a dev dependency pinned to the SDK's version.)
 */
export function scaledRetryStrategy(
  k: number,
  random: () => number = Math.random,
): (maxAttempts: number) => RetryStrategyV2 {
  return (maxAttempts) =>
    new ConfiguredRetryStrategy(maxAttempts, (attempt) => scaledBackoffMs(k, attempt, random()));
}

/** The wait before retry `attempt` (from 1) at time scale `k`, for a uniform draw `u` in [0, 1). */
export function scaledBackoffMs(k: number, attempt: number, u: number): number {
  return k * Math.floor(Math.min(MAXIMUM_RETRY_DELAY, u * 2 ** attempt * THROTTLING_RETRY_DELAY_BASE));
}

/** The definition's own clocks: a Retry's waits, a state's timeouts, a Wait state's seconds. */
const SCALED_SECONDS = new Set([
  'IntervalSeconds',
  'MaxDelaySeconds',
  'TimeoutSeconds',
  'HeartbeatSeconds',
  'Seconds',
]);

/**
 * The state machine with every duration it states K times longer (rounded up to whole seconds, as
 * ASL wants them): a Retry's IntervalSeconds and MaxDelaySeconds (its backoff and FULL jitter are
 * kept), TimeoutSeconds, HeartbeatSeconds, a Wait's Seconds. At time scale K the definition's
 * Retry then spans the modelled time it spans on AWS; unscaled, an account throttled past the
 * SDK's attempts would run out of the Retry's six attempts K times sooner.
 */
export function scaleDefinition<D>(definition: D, k: number): D {
  if (k === 1) return definition;
  const walk = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(walk);
    if (value === null || typeof value !== 'object') return value;
    return Object.fromEntries(
      Object.entries(value).map(([key, v]) => [
        key,
        SCALED_SECONDS.has(key) && typeof v === 'number' ? Math.ceil(v * k) : walk(v),
      ]),
    );
  };
  return walk(definition) as D;
}
