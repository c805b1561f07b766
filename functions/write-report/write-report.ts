import type { Metrics } from '@aws-lambda-powertools/metrics';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import * as z from 'zod/mini';
import type { Config } from '../../commons/config';
import {
  AccountsFailedError,
  ConfigurationError,
  classifyAwsError,
  InvalidTaskInputError,
} from '../../commons/errors';
import { failureRecord } from '../../commons/failure';
import type { Ledger, LedgerItem } from '../../commons/ledger';
import { buildReport, HANDOFF_STATUSES, type SkippedForReport } from '../../commons/report/build-report';
import {
  appendRun,
  DASHBOARD_KEY,
  putHistory,
  type RunHistory,
  readHistory,
} from '../../commons/report/history';
import { renderCsv } from '../../commons/report/render-csv';
import { renderDashboard } from '../../commons/report/render-dashboard';
import { renderHtml } from '../../commons/report/render-html';
import { capitalize, reportWording } from '../../commons/report/wording';
import {
  latestPrefix,
  type ReportAccount,
  type ReportSummary,
  type ResolvedRun,
  type RunReport,
  runPrefix,
  type SkippedAccount,
} from '../../commons/run';
import type { TaskInput } from '../../commons/task-input';
import '../../commons/zod-locale';
import { getJson, type MapResults, readMapResults } from './map-results';

export interface WriteReportDeps {
  s3: S3Client;
  sns: SNSClient;
  ledger: Ledger;
  config: Pick<Config, 'reportsBucket' | 'topicArn'>;
  /** Powertools Metrics: the caller flushes it (the handler's middleware, or publishStoredMetrics). */
  metrics: Metrics;
  now?: () => number;
}

export interface WriteReportInput extends ResolvedRun {
  results: MapResults;
}

export interface WriteReportOutput {
  runId: string;
  reportKey: string;
  summary: ReportSummary;
}

/**
 * The end of a run: reads every account's result and the skipped list, writes report.json,
 * report.csv and report.html under the run's prefix and under runs/latest/, publishes a short
 * summary, emits the run's metrics, and then, only then, fails with AccountsFailed when any
 * account failed, so a failed run still leaves its report. A real run also adds its summary to
 * runs/history.json and redraws the organization's dashboard (runs/dashboard.html). The ledger is
 * the record task's to write; this reads it once (a Scan) for the connector status of accounts
 * that have no result of their own, the hand-off times, and the dashboard.
 *
 * A dry run's report is the plan, and nothing in it may pass for a run's: it is copied to
 * runs/latest-plan/ (runs/latest/ keeps the latest real run's report), its message is a
 * `run.plan`, it emits no outcome metric, and it does not fail the execution (see below).
 */
export async function writeReport(
  deps: WriteReportDeps,
  input: WriteReportInput,
): Promise<WriteReportOutput> {
  const bucket = deps.config.reportsBucket;
  if (!bucket) {
    throw new ConfigurationError(
      'Invalid casbridge configuration: CASBRIDGE_REPORTS_BUCKET is required to write run reports',
      { step: 'report' },
    );
  }
  const now = deps.now ?? Date.now;
  let report: RunReport;
  let keys: ReportKeys;
  try {
    // Every read at once (none needs another's answer): at the end of a run each is a round trip
    // the whole run waits for. The history only a real run appends to.
    const [ledgerItems, read, history] = await Promise.all([
      deps.ledger.list(),
      readRunFiles(deps.s3, input),
      input.run.dryRun ? undefined : readHistory(deps.s3, bucket),
    ]);
    report = assembleReport(input, read, ledgerItems, new Date(now()).toISOString());
    const dashboard = history && (() => putDashboard(deps.s3, bucket, report, ledgerItems, history));
    keys = await putReport(deps.s3, bucket, report, dashboard);
    await publishSummary(deps, report, bucket, keys);
  } catch (error) {
    throw classifyAwsError(error, 'report');
  }
  emitRunMetrics(deps.metrics, report);

  const failed = report.summary.byOutcome.FAILED;
  // A plan's FAILED lines are predictions: nothing was attempted, so nothing failed, and the
  // execution succeeds with the plan as its output. A failed execution is what the console's red,
  // Step Functions' ExecutionsFailed alarm and a redrive mean; a plan someone asked for must not
  // page anyone, and its failures are the ones the latest real run already reported. Whoever runs
  // the plan sees the predictions: `casbridge run --dry-run` exits 2 when accounts would fail.
  if (failed > 0 && !report.dryRun) {
    throw new AccountsFailedError(
      `${failed} of ${report.summary.total} accounts failed in run ${report.runId}; report: s3://${bucket}/${keys.html}`,
      { step: 'report' },
    );
  }
  return { runId: report.runId, reportKey: keys.json, summary: report.summary };
}

