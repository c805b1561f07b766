import { createHash } from 'node:crypto';
import { runSimulation, type Simulation } from '@cloud-copilot/iam-simulate';
import { AwsError } from './aws-error';
import type { Principal } from './credentials';
import { recordAllowed } from './grant-usage';
import { AWS_MANAGED_POLICIES, FULL_AWS_ACCESS_SCP } from './managed-policies';
import type { AuthorizeOptions } from './service';
import type { IamState, PolicyDocument, World } from './world';

/**
 * What IAM decides for one request, in the words of SimulatePrincipalPolicy's `EvalDecision`.
 * `allowedByOrganizations` is absent when no SCP applies (the management account, or no organization).
 */
export type Decision = (
  | { allowed: true; evalDecision: 'allowed' }
  | { allowed: false; evalDecision: 'explicitDeny' | 'implicitDeny'; reason: string }
) & {
  allowedByOrganizations?: boolean;
  /** Absent when the principal has no permissions boundary. */
  allowedByPermissionsBoundary?: boolean;
};

/**
 * Decides a call the way IAM does, with a real policy evaluator (@cloud-copilot/iam-simulate):
 * the caller's identity policies, the SCPs on the path from the root to its account (the
 * management account is exempt, as on AWS), and the resource policy when there is one.
 */
export class Authorizer {
  constructor(private readonly world: World) {}

  async authorize(
    principal: Principal,
    action: string,
    resource: string,
    options: AuthorizeOptions,
    deniedError: { code: string; status: number },
  ): Promise<void> {
    if (!this.world.settings.enforcePolicies) return;
    const decision = await evaluate(simulationOf(this.world, principal, action, resource, options));
    if (decision.allowed) {
      recordAllowed(this.world, principal, action, resource);
      return;
    }
    throw new AwsError(
      deniedError.code,
      `User: ${principal.arn} is not authorized to perform: ${action} on resource: ${resource} ${decision.reason}`,
      deniedError.status,
    );
  }
}

/**
 * The decision IAM would make for `principal` calling `action` on `resource`, whatever the
 * sandbox's enforcement setting: what SimulatePrincipalPolicy reports.
 */
export function decideRequest(
  world: World,
  principal: Principal,
  action: string,
  resource: string,
  options: AuthorizeOptions = {},
): Promise<Decision> {
  return evaluate(simulationOf(world, principal, action, resource, options));
}

/**
 * Whether a resource policy by itself lets a principal act, with no identity policy or SCP in
 * play: how a service principal such as `cloudtrail.amazonaws.com` is judged when it writes into
 * a customer's bucket, and how CloudTrail checks a bucket policy before it accepts a trail.
 */
export async function resourcePolicyAllows(request: {
  principal: string;
  action: string;
  resource: string;
  resourceAccountId: string;
  resourcePolicy: PolicyDocument;
  context?: Record<string, string | string[]>;
}): Promise<boolean> {
  const decision = await evaluate({
    request: {
      principal: request.principal,
      action: request.action,
      resource: { resource: request.resource, accountId: request.resourceAccountId },
      contextVariables: request.context ?? {},
    },
    identityPolicies: [],
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy: request.resourcePolicy,
  } as unknown as Simulation);
  return decision.allowed;
}

function simulationOf(
  world: World,
  principal: Principal,
  action: string,
  resource: string,
  options: AuthorizeOptions,
): Simulation {
  const identityPolicies = identityPoliciesOf(world, principal);
  const boundary = permissionsBoundaryOf(world, principal);
  const scps = scpLevelsOf(world, principal.accountId);
  const context = {
    'aws:PrincipalAccount': principal.accountId,
    'aws:PrincipalArn': principal.kind === 'role-session' ? principal.roleArn : principal.arn,
    // Only a member's principals belong to the organization (a departed account's no longer do).
    ...(world.organization.accounts.has(principal.accountId)
      ? { 'aws:PrincipalOrgID': world.organization.id }
      : {}),
    ...options.context,
  };
  return {
    request: {
      principal: principal.arn,
      action,
      resource: { resource, accountId: options.resourceAccountId ?? principal.accountId },
      contextVariables: context,
    },
    identityPolicies: identityPolicies.map((policy, i) => ({ name: `identity-${i}`, policy })),
    serviceControlPolicies: scps.map((level) => ({
      orgIdentifier: level.target,
      policies: level.documents.map((policy, i) => ({ name: `${level.target}-${i}`, policy })),
    })),
    resourceControlPolicies: [],
    ...(options.resourcePolicy ? { resourcePolicy: options.resourcePolicy } : {}),
    // Part of the simulation, so of the decision cache key: a changed boundary is a new decision.
    ...(boundary ? { permissionBoundaryPolicies: [{ name: 'permissions-boundary', policy: boundary }] } : {}),
  } as unknown as Simulation;
}

