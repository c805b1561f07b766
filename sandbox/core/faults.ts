import { AwsError } from './aws-error';
import type { PerformanceModel } from './performance-model';
import type { Rng } from './rng';

/** An error to return for the next `remaining` calls of one operation in one account. */
export interface InjectedError {
  service: string;
  operation: string;
  code: string;
  message?: string;
  status?: number;
  remaining: number;
}

/**
 * A call held before it is served until `hold` settles, for the next `remaining` calls of one
 * operation in one account: a test pauses an execution at a known point, does what it wants done
 * meanwhile (another execution's whole run), then lets it go on. No wall time, no race.
 */
export interface HeldCall {
  service: string;
  operation: string;
  remaining: number;
  hold: () => Promise<unknown>;
}

export interface AccountFaults {
  /** Probability (0–1) that a call to the service is throttled, per service signing name. */
  throttle?: Record<string, number>;
  /** Extra latency for every call the account makes. */
  latencyMs?: number;
  /**
   * How long each call the account makes to a service (by signing name) takes on the sandbox's
   * clock, which moves forward by that much before the call is served: a slow account (minutes
   * per call, say) that costs no wall time.
   */
  clockLatencyMs?: Record<string, number>;
  injectedErrors?: InjectedError[];
  heldCalls?: HeldCall[];
}

export interface CallFacts {
  service: string;
  operation: string;
  accountId: string;
  region: string;
  readOnly: boolean;
}

/** `clockMs`: how far the sandbox's clock moves before the call is served; `hold`: what it waits for. */
export type FaultVerdict = { clockMs: number; hold?: () => Promise<unknown> } & (
  | { kind: 'pass'; delayMs: number }
  | { kind: 'throttle'; delayMs: number; reason: string }
  | { kind: 'error'; delayMs: number; error: AwsError }
);

/**
 * Decides, before a call is served, whether a fault hits it: injected errors, random throttling,
 * and (when a performance model is on) latency and token-bucket rate limits.
 */
export class FaultEngine {
  readonly byAccount = new Map<string, AccountFaults>();
  private model: PerformanceModel | undefined;
  private readonly buckets = new Map<string, { tokens: number; updatedMs: number }>();

  constructor(private readonly rng: Rng) {}

  setModel(model: PerformanceModel | undefined): void {
    this.model = model;
    this.buckets.clear();
  }

  getModel(): PerformanceModel | undefined {
    return this.model;
  }

  forAccount(accountId: string): AccountFaults {
    let faults = this.byAccount.get(accountId);
    if (!faults) {
      faults = {};
      this.byAccount.set(accountId, faults);
    }
    return faults;
  }

  inject(accountId: string, error: InjectedError): void {
    const faults = this.forAccount(accountId);
    faults.injectedErrors = [...(faults.injectedErrors ?? []), error];
  }

  hold(accountId: string, call: HeldCall): void {
    const faults = this.forAccount(accountId);
    faults.heldCalls = [...(faults.heldCalls ?? []), call];
  }

  check(call: CallFacts): FaultVerdict {
    const faults = this.byAccount.get(call.accountId);
    const delayMs = this.latency(call) + (faults?.latencyMs ?? 0);
    const clock = { clockMs: faults?.clockLatencyMs?.[call.service] ?? 0, ...this.takeHold(faults, call) };
    const injected = faults?.injectedErrors?.find(
      (e) => e.remaining > 0 && e.service === call.service && e.operation === call.operation,
    );
    if (injected) {
      injected.remaining--;
      return {
        ...clock,
        kind: 'error',
        delayMs,
        error: new AwsError(
          injected.code,
          injected.message ?? `Injected fault: ${injected.code}`,
          injected.status ?? 400,
        ),
      };
    }
    const rate = faults?.throttle?.[call.service];
    if (rate !== undefined && this.rng.next() < rate)
      return { ...clock, kind: 'throttle', delayMs, reason: 'injected' };
    if (this.model && !this.takeToken(call))
      return { ...clock, kind: 'throttle', delayMs, reason: 'rate-limit' };
    return { ...clock, kind: 'pass', delayMs };
  }

  private takeHold(faults: AccountFaults | undefined, call: CallFacts): { hold?: () => Promise<unknown> } {
    const held = faults?.heldCalls?.find(
      (h) => h.remaining > 0 && h.service === call.service && h.operation === call.operation,
    );
    if (!held) return {};
    held.remaining--;
    return { hold: held.hold };
  }

  private latency(call: CallFacts): number {
    const spec = this.model?.latency[call.service];
    if (!spec) return 0;
    return Math.max(0, spec.meanMs + (this.rng.next() * 2 - 1) * spec.jitterMs);
  }

  private takeToken(call: CallFacts): boolean {
    const rates = this.model?.rates[call.service];
    if (!rates) return true;
    const spec = call.readOnly ? rates.read : rates.write;
    const kind = spec.pool ?? (call.readOnly ? 'r' : 'w');
    const key = `${call.service}/${kind}/${call.region}/${spec.scope === 'region' ? '' : call.accountId}`;
    const nowMs = performance.now();
    const bucket = this.buckets.get(key) ?? { tokens: spec.burst, updatedMs: nowMs };
    bucket.tokens = Math.min(
      spec.burst,
      bucket.tokens + ((nowMs - bucket.updatedMs) / 1000) * spec.perSecond,
    );
    bucket.updatedMs = nowMs;
    this.buckets.set(key, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }
}
