import { createHash, createHmac } from 'node:crypto';
import { Readable } from 'node:stream';
import { CloudTrailClient, DescribeTrailsCommand } from '@aws-sdk/client-cloudtrail';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { IAMClient, ListUsersCommand } from '@aws-sdk/client-iam';
import { DescribeOrganizationCommand, OrganizationsClient } from '@aws-sdk/client-organizations';
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { ListSecretsCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ListStateMachinesCommand, SFNClient } from '@aws-sdk/client-sfn';
import { ListTopicsCommand, SNSClient } from '@aws-sdk/client-sns';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { HttpRequest } from '@smithy/core/protocols';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { SignatureV4 } from '@smithy/signature-v4';
import type { HttpRequest as SignedRequest, SourceData } from '@smithy/types';
import type { Sandbox, SandboxCredentials } from '../../sandbox';
import { defaultAccountId } from '../../sandbox/scenario/default-scenario';
import { assumeRole, useSandbox } from '../support/sandbox';

/**
 * The sandbox checks every request's SigV4 signature with the caller's secret key, as AWS does:
 * through the unchanged SDK clients of every service it serves, and against requests signed by
 * the SDK's own signer (@smithy/signature-v4) and then sent or altered by hand.
 */

/** The same key id with a secret that looks right and is not: what a mistyped or swapped secret is. */
function wrongSecret(credentials: SandboxCredentials): SandboxCredentials {
  const last = credentials.secretAccessKey.slice(-1) === 'A' ? 'B' : 'A';
  return { ...credentials, secretAccessKey: `${credentials.secretAccessKey.slice(0, -1)}${last}` };
}

type Call = (sandbox: Sandbox, credentials: SandboxCredentials) => Promise<unknown>;

const CALLS: { service: string; family: string; call: Call; refusal: { name: string; status: number } }[] = [
  {
    service: 'STS',
    family: 'awsQuery',
    call: (s, c) => new STSClient(s.clientConfig(c)).send(new GetCallerIdentityCommand({})),
    refusal: { name: 'SignatureDoesNotMatch', status: 403 },
  },
  {
    service: 'IAM',
    family: 'awsQuery',
    call: (s, c) => new IAMClient(s.clientConfig(c)).send(new ListUsersCommand({})),
    refusal: { name: 'SignatureDoesNotMatch', status: 403 },
  },
  {
    service: 'SNS',
    family: 'awsQuery',
    call: (s, c) => new SNSClient(s.clientConfig(c)).send(new ListTopicsCommand({})),
    refusal: { name: 'SignatureDoesNotMatch', status: 403 },
  },
  {
    service: 'Organizations',
    family: 'awsJson1_1',
    call: (s, c) => new OrganizationsClient(s.clientConfig(c)).send(new DescribeOrganizationCommand({})),
    refusal: { name: 'InvalidSignatureException', status: 400 },
  },
  {
    service: 'CloudTrail',
    family: 'awsJson1_1',
    call: (s, c) => new CloudTrailClient(s.clientConfig(c)).send(new DescribeTrailsCommand({})),
    refusal: { name: 'InvalidSignatureException', status: 400 },
  },
  {
    service: 'Secrets Manager',
    family: 'awsJson1_1',
    call: (s, c) => new SecretsManagerClient(s.clientConfig(c)).send(new ListSecretsCommand({})),
    refusal: { name: 'InvalidSignatureException', status: 400 },
  },
  {
    service: 'DynamoDB',
    family: 'awsJson1_0',
    call: (s, c) => new DynamoDBClient(s.clientConfig(c)).send(new ListTablesCommand({})),
    refusal: { name: 'InvalidSignatureException', status: 400 },
  },
  {
    service: 'Step Functions',
    family: 'awsJson1_0',
    call: (s, c) => new SFNClient(s.clientConfig(c)).send(new ListStateMachinesCommand({})),
    refusal: { name: 'InvalidSignatureException', status: 400 },
  },
  {
    service: 'S3',
    family: 'restXml',
    call: (s, c) => new S3Client(s.clientConfig(c)).send(new ListBucketsCommand({})),
    refusal: { name: 'SignatureDoesNotMatch', status: 403 },
  },
];

