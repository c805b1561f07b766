import { writeFileSync } from 'node:fs';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { Argument, Command, InvalidArgumentError, Option } from 'commander';
import { s3Client } from '../../commons/clients/s3';
import { renderCsv } from '../../commons/report/render-csv';
import { renderHtml } from '../../commons/report/render-html';
import { LATEST_PLAN_PREFIX, LATEST_RUN_PREFIX, type RunReport, runPrefix } from '../../commons/run';
import type { Runtime } from '../../commons/runtime';
import { withAwsContext } from '../aws-errors';
import { cliRuntime, type OutputFormat, outputFormat, reportsBucket } from '../cli-input';
import { CliError } from '../errors';
import { renderReportTable } from '../render/report-table';
import { PLAIN, styleFor } from '../render/style';
import { escapeControl, terminal } from '../render/terminal-text';
import { reportText } from '../render/text-output';

export type ReportFormat = 'table' | 'json' | 'csv' | 'html';

export interface ReportCommandOptions {
  /** Unset: --output's, else table. */
  format?: ReportFormat;
  out?: string;
  plan: boolean;
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
    .action(async (given: string, options: ReportCommandOptions) => {
      if (options.plan && given !== LATEST)
        throw new CliError('--plan shows the latest dry run: give it or a run id, not both.');
      const report = await readReport(cliRuntime(['reportsBucket']), options.plan ? LATEST_PLAN : given);
      const style = options.out ? PLAIN : styleFor(process.stdout);
      const format = options.format ?? reportFormatOf(outputFormat());
      const text = format === 'text' ? reportText(report) : formatReport(report, format, style);
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
  s3.destroy();
  try {
    return JSON.parse(text) as RunReport;
  } catch {
    throw new CliError(`s3://${bucket}/${prefix}report.json is not a casbridge report (not JSON).`);
  }
}

export function formatReport(report: RunReport, format: ReportFormat, style = PLAIN): string {
  switch (format) {
    case 'json':
      return `${JSON.stringify(report, null, 2)}\n`;
    case 'csv':
      return renderCsv(report);
    case 'html':
      return renderHtml(report);
    default:
      return `${renderReportTable(report, { style })}\n`;
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
