import { STSClient } from '@aws-sdk/client-sts';
import { CredentialCache, clientConfig, type MemberClients, memberClients } from '../../commons/aws-clients';
import type { Config } from '../../commons/config';
import { ensureAccess } from '../../functions/access/ensure-access';
import type { Sandbox } from '../../sandbox';
import { taskRoleSettings } from './product';

/** Clients in a member account through the access step, exactly as the pipeline reaches it. */
export async function memberAccountClients(
  sandbox: Sandbox,
  config: Config,
  accountId: string,
): Promise<MemberClients> {
  const settings = await taskRoleSettings(sandbox);
  const account = sandbox.world.organization.accounts.get(accountId);
  if (!account) throw new Error(`no account ${accountId} in the sandbox`);
  const { session } = await ensureAccess(
    { sts: new STSClient(clientConfig(settings)), cache: new CredentialCache(), config },
    { accountId, name: account.name, ou: '', state: account.state, joinedMethod: account.joinedMethod },
    'test-run',
  );
  return memberClients(settings, session);
}
