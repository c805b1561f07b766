import type { AwsCredentialIdentity } from '@smithy/types';
import type { FunctionCredentialSource } from '../../commons/runtime';

/** Renew a function's session this long before the sandbox said it expires. */
const RENEW_BEFORE_MS = 10 * 60_000;

/**
 * Each function's credentials from the sandbox at `endpoint`, which stands in for the Lambda
 * service (`POST /_sandbox/lambda/credentials`, sandbox/services/lambda.ts): a local run in
 * another process than the sandbox (`casbridge run --local`, the benchmark) runs every function
 * as its own role, exactly as deployed. The sandbox checks that the role trusts Lambda.
 */
export function sandboxFunctionCredentials(endpoint: string): FunctionCredentialSource {
  const cached = new Map<string, Promise<AwsCredentialIdentity & { expiration: Date }>>();
  const fetchSession = async (functionName: string) => {
    const response = await fetch(new URL('/_sandbox/lambda/credentials', endpoint), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ functionName }),
    });
    const body = (await response.json()) as {
      AccessKeyId?: string;
      SecretAccessKey?: string;
      SessionToken?: string;
      ExpiresInSeconds?: number;
      message?: string;
    };
    if (!response.ok || !body.AccessKeyId || !body.SecretAccessKey || !body.SessionToken)
      throw new Error(`the sandbox gave ${functionName} no credentials: ${body.message ?? response.status}`);
    return {
      accessKeyId: body.AccessKeyId,
      secretAccessKey: body.SecretAccessKey,
      sessionToken: body.SessionToken,
      expiration: new Date(Date.now() + (body.ExpiresInSeconds ?? 3600) * 1000 - RENEW_BEFORE_MS),
    };
  };
  return (functionName) => async () => {
    let pending = cached.get(functionName);
    const current = pending ? await pending.catch(() => undefined) : undefined;
    if (!current || current.expiration.getTime() <= Date.now()) {
      pending = fetchSession(functionName);
      cached.set(functionName, pending);
    }
    return pending as Promise<AwsCredentialIdentity & { expiration: Date }>;
  };
}
