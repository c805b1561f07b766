import { createHash } from 'node:crypto';
import { globalRegionOf, type Partition } from '../../commons/partition';
import { PARTITION_PATTERN, worldArn } from '../core/arn';
import { resourcePolicyAllows } from '../core/authorize';
import { AwsError } from '../core/aws-error';
import type { CallRecord } from '../core/call-log';
import { JSON_ERRORS, type RequestContext, type RpcService } from '../core/service';
import { mergeTags, readTags, removeTagKeys } from '../core/tags';
import type { PolicyDocument, Trail, World } from '../core/world';
import { regionalState } from '../core/world';

/** CloudTrail's quota of trails per Region, shadow copies of other Regions' trails included. */
const MAX_TRAILS_PER_REGION = 5;
const MAX_EVENT_SELECTORS = 5;
const MAX_DATA_RESOURCES = 250;
const MAX_ADVANCED_VALUES = 500;
/** The only management event sources a basic selector may exclude. */
const EXCLUDABLE_MANAGEMENT_SOURCES = ['kms.amazonaws.com', 'rdsdata.amazonaws.com'];
const ADVANCED_FIELDS = [
  'eventCategory',
  'eventSource',
  'eventName',
  'eventType',
  'readOnly',
  'resources.type',
  'resources.ARN',
  'errorCode',
  'sessionCredentialFromConsole',
  'userIdentity.arn',
  'vpcEndpointId',
];
const ADVANCED_OPERATORS = ['Equals', 'NotEquals', 'StartsWith', 'NotStartsWith', 'EndsWith', 'NotEndsWith'];
/** CloudTrail delivers a log file about every five minutes while a trail logs. */
const DELIVERY_INTERVAL_MS = 5 * 60_000;
const TRAIL_ARN = new RegExp(`^arn:${PARTITION_PATTERN}:cloudtrail:([a-z0-9-]+):(\\d{12}):trail\\/(.+)$`);
const LOOKUP_KEYS = [
  'EventId',
  'EventName',
  'ReadOnly',
  'Username',
  'ResourceType',
  'ResourceName',
  'EventSource',
  'AccessKeyId',
];
const DEFAULT_EVENT_SELECTORS = [
  {
    ReadWriteType: 'All',
    IncludeManagementEvents: true,
    DataResources: [],
    ExcludeManagementEventSources: [],
  },
];

export const cloudtrailService: RpcService = {
  kind: 'rpc',
  signingName: 'cloudtrail',
  protocol: 'json1.1',
  errors: JSON_ERRORS,
  operations: {
    CreateTrail: createTrail,
    UpdateTrail: updateTrail,
    DescribeTrails: describeTrails,
    GetTrail: getTrail,
    GetTrailStatus: getTrailStatus,
    StartLogging: (ctx, input) => setLogging(ctx, input, true),
    StopLogging: (ctx, input) => setLogging(ctx, input, false),
    PutEventSelectors: putEventSelectors,
    GetEventSelectors: getEventSelectors,
    DeleteTrail: deleteTrail,
    AddTags: addTags,
    RemoveTags: removeTags,
    ListTags: listTags,
    LookupEvents: lookupEvents,
  },
};

// ---------------------------------------------------------------- trails

async function createTrail(ctx: RequestContext, input: Record<string, unknown>) {
  const name = requireMember(input, 'Name');
  validateTrailName(name);
  const bucketName = requireMember(input, 'S3BucketName');
  const arn = trailArn(ctx, ctx.region, ctx.accountId, name);
  await ctx.authorize('cloudtrail:CreateTrail', arn);
  // As on AWS: tags given at creation need cloudtrail:AddTags on the trail too.
  if (readTags(input.TagsList).length > 0) await ctx.authorize('cloudtrail:AddTags', arn);
  const multiRegion = optionalBoolean(input, 'IsMultiRegionTrail') ?? false;
  const globalEvents = optionalBoolean(input, 'IncludeGlobalServiceEvents') ?? true;
  const organizationTrail = optionalBoolean(input, 'IsOrganizationTrail') ?? false;
  if (multiRegion && !globalEvents) throw multiRegionWithoutGlobalEvents();
  if (organizationTrail) requireOrganizationTrailAccess(ctx);
  const visible = trailsInRegion(ctx.world, ctx.accountId, ctx.region);
  if (visible.some((t) => t.name === name)) {
    throw new AwsError(
      'TrailAlreadyExistsException',
      `Trail ${name} already exists for customer: ${ctx.accountId}`,
    );
  }
  if (visible.filter((t) => t.accountId === ctx.accountId).length >= MAX_TRAILS_PER_REGION) {
    throw new AwsError(
      'MaximumNumberOfTrailsExceededException',
      `User: ${ctx.accountId} already has ${MAX_TRAILS_PER_REGION} trails in ${ctx.region}.`,
    );
  }
  const prefix = optionalPrefix(input);
  await checkBucketPolicy(ctx, bucketName, prefix, arn, organizationTrail);
  const snsTopicName = optionalString(input, 'SnsTopicName');
  const kmsKeyId = optionalString(input, 'KmsKeyId');
  const trail: Trail = {
    name,
    arn,
    homeRegion: ctx.region,
    s3BucketName: bucketName,
    ...(prefix ? { s3KeyPrefix: prefix } : {}),
    ...(snsTopicName ? { snsTopicName } : {}),
    includeGlobalServiceEvents: globalEvents,
    isMultiRegionTrail: multiRegion,
    logFileValidationEnabled: optionalBoolean(input, 'EnableLogFileValidation') ?? false,
    isOrganizationTrail: organizationTrail,
    ...(kmsKeyId ? { kmsKeyId } : {}),
    // Unlike the console, the API leaves a new trail stopped until StartLogging.
    isLogging: false,
    eventSelectors: structuredClone(DEFAULT_EVENT_SELECTORS),
    tags: readTags(input.TagsList),
  };
  regionalState(ctx.world, ctx.accountId, ctx.region).trails.set(name, trail);
  return trailResponse(trail);
}