/** What the run left in S3 for the report: the map's results, the skipped list and the targets. */
interface RunFiles {
  results: Awaited<ReturnType<typeof readMapResults>>;
  skipped: SkippedAccount[];
  targets: TaskInput[];
}

async function readRunFiles(s3: S3Client, input: WriteReportInput): Promise<RunFiles> {
  const [results, skipped, targets] = await Promise.all([
    readMapResults(s3, input.results),
    input.skipped.count === 0 ? [] : getJson<SkippedAccount[]>(s3, input.skipped.bucket, input.skipped.key),
    input.targets.count === 0 ? [] : getJson<TaskInput[]>(s3, input.targets.bucket, input.targets.key),
  ]);
  return { results, skipped, targets };
}

function assembleReport(
  input: WriteReportInput,
  { results, skipped, targets }: RunFiles,
  ledgerItems: readonly LedgerItem[],
  finishedAt: string,
): RunReport {
  const { accounts, incomplete } = results;
  // Every target appears in the report: one the map returned nothing for is a FAILED line.
  const seen = new Set([...accounts, ...incomplete].map((a) => a.accountId));
  for (const target of targets) {
    const account = target.account;
    if (!account || seen.has(account.accountId)) continue;
    seen.add(account.accountId);
    incomplete.push({
      accountId: account.accountId,
      name: account.name,
      ou: account.ou,
      outcome: 'FAILED',
      changed: false,
      steps: {},
      connector: 'NOT_REGISTERED',
      error: failureRecord(
        { name: 'ResultMissing', message: 'The map run returned no result for this account.' },
        { joinedMethod: account.joinedMethod },
      ),
    });
  }

  // Accounts without a result of their own take their connector status from the ledger; one
  // awaiting connection takes its hand-off time, the age the report's hand-off list shows.
  const byId = new Map(ledgerItems.map((item) => [item.accountId, item]));
  const withConnector = (a: ReportAccount): ReportAccount => ({
    ...a,
    connector: byId.get(a.accountId)?.connector ?? a.connector,
  });
  const skippedForReport: SkippedForReport[] = skipped.map((s) => {
    const connector = byId.get(s.accountId)?.connector;
    return connector ? { ...s, connector } : s;
  });
  const report = buildReport(
    input.run,
    [...incomplete.map(withConnector), ...accounts],
    skippedForReport,
    finishedAt,
  );
  const withHandoff = (a: ReportAccount): ReportAccount => {
    const handoffAt = HANDOFF_STATUSES.includes(a.connector) ? byId.get(a.accountId)?.handoffAt : undefined;
    return handoffAt ? { ...a, handoffAt } : a;
  };
  return { ...report, accounts: report.accounts.map(withHandoff) };
}

/**
 * A real run's summary joins runs/history.json (the last runs', newest first), and the
 * organization's dashboard is drawn again from the ledger and that history. A plan changed
 * nothing: it leaves both as the latest run left them.
 */
async function putDashboard(
  s3: S3Client,
  bucket: string,
  report: RunReport,
  ledgerItems: readonly LedgerItem[],
  earlier: RunHistory,
): Promise<void> {
  const history = appendRun(earlier, report);
  await putHistory(s3, bucket, history);
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: DASHBOARD_KEY,
      Body: renderDashboard({ generatedAt: report.finishedAt, accounts: ledgerItems, history }),
      ContentType: 'text/html; charset=utf-8',
      Metadata: { 'run-id': report.runId },
    }),
  );
}
interface ReportKeys {
  json: string;
  csv: string;
  html: string;
}

/**
 * Writes the three files under the run's prefix, then the same three under runs/latest/ (a plan's
 * under runs/latest-plan/, so a plan never replaces the latest run's report), and beside those
 * `after`: what else waits only for the run's own copy (a real run's history and dashboard).
 */
async function putReport(
  s3: S3Client,
  bucket: string,
  report: RunReport,
  after?: () => Promise<void>,
): Promise<ReportKeys> {
  const files = [
    { name: 'report.json', type: 'application/json', body: `${JSON.stringify(report, null, 2)}\n` },
    { name: 'report.csv', type: 'text/csv; charset=utf-8; header=present', body: renderCsv(report) },
    { name: 'report.html', type: 'text/html; charset=utf-8', body: renderHtml(report) },
  ];
  const put = (prefix: string) =>
    Promise.all(
      files.map((f) =>
        s3.send(
          new PutObjectCommand({
            Bucket: bucket,
            Key: `${prefix}${f.name}`,
            Body: f.body,
            ContentType: f.type,
            Metadata: { 'run-id': report.runId },
          }),
        ),
      ),
    );
  const prefix = runPrefix(report.runId);
  // The run's own copy first: a failure in between leaves latest/ at the previous run, never half-updated.
  await put(prefix);
  await Promise.all([put(latestPrefix(report)), after?.()]);
  return { json: `${prefix}report.json`, csv: `${prefix}report.csv`, html: `${prefix}report.html` };
}

