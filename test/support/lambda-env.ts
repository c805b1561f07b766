import { useFunctionClock, useFunctionCredentials } from '../../commons/runtime';
import type { Sandbox } from '../../sandbox';
import { stackEnvironment } from '../../sandbox/scenario/stack-environment';
import { inProcessFunctionCredentials } from '../../sandbox/services/lambda';

/**
 * Sets the environment a deployed task sees: the stack's resource names and the sandbox as the
 * AWS endpoint, and each function's own role's credentials, handed over by the sandbox as Lambda
 * would (by the function name of the handler's Lambda context), and the sandbox's clock as the
 * functions' (leases and cached sessions are timed by it, so a test moves time instead of waiting).
 * The process's own identity is the management account's administrator, as for `casbridge run
 * --local`. Call before the first handler runs: configuration is read once.
 */
export function setLambdaEnvironment(sandbox: Sandbox, overrides: Record<string, string> = {}): void {
  Object.assign(process.env, {
    ...stackEnvironment(sandbox.stack, sandbox.deployment.parameters),
    AWS_ENDPOINT_URL: sandbox.endpoint,
    AWS_ACCESS_KEY_ID: sandbox.admin.accessKeyId,
    AWS_SECRET_ACCESS_KEY: sandbox.admin.secretAccessKey,
    ...overrides,
  });
  delete process.env.AWS_SESSION_TOKEN;
  useFunctionCredentials(inProcessFunctionCredentials(sandbox.world));
  useFunctionClock(() => sandbox.world.clock.nowMs());
}
