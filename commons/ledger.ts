import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, paginateScan, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { LeaseHeldError } from './errors';
import { type LEDGER_VIEW_FIELDS, viewOf } from './ledger-view';

/**
 * The ledger: one DynamoDB item per account with its latest outcome and connector status, the
 * key id and secret ARN (never the secret), the last error, and a lease that serialises work on
 * the account across executions. Every write goes through this module.
 */
export type ConnectorStatus =
  | 'NOT_REGISTERED'
  | 'AWAITING_CONNECTION'
  | 'HANDOFF_OVERDUE'
  | 'CONNECTED'
  /** Connected, but the key has gone unused for connectorStaleDays (commons/connector-liveness.ts). */
  | 'STALE'
  | 'OFFBOARDED';
export type Outcome = 'SUCCEEDED' | 'FAILED' | 'SKIPPED';

export interface LedgerError {
  name: string;
  message: string;
  step?: string;
  remediation?: string;
}

export interface LedgerItem {
  accountId: string;
  name?: string;
  ou?: string;
  connector: ConnectorStatus;
  lastOutcome?: Outcome;
  lastRunId?: string;
  /**
   * The mode the account was last worked in (a retry-failed run works each account in the mode of
   * the run where it failed): what retry-failed retries it as. Absent on items written before it.
   */
  lastMode?: 'onboard' | 'reconcile' | 'offboard' | 'retry-failed';
  lastRunAt?: string;
  lastError?: LedgerError | null;
  accessKeyId?: string;
  /** When IAM created the key in service (`accessKeyId`): `casbridge status` shows its age. */
  keyCreatedAt?: string;
  pendingAccessKeyId?: string | null;
  /** The connector secret; null once casbridge deleted it (`secretDeletedAt`). */
  secretArn?: string | null;
  /**
   * When casbridge scheduled the connector secret's deletion because the connector was seen using
   * the key in service (commons/secret-retention.ts): the key is then known from `accessKeyId`
   * alone, and a paste needs a new key. Null while a secret is kept.
   */
  secretDeletedAt?: string | null;
  /** The connector's last use of the key in service by a service other than STS, as IAM last reported it. */
  keyLastUsedAt?: string | null;
  /**
   * When the operator was last told that a connected connector stopped using its key, and for
   * which key: one notice per key and stale period, not one a day.
   */
  staleNoticeAt?: string;
  staleNoticeAccessKeyId?: string;
  /** `casbridge rotate`: the next run starts a staged rotation of a key created before this. */
  rotationRequestedAt?: string;
  rotationRequestedBy?: string;
  /** When the operator was last asked to connect, and for which key. */
  handoffAt?: string;
  handoffAccessKeyId?: string;
  /**
   * When the operator was last reminded of an overdue hand-off (commons/handoff-overdue.ts), and
   * for which key: one reminder per key and overdue period, not one a day.
   */
  handoffReminderAt?: string;
  handoffReminderAccessKeyId?: string;
  /** The key verify last proved valid with one STS call, so it is never used by casbridge again. */
  verifiedAccessKeyId?: string;
  connectedAt?: string;
  confirmedBy?: string;
  confirmedAt?: string;
  revealedBy?: string;
  revealedAt?: string;
  offboardedAt?: string;
  /** The configuration's desired state (commons/desired-state.ts) the account was last brought to. */
  desiredStateHash?: string;
  /**
   * `<PolicyId>:<DefaultVersionId>:<hash of the desired document>` when the policy step last saw
   * the default version hold the desired document. Versions are immutable, so while GetPolicy
   * names the same policy and default version the document needs no second read.
   */
  policyVersion?: string;
  leaseOwner?: string | null;
  /** Epoch milliseconds; a lease past this is free. */
  leaseExpiresAt?: number | null;
  createdAt: string;
  updatedAt: string;
}

export type LedgerUpdate = Partial<
  Omit<LedgerItem, 'accountId' | 'createdAt' | 'updatedAt' | 'leaseOwner' | 'leaseExpiresAt'>
>;

export type LedgerView = Partial<Pick<LedgerItem, (typeof LEDGER_VIEW_FIELDS)[number]>>;

/** The fields a step may change: what RecordResult writes for it. */
export type LedgerChanges = Partial<
  Pick<LedgerItem, Exclude<(typeof LEDGER_VIEW_FIELDS)[number], 'lastOutcome' | 'confirmedAt'>>
>;

