import type { Simulation } from '@cloud-copilot/iam-simulate';
import { decideRequest, decisionKey } from '../../sandbox/core/authorize';
import type { Principal } from '../../sandbox/core/credentials';
import type { PolicyDocument, World } from '../../sandbox/core/world';
import { parseScenario } from '../../sandbox/scenario/scenario';
import { seedWorld } from '../../sandbox/scenario/seed';

/** A simulation as the sandbox builds one: a user of `accountId` acting on a resource of `resourceAccount`. */
function simulation(accountId: string, resourceAccount: string, policy: PolicyDocument): Simulation {
  return {
    request: {
      principal: `arn:aws:iam::${accountId}:user/casbridge/CloudAppSecurity`,
      action: 'iam:GetUser',
      resource: {
        resource: `arn:aws:iam::${resourceAccount}:user/casbridge/CloudAppSecurity`,
        accountId: resourceAccount,
      },
      contextVariables: { 'aws:PrincipalAccount': accountId },
    },
    identityPolicies: [{ name: 'identity-0', policy }],
    serviceControlPolicies: [],
    resourceControlPolicies: [],
  } as unknown as Simulation;
}

const ALLOW_ANY_USER: PolicyDocument = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: 'iam:GetUser', Resource: 'arn:aws:iam::*:user/*' }],
};

describe('the policy decision cache key', () => {
  it('is the same for the same call in two accounts, so the second account reuses the decision', () => {
    // Act
    const first = decisionKey(simulation('300000000001', '300000000001', ALLOW_ANY_USER));
    const second = decisionKey(simulation('300000000002', '300000000002', ALLOW_ANY_USER));
    // Assess
    expect(second).toBe(first);
  });

  it('differs when the accounts play different parts (a cross-account call is not a same-account one)', () => {
    // Act
    const sameAccount = decisionKey(simulation('300000000001', '300000000001', ALLOW_ANY_USER));
    const crossAccount = decisionKey(simulation('300000000001', '300000000002', ALLOW_ANY_USER));
    // Assess
    expect(crossAccount).not.toBe(sameAccount);
  });

  it('keeps account ids as they are when a wildcard next to a digit could tell them apart', () => {
    // Prepare
    const policy: PolicyDocument = {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 'iam:GetUser', Resource: 'arn:aws:iam::*1:user/*' }],
    };
    // Act
    const first = decisionKey(simulation('300000000001', '300000000001', policy));
    const second = decisionKey(simulation('300000000002', '300000000002', policy));
    // Assess
    expect(second).not.toBe(first);
  });

  it('keeps account ids as they are when a policy compares numbers', () => {
    // Prepare
    const policy: PolicyDocument = {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Action: 'iam:GetUser',
          Resource: '*',
          Condition: { NumericLessThan: { 'aws:PrincipalAccount': '300000000002' } },
        },
      ],
    };
    // Act
    const first = decisionKey(simulation('300000000001', '300000000001', policy));
    const second = decisionKey(simulation('300000000003', '300000000003', policy));
    // Assess
    expect(second).not.toBe(first);
  });
});

describe('policy decisions', () => {
  /** Two accounts, each with a user whose inline policy is `policy`. */
  function worldWithUsers(policy: PolicyDocument): { world: World; users: Principal[] } {
    const { world } = seedWorld(
      parseScenario({
        accounts: [
          { id: '300000000001', name: 'one' },
          { id: '300000000002', name: 'two' },
        ],
      }),
    );
    const users = ['300000000001', '300000000002'].map((accountId): Principal => {
      const arn = `arn:aws:iam::${accountId}:user/reader`;
      world.accounts.get(accountId)?.iam.users.set('reader', {
        userName: 'reader',
        userId: `AIDA${accountId}`,
        arn,
        path: '/',
        createDate: new Date(),
        tags: [],
        attachedPolicyArns: [],
        inlinePolicies: new Map([['read', policy]]),
      });
      return { kind: 'user', accountId, userName: 'reader', arn };
    });
    return { world, users };
  }

  it('are made for each account where a policy pattern names some accounts and not others', async () => {
    // Prepare: the pattern matches the first account's users only.
    const { world, users } = worldWithUsers({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 'iam:GetUser', Resource: 'arn:aws:iam::*1:user/*' }],
    });
    const [one, two] = users as [Principal, Principal];
    // Act
    const first = await decideRequest(world, one, 'iam:GetUser', `arn:aws:iam::${one.accountId}:user/reader`);
    const second = await decideRequest(
      world,
      two,
      'iam:GetUser',
      `arn:aws:iam::${two.accountId}:user/reader`,
    );
    // Assess
    expect(first.evalDecision).toBe('allowed');
    expect(second.evalDecision).toBe('implicitDeny');
  });

  it('agree across accounts whose policies differ only by their account ids', async () => {
    // Prepare
    const { world, users } = worldWithUsers(ALLOW_ANY_USER);
    const [one, two] = users as [Principal, Principal];
    // Act
    const first = await decideRequest(world, one, 'iam:GetUser', `arn:aws:iam::${one.accountId}:user/reader`);
    const second = await decideRequest(
      world,
      two,
      'iam:GetUser',
      `arn:aws:iam::${two.accountId}:user/reader`,
    );
    const crossAccount = await decideRequest(
      world,
      two,
      'iam:GetUser',
      `arn:aws:iam::${one.accountId}:user/reader`,
      {
        resourceAccountId: one.accountId,
      },
    );
    // Assess: a cross-account read needs the other account's consent, which no resource policy gives.
    expect([first.evalDecision, second.evalDecision]).toEqual(['allowed', 'allowed']);
    expect(crossAccount.evalDecision).toBe('implicitDeny');
  });
});

describe('policy decisions for a user', () => {
  it('are made afresh when the user joins a group, its group gains a policy, or it gets a boundary', async () => {
    // Prepare
    const accountId = '300000000001';
    const { world } = seedWorld(parseScenario({ accounts: [{ id: accountId, name: 'one' }] }));
    const iam = world.accounts.get(accountId)!.iam;
    const arn = `arn:aws:iam::${accountId}:user/joiner`;
    iam.users.set('joiner', {
      userName: 'joiner',
      userId: 'AIDAJOINER',
      arn,
      path: '/',
      createDate: new Date(),
      tags: [],
      attachedPolicyArns: [],
      inlinePolicies: new Map(),
    });
    iam.groups.set('writers', {
      groupName: 'writers',
      groupId: 'AGPAWRITERS',
      arn: `arn:aws:iam::${accountId}:group/writers`,
      path: '/',
      createDate: new Date(),
      members: [],
      attachedPolicyArns: [],
      inlinePolicies: new Map(),
    });
    const principal: Principal = { kind: 'user', accountId, userName: 'joiner', arn };
    const decide = async () => (await decideRequest(world, principal, 'iam:CreateUser', arn)).evalDecision;
    // Act
    const alone = await decide();
    iam.groups.get('writers')!.members.push('joiner');
    const inEmptyGroup = await decide();
    iam.groups.get('writers')!.attachedPolicyArns.push('arn:aws:iam::aws:policy/AdministratorAccess');
    const throughGroup = await decide();
    iam.users.get('joiner')!.permissionsBoundaryArn = 'arn:aws:iam::aws:policy/ReadOnlyAccess';
    const bounded = await decide();
    // Assess
    expect([alone, inEmptyGroup, throughGroup, bounded]).toEqual([
      'implicitDeny',
      'implicitDeny',
      'allowed',
      'implicitDeny',
    ]);
  });
});
