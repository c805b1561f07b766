import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { PARTITION_PATTERN, worldArn } from '../core/arn';
import { AwsError } from '../core/aws-error';
import type { CommonErrors, RequestContext, RestRequest, RestResponse, RestService } from '../core/service';
import type { Bucket, PolicyDocument, S3Object } from '../core/world';
import {
  decodeAwsChunked,
  decodeXmlDocument,
  encodeRestXmlError,
  encodeXmlDocument,
  encodeXmlText,
  httpDate,
  type XmlNode,
} from '../protocols/rest-xml';

/** An S3 ARN's bucket name (before any `/key`). */
const S3_ARN = new RegExp(`^arn:${PARTITION_PATTERN}:s3:::([^/]*)`);
const NAMESPACE = 'http://s3.amazonaws.com/doc/2006-03-01/';
const MAX_KEYS = 1000;
const SSE_ALGORITHMS = new Set(['AES256', 'aws:kms', 'aws:kms:dsse']);
const PUBLIC_ACCESS_BLOCK_FLAGS = [
  'BlockPublicAcls',
  'IgnorePublicAcls',
  'BlockPublicPolicy',
  'RestrictPublicBuckets',
] as const;
/** What a bucket created since January 2023 encrypts with when nobody configured it (SSE-S3). */
const DEFAULT_ENCRYPTION = encodeEncryption([{ algorithm: 'AES256', bucketKeyEnabled: false }]);

const S3_ERRORS: CommonErrors = {
  accessDenied: { code: 'AccessDenied', status: 403 },
  throttling: { code: 'SlowDown', status: 503 },
  invalidToken: { code: 'InvalidAccessKeyId', status: 403 },
  expiredToken: { code: 'ExpiredToken', status: 400 },
};

interface Target {
  bucket: string;
  key: string;
}

type S3Handler = (ctx: RequestContext, request: RestRequest, target: Target) => Promise<RestResponse>;

/** Amazon S3 over restXml, path-style (`/<bucket>/<key>`), as clients configured with forcePathStyle send it. */
export const s3Service: RestService = {
  kind: 'rest',
  signingName: 's3',
  protocol: 'rest-xml',
  errors: S3_ERRORS,
  operationOf: (request) => operationOf(request),
  handle: async (ctx, request) => {
    const operation = operationOf(request);
    const handler = HANDLERS[operation];
    if (!handler) {
      throw new AwsError(
        'NotImplemented',
        `The sandbox does not implement ${operation}: a header or query you provided implies functionality that is not implemented.`,
        501,
      );
    }
    return handler(ctx, request, targetOf(request));
  },
  renderError: (error, requestId) => encodeRestXmlError(error, requestId),
};

/** Names the operation from the method, whether a key is present and the sub-resource in the query. */
export function operationOf(request: RestRequest): string {
  const { bucket, key } = targetOf(request);
  const q = request.query;
  const method = request.method.toUpperCase();
  if (bucket === '') return method === 'GET' ? 'ListBuckets' : `${method}Service`;
  if (key !== '') {
    if (method === 'PUT') return request.headers['x-amz-copy-source'] ? 'CopyObject' : 'PutObject';
    if (method === 'GET') return 'GetObject';
    if (method === 'HEAD') return 'HeadObject';
    if (method === 'DELETE') return 'DeleteObject';
    return `${method}Object`;
  }
  const subresource = ['policy', 'publicAccessBlock', 'encryption', 'location', 'delete'].find((s) =>
    q.has(s),
  );
  const byMethod: Record<string, Record<string, string>> = {
    PUT: {
      policy: 'PutBucketPolicy',
      publicAccessBlock: 'PutPublicAccessBlock',
      encryption: 'PutBucketEncryption',
      '': 'CreateBucket',
    },
    GET: {
      policy: 'GetBucketPolicy',
      publicAccessBlock: 'GetPublicAccessBlock',
      encryption: 'GetBucketEncryption',
      location: 'GetBucketLocation',
      '': q.get('list-type') === '2' ? 'ListObjectsV2' : 'ListObjects',
    },
    DELETE: {
      policy: 'DeleteBucketPolicy',
      publicAccessBlock: 'DeletePublicAccessBlock',
      encryption: 'DeleteBucketEncryption',
      '': 'DeleteBucket',
    },
    HEAD: { '': 'HeadBucket' },
    POST: { delete: 'DeleteObjects' },
  };
  const unknownSubresource = [...q.keys()].find((k) => !KNOWN_QUERY_KEYS.has(k));
  if (!subresource && unknownSubresource) return `${method}Bucket?${unknownSubresource}`;
  return byMethod[method]?.[subresource ?? ''] ?? `${method}Bucket`;
}