async function updateTrail(ctx: RequestContext, input: Record<string, unknown>) {
  const trail = ownTrailInHomeRegion(ctx, requireMember(input, 'Name'));
  await ctx.authorize('cloudtrail:UpdateTrail', trail.arn);
  const multiRegion = optionalBoolean(input, 'IsMultiRegionTrail') ?? trail.isMultiRegionTrail;
  // Switching a trail to multi-Region turns global service events on with it, as CloudTrail does.
  const globalEvents =
    optionalBoolean(input, 'IncludeGlobalServiceEvents') ??
    (multiRegion && !trail.isMultiRegionTrail ? true : trail.includeGlobalServiceEvents);
  if (multiRegion && !globalEvents) throw multiRegionWithoutGlobalEvents();
  const organizationTrail = optionalBoolean(input, 'IsOrganizationTrail') ?? trail.isOrganizationTrail;
  if (organizationTrail && !trail.isOrganizationTrail) requireOrganizationTrailAccess(ctx);
  const bucketName = optionalString(input, 'S3BucketName') ?? trail.s3BucketName;
  const prefix = input.S3KeyPrefix === undefined ? trail.s3KeyPrefix : optionalPrefix(input);
  if (
    bucketName !== trail.s3BucketName ||
    prefix !== trail.s3KeyPrefix ||
    organizationTrail !== trail.isOrganizationTrail
  ) {
    await checkBucketPolicy(ctx, bucketName, prefix, trail.arn, organizationTrail);
  }
  trail.s3BucketName = bucketName;
  if (prefix) trail.s3KeyPrefix = prefix;
  else delete trail.s3KeyPrefix;
  trail.isMultiRegionTrail = multiRegion;
  trail.includeGlobalServiceEvents = globalEvents;
  trail.isOrganizationTrail = organizationTrail;
  trail.logFileValidationEnabled =
    optionalBoolean(input, 'EnableLogFileValidation') ?? trail.logFileValidationEnabled;
  if (input.SnsTopicName !== undefined)
    setOptional(trail, 'snsTopicName', optionalString(input, 'SnsTopicName'));
  if (input.KmsKeyId !== undefined) setOptional(trail, 'kmsKeyId', optionalString(input, 'KmsKeyId'));
  return trailResponse(trail);
}

async function describeTrails(ctx: RequestContext, input: Record<string, unknown>) {
  await ctx.authorize('cloudtrail:DescribeTrails', '*');
  const includeShadows = input.includeShadowTrails !== false;
  const visible = trailsInRegion(ctx.world, ctx.accountId, ctx.region);
  const requested = Array.isArray(input.trailNameList) ? input.trailNameList.map(String) : [];
  if (requested.length === 0) {
    return {
      trailList: visible.filter((v) => includeShadows || !v.shadow).map((v) => trailShape(v.trail)),
    };
  }
  const found: Trail[] = [];
  for (const reference of requested) {
    if (!reference.startsWith('arn:')) validateTrailName(reference);
    const match = reference.startsWith('arn:')
      ? visible.find((v) => v.trail.arn === parseTrailArn(reference).arn)
      : visible.find((v) => !v.shadow && v.name === reference);
    if (match && !found.includes(match.trail)) found.push(match.trail);
  }
  return { trailList: found.map(trailShape) };
}

