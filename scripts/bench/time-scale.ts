import {
  ConfiguredRetryStrategy,
  MAXIMUM_RETRY_DELAY,
  THROTTLING_RETRY_DELAY_BASE,
} from '@smithy/core/retry';
import type { RetryStrategyV2 } from '@smithy/types';

/** The SDK's default attempts per call (the first and two retries). */
const SDK_ATTEMPTS = 3;

/**
 * The SDK's retries K times slower, for `--time-scale K`: its full-jitter exponential backoff
 * (throttling's base of 500 ms, the 20 s cap), each wait ×K. Against a bucket that refills K times
 * slower, the same attempts then span the same modelled time they do on AWS, and give up no
 * sooner. (`@smithy/core` comes with the AWS SDK: not a dependency of its own.)
 */
export function scaledRetryStrategy(k: number, random: () => number = Math.random): () => RetryStrategyV2 {
  return () => new ConfiguredRetryStrategy(SDK_ATTEMPTS, (attempt) => scaledBackoffMs(k, attempt, random()));
}

/** The wait before retry `attempt` (from 1) at time scale `k`, for a uniform draw `u` in [0, 1). */
export function scaledBackoffMs(k: number, attempt: number, u: number): number {
  return k * Math.floor(Math.min(MAXIMUM_RETRY_DELAY, u * 2 ** attempt * THROTTLING_RETRY_DELAY_BASE));
}
