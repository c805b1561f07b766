import { createInterface } from 'node:readline';
import { InvalidArgumentError } from 'commander';
import {
  type CliFlags,
  type CliSettingName,
  type CliSettings,
  cliConfig,
  resolveCliSettings,
} from '../commons/cli-settings';
import { type Config, processEnvironment } from '../commons/config';
import { ConfigurationError } from '../commons/errors';
import { createRuntime, type Runtime } from '../commons/runtime';
import { CliError } from './errors';
import { terminal } from './render/terminal-text';

/** How a command prints its result (`--output`, the AWS CLI's option of the same name). */
export type OutputFormat = 'table' | 'json' | 'text';

/** The program's own options, which every command takes (README "CLI reference"). */
export interface GlobalOptions {
  profile?: string;
  region?: string;
  output?: OutputFormat;
  color?: boolean;
}

let globals: GlobalOptions = {};

/** Set by the program before a command's action runs (scripts/cli.ts). */
export function useGlobalOptions(options: GlobalOptions): void {
  globals = { ...options };
}

/** The program's own options as given. */
export function globalOptions(): Readonly<GlobalOptions> {
  return globals;
}

/** `--output`, when given: a command keeps its own default otherwise. */
export function outputFormat(): OutputFormat | undefined {
  return globals.output;
}

/**
 * The CLI's settings: flag, else environment, else the casbridge profile
 * (commons/cli-settings.ts); `flags` are the command's own (`run --state-machine-arn`).
 */
export function cliSettings(flags: Omit<CliFlags, 'profile' | 'region'> = {}): CliSettings {
  return configured(() =>
    resolveCliSettings({ profile: globals.profile, region: globals.region, ...flags }, processEnvironment()),
  );
}

/**
 * casbridge's configuration for a command that needs `required` (and only those), or one
 * sentence naming what is missing or wrong and how to set it.
 */
export function cliConfiguration(
  required: readonly CliSettingName[],
  settings: CliSettings = cliSettings(),
): Config {
  return configured(() => cliConfig(settings, ['region', ...required]));
}

/**
 * The runtime of a command run by the person at the terminal: the configuration it needs, and
 * the AWS profile to sign with when the casbridge profile names one (else the SDK's default chain).
 */
export function cliRuntime(
  required: readonly CliSettingName[],
  settings: CliSettings = cliSettings(),
): Runtime {
  const config = cliConfiguration(required, settings);
  return createRuntime(config, {
    region: config.region,
    ...(settings.awsProfile ? { profile: settings.awsProfile } : {}),
  });
}

/** A configuration problem as the one sentence the CLI prints. */
export function configurationProblem(error: unknown): CliError | undefined {
  if (!(error instanceof ConfigurationError)) return undefined;
  const message = error.message
    .replace(/^Invalid casbridge configuration: /, '')
    // zod's wording for an unset variable.
    .replace(/Invalid input: expected string, received undefined/g, 'not set');
  return new CliError(
    `casbridge is not configured: ${message} (for the sandbox, eval the exports \`casbridge sandbox\` prints).`,
    1,
    { cause: error },
  );
}

function configured<T>(read: () => T): T {
  try {
    return read();
  } catch (error) {
    throw configurationProblem(error) ?? error;
  }
}

/** The reports bucket, which `report` and the demo need and a deployment may leave unset. */
export function reportsBucket(config: Config): string {
  if (!config.reportsBucket)
    throw new CliError(
      'CASBRIDGE_REPORTS_BUCKET is not set (nor reports_bucket in the casbridge profile): casbridge does not know where its reports are; run `casbridge configure --stack NAME`.',
    );
  return config.reportsBucket;
}

/** An AWS account id as a flag or argument: 12 digits, or commander's one-line refusal. */
export function parseAccountId(value: string): string {
  const id = value.trim();
  if (!/^\d{12}$/.test(id)) throw new InvalidArgumentError('An AWS account id is 12 digits.');
  return id;
}

/**
 * Asks the person at the terminal a yes/no question on stderr (stdout stays the command's
 * output); true only for `y` or `yes`, and the end of input answers no. The terminal stays in its
 * own line mode, so Ctrl-C interrupts the command as anywhere else.
 */
export function confirmAtTerminal(question: string): Promise<boolean> {
  terminal(process.stderr).write(question);
  const prompt = createInterface({ input: process.stdin, output: process.stderr, terminal: false });
  return new Promise((resolve) => {
    let answer: boolean | undefined;
    prompt.once('line', (line) => {
      answer = /^y(es)?$/i.test(line.trim());
      prompt.close();
    });
    prompt.once('close', () => {
      if (answer === undefined) terminal(process.stderr).write('\n');
      resolve(answer ?? false);
    });
  });
}
