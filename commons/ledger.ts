import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  paginateScan,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { LeaseHeldError, LeaseLostError } from './errors';
import { EVENT_MEMORY_DAYS, eventItemKey, isAccountKey } from './lease';
import { type LEDGER_VIEW_FIELDS, viewOf } from './ledger-view';
import type { ItemMode } from './task-input';

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
  /**
   * Offboarded by casbridge itself: the account was closed or suspended, or moved out of the
   * configured scope (CASBRIDGE_OUT_OF_SCOPE_ACTION=offboard). Not sticky: once the account is
   * ACTIVE and in scope again, the next run onboards it.
   */
  | 'OFFBOARDED'
  /**
   * Offboarded by a person's offboard run: sticky. Every later event and reconcile skips the
   * account (`retired`) until a run names it by id for onboarding.
   */
  | 'RETIRED'
  /**
   * No longer in the organization (it left, was removed, or was cleaned out after its closure):
   * its secret was scheduled for deletion and the operator asked to remove its connector
   * instance; the record is kept. An account that joins again is onboarded as a new member.
   */
  | 'DEPARTED';

export type Outcome = 'SUCCEEDED' | 'FAILED' | 'SKIPPED';

/** Why a key is due under keyDelivery on-demand (LedgerItem.keyDue). */
export type KeyDueReason = 'new-account' | 'rotation-due' | 'requested';

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
  lastMode?: ItemMode;
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
  /**
   * keyDelivery on-demand: a connector key is due and not minted yet, and why (a new account, the
   * key in service past keyMaxAgeDays, a `casbridge rotate` request); null once minted. The
   * operator's `casbridge credentials ACCOUNT --new-key` mints it.
   */
  keyDue?: KeyDueReason | null;
  /** When a run first found the key due. */
  keyDueAt?: string | null;
  /** When the operator was told the key is due (the connector.key-due hand-off, once per due key). */
  keyDueHandoffAt?: string | null;
  /** When the operator was last reminded of a due key not minted yet (once per overdue period). */
  keyDueReminderAt?: string | null;
  /**
   * `casbridge credentials ACCOUNT --new-key`: the run it starts mints a key for the request
   * (replacing an unused pending one). Who asked, and when.
   */
  keyRequestedAt?: string;
  keyRequestedBy?: string;
  /** The `keyRequestedAt` of the request the last key minted on request served: open while they differ. */
  keyRequestServedAt?: string | null;
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
  /** When the account's departure from the organization was recorded (connector DEPARTED). */
  departedAt?: string;
  /** The configuration's desired state (commons/desired-state.ts) the account was last brought to. */
  desiredStateHash?: string;
  /**
   * `<PolicyId>:<DefaultVersionId>:<hash of the desired document>` when the policy step last saw
   * the default version hold the desired document. Versions are immutable, so while GetPolicy
   * names the same policy and default version the document needs no second read.
   */
  policyVersion?: string;
  /**
   * The execution holding the account (its token: the Step Functions execution ARN, or a local
   * run's execution name), never anything derived from the trigger: two deliveries of one event
   * are two executions, and only one of them holds the account.
   */
  leaseOwner?: string | null;
  /** The run id of the lease's holder (`leaseOwner` is its execution token). */
  leaseRunId?: string | null;
  /** Epoch milliseconds; a lease past this is free. */
  leaseExpiresAt?: number | null;
  /** The last `casbridge unlock`: who released which run's lease, and when. */
  unlockedBy?: string;
  unlockedAt?: string;
  unlockedLeaseRunId?: string | null;
  unlockedLeaseOwner?: string;
  createdAt: string;
  updatedAt: string;
}

export type LedgerUpdate = Partial<
  Omit<
    LedgerItem,
    | 'accountId'
    | 'createdAt'
    | 'updatedAt'
    | 'leaseOwner'
    | 'leaseRunId'
    | 'leaseExpiresAt'
    | 'unlockedBy'
    | 'unlockedAt'
    | 'unlockedLeaseRunId'
    | 'unlockedLeaseOwner'
  >
>;

/** Who takes an account's lease: the execution (its token) and, for people, its run id. */
export interface LeaseHolder {
  token: string;
  runId: string;
}

/** The item that remembers which run a lifecycle event started (key `event#<eventId>`). */
export interface EventItem {
  accountId: string;
  eventId: string;
  runId: string;
  /** The token of the execution that started the run. */
  execution: string;
  startedAt: string;
  /** Epoch seconds: DynamoDB's TTL deletes the item some time after. */
  ttl: number;
}

