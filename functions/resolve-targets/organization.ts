import {
  type Account,
  AccountNotFoundException,
  DescribeAccountCommand,
  DescribeOrganizationalUnitCommand,
  DescribeOrganizationCommand,
  type OrganizationsClient,
  paginateListAccountsForParent,
  paginateListOrganizationalUnitsForParent,
  paginateListParents,
  paginateListRoots,
} from '@aws-sdk/client-organizations';

/**
 * The organization as ResolveTargets reads it: every account with its OU path ("Workloads/Prod",
 * "" for the root) and the metadata a run needs. Only `State` is read, never the retired `Status`
 * (AWS retires it on 2026-09-09, and it says SUSPENDED for a CLOSED account). Every listing goes
 * through the SDK paginators, which follow NextToken through the empty pages Organizations may
 * return; stopping at an empty page would silently drop the rest of the organization.
 */
export interface OrganizationAccount {
  accountId: string;
  name: string;
  /** OU names from the root down, joined with "/"; "" for an account directly under the root. */
  ou: string;
  /** The OU ids from the root down to the account's parent, for the recursive OU filter. */
  ouIds: string[];
  /** The organization's root above the account: a scope may name it (functions/resolve-targets/scope.ts). */
  rootId: string | undefined;
  /** ACTIVE, SUSPENDED, PENDING_CLOSURE, CLOSED, PENDING_ACTIVATION; undefined if AWS sent none. */
  state: string | undefined;
  joinedMethod: 'CREATED' | 'INVITED';
  joinedTimestamp: string | undefined;
}

export interface OrganizationView {
  managementAccountId: string;
  accounts: Map<string, OrganizationAccount>;
  /** Every OU by id, with its path. */
  ous: Map<string, { id: string; path: string }>;
  rootIds: Set<string>;
}

/**
 * Organizations shares one token bucket across the central account's callers: a few parents at a
 * time keep the walk of a 2,000-OU organization well under it, and the SDK retries the rest.
 */
const PARENTS_AT_ONCE = 4;

/** Organizations caps every List* page at 20; asking for the maximum halves the calls. */
const PAGE_SIZE = 20;

/**
 * The whole organization in about two calls per OU plus one per 20 accounts: the OU tree level by
 * level (ListOrganizationalUnitsForParent gives the names ListChildren does not), and each
 * parent's own accounts (ListAccountsForParent, which is not recursive).
 */
export async function walkOrganization(client: OrganizationsClient): Promise<OrganizationView> {
  const managementAccountId = await managementAccount(client);
  const accounts = new Map<string, OrganizationAccount>();
  const ous = new Map<string, { id: string; path: string }>();
  const rootIds = new Set<string>();
  for await (const page of paginateListRoots({ client, pageSize: PAGE_SIZE }, {})) {
    for (const root of page.Roots ?? []) if (root.Id) rootIds.add(root.Id);
  }
  let frontier: Parent[] = [...rootIds].map((id) => ({ id, path: [], ouIds: [], rootId: id }));
  while (frontier.length > 0) {
    const next: Parent[] = [];
    await forEachLimited(frontier, PARENTS_AT_ONCE, async (parent) => {
      const [children, members] = await Promise.all([
        listOus(client, parent.id),
        listAccounts(client, parent.id),
      ]);
      for (const ou of children) {
        const child = {
          id: ou.id,
          path: [...parent.path, ou.name],
          ouIds: [...parent.ouIds, ou.id],
          rootId: parent.rootId,
        };
        ous.set(ou.id, { id: ou.id, path: child.path.join('/') });
        next.push(child);
      }
      for (const account of members) {
        const info = accountInfo(account, parent.path.join('/'), parent.ouIds, parent.rootId);
        if (info) accounts.set(info.accountId, info);
      }
    });
    frontier = next;
  }
  return { managementAccountId, accounts, ous, rootIds };
}

