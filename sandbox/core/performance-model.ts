/**
 * Latency and rate limits per service, for the benchmark. Rates follow AWS's published quotas
 * where they exist (reference/aws-api.md §5, reference/lifecycle-and-scale.md §4); where AWS
 * publishes none (IAM, Organizations, every bucket's burst) the figure is an assumption, marked as
 * such, in the same order as what users report. No latency is published: each is an assumption.
 */
export interface LatencySpec {
  meanMs: number;
  jitterMs: number;
}

export interface RateSpec {
  /** Sustained requests per second; the bucket holds `burst` tokens. */
  perSecond: number;
  burst: number;
  /** What the bucket is shared by: every account separately, or the whole Region. */
  scope: 'account-region' | 'region';
  /** Where the figure comes from. */
  basis: string;
  /**
   * The bucket's name when reads and writes share one (STS: one quota for every operation);
   * unset, reads and writes have a bucket each.
   */
  pool?: string;
}

export interface PerformanceModel {
  latency: Record<string, LatencySpec>;
  rates: Record<string, { read: RateSpec; write: RateSpec }>;
}

export const DEFAULT_PERFORMANCE_MODEL: PerformanceModel = {
  latency: {
    sts: { meanMs: 45, jitterMs: 20 },
    iam: { meanMs: 70, jitterMs: 30 },
    organizations: { meanMs: 90, jitterMs: 40 },
    cloudtrail: { meanMs: 80, jitterMs: 30 },
    s3: { meanMs: 35, jitterMs: 15 },
    secretsmanager: { meanMs: 40, jitterMs: 15 },
    sns: { meanMs: 35, jitterMs: 15 },
    dynamodb: { meanMs: 8, jitterMs: 4 },
    states: { meanMs: 30, jitterMs: 10 },
  },
  rates: {
    cloudtrail: {
      read: {
        perSecond: 10,
        burst: 10,
        scope: 'account-region',
        basis: 'AWS quota: Get/Describe/List 10 TPS per account and Region',
      },
      write: {
        perSecond: 1,
        burst: 1,
        scope: 'account-region',
        basis: 'AWS quota: other APIs 1 TPS per account and Region',
      },
    },
    secretsmanager: {
      read: {
        perSecond: 10_000,
        burst: 10_000,
        scope: 'account-region',
        basis: 'AWS quota: DescribeSecret+GetSecretValue 10,000/s',
      },
      write: {
        perSecond: 50,
        burst: 50,
        scope: 'account-region',
        basis: 'AWS quota: PutSecretValue and other writes 50/s',
      },
    },
    organizations: {
      read: {
        perSecond: 20,
        burst: 40,
        scope: 'account-region',
        basis: 'assumption: AWS publishes no Organizations rate',
      },
      write: { perSecond: 5, burst: 10, scope: 'account-region', basis: 'assumption' },
    },
    sts: {
      read: {
        perSecond: 600,
        burst: 600,
        scope: 'account-region',
        basis:
          'AWS quota: 600 requests/s per account and Region, shared by AssumeRole, GetCallerIdentity and the rest, charged to the calling account (IAM and STS quotas page); burst of one second: assumption',
        pool: 'all',
      },
      write: {
        perSecond: 600,
        burst: 600,
        scope: 'account-region',
        basis: 'AWS quota: the same 600/s bucket as the reads',
        pool: 'all',
      },
    },
    iam: {
      read: {
        perSecond: 20,
        burst: 40,
        scope: 'account-region',
        basis: 'assumption: IAM token buckets are unpublished',
      },
      write: { perSecond: 10, burst: 15, scope: 'account-region', basis: 'assumption' },
    },
  },
};

/**
 * The model slowed K times: every latency (mean and jitter) K times longer, every rate K times
 * lower, every burst as it is. Whatever the model alone bounds then takes exactly K times as long,
 * while the CPU the same calls cost stays what it was: the benchmark's `--time-scale`, for a host
 * whose CPU would otherwise bind before the model does.
 */
export function scalePerformanceModel(model: PerformanceModel, k: number): PerformanceModel {
  if (!(k > 0) || !Number.isFinite(k)) throw new RangeError(`time scale must be a positive number, not ${k}`);
  const rate = (spec: RateSpec): RateSpec => ({ ...spec, perSecond: spec.perSecond / k });
  return {
    latency: Object.fromEntries(
      Object.entries(model.latency).map(([service, l]) => [
        service,
        { meanMs: l.meanMs * k, jitterMs: l.jitterMs * k },
      ]),
    ),
    rates: Object.fromEntries(
      Object.entries(model.rates).map(([service, r]) => [
        service,
        { read: rate(r.read), write: rate(r.write) },
      ]),
    ),
  };
}
