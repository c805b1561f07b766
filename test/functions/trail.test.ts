import {
  CloudTrailClient,
  CreateTrailCommand,
  DescribeTrailsCommand,
  GetEventSelectorsCommand,
  GetTrailStatusCommand,
  ListTagsCommand,
  PutEventSelectorsCommand,
  type PutEventSelectorsCommandInput,
  StartLoggingCommand,
  StopLoggingCommand,
  UpdateTrailCommand,
} from '@aws-sdk/client-cloudtrail';
import type { Config } from '../../commons/config';
import { ensureTrail } from '../../functions/trail/ensure-trail';
import type { Sandbox } from '../../sandbox';
import { defaultAccountId, defaultScenario } from '../../sandbox/scenario/default-scenario';
import { memberAccountClients } from '../support/member';
import { sandboxConfig } from '../support/product';
import { assumeRole, useSandbox } from '../support/sandbox';
import { anyTrailBucket } from '../support/trail-bucket';

/** The trail step as the pipeline runs it: through the member role the access step assumed. */
async function prepare(sandbox: Sandbox, config: Config, index: number) {
  const accountId = defaultAccountId(index);
  const { cloudtrail } = await memberAccountClients(sandbox, config, accountId, 'trail');
  const run = (dryRun = false) => ensureTrail(cloudtrail, config, accountId, { dryRun });
  const ours = async () =>
    (await cloudtrail.send(new DescribeTrailsCommand({ includeShadowTrails: false }))).trailList?.find(
      (t) => t.Name === 'casbridge',
    );
  const logging = async () =>
    (await cloudtrail.send(new GetTrailStatusCommand({ Name: 'casbridge' }))).IsLogging ?? false;
  const writesSince = (mark: number) =>
    sandbox.world.callLog.list({ sinceSeq: mark, account: accountId }).filter((c) => !c.readOnly);
  return { accountId, cloudtrail, run, ours, logging, writesSince };
}

/** An administrator of the member account, through the role Organizations creates there. */
async function adminCloudTrail(sandbox: Sandbox, accountId: string): Promise<CloudTrailClient> {
  return new CloudTrailClient(
    sandbox.clientConfig(
      await assumeRole(sandbox, `arn:aws:iam::${accountId}:role/OrganizationAccountAccessRole`),
    ),
  );
}

