import type { Sandbox } from '../../sandbox';
import { stackEnvironment } from '../../sandbox/scenario/stack-environment';
import { assumeRole } from './sandbox';

/**
 * Sets the environment a deployed task sees: the task role's credentials, the stack's resource
 * names, and the sandbox as the AWS endpoint. Call before the first handler runs: configuration
 * is read once.
 */
export async function setLambdaEnvironment(
  sandbox: Sandbox,
  overrides: Record<string, string> = {},
): Promise<void> {
  const credentials = await assumeRole(sandbox, sandbox.stack.taskRoleArn, {
    sessionName: 'casbridge-lambda',
  });
  Object.assign(process.env, {
    ...stackEnvironment(sandbox.stack),
    AWS_ENDPOINT_URL: sandbox.endpoint,
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    AWS_SESSION_TOKEN: credentials.sessionToken,
    ...overrides,
  });
}
