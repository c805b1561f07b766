import type { OperationHandler, RequestContext } from '../../core/service';
import { authorizedUser, entityName, iamOf, noSuchEntity } from './common';
import { findManagedPolicy, policyArnOf } from './policies';

/**
 * Permissions boundaries on users: a managed policy that caps what the user's identity policies
 * grant (the evaluator intersects them). `iam:PermissionsBoundary` is the boundary being set, or,
 * on delete, the one being removed, so an administrator can pin which boundary users must keep.
 */
export const permissionsBoundaryOperations: Record<string, OperationHandler> = {
  PutUserPermissionsBoundary: async (ctx, input) => {
    const userName = entityName(input, 'UserName', 64);
    const boundary = policyArnOf(input, 'PermissionsBoundary');
    const user = await authorizedUser(ctx, 'iam:PutUserPermissionsBoundary', userName, {
      context: { 'iam:PermissionsBoundary': boundary },
    });
    requireBoundaryPolicy(ctx, boundary);
    user.permissionsBoundaryArn = boundary;
    return undefined;
  },

  DeleteUserPermissionsBoundary: async (ctx, input) => {
    const userName = entityName(input, 'UserName', 64);
    const current = iamOf(ctx).users.get(userName.toLowerCase())?.permissionsBoundaryArn;
    const user = await authorizedUser(ctx, 'iam:DeleteUserPermissionsBoundary', userName, {
      context: current === undefined ? {} : { 'iam:PermissionsBoundary': current },
    });
    // A user without a boundary is left as it is [Inference: the API Reference names no error for it].
    delete user.permissionsBoundaryArn;
    return undefined;
  },
};

/** IAM refuses a boundary naming a policy that does not exist, in its own words. */
export function requireBoundaryPolicy(ctx: RequestContext, arn: string): void {
  if (!findManagedPolicy(iamOf(ctx), arn)) {
    throw noSuchEntity(`Scope ARN: ${arn} does not exist or is not attachable.`);
  }
}
