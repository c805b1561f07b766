/**
 * The monthly cost of running casbridge (issue 12 §7): counts measured from real local executions
 * (./account-kinds.ts) times the published us-east-1 prices below, for an organization of a given
 * size under a stated scenario. Pure arithmetic: test/unit/cost-model.test.ts checks it.
 * docs/cost.md explains every line and assumption.
 */

/**
 * Where a figure comes from: an AWS page (`doc`), a third party that transcribes one
 * (`inference`: re-read the AWS page before relying on it), or nothing found (`assumption`).
 */
export type Basis = 'doc' | 'inference' | 'assumption';

export interface Price {
  usd: number;
  /** The quantity `usd` buys: 0.025 USD per 1,000 transitions. */
  per: number;
  unit: string;
  basis: Basis;
  source: string;
}

/** us-east-1 list prices, without free tiers (they are the account's, and other workloads use them). */
export const PRICES = {
  transitions: {
    usd: 0.025,
    per: 1000,
    unit: 'state transitions',
    basis: 'doc',
    source:
      'https://aws.amazon.com/step-functions/pricing/ (Standard; retries count); one per Distributed Map child execution started: https://docs.aws.amazon.com/step-functions/latest/dg/concepts-transitions.html',
  },
  lambdaGbSeconds: {
    usd: 0.0000133334,
    per: 1,
    unit: 'GB-seconds (arm64)',
    basis: 'inference',
    source:
      'https://cloudchipr.com/blog/aws-lambda-pricing (us-east-1, first tier), for https://aws.amazon.com/lambda/pricing/',
  },
  lambdaRequests: {
    usd: 0.2,
    per: 1_000_000,
    unit: 'requests',
    basis: 'inference',
    source: 'https://cloudchipr.com/blog/aws-lambda-pricing, for https://aws.amazon.com/lambda/pricing/',
  },
  secretMonths: {
    usd: 0.4,
    per: 1,
    unit: 'secret-months (prorated)',
    basis: 'inference',
    source:
      'https://aws.amazon.com/secrets-manager/pricing/ as transcribed in api-evangelist/amazon-secrets-manager plans/amazon-secrets-manager-plans-pricing.yml ("prorated for secrets stored less than a month")',
  },
  secretsManagerCalls: {
    usd: 0.05,
    per: 10_000,
    unit: 'API calls',
    basis: 'inference',
    source: 'https://aws.amazon.com/secrets-manager/pricing/ (same transcription)',
  },
  kmsKeyMonths: {
    usd: 1,
    per: 1,
    unit: 'customer managed key-months',
    basis: 'doc',
    source: 'https://aws.amazon.com/kms/pricing/ (+$1 a month per rotated backing key)',
  },
  kmsRequests: {
    usd: 0.03,
    per: 10_000,
    unit: 'requests',
    basis: 'inference',
    source: 'https://www.wring.co/blog/aws-kms-pricing-guide, for https://aws.amazon.com/kms/pricing/',
  },
  cloudTrailCopies: {
    usd: 2,
    per: 100_000,
    unit: 'management events in a second copy',
    basis: 'doc',
    source: 'https://aws.amazon.com/cloudtrail/pricing/ (the first copy of management events is free)',
  },
  dynamoWrites: {
    usd: 0.625,
    per: 1_000_000,
    unit: 'write request units (on-demand)',
    basis: 'inference',
    source:
      'https://aws.amazon.com/dynamodb/pricing/on-demand/ (its rates as quoted in several public repositories since the November 2024 cut; the page excerpt held no figures)',
  },
  dynamoReads: {
    usd: 0.125,
    per: 1_000_000,
    unit: 'read request units (on-demand)',
    basis: 'inference',
    source: 'https://aws.amazon.com/dynamodb/pricing/on-demand/ (as above)',
  },
  dynamoStorage: {
    usd: 0.25,
    per: 1,
    unit: 'GB-months',
    basis: 'inference',
    source: 'https://aws.amazon.com/dynamodb/pricing/on-demand/ (as above; the first 25 GB are free)',
  },
  s3Puts: {
    usd: 0.005,
    per: 1000,
    unit: 'PUT, COPY, POST or LIST requests',
    basis: 'inference',
    source: 'the AWS S3 price list for us-east-1 (Requests-Tier1), as quoted in a public repository',
  },
  s3Gets: {
    usd: 0.0004,
    per: 1000,
    unit: 'GET requests',
    basis: 'inference',
    source: 'the AWS S3 price list for us-east-1 (Requests-Tier2), as quoted in a public repository',
  },
  s3Storage: {
    usd: 0.023,
    per: 1,
    unit: 'GB-months (Standard)',
    basis: 'inference',
    source: 'the AWS S3 price list for us-east-1 (first 50 TB), as quoted in a public repository',
  },
  logsIngested: {
    usd: 0.5,
    per: 1,
    unit: 'GB of log data ingested',
    basis: 'inference',
    source: 'https://aws.amazon.com/cloudwatch/pricing/ as quoted in several public repositories',
  },
  logsStored: {
    usd: 0.03,
    per: 1,
    unit: 'GB-months of log data stored',
    basis: 'inference',
    source: 'https://aws.amazon.com/cloudwatch/pricing/ as quoted in several public repositories',
  },
} as const satisfies Record<string, Price>;

