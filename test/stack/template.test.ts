import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { loadConfig } from '../../commons/config';
import { useFunctionCredentials } from '../../commons/runtime';
import {
  functionRoleName,
  logBucketPolicy,
  stackResources,
  stateMachineName,
} from '../../commons/stack-resources';
import { parseTrigger } from '../../functions/resolve-targets/run-input';
import { startSandbox } from '../../sandbox';
import { readTemplate, templateRoles } from '../../sandbox/scenario/cloudformation';
import { defaultAccountId, defaultFaultLabel } from '../../sandbox/scenario/default-scenario';
import { stackDeployment } from '../../sandbox/scenario/stack-deployment';
import { FUNCTION_HANDLERS, type LambdaHandler } from '../../statemachine/local/handlers';
import { FIXTURES_DIR } from '../support/event-fixtures';
import { setLambdaEnvironment } from '../support/lambda-env';
import { runStateMachine } from '../support/local-run';
import { asList, Resolver, type Resource, readZip, type Statement, type Template } from './cloudformation';

/**
 * The stack as `npm run package` (osls, serverless-step-functions, serverless-esbuild) builds it,
 * read from .serverless/: each assertion names the deployment bug it guards.
 */
const ROOT = path.resolve(__dirname, '../..');
const OUT = path.join(ROOT, '.serverless');
const STAGE = 'dev';
const ACCOUNT = '999988887777';
const REGION = 'us-east-1';
const MAX_ZIP_BYTES = 300 * 1024;

type AslValidator = (definition: unknown) => { isValid: boolean; errors: unknown[] };
const validateAsl: AslValidator = require('asl-validator');

let template: Template;
let cfn: Resolver;

beforeAll(() => {
  // Packaging must need neither AWS credentials nor a profile: it runs in CI and offline.
  const env = Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) => !/^AWS_(ACCESS_KEY_ID|SECRET_ACCESS_KEY|SESSION_TOKEN|PROFILE)$/.test(k),
    ),
  );
  execFileSync('npm', ['run', 'package'], { cwd: ROOT, env, stdio: 'pipe', timeout: 120_000 });
  template = JSON.parse(readFileSync(path.join(OUT, 'cloudformation-template-update-stack.json'), 'utf8'));
  // The key id the sandbox gives the secrets key: AWS's choice on a deployment.
  cfn = new Resolver(template, ACCOUNT, REGION, stack.secretsKmsKeyArn.split('/').pop());
}, 150_000);

const stack = stackResources(ACCOUNT, REGION);
/** The organization id `npm run package` passes, read from the script itself. */
const ORGANIZATION_ID = /organizationId=(\S+)/.exec(
  JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).scripts.package,
)?.[1] as string;

const resourcesOfType = (type: string): [string, Resource][] =>
  Object.entries(template.Resources).filter(([, r]) => r.Type === type);

/** Function key (serverless.yml) -> its Lambda resource, from FunctionName casbridge-<stage>-<key>. */
function functions(): Map<string, Resource> {
  return new Map(
    resourcesOfType('AWS::Lambda::Function').map(([, r]) => [
      cfn.resolve<string>(r.Properties.FunctionName).replace(`casbridge-${STAGE}-`, ''),
      r,
    ]),
  );
}

function roleStatements(role: Resource): Statement[] {
  const policies = cfn.resolve<{ PolicyDocument: { Statement: Statement[] } }[]>(
    role.Properties.Policies ?? [],
  );
  return policies.flatMap((p) => p.PolicyDocument.Statement);
}

