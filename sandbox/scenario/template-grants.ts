import path from 'node:path';
import { partitionOf } from '../../commons/partition';
import { stackResources } from '../../commons/stack-resources';
import { grantKey, grantsOf } from '../core/grant-usage';
import { readTemplate, templateRoles } from './cloudformation';
import { stackDeployment } from './stack-deployment';

/**
 * Every grant the templates can give a casbridge role — each function role and the state machine
 * role of serverless.yml with every optional parameter set (so a conditional grant, the webhook
 * signing key or the fallback role, is listed too), and the member role — keyed as the sandbox
 * records their use (sandbox/core/grant-usage.ts).
 */
export function templateGrants(root = path.resolve(__dirname, '../..')): { key: string; resource: string }[] {
  const stack = stackResources('999988887777', 'us-east-1');
  const deployment = stackDeployment(
    stack,
    'o-exampleorg',
    {
      fallbackRoleName: 'FallbackRole',
      webhookUrl: 'https://hooks.example.com/casbridge',
      webhookSecretArn: `arn:${partitionOf(stack.region)}:secretsmanager:${stack.region}:${stack.accountId}:secret:webhook-AbCdEf`,
    },
    path.join(root, 'serverless.yml'),
  );
  const member = templateRoles(
    readTemplate(path.join(root, 'templates/member-role.yml')),
    { CentralAccountId: stack.accountId, ExternalId: stack.externalId },
    { accountId: '111122223333', region: stack.region },
  );
  const origins = [
    ...deployment.roles.map((role) => ({ role, template: 'serverless.yml' })),
    ...member.map((role) => ({ role, template: 'templates/member-role.yml' })),
  ];
  return origins.flatMap(({ role, template }) =>
    role.inlinePolicies.flatMap((policy) =>
      grantsOf(policy.document).map((grant) => ({
        key: grantKey({ template, logicalId: role.logicalId }, grant),
        resource: grant.resource,
      })),
    ),
  );
}

/**
 * Grants no code path of casbridge's own calls, so no test can use them: excluded from the
 * unused-grant check, each with the reason.
 */
export const GRANTS_NOT_CALLED_BY_CODE: readonly { pattern: RegExp; reason: string }[] = [
  {
    pattern: /^serverless\.yml:\w+ OwnLogs logs:/,
    reason:
      'the Lambda runtime writes the function logs, not casbridge code; the sandbox has no CloudWatch Logs',
  },
  {
    pattern: /^serverless\.yml:StateMachineRole InvokeTasks /,
    reason:
      'Step Functions itself invokes the functions; the sandbox runs each Task in process as its function (it has no Lambda API)',
  },
  {
    pattern: /^serverless\.yml:StateMachineRole ManageChildExecutions /,
    reason:
      "Step Functions describes and stops a Distributed Map's children itself; the sandbox's driver holds them in process (it authorizes StartExecution, the one call the children need)",
  },
  {
    pattern:
      /^serverless\.yml:StateMachineRole MapItemsAndResults s3:(ListMultipartUploadParts|AbortMultipartUpload) /,
    reason:
      "the ResultWriter uploads a large result file in parts; the sandbox's ResultWriter writes each file with one PutObject",
  },
  {
    pattern: /^serverless\.yml:EventsRole StartRun states:StartExecution /,
    reason:
      'EventBridge starts the runs for the lifecycle rules and the schedule; the sandbox has no EventBridge (test/stack checks the role and its trust)',
  },
  {
    pattern: /^serverless\.yml:StateMachineRole XRayTraces xray:/,
    reason: 'Step Functions writes the traces, with the tracing parameter only; the sandbox has no X-Ray',
  },
];
