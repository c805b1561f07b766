import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { centralClientConfig, type MemberSession, retryConfig } from '../aws-clients';
import { perRuntime } from '../runtime';

/**
 * STS in the central account: assumes the member roles, and tells the CLI who is calling. Every
 * AssumeRole of every function draws on one bucket of the central account (600 requests/s per
 * account and Region), and a fan-out starts hundreds of accounts within a second, each assuming
 * its role first: six attempts (the SDK's throttling backoff, 0.5 s × 2ⁿ with full jitter, up to
 * about 30 s in all) let a throttled AssumeRole wait for the bucket to refill instead of failing
 * the account's task into the state machine's Retry, whose first wait alone is up to 2 s and
 * whose check falls off the fast path.
 */
const ASSUME_ROLE_ATTEMPTS = 6;

export const stsClient = perRuntime(
  (runtime) =>
    new STSClient({
      ...centralClientConfig(runtime.settings),
      ...retryConfig(runtime.settings, ASSUME_ROLE_ATTEMPTS),
    }),
);

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