async function getTrail(ctx: RequestContext, input: Record<string, unknown>) {
  const trail = visibleTrail(ctx, requireMember(input, 'Name'));
  await ctx.authorize('cloudtrail:GetTrail', trail.arn);
  return { Trail: trailShape(trail) };
}

async function getTrailStatus(ctx: RequestContext, input: Record<string, unknown>) {
  const trail = visibleTrail(ctx, requireMember(input, 'Name'));
  await ctx.authorize('cloudtrail:GetTrailStatus', trail.arn);
  const now = ctx.world.clock.nowMs();
  const latestDelivery =
    trail.isLogging && trail.startLoggingTime
      ? new Date(
          trail.startLoggingTime.getTime() +
            Math.floor((now - trail.startLoggingTime.getTime()) / DELIVERY_INTERVAL_MS) *
              DELIVERY_INTERVAL_MS,
        )
      : undefined;
  return {
    IsLogging: trail.isLogging,
    StartLoggingTime: trail.startLoggingTime,
    StopLoggingTime: trail.stopLoggingTime,
    LatestDeliveryTime: latestDelivery,
    TimeLoggingStarted: trail.startLoggingTime?.toISOString(),
    TimeLoggingStopped: trail.stopLoggingTime?.toISOString(),
    LatestDeliveryAttemptTime: latestDelivery?.toISOString(),
    LatestDeliveryAttemptSucceeded: latestDelivery?.toISOString(),
  };
}

async function setLogging(ctx: RequestContext, input: Record<string, unknown>, logging: boolean) {
  const trail = ownTrailInHomeRegion(ctx, requireMember(input, 'Name'));
  await ctx.authorize(logging ? 'cloudtrail:StartLogging' : 'cloudtrail:StopLogging', trail.arn);
  if (trail.isLogging !== logging) {
    trail.isLogging = logging;
    if (logging) trail.startLoggingTime = ctx.world.clock.now();
    else trail.stopLoggingTime = ctx.world.clock.now();
  }
  return {};
}

async function deleteTrail(ctx: RequestContext, input: Record<string, unknown>) {
  const trail = ownTrailInHomeRegion(ctx, requireMember(input, 'Name'));
  await ctx.authorize('cloudtrail:DeleteTrail', trail.arn);
  regionalState(ctx.world, ctx.accountId, trail.homeRegion).trails.delete(trail.name);
  return {};
}

// ---------------------------------------------------------------- event selectors

async function putEventSelectors(ctx: RequestContext, input: Record<string, unknown>) {
  const trail = ownTrailInHomeRegion(ctx, requireMember(input, 'TrailName'));
  await ctx.authorize('cloudtrail:PutEventSelectors', trail.arn);
  const basic = input.EventSelectors;
  const advanced = input.AdvancedEventSelectors;
  if ((basic === undefined) === (advanced === undefined)) {
    throw new AwsError(
      'InvalidParameterCombinationException',
      'Either EventSelectors or AdvancedEventSelectors must be specified, but not both.',
    );
  }
  if (basic !== undefined) {
    const selectors = validateEventSelectors(basic);
    trail.customEventSelectors = true;
    trail.eventSelectors = selectors;
    delete trail.advancedEventSelectors;
    return { TrailARN: trail.arn, EventSelectors: selectors };
  }
  trail.advancedEventSelectors = validateAdvancedEventSelectors(advanced);
  trail.customEventSelectors = true;
  trail.eventSelectors = [];
  return { TrailARN: trail.arn, AdvancedEventSelectors: trail.advancedEventSelectors };
}

async function getEventSelectors(ctx: RequestContext, input: Record<string, unknown>) {
  const trail = visibleTrail(ctx, requireMember(input, 'TrailName'));
  await ctx.authorize('cloudtrail:GetEventSelectors', trail.arn);
  return trail.advancedEventSelectors
    ? { TrailARN: trail.arn, AdvancedEventSelectors: trail.advancedEventSelectors }
    : { TrailARN: trail.arn, EventSelectors: trail.eventSelectors };
}

