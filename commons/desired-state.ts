import { createHash } from 'node:crypto';
import type { Config } from './config';
import { connectorPolicyDocument } from './connector-policy';

/**
 * A hash of what casbridge makes an account look like under this configuration: the connector
 * user, its policy document, the key's maximum age and the trail. The ledger keeps the hash an
 * account was last reconciled against (DESIGN §4.3), so `casbridge status` and an operator can
 * tell the accounts a configuration change has not reached yet.
 */
export function desiredStateHash(config: Config): string {
  const desired = {
    user: { name: config.userName, path: config.userPath, group: config.groupName },
    policy: {
      name: config.policyName,
      document: connectorPolicyDocument({ allowPutBucketAcl: config.allowPutBucketAcl }),
    },
    keyMaxAgeDays: config.keyMaxAgeDays,
    trail: {
      name: config.trailName,
      bucket: config.logBucket,
      prefix: config.trailPrefix,
      mode: config.trailMode,
    },
  };
  return createHash('sha256').update(JSON.stringify(desired)).digest('hex').slice(0, 16);
}
