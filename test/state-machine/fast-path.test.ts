import { CloudTrailClient, DescribeTrailsCommand } from '@aws-sdk/client-cloudtrail';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ledger } from '../../commons/clients/dynamodb';
import type { ReportAccount, RunReport } from '../../commons/run';
import { getRuntime, resetRuntime } from '../../commons/runtime';
import { measureAccountKinds, perStepOnly } from '../../scripts/bench/account-kinds';
import { loadDefinition } from '../../statemachine/local/definition';
import { setLambdaEnvironment } from '../support/lambda-env';
import { runStateMachine } from '../support/local-run';
import { useSandbox } from '../support/sandbox';

const DAY = 86_400_000;

/** Healthy accounts in two OUs: one for the side-by-side runs, one for the kinds' counts. */
const SCENARIO = {
  seed: 7,
  organization: { organizationTrail: false },
  organizationalUnits: ['Pair', 'Kinds', 'Connect'],
  accounts: [
    ...[1, 2].map((i) => ({ id: String(710_000_000_000 + i), name: `pair-${i}`, ou: 'Pair' })),
    ...[1, 2].map((i) => ({ id: String(730_000_000_000 + i), name: `connect-${i}`, ou: 'Connect' })),
    ...[1, 2].map((i) => ({ id: String(720_000_000_000 + i), name: `kind-${i}`, ou: 'Kinds' })),
  ],
};