export class Ledger {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly now: () => number = Date.now,
  ) {}

  async get(accountId: string): Promise<LedgerItem | undefined> {
    const out = await this.doc.send(
      new GetCommand({ TableName: this.table, Key: { accountId }, ConsistentRead: true }),
    );
    return out.Item as LedgerItem | undefined;
  }

  /** The account's view, read without claiming it (a dry run). */
  async view(accountId: string): Promise<LedgerView> {
    return viewOf(await this.get(accountId));
  }

  async list(): Promise<LedgerItem[]> {
    const items: LedgerItem[] = [];
    for await (const page of paginateScan({ client: this.doc }, { TableName: this.table })) {
      items.push(...((page.Items ?? []) as LedgerItem[]));
    }
    return items.sort((a, b) => a.accountId.localeCompare(b.accountId));
  }

  /**
   * Takes the account's lease for `owner` (a run id) unless another run holds an unexpired one.
   * Re-acquiring one's own lease succeeds, so a retried task is not locked out by itself.
   */
  async acquireLease(accountId: string, owner: string, ttlSeconds: number): Promise<boolean> {
    return (await this.lease(accountId, owner, ttlSeconds)).acquired;
  }

  private async lease(
    accountId: string,
    owner: string,
    ttlSeconds: number,
  ): Promise<{ acquired: true; previous: LedgerItem | undefined } | { acquired: false }> {
    const now = this.now();
    try {
      const out = await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { accountId },
          UpdateExpression:
            'SET leaseOwner = :owner, leaseExpiresAt = :expires, updatedAt = :at, createdAt = if_not_exists(createdAt, :at), connector = if_not_exists(connector, :unregistered)',
          ConditionExpression:
            'attribute_not_exists(leaseOwner) OR leaseOwner = :null OR leaseOwner = :owner OR leaseExpiresAt < :now',
          ExpressionAttributeValues: {
            ':owner': owner,
            ':expires': now + ttlSeconds * 1000,
            ':at': new Date(now).toISOString(),
            ':now': now,
            ':null': null,
            ':unregistered': 'NOT_REGISTERED',
          },
          // The item as it was: what the run starts from, in the same call.
          ReturnValues: 'ALL_OLD',
        }),
      );
      return { acquired: true, previous: out.Attributes as LedgerItem | undefined };
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return { acquired: false };
      throw error;
    }
  }

  /**
   * Takes the account's lease for the run and returns the account's view as the ledger had it,
   * or fails with LeaseHeld when another run holds the lease.
   */
  async claim(accountId: string, runId: string, ttlSeconds: number): Promise<LedgerView> {
    const lease = await this.lease(accountId, runId, ttlSeconds);
    if (!lease.acquired) {
      throw new LeaseHeldError(`Account ${accountId} is being processed by another casbridge run`, {
        step: 'access',
      });
    }
    return viewOf(lease.previous);
  }

  /** Releases the lease if `owner` still holds it; someone else's lease is left alone. */
  async releaseLease(accountId: string, owner: string): Promise<void> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { accountId },
          UpdateExpression: 'SET leaseOwner = :null, leaseExpiresAt = :null',
          ConditionExpression: 'leaseOwner = :owner',
          ExpressionAttributeValues: { ':owner': owner, ':null': null },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  /**
   * Sets the given fields (creating the item if needed) and stamps updatedAt. With
   * `releaseLeaseOf`, the same write also frees the lease if that run still holds it — one write
   * where an outcome and a release would take two; a lease someone else took is left alone.
   */
  async update(
    accountId: string,
    fields: LedgerUpdate,
    options: { releaseLeaseOf?: string } = {},
  ): Promise<LedgerItem> {
    const at = new Date(this.now()).toISOString();
    const names: Record<string, string> = {
      '#updatedAt': 'updatedAt',
      '#createdAt': 'createdAt',
      '#connector': 'connector',
    };
    const values: Record<string, unknown> = { ':updatedAt': at };
    const sets = ['#updatedAt = :updatedAt', '#createdAt = if_not_exists(#createdAt, :updatedAt)'];
    let connectorSet = false;
    for (const [key, value] of Object.entries(fields)) {
      if (value === undefined) continue;
      names[`#${key}`] = key;
      values[`:${key}`] = value;
      sets.push(`#${key} = :${key}`);
      if (key === 'connector') connectorSet = true;
    }
    if (!connectorSet) {
      sets.push('#connector = if_not_exists(#connector, :unregistered)');
      values[':unregistered'] = 'NOT_REGISTERED';
    }
    const send = async (release: boolean) =>
      this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { accountId },
          UpdateExpression: `SET ${[...sets, ...(release ? ['leaseOwner = :null', 'leaseExpiresAt = :null'] : [])].join(', ')}`,
          ...(release
            ? {
                ConditionExpression:
                  'attribute_not_exists(leaseOwner) OR leaseOwner = :null OR leaseOwner = :owner',
              }
            : {}),
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: release
            ? { ...values, ':null': null, ':owner': options.releaseLeaseOf }
            : values,
          ReturnValues: 'ALL_NEW',
        }),
      );
    if (options.releaseLeaseOf) {
      try {
        return (await send(true)).Attributes as LedgerItem;
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      }
    }
    return (await send(false)).Attributes as LedgerItem;
  }
}