describe('the trail step', () => {
  const sandbox = useSandbox({ accounts: 40 });
  const config = () => sandboxConfig(sandbox());

  it('creates a logging multi-Region trail with validation under the account’s prefix, then only reads on a re-run', async () => {
    const { accountId, run, ours, logging, writesSince } = await prepare(sandbox(), config(), 1);
    const trailArn = `arn:aws:cloudtrail:us-east-1:${accountId}:trail/casbridge`;
    expect(await run()).toEqual({ action: 'created', details: { trailArn } });
    expect(await ours()).toMatchObject({
      TrailARN: trailArn,
      IsMultiRegionTrail: true,
      IncludeGlobalServiceEvents: true,
      LogFileValidationEnabled: true,
      S3BucketName: sandbox().stack.logBucket,
      S3KeyPrefix: `casbridge/${accountId}`,
      IsOrganizationTrail: false,
    });
    expect(await logging()).toBe(true);
    // The member role may not list tags (the step never needs to): read them as the account's admin.
    const admin = await adminCloudTrail(sandbox(), accountId);
    const tags = await admin.send(new ListTagsCommand({ ResourceIdList: [trailArn] }));
    expect(tags.ResourceTagList?.[0]?.TagsList).toEqual([{ Key: 'managed-by', Value: 'casbridge' }]);
    // CreateTrail already gives every management event, read and write: nothing to write for it.
    const selectors = await admin.send(new GetEventSelectorsCommand({ TrailName: trailArn }));
    expect(selectors.EventSelectors).toEqual([
      {
        ReadWriteType: 'All',
        IncludeManagementEvents: true,
        DataResources: [],
        ExcludeManagementEventSources: [],
      },
    ]);
    expect(writesSince(0).map((c) => c.operation)).not.toContain('PutEventSelectors');

    const mark = sandbox().world.callLog.mark();
    expect(await run()).toEqual({ action: 'unchanged', details: { trailArn } });
    // A reconcile run over thousands of accounts must stay cheap: two CloudTrail reads, no write.
    expect(writesSince(mark)).toEqual([]);
    const reads = sandbox().world.callLog.list({ sinceSeq: mark, account: accountId, service: 'cloudtrail' });
    expect(reads.map((c) => c.operation)).toEqual(['DescribeTrails', 'GetTrailStatus']);
  });

  it('restarts a trail someone stopped', async () => {
    const { accountId, run, logging } = await prepare(sandbox(), config(), 2);
    await run();
    await (await adminCloudTrail(sandbox(), accountId)).send(new StopLoggingCommand({ Name: 'casbridge' }));
    expect(await run()).toMatchObject({ action: 'updated', reason: 'restarted-logging' });
    expect(await logging()).toBe(true);
    expect(await run()).toMatchObject({ action: 'unchanged' });
  });

  it('turns a single-Region trail without validation into the desired one', async () => {
    const { accountId, run, ours, logging } = await prepare(sandbox(), config(), 4);
    // Made by hand in the account: single-Region, validation off, but logging to the right place.
    const admin = await adminCloudTrail(sandbox(), accountId);
    await admin.send(
      new CreateTrailCommand({
        Name: 'casbridge',
        S3BucketName: sandbox().stack.logBucket,
        S3KeyPrefix: `casbridge/${accountId}`,
      }),
    );
    await admin.send(new StartLoggingCommand({ Name: 'casbridge' }));
    expect(await run()).toMatchObject({
      action: 'updated',
      reason: 'single-region,log-file-validation-off',
    });
    expect(await ours()).toMatchObject({
      IsMultiRegionTrail: true,
      IncludeGlobalServiceEvents: true,
      LogFileValidationEnabled: true,
    });
    expect(await logging()).toBe(true);
    expect(await run()).toMatchObject({ action: 'unchanged' });
  });

  it('moves a trail delivering elsewhere back to the central bucket under the account’s prefix', async () => {
    const { accountId, run, ours } = await prepare(sandbox(), config(), 5);
    await run();
    // Someone points the trail at a bucket of their own (the central bucket's policy admits the
    // account's trail under its own prefix only).
    const elsewhere = await anyTrailBucket(sandbox(), `elsewhere-${accountId}`);
    const admin = await adminCloudTrail(sandbox(), accountId);
    await admin.send(
      new UpdateTrailCommand({ Name: 'casbridge', S3BucketName: elsewhere, S3KeyPrefix: 'elsewhere' }),
    );
    expect(await run()).toMatchObject({ action: 'updated', reason: 'bucket,prefix' });
    expect(await ours()).toMatchObject({
      S3BucketName: sandbox().stack.logBucket,
      S3KeyPrefix: `casbridge/${accountId}`,
    });
  });

  const dataEvents = [{ Type: 'AWS::S3::Object', Values: ['arn:aws:s3:::some-bucket/'] }];
  const selectorDrifts: [string, Omit<PutEventSelectorsCommandInput, 'TrailName'>, string][] = [
    [
      'write events only',
      { EventSelectors: [{ ReadWriteType: 'WriteOnly' }] },
      'management-events-write-only',
    ],
    ['read events only', { EventSelectors: [{ ReadWriteType: 'ReadOnly' }] }, 'management-events-read-only'],
    [
      'management events excluded, data events kept',
      { EventSelectors: [{ IncludeManagementEvents: false, DataResources: dataEvents }] },
      'management-events-off',
    ],
    [
      'KMS management events excluded',
      { EventSelectors: [{ ExcludeManagementEventSources: ['kms.amazonaws.com'] }] },
      'management-events-narrowed',
    ],
    [
      'advanced selectors that select data events only',
      {
        AdvancedEventSelectors: [
          {
            FieldSelectors: [
              { Field: 'eventCategory', Equals: ['Data'] },
              { Field: 'resources.type', Equals: ['AWS::S3::Object'] },
            ],
          },
        ],
      },
      'management-events-off',
    ],
    [
      'advanced selectors that select write management events only',
      {
        AdvancedEventSelectors: [
          {
            FieldSelectors: [
              { Field: 'eventCategory', Equals: ['Management'] },
              { Field: 'readOnly', Equals: ['false'] },
            ],
          },
        ],
      },
      'management-events-write-only',
    ],
  ];

  it.each(selectorDrifts)(
    'repairs event selectors someone changed to %s, then only reads',
    async (_, change, reason) => {
      const { accountId, cloudtrail, run, writesSince } = await prepare(sandbox(), config(), 9);
      await run();
      const admin = await adminCloudTrail(sandbox(), accountId);
      await admin.send(new PutEventSelectorsCommand({ TrailName: 'casbridge', ...change }));
      const mark = sandbox().world.callLog.mark();
      expect(await run()).toMatchObject({ action: 'updated', reason, details: { drift: reason } });
      expect(writesSince(mark).map((c) => c.operation)).toEqual(['PutEventSelectors']);
      const selectors = await cloudtrail.send(new GetEventSelectorsCommand({ TrailName: 'casbridge' }));
      expect(selectors.AdvancedEventSelectors).toBeUndefined();
      expect(selectors.EventSelectors).toEqual([
        {
          ReadWriteType: 'All',
          IncludeManagementEvents: true,
          DataResources: [],
          ExcludeManagementEventSources: [],
        },
      ]);
      const again = sandbox().world.callLog.mark();
      expect(await run()).toMatchObject({ action: 'unchanged' });
      expect(writesSince(again)).toEqual([]);
      // Once customised, always customised: the trail's selectors are read on every reconcile.
      const reads = sandbox().world.callLog.list({
        sinceSeq: again,
        account: accountId,
        service: 'cloudtrail',
      });
      expect(reads.map((c) => c.operation)).toEqual([
        'DescribeTrails',
        'GetTrailStatus',
        'GetEventSelectors',
      ]);
    },
  );

  it('leaves customised event selectors that still record every management event as they are', async () => {
    const { accountId, run, writesSince } = await prepare(sandbox(), config(), 10);
    await run();
    const admin = await adminCloudTrail(sandbox(), accountId);
    // Someone added S3 data events beside the management events: the connector loses nothing.
    await admin.send(
      new PutEventSelectorsCommand({
        TrailName: 'casbridge',
        AdvancedEventSelectors: [
          { Name: 'management', FieldSelectors: [{ Field: 'eventCategory', Equals: ['Management'] }] },
          {
            Name: 's3',
            FieldSelectors: [
              { Field: 'eventCategory', Equals: ['Data'] },
              { Field: 'resources.type', Equals: ['AWS::S3::Object'] },
            ],
          },
        ],
      }),
    );
    const mark = sandbox().world.callLog.mark();
    expect(await run()).toMatchObject({ action: 'unchanged' });
    expect(writesSince(mark)).toEqual([]);
    const reads = sandbox().world.callLog.list({ sinceSeq: mark, account: accountId, service: 'cloudtrail' });
    // A customised trail costs one more read than a default one: its selectors.
    expect(reads.map((c) => c.operation)).toEqual(['DescribeTrails', 'GetTrailStatus', 'GetEventSelectors']);
  });

  it('plans an event selector repair in a dry run and changes nothing', async () => {
    const { accountId, cloudtrail, run, writesSince } = await prepare(sandbox(), config(), 11);
    await run();
    const admin = await adminCloudTrail(sandbox(), accountId);
    await admin.send(
      new PutEventSelectorsCommand({
        TrailName: 'casbridge',
        EventSelectors: [{ ReadWriteType: 'WriteOnly' }],
      }),
    );
    await admin.send(new StopLoggingCommand({ Name: 'casbridge' }));
    const mark = sandbox().world.callLog.mark();
    expect(await run(true)).toEqual({
      action: 'updated',
      reason: 'dry-run',
      details: {
        trailArn: `arn:aws:cloudtrail:us-east-1:${accountId}:trail/casbridge`,
        drift: 'management-events-write-only,restarted-logging',
      },
    });
    expect(writesSince(mark)).toEqual([]);
    const selectors = await cloudtrail.send(new GetEventSelectorsCommand({ TrailName: 'casbridge' }));
    expect(selectors.EventSelectors?.[0]?.ReadWriteType).toBe('WriteOnly');
    // The real run then repairs both, one CloudTrail write per second.
    expect(await run()).toMatchObject({
      action: 'updated',
      reason: 'management-events-write-only,restarted-logging',
    });
    expect(writesSince(mark).map((c) => c.operation)).toEqual(['PutEventSelectors', 'StartLogging']);
  });

  it('never changes the event selectors of another trail, and the member role may only read them', async () => {
    const { accountId, cloudtrail, run, writesSince } = await prepare(sandbox(), config(), 12);
    const admin = await adminCloudTrail(sandbox(), accountId);
    await admin.send(
      // The central bucket takes only casbridge's trail: another trail delivers elsewhere.
      new CreateTrailCommand({
        Name: 'audit',
        S3BucketName: await anyTrailBucket(sandbox(), `audit-${accountId}`),
      }),
    );
    await admin.send(
      new PutEventSelectorsCommand({ TrailName: 'audit', EventSelectors: [{ ReadWriteType: 'WriteOnly' }] }),
    );
    const mark = sandbox().world.callLog.mark();
    expect(await run()).toMatchObject({ action: 'created' });
    expect(await run()).toMatchObject({ action: 'unchanged' });
    expect(writesSince(mark).map((c) => c.operation)).toEqual(['CreateTrail', 'StartLogging']);
    const audit = await admin.send(new GetEventSelectorsCommand({ TrailName: 'audit' }));
    expect(audit.EventSelectors?.[0]?.ReadWriteType).toBe('WriteOnly');
    // The member role's writes name casbridge's trail only.
    await expect(
      cloudtrail.send(
        new PutEventSelectorsCommand({ TrailName: 'audit', EventSelectors: [{ ReadWriteType: 'All' }] }),
      ),
    ).rejects.toMatchObject({ name: 'AccessDeniedException' });
    // Reading them is how another trail is judged as coverage (CoveringTrails in the template).
    const read = await cloudtrail.send(
      new GetEventSelectorsCommand({ TrailName: `arn:aws:cloudtrail:us-east-1:${accountId}:trail/audit` }),
    );
    expect(read.EventSelectors?.[0]?.ReadWriteType).toBe('WriteOnly');
  });

  it('plans the trail in a dry run and changes nothing', async () => {
    const { accountId, run, ours, writesSince } = await prepare(sandbox(), config(), 6);
    const mark = sandbox().world.callLog.mark();
    expect(await run(true)).toMatchObject({ action: 'created', reason: 'dry-run' });
    expect(await ours()).toBeUndefined();
    await run();
    await (await adminCloudTrail(sandbox(), accountId)).send(new StopLoggingCommand({ Name: 'casbridge' }));
    const stopped = sandbox().world.callLog.mark();
    expect(await run(true)).toMatchObject({
      action: 'updated',
      reason: 'dry-run',
      details: { drift: 'restarted-logging' },
    });
    expect(writesSince(stopped)).toEqual([]);
    expect(writesSince(mark).map((c) => c.operation)).toEqual(['CreateTrail', 'StartLogging', 'StopLogging']);
  });

  it('reports BucketPolicyNotReady, which the state machine retries, while the bucket policy does not admit the account', async () => {
    const { accountId, run, ours } = await prepare(sandbox(), config(), 8);
    const bucket = sandbox().world.buckets.get(sandbox().stack.logBucket);
    if (!bucket) throw new Error('no log bucket in the sandbox');
    const original = bucket.policy;
    // A policy that admits the ACL check but another account's prefix only.
    bucket.policy = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { Service: 'cloudtrail.amazonaws.com' },
          Action: 's3:GetBucketAcl',
          Resource: `arn:aws:s3:::${bucket.name}`,
        },
        {
          Effect: 'Allow',
          Principal: { Service: 'cloudtrail.amazonaws.com' },
          Action: 's3:PutObject',
          Resource: `arn:aws:s3:::${bucket.name}/casbridge/111122223333/AWSLogs/111122223333/*`,
          Condition: { StringEquals: { 's3:x-amz-acl': 'bucket-owner-full-control' } },
        },
      ],
    });
    try {
      await expect(run()).rejects.toMatchObject({
        name: 'BucketPolicyNotReady',
        step: 'trail',
        retryable: true,
        message: expect.stringContaining(`casbridge/${accountId}/AWSLogs/${accountId}/`),
      });
      expect(await ours()).toBeUndefined();
    } finally {
      bucket.policy = original;
    }
    // Once the policy admits the account, the retry converges.
    expect(await run()).toMatchObject({ action: 'created' });
  });

  it('fails with LimitReached when the account already has five trails in the Region', async () => {
    const { run } = await prepare(sandbox(), config(), 37);
    const failure = run();
    await expect(failure).rejects.toMatchObject({ name: 'LimitReached', step: 'trail', retryable: false });
    await expect(failure).rejects.toHaveProperty('remediation', expect.stringMatching(/organization trail/));
    await expect(failure).rejects.toHaveProperty(
      'remediation',
      expect.stringMatching(/Delete an unused trail/),
    );
  });

  it('names cloudtrail:CreateTrail and the service control policy when an SCP denies it', async () => {
    const { run } = await prepare(sandbox(), config(), 29);
    const failure = run();
    await expect(failure).rejects.toMatchObject({
      name: 'AccessDenied',
      step: 'trail',
      action: 'cloudtrail:CreateTrail',
    });
    await expect(failure).rejects.toHaveProperty(
      'remediation',
      expect.stringMatching(/service control policy/),
    );
  });

  it('converges in an account where 30% of CloudTrail calls are throttled', async () => {
    const { run, ours, logging } = await prepare(sandbox(), config(), 31);
    // The SDK retries throttling; a TransientAwsError that still escapes is retried by the state
    // machine, which is what calling again does here.
    const converge = async () => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await run();
        } catch (error) {
          if ((error as Error).name !== 'TransientAwsError' || attempt >= 10) throw error;
        }
      }
    };
    expect((await converge()).action).toMatch(/^(created|updated)$/);
    const ok = async <T>(read: () => Promise<T>): Promise<T> => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await read();
        } catch (error) {
          if (attempt >= 10) throw error;
        }
      }
    };
    expect(await ok(ours)).toMatchObject({ IsMultiRegionTrail: true, LogFileValidationEnabled: true });
    expect(await ok(logging)).toBe(true);
    expect(await converge()).toMatchObject({ action: 'unchanged' });
  });
});