function validateEventSelectors(value: unknown): Record<string, unknown>[] {
  const invalid = (message: string) => new AwsError('InvalidEventSelectorsException', message);
  if (!Array.isArray(value)) throw invalid('EventSelectors must be a list.');
  if (value.length > MAX_EVENT_SELECTORS) {
    throw invalid(
      `A trail can have at most ${MAX_EVENT_SELECTORS} event selectors; ${value.length} were given.`,
    );
  }
  let dataResources = 0;
  const selectors = value.map((raw) => {
    const selector = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
    const readWrite = selector.ReadWriteType ?? 'All';
    if (readWrite !== 'All' && readWrite !== 'ReadOnly' && readWrite !== 'WriteOnly') {
      throw invalid(`Invalid ReadWriteType: ${String(readWrite)}`);
    }
    const resources = Array.isArray(selector.DataResources) ? selector.DataResources : [];
    dataResources += resources.length;
    const includeManagement = selector.IncludeManagementEvents !== false;
    // A selector that selects nothing is refused rather than stored.
    if (!includeManagement && resources.length === 0) {
      throw invalid(
        'Invalid combination of parameters in EventSelectors. When includeManagementEvents is false, DataResources must not be empty',
      );
    }
    const excluded = Array.isArray(selector.ExcludeManagementEventSources)
      ? selector.ExcludeManagementEventSources.map(String)
      : [];
    const unknownSource = excluded.find((source) => !EXCLUDABLE_MANAGEMENT_SOURCES.includes(source));
    if (unknownSource !== undefined) {
      throw invalid(`Invalid value ${unknownSource} for ExcludeManagementEventSources.`);
    }
    return {
      ReadWriteType: readWrite,
      IncludeManagementEvents: includeManagement,
      DataResources: resources,
      ExcludeManagementEventSources: excluded,
    };
  });
  if (dataResources > MAX_DATA_RESOURCES) {
    throw invalid(
      `A trail can have at most ${MAX_DATA_RESOURCES} data resources across its event selectors.`,
    );
  }
  return selectors;
}

/**
 * Advanced selectors are lists of field conditions; every selector names the event category it
 * selects (`eventCategory`), and a trail holds at most 500 condition values across them.
 */
function validateAdvancedEventSelectors(value: unknown): Record<string, unknown>[] {
  const invalid = (message: string) => new AwsError('InvalidEventSelectorsException', message);
  if (!Array.isArray(value) || value.length === 0) throw invalid('AdvancedEventSelectors must not be empty.');
  let values = 0;
  return value.map((raw) => {
    const selector = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
    const fields = Array.isArray(selector.FieldSelectors)
      ? (selector.FieldSelectors as Record<string, unknown>[])
      : [];
    if (!fields.some((f) => f?.Field === 'eventCategory')) {
      throw invalid(
        'Invalid AdvancedEventSelectors: each selector must have an eventCategory field selector.',
      );
    }
    for (const field of fields) {
      if (typeof field?.Field !== 'string' || !ADVANCED_FIELDS.includes(field.Field)) {
        throw invalid(`Invalid AdvancedEventSelectors: unknown field ${String(field?.Field)}.`);
      }
      for (const operator of ADVANCED_OPERATORS) {
        const list = field[operator];
        if (list !== undefined && !Array.isArray(list)) throw invalid(`${operator} must be a list.`);
        values += Array.isArray(list) ? list.length : 0;
      }
    }
    if (values > MAX_ADVANCED_VALUES) {
      throw invalid(
        `A trail can have at most ${MAX_ADVANCED_VALUES} values across its advanced event selectors.`,
      );
    }
    return {
      ...(typeof selector.Name === 'string' ? { Name: selector.Name } : {}),
      FieldSelectors: fields,
    };
  });
}

// ---------------------------------------------------------------- tags

async function addTags(ctx: RequestContext, input: Record<string, unknown>) {
  const trail = ownTrailByArn(ctx, requireMember(input, 'ResourceId'));
  await ctx.authorize('cloudtrail:AddTags', trail.arn);
  const tags = mergeTags(trail.tags, readTags(input.TagsList));
  if (tags.length > 50) {
    throw new AwsError(
      'TagsLimitExceededException',
      'The number of tags per trail has exceeded the permitted amount.',
    );
  }
  trail.tags = tags;
  return {};
}

async function removeTags(ctx: RequestContext, input: Record<string, unknown>) {
  const trail = ownTrailByArn(ctx, requireMember(input, 'ResourceId'));
  await ctx.authorize('cloudtrail:RemoveTags', trail.arn);
  trail.tags = removeTagKeys(
    trail.tags,
    readTags(input.TagsList).map((t) => t.Key),
  );
  return {};
}

async function listTags(ctx: RequestContext, input: Record<string, unknown>) {
  const ids = Array.isArray(input.ResourceIdList) ? input.ResourceIdList.map(String) : [];
  const out: { ResourceId: string; TagsList: { Key: string; Value: string }[] }[] = [];
  for (const id of ids) {
    const trail = ownTrailByArn(ctx, id);
    await ctx.authorize('cloudtrail:ListTags', trail.arn);
    out.push({ ResourceId: trail.arn, TagsList: trail.tags });
  }
  return { ResourceTagList: out };
}

// ---------------------------------------------------------------- event history

