import {
  type Account,
  DescribeAccountCommand,
  DescribeOrganizationalUnitCommand,
  DescribeOrganizationCommand,
  ListAccountsCommand,
  ListAccountsForParentCommand,
  ListAWSServiceAccessForOrganizationCommand,
  ListOrganizationalUnitsForParentCommand,
  ListParentsCommand,
  ListRootsCommand,
  ListTagsForResourceCommand,
  OrganizationsClient,
  paginateListAccounts,
  paginateListAccountsForParent,
  paginateListChildren,
} from '@aws-sdk/client-organizations';
import type { SandboxCredentials } from '../../sandbox';
import { defaultAccountId } from '../../sandbox/scenario/default-scenario';
import { assumeRole, memberRoleCredentials, useSandbox } from '../support/sandbox';

const MEMBER_ACCOUNTS = 45;

describe('Organizations', () => {
  const sandbox = useSandbox({ accounts: MEMBER_ACCOUNTS });
  const client = (credentials?: SandboxCredentials, maxAttempts?: number) =>
    new OrganizationsClient({
      ...sandbox().clientConfig(credentials),
      ...(maxAttempts === undefined ? {} : { maxAttempts }),
    });
  const org = () => sandbox().world.organization;
  const ouIdNamed = (name: string) => {
    const ou = [...org().ous.values()].find((o) => o.name === name);
    if (!ou) throw new Error(`no OU named ${name}`);
    return ou.id;
  };

  it('lists every account exactly once through the SDK paginator although some pages are empty', async () => {
    const pages: { count: number; nextToken: string | undefined }[] = [];
    const accounts: Account[] = [];
    for await (const page of paginateListAccounts({ client: client() }, {})) {
      pages.push({ count: page.Accounts?.length ?? 0, nextToken: page.NextToken });
      accounts.push(...(page.Accounts ?? []));
    }

    const ids = accounts.map((a) => a.Id);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual([...org().accounts.keys()].sort());
    expect(ids).toHaveLength(MEMBER_ACCOUNTS + 1);
    expect(pages.some((p) => p.count === 0 && p.nextToken !== undefined)).toBe(true);
    expect(pages.every((p) => p.count <= 20)).toBe(true);
    for (const account of accounts) {
      expect(account.State).toEqual(expect.any(String));
      expect(account.JoinedMethod).toMatch(/^(CREATED|INVITED)$/);
      expect(account.JoinedTimestamp).toBeInstanceOf(Date);
    }
  });

  it('makes a caller that stops at the first empty page miss accounts', async () => {
    const seen: string[] = [];
    let nextToken: string | undefined;
    do {
      const page = await client().send(new ListAccountsCommand({ NextToken: nextToken }));
      if (!page.Accounts?.length) break;
      seen.push(...page.Accounts.map((a) => a.Id ?? ''));
      nextToken = page.NextToken;
    } while (nextToken);

    expect(seen.length).toBeLessThan(MEMBER_ACCOUNTS + 1);
  });

  it('serves no empty pages when the empty-page quirk is switched off', async () => {
    sandbox().world.settings.organizationsEmptyPages = false;
    try {
      const counts: number[] = [];
      for await (const page of paginateListAccounts({ client: client() }, {})) {
        counts.push(page.Accounts?.length ?? 0);
      }
      expect(counts).toEqual([20, 20, 6]);
    } finally {
      sandbox().world.settings.organizationsEmptyPages = true;
    }
  });

  it('reports the retired Status beside State, a closed account as SUSPENDED', async () => {
    const closed = await client().send(new DescribeAccountCommand({ AccountId: defaultAccountId(19) }));
    const suspended = await client().send(new DescribeAccountCommand({ AccountId: defaultAccountId(13) }));
    const invited = await client().send(new DescribeAccountCommand({ AccountId: defaultAccountId(7) }));

    expect(closed.Account).toMatchObject({ State: 'CLOSED', Status: 'SUSPENDED' });
    expect(suspended.Account).toMatchObject({ State: 'SUSPENDED', Status: 'SUSPENDED' });
    expect(invited.Account).toMatchObject({
      Id: defaultAccountId(7),
      Arn: `arn:aws:organizations::${org().managementAccountId}:account/${org().id}/${defaultAccountId(7)}`,
      State: 'ACTIVE',
      Status: 'ACTIVE',
      JoinedMethod: 'INVITED',
    });
  });

  it('describes the organization and its single root with SCPs enabled', async () => {
    const { Organization } = await client().send(new DescribeOrganizationCommand({}));
    const { Roots } = await client().send(new ListRootsCommand({}));

    expect(Organization).toMatchObject({
      Id: org().id,
      FeatureSet: 'ALL',
      MasterAccountId: org().managementAccountId,
    });
    expect(Roots).toEqual([
      {
        Id: org().rootId,
        Arn: org().rootArn,
        Name: 'Root',
        PolicyTypes: [{ Type: 'SERVICE_CONTROL_POLICY', Status: 'ENABLED' }],
      },
    ]);
  });

  it('lists only the direct accounts of a parent, not those of nested OUs', async () => {
    const list = async (parentId: string) => {
      const ids: string[] = [];
      for await (const page of paginateListAccountsForParent({ client: client() }, { ParentId: parentId })) {
        ids.push(...(page.Accounts ?? []).map((a) => a.Id ?? ''));
      }
      return ids;
    };

    const atRoot = await list(org().rootId);
    const inWorkloads = await list(ouIdNamed('Workloads'));
    const inProd = await list(ouIdNamed('Prod'));

    expect(atRoot).toEqual([org().managementAccountId]);
    expect(inWorkloads).toEqual([]);
    expect(inProd.length).toBeGreaterThan(0);
    expect(inProd).toContain(defaultAccountId(6));
  });

  it('walks the whole OU tree with ListChildren and finds every account', async () => {
    const childrenOf = async (parentId: string, type: 'ACCOUNT' | 'ORGANIZATIONAL_UNIT') => {
      const ids: string[] = [];
      const pages = paginateListChildren({ client: client() }, { ParentId: parentId, ChildType: type });
      for await (const page of pages) ids.push(...(page.Children ?? []).map((c) => c.Id ?? ''));
      return ids;
    };
    const found: string[] = [];
    const visit = async (parentId: string): Promise<void> => {
      found.push(...(await childrenOf(parentId, 'ACCOUNT')));
      for (const ou of await childrenOf(parentId, 'ORGANIZATIONAL_UNIT')) await visit(ou);
    };

    await visit(org().rootId);

    expect([...found].sort()).toEqual([...org().accounts.keys()].sort());
  });

  it('walks from an account up to the root with ListParents', async () => {
    const chain: { Id?: string; Type?: string }[] = [];
    let childId = defaultAccountId(6);
    for (;;) {
      const { Parents } = await client().send(new ListParentsCommand({ ChildId: childId }));
      const parent = Parents?.[0];
      if (!parent?.Id) throw new Error('no parent');
      chain.push(parent);
      if (parent.Type === 'ROOT') break;
      childId = parent.Id;
    }

    expect(chain).toEqual([
      { Id: ouIdNamed('Prod'), Type: 'ORGANIZATIONAL_UNIT' },
      { Id: ouIdNamed('Workloads'), Type: 'ORGANIZATIONAL_UNIT' },
      { Id: org().rootId, Type: 'ROOT' },
    ]);
  });

  it('describes OUs and lists those under a parent with their names and paths', async () => {
    const workloads = ouIdNamed('Workloads');
    const { OrganizationalUnits } = await client().send(
      new ListOrganizationalUnitsForParentCommand({ ParentId: workloads }),
    );
    const { OrganizationalUnit } = await client().send(
      new DescribeOrganizationalUnitCommand({ OrganizationalUnitId: ouIdNamed('Prod') }),
    );

    expect(OrganizationalUnits?.map((ou) => ou.Name).sort()).toEqual(['Dev', 'Prod']);
    expect(OrganizationalUnit).toMatchObject({
      Name: 'Prod',
      Path: `${org().id}/${org().rootId}/${workloads}/${ouIdNamed('Prod')}/`,
    });
  });

  it('lists the tags of an account', async () => {
    org().tags.set(defaultAccountId(2), [{ Key: 'team', Value: 'payments' }]);

    const tagged = await client().send(new ListTagsForResourceCommand({ ResourceId: defaultAccountId(2) }));
    const untagged = await client().send(new ListTagsForResourceCommand({ ResourceId: org().rootId }));

    expect(tagged.Tags).toEqual([{ Key: 'team', Value: 'payments' }]);
    expect(untagged.Tags).toEqual([]);
  });

  it('answers an unknown account id with AccountNotFoundException', async () => {
    await expect(
      client().send(new DescribeAccountCommand({ AccountId: '123456789012' })),
    ).rejects.toMatchObject({ name: 'AccountNotFoundException', $metadata: { httpStatusCode: 400 } });
  });

  it('answers unknown parents, children and OUs with their own not-found errors', async () => {
    const missingOu = `ou-${org().rootId.slice(2)}-zzzzzzzz`;

    await expect(
      client().send(new ListAccountsForParentCommand({ ParentId: missingOu })),
    ).rejects.toMatchObject({ name: 'ParentNotFoundException' });
    await expect(client().send(new ListParentsCommand({ ChildId: '123456789012' }))).rejects.toMatchObject({
      name: 'ChildNotFoundException',
    });
    await expect(
      client().send(new DescribeOrganizationalUnitCommand({ OrganizationalUnitId: missingOu })),
    ).rejects.toMatchObject({ name: 'OrganizationalUnitNotFoundException' });
  });

  it('rejects malformed ids, page sizes and tokens with InvalidInputException and a Reason', async () => {
    await expect(client().send(new DescribeAccountCommand({ AccountId: 'not-an-id' }))).rejects.toMatchObject(
      {
        name: 'InvalidInputException',
        Reason: 'INVALID_PATTERN',
        $metadata: { httpStatusCode: 400 },
      },
    );
    await expect(client().send(new ListAccountsCommand({ MaxResults: 21 }))).rejects.toMatchObject({
      name: 'InvalidInputException',
      Reason: 'MAX_VALUE_EXCEEDED',
    });
    await expect(client().send(new ListAccountsCommand({ MaxResults: 0 }))).rejects.toMatchObject({
      name: 'InvalidInputException',
      Reason: 'MIN_VALUE_EXCEEDED',
    });
    await expect(client().send(new ListAccountsCommand({ NextToken: 'garbage' }))).rejects.toMatchObject({
      name: 'InvalidInputException',
      Reason: 'INVALID_NEXT_TOKEN',
    });
  });

  it('refuses a NextToken issued for another listing', async () => {
    const first = await client().send(new ListAccountsCommand({ MaxResults: 5 }));
    expect(first.NextToken).toBeDefined();

    await expect(
      client().send(
        new ListAccountsForParentCommand({ ParentId: ouIdNamed('Prod'), NextToken: first.NextToken }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidInputException', Reason: 'INVALID_NEXT_TOKEN' });
  });

  it("refuses a member account's casbridge role the account list", async () => {
    const member = await memberRoleCredentials(sandbox(), defaultAccountId(1));

    await expect(client(member).send(new ListAccountsCommand({}))).rejects.toMatchObject({
      name: 'AccessDeniedException',
    });
  });

  it('lets a member account describe its organization but not list or describe accounts', async () => {
    const memberAdmin = await assumeRole(
      sandbox(),
      `arn:aws:iam::${defaultAccountId(1)}:role/OrganizationAccountAccessRole`,
    );

    const { Organization } = await client(memberAdmin).send(new DescribeOrganizationCommand({}));
    const listing = client(memberAdmin).send(new ListAccountsCommand({}));
    const describing = client(memberAdmin).send(
      new DescribeAccountCommand({ AccountId: defaultAccountId(1) }),
    );

    expect(Organization?.Id).toBe(org().id);
    await expect(listing).rejects.toMatchObject({
      name: 'AccessDeniedException',
      message: "You don't have permissions to access this resource.",
    });
    await expect(describing).rejects.toMatchObject({ name: 'AccessDeniedException' });
  });

  it('lists the services with trusted access to the management account only, none by default', async () => {
    expect(
      (await client().send(new ListAWSServiceAccessForOrganizationCommand({}))).EnabledServicePrincipals,
    ).toEqual([]);
    org().trustedServices.set('cloudtrail.amazonaws.com', new Date('2026-01-02T03:04:05Z'));
    try {
      const { EnabledServicePrincipals } = await client().send(
        new ListAWSServiceAccessForOrganizationCommand({}),
      );
      expect(EnabledServicePrincipals).toEqual([
        { ServicePrincipal: 'cloudtrail.amazonaws.com', DateEnabled: new Date('2026-01-02T03:04:05Z') },
      ]);
      const memberAdmin = await assumeRole(
        sandbox(),
        `arn:aws:iam::${defaultAccountId(1)}:role/OrganizationAccountAccessRole`,
      );
      await expect(
        client(memberAdmin).send(new ListAWSServiceAccessForOrganizationCommand({})),
      ).rejects.toMatchObject({ name: 'AccessDeniedException' });
    } finally {
      org().trustedServices.clear();
    }
  });

  it('is retried by the SDK when throttled and then succeeds', async () => {
    const mgmtId = org().managementAccountId;
    sandbox().world.faults.inject(mgmtId, {
      service: 'organizations',
      operation: 'ListRoots',
      code: 'TooManyRequestsException',
      remaining: 2,
    });
    const mark = sandbox().world.callLog.mark();

    const { Roots } = await client().send(new ListRootsCommand({}));

    expect(Roots).toHaveLength(1);
    const calls = sandbox().world.callLog.list({
      sinceSeq: mark,
      service: 'organizations',
      operation: 'ListRoots',
    });
    expect(calls.map((c) => c.errorCode ?? 'ok')).toEqual([
      'TooManyRequestsException',
      'TooManyRequestsException',
      'ok',
    ]);
  });

  it('throttles with TooManyRequestsException, the code the SDK retries', async () => {
    const faults = sandbox().world.faults.forAccount(org().managementAccountId);
    faults.throttle = { organizations: 1 };
    try {
      await expect(client(undefined, 1).send(new ListRootsCommand({}))).rejects.toMatchObject({
        name: 'TooManyRequestsException',
      });
    } finally {
      delete faults.throttle;
    }
  });
});
