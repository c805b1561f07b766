import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Principal } from './credentials';
import type { IamRole, PolicyDocument, World } from './world';

/**
 * Which grant of which casbridge role the sandbox's policy evaluation let a call through, so a
 * whole test run can show that every grant the templates give is used by some code path (and a
 * grant no code path uses fails: test/grant-usage-reporter.cjs). A grant is one action on one
 * resource entry of one statement, named by the template that defines the role:
 * `<template>:<logical id> <Sid> <action> #<resource index>`.
 */
export interface TemplateRoleOrigin {
  /** `serverless.yml` or `templates/member-role.yml`. */
  template: string;
  logicalId: string;
}

/** Set by the jest configuration: each sandbox of a test process writes its usage here on close. */
export const GRANT_USAGE_DIR_VARIABLE = 'CASBRIDGE_GRANT_USAGE_DIR';

const origins = new WeakMap<IamRole, TemplateRoleOrigin>();
const allowed = new WeakMap<World, Map<string, AllowedCall>>();

interface AllowedCall {
  accountId: string;
  roleName: string;
  action: string;
  resource: string;
}

/** Marks a role the sandbox created from a template, so its grants are tracked. */
export function markTemplateRole(role: IamRole, origin: TemplateRoleOrigin): void {
  origins.set(role, origin);
}

/**
 * Sessions a test makes by hand to act as a casbridge role (test/support/sandbox.ts
 * memberRoleCredentials), to exercise the emulator itself: not a code path of casbridge's, so
 * their calls show no grant as used. casbridge's own sessions are named after the function (a
 * function role's, by Lambda) or the run (the member role's, `casbridge-<runId>`).
 */
export const HAND_MADE_SESSION_PREFIX = 'by-hand-';

/** Notes an allowed call by a role session (users are never casbridge's roles). */
export function recordAllowed(world: World, principal: Principal, action: string, resource: string): void {
  if (principal.kind !== 'role-session' || principal.sessionName.startsWith(HAND_MADE_SESSION_PREFIX)) return;
  let calls = allowed.get(world);
  if (!calls) {
    calls = new Map();
    allowed.set(world, calls);
  }
  const key = `${principal.accountId} ${principal.roleName} ${action} ${resource}`;
  if (!calls.has(key))
    calls.set(key, { accountId: principal.accountId, roleName: principal.roleName, action, resource });
}

/** The grants of the world's template roles that some allowed call used. */
export function usedGrants(world: World): string[] {
  const used = new Set<string>();
  for (const call of allowed.get(world)?.values() ?? []) {
    const role = world.accounts.get(call.accountId)?.iam.roles.get(call.roleName.toLowerCase());
    const origin = role && origins.get(role);
    if (!role || !origin) continue;
    for (const document of role.inlinePolicies.values()) {
      for (const grant of grantsOf(document)) {
        if (
          grant.action.toLowerCase() === call.action.toLowerCase() &&
          globMatches(grant.resource, call.resource)
        )
          used.add(grantKey(origin, grant));
      }
    }
  }
  return [...used].sort();
}

/** Every Allow statement's (action, resource) pairs, with the statement's Sid and resource index. */
export function grantsOf(
  document: PolicyDocument | Record<string, unknown>,
): { sid: string; action: string; resource: string; index: number }[] {
  const statements = (document as { Statement?: unknown }).Statement;
  const list = (Array.isArray(statements) ? statements : [statements]) as Record<string, unknown>[];
  return list.flatMap((statement, n) => {
    if (statement?.Effect !== 'Allow') return [];
    const sid = typeof statement.Sid === 'string' ? statement.Sid : `#${n}`;
    const actions = ([] as unknown[]).concat(statement.Action ?? []).map(String);
    const resources = ([] as unknown[]).concat(statement.Resource ?? []).map(String);
    return actions.flatMap((action) =>
      resources.map((resource, index) => ({ sid, action, resource, index })),
    );
  });
}

export function grantKey(
  origin: TemplateRoleOrigin,
  grant: { sid: string; action: string; index: number },
): string {
  return `${origin.template}:${origin.logicalId} ${grant.sid} ${grant.action} #${grant.index}`;
}

/** IAM's ARN patterns: `*` any run of characters, `?` one. */
function globMatches(pattern: string, value: string): boolean {
  const regex = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  );
  return regex.test(value);
}

let written = 0;

/** Writes the world's used grants to the directory the environment names, if it names one. */
export function writeGrantUsage(world: World, env: Record<string, string | undefined> = process.env): void {
  const dir = env[GRANT_USAGE_DIR_VARIABLE];
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${process.pid}-${Date.now()}-${++written}.json`);
  writeFileSync(file, JSON.stringify({ used: usedGrants(world) }));
}
