import type { StackResources } from './stack-resources';

/**
 * The environment a deployed casbridge function gets from the stack, for a stack "deployed" in
 * the sandbox: what the demo, `casbridge run --local`, the sandbox's Step Functions and the
 * handler tests set. The task role is what local runs act as: the member role trusts only
 * casbridge's roles.
 */
export function stackEnvironment(stack: StackResources): Record<string, string> {
  return {
    AWS_REGION: stack.region,
    CASBRIDGE_EXTERNAL_ID: stack.externalId,
    CASBRIDGE_LOG_BUCKET: stack.logBucket,
    CASBRIDGE_TOPIC_ARN: stack.topicArn,
    CASBRIDGE_LEDGER_TABLE: stack.ledgerTable,
    CASBRIDGE_REPORTS_BUCKET: stack.reportsBucket,
    CASBRIDGE_SECRETS_KMS_KEY_ID: stack.secretsKmsKeyArn,
    CASBRIDGE_LOCAL_ROLE_ARN: stack.taskRoleArn,
    // Not a function's variable: what `casbridge run` (without --local) starts, as the stack's
    // StateMachineArn output names it on AWS.
    CASBRIDGE_STATE_MACHINE_ARN: stack.stateMachineArn,
  };
}
