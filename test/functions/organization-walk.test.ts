import type { OrganizationsClient } from '@aws-sdk/client-organizations';
import { organizationsClient } from '../../commons/clients/organizations';
import { createRuntime } from '../../commons/runtime';
import {
  LISTINGS_AT_ONCE,
  type OrganizationView,
  walkOrganization,
} from '../../functions/resolve-targets/organization';
import type { ScenarioInput } from '../../sandbox/scenario/scenario';
import { functionRoleSettings, sandboxConfig } from '../support/product';
import { useSandbox } from '../support/sandbox';

/**
 * An organization of nested OUs where some parents hold more than one 20-item page: accounts
 * (Workloads/Prod has 45, Workloads 30, Workloads/Dev 25) and OUs (Teams has 22), beside parents
 * with a handful, none, or only OUs. The sandbox serves its empty pages with a NextToken too.
 */
const OUS: Record<string, number> = {
  Workloads: 30,
  'Workloads/Prod': 45,
  'Workloads/Prod/Payments': 5,
  'Workloads/Prod/Payments/Cards': 21,
  'Workloads/Dev': 25,
  Security: 0,
  'Security/Logs': 1,
  Empty: 0,
  ...Object.fromEntries(
    Array.from({ length: 22 }, (_, i) => [`Teams/Team${String(i + 1).padStart(2, '0')}`, 2]),
  ),
};
const AT_ROOT = 3;

function scenario(): ScenarioInput {
  let next = 1;
  const member = (ou: string) => {
    const n = next++;
    return { id: String(500_000_000_000 + n), name: `member-${n}`, ou };
  };
  return {
    seed: 20261202,
    organizationalUnits: Object.keys(OUS),
    accounts: [
      ...Array.from({ length: AT_ROOT }, () => member('')),
      ...Object.entries(OUS).flatMap(([ou, count]) => Array.from({ length: count }, () => member(ou))),
    ],
  };
}

/** Every account's id and OU path, and every OU's path, in the walk's order. */
function listed(view: OrganizationView) {
  return {
    accounts: [...view.accounts.values()].map(
      (a) => `${a.accountId} ${a.ou} ${a.ouIds.join('>')} ${a.rootId}`,
    ),
    ous: [...view.ous.values()].map((o) => `${o.id} ${o.path}`),
  };
}

describe('the organization walk before the map', () => {
  const sandbox = useSandbox({ scenario: scenario() });

  /** ResolveTargets' own client, as its role: a new runtime's, so a test may add to its stack. */
  async function client(): Promise<OrganizationsClient> {
    const settings = await functionRoleSettings(sandbox(), 'resolveTargets');
    return organizationsClient(createRuntime(sandboxConfig(sandbox()), settings));
  }

  it('finds every account with its OU path, the same and in the same order as walking one listing at a time', async () => {
    const parallel = await walkOrganization(await client());
    const sequential = await walkOrganization(await client(), { listingsAtOnce: 1 });
    expect(listed(parallel)).toEqual(listed(sequential));
    // And as the sandbox's organization has them: every member with its OU, the management account.
    const expected = new Map(scenario().accounts.map((a) => [a.id, a.ou]));
    expected.set(sandbox().world.organization.managementAccountId, '');
    expect(new Map([...parallel.accounts.values()].map((a) => [a.accountId, a.ou]))).toEqual(expected);
    expect(new Set([...parallel.ous.values()].map((o) => o.path))).toEqual(
      new Set([...Object.keys(OUS), 'Teams']),
    );
    // A second walk lists them in the same order: the report and targets.json do not reorder.
    expect(listed(await walkOrganization(await client()))).toEqual(listed(parallel));
  });

  it("asks for a parent's next page only with its previous page's token, while other parents' listings run", async () => {
    const organizations = await client();
    type Chain = {
      inFlight: number;
      maxInFlight: number;
      asked: (string | undefined)[];
      got: (string | undefined)[];
    };
    const chains = new Map<string, Chain>();
    let inFlight = 0;
    let maxInFlight = 0;
    organizations.middlewareStack.add(
      (next, context) => async (args) => {
        const input = args.input as { ParentId?: string; NextToken?: string };
        const key = `${context.commandName} ${input.ParentId ?? ''}`;
        const chain = chains.get(key) ?? { inFlight: 0, maxInFlight: 0, asked: [], got: [] };
        chains.set(key, chain);
        chain.asked.push(input.NextToken);
        chain.inFlight++;
        chain.maxInFlight = Math.max(chain.maxInFlight, chain.inFlight);
        maxInFlight = Math.max(maxInFlight, ++inFlight);
        try {
          const result = await next(args);
          chain.got.push((result.output as { NextToken?: string }).NextToken);
          return result;
        } finally {
          chain.inFlight--;
          inFlight--;
        }
      },
      { step: 'initialize', name: 'recordListingChains' },
    );

    await walkOrganization(organizations);

    const listings = [...chains].filter(([key]) => !key.endsWith(' ')); // DescribeOrganization, ListRoots: no parent
    // Two listings per parent: the root, Teams and each OU above.
    expect(listings).toHaveLength(2 * (1 + 1 + Object.keys(OUS).length));
    for (const [key, chain] of listings) {
      // One page of a parent at a time, each asked with the token the page before it returned.
      expect({ key, maxInFlight: chain.maxInFlight }).toEqual({ key, maxInFlight: 1 });
      expect({ key, asked: chain.asked }).toEqual({ key, asked: [undefined, ...chain.got.slice(0, -1)] });
      expect(chain.got.at(-1)).toBeUndefined();
    }
    // Longer chains than one page were walked (45 accounts: three pages and the empty ones).
    expect(Math.max(...listings.map(([, c]) => c.asked.length))).toBeGreaterThan(3);
    // Side by side across parents, never more than the bound at once.
    expect(maxInFlight).toBeGreaterThan(1);
    expect(maxInFlight).toBeLessThanOrEqual(LISTINGS_AT_ONCE);
  });

  it('rides out one Organizations request throttled as often as the SDK gives up after by default', async () => {
    // The standard retry mode gives up after three attempts, and one page given up fails the walk.
    sandbox().world.faults.inject(sandbox().world.organization.managementAccountId, {
      service: 'organizations',
      operation: 'DescribeOrganization',
      code: 'TooManyRequestsException',
      remaining: 3,
    });
    const mark = sandbox().world.callLog.mark();
    const view = await walkOrganization(await client());
    expect(view.accounts.size).toBe(scenario().accounts.length + 1);
    expect(
      sandbox()
        .world.callLog.list({ sinceSeq: mark, operation: 'DescribeOrganization' })
        .map((c) => c.errorCode ?? 'ok'),
    ).toEqual([...Array.from({ length: 3 }, () => 'TooManyRequestsException'), 'ok']);
  });
});