/**
 * One account, for a lifecycle event: DescribeAccount and a walk up its parents, a handful of
 * calls where the full walk of a large organization would take hundreds. Undefined when the
 * account is not in the organization. The caller has the management account already
 * (`managementAccount`): it checks the event's envelope against it first.
 */
export async function describeOrganizationAccount(
  client: OrganizationsClient,
  accountId: string,
): Promise<OrganizationAccount | undefined> {
  let described: Account | undefined;
  try {
    described = (await client.send(new DescribeAccountCommand({ AccountId: accountId }))).Account;
  } catch (error) {
    if (error instanceof AccountNotFoundException) return undefined;
    throw error;
  }
  const path: string[] = [];
  const ouIds: string[] = [];
  // OUs nest at most five deep; the bound only guards against a cycle in a misbehaving answer.
  let child = accountId;
  let rootId: string | undefined;
  for (let depth = 0; depth < 10; depth++) {
    const parent = await parentOf(client, child);
    if (parent?.type === 'ROOT') rootId = parent.id;
    if (parent?.type !== 'ORGANIZATIONAL_UNIT') break;
    const ou = await client.send(new DescribeOrganizationalUnitCommand({ OrganizationalUnitId: parent.id }));
    path.unshift(ou.OrganizationalUnit?.Name ?? parent.id);
    ouIds.unshift(parent.id);
    child = parent.id;
  }
  return described && accountInfo(described, path.join('/'), ouIds, rootId);
}

// ---------------------------------------------------------------- helpers

interface Parent {
  id: string;
  path: string[];
  ouIds: string[];
  rootId: string;
}

/** The organization's management account (DescribeOrganization's MasterAccountId). */
export async function managementAccount(client: OrganizationsClient): Promise<string> {
  const out = await client.send(new DescribeOrganizationCommand({}));
  const id = out.Organization?.MasterAccountId;
  if (!id) throw new Error('DescribeOrganization returned no management account id');
  return id;
}

async function listOus(
  client: OrganizationsClient,
  parentId: string,
): Promise<{ id: string; name: string }[]> {
  const ous: { id: string; name: string }[] = [];
  const pages = paginateListOrganizationalUnitsForParent(
    { client, pageSize: PAGE_SIZE },
    { ParentId: parentId },
  );
  for await (const page of pages) {
    for (const ou of page.OrganizationalUnits ?? [])
      if (ou.Id) ous.push({ id: ou.Id, name: ou.Name ?? ou.Id });
  }
  return ous;
}

async function listAccounts(client: OrganizationsClient, parentId: string): Promise<Account[]> {
  const accounts: Account[] = [];
  for await (const page of paginateListAccountsForParent(
    { client, pageSize: PAGE_SIZE },
    { ParentId: parentId },
  )) {
    accounts.push(...(page.Accounts ?? []));
  }
  return accounts;
}

async function parentOf(
  client: OrganizationsClient,
  childId: string,
): Promise<{ id: string; type: string } | undefined> {
  for await (const page of paginateListParents({ client, pageSize: PAGE_SIZE }, { ChildId: childId })) {
    // Every account and OU has exactly one parent; the first non-empty page holds it.
    const parent = page.Parents?.find((p) => p.Id);
    if (parent?.Id) return { id: parent.Id, type: parent.Type ?? 'ROOT' };
  }
  return undefined;
}

function accountInfo(
  account: Account,
  ou: string,
  ouIds: string[],
  rootId: string | undefined,
): OrganizationAccount | undefined {
  if (!account.Id) return undefined;
  return {
    accountId: account.Id,
    name: account.Name ?? '',
    ou,
    ouIds,
    rootId,
    state: account.State,
    // The two join methods AWS has; an account without one is treated as invited, the case whose
    // remediation (deploy the member role) applies when the role turns out to be missing.
    joinedMethod: account.JoinedMethod === 'CREATED' ? 'CREATED' : 'INVITED',
    joinedTimestamp: account.JoinedTimestamp?.toISOString(),
  };
}

/** Runs `work` over `items`, at most `limit` at a time. */
async function forEachLimited<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
