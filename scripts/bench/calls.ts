import type { CallRecord } from '../../sandbox/core/call-log';
import { round2 } from './format';

/** The error codes a throttled call answers with, across the services casbridge calls. */
export const THROTTLING_CODES = new Set([
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'SlowDown',
  'RequestLimitExceeded',
  'ProvisionedThroughputExceededException',
]);

export function isThrottled(call: CallRecord): boolean {
  return call.errorCode !== undefined && THROTTLING_CODES.has(call.errorCode);
}

export interface CallSplit {
  read: number;
  write: number;
  byService: Record<string, { read: number; write: number }>;
}

/**
 * Calls per account: every call made in a fleet account, plus the central account's calls made
 * while the map ran (AssumeRole, Secrets Manager, SNS, the ledger), spread evenly over the
 * accounts; the central calls before and after the map (ResolveTargets, WriteReport) are the
 * run's, reported apart.
 */
export function perAccountCalls(
  calls: CallRecord[],
  fleet: Set<string>,
  central: string,
  window: { from: number; to: number },
) {
  const all: CallSplit = { read: 0, write: 0, byService: {} };
  for (const call of calls) {
    const inFleet = call.account !== undefined && fleet.has(call.account);
    const centralDuringMap = call.account === central && call.seq > window.from && call.seq <= window.to;
    if (!inFleet && !centralDuringMap) continue;
    if (isThrottled(call)) continue;
    const kind = call.readOnly ? 'read' : 'write';
    all[kind]++;
    const service = all.byService[call.service] ?? { read: 0, write: 0 };
    service[kind]++;
    all.byService[call.service] = service;
  }
  const n = fleet.size;
  const per = (v: number) => round2(v / n);
  const ledger = all.byService.dynamodb ?? { read: 0, write: 0 };
  return {
    total: per(all.read + all.write),
    read: per(all.read),
    write: per(all.write),
    withoutLedger: {
      total: per(all.read + all.write - ledger.read - ledger.write),
      read: per(all.read - ledger.read),
      write: per(all.write - ledger.write),
    },
    byService: Object.fromEntries(
      Object.entries(all.byService)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([service, s]) => [service, { read: per(s.read), write: per(s.write) }]),
    ),
  };
}

export function runLevelCalls(calls: CallRecord[], central: string, window: { from: number; to: number }) {
  const counts: Record<string, number> = {};
  for (const call of calls) {
    if (call.account !== central || (call.seq > window.from && call.seq <= window.to)) continue;
    const key = `${call.service}:${call.operation}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

/**
 * AssumeRoles per account as AWS sees them, by the function whose role called (the caller's
 * session is named after the function, as Lambda names it): each execution environment keeps its
 * own sessions, so one account's tasks in different environments each assume the member role.
 */
export function assumeRolesByFunction(
  calls: CallRecord[],
  central: string,
  window: { from: number; to: number },
  accounts: number,
): { total: number; byFunction: Record<string, number> } {
  const counts: Record<string, number> = {};
  let total = 0;
  for (const call of calls) {
    if (call.operation !== 'AssumeRole' || call.service !== 'sts' || isThrottled(call)) continue;
    if (call.account !== central || call.seq <= window.from || call.seq > window.to) continue;
    const session = call.callerArn?.split('/').pop() ?? 'unknown';
    const fn = session.replace(/^casbridge-[^-]+-/, '');
    counts[fn] = (counts[fn] ?? 0) + 1;
    total++;
  }
  const per = (v: number) => round2(v / Math.max(1, accounts));
  return {
    total: per(total),
    byFunction: Object.fromEntries(Object.entries(counts).map(([fn, n]) => [fn, per(n)])),
  };
}
