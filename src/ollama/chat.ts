import { performance } from 'node:perf_hooks';

import type { AbortableAsyncIterator, ChatRequest, ChatResponse } from 'ollama';

import { InvalidOptionError } from '../errors.js';
import { followSignal, type OllamaClient, type OllamaTimeouts, type RequestHooks, resolveTimeouts } from './client.js';
import { classifyOllamaError, StreamError, type Watchdog, WatchdogTimeoutError } from './errors.js';

/**
 * Stage of a chat request. Ollama sends nothing until the first token, so the client cannot
 * distinguish queueing, model loading and prompt evaluation. 'waiting' lasts until the request
 * is written to the socket, and 'loading/prompt' until the first chunk arrives.
 */
export type ChatPhase = 'waiting' | 'loading/prompt' | 'generating';

export interface ChatProgress {
  phase: ChatPhase;
  /** Chunks with content or thinking so far; Ollama streams about one token per chunk. */
  tokens: number;
  /** The part of `tokens` that carried thinking rather than content. */
  thinkingTokens: number;
  /** Rate since the first token; undefined until a second token arrived. */
  tokensPerSecond: number | undefined;
  /** Since streamChat was called, in milliseconds. */
  elapsedMs: number;
}

/** A chat request without `stream`, which streamChat always sets. */
export type StreamChatRequest = Omit<ChatRequest, 'stream'>;

export interface StreamChatOptions {
  /** Cancels the request, for a cancelled job or a shutdown; its reason is what streamChat then throws. */
  signal?: AbortSignal;
  /**
   * Called on every phase change and, while chunks stream, at most once per
   * progressIntervalMs and always for the final chunk. An exception from it aborts the
   * request and is rethrown.
   */
  onProgress?: (progress: ChatProgress) => void;
  /**
   * Minimum time between two onProgress calls for chunks of the same phase, in milliseconds.
   * 0 reports every chunk. A chunk that arrives sooner is counted but not reported, which saves
   * work when a fast server sends many chunks at once.
   * @default 0
   */
  progressIntervalMs?: number;
  /** Overrides the client's limits for this request. */
  timeouts?: Partial<Pick<OllamaTimeouts, 'firstTokenTimeoutMs' | 'idleTimeoutMs' | 'totalTimeoutMs'>>;
}

/** The streamed response. Metrics are undefined when the server left them out, which it does for zero values. */
export interface ChatResult {
  model: string;
  content: string;
  thinking: string;
  /** 'stop', 'length' and others; undefined on servers before 0.1.35. */
  doneReason: string | undefined;
  promptEvalCount: number | undefined;
  evalCount: number | undefined;
  totalDurationNs: number | undefined;
  loadDurationNs: number | undefined;
  promptEvalDurationNs: number | undefined;
  evalDurationNs: number | undefined;
  /** Chunks received, the final one included. */
  chunks: number;
}

/**
 * Sends a streaming chat request and collects the response. The request is aborted when the
 * caller's signal fires, when a watchdog expires or when reading stops early for any other
 * reason. Aborting closes the connection, which makes Ollama stop generating. The watchdogs are
 * firstTokenTimeoutMs until the first chunk, idleTimeoutMs between chunks and totalTimeoutMs
 * for the whole request.
 *
 * @throws the error classifyOllamaError returns, the caller's abort reason, or what onProgress threw
 */