interface LookupCursor {
  /** Call-log sequence of the last event served: newer calls never shift the pages still to come. */
  beforeSeq: number;
  /** The query the token belongs to; CloudTrail refuses a token reused with other parameters. */
  query: string;
}

/**
 * Event history from the sandbox's call log: the management write events of the caller's account
 * in this Region, newest first, as CloudTrail records them (data events such as PutObject are not
 * in event history; IAM and Organizations, global services, record in their partition’s global Region: us-east-1, us-gov-west-1, …).
 */
async function lookupEvents(ctx: RequestContext, input: Record<string, unknown>) {
  await ctx.authorize('cloudtrail:LookupEvents', '*');
  const attributes = Array.isArray(input.LookupAttributes)
    ? (input.LookupAttributes as Record<string, unknown>[])
    : [];
  if (attributes.length > 1) {
    throw new AwsError(
      'InvalidLookupAttributesException',
      'You cannot specify more than one lookup attribute.',
    );
  }
  const attribute = attributes[0];
  if (attribute && !LOOKUP_KEYS.includes(String(attribute.AttributeKey))) {
    throw new AwsError(
      'InvalidLookupAttributesException',
      `Invalid attribute key: ${String(attribute.AttributeKey)}. Valid keys are ${LOOKUP_KEYS.join(', ')}.`,
    );
  }
  const maxResults = input.MaxResults === undefined ? 50 : Number(input.MaxResults);
  if (!Number.isInteger(maxResults) || maxResults < 1 || maxResults > 50) {
    throw new AwsError('InvalidMaxResultsException', 'MaxResults must be an integer between 1 and 50.');
  }
  const start = epochInput(input.StartTime);
  const end = epochInput(input.EndTime);
  if (start !== undefined && end !== undefined && start > end) {
    throw new AwsError('InvalidTimeRangeException', 'Start time must be earlier than end time.');
  }
  if (input.EventCategory !== undefined && input.EventCategory !== 'insight') {
    throw new AwsError(
      'InvalidEventCategoryException',
      `Invalid event category: ${String(input.EventCategory)}`,
    );
  }
  const query = createHash('sha1')
    .update(JSON.stringify([attribute ?? null, start ?? null, end ?? null, input.EventCategory ?? null]))
    .digest('hex');
  const cursor = input.NextToken === undefined ? undefined : readCursor(input.NextToken, query);
  // Insight events exist only with Insights selectors, which the sandbox does not emulate.
  if (input.EventCategory === 'insight') return { Events: [] };
  const events: ReturnType<typeof toEvent>[] = [];
  let lastSeq: number | undefined;
  let more = false;
  const records = ctx.world.callLog.list({ account: ctx.accountId });
  for (let i = records.length - 1; i >= 0; i--) {
    const record = records[i] as CallRecord;
    if (cursor && record.seq >= cursor.beforeSeq) continue;
    if (!isRecordedEvent(record, ctx.region, ctx.world.settings.partition)) continue;
    const timeMs = Date.parse(record.time);
    if ((start !== undefined && timeMs < start) || (end !== undefined && timeMs > end)) continue;
    const event = toEvent(record);
    if (attribute && !matchesAttribute(event, attribute)) continue;
    if (events.length === maxResults) {
      more = true;
      break;
    }
    events.push(event);
    lastSeq = record.seq;
  }
  const nextToken =
    more && lastSeq !== undefined
      ? Buffer.from(JSON.stringify({ beforeSeq: lastSeq, query } satisfies LookupCursor)).toString('base64')
      : undefined;
  return { Events: events, ...(nextToken ? { NextToken: nextToken } : {}) };
}

/** Object- and item-level calls are data events: CloudTrail keeps them out of event history. */
const DATA_EVENTS = new Set([
  's3:PutObject',
  's3:DeleteObject',
  's3:DeleteObjects',
  's3:CopyObject',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
  'dynamodb:TransactWriteItems',
  'sns:Publish',
]);
const GLOBAL_EVENT_SERVICES = new Set(['iam', 'organizations']);

function isRecordedEvent(record: CallRecord, region: string, partition: Partition): boolean {
  if (record.readOnly || record.operation === '' || record.account === undefined) return false;
  if (DATA_EVENTS.has(`${record.service}:${record.operation}`)) return false;
  const eventRegion = GLOBAL_EVENT_SERVICES.has(record.service) ? globalRegionOf(partition) : record.region;
  return eventRegion === region;
}

