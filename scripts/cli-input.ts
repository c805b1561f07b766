import { InvalidArgumentError } from 'commander';
import { type Config, getConfig } from '../commons/config';
import { CliError } from './errors';

/**
 * What the CLI's commands take from the person at the terminal. Here: casbridge's configuration
 * for a command, or one sentence naming every variable that is
 * missing or wrong (the same variables the deployed functions get from the stack).
 */
export function cliConfiguration(): Config {
  try {
    return getConfig();
  } catch (error) {
    const message = (error as Error).message
      .replace(/^Invalid casbridge configuration: /, '')
      // zod's wording for an unset variable.
      .replace(/Invalid input: expected string, received undefined/g, 'not set');
    throw new CliError(
      `casbridge is not configured: ${message} (for the sandbox, eval the exports \`casbridge sandbox\` prints).`,
      1,
      { cause: error },
    );
  }
}

/** The reports bucket, which `report` and the demo need and a deployment may leave unset. */
export function reportsBucket(config: Config): string {
  if (!config.reportsBucket)
    throw new CliError('CASBRIDGE_REPORTS_BUCKET is not set: casbridge does not know where its reports are.');
  return config.reportsBucket;
}

/** An AWS account id as a flag or argument: 12 digits, or commander's one-line refusal. */
export function parseAccountId(value: string): string {
  const id = value.trim();
  if (!/^\d{12}$/.test(id)) throw new InvalidArgumentError('An AWS account id is 12 digits.');
  return id;
}
