import { connectorPolicyDocument } from '../../commons/connector-policy';
import { partitionOf } from '../../commons/partition';
import { logBucketPolicy, type StackResources, stackResources } from '../../commons/stack-resources';
import { CallLog } from '../core/call-log';
import { Clock } from '../core/clock';
import { CredentialStore } from '../core/credentials';
import { EventLog } from '../core/event-log';
import { FaultEngine } from '../core/faults';
import { markTemplateRole } from '../core/grant-usage';
import { issueUserKey } from '../core/identity';
import { AWS_MANAGED_POLICIES } from '../core/managed-policies';
import { Rng } from '../core/rng';
import type { IamRole, OrgAccount, PolicyDocument, PolicyVersion, World } from '../core/world';
import { accountState, regionalState } from '../core/world';
import {
  readTemplate,
  resolveIntrinsics,
  templateGroups,
  templateManagedPolicies,
  templateRoles,
  templateScope,
} from './cloudformation';
import type { Scenario, ScenarioAccount } from './scenario';
import { deployStackRoles, type StackParameters, stackDeployment } from './stack-deployment';

export interface SeededWorld {
  world: World;
  /** The administrator of the account casbridge runs in. */
  admin: { accessKeyId: string; secretAccessKey: string; arn: string };
  /** The management account's administrator: `admin` unless casbridge is a delegated administrator. */
  managementAdmin: { accessKeyId: string; secretAccessKey: string; arn: string };
  stack: StackResources;
}

/** How the grant-usage check names the member role's template. */
const MEMBER_ROLE_TEMPLATE = 'templates/member-role.yml';
const DELEGATION_TEMPLATE = 'templates/organizations-delegation.yml';
/** AWS's AdministratorAccess, in the world's partition. */
const adminPolicy = (world: World) => `arn:${world.settings.partition}:iam::aws:policy/AdministratorAccess`;

