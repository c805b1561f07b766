import { EventEmitter } from 'node:events';
import type { Server } from 'node:http';
import { PARTITION_PATTERN, worldArn } from '../core/arn';
import { AwsError, isAwsError } from '../core/aws-error';
import {
  JSON_ERRORS,
  type OperationHandler,
  type RequestContext,
  type RpcService,
  requireString,
} from '../core/service';
import type { World } from '../core/world';

/**
 * DynamoDB is not emulated here: every call goes to dynalite, a real DynamoDB implementation,
 * after the sandbox has authenticated it and evaluated the caller's policies. dynalite has no
 * accounts and no Regions, so its tables are the management account's (where casbridge keeps its
 * ledger); other accounts see no tables at all rather than the management account's data.
 *
 * dynalite lacks the transaction APIs, so TransactWriteItems and TransactGetItems are built here
 * from its single-item operations, isolated from every other write so that they stay atomic.
 */
export const dynamodbService: RpcService = {
  kind: 'rpc',
  signingName: 'dynamodb',
  protocol: 'json1.0',
  errors: JSON_ERRORS,
  operations: {
    CreateTable: forwardTableOperation('CreateTable'),
    DescribeTable: forwardTableOperation('DescribeTable'),
    UpdateTable: forwardTableOperation('UpdateTable'),
    DeleteTable: forwardTableOperation('DeleteTable'),
    DescribeTimeToLive: forwardTableOperation('DescribeTimeToLive'),
    PutItem: forwardTableOperation('PutItem'),
    GetItem: forwardTableOperation('GetItem'),
    UpdateItem: forwardTableOperation('UpdateItem'),
    DeleteItem: forwardTableOperation('DeleteItem'),
    Query: forwardTableOperation('Query'),
    Scan: forwardTableOperation('Scan'),
    ListTables: listTables,
    BatchWriteItem: forwardBatchOperation('BatchWriteItem'),
    BatchGetItem: forwardBatchOperation('BatchGetItem'),
    TagResource: forwardResourceOperation('TagResource'),
    UntagResource: forwardResourceOperation('UntagResource'),
    ListTagsOfResource: forwardResourceOperation('ListTagsOfResource'),
    TransactWriteItems: transactWriteItems,
    TransactGetItems: transactGetItems,
  },
};

type Input = Record<string, unknown>;
type Item = Record<string, unknown>;

const TARGET_PREFIX = 'DynamoDB_20120810';
const SINGLE_ITEM_WRITES = new Set(['PutItem', 'UpdateItem', 'DeleteItem']);
const WRITES = new Set([...SINGLE_ITEM_WRITES, 'BatchWriteItem']);
const TABLE_ARN = new RegExp(
  `^arn:${PARTITION_PATTERN}:dynamodb:[a-z0-9-]+:\\d{12}:table\\/([A-Za-z0-9_.-]{3,255})$`,
);
const MAX_TRANSACT_ITEMS = 100;

function forwardTableOperation(operation: string): OperationHandler {
  return async (ctx, input) => {
    const tableName = tableNameOf(requireString(input, 'TableName', 'ValidationException'));
    const arn = tableArn(ctx, tableName);
    // Reading through an index is authorized on the index, as IAM does.
    const indexName = typeof input.IndexName === 'string' ? input.IndexName : undefined;
    const leadingKeys = await leadingKeysOf(ctx, operation, tableName, input);
    await ctx.authorize(
      `dynamodb:${operation}`,
      indexName ? `${arn}/index/${indexName}` : arn,
      leadingKeys ? { context: { 'dynamodb:LeadingKeys': leadingKeys } } : {},
    );
    return forward(ctx, operation, { ...input, TableName: tableName });
  };
}

/** The single-item operations, and where each names its item's key. */
const ITEM_KEY_MEMBER: Readonly<Record<string, 'Key' | 'Item'>> = {
  GetItem: 'Key',
  PutItem: 'Item',
  UpdateItem: 'Key',
  DeleteItem: 'Key',
};

