import { PARTITION_PATTERN, worldArn } from '../core/arn';
import { AwsError } from '../core/aws-error';
import { paginate } from '../core/pagination';
import { QUERY_ERRORS, type RequestContext, type RpcService, requireString } from '../core/service';
import { mergeTags, readTags, removeTagKeys } from '../core/tags';
import { regionalState, type Tag, type Topic } from '../core/world';
import { queryMap } from '../protocols/query';

const TOPIC_NAME = /^[A-Za-z0-9_-]{1,256}$/;
const FIFO_TOPIC_NAME = /^[A-Za-z0-9_-]{1,251}\.fifo$/;
const TOPIC_ARN = new RegExp(`^arn:${PARTITION_PATTERN}:sns:([a-z0-9-]+):(\\d{12}):([A-Za-z0-9_.-]+)$`);
const LIST_TOPICS_PAGE = 100;
const MAX_TAGS = 50;
const MAX_SUBJECT_LENGTH = 100;
/** Message body and attributes together; larger payloads go through S3 with the extended client. */
const MAX_MESSAGE_BYTES = 262_144;

type Input = Record<string, unknown>;

export const snsService: RpcService = {
  kind: 'rpc',
  signingName: 'sns',
  protocol: 'query',
  xmlNamespace: 'http://sns.amazonaws.com/doc/2010-03-31/',
  // SNS refuses a call with AuthorizationError (403), not the AccessDenied of IAM and STS.
  errors: { ...QUERY_ERRORS, accessDenied: { code: 'AuthorizationError', status: 403 } },
  operations: {
    CreateTopic: createTopic,
    ListTopics: listTopics,
    GetTopicAttributes: getTopicAttributes,
    SetTopicAttributes: setTopicAttributes,
    DeleteTopic: deleteTopic,
    Publish: publish,
    TagResource: tagResource,
    UntagResource: untagResource,
    ListTagsForResource: listTagsForResource,
  },
};

async function createTopic(ctx: RequestContext, input: Input) {
  const name = requireString(input, 'Name', 'InvalidParameter');
  const attributes = readAttributeMap(input.Attributes);
  const fifo = attributes.FifoTopic === 'true';
  if (!(fifo ? FIFO_TOPIC_NAME : TOPIC_NAME).test(name)) {
    throw invalidParameter(
      fifo
        ? 'Fifo Topic names must end with .fifo and must be made up of only uppercase and lowercase ASCII letters, numbers, underscores, and hyphens, and must be between 1 and 256 characters long.'
        : 'Topic Name',
    );
  }
  const tags = readTags(input.Tags);
  const arn = worldArn(ctx.world, 'sns', ctx.region, ctx.accountId, name);
  await ctx.authorize('sns:CreateTopic', arn);
  const topics = topicsOf(ctx);
  const existing = topics.get(arn);
  if (existing) {
    // CreateTopic is idempotent by name only while it asks for what the topic already is.
    if (Object.entries(attributes).some(([key, value]) => existing.attributes[key] !== value)) {
      throw invalidParameter('Attributes Reason: Topic already exists with different attributes');
    }
    if (tags.length > 0 && !sameTags(existing.tags, tags)) {
      throw invalidParameter('Tags Reason: Topic already exists with different tags');
    }
    return { TopicArn: arn };
  }
  if (tags.length > MAX_TAGS)
    throw new AwsError('TagLimitExceeded', 'Could not complete request: tag quota of per resource exceeded');
  topics.set(arn, { arn, name, attributes, tags, messages: [] });
  return { TopicArn: arn };
}

async function listTopics(ctx: RequestContext, input: Input) {
  await ctx.authorize('sns:ListTopics', '*');
  const arns = [...topicsOf(ctx).keys()].sort();
  const { page, nextToken } = paginate(arns, LIST_TOPICS_PAGE, input.NextToken, () =>
    invalidParameter('NextToken'),
  );
  return { Topics: page.map((TopicArn) => ({ TopicArn })), NextToken: nextToken };
}

async function getTopicAttributes(ctx: RequestContext, input: Input) {
  const topic = await resolveTopic(ctx, 'sns:GetTopicAttributes', input);
  return {
    Attributes: queryMap({
      TopicArn: topic.arn,
      Owner: ctx.accountId,
      Policy: JSON.stringify(defaultTopicPolicy(topic.arn, ctx.accountId)),
      DisplayName: '',
      SubscriptionsPending: '0',
      SubscriptionsConfirmed: '0',
      SubscriptionsDeleted: '0',
      EffectiveDeliveryPolicy: JSON.stringify(DEFAULT_DELIVERY_POLICY),
      ...topic.attributes,
    }),
  };
}

