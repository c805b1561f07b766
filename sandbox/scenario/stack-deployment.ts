import path from 'node:path';
import { partitionOf } from '../../commons/partition';
import {
  lambdaFunctionName,
  SANDBOX_STAGE,
  type StackResources,
  stateMachineName,
} from '../../commons/stack-resources';
import { markTemplateRole } from '../core/grant-usage';
import type { IamRole, PolicyDocument, World } from '../core/world';
import { accountState } from '../core/world';
import {
  evaluateCondition,
  type ResourceValues,
  readServerlessStack,
  resolveIntrinsics,
  type TemplateRole,
  templateRoles,
  templateScope,
} from './cloudformation';

/** serverless.yml: the one definition of the stack's roles, which the sandbox deploys as written. */
export const SERVERLESS_FILE = path.resolve(__dirname, '../../serverless.yml');

/**
 * The deployment's own parameters (serverless.yml `params`, `--param=NAME=VALUE`) the sandbox's
 * stack was deployed with beyond the defaults: the optional features whose grants are conditional
 * (`webhookUrl` and `webhookSecretArn`, `fallbackRoleName`).
 */
export type StackParameters = Readonly<Record<string, string>>;

export interface StackFunction {
  /** Its key in serverless.yml (`accessKey`). */
  key: string;
  /** As Lambda names it (`casbridge-dev-accessKey`): what a task's Lambda context carries. */
  functionName: string;
  roleName: string;
  roleArn: string;
}

/** The stack as deployed into the sandbox: its parameters, its functions and the roles they run as. */
export interface StackDeployment {
  /** As the framework names it (`<service>-<stage>`), in the stack's account and Region. */
  stackName: string;
  accountId: string;
  region: string;
  parameters: StackParameters;
  /**
   * The stack's Outputs as CloudFormation's DescribeStacks would give them (serverless.yml
   * `resources.Outputs`, resolved): what `casbridge configure` reads.
   */
  outputs: Record<string, string>;
  functions: StackFunction[];
  /** Every role serverless.yml declares, resolved as CloudFormation would create them here. */
  roles: TemplateRole[];
  /** The key policy of each KMS key the stack creates, by key ARN (the connector secrets' key). */
  keyPolicies: Record<string, PolicyDocument>;
}

/**
 * The stack's roles resolved for the sandbox's stack: serverless.yml with the sandbox's stage and
 * parameters (the ExternalId and organization id it seeds, plus `parameters`), every `Ref` and
 * `Fn::GetAtt` of the stack's resources resolved to the names stack-resources.ts gives them.
 */
export function stackDeployment(
  stack: StackResources,
  organizationId: string,
  parameters: StackParameters = {},
  file = SERVERLESS_FILE,
): StackDeployment {
  const serverless = readServerlessStack(file, {
    stage: SANDBOX_STAGE,
    region: stack.region,
    params: { externalId: stack.externalId, organizationId, ...parameters },
  });
  const pseudo = { accountId: stack.accountId, region: stack.region, partition: partitionOf(stack.region) };
  const resources = stackResourceValues(stack, serverless.template.Resources, serverless.functions);
  const roles = templateRoles(serverless.template, {}, pseudo, { resources });
  const scope = templateScope(serverless.template, {}, pseudo, resources);
  const keyPolicies: Record<string, PolicyDocument> = {};
  for (const [logicalId, resource] of Object.entries(serverless.template.Resources)) {
    const r = resource as { Type?: string; Properties?: { KeyPolicy?: unknown } };
    const arn = resources[logicalId]?.attributes?.Arn;
    if (r.Type === 'AWS::KMS::Key' && arn && r.Properties?.KeyPolicy)
      keyPolicies[arn] = resolveIntrinsics(r.Properties.KeyPolicy, scope) as PolicyDocument;
  }
  const functions = serverless.functions.map(({ key, roleLogicalId }) => {
    const role = roles.find((r) => r.logicalId === roleLogicalId);
    if (!role) throw new Error(`serverless.yml: function ${key} runs as ${roleLogicalId}, which is no role`);
    return {
      key,
      functionName: lambdaFunctionName(SANDBOX_STAGE, key),
      roleName: role.roleName,
      roleArn: roleArn(stack, role),
    };
  });
  const outputs: Record<string, string> = {};
  for (const [key, output] of Object.entries(serverless.template.Outputs)) {
    if (output.Condition && !evaluateCondition(output.Condition, scope)) continue;
    outputs[key] = String(resolveIntrinsics(output.Value, scope));
  }
  return {
    stackName: stackName(SANDBOX_STAGE),
    accountId: stack.accountId,
    region: stack.region,
    parameters: { ...parameters },
    outputs,
    functions,
    roles,
    keyPolicies,
  };
}

