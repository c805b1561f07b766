import type { ClientSettings } from '../../commons/aws-clients';
import { type Config, loadConfig } from '../../commons/config';
import type { Sandbox } from '../../sandbox';
import { assumeRole } from './sandbox';

/** casbridge's configuration as a stack deployed into the sandbox's management account would set it. */
export function sandboxConfig(sandbox: Sandbox, overrides: Record<string, string> = {}): Config {
  const stack = sandbox.stack;
  return loadConfig({
    AWS_REGION: sandbox.region,
    CASBRIDGE_EXTERNAL_ID: stack.externalId,
    CASBRIDGE_LOG_BUCKET: stack.logBucket,
    CASBRIDGE_TOPIC_ARN: stack.topicArn,
    CASBRIDGE_LEDGER_TABLE: stack.ledgerTable,
    CASBRIDGE_REPORTS_BUCKET: stack.reportsBucket,
    CASBRIDGE_SECRETS_KMS_KEY_ID: stack.secretsKmsKeyArn,
    ...overrides,
  });
}

/** Client settings acting as casbridge's task role in the central account, as the Lambda functions do. */
export async function taskRoleSettings(sandbox: Sandbox): Promise<ClientSettings> {
  const credentials = await assumeRole(sandbox, sandbox.stack.taskRoleArn, { sessionName: 'casbridge-task' });
  return { region: sandbox.region, endpoint: sandbox.endpoint, credentials };
}