/** Builds the world a scenario describes. Deterministic for a given scenario (ids come from its seed). */
export function seedWorld(
  scenario: Scenario,
  options: { keyPropagationMs?: number; templateRoot?: string; stackParameters?: StackParameters } = {},
): SeededWorld {
  const rng = new Rng(scenario.seed);
  const clock = new Clock();
  const mgmtId = scenario.organization.managementAccountId;
  const orgId = scenario.organization.id ?? `o-${rng.lowerId(10)}`;
  const rootSuffix = rng.lowerId(4);
  const rootId = `r-${rootSuffix}`;
  const partition = partitionOf(scenario.region);
  const world: World = {
    clock,
    rng,
    settings: {
      defaultRegion: scenario.region,
      partition,
      keyPropagationMs: options.keyPropagationMs ?? 0,
      enforcePolicies: true,
    },
    organization: {
      id: orgId,
      arn: `arn:${partition}:organizations::${mgmtId}:organization/${orgId}`,
      managementAccountId: mgmtId,
      managementAccountEmail: `aws+${scenario.organization.managementAccountName}@example.com`,
      rootId,
      rootArn: `arn:${partition}:organizations::${mgmtId}:root/${orgId}/${rootId}`,
      ous: new Map(),
      accounts: new Map(),
      scps: new Map(),
      tags: new Map(),
      handshakes: new Map(),
      casbridgeAccountId: scenario.organization.casbridgeAccountId ?? mgmtId,
      trustedServices: new Map(
        (
          scenario.organization.trustedServices ??
          (scenario.organization.organizationTrail ? ['cloudtrail.amazonaws.com'] : [])
        ).map((principal) => [principal, clock.now()]),
      ),
    },
    accounts: new Map(),
    credentials: new CredentialStore(),
    buckets: new Map(),
    callLog: new CallLog(),
    events: new EventLog(),
    faults: new FaultEngine(rng),
  };
  const ouIdByPath = new Map<string, string>([['', rootId]]);
  const ensureOu = (path: string): string => {
    const existing = ouIdByPath.get(path);
    if (existing) return existing;
    const slash = path.lastIndexOf('/');
    const parentId = ensureOu(slash < 0 ? '' : path.slice(0, slash));
    const id = `ou-${rootSuffix}-${rng.lowerId(8)}`;
    world.organization.ous.set(id, {
      id,
      arn: `arn:${partition}:organizations::${mgmtId}:ou/${orgId}/${id}`,
      name: path.slice(slash + 1),
      parentId,
    });
    ouIdByPath.set(path, id);
    return id;
  };
  for (const path of scenario.organizationalUnits) ensureOu(path);

  const startedMs = clock.nowMs();
  addOrgAccount(world, {
    id: mgmtId,
    name: scenario.organization.managementAccountName,
    email: world.organization.managementAccountEmail,
    state: 'ACTIVE',
    joinedMethod: 'CREATED',
    joinedTimestamp: new Date(startedMs - 3 * 365 * 86_400_000),
    parentId: rootId,
  });
  const home = world.organization.casbridgeAccountId;
  if (home !== mgmtId && !scenario.accounts.some((a) => a.id === home))
    throw new Error(`the scenario's casbridgeAccountId ${home} is none of its accounts`);
  const admin = seedAdministrator(world, home);
  const managementAdmin = home === mgmtId ? admin : seedAdministrator(world, mgmtId);
  if (home !== mgmtId && scenario.organization.organizationsDelegation !== false)
    world.organization.delegationPolicy = delegationPolicy(world, home, options.templateRoot);

  const template = readTemplate(resolvePath(scenario.memberRole.template, options.templateRoot));
  const stack = stackResources(home, scenario.region);
  const roleParameters = {
    CentralAccountId: home,
    ExternalId: stack.externalId,
    ...scenario.memberRole.parameters,
  };
  for (const account of scenario.accounts) {
    const parentId = ensureOu(account.ou);
    addOrgAccount(world, {
      id: account.id,
      name: account.name,
      email: account.email ?? `aws+${account.name}@example.com`,
      state: account.state,
      joinedMethod: account.joinedMethod,
      joinedTimestamp: account.joinedTimestamp
        ? new Date(account.joinedTimestamp)
        : // An account whose role is not assumable yet is one that has just been created.
          account.faults?.roleNotAssumableForSeconds
          ? new Date(startedMs)
          : new Date(startedMs - (1 + rng.int(900)) * 86_400_000),
      parentId,
    });
    if (account.tags)
      world.organization.tags.set(
        account.id,
        Object.entries(account.tags).map(([Key, Value]) => ({ Key, Value })),
      );
    seedMemberAccount(world, account, template, roleParameters, scenario.region, startedMs);
  }
  for (const scp of scenario.scps) {
    const targets = scp.targets.map((t) => (t === 'Root' ? rootId : /^\d{12}$/.test(t) ? t : ensureOu(t)));
    addDenyScp(world, scp.name, scp.denyActions, targets);
  }
  seedStack(
    world,
    stack,
    scenario.organization.organizationTrail,
    options.stackParameters ?? {},
    options.templateRoot ? `${options.templateRoot}/serverless.yml` : undefined,
  );
  return { world, admin, managementAdmin, stack };
}

function resolvePath(path: string, root: string | undefined): string {
  if (path.startsWith('/')) return path;
  return `${root ?? process.cwd()}/${path}`;
}

function addOrgAccount(world: World, account: Omit<OrgAccount, 'arn'>): void {
  const org = world.organization;
  org.accounts.set(account.id, {
    ...account,
    arn: `arn:${world.settings.partition}:organizations::${org.managementAccountId}:account/${org.id}/${account.id}`,
  });
  accountState(world, account.id);
}