async function setTopicAttributes(ctx: RequestContext, input: Input) {
  const topic = await resolveTopic(ctx, 'sns:SetTopicAttributes', input);
  const name = requireString(input, 'AttributeName', 'InvalidParameter');
  const value = typeof input.AttributeValue === 'string' ? input.AttributeValue : '';
  topic.attributes[name] = value;
  return undefined;
}

async function deleteTopic(ctx: RequestContext, input: Input) {
  const arn = readTopicArn(input, 'TopicArn');
  await ctx.authorize('sns:DeleteTopic', arn, { resourceAccountId: accountOfArn(arn) });
  // Deleting a topic that does not exist succeeds: SNS documents DeleteTopic as idempotent.
  topicsOf(ctx).delete(arn);
  return undefined;
}

async function publish(ctx: RequestContext, input: Input) {
  if (input.TopicArn === undefined && input.TargetArn === undefined) {
    throw invalidParameter(
      input.PhoneNumber === undefined
        ? 'TopicArn or TargetArn Reason: no value for required parameter'
        : 'PhoneNumber Reason: SMS is not supported by the sandbox',
    );
  }
  const topic = await resolveTopic(
    ctx,
    'sns:Publish',
    input,
    input.TopicArn === undefined ? 'TargetArn' : 'TopicArn',
  );
  const message = typeof input.Message === 'string' ? input.Message : '';
  if (message === '') throw invalidParameter('Empty message');
  const subject = typeof input.Subject === 'string' ? input.Subject : undefined;
  // Email endpoints put the subject in a header line, hence the limits.
  if (
    subject !== undefined &&
    (subject === '' || subject.length > MAX_SUBJECT_LENGTH || /[^\x20-\x7e]/.test(subject))
  ) {
    throw invalidParameter('Subject');
  }
  if (input.MessageStructure === 'json' && !hasDefaultEntry(message)) {
    throw invalidParameter('Message Structure - No default entry in JSON message body');
  }
  const messageAttributes = readMessageAttributes(input.MessageAttributes);
  const size = Buffer.byteLength(message) + Buffer.byteLength(JSON.stringify(messageAttributes));
  if (size > MAX_MESSAGE_BYTES) throw invalidParameter('Message too long');
  if (topic.name.endsWith('.fifo') && typeof input.MessageGroupId !== 'string') {
    throw invalidParameter('The MessageGroupId parameter is required for FIFO topics');
  }
  const messageId = ctx.world.rng.uuid();
  topic.messages.push({
    messageId,
    subject,
    message,
    messageAttributes,
    timestamp: ctx.world.clock.now(),
    publisherArn: ctx.principal.arn,
  });
  return { MessageId: messageId };
}

async function tagResource(ctx: RequestContext, input: Input) {
  const topic = await resolveTopic(ctx, 'sns:TagResource', input, 'ResourceArn');
  const tags = mergeTags(topic.tags, readTags(input.Tags));
  if (tags.length > MAX_TAGS) {
    throw new AwsError('TagLimitExceeded', 'Could not complete request: tag quota of per resource exceeded');
  }
  topic.tags = tags;
  return {};
}

async function untagResource(ctx: RequestContext, input: Input) {
  const topic = await resolveTopic(ctx, 'sns:UntagResource', input, 'ResourceArn');
  const keys = Array.isArray(input.TagKeys) ? input.TagKeys.map(String) : [];
  topic.tags = removeTagKeys(topic.tags, keys);
  return {};
}

async function listTagsForResource(ctx: RequestContext, input: Input) {
  const topic = await resolveTopic(ctx, 'sns:ListTagsForResource', input, 'ResourceArn');
  return { Tags: topic.tags };
}

// ---------------------------------------------------------------- helpers

function topicsOf(ctx: RequestContext): Map<string, Topic> {
  return regionalState(ctx.world, ctx.accountId, ctx.region).topics;
}

/**
 * Authorizes the action on the topic the ARN names, then finds it. The tagging APIs answer a
 * missing topic with ResourceNotFound, the others with NotFound; both are 404.
 */
