import { IAMClient, ListAccessKeysCommand } from '@aws-sdk/client-iam';
import {
  DeleteSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { ledger } from '../../commons/clients/dynamodb';
import { connectorSecretName } from '../../commons/config';
import { KEY_TAG } from '../../commons/connector-resources';
import { getRuntime } from '../../commons/runtime';
import { defaultAccountId, defaultFaultLabel } from '../../sandbox/scenario/default-scenario';
import { captureOutput } from '../support/capture-output';
import { setLambdaEnvironment } from '../support/lambda-env';
import { runStateMachine } from '../support/local-run';
import { accountInput, loadPipeline, OFFBOARD_STEPS, type PipelineRunner } from '../support/pipeline';
import { sandboxConfig } from '../support/product';
import { assumeRole, useSandbox } from '../support/sandbox';

const DAY_MS = 86_400_000;
const HEALTHY = Array.from({ length: 12 }, (_, i) => i + 1).filter((i) => defaultFaultLabel(i) === 'healthy');

/**
 * Issue 11 §5: offboarding schedules the connector secret's deletion with a 7-day recovery
 * window, during which Secrets Manager refuses CreateSecret on its name. Onboarding the account
 * again in that week restores the secret (same ARN) and puts the new key in it.
 */
describe('onboarding an account again after it was offboarded', () => {
  const sandbox = useSandbox({ accounts: 12 });
  let onboard: PipelineRunner;
  let offboard: PipelineRunner;
  const operatorSecrets = () => new SecretsManagerClient(sandbox().clientConfig());
  const secretName = (id: string) => connectorSecretName(sandboxConfig(sandbox()), id);
  const describe_ = (id: string) =>
    operatorSecrets().send(new DescribeSecretCommand({ SecretId: secretName(id) }));
  const storedKey = async (id: string) =>
    JSON.parse(
      (await operatorSecrets().send(new GetSecretValueCommand({ SecretId: secretName(id) }))).SecretString ??
        '{}',
    ) as { accessKeyId: string; secretAccessKey: string };
  const memberKeys = async (id: string) => {
    const admin = new IAMClient(
      sandbox().clientConfig(
        await assumeRole(sandbox(), `arn:aws:iam::${id}:role/OrganizationAccountAccessRole`),
      ),
    );
    return (
      (await admin.send(new ListAccessKeysCommand({ UserName: 'CloudAppSecurity' }))).AccessKeyMetadata ?? []
    );
  };

  beforeAll(async () => {
    setLambdaEnvironment(sandbox());
    onboard = await loadPipeline(sandbox());
    offboard = await loadPipeline(sandbox(), OFFBOARD_STEPS);
  });

  /** Onboarded, then offboarded by a person: the secret scheduled for deletion, the connector RETIRED. */
  async function onboardedThenOffboarded(id: string, { connected = false } = {}) {
    const first = await onboard.run(accountInput(sandbox(), id, `run-${id}-1`));
    expect(first).toMatchObject({ outcome: 'SUCCEEDED', connector: 'AWAITING_CONNECTION' });
    if (connected) {
      // What `casbridge confirm` records; the next run marks the connector CONNECTED.
      const confirmedAt = new Date(sandbox().world.clock.nowMs()).toISOString();
      await ledger(getRuntime()).update(id, { confirmedBy: 'operator', confirmedAt });
      const live = await onboard.run(accountInput(sandbox(), id, `run-${id}-1b`, { mode: 'reconcile' }));
      expect(live).toMatchObject({ outcome: 'SUCCEEDED', connector: 'CONNECTED' });
    }
    const before = await storedKey(id);
    const arn = (await describe_(id)).ARN;
    const gone = await offboard.run(accountInput(sandbox(), id, `run-${id}-off`, { mode: 'offboard' }));
    expect(gone).toMatchObject({ outcome: 'SUCCEEDED', connector: 'RETIRED' });
    expect((await describe_(id)).DeletedDate).toBeInstanceOf(Date);
    return { before, arn };
  }

  it('restores the scheduled secret the same day: same ARN, the new key in it, proven, and kept past the first window', async () => {
    const id = defaultAccountId(HEALTHY[0] ?? 1);
    const logs = captureOutput();
    const { before, arn } = await onboardedThenOffboarded(id, { connected: true });

    const mark = sandbox().world.callLog.mark();
    const again = await onboard.run(accountInput(sandbox(), id, `run-${id}-2`));
    jest.restoreAllMocks();
    // The ledger says RETIRED: the secret is read before the write, not found by a failed
    // CreateSecret, and the write is the restore, the new version and its key id tag.
    expect(
      sandbox()
        .world.callLog.list({ sinceSeq: mark })
        .filter((c) => c.service === 'secretsmanager' || c.operation === 'CreateAccessKey')
        .map((c) => `${c.service}:${c.operation}${c.outcome === 'ok' ? '' : ` (${c.errorCode})`}`),
    ).toEqual([
      'secretsmanager:DescribeSecret',
      'iam:CreateAccessKey',
      'secretsmanager:RestoreSecret',
      'secretsmanager:PutSecretValue',
      'secretsmanager:TagResource',
      'secretsmanager:GetSecretValue', // verify proves the new key
    ]);

    expect(again.error).toBeUndefined();
    expect(again).toMatchObject({
      outcome: 'SUCCEEDED',
      connector: 'AWAITING_CONNECTION',
      steps: {
        accessKey: {
          action: 'created',
          reason: 'secret-restored',
          details: { secretArn: arn, secret: 'restored' },
        },
        register: { reason: 'handoff-sent' },
      },
    });
    const after = await storedKey(id);
    const secret = await describe_(id);
    expect(secret.ARN).toBe(arn);
    expect(secret.DeletedDate).toBeUndefined();
    // The new key, not the one offboarding deleted: in the value, in the tag, and the user's only key.
    expect(after.accessKeyId).not.toBe(before.accessKeyId);
    expect(secret.Tags).toContainEqual({ Key: KEY_TAG, Value: after.accessKeyId });
    expect((await memberKeys(id)).map((k) => k.AccessKeyId)).toEqual([after.accessKeyId]);
    // Verify proved the new key with STS, and the ledger's offboarded state is replaced: the new
    // key waits for the operator, the confirmation of the old connector does not count for it.
    const item = await ledger(getRuntime()).get(id);
    expect(item).toMatchObject({
      connector: 'AWAITING_CONNECTION',
      lastOutcome: 'SUCCEEDED',
      accessKeyId: after.accessKeyId,
      secretArn: arn,
      verifiedAccessKeyId: after.accessKeyId,
      handoffAccessKeyId: after.accessKeyId,
    });
    // The earlier offboarding stays on record, as history: nothing decides on it.
    expect(Date.parse(item?.offboardedAt ?? '')).toBeLessThan(Date.parse(item?.handoffAt ?? ''));

    // The first offboarding's recovery window would have ended a day ago: the secret is still there.
    sandbox().world.clock.advance(8 * DAY_MS);
    const later = await describe_(id);
    expect(later).toMatchObject({ ARN: arn });
    expect(later.DeletedDate).toBeUndefined();
    expect((await storedKey(id)).accessKeyId).toBe(after.accessKeyId);

    const everything = [
      logs.join(''),
      JSON.stringify(onboard.outputs),
      JSON.stringify(offboard.outputs),
    ].join();
    for (const value of [before.secretAccessKey, after.secretAccessKey])
      expect(everything).not.toContain(value);
  });

  it('plans the restore in a dry run and changes nothing', async () => {
    const id = defaultAccountId(HEALTHY[1] ?? 2);
    const { arn } = await onboardedThenOffboarded(id);
    const mark = sandbox().world.callLog.mark();
    const plan = await onboard.run(accountInput(sandbox(), id, `run-${id}-dry`, { dryRun: true }));
    expect(plan).toMatchObject({
      outcome: 'SUCCEEDED',
      connector: 'RETIRED',
      steps: {
        accessKey: { action: 'created', reason: 'dry-run', details: { secretArn: arn, secret: 'restored' } },
      },
    });
    expect(
      sandbox()
        .world.callLog.list({ sinceSeq: mark })
        .filter((c) => !c.readOnly),
    ).toEqual([]);
    expect((await describe_(id)).DeletedDate).toBeInstanceOf(Date);
  });

  it('onboards normally an account whose secret was deleted without a recovery window', async () => {
    const id = defaultAccountId(HEALTHY[2] ?? 3);
    const { arn } = await onboardedThenOffboarded(id);
    await operatorSecrets().send(
      new DeleteSecretCommand({ SecretId: secretName(id), ForceDeleteWithoutRecovery: true }),
    );
    const again = await onboard.run(accountInput(sandbox(), id, `run-${id}-2`));
    expect(again).toMatchObject({ outcome: 'SUCCEEDED', connector: 'AWAITING_CONNECTION' });
    expect(again.steps.accessKey).toMatchObject({ action: 'created' });
    expect(again.steps.accessKey?.reason).toBeUndefined();
    const secret = await describe_(id);
    expect(secret.ARN).not.toBe(arn);
    expect(secret.Tags).toContainEqual({ Key: KEY_TAG, Value: (await storedKey(id)).accessKeyId });
  });

  it('through the state machine: an onboard run naming the account the day it was offboarded onboards it', async () => {
    const id = defaultAccountId(HEALTHY[3] ?? 5);
    const run = async (mode: string) => {
      const outcome = await runStateMachine(sandbox(), { mode, accounts: [id] });
      expect(outcome.execution.status).toBe('SUCCEEDED');
      return outcome.report?.accounts.find((a) => a.accountId === id);
    };
    expect(await run('onboard')).toMatchObject({ outcome: 'SUCCEEDED', connector: 'AWAITING_CONNECTION' });
    const arn = (await describe_(id)).ARN;
    expect(await run('offboard')).toMatchObject({ outcome: 'SUCCEEDED', connector: 'RETIRED' });
    const again = await run('onboard');
    expect(again).toMatchObject({
      outcome: 'SUCCEEDED',
      connector: 'AWAITING_CONNECTION',
      steps: { accessKey: { action: 'created', reason: 'secret-restored', details: { secretArn: arn } } },
    });
    const stored = await storedKey(id);
    expect(JSON.stringify(again)).not.toContain(stored.secretAccessKey);
    expect((await describe_(id)).Tags).toContainEqual({ Key: KEY_TAG, Value: stored.accessKeyId });
  });
});
