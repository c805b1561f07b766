import { AwsError } from '../../core/aws-error';
import { AWS_MANAGED_POLICIES } from '../../core/managed-policies';
import { type OperationHandler, type RequestContext, requireString } from '../../core/service';
import { readTags } from '../../core/tags';
import type { IamState, ManagedPolicy, PolicyVersion } from '../../core/world';
import {
  byName,
  deleteConflict,
  encodePolicyDocument,
  entityAlreadyExists,
  entityName,
  entityPath,
  iamArn,
  iamOf,
  iamPage,
  invalidInput,
  limitExceeded,
  noSuchEntity,
  optionalString,
  parsePolicyDocument,
  validationError,
} from './common';

/** IAM's quota on a managed policy document, counted without whitespace. */
const MANAGED_POLICY_SIZE = { name: 'PolicySize', maxChars: 6144 };
const MAX_POLICY_VERSIONS = 5;
/** When the sandbox says AWS published its managed policies; any fixed date in the past will do. */
const AWS_EPOCH = new Date('2015-02-06T18:39:46Z');
const POLICY_ARN = /^arn:aws:iam::(\d{12}|aws):policy(\/(?:[\u0021-\u007e]+\/)?)?([\w+=,.@-]+)$/;

/** A managed policy as the attach and list calls see it: the account's own, or one of AWS's. */
export type AnyManagedPolicy =
  | { kind: 'customer'; policy: ManagedPolicy }
  | { kind: 'aws'; arn: string; name: string; document: string };

