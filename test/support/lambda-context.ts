import type { Context } from 'aws-lambda';

/** The part of Lambda's context the handlers' middleware reads, for invoking them in tests. */
export function lambdaContext(functionName = 'casbridge-test', remainingMs = 60_000): Context {
  return {
    functionName,
    awsRequestId: `req-${functionName}`,
    getRemainingTimeInMillis: () => remainingMs,
  } as unknown as Context;
}