/** A node:crypto SHA-256 in the shape the SDK's signer takes. */
class Sha256 {
  private readonly hash;
  constructor(secret?: SourceData) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret));
  }
  update(data: SourceData): void {
    this.hash.update(bytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
}

function bytes(data: SourceData): string | Buffer {
  if (typeof data === 'string') return data;
  return ArrayBuffer.isView(data)
    ? Buffer.from(data.buffer, data.byteOffset, data.byteLength)
    : Buffer.from(data as ArrayBuffer);
}

function signer(sandbox: Sandbox, service: string, credentials: SandboxCredentials = sandbox.admin) {
  return new SignatureV4({
    service,
    region: sandbox.region,
    credentials,
    sha256: Sha256,
    uriEscapePath: service !== 's3',
  });
}

/** A request to the sandbox in the SDK's own shape, for its signer and its HTTP handler. */
function request(
  sandbox: Sandbox,
  options: {
    method?: string;
    path?: string;
    query?: Record<string, string>;
    headers?: Record<string, string>;
    body?: string;
  },
): HttpRequest {
  return new HttpRequest({
    method: options.method ?? 'POST',
    protocol: 'http:',
    hostname: '127.0.0.1',
    port: sandbox.port,
    path: options.path ?? '/',
    query: options.query ?? {},
    headers: {
      host: `127.0.0.1:${sandbox.port}`,
      ...options.headers,
      ...(options.body === undefined ? {} : { 'content-length': String(Buffer.byteLength(options.body)) }),
    },
    ...(options.body === undefined ? {} : { body: options.body }),
  });
}

const http = new NodeHttpHandler();
afterAll(() => http.destroy());

/** Sends the request exactly as the SDK's transport does; returns the status and the error code. */
async function send(toSend: SignedRequest): Promise<{ status: number; code?: string; body: string }> {
  const { response } = await http.handle(new HttpRequest(toSend));
  const chunks: Buffer[] = [];
  for await (const chunk of response.body as Readable) chunks.push(Buffer.from(chunk as Uint8Array));
  const body = Buffer.concat(chunks).toString('utf8');
  const code =
    /<Code>([^<]+)<\/Code>/.exec(body)?.[1] ??
    (body.startsWith('{') ? (JSON.parse(body) as { __type?: string }).__type : undefined);
  return { status: response.statusCode, body, ...(code ? { code } : {}) };
}

const STS_BODY = 'Action=GetCallerIdentity&Version=2011-06-15';
const FORM = { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' };
const LIST_TABLES = {
  'content-type': 'application/x-amz-json-1.0',
  'x-amz-target': 'DynamoDB_20120810.ListTables',
};

describe('SigV4 signature verification', () => {
  const sandbox = useSandbox({ accounts: 3 });
  beforeAll(async () => {
    await new S3Client(sandbox().clientConfig()).send(new CreateBucketCommand({ Bucket: 'signature-keys' }));
  });

  describe.each(CALLS)('$service ($family)', ({ call, refusal }) => {
    it(`accepts the right secret and refuses a wrong one with ${refusal.name} (${refusal.status})`, async () => {
      await expect(call(sandbox(), sandbox().admin)).resolves.toBeDefined();

      await expect(call(sandbox(), wrongSecret(sandbox().admin))).rejects.toMatchObject({
        name: refusal.name,
        $metadata: { httpStatusCode: refusal.status },
      });
    });
  });

  it('records a refused signature in the call log with its code and no caller', async () => {
    const mark = sandbox().world.callLog.mark();

    await new STSClient(sandbox().clientConfig(wrongSecret(sandbox().admin)))
      .send(new GetCallerIdentityCommand({}))
      .catch(() => undefined);

    // A wrong signature is not worth a retry: the SDK sends it once.
    expect(sandbox().world.callLog.list({ sinceSeq: mark })).toEqual([
      expect.objectContaining({
        service: 'sts',
        operation: 'GetCallerIdentity',
        accessKeyId: sandbox().admin.accessKeyId,
        account: undefined,
        errorCode: 'SignatureDoesNotMatch',
        status: 403,
      }),
    ]);
  });

  it("refuses a role session signed with another session's secret, token and key id its own", async () => {
    const roleArn = `arn:aws:iam::${defaultAccountId(1)}:role/OrganizationAccountAccessRole`;
    const session = await assumeRole(sandbox(), roleArn);
    const other = await assumeRole(sandbox(), roleArn);

    await expect(
      new STSClient(sandbox().clientConfig({ ...session, secretAccessKey: other.secretAccessKey })).send(
        new GetCallerIdentityCommand({}),
      ),
    ).rejects.toMatchObject({ name: 'SignatureDoesNotMatch' });
    await expect(
      new STSClient(sandbox().clientConfig(session)).send(new GetCallerIdentityCommand({})),
    ).resolves.toMatchObject({ Account: defaultAccountId(1) });
  });

  it('accepts S3 uploads of strings and streams under keys that need encoding, and lists them by prefix', async () => {
    const s3 = new S3Client(sandbox().clientConfig());
    const keys = ["dir with space/ü+plus!*'()~=&?.txt", 'dir with space/a%2Fb;c,d@e$.json', 'plain/../dots'];

    for (const [i, key] of keys.entries()) {
      await s3.send(new PutObjectCommand({ Bucket: 'signature-keys', Key: key, Body: `body ${i}` }));
    }
    // A stream goes out aws-chunked, its payload signed as STREAMING-UNSIGNED-PAYLOAD-TRAILER.
    await s3.send(
      new PutObjectCommand({
        Bucket: 'signature-keys',
        Key: 'streamed/ü é.bin',
        Body: Readable.from([Buffer.from('streamed body')]),
        ContentLength: 13,
      }),
    );
    const listed = await s3.send(
      new ListObjectsV2Command({ Bucket: 'signature-keys', Prefix: 'dir with space/', Delimiter: '/' }),
    );
    const streamed = await s3.send(
      new GetObjectCommand({ Bucket: 'signature-keys', Key: 'streamed/ü é.bin' }),
    );

    expect(listed.Contents?.map((c) => c.Key).sort()).toEqual(keys.slice(0, 2).sort());
    expect(await streamed.Body?.transformToString()).toBe('streamed body');
  });

  describe('for requests signed by the SDK signer and sent as they are', () => {
    it('accepts them, the path normalised for STS and kept as sent for S3', async () => {
      const sts = await signer(sandbox(), 'sts').sign(
        request(sandbox(), { path: '/one/./two/../', headers: FORM, body: STS_BODY }),
      );
      const s3 = await signer(sandbox(), 's3').sign(
        request(sandbox(), {
          method: 'GET',
          path: '/signature-keys',
          query: { 'list-type': '2', prefix: 'dir with space/', 'max-keys': '5' },
          headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
        }),
      );

      await expect(send(sts)).resolves.toMatchObject({ status: 200 });
      await expect(send(s3)).resolves.toMatchObject({ status: 200 });
    });

    it('refuses a body changed after signing with SignatureDoesNotMatch', async () => {
      const signed = await signer(sandbox(), 'sts').sign(
        request(sandbox(), { headers: FORM, body: STS_BODY }),
      );
      signed.body = STS_BODY.replace('2011-06-15', '2011-06-16');

      await expect(send(signed)).resolves.toMatchObject({ status: 403, code: 'SignatureDoesNotMatch' });
    });

    it('refuses a signed header changed after signing', async () => {
      const signed = await signer(sandbox(), 'dynamodb').sign(
        request(sandbox(), { headers: LIST_TABLES, body: '{}' }),
      );
      signed.headers['x-amz-target'] = 'DynamoDB_20120810.DescribeLimits';

      await expect(send(signed)).resolves.toMatchObject({ status: 400, code: 'InvalidSignatureException' });
    });

    it('refuses an S3 body that does not hash to its signed x-amz-content-sha256 with XAmzContentSHA256Mismatch', async () => {
      const body = 'the body that was signed';
      const signed = await signer(sandbox(), 's3').sign(
        request(sandbox(), {
          method: 'PUT',
          path: '/signature-keys/tampered.txt',
          headers: { 'x-amz-content-sha256': createHash('sha256').update(body).digest('hex') },
          body,
        }),
      );
      signed.body = body.toUpperCase();

      const answer = await send(signed);

      expect(answer).toMatchObject({ status: 400, code: 'XAmzContentSHA256Mismatch' });
      expect(answer.body).toContain('<ClientComputedContentSHA256>');
    });

    it('accepts an upload in signed aws-chunked chunks and refuses one with an altered chunk', async () => {
      const s3 = signer(sandbox(), 's3');
      const signingDate = new Date();
      const chunks: Buffer[] = ['first chunk, ', 'second chunk', ''].map((text) => Buffer.from(text));
      /** `<hex size>;chunk-signature=<sig>\r\n<data>\r\n` per chunk, the last one empty. */
      const frame = (signatures: string[], data: Buffer[] = chunks) =>
        Buffer.concat(
          data.flatMap((chunk, i) => [
            Buffer.from(`${chunk.length.toString(16)};chunk-signature=${signatures[i]}\r\n`),
            chunk,
            Buffer.from('\r\n'),
          ]),
        );
      const placeholder = frame(chunks.map(() => '0'.repeat(64))).toString('latin1');
      const seeded = await s3.sign(
        request(sandbox(), {
          method: 'PUT',
          path: '/signature-keys/chunked.txt',
          headers: {
            'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
            'content-encoding': 'aws-chunked',
            'x-amz-decoded-content-length': '25',
          },
          body: placeholder,
        }),
        { signingDate },
      );
      const seed = /Signature=([0-9a-f]{64})/.exec(seeded.headers.authorization ?? '')?.[1] ?? '';
      const scope = /Credential=[^/]+\/([^,]+),/.exec(seeded.headers.authorization ?? '')?.[1] ?? '';
      const amzDate = seeded.headers['x-amz-date'] ?? '';
      const signatures: string[] = [];
      for (const chunk of chunks) {
        const previous = signatures.at(-1) ?? seed;
        const hash = (data: Buffer) => createHash('sha256').update(data).digest('hex');
        const stringToSign = [
          'AWS4-HMAC-SHA256-PAYLOAD',
          amzDate,
          scope,
          previous,
          hash(Buffer.alloc(0)),
          hash(chunk),
        ].join('\n');
        signatures.push(await s3.sign(stringToSign, { signingDate }));
      }
      const altered = {
        ...seeded,
        body: frame(signatures, [chunks[0], Buffer.from('SECOND chunk'), chunks[2]] as Buffer[]),
      };
      const intact = { ...seeded, body: frame(signatures) };

      await expect(send(altered)).resolves.toMatchObject({ status: 403, code: 'SignatureDoesNotMatch' });
      await expect(send(intact)).resolves.toMatchObject({ status: 200 });
      const stored = await new S3Client(sandbox().clientConfig()).send(
        new GetObjectCommand({ Bucket: 'signature-keys', Key: 'chunked.txt' }),
      );
      expect(await stored.Body?.transformToString()).toBe('first chunk, second chunk');
    });

    it("returns S3's own error document for a wrong secret, with the string it signed", async () => {
      const signed = await signer(sandbox(), 's3', wrongSecret(sandbox().admin)).sign(
        request(sandbox(), {
          method: 'GET',
          path: '/',
          headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
        }),
      );

      const answer = await send(signed);

      expect(answer).toMatchObject({ status: 403, code: 'SignatureDoesNotMatch' });
      expect(answer.body).toMatch(
        /^<\?xml[^>]*>\n<Error><Code>SignatureDoesNotMatch<\/Code><Message>The request signature we calculated does not match the signature you provided\. Check your key and signing method\.<\/Message><AWSAccessKeyId>AKIA\w+<\/AWSAccessKeyId><StringToSign>AWS4-HMAC-SHA256\n\d{8}T\d{6}Z\n\d{8}\/us-east-1\/s3\/aws4_request\n[0-9a-f]{64}<\/StringToSign>/,
      );
      expect(answer.body).not.toContain(sandbox().admin.secretAccessKey);
    });
  });

  describe('presigned URLs', () => {
    async function presignedGet(
      credentials: SandboxCredentials,
      options: { signingDate?: Date; expiresIn?: number } = {},
    ) {
      const s3 = new S3Client(sandbox().clientConfig());
      await s3.send(
        new PutObjectCommand({ Bucket: 'signature-keys', Key: 'shared/report.txt', Body: 'shared' }),
      );
      // As the SDK's S3 presigner does: S3 signs a presigned URL's payload as UNSIGNED-PAYLOAD.
      return signer(sandbox(), 's3', credentials).presign(
        request(sandbox(), {
          method: 'GET',
          path: '/signature-keys/shared/report.txt',
          query: { 'x-id': 'GetObject' },
          headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
        }),
        {
          expiresIn: options.expiresIn ?? 300,
          ...(options.signingDate ? { signingDate: options.signingDate } : {}),
        },
      );
    }

    it('serves an object through a presigned URL signed with the right secret', async () => {
      const answer = await send(await presignedGet(sandbox().admin));

      expect(answer).toEqual({ status: 200, body: 'shared' });
    });

    it('refuses a presigned URL signed with a wrong secret', async () => {
      await expect(send(await presignedGet(wrongSecret(sandbox().admin)))).resolves.toMatchObject({
        status: 403,
        code: 'SignatureDoesNotMatch',
      });
    });

    it('refuses a presigned URL past its X-Amz-Expires as S3 does: AccessDenied, Request has expired', async () => {
      const answer = await send(
        await presignedGet(sandbox().admin, { signingDate: new Date(Date.now() - 120_000), expiresIn: 60 }),
      );

      expect(answer).toMatchObject({ status: 403, code: 'AccessDenied' });
      expect(answer.body).toContain('<Message>Request has expired</Message>');
    });

    it('accepts a presigned STS GetCallerIdentity, the action in the query', async () => {
      const presigned = await signer(sandbox(), 'sts').presign(
        request(sandbox(), { method: 'GET', query: { Action: 'GetCallerIdentity', Version: '2011-06-15' } }),
        { expiresIn: 60 },
      );

      const answer = await send(presigned);

      expect(answer.status).toBe(200);
      expect(answer.body).toContain(`<Arn>${sandbox().admin.arn}</Arn>`);
    });
  });

  describe('the time a request was signed', () => {
    const twentyMinutesAgo = () => new Date(Date.now() - 20 * 60_000);

    const S3_GET = { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' };
    it.each([
      {
        service: 'sts',
        headers: FORM,
        body: STS_BODY,
        status: 403,
        code: 'SignatureDoesNotMatch',
        text: /Signature expired: \d{8}T\d{6}Z is now earlier than/,
      },
      {
        service: 'dynamodb',
        headers: LIST_TABLES,
        body: '{}',
        status: 400,
        code: 'InvalidSignatureException',
        text: /Signature expired/,
      },
      {
        service: 's3',
        headers: S3_GET,
        body: undefined,
        status: 403,
        code: 'RequestTimeTooSkewed',
        text: /too large/,
      },
    ])(
      'refuses a request to $service signed more than 15 minutes ago with $code ($status)',
      async ({ service, headers, body, status, code, text }) => {
        const signed = await signer(sandbox(), service).sign(
          request(sandbox(), {
            method: body === undefined ? 'GET' : 'POST',
            headers,
            ...(body === undefined ? {} : { body }),
          }),
          { signingDate: twentyMinutesAgo() },
        );

        const answer = await send(signed);

        expect(answer).toMatchObject({ status, code });
        expect(answer.body).toMatch(text);
      },
    );

    it("refuses an SDK client whose clock is 20 minutes slow, which then signs by the sandbox's Date header", async () => {
      const sts = new STSClient({ ...sandbox().clientConfig(), systemClockOffset: -20 * 60_000 });

      await expect(sts.send(new GetCallerIdentityCommand({}))).rejects.toMatchObject({
        name: 'SignatureDoesNotMatch',
        message: expect.stringMatching(/^Signature expired: \d{8}T\d{6}Z is now earlier than/),
      });
      await expect(sts.send(new GetCallerIdentityCommand({}))).resolves.toMatchObject({
        Arn: sandbox().admin.arn,
      });
    });

    it('still accepts fresh requests after the sandbox clock moved 30 days ahead', async () => {
      sandbox().world.clock.advance(30 * 86_400_000);

      await expect(
        new STSClient(sandbox().clientConfig()).send(new GetCallerIdentityCommand({})),
      ).resolves.toMatchObject({ Arn: sandbox().admin.arn });
    });
  });

  describe('requests without a usable signature', () => {
    it.each([
      { what: 'an STS call', headers: FORM, body: STS_BODY, status: 403, code: 'MissingAuthenticationToken' },
      {
        what: 'a DynamoDB call',
        headers: LIST_TABLES,
        body: '{}',
        status: 400,
        code: 'MissingAuthenticationTokenException',
      },
      { what: 'an S3 call (anonymous)', headers: {}, body: undefined, status: 403, code: 'AccessDenied' },
    ])(
      'refuses $what with no Authorization header as $code ($status)',
      async ({ headers, body, status, code }) => {
        const unsigned = request(sandbox(), {
          method: body === undefined ? 'GET' : 'POST',
          path: body === undefined ? '/signature-keys' : '/',
          headers,
          ...(body === undefined ? {} : { body }),
        });

        await expect(send(unsigned)).resolves.toMatchObject({ status, code });
      },
    );

    const credential = () => `${sandbox().admin.accessKeyId}/20260101/us-east-1`;
    const STS = { service: 'STS', headers: FORM, body: STS_BODY as string | undefined };
    it.each([
      {
        ...STS,
        what: 'no Signature',
        status: 400,
        code: 'IncompleteSignature',
        header: (c: string) => `AWS4-HMAC-SHA256 Credential=${c}/sts/aws4_request, SignedHeaders=host`,
      },
      {
        ...STS,
        what: 'a four-part credential',
        status: 400,
        code: 'IncompleteSignature',
        header: (c: string) => `AWS4-HMAC-SHA256 Credential=${c}/sts, SignedHeaders=host, Signature=00`,
      },
      {
        ...STS,
        what: 'an unsupported algorithm',
        status: 400,
        code: 'IncompleteSignature',
        header: (c: string) =>
          `AWS4-HMAC-SHA1 Credential=${c}/sts/aws4_request, SignedHeaders=host, Signature=00`,
      },
      {
        ...STS,
        what: 'a SigV2 signature',
        status: 403,
        code: 'MissingAuthenticationToken',
        header: () => `AWS ${sandbox().admin.accessKeyId}:c2lnbmF0dXJl`,
      },
      {
        service: 'DynamoDB',
        headers: LIST_TABLES,
        body: '{}',
        what: 'no Signature',
        status: 400,
        code: 'IncompleteSignatureException',
        header: (c: string) => `AWS4-HMAC-SHA256 Credential=${c}/dynamodb/aws4_request, SignedHeaders=host`,
      },
      {
        service: 'S3',
        headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
        body: undefined,
        what: 'no Signature',
        status: 400,
        code: 'AuthorizationHeaderMalformed',
        header: (c: string) => `AWS4-HMAC-SHA256 Credential=${c}/s3/aws4_request, SignedHeaders=host`,
      },
    ])(
      'refuses a malformed $service Authorization header ($what) as $code ($status)',
      async ({ headers, body, header, status, code }) => {
        const malformed = request(sandbox(), {
          method: body === undefined ? 'GET' : 'POST',
          headers: { ...headers, 'x-amz-date': '20260101T000000Z', authorization: header(credential()) },
          ...(body === undefined ? {} : { body }),
        });

        await expect(send(malformed)).resolves.toMatchObject({ status, code });
      },
    );

    it('refuses a request whose x-amz-date does not match the date of its credential scope', async () => {
      const signed = await signer(sandbox(), 'sts').sign(
        request(sandbox(), { headers: FORM, body: STS_BODY }),
      );
      signed.headers.authorization = (signed.headers.authorization ?? '').replace(/\/\d{8}\//, '/20200101/');

      const answer = await send(signed);

      expect(answer).toMatchObject({ status: 403, code: 'SignatureDoesNotMatch' });
      expect(answer.body).toContain('Date in Credential scope does not match YYYYMMDD');
    });
  });

  it('encodes query names and values as the SDK does: reserved characters, spaces and UTF-8', async () => {
    const s3 = new S3Client(sandbox().clientConfig());
    const prefix = "q +/=&?!*'()~é";
    await s3.send(new PutObjectCommand({ Bucket: 'signature-keys', Key: `${prefix}x`, Body: 'q' }));

    const listed = await s3.send(new ListObjectsV2Command({ Bucket: 'signature-keys', Prefix: prefix }));

    expect(listed.Contents?.map((c) => c.Key)).toEqual([`${prefix}x`]);
  });
});