/**
 * The request's `dynamodb:LeadingKeys` (the partition key value of the item a single-item call
 * names), which IAM evaluates a fine-grained access condition on: a role limited to some items
 * (`ForAllValues:StringLike` on it) is refused the others, as on AWS. Left out of the batch,
 * transaction and Query calls, which casbridge does not make: a policy conditioned on it then
 * allows them (ForAllValues over an absent key is true), more than AWS would.
 */
async function leadingKeysOf(
  ctx: RequestContext,
  operation: string,
  tableName: string,
  input: Input,
): Promise<string[] | undefined> {
  const member = ITEM_KEY_MEMBER[operation];
  if (!member || !inManagementAccount(ctx)) return undefined;
  const hashKey = await hashKeyOf(ctx, tableName);
  const value = hashKey ? asRecord(asRecord(input[member])[hashKey]) : {};
  const scalar = value.S ?? value.N ?? value.B;
  return typeof scalar === 'string' ? [scalar] : undefined;
}

const hashKeys = new WeakMap<World, Map<string, string | undefined>>();

/** The table's partition key attribute, read once from dynalite (an unknown table: none). */
async function hashKeyOf(ctx: RequestContext, tableName: string): Promise<string | undefined> {
  let known = hashKeys.get(ctx.world);
  if (!known) {
    known = new Map();
    hashKeys.set(ctx.world, known);
  }
  if (known.has(tableName)) return known.get(tableName);
  let hashKey: string | undefined;
  try {
    const described = await callDynalite(ctx, 'DescribeTable', { TableName: tableName });
    const schema = asRecord(described.Table).KeySchema;
    const hash = (Array.isArray(schema) ? schema : []).find((k) => asRecord(k).KeyType === 'HASH');
    hashKey = hash ? String(asRecord(hash).AttributeName) : undefined;
  } catch {
    // No such table: the call itself fails with DynamoDB's own error, once authorized.
    return undefined;
  }
  known.set(tableName, hashKey);
  return hashKey;
}

function forwardBatchOperation(operation: 'BatchWriteItem' | 'BatchGetItem'): OperationHandler {
  return async (ctx, input) => {
    const requestItems = asRecord(input.RequestItems);
    for (const tableName of Object.keys(requestItems)) {
      await ctx.authorize(`dynamodb:${operation}`, tableArn(ctx, tableName));
    }
    return forward(ctx, operation, input);
  };
}

function forwardResourceOperation(operation: string): OperationHandler {
  return async (ctx, input) => {
    const resourceArn = requireString(input, 'ResourceArn', 'ValidationException');
    if (!TABLE_ARN.test(resourceArn)) {
      throw new AwsError(
        'ValidationException',
        `Invalid TableArn: Invalid ResourceArn provided as input ${resourceArn}`,
      );
    }
    await ctx.authorize(`dynamodb:${operation}`, resourceArn);
    return forward(ctx, operation, input);
  };
}

async function listTables(ctx: RequestContext, input: Input) {
  await ctx.authorize('dynamodb:ListTables', '*');
  if (!inManagementAccount(ctx)) return { TableNames: [] };
  return forward(ctx, 'ListTables', input);
}

async function transactGetItems(ctx: RequestContext, input: Input) {
  const gets = readTransactItems(input.TransactItems).map((item) => {
    const get = asRecord(item.Get);
    const tableName = tableNameOf(requireString(get, 'TableName', 'ValidationException'));
    return { ...get, TableName: tableName };
  });
  for (const get of gets) await ctx.authorize('dynamodb:GetItem', tableArn(ctx, get.TableName));
  assertManagementAccount(ctx);
  // Holding the write lock makes the reads one snapshot, as a transaction promises.
  return locksOf(ctx.world).exclusive(async () => {
    const responses: Item[] = [];
    for (const get of gets) {
      const out = await callDynalite(ctx, 'GetItem', { ...get, ConsistentRead: true });
      responses.push(out.Item === undefined ? {} : { Item: out.Item });
    }
    return { Responses: responses };
  });
}

interface TransactWrite {
  kind: 'Put' | 'Update' | 'Delete' | 'ConditionCheck';
  request: Input & { TableName: string };
}

