import type { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import {
  AttachUserPolicyCommand,
  CreatePolicyCommand,
  CreateUserCommand,
  type IAMClient,
} from '@aws-sdk/client-iam';
import { STSClient } from '@aws-sdk/client-sts';
import { CredentialCache, clientConfig } from '../../commons/aws-clients';
import { cloudTrailClient } from '../../commons/clients/cloudtrail';
import { iamClient } from '../../commons/clients/iam';
import { type Config, connectorPolicyArn } from '../../commons/config';
import { connectorPolicyDocument } from '../../commons/connector-policy';
import { MANAGED_TAG } from '../../commons/connector-resources';
import { ensureAccess } from '../../functions/access/ensure-access';
import type { Sandbox } from '../../sandbox';
import { functionRoleSettings } from './product';

/**
 * Clients in a member account through the access step, exactly as the pipeline reaches it: as the
 * member role, assumed by the role of the function the test stands for (`functionKey`).
 */
export async function memberAccountClients(
  sandbox: Sandbox,
  config: Config,
  accountId: string,
  functionKey: string,
): Promise<{ iam: IAMClient; cloudtrail: CloudTrailClient }> {
  const settings = await functionRoleSettings(sandbox, functionKey);
  const account = sandbox.world.organization.accounts.get(accountId);
  if (!account) throw new Error(`no account ${accountId} in the sandbox`);
  const { session } = await ensureAccess(
    { sts: new STSClient(clientConfig(settings)), cache: new CredentialCache(), config },
    { accountId, name: account.name, ou: '', state: account.state, joinedMethod: account.joinedMethod },
    'test-run',
  );
  const member = { settings, session };
  return { iam: iamClient(member), cloudtrail: cloudTrailClient(member) };
}

/**
 * How casbridge left an account before the connector group: the connector policy attached to the
 * user, no group of its own, no boundary. Made by `admin` (IAM as the account's administrators have it);
 * returns the policy's ARN.
 */
export async function preGroupConnector(
  admin: IAMClient,
  config: Config,
  accountId: string,
): Promise<string> {
  const policyArn = connectorPolicyArn(config, accountId);
  await admin.send(
    new CreateUserCommand({ UserName: 'CloudAppSecurity', Path: '/casbridge/', Tags: [MANAGED_TAG] }),
  );
  await admin.send(
    new CreatePolicyCommand({
      PolicyName: 'CasBridgeCloudAppSecurity',
      Path: '/casbridge/',
      PolicyDocument: JSON.stringify(connectorPolicyDocument({ allowPutBucketAcl: true })),
    }),
  );
  await admin.send(new AttachUserPolicyCommand({ UserName: 'CloudAppSecurity', PolicyArn: policyArn }));
  return policyArn;
}
