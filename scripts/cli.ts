import { Command, CommanderError } from 'commander';
import { runCommand } from './commands/run';
import { sandboxCommand } from './commands/sandbox';
import { isCliError } from './errors';

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
    .exitOverride();
  for (const command of [sandboxCommand(), runCommand()]) {
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
    if (isCliError(error)) {
      process.stderr.write(`casbridge: ${error.message}\n`);
      return error.exitCode;
    }
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`casbridge: unexpected failure, a casbridge bug: ${firstLine(message)}\n`);
    return 70;
  }
}

function firstLine(text: string): string {
  return text.split('\n', 1)[0] ?? '';
}
