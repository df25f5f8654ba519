// Errors of the Ollama connection layer, and the mapping from what ollama-js 0.6.4 and Node's
// fetch throw to them. Each row: what is thrown -> class -> what the job queue does
// (release: put back without spending an attempt; fail: fail at once; retry:
// spend an attempt and retry after the backoff).
//
//   TypeError, cause ECONNREFUSED, ENOTFOUND, EAI_AGAIN, EHOSTUNREACH, ENETUNREACH,
//     ETIMEDOUT, EADDRNOTAVAIL or UND_ERR_CONNECT_TIMEOUT        -> OllamaUnreachableError   -> release
//   ResponseError 404 with "model ... not found"                 -> ModelNotFoundError       -> fail
//   ResponseError 400, 401, 403, any other 404, other 4xx        -> InvalidRequestError      -> fail
//   ResponseError 503, 429 or 408                                -> OllamaBusyError          -> release
//   ResponseError 500, 502, 504 and other 5xx                    -> OllamaServerError        -> retry
//   plain Error thrown while streaming (an {"error"} line)       -> StreamError error_line   -> retry
//   TypeError, cause ECONNRESET, EPIPE, ECONNABORTED, UND_ERR_SOCKET, UND_ERR_CLOSED,
//     UND_ERR_HEADERS_TIMEOUT or UND_ERR_BODY_TIMEOUT            -> StreamError connection_dropped -> retry
//   Error 'Did not receive done or success response in stream.'  -> StreamError no_done      -> retry
//   SyntaxError from a JSON body, Error 'Missing body'           -> StreamError invalid_response -> retry
//   abort by a stepper watchdog                                  -> WatchdogTimeoutError     -> retry
//   abort by the caller's signal                                 -> the signal's reason, unchanged
//   TypeError, cause 'bad port' (a port fetch blocks)            -> InvalidOllamaHostError   -> fail
//   anything else                                                -> unchanged                -> retry
//
// The queue reads each class's `queueAction` and `retryDelayMs` (queueActionOf in
// src/errors.ts), so a processor can throw these errors as they are. The classes extend
// StepperError, so the command line prints their message without a stack. toQueueError
// turns them into the queue's own RetryLaterError and UnrecoverableError where a caller
// needs those classes.

import { InvalidOptionError, type QueueAction, RetryLaterError, StepperError, type StepperErrorCode, UnrecoverableError } from '../errors.js';
import { describeOllamaHost, InvalidOllamaHostError, type OllamaHost } from './host.js';

/** Wait before a job released because Ollama is unreachable is due again, in milliseconds. */
export const UNREACHABLE_RETRY_DELAY_MS = 30_000;
/** Wait before a job released because Ollama is busy is due again, in milliseconds. */
export const BUSY_RETRY_DELAY_MS = 15_000;

/** ollama-js's own message when a stream ends before a `done: true` line. */
const NO_DONE_MESSAGE = 'Did not receive done or success response in stream.';

export type { QueueAction } from '../errors.js';

/** Base class of the Ollama errors. `url` is the Ollama base URL the request went to. */
export abstract class OllamaError extends StepperError {
  override name = 'OllamaError';
  readonly url: string;
  abstract readonly queueAction: QueueAction;

  constructor(code: StepperErrorCode, host: OllamaHost, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.url = host.url;
  }
}

/** Ollama cannot be reached at all: nothing listens, or the host name does not resolve. */
export class OllamaUnreachableError extends OllamaError {
  override name = 'OllamaUnreachableError';
  readonly queueAction = 'release';
  readonly retryDelayMs = UNREACHABLE_RETRY_DELAY_MS;
  /** The system error code, such as ECONNREFUSED. */
  readonly reason: string;

  constructor(host: OllamaHost, reason: string, options?: { cause?: unknown }) {
    super(
      'OLLAMA_UNREACHABLE',
      host,
      `connection to Ollama at ${describeOllamaHost(host)} failed: ${describeSystemCode(reason)}; ` +
        'start Ollama with "ollama serve", or set OLLAMA_HOST to the address it listens on',
      options,
    );
    this.reason = reason;
  }
}

