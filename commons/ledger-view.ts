import type { ConnectorStatus, LedgerItem, LedgerView } from './ledger';
import type { LedgerSnapshot } from './task-input';

/**
 * The statuses of an account casbridge has offboarded, by whatever way (commons/ledger.ts
 * ConnectorStatus): no connector is kept for it. Here, not beside the type: the steps that test
 * for it then do not bundle the DynamoDB client.
 */
export const OFFBOARDED_STATUSES: readonly ConnectorStatus[] = ['OFFBOARDED', 'RETIRED', 'DEPARTED'];

/**
 * The fields of an account's item the pipeline's steps decide on. The access task reads them in
 * the same write that claims the account and hands them down the pipeline (`TaskInput.ledger`),
 * so no later step reads the ledger; steps hand their changes back in their results and
 * RecordResult writes them with the outcome.
 *
 * Apart from the Ledger (commons/ledger.ts, the table's client), so that a step which only reads
 * the view its input carries does not bundle the DynamoDB client.
 */
export const LEDGER_VIEW_FIELDS = [
  'connector',
  'lastOutcome',
  'accessKeyId',
  'keyCreatedAt',
  'pendingAccessKeyId',
  'secretArn',
  'handoffAt',
  'handoffAccessKeyId',
  'handoffReminderAt',
  'handoffReminderAccessKeyId',
  'verifiedAccessKeyId',
  'connectedAt',
  'confirmedAt',
  'policyVersion',
  'secretDeletedAt',
  'keyLastUsedAt',
  'staleNoticeAt',
  'staleNoticeAccessKeyId',
  'rotationRequestedAt',
  'keyDue',
  'keyDueAt',
  'keyDueHandoffAt',
  'keyDueReminderAt',
  'keyRequestedAt',
  'keyRequestServedAt',
  'departedAt',
] as const;

/** The view of an item; an account the ledger has never seen has an empty one. */
export function viewOf(item: LedgerItem | undefined): LedgerView {
  const view: Record<string, unknown> = {};
  for (const field of LEDGER_VIEW_FIELDS) {
    const value = item?.[field];
    if (value !== undefined) view[field] = value;
  }
  return view as LedgerView;
}

/**
 * True when casbridge has never finished a run on the account: the steps then create first and
 * read only if IAM answers that the resource exists, two calls fewer on a new account.
 */
export function neverOnboarded(view: LedgerView | undefined): boolean {
  return view !== undefined && view.lastOutcome === undefined && view.accessKeyId === undefined;
}

/**
 * The snapshot a reconcile item carries (TaskInput.seen): the view, `updatedAt` and the lease,
 * nothing else (10,000 items go through targets.json). None for an account without an item.
 */
export function snapshotOf(item: LedgerItem | undefined): LedgerSnapshot | undefined {
  if (!item?.updatedAt) return undefined;
  const lease =
    item.leaseOwner && typeof item.leaseExpiresAt === 'number'
      ? { lease: { owner: item.leaseOwner, expiresAt: item.leaseExpiresAt } }
      : {};
  return { view: viewOf(item), updatedAt: item.updatedAt, ...lease };
}
