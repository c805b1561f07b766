import { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import { memberClient } from '../aws-clients';

/** CloudTrail in a member account: the account's trail. */
export const cloudTrailClient = memberClient((config) => new CloudTrailClient(config));