function addDenyScp(world: World, name: string, actions: string[], targets: string[]): void {
  const id = `p-${world.rng.lowerId(8)}`;
  world.organization.scps.set(id, {
    id,
    name,
    document: {
      Version: '2012-10-17',
      Statement: [{ Sid: 'Deny', Effect: 'Deny', Action: actions, Resource: '*' }],
    },
    targets: new Set(targets),
  });
}

/**
 * The management account's delegation policy as templates/organizations-delegation.yml deploys
 * it for casbridge's account.
 */
function delegationPolicy(
  world: World,
  casbridgeAccountId: string,
  templateRoot: string | undefined,
): PolicyDocument {
  const template = readTemplate(resolvePath(DELEGATION_TEMPLATE, templateRoot));
  const scope = templateScope(
    template,
    { CasbridgeAccountId: casbridgeAccountId },
    {
      accountId: world.organization.managementAccountId,
      region: world.settings.defaultRegion,
      partition: world.settings.partition,
    },
  );
  const resources = template.Resources as Record<string, { Type: string; Properties: { Content: unknown } }>;
  const policy = Object.values(resources).find((r) => r.Type === 'AWS::Organizations::ResourcePolicy');
  if (!policy) throw new Error(`${DELEGATION_TEMPLATE} has no AWS::Organizations::ResourcePolicy`);
  return resolveIntrinsics(policy.Properties.Content, scope) as PolicyDocument;
}

/** The sandbox's administrator: a user with AdministratorAccess in the account casbridge runs in. */
function seedAdministrator(world: World, accountId: string): SeededWorld['admin'] {
  const iam = accountState(world, accountId).iam;
  const userName = 'Admin';
  const arn = `arn:${world.settings.partition}:iam::${accountId}:user/${userName}`;
  iam.users.set(userName.toLowerCase(), {
    userName,
    userId: world.rng.iamId('AIDA'),
    arn,
    path: '/',
    createDate: world.clock.now(),
    tags: [],
    attachedPolicyArns: [adminPolicy(world)],
    inlinePolicies: new Map(),
  });
  const { record, secretAccessKey } = issueUserKey(world, accountId, userName, { propagated: true });
  return { accessKeyId: record.accessKeyId, secretAccessKey, arn };
}

function addRole(
  world: World,
  accountId: string,
  role: Omit<IamRole, 'roleId' | 'arn' | 'createDate' | 'tags'>,
): IamRole {
  const full: IamRole = {
    ...role,
    roleId: world.rng.iamId('AROA'),
    arn: `arn:${world.settings.partition}:iam::${accountId}:role${role.path}${role.roleName}`,
    createDate: world.clock.now(),
    tags: [],
  };
  accountState(world, accountId).iam.roles.set(role.roleName.toLowerCase(), full);
  return full;
}

