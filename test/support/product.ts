import type { ClientSettings } from '../../commons/aws-clients';
import { type Config, loadConfig } from '../../commons/config';
import type { Sandbox } from '../../sandbox';
import { stackEnvironment } from '../../sandbox/scenario/stack-environment';
import { assumeRole } from './sandbox';

/** casbridge's configuration as a stack deployed into the sandbox's management account would set it. */
export function sandboxConfig(sandbox: Sandbox, overrides: Record<string, string> = {}): Config {
  return loadConfig({ ...stackEnvironment(sandbox.stack), ...overrides });
}

/** Client settings acting as casbridge's task role in the central account, as the Lambda functions do. */
export async function taskRoleSettings(sandbox: Sandbox): Promise<ClientSettings> {
  const credentials = await assumeRole(sandbox, sandbox.stack.taskRoleArn, { sessionName: 'casbridge-task' });
  return { region: sandbox.region, endpoint: sandbox.endpoint, credentials };
}
