import type { CallRecord } from '../../sandbox/core/call-log';
import type { PerformanceModel } from '../../sandbox/core/performance-model';
import type { AccountSequence } from './baseline';
import { isThrottled } from './calls';
import { coldStartMs, type DeployedModel } from './deployed-model';
import { round } from './format';
import { bucketDrainMs } from './token-bucket';

/** The organization as the walk meets it: each parent's accounts and child OUs. */
export interface OrganizationShape {
  rootId: string;
  ous: { id: string; parentId: string }[];
  accounts: { parentId: string }[];
}

/** Organizations' page size (the most a List* page holds; casbridge asks for it). */
const PAGE_SIZE = 20;
/** The sandbox serves an empty page (with a NextToken) at every third position, as AWS may. */
const EMPTY_PAGE_EVERY = 3;

/**
 * Pages one List* of `items` takes: the sandbox's rule (sandbox/services/organizations.ts
 * `paginate`): full pages of 20, and an empty page wherever the position is 1 modulo 3.
 */
export function pagesFor(items: number, emptyPages = true): number {
  let offset = 0;
  let page = 0;
  do {
    if (!(emptyPages && page % EMPTY_PAGE_EVERY === 1 && offset < items)) offset += PAGE_SIZE;
    page++;
  } while (offset < items);
  return page;
}

/**
 * The Organizations walk as a chain of pages, each waiting for the previous one's NextToken: the
 * longest single parent's chain, not the sum — parents are independent, so a walk that lists
 * them in parallel is bound by the one whose pages, after those that found it, are the most.
 * A parent is found by its ancestors' ListOrganizationalUnitsForParent pages; its own accounts'
 * and child OUs' listings run side by side. Two calls come first: DescribeOrganization (the
 * management account) and ListRoots.
 */
export function listingChain(org: OrganizationShape): { pages: number; parent: string } {
  const children = new Map<string, string[]>();
  for (const ou of org.ous) children.set(ou.parentId, [...(children.get(ou.parentId) ?? []), ou.id]);
  const accounts = new Map<string, number>();
  for (const a of org.accounts) accounts.set(a.parentId, (accounts.get(a.parentId) ?? 0) + 1);
  let longest = { pages: 0, parent: org.rootId };
  const visit = (parent: string, before: number) => {
    const ouPages = pagesFor(children.get(parent)?.length ?? 0);
    const own = before + Math.max(pagesFor(accounts.get(parent) ?? 0), ouPages);
    if (own > longest.pages) longest = { pages: own, parent };
    for (const child of children.get(parent) ?? []) visit(child, before + ouPages);
  };
  visit(org.rootId, 2);
  return longest;
}

export interface BoundInput {
  model: PerformanceModel;
  deployed: DeployedModel;
  phaseCalls: CallRecord[];
  /** One account at a time (the baseline): each account's calls and its tasks' functions, in order. */
  sequences: AccountSequence[];
  centralAccount: string;
  organization: OrganizationShape;
  /** States entered (and retried) in the phase: what the transition bucket is charged. */
  transitions: number;
  /** Child executions the map started (one per account). */
  childExecutions: number;
  /** New execution environments per function in the phase. */
  environments: Record<string, number>;
}

/**
 * The fastest the phase could go under the model with unlimited concurrency, as deployed:
 *
 *   listing chain + the run's tasks before the map + max(critical path, busiest bucket) + WriteReport
 *
 * - the listing chain (`listingChain`) at Organizations' mean latency: the map reads its items
 *   from what ResolveTargets wrote, so nothing of the map starts before the walk ends;
 * - the run's own tasks (ResolveTargets, EnsureOrganizationTrail before the map, WriteReport
 *   after): each an invocation's overhead and a cold start (their calls beyond the walk are not
 *   counted: the bound stays a lower bound);
 * - the longest per-account critical path: the account's calls in order (from the baseline), each
 *   at its service's mean latency, waiting where the account's own token bucket is empty (two
 *   CloudTrail writes are a second apart), plus each task's invoke overhead and one cold start
 *   (the first task: no environment exists when the map starts; later ones may be warm);
 * - the busiest bucket: each rate-limited resource's demand in the phase beyond its burst over its
 *   rate — the central account's (AssumeRole in STS's one bucket, Secrets Manager writes,
 *   Organizations pages), Step Functions' transitions and child execution starts, and each
 *   function's new execution environments.
 */