export const policyOperations: Record<string, OperationHandler> = {
  CreatePolicy: async (ctx, input) => {
    const policyName = entityName(input, 'PolicyName', 128);
    const path = entityPath(input);
    const text = requireString(input, 'PolicyDocument');
    const arn = iamArn(ctx.accountId, 'policy', path, policyName);
    await ctx.authorize('iam:CreatePolicy', arn);
    parsePolicyDocument(text, MANAGED_POLICY_SIZE);
    const policies = iamOf(ctx).policies;
    if ([...policies.keys()].some((existing) => existing.toLowerCase() === arn.toLowerCase())) {
      throw entityAlreadyExists(
        `A policy called ${policyName} already exists. Duplicate names are not allowed.`,
      );
    }
    const now = ctx.world.clock.now();
    const description = optionalString(input, 'Description');
    const policy: ManagedPolicy = {
      policyName,
      policyId: ctx.world.rng.iamId('ANPA'),
      arn,
      path,
      ...(description === undefined ? {} : { description }),
      defaultVersionId: 'v1',
      versions: [{ versionId: 'v1', document: text, isDefaultVersion: true, createDate: now }],
      nextVersionNumber: 2,
      createDate: now,
      updateDate: now,
      tags: readTags(input.Tags),
    };
    policies.set(arn, policy);
    return { Policy: policyShape(iamOf(ctx), { kind: 'customer', policy }) };
  },

  GetPolicy: async (ctx, input) => {
    const found = await authorizedPolicy(ctx, 'iam:GetPolicy', input);
    return { Policy: policyShape(iamOf(ctx), found) };
  },

  DeletePolicy: async (ctx, input) => {
    const policy = await customerPolicy(ctx, 'iam:DeletePolicy', input);
    const iam = iamOf(ctx);
    if (attachmentCount(iam, policy.arn) > 0 || boundaryUsageCount(iam, policy.arn) > 0) {
      throw deleteConflict('Cannot delete a policy attached to entities.');
    }
    if (policy.versions.length > 1) {
      throw deleteConflict(
        "This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy.",
      );
    }
    iamOf(ctx).policies.delete(policy.arn);
    return undefined;
  },

  GetPolicyVersion: async (ctx, input) => {
    const found = await authorizedPolicy(ctx, 'iam:GetPolicyVersion', input);
    const versionId = versionIdOf(input);
    const version = versionsOf(found).find((v) => v.versionId === versionId);
    if (!version) throw missingVersion(arnOf(found), versionId);
    return { PolicyVersion: { ...versionShape(version), Document: encodePolicyDocument(version.document) } };
  },

  CreatePolicyVersion: async (ctx, input) => {
    const policy = await customerPolicy(ctx, 'iam:CreatePolicyVersion', input);
    const text = requireString(input, 'PolicyDocument');
    if (policy.versions.length >= MAX_POLICY_VERSIONS) {
      throw limitExceeded(
        'A managed policy can have up to 5 versions. Before you create a new version, you must delete an existing version.',
      );
    }
    parsePolicyDocument(text, MANAGED_POLICY_SIZE);
    const now = ctx.world.clock.now();
    const version: PolicyVersion = {
      versionId: `v${policy.nextVersionNumber}`,
      document: text,
      isDefaultVersion: false,
      createDate: now,
    };
    policy.nextVersionNumber++;
    policy.versions.push(version);
    if (input.SetAsDefault === 'true') makeDefault(policy, version);
    policy.updateDate = now;
    return { PolicyVersion: versionShape(version) };
  },

  ListPolicyVersions: async (ctx, input) => {
    const found = await authorizedPolicy(ctx, 'iam:ListPolicyVersions', input);
    // Newest first, as IAM lists them.
    const versions = [...versionsOf(found)].reverse();
    const { page, ...more } = iamPage(versions, input);
    return { Versions: page.map(versionShape), ...more };
  },

  DeletePolicyVersion: async (ctx, input) => {
    const policy = await customerPolicy(ctx, 'iam:DeletePolicyVersion', input);
    const versionId = versionIdOf(input);
    const version = policy.versions.find((v) => v.versionId === versionId);
    if (!version) throw missingVersion(policy.arn, versionId);
    if (version.isDefaultVersion) throw deleteConflict('Cannot delete the default version of a policy.');
    policy.versions = policy.versions.filter((v) => v !== version);
    return undefined;
  },

  SetDefaultPolicyVersion: async (ctx, input) => {
    const policy = await customerPolicy(ctx, 'iam:SetDefaultPolicyVersion', input);
    const versionId = versionIdOf(input);
    const version = policy.versions.find((v) => v.versionId === versionId);
    if (!version) throw missingVersion(policy.arn, versionId);
    makeDefault(policy, version);
    policy.updateDate = ctx.world.clock.now();
    return undefined;
  },

  ListPolicies: async (ctx, input) => {
    await ctx.authorize('iam:ListPolicies', '*');
    const scope = optionalString(input, 'Scope') ?? 'All';
    if (!['All', 'AWS', 'Local'].includes(scope)) {
      throw validationError('scope', scope, 'Member must satisfy enum value set: [All, AWS, Local]');
    }
    const iam = iamOf(ctx);
    const all: AnyManagedPolicy[] = [
      ...(scope === 'Local' ? [] : awsManagedPolicies()),
      ...(scope === 'AWS'
        ? []
        : [...iam.policies.values()].map((policy) => ({ kind: 'customer' as const, policy }))),
    ];
    const prefix = optionalString(input, 'PathPrefix') ?? '/';
    const listed = all
      .filter((p) => (p.kind === 'aws' ? '/' : p.policy.path).startsWith(prefix))
      .filter((p) => input.OnlyAttached !== 'true' || attachmentCount(iam, arnOf(p)) > 0)
      .sort(byName(nameOf));
    const { page, ...more } = iamPage(listed, input);
    // ListPolicies leaves out descriptions and tags; GetPolicy has them.
    return {
      Policies: page.map((p) => ({ ...policyShape(iam, p), Description: undefined, Tags: undefined })),
      ...more,
    };
  },
};

/** Finds a managed policy by ARN for an attach call; AWS's own are attachable in every account. */
export function findManagedPolicy(iam: IamState, arn: string): AnyManagedPolicy | undefined {
  const managed = AWS_MANAGED_POLICIES.get(arn);
  if (managed) {
    return { kind: 'aws', arn, name: managed.name, document: JSON.stringify(managed.document) };
  }
  const policy = iam.policies.get(arn);
  return policy ? { kind: 'customer', policy } : undefined;
}

/** Validates a `PolicyArn` member (or another naming a policy); IAM rejects a malformed one before looking it up. */
export function policyArnOf(input: Record<string, unknown>, member = 'PolicyArn'): string {
  const arn = requireString(input, member);
  if (!POLICY_ARN.test(arn)) throw invalidInput(`ARN ${arn} is not valid.`);
  return arn;
}

/** How many users, roles and groups of the account have the policy attached (GetPolicy's AttachmentCount). */
export function attachmentCount(iam: IamState, arn: string): number {
  let count = 0;
  for (const user of iam.users.values()) if (user.attachedPolicyArns.includes(arn)) count++;
  for (const role of iam.roles.values()) if (role.attachedPolicyArns.includes(arn)) count++;
  for (const group of iam.groups.values()) if (group.attachedPolicyArns.includes(arn)) count++;
  return count;
}

