import {
  CloudTrailClient,
  CreateTrailCommand,
  DeleteTrailCommand,
  DescribeTrailsCommand,
  GetEventSelectorsCommand,
  GetTrailStatusCommand,
  LookupEventsCommand,
  PutEventSelectorsCommand,
  StartLoggingCommand,
  StopLoggingCommand,
  UpdateTrailCommand,
} from '@aws-sdk/client-cloudtrail';
import { CreateBucketCommand, PutBucketPolicyCommand, S3Client } from '@aws-sdk/client-s3';
import type { Sandbox, SandboxCredentials } from '../../sandbox';
import { defaultAccountId, defaultScenario } from '../../sandbox/scenario/default-scenario';
import { assumeRole, memberRoleCredentials, useSandbox } from '../support/sandbox';
import { anyTrailBucket } from '../support/trail-bucket';

/** The trail casbridge's member role may manage, delivering where the central log bucket expects it. */
function casbridgeTrail(
  sandbox: Sandbox,
  accountId: string,
  extra: Partial<{ IsMultiRegionTrail: boolean }> = {},
) {
  return new CreateTrailCommand({
    Name: 'casbridge',
    S3BucketName: sandbox.stack.logBucket,
    S3KeyPrefix: `casbridge/${accountId}`,
    EnableLogFileValidation: true,
    ...extra,
  });
}

function cloudtrail(sandbox: Sandbox, credentials?: SandboxCredentials, region?: string): CloudTrailClient {
  return new CloudTrailClient({ ...sandbox.clientConfig(credentials), ...(region ? { region } : {}) });
}

/** An administrator of a member account, through the role Organizations creates there. */
function memberAdmin(sandbox: Sandbox, accountId: string): Promise<SandboxCredentials> {
  return assumeRole(sandbox, `arn:aws:iam::${accountId}:role/OrganizationAccountAccessRole`);
}

