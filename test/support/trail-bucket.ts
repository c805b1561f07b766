import { CreateBucketCommand, PutBucketPolicyCommand, S3Client } from '@aws-sdk/client-s3';
import type { Sandbox } from '../../sandbox';

/**
 * A bucket of the central account any trail may deliver to, under any prefix (the central log
 * bucket takes only casbridge's trail, under the account's own prefix): for tests that need other
 * trails, or a trail delivering elsewhere. Created from the central account, so a member
 * account's own event history holds only what the test does there.
 */
export async function anyTrailBucket(sandbox: Sandbox, bucket: string): Promise<string> {
  const s3 = new S3Client(sandbox.clientConfig());
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
            Action: ['s3:GetBucketAcl', 's3:PutObject'],
            Resource: [`arn:aws:s3:::${bucket}`, `arn:aws:s3:::${bucket}/*`],
          },
        ],
      }),
    }),
  );
  return bucket;
}