/** The `type` message attribute subscribers filter on (SNS subscription filter policies). */
export const RUN_SUMMARY_TYPE = 'run.summary';

/**
 * A plan's (dry run's) message type. A plan still tells the topic where it is (one started from
 * the console has no other way to say it finished), but under its own type and outcomes: a
 * subscription that filters on `type: run.summary` or `outcome: FAILED` to learn about runs (a
 * chat channel, a pager) never receives a plan, whose failures are predictions. Unfiltered
 * subscribers (an email list) get it with a subject that starts `Plan (dry run)`; one that wants
 * plans filters on `type: run.plan` or `dryRun: true`.
 */
export const RUN_PLAN_TYPE = 'run.plan';

/** What the topic receives: counts and where the report is. No account detail, never a secret. */
export interface RunSummaryMessage {
  type: typeof RUN_SUMMARY_TYPE | typeof RUN_PLAN_TYPE;
  /** The subject's sentence, whole: `casbridge onboard: 1 failed, ...` or `Plan (dry run) ...: 1 would fail, ...`. */
  headline: string;
  runId: string;
  mode: string;
  dryRun: boolean;
  trigger: RunReport['trigger'];
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  summary: ReportSummary;
  report: { bucket: string; json: string; csv: string; html: string; latest: string };
}

async function publishSummary(
  deps: WriteReportDeps,
  report: RunReport,
  bucket: string,
  keys: ReportKeys,
): Promise<void> {
  const type = report.dryRun ? RUN_PLAN_TYPE : RUN_SUMMARY_TYPE;
  const message: RunSummaryMessage = {
    type,
    headline: summaryHeadline(report),
    runId: report.runId,
    mode: report.mode,
    dryRun: report.dryRun,
    trigger: report.trigger,
    startedAt: report.startedAt,
    finishedAt: report.finishedAt,
    durationMs: report.durationMs,
    summary: report.summary,
    report: {
      bucket,
      json: `s3://${bucket}/${keys.json}`,
      csv: `s3://${bucket}/${keys.csv}`,
      html: `s3://${bucket}/${keys.html}`,
      latest: `s3://${bucket}/${latestPrefix(report)}`,
    },
  };
  await deps.sns.send(
    new PublishCommand({
      TopicArn: deps.config.topicArn,
      Subject: summarySubject(message.headline),
      Message: JSON.stringify(message),
      MessageAttributes: {
        type: { DataType: 'String', StringValue: type },
        runId: { DataType: 'String', StringValue: report.runId },
        dryRun: { DataType: 'String', StringValue: String(report.dryRun) },
        outcome: { DataType: 'String', StringValue: outcomeAttribute(report) },
      },
    }),
  );
}

/** A plan's outcomes are predictions, named so that no filter on a run's outcome matches them. */
function outcomeAttribute(report: RunReport): string {
  const failed = report.summary.byOutcome.FAILED > 0;
  if (report.dryRun) return failed ? 'WOULD_FAIL' : 'WOULD_SUCCEED';
  return failed ? 'FAILED' : 'SUCCEEDED';
}

/**
 * `casbridge onboard: 1 failed, 9 succeeded, 2 skipped - <runId>`. A plan's starts `casbridge
 * Plan (dry run)`, says `would`, and names the run first (its id starts with the mode): the words
 * make it longer, and SNS cuts a subject at 100 characters, which must cut counts, not the id.
 */
function summaryHeadline(report: RunReport): string {
  const s = report.summary;
  const words = reportWording(report);
  const counts = (['FAILED', 'SUCCEEDED', 'SKIPPED'] as const)
    .map((o) => `${s.byOutcome[o]} ${words.outcome(o)}`)
    .join(', ');
  if (report.dryRun) return `casbridge ${capitalize(words.noun)} (dry run) ${report.runId}: ${counts}`;
  return `casbridge ${report.mode}: ${counts} - ${report.runId}`;
}

/** SNS subjects are ASCII, one line, at most 100 characters. */
function summarySubject(headline: string): string {
  return headline.replace(/[^\x20-\x7e]/g, '?').slice(0, 100);
}

