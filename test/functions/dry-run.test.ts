import { CreatePolicyCommand, IAMClient } from '@aws-sdk/client-iam';
import { ledger } from '../../commons/clients/dynamodb';
import { connectorPolicyArn } from '../../commons/config';
import { connectorPolicyDocument } from '../../commons/connector-policy';
import type { ReportAccount } from '../../commons/run';
import { getRuntime } from '../../commons/runtime';
import type { TaskInput } from '../../commons/task-input';
import { ensureUser } from '../../functions/user/ensure-user';
import { dumpState } from '../../sandbox/core/inspection';
import { accountState, regionalState, type Trail } from '../../sandbox/core/world';
import { defaultAccountId } from '../../sandbox/scenario/default-scenario';
import { setLambdaEnvironment } from '../support/lambda-env';
import { memberAccountClients } from '../support/member';
import { accountInput, loadPipeline, OFFBOARD_STEPS, type PipelineRunner } from '../support/pipeline';
import { sandboxConfig } from '../support/product';
import { assumeRole, useSandbox } from '../support/sandbox';

const DAY_MS = 86_400_000;
const USER = 'cloudappsecurity';

/**
 * Every state a real run handles, planned by a dry run through the real handlers with the state
 * machine's Retry/Catch semantics: what each step says the real run would do, or the error the real
 * run would fail with, and nothing changed anywhere. Where it matters, the real run then does what
 * the plan said.
 */