describe('the trail step under an organization trail', () => {
  const sandbox = useSandbox({ scenario: defaultScenario({ accounts: 5, organizationTrail: true }) });
  const orgTrailArn = () =>
    `arn:aws:cloudtrail:us-east-1:${sandbox().stack.accountId}:trail/aws-controltower-BaselineCloudTrail`;

  it('skips an account the logging organization trail covers, with read calls only', async () => {
    const { accountId, run, ours, writesSince } = await prepare(sandbox(), sandboxConfig(sandbox()), 1);
    const mark = sandbox().world.callLog.mark();
    const covered = {
      action: 'skipped',
      reason: 'covered-by-organization-trail',
      details: { coveredBy: orgTrailArn(), coveredByLogFileValidation: true },
    };
    expect(await run()).toEqual(covered);
    // A dry run decides the same, with the same reads.
    expect(await run(true)).toEqual(covered);
    const reads = sandbox().world.callLog.list({ sinceSeq: mark, account: accountId, service: 'cloudtrail' });
    // The organization trail's status is read by its ARN, which the member role's template admits.
    expect(reads.map((c) => [c.operation, c.outcome])).toEqual([
      ['DescribeTrails', 'ok'],
      ['GetTrailStatus', 'ok'],
      ['DescribeTrails', 'ok'],
      ['GetTrailStatus', 'ok'],
    ]);
    expect(writesSince(mark)).toEqual([]);
    expect(await ours()).toBeUndefined();
  });

  it('creates its own trail anyway in trail mode own, without reading the organization trail', async () => {
    const config = sandboxConfig(sandbox(), { CASBRIDGE_TRAIL_MODE: 'own' });
    const { accountId, run, ours, logging } = await prepare(sandbox(), config, 2);
    const mark = sandbox().world.callLog.mark();
    expect(await run()).toMatchObject({ action: 'created' });
    const reads = sandbox()
      .world.callLog.list({ sinceSeq: mark, account: accountId, service: 'cloudtrail' })
      .filter((c) => c.readOnly);
    expect(reads.map((c) => c.operation)).toEqual(['DescribeTrails']);
    expect(await ours()).toMatchObject({ IsMultiRegionTrail: true, LogFileValidationEnabled: true });
    expect(await logging()).toBe(true);
    expect(await run()).toMatchObject({ action: 'unchanged' });
  });

  it('does not count a stopped organization trail as coverage', async () => {
    const trail = [...(sandbox().world.accounts.get(sandbox().stack.accountId)?.regions.values() ?? [])]
      .flatMap((r) => [...r.trails.values()])
      .find((t) => t.isOrganizationTrail);
    if (!trail) throw new Error('no organization trail in the sandbox');
    trail.isLogging = false;
    try {
      const { run, logging } = await prepare(sandbox(), sandboxConfig(sandbox()), 3);
      expect(await run()).toMatchObject({ action: 'created' });
      expect(await logging()).toBe(true);
    } finally {
      trail.isLogging = true;
    }
  });

  it('reads an organization trail’s customised selectors as the member, and counts them only if they record every management event', async () => {
    // The management account's administrator customises the organization trail: first S3 data
    // events beside every management event (still coverage), then write events only (not).
    const management = new CloudTrailClient(sandbox().clientConfig());
    const orgTrail = 'aws-controltower-BaselineCloudTrail';
    await management.send(
      new PutEventSelectorsCommand({
        TrailName: orgTrail,
        AdvancedEventSelectors: [
          { Name: 'management', FieldSelectors: [{ Field: 'eventCategory', Equals: ['Management'] }] },
          {
            Name: 's3',
            FieldSelectors: [
              { Field: 'eventCategory', Equals: ['Data'] },
              { Field: 'resources.type', Equals: ['AWS::S3::Object'] },
            ],
          },
        ],
      }),
    );
    try {
      const covered = await prepare(sandbox(), sandboxConfig(sandbox()), 4);
      const mark = sandbox().world.callLog.mark();
      expect(await covered.run()).toMatchObject({
        action: 'skipped',
        reason: 'covered-by-organization-trail',
        details: { coveredBy: orgTrailArn() },
      });
      const reads = sandbox().world.callLog.list({
        sinceSeq: mark,
        account: covered.accountId,
        service: 'cloudtrail',
      });
      // By the organization trail's ARN, which the member role's CoveringTrails statement admits.
      expect(reads.map((c) => [c.operation, c.outcome])).toEqual([
        ['DescribeTrails', 'ok'],
        ['GetTrailStatus', 'ok'],
        ['GetEventSelectors', 'ok'],
      ]);

      await management.send(
        new PutEventSelectorsCommand({
          TrailName: orgTrail,
          AdvancedEventSelectors: [
            {
              FieldSelectors: [
                { Field: 'eventCategory', Equals: ['Management'] },
                { Field: 'readOnly', Equals: ['false'] },
              ],
            },
          ],
        }),
      );
      const writeOnly = await prepare(sandbox(), sandboxConfig(sandbox()), 5);
      expect(await writeOnly.run()).toMatchObject({ action: 'created' });
      expect(await writeOnly.logging()).toBe(true);
    } finally {
      await management.send(
        new PutEventSelectorsCommand({ TrailName: orgTrail, EventSelectors: [{ ReadWriteType: 'All' }] }),
      );
    }
  });
});