/** What RecordResult's write found: the outcome recorded, or the account held by another execution. */
export type RecordedOutcome =
  | { recorded: true; connector: ConnectorStatus }
  | { recorded: false; holderRunId: string | undefined; connector: ConnectorStatus | undefined };

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
      // The table also remembers lifecycle events (`event#<id>`): those are not accounts.
      items.push(...((page.Items ?? []) as LedgerItem[]).filter((item) => isAccountKey(item.accountId)));
    }
    return items.sort((a, b) => a.accountId.localeCompare(b.accountId));
  }

  /**
   * Takes the account's lease for the execution unless another holds an unexpired one.
   * Re-acquiring one's own lease succeeds (and extends it), so a retried task is not locked out
   * by itself.
   */
  async acquireLease(accountId: string, holder: LeaseHolder, ttlSeconds: number): Promise<boolean> {
    return (await this.lease(accountId, holder, ttlSeconds)).acquired;
  }

  private async lease(
    accountId: string,
    holder: LeaseHolder,
    ttlSeconds: number,
  ): Promise<
    | { acquired: true; previous: LedgerItem | undefined; expiresAt: number }
    | { acquired: false; holderRunId: string | undefined }
  > {
    const now = this.now();
    const expiresAt = now + ttlSeconds * 1000;
    try {
      const out = await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { accountId },
          UpdateExpression:
            'SET leaseOwner = :owner, leaseRunId = :runId, leaseExpiresAt = :expires, updatedAt = :at, createdAt = if_not_exists(createdAt, :at), connector = if_not_exists(connector, :unregistered)',
          ConditionExpression:
            'attribute_not_exists(leaseOwner) OR leaseOwner = :null OR leaseOwner = :owner OR leaseExpiresAt < :now',
          ExpressionAttributeValues: {
            ':owner': holder.token,
            ':runId': holder.runId,
            ':expires': expiresAt,
            ':at': new Date(now).toISOString(),
            ':now': now,
            ':null': null,
            ':unregistered': 'NOT_REGISTERED',
          },
          // The item as it was: what the run starts from, in the same call.
          ReturnValues: 'ALL_OLD',
          // And when the account is held, who holds it, in the same call too.
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { acquired: true, previous: out.Attributes as LedgerItem | undefined, expiresAt };
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException)
        return { acquired: false, holderRunId: stringAttribute(error, 'leaseRunId') };
      throw error;
    }
  }

  /**
   * Takes the account's lease for the execution and returns the account's view as the ledger had
   * it with the lease's expiry, or fails with LeaseHeld (naming the holder's run) when another
   * execution holds the lease.
   */
  async claim(
    accountId: string,
    holder: LeaseHolder,
    ttlSeconds: number,
  ): Promise<{ view: LedgerView; expiresAt: number; updatedAt?: string }> {
    const lease = await this.lease(accountId, holder, ttlSeconds);
    if (!lease.acquired) {
      throw new LeaseHeldError(
        `Account ${accountId} is being processed by another casbridge run${lease.holderRunId ? ` (${lease.holderRunId})` : ''}`,
        { step: 'access' },
      );
    }
    // updatedAt: whether the item is still the one ResolveTargets scanned (TaskInput.seen).
    const updatedAt = lease.previous?.updatedAt;
    return { view: viewOf(lease.previous), expiresAt: lease.expiresAt, ...(updatedAt ? { updatedAt } : {}) };
  }

  /**
   * Extends the execution's lease by `ttlSeconds` from now, whether or not it has lapsed, as long
   * as no other execution took it (nor an operator released it): then LeaseLost, naming the run
   * that holds the account now. One conditional UpdateItem. Returns the new expiry.
   */
  async renewLease(
    accountId: string,
    holder: LeaseHolder,
    ttlSeconds: number,
    step?: LeaseLostStep,
  ): Promise<number> {
    const expiresAt = this.now() + ttlSeconds * 1000;
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { accountId },
          UpdateExpression: 'SET leaseExpiresAt = :expires',
          ConditionExpression: 'leaseOwner = :owner',
          ExpressionAttributeValues: { ':owner': holder.token, ':expires': expiresAt },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return expiresAt;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      throw new LeaseLostError(
        leaseLostMessage(accountId, holder, stringAttribute(error, 'leaseRunId')),
        step ? { step } : {},
      );
    }
  }

  /** Releases the lease if the execution still holds it; someone else's lease is left alone. */
  async releaseLease(accountId: string, token: string): Promise<void> {
    await this.releaseHeldLease(accountId, token);
  }

  /** Sets the given fields (creating the item if needed) and stamps updatedAt. */
  async update(accountId: string, fields: LedgerUpdate): Promise<LedgerItem> {
    const write = this.fieldsWrite(accountId, fields);
    return (await this.doc.send(new UpdateCommand({ ...write, ReturnValues: 'ALL_NEW' })))
      .Attributes as LedgerItem;
  }

  /**
   * RecordResult's one write: the outcome and the steps' findings, and the lease released, only
   * while the execution may still speak for the account. Once it has held the lease (`held`:
   * Access claimed it) that means it holds it still; an execution that never got the lease (its
   * Access failed) may record its failure on a free or lapsed lease, never on another's. When
   * another execution holds the account, nothing is written: that execution's run records it.
   */
  async recordOutcome(
    accountId: string,
    fields: LedgerUpdate,
    lease: LeaseHolder & { held: boolean },
  ): Promise<RecordedOutcome> {
    return this.writeOutcome(
      accountId,
      fields,
      {
        condition: lease.held
          ? 'leaseOwner = :owner'
          : 'attribute_not_exists(leaseOwner) OR leaseOwner = :null OR leaseOwner = :owner OR leaseExpiresAt < :now',
        values: { ':owner': lease.token, ...(lease.held ? {} : { ':now': this.now() }) },
        releaseLease: true,
      },
      // A retried RecordResult whose first attempt wrote (and released) before its answer was
      // lost: run ids are one execution's own, so the outcome on the item is this one's.
      (old) => old.lastRunId === lease.runId && !old.leaseOwner,
    );
  }

  /**
   * CheckAccount's one write for a compliant account it checked without a lease (the fast path's
   * recordOutcome): the same fields, only while the item is still the one ResolveTargets scanned
   * (`updatedAt` unchanged: no run has claimed or written it since) and no execution holds a live
   * lease. It takes no lease and releases none: a lapsed one stays as it was. When the condition
   * fails nothing is written and the account goes to the pipeline, which claims it.
   */
  async recordSeenOutcome(
    accountId: string,
    fields: LedgerUpdate,
    seen: { updatedAt: string; runId: string },
  ): Promise<RecordedOutcome> {
    return this.writeOutcome(
      accountId,
      fields,
      {
        condition:
          '#updatedAt = :seen AND (attribute_not_exists(leaseOwner) OR leaseOwner = :null OR leaseExpiresAt < :now)',
        values: { ':seen': seen.updatedAt, ':now': this.now() },
        releaseLease: false,
      },
      // A retried CheckAccount whose first write landed before its answer was lost: that write
      // changed updatedAt, and the outcome on the item is this run's (no other run writes its id).
      (old) => old.lastRunId === seen.runId,
    );
  }

  /** The outcome's one conditional UpdateItem, shared by RecordResult and CheckAccount. */
  private async writeOutcome(
    accountId: string,
    fields: LedgerUpdate,
    when: { condition: string; values: Record<string, unknown>; releaseLease: boolean },
    recordedBefore: (old: { lastRunId?: string; leaseOwner?: string }) => boolean,
  ): Promise<RecordedOutcome> {
    const write = this.fieldsWrite(
      accountId,
      fields,
      when.releaseLease ? ['leaseOwner = :null', 'leaseRunId = :null', 'leaseExpiresAt = :null'] : [],
    );
    try {
      const out = await this.doc.send(
        new UpdateCommand({
          ...write,
          ConditionExpression: when.condition,
          ExpressionAttributeValues: { ...write.ExpressionAttributeValues, ':null': null, ...when.values },
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { recorded: true, connector: (out.Attributes as LedgerItem).connector };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      const connector = stringAttribute(error, 'connector') as ConnectorStatus | undefined;
      const lastRunId = stringAttribute(error, 'lastRunId');
      if (recordedBefore({ lastRunId, leaseOwner: stringAttribute(error, 'leaseOwner') }))
        return { recorded: true, connector: connector ?? 'NOT_REGISTERED' };
      return { recorded: false, holderRunId: stringAttribute(error, 'leaseRunId') ?? lastRunId, connector };
    }
  }

  /**
   * Remembers that the lifecycle event started this run, unless it already started another: then
   * the run id of that one. One conditional PutItem of the item `event#<eventId>`; the same
   * execution writing it again (a retried ResolveTargets) is not a duplicate of itself, and an
   * item past its TTL (which DynamoDB deletes only some time after) counts as gone.
   */
  async rememberEvent(
    eventId: string,
    run: { runId: string; execution: string; startedAt: string },
  ): Promise<{ duplicateOf: string | undefined } | undefined> {
    const nowSeconds = Math.floor(this.now() / 1000);
    const item: EventItem = {
      accountId: eventItemKey(eventId),
      eventId,
      ...run,
      ttl: nowSeconds + EVENT_MEMORY_DAYS * 86_400,
    };
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: item,
          ConditionExpression: 'attribute_not_exists(accountId) OR execution = :execution OR #ttl < :now',
          // TTL is a DynamoDB reserved word.
          ExpressionAttributeNames: { '#ttl': 'ttl' },
          ExpressionAttributeValues: { ':execution': run.execution, ':now': nowSeconds },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return undefined;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      const runId =
        stringAttribute(error, 'runId') ??
        (
          await this.doc.send(
            new GetCommand({
              TableName: this.table,
              Key: { accountId: item.accountId },
              ConsistentRead: true,
            }),
          )
        ).Item?.runId;
      // Undefined only if the item went (DynamoDB's TTL) between the refusal and the read.
      return { duplicateOf: typeof runId === 'string' ? runId : undefined };
    }
  }

  /** One UpdateItem's key and SET expression for the fields (updatedAt stamped, createdAt kept). */
  private fieldsWrite(accountId: string, fields: LedgerUpdate, extraSets: string[] = []) {
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
    return {
      TableName: this.table,
      Key: { accountId },
      UpdateExpression: `SET ${[...sets, ...extraSets].join(', ')}`,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    };
  }
  /**
   * The accounts whose lease one of `owners` holds (expired or not), with one Scan: what an
   * interrupted local run releases. A run holds at most its map's concurrency of leases, but
   * which accounts those are is only in the ledger.
   */
  async leasesHeldBy(owners: readonly string[]): Promise<LedgerItem[]> {
    if (owners.length === 0) return [];
    const values = Object.fromEntries(owners.map((owner, i) => [`:owner${i}`, owner]));
    const items: LedgerItem[] = [];
    for await (const page of paginateScan(
      { client: this.doc },
      {
        TableName: this.table,
        FilterExpression: `leaseOwner IN (${Object.keys(values).join(', ')})`,
        ExpressionAttributeValues: values,
        ProjectionExpression: 'accountId, leaseOwner, leaseRunId, leaseExpiresAt',
      },
    )) {
      items.push(...((page.Items ?? []) as LedgerItem[]));
    }
    return items.sort((a, b) => a.accountId.localeCompare(b.accountId));
  }

  /**
   * Frees the lease if `owner` still holds it, and says whether this call freed it: a lease the
   * holder already released, or another run took meanwhile, is left alone.
   */
  async releaseHeldLease(accountId: string, owner: string): Promise<boolean> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { accountId },
          UpdateExpression: 'SET leaseOwner = :null, leaseRunId = :null, leaseExpiresAt = :null',
          ConditionExpression: 'leaseOwner = :owner',
          ExpressionAttributeValues: { ':owner': owner, ':null': null },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /**
   * An operator's release of a stuck lease, recorded in the same write: who, when, and whose
   * lease it was. Only the lease the operator saw (its holder's token `owner`) is released; if the
   * holder released it or a new run took it meanwhile, nothing is written and the item as it now
   * is comes back instead.
   */
  async unlockLease(
    accountId: string,
    owner: string,
    by: string,
  ): Promise<{ unlocked: true; item: LedgerItem } | { unlocked: false; item: LedgerItem | undefined }> {
    const at = new Date(this.now()).toISOString();
    try {
      const out = await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { accountId },
          UpdateExpression:
            'SET leaseOwner = :null, leaseExpiresAt = :null, leaseRunId = :null, unlockedBy = :by, unlockedAt = :at, unlockedLeaseOwner = :owner, unlockedLeaseRunId = if_not_exists(leaseRunId, :null), updatedAt = :at',
          ConditionExpression: 'leaseOwner = :owner',
          ExpressionAttributeValues: { ':owner': owner, ':null': null, ':by': by, ':at': at },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return { unlocked: true, item: out.Attributes as LedgerItem };
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException)
        return { unlocked: false, item: await this.get(accountId) };
      throw error;
    }
  }
}

type LeaseLostStep = NonNullable<ConstructorParameters<typeof LeaseLostError>[1]>['step'];

function leaseLostMessage(accountId: string, holder: LeaseHolder, holderRunId: string | undefined): string {
  const now = holderRunId
    ? `casbridge run ${holderRunId} holds it now`
    : 'it was released (casbridge unlock) or taken and released by another run';
  return `Run ${holder.runId} no longer holds account ${accountId}: ${now}`;
}

/**
 * A string attribute of the item a failed condition returned (ReturnValuesOnConditionCheckFailure
 * ALL_OLD): the document client does not unmarshall an error's item, so it is read as DynamoDB
 * sends it, `{ S: "…" }`.
 */
function stringAttribute(error: ConditionalCheckFailedException, name: string): string | undefined {
  const value = (error.Item as Record<string, { S?: string }> | undefined)?.[name]?.S;
  return typeof value === 'string' ? value : undefined;
}