describe('a dry run', () => {
  const sandbox = useSandbox({ accounts: 40 });
  let onboard: PipelineRunner;
  let offboard: PipelineRunner;
  let runs = 0;

  beforeAll(async () => {
    await setLambdaEnvironment(sandbox());
    onboard = await loadPipeline(sandbox());
    offboard = await loadPipeline(sandbox(), OFFBOARD_STEPS);
  });

  const world = () => sandbox().world;
  const iam = (accountId: string) => accountState(world(), accountId).iam;
  const trails = (accountId: string) => regionalState(world(), accountId, sandbox().stack.region).trails;
  const central = () => regionalState(world(), sandbox().stack.accountId, sandbox().stack.region);
  const input = (accountId: string, options: { mode?: TaskInput['mode']; dryRun?: boolean }) =>
    accountInput(sandbox(), accountId, `run-${++runs}`, options);

  /**
   * What a dry run must leave as it was: the member account (IAM, CloudTrail, S3), the central
   * account (the connector secrets, the topic's messages, the buckets) and the account's ledger item.
   */
  async function everything(accountId: string) {
    const item = (await ledger(getRuntime()).get(accountId)) ?? null;
    const centralId = sandbox().stack.accountId;
    const centralState = dumpState(world(), centralId) as {
      accounts: Record<string, { iam: { accessKeys: Record<string, { lastUsed?: unknown }> } }>;
    };
    // The operator's own key, with which this test reads the ledger: not casbridge's doing.
    for (const key of Object.values(centralState.accounts[centralId]?.iam.accessKeys ?? {}))
      delete key.lastUsed;
    return { member: dumpState(world(), accountId), central: centralState, ledger: item };
  }

  /** The dry run of one account, checked to have written nothing and changed nothing. */
  async function plan(accountId: string, mode: TaskInput['mode'] = 'reconcile'): Promise<ReportAccount> {
    const before = await everything(accountId);
    const mark = world().callLog.mark();
    const runner = mode === 'offboard' ? offboard : onboard;
    const result = await runner.run(input(accountId, { mode, dryRun: true }));
    expect(
      world()
        .callLog.list({ sinceSeq: mark })
        .filter((c) => !c.readOnly)
        .map((c) => `${c.account} ${c.service}:${c.operation}`),
    ).toEqual([]);
    expect(await everything(accountId)).toEqual(before);
    // No dry-run step crashes on what it reads: every failure is one the real run names.
    if (result.error) expect(result.error.name).not.toBe('TaskFailed');
    return result;
  }

  /** The real run the plan was made for. */
  function run(accountId: string, mode: TaskInput['mode'] = 'reconcile'): Promise<ReportAccount> {
    return (mode === 'offboard' ? offboard : onboard).run(input(accountId, { mode }));
  }

  /** Each step's action, and the real run's reason (a plan's `details.planned`). */
  function actions(result: ReportAccount): Record<string, string> {
    return Object.fromEntries(
      Object.entries(result.steps).map(([step, r]) => {
        const reason = r.reason === 'dry-run' ? r.details?.planned : r.reason;
        return [step, reason ? `${r.action} ${reason}` : r.action];
      }),
    );
  }

  /** Calls of one account since `mark`, as `service:Operation (error)`. */
  function callsSince(mark: number, accountId: string): string[] {
    const operator = sandbox().admin.accessKeyId;
    return world()
      .callLog.list({ sinceSeq: mark })
      .filter((c) => c.accessKeyId !== operator)
      .filter((c) => c.account === accountId || c.service === 'secretsmanager' || c.service === 'dynamodb')
      .map((c) => `${c.service}:${c.operation}${c.outcome === 'ok' ? '' : ` (${c.errorCode})`}`);
  }

  async function onboarded(index: number): Promise<string> {
    const accountId = defaultAccountId(index);
    expect(await run(accountId, 'onboard')).toMatchObject({ outcome: 'SUCCEEDED' });
    return accountId;
  }

  /** What removing the connector user by hand takes in IAM: its keys, its group, then the user. */
  function deleteUser(accountId: string): void {
    const state = iam(accountId);
    for (const [id, key] of state.accessKeys)
      if (key.userName.toLowerCase() === USER) state.accessKeys.delete(id);
    for (const group of state.groups.values()) group.members = group.members.filter((m) => m !== USER);
    state.users.delete(USER);
  }

  function connectorKeys(accountId: string) {
    return [...iam(accountId).accessKeys.values()].filter((k) => k.userName.toLowerCase() === USER);
  }

  // ---------------------------------------------------------------- access and user

  it('plans every step of a fresh account without reading what it would create', async () => {
    const accountId = defaultAccountId(1);
    const mark = world().callLog.mark();
    const result = await plan(accountId, 'onboard');
    expect(actions(result)).toEqual({
      access: 'unchanged',
      user: 'created',
      policy: 'created',
      accessKey: 'created',
      trail: 'created',
      register: 'created handoff-sent',
      verify: 'unchanged awaiting-connection',
    });
    expect(result.steps.verify?.details).toMatchObject({
      connector: 'AWAITING_CONNECTION',
      simulated: false,
    });
    // Neither the keys of a user it would create nor the permissions of that user are looked up,
    // and register does not describe the secret the access key step already found missing.
    expect(callsSince(mark, accountId).filter((c) => !c.startsWith('sts:'))).toEqual([
      'dynamodb:GetItem', // the ledger view, without claiming the account
      'iam:GetUser (NoSuchEntity)',
      'iam:GetPolicy (NoSuchEntity)',
      'iam:ListAttachedGroupPolicies', // the StackSet's connector group, and nothing of anyone else's in it
      'iam:ListGroupPolicies',
      'iam:GetGroup',
      'secretsmanager:DescribeSecret (ResourceNotFoundException)',
      'cloudtrail:DescribeTrails',
    ]);
    // The real run does what the plan said.
    expect(actions(await run(accountId, 'onboard'))).toMatchObject({
      user: 'created',
      policy: 'created',
      accessKey: 'created',
      trail: 'created',
      register: 'created handoff-sent',
      verify: 'unchanged awaiting-connection',
    });
  });

  it('plans an account whose policy exists and whose user does not, the policy made by hand', async () => {
    const accountId = defaultAccountId(2);
    // The account's administrators, as they have IAM (OrganizationAccountAccessRole).
    const admin = new IAMClient(
      sandbox().clientConfig(
        await assumeRole(sandbox(), `arn:aws:iam::${accountId}:role/OrganizationAccountAccessRole`),
      ),
    );
    await admin.send(
      new CreatePolicyCommand({
        PolicyName: 'CasBridgeCloudAppSecurity',
        Path: '/casbridge/',
        PolicyDocument: JSON.stringify(connectorPolicyDocument({ allowPutBucketAcl: true })),
      }),
    );
    const result = await plan(accountId, 'onboard');
    expect(actions(result)).toEqual({
      access: 'unchanged',
      user: 'created',
      policy: 'updated',
      accessKey: 'created',
      trail: 'created',
      register: 'created handoff-sent',
      verify: 'unchanged awaiting-connection',
    });
    expect(result.steps.policy?.details).toMatchObject({ reason: 'attached-to-group' });
    expect(actions(await run(accountId, 'onboard'))).toMatchObject({
      user: 'created',
      policy: 'updated',
      accessKey: 'created',
      register: 'created handoff-sent',
    });
  });

  it('plans an account whose user was deleted after onboarding, its policy left, without reading the gone key', async () => {
    const accountId = await onboarded(4);
    const handedOff = (await ledger(getRuntime()).get(accountId))?.handoffAccessKeyId;
    deleteUser(accountId);
    const mark = world().callLog.mark();
    const result = await plan(accountId);
    expect(result).toMatchObject({ outcome: 'SUCCEEDED' });
    expect(actions(result)).toEqual({
      access: 'unchanged',
      user: 'created',
      policy: 'updated',
      accessKey: 'created',
      trail: 'unchanged',
      register: 'updated handoff-sent',
      verify: 'unchanged awaiting-connection',
    });
    // The key the ledger handed off is gone with the user: its last use is not asked.
    const calls = callsSince(mark, accountId);
    expect(
      calls.filter((c) => /GetAccessKeyLastUsed|ListAccessKeys|SimulatePrincipalPolicy/.test(c)),
    ).toEqual([]);
    const real = await run(accountId);
    expect(actions(real)).toMatchObject({
      user: 'created',
      policy: 'updated',
      accessKey: 'created',
      register: 'updated handoff-sent',
      verify: 'unchanged awaiting-connection',
    });
    expect(real.steps.register?.details?.accessKeyId).not.toBe(handedOff);
  });

  it('predicts ForeignUserConflict for a same-named user casbridge did not create', async () => {
    const accountId = defaultAccountId(3);
    const result = await plan(accountId, 'onboard');
    expect(result).toMatchObject({
      outcome: 'FAILED',
      error: { name: 'ForeignUserConflict', step: 'user' },
    });
    expect((await run(accountId, 'onboard')).error).toEqual(result.error);
  });

  it('predicts RoleMissing for an account without the member role', async () => {
    const accountId = defaultAccountId(7);
    const result = await plan(accountId, 'onboard');
    expect(result).toMatchObject({ outcome: 'FAILED', error: { name: 'RoleMissing', step: 'access' } });
    expect((await run(accountId, 'onboard')).error).toEqual(result.error);
  });

  it('plans the removal of what someone else gave the connector user', async () => {
    const accountId = await onboarded(5);
    iam(accountId).users.get(USER)?.attachedPolicyArns.push('arn:aws:iam::aws:policy/ReadOnlyAccess');
    const result = await plan(accountId);
    expect(actions(result)).toMatchObject({
      user: 'updated',
      policy: 'unchanged',
      verify: 'unchanged awaiting-connection',
    });
    expect(result.steps.user?.details?.removed).toMatch(/ReadOnlyAccess attached to user/);
    // The user as it is would be simulated with ReadOnlyAccess, which the real run removes first.
    expect(result.steps.verify?.details).toMatchObject({ simulated: false });
  });

  it('predicts ConnectorUserTampered under CASBRIDGE_TAMPER_RESPONSE=report', async () => {
    const accountId = await onboarded(6);
    iam(accountId).users.get(USER)?.attachedPolicyArns.push('arn:aws:iam::aws:policy/ReadOnlyAccess');
    const config = sandboxConfig(sandbox(), { CASBRIDGE_TAMPER_RESPONSE: 'report' });
    const { iam: member } = await memberAccountClients(sandbox(), config, accountId, 'user');
    const view = await ledger(getRuntime()).view(accountId);
    const before = await everything(accountId);
    const mark = world().callLog.mark();
    const planned = await ensureUser(member, config, accountId, { dryRun: true, ledger: view }).catch(
      (error: Error) => error,
    );
    expect(planned).toMatchObject({ name: 'ConnectorUserTampered', step: 'user' });
    expect(
      world()
        .callLog.list({ sinceSeq: mark })
        .filter((c) => !c.readOnly),
    ).toEqual([]);
    expect(await everything(accountId)).toEqual(before);
    // The real run refuses with the same finding, the attachment left for a person to look at.
    await expect(
      ensureUser(member, config, accountId, { dryRun: false, ledger: view }),
    ).rejects.toMatchObject({
      name: 'ConnectorUserTampered',
      message: (planned as Error).message,
    });
  });

  it('plans the permissions boundary and a new key beside two keys nobody used, naming the keys it deletes', async () => {
    // Account 11 has casbridge's user, without the boundary, with two keys never used.
    const accountId = defaultAccountId(11);
    const strays = connectorKeys(accountId).map((k) => k.accessKeyId);
    const result = await plan(accountId, 'onboard');
    expect(actions(result)).toMatchObject({
      user: 'updated',
      accessKey: 'created',
      register: 'created handoff-sent',
    });
    expect(String(result.steps.accessKey?.details?.deletesAccessKeys).split(', ').sort()).toEqual(
      [...strays].sort(),
    );
    await run(accountId, 'onboard');
    expect(connectorKeys(accountId).map((k) => k.accessKeyId)).not.toEqual(
      expect.arrayContaining([strays[0]]),
    );
    expect(connectorKeys(accountId)).toHaveLength(1);
  });

  it('names the least recently used of two used keys as the one a new key replaces', async () => {
    const accountId = await onboarded(8);
    // The secret is lost and the user has two keys in use (IAM's limit): neither is casbridge's.
    for (const [arn, secret] of central().secrets)
      if (secret.name.endsWith(accountId)) central().secrets.delete(arn);
    const [kept] = connectorKeys(accountId);
    const other = { ...kept!, accessKeyId: `${kept!.accessKeyId.slice(0, -4)}ZZZZ` };
    iam(accountId).accessKeys.set(other.accessKeyId, other);
    const now = world().clock.now();
    kept!.lastUsed = { date: now, serviceName: 'cloudtrail', region: 'us-east-1' };
    other.lastUsed = {
      date: new Date(now.getTime() - DAY_MS),
      serviceName: 'cloudtrail',
      region: 'us-east-1',
    };
    const result = await plan(accountId);
    expect(result.steps.accessKey).toMatchObject({
      action: 'created',
      details: { deletesAccessKeys: other.accessKeyId },
    });
    await run(accountId);
    const left = connectorKeys(accountId).map((k) => k.accessKeyId);
    expect(left).toContain(kept!.accessKeyId);
    expect(left).not.toContain(other.accessKeyId);
  });

  // ---------------------------------------------------------------- policy

  it('plans the policy of a user whose policy is gone, without simulating the user as it is', async () => {
    const accountId = await onboarded(9);
    const policyArn = connectorPolicyArn(sandboxConfig(sandbox()), accountId);
    iam(accountId).policies.delete(policyArn);
    const group = iam(accountId).groups.get(USER);
    if (group) group.attachedPolicyArns = group.attachedPolicyArns.filter((a) => a !== policyArn);
    const mark = world().callLog.mark();
    const result = await plan(accountId);
    expect(actions(result)).toMatchObject({
      user: 'unchanged',
      policy: 'created',
      accessKey: 'unchanged',
      verify: 'unchanged awaiting-connection',
    });
    expect(result.steps.verify?.details).toMatchObject({ simulated: false });
    expect(callsSince(mark, accountId)).not.toContain('iam:SimulatePrincipalPolicy');
    expect(actions(await run(accountId))).toMatchObject({ policy: 'created' });
  });

  it('plans a new default version of a drifted policy that has IAM’s five versions', async () => {
    const accountId = defaultAccountId(17);
    const result = await plan(accountId, 'onboard');
    expect(result.steps.policy).toMatchObject({ action: 'updated', details: { reason: 'document-drift' } });
    expect((await run(accountId, 'onboard')).steps.policy).toMatchObject({
      action: 'updated',
      details: { reason: 'document-drift' },
    });
  });

  it('plans the move of a policy attached directly to the user onto the connector group', async () => {
    const accountId = await onboarded(10);
    const config = sandboxConfig(sandbox());
    const policyArn = connectorPolicyArn(config, accountId);
    const state = iam(accountId);
    state.users.get(USER)?.attachedPolicyArns.push(policyArn);
    const group = state.groups.get(USER);
    if (group) group.members = group.members.filter((m) => m !== USER);
    const result = await plan(accountId);
    expect(result.steps.policy).toMatchObject({
      action: 'updated',
      reason: 'dry-run',
      details: { migratedToGroup: true, reason: 'user-added-to-group' },
    });
    expect(result.steps.verify?.details).toMatchObject({ simulated: false });
    await run(accountId);
    expect(state.users.get(USER)?.attachedPolicyArns).toEqual([]);
    expect(state.groups.get(USER)?.members).toEqual([USER]);
  });

  it('predicts ConnectorGroupMissing for an account whose StackSet instance predates the group', async () => {
    const accountId = defaultAccountId(12);
    iam(accountId).groups.delete(USER);
    const result = await plan(accountId, 'onboard');
    expect(result).toMatchObject({
      outcome: 'FAILED',
      error: { name: 'ConnectorGroupMissing', step: 'policy' },
    });
    const real = await run(accountId, 'onboard');
    expect(real.error).toEqual(result.error);
  });

  // ---------------------------------------------------------------- access key

  it('plans a new key, and its hand-off, for a key deleted by hand', async () => {
    const accountId = await onboarded(14);
    const [gone] = connectorKeys(accountId);
    iam(accountId).accessKeys.delete(gone!.accessKeyId);
    const mark = world().callLog.mark();
    const result = await plan(accountId);
    expect(actions(result)).toMatchObject({
      user: 'unchanged',
      policy: 'unchanged',
      accessKey: 'created secret-key-missing',
      register: 'updated handoff-sent',
      verify: 'unchanged awaiting-connection',
    });
    // The user and its policy stay as they are: verify simulates them, and asks nothing of the gone key.
    const calls = callsSince(mark, accountId);
    expect(calls).toContain('iam:SimulatePrincipalPolicy');
    expect(calls.filter((c) => c.startsWith('iam:GetAccessKeyLastUsed'))).toEqual([]);
    expect(actions(await run(accountId))).toMatchObject({
      accessKey: 'created secret-key-missing',
      register: 'updated handoff-sent',
      verify: 'unchanged awaiting-connection',
    });
  });

  it('plans what the real run does for a secret deleted by hand: nothing, the ledger vouching for the key', async () => {
    const accountId = await onboarded(34);
    for (const [arn, secret] of central().secrets)
      if (secret.name.endsWith(accountId)) central().secrets.delete(arn);
    const result = await plan(accountId);
    // The daily case reads no secret (README, the access key step): neither run notices the loss.
    expect(result.changed).toBe(false);
    expect((await run(accountId)).changed).toBe(false);
  });

  it('plans the reactivation of a deactivated key without a new hand-off', async () => {
    const accountId = await onboarded(15);
    const [key] = connectorKeys(accountId);
    key!.status = 'Inactive';
    const result = await plan(accountId);
    expect(actions(result)).toMatchObject({
      accessKey: 'updated key-reactivated',
      register: 'unchanged awaiting-connection',
      verify: 'unchanged awaiting-connection',
    });
    expect(result.steps.accessKey?.details?.accessKeyId).toBe(key!.accessKeyId);
    expect(actions(await run(accountId))).toMatchObject({
      accessKey: 'updated key-reactivated',
      register: 'unchanged awaiting-connection',
    });
  });

  it('plans the rotation of a key past keyMaxAgeDays and its rotation hand-off, then the wait for the connector', async () => {
    const accountId = await onboarded(16);
    const [key] = connectorKeys(accountId);
    key!.createDate = new Date(Date.now() - 100 * DAY_MS);
    const result = await plan(accountId);
    expect(actions(result)).toMatchObject({
      accessKey: 'updated rotation-started',
      register: 'updated rotation-handoff-sent',
      verify: 'unchanged awaiting-connection',
    });
    expect(result.steps.register?.details).toMatchObject({ type: 'connector.rotation' });
    expect(actions(await run(accountId))).toMatchObject({
      accessKey: 'updated rotation-started',
      register: 'updated rotation-handoff-sent',
      verify: 'unchanged awaiting-connection',
    });
    // The rotation under way: the pending key waits for the connector, and nothing is handed off again.
    expect(actions(await plan(accountId))).toMatchObject({
      accessKey: 'unchanged rotation-awaiting-connector',
      register: 'unchanged awaiting-connection',
      verify: 'unchanged awaiting-connection',
    });
  });

  it('plans the restore of a secret scheduled for deletion when an offboarded account comes back', async () => {
    const accountId = await onboarded(18);
    expect(await run(accountId, 'offboard')).toMatchObject({ outcome: 'SUCCEEDED' });
    const result = await plan(accountId, 'onboard');
    expect(actions(result)).toMatchObject({
      user: 'created',
      policy: 'created',
      accessKey: 'created secret-restored',
      register: 'updated handoff-sent',
      verify: 'unchanged awaiting-connection',
    });
    expect(result.steps.accessKey?.details).toMatchObject({ secret: 'restored' });
    expect(actions(await run(accountId, 'onboard'))).toMatchObject({
      accessKey: 'created secret-restored',
      register: 'updated handoff-sent',
    });
  });

  // ---------------------------------------------------------------- trail

  it('predicts LimitReached for an account whose five trails fill the Region’s quota', async () => {
    const accountId = defaultAccountId(37);
    const result = await plan(accountId, 'onboard');
    expect(result).toMatchObject({ outcome: 'FAILED', error: { name: 'LimitReached', step: 'trail' } });
    // The same error, remediation included, as the real run's refused CreateTrail.
    expect((await run(accountId, 'onboard')).error).toEqual(result.error);
  });

  it('counts the shadow copies of the account’s multi-Region trails homed elsewhere against the quota', async () => {
    const accountId = defaultAccountId(20);
    const region = 'eu-west-1';
    const legacy = (i: number, home: string): Trail => ({
      name: `legacy-${i}`,
      arn: `arn:aws:cloudtrail:${home}:${accountId}:trail/legacy-${i}`,
      homeRegion: home,
      s3BucketName: `legacy-logs-${accountId}`,
      includeGlobalServiceEvents: true,
      isMultiRegionTrail: home !== sandbox().stack.region,
      logFileValidationEnabled: false,
      isOrganizationTrail: false,
      // Stopped: a logging multi-Region trail would cover the account (trailMode reuse-existing),
      // and casbridge would then need no trail of its own; a stopped one still fills the quota.
      isLogging: false,
      eventSelectors: [{ ReadWriteType: 'All', IncludeManagementEvents: true, DataResources: [] }],
      tags: [],
    });
    for (let i = 1; i <= 4; i++) trails(accountId).set(`legacy-${i}`, legacy(i, sandbox().stack.region));
    regionalState(world(), accountId, region).trails.set('legacy-5', legacy(5, region));
    const result = await plan(accountId, 'onboard');
    expect(result).toMatchObject({ outcome: 'FAILED', error: { name: 'LimitReached', step: 'trail' } });
    expect((await run(accountId, 'onboard')).error).toEqual(result.error);
  });

  it('plans restarting a stopped trail and repairing its drift', async () => {
    const accountId = await onboarded(21);
    const trail = trails(accountId).get('casbridge')!;
    trail.isLogging = false;
    trail.logFileValidationEnabled = false;
    const result = await plan(accountId);
    expect(result.steps.trail).toMatchObject({
      action: 'updated',
      reason: 'dry-run',
      details: { drift: 'log-file-validation-off,restarted-logging' },
    });
    expect((await run(accountId)).steps.trail).toMatchObject({
      action: 'updated',
      reason: 'log-file-validation-off,restarted-logging',
    });
  });

  // ---------------------------------------------------------------- register and verify

  it('plans nothing for an onboarded account, with the real reconcile’s reads', async () => {
    const accountId = await onboarded(22);
    let mark = world().callLog.mark();
    const result = await plan(accountId);
    expect(result.changed).toBe(false);
    const planned = callsSince(mark, accountId).filter((c) => !c.startsWith('sts:'));
    mark = world().callLog.mark();
    expect((await run(accountId)).changed).toBe(false);
    const real = callsSince(mark, accountId).filter((c) => !c.startsWith('sts:'));
    // The ledger claimed, then the outcome recorded: the real run's two writes are all that differ.
    expect(planned).toEqual(['dynamodb:GetItem', ...real.slice(1, -1)]);
  });

  it('plans the reminder of a hand-off the connector has not acted on', async () => {
    const accountId = await onboarded(24);
    await ledger(getRuntime()).update(accountId, {
      handoffAt: new Date(Date.now() - 20 * DAY_MS).toISOString(),
    });
    const result = await plan(accountId);
    expect(actions(result)).toMatchObject({
      register: 'updated reminder-sent',
      verify: 'unchanged handoff-overdue',
    });
    expect(result.steps.register?.details).toMatchObject({ connector: 'HANDOFF_OVERDUE' });
    expect(actions(await run(accountId))).toMatchObject({
      register: 'updated reminder-sent',
      verify: 'unchanged handoff-overdue',
    });
  });

  it('plans CONNECTED for a key the connector has used since its hand-off', async () => {
    const accountId = await onboarded(25);
    const [key] = connectorKeys(accountId);
    key!.lastUsed = { date: world().clock.now(), serviceName: 'cloudtrail', region: 'us-east-1' };
    const result = await plan(accountId);
    expect(result.steps.verify).toMatchObject({
      action: 'updated',
      reason: 'dry-run',
      details: { connector: 'CONNECTED' },
    });
    expect((await run(accountId)).steps.verify).toMatchObject({
      action: 'updated',
      reason: 'connector-connected',
    });
  });

  // ---------------------------------------------------------------- offboard

  it('plans the offboarding of an onboarded account', async () => {
    const accountId = await onboarded(26);
    const result = await plan(accountId, 'offboard');
    expect(result.steps.offboard).toMatchObject({
      action: 'updated',
      reason: 'dry-run',
      details: {
        accessKeysDeleted: 1,
        policyDeleted: true,
        userDeleted: true,
        secretDeletionScheduled: true,
      },
    });
    expect((await run(accountId, 'offboard')).steps.offboard).toMatchObject({
      action: 'updated',
      details: {
        accessKeysDeleted: 1,
        policyDeleted: true,
        userDeleted: true,
        secretDeletionScheduled: true,
      },
    });
    expect((await plan(accountId, 'offboard')).steps.offboard).toMatchObject({
      action: 'unchanged',
      reason: 'already-offboarded',
    });
  });

  it('plans the removal of a policy an account without the user still holds', async () => {
    const accountId = await onboarded(28);
    deleteUser(accountId);
    const result = await plan(accountId, 'offboard');
    expect(result.steps.offboard).toMatchObject({
      action: 'updated',
      details: { userDeleted: false, policyDetached: true, policyDeleted: true },
    });
  });

  it('plans the offboarding of an account casbridge never onboarded: the hand-off and the record only', async () => {
    const accountId = defaultAccountId(36);
    const result = await plan(accountId, 'offboard');
    expect(result.steps.offboard).toMatchObject({
      action: 'updated',
      details: {
        userDeleted: false,
        policyDeleted: false,
        secretDeletionScheduled: false,
        handoffPublished: true,
      },
    });
    expect((await run(accountId, 'offboard')).steps.offboard).toMatchObject({
      action: 'updated',
      details: { userDeleted: false, policyDeleted: false, handoffPublished: true },
    });
  });

  it('plans only the central cleanup of an account it cannot reach', async () => {
    const accountId = defaultAccountId(7);
    const result = await plan(accountId, 'offboard');
    expect(result.steps.offboard).toMatchObject({
      action: 'updated',
      details: { accountReachable: false, handoffPublished: true },
    });
  });

  it('predicts ForeignUserConflict when offboarding a same-named user casbridge did not create', async () => {
    const result = await plan(defaultAccountId(3), 'offboard');
    expect(result).toMatchObject({
      outcome: 'FAILED',
      error: { name: 'ForeignUserConflict', step: 'offboard' },
    });
  });

  it('predicts OffboardingBlocked when something casbridge did not create holds the connector user', async () => {
    const accountId = await onboarded(30);
    iam(accountId).users.get(USER)?.attachedPolicyArns.push('arn:aws:iam::aws:policy/ReadOnlyAccess');
    iam(accountId).users.get(USER)!.loginProfile = {
      createDate: world().clock.now(),
      passwordResetRequired: false,
    };
    const result = await plan(accountId, 'offboard');
    expect(result).toMatchObject({
      outcome: 'FAILED',
      error: { name: 'OffboardingBlocked', step: 'offboard' },
    });
    expect(result.error?.message).toMatch(/ReadOnlyAccess is attached to it; it has a console password/);
    expect((await run(accountId, 'offboard')).error?.name).toBe('OffboardingBlocked');
  });

  it('predicts OffboardingBlocked when the connector policy is attached to someone else’s role', async () => {
    const accountId = await onboarded(32);
    const policyArn = connectorPolicyArn(sandboxConfig(sandbox()), accountId);
    const role = [...iam(accountId).roles.values()].find(
      (r) => r.roleName === 'OrganizationAccountAccessRole',
    );
    role!.attachedPolicyArns.push(policyArn);
    const result = await plan(accountId, 'offboard');
    expect(result).toMatchObject({
      outcome: 'FAILED',
      error: { name: 'OffboardingBlocked', step: 'offboard' },
    });
    expect(result.error?.message).toMatch(/attached to 1 other IAM users, groups or roles/);
    const real = await run(accountId, 'offboard');
    expect(real.error).toMatchObject({
      name: 'OffboardingBlocked',
      message: expect.stringContaining(policyArn),
    });
  });

  // ---------------------------------------------------------------- the organization trail, last: it covers every account

  it('plans no trail of its own where an organization trail covers the account', async () => {
    const accountId = defaultAccountId(33);
    const management = sandbox().stack.accountId;
    const region = sandbox().stack.region;
    const name = 'org-trail';
    regionalState(world(), management, region).trails.set(name, {
      name,
      arn: `arn:aws:cloudtrail:${region}:${management}:trail/${name}`,
      homeRegion: region,
      s3BucketName: `org-logs-${management}`,
      includeGlobalServiceEvents: true,
      isMultiRegionTrail: true,
      logFileValidationEnabled: true,
      isOrganizationTrail: true,
      isLogging: true,
      eventSelectors: [{ ReadWriteType: 'All', IncludeManagementEvents: true, DataResources: [] }],
      tags: [],
    });
    try {
      const result = await plan(accountId, 'onboard');
      expect(result.steps.trail).toMatchObject({
        action: 'skipped',
        reason: 'covered-by-organization-trail',
      });
      expect((await run(accountId, 'onboard')).steps.trail).toMatchObject({ action: 'skipped' });
    } finally {
      regionalState(world(), management, region).trails.delete(name);
    }
  });
});
