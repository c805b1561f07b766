import { resourcePolicyAllows } from '../core/authorize';
import type { Credential } from '../core/credentials';
import { issueRoleSession } from '../core/identity';
import type { World } from '../core/world';
import { deployedStack } from '../scenario/stack-deployment';

/**
 * The one part of the Lambda service the sandbox stands in for: handing a deployed function its
 * execution role's credentials. As on AWS, Lambda assumes the role as the service principal
 * `lambda.amazonaws.com`, so the role's trust policy must admit it, and the session is named after
 * the function. The functions' code then runs anywhere (the local runner, the sandbox's Step
 * Functions, a test) with exactly the credentials Lambda would give it.
 */
export const LAMBDA_SERVICE_PRINCIPAL = 'lambda.amazonaws.com';

/** Lambda refreshes a function's credentials as they age; one long session stands in for that. */
export const FUNCTION_SESSION_SECONDS = 12 * 3600;

export class FunctionRoleError extends Error {
  override readonly name = 'FunctionRoleError';
}

/** A session of the function's role, as Lambda obtains it for the function's invocations. */
export async function functionRoleSession(world: World, functionName: string): Promise<Credential> {
  const deployment = deployedStack(world);
  const fn = deployment.functions.find((f) => f.functionName === functionName);
  if (!fn) {
    throw new FunctionRoleError(
      `the sandbox's stack has no function ${functionName} (its functions: ${deployment.functions.map((f) => f.functionName).join(', ')})`,
    );
  }
  const accountId = world.organization.casbridgeAccountId;
  const role = world.accounts.get(accountId)?.iam.roles.get(fn.roleName.toLowerCase());
  if (!role) throw new FunctionRoleError(`the role ${fn.roleArn} of ${functionName} does not exist`);
  const trusted = await resourcePolicyAllows({
    principal: LAMBDA_SERVICE_PRINCIPAL,
    action: 'sts:AssumeRole',
    resource: role.arn,
    resourceAccountId: accountId,
    resourcePolicy: role.assumeRolePolicy,
    context: { 'aws:SourceAccount': accountId },
  });
  if (!trusted)
    throw new FunctionRoleError(
      `the role ${role.arn} does not trust ${LAMBDA_SERVICE_PRINCIPAL}: Lambda cannot assume it`,
    );
  return issueRoleSession(world, accountId, role, functionName, FUNCTION_SESSION_SECONDS);
}

/**
 * Each function's credentials, from this process's sandbox: what the local runner registers
 * (commons/runtime.ts useFunctionCredentials) when it runs in the sandbox's own process. The
 * expiry handed to the SDK is always near, so the SDK asks again before each request and a
 * session is renewed by the sandbox's clock (which tests move by days), not by the wall clock.
 */
export function inProcessFunctionCredentials(
  world: World,
): (
  functionName: string,
) =>
  | (() => Promise<{ accessKeyId: string; secretAccessKey: string; sessionToken: string; expiration: Date }>)
  | undefined {
  const sessions = new Map<string, Promise<Credential>>();
  return (functionName) => {
    // Not one of the stack's functions (a test's or the CLI's own runtime): the process's identity.
    if (!deployedStack(world).functions.some((f) => f.functionName === functionName)) return undefined;
    return async () => {
      let pending = sessions.get(functionName);
      const current = pending ? await pending : undefined;
      if (!current || (current.expiresAtMs ?? 0) - world.clock.nowMs() < 5 * 60_000) {
        pending = functionRoleSession(world, functionName);
        sessions.set(functionName, pending);
        pending.catch(() => sessions.delete(functionName));
      }
      const session = await (pending as Promise<Credential>);
      return {
        accessKeyId: session.accessKeyId,
        secretAccessKey: session.secretAccessKey,
        sessionToken: session.sessionToken as string,
        expiration: new Date(Date.now() + 60_000),
      };
    };
  };
}
