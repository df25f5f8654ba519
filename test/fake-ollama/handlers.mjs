// Endpoint handlers. Each takes the fake server and a request context:
// `{ req, res, entry, rawBody, plan, rule, signal }`.

import { goQuote } from './go-format.mjs';
import {
  DEFAULT_THINKING,
  defaultAnswer,
  estimateTokens,
  planPieces,
  rewriteAnswer,
} from './generation.mjs';
import { CONTEXT_ERROR, notFoundMessage } from './faults.mjs';
import { findModel, normalizeModelName, psBody, pullProgress, showBody, tagsBody } from './models.mjs';
import {
  DEFAULT_KEEP_ALIVE_MS,
  RequestError,
  checkFormat,
  checkOptions,
  decodeRequest,
  schemaUsesPattern,
} from './requests.mjs';
import { BodyWriter, JSON_TYPE, NDJSON_TYPE, TEXT_TYPE, dropConnection, pause, sendComplete, sendError } from './respond.mjs';
import { isVersionAtLeast } from './versions.mjs';

// Wall-clock time at start-up plus the monotonic clock since, so timestamps never go backwards.
const CLOCK_BASE_NS = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();

/** Formats the current time like Go's RFC 3339 with nanoseconds in UTC, trailing zeros dropped. */
function timestamp() {
  const nowNs = CLOCK_BASE_NS + process.hrtime.bigint();
  const iso = new Date(Number(nowNs / 1_000_000n)).toISOString();
  const fraction = String(nowNs % 1_000_000_000n).padStart(9, '0').replace(/0+$/, '');
  return fraction === '' ? `${iso.slice(0, 19)}Z` : `${iso.slice(0, 19)}.${fraction}Z`;
}

function sendJson(ctx, body) {
  sendComplete(ctx.res, ctx.entry, 200, JSON_TYPE, JSON.stringify(body));
}

export function handleRoot(server, ctx) {
  sendComplete(ctx.res, ctx.entry, 200, TEXT_TYPE, 'Ollama is running');
}

export function handleVersion(server, ctx) {
  sendJson(ctx, { version: server.version });
}

export function handleTags(server, ctx) {
  sendJson(ctx, tagsBody(server.models));
}

export function handlePs(server, ctx) {
  sendJson(ctx, psBody(server.loaded, server.version, Date.now()));
}

export function handleShow(server, ctx) {
  const body = decodeRequest(ctx.rawBody, 'ShowRequest', server.version);
  const name = body.model || body.name;
  if (!name) {
    throw new RequestError(400, 'model is required');
  }

  const model = findModel(server.models, name);
  if (model === undefined) {
    throw new RequestError(404, notFoundMessage(normalizeModelName(name)));
  }

  sendJson(ctx, showBody(model, body, server.version));
}

export async function handlePull(server, ctx) {
  const body = decodeRequest(ctx.rawBody, 'PullRequest', server.version);
  const name = body.model || body.name;
  if (!name) {
    throw new RequestError(400, 'model is required');
  }

  const stream = body.stream ?? true;
  const candidate = findModel(server.models, name) ?? findModel(server.registry, name);
  const missing = 'pull model manifest: file does not exist';
  if (candidate === undefined && !stream) {
    throw new RequestError(500, missing);
  }

  const writer = stream ? new BodyWriter(ctx.res, ctx.entry, ctx.signal, { contentType: NDJSON_TYPE, split: false }) : undefined;
  const lines = candidate === undefined ? [{ status: 'pulling manifest' }, { error: missing }] : pullProgress(candidate);
  for (const line of lines) {
    await pause(server.timingFor(ctx.plan).tokenDelayMs, ctx.signal);
    if (line.status === 'success') {
      server.installModel(candidate);
    }

    await writer?.writeJsonLine(line);
  }

  if (writer) {
    await writer.end();
  } else {
    sendJson(ctx, { status: 'success' });
  }
}

function promptText(endpoint, body) {
  if (endpoint === 'chat') {
    return (body.messages ?? []).map((message) => message.content ?? '').join('\n');
  }

  return [body.system, body.prompt, body.suffix].filter((part) => typeof part === 'string' && part !== '').join('\n');
}

