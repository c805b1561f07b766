import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { centralClientConfig, type MemberSession } from '../aws-clients';
import { perRuntime } from '../runtime';

/** STS in the central account: assumes the member roles, and tells the CLI who is calling. */
export const stsClient = perRuntime((runtime) => new STSClient(centralClientConfig(runtime.settings)));

/** Assumes `roleArn` with STS and returns the session, uncached. */
export async function assumeRoleSession(
  sts: STSClient,
  params: {
    accountId: string;
    roleName: string;
    roleArn: string;
    externalId?: string;
    sessionName: string;
    durationSeconds: number;
  },
): Promise<MemberSession> {
  const out = await sts.send(
    new AssumeRoleCommand({
      RoleArn: params.roleArn,
      RoleSessionName: params.sessionName,
      DurationSeconds: params.durationSeconds,
      ...(params.externalId ? { ExternalId: params.externalId } : {}),
    }),
  );
  const c = out.Credentials;
  if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken || !c.Expiration) {
    throw new Error('AssumeRole returned no credentials');
  }
  return {
    accountId: params.accountId,
    roleName: params.roleName,
    credentials: {
      accessKeyId: c.AccessKeyId,
      secretAccessKey: c.SecretAccessKey,
      sessionToken: c.SessionToken,
      expiration: c.Expiration,
    },
  };
}
