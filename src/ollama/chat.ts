import { performance } from 'node:perf_hooks';

import type { AbortableAsyncIterator, ChatRequest, ChatResponse } from 'ollama';

import { followSignal, type OllamaClient, type OllamaTimeouts, resolveTimeouts } from './client.js';
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
  /** Called on every phase change and every chunk. An exception from it aborts the request and is rethrown. */
  onProgress?: (progress: ChatProgress) => void;
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
  const overrides = Object.entries(options.timeouts ?? {}).filter(([, value]) => value !== undefined);
  const limits = resolveTimeouts({ ...client.timeouts, ...Object.fromEntries(overrides) });
  const controller = new AbortController();
  const unlink = followSignal(options.signal, controller);
  const startedAt = performance.now();
  const timers = new Map<Watchdog, NodeJS.Timeout>();
  const callbackErrors = new WeakSet<object>();

  const arm = (watchdog: Watchdog, limitMs: number) => {
    clearTimeout(timers.get(watchdog));
    timers.set(
      watchdog,
      setTimeout(() => controller.abort(new WatchdogTimeoutError(client.host, watchdog, limitMs, request.model)), limitMs),
    );
  };

  const counts = { tokens: 0, thinkingTokens: 0, firstTokenAt: 0 };
  let phase: ChatPhase = 'waiting';
  const report = (next: ChatPhase) => {
    phase = next;
    if (!options.onProgress || controller.signal.aborted) {
      return;
    }

    const now = performance.now();
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

  try {
    arm('total', limits.totalTimeoutMs);
    arm('firstToken', limits.firstTokenTimeoutMs);
    report('waiting');

    const onRequestSent = () => {
      // undici calls this from its socket writer, where an exception must not escape.
      try {
        if (phase === 'waiting') {
          report('loading/prompt');
        }
      } catch (error) {
        controller.abort(error);
      }
    };
    const api = client.api(controller.signal, { onRequestSent });
    iterator = await api.chat({ ...request, stream: true });
    streaming = true;

    const result: ChatResult = emptyResult(request.model);
    for await (const part of iterator) {
      if (result.chunks === 0) {
        clearTimeout(timers.get('firstToken'));
      }

      arm('idle', limits.idleTimeoutMs);
      result.chunks += 1;
      addChunk(result, part, counts);

      if (part.done) {
        done = true;
        addFinalMetrics(result, part);
      }

      report('generating');
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
    for (const timer of timers.values()) {
      clearTimeout(timer);
    }

    unlink();
    if (!done) {
      // Leaving a for-await loop does not close the HTTP response, and Ollama keeps generating until it is closed.
      iterator?.abort();
      controller.abort();
    }
  }
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
