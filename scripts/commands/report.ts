import { writeFileSync } from 'node:fs';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { Argument, Command, InvalidArgumentError, Option } from 'commander';
import { s3Client } from '../../commons/clients/s3';
import type { Config } from '../../commons/config';
import { renderCsv } from '../../commons/report/render-csv';
import { renderHtml } from '../../commons/report/render-html';
import { type RunReport, runPrefix } from '../../commons/run';
import { createRuntime } from '../../commons/runtime';
import { withAwsContext } from '../aws-errors';
import { cliConfiguration, reportsBucket } from '../cli-input';
import { CliError } from '../errors';
import { renderReportTable } from '../render/report-table';
import { PLAIN, styleFor } from '../render/style';
import { escapeControl, terminal } from '../render/terminal-text';

export type ReportFormat = 'table' | 'json' | 'csv' | 'html';

export interface ReportCommandOptions {
  format: ReportFormat;
  out?: string;
}

/** WriteReport copies every run's files here too (functions/write-report). */
const LATEST = 'latest';

/** `casbridge report`: a run's report from the reports bucket, in the format asked for. */
export function reportCommand(): Command {
  return new Command('report')
    .description("prints a run's report (the latest run's by default) from the reports bucket")
    .addArgument(new Argument('[run-id]', 'a run id, or latest').default(LATEST).argParser(parseRunId))
    .addOption(
      new Option('--format <format>', 'how to print it')
        .choices(['table', 'json', 'csv', 'html'])
        .default('table'),
    )
    .option('--out <file>', 'write to this file instead of standard output')
    .action(async (runId: string, options: ReportCommandOptions) => {
      const config = cliConfiguration();
      const report = await readReport(config, runId);
      const style = options.out ? PLAIN : styleFor(process.stdout);
      const text = formatReport(report, options.format, style);
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

/** Reads a run's report.json (or the latest run's) as WriteReport stored it. */
export async function readReport(config: Config, runId: string): Promise<RunReport> {
  const bucket = reportsBucket(config);
  const prefix = runId === LATEST ? `runs/${LATEST}/` : runPrefix(runId);
  const s3 = s3Client(createRuntime(config, { region: config.region }));
  const notFound =
    runId === LATEST
      ? `No run has written a report to s3://${bucket}/ yet: start one with \`casbridge run --mode onboard\`.`
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

function parseRunId(value: string): string {
  if (!/^[\w.-]{1,80}$/.test(value))
    throw new InvalidArgumentError('A run id is letters, digits, ".", "_" and "-".');
  return value;
}