const TRANSACT_ACTIONS: Record<TransactWrite['kind'], string> = {
  Put: 'dynamodb:PutItem',
  Update: 'dynamodb:UpdateItem',
  Delete: 'dynamodb:DeleteItem',
  ConditionCheck: 'dynamodb:ConditionCheckItem',
};

async function transactWriteItems(ctx: RequestContext, input: Input) {
  const writes = readTransactItems(input.TransactItems).map(readTransactWrite);
  for (const write of writes) {
    await ctx.authorize(TRANSACT_ACTIONS[write.kind], tableArn(ctx, write.request.TableName));
  }
  assertManagementAccount(ctx);
  return locksOf(ctx.world).exclusive(async () => {
    const keys = await itemKeysOf(ctx, writes);
    const before: (Item | undefined)[] = [];
    for (const [i, write] of writes.entries()) {
      const out = await callDynalite(ctx, 'GetItem', {
        TableName: write.request.TableName,
        Key: keys[i],
        ConsistentRead: true,
      });
      before.push(out.Item as Item | undefined);
    }
    const reasons: Item[] = [];
    for (const [i, write] of writes.entries()) {
      reasons.push(await checkCondition(ctx, write, keys[i] as Item, before[i]));
    }
    if (reasons.some((reason) => reason.Code !== 'None')) {
      throw new AwsError(
        'TransactionCanceledException',
        `Transaction cancelled, please refer cancellation reasons for specific reasons [${reasons.map((r) => r.Code).join(', ')}]`,
        400,
        jsonFields({ CancellationReasons: reasons }),
      );
    }
    const applied: number[] = [];
    try {
      for (const [i, write] of writes.entries()) {
        await applyWrite(ctx, write, keys[i] as Item);
        applied.push(i);
      }
    } catch (error) {
      for (const i of applied.reverse()) {
        await restoreItem(ctx, (writes[i] as TransactWrite).request.TableName, keys[i] as Item, before[i]);
      }
      throw error;
    }
    return {};
  });
}

// ---------------------------------------------------------------- transactions

function readTransactItems(value: unknown): Input[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_TRANSACT_ITEMS) {
    throw new AwsError(
      'ValidationException',
      `1 validation error detected: Value at 'transactItems' failed to satisfy constraint: Member must have length less than or equal to ${MAX_TRANSACT_ITEMS} and greater than or equal to 1`,
    );
  }
  return value.map(asRecord);
}

function readTransactWrite(item: Input): TransactWrite {
  const kinds = (['Put', 'Update', 'Delete', 'ConditionCheck'] as const).filter((k) => item[k] !== undefined);
  const kind = kinds[0];
  if (kinds.length !== 1 || kind === undefined) {
    throw new AwsError(
      'ValidationException',
      'TransactItems can only contain one of Check, Put, Update or Delete',
    );
  }
  const request = asRecord(item[kind]);
  const tableName = tableNameOf(requireString(request, 'TableName', 'ValidationException'));
  if (kind === 'ConditionCheck' && typeof request.ConditionExpression !== 'string') {
    throw new AwsError(
      'ValidationException',
      'The ConditionExpression of a ConditionCheck must not be empty',
    );
  }
  return { kind, request: { ...request, TableName: tableName } };
}

/** Each write's primary key; DynamoDB refuses a transaction that touches one item twice. */
async function itemKeysOf(ctx: RequestContext, writes: readonly TransactWrite[]): Promise<Item[]> {
  const keyNames = new Map<string, string[]>();
  for (const { request } of writes) {
    if (keyNames.has(request.TableName)) continue;
    const described = await callDynalite(ctx, 'DescribeTable', { TableName: request.TableName });
    const schema = asRecord(described.Table).KeySchema;
    keyNames.set(
      request.TableName,
      (Array.isArray(schema) ? schema : []).map((k) => String(asRecord(k).AttributeName)),
    );
  }
  const seen = new Set<string>();
  return writes.map(({ kind, request }) => {
    const names = keyNames.get(request.TableName) ?? [];
    const source = asRecord(kind === 'Put' ? request.Item : request.Key);
    const key = Object.fromEntries(names.map((name) => [name, source[name]]));
    const identity = JSON.stringify([request.TableName, names.map((name) => source[name])]);
    if (seen.has(identity)) {
      throw new AwsError(
        'ValidationException',
        'Transaction request cannot include multiple operations on one item',
      );
    }
    seen.add(identity);
    return key;
  });
}

