import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { InvalidTaskInputError } from '../../commons/errors';
import { causeMessage, failureRecord } from '../../commons/failure';
import { parseReportAccount } from '../../commons/report/report-account-schema';
import type { ReportAccount } from '../../commons/run';

/**
 * The per-account results of the fan-out, read in one of the two shapes the Map hands over:
 *
 * - On AWS the Distributed Map writes its children's results to S3 (ResultWriter) and outputs
 *   only `{ MapRunArn, ResultWriterDetails: { Bucket, Key } }`, Key naming the map run's
 *   manifest.json; its `ResultFiles.SUCCEEDED / FAILED / PENDING` list result files, each a JSON
 *   array (or JSON Lines) of child executions with `Input` and `Output` as JSON strings, or
 *   `Error` and `Cause` for a child that failed. This keeps 10,000 results out of the 256 KiB
 *   payload.
 * - The local runner's inline adaptation of the definition (statemachine/local/adapt-definition.ts,
 *   an option of the runner; its default runs the Distributed Map natively, ResultWriter
 *   included) runs the Map inline without ResultWriter, so the results arrive as a plain array of
 *   ReportAccount.
 *
 * Both readers live here so that the report does not depend on how the map ran.
 */
export interface ResultWriterOutput {
  MapRunArn?: string;
  ResultWriterDetails: { Bucket: string; Key: string };
}

export type MapResults = unknown[] | ResultWriterOutput;

export interface ReadResults {
  /** The accounts whose record task returned a result. */
  accounts: ReportAccount[];
  /**
   * Accounts whose child execution produced no result (it failed outside the record task, or
   * never finished): FAILED, their connector status still to be looked up in the ledger.
   */
  incomplete: ReportAccount[];
}

export async function readMapResults(s3: S3Client, results: MapResults): Promise<ReadResults> {
  if (Array.isArray(results)) return { accounts: readInlineResults(results), incomplete: [] };
  return readResultWriterOutput(s3, results.ResultWriterDetails);
}

/** The inline Map's array: each element is a record task's output, validated at the boundary. */
function readInlineResults(results: unknown[]): ReportAccount[] {
  return results.map((value, index) => {
    const parsed = parseReportAccount(value);
    if (!parsed.ok) {
      throw new InvalidTaskInputError(`Invalid task input: results.${index}: ${parsed.problem}`, {
        step: 'report',
      });
    }
    return parsed.account;
  });
}

interface Manifest {
  DestinationBucket?: string;
  ResultFiles?: Partial<Record<'SUCCEEDED' | 'FAILED' | 'PENDING', { Key: string }[]>>;
}

/** One child execution as ResultWriter exports it (Transformation NONE, the default with S3). */
interface ChildExecution {
  Name?: string;
  Status?: string;
  Input?: string;
  Output?: string;
  Error?: string;
  Cause?: string;
}

async function readResultWriterOutput(
  s3: S3Client,
  details: ResultWriterOutput['ResultWriterDetails'],
): Promise<ReadResults> {
  const manifest = JSON.parse(await getText(s3, details.Bucket, details.Key)) as Manifest;
  const bucket = manifest.DestinationBucket ?? details.Bucket;
  const out: ReadResults = { accounts: [], incomplete: [] };
  for (const status of ['SUCCEEDED', 'FAILED', 'PENDING'] as const) {
    for (const file of manifest.ResultFiles?.[status] ?? []) {
      for (const entry of parseResultFile(await getText(s3, bucket, file.Key))) {
        const account = fromChildExecution(entry, status);
        (account.incomplete ? out.incomplete : out.accounts).push(account.account);
      }
    }
  }
  return out;
}

/** A result file is a JSON array (OutputType JSON, the default) or JSON Lines (OutputType JSONL). */
function parseResultFile(text: string): unknown[] {
  const trimmed = text.trim();
  if (trimmed === '') return [];
  if (trimmed.startsWith('[')) return JSON.parse(trimmed) as unknown[];
  return trimmed
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as unknown);
}

function fromChildExecution(
  value: unknown,
  fileStatus: string,
): { account: ReportAccount; incomplete: boolean } {
  const entry = (value ?? {}) as ChildExecution;
  if (typeof entry.Output === 'string') {
    const parsed = parseReportAccount(parseJson(entry.Output));
    if (parsed.ok) return { account: parsed.account, incomplete: false };
    return {
      account: failedChild(entry, {
        name: 'InvalidAccountResult',
        message: `The record task's output is not an account result: ${parsed.problem}`,
      }),
      incomplete: true,
    };
  }
  if (entry.Status === undefined) {
    // Transformation COMPACT writes a successful child's output itself, without metadata.
    const parsed = parseReportAccount(value);
    if (parsed.ok) return { account: parsed.account, incomplete: false };
  }
  const status = entry.Status ?? fileStatus;
  return {
    account: failedChild(
      entry,
      entry.Error
        ? { name: entry.Error, message: causeMessage(entry.Cause) }
        : {
            name: 'NotProcessed',
            message: `The account's child execution ended with status ${status} and no result: the map run stopped before it finished.`,
          },
    ),
    incomplete: true,
  };
}

/** A FAILED line for an account whose child execution failed: the account comes from its Input. */
function failedChild(entry: ChildExecution, error: { name: string; message: string }): ReportAccount {
  const input = (parseJson(entry.Input ?? '') ?? {}) as {
    account?: { accountId?: string; name?: string; ou?: string; joinedMethod?: 'CREATED' | 'INVITED' };
  };
  const account = input.account ?? {};
  return {
    // An unreadable Input still gets a line, under the child execution's name: nothing disappears.
    accountId: account.accountId ?? `unknown:${entry.Name ?? 'child-execution'}`,
    name: account.name ?? '',
    ou: account.ou ?? '',
    outcome: 'FAILED',
    changed: false,
    steps: {},
    connector: 'NOT_REGISTERED',
    error: failureRecord(error, account.joinedMethod ? { joinedMethod: account.joinedMethod } : {}),
  };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

async function getText(s3: S3Client, bucket: string, key: string): Promise<string> {
  const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return (await out.Body?.transformToString('utf-8')) ?? '';
}

/** Reads a JSON document from S3 (the run's targets and skipped lists). */
export async function getJson<T>(s3: S3Client, bucket: string, key: string): Promise<T> {
  return JSON.parse(await getText(s3, bucket, key)) as T;
}
