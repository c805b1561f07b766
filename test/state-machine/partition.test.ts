import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { dumpState } from '../../sandbox/core/inspection';
import type { ScenarioInput } from '../../sandbox/scenario/scenario';
import { setLambdaEnvironment } from '../support/lambda-env';
import { runStateMachine } from '../support/local-run';
import { useSandbox } from '../support/sandbox';

/** A small organization in AWS GovCloud (US): every ARN there is `arn:aws-us-gov:…`. */
const GOVCLOUD: ScenarioInput = {
  seed: 20261202,
  region: 'us-gov-west-1',
  organizationalUnits: ['Workloads'],
  accounts: [
    { id: '310000000001', name: 'gov-payments', ou: 'Workloads' },
    { id: '310000000002', name: 'gov-records', ou: 'Workloads' },
    { id: '310000000003', name: 'gov-shared' },
  ],
};

/** Every ARN in a piece of text, by the partition it names. */
function arnPartitions(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [arn, partition] of text.matchAll(/arn:([a-z-]*):[^"\s,]*/g)) {
    out.set(partition as string, [...(out.get(partition as string) ?? []), arn]);
  }
  return out;
}

describe('casbridge in AWS GovCloud (US)', () => {
  const sandbox = useSandbox({ scenario: GOVCLOUD });

  beforeAll(async () => {
    await setLambdaEnvironment(sandbox());
  });

  it('onboards and reconciles the organization with every ARN in aws-us-gov', async () => {
    const mark = sandbox().world.callLog.mark();
    const onboard = await runStateMachine(sandbox(), { mode: 'onboard' });
    expect(onboard.execution.status).toBe('SUCCEEDED');
    const members = onboard.report!.accounts.filter((a) => a.outcome !== 'SKIPPED');
    expect(members.map((a) => [a.accountId, a.outcome, a.connector])).toEqual(
      GOVCLOUD.accounts.map((a) => [a.id, 'SUCCEEDED', 'AWAITING_CONNECTION']),
    );
    for (const account of members) {
      expect(account.steps.trail).toEqual({
        action: 'created',
        details: { trailArn: `arn:aws-us-gov:cloudtrail:us-gov-west-1:${account.accountId}:trail/casbridge` },
      });
    }

    const reconcile = await runStateMachine(sandbox(), { mode: 'reconcile' });
    expect(reconcile.execution.status).toBe('SUCCEEDED');
    expect(
      reconcile.report!.accounts.filter((a) => a.outcome !== 'SKIPPED').map((a) => [a.outcome, a.changed]),
    ).toEqual(GOVCLOUD.accounts.map(() => ['SUCCEEDED', false]));

    // Every ARN the product wrote: the reports, the ledger (secret ARNs among them), and the
    // world it changed (trails, users, policies, secrets, topic, roles).
    const ledger = await DynamoDBDocumentClient.from(new DynamoDBClient(sandbox().clientConfig())).send(
      new ScanCommand({ TableName: sandbox().stack.ledgerTable }),
    );
    expect(JSON.stringify(ledger.Items)).toContain('arn:aws-us-gov:secretsmanager:us-gov-west-1:');
    const written = [
      JSON.stringify(onboard.report),
      JSON.stringify(reconcile.report),
      JSON.stringify(ledger.Items),
      JSON.stringify(dumpState(sandbox().world)),
    ].join('\n');
    const partitions = arnPartitions(written);
    expect([...partitions.keys()]).toEqual(['aws-us-gov']);
    expect(partitions.get('aws-us-gov')?.length).toBeGreaterThan(20);

    // Every call casbridge made was allowed, by callers named in aws-us-gov; the one answered error
    // is the tamper check's proof, per account, that the connector user has no console password.
    const calls = sandbox().world.callLog.list({ sinceSeq: mark });
    const errors = calls.filter((c) => c.outcome === 'error').map((c) => `${c.operation} ${c.errorCode}`);
    // The only refusals: the login profile each connector user must not have, and the first run's
    // read of a runs/history.json not written yet (S3 answers AccessDenied to a role without
    // s3:ListBucket, which WriteReport needs not: commons/report/history.ts reads it as empty).
    expect(errors.sort()).toEqual(
      ['GetObject AccessDenied', ...Array.from({ length: 3 }, () => 'GetLoginProfile NoSuchEntity')].sort(),
    );
    expect(JSON.stringify(calls)).not.toContain('arn:aws:');
    expect(new Set(calls.map((c) => c.region))).toEqual(new Set(['us-gov-west-1']));
  });
});
