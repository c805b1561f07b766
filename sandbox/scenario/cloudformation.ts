import { readFileSync } from 'node:fs';
import { parse, type Tags } from 'yaml';

/**
 * Reads a CloudFormation template as CloudFormation would for the parts the sandbox enforces:
 * short-form intrinsics (`!Sub`, `!Ref`, `!GetAtt`, `!If`, …) and parameter defaults. It resolves
 * `Ref`, `Fn::Sub`, `Fn::Join`, `Fn::GetAtt`, `Fn::If` (against the template's `Conditions`) and
 * `AWS::NoValue` against the given parameters, pseudo parameters and resource names. It also reads
 * `serverless.yml` as the framework would turn it into a template (`readServerlessStack`), so the
 * sandbox seeds the function roles from the one file that defines them.
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

/** What a template's `Ref` and `Fn::GetAtt` of its own resources resolve to, by logical id. */
export type ResourceValues = Record<string, { ref?: string; attributes?: Record<string, string> }>;

export interface ResolveScope {
  /** Template parameters by name (defaults applied) and pseudo parameters (`AWS::Region`, …). */
  values: Record<string, string>;
  resources: ResourceValues;
  conditions: Record<string, unknown>;
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
  return parseTemplateText(readFileSync(path, 'utf8'));
}

function parseTemplateText(text: string): Record<string, unknown> {
  // Anchors and aliases resolve to copies (serverless.yml shares statements through them).
  return parse(text, { customTags: INTRINSIC_TAGS, maxAliasCount: -1 }) as Record<string, unknown>;
}

/** Pseudo parameters of the account and Region a template is deployed in. */
export interface Pseudo {
  accountId: string;
  region: string;
  partition?: string;
}

/** The IAM roles a template creates, resolved for one account. */
export function templateRoles(
  template: Record<string, unknown>,
  parameters: Record<string, string>,
  pseudo: Pseudo,
  options: { resources?: ResourceValues; only?: readonly string[] } = {},
): TemplateRole[] {
  const scope = templateScope(template, parameters, pseudo, options.resources ?? {});
  const selected = (logicalId: string) => !options.only || options.only.includes(logicalId);
  return resolvedResources(template, 'AWS::IAM::Role', scope, selected).map(([logicalId, props]) => ({
    logicalId,
    roleName: String(props.RoleName ?? logicalId),
    path: String(props.Path ?? '/'),
    maxSessionDuration: Number(props.MaxSessionDuration ?? 3600),
    assumeRolePolicyDocument: props.AssumeRolePolicyDocument as Record<string, unknown>,
    inlinePolicies: inlinePoliciesOf(props),
    managedPolicyArns: (props.ManagedPolicyArns ?? []) as string[],
  }));
}

/** A customer managed policy a template creates (AWS::IAM::ManagedPolicy). */
export interface TemplateManagedPolicy {
  logicalId: string;
  policyName: string;
  path: string;
  description?: string;
  document: Record<string, unknown>;
}

/** The customer managed policies a template creates, resolved for one account. */
export function templateManagedPolicies(
  template: Record<string, unknown>,
  parameters: Record<string, string>,
  pseudo: Pseudo,
): TemplateManagedPolicy[] {
  const scope = templateScope(template, parameters, pseudo);
  return resolvedResources(template, 'AWS::IAM::ManagedPolicy', scope).map(([logicalId, props]) => ({
    logicalId,
    policyName: String(props.ManagedPolicyName ?? logicalId),
    path: String(props.Path ?? '/'),
    ...(props.Description === undefined ? {} : { description: String(props.Description) }),
    document: props.PolicyDocument as Record<string, unknown>,
  }));
}

/** An IAM group a template creates (AWS::IAM::Group), with its inline policies. */
export interface TemplateGroup {
  logicalId: string;
  groupName: string;
  path: string;
  inlinePolicies: { name: string; document: Record<string, unknown> }[];
  managedPolicyArns: string[];
}

/** The IAM groups a template creates, resolved for one account. */
export function templateGroups(
  template: Record<string, unknown>,
  parameters: Record<string, string>,
  pseudo: Pseudo,
): TemplateGroup[] {
  const scope = templateScope(template, parameters, pseudo);
  return resolvedResources(template, 'AWS::IAM::Group', scope).map(([logicalId, props]) => ({
    logicalId,
    groupName: String(props.GroupName ?? logicalId),
    path: String(props.Path ?? '/'),
    inlinePolicies: inlinePoliciesOf(props),
    managedPolicyArns: (props.ManagedPolicyArns ?? []) as string[],
  }));
}