function seedMemberAccount(
  world: World,
  account: ScenarioAccount,
  template: Record<string, unknown>,
  roleParameters: Record<string, string>,
  region: string,
  startedMs: number,
): void {
  const mgmtId = world.organization.managementAccountId;
  // As on AWS: CreateAccount makes OrganizationAccountAccessRole; invited accounts have none.
  if (account.joinedMethod === 'CREATED') {
    addRole(world, account.id, {
      roleName: 'OrganizationAccountAccessRole',
      path: '/',
      maxSessionDuration: 3600,
      assumeRolePolicy: {
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { AWS: `arn:${world.settings.partition}:iam::${mgmtId}:root` },
            Action: 'sts:AssumeRole',
          },
        ],
      },
      attachedPolicyArns: [adminPolicy(world)],
      inlinePolicies: new Map(),
    });
  }
  const faults = account.faults ?? {};
  if (!faults.roleMissing) {
    // What the StackSet's instance creates, which it deletes again when the account departs.
    const stack: { roles: string[]; groups: string[]; policyArns: string[] } = {
      roles: [],
      groups: [],
      policyArns: [],
    };
    accountState(world, account.id).memberRoleStack = stack;
    // The StackSet's own policies (the connector's permissions boundary) come with the role.
    const pseudo = { accountId: account.id, region, partition: world.settings.partition };
    for (const policy of templateManagedPolicies(template, roleParameters, pseudo)) {
      const now = world.clock.now();
      stack.policyArns.push(
        addCustomerPolicy(world, account.id, {
          policyName: policy.policyName,
          path: policy.path,
          ...(policy.description ? { description: policy.description } : {}),
          versions: [
            {
              versionId: 'v1',
              document: JSON.stringify(policy.document),
              isDefaultVersion: true,
              createDate: now,
            },
          ],
        }),
      );
    }
    // And its connector group with the ceiling policy: casbridge only maintains what is in it.
    for (const group of templateGroups(template, roleParameters, pseudo)) {
      stack.groups.push(group.groupName.toLowerCase());
      accountState(world, account.id).iam.groups.set(group.groupName.toLowerCase(), {
        groupName: group.groupName,
        groupId: world.rng.iamId('AGPA'),
        arn: `arn:${world.settings.partition}:iam::${account.id}:group${group.path}${group.groupName}`,
        path: group.path,
        createDate: world.clock.now(),
        members: [],
        attachedPolicyArns: group.managedPolicyArns,
        inlinePolicies: new Map(group.inlinePolicies.map((p) => [p.name, p.document as PolicyDocument])),
      });
    }
    for (const role of templateRoles(template, roleParameters, pseudo)) {
      const created = addRole(world, account.id, {
        roleName: role.roleName,
        path: role.path,
        maxSessionDuration: role.maxSessionDuration,
        assumeRolePolicy: role.assumeRolePolicyDocument as PolicyDocument,
        attachedPolicyArns: role.managedPolicyArns,
        inlinePolicies: new Map(role.inlinePolicies.map((p) => [p.name, p.document as PolicyDocument])),
      });
      stack.roles.push(created.roleName.toLowerCase());
      markTemplateRole(created, { template: MEMBER_ROLE_TEMPLATE, logicalId: role.logicalId });
      if (faults.roleNotAssumableForSeconds)
        created.assumableAfterMs = startedMs + faults.roleNotAssumableForSeconds * 1000;
    }
  }
  if (faults.scpDeny?.length) addDenyScp(world, `deny-${account.id}`, faults.scpDeny, [account.id]);
  const engine = world.faults.forAccount(account.id);
  if (faults.throttle) engine.throttle = { ...faults.throttle };
  if (faults.latencyMs) engine.latencyMs = faults.latencyMs;
  for (const e of faults.injectedErrors ?? []) {
    world.faults.inject(account.id, {
      service: e.service,
      operation: e.operation,
      code: e.code,
      ...(e.message === undefined ? {} : { message: e.message }),
      ...(e.status === undefined ? {} : { status: e.status }),
      remaining: e.times,
    });
  }
  seedPreexisting(world, account, roleParameters, region);
}

