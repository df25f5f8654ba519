import path from 'node:path';

/**
 * Stable machine-readable codes. Callers branch on `code`, never on message text,
 * because an error's class is lost when it passes through the jobs table.
 */
export type StepperErrorCode =
  | 'DATA_DIR_UNUSABLE'
  | 'DATABASE_NOT_SQLITE'
  | 'DATABASE_CORRUPT'
  | 'DATABASE_READONLY'
  | 'DATABASE_FULL'
  | 'DATABASE_BUSY'
  | 'DATABASE_UNAVAILABLE'
  | 'DATABASE_EMPTY'
  | 'SCHEMA_TOO_NEW'
  | 'WAL_UNAVAILABLE'
  | 'JOB_NOT_FOUND'
  | 'JOB_STATE'
  | 'INVALID_OPTION'
  | 'SPOOL_FAILED'
  | 'REPORT_INVALID'
  | 'REPORT_NOT_FOUND'
  | 'HOOK_REFUSED'
  | 'GIT_NOT_FOUND'
  | 'GIT_FAILED'
  | 'NOT_A_REPOSITORY'
  | 'UNKNOWN_REVISION'
  | 'AMBIGUOUS_REVISION'
  | 'OLLAMA_UNREACHABLE'
  | 'OLLAMA_MODEL_NOT_FOUND'
  | 'OLLAMA_BUSY'
  | 'OLLAMA_SERVER_ERROR'
  | 'OLLAMA_STREAM_FAILED'
  | 'OLLAMA_TIMEOUT'
  | 'OLLAMA_INVALID_REQUEST'
  | 'DAEMON_FAILED'
  | 'NOTES_REF_MOVED';

/** Base class of every error stepper raises on purpose. */
export class StepperError extends Error {
  override name = 'StepperError';
  readonly code: StepperErrorCode;

  constructor(code: StepperErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** A database or data directory that cannot be used as it is; `path` names the file. */
export class DatabaseError extends StepperError {
  override name = 'DatabaseError';
  readonly path: string;

  constructor(code: StepperErrorCode, path: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.path = path;
  }
}

/** Sentence on the retention of finished jobs, for messages about a job that is not found. */
export const FINISHED_JOBS_REMOVED = 'finished jobs are removed after 7 days once 1,000 newer ones exist';

/** Raised when no job has the given id. */
export class JobNotFoundError extends StepperError {
  override name = 'JobNotFoundError';
  readonly jobId: string;

  /** `message` replaces the default one, which suits a job id and not a revision. */
  constructor(jobId: string, message?: string) {
    super('JOB_NOT_FOUND', message ?? `job ${jobId} not found: check the id; ${FINISHED_JOBS_REMOVED}`);
    this.jobId = jobId;
  }
}

/** Raised when an operation does not apply to the job's current state. */
export class JobStateError extends StepperError {
  override name = 'JobStateError';
  readonly jobId: string;
  readonly state: string;

  constructor(jobId: string, state: string, message: string) {
    super('JOB_STATE', message);
    this.jobId = jobId;
    this.state = state;
  }
}

/** Raised for an option value outside its range; the message names option, range and value. */
export class InvalidOptionError extends StepperError {
  override name = 'InvalidOptionError';

  constructor(option: string, expected: string, value: unknown) {
    super('INVALID_OPTION', `invalid ${option}: expected ${expected}, received ${describeValue(value)}`);
  }
}

/**
 * Raised for an environment variable outside its setting's range. The message names the
 * variable, the value as typed and the range, then the fixes. Unsetting the variable for
 * `fallback` is left out when `fallback` is undefined, because that default would be rejected
 * too. Changing it to a value in the range always follows, then `otherFix` when given.
 */
export class InvalidSettingError extends InvalidOptionError {
  constructor(variable: string, expected: string, raw: string, fallback: number | string | undefined, otherFix?: string) {
    super(variable, expected, raw);

    const fixes = [
      ...(fallback === undefined ? [] : [`unset it to use the default ${fallback}`]),
      'change it to a value in that range',
      ...(otherFix === undefined ? [] : [otherFix]),
    ];
    this.message = `${this.message}; ${fixes.join(', or ')}`;

    // The stack was captured with InvalidOptionError's message, which lacks the fixes.
    Error.captureStackTrace(this, InvalidSettingError);
  }
}

/**
 * Thrown by a processor to fail the job at once, without the remaining attempts
 * (BullMQ's name for the same instruction). Use it for failures a retry cannot fix.
 */
export class UnrecoverableError extends Error {
  override name = 'UnrecoverableError';
}

/**
 * Thrown by a processor to put the job back without spending an attempt, for
 * example while Ollama is not running. The job waits `delayMs` before it is due.
 */
export class RetryLaterError extends Error {
  override name = 'RetryLaterError';
  readonly delayMs: number;

  constructor(message: string, delayMs: number, options?: { cause?: unknown }) {
    super(message, options);
    this.delayMs = delayMs;
  }
}

/**
 * Action the queue takes on a job whose attempt threw an error: `retry` spends an attempt
 * and retries after the backoff, `release` puts the job back without spending one, and
 * `fail` fails it at once.
 */
export type QueueAction = 'retry' | 'release' | 'fail';

/**
 * Reads the queue action an error requests: RetryLaterError and UnrecoverableError, or a
 * `queueAction` property (with an optional `retryDelayMs`), which errors of other layers
 * carry. The property is read by name because an error's class does not survive every
 * boundary. Anything else is retried.
 */
export function queueActionOf(error: unknown): { action: QueueAction; delayMs: number } {
  if (error instanceof RetryLaterError) {
    return { action: 'release', delayMs: error.delayMs };
  }

  if (error instanceof Error && error.name === UnrecoverableError.name) {
    return { action: 'fail', delayMs: 0 };
  }

  const { queueAction, retryDelayMs } = (error ?? {}) as { queueAction?: unknown; retryDelayMs?: unknown };
  const delayMs = typeof retryDelayMs === 'number' && Number.isSafeInteger(retryDelayMs) && retryDelayMs >= 0 ? retryDelayMs : 0;
  if (queueAction === 'release' || queueAction === 'fail') {
    return { action: queueAction, delayMs };
  }

  return { action: 'retry', delayMs: 0 };
}

function describeValue(value: unknown): string {
  // Quotes already mark a string. The type is named for other values, where the text alone
  // could mislead a library caller, such as 5 against "5".
  if (typeof value === 'string') {
    return JSON.stringify(value);
  }

  return `${String(value)} (${value === null ? 'null' : typeof value})`;
}

export function checkPositiveInteger(option: string, value: number, minimum = 1): number {
  if (!Number.isSafeInteger(value) || value < minimum) {
    throw new InvalidOptionError(option, `an integer >= ${minimum}`, value);
  }

  return value;
}

/** Checks that a data directory option is a non-empty path and returns it absolute. */
export function checkDataDir(value: string): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new InvalidOptionError('dataDir', 'a non-empty path', value);
  }

  return path.resolve(value);
}

export function checkFraction(option: string, value: number): number {
  if (typeof value !== 'number' || !(value >= 0 && value <= 1)) {
    throw new InvalidOptionError(option, 'a number from 0 to 1', value);
  }

  return value;
}