function toEvent(record: CallRecord) {
  const eventId = eventIdOf(record.requestId);
  const username = record.callerArn?.slice(record.callerArn.lastIndexOf('/') + 1);
  const eventSource = `${record.service}.amazonaws.com`;
  const eventTime = new Date(record.time);
  return {
    EventId: eventId,
    EventName: record.operation,
    ReadOnly: 'false',
    AccessKeyId: record.accessKeyId,
    EventTime: eventTime,
    EventSource: eventSource,
    Username: username,
    Resources: [],
    CloudTrailEvent: JSON.stringify({
      eventVersion: '1.11',
      userIdentity: {
        type: record.callerArn?.includes(':assumed-role/') ? 'AssumedRole' : 'IAMUser',
        arn: record.callerArn,
        accountId: record.account,
        accessKeyId: record.accessKeyId,
      },
      eventTime: eventTime.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      eventSource,
      eventName: record.operation,
      awsRegion: record.region,
      sourceIPAddress: '127.0.0.1',
      userAgent: 'sandbox',
      ...(record.errorCode ? { errorCode: record.errorCode } : {}),
      requestID: record.requestId,
      eventID: eventId,
      readOnly: false,
      eventType: 'AwsApiCall',
      managementEvent: true,
      recipientAccountId: record.account,
      eventCategory: 'Management',
    }),
  };
}

function matchesAttribute(event: ReturnType<typeof toEvent>, attribute: Record<string, unknown>): boolean {
  const value = String(attribute.AttributeValue ?? '');
  switch (attribute.AttributeKey) {
    case 'EventId':
      return event.EventId === value;
    case 'EventName':
      return event.EventName === value;
    case 'ReadOnly':
      return event.ReadOnly === value;
    case 'Username':
      return event.Username === value;
    case 'EventSource':
      return event.EventSource === value;
    case 'AccessKeyId':
      return event.AccessKeyId === value;
    default:
      // The call log does not keep request parameters, so events carry no resources to match.
      return false;
  }
}

function readCursor(token: unknown, query: string): LookupCursor {
  const invalid = new AwsError('InvalidNextTokenException', 'Invalid NextToken.');
  if (typeof token !== 'string') throw invalid;
  try {
    const cursor = JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as Partial<LookupCursor>;
    if (typeof cursor.beforeSeq !== 'number' || cursor.query !== query) throw invalid;
    return cursor as LookupCursor;
  } catch {
    throw invalid;
  }
}

