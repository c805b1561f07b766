import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  CreateBucketCommand,
  DeleteBucketPolicyCommand,
  DeleteObjectCommand,
  GetBucketEncryptionCommand,
  GetBucketPolicyCommand,
  GetObjectCommand,
  GetPublicAccessBlockCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  PutBucketEncryptionCommand,
  PutBucketPolicyCommand,
  PutObjectCommand,
  PutPublicAccessBlockCommand,
  paginateListObjectsV2,
  S3Client,
} from '@aws-sdk/client-s3';
import { defaultAccountId } from '../../sandbox/scenario/default-scenario';
import { assumeRole, useSandbox } from '../support/sandbox';

describe('S3', () => {
  const sandbox = useSandbox({ accounts: 3 });
  const s3 = () => new S3Client(sandbox().clientConfig());
  /** An administrator of a member account, through the role Organizations creates there. */
  const memberAdmin = () =>
    assumeRole(sandbox(), `arn:aws:iam::${defaultAccountId(1)}:role/OrganizationAccountAccessRole`);

  it('creates a bucket in us-east-1 when the request carries no location constraint', async () => {
    await s3().send(new CreateBucketCommand({ Bucket: 'plain-bucket' }));
    const head = await s3().send(new HeadBucketCommand({ Bucket: 'plain-bucket' }));
    expect(head.BucketRegion).toBe('us-east-1');
    expect(head.$metadata.httpStatusCode).toBe(200);
  });

  it('refuses us-east-1 as an explicit location constraint', async () => {
    await expect(
      s3().send(
        new CreateBucketCommand({
          Bucket: 'explicit-us-east-1',
          CreateBucketConfiguration: { LocationConstraint: 'us-east-1' as never },
        }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidLocationConstraint', $metadata: { httpStatusCode: 400 } });
  });

  it('answers 200 to creating again a bucket one owns in us-east-1, but 409 in another Region', async () => {
    await s3().send(new CreateBucketCommand({ Bucket: 'twice-us-east-1' }));
    const again = await s3().send(new CreateBucketCommand({ Bucket: 'twice-us-east-1' }));
    expect(again.$metadata.httpStatusCode).toBe(200);

    const eu = new S3Client({ ...sandbox().clientConfig(), region: 'eu-west-1' });
    const configuration = { LocationConstraint: 'eu-west-1' as const };
    await eu.send(new CreateBucketCommand({ Bucket: 'twice-eu', CreateBucketConfiguration: configuration }));
    await expect(
      eu.send(new CreateBucketCommand({ Bucket: 'twice-eu', CreateBucketConfiguration: configuration })),
    ).rejects.toMatchObject({ name: 'BucketAlreadyOwnedByYou', $metadata: { httpStatusCode: 409 } });
  });

  it('refuses a bucket name another account owns as BucketAlreadyExists', async () => {
    await s3().send(new CreateBucketCommand({ Bucket: 'taken-by-management' }));
    const member = new S3Client(sandbox().clientConfig(await memberAdmin()));
    await expect(
      member.send(new CreateBucketCommand({ Bucket: 'taken-by-management' })),
    ).rejects.toMatchObject({
      name: 'BucketAlreadyExists',
      $metadata: { httpStatusCode: 409 },
    });
  });

  it('refuses a bucket name S3 does not allow', async () => {
    await expect(s3().send(new CreateBucketCommand({ Bucket: 'Not_Valid' }))).rejects.toMatchObject({
      name: 'InvalidBucketName',
      $metadata: { httpStatusCode: 400 },
    });
  });

  it('reports a missing bucket to HeadBucket as NotFound and to other calls as NoSuchBucket', async () => {
    await expect(s3().send(new HeadBucketCommand({ Bucket: 'no-such-bucket-here' }))).rejects.toMatchObject({
      name: 'NotFound',
      $metadata: { httpStatusCode: 404 },
    });
    await expect(
      s3().send(new ListObjectsV2Command({ Bucket: 'no-such-bucket-here' })),
    ).rejects.toMatchObject({ name: 'NoSuchBucket', $metadata: { httpStatusCode: 404 } });
  });

  it('stores a bucket policy and gives it back unchanged, then forgets it', async () => {
    await s3().send(new CreateBucketCommand({ Bucket: 'policy-bucket' }));
    await expect(s3().send(new GetBucketPolicyCommand({ Bucket: 'policy-bucket' }))).rejects.toMatchObject({
      name: 'NoSuchBucketPolicy',
      $metadata: { httpStatusCode: 404 },
    });
    const policy = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { AWS: `arn:aws:iam::${defaultAccountId(1)}:root` },
          Action: 's3:GetObject',
          Resource: 'arn:aws:s3:::policy-bucket/*',
        },
      ],
    });
    await s3().send(new PutBucketPolicyCommand({ Bucket: 'policy-bucket', Policy: policy }));
    const got = await s3().send(new GetBucketPolicyCommand({ Bucket: 'policy-bucket' }));
    expect(got.Policy).toBe(policy);
    await s3().send(new DeleteBucketPolicyCommand({ Bucket: 'policy-bucket' }));
    await expect(s3().send(new GetBucketPolicyCommand({ Bucket: 'policy-bucket' }))).rejects.toMatchObject({
      name: 'NoSuchBucketPolicy',
    });
  });

  it('refuses a policy that is not JSON or names another bucket as MalformedPolicy', async () => {
    await s3().send(new CreateBucketCommand({ Bucket: 'malformed-policy' }));
    await expect(
      s3().send(new PutBucketPolicyCommand({ Bucket: 'malformed-policy', Policy: '{not json' })),
    ).rejects.toMatchObject({ name: 'MalformedPolicy', $metadata: { httpStatusCode: 400 } });
    const elsewhere = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::other/*' },
      ],
    });
    await expect(
      s3().send(new PutBucketPolicyCommand({ Bucket: 'malformed-policy', Policy: elsewhere })),
    ).rejects.toMatchObject({ name: 'MalformedPolicy' });
  });

  it('blocks public access and encrypts with SSE-S3 by default, and keeps what is configured', async () => {
    await s3().send(new CreateBucketCommand({ Bucket: 'config-bucket' }));
    const block = await s3().send(new GetPublicAccessBlockCommand({ Bucket: 'config-bucket' }));
    expect(block.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      IgnorePublicAcls: true,
      BlockPublicPolicy: true,
      RestrictPublicBuckets: true,
    });
    const encryption = await s3().send(new GetBucketEncryptionCommand({ Bucket: 'config-bucket' }));
    expect(
      encryption.ServerSideEncryptionConfiguration?.Rules?.[0]?.ApplyServerSideEncryptionByDefault,
    ).toEqual({
      SSEAlgorithm: 'AES256',
    });

    await s3().send(
      new PutPublicAccessBlockCommand({
        Bucket: 'config-bucket',
        PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: false },
      }),
    );
    await s3().send(
      new PutBucketEncryptionCommand({
        Bucket: 'config-bucket',
        ServerSideEncryptionConfiguration: {
          Rules: [
            {
              ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: 'alias/logs' },
              BucketKeyEnabled: true,
            },
          ],
        },
      }),
    );
    const changed = await s3().send(new GetPublicAccessBlockCommand({ Bucket: 'config-bucket' }));
    expect(changed.PublicAccessBlockConfiguration).toMatchObject({
      BlockPublicAcls: true,
      BlockPublicPolicy: false,
    });
    const kms = await s3().send(new GetBucketEncryptionCommand({ Bucket: 'config-bucket' }));
    expect(kms.ServerSideEncryptionConfiguration?.Rules?.[0]).toEqual({
      ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: 'alias/logs' },
      BucketKeyEnabled: true,
    });
  });

  it('stores exactly the bytes a default-configured client uploads, with its content type and ETag', async () => {
    await s3().send(new CreateBucketCommand({ Bucket: 'object-bucket' }));
    const text = 'report: 3 accounts, 1 failed\n';
    const put = await s3().send(
      new PutObjectCommand({
        Bucket: 'object-bucket',
        Key: 'runs/1/report.json',
        Body: text,
        ContentType: 'application/json',
      }),
    );
    expect(put.ETag).toBe(`"${createHash('md5').update(text).digest('hex')}"`);

    const got = await s3().send(new GetObjectCommand({ Bucket: 'object-bucket', Key: 'runs/1/report.json' }));
    expect(await got.Body?.transformToString()).toBe(text);
    expect(got.ContentType).toBe('application/json');
    expect(got.ETag).toBe(put.ETag);
    expect(
      sandbox().world.buckets.get('object-bucket')?.objects.get('runs/1/report.json')?.body.toString(),
    ).toBe(text);
  });

  it('decodes a streamed upload sent as aws-chunked with a trailing checksum', async () => {
    await s3().send(new CreateBucketCommand({ Bucket: 'stream-bucket' }));
    const bytes = Buffer.from(Array.from({ length: 70_000 }, (_, i) => i % 251));
    await s3().send(
      new PutObjectCommand({
        Bucket: 'stream-bucket',
        Key: 'blob.bin',
        Body: Readable.from([bytes.subarray(0, 30_000), bytes.subarray(30_000)]),
        ContentLength: bytes.length,
      }),
    );
    const stored = sandbox().world.buckets.get('stream-bucket')?.objects.get('blob.bin');
    expect(stored?.body.equals(bytes)).toBe(true);
    const head = await s3().send(new HeadObjectCommand({ Bucket: 'stream-bucket', Key: 'blob.bin' }));
    expect(head.ContentLength).toBe(bytes.length);
  });

  it('refuses an upload whose checksum does not match its bytes as BadDigest', async () => {
    await s3().send(new CreateBucketCommand({ Bucket: 'digest-bucket' }));
    await expect(
      s3().send(
        new PutObjectCommand({ Bucket: 'digest-bucket', Key: 'k', Body: 'hello', ChecksumCRC32: 'AAAAAA==' }),
      ),
    ).rejects.toMatchObject({ name: 'BadDigest', $metadata: { httpStatusCode: 400 } });
    expect(sandbox().world.buckets.get('digest-bucket')?.objects.size).toBe(0);
  });

  it('creates a bucket in the client’s Region outside us-east-1, as the SDK fills in the constraint', async () => {
    const eu = new S3Client({ ...sandbox().clientConfig(), region: 'eu-west-1' });
    await eu.send(new CreateBucketCommand({ Bucket: 'regional-eu' }));
    const head = await s3().send(new HeadBucketCommand({ Bucket: 'regional-eu' }));
    expect(head.BucketRegion).toBe('eu-west-1');
  });

  it('reports a missing key as NoSuchKey to GetObject and NotFound to HeadObject', async () => {
    await s3().send(new CreateBucketCommand({ Bucket: 'missing-keys' }));
    await expect(
      s3().send(new GetObjectCommand({ Bucket: 'missing-keys', Key: 'absent' })),
    ).rejects.toMatchObject({
      name: 'NoSuchKey',
      $metadata: { httpStatusCode: 404 },
    });
    await expect(
      s3().send(new HeadObjectCommand({ Bucket: 'missing-keys', Key: 'absent' })),
    ).rejects.toMatchObject({
      name: 'NotFound',
      $metadata: { httpStatusCode: 404 },
    });
    await s3().send(new PutObjectCommand({ Bucket: 'missing-keys', Key: 'gone', Body: 'x' }));
    await s3().send(new DeleteObjectCommand({ Bucket: 'missing-keys', Key: 'gone' }));
    await expect(
      s3().send(new GetObjectCommand({ Bucket: 'missing-keys', Key: 'gone' })),
    ).rejects.toMatchObject({
      name: 'NoSuchKey',
    });
  });

  it('pages through every key with paginateListObjectsV2', async () => {
    await s3().send(new CreateBucketCommand({ Bucket: 'many-keys' }));
    const keys = Array.from({ length: 23 }, (_, i) => `logs/${String(i).padStart(3, '0')}.json`);
    for (const key of keys)
      await s3().send(new PutObjectCommand({ Bucket: 'many-keys', Key: key, Body: key }));
    const seen: string[] = [];
    let pages = 0;
    for await (const page of paginateListObjectsV2({ client: s3(), pageSize: 5 }, { Bucket: 'many-keys' })) {
      pages++;
      for (const object of page.Contents ?? []) seen.push(object.Key ?? '');
    }
    expect(seen).toEqual(keys);
    expect(pages).toBe(5);
  });

  it('rolls keys up into common prefixes under a delimiter', async () => {
    await s3().send(new CreateBucketCommand({ Bucket: 'prefixed' }));
    for (const key of ['AWSLogs/1/a', 'AWSLogs/1/b', 'AWSLogs/2/a', 'AWSLogs/top', 'other']) {
      await s3().send(new PutObjectCommand({ Bucket: 'prefixed', Key: key, Body: key }));
    }
    const listed = await s3().send(
      new ListObjectsV2Command({ Bucket: 'prefixed', Prefix: 'AWSLogs/', Delimiter: '/' }),
    );
    expect(listed.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['AWSLogs/1/', 'AWSLogs/2/']);
    expect(listed.Contents?.map((c) => c.Key)).toEqual(['AWSLogs/top']);
    expect(listed.KeyCount).toBe(3);
  });

  it('lists only the buckets of the caller’s account', async () => {
    const listed = await s3().send(new ListBucketsCommand({}));
    const names = listed.Buckets?.map((b) => b.Name) ?? [];
    expect(names).toContain(sandbox().stack.logBucket);
    expect(names).toContain('plain-bucket');
    const member = new S3Client(sandbox().clientConfig(await memberAdmin()));
    const theirs = await member.send(new ListBucketsCommand({}));
    expect(theirs.Buckets ?? []).toEqual([]);
  });

  it('denies another account’s caller unless the bucket policy lets it in', async () => {
    await s3().send(new CreateBucketCommand({ Bucket: 'shared-bucket' }));
    await s3().send(new PutObjectCommand({ Bucket: 'shared-bucket', Key: 'hello.txt', Body: 'hello' }));
    const member = new S3Client(sandbox().clientConfig(await memberAdmin()));
    await expect(
      member.send(new GetObjectCommand({ Bucket: 'shared-bucket', Key: 'hello.txt' })),
    ).rejects.toMatchObject({ name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
    await s3().send(
      new PutBucketPolicyCommand({
        Bucket: 'shared-bucket',
        Policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { AWS: `arn:aws:iam::${defaultAccountId(1)}:root` },
              Action: 's3:GetObject',
              Resource: 'arn:aws:s3:::shared-bucket/*',
            },
          ],
        }),
      }),
    );
    const got = await member.send(new GetObjectCommand({ Bucket: 'shared-bucket', Key: 'hello.txt' }));
    expect(await got.Body?.transformToString()).toBe('hello');
  });
});
