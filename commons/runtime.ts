import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { OrganizationsClient } from '@aws-sdk/client-organizations';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import { STSClient } from '@aws-sdk/client-sts';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ensureAccess } from '../functions/access/ensure-access';
import {
  type ClientSettings,
  CredentialCache,
  clientConfig,
  type MemberClients,
  memberClients,
} from './aws-clients';
import { type Config, getConfig } from './config';
import { Ledger } from './ledger';
import type { StepResult, TargetAccount } from './step-result';

/**
 * What a task needs, built once per process (Lambda cold start, or the local runner): the
 * configuration, central-account clients, the ledger, and member-account clients reached through
 * the access step with cached credentials.
 */
export interface Runtime {
  readonly config: Config;
  readonly settings: ClientSettings;
  readonly sts: STSClient;
  readonly secrets: SecretsManagerClient;
  readonly sns: SNSClient;
  /** The organization's structure; only the management account (or a delegated admin) may read it. */
  readonly organizations: OrganizationsClient;
  /** The reports bucket: run targets, skipped accounts, results and reports. */
  readonly s3: S3Client;
  readonly ledger: Ledger;
  /** Assumes (or reuses) the member role in the account; the result is the access step's. */
  access(account: TargetAccount, runId: string): Promise<{ clients: MemberClients; result: StepResult }>;
}

export function createRuntime(config: Config, settings: ClientSettings): Runtime {
  // Reusing the middleware stack across sends saves about a third of the SDK's CPU per call.
  const central = { ...clientConfig(settings), cacheMiddleware: true };
  const sts = new STSClient(central);
  const cache = new CredentialCache();
  const clientsByAccount = new Map<string, { key: string; clients: MemberClients }>();
  return {
    config,
    settings,
    sts,
    secrets: new SecretsManagerClient(central),
    sns: new SNSClient(central),
    organizations: new OrganizationsClient(central),
    // A custom endpoint (the sandbox) serves buckets by path, not as <bucket>.<host>.
    s3: new S3Client({ ...central, ...(settings.endpoint ? { forcePathStyle: true } : {}) }),
    // The document client wraps the middleware stack and refuses a cached one.
    ledger: new Ledger(
      DynamoDBDocumentClient.from(new DynamoDBClient(clientConfig(settings))),
      config.ledgerTable,
    ),
    async access(account, runId) {
      const { session, result } = await ensureAccess({ sts, cache, config }, account, runId);
      const key = session.credentials.accessKeyId;
      let entry = clientsByAccount.get(account.accountId);
      if (entry?.key !== key) {
        entry = { key, clients: memberClients(settings, session) };
        clientsByAccount.set(account.accountId, entry);
      }
      return { clients: entry.clients, result };
    },
  };
}

let cached: Runtime | undefined;

/** The process's runtime: configuration from the environment, credentials from the default chain. */
export function getRuntime(): Runtime {
  if (!cached) {
    const config = getConfig();
    cached = createRuntime(config, { region: config.region });
  }
  return cached;
}