function eventIdOf(requestId: string): string {
  const h = createHash('sha1').update(`event:${requestId}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

function epochInput(value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  const seconds = Number(value);
  if (!Number.isFinite(seconds)) throw new AwsError('InvalidTimeRangeException', 'Invalid time.');
  return seconds * 1000;
}

// ---------------------------------------------------------------- the bucket policy check

/**
 * CloudTrail refuses a trail whose bucket policy would not let it deliver: the policy must allow
 * the service principal `s3:GetBucketAcl` on the bucket and `s3:PutObject` under
 * `<prefix>/AWSLogs/<account>/` with the `bucket-owner-full-control` ACL, in the request context
 * CloudTrail delivers with (the trail ARN, the account, the organization).
 */
async function checkBucketPolicy(
  ctx: RequestContext,
  bucketName: string,
  prefix: string | undefined,
  arn: string,
  organizationTrail: boolean,
): Promise<void> {
  const bucket = ctx.world.buckets.get(bucketName);
  if (!bucket) {
    throw new AwsError('S3BucketDoesNotExistException', `S3 bucket ${bucketName} does not exist.`);
  }
  const insufficient = new AwsError(
    'InsufficientS3BucketPolicyException',
    `Incorrect S3 bucket policy is detected for bucket: ${bucketName}`,
  );
  if (!bucket.policy) throw insufficient;
  const policy = JSON.parse(bucket.policy) as PolicyDocument;
  const org = ctx.world.organization;
  const context: Record<string, string> = {
    'aws:SourceArn': arn,
    'aws:SourceAccount': ctx.accountId,
    ...(org.accounts.has(ctx.accountId) ? { 'aws:SourceOrgID': org.id } : {}),
  };
  const base = prefix ? `${prefix}/AWSLogs` : 'AWSLogs';
  // An organization trail writes each member's logs under the organization id as well.
  const logPrefixes = organizationTrail
    ? [`${base}/${ctx.accountId}`, `${base}/${org.id}`]
    : [`${base}/${ctx.accountId}`];
  const checks = [
    {
      action: 's3:GetBucketAcl',
      resource: `arn:${ctx.world.settings.partition}:s3:::${bucketName}`,
      context,
    },
    // A log file's key as CloudTrail writes it (not a `*`: a policy variable such as
    // ${aws:SourceAccount} in the policy's Resource is matched against a concrete key).
    ...logPrefixes.map((logPrefix) => ({
      action: 's3:PutObject',
      resource: `arn:${ctx.world.settings.partition}:s3:::${bucketName}/${logPrefix}/CloudTrail/${ctx.region}/${ctx.accountId}_CloudTrail_${ctx.region}_policy-check.json.gz`,
      context: { ...context, 's3:x-amz-acl': 'bucket-owner-full-control' },
    })),
  ];
  for (const check of checks) {
    const allowed = await resourcePolicyAllows({
      principal: 'cloudtrail.amazonaws.com',
      ...check,
      resourceAccountId: bucket.ownerAccountId,
      resourcePolicy: policy,
    });
    if (!allowed) throw insufficient;
  }
}

// ---------------------------------------------------------------- finding trails

interface VisibleTrail {
  trail: Trail;
  name: string;
  /** The account that owns the trail (the management account for an organization trail). */
  accountId: string;
  /** A copy of a trail homed elsewhere: another Region's multi-Region trail, or the organization trail seen from a member. */
  shadow: boolean;
}

/** Every trail the account sees in a Region, home trails first, as DescribeTrails lists them. */
function trailsInRegion(world: World, accountId: string, region: string): VisibleTrail[] {
  const out: VisibleTrail[] = [];
  const add = (owner: string, shadowOwner: boolean) => {
    for (const [home, state] of world.accounts.get(owner)?.regions ?? []) {
      for (const trail of state.trails.values()) {
        if (shadowOwner && !trail.isOrganizationTrail) continue;
        if (home !== region && !trail.isMultiRegionTrail) continue;
        out.push({ trail, name: trail.name, accountId: owner, shadow: shadowOwner || home !== region });
      }
    }
  };
  add(accountId, false);
  const org = world.organization;
  // An organization trail appears, with its management-account ARN, in every active member account.
  if (accountId !== org.managementAccountId && org.accounts.get(accountId)?.state === 'ACTIVE') {
    add(org.managementAccountId, true);
  }
  return out.sort((a, b) => Number(a.shadow) - Number(b.shadow));
}

/** A trail the caller may read: by name among its home trails here, by ARN among all it sees. */
function visibleTrail(ctx: RequestContext, reference: string): Trail {
  const visible = trailsInRegion(ctx.world, ctx.accountId, ctx.region);
  if (reference.startsWith('arn:')) {
    const { arn } = parseTrailArn(reference);
    const match = visible.find((v) => v.trail.arn === arn);
    if (!match) throw trailNotFound(ctx, arn);
    return match.trail;
  }
  validateTrailName(reference);
  const match = visible.find((v) => !v.shadow && v.name === reference);
  if (!match) throw trailNotFound(ctx, trailArn(ctx, ctx.region, ctx.accountId, reference));
  return match.trail;
}

/**
 * A trail the caller may change: its own, and only from the trail's home Region. A shadow copy
 * answers InvalidHomeRegionException; an organization trail is not the member's to change.
 */
function ownTrailInHomeRegion(ctx: RequestContext, reference: string): Trail {
  let owner = ctx.accountId;
  let name = reference;
  if (reference.startsWith('arn:')) {
    const parsed = parseTrailArn(reference);
    owner = parsed.accountId;
    name = parsed.name;
  } else {
    validateTrailName(reference);
  }
  const match =
    owner === ctx.accountId
      ? trailsInRegion(ctx.world, ctx.accountId, ctx.region).find(
          (v) => v.accountId === ctx.accountId && v.name === name,
        )
      : undefined;
  if (!match) throw trailNotFound(ctx, trailArn(ctx, ctx.region, owner, name));
  if (match.trail.homeRegion !== ctx.region) {
    throw new AwsError(
      'InvalidHomeRegionException',
      `The request was sent to ${ctx.region}, which is not the trail's home region, ${match.trail.homeRegion}.`,
    );
  }
  return match.trail;
}

function ownTrailByArn(ctx: RequestContext, reference: string): Trail {
  const { arn, region, accountId, name } = parseTrailArn(reference);
  const trail = ctx.world.accounts.get(accountId)?.regions.get(region)?.trails.get(name);
  if (!trail || trail.arn !== arn || accountId !== ctx.accountId) {
    throw new AwsError('ResourceNotFoundException', `Resource not found: ${arn}`);
  }
  return trail;
}

function trailNotFound(ctx: RequestContext, arn: string): AwsError {
  return new AwsError('TrailNotFoundException', `Unknown trail: ${arn} for the user: ${ctx.accountId}`);
}

function parseTrailArn(reference: string): { arn: string; region: string; accountId: string; name: string } {
  const match = TRAIL_ARN.exec(reference);
  if (!match) {
    throw new AwsError('CloudTrailARNInvalidException', `Invalid trail ARN: ${reference}`);
  }
  const [arn, region, accountId, name] = match as unknown as [string, string, string, string];
  return { arn, region, accountId, name };
}