const KNOWN_QUERY_KEYS = new Set([
  'x-id',
  'list-type',
  'prefix',
  'delimiter',
  'max-keys',
  'continuation-token',
  'start-after',
  'fetch-owner',
  'encoding-type',
]);

function targetOf(request: RestRequest): Target {
  const path = request.path.replace(/^\/+/, '');
  const slash = path.indexOf('/');
  return slash < 0 ? { bucket: path, key: '' } : { bucket: path.slice(0, slash), key: path.slice(slash + 1) };
}

const HANDLERS: Readonly<Record<string, S3Handler>> = {
  ListBuckets: listBuckets,
  CreateBucket: createBucket,
  HeadBucket: headBucket,
  GetBucketLocation: getBucketLocation,
  DeleteBucket: deleteBucket,
  PutBucketPolicy: putBucketPolicy,
  GetBucketPolicy: getBucketPolicy,
  DeleteBucketPolicy: deleteBucketPolicy,
  PutPublicAccessBlock: putPublicAccessBlock,
  GetPublicAccessBlock: getPublicAccessBlock,
  DeletePublicAccessBlock: deletePublicAccessBlock,
  PutBucketEncryption: putBucketEncryption,
  GetBucketEncryption: getBucketEncryption,
  DeleteBucketEncryption: deleteBucketEncryption,
  ListObjectsV2: listObjectsV2,
  PutObject: putObject,
  GetObject: (ctx, request, target) => getObject(ctx, request, target, true),
  HeadObject: (ctx, request, target) => getObject(ctx, request, target, false),
  DeleteObject: deleteObject,
};

// ---------------------------------------------------------------- buckets

async function listBuckets(ctx: RequestContext, request: RestRequest): Promise<RestResponse> {
  await ctx.authorize('s3:ListAllMyBuckets', '*');
  const prefix = request.query.get('prefix') ?? '';
  const region = request.query.get('bucket-region');
  const after = request.query.get('continuation-token');
  const maxBuckets = readLimit(request.query.get('max-buckets'), 10_000, 'max-buckets');
  const owned = [...ctx.world.buckets.values()]
    .filter((b) => b.ownerAccountId === ctx.accountId && b.name.startsWith(prefix))
    .filter((b) => !region || b.region === region)
    .filter((b) => !after || b.name > decodeToken(after))
    .sort((a, b) => (a.name < b.name ? -1 : 1));
  const page = owned.slice(0, maxBuckets);
  const last = page[page.length - 1];
  const truncated = owned.length > page.length && last !== undefined;
  return xmlResponse('ListAllMyBucketsResult', {
    Buckets: page.length
      ? { Bucket: page.map((b) => ({ Name: b.name, CreationDate: b.creationDate, BucketRegion: b.region })) }
      : '',
    Owner: ownerOf(ctx.accountId),
    ...(truncated ? { ContinuationToken: encodeToken(last.name) } : {}),
    ...(prefix ? { Prefix: prefix } : {}),
  });
}

async function createBucket(ctx: RequestContext, request: RestRequest, { bucket: name }: Target) {
  validateBucketName(name);
  await ctx.authorize('s3:CreateBucket', bucketArn(ctx, name));
  const region = requestedRegion(ctx, request.body);
  const existing = ctx.world.buckets.get(name);
  if (existing && existing.ownerAccountId !== ctx.accountId) {
    throw new AwsError(
      'BucketAlreadyExists',
      'The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.',
      409,
      { BucketName: name },
    );
  }
  if (existing) {
    // The legacy us-east-1 endpoint answers a repeated CreateBucket of one's own bucket with 200.
    if (existing.region === 'us-east-1' && region === 'us-east-1')
      return { status: 200, headers: { location: `/${name}` } };
    throw new AwsError(
      'BucketAlreadyOwnedByYou',
      'Your previous request to create the named bucket succeeded and you already own it.',
      409,
      { BucketName: name },
    );
  }
  ctx.world.buckets.set(name, {
    name,
    ownerAccountId: ctx.accountId,
    region,
    creationDate: ctx.world.clock.now(),
    // Since April 2023 a new bucket blocks public access and encrypts with SSE-S3 by default.
    publicAccessBlock: Object.fromEntries(PUBLIC_ACCESS_BLOCK_FLAGS.map((flag) => [flag, true])),
    encryption: DEFAULT_ENCRYPTION,
    objects: new Map(),
  });
  return { status: 200, headers: { location: `/${name}` } };
}