/** The requested model is not installed on the Ollama server. */
export class ModelNotFoundError extends OllamaError {
  override name = 'ModelNotFoundError';
  readonly queueAction = 'fail';
  readonly model: string;
  /** The command that installs the model, such as `ollama pull qwen2.5-coder:7b`. */
  readonly pullCommand: string;

  constructor(host: OllamaHost, model: string, options?: { cause?: unknown }) {
    const pullCommand = `ollama pull ${quoteForShell(model)}`;
    super(
      'OLLAMA_MODEL_NOT_FOUND',
      host,
      `model ${JSON.stringify(model)} not found on Ollama at ${describeOllamaHost(host)}: ` +
        `run "${pullCommand}" to install it, or choose an installed model ("ollama list" shows them)`,
      options,
    );
    this.model = model;
    this.pullCommand = pullCommand;
  }
}

/** Ollama returned 503 because its request queue is full, or a proxy returned 429 or 408. */
export class OllamaBusyError extends OllamaError {
  override name = 'OllamaBusyError';
  readonly queueAction = 'release';
  readonly retryDelayMs = BUSY_RETRY_DELAY_MS;
  readonly status: number;
  readonly ollamaMessage: string;

  constructor(host: OllamaHost, status: number, ollamaMessage: string, options?: { cause?: unknown }) {
    super('OLLAMA_BUSY', host, `Ollama at ${describeOllamaHost(host)} is busy (HTTP ${status}: ${ollamaMessage}); try again later`, options);
    this.status = status;
    this.ollamaMessage = ollamaMessage;
  }
}

/** Ollama returned a 5xx status other than 503, for example after its model runner crashed. */
export class OllamaServerError extends OllamaError {
  override name = 'OllamaServerError';
  readonly queueAction = 'retry';
  readonly status: number;
  readonly ollamaMessage: string;

  constructor(host: OllamaHost, status: number, ollamaMessage: string, options?: { cause?: unknown }) {
    super(
      'OLLAMA_SERVER_ERROR',
      host,
      `Ollama at ${describeOllamaHost(host)} failed with HTTP ${status}: ${ollamaMessage}${/\blogs?\b/i.test(ollamaMessage) ? '' : '; its server log has the details'}`,
      options,
    );
    this.status = status;
    this.ollamaMessage = ollamaMessage;
  }
}

/**
 * Kind of failure after the request was accepted: an `{"error"}` line in the stream, a dropped
 * connection, a stream that ended without its `done: true` line, or a body the API never returns.
 */
export type StreamFailure = 'error_line' | 'connection_dropped' | 'no_done' | 'invalid_response';

/** A response that failed partway. */
export class StreamError extends OllamaError {
  override name = 'StreamError';
  readonly queueAction = 'retry';
  readonly failure: StreamFailure;
  /** Ollama's error text, the system error code or the parser's message. */
  readonly detail: string;

  constructor(host: OllamaHost, failure: StreamFailure, detail: string, options?: { cause?: unknown }) {
    super('OLLAMA_STREAM_FAILED', host, `response from Ollama at ${describeOllamaHost(host)} failed: ${describeStreamFailure(failure, detail)}`, options);
    this.failure = failure;
    this.detail = detail;
  }
}

/** stepper's time limits on one Ollama request. */
export type Watchdog = 'firstToken' | 'idle' | 'total' | 'request';

const WATCHDOG_DESCRIPTIONS: Record<Watchdog, string> = {
  firstToken: 'no first token arrived',
  idle: 'no token arrived',
  total: 'the response did not finish',
  request: 'the request did not finish',
};

const WATCHDOG_OPTIONS: Record<Watchdog, string> = {
  firstToken: 'firstTokenTimeoutMs',
  idle: 'idleTimeoutMs',
  total: 'totalTimeoutMs',
  request: 'requestTimeoutMs',
};

/** One of stepper's own time limits expired, and the request was aborted. */
export class WatchdogTimeoutError extends OllamaError {
  override name = 'WatchdogTimeoutError';
  readonly queueAction = 'retry';
  readonly watchdog: Watchdog;
  readonly limitMs: number;

