import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ERROR_NAMES } from '../../commons/errors';
import { failureRecord } from '../../commons/failure';
import { Ledger } from '../../commons/ledger';
import type { RecordInput } from '../../commons/task-input';
import { recordResult } from '../../functions/record-result/record-result';

const ROOT = path.join(__dirname, '..', '..');

/** A message like the one each error's thrower writes: some remediations are built from it. */
const MESSAGES: Partial<Record<string, string>> = {
  AccessDenied:
    'User: arn:aws:sts::200000000001:assumed-role/CasBridgeExecutionRole/casbridge is not authorized to perform: cloudtrail:CreateTrail on resource: arn:aws:cloudtrail:us-east-1:200000000001:trail/casbridge with an explicit deny in a service control policy',
  ConnectorPermissionsMissing:
    'The connector user arn:aws:iam::200000000001:user/casbridge/CloudAppSecurity is not allowed cloudtrail:LookupEvents, iam:ListUsers (denied by a service control policy)',
  ConnectorSecretMismatch:
    'The secret casbridge/connector/200000000001 holds a secret access key that does not sign for access key AKIAEXAMPLE0000001 of IAM user CloudAppSecurity in account 200000000001: STS refused the signature',
  LimitReached: 'Account 200000000001 already has CloudTrail’s maximum of 5 trails in us-east-1',
};

/**
 * The report's error for `error` thrown in a task, as it really arrives: Lambda serialises the
 * error to `{errorType, errorMessage}` in the Catch's Cause (statemachine/local/run-local.ts asLambda),
 * and RecordResult rebuilds the rest. A dry run's RecordResult reads its view from the input, so
 * the ledger is never called.
 */
async function reported(failure: RecordInput['failure'], mode: RecordInput['mode'] = 'onboard') {
  const neverCalled = new Ledger(DynamoDBDocumentClient.from(new DynamoDBClient({})), 'unused');
  const input: RecordInput = {
    runId: `${mode}-remediation`,
    execution: `execution-of-${mode}-remediation`,
    mode,
    dryRun: true,
    account: {
      accountId: '200000000001',
      name: 'a',
      ou: 'Workloads',
      state: 'ACTIVE',
      joinedMethod: 'CREATED',
    },
    steps: {},
    ledger: { connector: 'NOT_REGISTERED' },
    ...(failure ? { failure } : {}),
  };
  const account = await recordResult(neverCalled, input, 'hash');
  if (!account.error) throw new Error(`no error reported for ${failure?.Error}`);
  return account.error;
}

const lambdaError = (name: string, message: string) => ({
  Error: name,
  Cause: JSON.stringify({ errorType: name, errorMessage: message, trace: [] }),
});

/** The remediation a report gives what casbridge cannot name: what a named error must never get. */
async function unclassifiedRemediation() {
  return (await reported(lambdaError('SomethingNoOneThrows', 'x'))).remediation;
}