/** Resources already in the account before casbridge comes: the limits and conflicts it must handle. */
function seedPreexisting(
  world: World,
  account: ScenarioAccount,
  parameters: Record<string, string>,
  region: string,
): void {
  const pre = account.faults?.preexisting;
  if (!pre) return;
  const iam = accountState(world, account.id).iam;
  const userName = parameters.UserName ?? 'CloudAppSecurity';
  const userPath = parameters.UserPath ?? '/casbridge/';
  const policyName = parameters.PolicyName ?? 'CasBridgeCloudAppSecurity';
  const now = world.clock.now();
  const tampered = Boolean(
    pre.legacyDirectAttachment ||
      pre.extraAttachedPolicies?.length ||
      pre.inlinePolicies?.length ||
      pre.otherGroups?.length ||
      pre.loginProfile,
  );
  if (pre.foreignUser || pre.accessKeys || tampered) {
    iam.users.set(userName.toLowerCase(), {
      userName,
      userId: world.rng.iamId('AIDA'),
      arn: `arn:${world.settings.partition}:iam::${account.id}:user${pre.foreignUser ? '/' : userPath}${userName}`,
      path: pre.foreignUser ? '/' : userPath,
      createDate: now,
      tags: pre.foreignUser
        ? [{ Key: 'owner', Value: 'someone-else' }]
        : [{ Key: 'managed-by', Value: 'casbridge' }],
      attachedPolicyArns: [],
      inlinePolicies: new Map(),
    });
    for (let i = 0; i < (pre.accessKeys ?? 0); i++) {
      issueUserKey(world, account.id, userName, {
        propagated: true,
        createDate: new Date(now.getTime() - (200 - i * 50) * 86_400_000),
      });
    }
  }
  const policyArn = `arn:${world.settings.partition}:iam::${account.id}:policy${userPath}${policyName}`;
  if (pre.policyVersions) {
    const versions = Array.from({ length: pre.policyVersions }, (_, i) => ({
      versionId: `v${i + 1}`,
      document: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Action: ['cloudtrail:DescribeTrails'], Resource: '*', Sid: `Old${i + 1}` },
        ],
      }),
      isDefaultVersion: i === pre.policyVersions! - 1,
      createDate: new Date(now.getTime() - (pre.policyVersions! - i) * 86_400_000),
    }));
    addCustomerPolicy(world, account.id, { policyName, path: userPath, versions });
  } else if (pre.legacyDirectAttachment) {
    // The document casbridge wrote then (its default, with s3:PutBucketAcl).
    const document = JSON.stringify(connectorPolicyDocument({ allowPutBucketAcl: true }));
    addCustomerPolicy(world, account.id, {
      policyName,
      path: userPath,
      versions: [{ versionId: 'v1', document, isDefaultVersion: true, createDate: now }],
    });
  }
  seedTampering(world, account.id, userName, pre, policyArn);
  const trails = regionalState(world, account.id, region).trails;
  for (let i = 0; i < (pre.trails ?? 0); i++) {
    const name = `legacy-trail-${i + 1}`;
    trails.set(name, {
      name,
      arn: `arn:${world.settings.partition}:cloudtrail:${region}:${account.id}:trail/${name}`,
      homeRegion: region,
      s3BucketName: `legacy-logs-${account.id}`,
      includeGlobalServiceEvents: false,
      isMultiRegionTrail: false,
      logFileValidationEnabled: false,
      isOrganizationTrail: false,
      isLogging: true,
      startLoggingTime: now,
      eventSelectors: [{ ReadWriteType: 'All', IncludeManagementEvents: true, DataResources: [] }],
      tags: [],
    });
  }
}

function addCustomerPolicy(
  world: World,
  accountId: string,
  policy: { policyName: string; path: string; description?: string; versions: PolicyVersion[] },
): string {
  const arn = `arn:${world.settings.partition}:iam::${accountId}:policy${policy.path}${policy.policyName}`;
  const defaultVersion = policy.versions.find((v) => v.isDefaultVersion) as PolicyVersion;
  const now = world.clock.now();
  accountState(world, accountId).iam.policies.set(arn, {
    ...policy,
    policyId: world.rng.iamId('ANPA'),
    arn,
    defaultVersionId: defaultVersion.versionId,
    nextVersionNumber: policy.versions.length + 1,
    createDate: now,
    updateDate: now,
    tags: [],
  });
  return arn;
}

/**
 * What someone other than casbridge did to the connector user: policies beside casbridge's,
 * groups that are not casbridge's, a console password; and the direct attachment of the
 * connector policy an account onboarded before casbridge used a group still has.
 */
