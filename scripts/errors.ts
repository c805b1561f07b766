/**
 * An error the person at the terminal caused and can fix (a bad flag value, an unreadable or
 * invalid scenario file, a port in use). The CLI prints its message, one sentence, and exits
 * non-zero without a stack trace; anything else is a casbridge bug.
 */
export class CliError extends Error {
  override readonly name = 'CliError';

  constructor(
    message: string,
    readonly exitCode = 1,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function isCliError(error: unknown): error is CliError {
  return error instanceof CliError;
}