/** The Region a CreateBucket asks for, with the us-east-1 quirks of the LocationConstraint. */
function requestedRegion(ctx: RequestContext, body: Buffer): string {
  const document = decodeXmlDocument(body);
  if (!document) throw malformedXml();
  const configuration = document.CreateBucketConfiguration as Record<string, unknown> | undefined;
  const constraint =
    typeof configuration?.LocationConstraint === 'string' ? configuration.LocationConstraint : '';
  const incompatible = (what: string) =>
    new AwsError(
      'IllegalLocationConstraintException',
      `The ${what} location constraint is incompatible for the region specific endpoint this request was sent to.`,
    );
  if (constraint === '') {
    if (ctx.region !== 'us-east-1') throw incompatible('unspecified');
    return 'us-east-1';
  }
  // us-east-1 is not a LocationConstraint value: it is what "no configuration" means.
  if (constraint === 'us-east-1' || !/^(EU|[a-z]{2}(-[a-z]+)+-\d)$/.test(constraint)) {
    throw new AwsError('InvalidLocationConstraint', 'The specified location-constraint is not valid', 400, {
      LocationConstraint: constraint,
    });
  }
  const region = constraint === 'EU' ? 'eu-west-1' : constraint;
  if (ctx.region !== 'us-east-1' && region !== ctx.region) throw incompatible(constraint);
  return region;
}

async function headBucket(ctx: RequestContext, _request: RestRequest, target: Target) {
  const bucket = await accessBucket(ctx, target.bucket, 's3:ListBucket');
  return {
    status: 200,
    headers: { 'x-amz-bucket-region': bucket.region, 'x-amz-access-point-alias': 'false' },
  };
}

async function getBucketLocation(ctx: RequestContext, _request: RestRequest, target: Target) {
  const bucket = await accessBucket(ctx, target.bucket, 's3:GetBucketLocation');
  // Buckets in us-east-1 report an empty LocationConstraint.
  return textResponse('LocationConstraint', bucket.region === 'us-east-1' ? '' : bucket.region);
}

async function deleteBucket(ctx: RequestContext, _request: RestRequest, target: Target) {
  const bucket = await accessBucket(ctx, target.bucket, 's3:DeleteBucket');
  requireOwner(ctx, bucket);
  if (bucket.objects.size > 0) {
    throw new AwsError('BucketNotEmpty', 'The bucket you tried to delete is not empty', 409, {
      BucketName: bucket.name,
    });
  }
  ctx.world.buckets.delete(bucket.name);
  return { status: 204 };
}

// ---------------------------------------------------------------- bucket policy

async function putBucketPolicy(ctx: RequestContext, request: RestRequest, target: Target) {
  const bucket = await accessBucket(ctx, target.bucket, 's3:PutBucketPolicy');
  requireOwner(ctx, bucket);
  const text = request.body.toString('utf8');
  const policy = validateBucketPolicy(text, bucket.name);
  if (bucket.publicAccessBlock?.BlockPublicPolicy && isPublicPolicy(policy)) {
    throw new AwsError(
      'AccessDenied',
      `User: ${ctx.principal.arn} is not authorized to perform: s3:PutBucketPolicy on resource: ${bucketArn(ctx, bucket.name)} because public policies are blocked by the BlockPublicPolicy block public access setting.`,
      403,
    );
  }
  bucket.policy = text;
  return { status: 204 };
}

async function getBucketPolicy(ctx: RequestContext, _request: RestRequest, target: Target) {
  const bucket = await accessBucket(ctx, target.bucket, 's3:GetBucketPolicy');
  requireOwner(ctx, bucket);
  if (!bucket.policy) {
    throw new AwsError('NoSuchBucketPolicy', 'The bucket policy does not exist', 404, {
      BucketName: bucket.name,
    });
  }
  return { status: 200, headers: { 'content-type': 'application/json' }, body: bucket.policy };
}