async function resolveTopic(
  ctx: RequestContext,
  action: string,
  input: Input,
  member: 'TopicArn' | 'TargetArn' | 'ResourceArn' = 'TopicArn',
): Promise<Topic> {
  const arn = readTopicArn(input, member);
  await ctx.authorize(action, arn, { resourceAccountId: accountOfArn(arn) });
  const topic = topicsOf(ctx).get(arn);
  if (!topic) {
    throw member === 'ResourceArn'
      ? new AwsError('ResourceNotFound', 'Resource does not exist', 404)
      : new AwsError('NotFound', 'Topic does not exist', 404);
  }
  return topic;
}

function readTopicArn(input: Input, member: string): string {
  const arn = requireString(input, member, 'InvalidParameter');
  if (!TOPIC_ARN.test(arn))
    throw invalidParameter(
      `${member} Reason: An ARN must have at least 6 elements, not ${arn.split(':').length}`,
    );
  return arn;
}

/** The topic's owner: a topic elsewhere is reachable only through its topic policy, which the sandbox does not keep. */
function accountOfArn(arn: string): string {
  return arn.split(':')[4] ?? '';
}

/** A decoded `Attributes.entry.N.key/value` map. */
function readAttributeMap(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!Array.isArray(value)) return out;
  for (const entry of value as Record<string, unknown>[]) {
    if (typeof entry?.key === 'string') out[entry.key] = typeof entry.value === 'string' ? entry.value : '';
  }
  return out;
}

/** A decoded `MessageAttributes.entry.N.Name/Value.DataType/Value.StringValue` map. */
function readMessageAttributes(value: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (!Array.isArray(value)) return out;
  for (const entry of value as Record<string, unknown>[]) {
    const name = entry?.Name;
    const attribute = entry?.Value as Record<string, unknown> | undefined;
    if (typeof name !== 'string' || name === '')
      throw invalidParameter('MessageAttributes Reason: name is empty');
    const dataType = attribute?.DataType;
    if (typeof dataType !== 'string' || !/^(String|Number|Binary)(\..+)?$/.test(dataType)) {
      throw invalidParameter(
        `The message attribute '${name}' has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String.`,
      );
    }
    const hasValue = attribute?.StringValue !== undefined || attribute?.BinaryValue !== undefined;
    if (!hasValue)
      throw invalidParameter(
        `The message attribute '${name}' must contain non-empty message attribute value for message attribute type '${dataType}'.`,
      );
    out[name] = {
      DataType: dataType,
      ...(attribute?.StringValue === undefined ? {} : { StringValue: attribute.StringValue }),
      ...(attribute?.BinaryValue === undefined ? {} : { BinaryValue: attribute.BinaryValue }),
    };
  }
  return out;
}

function hasDefaultEntry(message: string): boolean {
  try {
    const parsed: unknown = JSON.parse(message);
    return (
      typeof parsed === 'object' &&
      parsed !== null &&
      typeof (parsed as Record<string, unknown>).default === 'string'
    );
  } catch {
    return false;
  }
}

function sameTags(a: readonly Tag[], b: readonly Tag[]): boolean {
  const key = (tags: readonly Tag[]) =>
    JSON.stringify([...tags].sort((x, y) => x.Key.localeCompare(y.Key)).map((t) => [t.Key, t.Value]));
  return key(a) === key(b);
}

function invalidParameter(detail: string): AwsError {
  return new AwsError('InvalidParameter', `Invalid parameter: ${detail}`);
}

/** The policy SNS gives every new topic: the owner account may do everything with it. */
function defaultTopicPolicy(topicArn: string, accountId: string) {
  return {
    Version: '2008-10-17',
    Id: '__default_policy_ID',
    Statement: [
      {
        Sid: '__default_statement_ID',
        Effect: 'Allow',
        Principal: { AWS: '*' },
        Action: [
          'SNS:GetTopicAttributes',
          'SNS:SetTopicAttributes',
          'SNS:AddPermission',
          'SNS:RemovePermission',
          'SNS:DeleteTopic',
          'SNS:Subscribe',
          'SNS:ListSubscriptionsByTopic',
          'SNS:Publish',
        ],
        Resource: topicArn,
        Condition: { StringEquals: { 'AWS:SourceOwner': accountId } },
      },
    ],
  };
}

const DEFAULT_DELIVERY_POLICY = {
  http: {
    defaultHealthyRetryPolicy: {
      minDelayTarget: 20,
      maxDelayTarget: 20,
      numRetries: 3,
      numMaxDelayRetries: 0,
      numNoDelayRetries: 0,
      numMinDelayRetries: 0,
      backoffFunction: 'linear',
    },
    disableSubscriptionOverrides: false,
    defaultRequestPolicy: { headerContentType: 'text/plain; charset=UTF-8' },
  },
};
