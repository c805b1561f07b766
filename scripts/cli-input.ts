import { createInterface } from 'node:readline';
import { InvalidArgumentError } from 'commander';
import { type Config, getConfig } from '../commons/config';
import { CliError } from './errors';
import { terminal } from './render/terminal-text';

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