async function deleteBucketPolicy(ctx: RequestContext, _request: RestRequest, target: Target) {
  const bucket = await accessBucket(ctx, target.bucket, 's3:DeleteBucketPolicy');
  requireOwner(ctx, bucket);
  delete bucket.policy;
  return { status: 204 };
}

/** S3 rejects, as MalformedPolicy, a policy that is not JSON, lacks a required element or names another bucket. */
function validateBucketPolicy(text: string, bucketName: string): PolicyDocument {
  const malformed = (message: string) => new AwsError('MalformedPolicy', message, 400);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw malformed("Policies must be valid JSON and the first byte must be '{'");
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw malformed("Policies must be valid JSON and the first byte must be '{'");
  }
  const document = parsed as Record<string, unknown>;
  if (document.Statement === undefined) throw malformed('Missing required field Statement');
  const statements = Array.isArray(document.Statement) ? document.Statement : [document.Statement];
  for (const raw of statements) {
    if (typeof raw !== 'object' || raw === null) throw malformed('Statement is not well-formed');
    const statement = raw as Record<string, unknown>;
    if (statement.Effect !== 'Allow' && statement.Effect !== 'Deny') {
      throw malformed(`Invalid effect: ${String(statement.Effect)}`);
    }
    if (statement.Principal === undefined && statement.NotPrincipal === undefined) {
      throw malformed('Missing required field Principal');
    }
    const actions = statement.Action ?? statement.NotAction;
    if (actions === undefined) throw malformed('Missing required field Action');
    for (const action of listOf(actions)) {
      if (action !== '*' && !/^s3:[A-Za-z*?]+$/i.test(action)) throw malformed('Policy has invalid action');
    }
    const resources = statement.Resource ?? statement.NotResource;
    if (resources === undefined) throw malformed('Missing required field Resource');
    for (const resource of listOf(resources)) {
      if (!refersToBucket(resource, bucketName)) throw malformed('Policy has invalid resource');
    }
  }
  return document as PolicyDocument;
}

