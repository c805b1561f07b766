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
 * Organizations shares one token bucket across the central account's callers, and AWS publishes
 * no rate for it. Four listings at a time: under the benchmark's assumed 20 reads/s a 10,000-account
 * organization in 100 OUs takes 41 s to walk at four (88 s one listing at a time, 40 s at three,
 * 46 s at eight with three times the throttled requests); more only meets the bucket sooner. The
 * client's adaptive retries (commons/clients/organizations.ts) absorb the rest.
 */
export const LISTINGS_AT_ONCE = 4;

/** Organizations caps every List* page at 20; asking for the maximum halves the calls. */
const PAGE_SIZE = 20;

/**
 * The whole organization in about two calls per OU plus one per 20 accounts: the OU tree
 * (ListOrganizationalUnitsForParent gives the names ListChildren does not), and each parent's own
 * accounts (ListAccountsForParent, which is not recursive). Each parent's two listings are
 * chains, a page asked for only with the previous page's NextToken; the chains of different
 * parents run side by side, up to `listingsAtOnce`, and an OU's listings start as soon as its
 * parent's OU listing has named it, not when its whole level is done. So the walk takes the
 * longest path of chains down the tree (in a one-OU organization, that OU's account pages), or what
 * Organizations' rate allows for all of them, rather than the sum of every parent's pages. The result is built afterwards in the tree's order, OUs and
 * accounts in the order Organizations listed them, so it does not depend on which listing
 * finished first.
 */
export async function walkOrganization(
  client: OrganizationsClient,
  { listingsAtOnce = LISTINGS_AT_ONCE }: { listingsAtOnce?: number } = {},
): Promise<OrganizationView> {
  const rootIds = new Set<string>();
  const [managementAccountId] = await Promise.all([
    managementAccount(client),
    (async () => {
      for await (const page of paginateListRoots({ client, pageSize: PAGE_SIZE }, {})) {
        for (const root of page.Roots ?? []) if (root.Id) rootIds.add(root.Id);
      }
    })(),
  ]);
  const roots: ParentNode[] = [...rootIds].map((id) => ({ id, path: [], ouIds: [], rootId: id }));
  const listings = new ListingPool(listingsAtOnce);
  const visit = (parent: ParentNode) => {
    listings.add(async () => {
      parent.children = (await listOus(client, parent.id)).map((ou) => ({
        id: ou.id,
        name: ou.name,
        path: [...parent.path, ou.name],
        ouIds: [...parent.ouIds, ou.id],
        rootId: parent.rootId,
      }));
      for (const child of parent.children) visit(child);
    });
    listings.add(async () => {
      parent.accounts = await listAccounts(client, parent.id);
    });
  };
  for (const root of roots) visit(root);
  await listings.done();

  const accounts = new Map<string, OrganizationAccount>();
  const ous = new Map<string, { id: string; path: string }>();
  // Breadth first, as the walk went when it went level by level.
  for (let level = roots; level.length > 0; level = level.flatMap((p) => p.children ?? [])) {
    for (const parent of level) {
      for (const child of parent.children ?? [])
        ous.set(child.id, { id: child.id, path: child.path.join('/') });
      for (const account of parent.accounts ?? []) {
        const info = accountInfo(account, parent.path.join('/'), parent.ouIds, parent.rootId);
        if (info) accounts.set(info.accountId, info);
      }
    }
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

/** A parent as the walk fills it in: its OUs and its accounts, once their listings are done. */
interface ParentNode extends Parent {
  children?: ParentNode[];
  accounts?: Account[];
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

/**
 * Listings run at most `limit` at a time, each to its end once started (a chain of pages keeps its
 * slot: handing the slot over between pages would make a long chain wait behind every other
 * listing at each of its pages), the rest in the order they were added. `done` settles once every
 * listing added, those added by other listings included, has finished, or rejects with the first
 * failure; no listing starts after one has failed.
 */
class ListingPool {
  private readonly queue: (() => Promise<void>)[] = [];
  private running = 0;
  private failure: { error: unknown } | undefined;
  private settle: { resolve: () => void; reject: (error: unknown) => void } | undefined;

  constructor(private readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1)
      throw new RangeError(`listingsAtOnce must be a positive integer, not ${limit}`);
  }

  add(listing: () => Promise<void>): void {
    this.queue.push(listing);
    this.startNext();
  }

  done(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.settle = { resolve, reject };
      this.check();
    });
  }

  private startNext(): void {
    while (!this.failure && this.running < this.limit && this.queue.length > 0) {
      const listing = this.queue.shift() as () => Promise<void>;
      this.running++;
      listing().then(
        () => this.finished(),
        (error: unknown) => {
          this.failure ??= { error };
          this.finished();
        },
      );
    }
  }

  private finished(): void {
    this.running--;
    this.startNext();
    this.check();
  }

  private check(): void {
    if (!this.settle) return;
    if (this.failure && this.running === 0) this.settle.reject(this.failure.error);
    else if (!this.failure && this.running === 0 && this.queue.length === 0) this.settle.resolve();
  }
}