function isLoadOnly(endpoint, body) {
  if (endpoint === 'chat') {
    return !Array.isArray(body.messages) || body.messages.length === 0;
  }

  return (body.prompt ?? '') === '' && !(Array.isArray(body.images) && body.images.length > 0);
}

/** Effective context: request num_ctx, else the Modelfile's, else the server default, capped by the model. */
function effectiveNumCtx(server, model, options) {
  const requested = Math.trunc(options?.num_ctx ?? model.parameters.num_ctx ?? server.defaultNumCtx);
  const capped = model.contextLength === null ? requested : Math.min(requested, model.contextLength);
  return Math.max(4, capped);
}

function thinkingActive(server, model, think) {
  if (server.legacyThinking || !model.capabilities.includes('thinking') || !isVersionAtLeast(server.version, '0.9.0')) {
    return false;
  }

  if (think === undefined || think === null) {
    return isVersionAtLeast(server.version, '0.12.4');
  }

  return think !== false;
}

async function resolveText(source, request, fallback) {
  const value = typeof source === 'function' ? await source(request) : source;
  if (value === undefined || value === null) {
    return fallback();
  }

  return typeof value === 'string' ? value : JSON.stringify(value);
}

function validateGeneration(server, endpoint, body) {
  if (body.top_logprobs !== undefined && body.top_logprobs !== null && (body.top_logprobs < 0 || body.top_logprobs > 20)) {
    throw new RequestError(400, 'top_logprobs must be between 0 and 20');
  }

  const usesContext = Array.isArray(body.context) && body.context.length > 0;
  if (endpoint === 'generate' && body.raw === true && (body.template || body.system || usesContext)) {
    throw new RequestError(400, 'raw mode does not support template, system, or context');
  }

  if (!body.model) {
    throw new RequestError(400, 'model is required');
  }

  const model = findModel(server.models, body.model);
  if (model === undefined) {
    throw new RequestError(404, notFoundMessage(body.model));
  }

  if (!model.capabilities.includes('completion')) {
    throw new RequestError(400, `${goQuote(body.model)} does not support ${endpoint}`);
  }

  const wantsThinking = body.think === true || typeof body.think === 'string';
  if (wantsThinking && !model.capabilities.includes('thinking')) {
    throw new RequestError(400, `${goQuote(body.model)} does not support thinking`);
  }

  return model;
}

function contextTokens(count) {
  return Array.from({ length: count }, (_, index) => ((index * 7919) % 151_000) + 1);
}

