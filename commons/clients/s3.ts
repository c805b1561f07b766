import { S3Client } from '@aws-sdk/client-s3';
import { centralClientConfig } from '../aws-clients';
import { perRuntime } from '../runtime';

/** The reports bucket: run targets, skipped accounts, results and reports. */
export const s3Client = perRuntime(
  ({ settings }) =>
    // A custom endpoint (the sandbox) serves buckets by path, not as <bucket>.<host>.
    new S3Client({
      ...centralClientConfig(settings),
      ...(settings.endpoint ? { forcePathStyle: true } : {}),
    }),
);
