import type { Sandbox } from '../../sandbox';
import { assumeRole } from './sandbox';

/**
 * Sets the environment a deployed task sees: the task role's credentials, the stack's resource
 * names, and the sandbox as the AWS endpoint. Call before the first handler module loads, since
 * configuration is read once.
 */
export async function setLambdaEnvironment(
  sandbox: Sandbox,
  overrides: Record<string, string> = {},
): Promise<void> {
  const credentials = await assumeRole(sandbox, sandbox.stack.taskRoleArn, {
    sessionName: 'casbridge-lambda',
  });
  const stack = sandbox.stack;
  Object.assign(process.env, {
    AWS_REGION: sandbox.region,
    AWS_ENDPOINT_URL: sandbox.endpoint,
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    AWS_SESSION_TOKEN: credentials.sessionToken,
    CASBRIDGE_EXTERNAL_ID: stack.externalId,
    CASBRIDGE_LOG_BUCKET: stack.logBucket,
    CASBRIDGE_TOPIC_ARN: stack.topicArn,
    CASBRIDGE_LEDGER_TABLE: stack.ledgerTable,
    CASBRIDGE_REPORTS_BUCKET: stack.reportsBucket,
    CASBRIDGE_SECRETS_KMS_KEY_ID: stack.secretsKmsKeyArn,
    POWERTOOLS_SERVICE_NAME: 'casbridge',
    ...overrides,
  });
}
