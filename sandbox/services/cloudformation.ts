import { worldArn } from '../core/arn';
import { AwsError } from '../core/aws-error';
import { QUERY_ERRORS, type RequestContext, type RpcService } from '../core/service';
import { findDeployedStack, type StackDeployment } from '../scenario/stack-deployment';

/**
 * CloudFormation, for the one stack the sandbox has deployed (the casbridge stack of
 * serverless.yml, its Outputs resolved as CloudFormation would): what `casbridge configure
 * --stack NAME` reads. Other stacks do not exist here, and are answered as AWS answers them.
 */
export const cloudformationService: RpcService = {
  kind: 'rpc',
  signingName: 'cloudformation',
  protocol: 'query',
  xmlNamespace: 'http://cloudformation.amazonaws.com/doc/2010-05-15/',
  errors: QUERY_ERRORS,
  operations: {
    DescribeStacks: describeStacks,
  },
};

/** A deployed stack's id ends in a UUID of CloudFormation's choosing: the sandbox fixes one. */
const STACK_UUID = '0c8f5e60-0000-4000-8000-casbridge0001';

async function describeStacks(ctx: RequestContext, input: Record<string, unknown>) {
  const requested = typeof input.StackName === 'string' ? input.StackName : undefined;
  const deployment = findDeployedStack(ctx.world);
  const here = deployment && deployment.accountId === ctx.accountId && deployment.region === ctx.region;
  const stackId = here ? stackArn(ctx, deployment) : undefined;
  const found =
    here && (requested === undefined || requested === deployment.stackName || requested === stackId);
  // AWS authorizes against the stack's ARN, and refuses one it cannot find the same way whether
  // or not the caller may describe it.
  const resource =
    stackId && found
      ? stackId
      : worldArn(ctx.world, 'cloudformation', ctx.region, ctx.accountId, `stack/${requested ?? '*'}/*`);
  await ctx.authorize('cloudformation:DescribeStacks', resource);
  if (!found || !deployment || !stackId) {
    if (requested === undefined) return { Stacks: [] };
    throw new AwsError('ValidationError', `Stack with id ${requested} does not exist`);
  }
  return {
    Stacks: [
      {
        StackId: stackId,
        StackName: deployment.stackName,
        CreationTime: ctx.world.clock.now(),
        StackStatus: 'CREATE_COMPLETE',
        Parameters: Object.entries(deployment.parameters).map(([ParameterKey, ParameterValue]) => ({
          ParameterKey,
          ParameterValue,
        })),
        Outputs: Object.entries(deployment.outputs).map(([OutputKey, OutputValue]) => ({
          OutputKey,
          OutputValue,
        })),
        Tags: [{ Key: 'managed-by', Value: 'casbridge' }],
      },
    ],
  };
}

function stackArn(ctx: RequestContext, deployment: StackDeployment): string {
  return worldArn(
    ctx.world,
    'cloudformation',
    deployment.region,
    deployment.accountId,
    `stack/${deployment.stackName}/${STACK_UUID}`,
  );
}
