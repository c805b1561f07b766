import { worldArn } from './arn';
import type { Credential } from './credentials';
import type { AccessKeyRecord, IamRole, World } from './world';
import { accountState } from './world';

/**
 * Creates an IAM user's long-term key (metadata in the account's IAM, the secret only in the
 * credential store) usable after the configured propagation delay. Returns the secret once, as
 * CreateAccessKey does.
 */
export function issueUserKey(
  world: World,
  accountId: string,
  userName: string,
  options: { createDate?: Date; propagated?: boolean; status?: 'Active' | 'Inactive' } = {},
): { record: AccessKeyRecord; secretAccessKey: string } {
  const iam = accountState(world, accountId).iam;
  const record: AccessKeyRecord = {
    userName,
    accessKeyId: world.rng.iamId('AKIA'),
    status: options.status ?? 'Active',
    createDate: options.createDate ?? world.clock.now(),
  };
  const secretAccessKey = world.rng.secretAccessKey();
  iam.accessKeys.set(record.accessKeyId, record);
  world.credentials.add({
    accessKeyId: record.accessKeyId,
    secretAccessKey,
    principal: { kind: 'user', accountId, userName, arn: userArn(world, accountId, userName) },
    usableAfterMs: options.propagated ? 0 : world.clock.nowMs() + world.settings.keyPropagationMs,
  });
  return { record, secretAccessKey };
}

function userArn(world: World, accountId: string, userName: string): string {
  const user = world.accounts.get(accountId)?.iam.users.get(userName.toLowerCase());
  return user?.arn ?? worldArn(world, 'iam', '', accountId, `user/${userName}`);
}

/** Temporary credentials acting as `role` in its account, as AssumeRole returns them. */
export function issueRoleSession(
  world: World,
  accountId: string,
  role: IamRole,
  sessionName: string,
  durationSeconds: number,
): Credential {
  const credential: Credential = {
    accessKeyId: world.rng.iamId('ASIA'),
    secretAccessKey: world.rng.secretAccessKey(),
    sessionToken: `FwoGZXIvYXdzE${world.rng.chars('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', 120)}`,
    principal: {
      kind: 'role-session',
      accountId,
      roleName: role.roleName,
      sessionName,
      roleArn: role.arn,
      arn: worldArn(world, 'sts', '', accountId, `assumed-role/${role.roleName}/${sessionName}`),
    },
    expiresAtMs: world.clock.nowMs() + durationSeconds * 1000,
    usableAfterMs: 0,
  };
  world.credentials.add(credential);
  return credential;
}
