import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider, RetryStrategyV2 } from '@smithy/types';

/**
 * What every AWS client is built from, in one place. Central-account clients use the process's
 * own credentials (the Lambda role, or the environment locally); member-account clients use the
 * assumed member role, whose credentials are cached per account until shortly before they
 * expire, so a run assumes each role once, not once per step. The clients themselves are built in
 * commons/clients/, one module per service, so a function bundles only the SDK clients it imports.
 */
export interface ClientSettings {
  region: string;
  /** Set for the sandbox; unset on AWS (the SDK also honours AWS_ENDPOINT_URL by itself). */
  endpoint?: string;
  /**
   * Unset on AWS: the default provider chain finds the Lambda role's credentials. Locally, the
   * function's role as the local runner obtains it (commons/runtime.ts), or a test's identity.
   */
  credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /**
   * The CLI only: the AWS CLI profile a casbridge profile names (aws_profile) to sign with, the
   * SDK's default chain reading it as it would AWS_PROFILE. Unset in Lambda.
   */
  profile?: string;
  maxAttempts?: number;
  /**
   * Unset on AWS and in every test: the SDK's standard retries. The benchmark's time scale only
   * (commons/runtime.ts useClientRetryStrategy): its backoff slowed as the modelled AWS is, with
   * the attempts each client asks for (`retryConfig`).
   */
  newRetryStrategy?: (maxAttempts: number) => RetryStrategyV2;
}

/** The SDK's own attempts per call (the first and two retries), unless a client asks for more. */
export const SDK_DEFAULT_ATTEMPTS = 3;

/**
 * A client's retry settings: `attempts` (or the settings' own override), in the SDK's standard
 * mode or `adaptive`. Under the benchmark's time scale, its slowed strategy with the same
 * attempts (adaptive's client-side rate limiting is the SDK's, not modelled there).
 */
export function retryConfig(
  settings: ClientSettings,
  attempts = SDK_DEFAULT_ATTEMPTS,
  mode?: 'adaptive',
): { maxAttempts: number; retryMode?: 'adaptive' } | { retryStrategy: RetryStrategyV2 } {
  const maxAttempts = settings.maxAttempts ?? attempts;
  if (settings.newRetryStrategy) return { retryStrategy: settings.newRetryStrategy(maxAttempts) };
  return { maxAttempts, ...(mode ? { retryMode: mode } : {}) };
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
    ...(settings.profile && !credentials ? { profile: settings.profile } : {}),
    ...retryConfig(settings),
  };
}

/** A central-account client's configuration. */
export function centralClientConfig(settings: ClientSettings) {
  // Reusing the middleware stack across sends saves about a third of the SDK's CPU per call.
  return { ...clientConfig(settings), cacheMiddleware: true };
}

/** A member account as the steps reach it: the assumed role's session, and the client settings. */
export interface MemberAccount {
  readonly settings: ClientSettings;
  readonly session: MemberSession;
}

let connections: { httpAgent: HttpAgent; httpsAgent: HttpsAgent } | undefined;

/**
 * One keep-alive connection pool for every member-account client of the process: accounts
 * differ by their credentials, not by endpoint (IAM is global, CloudTrail regional), so a warm
 * function reuses its connections, TLS sessions included, from one account to the next instead
 * of opening new ones for each account's clients.
 */
function memberConnections(): { httpAgent: HttpAgent; httpsAgent: HttpsAgent } {
  connections ??= {
    httpAgent: new HttpAgent({ keepAlive: true }),
    httpsAgent: new HttpsAgent({ keepAlive: true }),
  };
  return connections;
}

/**
 * A member-account client factory: one client per assumed session, so a warm function reuses it
 * while the credentials last (the cache hands out the same session until then), and builds a
 * new one with the renewed credentials.
 */
export function memberClient<C extends object>(
  build: (config: MemberClientConfig) => C,
): (member: MemberAccount) => C {
  const built = new WeakMap<MemberSession, C>();
  return (member) => {
    let client = built.get(member.session);
    if (!client) {
      client = build(memberClientConfig(member));
      built.set(member.session, client);
    }
    return client;
  };
}

export type MemberClientConfig = ReturnType<typeof clientConfig> & {
  cacheMiddleware: boolean;
  requestHandler: { httpAgent: HttpAgent; httpsAgent: HttpsAgent };
};

/** A member-account client's configuration: the session's credentials, the shared connection pool. */
export function memberClientConfig({ settings, session }: MemberAccount): MemberClientConfig {
  // Each member client serves several calls of the account's steps: cache its stack too.
  return {
    ...clientConfig(settings, session.credentials),
    cacheMiddleware: true,
    requestHandler: memberConnections(),
  };
}