function roleOf(fn: Resource): [string, Resource] {
  const logicalId = (fn.Properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
  return [logicalId, template.Resources[logicalId] as Resource];
}

/** The state machine file's Task functions, by state name. */
function definitionFile(): Record<string, unknown> {
  return parseYaml(readFileSync(path.join(ROOT, 'statemachine/casbridge.asl.yml'), 'utf8'), {
    maxAliasCount: -1,
  });
}

function deployedDefinition(): Record<string, unknown> {
  const [, machine] = resourcesOfType('AWS::StepFunctions::StateMachine')[0] as [string, Resource];
  return JSON.parse(cfn.resolve<string>(machine.Properties.DefinitionString));
}

function findStates(states: Record<string, Record<string, unknown>>): [string, Record<string, unknown>][] {
  return Object.entries(states).flatMap(([name, state]) => {
    const inner = (state.ItemProcessor as { States?: Record<string, Record<string, unknown>> } | undefined)
      ?.States;
    return [[name, state] as [string, Record<string, unknown>], ...(inner ? findStates(inner) : [])];
  });
}

/**
 * EventBridge's matching, for the pattern shapes used here: lists of literals, `{exists: false}`
 * (the field is absent), nested objects.
 */
function matches(pattern: Record<string, unknown>, event: Record<string, unknown>): boolean {
  return Object.entries(pattern).every(([key, want]) =>
    Array.isArray(want)
      ? want.some((w) =>
          typeof w === 'object' && w !== null && 'exists' in w
            ? (event[key] !== undefined) === (w as { exists: boolean }).exists
            : w === event[key],
        )
      : typeof event[key] === 'object' &&
        event[key] !== null &&
        matches(want as Record<string, unknown>, event[key] as Record<string, unknown>),
  );
}

/** test/fixtures/events/<name>, as EventBridge delivers it. */
function fixture(name: string): Record<string, unknown> & { detail: Record<string, unknown> } {
  return JSON.parse(readFileSync(path.join(FIXTURES_DIR, name), 'utf8'));
}

const lifecycleEvent = (source: string, eventName: string, details: Record<string, unknown>) => ({
  version: '0',
  id: '5c2e0f9a-1b7d-4c3e-8a61-0d9e4f2b7a10',
  'detail-type': 'AWS Service Event via CloudTrail',
  source,
  account: ACCOUNT,
  time: '2025-03-04T10:15:42Z',
  region: REGION,
  resources: [],
  detail: { eventName, eventType: 'AwsServiceEvent', serviceEventDetails: details },
});
const createAccountResult = (state: string) =>
  lifecycleEvent('aws.organizations', 'CreateAccountResult', {
    createAccountStatus: {
      id: 'car-5f0a9b8c7d6e4f3a2b1c0d9e8f7a6b5c',
      state,
      accountName: 'payments-prod',
      ...(state === 'SUCCEEDED' ? { accountId: '111122223333' } : { failureReason: 'EMAIL_ALREADY_EXISTS' }),
    },
  });
const managedAccount = (eventName: string, member: string, state: string) =>
  lifecycleEvent('aws.controltower', eventName, {
    [member]: {
      organizationalUnit: { organizationalUnitName: 'Workloads', organizationalUnitId: 'ou-ab12-3cd45ef6' },
      account: { accountName: 'payments-prod', accountId: '111122223333' },
      state,
    },
  });

describe('the packaged stack', () => {
  it('packages offline, without AWS credentials, into a template and one zip per function', () => {
    // Guards: a plugin or variable (${aws:accountId}, an esbuild `external`) that needs AWS or the
    // registry at packaging time, which would break CI and air-gapped builds.
    expect(functions().size).toBeGreaterThan(0);
    for (const [name] of functions()) expect(statSync(path.join(OUT, `${name}.zip`)).isFile()).toBe(true);
  });

  it('packages exactly the functions the state machine calls', () => {
    // Guards: a Task naming a function serverless.yml lacks (the deploy fails late), or a
    // function no state calls (dead code with a live role).
    const called = findStates(definitionFile().States as Record<string, Record<string, unknown>>)
      .map(([, s]) => (s.Resource as { 'Fn::GetAtt'?: [string, string] } | undefined)?.['Fn::GetAtt']?.[0])
      .filter((f): f is string => f !== undefined);
    expect([...functions().keys()].sort()).toEqual([...new Set(called)].sort());
  });

  it('runs every function on nodejs22.x, arm64, each with its own role named casbridge-<stage>-<function>', () => {
    // Guards: a function left on the provider default runtime, or sharing a role (and so every
    // other function's permissions); a role outside the casbridge- prefix the member role trusts.
    const roles = new Set<string>();
    for (const [name, fn] of functions()) {
      expect(fn.Properties).toMatchObject({ Runtime: 'nodejs22.x', Architectures: ['arm64'] });
      const [logicalId, role] = roleOf(fn);
      expect(role?.Type).toBe('AWS::IAM::Role');
      expect(cfn.resolve(role?.Properties.RoleName)).toBe(functionRoleName(STAGE, name));
      roles.add(logicalId);
    }
    expect(roles.size).toBe(functions().size);
    // The framework's shared role would hold every function's statements at once.
    expect(template.Resources.IamRoleLambdaExecution).toBeUndefined();
  });

  it('defines one Standard state machine from the definition file, its Distributed Map on S3, valid ASL', () => {
    // Guards: the Map silently becoming INLINE (10,000 accounts in one history), the ItemReader or
    // ResultWriter lost in packaging, a Task resolved to the wrong function, and invalid ASL that
    // CloudFormation would reject only at deploy time.
    const machines = resourcesOfType('AWS::StepFunctions::StateMachine');
    expect(machines).toHaveLength(1);
    const [, machine] = machines[0] as [string, Resource];
    expect(cfn.resolve(machine.Properties)).toMatchObject({
      StateMachineName: stateMachineName(STAGE),
      StateMachineType: 'STANDARD',
      RoleArn: `arn:aws:iam::${ACCOUNT}:role/casbridge-${STAGE}-stateMachine`,
    });
    expect(machine.Properties.DefinitionString).toHaveProperty('Fn::Sub');

    const definition = deployedDefinition();
    const deployed = new Map(findStates(definition.States as Record<string, Record<string, unknown>>));
    const map = deployed.get('ProcessAccounts');
    expect(map).toMatchObject({
      Type: 'Map',
      ItemProcessor: { ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' } },
      ItemReader: { Resource: 'arn:aws:states:::s3:getObject', ReaderConfig: { InputType: 'JSON' } },
      ResultWriter: { Resource: 'arn:aws:states:::s3:putObject' },
    });
    for (const [name, state] of findStates(
      definitionFile().States as Record<string, Record<string, unknown>>,
    )) {
      const fn = (state.Resource as { 'Fn::GetAtt'?: [string, string] } | undefined)?.['Fn::GetAtt']?.[0];
      if (fn)
        expect(deployed.get(name)?.Resource).toBe(
          `arn:aws:lambda:${REGION}:${ACCOUNT}:function:casbridge-${STAGE}-${fn}`,
        );
    }
    // asl-validator adds QueryLanguage to every state it sees: validate a copy.
    const result = validateAsl(structuredClone(definition));
    expect(result.errors).toEqual([]);
    expect(result.isValid).toBe(true);
  });

  it('builds every ARN of the stack from the partition it is deployed in', () => {
    // Guards: an ARN written for the commercial partition, which IAM refuses in GovCloud and China
    // ("Partition "aws" is not valid for resource …") and Step Functions fails at run time (an
    // ItemReader in another partition than the execution).
    const resolved = JSON.stringify(
      new Resolver(template, ACCOUNT, 'us-gov-west-1').resolve(template.Resources),
    );
    expect(resolved.match(/.{0,60}arn:aws:.{0,60}/g)).toBeNull();
    expect(resolved).toContain('arn:aws-us-gov:states:::s3:getObject');
    expect(resolved).toContain('arn:aws-us-gov:states:::s3:putObject');
  });

  it('starts an onboard run on the three creation events, with exactly their patterns and the whole event', () => {
    // Guards: a FAILED creation starting work on an account, a pattern that never matches (a typo
    // in a nested key fails silently on AWS), and an input transformer hiding the event from
    // ResolveTargets, which parses the event itself.
    const rules = resourcesOfType('AWS::Events::Rule')
      .map(([, r]) => cfn.resolve<Record<string, unknown>>(r.Properties))
      .filter((r) => r.EventPattern);
    const patterns = rules.map((r) => r.EventPattern);
    expect(patterns).toHaveLength(7);
    expect(patterns).toEqual(
      expect.arrayContaining([
        {
          source: ['aws.organizations'],
          'detail-type': ['AWS Service Event via CloudTrail'],
          detail: {
            eventName: ['CreateAccountResult'],
            serviceEventDetails: { createAccountStatus: { state: ['SUCCEEDED'] } },
          },
        },
        {
          source: ['aws.controltower'],
          'detail-type': ['AWS Service Event via CloudTrail'],
          detail: {
            eventName: ['CreateManagedAccount'],
            serviceEventDetails: { createManagedAccountStatus: { state: ['SUCCEEDED'] } },
          },
        },
        {
          source: ['aws.controltower'],
          'detail-type': ['AWS Service Event via CloudTrail'],
          detail: {
            eventName: ['UpdateManagedAccount'],
            serviceEventDetails: { updateManagedAccountStatus: { state: ['SUCCEEDED'] } },
          },
        },
      ]),
    );
    for (const rule of rules) {
      const [target] = rule.Targets as Record<string, unknown>[];
      expect(target?.Arn).toBe(`arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:${stateMachineName(STAGE)}`);
      expect(target).not.toHaveProperty('Input');
      expect(target).not.toHaveProperty('InputPath');
      expect(target).not.toHaveProperty('InputTransformer');
    }

    const fire = (event: Record<string, unknown>) =>
      patterns.filter((p) => matches(p as Record<string, unknown>, event)).length;
    const succeeded = [
      createAccountResult('SUCCEEDED'),
      managedAccount('CreateManagedAccount', 'createManagedAccountStatus', 'SUCCEEDED'),
      managedAccount('UpdateManagedAccount', 'updateManagedAccountStatus', 'SUCCEEDED'),
    ];
    for (const event of succeeded) {
      expect(fire(event)).toBe(1);
      expect(parseTrigger(event)).toMatchObject({
        kind: 'event',
        succeeded: true,
        accountId: '111122223333',
      });
    }
    expect(fire(createAccountResult('FAILED'))).toBe(0);
    expect(fire(managedAccount('CreateManagedAccount', 'createManagedAccountStatus', 'FAILED'))).toBe(0);
    expect(fire(managedAccount('UpdateManagedAccount', 'updateManagedAccountStatus', 'FAILED'))).toBe(0);
  });

  it('starts a run on each membership, closure and move event, with the whole event, and on no other Organizations event', () => {
    // Guards: a membership event missed because AWS delivers it under the other detail type (it has
    // published neither), a FAILED closure or a refused MoveAccount starting work, the API calls
    // that come with a change (CloseAccount, RemoveAccountFromOrganization) starting a second run,
    // and a pattern that matches events ResolveTargets then refuses.
    const rules = resourcesOfType('AWS::Events::Rule')
      .map(([, r]) => cfn.resolve<Record<string, unknown>>(r.Properties))
      .filter((r) => r.EventPattern);
    const byName = new Map(rules.map((r) => [String(r.Name).replace(`casbridge-${STAGE}-`, ''), r]));
    expect(byName.get('account-joined')?.EventPattern).toEqual({
      source: ['aws.organizations'],
      'detail-type': ['AWS Service Event via CloudTrail', 'AWS API Call via CloudTrail'],
      detail: { eventName: ['AccountJoinedOrganization'] },
    });
    expect(byName.get('account-departed')?.EventPattern).toEqual({
      source: ['aws.organizations'],
      'detail-type': ['AWS Service Event via CloudTrail', 'AWS API Call via CloudTrail'],
      detail: { eventName: ['AccountDepartedOrganization'] },
    });
    expect(byName.get('account-closed')?.EventPattern).toEqual({
      source: ['aws.organizations'],
      'detail-type': ['AWS Service Event via CloudTrail'],
      detail: {
        eventName: ['CloseAccountResult'],
        serviceEventDetails: { closeAccountStatus: { state: ['SUCCEEDED'] } },
      },
    });
    expect(byName.get('account-moved')?.EventPattern).toEqual({
      source: ['aws.organizations'],
      'detail-type': ['AWS API Call via CloudTrail'],
      detail: {
        eventSource: ['organizations.amazonaws.com'],
        eventName: ['MoveAccount'],
        errorCode: [{ exists: false }],
      },
    });
    for (const rule of rules) {
      const [target] = rule.Targets as Record<string, unknown>[];
      expect(target?.Arn).toBe(`arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:${stateMachineName(STAGE)}`);
      expect(target).not.toHaveProperty('Input');
      expect(target).not.toHaveProperty('InputTransformer');
    }

    const firing = (event: Record<string, unknown>) =>
      [...byName]
        .filter(([, r]) => matches(r.EventPattern as Record<string, unknown>, event))
        .map(([n]) => n);
    const expected: [string, string[]][] = [
      ['create-account-result.succeeded.json', ['account-created']],
      ['create-account-result.failed.json', []],
      ['account-joined-organization.invited.json', ['account-joined']],
      ['account-joined-organization.created.json', ['account-joined']],
      ['account-departed-organization.left.departure-method.json', ['account-departed']],
      ['account-departed-organization.removed.departed-method.json', ['account-departed']],
      ['account-departed-organization.cleaned.departure-method.json', ['account-departed']],
      ['close-account-result.succeeded.json', ['account-closed']],
      ['close-account-result.failed.json', []],
      ['move-account.json', ['account-moved']],
      ['close-account.json', []],
      ['remove-account-from-organization.json', []],
      ['control-tower.create-managed-account.json', ['managed-account-created']],
      ['control-tower.update-managed-account.json', ['managed-account-updated']],
    ];
    for (const [name, fired] of expected) {
      const event = fixture(name);
      expect({ name, fired: firing(event) }).toEqual({ name, fired });
      // What a rule delivers, ResolveTargets reads.
      if (fired.length > 0)
        expect(parseTrigger(event)).toMatchObject({ kind: 'event', accountId: expect.any(String) });
    }
    const asApiCall = { ...fixture('account-departed-organization.left.departure-method.json') };
    asApiCall['detail-type'] = 'AWS API Call via CloudTrail';
    expect(firing(asApiCall)).toEqual(['account-departed']);
    const refused = fixture('move-account.json');
    refused.detail.errorCode = 'AccessDenied';
    expect(firing(refused)).toEqual([]);
  });

  it('starts a reconcile run daily, with an input ResolveTargets accepts', () => {
    // Guards: a schedule input the strict run-input schema refuses (every scheduled run failing
    // with InvalidRunInput), or a schedule that is off.
    const schedules = resourcesOfType('AWS::Events::Rule')
      .map(([, r]) => cfn.resolve<Record<string, unknown>>(r.Properties))
      .filter((r) => r.ScheduleExpression);
    expect(schedules).toHaveLength(1);
    const [schedule] = schedules as [Record<string, unknown>];
    expect(schedule).toMatchObject({ ScheduleExpression: 'rate(1 day)', State: 'ENABLED' });
    const [target] = schedule.Targets as Record<string, string>[];
    expect(JSON.parse(target?.Input as string)).toEqual({ mode: 'reconcile', trigger: 'schedule' });
    expect(parseTrigger(JSON.parse(target?.Input as string))).toMatchObject({
      kind: 'request',
      mode: 'reconcile',
      trigger: { type: 'schedule' },
    });
  });

  it('grants no wildcard action, and Resource "*" only where AWS offers no narrower resource', () => {
    // Guards: least privilege (DESIGN §6) eroded by a convenient `s3:*` or `Resource: '*'`.
    const allowedStar = new Set([
      // Organizations' ListRoots, DescribeOrganization and List*ForParent take no resource ARN.
      'ResolveTargetsRole/ReadOrganization',
      // DescribeTrails has no resource type; DescribeOrganization and
      // ListAWSServiceAccessForOrganization take no resource ARN.
      'OrganizationTrailRole/DiscoverTrailsAndOrganization',
      // DescribeTrails has no resource type.
      'ResolveTargetsRole/DiscoverTrails',
    ]);
    const stars: string[] = [];
    for (const [logicalId, role] of resourcesOfType('AWS::IAM::Role')) {
      for (const statement of roleStatements(role)) {
        expect(statement.Effect).toBe('Allow');
        for (const action of asList(statement.Action)) expect(action).not.toContain('*');
        if (asList(statement.Resource).includes('*')) stars.push(`${logicalId}/${statement.Sid}`);
      }
    }
    expect(stars.filter((s) => !allowedStar.has(s))).toEqual([]);
  });

  it('grants each function exactly the calls its code makes, on casbridge resources only', () => {
    // Guards: a permission lost in an edit, or one function quietly gaining another's rights.
    const ledger = `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${stack.ledgerTable}`;
    const secrets = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:casbridge/connector/*`;
    const runs = `arn:aws:s3:::${stack.reportsBucket}/runs/*`;
    const key = stack.secretsKmsKeyArn;
    const memberRole = 'arn:aws:iam::*:role/CasBridgeExecutionRole';
    // casbridge's organization trail, in this account and Region, and no other trail.
    const organizationTrail = `arn:aws:cloudtrail:${REGION}:${ACCOUNT}:trail/casbridge-organization`;
    const expected: Record<string, [string, string][]> = {
      resolveTargets: [
        ['organizations:DescribeOrganization', '*'],
        ['organizations:DescribeAccount', '*'],
        ['organizations:DescribeOrganizationalUnit', '*'],
        ['organizations:ListRoots', '*'],
        ['organizations:ListParents', '*'],
        ['organizations:ListOrganizationalUnitsForParent', '*'],
        ['organizations:ListAccountsForParent', '*'],
        ['dynamodb:GetItem', ledger],
        ['dynamodb:Scan', ledger],
        // Only the items of lifecycle events (dynamodb:LeadingKeys), asserted below.
        ['dynamodb:PutItem', ledger],
        ['s3:PutObject', runs],
        // The run's organization trail coverage, read once; any account's, as a delegated
        // administrator sees the management account's organization trail.
        ['cloudtrail:GetTrailStatus', 'arn:aws:cloudtrail:*:*:trail/*'],
        ['cloudtrail:GetEventSelectors', 'arn:aws:cloudtrail:*:*:trail/*'],
        ['cloudtrail:DescribeTrails', '*'],
      ],
      access: [
        ['sts:AssumeRole', memberRole],
        ['dynamodb:UpdateItem', ledger],
        ['dynamodb:GetItem', ledger],
      ],
      // Every step renews the account's lease when it runs short.
      user: [
        ['sts:AssumeRole', memberRole],
        ['dynamodb:UpdateItem', ledger],
      ],
      policy: [
        ['sts:AssumeRole', memberRole],
        ['dynamodb:UpdateItem', ledger],
      ],
      accessKey: [
        ['sts:AssumeRole', memberRole],
        ['dynamodb:UpdateItem', ledger],
        ['secretsmanager:DescribeSecret', secrets],
        ['secretsmanager:CreateSecret', secrets],
        ['secretsmanager:PutSecretValue', secrets],
        ['secretsmanager:RestoreSecret', secrets],
        ['secretsmanager:UpdateSecretVersionStage', secrets],
        ['secretsmanager:TagResource', secrets],
        ['kms:GenerateDataKey', key],
        ['kms:Decrypt', key],
      ],
      organizationTrail: [
        ...[
          'cloudtrail:CreateTrail',
          'cloudtrail:UpdateTrail',
          'cloudtrail:StartLogging',
          'cloudtrail:GetTrailStatus',
          'cloudtrail:GetEventSelectors',
          'cloudtrail:PutEventSelectors',
          'cloudtrail:AddTags',
        ].map((a): [string, string] => [a, organizationTrail]),
        ['cloudtrail:GetTrailStatus', `arn:aws:cloudtrail:*:${ACCOUNT}:trail/*`],
        ['cloudtrail:GetEventSelectors', `arn:aws:cloudtrail:*:${ACCOUNT}:trail/*`],
        ['cloudtrail:DescribeTrails', '*'],
        ['organizations:DescribeOrganization', '*'],
        ['organizations:ListAWSServiceAccessForOrganization', '*'],
      ],
      trail: [
        ['sts:AssumeRole', memberRole],
        ['dynamodb:UpdateItem', ledger],
      ],
      register: [
        ['dynamodb:UpdateItem', ledger],
        ['secretsmanager:DescribeSecret', secrets],
        ['sns:Publish', stack.topicArn],
      ],
      verify: [
        ['sts:AssumeRole', memberRole],
        ['dynamodb:UpdateItem', ledger],
        ['secretsmanager:GetSecretValue', secrets],
        // Once the connector uses its key, its secret goes (none with keepSecrets).
        ['secretsmanager:DeleteSecret', secrets],
        ['kms:Decrypt', key],
      ],
      offboard: [
        ['sts:AssumeRole', memberRole],
        ['secretsmanager:DescribeSecret', secrets],
        ['secretsmanager:DeleteSecret', secrets],
        ['sns:Publish', stack.topicArn],
        ['dynamodb:GetItem', ledger],
        ['dynamodb:UpdateItem', ledger],
      ],
      // Central records only: no member role to assume. It claims the account (a dry run reads it).
      depart: [
        ['dynamodb:UpdateItem', ledger],
        ['dynamodb:GetItem', ledger],
        ['secretsmanager:DescribeSecret', secrets],
        ['secretsmanager:DeleteSecret', secrets],
        ['sns:Publish', stack.topicArn],
      ],
      recordResult: [
        ['dynamodb:GetItem', ledger],
        ['dynamodb:UpdateItem', ledger],
      ],
      writeReport: [
        ['s3:GetObject', runs],
        ['s3:PutObject', runs],
        ['sns:Publish', stack.topicArn],
        ['dynamodb:Scan', ledger],
      ],
    };
    for (const [name, fn] of functions()) {
      const statements = roleStatements(roleOf(fn)[1]);
      const [logs, ...rest] = statements;
      // Its own log group only (and no CreateLogGroup: the stack creates the group).
      expect(logs).toMatchObject({
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:/aws/lambda/casbridge-${STAGE}-${name}:*`,
      });
      const grants = rest.flatMap((s) =>
        asList(s.Action).flatMap((a) => asList(s.Resource).map((r) => [a, r] as [string, string])),
      );
      expect(grants.sort()).toEqual([...(expected[name] ?? [])].sort());
      // The secrets key only through Secrets Manager, never for a direct Decrypt.
      for (const s of rest.filter((s) => asList(s.Action).some((a) => a.startsWith('kms:'))))
        expect(s.Condition).toEqual({
          StringEquals: { 'kms:ViaService': `secretsmanager.${REGION}.amazonaws.com` },
        });
    }
  });

  it('gives the sandbox exactly the packaged roles, statement for statement, once resolved', () => {
    // Guards: the sandbox (and so every test, the demo and the benchmark) running the tasks under
    // roles that differ from what a deployment creates. Both come from serverless.yml: the
    // sandbox reads it itself (sandbox/scenario/stack-deployment.ts), osls compiles it here.
    const deployment = stackDeployment(stack, ORGANIZATION_ID);
    const packagedRoles = deployment.roles.map((role) => {
      const packaged = template.Resources[role.logicalId];
      expect([role.logicalId, packaged?.Type]).toEqual([role.logicalId, 'AWS::IAM::Role']);
      const p = cfn.resolve<Record<string, unknown>>(packaged?.Properties);
      return {
        logicalId: role.logicalId,
        roleName: p.RoleName,
        path: p.Path ?? '/',
        trust: p.AssumeRolePolicyDocument,
        policies: (p.Policies as { PolicyName: string; PolicyDocument: unknown }[]).map((x) => ({
          name: x.PolicyName,
          document: x.PolicyDocument,
        })),
        managed: p.ManagedPolicyArns ?? [],
      };
    });
    expect(
      deployment.roles.map((role) => ({
        logicalId: role.logicalId,
        roleName: role.roleName,
        path: role.path,
        trust: role.assumeRolePolicyDocument,
        policies: role.inlinePolicies,
        managed: role.managedPolicyArns,
      })),
    ).toEqual(packagedRoles);
    // Every function runs as one of them, the one its Lambda resource names.
    for (const [name, fn] of functions())
      expect(deployment.functions.find((f) => f.key === name)?.roleName).toBe(
        cfn.resolve(roleOf(fn)[1].Properties.RoleName),
      );
    // And so does the key policy the sandbox's Secrets Manager applies to the secrets key.
    expect(deployment.keyPolicies[stack.secretsKmsKeyArn]).toEqual(
      cfn.resolve((template.Resources.SecretsKey as Resource).Properties.KeyPolicy),
    );
  });

  it('grants each function only actions its bundle can call', () => {
    // Guards: a grant no code can use (least privilege: DESIGN §6). Each SDK command class a
    // bundle holds is authorised as the IAM action `service:Operation`; what the sandbox sees
    // each role actually use across the suite is checked by test/grant-usage-reporter.cjs.
    const prefixes: Record<string, string> = {
      'client-dynamodb': 'dynamodb',
      'client-organizations': 'organizations',
      'client-s3': 's3',
      'client-sts': 'sts',
      'client-iam': 'iam',
      'client-secrets-manager': 'secretsmanager',
      'client-cloudtrail': 'cloudtrail',
      'client-sns': 'sns',
    };
    const problems: string[] = [];
    for (const [name, fn] of functions()) {
      const code = [...readZip(path.join(OUT, `${name}.zip`)).values()][0]?.toString('utf8') ?? '';
      const services = [...code.matchAll(/\bname:"@aws-sdk\/(client-[a-z0-9-]+)"/g)]
        .map((m) => prefixes[m[1] as string])
        .filter((p): p is string => p !== undefined);
      // An SDK v3 command class: `class extends Command(…, "Operation", Schema){}` once minified.
      const operations = new Set(
        [...code.matchAll(/class extends [\w$]+\([\w$]+,[\w$]+,"([A-Za-z]+)",[\w$]+\)\{\}/g)].map(
          (m) => m[1] as string,
        ),
      );
      const callable = (action: string) => {
        const [service, operation] = action.split(':') as [string, string];
        if (service === 'logs') return true; // the Lambda runtime writes the function's log group
        // Secrets Manager uses the secrets key on the caller's behalf (kms:ViaService).
        if (service === 'kms') return services.includes('secretsmanager');
        // CloudTrail authorises the tags a CreateTrail carries as AddTags on the new trail.
        if (action === 'cloudtrail:AddTags')
          return services.includes(service) && operations.has('CreateTrail');
        return services.includes(service) && operations.has(operation);
      };
      for (const statement of roleStatements(roleOf(fn)[1]))
        for (const action of asList(statement.Action))
          if (!callable(action)) problems.push(`${name}: ${statement.Sid} ${action}`);
    }
    expect(problems).toEqual([]);
  });

  it('gives the member role to exactly the roles its trust policy names, and trusts no other', () => {
    // Guards: a role that AssumeRole refuses in every account (RoleMissing everywhere), or the
    // member role trusting a central role that has no use for it.
    const memberRole = readTemplate(path.join(ROOT, 'templates/member-role.yml'));
    const [trust] = templateRoles(
      memberRole,
      { CentralAccountId: ACCOUNT, ExternalId: 'x', Stage: STAGE },
      { accountId: '111122223333', region: REGION },
    ).map((r) => r.assumeRolePolicyDocument as { Statement: Statement[] });
    const trusted = trust?.Statement.flatMap((s) =>
      asList(s.Condition?.ArnEquals?.['aws:PrincipalArn'] as string | string[]),
    );
    const assumers = [...resourcesOfType('AWS::IAM::Role')]
      .filter(([, role]) =>
        roleStatements(role).some(
          (s) =>
            asList(s.Action).includes('sts:AssumeRole') &&
            asList(cfn.resolve<string | string[]>(s.Resource)).some((r) =>
              r.endsWith(':role/CasBridgeExecutionRole'),
            ),
        ),
      )
      .map(([, role]) => `arn:aws:iam::${ACCOUNT}:role/${cfn.resolve<string>(role.Properties.RoleName)}`);
    expect(assumers.length).toBeGreaterThan(0);
    expect([...(trusted ?? [])].sort()).toEqual(assumers.sort());
  });

  it('lets the state machine invoke its functions, run its own children, and touch only run objects', () => {
    // Guards: the Distributed Map failing at its first child (no states:StartExecution on itself),
    // or ItemReader/ResultWriter denied; serverless-step-functions' generated role would grant
    // s3 on '*' because the bucket comes from the input.
    const role = template.Resources.StateMachineRole as Resource;
    const statements = roleStatements(role);
    const bySid = new Map(statements.map((s) => [s.Sid, s]));
    expect(asList(bySid.get('InvokeTasks')?.Resource).sort()).toEqual(
      [...functions().keys()]
        .map((f) => `arn:aws:lambda:${REGION}:${ACCOUNT}:function:casbridge-${STAGE}-${f}`)
        .sort(),
    );
    expect(bySid.get('StartChildExecutions')).toMatchObject({
      Action: 'states:StartExecution',
      Resource: `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:${stateMachineName(STAGE)}`,
    });
    expect(bySid.get('ManageChildExecutions')).toMatchObject({
      Resource: `arn:aws:states:${REGION}:${ACCOUNT}:execution:${stateMachineName(STAGE)}/*`,
    });
    expect(bySid.get('MapItemsAndResults')).toMatchObject({
      Action: expect.arrayContaining(['s3:GetObject', 's3:PutObject']),
      Resource: `arn:aws:s3:::${stack.reportsBucket}/runs/*`,
    });
    expect(statements).toHaveLength(4);
    expect(cfn.resolve(role.Properties.AssumeRolePolicyDocument)).toMatchObject({
      Statement: [
        {
          Principal: { Service: 'states.amazonaws.com' },
          Condition: { StringEquals: { 'aws:SourceAccount': ACCOUNT } },
        },
      ],
    });
  });

  it('encrypts every bucket, blocks all public access, and refuses plain HTTP', () => {
    // Guards: a trail-log or report bucket made public by a later policy or ACL, unencrypted
    // objects, and requests over HTTP.
    const buckets = resourcesOfType('AWS::S3::Bucket');
    expect(buckets.map(([id]) => id).sort()).toEqual([
      'LogBucket',
      'ReportsBucket',
      'ServerlessDeploymentBucket',
    ]);
    const policies = resourcesOfType('AWS::S3::BucketPolicy').map(([, p]) =>
      cfn.resolve<{ Bucket: string; PolicyDocument: { Statement: Statement[] } }>(p.Properties),
    );
    for (const [id, bucket] of buckets) {
      const p = bucket.Properties;
      expect(p.BucketEncryption).toEqual({
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      });
      expect(p.PublicAccessBlockConfiguration).toEqual({
        BlockPublicAcls: true,
        IgnorePublicAcls: true,
        BlockPublicPolicy: true,
        RestrictPublicBuckets: true,
      });
      if (id !== 'ServerlessDeploymentBucket')
        expect(p.OwnershipControls).toEqual({ Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] });
      const name = cfn.resolve<string>({ Ref: id });
      const policy = policies.find((x) => x.Bucket === name);
      expect(policy?.PolicyDocument.Statement).toContainEqual(
        expect.objectContaining({
          Effect: 'Deny',
          Action: 's3:*',
          Condition: { Bool: { 'aws:SecureTransport': expect.anything() } },
        }),
      );
    }
  });

  it("gives the log bucket the CloudTrail policy the sandbox enforces: each account's casbridge trail under its own prefix", () => {
    // Guards: InsufficientS3BucketPolicyException on every CreateTrail (a prefix or condition
    // differing from what the trail step and the sandbox use), and one account's trail writing
    // under another account's prefix (the sandbox's CloudTrail evaluates this same policy).
    const policy = cfn.resolve<{ PolicyDocument: { Statement: Statement[] } }>(
      (template.Resources.LogBucketPolicy as Resource).Properties,
    );
    const cloudTrail = policy.PolicyDocument.Statement.filter((s) => s.Sid !== 'DenyInsecureTransport');
    expect(cloudTrail).toEqual(
      (
        logBucketPolicy(stack.logBucket, ORGANIZATION_ID, undefined, 'aws', undefined, {
          accountId: ACCOUNT,
          region: REGION,
        }) as { Statement: unknown[] }
      ).Statement,
    );
    expect(policy.PolicyDocument.Statement.find((s) => s.Sid === 'CloudTrailWrite')?.Resource).toBe(
      `arn:aws:s3:::${stack.logBucket}/casbridge/\${aws:SourceAccount}/AWSLogs/\${aws:SourceAccount}/*`,
    );
    // No existingLogBucket: the bucket is created, its condition settled at packaging.
    expect(template.Resources.LogBucket).toMatchObject({ Type: 'AWS::S3::Bucket' });
    expect(template.Resources.LogBucket).not.toHaveProperty('Condition');
  });

  it('starts runs through one role EventBridge may assume only for these rules of this account', () => {
    // Guards: the confused deputy (another account's rule, or any rule, starting casbridge through
    // its role: aws:SourceAccount and aws:SourceArn), a rule role able to do more than start this
    // state machine, and serverless-step-functions' generated rule roles (no conditions) returning.
    const rules = resourcesOfType('AWS::Events::Rule').map(([, r]) =>
      cfn.resolve<{ Name: string; Targets: Record<string, unknown>[] }>(r.Properties),
    );
    expect(rules).toHaveLength(8);
    const roleArn = `arn:aws:iam::${ACCOUNT}:role/casbridge-${STAGE}-events`;
    for (const rule of rules) {
      expect(rule.Targets).toHaveLength(1);
      expect(rule.Targets[0]).toMatchObject({ RoleArn: roleArn });
      // The dead-letter queue is off by default (eventsDeadLetterQueue).
      expect(rule.Targets[0]).not.toHaveProperty('DeadLetterConfig');
    }
    const roles = resourcesOfType('AWS::IAM::Role').filter(([, r]) =>
      JSON.stringify(r.Properties.AssumeRolePolicyDocument).includes('events.amazonaws.com'),
    );
    expect(roles.map(([id]) => id)).toEqual(['EventsRole']);
    const [, role] = roles[0] as [string, Resource];
    expect(cfn.resolve(role.Properties.AssumeRolePolicyDocument)).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { Service: 'events.amazonaws.com' },
          Action: 'sts:AssumeRole',
          Condition: {
            StringEquals: { 'aws:SourceAccount': ACCOUNT },
            ArnEquals: {
              'aws:SourceArn': rules.map((r) => `arn:aws:events:${REGION}:${ACCOUNT}:rule/${r.Name}`),
            },
          },
        },
      ],
    });
    expect(roleStatements(role)).toEqual([
      {
        Sid: 'StartRun',
        Effect: 'Allow',
        Action: 'states:StartExecution',
        Resource: `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:${stateMachineName(STAGE)}`,
      },
    ]);
  });

  it('leaves tracing and the events dead-letter queue off by default', () => {
    // Guards: X-Ray cost and the state machine role's X-Ray grants ('*') appearing unasked.
    const [, machine] = resourcesOfType('AWS::StepFunctions::StateMachine')[0] as [string, Resource];
    expect(machine.Properties.TracingConfiguration).toEqual({ Enabled: false });
    expect(roleStatements(template.Resources.StateMachineRole as Resource).map((s) => s.Sid)).not.toContain(
      'XRayTraces',
    );
    expect(resourcesOfType('AWS::SQS::Queue')).toEqual([]);
  });

  it('names the central resources as the sandbox does, and keeps the data', () => {
    // Guards: the sandbox (and so every test) drifting from what a deployment creates, and a
    // `remove` or replacement deleting the ledger, the logs or the key every secret depends on.
    expect(cfn.resolve({ Ref: 'ReportsBucket' })).toBe(stack.reportsBucket);
    expect(cfn.resolve({ Ref: 'LogBucket' })).toBe(stack.logBucket);
    expect(cfn.resolve({ Ref: 'LedgerTable' })).toBe(stack.ledgerTable);
    expect(cfn.resolve({ Ref: 'HandoffTopic' })).toBe(stack.topicArn);
    expect(template.Resources.SecretsKeyAlias?.Properties.AliasName).toBe(stack.secretsKmsKeyAlias);
    for (const id of ['LedgerTable', 'ReportsBucket', 'LogBucket', 'SecretsKey'])
      expect(template.Resources[id]).toMatchObject({
        DeletionPolicy: 'Retain',
        UpdateReplacePolicy: 'Retain',
      });
    expect(Object.keys(template.Outputs ?? {})).toEqual(
      expect.arrayContaining(['StateMachineArn', 'ReportsBucket', 'LogBucket', 'LedgerTable', 'TopicArn']),
    );
  });

  it('encrypts the ledger, the topic and the secrets key, and keeps the ledger recoverable', () => {
    // Guards: ledger items (key ids, secret ARNs) or hand-off messages stored unencrypted, and a
    // ledger that a bad write cannot be rolled back from.
    expect(template.Resources.LedgerTable?.Properties).toMatchObject({
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [{ AttributeName: 'accountId', KeyType: 'HASH' }],
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true },
    });
    expect(template.Resources.HandoffTopic?.Properties.KmsMasterKeyId).toBe('alias/aws/sns');
    expect(template.Resources.SecretsKey?.Properties.EnableKeyRotation).toBe(true);
  });

  it('lets ResolveTargets write only the ledger items of events, which the table expires by TTL', () => {
    // Guards: ResolveTargets, which only remembers which run an event started, able to overwrite
    // an account's item (its lease, its key ids); and event items piling up forever.
    const statements = roleStatements(template.Resources.ResolveTargetsRole as Resource);
    expect(statements.find((s) => asList(s.Action).includes('dynamodb:PutItem'))?.Condition).toEqual({
      'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['event#*'] },
    });
    expect(template.Resources.LedgerTable?.Properties.TimeToLiveSpecification).toEqual({
      AttributeName: 'ttl',
      Enabled: true,
    });
  });

  it('gives every function only configuration commons/config.ts knows, with its defaults', () => {
    // Guards: a misspelt variable silently ignored (the default applies), a value config.ts
    // refuses (every task fails with ConfigurationError at cold start), and serverless.yml's
    // parameter defaults drifting from config.ts's.
    const known = new Set(
      readFileSync(path.join(ROOT, 'commons/config.ts'), 'utf8').match(/CASBRIDGE_[A-Z_]+/g),
    );
    for (const [, fn] of functions()) {
      const env = cfn.resolve<{ Variables: Record<string, string> }>(fn.Properties.Environment).Variables;
      for (const name of Object.keys(env)) expect(known).toContain(name);
      const config = loadConfig({ ...env, AWS_REGION: REGION });
      expect(config).toMatchObject({
        externalId: 'package-check',
        ledgerTable: stack.ledgerTable,
        logBucket: stack.logBucket,
        topicArn: stack.topicArn,
        reportsBucket: stack.reportsBucket,
        secretsKmsKeyId: expect.stringMatching(/^arn:aws:kms:/),
      });
      const defaults = loadConfig({
        CASBRIDGE_EXTERNAL_ID: config.externalId,
        CASBRIDGE_LEDGER_TABLE: config.ledgerTable,
        CASBRIDGE_LOG_BUCKET: config.logBucket,
        CASBRIDGE_TOPIC_ARN: config.topicArn,
        CASBRIDGE_REPORTS_BUCKET: config.reportsBucket,
        CASBRIDGE_SECRETS_KMS_KEY_ID: config.secretsKmsKeyId,
        AWS_REGION: REGION,
      });
      expect(config).toEqual(defaults);
    }
  });

  it('packages each function as one self-contained bundle under 300 KB', () => {
    // Guards: a zip that needs node_modules at run time (an `external`, or a module esbuild left
    // as a require) and cold starts slowed by megabytes of unused SDK.
    const builtins = new Set([
      ...builtinModules,
      ...builtinModules.map((m) => `node:${m}`),
      // Not a require: the text of the S3 client's SigV4a error message, which names the package.
      '@aws-sdk/signature-v4-crt',
    ]);
    for (const [name] of functions()) {
      const zip = path.join(OUT, `${name}.zip`);
      const bytes = statSync(zip).size;
      expect(bytes).toBeLessThan(MAX_ZIP_BYTES);
      const files = readZip(zip);
      expect([...files.keys()]).toEqual([expect.stringMatching(/^functions\/[a-z-]+\/handler\.js$/)]);
      const code = [...files.values()][0]?.toString('utf8') ?? '';
      const required = [...code.matchAll(/\brequire\("([^"]+)"\)/g)].map((m) => m[1] as string);
      expect(required.filter((m) => !builtins.has(m))).toEqual([]);
    }
  });

  it('bundles into each function only the AWS SDK clients it calls', () => {
    // Guards: cold starts slowed by clients a function never calls (each costs ~10-40 ms). A value
    // import of any module that imports a client can bring the client along: esbuild keeps what
    // it cannot prove free of side effects (lib-dynamodb does not declare itself so).
    const expected: Record<string, string[]> = {
      resolveTargets: ['client-cloudtrail', 'client-dynamodb', 'client-organizations', 'client-s3'],
      // IAM and CloudTrail: CheckAccount's read-only member clients (functions/access/check-account.ts).
      access: ['client-cloudtrail', 'client-dynamodb', 'client-iam', 'client-sts'],
      // Every step carries the ledger client to renew the account's lease, loaded only when it
      // does (commons/step-handler.ts lazyLedger): not at cold start.
      user: ['client-dynamodb', 'client-iam', 'client-sts'],
      policy: ['client-dynamodb', 'client-iam', 'client-sts'],
      accessKey: ['client-dynamodb', 'client-iam', 'client-secrets-manager', 'client-sts'],
      organizationTrail: ['client-cloudtrail', 'client-organizations', 'client-sts'],
      trail: ['client-cloudtrail', 'client-dynamodb', 'client-sts'],
      register: ['client-dynamodb', 'client-secrets-manager', 'client-sns'],
      verify: ['client-dynamodb', 'client-iam', 'client-secrets-manager', 'client-sts'],
      offboard: ['client-dynamodb', 'client-iam', 'client-secrets-manager', 'client-sns', 'client-sts'],
      depart: ['client-dynamodb', 'client-secrets-manager', 'client-sns'],
      recordResult: ['client-dynamodb'],
      writeReport: ['client-dynamodb', 'client-s3', 'client-sns'],
    };
    const bundled: Record<string, string[]> = {};
    for (const [name] of functions()) {
      const code = [...readZip(path.join(OUT, `${name}.zip`)).values()][0]?.toString('utf8') ?? '';
      // Each client bundles its package.json's name (for its user agent); the credential chain's
      // profile, SSO and web-identity links bring the SDK's nested STS and SSO clients.
      bundled[name] = [
        ...new Set(
          [...code.matchAll(/\bname:"@aws-sdk\/(client-[a-z0-9-]+|nested-clients)"/g)].map((m) => m[1]),
        ),
      ].sort() as string[];
    }
    expect(bundled).toEqual(expected);
  });

  it('loads each bundled handler on Node and reaches its input validation', () => {
    // Guards: a bundle that breaks only once built (an ES module mis-converted to CommonJS, a
    // tree-shaken side effect): the handler must load and refuse bad input by its error name.
    const dir = mkdtempSync(path.join(tmpdir(), 'casbridge-bundles-'));
    try {
      const handlers: Record<string, string> = {};
      for (const [name] of functions()) {
        const [[file, code]] = [...readZip(path.join(OUT, `${name}.zip`))] as [[string, Buffer]];
        const target = path.join(dir, name, file);
        mkdirSync(path.dirname(target), { recursive: true });
        writeFileSync(target, code);
        handlers[name] = target;
      }
      const script = `
        const handlers = ${JSON.stringify(handlers)};
        const context = { functionName: 'f', awsRequestId: 'r', getRemainingTimeInMillis: () => 1000 };
        (async () => {
          const out = {};
          for (const [name, file] of Object.entries(handlers)) {
            try { await require(file).handler({}, context); out[name] = 'resolved'; }
            catch (e) { out[name] = e.name; }
          }
          process.stderr.write('RESULT ' + JSON.stringify(out) + '\\n');
        })();`;
      const env = {
        PATH: process.env.PATH,
        AWS_REGION: REGION,
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        POWERTOOLS_LOG_LEVEL: 'CRITICAL',
        CASBRIDGE_EXTERNAL_ID: 'package-check',
        CASBRIDGE_LOG_BUCKET: stack.logBucket,
        CASBRIDGE_TOPIC_ARN: stack.topicArn,
        CASBRIDGE_LEDGER_TABLE: stack.ledgerTable,
      };
      const run = spawnSync(process.execPath, ['-e', script], { env, encoding: 'utf8', timeout: 30_000 });
      const line = run.stderr.split('\n').find((l) => l.startsWith('RESULT '));
      const names = JSON.parse(line?.slice('RESULT '.length) ?? '{}') as Record<string, string>;
      expect(Object.keys(names).sort()).toEqual([...functions().keys()].sort());
      for (const [name, errorName] of Object.entries(names))
        expect([name, errorName]).toEqual([name, expect.stringMatching(/^Invalid(Task|Run)Input$/)]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('onboards, then finds unchanged, the healthy accounts with every Task run by its bundle', async () => {
    // Guards: what only the bundles do, and no test of the source sees: the credentials read
    // from the environment alone (commons/clients/lambda-credentials.ts) and the SDK schemas
    // esbuild keeps (scripts/package/schema-keys.cjs). The state machine runs locally against the
    // sandbox as in test/state-machine, each Task bound to its function's bundle.
    const ACCOUNTS = 8;
    const sandbox = await startSandbox({ accounts: ACCOUNTS });
    const environment = { ...process.env };
    const handlers = FUNCTION_HANDLERS as Record<string, LambdaHandler>;
    const sourceHandlers = { ...handlers };
    const dir = mkdtempSync(path.join(tmpdir(), 'casbridge-bundles-'));
    try {
      await setLambdaEnvironment(sandbox, { POWERTOOLS_LOG_LEVEL: 'CRITICAL' });
      // Node's own require: the bundles load as Lambda loads them, not through jest's transform.
      const load = createRequire(__filename);
      for (const [name] of functions()) {
        const [[file, code]] = [...readZip(path.join(OUT, `${name}.zip`))] as [[string, Buffer]];
        const target = path.join(dir, name, file);
        mkdirSync(path.dirname(target), { recursive: true });
        writeFileSync(target, code);
        handlers[name] = load(target).handler;
      }

      const onboard = await runStateMachine(sandbox, { mode: 'onboard' });
      const reconcile = await runStateMachine(sandbox, { mode: 'reconcile' });

      const healthy = Array.from({ length: ACCOUNTS }, (_, i) => i + 1)
        .filter((i) => defaultFaultLabel(i) === 'healthy')
        .map((i) => defaultAccountId(i));
      const outcomes = (report: typeof onboard.report) =>
        (report?.accounts ?? [])
          .filter((a) => healthy.includes(a.accountId))
          .map((a) => [a.accountId, a.outcome, a.changed])
          .sort();
      expect(healthy.length).toBeGreaterThan(2);
      expect(outcomes(onboard.report)).toEqual(healthy.map((id) => [id, 'SUCCEEDED', true]).sort());
      expect(outcomes(reconcile.report)).toEqual(healthy.map((id) => [id, 'SUCCEEDED', false]).sort());
    } finally {
      useFunctionCredentials(undefined);
      Object.assign(handlers, sourceHandlers);
      for (const key of Object.keys(process.env)) if (!(key in environment)) delete process.env[key];
      Object.assign(process.env, environment);
      rmSync(dir, { recursive: true, force: true });
      await sandbox.close();
    }
  }, 120_000);
});