/** The template's resources of one type, each with its properties resolved in the scope. */
function resolvedResources(
  template: Record<string, unknown>,
  type: string,
  scope: ReturnType<typeof templateScope>,
  selected: (logicalId: string) => boolean = () => true,
): [string, Record<string, unknown>][] {
  return Object.entries(
    (template.Resources ?? {}) as Record<string, { Type: string; Properties?: Record<string, unknown> }>,
  )
    .filter(([logicalId, resource]) => resource.Type === type && selected(logicalId))
    .map(([logicalId, resource]) => [
      logicalId,
      resolveIntrinsics(resource.Properties ?? {}, scope) as Record<string, unknown>,
    ]);
}

/** A role's or group's `Policies` (inline policies), as name and document. */
function inlinePoliciesOf(
  props: Record<string, unknown>,
): { name: string; document: Record<string, unknown> }[] {
  return ((props.Policies ?? []) as { PolicyName: string; PolicyDocument: Record<string, unknown> }[]).map(
    (p) => ({ name: p.PolicyName, document: p.PolicyDocument }),
  );
}

/** The scope a template resolves in: its parameters (defaults applied), pseudo parameters, resources. */
export function templateScope(
  template: Record<string, unknown>,
  parameters: Record<string, string>,
  pseudo: Pseudo,
  resources: ResourceValues = {},
): ResolveScope {
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
  values['AWS::URLSuffix'] = 'amazonaws.com';
  return { values, resources, conditions: (template.Conditions ?? {}) as Record<string, unknown> };
}

/** Removed from its object or list, as AWS::NoValue is. */
const NO_VALUE = Symbol('AWS::NoValue');

/** A value with every intrinsic function resolved, as CloudFormation would deploy it. */
export function resolveIntrinsics(node: unknown, scope: ResolveScope): unknown {
  if (Array.isArray(node)) return node.map((n) => resolveIntrinsics(n, scope)).filter((v) => v !== NO_VALUE);
  if (!node || typeof node !== 'object') return node;
  const record = node as Record<string, unknown>;
  const keys = Object.keys(record);
  if (keys.length === 1) {
    const key = keys[0] as string;
    const arg = record[key];
    switch (key) {
      case 'Ref':
        return ref(String(arg), scope);
      case 'Fn::GetAtt': {
        const [logicalId, attribute] = (Array.isArray(arg) ? arg : String(arg).split('.')) as [
          string,
          string,
        ];
        return getAtt(logicalId, attribute, scope);
      }
      case 'Fn::Sub': {
        const [text, extra] = Array.isArray(arg)
          ? [String(arg[0]), (arg[1] ?? {}) as Record<string, unknown>]
          : [String(arg), {}];
        return text.replace(/\$\{([^}!]+)\}/g, (_, name: string) => {
          if (name in extra) return String(resolveIntrinsics(extra[name], scope));
          const dot = name.indexOf('.');
          if (dot > 0 && !name.startsWith('AWS::'))
            return getAtt(name.slice(0, dot), name.slice(dot + 1), scope);
          const value = ref(name, scope);
          if (typeof value !== 'string')
            throw new Error(`template Fn::Sub names ${name}, which has no value`);
          return value;
        });
      }
      case 'Fn::Join': {
        const [separator, parts] = arg as [string, unknown[]];
        return (resolveIntrinsics(parts, scope) as unknown[]).map(String).join(separator);
      }
      case 'Fn::If': {
        const [condition, yes, no] = arg as [string, unknown, unknown];
        return resolveIntrinsics(evaluateCondition(condition, scope) ? yes : no, scope);
      }
    }
  }
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(record)) {
    const resolved = resolveIntrinsics(value, scope);
    if (resolved !== NO_VALUE) out[key] = resolved;
  }
  return out;
}

/** Whether one of the template's `Conditions` holds. */
export function evaluateCondition(name: string, scope: ResolveScope): boolean {
  const body = scope.conditions[name];
  if (body === undefined) throw new Error(`template names the unknown condition ${name}`);
  return conditionHolds(body, scope);
}

function conditionHolds(body: unknown, scope: ResolveScope): boolean {
  const fn = body as Record<string, unknown[]>;
  if (fn['Fn::Equals']) {
    const [a, b] = fn['Fn::Equals'].map((v) => resolveIntrinsics(v, scope));
    return a === b;
  }
  if (fn['Fn::Not']) return !conditionHolds(fn['Fn::Not'][0], scope);
  if (fn['Fn::And']) return fn['Fn::And'].every((c) => conditionHolds(c, scope));
  if (fn['Fn::Or']) return fn['Fn::Or'].some((c) => conditionHolds(c, scope));
  const named = (body as { Condition?: unknown }).Condition;
  if (typeof named === 'string') return evaluateCondition(named, scope);
  throw new Error(`unsupported template condition ${JSON.stringify(body)}`);
}

