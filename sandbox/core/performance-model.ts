/**
 * Latency and rate limits per service, for the benchmark. Rates follow AWS's published quotas
 * where they exist (reference/aws-api.md §5); where AWS publishes none (IAM, STS, Organizations)
 * the figure is an assumption, marked as such, in the same order as what users report.
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
        perSecond: 100,
        burst: 200,
        scope: 'account-region',
        basis: 'assumption: AWS publishes no STS rate',
      },
      write: { perSecond: 100, burst: 200, scope: 'account-region', basis: 'assumption' },
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