/**
 * Evaluates a write's condition without changing anything, using dynalite's own evaluator: a
 * conditional put of the item as it is, or, when there is no item, a conditional delete of nothing.
 */
async function checkCondition(
  ctx: RequestContext,
  write: TransactWrite,
  key: Item,
  before: Item | undefined,
): Promise<Item> {
  const condition = write.request.ConditionExpression;
  if (typeof condition !== 'string') return { Code: 'None' };
  const probe = {
    TableName: write.request.TableName,
    ...(before === undefined ? { Key: key } : { Item: before }),
    ...expressionMembers(write.request, condition),
  };
  try {
    await callDynalite(ctx, before === undefined ? 'DeleteItem' : 'PutItem', probe);
    return { Code: 'None' };
  } catch (error) {
    if (!isAwsError(error) || error.code !== 'ConditionalCheckFailedException') throw error;
    const returnOld = write.request.ReturnValuesOnConditionCheckFailure === 'ALL_OLD';
    return {
      Code: 'ConditionalCheckFailed',
      Message: 'The conditional request failed',
      ...(returnOld && before !== undefined ? { Item: before } : {}),
    };
  }
}

async function applyWrite(ctx: RequestContext, write: TransactWrite, key: Item): Promise<void> {
  const { request } = write;
  switch (write.kind) {
    case 'Put':
      await callDynalite(ctx, 'PutItem', { TableName: request.TableName, Item: request.Item });
      return;
    case 'Update': {
      const update = String(request.UpdateExpression ?? '');
      await callDynalite(ctx, 'UpdateItem', {
        TableName: request.TableName,
        Key: key,
        UpdateExpression: update,
        ...expressionMembers(request, update),
      });
      return;
    }
    case 'Delete':
      await callDynalite(ctx, 'DeleteItem', { TableName: request.TableName, Key: key });
      return;
    case 'ConditionCheck':
      return;
  }
}

async function restoreItem(ctx: RequestContext, tableName: string, key: Item, before: Item | undefined) {
  if (before === undefined) await callDynalite(ctx, 'DeleteItem', { TableName: tableName, Key: key });
  else await callDynalite(ctx, 'PutItem', { TableName: tableName, Item: before });
}

/**
 * The attribute names and values one expression uses: DynamoDB rejects a request that carries
 * names or values none of its expressions reference.
 */
function expressionMembers(request: Input, expression: string): Input {
  const subset = (member: unknown) => {
    const entries = Object.entries(asRecord(member)).filter(([token]) =>
      new RegExp(`${escapeRegExp(token)}(?![A-Za-z0-9_])`).test(expression),
    );
    return entries.length === 0 ? undefined : Object.fromEntries(entries);
  };
  return {
    ConditionExpression: expression === request.ConditionExpression ? expression : undefined,
    ExpressionAttributeNames: subset(request.ExpressionAttributeNames),
    ExpressionAttributeValues: subset(request.ExpressionAttributeValues),
  };
}

// ---------------------------------------------------------------- dynalite