  constructor(host: OllamaHost, watchdog: Watchdog, limitMs: number, model?: string) {
    const subject = model === undefined ? '' : ` for model ${JSON.stringify(model)}`;
    super(
      'OLLAMA_TIMEOUT',
      host,
      `Ollama at ${describeOllamaHost(host)} timed out: ${WATCHDOG_DESCRIPTIONS[watchdog]} within ${limitMs} ms${subject}; ` +
        `a slow machine may need a larger ${WATCHDOG_OPTIONS[watchdog]}`,
    );
    this.watchdog = watchdog;
    this.limitMs = limitMs;
  }
}

/** Ollama rejected the request (HTTP 400 or another 4xx); sending it again cannot succeed. */
export class InvalidRequestError extends OllamaError {
  override name = 'InvalidRequestError';
  readonly queueAction = 'fail';
  readonly status: number;
  readonly ollamaMessage: string;
  /** True when Ollama rejected the prompt as longer than the model's context; a shorter prompt may succeed. */
  readonly promptTooLong: boolean;

  constructor(host: OllamaHost, status: number, ollamaMessage: string, options?: { cause?: unknown }) {
    super('OLLAMA_INVALID_REQUEST', host, `Ollama at ${describeOllamaHost(host)} rejected the request with HTTP ${status}: ${ollamaMessage}${hintForStatus(status)}`, options);
    this.status = status;
    this.ollamaMessage = ollamaMessage;
    // Current servers write "context length" and llama-server writes "context size".
    this.promptTooLong = status === 400 && /\bcontext (length|size)\b/i.test(ollamaMessage);
  }
}

/** Facts about the failed request that the classifier uses. */
export interface ClassifyContext {
  host: OllamaHost;
  /** The model the request named, for ModelNotFoundError and timeout messages. */
  model?: string;
  /** The signal the request ran under; when it is aborted, its reason is the error. */
  signal?: AbortSignal;
  /**
   * 'stream' once the response headers arrived. ollama-js reports an `{"error"}` line as a plain
   * Error, so only the phase distinguishes it from other plain errors.
   * @default 'request'
   */
  phase?: 'request' | 'stream';
}

const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'EADDRNOTAVAIL',
  'UND_ERR_CONNECT_TIMEOUT',
]);

const DROPPED_CODES = new Set([
  'ECONNRESET',
  'EPIPE',
  'ECONNABORTED',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
]);

/**
 * Maps an error thrown by ollama-js or fetch for an Ollama request to the classes above, as the
 * table at the top of this file lists. An error it does not recognise is returned unchanged, so
 * a bug elsewhere is not disguised as an Ollama failure.
 */
export function classifyOllamaError(error: unknown, context: ClassifyContext): Error {
  if (error instanceof StepperError) {
    return error;
  }

  if (context.signal?.aborted) {
    const reason: unknown = context.signal.reason;
    return reason instanceof Error ? reason : new DOMException(String(reason), 'AbortError');
  }

  if (!(error instanceof Error)) {
    return new Error(String(error));
  }

  const status = (error as { status_code?: unknown }).status_code;
  if (error.name === 'ResponseError' && typeof status === 'number') {
    return classifyStatus(status, error.message, error, context);
  }

  if (error instanceof TypeError) {
    return classifyNetworkError(error, context);
  }

  if (error instanceof SyntaxError || error.message === 'Missing body') {
    return new StreamError(context.host, 'invalid_response', error.message, { cause: error });
  }

  if (error.message === NO_DONE_MESSAGE) {
    return new StreamError(context.host, 'no_done', error.message, { cause: error });
  }

  if (context.phase === 'stream' && Object.getPrototypeOf(error) === Error.prototype) {
    return new StreamError(context.host, 'error_line', error.message, { cause: error });
  }

  return error;
}

/**
 * Converts a classified error into the instruction the job queue acts on. Errors that should
 * wait without spending an attempt become a RetryLaterError, and `retryDelayMs` replaces their
 * own wait. Errors no retry can fix, invalid options such as OLLAMA_HOST included, become an
 * UnrecoverableError that keeps the stable `code`. Any other error is returned unchanged.
 */
export function toQueueError(error: unknown, options: { retryDelayMs?: number } = {}): unknown {
  if (error instanceof OllamaUnreachableError || error instanceof OllamaBusyError) {
    return new RetryLaterError(error.message, options.retryDelayMs ?? error.retryDelayMs, { cause: error });
  }

  if ((error instanceof OllamaError && error.queueAction === 'fail') || error instanceof InvalidOptionError) {
    return new OllamaUnrecoverableError(error);
  }

  return error;
}