describe('every error in a report', () => {
  it('lists every error class of commons/errors.ts in ERROR_NAMES', () => {
    const source = readFileSync(path.join(ROOT, 'commons', 'errors.ts'), 'utf8');
    const declared = [...source.matchAll(/readonly name = '(\w+)'/g)].map((m) => m[1]);
    expect(declared.length).toBeGreaterThan(20);
    expect(declared.filter((name) => !(ERROR_NAMES as readonly string[]).includes(name ?? ''))).toEqual([]);
  });

  it('gives every casbridge error its own remediation, never the text for an unclassified error', async () => {
    const generic = await unclassifiedRemediation();
    const byName = new Map<string, string>();
    for (const name of ERROR_NAMES) {
      const message = MESSAGES[name] ?? `${name} in account 200000000001`;
      // RecordResult reports a LeaseHeld account SKIPPED (the other run records it); a failed
      // child execution's LeaseHeld reaches the report through WriteReport's same failureRecord.
      const error =
        name === 'LeaseHeld' ? failureRecord({ name, message }) : await reported(lambdaError(name, message));
      expect({ name, reportedAs: error.name }).toEqual({ name, reportedAs: name });
      expect({ name, generic: error.remediation === generic }).toEqual({ name, generic: false });
      expect(error.remediation.length).toBeGreaterThan(40);
      byName.set(name, error.remediation);
    }
    const shared = [...byName].filter(([, r]) => [...byName.values()].filter((x) => x === r).length > 1);
    expect(shared).toEqual([]);
  });

  it('tells an operator exactly what to do for a blocked offboarding, a failed webhook and a missing connector permission', async () => {
    const blocked = await reported(
      lambdaError(
        'OffboardingBlocked',
        'delete user CloudAppSecurity: Cannot delete entity, must remove login profile first.',
      ),
      'offboard',
    );
    expect(blocked).toMatchObject({
      step: 'offboard',
      remediation: expect.stringMatching(
        /remove it by hand.*retry-failed run: it offboards the account again/,
      ),
    });
    const webhook = await reported(
      lambdaError('WebhookFailed', 'The hand-off webhook at https://hooks.example answered HTTP 500'),
    );
    expect(webhook.remediation).toMatch(/CASBRIDGE_WEBHOOK_URL/);
    const missing = await reported(
      lambdaError('ConnectorPermissionsMissing', MESSAGES.ConnectorPermissionsMissing ?? ''),
    );
    expect(missing.remediation).toBe(
      'A service control policy denies the connector cloudtrail:LookupEvents, iam:ListUsers; exempt the connector user from it, or Defender for Cloud Apps cannot read this account.',
    );
    const mismatch = await reported(
      lambdaError('ConnectorSecretMismatch', MESSAGES.ConnectorSecretMismatch ?? ''),
    );
    expect(mismatch.remediation).toContain(
      'aws iam delete-access-key --user-name CloudAppSecurity --access-key-id AKIAEXAMPLE0000001',
    );
  });

  it('says first, for a failure in the register step, whether the hand-off reached the operator', async () => {
    // As RecordResult receives them: DeliverWebhook failed after Register's result (the topic has
    // the hand-off); Register failed with no result; Register stopped by its timeout.
    const neverCalled = new Ledger(DynamoDBDocumentClient.from(new DynamoDBClient({})), 'unused');
    const upToRegister = Object.fromEntries(
      ['access', 'user', 'policy', 'accessKey', 'trail'].map((step) => [
        step,
        { action: 'unchanged' as const },
      ]),
    );
    const record = async (failure: RecordInput['failure'], register?: RecordInput['steps'][string]) =>
      recordResult(
        neverCalled,
        {
          runId: 'register-remediation',
          execution: 'register-remediation',
          mode: 'onboard',
          dryRun: true,
          account: {
            accountId: '200000000001',
            name: 'a',
            ou: 'W',
            state: 'ACTIVE',
            joinedMethod: 'CREATED',
          },
          steps: register ? { ...upToRegister, register } : upToRegister,
          ledger: { connector: 'NOT_REGISTERED' },
          ...(failure ? { failure } : {}),
        },
        'hash',
        { webhookConfigured: true },
      );

    const webhook = await record(
      lambdaError(
        'WebhookFailed',
        'The hand-off webhook at https://hooks.example did not answer within 10 s',
      ),
      {
        action: 'created',
        reason: 'handoff-sent',
        details: { sns: 'delivered', webhook: 'pending', operatorReached: true },
        pendingWebhook: '{"handoffId":"x"}',
      },
    );
    expect(webhook.error).toMatchObject({
      name: 'WebhookFailed',
      step: 'register',
      remediation: expect.stringMatching(/^The operator was reached: .*CASBRIDGE_WEBHOOK_URL/),
      details: { sns: 'delivered', webhook: 'failed', webhookStatus: 'timeout', operatorReached: true },
    });
    // The report keeps the hand-off's result, never the message owed to the webhook.
    expect(webhook.steps.register).toEqual({
      action: 'created',
      reason: 'handoff-sent',
      details: { sns: 'delivered', webhook: 'failed', operatorReached: true },
    });

    const refused = await record(lambdaError('AccessDenied', 'not authorized to perform: SNS:Publish on x'));
    expect(refused.error).toMatchObject({
      step: 'register',
      remediation: expect.stringMatching(/^The operator was not reached: .*lacks SNS:Publish/),
      details: { sns: 'not-sent', webhook: 'not-sent', operatorReached: false },
    });

    const stopped = await record({ Error: 'States.Timeout', Cause: 'State timed out' });
    expect(stopped.error).toMatchObject({
      name: 'TaskTimedOut',
      remediation: expect.stringMatching(/^The operator may not have been reached/),
      details: { sns: 'unknown', operatorReached: false },
    });
  });

  it('gives what Step Functions and Lambda raise a casbridge name, keeping the original name in the message', async () => {
    // What a Catch really receives besides casbridge's names: the state's own timeout (plain-text
    // cause), Lambda's function timeout and service errors, a permission the state machine lacks,
    // and an AWS or JavaScript error a task let through unclassified.
    const arrivals: [RecordInput['failure'], string, RegExp][] = [
      [{ Error: 'States.Timeout', Cause: 'State timed out' }, 'TaskTimedOut', /ran past its timeout/],
      [{ Error: 'States.HeartbeatTimeout' }, 'TaskTimedOut', /ran past its timeout/],
      [
        lambdaError('Sandbox.Timedout', 'Task timed out after 120.00 seconds'),
        'TaskTimedOut',
        /Lambda timeout/,
      ],
      [lambdaError('Lambda.ServiceException', 'Lambda is unavailable'), 'TaskFailed', /Lambda could not run/],
      [lambdaError('Runtime.OutOfMemory', 'out of memory'), 'TaskFailed', /memory settings/],
      [
        { Error: 'States.Permissions', Cause: 'not authorized to invoke' },
        'TaskFailed',
        /lambda:InvokeFunction/,
      ],
      [{ Error: 'States.TaskFailed', Cause: 'task failed' }, 'TaskFailed', /casbridge bug/],
      [
        lambdaError('NoSuchEntityException', 'The user with name CloudAppSecurity cannot be found.'),
        'TaskFailed',
        /casbridge bug/,
      ],
      [
        lambdaError('TypeError', "Cannot read properties of undefined (reading 'x')"),
        'TaskFailed',
        /casbridge bug/,
      ],
    ];
    for (const [failure, name, remediation] of arrivals) {
      const error = await reported(failure);
      expect(error).toMatchObject({ name, step: 'access', remediation: expect.stringMatching(remediation) });
      expect(error.message.startsWith(failure?.Error ?? '?')).toBe(true);
      expect(ERROR_NAMES).toContain(error.name);
      // Recorded once, it keeps its name and remediation when read back (a failed child's result).
      expect(failureRecord(error, { step: 'access' })).toEqual(error);
    }
  });

  it('are each named in the README troubleshooting table', () => {
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const section = readme.split('## Troubleshooting by error name')[1]?.split('\n## ')[0] ?? '';
    const named = new Set(
      section
        .split('\n')
        .filter((line) => line.startsWith('| `'))
        .flatMap((line) => [...(line.split('|')[1] ?? '').matchAll(/`(\w+)`/g)].map((m) => m[1])),
    );
    expect(ERROR_NAMES.filter((name) => !named.has(name))).toEqual([]);
  });
});
