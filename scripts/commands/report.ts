import { writeFileSync } from 'node:fs';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { Argument, Command, InvalidArgumentError, Option } from 'commander';
import { s3Client } from '../../commons/clients/s3';
import { renderCsv } from '../../commons/report/render-csv';
import { renderHtml } from '../../commons/report/render-html';
import { LATEST_PLAN_PREFIX, LATEST_RUN_PREFIX, type RunReport, runPrefix } from '../../commons/run';
import type { Runtime } from '../../commons/runtime';
import { withAwsContext } from '../aws-errors';
import { cliRuntime, type OutputFormat, outputFormat, reportsBucket } from '../cli-input';
import { CliError, isCliError } from '../errors';
import { type Column, fitTable, tableWidth } from '../render/columns';
import { renderReportTable } from '../render/report-table';
import { PLAIN, type Style, styleFor } from '../render/style';
import { escapeControl, terminal, terminalSafe } from '../render/terminal-text';
import { reportText } from '../render/text-output';
import { parseConnector } from './status';

export type ReportFormat = 'table' | 'json' | 'csv' | 'html';

export interface ReportCommandOptions {
  /** Unset: --output's, else table. */
  format?: ReportFormat;
  out?: string;
  plan: boolean;
  /** Only the accounts that failed (the table only). */
  failed?: boolean;
  /** Only the accounts with this connector status (the table only). */
  connector?: string;
  /** Every column, however wide the terminal. */
  wide?: boolean;
  /** The past runs, newest first, with their outcome counts, instead of one report. */
  list?: boolean;
  /** How many runs `--list` shows. */
  limit: number;
}

/** WriteReport copies a real run's files under runs/latest/ too, a plan's under runs/latest-plan/. */
const LATEST = 'latest';
const LATEST_PLAN = 'latest-plan';

/**
 * `casbridge report`: a run's report from the reports bucket, in the format asked for. Without a
 * run id it is the latest real run's (a dry run never replaces it); `--plan` the latest plan's.
 */
export function reportCommand(): Command {
  return new Command('report')
    .description(
      "prints a run's report (the latest real run's by default, the latest dry run's with --plan) from the reports bucket",
    )
    .addArgument(
      new Argument('[run-id]', "a run id (a dry run's too), or latest").default(LATEST).argParser(parseRunId),
    )
    .option('--plan', "the latest dry run's report (its plan) instead of the latest run's", false)
    .addOption(new Option('--format <format>', 'how to print it').choices(['table', 'json', 'csv', 'html']))
    .option('--out <file>', 'write to this file instead of standard output')
    .option('--failed', 'only the accounts that failed (the table)', false)
    .option(
      '--connector <status>',
      'only the accounts with this connector status (the table)',
      parseConnector,
    )
    .option('--wide', 'every column, however narrow the terminal (a pipe always gets every column)', false)
    .option('--list', 'the past runs, newest first, with their outcome counts', false)
    .addOption(
      new Option('--limit <n>', "how many runs --list shows (it reads each one's report)")
        .argParser(parseLimit)
        .default(DEFAULT_LIST_LIMIT),
    )
    .action(async (given: string, options: ReportCommandOptions) => {
      if (options.list) {
        if (given !== LATEST || options.plan || options.failed || options.connector || options.out)
          throw new CliError('--list lists the runs: give it alone (with --limit N, --format table|json).');
        const listFormat = options.format ?? reportFormatOf(outputFormat());
        if (listFormat !== 'table' && listFormat !== 'json')
          throw new CliError('--list prints a table or JSON (--format json).');
        const runs = await listRuns(cliRuntime(['reportsBucket']), options.limit);
        terminal(process.stdout).write(
          listFormat === 'json'
            ? `${JSON.stringify(runs, null, 2)}\n`
            : renderRunList(runs, styleFor(process.stdout), tableWidth(process.stdout, options.wide)),
        );
        return;
      }
      if (options.plan && given !== LATEST)
        throw new CliError('--plan shows the latest dry run: give it or a run id, not both.');
      const format = options.format ?? reportFormatOf(outputFormat());
      if ((options.failed || options.connector) && format !== 'table')
        throw new CliError(
          `--failed and --connector choose the table's rows; the ${format} report is the whole run's.`,
        );
      const report = await readReport(cliRuntime(['reportsBucket']), options.plan ? LATEST_PLAN : given);
      const style = options.out ? PLAIN : styleFor(process.stdout);
      const width = options.out ? undefined : tableWidth(process.stdout, options.wide);
      const text =
        format === 'text'
          ? reportText(report)
          : formatReport(filterAccounts(report, options), format, style, width);
      if (options.out) {
        writeFileSync(options.out, text);
        // The file holds the report exactly; only what is shown on the terminal is escaped.
        terminal(process.stderr).write(
          `Wrote the ${format} report of run ${escapeControl(report.runId)} to ${escapeControl(options.out)}\n`,
        );
        return;
      }
      if (format === 'html' && process.stdout.isTTY)
        throw new CliError(
          'The HTML report is a file to open in a browser: give --out FILE (or redirect the output).',
        );
      if (format === 'text') terminal(process.stdout).writeRecords(text);
      else terminal(process.stdout).write(text);
    });
}