/** How many users have the policy as their permissions boundary (PermissionsBoundaryUsageCount). */
export function boundaryUsageCount(iam: IamState, arn: string): number {
  let count = 0;
  for (const user of iam.users.values()) if (user.permissionsBoundaryArn === arn) count++;
  return count;
}

export function nameOf(policy: AnyManagedPolicy): string {
  return policy.kind === 'aws' ? policy.name : policy.policy.policyName;
}

export function arnOf(policy: AnyManagedPolicy): string {
  return policy.kind === 'aws' ? policy.arn : policy.policy.arn;
}

async function authorizedPolicy(
  ctx: RequestContext,
  action: string,
  input: Record<string, unknown>,
): Promise<AnyManagedPolicy> {
  const arn = policyArnOf(input);
  await ctx.authorize(action, arn);
  const found = findManagedPolicy(iamOf(ctx), arn);
  if (!found) throw noSuchEntity(`Policy ${arn} was not found.`);
  return found;
}

/** A policy the caller may change: AWS managed policies are read-only to every account. */
async function customerPolicy(
  ctx: RequestContext,
  action: string,
  input: Record<string, unknown>,
): Promise<ManagedPolicy> {
  const found = await authorizedPolicy(ctx, action, input);
  if (found.kind === 'aws') {
    throw new AwsError(
      'AccessDenied',
      `User: ${ctx.principal.arn} is not authorized to perform: ${action} on resource: policy ${found.arn}`,
      403,
    );
  }
  return found.policy;
}

function awsManagedPolicies(): AnyManagedPolicy[] {
  return [...AWS_MANAGED_POLICIES].map(([arn, managed]) => ({
    kind: 'aws' as const,
    arn,
    name: managed.name,
    document: JSON.stringify(managed.document),
  }));
}

function versionsOf(found: AnyManagedPolicy): PolicyVersion[] {
  if (found.kind === 'customer') return found.policy.versions;
  return [{ versionId: 'v1', document: found.document, isDefaultVersion: true, createDate: AWS_EPOCH }];
}

function versionIdOf(input: Record<string, unknown>): string {
  const versionId = requireString(input, 'VersionId');
  if (!/^v[1-9][0-9]*(\.[A-Za-z0-9-]*)?$/.test(versionId)) {
    throw validationError(
      'versionId',
      versionId,
      'Member must satisfy regular expression pattern: v[1-9][0-9]*(\\.[A-Za-z0-9-]*)?',
    );
  }
  return versionId;
}

function missingVersion(arn: string, versionId: string) {
  return noSuchEntity(`Policy ${arn} version ${versionId} does not exist or is not attachable.`);
}

function makeDefault(policy: ManagedPolicy, version: PolicyVersion): void {
  for (const v of policy.versions) v.isDefaultVersion = v === version;
  policy.defaultVersionId = version.versionId;
}

function versionShape(version: PolicyVersion) {
  return {
    VersionId: version.versionId,
    IsDefaultVersion: version.isDefaultVersion,
    CreateDate: version.createDate,
  };
}

function policyShape(iam: IamState, found: AnyManagedPolicy) {
  const count = attachmentCount(iam, arnOf(found));
  if (found.kind === 'aws') {
    return {
      PolicyName: found.name,
      // Derived from the name, not drawn from the world's RNG, so reading a policy changes no ids.
      PolicyId: `ANPA${found.name
        .toUpperCase()
        .replace(/[^A-Z0-9]/g, '')
        .padEnd(16, 'X')
        .slice(0, 16)}`,
      Arn: found.arn,
      Path: '/',
      DefaultVersionId: 'v1',
      AttachmentCount: count,
      PermissionsBoundaryUsageCount: boundaryUsageCount(iam, arnOf(found)),
      IsAttachable: true,
      CreateDate: AWS_EPOCH,
      UpdateDate: AWS_EPOCH,
    };
  }
  const policy = found.policy;
  return {
    PolicyName: policy.policyName,
    PolicyId: policy.policyId,
    Arn: policy.arn,
    Path: policy.path,
    DefaultVersionId: policy.defaultVersionId,
    AttachmentCount: count,
    PermissionsBoundaryUsageCount: boundaryUsageCount(iam, arnOf(found)),
    IsAttachable: true,
    Description: policy.description,
    CreateDate: policy.createDate,
    UpdateDate: policy.updateDate,
    Tags: policy.tags.length > 0 ? policy.tags : undefined,
  };
}