/**
 * Decisions already made, by `decisionKey`. A decision depends on nothing but its simulation, so
 * every sandbox of the process shares them.
 */
const decisions = new Map<string, Decision>();
const MAX_DECISIONS = 100_000;

async function evaluate(simulation: Simulation): Promise<Decision> {
  const key = decisionKey(simulation);
  let decision = decisions.get(key);
  if (!decision) {
    decision = await runEvaluator(simulation);
    if (decisions.size >= MAX_DECISIONS) decisions.clear();
    decisions.set(key, decision);
  }
  return decision;
}

/**
 * What identifies a decision. Evaluation costs about half a millisecond, and casbridge makes the
 * same calls in every account, each account a new principal and new resource ARNs: keyed by the
 * exact text, nearly every call of an onboarding missed. So account ids (any 12 digits standing
 * alone) are named by order of first appearance, `#0`, `#1`, …, and the second account's
 * CreateUser finds the first account's decision. That is sound because the evaluator compares
 * such ids only as whole strings, which a consistent renaming preserves — unless a policy can tell
 * two ids apart otherwise: a wildcard next to a digit (`arn:aws:iam::2000*`), or a numeric or date
 * comparison, or a request resource with a wildcard next to a digit (SimulatePrincipalPolicy
 * matches it as a pattern). Simulations holding any of these are keyed by their exact text.
 */
export function decisionKey(simulation: Simulation): string {
  let text = JSON.stringify(simulation);
  if (!ACCOUNT_ID_SENSITIVE.test(text)) {
    const names = new Map<string, string>();
    text = text.replace(ACCOUNT_ID, (id) => {
      let name = names.get(id);
      if (name === undefined) {
        name = `#${names.size}`;
        names.set(id, name);
      }
      return name;
    });
  }
  return createHash('sha1').update(text).digest('base64');
}

const ACCOUNT_ID = /(?<![0-9])[0-9]{12}(?![0-9])/g;
const ACCOUNT_ID_SENSITIVE = /[0-9][*?]|[*?][0-9]|Numeric|Date/;

async function runEvaluator(simulation: Simulation): Promise<Decision> {
  const response = await runSimulation(simulation, {});
  if (response.resultType === 'error') {
    throw new Error(`sandbox policy evaluation failed: ${JSON.stringify(response.errors)}`);
  }
  const analysis =
    response.resultType === 'single'
      ? (response.result.analysis as unknown as Record<string, { result?: string }>)
      : {};
  const scpResult = analysis.scpAnalysis?.result;
  const boundaryResult = analysis.permissionBoundaryAnalysis?.result;
  const organizations = {
    ...(scpResult === undefined ? {} : { allowedByOrganizations: scpResult === 'Allowed' }),
    ...(boundaryResult === undefined ? {} : { allowedByPermissionsBoundary: boundaryResult === 'Allowed' }),
  };
  if (response.overallResult === 'Allowed')
    return { allowed: true, evalDecision: 'allowed', ...organizations };
  const evalDecision = response.overallResult === 'ExplicitlyDenied' ? 'explicitDeny' : 'implicitDeny';
  return { allowed: false, evalDecision, reason: denialReason(analysis), ...organizations };
}

