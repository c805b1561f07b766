import { CreatePolicyCommand, IAMClient } from '@aws-sdk/client-iam';
import { connectorPolicyDocument } from '../../commons/connector-policy';
import type { StepStatus } from '../../commons/report/steps';
import type { ReportAccount, RunReport } from '../../commons/run';
import { accountState } from '../../sandbox/core/world';
import { defaultAccountId } from '../../sandbox/scenario/default-scenario';
import { renderReportTable, STEP_MARKS } from '../../scripts/render/report-table';
import { setLambdaEnvironment } from '../support/lambda-env';
import { runStateMachine } from '../support/local-run';
import { assumeRole, useSandbox } from '../support/sandbox';

const USER = 'cloudappsecurity';
const STEPS = ['access', 'user', 'policy', 'accessKey', 'trail', 'register', 'verify'];

describe('a dry run predicts through the state machine', () => {
  const sandbox = useSandbox({ accounts: 40 });

  beforeAll(async () => {
    await setLambdaEnvironment(sandbox());
  });

  /**
   * The run, and what it wrote: a dry run's writes are only the run's own files and summary
   * (ResolveTargets' targets, the Distributed Map's results, WriteReport's report), never a member
   * account, a secret or the ledger.
   */
  async function run(input: Record<string, unknown>): Promise<{ report: RunReport; writes: string[] }> {
    const mark = sandbox().world.callLog.mark();
    const outcome = await runStateMachine(sandbox(), input);
    const writes = sandbox()
      .world.callLog.list({ sinceSeq: mark })
      .filter((c) => !c.readOnly)
      .filter(
        (c) =>
          !/assumed-role\/casbridge-dev-(resolveTargets|stateMachine|writeReport)\//.test(c.callerArn ?? ''),
      )
      .map((c) => `${c.account} ${c.service}:${c.operation}`);
    return { report: outcome.report as RunReport, writes };
  }

  function account(report: RunReport, accountId: string): ReportAccount {
    const found = report.accounts.find((a) => a.accountId === accountId);
    if (!found) throw new Error(`no ${accountId} in the report`);
    return found;
  }

  /** The account's row of the table `casbridge run` prints: one mark per step, by the header's columns. */
  function marks(report: RunReport, accountId: string): string {
    // A plan's table opens with its banner: the header is the line that starts with ACCOUNT.
    const lines = renderReportTable(report).split('\n');
    const at = lines.findIndex((l) => l.startsWith('ACCOUNT'));
    const [header = '', ...rows] = lines.slice(at);
    const row = rows.find((r) => r.startsWith(accountId)) ?? '';
    return ['acc', 'usr', 'pol', 'key', 'trl', 'reg', 'ver']
      .map((label) => row.charAt(header.indexOf(` ${label} `) + 1))
      .join('');
  }

  const mark = (...actions: StepStatus[]) => actions.map((a) => STEP_MARKS[a]).join('');

  it('plans an account whose policy exists and whose user does not, as the real run then goes', async () => {
    const accountId = defaultAccountId(1);
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

    const dry = await run({ mode: 'onboard', accounts: [accountId], dryRun: true });
    expect(dry.writes).toEqual([]);
    expect(dry.report.dryRun).toBe(true);
    expect(account(dry.report, accountId)).toMatchObject({ outcome: 'SUCCEEDED', changed: true });
    expect(marks(dry.report, accountId)).toBe(
      mark('unchanged', 'created', 'updated', 'created', 'created', 'created', 'unchanged'),
    );

    const real = await run({ mode: 'onboard', accounts: [accountId] });
    expect(account(real.report, accountId)).toMatchObject({ outcome: 'SUCCEEDED' });
    for (const step of STEPS) {
      expect({ step, action: account(real.report, accountId).steps[step]?.action }).toEqual({
        step,
        action: account(dry.report, accountId).steps[step]?.action,
      });
    }
  });

  it('plans an account whose user was deleted after onboarding, without failing on the key that went with it', async () => {
    const accountId = defaultAccountId(2);
    await run({ mode: 'onboard', accounts: [accountId] });
    // Someone removes the connector user by hand: its key, its group membership, the user; the policy stays.
    const iam = accountState(sandbox().world, accountId).iam;
    for (const [id, key] of iam.accessKeys)
      if (key.userName.toLowerCase() === USER) iam.accessKeys.delete(id);
    for (const group of iam.groups.values()) group.members = group.members.filter((m) => m !== USER);
    iam.users.delete(USER);

    const dry = await run({ mode: 'reconcile', accounts: [accountId], dryRun: true });
    expect(dry.writes).toEqual([]);
    expect(account(dry.report, accountId)).toMatchObject({ outcome: 'SUCCEEDED', changed: true });
    expect(account(dry.report, accountId).error).toBeUndefined();
    expect(marks(dry.report, accountId)).toBe(
      mark('unchanged', 'created', 'updated', 'created', 'unchanged', 'updated', 'unchanged'),
    );

    const real = await run({ mode: 'reconcile', accounts: [accountId] });
    expect(marks(real.report, accountId)).toBe(marks(dry.report, accountId));
  });

  it('predicts the failures a real run meets, with the real run’s errors and remediations', async () => {
    // A user someone else owns, no member role, and five trails filling the Region's quota.
    const accounts = [3, 7, 37].map(defaultAccountId);
    const dry = await run({ mode: 'onboard', accounts, dryRun: true });
    expect(dry.writes).toEqual([]);
    expect(accounts.map((id) => account(dry.report, id).error?.name)).toEqual([
      'ForeignUserConflict',
      'RoleMissing',
      'LimitReached',
    ]);
    const real = await run({ mode: 'onboard', accounts });
    for (const id of accounts) expect(account(dry.report, id).error).toEqual(account(real.report, id).error);
    // The table's "What to do" names each predicted failure's fix, as after the real run.
    const table = renderReportTable(dry.report);
    expect(table.slice(table.indexOf('What to do:'))).toContain(`LimitReached (${defaultAccountId(37)})`);
  });
});
