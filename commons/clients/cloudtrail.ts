import { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import { centralClientConfig, memberClient } from '../aws-clients';
import { perRuntime } from '../runtime';

/** CloudTrail in a member account: the account's trail. */
export const cloudTrailClient = memberClient((config) => new CloudTrailClient(config));

/** CloudTrail in the central (management) account: the organization trail. */
export const centralCloudTrailClient = perRuntime(
  (runtime) => new CloudTrailClient(centralClientConfig(runtime.settings)),
);