function seedTampering(
  world: World,
  accountId: string,
  userName: string,
  pre: NonNullable<NonNullable<ScenarioAccount['faults']>['preexisting']>,
  connectorPolicyArn: string,
): void {
  const iam = accountState(world, accountId).iam;
  const user = iam.users.get(userName.toLowerCase());
  if (!user) return;
  const known = (arn: string): string => {
    if (!AWS_MANAGED_POLICIES.get(arn)) {
      throw new Error(
        `Invalid sandbox scenario: accounts[${accountId}].faults.preexisting names ${arn}, not an AWS managed policy the sandbox has (${AWS_MANAGED_POLICIES.inPartition(
          world.settings.partition,
        )
          .map(([managed]) => managed)
          .join(', ')})`,
      );
    }
    return arn;
  };
  if (pre.legacyDirectAttachment) user.attachedPolicyArns.push(connectorPolicyArn);
  for (const arn of pre.extraAttachedPolicies ?? []) user.attachedPolicyArns.push(known(arn));
  for (const inline of pre.inlinePolicies ?? []) {
    user.inlinePolicies.set(inline.name, {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: inline.actions, Resource: '*' }],
    });
  }
  for (const group of pre.otherGroups ?? []) {
    iam.groups.set(group.name.toLowerCase(), {
      groupName: group.name,
      groupId: world.rng.iamId('AGPA'),
      arn: `arn:${world.settings.partition}:iam::${accountId}:group/${group.name}`,
      path: '/',
      createDate: world.clock.now(),
      members: [userName.toLowerCase()],
      attachedPolicyArns: group.attachedPolicies.map(known),
      inlinePolicies: new Map(),
    });
  }
  if (pre.loginProfile) user.loginProfile = { createDate: world.clock.now(), passwordResetRequired: false };
}

function seedStack(
  world: World,
  stack: StackResources,
  organizationTrail: boolean,
  parameters: StackParameters,
  serverlessFile: string | undefined,
): void {
  const now = world.clock.now();
  const mgmt = stack.accountId;
  // Every role serverless.yml declares, as it declares it: each task runs as its function's role.
  deployStackRoles(world, stack, stackDeployment(stack, world.organization.id, parameters, serverlessFile));
  for (const name of [stack.reportsBucket, stack.logBucket]) {
    world.buckets.set(name, {
      name,
      ownerAccountId: mgmt,
      region: stack.region,
      creationDate: now,
      publicAccessBlock: {
        BlockPublicAcls: true,
        IgnorePublicAcls: true,
        BlockPublicPolicy: true,
        RestrictPublicBuckets: true,
      },
      encryption:
        '<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm></ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>',
      objects: new Map(),
    });
  }
  const logBucket = world.buckets.get(stack.logBucket);
  if (logBucket)
    logBucket.policy = JSON.stringify(
      logBucketPolicy(
        stack.logBucket,
        world.organization.id,
        undefined,
        world.settings.partition,
        undefined,
        {
          accountId: stack.accountId,
          region: stack.region,
        },
      ),
    );
  regionalState(world, mgmt, stack.region).topics.set(stack.topicArn, {
    arn: stack.topicArn,
    name: stack.topicName,
    attributes: { KmsMasterKeyId: 'alias/aws/sns' },
    tags: [{ Key: 'managed-by', Value: 'casbridge' }],
    messages: [],
  });
  if (organizationTrail) {
    const name = 'aws-controltower-BaselineCloudTrail';
    regionalState(world, mgmt, stack.region).trails.set(name, {
      name,
      arn: `arn:${world.settings.partition}:cloudtrail:${stack.region}:${mgmt}:trail/${name}`,
      homeRegion: stack.region,
      s3BucketName: `aws-controltower-logs-${mgmt}-${stack.region}`,
      includeGlobalServiceEvents: true,
      isMultiRegionTrail: true,
      logFileValidationEnabled: true,
      isOrganizationTrail: true,
      isLogging: true,
      startLoggingTime: now,
      eventSelectors: [{ ReadWriteType: 'All', IncludeManagementEvents: true, DataResources: [] }],
      tags: [],
    });
  }
}
