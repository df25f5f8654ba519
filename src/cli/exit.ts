import { StepperError, type StepperErrorCode } from '../errors.js';

/** Exit status for usage errors (unknown options, bad arguments), as git and commander use it. */
export const EXIT_USAGE = 2;
export const EXIT_FAILURE = 1;

/** Errors in what the user typed, which exit with EXIT_USAGE like commander's own. */
const USAGE_ERROR_CODES = new Set<StepperErrorCode>(['INVALID_OPTION', 'UNKNOWN_REVISION', 'AMBIGUOUS_REVISION', 'NOT_A_REPOSITORY']);

/**
 * Thrown by a command whose output is complete but whose outcome is a failure, such as
 * `report --wait` when a job failed. main() exits with `status` and prints nothing more.
 */
export class CommandExit extends Error {
  override name = 'CommandExit';
  readonly status: number;

  constructor(status: number) {
    super(`exit status ${status}`);
    this.status = status;
  }
}

/**
 * Prints the one-line message of an error a command threw on stderr, and returns the exit
 * status: 1 for a runtime failure, 2 for a usage error. commander's own errors are printed
 * already, so main() handles them before they get here.
 */
export function reportCommandError(error: unknown): number {
  if (error instanceof CommandExit) {
    return error.status;
  }

  process.stderr.write(`stepper: ${describe(error)}\n`);
  return error instanceof StepperError && USAGE_ERROR_CODES.has(error.code) ? EXIT_USAGE : EXIT_FAILURE;
}

function describe(error: unknown): string {
  if (error instanceof StepperError) {
    return error.message;
  }

  // An error stepper did not expect is a bug: show the stack so it can be reported.
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}