export type PriceName = keyof typeof PRICES;

/** What the measurement gives the model, per account of each kind and per run. */
export interface KindCounts {
  transitions: number;
  /** Lambda invocations by function. */
  invocations: Record<string, number>;
  /** AWS calls by `service:Operation`. */
  calls: Record<string, number>;
}

/** The kinds of account-run both key deliveries have (./account-kinds.ts). */
export type SharedKind = 'onboard' | 'awaiting' | 'connecting' | 'connected' | 'rotating' | 'rotated';
/** The kinds only keys minted on demand have: the `--new-key` run, the reconcile that finds a rotation due. */
export type OnDemandKind = 'minting' | 'rotationDue';

export interface Counts {
  /** The key delivery the kinds were measured under (CASBRIDGE_KEY_DELIVERY). */
  keyDelivery: 'on-demand' | 'at-handoff';
  kinds: Record<SharedKind, KindCounts> & Partial<Record<OnDemandKind, KindCounts>>;
  run: KindCounts & { reportBytesPerAccount: number };
  ledgerItemBytes: number;
}

/** The organization and the settings the month is priced for. Days and hours are calendar averages. */
export interface Scenario {
  accounts: number;
  /** New accounts onboarded per month, each by its own lifecycle-event run. */
  newAccountsPerMonth: number;
  /** The reconcile schedule: runs over every account per day (the `schedule` parameter, default 1). */
  reconcilesPerDay: number;
  keyMaxAgeDays: number;
  /**
   * Days from a hand-off to the operator's paste: at-handoff, the key's secret waits that long;
   * on-demand, the key is not minted until then (`credentials --new-key` at the paste).
   */
  pasteDelayDays: number;
  /**
   * On demand: minutes a minted key's secret lives, from the `--new-key` run's mint to the reveal
   * and the deletion that follows it (the one-account run's execution, then the reveal).
   */
  mintToRevealMinutes: number;
  /**
   * The least a stored secret is billed, in hours: AWS prorates a secret-month, and at what
   * granularity was not found, so a secret that lives minutes is billed a whole hour.
   */
  secretMinimumBilledHours: number;
  keepSecrets: boolean;
  secretRecoveryDays: number;
  /** Whether Secrets Manager bills a secret scheduled for deletion (AWS: it does not). */
  pendingDeletionBilled: boolean;
  trailMode: 'reuse-existing' | 'own' | 'organization';
  /** An organization trail (Control Tower's, say) already records every account's management events. */
  coveringTrail: boolean;
  managementEventsPerAccountMonth: number;
  /** Regions a member account has activity in: each gets its own trail log files. */
  activeRegionsPerAccount: number;
  /** Regions of the partition: log-file validation writes a digest file per Region per hour. */
  regions: number;
  customerManagedKey: boolean;
  webhook: boolean;
  logRetentionDays: number;
  lambdaMemoryMb: number;
  /** The modelled duration of one invocation: a fixed part and one part per AWS call it makes. */
  lambdaMsPerInvocation: number;
  lambdaMsPerCall: number;
  logBytesPerInvocation: number;
  /** Months of run reports kept in the reports bucket (it has no lifecycle rule). */
  reportMonthsKept: number;
}

