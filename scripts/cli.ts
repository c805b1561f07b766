import { Command, CommanderError } from 'commander';
import { explainAwsFailure } from './aws-errors';
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
import { escapeControl, terminal } from './render/terminal-text';

/**
 * The `casbridge` program: wiring only. Each command lives in its own module under
 * `scripts/commands/` and exports a factory returning its commander `Command`.
 */
export function buildProgram(): Command {
  const program = new Command('casbridge')
    .description(
      'Connects every account of an AWS Organization to Microsoft Defender for Cloud Apps, and keeps them connected.',
    )
    .showSuggestionAfterError(true)
    // Commander would call process.exit itself; main() owns the exit code instead.
    .exitOverride()
    // Commander's errors quote the flags and arguments as typed: no sequence in them reaches the terminal.
    .configureOutput({
      writeOut: (text) => terminal(process.stdout).write(text),
      writeErr: (text) => terminal(process.stderr).writePlain(text),
    });
  for (const command of [
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
    const explained = explainAwsFailure(error, { doing: 'complete the command' });
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