describe('CloudTrail', () => {
  const sandbox = useSandbox({ accounts: 40 });

  it('creates the casbridge trail from a member account when the central bucket policy covers it', async () => {
    const accountId = defaultAccountId(1);
    const creds = await memberRoleCredentials(sandbox(), accountId);
    const created = await cloudtrail(sandbox(), creds).send(casbridgeTrail(sandbox(), accountId));
    expect(created.TrailARN).toBe(`arn:aws:cloudtrail:us-east-1:${accountId}:trail/casbridge`);
    expect(created.S3KeyPrefix).toBe(`casbridge/${accountId}`);
    expect(created.LogFileValidationEnabled).toBe(true);
  });

  it('refuses a trail whose bucket policy does not let CloudTrail write', async () => {
    const accountId = defaultAccountId(2);
    const creds = await memberAdmin(sandbox(), accountId);
    const client = cloudtrail(sandbox(), creds);
    // The reports bucket has no policy at all.
    const noPolicy = client.send(
      new CreateTrailCommand({ Name: 'casbridge', S3BucketName: sandbox().stack.reportsBucket }),
    );
    await expect(noPolicy).rejects.toMatchObject({
      name: 'InsufficientS3BucketPolicyException',
      message: `Incorrect S3 bucket policy is detected for bucket: ${sandbox().stack.reportsBucket}`,
    });
    // The log bucket's policy covers `casbridge/*/AWSLogs/*` only.
    await expect(
      client.send(
        new CreateTrailCommand({
          Name: 'casbridge',
          S3BucketName: sandbox().stack.logBucket,
          S3KeyPrefix: `elsewhere/${accountId}`,
        }),
      ),
    ).rejects.toMatchObject({ name: 'InsufficientS3BucketPolicyException' });
    await expect(
      client.send(new CreateTrailCommand({ Name: 'casbridge', S3BucketName: 'no-such-log-bucket' })),
    ).rejects.toMatchObject({ name: 'S3BucketDoesNotExistException' });
  });

  it("refuses an account's trail delivering under another account's prefix of the central bucket, or under another name", async () => {
    // The central log bucket's policy (stack-resources.ts logBucketPolicy, the stack's LogBucketPolicy)
    // lets account X's casbridge trail write only <trailPrefix>/X/AWSLogs/X/.
    const own = defaultAccountId(3);
    const other = defaultAccountId(4);
    const client = cloudtrail(sandbox(), await memberAdmin(sandbox(), own));
    const under = (prefix: string, name = 'casbridge') =>
      client.send(
        new CreateTrailCommand({ Name: name, S3BucketName: sandbox().stack.logBucket, S3KeyPrefix: prefix }),
      );
    await expect(under(`casbridge/${other}`)).rejects.toMatchObject({
      name: 'InsufficientS3BucketPolicyException',
    });
    await expect(under(`casbridge/${own}`, 'not-casbridge')).rejects.toMatchObject({
      name: 'InsufficientS3BucketPolicyException',
    });
    const created = await under(`casbridge/${own}`);
    expect(created).toMatchObject({ Name: 'casbridge', S3KeyPrefix: `casbridge/${own}` });
  });

  it('checks the bucket policy’s conditions against the trail CloudTrail would deliver for', async () => {
    const accountId = defaultAccountId(11);
    const creds = await memberAdmin(sandbox(), accountId);
    const bucket = `trail-logs-${accountId}`;
    const trailArn = (name: string) => `arn:aws:cloudtrail:us-east-1:${accountId}:trail/${name}`;
    const s3 = new S3Client(sandbox().clientConfig(creds));
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await s3.send(
      new PutBucketPolicyCommand({
        Bucket: bucket,
        Policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { Service: 'cloudtrail.amazonaws.com' },
              Action: 's3:GetBucketAcl',
              Resource: `arn:aws:s3:::${bucket}`,
              Condition: { StringEquals: { 'aws:SourceArn': trailArn('org-baseline') } },
            },
            {
              Effect: 'Allow',
              Principal: { Service: 'cloudtrail.amazonaws.com' },
              Action: 's3:PutObject',
              Resource: `arn:aws:s3:::${bucket}/AWSLogs/${accountId}/*`,
              Condition: {
                StringEquals: {
                  's3:x-amz-acl': 'bucket-owner-full-control',
                  'aws:SourceArn': trailArn('org-baseline'),
                },
              },
            },
          ],
        }),
      }),
    );
    const client = cloudtrail(sandbox(), creds);
    await expect(
      client.send(new CreateTrailCommand({ Name: 'another-trail', S3BucketName: bucket })),
    ).rejects.toMatchObject({ name: 'InsufficientS3BucketPolicyException' });
    const created = await client.send(new CreateTrailCommand({ Name: 'org-baseline', S3BucketName: bucket }));
    expect(created.TrailARN).toBe(trailArn('org-baseline'));
  });

  it('leaves a new trail stopped until StartLogging, and StopLogging stops it again', async () => {
    const accountId = defaultAccountId(4);
    const client = cloudtrail(sandbox(), await memberAdmin(sandbox(), accountId));
    await client.send(casbridgeTrail(sandbox(), accountId));
    const fresh = await client.send(new GetTrailStatusCommand({ Name: 'casbridge' }));
    expect(fresh.IsLogging).toBe(false);
    expect(fresh.StartLoggingTime).toBeUndefined();

    await client.send(new StartLoggingCommand({ Name: 'casbridge' }));
    const logging = await client.send(new GetTrailStatusCommand({ Name: 'casbridge' }));
    expect(logging.IsLogging).toBe(true);
    expect(logging.StartLoggingTime).toBeInstanceOf(Date);
    expect(logging.LatestDeliveryTime).toBeInstanceOf(Date);

    await client.send(new StopLoggingCommand({ Name: 'casbridge' }));
    const stopped = await client.send(
      new GetTrailStatusCommand({ Name: `arn:aws:cloudtrail:us-east-1:${accountId}:trail/casbridge` }),
    );
    expect(stopped.IsLogging).toBe(false);
    expect(stopped.StopLoggingTime).toBeInstanceOf(Date);
  });

  it('shows a multi-Region trail as a shadow copy in other Regions, and changes it only from home', async () => {
    const accountId = defaultAccountId(5);
    const creds = await memberRoleCredentials(sandbox(), accountId);
    await cloudtrail(sandbox(), creds).send(
      casbridgeTrail(sandbox(), accountId, { IsMultiRegionTrail: true }),
    );

    const eu = cloudtrail(sandbox(), creds, 'eu-west-1');
    const seen = await eu.send(new DescribeTrailsCommand({}));
    expect(seen.trailList).toEqual([
      expect.objectContaining({ Name: 'casbridge', HomeRegion: 'us-east-1', IsMultiRegionTrail: true }),
    ]);
    const withoutShadows = await eu.send(new DescribeTrailsCommand({ includeShadowTrails: false }));
    expect(withoutShadows.trailList).toEqual([]);

    await expect(
      eu.send(new UpdateTrailCommand({ Name: 'casbridge', EnableLogFileValidation: false })),
    ).rejects.toMatchObject({ name: 'InvalidHomeRegionException', $metadata: { httpStatusCode: 400 } });
    await expect(eu.send(new StartLoggingCommand({ Name: 'casbridge' }))).rejects.toMatchObject({
      name: 'InvalidHomeRegionException',
    });
  });

  it('refuses a sixth trail in a Region that already has five', async () => {
    const accountId = defaultAccountId(37);
    const client = cloudtrail(sandbox(), await memberRoleCredentials(sandbox(), accountId));
    const existing = await client.send(new DescribeTrailsCommand({}));
    expect(existing.trailList).toHaveLength(5);
    await expect(client.send(casbridgeTrail(sandbox(), accountId))).rejects.toMatchObject({
      name: 'MaximumNumberOfTrailsExceededException',
    });
  });

  it('counts shadow copies of multi-Region trails against the limit of the Region they appear in', async () => {
    const accountId = defaultAccountId(6);
    const admin = await memberAdmin(sandbox(), accountId);
    const home = cloudtrail(sandbox(), admin);
    const bucket = await anyTrailBucket(sandbox(), `own-trail-logs-${accountId}`);
    for (let i = 1; i <= 5; i++) {
      await home.send(
        new CreateTrailCommand({ Name: `everywhere-${i}`, S3BucketName: bucket, IsMultiRegionTrail: true }),
      );
    }
    await expect(
      cloudtrail(sandbox(), admin, 'eu-west-1').send(
        new CreateTrailCommand({ Name: 'local', S3BucketName: bucket }),
      ),
    ).rejects.toMatchObject({ name: 'MaximumNumberOfTrailsExceededException' });
  });

  it('refuses CreateTrail where an SCP denies it, naming the action', async () => {
    const accountId = defaultAccountId(29);
    const creds = await memberRoleCredentials(sandbox(), accountId);
    const error = await cloudtrail(sandbox(), creds)
      .send(casbridgeTrail(sandbox(), accountId))
      .catch((e: Error) => e);
    expect(error).toMatchObject({ name: 'AccessDeniedException', $metadata: { httpStatusCode: 400 } });
    expect((error as Error).message).toContain('cloudtrail:CreateTrail');
    expect((error as Error).message).toContain('service control policy');
  });

  it('lets the member role create no trail but casbridge’s own', async () => {
    const accountId = defaultAccountId(8);
    const creds = await memberRoleCredentials(sandbox(), accountId);
    const error = await cloudtrail(sandbox(), creds)
      .send(
        new CreateTrailCommand({
          Name: 'not-casbridge',
          S3BucketName: sandbox().stack.logBucket,
          S3KeyPrefix: `casbridge/${accountId}`,
        }),
      )
      .catch((e: Error) => e);
    expect(error).toMatchObject({ name: 'AccessDeniedException' });
    expect((error as Error).message).toContain(
      `arn:aws:cloudtrail:us-east-1:${accountId}:trail/not-casbridge`,
    );
  });

  it('refuses a trail name CloudTrail does not allow and a name already taken', async () => {
    const accountId = defaultAccountId(9);
    const client = cloudtrail(sandbox(), await memberAdmin(sandbox(), accountId));
    await expect(
      client.send(new CreateTrailCommand({ Name: 'bad--name', S3BucketName: sandbox().stack.logBucket })),
    ).rejects.toMatchObject({ name: 'InvalidTrailNameException' });
    await client.send(casbridgeTrail(sandbox(), accountId));
    await expect(client.send(casbridgeTrail(sandbox(), accountId))).rejects.toMatchObject({
      name: 'TrailAlreadyExistsException',
    });
  });

  it('keeps custom event selectors and refuses more than five', async () => {
    const accountId = defaultAccountId(10);
    const client = cloudtrail(sandbox(), await memberRoleCredentials(sandbox(), accountId));
    await client.send(casbridgeTrail(sandbox(), accountId));
    const defaults = await client.send(new GetEventSelectorsCommand({ TrailName: 'casbridge' }));
    expect(defaults.EventSelectors).toEqual([
      expect.objectContaining({ ReadWriteType: 'All', IncludeManagementEvents: true }),
    ]);
    await client.send(
      new PutEventSelectorsCommand({
        TrailName: 'casbridge',
        EventSelectors: [{ ReadWriteType: 'WriteOnly', IncludeManagementEvents: true }],
      }),
    );
    const custom = await client.send(new GetEventSelectorsCommand({ TrailName: 'casbridge' }));
    expect(custom.EventSelectors?.[0]?.ReadWriteType).toBe('WriteOnly');
    await expect(
      client.send(
        new PutEventSelectorsCommand({
          TrailName: 'casbridge',
          EventSelectors: Array.from({ length: 6 }, () => ({ ReadWriteType: 'All' as const })),
        }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidEventSelectorsException' });
  });

  it('refuses event selectors that select nothing, and says in DescribeTrails which trails have custom ones', async () => {
    const accountId = defaultAccountId(11);
    const client = cloudtrail(sandbox(), await memberRoleCredentials(sandbox(), accountId));
    await client.send(casbridgeTrail(sandbox(), accountId));
    const custom = async () =>
      (await client.send(new DescribeTrailsCommand({ trailNameList: ['casbridge'] }))).trailList?.[0]
        ?.HasCustomEventSelectors;
    expect(await custom()).toBe(false);
    const refused = (input: Omit<ConstructorParameters<typeof PutEventSelectorsCommand>[0], 'TrailName'>) =>
      expect(
        client.send(new PutEventSelectorsCommand({ TrailName: 'casbridge', ...input })),
      ).rejects.toMatchObject({
        name: 'InvalidEventSelectorsException',
      });
    await refused({ EventSelectors: [{ IncludeManagementEvents: false }] });
    await refused({ EventSelectors: [{ ExcludeManagementEventSources: ['iam.amazonaws.com'] }] });
    await refused({
      AdvancedEventSelectors: [{ FieldSelectors: [{ Field: 'readOnly', Equals: ['true'] }] }],
    });
    expect(await custom()).toBe(false);
    // Putting even the defaults marks the trail customised, as a console-made trail shows.
    await client.send(
      new PutEventSelectorsCommand({
        TrailName: 'casbridge',
        EventSelectors: [{ ReadWriteType: 'All', IncludeManagementEvents: true }],
      }),
    );
    expect(await custom()).toBe(true);
    const advanced = [{ FieldSelectors: [{ Field: 'eventCategory', Equals: ['Management'] }] }];
    await client.send(
      new PutEventSelectorsCommand({ TrailName: 'casbridge', AdvancedEventSelectors: advanced }),
    );
    expect(await custom()).toBe(true);
    // A trail has basic or advanced selectors, never both: GetEventSelectors returns the kind it has.
    const read = await client.send(new GetEventSelectorsCommand({ TrailName: 'casbridge' }));
    expect(read.AdvancedEventSelectors).toEqual(advanced);
    expect(read.EventSelectors).toBeUndefined();
  });

  it('forgets a deleted trail', async () => {
    const accountId = defaultAccountId(12);
    const client = cloudtrail(sandbox(), await memberAdmin(sandbox(), accountId));
    await client.send(casbridgeTrail(sandbox(), accountId));
    await client.send(new DeleteTrailCommand({ Name: 'casbridge' }));
    await expect(client.send(new GetTrailStatusCommand({ Name: 'casbridge' }))).rejects.toMatchObject({
      name: 'TrailNotFoundException',
    });
    await expect(client.send(new UpdateTrailCommand({ Name: 'casbridge' }))).rejects.toMatchObject({
      name: 'TrailNotFoundException',
    });
  });

  it('finds the CreateTrail call in the account’s event history', async () => {
    const accountId = defaultAccountId(14);
    const creds = await memberRoleCredentials(sandbox(), accountId);
    await cloudtrail(sandbox(), creds).send(casbridgeTrail(sandbox(), accountId));
    const reader = cloudtrail(sandbox(), await memberAdmin(sandbox(), accountId));
    const history = await reader.send(
      new LookupEventsCommand({
        LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'CreateTrail' }],
      }),
    );
    expect(history.Events).toHaveLength(1);
    const event = history.Events?.[0];
    expect(event).toMatchObject({
      EventName: 'CreateTrail',
      EventSource: 'cloudtrail.amazonaws.com',
      Username: 'by-hand-test',
      AccessKeyId: creds.accessKeyId,
    });
    expect(JSON.parse(event?.CloudTrailEvent ?? '{}')).toMatchObject({
      eventName: 'CreateTrail',
      recipientAccountId: accountId,
      awsRegion: 'us-east-1',
    });
  });

  it('pages event history and refuses two lookup attributes or a page size over 50', async () => {
    const accountId = defaultAccountId(15);
    const client = cloudtrail(sandbox(), await memberAdmin(sandbox(), accountId));
    const bucket = await anyTrailBucket(sandbox(), `own-trail-logs-${accountId}`);
    for (const name of ['t-one', 't-two', 't-three']) {
      await client.send(new CreateTrailCommand({ Name: name, S3BucketName: bucket }));
    }
    const first = await client.send(new LookupEventsCommand({ MaxResults: 2 }));
    expect(first.Events).toHaveLength(2);
    expect(first.NextToken).toBeDefined();
    const second = await client.send(new LookupEventsCommand({ MaxResults: 2, NextToken: first.NextToken }));
    expect(second.Events).toHaveLength(1);
    expect(second.NextToken).toBeUndefined();
    await expect(
      client.send(
        new LookupEventsCommand({
          LookupAttributes: [
            { AttributeKey: 'EventName', AttributeValue: 'CreateTrail' },
            { AttributeKey: 'ReadOnly', AttributeValue: 'false' },
          ],
        }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidLookupAttributesException' });
    await expect(client.send(new LookupEventsCommand({ MaxResults: 51 }))).rejects.toMatchObject({
      name: 'InvalidMaxResultsException',
    });
  });
});

describe('CloudTrail with an organization trail', () => {
  const sandbox = useSandbox({ scenario: defaultScenario({ accounts: 5, organizationTrail: true }) });
  const orgTrailArn = () =>
    `arn:aws:cloudtrail:us-east-1:${sandbox().stack.accountId}:trail/aws-controltower-BaselineCloudTrail`;

  it('shows the organization trail in every active member account with its management-account ARN', async () => {
    const client = cloudtrail(sandbox(), await memberRoleCredentials(sandbox(), defaultAccountId(1)));
    const trails = await client.send(new DescribeTrailsCommand({}));
    expect(trails.trailList).toEqual([
      expect.objectContaining({
        TrailARN: orgTrailArn(),
        IsOrganizationTrail: true,
        IsMultiRegionTrail: true,
      }),
    ]);
    const elsewhere = await cloudtrail(
      sandbox(),
      await memberRoleCredentials(sandbox(), defaultAccountId(2)),
      'ap-southeast-2',
    ).send(new DescribeTrailsCommand({}));
    expect(elsewhere.trailList?.map((t) => t.TrailARN)).toEqual([orgTrailArn()]);
  });

  it('reads the organization trail’s status from a member by its ARN, not by its name', async () => {
    const client = cloudtrail(sandbox(), await memberAdmin(sandbox(), defaultAccountId(1)));
    const status = await client.send(new GetTrailStatusCommand({ Name: orgTrailArn() }));
    expect(status.IsLogging).toBe(true);
    await expect(
      client.send(new GetTrailStatusCommand({ Name: 'aws-controltower-BaselineCloudTrail' })),
    ).rejects.toMatchObject({ name: 'TrailNotFoundException' });
  });

  it('does not let a member stop the organization trail', async () => {
    const client = cloudtrail(sandbox(), await memberAdmin(sandbox(), defaultAccountId(1)));
    await expect(client.send(new StopLoggingCommand({ Name: orgTrailArn() }))).rejects.toMatchObject({
      name: 'TrailNotFoundException',
    });
    const status = await cloudtrail(sandbox()).send(new GetTrailStatusCommand({ Name: orgTrailArn() }));
    expect(status.IsLogging).toBe(true);
  });
});

describe('CloudTrail making an organization trail', () => {
  const sandbox = useSandbox({ scenario: defaultScenario({ accounts: 3 }) });
  it('refuses it until CloudTrail has trusted access, then shows it to every member, which may read but not change it', async () => {
    const management = cloudtrail(sandbox());
    // A bucket that takes any trail, the organization's prefix included.
    const bucket = await anyTrailBucket(sandbox(), 'organization-logs');
    const create = () =>
      management.send(
        new CreateTrailCommand({
          Name: 'org',
          S3BucketName: bucket,
          IsOrganizationTrail: true,
          IsMultiRegionTrail: true,
        }),
      );
    await expect(create()).rejects.toMatchObject({ name: 'CloudTrailAccessNotEnabledException' });
    sandbox().world.organization.trustedServices.set('cloudtrail.amazonaws.com', new Date());
    const { TrailARN } = await create();
    expect(TrailARN).toBe(`arn:aws:cloudtrail:us-east-1:${sandbox().stack.accountId}:trail/org`);
    await management.send(
      new PutEventSelectorsCommand({ TrailName: 'org', EventSelectors: [{ ReadWriteType: 'WriteOnly' }] }),
    );
    const member = cloudtrail(sandbox(), await memberAdmin(sandbox(), defaultAccountId(1)));
    expect((await member.send(new DescribeTrailsCommand({}))).trailList).toEqual([
      expect.objectContaining({ TrailARN, IsOrganizationTrail: true, HasCustomEventSelectors: true }),
    ]);
    const selectors = await member.send(new GetEventSelectorsCommand({ TrailName: TrailARN }));
    expect(selectors.EventSelectors?.[0]?.ReadWriteType).toBe('WriteOnly');
    await expect(
      member.send(
        new PutEventSelectorsCommand({ TrailName: TrailARN, EventSelectors: [{ ReadWriteType: 'All' }] }),
      ),
    ).rejects.toMatchObject({ name: 'TrailNotFoundException' });
    // Only from the management account.
    await expect(
      member.send(new CreateTrailCommand({ Name: 'mine', S3BucketName: bucket, IsOrganizationTrail: true })),
    ).rejects.toMatchObject({ name: 'NotOrganizationMasterAccountException' });
  });
});