const DEFAULT_LIST_LIMIT = 20;
/** ListObjectsV2 pages read at most for `--list` (1,000 runs a page): the bucket's lifecycle keeps it far smaller. */
const LIST_PAGES = 20;

/** One past run as `report --list` shows it: its report's counts, or why it has none. */
export interface RunListEntry {
  runId: string;
  mode: string | null;
  dryRun: boolean | null;
  startedAt: string | null;
  durationMs: number | null;
  total: number | null;
  succeeded: number | null;
  failed: number | null;
  skipped: number | null;
  /** Set when report.json could not be read (a run that died before WriteReport). */
  problem?: string;
}

/**
 * The runs under runs/ in the reports bucket, newest first (a run id carries its start time
 * after its mode), the first `limit` of them with their report's counts: one GetObject each, so
 * the limit is what keeps a long history cheap.
 */
export async function listRuns(runtime: Runtime, limit: number): Promise<RunListEntry[]> {
  const { config } = runtime;
  const bucket = reportsBucket(config);
  const s3 = s3Client(runtime);
  const runIds = await withAwsContext(
    { doing: `list the runs in s3://${bucket}/runs/`, region: config.region },
    async () => {
      const ids: string[] = [];
      let token: string | undefined;
      for (let page = 0; page < LIST_PAGES; page++) {
        const listed = await s3.send(
          new ListObjectsV2Command({
            Bucket: bucket,
            Prefix: 'runs/',
            Delimiter: '/',
            ContinuationToken: token,
          }),
        );
        for (const prefix of listed.CommonPrefixes ?? []) {
          const id = prefix.Prefix?.slice('runs/'.length, -1);
          if (id && id !== LATEST && id !== LATEST_PLAN) ids.push(id);
        }
        token = listed.NextContinuationToken;
        if (!token) break;
      }
      return ids;
    },
  );
  const newest = runIds
    .sort((a, b) => startOf(b).localeCompare(startOf(a)) || b.localeCompare(a))
    .slice(0, limit);
  return await Promise.all(newest.map((runId) => runEntry(runtime, runId)));
}

async function runEntry(runtime: Runtime, runId: string): Promise<RunListEntry> {
  try {
    const report = await readReport(runtime, runId);
    const s = report.summary;
    return {
      runId,
      mode: report.mode,
      dryRun: report.dryRun,
      startedAt: report.startedAt,
      durationMs: report.durationMs,
      total: s.total,
      succeeded: s.byOutcome.SUCCEEDED,
      failed: s.byOutcome.FAILED,
      skipped: s.byOutcome.SKIPPED,
    };
  } catch (error) {
    return {
      runId,
      mode: null,
      dryRun: null,
      startedAt: null,
      durationMs: null,
      total: null,
      succeeded: null,
      failed: null,
      skipped: null,
      problem: isCliError(error) ? 'no report (the run ended before writing it)' : (error as Error).name,
    };
  }
}

/** `onboard-20261202T100742-9qijzf` → `20261202T100742`: run ids sort by it across modes. */
function startOf(runId: string): string {
  return /-(\d{8}T\d{6})-/.exec(runId)?.[1] ?? '';
}