async function forward(ctx: RequestContext, operation: string, input: Input): Promise<Item> {
  assertManagementAccount(ctx);
  if (!WRITES.has(operation)) return callDynalite(ctx, operation, input);
  const locks = locksOf(ctx.world);
  // UpdateItem and DeleteItem name their item; a PutItem's key needs the schema, and a batch
  // touches many items: those take the whole table, as transactions do.
  const run =
    (operation === 'UpdateItem' || operation === 'DeleteItem') &&
    input.Key !== null &&
    typeof input.Key === 'object'
      ? <T>(work: () => Promise<T>) => locks.item(itemLockKey(input.TableName, input.Key as Item), work)
      : <T>(work: () => Promise<T>) => locks.exclusive(work);
  return run(async () => {
    try {
      return await callDynalite(ctx, operation, input);
    } catch (error) {
      // dynalite predates ReturnValuesOnConditionCheckFailure; under the write lock the item read
      // now is the one the condition failed on.
      if (
        isAwsError(error) &&
        error.code === 'ConditionalCheckFailedException' &&
        SINGLE_ITEM_WRITES.has(operation) &&
        input.ReturnValuesOnConditionCheckFailure === 'ALL_OLD'
      ) {
        const key = operation === 'PutItem' ? await keyOfItem(ctx, input) : input.Key;
        const current = await callDynalite(ctx, 'GetItem', {
          TableName: input.TableName,
          Key: key,
          ConsistentRead: true,
        });
        if (current.Item !== undefined) {
          throw new AwsError(error.code, error.message, error.status, jsonFields({ Item: current.Item }));
        }
      }
      throw error;
    }
  });
}

async function keyOfItem(ctx: RequestContext, input: Input): Promise<Item> {
  const described = await callDynalite(ctx, 'DescribeTable', { TableName: input.TableName });
  const schema = asRecord(described.Table).KeySchema;
  const item = asRecord(input.Item);
  return Object.fromEntries(
    (Array.isArray(schema) ? schema : []).map((k) => {
      const name = String(asRecord(k).AttributeName);
      return [name, item[name]];
    }),
  );
}

/** Sends one operation to dynalite; its errors come back as the AwsError DynamoDB would raise. */
async function callDynalite(ctx: RequestContext, operation: string, input: Input): Promise<Item> {
  const server = dynalites.get(ctx.world);
  if (!server) throw new AwsError('InternalServerError', 'The sandbox has no DynamoDB backend.', 500);
  const response = await sendToDynalite(server, operation, JSON.stringify(input), ctx.region);
  let body: Item;
  try {
    body = response.body === '' ? {} : asRecord(JSON.parse(response.body));
  } catch {
    throw new AwsError(
      'ValidationException',
      `DynamoDB refused the request (HTTP ${response.status})`,
      response.status,
    );
  }
  if (response.status >= 300) throw dynaliteError(response.status, body);
  return withAccountArns(ctx, body) as Item;
}

/**
 * dynalite is an http.Server whose 'request' listener reads the request as a stream and answers
 * through `statusCode`, `setHeader` and `end`. Handing it an in-memory request and response skips
 * the loopback socket, HTTP on both sides and fetch: about 0.5 ms of CPU per call, ten times what
 * dynalite itself spends on a GetItem.
 */
function sendToDynalite(
  server: Server,
  operation: string,
  body: string,
  region: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const amzDate = new Date().toISOString().replace(/[-:]|\.\d{3}/g, '');
    const request = Object.assign(new EventEmitter(), {
      method: 'POST',
      url: '/',
      headers: {
        'content-type': 'application/x-amz-json-1.0',
        'x-amz-target': `${TARGET_PREFIX}.${operation}`,
        'x-amz-date': amzDate,
        // dynalite checks that a SigV4 header is present and well formed, never the signature.
        authorization: `AWS4-HMAC-SHA256 Credential=sandbox/${amzDate.slice(0, 8)}/${region}/dynamodb/aws4_request, SignedHeaders=host;x-amz-date, Signature=sandbox`,
      },
    });
    const response = {
      statusCode: 200,
      setHeader: () => undefined,
      end(text?: string) {
        resolve({ status: this.statusCode, body: text ?? '' });
      },
    };
    try {
      server.emit('request', request, response);
      request.emit('data', Buffer.from(body, 'utf8'));
      request.emit('end');
    } catch (error) {
      reject(error);
    }
  });
}

/** The dynalite server behind each world's DynamoDB front. */
const dynalites = new WeakMap<World, Server>();

/** Serves the world's DynamoDB calls from this dynalite server (in memory, whether or not it listens). */
export function useDynalite(world: World, server: Server): void {
  dynalites.set(world, server);
}