/**
 * The run's metrics in the `casbridge` namespace (EMF): counts by outcome, changed accounts,
 * overdue hand-offs, the run's duration, and FailedAccounts once per error name with the name as a dimension (each its
 * own EMF document, as a dimension applies to every metric of a document).
 *
 * A plan emits one `DryRuns` count instead, and none of those. Its counts are predictions about
 * accounts the latest real run already counted: summed into AccountsFailed or HandoffsOverdue
 * they would trip the alarms on them a second time (and a plan's "changed" changed nothing), and
 * a dimension would not help, as alarms and dashboards on the metric names exist already. The
 * one count keeps plans visible on a dashboard, and keeps the flush from being empty (Powertools
 * logs a warning for an invocation with no metric, which would read as a fault).
 */
export function emitRunMetrics(metrics: Metrics, report: RunReport): void {
  const s = report.summary;
  metrics.addMetadata('runId', report.runId);
  metrics.addMetadata('mode', report.mode);
  metrics.addMetadata('dryRun', String(report.dryRun));
  if (report.dryRun) {
    metrics.addMetric('DryRuns', MetricUnit.Count, 1);
    return;
  }
  metrics.addMetric('AccountsSucceeded', MetricUnit.Count, s.byOutcome.SUCCEEDED);
  metrics.addMetric('AccountsFailed', MetricUnit.Count, s.byOutcome.FAILED);
  metrics.addMetric('AccountsSkipped', MetricUnit.Count, s.byOutcome.SKIPPED);
  metrics.addMetric('AccountsChanged', MetricUnit.Count, s.changed);
  // An alarm on it catches hand-offs nobody acts on before Security Hub IAM.22 does (45 days).
  metrics.addMetric('HandoffsOverdue', MetricUnit.Count, s.byConnector.HANDOFF_OVERDUE ?? 0);
  // Connected connectors gone quiet (commons/connector-liveness.ts): alarm on it as well.
  metrics.addMetric('ConnectorsStale', MetricUnit.Count, s.byConnector.STALE ?? 0);
  metrics.addMetric('RunDurationMs', MetricUnit.Milliseconds, report.durationMs);
  for (const [errorName, count] of Object.entries(s.failuresByError)) {
    const single = metrics.singleMetric();
    single.addDimension('ErrorName', errorName);
    single.addMetadata('runId', report.runId);
    single.addMetric('FailedAccounts', MetricUnit.Count, count);
  }
}

// ---------------------------------------------------------------- input

const location = z.strictObject({
  bucket: z.string().check(z.minLength(3)),
  key: z.string().check(z.minLength(1)),
  count: z.number().check(z.int(), z.minimum(0)),
});

const triggerSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('manual') }),
  z.strictObject({ type: z.literal('schedule') }),
  z.strictObject({
    type: z.literal('organizations-event'),
    eventId: z.string(),
    requestId: z.optional(z.string()),
    eventName: z.optional(
      z.enum([
        'AccountJoinedOrganization',
        'AccountDepartedOrganization',
        'CloseAccountResult',
        'MoveAccount',
      ]),
    ),
  }),
  z.strictObject({
    type: z.literal('control-tower-event'),
    eventId: z.string(),
    eventName: z.enum(['CreateManagedAccount', 'UpdateManagedAccount']),
  }),
]);

const inputSchema = z.strictObject({
  run: z.strictObject({
    runId: z.string().check(z.regex(/^[\w.-]{1,80}$/)),
    execution: z.string().check(z.minLength(1), z.maxLength(2048)),
    mode: z.enum(['onboard', 'reconcile', 'offboard', 'retry-failed']),
    dryRun: z.boolean(),
    trigger: triggerSchema,
    startedAt: z.iso.datetime({ offset: true }),
    maxConcurrency: z.number().check(z.int(), z.minimum(1)),
  }),
  targets: location,
  skipped: location,
  results: z.union([
    z.array(z.unknown()),
    z.looseObject({
      ResultWriterDetails: z.object({
        Bucket: z.string().check(z.minLength(3)),
        Key: z.string().check(z.minLength(1)),
      }),
    }),
  ]),
});

/** Parses WriteReport's input at the boundary; a bad one is a named, non-retryable error. */
export function parseWriteReportInput(event: unknown): WriteReportInput {
  const parsed = inputSchema.safeParse(event);
  if (!parsed.success) {
    throw new InvalidTaskInputError(
      `Invalid task input: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`,
      { step: 'report' },
    );
  }
  return parsed.data as WriteReportInput;
}
