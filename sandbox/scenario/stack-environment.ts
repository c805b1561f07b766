import type { StackResources } from '../../commons/stack-resources';
import type { StackParameters } from './stack-deployment';

/** The stack parameters that set a function variable only when given (serverless.yml's `!If`s). */
const OPTIONAL_VARIABLES: Readonly<Record<string, string>> = {
  fallbackRoleName: 'CASBRIDGE_FALLBACK_ROLE_NAME',
  webhookUrl: 'CASBRIDGE_WEBHOOK_URL',
  webhookSecretArn: 'CASBRIDGE_WEBHOOK_SECRET_ARN',
  excludedAccounts: 'CASBRIDGE_EXCLUDED_ACCOUNTS',
  trailMode: 'CASBRIDGE_TRAIL_MODE',
  orgTrail: 'CASBRIDGE_ORG_TRAIL',
  connectorStaleDays: 'CASBRIDGE_CONNECTOR_STALE_DAYS',
  keepSecrets: 'CASBRIDGE_KEEP_SECRETS',
  secretRecoveryDays: 'CASBRIDGE_SECRET_RECOVERY_DAYS',
  keyDelivery: 'CASBRIDGE_KEY_DELIVERY',
  scopeOus: 'CASBRIDGE_SCOPE_OUS',
  scopeExcludedOus: 'CASBRIDGE_SCOPE_EXCLUDED_OUS',
  outOfScopeAction: 'CASBRIDGE_OUT_OF_SCOPE_ACTION',
};

/**
 * The environment a deployed casbridge function gets from the stack, for a stack "deployed" in
 * the sandbox with `parameters`: what the demo, `casbridge run --local`, the sandbox's Step
 * Functions and the handler tests set. Each function's credentials are not in it: Lambda hands
 * them over (sandbox/services/lambda.ts).
 */
export function stackEnvironment(
  stack: StackResources,
  parameters: StackParameters = {},
): Record<string, string> {
  const optional: Record<string, string> = {};
  for (const [parameter, variable] of Object.entries(OPTIONAL_VARIABLES)) {
    const value = parameters[parameter];
    if (value) optional[variable] = value;
  }
  return {
    AWS_REGION: stack.region,
    CASBRIDGE_EXTERNAL_ID: stack.externalId,
    CASBRIDGE_LOG_BUCKET: stack.logBucket,
    CASBRIDGE_TOPIC_ARN: stack.topicArn,
    CASBRIDGE_LEDGER_TABLE: stack.ledgerTable,
    CASBRIDGE_REPORTS_BUCKET: stack.reportsBucket,
    CASBRIDGE_SECRETS_KMS_KEY_ID: stack.secretsKmsKeyArn,
    ...optional,
    // Not a function's variable: what `casbridge run` (without --local) starts, as the stack's
    // StateMachineArn output names it on AWS.
    CASBRIDGE_STATE_MACHINE_ARN: stack.stateMachineArn,
  };
}