function trailArn(ctx: RequestContext, region: string, accountId: string, name: string): string {
  return worldArn(ctx.world, 'cloudtrail', region, accountId, `trail/${name}`);
}

/**
 * CloudTrail's naming rules: 3–128 of letters, digits, `.`, `_`, `-`; alphanumeric at both ends;
 * no two separators in a row; not shaped like an IP address.
 */
export function validateTrailName(name: string): void {
  const invalid = (why: string) => new AwsError('InvalidTrailNameException', `Trail name ${why}: ${name}`);
  if (name.length < 3 || name.length > 128) throw invalid('must be between 3 and 128 characters');
  if (!/^[A-Za-z0-9._-]+$/.test(name)) {
    throw invalid('can only contain letters, numbers, periods (.), underscores (_) and dashes (-)');
  }
  if (!/^[A-Za-z0-9]/.test(name) || !/[A-Za-z0-9]$/.test(name)) {
    throw invalid('must start and end with a letter or number');
  }
  if (/[._-]{2}/.test(name)) throw invalid('cannot contain adjacent periods, underscores or dashes');
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(name)) throw invalid('cannot be formatted as an IP address');
}

// ---------------------------------------------------------------- shapes and inputs

function trailResponse(trail: Trail) {
  return {
    Name: trail.name,
    S3BucketName: trail.s3BucketName,
    S3KeyPrefix: trail.s3KeyPrefix,
    SnsTopicName: trail.snsTopicName,
    SnsTopicARN: snsTopicArn(trail),
    IncludeGlobalServiceEvents: trail.includeGlobalServiceEvents,
    IsMultiRegionTrail: trail.isMultiRegionTrail,
    TrailARN: trail.arn,
    LogFileValidationEnabled: trail.logFileValidationEnabled,
    KmsKeyId: trail.kmsKeyId,
    IsOrganizationTrail: trail.isOrganizationTrail,
  };
}

function trailShape(trail: Trail) {
  return {
    ...trailResponse(trail),
    HomeRegion: trail.homeRegion,
    HasCustomEventSelectors: trail.customEventSelectors === true,
    HasInsightSelectors: false,
  };
}

function snsTopicArn(trail: Trail): string | undefined {
  if (!trail.snsTopicName) return undefined;
  if (trail.snsTopicName.startsWith('arn:')) return trail.snsTopicName;
  const [, partition, , , accountId] = trail.arn.split(':');
  return `arn:${partition}:sns:${trail.homeRegion}:${accountId}:${trail.snsTopicName}`;
}

/**
 * An organization trail is made from the management account, and only once CloudTrail has
 * trusted access to the organization (EnableAWSServiceAccess for cloudtrail.amazonaws.com, which
 * the CloudTrail console does by itself and the API leaves to the caller).
 */
function requireOrganizationTrailAccess(ctx: RequestContext): void {
  if (ctx.accountId !== ctx.world.organization.managementAccountId) {
    throw new AwsError(
      'NotOrganizationMasterAccountException',
      `The request was sent by ${ctx.accountId}, which is not the management account of the organization.`,
    );
  }
  if (!ctx.world.organization.trustedServices.has('cloudtrail.amazonaws.com')) {
    throw new AwsError(
      'CloudTrailAccessNotEnabledException',
      'This operation is not permitted because trusted access for CloudTrail is not enabled in AWS Organizations.',
    );
  }
}

function multiRegionWithoutGlobalEvents(): AwsError {
  return new AwsError(
    'InvalidParameterCombinationException',
    'Multi-Region trail must include global service events.',
  );
}

function requireMember(input: Record<string, unknown>, name: string): string {
  const value = input[name];
  if (typeof value !== 'string' || value === '') {
    throw new AwsError('InvalidParameterException', `${name} must not be empty.`);
  }
  return value;
}

function optionalString(input: Record<string, unknown>, name: string): string | undefined {
  const value = input[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function optionalBoolean(input: Record<string, unknown>, name: string): boolean | undefined {
  const value = input[name];
  return typeof value === 'boolean' ? value : undefined;
}

function optionalPrefix(input: Record<string, unknown>): string | undefined {
  const prefix = optionalString(input, 'S3KeyPrefix');
  if (prefix !== undefined && prefix.length > 200) {
    throw new AwsError('InvalidS3PrefixException', 'S3 key prefix must be at most 200 characters.');
  }
  return prefix;
}

function setOptional(trail: Trail, key: 'snsTopicName' | 'kmsKeyId', value: string | undefined): void {
  if (value === undefined) delete trail[key];
  else trail[key] = value;
}