function denialReason(analysis: Record<string, { result?: string }>): string {
  if (analysis.scpAnalysis?.result === 'ExplicitlyDenied')
    return 'with an explicit deny in a service control policy';
  if (analysis.scpAnalysis?.result === 'ImplicitlyDenied')
    return 'because no service control policy allows the action';
  if (analysis.identityAnalysis?.result === 'ExplicitlyDenied')
    return 'with an explicit deny in an identity-based policy';
  if (analysis.resourceAnalysis?.result === 'ExplicitlyDenied')
    return 'with an explicit deny in a resource-based policy';
  if (analysis.permissionBoundaryAnalysis?.result === 'ExplicitlyDenied')
    return 'with an explicit deny in a permissions boundary';
  if (analysis.identityAnalysis?.result !== 'Allowed')
    return 'because no identity-based policy allows the action';
  if (analysis.permissionBoundaryAnalysis && analysis.permissionBoundaryAnalysis.result !== 'Allowed')
    return 'because no permissions boundary allows the action';
  return 'because no resource-based policy allows the action';
}

/**
 * The identity policies of a user or of the role behind a session: inline and attached managed
 * policies (default versions) and, for a user, those of every group it belongs to, as IAM
 * gathers them.
 */
export function identityPoliciesOf(world: World, principal: Principal): PolicyDocument[] {
  const iam = world.accounts.get(principal.accountId)?.iam;
  if (!iam) return [];
  if (principal.kind === 'user') {
    const user = iam.users.get(principal.userName.toLowerCase());
    if (!user) return [];
    const member = user.userName.toLowerCase();
    const groups = [...iam.groups.values()].filter((group) => group.members.includes(member));
    return [user, ...groups].flatMap((holder) => holderPolicies(iam, holder));
  }
  const role = iam.roles.get(principal.roleName.toLowerCase());
  return role ? holderPolicies(iam, role) : [];
}

/** A user's permissions boundary, which caps what its identity policies grant; none for roles here. */
export function permissionsBoundaryOf(world: World, principal: Principal): PolicyDocument | undefined {
  if (principal.kind !== 'user') return undefined;
  const iam = world.accounts.get(principal.accountId)?.iam;
  const arn = iam?.users.get(principal.userName.toLowerCase())?.permissionsBoundaryArn;
  if (!iam || arn === undefined) return undefined;
  // A boundary whose policy is gone allows nothing: IAM refuses to delete a policy in use as one.
  return (
    managedDocument(iam, arn) ?? {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', NotAction: '*', Resource: '*' }],
    }
  );
}

function holderPolicies(
  iam: IamState,
  holder: { inlinePolicies: Map<string, PolicyDocument>; attachedPolicyArns: string[] },
): PolicyDocument[] {
  const documents: PolicyDocument[] = [...holder.inlinePolicies.values()];
  for (const arn of holder.attachedPolicyArns) {
    const document = managedDocument(iam, arn);
    if (document) documents.push(document);
  }
  return documents;
}

function managedDocument(iam: IamState, arn: string): PolicyDocument | undefined {
  const managed = AWS_MANAGED_POLICIES.get(arn);
  if (managed) return managed.document;
  const version = iam.policies.get(arn)?.versions.find((v) => v.isDefaultVersion);
  return version ? (JSON.parse(version.document) as PolicyDocument) : undefined;
}

/** SCP levels from the root down to the account, each with FullAWSAccess plus what is attached there. */
export function scpLevelsOf(
  world: World,
  accountId: string,
): { target: string; documents: PolicyDocument[] }[] {
  const org = world.organization;
  const account = org.accounts.get(accountId);
  if (!account || accountId === org.managementAccountId) return [];
  const path: string[] = [accountId];
  let parent = account.parentId;
  while (parent !== org.rootId) {
    path.unshift(parent);
    const ou = org.ous.get(parent);
    if (!ou) break;
    parent = ou.parentId;
  }
  path.unshift(org.rootId);
  return path.map((target) => ({
    target,
    documents: [
      FULL_AWS_ACCESS_SCP,
      ...[...org.scps.values()].filter((scp) => scp.targets.has(target)).map((scp) => scp.document),
    ],
  }));
}
