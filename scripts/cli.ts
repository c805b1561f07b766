import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { explainAwsFailure } from './aws-errors';
import { configurationProblem, type GlobalOptions, useGlobalOptions } from './cli-input';
import { configureCommand } from './commands/configure';
import { confirmCommand } from './commands/confirm';
import { credentialsCommand } from './commands/credentials';
import { demoCommand } from './commands/demo';
import { reportCommand } from './commands/report';
import { rotateCommand } from './commands/rotate';
import { runCommand } from './commands/run';
import { sandboxCommand } from './commands/sandbox';
import { statusCommand } from './commands/status';
import { uninstallCommand } from './commands/uninstall';
import { unlockCommand } from './commands/unlock';
import { isCliError } from './errors';
import { disableColor } from './render/style';
import { escapeControl, terminal } from './render/terminal-text';

/** package.json's version: what `casbridge --version` prints. */
function packageVersion(): string {
  const file = path.resolve(__dirname, '../package.json');
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}

/**
 * The `casbridge` program: wiring only. Each command lives in its own module under
 * `scripts/commands/` and exports a factory returning its commander `Command`.
 */
export function buildProgram(): Command {
  const program = new Command('casbridge')
    .description(
      'Connects every account of an AWS Organization to Microsoft Defender for Cloud Apps, and keeps them connected.',
    )
    .version(packageVersion(), '--version', 'prints the version of casbridge')
    // The AWS CLI's global options, taken before or after the command's name.
    .option('--profile <name>', 'the casbridge profile to use (default: CASBRIDGE_PROFILE, else default)')
    .option('--region <region>', 'the Region of the casbridge stack (default: AWS_REGION, else the profile)')
    .addOption(
      new Option('--output <format>', 'how a command prints its result (default: table)').choices([
        'table',
        'json',
        'text',
      ]),
    )
    .option('--no-color', 'never colour the output (as NO_COLOR does)')
    .hook('preAction', (_program, action) => {
      const { profile, region, output, color } = action.optsWithGlobals() as GlobalOptions;
      useGlobalOptions({ profile, region, output, color });
      if (color === false) disableColor();
    })
    .showSuggestionAfterError(true)
    // Commander would call process.exit itself; main() owns the exit code instead.
    .exitOverride()
    // Commander's errors quote the flags and arguments as typed: no sequence in them reaches the terminal.
    .configureOutput({
      writeOut: (text) => terminal(process.stdout).write(text),
      writeErr: (text) => terminal(process.stderr).writePlain(text),
    });
  for (const command of [
    configureCommand(),
    demoCommand(),
    sandboxCommand(),
    runCommand(),
    statusCommand(),
    reportCommand(),
    credentialsCommand(),
    confirmCommand(),
    unlockCommand(),
    rotateCommand(),
    uninstallCommand(),
  ]) {
    program.addCommand(command.copyInheritedSettings(program));
  }
  return program;
}

/** Runs the CLI and resolves to the process exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  try {
    await buildProgram().parseAsync([...argv]);
    // A command that ends in a non-zero status it chose (e.g. `run`: accounts failed) sets it here.
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    // Commander has already printed its one-line message (or the help) to stderr.
    if (error instanceof CommanderError) return error.exitCode;
    // A command that did not say what it was doing when AWS failed still gets the one sentence.
    const explained =
      configurationProblem(error) ?? explainAwsFailure(error, { doing: 'complete the command' });
    if (isCliError(explained)) {
      terminal(process.stderr).write(`casbridge: ${escapeControl(explained.message)}\n`);
      return explained.exitCode;
    }
    const message = error instanceof Error ? error.message : String(error);
    terminal(process.stderr).write(
      `casbridge: unexpected failure, a casbridge bug: ${escapeControl(firstLine(message))}\n`,
    );
    return 70;
  }
}

function firstLine(text: string): string {
  return text.split('\n', 1)[0] ?? '';
}
