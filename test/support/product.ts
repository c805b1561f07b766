import type { ClientSettings } from '../../commons/aws-clients';
import { type Config, loadConfig } from '../../commons/config';
import type { Sandbox } from '../../sandbox';
import { stackEnvironment } from '../../sandbox/scenario/stack-environment';
import { functionRoleCredentials } from './sandbox';

/** casbridge's configuration as a stack deployed into the sandbox's management account would set it. */
export function sandboxConfig(sandbox: Sandbox, overrides: Record<string, string> = {}): Config {
  return loadConfig({ ...stackEnvironment(sandbox.stack, sandbox.deployment.parameters), ...overrides });
}

/**
 * Client settings acting as one function's role in the central account, as that Lambda function
 * does (`functionKey` is its key in serverless.yml: 'policy', 'accessKey', …): a test that calls a
 * domain function directly stands for the function that calls it, with exactly its grants.
 */
export async function functionRoleSettings(sandbox: Sandbox, functionKey: string): Promise<ClientSettings> {
  const credentials = await functionRoleCredentials(sandbox, functionKey);
  return { region: sandbox.region, endpoint: sandbox.endpoint, credentials };
}
