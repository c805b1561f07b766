import { decideRequest } from '../../core/authorize';
import type { Principal } from '../../core/credentials';
import { type OperationHandler, type RequestContext, requireString } from '../../core/service';
import { iamOf, iamPage, invalidInput, noSuchEntity } from './common';

const SOURCE_ARN = /^arn:aws:iam::(\d{12}):(user|role)(\/|\/[\u0021-\u007e]+\/)([\w+=,.@-]+)$/;

export const simulateOperations: Record<string, OperationHandler> = {
  /**
   * Evaluates the policies of a user or role in the caller's account with the same evaluator that
   * authorizes every sandbox call, SCPs included, so a simulation agrees with what the principal
   * would actually be allowed.
   */
  SimulatePrincipalPolicy: async (ctx, input) => {
    const sourceArn = requireString(input, 'PolicySourceArn');
    await ctx.authorize('iam:SimulatePrincipalPolicy', sourceArn);
    const principal = simulatedPrincipal(ctx, sourceArn);
    const actions = stringList(input.ActionNames);
    if (actions.length === 0) {
      throw invalidInput('ActionNames must contain at least one action.');
    }
    const resources = stringList(input.ResourceArns);
    const pairs = actions.flatMap((action) =>
      (resources.length > 0 ? resources : ['*']).map((resource) => ({ action, resource })),
    );
    const { page, ...more } = iamPage(pairs, input);
    const results = [];
    for (const { action, resource } of page) {
      const decision = await decideRequest(ctx.world, principal, action, resource).catch((error: unknown) => {
        throw invalidInput(`Cannot simulate ${action} on ${resource}: ${(error as Error).message}`);
      });
      results.push({
        EvalActionName: action,
        EvalResourceName: resource,
        EvalDecision: decision.evalDecision,
        MatchedStatements: [],
        MissingContextValues: [],
        OrganizationsDecisionDetail:
          decision.allowedByOrganizations === undefined
            ? undefined
            : { AllowedByOrganizations: decision.allowedByOrganizations },
        PermissionsBoundaryDecisionDetail:
          decision.allowedByPermissionsBoundary === undefined
            ? undefined
            : { AllowedByPermissionsBoundary: decision.allowedByPermissionsBoundary },
      });
    }
    return { EvaluationResults: results, ...more };
  },
};

function simulatedPrincipal(ctx: RequestContext, sourceArn: string): Principal {
  const match = SOURCE_ARN.exec(sourceArn);
  if (!match) throw invalidInput(`Invalid ARN: ${sourceArn} (only users and roles can be simulated).`);
  const [, accountId, kind, , name] = match as unknown as [string, string, 'user' | 'role', string, string];
  const iam = iamOf(ctx);
  if (kind === 'user') {
    const user = accountId === ctx.accountId ? iam.users.get(name.toLowerCase()) : undefined;
    if (!user || user.arn !== sourceArn) throw noSuchEntity(`The user with name ${name} cannot be found.`);
    return { kind: 'user', accountId, userName: user.userName, arn: user.arn };
  }
  const role = accountId === ctx.accountId ? iam.roles.get(name.toLowerCase()) : undefined;
  if (!role || role.arn !== sourceArn) throw noSuchEntity(`The role with name ${name} cannot be found.`);
  return {
    kind: 'role-session',
    accountId,
    roleName: role.roleName,
    sessionName: role.roleName,
    arn: role.arn,
    roleArn: role.arn,
  };
}

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}
