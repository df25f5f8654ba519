import { Ollama } from 'ollama';
import { Agent, DecoratorHandler, type Dispatcher } from 'undici';

import { InvalidOptionError } from '../errors.js';
import { classifyOllamaError, WatchdogTimeoutError } from './errors.js';
import { type OllamaHost, resolveOllamaHost } from './host.js';

/** Largest delay setTimeout accepts; a larger one fires after 1 ms instead. */
const MAX_TIMER_MS = 2_147_483_647;

/** stepper's own time limits on Ollama requests, in milliseconds. */
export interface OllamaTimeouts {
  /**
   * From sending a chat request to its first streamed chunk. Ollama sends nothing, not even
   * response headers, while the request waits for the model, the model loads and the prompt is
   * evaluated, so this covers all three.
   * @default 900000 (15 minutes)
   */
  firstTokenTimeoutMs: number;
  /** Maximum gap between two streamed chunks once the first arrived. @default 300000 (5 minutes) */
  idleTimeoutMs: number;
  /** From sending a chat request to its last chunk. @default 3600000 (60 minutes) */
  totalTimeoutMs: number;
  /** Whole duration of a request that generates nothing, such as /api/show or /api/version. @default 60000 */
  requestTimeoutMs: number;
}

/**
 * Defaults sized for CPU-only machines, the slowest setup stepper supports. The numbers below are
 * estimates for a 7B model at 4-bit quantization, not measurements.
 * - firstTokenTimeoutMs, 15 minutes: the request may first wait behind another one, because
 *   Ollama runs one request per model at a time by default. Loading the model may then take
 *   minutes, and Ollama itself gives up on a stalled load after 5 minutes. An old CPU may then
 *   evaluate the prompt at a few tokens per second, so a diff of a few thousand tokens alone
 *   takes about 10 minutes.
 * - idleTimeoutMs, 5 minutes: once generation runs, chunks arrive every few seconds at worst, so
 *   a gap this long means the runner is stuck.
 * - totalTimeoutMs, 60 minutes: the first-token allowance plus about 1,000 output tokens at one
 *   token per second, with room for models that think before they answer.
 * - requestTimeoutMs, 1 minute: /api/show, /api/tags and /api/version read metadata and load
 *   no model.
 */
export const DEFAULT_OLLAMA_TIMEOUTS: Readonly<OllamaTimeouts> = Object.freeze({
  firstTokenTimeoutMs: 15 * 60_000,
  idleTimeoutMs: 5 * 60_000,
  totalTimeoutMs: 60 * 60_000,
  requestTimeoutMs: 60_000,
});

export interface OllamaClientOptions {
  /** The server; default: resolveOllamaHost(env). */
  host?: OllamaHost;
  /** Environment that OLLAMA_HOST is read from when `host` is not given. @default process.env */
  env?: NodeJS.ProcessEnv;
  timeouts?: Partial<OllamaTimeouts>;
  /**
   * The undici dispatcher every request goes through. The default is one Agent shared by all
   * clients, with undici's header and body timeouts disabled.
   */
  dispatcher?: Dispatcher;
}

/** Callbacks on the HTTP exchange below ollama-js, which reports nothing before the response headers. */
export interface RequestHooks {
  /** Called once the whole request has been written to the socket. */
  onRequestSent?: () => void;
}

let sharedDispatcher: Agent | undefined;

/**
 * Returns the Agent clients share. Node's fetch aborts a response after 300 s without headers or
 * between two body chunks (undici's headersTimeout and bodyTimeout), and Ollama sends its headers
 * only with the first token, which a CPU-only machine may take longer than that to produce.
 * stepper's watchdogs replace both limits.
 */
export function defaultDispatcher(): Agent {
  sharedDispatcher ??= new Agent({ headersTimeout: 0, bodyTimeout: 0 });
  return sharedDispatcher;
}

/** A connection to one Ollama server, with stepper's time limits. */
export class OllamaClient {
  readonly host: OllamaHost;
  readonly timeouts: Readonly<OllamaTimeouts>;
  readonly #dispatcher: Dispatcher;

  constructor(options: OllamaClientOptions = {}) {
    this.host = options.host ?? resolveOllamaHost(options.env);
    this.timeouts = resolveTimeouts(options.timeouts);
    this.#dispatcher = options.dispatcher ?? defaultDispatcher();
  }