/** The queue's UnrecoverableError with the stable code of the StepperError it wraps. */
export class OllamaUnrecoverableError extends UnrecoverableError {
  readonly code: StepperErrorCode;

  constructor(error: StepperError) {
    super(error.message, { cause: error });
    this.code = error.code;
  }
}

function classifyStatus(status: number, message: string, error: Error, context: ClassifyContext): Error {
  const options = { cause: error };

  if (status === 404 && /\bmodel\b.*\bnot found\b/i.test(message)) {
    return new ModelNotFoundError(context.host, context.model ?? modelFromMessage(message) ?? 'unknown', options);
  }

  if (status === 503 || status === 429 || status === 408) {
    return new OllamaBusyError(context.host, status, message, options);
  }

  if (status >= 500) {
    return new OllamaServerError(context.host, status, message, options);
  }

  return new InvalidRequestError(context.host, status, message, options);
}

function classifyNetworkError(error: TypeError, context: ClassifyContext): Error {
  const code = systemCode(error.cause);
  if (code !== undefined && UNREACHABLE_CODES.has(code)) {
    return new OllamaUnreachableError(context.host, code, { cause: error });
  }

  if (code !== undefined && DROPPED_CODES.has(code)) {
    return new StreamError(context.host, 'connection_dropped', code, { cause: error });
  }

  // Node's fetch refuses the ports the Fetch standard blocks (6000, 6665-6669 and others).
  if ((error.cause as { message?: unknown } | undefined)?.message === 'bad port') {
    return new InvalidOllamaHostError(
      context.host.source === 'OLLAMA_HOST' ? (context.host.value ?? context.host.url) : context.host.url,
      `fetch refuses to connect to the port of ${context.host.url}, which is on the Fetch standard's list of blocked ports; run Ollama on another port`,
    );
  }

  return error;
}

/** Finds a system or undici error code in a cause chain; connecting to several addresses yields an AggregateError. */
function systemCode(cause: unknown, depth = 0): string | undefined {
  if (cause === null || typeof cause !== 'object' || depth > 4) {
    return undefined;
  }

  const code = (cause as { code?: unknown }).code;
  if (typeof code === 'string') {
    return code;
  }

  const nested = (cause as { errors?: unknown }).errors;
  if (Array.isArray(nested)) {
    for (const item of nested) {
      const found = systemCode(item, depth + 1);
      if (found !== undefined) {
        return found;
      }
    }
  }

  return systemCode((cause as { cause?: unknown }).cause, depth + 1);
}

function modelFromMessage(message: string): string | undefined {
  return /model ['"]([^'"]+)['"]/.exec(message)?.[1];
}

const SYSTEM_CODE_DESCRIPTIONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused, so Ollama is not running there',
  ENOTFOUND: 'host name not found',
  EAI_AGAIN: 'host name lookup failed temporarily',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'connection timed out',
  EADDRNOTAVAIL: 'address not available',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
};

function describeSystemCode(code: string): string {
  const description = SYSTEM_CODE_DESCRIPTIONS[code];
  return description === undefined ? code : `${description} (${code})`;
}

function describeStreamFailure(failure: StreamFailure, detail: string): string {
  switch (failure) {
    case 'error_line':
      return `Ollama reported an error while generating: ${detail}`;
    case 'connection_dropped':
      return `the connection closed before the response was complete (${detail})`;
    case 'no_done':
      return 'the stream ended without its final "done" line, which Ollama does when a model repeats one token more than 30 times';
    case 'invalid_response':
      return `the response is not valid Ollama API output: ${detail}`;
  }
}

function hintForStatus(status: number): string {
  if (status === 401 || status === 403) {
    return '; check the credentials in OLLAMA_HOST, and that a loopback-only Ollama is reached through localhost';
  }

  if (status === 404 || status === 405) {
    return '; OLLAMA_HOST may point at a server that is not Ollama, or have a wrong path prefix';
  }

  return '';
}

/** Quotes a model name for a shell command unless it only has the characters Ollama names use. */
function quoteForShell(value: string): string {
  return /^[A-Za-z0-9._:/-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}