function refersToBucket(resource: string, bucketName: string): boolean {
  const bucketPart = S3_ARN.exec(resource)?.[1];
  if (bucketPart === undefined) return false;
  const pattern = new RegExp(
    `^${bucketPart
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  );
  return pattern.test(bucketName);
}

/** A statement allowing everyone with no condition to narrow it: what BlockPublicPolicy refuses. */
function isPublicPolicy(policy: PolicyDocument): boolean {
  const statements = Array.isArray(policy.Statement) ? policy.Statement : [policy.Statement];
  return statements.some((s) => {
    if (s.Effect !== 'Allow' || s.Condition !== undefined) return false;
    const principal = s.Principal;
    if (principal === '*') return true;
    const aws = (principal as Record<string, unknown> | undefined)?.AWS;
    return aws !== undefined && listOf(aws).includes('*');
  });
}

// ---------------------------------------------------------------- public access block

async function putPublicAccessBlock(ctx: RequestContext, request: RestRequest, target: Target) {
  const bucket = await accessBucket(ctx, target.bucket, 's3:PutBucketPublicAccessBlock');
  const configuration = decodeXmlDocument(request.body)?.PublicAccessBlockConfiguration;
  if (typeof configuration !== 'object' || configuration === null) throw malformedXml();
  const values = configuration as Record<string, unknown>;
  bucket.publicAccessBlock = Object.fromEntries(
    PUBLIC_ACCESS_BLOCK_FLAGS.map((flag) => [flag, String(values[flag]).toLowerCase() === 'true']),
  );
  return { status: 200 };
}

async function getPublicAccessBlock(ctx: RequestContext, _request: RestRequest, target: Target) {
  const bucket = await accessBucket(ctx, target.bucket, 's3:GetBucketPublicAccessBlock');
  const block = bucket.publicAccessBlock;
  if (!block) {
    throw new AwsError(
      'NoSuchPublicAccessBlockConfiguration',
      'The public access block configuration was not found',
      404,
      { BucketName: bucket.name },
    );
  }
  return xmlResponse(
    'PublicAccessBlockConfiguration',
    Object.fromEntries(PUBLIC_ACCESS_BLOCK_FLAGS.map((flag) => [flag, block[flag] === true])),
  );
}

async function deletePublicAccessBlock(ctx: RequestContext, _request: RestRequest, target: Target) {
  const bucket = await accessBucket(ctx, target.bucket, 's3:PutBucketPublicAccessBlock');
  delete bucket.publicAccessBlock;
  return { status: 204 };
}

// ---------------------------------------------------------------- default encryption

interface EncryptionRule {
  algorithm: string;
  kmsKeyId?: string;
  bucketKeyEnabled: boolean;
}

async function putBucketEncryption(ctx: RequestContext, request: RestRequest, target: Target) {
  const bucket = await accessBucket(ctx, target.bucket, 's3:PutEncryptionConfiguration');
  const rules = readEncryption(request.body);
  if (!rules || rules.length === 0) throw malformedXml();
  for (const rule of rules) {
    if (!SSE_ALGORITHMS.has(rule.algorithm)) throw malformedXml();
    if (rule.kmsKeyId && rule.algorithm === 'AES256') {
      throw new AwsError(
        'InvalidArgument',
        'a KMSMasterKeyID is not applicable if the default sse algorithm is not aws:kms or aws:kms:dsse',
      );
    }
  }
  bucket.encryption = encodeEncryption(rules);
  return { status: 200 };
}

async function getBucketEncryption(ctx: RequestContext, _request: RestRequest, target: Target) {
  const bucket = await accessBucket(ctx, target.bucket, 's3:GetEncryptionConfiguration');
  const rules = bucket.encryption ? readEncryption(Buffer.from(bucket.encryption)) : undefined;
  if (!rules || rules.length === 0) {
    throw new AwsError(
      'ServerSideEncryptionConfigurationNotFoundError',
      'The server side encryption configuration was not found',
      404,
      { BucketName: bucket.name },
    );
  }
  return { status: 200, headers: { 'content-type': 'application/xml' }, body: encodeEncryption(rules) };
}

async function deleteBucketEncryption(ctx: RequestContext, _request: RestRequest, target: Target) {
  const bucket = await accessBucket(ctx, target.bucket, 's3:PutEncryptionConfiguration');
  // Deleting the configuration reverts a bucket to SSE-S3; it never goes unencrypted.
  bucket.encryption = DEFAULT_ENCRYPTION;
  return { status: 204 };
}

function readEncryption(body: Buffer): EncryptionRule[] | undefined {
  const configuration = decodeXmlDocument(body)?.ServerSideEncryptionConfiguration;
  if (typeof configuration !== 'object' || configuration === null) return undefined;
  const rules = (configuration as Record<string, unknown>).Rule;
  return (Array.isArray(rules) ? rules : rules === undefined ? [] : [rules]).map((raw) => {
    const rule = (raw ?? {}) as Record<string, unknown>;
    const byDefault = (rule.ApplyServerSideEncryptionByDefault ?? {}) as Record<string, unknown>;
    const kmsKeyId = typeof byDefault.KMSMasterKeyID === 'string' ? byDefault.KMSMasterKeyID : undefined;
    return {
      algorithm: String(byDefault.SSEAlgorithm ?? ''),
      ...(kmsKeyId ? { kmsKeyId } : {}),
      bucketKeyEnabled: String(rule.BucketKeyEnabled).toLowerCase() === 'true',
    };
  });
}

function encodeEncryption(rules: EncryptionRule[]): string {
  return encodeXmlDocument(
    'ServerSideEncryptionConfiguration',
    {
      Rule: rules.map((rule) => ({
        ApplyServerSideEncryptionByDefault: {
          SSEAlgorithm: rule.algorithm,
          ...(rule.kmsKeyId ? { KMSMasterKeyID: rule.kmsKeyId } : {}),
        },
        BucketKeyEnabled: rule.bucketKeyEnabled,
      })),
    },
    NAMESPACE,
  );
}

function defaultAlgorithm(bucket: Bucket): string {
  const rules = bucket.encryption ? readEncryption(Buffer.from(bucket.encryption)) : undefined;
  return rules?.[0]?.algorithm ?? 'AES256';
}

// ---------------------------------------------------------------- objects

async function putObject(ctx: RequestContext, request: RestRequest, target: Target) {
  const bucket = existingBucket(ctx, target.bucket);
  const acl = request.headers['x-amz-acl'];
  const sse = request.headers['x-amz-server-side-encryption'];
  await authorizeOn(ctx, bucket, 's3:PutObject', objectArn(ctx, bucket.name, target.key), {
    ...(acl ? { 's3:x-amz-acl': acl } : {}),
    ...(sse ? { 's3:x-amz-server-side-encryption': sse } : {}),
  });
  const { payload, checksums } = readPayload(request);
  const metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (name.startsWith('x-amz-meta-')) metadata[name.slice('x-amz-meta-'.length)] = value;
  }
  const object: S3Object = {
    body: payload,
    contentType: request.headers['content-type'] ?? 'binary/octet-stream',
    etag: `"${createHash('md5').update(payload).digest('hex')}"`,
    lastModified: ctx.world.clock.now(),
    serverSideEncryption: sse ?? defaultAlgorithm(bucket),
    metadata,
  };
  bucket.objects.set(target.key, object);
  return {
    status: 200,
    headers: {
      etag: object.etag,
      'x-amz-server-side-encryption': object.serverSideEncryption ?? 'AES256',
      ...Object.fromEntries(
        Object.entries(checksums).map(([algorithm, value]) => [`x-amz-checksum-${algorithm}`, value]),
      ),
    },
  };
}

async function getObject(ctx: RequestContext, request: RestRequest, target: Target, withBody: boolean) {
  const bucket = existingBucket(ctx, target.bucket);
  await authorizeOn(ctx, bucket, 's3:GetObject', objectArn(ctx, bucket.name, target.key));
  const object = bucket.objects.get(target.key);
  if (!object) {
    // Without s3:ListBucket a caller may not learn that a key is absent: S3 answers 403, not 404.
    await authorizeOn(ctx, bucket, 's3:ListBucket', bucketArn(ctx, bucket.name));
    throw new AwsError('NoSuchKey', 'The specified key does not exist.', 404, { Key: target.key });
  }
  const headers: Record<string, string> = {
    'content-type': object.contentType,
    'content-length': String(object.body.length),
    etag: object.etag,
    'last-modified': httpDate(object.lastModified),
    'accept-ranges': 'bytes',
    ...(object.serverSideEncryption ? { 'x-amz-server-side-encryption': object.serverSideEncryption } : {}),
    ...Object.fromEntries(
      Object.entries(object.metadata).map(([name, value]) => [`x-amz-meta-${name}`, value]),
    ),
  };
  if (request.headers['x-amz-checksum-mode']?.toUpperCase() === 'ENABLED') {
    headers['x-amz-checksum-crc32'] = crc32Base64(object.body);
    headers['x-amz-checksum-type'] = 'FULL_OBJECT';
  }
  return { status: 200, headers, body: withBody ? object.body : '' };
}

async function deleteObject(ctx: RequestContext, _request: RestRequest, target: Target) {
  const bucket = existingBucket(ctx, target.bucket);
  await authorizeOn(ctx, bucket, 's3:DeleteObject', objectArn(ctx, bucket.name, target.key));
  bucket.objects.delete(target.key);
  return { status: 204 };
}

async function listObjectsV2(ctx: RequestContext, request: RestRequest, target: Target) {
  const q = request.query;
  const prefix = q.get('prefix') ?? '';
  const delimiter = q.get('delimiter') ?? '';
  const maxKeys = readLimit(q.get('max-keys'), MAX_KEYS, 'max-keys');
  const bucket = existingBucket(ctx, target.bucket);
  await authorizeOn(ctx, bucket, 's3:ListBucket', bucketArn(ctx, bucket.name), {
    ...(q.has('prefix') ? { 's3:prefix': prefix } : {}),
    ...(q.has('delimiter') ? { 's3:delimiter': delimiter } : {}),
    ...(q.has('max-keys') ? { 's3:max-keys': String(maxKeys) } : {}),
  });
  const token = q.get('continuation-token');
  const startAfter = q.get('start-after') ?? '';
  const after = token !== null ? decodeToken(token) : startAfter;
  const keys = [...bucket.objects.keys()].filter((k) => k.startsWith(prefix) && k > after).sort(compareKeys);
  const contents: XmlNode[] = [];
  const commonPrefixes: string[] = [];
  let lastConsumed: string | undefined;
  let truncated = false;
  for (const key of keys) {
    const rest = key.slice(prefix.length);
    const cut = delimiter ? rest.indexOf(delimiter) : -1;
    const common = cut >= 0 ? prefix + rest.slice(0, cut + delimiter.length) : undefined;
    // Keys rolled up into the common prefix just listed count once, as one entry.
    if (common !== undefined && common === commonPrefixes[commonPrefixes.length - 1]) {
      lastConsumed = key;
      continue;
    }
    if (contents.length + commonPrefixes.length >= maxKeys) {
      truncated = true;
      break;
    }
    if (common !== undefined) commonPrefixes.push(common);
    else
      contents.push(
        objectEntry(key, bucket.objects.get(key) as S3Object, q.get('fetch-owner') === 'true', bucket),
      );
    lastConsumed = key;
  }
  // With encoding-type=url (the AWS CLI always asks for it) S3 URL-encodes every key it returns.
  const urlEncoded = q.get('encoding-type') === 'url';
  const out = (text: string) => (urlEncoded ? encodeURIComponent(text).replace(/%2F/g, '/') : text);
  for (const entry of contents) entry.Key = out(String(entry.Key));
  return xmlResponse('ListBucketResult', {
    Name: bucket.name,
    Prefix: out(prefix),
    ...(delimiter ? { Delimiter: out(delimiter) } : {}),
    ...(urlEncoded ? { EncodingType: 'url' } : {}),
    MaxKeys: maxKeys,
    KeyCount: contents.length + commonPrefixes.length,
    IsTruncated: truncated,
    ...(token !== null ? { ContinuationToken: token } : {}),
    ...(truncated && lastConsumed !== undefined ? { NextContinuationToken: encodeToken(lastConsumed) } : {}),
    ...(q.has('start-after') ? { StartAfter: out(startAfter) } : {}),
    Contents: contents,
    CommonPrefixes: commonPrefixes.map((p) => ({ Prefix: out(p) })),
  });
}

function objectEntry(key: string, object: S3Object, withOwner: boolean, bucket: Bucket): XmlNode {
  return {
    Key: key,
    LastModified: object.lastModified,
    ETag: object.etag,
    Size: object.body.length,
    StorageClass: 'STANDARD',
    ...(withOwner ? { Owner: ownerOf(bucket.ownerAccountId) } : {}),
  };
}

/** S3 lists keys in UTF-8 binary order. */
function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/**
 * The bytes an upload carries, unwrapped from `aws-chunked` framing when the SDK streamed it, and
 * checked against the checksums it sent (as a header or a trailer) and Content-MD5.
 */
function readPayload(request: RestRequest): { payload: Buffer; checksums: Record<string, string> } {
  const headers = request.headers;
  const chunked =
    (headers['x-amz-content-sha256'] ?? '').startsWith('STREAMING-') ||
    (headers['content-encoding'] ?? '').split(',').some((e) => e.trim() === 'aws-chunked');
  let payload = request.body;
  let fields: Record<string, string> = headers;
  if (chunked) {
    const decoded = decodeAwsChunked(request.body);
    if (!decoded) throw new AwsError('IncompleteBody', 'The request body terminated unexpectedly', 400);
    const declared = headers['x-amz-decoded-content-length'];
    if (declared !== undefined && Number(declared) !== decoded.payload.length) {
      throw new AwsError(
        'IncompleteBody',
        'You did not provide the number of bytes specified by the Content-Length HTTP header',
        400,
      );
    }
    payload = decoded.payload;
    fields = { ...headers, ...decoded.trailers };
  }
  const contentMd5 = fields['content-md5'];
  if (contentMd5 !== undefined && contentMd5 !== createHash('md5').update(payload).digest('base64')) {
    throw new AwsError('BadDigest', 'The Content-MD5 you specified did not match what we received.', 400);
  }
  const checksums: Record<string, string> = {};
  for (const [name, value] of Object.entries(fields)) {
    const algorithm = /^x-amz-checksum-(crc32|crc32c|crc64nvme|sha1|sha256)$/.exec(name)?.[1];
    if (!algorithm) continue;
    const computed = computeChecksum(algorithm, payload);
    if (computed !== undefined && computed !== value) {
      throw new AwsError(
        'BadDigest',
        `The ${algorithm.toUpperCase()} you specified did not match the calculated checksum.`,
        400,
      );
    }
    checksums[algorithm] = value;
  }
  return { payload, checksums };
}

/** The base64 checksum S3 would compute; undefined for algorithms Node cannot compute natively (CRC32C, CRC64NVME). */
function computeChecksum(algorithm: string, payload: Buffer): string | undefined {
  if (algorithm === 'crc32') return crc32Base64(payload);
  if (algorithm === 'sha1' || algorithm === 'sha256')
    return createHash(algorithm).update(payload).digest('base64');
  return undefined;
}

function crc32Base64(payload: Buffer): string {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(crc32(payload) >>> 0);
  return bytes.toString('base64');
}

// ---------------------------------------------------------------- access

function existingBucket(ctx: RequestContext, name: string): Bucket {
  const bucket = ctx.world.buckets.get(name);
  if (!bucket) {
    throw new AwsError('NoSuchBucket', 'The specified bucket does not exist', 404, { BucketName: name });
  }
  return bucket;
}

async function accessBucket(ctx: RequestContext, name: string, action: string): Promise<Bucket> {
  const bucket = existingBucket(ctx, name);
  await authorizeOn(ctx, bucket, action, bucketArn(ctx, name));
  return bucket;
}

/**
 * Evaluates the caller's policies together with the bucket policy: another account's caller
 * needs both, a caller of the owning account either (unless one denies).
 */
async function authorizeOn(
  ctx: RequestContext,
  bucket: Bucket,
  action: string,
  resource: string,
  context: Record<string, string> = {},
): Promise<void> {
  await ctx.authorize(action, resource, {
    resourceAccountId: bucket.ownerAccountId,
    ...(bucket.policy ? { resourcePolicy: JSON.parse(bucket.policy) as PolicyDocument } : {}),
    ...(Object.keys(context).length ? { context } : {}),
  });
}

/** Bucket-configuration calls from another account fail even when the bucket policy allows them. */
function requireOwner(ctx: RequestContext, bucket: Bucket): void {
  if (bucket.ownerAccountId !== ctx.accountId) {
    throw new AwsError('MethodNotAllowed', 'The specified method is not allowed against this resource.', 405);
  }
}

/**
 * S3's bucket naming rules: 3–63 of lowercase letters, digits, `.` and `-`; alphanumeric at both
 * ends; no `..`; not an IP address; none of the reserved prefixes and suffixes.
 */
export function validateBucketName(name: string): void {
  const valid =
    /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name) &&
    !name.includes('..') &&
    !/^\d{1,3}(\.\d{1,3}){3}$/.test(name) &&
    !/^(xn--|sthree-|amzn-s3-demo-)/.test(name) &&
    !/(-s3alias|--ol-s3|\.mrap|--x-s3|--table-s3)$/.test(name);
  if (!valid) {
    throw new AwsError('InvalidBucketName', 'The specified bucket is not valid.', 400, { BucketName: name });
  }
}

// ---------------------------------------------------------------- helpers

function bucketArn(ctx: RequestContext, name: string): string {
  return worldArn(ctx.world, 's3', '', '', name);
}

function objectArn(ctx: RequestContext, bucket: string, key: string): string {
  return worldArn(ctx.world, 's3', '', '', `${bucket}/${key}`);
}

function ownerOf(accountId: string): XmlNode {
  return { ID: createHash('sha256').update(`canonical-user:${accountId}`).digest('hex') };
}

function xmlResponse(root: string, body: XmlNode): RestResponse {
  return {
    status: 200,
    headers: { 'content-type': 'application/xml' },
    body: encodeXmlDocument(root, body, NAMESPACE),
  };
}

function textResponse(root: string, text: string): RestResponse {
  return {
    status: 200,
    headers: { 'content-type': 'application/xml' },
    body: encodeXmlText(root, text, NAMESPACE),
  };
}

function readLimit(value: string | null, max: number, name: string): number {
  if (value === null) return max;
  const limit = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(limit)) {
    throw new AwsError('InvalidArgument', `Provided ${name} not an integer or within integer range`, 400);
  }
  return Math.min(limit, max);
}

function encodeToken(key: string): string {
  return Buffer.from(key, 'utf8').toString('base64');
}

function decodeToken(token: string): string {
  const key = Buffer.from(token, 'base64').toString('utf8');
  if (encodeToken(key) !== token) {
    throw new AwsError('InvalidArgument', 'The continuation token provided is incorrect', 400);
  }
  return key;
}

function listOf(value: unknown): string[] {
  return (Array.isArray(value) ? value : [value]).map(String);
}

function malformedXml(): AwsError {
  return new AwsError(
    'MalformedXML',
    'The XML you provided was not well-formed or did not validate against our published schema',
    400,
  );
}