export function idealBound(input: BoundInput) {
  const { model, deployed, centralAccount } = input;
  const overhead = deployed.lambda.invokeOverheadMs.value;
  let criticalPathMs = 0;
  for (const sequence of input.sequences) {
    let t = 0;
    const buckets = new Map<string, { tokens: number; at: number }>();
    for (const call of sequence.calls) {
      if (isThrottled(call)) continue;
      const spec = model.rates[call.service]?.[call.readOnly ? 'read' : 'write'];
      if (spec && call.account !== centralAccount) {
        const key = `${call.service}/${spec.pool ?? call.readOnly}`;
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
    const first = sequence.functions[0];
    t += sequence.functions.length * overhead + (first ? coldStartMs(deployed, first) : 0);
    criticalPathMs = Math.max(criticalPathMs, t);
  }
  const buckets = [
    ...centralBuckets(model, input.phaseCalls, centralAccount),
    ...deployedBuckets(input),
  ].sort((a, b) => b.ms - a.ms);
  const busiest = buckets[0];
  const chain = listingChain(input.organization);
  const listingChainMs = chain.pages * (model.latency.organizations?.meanMs ?? 0);
  const task = (fn: string) => overhead + coldStartMs(deployed, fn);
  const beforeMapMs = listingChainMs + task('resolveTargets') + task('organizationTrail');
  const afterMapMs = task('writeReport');
  const mapMs = Math.max(criticalPathMs, busiest?.ms ?? 0);
  return {
    boundMs: round(beforeMapMs + mapMs + afterMapMs),
    bindingConstraint:
      busiest && busiest.ms > criticalPathMs ? busiest.bucket : 'the per-account critical path',
    listingPages: chain.pages,
    listingChainMs: round(listingChainMs),
    beforeMapMs: round(beforeMapMs),
    mapMs: round(mapMs),
    afterMapMs: round(afterMapMs),
    criticalPathMs: round(criticalPathMs),
    buckets,
  };
}

interface BucketDemand {
  bucket: string;
  calls: number;
  perSecond: number;
  burst: number;
  ms: number;
}

/** The central account's calls per bucket (STS's reads and writes are one). */
function centralBuckets(model: PerformanceModel, calls: CallRecord[], central: string): BucketDemand[] {
  const counts = new Map<string, { calls: number; perSecond: number; burst: number }>();
  for (const call of calls) {
    if (call.account !== central || isThrottled(call)) continue;
    const kind = call.readOnly ? 'read' : 'write';
    const spec = model.rates[call.service]?.[kind];
    if (!spec) continue;
    const key = `${call.service}:${spec.pool ?? kind}`;
    const entry = counts.get(key) ?? { calls: 0, perSecond: spec.perSecond, burst: spec.burst };
    entry.calls++;
    counts.set(key, entry);
  }
  return [...counts].map(([bucket, c]) => ({
    bucket,
    ...c,
    ms: round(bucketDrainMs(c.calls, c.perSecond, c.burst)),
  }));
}

function deployedBuckets(input: BoundInput): BucketDemand[] {
  const { transitions, executionStarts } = input.deployed.stepFunctions;
  const scaling = input.deployed.lambda.scaling;
  const demand = (bucket: string, calls: number, spec: { perSecond: number; burst: number }) => ({
    bucket,
    calls,
    perSecond: spec.perSecond,
    burst: spec.burst,
    ms: round(bucketDrainMs(calls, spec.perSecond, spec.burst)),
  });
  return [
    demand('states:transitions', input.transitions, transitions),
    demand('states:child executions', input.childExecutions, executionStarts),
    ...Object.entries(input.environments).map(([fn, n]) => demand(`lambda:${fn} environments`, n, scaling)),
  ];
}