function ref(name: string, scope: ResolveScope): unknown {
  if (name === 'AWS::NoValue') return NO_VALUE;
  if (name in scope.values) return scope.values[name];
  const value = scope.resources[name]?.ref;
  if (value === undefined) throw new Error(`template Ref to unknown parameter or resource ${name}`);
  return value;
}

function getAtt(logicalId: string, attribute: string, scope: ResolveScope): string {
  const value = scope.resources[logicalId]?.attributes?.[attribute];
  if (value === undefined) throw new Error(`template Fn::GetAtt ${logicalId}.${attribute} has no value here`);
  return value;
}

/** serverless.yml as the framework compiles it, for the parts the sandbox deploys. */
export interface ServerlessStack {
  /** CloudFormation's view: the `resources` section, with the framework's variables substituted. */
  template: {
    Conditions: Record<string, unknown>;
    Resources: Record<string, unknown>;
    Outputs: Record<string, { Value: unknown; Condition?: string }>;
  };
  /** Each function (its key in serverless.yml) and the logical id of the role it runs as. */
  functions: { key: string; roleLogicalId: string }[];
  /** The provider's environment, every function's (variables substituted, intrinsics not). */
  environment: Record<string, unknown>;
}

/**
 * Reads serverless.yml and substitutes the framework's own variables — `${param:NAME}` (from
 * `params.default`, then `params`), `${sls:stage}`, `${opt:NAME, 'default'}` — as `osls package`
 * does before CloudFormation sees the template; CloudFormation's `${AWS::…}` and `${Resource.Attr}`
 * are left for resolveIntrinsics.
 */
export function readServerlessStack(
  path: string,
  options: { stage: string; params?: Record<string, string>; region?: string },
): ServerlessStack {
  const raw = parseTemplateText(readFileSync(path, 'utf8'));
  const defaults = ((raw.params as { default?: Record<string, unknown> } | undefined)?.default ??
    {}) as Record<string, unknown>;
  const params: Record<string, string> = {
    ...Object.fromEntries(Object.entries(defaults).map(([k, v]) => [k, String(v)])),
    ...options.params,
  };
  const opts: Record<string, string> = {
    stage: options.stage,
    ...(options.region ? { region: options.region } : {}),
  };
  const substitute = (node: unknown): unknown => {
    if (typeof node === 'string') return substituteVariables(node, params, opts);
    if (Array.isArray(node)) return node.map(substitute);
    if (node && typeof node === 'object')
      return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, substitute(v)]));
    return node;
  };
  const resources = (raw.resources ?? {}) as { Conditions?: unknown; Resources?: unknown; Outputs?: unknown };
  const functions = Object.entries((raw.functions ?? {}) as Record<string, { role?: unknown }>).map(
    ([key, fn]) => {
      if (typeof fn.role !== 'string') throw new Error(`serverless.yml: function ${key} names no role`);
      return { key, roleLogicalId: fn.role };
    },
  );
  return {
    template: {
      Conditions: substitute(resources.Conditions ?? {}) as Record<string, unknown>,
      Resources: substitute(resources.Resources ?? {}) as Record<string, unknown>,
      Outputs: substitute(resources.Outputs ?? {}) as ServerlessStack['template']['Outputs'],
    },
    functions,
    environment: substitute(
      ((raw.provider as { environment?: unknown } | undefined)?.environment ?? {}) as Record<string, unknown>,
    ) as Record<string, unknown>,
  };
}

const FRAMEWORK_VARIABLE = /\$\{(param|sls|opt):([^},]+)(?:,\s*'([^']*)')?\}/g;

function substituteVariables(
  text: string,
  params: Record<string, string>,
  opts: Record<string, string>,
): string {
  return text.replace(FRAMEWORK_VARIABLE, (whole, source: string, name: string, fallback?: string) => {
    const key = name.trim();
    const value =
      source === 'param'
        ? params[key]
        : source === 'sls'
          ? key === 'stage'
            ? opts.stage
            : undefined
          : opts[key];
    const resolved = value ?? fallback;
    if (resolved === undefined) throw new Error(`serverless.yml: ${whole} has no value`);
    return resolved;
  });
}