  /**
   * Creates an ollama-js client whose every request goes through this client's dispatcher, sends
   * the host's headers and is aborted by `signal`. ollama-js passes a signal to fetch only for
   * streaming calls and only aborts after the response headers arrived, so `signal` is the only
   * way to cancel a request before Ollama's first byte. Give each request its own `signal`,
   * because a streaming call leaves an abort listener on it until it aborts or is collected.
   */
  api(signal?: AbortSignal, hooks: RequestHooks = {}): Ollama {
    const dispatcher = hooks.onRequestSent ? observeRequestSent(this.#dispatcher, hooks.onRequestSent) : this.#dispatcher;
    return new Ollama({
      host: this.host.url,
      headers: this.host.headers,
      fetch: createFetch(dispatcher, signal),
    });
  }

  /**
   * Runs one request that generates nothing, such as show or version, under `requestTimeoutMs`
   * and the caller's signal, and converts failures with classifyOllamaError.
   */
  async request<T>(run: (api: Ollama) => Promise<T>, options: { signal?: AbortSignal; model?: string } = {}): Promise<T> {
    const limitMs = this.timeouts.requestTimeoutMs;
    const controller = new AbortController();
    const unlink = followSignal(options.signal, controller);
    const timer = setTimeout(() => controller.abort(new WatchdogTimeoutError(this.host, 'request', limitMs, options.model)), limitMs);

    try {
      return await run(this.api(controller.signal));
    } catch (error) {
      throw classifyOllamaError(error, { host: this.host, model: options.model, signal: controller.signal });
    } finally {
      clearTimeout(timer);
      unlink();
    }
  }
}

/** Creates a client for OLLAMA_HOST (or `options.host`) with stepper's time limits. */
export function createOllamaClient(options: OllamaClientOptions = {}): OllamaClient {
  return new OllamaClient(options);
}

/** Fills in and checks the time limits; each must be a whole number of milliseconds that setTimeout accepts. */
export function resolveTimeouts(timeouts: Partial<OllamaTimeouts> = {}): Readonly<OllamaTimeouts> {
  const resolved = { ...DEFAULT_OLLAMA_TIMEOUTS };
  for (const key of Object.keys(DEFAULT_OLLAMA_TIMEOUTS) as Array<keyof OllamaTimeouts>) {
    const value = timeouts[key];
    if (value === undefined) {
      continue;
    }

    if (!Number.isSafeInteger(value) || value < 1 || value > MAX_TIMER_MS) {
      throw new InvalidOptionError(key, `an integer from 1 to ${MAX_TIMER_MS} (milliseconds)`, value);
    }

    resolved[key] = value;
  }

  return Object.freeze(resolved);
}

/**
 * Makes `controller` abort with the reason of `signal`, now or later. Returns the function that
 * removes the listener, so a long-lived signal does not keep finished requests alive.
 */
export function followSignal(signal: AbortSignal | undefined, controller: AbortController): () => void {
  if (signal === undefined) {
    return () => {};
  }

  if (signal.aborted) {
    controller.abort(signal.reason);
    return () => {};
  }

  const forward = () => controller.abort(signal.reason);
  signal.addEventListener('abort', forward, { once: true });
  return () => signal.removeEventListener('abort', forward);
}

function createFetch(dispatcher: Dispatcher, signal: AbortSignal | undefined): typeof fetch {
  return async (input, init = {}) => {
    const response = await fetch(input, {
      ...init,
      signal: init.signal && signal ? eitherSignal(init.signal, signal) : (init.signal ?? signal),
      // Node's fetch takes undici's dispatcher option, which lib.dom's RequestInit does not declare.
      dispatcher,
    } as RequestInit);
    return asJsonError(response);
  };
}

/**
 * Returns a signal that aborts with the reason of whichever of `first` and `second` aborts
 * first. It does the work of AbortSignal.any with two plain listeners: on Node 20.20,
 * AbortSignal.any cost about 0.06 ms of CPU time per streamed chat request to a local
 * server that responds at once (measured on 2 cores).
 * NOTE: a listener stays on a source that never aborts until that source is collected, so
 * each source must belong to one request, as ollama-js's signal and the signals of
 * streamChat and OllamaClient.request do.
 */
function eitherSignal(first: AbortSignal, second: AbortSignal): AbortSignal {
  const controller = new AbortController();
  for (const source of [first, second]) {
    if (source.aborted) {
      controller.abort(source.reason);
      return controller.signal;
    }
  }

  const forward = (event: Event) => {
    first.removeEventListener('abort', forward);
    second.removeEventListener('abort', forward);
    controller.abort((event.target as AbortSignal).reason);
  };
  first.addEventListener('abort', forward);
  second.addEventListener('abort', forward);
  return controller.signal;
}

/**
 * Rewrites an error response whose body is not JSON into `{"error": body}`. ollama-js reads such
 * a body as the message as well, but first prints "Getting text from response" with console.log,
 * which would corrupt stepper's JSON output on stdout.
 */
async function asJsonError(response: Response): Promise<Response> {
  const type = response.headers.get('content-type') ?? '';
  if (response.status < 400 || type.includes('application/json')) {
    return response;
  }

  const text = await response.text();
  // An empty error field makes ollama-js fall back to "Error <status>: <status text>", as it does for an empty body.
  return new Response(JSON.stringify({ error: text }), {
    status: response.status,
    statusText: response.statusText,
    headers: { 'content-type': 'application/json' },
  });
}

/** Wraps a dispatcher so `onSent` runs when a request has been written out completely. */
function observeRequestSent(dispatcher: Dispatcher, onSent: () => void): Dispatcher {
  return dispatcher.compose(
    (dispatch) => (options, handler) => dispatch(options, new RequestSentHandler(handler, onSent) as Dispatcher.DispatchHandlers),
  );
}

class RequestSentHandler extends DecoratorHandler {
  readonly #handler: Dispatcher.DispatchHandlers & { onRequestSent?: () => void };
  readonly #onSent: () => void;

  constructor(handler: Dispatcher.DispatchHandlers, onSent: () => void) {
    super(handler);
    this.#handler = handler;
    this.#onSent = onSent;
  }

  // undici calls this after the body's last byte; DecoratorHandler in undici 6 does not forward it.
  onRequestSent(): void {
    this.#onSent();
    this.#handler.onRequestSent?.();
  }
}
