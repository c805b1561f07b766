import type { Config } from '../../commons/config';
import type { LedgerItem } from '../../commons/ledger';
import { OFFBOARDED_STATUSES } from '../../commons/ledger-view';
import type { RunMode, SkipReason } from '../../commons/run';
import type { ItemMode } from '../../commons/task-input';
import type { OrganizationAccount } from './organization';
import { inScope } from './scope';

/**
 * What one run does with one account of the organization: the mode it is worked in, or why it
 * is left alone. The account lifecycle of the README ("The account lifecycle") in one place, for
 * every trigger: a person's or the schedule's run input, and each lifecycle event.
 */
export type Decision = { mode: ItemMode } | { skip: SkipReason };

export interface DecisionContext {
  /** The run's mode (an event's run: `onboard`, see planEvent). */
  mode: RunMode;
  execution: string;
  managementAccountId: string;
  config: Pick<Config, 'excludedAccounts' | 'scopeOus' | 'scopeExcludedOus' | 'outOfScopeAction'>;
  /** Named by id in a person's run input (not reached through an OU, the whole organization or an event). */
  named: boolean;
  ledger: LedgerItem | undefined;
  nowMs: number;
}

const INACTIVE: Readonly<Record<string, SkipReason>> = {
  SUSPENDED: 'suspended',
  CLOSED: 'closed',
  PENDING_CLOSURE: 'pending-closure',
};

/**
 * An account of the organization. The first reason that applies wins, from the most permanent
 * (what the account is) to the most passing (a lease).
 */
export function decideMember(account: OrganizationAccount, ctx: DecisionContext): Decision {
  // casbridge runs in the management account (or for it) and never puts a connector user there.
  if (account.accountId === ctx.managementAccountId) return { skip: 'management-account' };
  // Exclusion holds in every mode, offboard included: casbridge never touches an excluded account.
  if (ctx.config.excludedAccounts.includes(account.accountId)) return { skip: 'excluded' };
  const state = account.state ?? '';
  if (state === 'PENDING_ACTIVATION') return { skip: 'pending-activation' };
  const wanted = wantedMode(account, state, ctx);
  if ('skip' in wanted) return wanted;
  // retry-failed lists the accounts it passes over, like every run: the report then says why a
  // retry did not touch an account, instead of the account silently missing from it.
  if (ctx.mode === 'retry-failed' && ctx.ledger?.lastOutcome !== 'FAILED')
    return { skip: 'not-failed-last-run' };
  return leaseHeld(ctx) ? { skip: 'lease-held-by-another-run' } : wanted;
}

/**
 * An account the ledger knows and the organization no longer has (it left, was removed, or was
 * cleaned out after its closure): its central records are cleaned up once (`depart`), then it is
 * DEPARTED and every later run leaves it be.
 */
export function decideDeparted(accountId: string, ctx: Omit<DecisionContext, 'named'>): Decision {
  if (accountId === ctx.managementAccountId) return { skip: 'management-account' };
  if (ctx.config.excludedAccounts.includes(accountId)) return { skip: 'excluded' };
  if (!ctx.ledger) return { skip: 'never-onboarded' };
  if (ctx.ledger.connector === 'DEPARTED') return { skip: 'departed' };
  if (ctx.mode === 'retry-failed' && ctx.ledger.lastOutcome !== 'FAILED')
    return { skip: 'not-failed-last-run' };
  return leaseHeld(ctx) ? { skip: 'lease-held-by-another-run' } : { mode: 'depart' };
}

/**
 * The mode the account is worked in: the run's, except that an `offboard` run is a person's
 * offboarding (item mode `offboard`: RETIRED), and retry-failed retries an account that failed
 * in the mode of the run where it failed (the ledger's lastMode, written by RecordResult). An
 * item recorded before lastMode existed names that run's mode at the head of its run id.
 */
export function workMode(mode: RunMode, ledger: LedgerItem | undefined): ItemMode {
  if (mode !== 'retry-failed' || ledger?.lastOutcome !== 'FAILED') return mode;
  return ledger.lastMode ?? (ledger.lastRunId?.startsWith('offboard-') ? 'offboard' : 'onboard');
}

/**
 * Whether the ledger says casbridge gave the account a connector that offboarding would remove:
 * a key, a secret, or a hand-off. An account that only ever failed (RoleMissing, say) has none,
 * and is only skipped when it closes or leaves the scope: an offboarding would tell the operator
 * to remove a connector instance that never existed.
 */
export function holdsConnector(ledger: LedgerItem | undefined): boolean {
  if (!ledger || OFFBOARDED_STATUSES.includes(ledger.connector)) return false;
  return ledger.connector !== 'NOT_REGISTERED' || Boolean(ledger.accessKeyId) || Boolean(ledger.secretArn);
}

function wantedMode(account: OrganizationAccount, state: string, ctx: DecisionContext): Decision {
  const inactive = INACTIVE[state];
  const work = workMode(ctx.mode, ctx.ledger);
  if (work === 'offboard') {
    // A person's offboarding (or its retry) ignores the scope: offboarding what is out of it is
    // how an operator cleans up after narrowing it. It removes a working connector, so an ACTIVE
    // account is offboarded only when named by id: an OU or the whole organization selects only
    // the accounts that have left (a mistyped OU must not disconnect a branch of the
    // organization). A retried offboarding was in the scope of the offboard run where it failed.
    const chosen = ctx.named || ctx.mode === 'retry-failed';
    return inactive || (state === 'ACTIVE' && chosen) ? { mode: 'offboard' } : { skip: 'out-of-scope' };
  }
  // Everything else (onboard, reconcile, an event, or the retry of any of them, an automatic
  // offboarding included) is decided afresh on what the account is now.
  if (inactive) {
    // Closed or suspended: what casbridge gave it is offboarded, once; then it is only skipped.
    return holdsConnector(ctx.ledger) ? { mode: 'auto-offboard' } : { skip: inactive };
  }
  // A State AWS adds later is not worked on until casbridge knows what it means.
  if (state !== 'ACTIVE') return { skip: 'out-of-scope' };
  if (!inScope(ctx.config, account)) {
    return ctx.config.outOfScopeAction === 'offboard' && holdsConnector(ctx.ledger)
      ? { mode: 'auto-offboard' }
      : { skip: 'out-of-scope' };
  }
  if (ctx.ledger?.connector === 'RETIRED' && !ctx.named && !retriesNamedOnboarding(ctx))
    return { skip: 'retired' };
  const onboarding = work === 'auto-offboard' || work === 'depart' ? 'reconcile' : work;
  return { mode: onboarding };
}

/**
 * A retired account's failed onboarding is retried by retry-failed: the run that failed was one
 * that named it, since no other onboards a retired account.
 */
function retriesNamedOnboarding(ctx: DecisionContext): boolean {
  return (
    ctx.mode === 'retry-failed' &&
    ctx.ledger?.lastOutcome === 'FAILED' &&
    (ctx.ledger.lastMode === 'onboard' || ctx.ledger.lastMode === 'reconcile')
  );
}

/**
 * Another execution works on the account now; its run (or the next one) handles it. A dry run
 * skips it too, so its plan is what a real run started now would do.
 */
function leaseHeld(ctx: Pick<DecisionContext, 'ledger' | 'execution' | 'nowMs'>): boolean {
  const lease = ctx.ledger;
  return Boolean(
    lease?.leaseOwner && lease.leaseOwner !== ctx.execution && (lease.leaseExpiresAt ?? 0) > ctx.nowMs,
  );
}