export const DAYS_PER_MONTH = 365 / 12;
const HOURS_PER_MONTH = DAYS_PER_MONTH * 24;
const GB = 1024 ** 3;

/**
 * The stated assumptions for an organization of `accounts`: the stack's defaults for every
 * setting, and, where nothing was measured or found, a stated guess (docs/cost.md, "Assumptions").
 */
export function defaultScenario(accounts: number): Scenario {
  return {
    accounts,
    // reference/lifecycle-and-scale.md §5.2's example: 50 a month at 1,000 accounts, 200 at 10,000.
    newAccountsPerMonth: accounts >= 10_000 ? 200 : Math.max(1, Math.round(accounts / 20)),
    reconcilesPerDay: 1,
    keyMaxAgeDays: 75,
    pasteDelayDays: 7,
    // A one-account run: ResolveTargets, the pipeline's 12 states with the member role's first
    // assumption, WriteReport; a minute or two on Lambda, then the reveal. Ten, to be generous.
    mintToRevealMinutes: 10,
    secretMinimumBilledHours: 1,
    keepSecrets: false,
    secretRecoveryDays: 7,
    pendingDeletionBilled: false,
    trailMode: 'reuse-existing',
    coveringTrail: true,
    managementEventsPerAccountMonth: 300_000,
    activeRegionsPerAccount: 2,
    regions: 17,
    customerManagedKey: true,
    webhook: false,
    logRetentionDays: 90,
    lambdaMemoryMb: 512,
    lambdaMsPerInvocation: 60,
    lambdaMsPerCall: 70,
    logBytesPerInvocation: 1200,
    reportMonthsKept: 1,
  };
}

export interface LineItem {
  service: string;
  item: string;
  count: number;
  price: PriceName;
  usd: number;
}

export interface MonthlyCost {
  scenario: Scenario;
  /** Account-runs of each kind in the month. */
  accountRuns: Record<SharedKind | OnDemandKind, number>;
  runs: number;
  /** The connector secrets kept on average over the month. */
  secretsKept: number;
  lines: LineItem[];
  totalUsd: number;
}

