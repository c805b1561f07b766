import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stateMachineName } from '../../commons/stack-resources';
import { asList, Resolver, type Resource, type Statement, type Template } from './cloudformation';

/**
 * The stack packaged with parameters other than the defaults (test/stack/template.test.ts checks
 * the defaults): what a half-set pair refuses, and what every optional parameter turns on. Each
 * packaging runs from a copy of the tree (scripts/package/package-copy.cjs), beside the others.
 */
const { packageCopy } = require('../../scripts/package/package-copy.cjs') as {
  packageCopy: (options: { out: string; region?: string; params?: Record<string, string> }) => {
    status: number | null;
    stdout: string;
    stderr: string;
    wrote: string[];
  };
};
/** Every optional parameter set (scripts/lint-cfn.sh lints the same). */
const { ALL_OPTIONAL_PARAMETERS } = require('../../scripts/package/optional-parameters.cjs') as {
  ALL_OPTIONAL_PARAMETERS: Record<string, string>;
};

const ACCOUNT = '999988887777';
const REGION = 'eu-west-1';
const STAGE = 'dev';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'casbridge-parameters-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('packaging with parameters', () => {
  it.each([
    ['webhookUrl', { webhookUrl: 'https://hooks.example.com/casbridge' }, 'webhookSecretArn'],
    [
      'webhookSecretArn',
      { webhookSecretArn: 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:casbridge/webhook-AbCdEf' },
      'webhookUrl',
    ],
  ])('refuses %s without its partner, naming both parameters, and writes nothing', (set, params, missing) => {
    // Guards: a grant on Resource "" that IAM refuses only midway through a deployment.
    const out = path.join(dir, `half-${set}`);
    const run = packageCopy({ out, region: REGION, params });
    expect(run.status).not.toBe(0);
    const output = run.stdout + run.stderr;
    expect(output).toContain(
      `The parameters webhookUrl and webhookSecretArn go together: ${set} is set but ${missing} is not`,
    );
    expect(existsSync(out)).toBe(false);
    expect(run.wrote).toEqual([]);
  });

  describe(`with every optional parameter set, in ${REGION}`, () => {
    let template: Template;
    let cfn: Resolver;
    const p = ALL_OPTIONAL_PARAMETERS;

    beforeAll(() => {
      const out = path.join(dir, 'all');
      const run = packageCopy({ out, region: REGION, params: p });
      if (run.status !== 0) throw new Error(`packaging failed:\n${run.stdout}${run.stderr}`);
      template = JSON.parse(
        readFileSync(path.join(out, 'cloudformation-template-update-stack.json'), 'utf8'),
      );
      cfn = new Resolver(template, ACCOUNT, REGION);
    }, 300_000);

    const resources = (type: string) =>
      Object.entries(template.Resources).filter(([, r]) => r.Type === type) as [string, Resource][];
    const statements = (role: Resource) =>
      cfn
        .resolve<{ PolicyDocument: { Statement: Statement[] } }[]>(role.Properties.Policies ?? [])
        .flatMap((x) => x.PolicyDocument.Statement);
    const rules = () =>
      resources('AWS::Events::Rule').map(([, r]) =>
        cfn.resolve<{ Name: string; Targets: Record<string, unknown>[] }>(r.Properties),
      );

    it('sends undeliverable rule events to an encrypted queue only those rules may write to', () => {
      // Guards: a lifecycle event lost silently when the state machine cannot be started, a
      // dead-letter queue EventBridge cannot write to (no policy), or one any rule could fill.
      const [[queueId, queue]] = resources('AWS::SQS::Queue') as [[string, Resource]];
      expect(queue.Properties).toMatchObject({ SqsManagedSseEnabled: true, MessageRetentionPeriod: 1209600 });
      const queueArn = `arn:aws:sqs:${REGION}:${ACCOUNT}:${cfn.resolve(queue.Properties.QueueName)}`;
      const ruleArns = rules().map((r) => `arn:aws:events:${REGION}:${ACCOUNT}:rule/${r.Name}`);
      expect(ruleArns).toHaveLength(8);
      for (const rule of rules())
        expect(rule.Targets).toEqual([expect.objectContaining({ DeadLetterConfig: { Arn: queueArn } })]);
      const [[, policy]] = resources('AWS::SQS::QueuePolicy') as [[string, Resource]];
      expect(policy.Properties.Queues).toEqual([{ Ref: queueId }]);
      expect(cfn.resolve({ Ref: queueId })).toMatch(/^https:\/\/sqs\./);
      const document = cfn.resolve<{ Statement: Statement[] }>(policy.Properties.PolicyDocument);
      expect(document.Statement).toEqual([
        {
          Sid: 'EventBridgeDeadLetters',
          Effect: 'Allow',
          Principal: { Service: 'events.amazonaws.com' },
          Action: 'sqs:SendMessage',
          Resource: queueArn,
          Condition: { ArnEquals: { 'aws:SourceArn': ruleArns } },
        },
        expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
      ]);
    });

    it('traces the state machine with X-Ray and grants its role the X-Ray writes', () => {
      // Guards: tracing on without the grants (Step Functions then sends no segments), or the
      // grants without tracing.
      const [[, machine]] = resources('AWS::StepFunctions::StateMachine') as [[string, Resource]];
      expect(machine.Properties.TracingConfiguration).toEqual({ Enabled: true });
      const xray = statements(template.Resources.StateMachineRole as Resource).find(
        (s) => s.Sid === 'XRayTraces',
      );
      expect(xray).toEqual({
        Sid: 'XRayTraces',
        Effect: 'Allow',
        Action: [
          'xray:PutTraceSegments',
          'xray:PutTelemetryRecords',
          'xray:GetSamplingRules',
          'xray:GetSamplingTargets',
        ],
        Resource: '*',
      });
      expect(cfn.resolve(machine.Properties.StateMachineName)).toBe(stateMachineName(STAGE));
    });

    it('keeps connector secrets: the functions are told so and verify may not delete one', () => {
      // Guards: a grant no code path uses once secrets are kept (least privilege), or keepSecrets
      // not reaching the functions (secrets deleted although the operator asked to keep them).
      for (const [, fn] of resources('AWS::Lambda::Function')) {
        const env = cfn.resolve<{ Variables: Record<string, string> }>(fn.Properties.Environment).Variables;
        expect(env.CASBRIDGE_KEEP_SECRETS).toBe('true');
      }
      const verify = statements(template.Resources.VerifyRole as Resource);
      expect(verify.map((s) => s.Sid)).not.toContain('DeleteConnectorSecrets');
      expect(verify.flatMap((s) => asList(s.Action))).not.toContain('secretsmanager:DeleteSecret');
    });

    it('uses the existing log bucket, the fallback role, the webhook secret and the exclusions', () => {
      // Guards: a second log bucket (and its policy) created beside the customer's, and an
      // optional parameter that never reaches the functions or their roles.
      expect(template.Resources.LogBucket).toBeUndefined();
      expect(template.Resources.LogBucketPolicy).toBeUndefined();
      expect(template.Conditions).toBeUndefined();
      for (const [, fn] of resources('AWS::Lambda::Function')) {
        const env = cfn.resolve<{ Variables: Record<string, string> }>(fn.Properties.Environment).Variables;
        expect(env).toMatchObject({
          CASBRIDGE_LOG_BUCKET: p.existingLogBucket,
          CASBRIDGE_FALLBACK_ROLE_NAME: p.fallbackRoleName,
          CASBRIDGE_WEBHOOK_URL: p.webhookUrl,
          CASBRIDGE_WEBHOOK_SECRET_ARN: p.webhookSecretArn,
          CASBRIDGE_EXCLUDED_ACCOUNTS: p.excludedAccounts,
          CASBRIDGE_TRAIL_MODE: p.trailMode,
        });
        // Unset, the parameter trailMode replaced reaches no function.
        expect(env).not.toHaveProperty('CASBRIDGE_ORG_TRAIL');
      }
      const register = statements(template.Resources.RegisterRole as Resource);
      expect(register.find((s) => s.Sid === 'ReadWebhookSigningKey')).toEqual({
        Sid: 'ReadWebhookSigningKey',
        Effect: 'Allow',
        Action: 'secretsmanager:GetSecretValue',
        Resource: p.webhookSecretArn,
      });
      const assume = statements(template.Resources.AccessRole as Resource).find(
        (s) => s.Sid === 'AssumeMemberRole',
      );
      expect(asList(assume?.Resource)).toEqual([
        'arn:aws:iam::*:role/CasBridgeExecutionRole',
        `arn:aws:iam::*:role/${p.fallbackRoleName}`,
      ]);
    });
  });
});
