import { Ollama } from 'ollama';
import { Agent, DecoratorHandler, type Dispatcher } from 'undici';

import { classifyOllamaError, WatchdogTimeoutError } from './errors.js';
import { type OllamaHost, resolveOllamaHost } from './host.js';
import { type OllamaTimeouts, readTimeoutsFromEnv, resolveTimeouts } from './timeouts.js';

export {
  DEFAULT_OLLAMA_TIMEOUTS,
  OLLAMA_TIMEOUT_ENV_VARIABLES,
  type OllamaTimeouts,
  readTimeoutsFromEnv,
  resolveTimeouts,
} from './timeouts.js';

export interface OllamaClientOptions {
  /** The server; default: resolveOllamaHost(env). */
  host?: OllamaHost;
  /** Environment that OLLAMA_HOST and the STEPPER_OLLAMA_*_MS limits are read from. @default process.env */
  env?: NodeJS.ProcessEnv;
  /** Time limits; each one given here wins over its environment variable, which wins over the default. */
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
    this.timeouts = resolveTimeouts({ ...readTimeoutsFromEnv(options.env ?? process.env), ...definedTimeouts(options.timeouts) });
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

/** Drops the keys set to undefined, so that they do not hide an environment variable. */
function definedTimeouts(timeouts: Partial<OllamaTimeouts> = {}): Partial<OllamaTimeouts> {
  return Object.fromEntries(Object.entries(timeouts).filter(([, value]) => value !== undefined));
}

/** The signal that each followSignal controller's signal follows. */
const signalSources = new WeakMap<AbortSignal, AbortSignal>();

/**
 * Returns `signal` and the signals it follows through followSignal, nearest first. A job's
 * request signal leads back to the job's own signal this way.
 */
export function* signalLineage(signal: AbortSignal | undefined): Generator<AbortSignal> {
  for (let current = signal; current !== undefined; current = signalSources.get(current)) {
    yield current;
  }
}

/**
 * Makes `controller` abort with the reason of `signal`, now or later. Returns the function that
 * removes the listener, so a long-lived signal does not keep finished requests alive.
 */
export function followSignal(signal: AbortSignal | undefined, controller: AbortController): () => void {
  if (signal === undefined) {
    return () => {};
  }

  signalSources.set(controller.signal, signal);

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
