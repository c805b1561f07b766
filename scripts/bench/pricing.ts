import type { StepFigures } from './baseline';
import { round2, round4 } from './format';
import { PIPELINE } from './scenario';

/** Step Functions Standard, us-east-1: $0.025 per 1,000 state transitions (retries included). */
export const USD_PER_TRANSITION = 0.025 / 1000;
/** Lambda arm64 (serverless.yml's architecture), us-east-1: per GB-second and per request. */
export const USD_PER_GB_SECOND = 0.0000133334;
export const USD_PER_REQUEST = 0.2 / 1_000_000;

/**
 * Lambda cost per 1,000 accounts: each step's invocation at its baseline duration (one account at
 * a time, so the duration is the calls' latency and the handler's CPU, not this machine's
 * contention) and its configured memory, plus the request charge.
 */
export function lambdaCost(
  steps: Record<string, StepFigures>,
  invocationsPerAccount: number,
  memoryByFunction: Record<string, number>,
) {
  let gbSeconds = 0;
  let invocations = 0;
  for (const [state, fn] of PIPELINE) {
    const step = steps[state];
    if (!step) continue;
    invocations++;
    gbSeconds += (Math.ceil(step.ms) / 1000) * ((memoryByFunction[fn] ?? 128) / 1024);
  }
  return {
    invocationsPerAccount: round2(invocationsPerAccount),
    gbSecondsPerAccount: round4(gbSeconds),
    usdPer1000Accounts: round4((gbSeconds * USD_PER_GB_SECOND + invocations * USD_PER_REQUEST) * 1000),
  };
}