/** The month: how many account-runs of each kind, then each line as count × price. */
export function monthlyCost(counts: Counts, scenario: Scenario): MonthlyCost {
  const s = scenario;
  const onDemand = counts.keyDelivery === 'on-demand';
  const reconcileRuns = s.reconcilesPerDay * DAYS_PER_MONTH;
  const rotations = (s.accounts * DAYS_PER_MONTH) / s.keyMaxAgeDays;
  const handoffs = s.newAccountsPerMonth + rotations;
  // A key handed off waits the paste, then until the next reconcile sees it used. On demand the
  // wait is the same (the key-due hand-off to the operator's --new-key at the paste, then the next
  // reconcile), but without a key, let alone a secret.
  const waitDays = s.pasteDelayDays + 1 / (2 * s.reconcilesPerDay);
  // The new accounts' waits: a rotation's wait is a connected account's reconcile (its key in
  // service polled as every day) on demand, an awaiting one at the hand-off (a new key's).
  const awaiting = (onDemand ? s.newAccountsPerMonth : handoffs) * waitDays * s.reconcilesPerDay;
  // On demand each key is minted by a one-account run of its own (`credentials --new-key`), not
  // by a reconcile: the reconcile that finds a rotation due only hands off that it is.
  const mints = onDemand ? handoffs : 0;
  const accountRuns = {
    onboard: s.newAccountsPerMonth,
    rotating: rotations,
    rotated: rotations,
    connecting: s.newAccountsPerMonth,
    awaiting,
    connected: 0,
    minting: onDemand ? s.newAccountsPerMonth : 0,
    rotationDue: onDemand ? rotations : 0,
  };
  // Reconciles of an account: connected unless awaiting, connecting, or in a rotation's reconciles
  // (at-handoff: rotating and rotated; on demand: rotationDue and rotated, the mint a run apart).
  const rotationReconciles = onDemand ? accountRuns.rotationDue + rotations : rotations * 2;
  accountRuns.connected = Math.max(
    0,
    s.accounts * reconcileRuns - awaiting - accountRuns.connecting - rotationReconciles,
  );
  // Each new account is onboarded by its own run (its lifecycle event), the rest by the schedule;
  // on demand each mint is a run too.
  const runs = reconcileRuns + s.newAccountsPerMonth + mints;
  const kindCounts = (kind: keyof typeof accountRuns): KindCounts | undefined =>
    // A rotation's mint is the `rotating` kind measured on demand (the --new-key run of a rotation).
    counts.kinds[kind];

  const total = (pick: (k: KindCounts) => number, withRuns = true) =>
    (Object.keys(accountRuns) as (keyof typeof accountRuns)[]).reduce(
      (sum, kind) => {
        if (accountRuns[kind] === 0) return sum;
        const k = kindCounts(kind);
        if (!k) throw new Error(`no counts for the ${kind} account-run (${counts.keyDelivery})`);
        return sum + accountRuns[kind] * pick(k);
      },
      withRuns ? runs * pick(counts.run) : 0,
    );
  const calls = (match: (call: string) => boolean) => (k: KindCounts) =>
    Object.entries(k.calls).reduce((n, [call, c]) => n + (match(call) ? c : 0), 0);
  const sum = (record: Record<string, number>) => Object.values(record).reduce((a, b) => a + b, 0);

  const lines: LineItem[] = [];
  const line = (service: string, item: string, count: number, price: PriceName) => {
    const p = PRICES[price];
    lines.push({ service, item, count, price, usd: (count / p.per) * p.usd });
  };

  // Step Functions: every state entered, each child execution, every retry; a webhook adds its
  // DeliverWebhook state to each hand-off.
  line(
    'Step Functions',
    'state transitions',
    total((k) => k.transitions) + (s.webhook ? handoffs : 0),
    'transitions',
  );

  // Lambda: each invocation's modelled duration at the functions' memory size.
  const invocations = total((k) => sum(k.invocations)) + (s.webhook ? handoffs : 0);
  const allCalls = total((k) => sum(k.calls));
  const gbSeconds =
    ((invocations * s.lambdaMsPerInvocation + allCalls * s.lambdaMsPerCall) / 1000) *
    (s.lambdaMemoryMb / 1024);
  line('Lambda', 'requests', invocations, 'lambdaRequests');
  line('Lambda', `duration at ${s.lambdaMemoryMb} MB`, gbSeconds, 'lambdaGbSeconds');

  // Secrets Manager: the secrets kept (each new key's until the connector uses it, or every
  // account's with keepSecrets), and the API calls, the operator's reveal of each hand-off and
  // the webhook's signing key included.
  // On demand a secret lives from its mint to the reveal (mintToRevealMinutes, billed at least
  // secretMinimumBilledHours), then waits its recovery window, which AWS does not bill.
  const secretDays = onDemand
    ? Math.max(s.mintToRevealMinutes / 60, s.secretMinimumBilledHours) / 24
    : waitDays;
  const inFlight = (handoffs * secretDays) / DAYS_PER_MONTH;
  const pendingDeletion = s.pendingDeletionBilled ? (handoffs * s.secretRecoveryDays) / DAYS_PER_MONTH : 0;
  // With keepSecrets every account keeps its one secret, a rotation's key a version of it.
  const secretsKept = s.keepSecrets ? s.accounts : inFlight + pendingDeletion;
  line('Secrets Manager', 'connector secrets kept (average)', secretsKept, 'secretMonths');
  // The operator's reveal: GetSecretValue (at-handoff); on demand also DescribeSecret and the
  // DeleteSecret that follows it.
  const secretCalls =
    total(calls((c) => c.startsWith('secretsmanager:'))) +
    handoffs * ((onDemand ? 3 : 1) + (s.webhook ? 1 : 0));
  line('Secrets Manager', 'API calls', secretCalls, 'secretsManagerCalls');

  // KMS: the secrets key, and one request per secret value written (GenerateDataKey) or read
  // (Decrypt), the operator's reveal included. With the AWS managed key the requests remain.
  if (s.customerManagedKey) line('KMS', 'customer managed key (alias/casbridge-secrets)', 1, 'kmsKeyMonths');
  const kmsRequests =
    total(
      calls((c) =>
        [
          'secretsmanager:CreateSecret',
          'secretsmanager:PutSecretValue',
          'secretsmanager:GetSecretValue',
        ].includes(c),
      ),
    ) + handoffs;
  line('KMS', 'requests through Secrets Manager', kmsRequests, 'kmsRequests');

  // CloudTrail: a second copy of every management event is paid. casbridge makes one only in
  // `own` mode where another trail already records the account (reuse-existing and organization
  // mode use that trail instead).
  const paidCopies = s.trailMode === 'own' && s.coveringTrail ? s.accounts : 0;
  line(
    'CloudTrail',
    'management events in a second copy',
    paidCopies * s.managementEventsPerAccountMonth,
    'cloudTrailCopies',
  );

  // DynamoDB, on-demand: a write costs one unit per started KB of the item, a strongly
  // consistent read one per started 4 KB; a Scan (eventually consistent) half a unit per 4 KB
  // of the table.
  const wru = Math.max(1, Math.ceil(counts.ledgerItemBytes / 1024));
  const rru = Math.max(1, Math.ceil(counts.ledgerItemBytes / 4096));
  const writes = total(calls((c) => /^dynamodb:(UpdateItem|PutItem|DeleteItem)$/.test(c)));
  const reads = total(calls((c) => c === 'dynamodb:GetItem'));
  const scans = total(calls((c) => c === 'dynamodb:Scan'));
  const tableBytes = s.accounts * counts.ledgerItemBytes;
  line('DynamoDB', 'ledger write request units', writes * wru, 'dynamoWrites');
  line(
    'DynamoDB',
    'ledger read request units (reads and scans)',
    reads * rru + scans * Math.ceil(tableBytes / 4096) * 0.5,
    'dynamoReads',
  );
  line('DynamoDB', 'ledger storage', tableBytes / GB, 'dynamoStorage');

  // S3: the run objects (targets, skipped, the report in three formats; on AWS the map's
  // ItemReader reads the targets and its ResultWriter writes a manifest and the results, about
  // twice an account's report line); and, where casbridge's own trails deliver, their log files
  // (one about every five minutes per active Region, and a digest file per Region per hour).
  const s3Calls = (verb: RegExp) => runs * calls((c) => verb.test(c))(counts.run);
  const resultWriterPuts = 2;
  const casbridgeTrails = s.trailMode === 'own' || !s.coveringTrail ? s.accounts : 0;
  const trailFiles = casbridgeTrails * HOURS_PER_MONTH * (s.activeRegionsPerAccount * 12 + s.regions);
  line(
    'S3',
    'run objects written',
    s3Calls(/^s3:(PutObject|CopyObject|ListObjectsV2)$/) + runs * resultWriterPuts,
    's3Puts',
  );
  line('S3', 'run objects read', s3Calls(/^s3:GetObject$/), 's3Gets');
  const runBytes =
    (reconcileRuns * s.accounts + s.newAccountsPerMonth) * (counts.run.reportBytesPerAccount + 2 * 1024);
  line(
    'S3',
    `run objects stored (${s.reportMonthsKept} month${s.reportMonthsKept === 1 ? '' : 's'} of runs)`,
    (runBytes * s.reportMonthsKept) / GB,
    's3Storage',
  );
  line('S3', "trail log and digest files written (casbridge's trails)", trailFiles, 's3Puts');

  // CloudWatch Logs: each invocation's lines, ingested and kept for the retention.
  const logGb = (invocations * s.logBytesPerInvocation) / GB;
  line('CloudWatch Logs', 'function logs ingested', logGb, 'logsIngested');
  line(
    'CloudWatch Logs',
    `function logs stored (${s.logRetentionDays} days)`,
    logGb * (s.logRetentionDays / DAYS_PER_MONTH),
    'logsStored',
  );

  return {
    scenario,
    accountRuns,
    runs,
    secretsKept,
    lines,
    totalUsd: lines.reduce((t, l) => t + l.usd, 0),
  };
}

/** Issue 12 §7's target for 10,000 accounts with the daily reconcile. */
export const TARGET_USD_PER_MONTH = 50;