function dynaliteError(status: number, body: Item): AwsError {
  const { __type, message, Message, ...members } = body;
  const type = String(__type ?? 'InternalServerError');
  const code = type.slice(type.lastIndexOf('#') + 1);
  return new AwsError(code, String(message ?? Message ?? ''), status, jsonFields(members));
}

/** dynalite names its own account and Region in ARNs; callers must see theirs. */
function withAccountArns(ctx: RequestContext, value: unknown): unknown {
  if (Array.isArray(value)) return value.map((item) => withAccountArns(ctx, item));
  if (typeof value !== 'object' || value === null) return value;
  const out: Item = {};
  for (const [key, child] of Object.entries(value)) {
    out[key] =
      key.endsWith('Arn') && typeof child === 'string'
        ? child.replace(
            /^arn:[^:]*:dynamodb:[^:]*:[^:]*:/,
            worldArn(ctx.world, 'dynamodb', ctx.region, ctx.accountId, ''),
          )
        : withAccountArns(ctx, child);
  }
  return out;
}

/**
 * Write isolation: writes to one item run one after the other, writes to different items side
 * by side (as on DynamoDB), and a transaction or batch runs alone: it waits for every write in
 * flight and holds back every write that comes after it, so its checks still hold when its writes
 * land. One queue for all writes made the ledger the bottleneck of a 1,000-account run: every
 * ledger write of 100+ accounts in flight waited behind all the others.
 */
class WriteLocks {
  private exclusiveTail: Promise<void> = Promise.resolve();
  private readonly itemTails = new Map<string, Promise<void>>();
  private readonly inFlight = new Set<Promise<void>>();

  item<T>(key: string, work: () => Promise<T>): Promise<T> {
    const before = Promise.all([this.exclusiveTail, this.itemTails.get(key)]);
    const run = before.then(work);
    const settled = run.then(done, done);
    this.itemTails.set(key, settled);
    this.inFlight.add(settled);
    void settled.then(() => {
      this.inFlight.delete(settled);
      if (this.itemTails.get(key) === settled) this.itemTails.delete(key);
    });
    return run;
  }

  exclusive<T>(work: () => Promise<T>): Promise<T> {
    const before = Promise.all([this.exclusiveTail, ...this.inFlight]);
    const run = before.then(work);
    this.exclusiveTail = run.then(done, done);
    return run;
  }
}

function done(): void {}

const writeLocks = new WeakMap<World, WriteLocks>();

function locksOf(world: World): WriteLocks {
  let locks = writeLocks.get(world);
  if (!locks) {
    locks = new WriteLocks();
    writeLocks.set(world, locks);
  }
  return locks;
}

/** The item a write names: its table and key, attribute names in a fixed order. */
function itemLockKey(tableName: unknown, key: Item): string {
  const attributes = Object.keys(key).sort();
  return JSON.stringify([String(tableName), ...attributes.map((a) => [a, key[a]])]);
}

// ---------------------------------------------------------------- helpers

/** The ledger lives in the account casbridge's stack is deployed in (the management account by default). */
function inManagementAccount(ctx: RequestContext): boolean {
  return ctx.accountId === ctx.world.organization.casbridgeAccountId;
}

function assertManagementAccount(ctx: RequestContext): void {
  if (!inManagementAccount(ctx)) {
    throw new AwsError('ResourceNotFoundException', 'Requested resource not found');
  }
}

/** DynamoDB takes a table's name or its ARN; dynalite only the name. */
function tableNameOf(nameOrArn: string): string {
  return TABLE_ARN.exec(nameOrArn)?.[1] ?? nameOrArn;
}

function tableArn(ctx: RequestContext, tableName: string): string {
  return worldArn(ctx.world, 'dynamodb', ctx.region, ctx.accountId, `table/${tableName}`);
}

function asRecord(value: unknown): Input {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Input) : {};
}

/**
 * DynamoDB's error members (`Item`, `CancellationReasons`) are structures. AwsError types its
 * fields as strings, but the JSON codec spreads them into the body as they are, which is what the
 * SDK reads.
 */
function jsonFields(members: Input): Record<string, string> {
  return members as Record<string, string>;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
