import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import * as z from 'zod/mini';
import type { ConnectorStatus, Outcome } from '../ledger';
import type { RunReport } from '../run';
import '../zod-locale';

/**
 * The last runs' summaries, kept small in runs/history.json: WriteReport appends each real run's
 * and the organization dashboard draws its trends from it, so neither lists nor reads the runs'
 * own reports (one GET and one PUT a run, whatever the number of runs kept). A plan is not a run:
 * its counts are predictions and never enter the history.
 */
export const HISTORY_KEY = 'runs/history.json';
export const DASHBOARD_KEY = 'runs/dashboard.html';
/** Enough runs for a month of daily reconciles and the event-driven runs between them. */
export const HISTORY_LENGTH = 30;

export interface RunHistoryEntry {
  runId: string;
  mode: string;
  finishedAt: string;
  total: number;
  byOutcome: Record<Outcome, number>;
  byConnector: Record<ConnectorStatus, number>;
  failuresByError: Record<string, number>;
}

export interface RunHistory {
  version: 1;
  /** Newest first. */
  runs: RunHistoryEntry[];
}

export const EMPTY_HISTORY: RunHistory = { version: 1, runs: [] };

/** The history with the report's run first, a run already in it replaced, cut to HISTORY_LENGTH. */
export function appendRun(history: RunHistory, report: RunReport): RunHistory {
  if (report.dryRun) return history;
  const entry: RunHistoryEntry = {
    runId: report.runId,
    mode: report.mode,
    finishedAt: report.finishedAt,
    total: report.summary.total,
    byOutcome: report.summary.byOutcome,
    byConnector: report.summary.byConnector,
    failuresByError: report.summary.failuresByError,
  };
  const others = history.runs.filter((r) => r.runId !== report.runId);
  return { version: 1, runs: [entry, ...others].slice(0, HISTORY_LENGTH) };
}

const counts = z.record(z.string(), z.number());
const historySchema = z.looseObject({
  version: z.literal(1),
  runs: z.array(
    z.looseObject({
      runId: z.string(),
      mode: z.string(),
      finishedAt: z.string(),
      total: z.number(),
      byOutcome: counts,
      byConnector: counts,
      failuresByError: counts,
    }),
  ),
});

/**
 * runs/history.json, or an empty history when there is none yet. Without s3:ListBucket (which
 * neither WriteReport nor a reader needs otherwise) S3 answers a missing key with AccessDenied,
 * not NoSuchKey; either means the first run. A history that does not parse starts over rather
 * than fail a run's report: it is a convenience, the reports are the record.
 */
export async function readHistory(s3: S3Client, bucket: string): Promise<RunHistory> {
  let text: string;
  try {
    const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: HISTORY_KEY }));
    text = (await out.Body?.transformToString('utf8')) ?? '';
  } catch (error) {
    const name = (error as { name?: string }).name;
    if (name === 'NoSuchKey' || name === 'AccessDenied') return EMPTY_HISTORY;
    throw error;
  }
  try {
    const parsed = historySchema.safeParse(JSON.parse(text));
    return parsed.success ? (parsed.data as RunHistory) : EMPTY_HISTORY;
  } catch {
    return EMPTY_HISTORY;
  }
}

export async function putHistory(s3: S3Client, bucket: string, history: RunHistory): Promise<void> {
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: HISTORY_KEY,
      Body: `${JSON.stringify(history, null, 2)}\n`,
      ContentType: 'application/json',
    }),
  );
}
