import { IAMClient } from '@aws-sdk/client-iam';
import { memberClient } from '../aws-clients';

/** IAM in a member account: the connector user, its policy and its keys. */
export const iamClient = memberClient((config) => new IAMClient(config));
