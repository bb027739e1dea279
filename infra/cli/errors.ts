/** Exit codes: 1 when the operation failed (unknown user, store unreachable), 2 for bad input. */
export const EXIT_FAILURE = 1;
export const EXIT_BAD_INPUT = 2;

/** A failure reported as one line on stderr, ending the process with `exitCode`. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT_FAILURE,
  ) {
    super(message);
  }
}

/** A command line that does not parse: the usage follows the message. */
export class UsageError extends CliError {
  constructor(message: string) {
    super(message, EXIT_BAD_INPUT);
  }
}