/** The framework names a stack `<service>-<stage>`; serverless.yml's service is casbridge. */
export function stackName(stage: string): string {
  return `casbridge-${stage}`;
}

/** The ARN of a template role in the account. */
export function roleArn(
  stack: Pick<StackResources, 'accountId' | 'region'>,
  role: Pick<TemplateRole, 'path' | 'roleName'>,
): string {
  return `arn:${partitionOf(stack.region)}:iam::${stack.accountId}:role${role.path}${role.roleName}`;
}

/**
 * What the template's `Ref`s and `Fn::GetAtt`s of its own resources are in the sandbox: the
 * names stack-resources.ts gives the data, the framework's names for functions and roles.
 */
function stackResourceValues(
  stack: StackResources,
  resources: Record<string, unknown>,
  functions: { key: string }[],
): ResourceValues {
  const { accountId, region } = stack;
  const partition = partitionOf(region);
  const values: ResourceValues = {
    LedgerTable: {
      ref: stack.ledgerTable,
      attributes: { Arn: `arn:${partition}:dynamodb:${region}:${accountId}:table/${stack.ledgerTable}` },
    },
    ReportsBucket: {
      ref: stack.reportsBucket,
      attributes: { Arn: `arn:${partition}:s3:::${stack.reportsBucket}` },
    },
    LogBucket: { ref: stack.logBucket, attributes: { Arn: `arn:${partition}:s3:::${stack.logBucket}` } },
    HandoffTopic: { ref: stack.topicArn, attributes: { TopicName: stack.topicName } },
    SecretsKey: {
      ref: stack.secretsKmsKeyArn.slice(stack.secretsKmsKeyArn.lastIndexOf('/') + 1),
      attributes: { Arn: stack.secretsKmsKeyArn },
    },
    CasbridgeStateMachine: {
      ref: stack.stateMachineArn,
      attributes: { Name: stateMachineName(SANDBOX_STAGE) },
    },
  };
  // The framework names each function's resource <Key>LambdaFunction.
  for (const { key } of functions) {
    const name = lambdaFunctionName(SANDBOX_STAGE, key);
    values[`${key.charAt(0).toUpperCase()}${key.slice(1)}LambdaFunction`] = {
      ref: name,
      attributes: { Arn: `arn:${partition}:lambda:${region}:${accountId}:function:${name}` },
    };
  }
  for (const [logicalId, resource] of Object.entries(resources)) {
    const r = resource as { Type?: string; Properties?: { RoleName?: unknown; Path?: unknown } };
    if (r.Type !== 'AWS::IAM::Role' || typeof r.Properties?.RoleName !== 'string') continue;
    const role = { roleName: r.Properties.RoleName, path: String(r.Properties.Path ?? '/') };
    values[logicalId] = { ref: role.roleName, attributes: { Arn: roleArn(stack, role) } };
  }
  return values;
}

const deployments = new WeakMap<World, StackDeployment>();

/** The stack deployed in the world's management account (seeded with it). */
export function deployedStack(world: World): StackDeployment {
  const deployment = deployments.get(world);
  if (!deployment) throw new Error('the sandbox has no casbridge stack deployed');
  return deployment;
}

/** The deployed stack, or undefined in a world seeded without one. */
export function findDeployedStack(world: World): StackDeployment | undefined {
  return deployments.get(world);
}

/**
 * Creates the stack's roles in its account, or updates them in place as a stack update would
 * (the same role ids, so sessions already issued keep working under the new policies).
 */
export function deployStackRoles(world: World, stack: StackResources, deployment: StackDeployment): void {
  const iam = accountState(world, stack.accountId).iam;
  const previous = deployments.get(world);
  for (const role of previous?.roles ?? []) {
    if (!deployment.roles.some((r) => r.roleName === role.roleName))
      iam.roles.delete(role.roleName.toLowerCase());
  }
  for (const role of deployment.roles) {
    const existing = iam.roles.get(role.roleName.toLowerCase());
    const fields = {
      roleName: role.roleName,
      path: role.path,
      maxSessionDuration: role.maxSessionDuration,
      assumeRolePolicy: role.assumeRolePolicyDocument as PolicyDocument,
      attachedPolicyArns: [...role.managedPolicyArns],
      inlinePolicies: new Map(role.inlinePolicies.map((p) => [p.name, p.document as PolicyDocument])),
    };
    if (existing) {
      Object.assign(existing, fields);
      continue;
    }
    const created: IamRole = {
      ...fields,
      roleId: world.rng.iamId('AROA'),
      arn: roleArn(stack, role),
      createDate: world.clock.now(),
      tags: [{ Key: 'managed-by', Value: 'casbridge' }],
    };
    iam.roles.set(role.roleName.toLowerCase(), created);
    markTemplateRole(created, { template: 'serverless.yml', logicalId: role.logicalId });
  }
  deployments.set(world, deployment);
}
