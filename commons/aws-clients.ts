import { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import { IAMClient } from '@aws-sdk/client-iam';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity } from '@smithy/types';

/**
 * The one place AWS clients are built. Central-account clients use the process's own
 * credentials (the Lambda role, or the environment locally); member-account clients use the
 * assumed member role, whose credentials are cached per account until shortly before they
 * expire, so a run assumes each role once, not once per step.
 */
export interface ClientSettings {
  region: string;
  /** Set for the sandbox; unset on AWS (the SDK also honours AWS_ENDPOINT_URL by itself). */
  endpoint?: string;
  /** Unset on AWS: the default provider chain finds the Lambda role's credentials. */
  credentials?: AwsCredentialIdentity;
  maxAttempts?: number;
}

export interface MemberSession {
  accountId: string;
  roleName: string;
  credentials: AwsCredentialIdentity & { expiration: Date };
}

/** Renew this long before expiry: a step must not start with credentials about to lapse. */
const RENEW_BEFORE_MS = 5 * 60_000;

export class CredentialCache {
  private readonly sessions = new Map<string, MemberSession>();

  constructor(private readonly now: () => number = Date.now) {}

  get(accountId: string, roleName: string): MemberSession | undefined {
    const session = this.sessions.get(`${accountId}/${roleName}`);
    if (!session) return undefined;
    if (session.credentials.expiration.getTime() - RENEW_BEFORE_MS <= this.now()) {
      this.sessions.delete(`${accountId}/${roleName}`);
      return undefined;
    }
    return session;
  }

  put(session: MemberSession): void {
    this.sessions.set(`${session.accountId}/${session.roleName}`, session);
  }

  forget(accountId: string): void {
    for (const key of this.sessions.keys()) if (key.startsWith(`${accountId}/`)) this.sessions.delete(key);
  }
}

export function clientConfig(settings: ClientSettings, credentials = settings.credentials) {
  return {
    region: settings.region,
    ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
    ...(credentials ? { credentials } : {}),
    ...(settings.maxAttempts ? { maxAttempts: settings.maxAttempts } : {}),
  };
}

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

/** Clients acting in a member account through its session. */
export interface MemberClients {
  iam: IAMClient;
  cloudtrail: CloudTrailClient;
  sts: STSClient;
}

export function memberClients(settings: ClientSettings, session: MemberSession): MemberClients {
  const config = clientConfig(settings, session.credentials);
  return { iam: new IAMClient(config), cloudtrail: new CloudTrailClient(config), sts: new STSClient(config) };
}
