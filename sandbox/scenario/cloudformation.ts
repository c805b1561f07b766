import { readFileSync } from 'node:fs';
import { parse, type Tags } from 'yaml';

/**
 * Reads a CloudFormation template as CloudFormation would for the parts the sandbox enforces:
 * short-form intrinsics (`!Sub`, `!Ref`, `!GetAtt`, `!Join`) and parameter defaults. It resolves
 * `Ref`, `Fn::Sub` and `Fn::Join` against the given parameters and pseudo parameters.
 */
export interface TemplateRole {
  logicalId: string;
  roleName: string;
  path: string;
  maxSessionDuration: number;
  assumeRolePolicyDocument: Record<string, unknown>;
  inlinePolicies: { name: string; document: Record<string, unknown> }[];
  managedPolicyArns: string[];
}

const INTRINSIC_TAGS: Tags = [
  'Sub',
  'Ref',
  'GetAtt',
  'Join',
  'Select',
  'Split',
  'If',
  'Equals',
  'Not',
  'And',
  'Or',
  'FindInMap',
  'ImportValue',
  'Base64',
  'Condition',
].flatMap((name) => {
  const key = name === 'Ref' || name === 'Condition' ? name : `Fn::${name}`;
  const resolve = (value: unknown) => ({
    [key]: name === 'GetAtt' && typeof value === 'string' ? value.split('.') : value,
  });
  return [
    { tag: `!${name}`, resolve: (value: string) => resolve(value) },
    {
      tag: `!${name}`,
      collection: 'seq' as const,
      resolve: (value: { toJSON(): unknown }) => resolve(value.toJSON()),
    },
    {
      tag: `!${name}`,
      collection: 'map' as const,
      resolve: (value: { toJSON(): unknown }) => resolve(value.toJSON()),
    },
  ];
});

export function readTemplate(path: string): Record<string, unknown> {
  return parse(readFileSync(path, 'utf8'), { customTags: INTRINSIC_TAGS }) as Record<string, unknown>;
}

/** A customer managed policy a template creates (AWS::IAM::ManagedPolicy). */
export interface TemplateManagedPolicy {
  logicalId: string;
  policyName: string;
  path: string;
  description?: string;
  document: Record<string, unknown>;
}

type Pseudo = { accountId: string; region: string; partition?: string };

/** The IAM roles a template creates, resolved for one account. */
export function templateRoles(
  template: Record<string, unknown>,
  parameters: Record<string, string>,
  pseudo: Pseudo,
): TemplateRole[] {
  const roles: TemplateRole[] = [];
  for (const { logicalId, props } of templateResources(template, parameters, pseudo, 'AWS::IAM::Role')) {
    roles.push({
      logicalId,
      roleName: String(props.RoleName ?? logicalId),
      path: String(props.Path ?? '/'),
      maxSessionDuration: Number(props.MaxSessionDuration ?? 3600),
      assumeRolePolicyDocument: props.AssumeRolePolicyDocument as Record<string, unknown>,
      inlinePolicies: (
        (props.Policies ?? []) as { PolicyName: string; PolicyDocument: Record<string, unknown> }[]
      ).map((p) => ({
        name: p.PolicyName,
        document: p.PolicyDocument,
      })),
      managedPolicyArns: (props.ManagedPolicyArns ?? []) as string[],
    });
  }
  return roles;
}

/** The customer managed policies a template creates, resolved for one account. */
export function templateManagedPolicies(
  template: Record<string, unknown>,
  parameters: Record<string, string>,
  pseudo: Pseudo,
): TemplateManagedPolicy[] {
  return templateResources(template, parameters, pseudo, 'AWS::IAM::ManagedPolicy').map(
    ({ logicalId, props }) => ({
      logicalId,
      policyName: String(props.ManagedPolicyName ?? logicalId),
      path: String(props.Path ?? '/'),
      ...(props.Description === undefined ? {} : { description: String(props.Description) }),
      document: props.PolicyDocument as Record<string, unknown>,
    }),
  );
}

function templateResources(
  template: Record<string, unknown>,
  parameters: Record<string, string>,
  pseudo: Pseudo,
  type: string,
): { logicalId: string; props: Record<string, unknown> }[] {
  const values: Record<string, string> = {};
  for (const [name, spec] of Object.entries(
    (template.Parameters ?? {}) as Record<string, { Default?: unknown }>,
  )) {
    const value = parameters[name] ?? (spec.Default === undefined ? undefined : String(spec.Default));
    if (value === undefined) throw new Error(`template parameter ${name} has no value`);
    values[name] = value;
  }
  values['AWS::AccountId'] = pseudo.accountId;
  values['AWS::Region'] = pseudo.region;
  values['AWS::Partition'] = pseudo.partition ?? 'aws';
  return Object.entries(
    (template.Resources ?? {}) as Record<string, { Type: string; Properties?: Record<string, unknown> }>,
  )
    .filter(([, resource]) => resource.Type === type)
    .map(([logicalId, resource]) => ({
      logicalId,
      props: resolveIntrinsics(resource.Properties ?? {}, values) as Record<string, unknown>,
    }));
}

function resolveIntrinsics(node: unknown, values: Record<string, string>): unknown {
  if (Array.isArray(node)) return node.map((n) => resolveIntrinsics(n, values));
  if (!node || typeof node !== 'object') return node;
  const record = node as Record<string, unknown>;
  if ('Ref' in record) {
    const name = String(record.Ref);
    if (!(name in values)) throw new Error(`template Ref to unknown parameter ${name}`);
    return values[name];
  }
  if ('Fn::Sub' in record) {
    const arg = record['Fn::Sub'];
    const [text, extra] = Array.isArray(arg)
      ? [String(arg[0]), (arg[1] ?? {}) as Record<string, unknown>]
      : [String(arg), {}];
    const scope = {
      ...values,
      ...Object.fromEntries(Object.entries(extra).map(([k, v]) => [k, String(resolveIntrinsics(v, values))])),
    };
    return text.replace(/\$\{([^}!]+)\}/g, (_, name: string) => {
      if (!(name in scope)) throw new Error(`template Fn::Sub names unknown variable ${name}`);
      return scope[name] as string;
    });
  }
  if ('Fn::Join' in record) {
    const [separator, parts] = record['Fn::Join'] as [string, unknown[]];
    return parts.map((p) => String(resolveIntrinsics(p, values))).join(separator);
  }
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(record)) out[key] = resolveIntrinsics(value, values);
  return out;
}
