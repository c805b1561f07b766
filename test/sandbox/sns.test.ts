import {
  CreateTopicCommand,
  DeleteTopicCommand,
  GetTopicAttributesCommand,
  ListTagsForResourceCommand,
  ListTopicsCommand,
  PublishCommand,
  paginateListTopics,
  SNSClient,
  TagResourceCommand,
} from '@aws-sdk/client-sns';
import { defaultAccountId } from '../../sandbox/scenario/default-scenario';
import { memberRoleCredentials, useSandbox } from '../support/sandbox';

describe('SNS', () => {
  const sandbox = useSandbox({ accounts: 3 });
  const client = () => new SNSClient(sandbox().clientConfig());

  it('publishes to the hand-off topic and keeps the message with its subject and attributes', async () => {
    const { topicArn } = sandbox().stack;
    const out = await client().send(
      new PublishCommand({
        TopicArn: topicArn,
        Subject: 'Account ready',
        Message: '{"accountId":"200000000001"}',
        MessageAttributes: {
          kind: { DataType: 'String', StringValue: 'account-ready' },
          attempt: { DataType: 'Number', StringValue: '2' },
        },
      }),
    );
    expect(out.MessageId).toMatch(/^[0-9a-f-]{36}$/);

    const topic = [...sandbox().world.accounts.get(sandbox().stack.accountId)!.regions.values()]
      .map((r) => r.topics.get(topicArn))
      .find(Boolean)!;
    expect(topic.messages.at(-1)).toMatchObject({
      messageId: out.MessageId,
      subject: 'Account ready',
      message: '{"accountId":"200000000001"}',
      messageAttributes: {
        kind: { DataType: 'String', StringValue: 'account-ready' },
        attempt: { DataType: 'Number', StringValue: '2' },
      },
      publisherArn: sandbox().admin.arn,
    });
  });

  it('answers a publish to a missing topic with NotFound (404)', async () => {
    const missing = `arn:aws:sns:${sandbox().region}:${sandbox().stack.accountId}:no-such-topic`;
    await expect(
      client().send(new PublishCommand({ TopicArn: missing, Message: 'x' })),
    ).rejects.toMatchObject({
      name: 'NotFoundException',
      $metadata: { httpStatusCode: 404 },
    });
  });

  it('refuses an empty message as InvalidParameter', async () => {
    await expect(
      client().send(new PublishCommand({ TopicArn: sandbox().stack.topicArn, Message: '' })),
    ).rejects.toMatchObject({ name: 'InvalidParameterException', $metadata: { httpStatusCode: 400 } });
  });

  it('creates a topic once per name and returns the same ARN when asked again', async () => {
    const first = await client().send(
      new CreateTopicCommand({
        Name: 'casbridge-test',
        Attributes: { DisplayName: 'casbridge' },
        Tags: [{ Key: 'team', Value: 'platform' }],
      }),
    );
    expect(first.TopicArn).toBe(
      `arn:aws:sns:${sandbox().region}:${sandbox().stack.accountId}:casbridge-test`,
    );
    const again = await client().send(
      new CreateTopicCommand({ Name: 'casbridge-test', Attributes: { DisplayName: 'casbridge' } }),
    );
    expect(again.TopicArn).toBe(first.TopicArn);
    await expect(
      client().send(new CreateTopicCommand({ Name: 'casbridge-test', Attributes: { DisplayName: 'other' } })),
    ).rejects.toMatchObject({ name: 'InvalidParameterException' });
  });

  it('reports topic attributes as a map, including the ones set at creation', async () => {
    const { TopicArn } = await client().send(
      new CreateTopicCommand({
        Name: 'casbridge-attributes',
        Attributes: { DisplayName: 'Hand-off & <ready>' },
      }),
    );
    const { Attributes } = await client().send(new GetTopicAttributesCommand({ TopicArn }));
    expect(Attributes).toMatchObject({
      TopicArn,
      Owner: sandbox().stack.accountId,
      DisplayName: 'Hand-off & <ready>',
      SubscriptionsConfirmed: '0',
    });
    expect(JSON.parse(Attributes!.Policy!)).toMatchObject({ Statement: [{ Resource: TopicArn }] });
    const seeded = await client().send(new GetTopicAttributesCommand({ TopicArn: sandbox().stack.topicArn }));
    expect(seeded.Attributes?.KmsMasterKeyId).toBe('alias/aws/sns');
  });

  it('lists topics page by page', async () => {
    for (let i = 0; i < 105; i++)
      await client().send(new CreateTopicCommand({ Name: `casbridge-page-${i}` }));
    const first = await client().send(new ListTopicsCommand({}));
    expect(first.Topics).toHaveLength(100);
    expect(first.NextToken).toBeDefined();
    const arns: string[] = [];
    for await (const page of paginateListTopics({ client: client() }, {})) {
      arns.push(...(page.Topics ?? []).map((t) => t.TopicArn!));
    }
    expect(new Set(arns).size).toBe(arns.length);
    expect(arns).toContain(sandbox().stack.topicArn);
    expect(arns.filter((arn) => arn.includes(':casbridge-page-'))).toHaveLength(105);
  });

  it('deletes a topic, and deleting it again still succeeds', async () => {
    const { TopicArn } = await client().send(new CreateTopicCommand({ Name: 'casbridge-doomed' }));
    await client().send(new DeleteTopicCommand({ TopicArn }));
    await expect(client().send(new GetTopicAttributesCommand({ TopicArn }))).rejects.toMatchObject({
      name: 'NotFoundException',
    });
    await expect(client().send(new DeleteTopicCommand({ TopicArn }))).resolves.toBeDefined();
  });

  it('tags a topic and lists its tags', async () => {
    const { topicArn } = sandbox().stack;
    await client().send(
      new TagResourceCommand({ ResourceArn: topicArn, Tags: [{ Key: 'env', Value: 'test' }] }),
    );
    const { Tags } = await client().send(new ListTagsForResourceCommand({ ResourceArn: topicArn }));
    expect(Tags).toEqual([
      { Key: 'managed-by', Value: 'casbridge' },
      { Key: 'env', Value: 'test' },
    ]);
  });

  it('denies the member role with AuthorizationError (403)', async () => {
    const creds = await memberRoleCredentials(sandbox(), defaultAccountId(1));
    const member = new SNSClient(sandbox().clientConfig(creds));
    await expect(member.send(new CreateTopicCommand({ Name: 'member-topic' }))).rejects.toMatchObject({
      name: 'AuthorizationErrorException',
      $metadata: { httpStatusCode: 403 },
    });
    await expect(member.send(new ListTopicsCommand({}))).rejects.toMatchObject({
      name: 'AuthorizationErrorException',
    });
  });
});
