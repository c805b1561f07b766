/**
 * Every access key the sandbox knows: IAM users' long-term keys (AKIA…) and AssumeRole session
 * keys (ASIA…). The key id in a request's SigV4 Authorization header is looked up here to find
 * who is calling; that is the whole of identity, as on AWS.
 */
export type Principal =
  | { kind: 'user'; accountId: string; userName: string; arn: string }
  | {
      kind: 'role-session';
      accountId: string;
      roleName: string;
      sessionName: string;
      arn: string;
      roleArn: string;
    };

export interface Credential {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  principal: Principal;
  /** Session credentials stop working at this time (ExpiredToken). */
  expiresAtMs?: number;
  /** New IAM keys are refused until IAM has propagated them (InvalidClientTokenId). */
  usableAfterMs: number;
}

export class CredentialStore {
  private readonly byKeyId = new Map<string, Credential>();

  add(credential: Credential): void {
    this.byKeyId.set(credential.accessKeyId, credential);
  }

  /** Every credential issued and not yet removed: what a leak test looks for. */
  all(): Credential[] {
    return [...this.byKeyId.values()];
  }

  get(accessKeyId: string): Credential | undefined {
    return this.byKeyId.get(accessKeyId);
  }

  remove(accessKeyId: string): void {
    this.byKeyId.delete(accessKeyId);
  }

  /** Drops expired sessions so a long benchmark does not keep every session it ever issued. */
  sweepExpired(nowMs: number): void {
    for (const [id, credential] of this.byKeyId) {
      if (credential.expiresAtMs !== undefined && credential.expiresAtMs < nowMs) this.byKeyId.delete(id);
    }
  }
}