export async function streamChat(client: OllamaClient, request: StreamChatRequest, options: StreamChatOptions = {}): Promise<ChatResult> {
  const limits = resolveLimits(client, options.timeouts);
  const progressIntervalMs = options.progressIntervalMs ?? 0;
  if (!Number.isFinite(progressIntervalMs) || progressIntervalMs < 0) {
    throw new InvalidOptionError('progressIntervalMs', 'a number of milliseconds from 0', progressIntervalMs);
  }

  const controller = new AbortController();
  const unlink = followSignal(options.signal, controller);
  const startedAt = performance.now();
  const callbackErrors = new WeakSet<object>();
  const expire = (watchdog: Watchdog, limitMs: number) => controller.abort(new WatchdogTimeoutError(client.host, watchdog, limitMs, request.model));

  // One timer watches the gaps between chunks for the whole stream. Re-arming a timer for each
  // chunk cost about 0.05 ms of CPU time per report of about 100 chunks from a server that
  // responds at once. When the timer fires, it compares the time since the last chunk with the
  // limit, and if the gap is shorter it sleeps again for the rest.
  let lastChunkAt = 0;
  let idleTimer: NodeJS.Timeout | undefined;
  const checkIdle = () => {
    const quietMs = performance.now() - lastChunkAt;
    if (quietMs >= limits.idleTimeoutMs) {
      expire('idle', limits.idleTimeoutMs);
    } else {
      idleTimer = setTimeout(checkIdle, Math.ceil(limits.idleTimeoutMs - quietMs));
    }
  };

  const counts = { tokens: 0, thinkingTokens: 0, firstTokenAt: 0 };
  let phase: ChatPhase = 'waiting';
  let reportedAt = Number.NEGATIVE_INFINITY;
  const report = (next: ChatPhase, now = performance.now()) => {
    phase = next;
    if (!options.onProgress || controller.signal.aborted) {
      return;
    }

    reportedAt = now;
    const seconds = (now - counts.firstTokenAt) / 1000;
    try {
      options.onProgress({
        phase,
        tokens: counts.tokens,
        thinkingTokens: counts.thinkingTokens,
        tokensPerSecond: counts.tokens >= 2 && seconds > 0 ? (counts.tokens - 1) / seconds : undefined,
        elapsedMs: now - startedAt,
      });
    } catch (error) {
      if (error !== null && typeof error === 'object') {
        callbackErrors.add(error);
      }

      throw error;
    }
  };

  let iterator: AbortableAsyncIterator<ChatResponse> | undefined;
  let done = false;
  let streaming = false;
  const totalTimer = setTimeout(expire, limits.totalTimeoutMs, 'total', limits.totalTimeoutMs);
  let firstTokenTimer: NodeJS.Timeout | undefined = setTimeout(expire, limits.firstTokenTimeoutMs, 'firstToken', limits.firstTokenTimeoutMs);

  try {
    report('waiting');

    // Only the 'loading/prompt' progress needs to know when the request was sent, and the hook
    // adds a handler layer to every response event, so a call without onProgress goes without it.
    const hooks: RequestHooks = {};
    if (options.onProgress) {
      hooks.onRequestSent = () => {
        // undici calls this from its socket writer, where an exception must not escape.
        try {
          if (phase === 'waiting') {
            report('loading/prompt');
          }
        } catch (error) {
          controller.abort(error);
        }
      };
    }

    const api = client.api(controller.signal, hooks);
    iterator = await api.chat({ ...request, stream: true });
    streaming = true;

    const result: ChatResult = emptyResult(request.model);
    for await (const part of iterator) {
      lastChunkAt = performance.now();
      if (result.chunks === 0) {
        clearTimeout(firstTokenTimer);
        firstTokenTimer = undefined;
        idleTimer = setTimeout(checkIdle, limits.idleTimeoutMs);
      }

      result.chunks += 1;
      addChunk(result, part, counts);

      if (part.done) {
        done = true;
        addFinalMetrics(result, part);
      }

      // The first chunk changes the phase to 'generating', and the final one carries the final counts.
      if (result.chunks === 1 || part.done || lastChunkAt - reportedAt >= progressIntervalMs) {
        report('generating', lastChunkAt);
      }
    }

    if (!done) {
      // ollama-js throws before this point in 0.6.4; this keeps the contract if a version does not.
      throw new StreamError(client.host, 'no_done', 'the stream ended without a done line');
    }

    return result;
  } catch (error) {
    if (error !== null && typeof error === 'object' && callbackErrors.has(error)) {
      throw error;
    }

    throw classifyOllamaError(error, {
      host: client.host,
      model: request.model,
      signal: controller.signal,
      phase: streaming ? 'stream' : 'request',
    });
  } finally {
    clearTimeout(totalTimer);
    clearTimeout(firstTokenTimer);
    clearTimeout(idleTimer);
    unlink();
    if (!done) {
      // Leaving a for-await loop does not close the HTTP response, and Ollama keeps generating until it is closed.
      iterator?.abort();
      controller.abort();
    }
  }
}

/** Returns the client's watchdog limits with the per-call overrides that are not undefined. */
function resolveLimits(client: OllamaClient, overrides: StreamChatOptions['timeouts']): Readonly<OllamaTimeouts> {
  if (overrides === undefined) {
    return client.timeouts;
  }

  const defined = Object.entries(overrides).filter(([, value]) => value !== undefined);
  return defined.length === 0 ? client.timeouts : resolveTimeouts({ ...client.timeouts, ...Object.fromEntries(defined) });
}

function emptyResult(model: string): ChatResult {
  return {
    model,
    content: '',
    thinking: '',
    doneReason: undefined,
    promptEvalCount: undefined,
    evalCount: undefined,
    totalDurationNs: undefined,
    loadDurationNs: undefined,
    promptEvalDurationNs: undefined,
    evalDurationNs: undefined,
    chunks: 0,
  };
}

// The final chunk may carry text too, so every chunk is read the same way.
function addChunk(result: ChatResult, part: ChatResponse, counts: { tokens: number; thinkingTokens: number; firstTokenAt: number }): void {
  const content = part.message?.content ?? '';
  const thinking = part.message?.thinking ?? '';
  result.content += content;
  result.thinking += thinking;
  if (typeof part.model === 'string' && part.model !== '') {
    result.model = part.model;
  }

  if (content === '' && thinking === '') {
    return;
  }

  if (counts.tokens === 0) {
    counts.firstTokenAt = performance.now();
  }

  counts.tokens += 1;
  if (thinking !== '') {
    counts.thinkingTokens += 1;
  }
}

function addFinalMetrics(result: ChatResult, part: ChatResponse): void {
  // ollama-js types these as required, but Ollama omits zero values and old servers omit done_reason.
  const final = part as Partial<ChatResponse>;
  result.doneReason = typeof final.done_reason === 'string' ? final.done_reason : undefined;
  result.promptEvalCount = numberOrUndefined(final.prompt_eval_count);
  result.evalCount = numberOrUndefined(final.eval_count);
  result.totalDurationNs = numberOrUndefined(final.total_duration);
  result.loadDurationNs = numberOrUndefined(final.load_duration);
  result.promptEvalDurationNs = numberOrUndefined(final.prompt_eval_duration);
  result.evalDurationNs = numberOrUndefined(final.eval_duration);
}

function numberOrUndefined(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}