describe('the trail step where the account already has a trail of its own', () => {
  const sandbox = useSandbox({ accounts: 30 });
  const config = () => sandboxConfig(sandbox());

  /** A trail of the account's own, made by its administrators, delivering to a bucket of theirs. */
  async function auditTrail(
    accountId: string,
    trail: { multiRegion?: boolean; logging?: boolean; validation?: boolean } = {},
    selectors?: Omit<PutEventSelectorsCommandInput, 'TrailName'>,
  ): Promise<string> {
    const admin = await adminCloudTrail(sandbox(), accountId);
    const created = await admin.send(
      new CreateTrailCommand({
        Name: 'audit',
        S3BucketName: await anyTrailBucket(sandbox(), `audit-${accountId}`),
        IsMultiRegionTrail: trail.multiRegion ?? true,
        EnableLogFileValidation: trail.validation ?? false,
      }),
    );
    if (selectors) await admin.send(new PutEventSelectorsCommand({ TrailName: 'audit', ...selectors }));
    if (trail.logging ?? true) await admin.send(new StartLoggingCommand({ Name: 'audit' }));
    return created.TrailARN as string;
  }

  it('skips an account its own logging multi-Region trail covers, naming it, and makes no trail', async () => {
    const { accountId, run, ours, writesSince } = await prepare(sandbox(), config(), 1);
    const audit = await auditTrail(accountId);
    const mark = sandbox().world.callLog.mark();
    const covered = {
      action: 'skipped',
      reason: 'covered-by-existing-trail',
      // Validation is the covering trail's owner's to turn on: reported, not a reason to pay twice.
      details: { coveredBy: audit, coveredByLogFileValidation: false },
    };
    expect(await run(true)).toEqual(covered);
    expect(await run()).toEqual(covered);
    expect(writesSince(mark)).toEqual([]);
    const reads = sandbox().world.callLog.list({ sinceSeq: mark, account: accountId, service: 'cloudtrail' });
    expect(reads.map((c) => c.operation)).toEqual([
      'DescribeTrails',
      'GetTrailStatus',
      'DescribeTrails',
      'GetTrailStatus',
    ]);
    expect(await ours()).toBeUndefined();
  });

  it('counts customised selectors that still record every management event, read through the member role', async () => {
    const { accountId, run, writesSince } = await prepare(sandbox(), config(), 2);
    // Reads and writes in two basic selectors, beside S3 data events: every management event.
    const audit = await auditTrail(
      accountId,
      { validation: true },
      {
        EventSelectors: [
          { ReadWriteType: 'ReadOnly' },
          {
            ReadWriteType: 'WriteOnly',
            DataResources: [{ Type: 'AWS::S3::Object', Values: ['arn:aws:s3:::some-bucket/'] }],
          },
        ],
      },
    );
    const mark = sandbox().world.callLog.mark();
    expect(await run()).toEqual({
      action: 'skipped',
      reason: 'covered-by-existing-trail',
      details: { coveredBy: audit, coveredByLogFileValidation: true },
    });
    expect(writesSince(mark)).toEqual([]);
    const reads = sandbox().world.callLog.list({ sinceSeq: mark, account: accountId, service: 'cloudtrail' });
    expect(reads.map((c) => [c.operation, c.outcome])).toEqual([
      ['DescribeTrails', 'ok'],
      ['GetTrailStatus', 'ok'],
      ['GetEventSelectors', 'ok'],
    ]);
  });

  const notCoverage: [
    string,
    { multiRegion?: boolean; logging?: boolean },
    Omit<PutEventSelectorsCommandInput, 'TrailName'> | undefined,
  ][] = [
    ['a single-Region trail', { multiRegion: false }, undefined],
    ['a trail that does not log', { logging: false }, undefined],
    ['write-only basic selectors', {}, { EventSelectors: [{ ReadWriteType: 'WriteOnly' }] }],
    [
      'advanced selectors that select no management events',
      {},
      {
        AdvancedEventSelectors: [
          {
            FieldSelectors: [
              { Field: 'eventCategory', Equals: ['Data'] },
              { Field: 'resources.type', Equals: ['AWS::S3::Object'] },
            ],
          },
        ],
      },
    ],
    [
      'advanced selectors that select read management events only',
      {},
      {
        AdvancedEventSelectors: [
          {
            FieldSelectors: [
              { Field: 'eventCategory', Equals: ['Management'] },
              { Field: 'readOnly', Equals: ['true'] },
            ],
          },
        ],
      },
    ],
  ];

  // Healthy accounts of the default organization (3, 7, 11 carry faults).
  const healthy = [4, 5, 6, 8, 9];
  it.each(
    notCoverage.map(([label, trail, selectors], i) => [label, trail, selectors, healthy[i] ?? 0] as const),
  )(
    'creates casbridge’s trail beside %s, which does not cover the account',
    async (_, trail, selectors, index) => {
      const { accountId, run, ours, logging, writesSince } = await prepare(sandbox(), config(), index);
      await auditTrail(accountId, trail, selectors);
      const mark = sandbox().world.callLog.mark();
      expect(await run(true)).toMatchObject({ action: 'created', reason: 'dry-run' });
      expect(writesSince(mark)).toEqual([]);
      expect(await run()).toMatchObject({ action: 'created' });
      expect(writesSince(mark).map((c) => c.operation)).toEqual(['CreateTrail', 'StartLogging']);
      expect(await ours()).toMatchObject({ IsMultiRegionTrail: true });
      expect(await logging()).toBe(true);
    },
  );

  it('counts a trail that leaves KMS events out as coverage, naming the sources it leaves out', async () => {
    const { accountId, run, writesSince } = await prepare(sandbox(), config(), 10);
    // Advanced selectors, the way the console writes an exclusion: read and write management
    // events, KMS's left out (usually for their volume): the trail owner's choice to keep.
    const audit = await auditTrail(
      accountId,
      {},
      {
        AdvancedEventSelectors: [
          {
            FieldSelectors: [
              { Field: 'eventCategory', Equals: ['Management'] },
              { Field: 'eventSource', NotEquals: ['kms.amazonaws.com'] },
            ],
          },
        ],
      },
    );
    const mark = sandbox().world.callLog.mark();
    expect(await run()).toEqual({
      action: 'skipped',
      reason: 'covered-by-existing-trail',
      details: {
        coveredBy: audit,
        coveredByLogFileValidation: false,
        coveredByExcludedSources: 'kms.amazonaws.com',
      },
    });
    expect(writesSince(mark)).toEqual([]);
  });

  it('creates casbridge’s trail anyway in trail mode own', async () => {
    const own = sandboxConfig(sandbox(), { CASBRIDGE_TRAIL_MODE: 'own' });
    const { accountId, run, writesSince } = await prepare(sandbox(), own, 12);
    await auditTrail(accountId);
    const mark = sandbox().world.callLog.mark();
    expect(await run()).toMatchObject({ action: 'created' });
    expect(writesSince(mark).map((c) => c.operation)).toEqual(['CreateTrail', 'StartLogging']);
  });

  it('leaves casbridge’s own trail alone once another trail covers the account, and names it as the second copy', async () => {
    const { accountId, run, logging, writesSince } = await prepare(sandbox(), config(), 14);
    const ours = `arn:aws:cloudtrail:us-east-1:${accountId}:trail/casbridge`;
    expect(await run()).toMatchObject({ action: 'created' });
    const audit = await auditTrail(accountId);
    // The operator stops casbridge's trail, the paid second copy: casbridge does not restart it.
    await (await adminCloudTrail(sandbox(), accountId)).send(new StopLoggingCommand({ Name: 'casbridge' }));
    const mark = sandbox().world.callLog.mark();
    expect(await run()).toEqual({
      action: 'skipped',
      reason: 'covered-by-existing-trail',
      details: { coveredBy: audit, coveredByLogFileValidation: false, redundantTrail: ours },
    });
    expect(writesSince(mark)).toEqual([]);
    expect(await logging()).toBe(false);
  });
});