/** The runs as a table, newest first: here the order that matters is time, not failures. */
export function renderRunList(
  untrusted: readonly RunListEntry[],
  style: Style,
  width: number | undefined,
): string {
  const runs = terminalSafe(untrusted);
  if (runs.length === 0)
    return 'No run has written a report yet: start one with `casbridge run --mode onboard`.\n';
  const count = (head: string, pick: (r: RunListEntry) => number | null, paint?: (text: string) => string) =>
    ({
      head,
      cell: (r: RunListEntry) => (pick(r) === null ? '' : String(pick(r))),
      ...(paint ? { paint: (text: string) => (text === '0' ? text : paint(text)) } : {}),
    }) as Column<RunListEntry>;
  const run: Column<RunListEntry> = { head: 'RUN', cell: (r) => r.runId };
  const plan: Column<RunListEntry> = { head: 'DRY', cell: (r) => (r.dryRun ? 'plan' : '') };
  const started: Column<RunListEntry> = {
    head: 'STARTED',
    cell: (r) => (r.startedAt ? `${r.startedAt.slice(0, 16).replace('T', ' ')}Z` : ''),
  };
  const took: Column<RunListEntry> = {
    head: 'TOOK',
    cell: (r) => (r.durationMs === null ? '' : `${(r.durationMs / 1000).toFixed(0)} s`),
  };
  const counts = [
    count('ACCOUNTS', (r) => r.total),
    count('SUCCEEDED', (r) => r.succeeded, style.green),
    count('FAILED', (r) => r.failed, style.red),
    count('SKIPPED', (r) => r.skipped, style.dim),
  ];
  const short = [
    count('ALL', (r) => r.total),
    count('OK', (r) => r.succeeded, style.green),
    count('FAIL', (r) => r.failed, style.red),
    count('SKIP', (r) => r.skipped, style.dim),
  ];
  const problem: Column<RunListEntry> = { head: 'NOTE', cell: (r) => r.problem ?? '', wrap: { min: 12 } };
  const table = fitTable(
    [
      [run, plan, started, took, ...counts, problem],
      [run, plan, started, ...counts, problem],
      [run, plan, ...short, problem],
    ],
    runs,
    { style, width },
  );
  return `${table}\n\n${runs.length} most recent ${runs.length === 1 ? 'run' : 'runs'}, newest first (\`casbridge report RUN\` shows one; --limit N for more).\n`;
}

function parseLimit(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 1000)
    throw new InvalidArgumentError('A limit is a whole number from 1 to 1000.');
  return n;
}

/** Reads a run's report.json (or the latest run's, or the latest plan's) as WriteReport stored it. */
export async function readReport(runtime: Runtime, runId: string): Promise<RunReport> {
  const { config } = runtime;
  const bucket = reportsBucket(config);
  const prefix =
    runId === LATEST ? LATEST_RUN_PREFIX : runId === LATEST_PLAN ? LATEST_PLAN_PREFIX : runPrefix(runId);
  const s3 = s3Client(runtime);
  const notFound =
    runId === LATEST
      ? `No run has written a report to s3://${bucket}/ yet: start one with \`casbridge run --mode onboard\`.`
      : runId === LATEST_PLAN
        ? `No dry run has written a plan to s3://${bucket}/ yet: start one with \`casbridge run --mode onboard --dry-run\`.`
        : `There is no run ${runId} in s3://${bucket}/runs/ (\`casbridge report\` shows the latest run).`;
  const text = await withAwsContext(
    { doing: `read the report s3://${bucket}/${prefix}report.json`, region: config.region, notFound },
    async () => {
      const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: `${prefix}report.json` }));
      return object.Body!.transformToString();
    },
  );
  // Not destroyed: the client is the runtime's (perRuntime), which `report --list` and
  // `status ACCOUNT` read several reports through.
  try {
    return JSON.parse(text) as RunReport;
  } catch {
    throw new CliError(`s3://${bucket}/${prefix}report.json is not a casbridge report (not JSON).`);
  }
}

/**
 * The report with only the accounts asked for; its summary stays the whole run's, and a line
 * under the table says how many rows are shown.
 */
function filterAccounts(report: RunReport, options: ReportCommandOptions): RunReport {
  if (!options.failed && !options.connector) return report;
  return {
    ...report,
    accounts: report.accounts.filter(
      (a) =>
        (!options.failed || a.outcome === 'FAILED') &&
        (!options.connector || a.connector === options.connector),
    ),
  };
}

export function formatReport(
  report: RunReport,
  format: ReportFormat,
  style = PLAIN,
  width: number | undefined = undefined,
): string {
  switch (format) {
    case 'json':
      return `${JSON.stringify(report, null, 2)}\n`;
    case 'csv':
      return renderCsv(report);
    case 'html':
      return renderHtml(report);
    default:
      return `${renderReportTable(report, { style, width })}\n`;
  }
}

/** `--output` as a report format: text is the accounts' lines, tab-separated. */
function reportFormatOf(output: OutputFormat | undefined): ReportFormat | 'text' {
  return output ?? 'table';
}

function parseRunId(value: string): string {
  if (!/^[\w.-]{1,80}$/.test(value))
    throw new InvalidArgumentError('A run id is letters, digits, ".", "_" and "-".');
  return value;
}
