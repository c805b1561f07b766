import {
  DescribeOrganizationalUnitCommand,
  OrganizationalUnitNotFoundException,
  type OrganizationsClient,
  paginateListRoots,
} from '@aws-sdk/client-organizations';
import type { Config } from '../../commons/config';
import { ConfigurationError } from '../../commons/errors';

/**
 * The configured scope (CASBRIDGE_SCOPE_OUS, CASBRIDGE_SCOPE_EXCLUDED_OUS): the accounts that
 * onboard, reconcile and event runs manage. An account is in scope when its path from the root
 * (the root, then every OU down to its parent) holds none of the excluded OUs and, with scope OUs
 * configured, at least one of them; both lists are recursive. Without scope OUs, the whole
 * organization is in scope.
 */
export function inScope(
  config: Pick<Config, 'scopeOus' | 'scopeExcludedOus'>,
  account: { rootId?: string | undefined; ouIds: readonly string[] },
): boolean {
  const path = new Set(account.rootId ? [account.rootId, ...account.ouIds] : account.ouIds);
  if (config.scopeExcludedOus.some((id) => path.has(id))) return false;
  return config.scopeOus.length === 0 || config.scopeOus.some((id) => path.has(id));
}

/**
 * A scope that names an OU or root the organization does not have is refused before any account
 * is touched: a mistyped id would put every account out of scope, and with
 * CASBRIDGE_OUT_OF_SCOPE_ACTION=offboard offboard a branch of the organization.
 */
export function checkScope(config: Config, known: { ous: ReadonlySet<string>; roots: ReadonlySet<string> }) {
  const unknown = [...config.scopeOus, ...config.scopeExcludedOus].filter(
    (id) => !(id.startsWith('r-') ? known.roots : known.ous).has(id),
  );
  if (unknown.length > 0) throw unknownScope(unknown);
}

/**
 * The same check for one event's account, which has no walk of the organization to check
 * against: only once the account is found out of scope (an account under a scope OU proves
 * that OU exists), one DescribeOrganizationalUnit per scope OU and one ListRoots for a root.
 */
export async function checkScopeExists(config: Config, organizations: OrganizationsClient): Promise<void> {
  const unknown: string[] = [];
  let roots: Set<string> | undefined;
  for (const id of config.scopeOus) {
    if (id.startsWith('r-')) {
      roots ??= await rootIds(organizations);
      if (!roots.has(id)) unknown.push(id);
      continue;
    }
    try {
      await organizations.send(new DescribeOrganizationalUnitCommand({ OrganizationalUnitId: id }));
    } catch (error) {
      if (!(error instanceof OrganizationalUnitNotFoundException)) throw error;
      unknown.push(id);
    }
  }
  if (unknown.length > 0) throw unknownScope(unknown);
}

async function rootIds(organizations: OrganizationsClient): Promise<Set<string>> {
  const ids = new Set<string>();
  for await (const page of paginateListRoots({ client: organizations }, {}))
    for (const root of page.Roots ?? []) if (root.Id) ids.add(root.Id);
  return ids;
}

function unknownScope(ids: readonly string[]): ConfigurationError {
  return new ConfigurationError(
    `CASBRIDGE_SCOPE_OUS / CASBRIDGE_SCOPE_EXCLUDED_OUS name ${ids.join(', ')}, which the organization does not have: fix the scopeOus / scopeExcludedOus parameter (nothing was changed)`,
    { step: 'resolve' },
  );
}