describe("the daily reconcile's fast path (CheckAccount)", () => {
  const sandbox = useSandbox({ scenario: SCENARIO });
  const ids = (ou: string) => SCENARIO.accounts.filter((a) => a.ou === ou).map((a) => a.id);
  const entered = (outcome: Awaited<ReturnType<typeof runStateMachine>>, state: string) =>
    outcome.execution.events.filter((e) => e.type === 'StateEntered' && e.state.name === state).length;
  const lines = (report: RunReport | undefined) =>
    new Map((report?.accounts ?? []).map((a) => [a.accountId, a] as [string, ReportAccount]));
  /** The ledger as an operator reads it, without what differs by run (its id, time, lease). */
  const ledgerItems = async (accounts: string[]) =>
    Object.fromEntries(
      await Promise.all(
        accounts.map(async (id) => {
          const { lastRunId, lastRunAt, updatedAt, ...item } = (await ledger(getRuntime()).get(id)) ?? {};
          return [id, item] as const;
        }),
      ),
    );
  const nextDay = () => {
    sandbox().world.clock.advance(DAY);
    resetRuntime();
  };

  beforeAll(async () => {
    await setLambdaEnvironment(sandbox());
  });

  it('reports and records a compliant account exactly as the per-step pipeline does, in three states', async () => {
    const pair = ids('Pair');
    await runStateMachine(sandbox(), { mode: 'onboard', accounts: pair });
    nextDay();
    const viaPipeline = await runStateMachine(
      sandbox(),
      { mode: 'reconcile', accounts: pair },
      { definition: perStepOnly(loadDefinition()) },
    );
    const pipelineLedger = await ledgerItems(pair);
    nextDay();
    const viaCheck = await runStateMachine(sandbox(), { mode: 'reconcile', accounts: pair });

    expect(entered(viaCheck, 'AccountUnchanged')).toBe(pair.length);
    expect(entered(viaCheck, 'Access')).toBe(0);
    expect(entered(viaCheck, 'RecordResult')).toBe(0);
    // Every step's result in the report, as the pipeline gave them; the same ledger write.
    const [checked, piped] = [lines(viaCheck.report), lines(viaPipeline.report)];
    for (const id of pair) {
      expect(checked.get(id)).toEqual(piped.get(id));
      expect(checked.get(id)).toMatchObject({
        outcome: 'SUCCEEDED',
        changed: false,
        connector: 'AWAITING_CONNECTION',
        steps: { user: { action: 'unchanged' }, verify: { action: 'unchanged' } },
      });
    }
    expect(await ledgerItems(pair)).toEqual(pipelineLedger);
    // The lease released, as RecordResult releases it.
    for (const item of Object.values(await ledgerItems(pair)))
      expect((item as { leaseOwner?: string | null }).leaseOwner ?? null).toBeNull();
  });

  it('takes a dry run, and any other mode than reconcile, through the per-step pipeline', async () => {
    const pair = ids('Pair');
    nextDay();
    const dry = await runStateMachine(sandbox(), { mode: 'reconcile', accounts: pair, dryRun: true });
    expect(entered(dry, 'Access')).toBe(pair.length);
    expect(entered(dry, 'AccountUnchanged')).toBe(0);
    const onboard = await runStateMachine(sandbox(), { mode: 'onboard', accounts: pair });
    expect(entered(onboard, 'Access')).toBe(pair.length);
    expect([...lines(onboard.report).values()].map((a) => a.outcome)).toEqual(['SUCCEEDED', 'SUCCEEDED']);
  });

  it('bills 4 transitions for a compliant account and sends it fewer calls than the pipeline, pinned per kind of run', async () => {
    // Counted from the executions' own events, as Step Functions Standard bills them: the child
    // execution the Distributed Map starts, every state entered, every retry.
    const measured = await measureAccountKinds(sandbox(), {
      accounts: ids('Kinds'),
      keyMaxAgeDays: 75,
      secretRecoveryDays: 7,
      keyDelivery: 'at-handoff', // the suite's (test/support/sandbox.ts); on demand: fast-path-on-demand
    });
    const transitions = Object.fromEntries(
      Object.entries(measured.kinds).map(([kind, k]) => [kind, k.transitions]),
    );
    expect(transitions).toEqual({
      onboard: 12,
      awaiting: 4,
      connecting: 12,
      connected: 4,
      rotating: 12,
      rotated: 12,
    });
    expect(measured.kinds.awaiting.fastPathShare).toBe(1);
    expect(measured.kinds.connected.fastPathShare).toBe(1);
    // A compliant account on a new day: one AssumeRole (the pipeline's six functions each assumed
    // the role), the pipeline's reads, the outcome's write on the item ResolveTargets scanned (no
    // claim). Nothing else.
    const compliant = {
      'cloudtrail:DescribeTrails': 1,
      'cloudtrail:GetTrailStatus': 1,
      'dynamodb:UpdateItem': 1,
      'iam:GetAccessKeyLastUsed': 1,
      'iam:GetGroup': 1,
      'iam:GetLoginProfile': 1,
      'iam:GetPolicy': 1,
      'iam:GetUser': 1,
      'iam:ListAccessKeys': 1,
      'iam:ListAttachedGroupPolicies': 1,
      'iam:ListAttachedUserPolicies': 1,
      'iam:ListGroupPolicies': 1,
      'iam:ListGroupsForUser': 1,
      'iam:ListUserPolicies': 1,
      'iam:SimulatePrincipalPolicy': 1,
      'sts:AssumeRole': 1,
    };
    expect(measured.kinds.awaiting.calls).toEqual(compliant);
    expect(measured.kinds.connected.calls).toEqual(compliant);
    // An account with something to do is claimed once, by Access, and recorded by RecordResult.
    expect(measured.kinds.connecting.calls['dynamodb:UpdateItem']).toBe(2);
    expect(measured.kinds.connecting.calls['secretsmanager:DeleteSecret']).toBe(1);
    expect(measured.kinds.rotating.calls['iam:CreateAccessKey']).toBe(1);
    // The steps the check settled before the first with something to do are not read again: the
    // connecting account's user, policy, key and trail reads once (37 calls before, 21 now), its
    // verify (the step that deletes the secret) twice, the check's and the pipeline's.
    expect(measured.kinds.connecting.calls).toEqual({
      ...compliant,
      'dynamodb:UpdateItem': 2, // Access's claim, RecordResult's write
      'sts:AssumeRole': 2, // the check's; verify's, in its own function
      'iam:SimulatePrincipalPolicy': 2,
      'iam:GetAccessKeyLastUsed': 2,
      'secretsmanager:DeleteSecret': 1,
    });
    // The user's and the policy's reads once in every kind the pipeline finishes; the role is
    // assumed by the check and by each step from the first unsettled one on (rotation: the access
    // key step, the trail, verify).
    const userAndPolicyReads = [
      'iam:GetUser',
      'iam:ListAttachedUserPolicies',
      'iam:ListUserPolicies',
      'iam:ListGroupsForUser',
      'iam:GetLoginProfile',
      'iam:GetPolicy',
      'iam:ListAttachedGroupPolicies',
      'iam:ListGroupPolicies',
      'iam:GetGroup',
    ];
    for (const kind of ['connecting', 'rotating', 'rotated'] as const) {
      const calls = measured.kinds[kind].calls;
      expect({ kind, reads: userAndPolicyReads.map((read) => calls[read]) }).toEqual({
        kind,
        reads: userAndPolicyReads.map(() => 1),
      });
    }
    expect(measured.kinds.rotating.calls['sts:AssumeRole']).toBe(4);
    expect(measured.kinds.rotated.calls['sts:AssumeRole']).toBe(4);
  });

  it('hands an account with something to do to the pipeline with the steps it settled, reported as the per-step pipeline reports them', async () => {
    // Two accounts whose connector uses its key for the first time on the same day: one through
    // the per-step definition, one through the check, which stops at verify (the secret's
    // deletion is a write) and hands the pipeline the five steps before it.
    const [piped, checked] = ids('Connect') as [string, string];
    await runStateMachine(sandbox(), { mode: 'onboard', accounts: [piped, checked] });
    nextDay();
    for (const id of [piped, checked]) {
      const secrets = new SecretsManagerClient(sandbox().clientConfig());
      const key = JSON.parse(
        (await secrets.send(new GetSecretValueCommand({ SecretId: `casbridge/connector/${id}` })))
          .SecretString!,
      ) as { accessKeyId: string; secretAccessKey: string };
      await new CloudTrailClient(sandbox().clientConfig(key)).send(new DescribeTrailsCommand({}));
    }
    const viaPipeline = await runStateMachine(
      sandbox(),
      { mode: 'reconcile', accounts: [piped] },
      { definition: perStepOnly(loadDefinition()) },
    );
    const mark = sandbox().world.callLog.mark();
    const viaCheck = await runStateMachine(sandbox(), { mode: 'reconcile', accounts: [checked] });

    // Each state entered as before, each step's line as the pipeline gives it.
    for (const state of ['CheckAccount', 'Access', 'EnsureUser', 'EnsurePolicy', 'EnsureTrail', 'Verify'])
      expect({ state, entered: entered(viaCheck, state) }).toEqual({ state, entered: 1 });
    // What differs between two accounts anyway: ids, names, key ids, secret ARN suffixes, times.
    const same = (line: ReportAccount | undefined, id: string) =>
      JSON.parse(
        JSON.stringify(line ?? {})
          .replaceAll(id, 'ACCOUNT')
          .replace(/connect-\d/g, 'NAME')
          .replace(/AKIA[A-Z0-9]{16}/g, 'KEY')
          .replace(/ACCOUNT-[A-Za-z0-9]{6}/g, 'ACCOUNT-SUFFIX')
          .replace(/\d{4}-\d\d-\d\dT[\d:.]+Z/g, 'TIME'),
      );
    const line = lines(viaCheck.report).get(checked);
    expect(same(line, checked)).toEqual(same(lines(viaPipeline.report).get(piped), piped));
    expect(line).toMatchObject({
      outcome: 'SUCCEEDED',
      connector: 'CONNECTED',
      steps: { verify: { action: 'updated' } },
    });
    // In the member account: the check's reads, then verify's own, nothing read twice before it.
    expect(
      sandbox()
        .world.callLog.list({ sinceSeq: mark, account: checked })
        .map((c) => c.operation),
    ).toEqual([
      'GetUser',
      'ListAttachedUserPolicies',
      'ListUserPolicies',
      'ListGroupsForUser',
      'GetLoginProfile',
      'GetPolicy',
      'ListAttachedGroupPolicies',
      'ListGroupPolicies',
      'GetGroup',
      'ListAccessKeys',
      'DescribeTrails',
      'GetTrailStatus',
      'SimulatePrincipalPolicy',
      'GetAccessKeyLastUsed', // the check stops at the secret's deletion, which follows
      'SimulatePrincipalPolicy', // verify, in the pipeline
      'GetAccessKeyLastUsed',
    ]);
  });
});
