import type { CallRecord } from '../../sandbox/core/call-log';
import type { PerformanceModel } from '../../sandbox/core/performance-model';
import { isThrottled } from './calls';
import { round } from './format';

/**
 * The fastest the phase could go under the model with unlimited concurrency, whichever is larger:
 * - the longest per-account critical path: the account's calls in order (from the baseline), each
 *   at its service's mean latency, waiting where the account's own token bucket is empty (two
 *   CloudTrail writes are a second apart) — after the account is known: the last account is
 *   listed only when Organizations has returned every page before it, and pages come one after
 *   another (each needs the previous one's NextToken). The bench targets one OU, so the phase's
 *   ListAccountsForParent pages are one such chain, each at Organizations' mean latency;
 * - the busiest central-account bucket: its calls in the phase beyond the burst, over its rate
 *   (AssumeRole, Secrets Manager writes, Organizations pages all come from the central account).
 * `withoutListingMs` is the same bound without the listing chain, as issue 6 first worded it.
 */
export function idealBound(
  model: PerformanceModel,
  phaseCalls: CallRecord[],
  sequences: CallRecord[][],
  centralAccount: string,
) {
  let criticalPathMs = 0;
  for (const sequence of sequences) {
    let t = 0;
    const buckets = new Map<string, { tokens: number; at: number }>();
    for (const call of sequence) {
      if (isThrottled(call)) continue;
      const spec = model.rates[call.service]?.[call.readOnly ? 'read' : 'write'];
      if (spec && call.account !== centralAccount) {
        const key = `${call.service}/${call.readOnly}`;
        const bucket = buckets.get(key) ?? { tokens: spec.burst, at: t };
        bucket.tokens = Math.min(spec.burst, bucket.tokens + ((t - bucket.at) / 1000) * spec.perSecond);
        if (bucket.tokens < 1) {
          t += ((1 - bucket.tokens) / spec.perSecond) * 1000;
          bucket.tokens = 1;
        }
        bucket.tokens -= 1;
        bucket.at = t;
        buckets.set(key, bucket);
      }
      t += model.latency[call.service]?.meanMs ?? 0;
    }
    criticalPathMs = Math.max(criticalPathMs, t);
  }
  const central = new Map<string, number>();
  for (const call of phaseCalls) {
    if (call.account !== centralAccount || isThrottled(call)) continue;
    const key = `${call.service}:${call.readOnly ? 'read' : 'write'}`;
    central.set(key, (central.get(key) ?? 0) + 1);
  }
  const centralBuckets = [...central]
    .map(([key, calls]) => {
      const [service, kind] = key.split(':') as [string, 'read' | 'write'];
      const spec = model.rates[service]?.[kind];
      return {
        bucket: key,
        calls,
        perSecond: spec?.perSecond,
        ms: spec ? round((Math.max(0, calls - spec.burst) / spec.perSecond) * 1000) : 0,
      };
    })
    .filter((b) => b.perSecond !== undefined)
    .sort((a, b) => b.ms - a.ms);
  const centralMs = centralBuckets[0]?.ms ?? 0;
  const listingPages = phaseCalls.filter(
    (c) => c.account === centralAccount && c.operation === 'ListAccountsForParent' && !isThrottled(c),
  ).length;
  const listingChainMs = listingPages * (model.latency.organizations?.meanMs ?? 0);
  const pathMs = listingChainMs + criticalPathMs;
  return {
    boundMs: round(Math.max(pathMs, centralMs)),
    bindingConstraint:
      pathMs >= centralMs ? 'listing chain + per-account critical path' : centralBuckets[0]?.bucket,
    listingPages,
    listingChainMs: round(listingChainMs),
    criticalPathMs: round(criticalPathMs),
    centralBuckets,
    withoutListingMs: round(Math.max(criticalPathMs, centralMs)),
  };
}
