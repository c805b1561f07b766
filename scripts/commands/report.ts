import { writeFileSync } from 'node:fs';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { Argument, Command, InvalidArgumentError, Option } from 'commander';
import { s3Client } from '../../commons/clients/s3';
import type { Config } from '../../commons/config';
import { renderCsv } from '../../commons/report/render-csv';
import { renderHtml } from '../../commons/report/render-html';
import { LATEST_PLAN_PREFIX, LATEST_RUN_PREFIX, type RunReport, runPrefix } from '../../commons/run';
import { createRuntime } from '../../commons/runtime';
import { withAwsContext } from '../aws-errors';
import { cliConfiguration, reportsBucket } from '../cli-input';
import { CliError } from '../errors';
import { tableWidth } from '../render/columns';
import { renderReportTable } from '../render/report-table';
import { PLAIN, styleFor } from '../render/style';
import { escapeControl, terminal } from '../render/terminal-text';
import { parseConnector } from './status';

export type ReportFormat = 'table' | 'json' | 'csv' | 'html';

export interface ReportCommandOptions {
  format: ReportFormat;
  out?: string;
  plan: boolean;
  /** Only the accounts that failed (the table only). */
  failed?: boolean;
  /** Only the accounts with this connector status (the table only). */
  connector?: string;
  /** Every column, however wide the terminal. */
  wide?: boolean;
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
    .addOption(
      new Option('--format <format>', 'how to print it')
        .choices(['table', 'json', 'csv', 'html'])
        .default('table'),
    )
    .option('--out <file>', 'write to this file instead of standard output')
    .option('--failed', 'only the accounts that failed (the table)', false)
    .option(
      '--connector <status>',
      'only the accounts with this connector status (the table)',
      parseConnector,
    )
    .option('--wide', 'every column, however narrow the terminal (a pipe always gets every column)', false)
    .action(async (given: string, options: ReportCommandOptions) => {
      if (options.plan && given !== LATEST)
        throw new CliError('--plan shows the latest dry run: give it or a run id, not both.');
      if ((options.failed || options.connector) && options.format !== 'table')
        throw new CliError(
          `--failed and --connector choose the table's rows; the ${options.format} report is the whole run's.`,
        );
      const config = cliConfiguration();
      const report = await readReport(config, options.plan ? LATEST_PLAN : given);
      const style = options.out ? PLAIN : styleFor(process.stdout);
      const width = options.out ? undefined : tableWidth(process.stdout, options.wide);
      const text = formatReport(filterAccounts(report, options), options.format, style, width);
      if (options.out) {
        writeFileSync(options.out, text);
        // The file holds the report exactly; only what is shown on the terminal is escaped.
        terminal(process.stderr).write(
          `Wrote the ${options.format} report of run ${escapeControl(report.runId)} to ${escapeControl(options.out)}\n`,
        );
        return;
      }
      if (options.format === 'html' && process.stdout.isTTY)
        throw new CliError(
          'The HTML report is a file to open in a browser: give --out FILE (or redirect the output).',
        );
      terminal(process.stdout).write(text);
    });
}

/** Reads a run's report.json (or the latest run's, or the latest plan's) as WriteReport stored it. */
export async function readReport(config: Config, runId: string): Promise<RunReport> {
  const bucket = reportsBucket(config);
  const prefix =
    runId === LATEST ? LATEST_RUN_PREFIX : runId === LATEST_PLAN ? LATEST_PLAN_PREFIX : runPrefix(runId);
  const s3 = s3Client(createRuntime(config, { region: config.region }));
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
  s3.destroy();
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

function parseRunId(value: string): string {
  if (!/^[\w.-]{1,80}$/.test(value))
    throw new InvalidArgumentError('A run id is letters, digits, ".", "_" and "-".');
  return value;
}