/** Handles POST /api/chat and POST /api/generate. */
export async function handleGeneration(server, ctx, endpoint) {
  const { entry, plan, signal } = ctx;
  const body = decodeRequest(ctx.rawBody, endpoint === 'chat' ? 'ChatRequest' : 'GenerateRequest', server.version);
  const model = validateGeneration(server, endpoint, body);
  entry.unknownOptions = checkOptions(body.options);

  const numCtx = effectiveNumCtx(server, model, body.options);
  const keepAliveMs = body.keepAliveMs ?? DEFAULT_KEEP_ALIVE_MS;
  entry.numCtx = numCtx;
  const started = process.hrtime.bigint();
  const timing = server.timingFor(plan);

  if (isLoadOnly(endpoint, body)) {
    const doneReason = keepAliveMs === 0 ? 'unload' : 'load';
    if (doneReason === 'load') {
      await server.loadModel(model, numCtx, keepAliveMs, plan, signal, entry);
    } else {
      server.loaded.delete(model.name);
    }

    const reply = { model: body.model, created_at: timestamp() };
    if (endpoint === 'chat') {
      reply.message = { role: 'assistant', content: '' };
    } else {
      reply.response = '';
    }
    sendJson(ctx, { ...reply, done: true, done_reason: doneReason });
    return;
  }

  const loadNs = await server.loadModel(model, numCtx, keepAliveMs, plan, signal, entry);

  checkFormat(body.format);
  if (server.rejectSchemaPatterns && schemaUsesPattern(body.format)) {
    throw new RequestError(500, 'invalid JSON schema in format');
  }

  const prompt = promptText(endpoint, body);
  const estimate = estimateTokens(prompt) + (Array.isArray(body.context) ? body.context.length : 0);
  let promptEvalCount = Math.min(estimate, numCtx);
  entry.promptTokensEstimate = estimate;
  if (estimate >= numCtx) {
    if (server.strictContext || body.truncate === false) {
      throw new RequestError(400, CONTEXT_ERROR);
    }

    // Real servers keep the start and the end of an over-long prompt, reported as about half
    // the window, so prompt_eval_count drops to num_ctx / 2 + 2 while the answer is still 200.
    promptEvalCount = Math.floor(numCtx / 2) + 2;
    entry.promptTruncated = true;
  }

  if (plan.silentTruncation) {
    promptEvalCount = plan.silentTruncation.promptEvalCount ?? Math.max(1, Math.floor(estimate / 4));
    entry.promptTruncated = true;
  }
  entry.promptEvalCount = promptEvalCount;

  const answerRequest = { endpoint, model: body.model, body, prompt, format: body.format, requestId: entry.id };
  let answer = await resolveText(ctx.rule?.answer ?? server.currentAnswer(), answerRequest, () => defaultAnswer(body.format));
  const thinking = await resolveText(ctx.rule?.thinking ?? server.currentThinking(), answerRequest, () => DEFAULT_THINKING);
  answer = rewriteAnswer(answer, plan.contentFaults, typeof body.format === 'object' ? body.format : undefined);
  if (server.legacyThinking && model.capabilities.includes('thinking')) {
    answer = `<think>\n${thinking}\n</think>\n\n${answer}`;
  }

  const numPredict = body.options?.num_predict ?? model.parameters.num_predict ?? -1;
  const pieces = planPieces({
    answer,
    thinking: thinkingActive(server, model, body.think) ? thinking : undefined,
    numPredict: Math.trunc(numPredict),
    roomInContext: body.shift === false ? Math.max(0, numCtx - promptEvalCount) : Infinity,
    faults: plan.pieceFaults,
  });

  const output = new GenerationOutput(server, ctx, endpoint, body, {
    started,
    loadNs,
    promptEvalCount,
    pieces,
    includeContext: endpoint === 'generate' && body.raw !== true,
  });
  if (body.stream ?? true) {
    await output.stream(timing);
  } else {
    await output.single(timing);
  }

  server.finishWithModel(model, keepAliveMs);
}

/** Writes one generation's lines or single object, applying the transport faults of the plan. */
class GenerationOutput {
  constructor(server, ctx, endpoint, body, generation) {
    this.server = server;
    this.ctx = ctx;
    this.endpoint = endpoint;
    this.body = body;
    this.generation = generation;
    this.promptNs = 0n;
    this.evalNs = 0n;
  }

  chunk(piece, isThinking) {
    const line = { model: this.body.model, created_at: timestamp() };
    const content = isThinking ? '' : piece;
    if (this.endpoint === 'chat') {
      line.message = { role: 'assistant', content };
      if (isThinking) {
        line.message.thinking = piece;
      }
    } else {
      line.response = content;
      if (isThinking) {
        line.thinking = piece;
      }
    }

    line.done = false;
    return line;
  }

  /** Builds the last object; `complete` false gives the shape of a stream cut by the repeat guard. */
  final(content, thinking, evalCount, complete) {
    const { plan } = this.ctx;
    const result = this.chunk('', false);
    if (this.endpoint === 'chat') {
      result.message.content = content;
      if (thinking !== '') {
        result.message.thinking = thinking;
      }
    } else {
      result.response = content;
      if (thinking !== '') {
        result.thinking = thinking;
      }
    }

    if (!complete) {
      return result;
    }

    result.done = true;
    if (isVersionAtLeast(this.server.version, '0.1.35')) {
      result.done_reason = this.generation.pieces.doneReason;
    }

    if (this.generation.includeContext) {
      result.context = contextTokens(this.generation.promptEvalCount + evalCount);
    }

    const metrics = {
      total_duration: Number(process.hrtime.bigint() - this.generation.started),
      load_duration: Number(this.generation.loadNs),
      prompt_eval_count: this.generation.promptEvalCount,
      prompt_eval_duration: Number(this.promptNs),
      eval_count: evalCount,
      eval_duration: Number(this.evalNs),
    };
    for (const [key, value] of Object.entries(metrics)) {
      if (value !== 0) {
        result[key] = value;
      }
    }

    for (const field of plan.omitFields) {
      delete result[field];
    }

    return result;
  }

