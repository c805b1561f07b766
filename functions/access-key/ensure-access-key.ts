import { createHash } from 'node:crypto';
import {
  type AccessKeyMetadata,
  CreateAccessKeyCommand,
  DeleteAccessKeyCommand,
  GetAccessKeyLastUsedCommand,
  type IAMClient,
  ListAccessKeysCommand,
  UpdateAccessKeyCommand,
} from '@aws-sdk/client-iam';
import {
  CreateSecretCommand,
  type DescribeSecretCommandOutput,
  PutSecretValueCommand,
  type SecretsManagerClient,
  TagResourceCommand,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { type Config, connectorSecretName } from '../../commons/config';
import { isLiveChecked } from '../../commons/connector-liveness';
import {
  ACCOUNT_TAG,
  describeConnectorSecret,
  KEY_TAG,
  PENDING_KEY_TAG,
  restoreConnectorSecret,
  secretTag,
  unlessMissing,
} from '../../commons/connector-resources';
import { awsErrorName, classifyAwsError, LimitReachedError } from '../../commons/errors';
import type { KeyDueReason, LedgerView } from '../../commons/ledger';
import { OFFBOARDED_STATUSES } from '../../commons/ledger-view';
import { secretDeletedForConnector, withSecretRetention } from '../../commons/secret-retention';
import type { StepResult } from '../../commons/step-result';
import { respondToTamper } from '../../commons/tamper';
import { withKeyUse } from './key-use';

const DAY_MS = 86_400_000;

export interface AccessKeyDeps {
  iam: IAMClient;
  /** Secrets Manager in the central account: the only place a secret access key is ever written. */
  secrets: SecretsManagerClient;
  config: Config;
  now?: () => number;
}

/**
 * Step 4: exactly one key in service for the connector user, its secret in Secrets Manager.
 * Rotation is staged: the new key goes to the second slot and the secret's AWSPENDING stage; the
 * old key is deactivated only once the connector has been seen using the new one.
 */
export interface AccessKeyOptions {
  dryRun: boolean;
  /** The account's earlier steps in this run: a user created just now has no keys to list. */
  steps?: Record<string, StepResult>;
  /** The account's ledger view: the key in service and its secret as the last run recorded them. */
  ledger?: LedgerView;
}

export async function ensureAccessKey(
  deps: AccessKeyDeps,
  accountId: string,
  options: AccessKeyOptions,
): Promise<StepResult> {
  try {
    const reconciled = withKeyDueCleared(options.ledger, await reconcile(deps, accountId, options));
    const result = withSecretRetention(options.ledger, reconciled);
    return await withKeyUse(deps.iam, options.ledger, result);
  } catch (error) {
    throw classifyAwsError(error, 'accessKey');
  }
}

/**
 * The step's result when the run's own earlier steps decide it, without a call: with keys minted
 * on demand, a user the user step created in this run has no key to read, and none is minted until
 * the operator asks. The handler then takes no member session either. Its result passes
 * ensureAccessKey's finishing touches unchanged (no key in it, a key due).
 */
export function keyDueForNewUser(
  config: Config,
  { steps, ledger }: Pick<AccessKeyOptions, 'steps' | 'ledger'>,
  now: number = Date.now(),
): StepResult | undefined {
  if (steps?.user?.action !== 'created' || config.keyDelivery !== 'on-demand' || keyRequested(ledger))
    return undefined;
  return keyDue(ledger, 'new-account', now);
}

async function reconcile(
  deps: AccessKeyDeps,
  accountId: string,
  { dryRun, steps, ledger }: AccessKeyOptions,
): Promise<StepResult> {
  const { iam, config } = deps;
  const now = (deps.now ?? Date.now)();
  // keyDelivery on-demand: no key for a user without one until the operator asks at the portal.
  const noKeyYet = () => config.keyDelivery === 'on-demand' && !keyRequested(ledger);
  const due = keyDueForNewUser(config, { steps, ledger }, now);
  if (due) return due;
  if (!dryRun && steps?.user?.action === 'created') {
    // The user step created the user in this run: it has no key, so no secret can hold one of its
    // keys and the new key's secret is written straight away (an older secret of that name, left
    // by an earlier user, is found when CreateSecret says it exists). An account offboarded before
    // has its secret scheduled for deletion, likely still: read first, as CreateSecret would fail.
    try {
      const earlier =
        ledger?.connector && OFFBOARDED_STATUSES.includes(ledger.connector)
          ? await describeConnectorSecret(deps.secrets, connectorSecretName(config, accountId), {
              includeScheduledForDeletion: true,
            })
          : undefined;
      return await converge(deps, accountId, now, [], earlier, false, ledger);
    } catch (error) {
      // A retried attempt of this step meets keys an earlier one left (IAM allows two): look first.
      if (awsErrorName(error) !== 'LimitExceededException') throw error;
    }
  }
  // A dry run's user step only planned the user: it has no keys yet, and listing them would be
  // reading the user as if it were there.
  const newUser = dryRun && steps?.user?.action === 'created';
  const keys = newUser ? [] : await listKeys(iam, config.userName);
  // Nothing to read in Secrets Manager for a key not minted: the daily check stays read-only.
  if (keys.length === 0 && noKeyYet()) return keyDue(ledger, 'new-account', now);
  const settled = settledKey(keys, ledger, config.keyMaxAgeDays, now);
  if (settled) return settled;
  // A secret scheduled for deletion (the account offboarded within its recovery window) is read
  // in the same call: it holds no key in service, but it is restored rather than created anew.
  // One casbridge deleted itself (the ledger names its keys) is not read at all.
  const found = secretDeletedForConnector(ledger)
    ? undefined
    : await describeConnectorSecret(deps.secrets, connectorSecretName(config, accountId), {
        includeScheduledForDeletion: true,
      });
  return converge(deps, accountId, now, keys, found, dryRun, ledger, newUser);
}

/** From the user's keys and the connector secret as they are, to one key in service. */
async function converge(
  deps: AccessKeyDeps,
  accountId: string,
  now: number,
  keys: AccessKeyMetadata[],
  found: DescribeSecretCommandOutput | undefined,
  dryRun: boolean,
  ledger: LedgerView | undefined,
  /** A dry run for a user the user step would create: the real run then writes the secret unread. */
  newUser = false,
): Promise<StepResult> {
  const { iam, config } = deps;
  // Its tags name the keys offboarding deleted: a scheduled secret counts as none until restored.
  const scheduled = found?.DeletedDate ? found : undefined;
  // A secret deleted because the connector holds its key stays deleted: the ledger names the key.
  const deletedForConnector = secretDeletedForConnector(ledger);
  if (
    scheduled &&
    !deletedForConnector &&
    keys.some((k) => k.AccessKeyId === secretTag(scheduled, KEY_TAG))
  ) {
    // An offboarding that could not reach the account left the user its key: the secret still
    // holds that key, so it is restored as it was and the key kept (no new key to hand off).
    // A dry run plans the rest on the secret as the restore would leave it.
    if (!dryRun) await restoreConnectorSecret(deps.secrets, scheduled.ARN);
    const kept = await converge(
      deps,
      accountId,
      now,
      keys,
      { ...scheduled, DeletedDate: undefined },
      dryRun,
      ledger,
    );
    const action = kept.action === 'unchanged' ? 'updated' : kept.action;
    const reason = String(
      (kept.reason === 'dry-run' ? kept.details?.planned : kept.reason) ?? 'secret-restored',
    );
    const details = { ...kept.details, secret: 'restored' };
    return dryRun ? planned(action, reason, details) : { ...kept, action, reason, details };
  }
  const secret = scheduled ? undefined : found;
  const currentId =
    secretTag(secret, KEY_TAG) ?? (deletedForConnector ? (ledger?.accessKeyId ?? undefined) : undefined);
  const pendingId =
    secretTag(secret, PENDING_KEY_TAG) ??
    (deletedForConnector ? (ledger?.pendingAccessKeyId ?? undefined) : undefined);
  const current = keys.find((k) => k.AccessKeyId === currentId);
  const onDemand = config.keyDelivery === 'on-demand';
  const pending = keys.find((k) => k.AccessKeyId === pendingId);

  if (!current) {
    // On demand, the key waits for the operator's --new-key (a request no key has served yet).
    if (onDemand && !keyRequested(ledger)) return keyDue(ledger, 'new-account', now);
    // No key whose secret we hold (first run, key deleted, or the secret lost): issue a new one.
    // Keys nobody ever used are no one's connector: clear them rather than keep one by chance.
    const unused = await neverUsedStrays(iam, keys, []);
    const left = keys.filter((k) => !unused.includes(k.AccessKeyId ?? ''));
    if (dryRun) {
      // The same choice of keys to delete as below, by the same reads, so the plan names them and a
      // slot that cannot be freed fails the dry run as it would the real one (LimitReached).
      const victim = await slotToFree(iam, config.userName, left, undefined);
      const doomed = [...unused, ...(victim ? [victim] : [])];
      // The reason createdResult would give: for a new user the real run does not read the secret.
      const reason = scheduled ? 'secret-restored' : currentId && !newUser ? 'secret-key-missing' : undefined;
      return planned('created', reason, {
        ...(scheduled ? restoredDetails(scheduled) : {}),
        ...(doomed.length > 0 ? { deletesAccessKeys: doomed.join(', ') } : {}),
      });
    }
    for (const id of unused)
      await iam.send(new DeleteAccessKeyCommand({ UserName: config.userName, AccessKeyId: id }));
    await freeSlot(iam, config.userName, left, undefined);
    const created = await createKeyAndStoreSecret(deps, accountId, secret ?? scheduled, 'AWSCURRENT');
    return onRequest(ledger, createdResult(created, currentId ? 'secret-key-missing' : undefined));
  }
  if (current.Status !== 'Active') {
    if (dryRun)
      return planned('updated', 'key-reactivated', {
        accessKeyId: current.AccessKeyId ?? '',
        ...createdAt(current),
        ...arnOf(secret),
      });
    await iam.send(
      new UpdateAccessKeyCommand({
        UserName: config.userName,
        AccessKeyId: current.AccessKeyId,
        Status: 'Active',
      }),
    );
    return {
      action: 'updated',
      reason: 'key-reactivated',
      details: { accessKeyId: current.AccessKeyId ?? '', ...createdAt(current), ...arnOf(secret) },
    };
  }
  if (pending && pendingId) {
    if (!(await usedByConnectorSince(iam, pendingId, pending.CreateDate))) {
      // The operator asked again (`--new-key`) for a pending key nobody used: its secret was shown
      // once and deleted, and if it was lost before the paste, a new pending key replaces it.
      if (keyRequested(ledger)) {
        if (dryRun)
          return planned('updated', 'rotation-started', {
            accessKeyId: current.AccessKeyId ?? '',
            ...createdAt(current),
            deletesAccessKeys: pendingId,
            ...arnOf(secret),
          });
        await deleteKey(iam, config.userName, pendingId);
        const left = keys.filter((k) => k.AccessKeyId !== pendingId);
        await freeSlot(iam, config.userName, left, current.AccessKeyId);
        const created = await createKeyAndStoreSecret(
          deps,
          accountId,
          secret,
          'AWSPENDING',
          current.AccessKeyId,
        );
        return onRequest(ledger, rotationStarted(current, created, pendingId));
      }
      return {
        action: 'unchanged',
        reason: 'rotation-awaiting-connector',
        details: {
          accessKeyId: current.AccessKeyId ?? '',
          ...createdAt(current),
          pendingAccessKeyId: pendingId,
          ...arnOf(secret),
        },
      };
    }
    if (dryRun)
      return planned('updated', 'rotation-completed', {
        accessKeyId: pendingId,
        ...createdAt(pending),
        retiredAccessKeyId: current.AccessKeyId ?? '',
        ...arnOf(secret),
      });
    await completeRotation(deps, accountId, secret, current, pendingId);
    return {
      action: 'updated',
      reason: 'rotation-completed',
      details: {
        accessKeyId: pendingId,
        ...createdAt(pending),
        retiredAccessKeyId: current.AccessKeyId ?? '',
        ...arnOf(secret),
      },
    };
  }
  const strays = await classifyStrays(iam, keys, [current.AccessKeyId, pendingId]);
  // A key older than casbridge's, used, is a connector set up by hand before casbridge came: it
  // stays until the connector is seen on casbridge's key, so taking over breaks nothing.
  const handMade = (key: AccessKeyMetadata) =>
    !isLiveChecked(ledger) && (key.CreateDate?.getTime() ?? 0) < (current.CreateDate?.getTime() ?? 0);
  const foreign = strays.usedActive.filter((id) => !handMade(keys.find((k) => k.AccessKeyId === id) ?? {}));
  const removed = await respondToTamper(
    foreign.map((id) => ({
      what: `access key ${id} of user ${config.userName}, active and used, is not one casbridge issued`,
      repair: () => deleteKey(iam, config.userName, id),
    })),
    { config, step: 'accessKey', accountId, dryRun },
  );
  if (removed.length > 0) {
    if (dryRun)
      return planned('updated', 'tamper-repaired', {
        accessKeyId: current.AccessKeyId ?? '',
        ...createdAt(current),
        removed: removed.join('; '),
        ...arnOf(secret),
      });
    return {
      action: 'updated',
      reason: 'tamper-repaired',
      details: {
        accessKeyId: current.AccessKeyId ?? '',
        ...createdAt(current),
        removed: removed.join('; '),
        ...arnOf(secret),
      },
    };
  }
  const orphans = strays.neverUsed;
  if (orphans.length > 0) {
    // A key no secret knows and nobody ever used: left by a run killed between CreateAccessKey
    // and the secret write. Removing it keeps exactly one key in service.
    if (dryRun)
      return planned('updated', 'orphan-key-removed', {
        accessKeyId: current.AccessKeyId ?? '',
        ...createdAt(current),
        removed: orphans.length,
        ...arnOf(secret),
      });
    for (const id of orphans)
      await iam.send(new DeleteAccessKeyCommand({ UserName: config.userName, AccessKeyId: id }));
    return {
      action: 'updated',
      reason: 'orphan-key-removed',
      details: {
        accessKeyId: current.AccessKeyId ?? '',
        ...createdAt(current),
        removed: orphans.length,
        ...arnOf(secret),
      },
    };
  }
  const requested = keyRequested(ledger);
  if (
    requested &&
    !isLiveChecked(ledger) &&
    !(await usedByConnectorSince(iam, current.AccessKeyId ?? '', undefined))
  ) {
    // `--new-key` for an account not connected yet, whose key nobody used: the key shown before
    // was lost before the paste. It is no one's connector: a new key takes its place.
    if (dryRun)
      return planned('created', 'key-replaced', {
        deletesAccessKeys: current.AccessKeyId ?? '',
        ...arnOf(secret),
      });
    await deleteKey(iam, config.userName, current.AccessKeyId ?? '');
    const left = keys.filter((k) => k.AccessKeyId !== current.AccessKeyId);
    await freeSlot(iam, config.userName, left, undefined);
    const created = await createKeyAndStoreSecret(deps, accountId, secret ?? scheduled, 'AWSCURRENT');
    return onRequest(ledger, {
      ...createdResult(created, 'key-replaced'),
      details: {
        ...createdResult(created, 'key-replaced').details,
        replacedAccessKeyId: current.AccessKeyId ?? '',
      },
    });
  }
  if (rotationDue(current, ledger, config.keyMaxAgeDays, now)) {
    if (onDemand && !requested) {
      // On demand, the new key waits for the operator: the key in service stays, and the register
      // step tells the operator once that a new key is due.
      const rotate = keyDue(
        ledger,
        rotationRequestedAfter(ledger, current) ? 'requested' : 'rotation-due',
        now,
      );
      return {
        ...rotate,
        action: 'unchanged',
        details: {
          accessKeyId: current.AccessKeyId ?? '',
          ...createdAt(current),
          ...arnOf(secret),
          ...rotate.details,
        },
      };
    }
    if (dryRun) {
      // The new key's id is IAM's to give: the plan names the key it rotates and any it deletes.
      const victim = await slotToFree(iam, config.userName, keys, current.AccessKeyId);
      return planned('updated', 'rotation-started', {
        accessKeyId: current.AccessKeyId ?? '',
        ...createdAt(current),
        ...arnOf(secret),
        ...(victim ? { deletesAccessKeys: victim } : {}),
      });
    }
    await freeSlot(iam, config.userName, keys, current.AccessKeyId);
    const created = await createKeyAndStoreSecret(deps, accountId, secret, 'AWSPENDING', current.AccessKeyId);
    return onRequest(ledger, rotationStarted(current, created));
  }
  return {
    action: 'unchanged',
    details: { accessKeyId: current.AccessKeyId ?? '', ...createdAt(current), ...arnOf(secret) },
  };
}

/**
 * The daily case, without reading the secret: the user has exactly the one key the ledger
 * recorded as in service, active, not due for rotation, and no rotation is under way. The secret
 * is casbridge's own, in its own account, and holds that key since the run that recorded it (the
 * ledger learns a key only after its secret is written). Anything else reads the secret's tags.
 */
function settledKey(
  keys: AccessKeyMetadata[],
  ledger: LedgerView | undefined,
  keyMaxAgeDays: number,
  now: number,
): StepResult | undefined {
  const [key, ...others] = keys;
  // Or casbridge deleted the secret once the connector used the key: the ledger alone names it.
  const secretKnown = Boolean(ledger?.secretArn) || secretDeletedForConnector(ledger);
  if (!key || others.length > 0 || !ledger || !secretKnown || ledger.pendingAccessKeyId) return undefined;
  if (!key.AccessKeyId || key.AccessKeyId !== ledger.accessKeyId || key.Status !== 'Active') return undefined;
  if (rotationDue(key, ledger, keyMaxAgeDays, now)) return undefined;
  return {
    action: 'unchanged',
    details: {
      accessKeyId: key.AccessKeyId,
      ...createdAt(key),
      ...(ledger.secretArn ? { secretArn: ledger.secretArn } : {}),
    },
  };
}

/**
 * The key is older than keyMaxAgeDays, or an operator asked for a new one after it was made
 * (`casbridge rotate`: the only way to paste a key again once its secret was deleted).
 */
function rotationDue(
  key: AccessKeyMetadata,
  ledger: LedgerView | undefined,
  keyMaxAgeDays: number,
  now: number,
): boolean {
  const createdMs = key.CreateDate?.getTime() ?? now;
  if ((now - createdMs) / DAY_MS > keyMaxAgeDays) return true;
  return rotationRequestedAfter(ledger, key) || keyRequested(ledger);
}

/** `casbridge rotate` asked for a new key after this one was made. */
function rotationRequestedAfter(ledger: LedgerView | undefined, key: AccessKeyMetadata): boolean {
  const requestedMs = ledger?.rotationRequestedAt ? Date.parse(ledger.rotationRequestedAt) : Number.NaN;
  return (
    Number.isFinite(requestedMs) && requestedMs > (key.CreateDate?.getTime() ?? Number.POSITIVE_INFINITY)
  );
}

/**
 * The operator's `casbridge credentials ACCOUNT --new-key` not served yet. The key minted for it
 * records the request it served (`keyRequestServedAt`), so each request mints exactly one key,
 * whatever the mode, and no clock is compared: the CLI's and IAM's may disagree.
 */
function keyRequested(ledger: LedgerView | undefined): boolean {
  return Boolean(ledger?.keyRequestedAt) && ledger?.keyRequestedAt !== ledger?.keyRequestServedAt;
}

/**
 * keyDelivery on-demand: the key is due and not minted. The ledger learns why, once (a new reason
 * starts a new due key, and so a new hand-off); the register step tells the operator.
 */
function keyDue(ledger: LedgerView | undefined, due: KeyDueReason, now: number): StepResult {
  const known = ledger?.keyDue === due && Boolean(ledger?.keyDueAt);
  return {
    action: 'skipped',
    reason: due === 'new-account' ? 'key-not-minted' : 'rotation-due',
    details: { keyDue: due, keyDueAt: known ? (ledger?.keyDueAt ?? '') : new Date(now).toISOString() },
    ...(known
      ? {}
      : {
          ledger: {
            keyDue: due,
            keyDueAt: new Date(now).toISOString(),
            keyDueHandoffAt: null,
            keyDueReminderAt: null,
          },
        }),
  };
}

/** A key minted for the operator's --new-key: the register step hands it off without a message. */
function onRequest(ledger: LedgerView | undefined, result: StepResult): StepResult {
  if (!keyRequested(ledger)) return result;
  return {
    ...result,
    details: { ...result.details, mintedOnRequest: true },
    ledger: { ...result.ledger, keyRequestServedAt: ledger?.keyRequestedAt ?? null },
  };
}

/**
 * A key the ledger says is due that the step no longer finds due (minted, on request or not, or
 * no longer old enough once keyMaxAgeDays was raised): the ledger forgets it.
 */
function withKeyDueCleared(ledger: LedgerView | undefined, result: StepResult): StepResult {
  if (!ledger?.keyDue || result.reason === 'dry-run' || typeof result.details?.keyDue === 'string')
    return result;
  return {
    ...result,
    ledger: { ...result.ledger, keyDue: null, keyDueAt: null, keyDueHandoffAt: null, keyDueReminderAt: null },
  };
}

/** A new key in service; `restored` when its secret had to be brought back from scheduled deletion. */
function createdResult(created: StoredKey, reason: string | undefined): StepResult {
  return {
    action: 'created',
    ...(created.restored ? { reason: 'secret-restored' } : reason ? { reason } : {}),
    details: {
      accessKeyId: created.accessKeyId,
      keyCreatedAt: created.createdAt,
      secretArn: created.secretArn,
      ...(created.restored ? { secret: 'restored' } : {}),
    },
  };
}

/** What a dry run says of a secret it would restore: the ARN the hand-off will name, unchanged. */
function restoredDetails(scheduled: DescribeSecretCommandOutput): { secret: string; secretArn?: string } {
  return { secret: 'restored', ...arnOf(scheduled) };
}

/**
 * The secret's ARN in the step's result: with the key ids there, the register step knows the
 * secret without describing it again.
 */
function arnOf(secret: DescribeSecretCommandOutput | undefined): { secretArn?: string } {
  return secret?.ARN ? { secretArn: secret.ARN } : {};
}

/** The key's creation time for the ledger (key age in `casbridge status`); IAM always sends it. */
/** A staged rotation begun: the key in service stays, the new one waits in AWSPENDING. */
function rotationStarted(
  current: AccessKeyMetadata,
  created: { accessKeyId: string; secretArn: string },
  replacedAccessKeyId?: string,
): StepResult {
  return {
    action: 'updated',
    reason: 'rotation-started',
    details: {
      accessKeyId: current.AccessKeyId ?? '',
      ...createdAt(current),
      pendingAccessKeyId: created.accessKeyId,
      secretArn: created.secretArn,
      ...(replacedAccessKeyId === undefined ? {} : { replacedAccessKeyId }),
    },
  };
}

function createdAt(key: AccessKeyMetadata): { keyCreatedAt?: string } {
  return key.CreateDate ? { keyCreatedAt: key.CreateDate.toISOString() } : {};
}

/**
 * A dry run's result: what the real run would do (its action, and as `details.planned` its reason
 * if it gives one), with the details the real run would report that are known before any write.
 * Later steps of the dry run decide on them: register hands off the key the plan would issue.
 */
function planned(
  action: StepResult['action'],
  reason: string | undefined,
  details: Record<string, string | number | boolean>,
): StepResult {
  return { action, reason: 'dry-run', details: { ...(reason ? { planned: reason } : {}), ...details } };
}

/**
 * Makes room for a new key under IAM's two-key limit without touching the key in service:
 * the kept key, else the most recently used one, stays; an inactive or never-used one goes.
 */
async function freeSlot(
  iam: IAMClient,
  userName: string,
  keys: AccessKeyMetadata[],
  keep: string | undefined,
): Promise<void> {
  const victim = await slotToFree(iam, userName, keys, keep);
  if (victim) await iam.send(new DeleteAccessKeyCommand({ UserName: userName, AccessKeyId: victim }));
}

/** The key freeSlot deletes, by reads only (none under two keys); LimitReached when none may go. */
async function slotToFree(
  iam: IAMClient,
  userName: string,
  keys: AccessKeyMetadata[],
  keep: string | undefined,
): Promise<string | undefined> {
  if (keys.length < 2) return undefined;
  const lastUsed = new Map<string, number>();
  for (const key of keys) {
    const out = await iam.send(new GetAccessKeyLastUsedCommand({ AccessKeyId: key.AccessKeyId }));
    lastUsed.set(key.AccessKeyId ?? '', out.AccessKeyLastUsed?.LastUsedDate?.getTime() ?? 0);
  }
  const inService =
    keep ??
    [...keys].sort(
      (a, b) => (lastUsed.get(b.AccessKeyId ?? '') ?? 0) - (lastUsed.get(a.AccessKeyId ?? '') ?? 0),
    )[0]?.AccessKeyId;
  const victim = keys
    .filter((k) => k.AccessKeyId !== inService)
    .sort(
      (a, b) =>
        Number(a.Status === 'Active') - Number(b.Status === 'Active') ||
        (lastUsed.get(a.AccessKeyId ?? '') ?? 0) - (lastUsed.get(b.AccessKeyId ?? '') ?? 0),
    )[0];
  if (!victim?.AccessKeyId) {
    throw new LimitReachedError(
      `User ${userName} has two access keys and neither can be freed`,
      'Delete the unused access key of the connector user by hand.',
      {
        step: 'accessKey',
      },
    );
  }
  return victim.AccessKeyId;
}

interface StoredKey {
  accessKeyId: string;
  createdAt: string;
  secretArn: string;
  /** The secret was scheduled for deletion and RestoreSecret brought it back first. */
  restored: boolean;
}

/**
 * CreateAccessKey, then straight into Secrets Manager before anything else can fail. A secret
 * scheduled for deletion (offboarded within its recovery window) is restored first: Secrets
 * Manager refuses both CreateSecret on its name and PutSecretValue on it until then
 * (InvalidRequestException), and restoring keeps the ARN an earlier hand-off may have named.
 */
async function createKeyAndStoreSecret(
  deps: AccessKeyDeps,
  accountId: string,
  secret: DescribeSecretCommandOutput | undefined,
  stage: 'AWSCURRENT' | 'AWSPENDING',
  /** For a rotation: the key in service, which a secret created now must name as the current one. */
  inService?: string,
): Promise<StoredKey> {
  const { iam, secrets, config } = deps;
  const key = (await iam.send(new CreateAccessKeyCommand({ UserName: config.userName }))).AccessKey;
  if (!key?.AccessKeyId || !key.SecretAccessKey) throw new Error('CreateAccessKey returned no key');
  const value = JSON.stringify({
    accessKeyId: key.AccessKeyId,
    secretAccessKey: key.SecretAccessKey,
    accountId,
    userName: config.userName,
  });
  // The token makes a replay of this very write a no-op instead of a second version.
  const token = tokenFor(key.AccessKeyId);
  const tagKey = stage === 'AWSCURRENT' ? KEY_TAG : PENDING_KEY_TAG;
  const name = connectorSecretName(config, accountId);
  let restored = false;
  const storeVersion = async (found: DescribeSecretCommandOutput): Promise<string> => {
    const arn = found.ARN;
    if (found.DeletedDate) {
      await restoreConnectorSecret(secrets, arn);
      restored = true;
    }
    await secrets.send(
      new PutSecretValueCommand({
        SecretId: arn,
        SecretString: value,
        ClientRequestToken: token,
        VersionStages: [stage],
      }),
    );
    // A restored secret's pending tag names a key offboarding deleted: cleared in the same call.
    const tags = [
      { Key: tagKey, Value: key.AccessKeyId },
      ...(restored && tagKey !== PENDING_KEY_TAG && secretTag(found, PENDING_KEY_TAG)
        ? [{ Key: PENDING_KEY_TAG, Value: '' }]
        : []),
    ];
    await secrets.send(new TagResourceCommand({ SecretId: arn, Tags: tags }));
    return arn ?? '';
  };
  let secretArn: string;
  try {
    if (secret) {
      secretArn = await storeVersion(secret);
    } else {
      try {
        // A rotation whose key in service has no secret (deleted once the connector held it):
        // the new secret names that key as current and holds only the new one, as AWSPENDING,
        // so the rotation reads and completes as any other. CreateSecret cannot set a stage.
        const pendingOnly = stage === 'AWSPENDING' && inService !== undefined;
        const out = await secrets.send(
          new CreateSecretCommand({
            Name: name,
            Description: `Defender for Cloud Apps connector key for AWS account ${accountId} (managed by casbridge)`,
            ...(pendingOnly ? {} : { SecretString: value, ClientRequestToken: token }),
            ...(config.secretsKmsKeyId ? { KmsKeyId: config.secretsKmsKeyId } : {}),
            Tags: [
              { Key: ACCOUNT_TAG, Value: accountId },
              ...(pendingOnly ? [{ Key: KEY_TAG, Value: inService }] : []),
              { Key: tagKey, Value: key.AccessKeyId },
            ],
          }),
        );
        secretArn = out.ARN ?? '';
        if (pendingOnly) {
          await secrets.send(
            new PutSecretValueCommand({
              SecretId: secretArn,
              SecretString: value,
              ClientRequestToken: token,
              VersionStages: [stage],
            }),
          );
        }
      } catch (error) {
        // Not described first (a new user) and there after all: the key becomes its new version.
        // InvalidRequestException is how Secrets Manager says the name's secret is scheduled for
        // deletion (the account offboarded within the recovery window): it is restored.
        const errorName = awsErrorName(error);
        const found =
          errorName === 'ResourceExistsException' || errorName === 'InvalidRequestException'
            ? await describeConnectorSecret(secrets, name, {
                includeScheduledForDeletion: errorName === 'InvalidRequestException',
              })
            : undefined;
        if (!found || (errorName === 'InvalidRequestException' && !found.DeletedDate)) throw error;
        secretArn = await storeVersion(found);
      }
    }
  } catch (error) {
    // The secret is returned only once: a key whose secret was not stored is useless, remove it.
    await iam
      .send(new DeleteAccessKeyCommand({ UserName: config.userName, AccessKeyId: key.AccessKeyId }))
      .catch(() => undefined);
    throw error;
  }
  return {
    accessKeyId: key.AccessKeyId,
    createdAt: (key.CreateDate ?? new Date((deps.now ?? Date.now)())).toISOString(),
    secretArn,
    restored,
  };
}

async function completeRotation(
  deps: AccessKeyDeps,
  accountId: string,
  secret: DescribeSecretCommandOutput | undefined,
  current: AccessKeyMetadata,
  pendingId: string,
): Promise<void> {
  const { iam, secrets, config } = deps;
  const stages = secret?.VersionIdsToStages ?? {};
  const pendingVersion = Object.entries(stages).find(([, s]) => s.includes('AWSPENDING'))?.[0];
  const currentVersion = Object.entries(stages).find(([, s]) => s.includes('AWSCURRENT'))?.[0];
  if (pendingVersion) {
    await secrets.send(
      new UpdateSecretVersionStageCommand({
        SecretId: connectorSecretName(config, accountId),
        VersionStage: 'AWSCURRENT',
        MoveToVersionId: pendingVersion,
        ...(currentVersion ? { RemoveFromVersionId: currentVersion } : {}),
      }),
    );
  }
  // A secret deleted once its key was shown (keys minted on demand): the ledger names the keys.
  if (secret?.ARN) {
    await secrets.send(
      new TagResourceCommand({
        SecretId: secret.ARN,
        Tags: [
          { Key: KEY_TAG, Value: pendingId },
          { Key: PENDING_KEY_TAG, Value: '' },
        ],
      }),
    );
  }
  await iam.send(
    new UpdateAccessKeyCommand({
      UserName: config.userName,
      AccessKeyId: current.AccessKeyId,
      Status: 'Inactive',
    }),
  );
}

/** The user's keys; none when the user does not exist yet (a dry run of a fresh account). */
async function listKeys(iam: IAMClient, userName: string): Promise<AccessKeyMetadata[]> {
  try {
    return (await iam.send(new ListAccessKeysCommand({ UserName: userName }))).AccessKeyMetadata ?? [];
  } catch (error) {
    if (awsErrorName(error) === 'NoSuchEntityException') return [];
    throw error;
  }
}

async function deleteKey(iam: IAMClient, userName: string, accessKeyId: string): Promise<void> {
  await unlessMissing('NoSuchEntityException', () =>
    iam.send(new DeleteAccessKeyCommand({ UserName: userName, AccessKeyId: accessKeyId })),
  );
}

async function neverUsedStrays(
  iam: IAMClient,
  keys: AccessKeyMetadata[],
  ours: (string | undefined)[],
): Promise<string[]> {
  return (await classifyStrays(iam, keys, ours)).neverUsed;
}

/**
 * The keys that are not ours (neither the secret's nor a rotation's), by their last use. One
 * never used was left by a run killed between CreateAccessKey and the secret write. One used and
 * active someone else made or kept: a tamper finding. One used and inactive is left alone: it
 * authenticates nothing, and a completed rotation leaves the old key so.
 */
async function classifyStrays(
  iam: IAMClient,
  keys: AccessKeyMetadata[],
  ours: (string | undefined)[],
): Promise<{ neverUsed: string[]; usedActive: string[] }> {
  const out = { neverUsed: [] as string[], usedActive: [] as string[] };
  for (const key of keys) {
    if (!key.AccessKeyId || ours.includes(key.AccessKeyId)) continue;
    const used = (await iam.send(new GetAccessKeyLastUsedCommand({ AccessKeyId: key.AccessKeyId })))
      .AccessKeyLastUsed;
    if (!used?.LastUsedDate) out.neverUsed.push(key.AccessKeyId);
    else if (key.Status === 'Active') out.usedActive.push(key.AccessKeyId);
  }
  return out;
}

/** Evidence the connector uses a key: a call by a service other than STS after the key was made. */
export async function usedByConnectorSince(
  iam: IAMClient,
  accessKeyId: string,
  since: Date | undefined,
): Promise<boolean> {
  const used = (await iam.send(new GetAccessKeyLastUsedCommand({ AccessKeyId: accessKeyId })))
    .AccessKeyLastUsed;
  if (!used?.LastUsedDate || !used.ServiceName || used.ServiceName === 'N/A' || used.ServiceName === 'sts')
    return false;
  return !since || used.LastUsedDate.getTime() >= since.getTime();
}

/** A ClientRequestToken (32–64 chars) derived from the key id: the same write replays as a no-op. */
function tokenFor(accessKeyId: string): string {
  return createHash('sha256').update(accessKeyId).digest('hex').slice(0, 36);
}
