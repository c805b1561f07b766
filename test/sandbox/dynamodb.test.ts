import { DescribeTableCommand, DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  BatchWriteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  paginateScan,
  TransactGetCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { defaultAccountId } from '../../sandbox/scenario/default-scenario';
import { assumeRole, functionRoleCredentials, memberRoleCredentials, useSandbox } from '../support/sandbox';

describe('DynamoDB', () => {
  const sandbox = useSandbox({ accounts: 3 });
  const documents = () => DynamoDBDocumentClient.from(new DynamoDBClient(sandbox().clientConfig()));
  const table = () => sandbox().stack.ledgerTable;

  it('puts, gets and updates a ledger item', async () => {
    await documents().send(
      new PutCommand({ TableName: table(), Item: { accountId: '200000000001', status: 'PENDING', runs: 1 } }),
    );
    const updated = await documents().send(
      new UpdateCommand({
        TableName: table(),
        Key: { accountId: '200000000001' },
        UpdateExpression: 'SET #s = :s, runs = runs + :one',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':s': 'CONNECTED', ':one': 1 },
        ReturnValues: 'ALL_NEW',
      }),
    );
    expect(updated.Attributes).toEqual({ accountId: '200000000001', status: 'CONNECTED', runs: 2 });
    const got = await documents().send(
      new GetCommand({ TableName: table(), Key: { accountId: '200000000001' } }),
    );
    expect(got.Item).toEqual({ accountId: '200000000001', status: 'CONNECTED', runs: 2 });
  });

  it('fails a conditional write whose condition does not hold, returning the item when asked', async () => {
    const key = { accountId: '200000000002' };
    await documents().send(new PutCommand({ TableName: table(), Item: { ...key, runId: 'run-1' } }));
    const error = await documents()
      .send(
        new PutCommand({
          TableName: table(),
          Item: { ...key, runId: 'run-2' },
          ConditionExpression: 'attribute_not_exists(accountId)',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      )
      .catch((e: Error) => e);
    expect(error).toMatchObject({
      name: 'ConditionalCheckFailedException',
      $metadata: { httpStatusCode: 400 },
      Item: { accountId: { S: '200000000002' }, runId: { S: 'run-1' } },
    });
    const got = await documents().send(new GetCommand({ TableName: table(), Key: key }));
    expect(got.Item?.runId).toBe('run-1');
  });

  it('scans the table page by page', async () => {
    await documents().send(
      new BatchWriteCommand({
        RequestItems: {
          [table()]: Array.from({ length: 7 }, (_, i) => ({
            PutRequest: { Item: { accountId: `scan-${i}`, kind: 'scan' } },
          })),
        },
      }),
    );
    let pages = 0;
    const ids: string[] = [];
    for await (const page of paginateScan(
      { client: documents() },
      {
        TableName: table(),
        Limit: 3,
        FilterExpression: 'kind = :k',
        ExpressionAttributeValues: { ':k': 'scan' },
      },
    )) {
      pages++;
      ids.push(...(page.Items ?? []).map((item) => String(item.accountId)));
    }
    expect(pages).toBeGreaterThan(2);
    expect(ids.sort()).toEqual(Array.from({ length: 7 }, (_, i) => `scan-${i}`));

    const batch = await documents().send(
      new BatchGetCommand({
        RequestItems: { [table()]: { Keys: [{ accountId: 'scan-0' }, { accountId: 'scan-6' }] } },
      }),
    );
    expect(batch.Responses?.[table()]).toHaveLength(2);
  });

  it('applies every write of a transaction, or none when one condition fails', async () => {
    await documents().send(
      new TransactWriteCommand({
        TransactItems: [
          { Put: { TableName: table(), Item: { accountId: 'tx-1', state: 'A' } } },
          { Put: { TableName: table(), Item: { accountId: 'tx-2', state: 'A' } } },
        ],
      }),
    );
    const error = await documents()
      .send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: table(),
                Key: { accountId: 'tx-1' },
                UpdateExpression: 'SET #st = :b',
                ConditionExpression: '#st = :a',
                ExpressionAttributeNames: { '#st': 'state' },
                ExpressionAttributeValues: { ':a': 'A', ':b': 'B' },
              },
            },
            {
              ConditionCheck: {
                TableName: table(),
                Key: { accountId: 'tx-2' },
                ConditionExpression: '#st = :z',
                ExpressionAttributeNames: { '#st': 'state' },
                ExpressionAttributeValues: { ':z': 'Z' },
              },
            },
          ],
        }),
      )
      .catch((e: Error) => e);
    expect(error).toMatchObject({
      name: 'TransactionCanceledException',
      CancellationReasons: [{ Code: 'None' }, { Code: 'ConditionalCheckFailed' }],
    });

    await documents().send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Update: {
              TableName: table(),
              Key: { accountId: 'tx-1' },
              UpdateExpression: 'SET #st = :b',
              ConditionExpression: '#st = :a',
              ExpressionAttributeNames: { '#st': 'state' },
              ExpressionAttributeValues: { ':a': 'A', ':b': 'B' },
            },
          },
          { Delete: { TableName: table(), Key: { accountId: 'tx-2' } } },
        ],
      }),
    );
    const read = await documents().send(
      new TransactGetCommand({
        TransactItems: [
          { Get: { TableName: table(), Key: { accountId: 'tx-1' } } },
          { Get: { TableName: table(), Key: { accountId: 'tx-2' } } },
        ],
      }),
    );
    expect(read.Responses).toEqual([{ Item: { accountId: 'tx-1', state: 'B' } }, {}]);
  });

  it('refuses a transaction that touches one item twice', async () => {
    await expect(
      documents().send(
        new TransactWriteCommand({
          TransactItems: [
            { Put: { TableName: table(), Item: { accountId: 'twice' } } },
            { Delete: { TableName: table(), Key: { accountId: 'twice' } } },
          ],
        }),
      ),
    ).rejects.toMatchObject({ name: 'ValidationException' });
  });

  it('undoes the writes already made when a later write of a transaction fails', async () => {
    await expect(
      documents().send(
        new TransactWriteCommand({
          TransactItems: [
            { Put: { TableName: table(), Item: { accountId: 'rollback-1' } } },
            {
              Update: {
                TableName: table(),
                Key: { accountId: 'rollback-2' },
                UpdateExpression: 'SET runs = runs + :one',
                ExpressionAttributeValues: { ':one': 1 },
              },
            },
          ],
        }),
      ),
    ).rejects.toMatchObject({ name: 'ValidationException' });
    const got = await documents().send(
      new GetCommand({ TableName: table(), Key: { accountId: 'rollback-1' } }),
    );
    expect(got.Item).toBeUndefined();
  });

  it('shows another account none of the management account tables, as dynalite holds only those', async () => {
    const admin = await assumeRole(
      sandbox(),
      `arn:aws:iam::${defaultAccountId(1)}:role/OrganizationAccountAccessRole`,
    );
    const client = new DynamoDBClient(sandbox().clientConfig(admin));
    expect((await client.send(new ListTablesCommand({}))).TableNames).toEqual([]);
    await expect(client.send(new DescribeTableCommand({ TableName: table() }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
  });

  it('describes and lists tables under the caller account ARN', async () => {
    const client = new DynamoDBClient(sandbox().clientConfig());
    const { TableNames } = await client.send(new ListTablesCommand({}));
    expect(TableNames).toContain(table());
    const { Table } = await client.send(new DescribeTableCommand({ TableName: table() }));
    expect(Table?.TableArn).toBe(
      `arn:aws:dynamodb:${sandbox().region}:${sandbox().stack.accountId}:table/${table()}`,
    );
    await expect(client.send(new DescribeTableCommand({ TableName: 'no-such-table' }))).rejects.toMatchObject(
      {
        name: 'ResourceNotFoundException',
      },
    );
  });

  it("evaluates a condition on the item's partition key (dynamodb:LeadingKeys), as IAM does", async () => {
    // ResolveTargets' role may PutItem only the items of lifecycle events (`event#*`).
    const creds = await functionRoleCredentials(sandbox(), 'resolveTargets');
    const resolve = DynamoDBDocumentClient.from(new DynamoDBClient(sandbox().clientConfig(creds)));
    await resolve.send(
      new PutCommand({ TableName: table(), Item: { accountId: 'event#leading-1', runId: 'r' } }),
    );
    await expect(
      resolve.send(new PutCommand({ TableName: table(), Item: { accountId: '200000000003', runId: 'r' } })),
    ).rejects.toMatchObject({
      name: 'AccessDeniedException',
      message: expect.stringContaining('dynamodb:PutItem'),
    });
    expect(
      (await documents().send(new GetCommand({ TableName: table(), Key: { accountId: '200000000003' } })))
        .Item,
    ).toBeUndefined();
  });

  it('denies the member role, which grants no DynamoDB actions', async () => {
    const creds = await memberRoleCredentials(sandbox(), defaultAccountId(1));
    const member = DynamoDBDocumentClient.from(new DynamoDBClient(sandbox().clientConfig(creds)));
    await expect(
      member.send(new GetCommand({ TableName: table(), Key: { accountId: '200000000001' } })),
    ).rejects.toMatchObject({ name: 'AccessDeniedException', $metadata: { httpStatusCode: 400 } });
    await expect(member.send(new ListTablesCommand({}))).rejects.toMatchObject({
      name: 'AccessDeniedException',
    });
  });
});