  async evaluatePrompt(timing) {
    const start = process.hrtime.bigint();
    await pause(timing.promptDelayMsPerToken * this.generation.promptEvalCount, this.ctx.signal);
    this.promptNs = process.hrtime.bigint() - start;
  }

  async stream(timing) {
    const { res, entry, plan, signal } = this.ctx;
    const writer = new BodyWriter(res, entry, signal, { contentType: NDJSON_TYPE, split: plan.splitChunks });
    await this.evaluatePrompt(timing);
    await pause(plan.slowHeadersMs, signal);

    const { pieces } = this.generation;
    const items = [
      ...pieces.thinking.map((piece) => ({ piece, isThinking: true })),
      ...pieces.content.map((piece) => ({ piece, isThinking: false })),
    ];
    const lastText = plan.finalLineHasText && items.at(-1)?.isThinking === false ? items.pop().piece : '';
    const fired = new Set();

    // Runs the "after N lines" faults due once `written` lines are out; returns true to stop.
    const checkpoint = async (written) => {
      if (plan.stall && !fired.has('stall') && written >= plan.stall.afterLines) {
        fired.add('stall');
        await pause(plan.stall.stallMs, signal);
      }

      if (plan.malformedLine && !fired.has('malformed') && written >= plan.malformedLine.afterLines) {
        fired.add('malformed');
        await writer.write(`${plan.malformedLine.text}\n`);
      }

      if (plan.errorMidstream && written >= plan.errorMidstream.afterLines) {
        entry.error = plan.errorMidstream.message;
        await writer.writeJsonLine({ error: plan.errorMidstream.message });
        await writer.end();
        return true;
      }

      if (plan.dropAfterLines !== undefined && written >= plan.dropAfterLines) {
        await writer.flushPending();
        await dropConnection(res, entry);
        return true;
      }

      return false;
    };

    const evalStart = process.hrtime.bigint();
    for (const [index, item] of items.entries()) {
      await pause(timing.tokenDelayMs, signal);
      if (await checkpoint(index)) {
        return;
      }

      await writer.writeJsonLine(this.chunk(item.piece, item.isThinking));
    }

    if (await checkpoint(Infinity)) {
      return;
    }

    this.evalNs = process.hrtime.bigint() - evalStart;
    if (!plan.noDone && !pieces.endsWithoutDone) {
      const evalCount = pieces.thinking.length + pieces.content.length;
      await writer.writeJsonLine(this.final(lastText, '', evalCount, true));
    }

    await writer.end();
  }

  async single(timing) {
    const { res, entry, plan, signal } = this.ctx;
    const { pieces } = this.generation;
    const evalCount = pieces.thinking.length + pieces.content.length;
    await this.evaluatePrompt(timing);

    const evalStart = process.hrtime.bigint();
    await pause(timing.tokenDelayMs * evalCount + plan.slowHeadersMs + (plan.stall?.stallMs ?? 0), signal);
    this.evalNs = process.hrtime.bigint() - evalStart;

    if (plan.errorMidstream) {
      // Without a stream there is nothing written yet, so the failure becomes an error status.
      sendError(res, entry, 500, plan.errorMidstream.message);
      return;
    }

    if (plan.dropAfterLines !== undefined) {
      await dropConnection(res, entry);
      return;
    }

    const complete = !plan.noDone && !pieces.endsWithoutDone;
    const text = plan.malformedLine
      ? plan.malformedLine.text
      : JSON.stringify(this.final(pieces.content.join(''), pieces.thinking.join(''), evalCount, complete));
    if (!plan.splitChunks) {
      sendComplete(res, entry, 200, JSON_TYPE, text);
      return;
    }

    const writer = new BodyWriter(res, entry, signal, { contentType: JSON_TYPE, split: true });
    await writer.write(text);
    await writer.end();
  }
}

