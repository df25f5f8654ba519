// A fake Ollama HTTP server for tests: the real endpoints, wire format and error texts, plus
// scripted faults. Plain JavaScript so child processes can run it with node; types are in
// server.d.mts. README.md beside this file describes the control surface and every fault.

import { EventEmitter } from 'node:events';
import http from 'node:http';

import { CONTROL_PREFIX, ControlFile, handleControl, optionsFromEnv } from './control.mjs';
import { CONTEXT_ERROR, ERROR_PRESETS, FAULT_KINDS, notFoundMessage, normalizeRule, planFaults, selectRule } from './faults.mjs';
import {
  handleGeneration,
  handlePs,
  handlePull,
  handleRoot,
  handleShow,
  handleTags,
  handleVersion,
} from './handlers.mjs';
import { isAllowedHost } from './hosts.mjs';
import { DEFAULT_MODELS, normalizeModel, normalizeModelName } from './models.mjs';
import { RequestError } from './requests.mjs';
import { ClientGoneError, TEXT_TYPE, dropConnection, pause, sendComplete, sendError } from './respond.mjs';
import { validateVersion } from './versions.mjs';

export { CONTEXT_ERROR, ERROR_PRESETS, FAULT_KINDS, optionsFromEnv };

export const DEFAULT_VERSION = '0.32.15';
export const DEFAULT_NUM_CTX = 4096;

const LOOPBACK = '127.0.0.1';
const MAX_BODY_BYTES = 64 * 1024 * 1024;
// Go's largest time.Duration in milliseconds (about 292 years), used for a negative keep_alive.
const FOREVER_MS = 9_223_372_036_854;

const ROUTES = {
  '/': { GET: handleRoot, HEAD: handleRoot },
  '/api/version': { GET: handleVersion, HEAD: handleVersion },
  '/api/tags': { GET: handleTags, HEAD: handleTags },
  '/api/show': { POST: handleShow },
  '/api/ps': { GET: handlePs },
  '/api/pull': { POST: handlePull },
  '/api/chat': { POST: (server, ctx) => handleGeneration(server, ctx, 'chat') },
  '/api/generate': { POST: (server, ctx) => handleGeneration(server, ctx, 'generate') },
};

const STREAMING_PATHS = new Set(['/api/chat', '/api/generate', '/api/pull']);

function checkDelay(value, name) {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new TypeError(`timing.${name} must be a non-negative integer of milliseconds, got ${JSON.stringify(value)}`);
  }
  return value;
}

function parseLoosely(text) {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

async function readBody(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      throw new RequestError(413, `request body larger than ${MAX_BODY_BYTES} bytes`);
    }
    chunks.push(chunk);
  }

  return Buffer.concat(chunks).toString('utf8');
}

class FakeOllama {
  constructor(options = {}) {
    this.version = options.version ?? DEFAULT_VERSION;
    validateVersion(this.version);
    this.defaultNumCtx = options.defaultNumCtx ?? DEFAULT_NUM_CTX;
    if (!Number.isSafeInteger(this.defaultNumCtx) || this.defaultNumCtx <= 0) {
      throw new TypeError(`defaultNumCtx must be a positive integer, got ${JSON.stringify(options.defaultNumCtx)}`);
    }

    const timing = options.timing ?? {};
    this.timing = {
      loadDelayMs: checkDelay(timing.loadDelayMs ?? 0, 'loadDelayMs'),
      promptDelayMsPerToken: checkDelay(timing.promptDelayMsPerToken ?? 0, 'promptDelayMsPerToken'),
      tokenDelayMs: checkDelay(timing.tokenDelayMs ?? 0, 'tokenDelayMs'),
    };
    this.initialModels = (options.models ?? DEFAULT_MODELS).map(normalizeModel);
    this.models = [...this.initialModels];
    this.registry = (options.registry ?? []).map(normalizeModel);
    this.answer = options.answer;
    this.thinking = options.thinking;
    this.strictContext = options.strictContext === true;
    this.legacyThinking = options.legacyThinking === true;
    this.checkHost = options.checkHost === true;
    this.rejectSchemaPatterns = options.rejectSchemaPatterns === true;
    this.log = options.log ?? (() => undefined);

    this.requests = [];
    this.rules = [];
    this.fileRules = [];
    this.fileAnswer = undefined;
    this.fileThinking = undefined;
    this.controlFile = options.controlFile === undefined ? undefined : new ControlFile(options.controlFile, this.log);
    this.loaded = new Map();
    this.servers = new Set();
    this.activeRequests = new Set();
    this.events = new EventEmitter();
    this.events.setMaxListeners(0);
    this.nextRequestId = 1;
    this.port = 0;
    this.url = '';
    this.closing = undefined;

    for (const rule of options.faults ?? []) {
      this.enqueue(rule);
    }
  }

  async listen(port) {
    const server = http.createServer((req, res) => void this.handle(req, res));
    await new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, LOOPBACK, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.servers.add(server);
    this.port = server.address().port;
    this.url = `http://${LOOPBACK}:${this.port}`;
  }

  // ---- control surface -------------------------------------------------

  enqueue(rule) {
    const normalized = normalizeRule(rule, 'api');
    this.rules.push(normalized);
    return {
      id: normalized.id,
      get hits() {
        return normalized.hits;
      },
      get remaining() {
        return normalized.remaining;
      },
    };
  }

  clearFaults() {
    this.rules = [];
  }

  setAnswer(answer) {
    this.answer = answer;
  }

  setThinking(thinking) {
    this.thinking = thinking;
  }

  currentAnswer() {
    return this.answer ?? this.fileAnswer;
  }

  currentThinking() {
    return this.thinking ?? this.fileThinking;
  }

  setModels(models) {
    this.models = models.map(normalizeModel);
    for (const name of this.loaded.keys()) {
      if (!this.models.some((model) => model.name === name)) {
        this.loaded.delete(name);
      }
    }
  }

  addModel(model) {
    this.installModel(normalizeModel(model));
  }

  installModel(model) {
    this.models = [...this.models.filter((existing) => existing.name !== model.name), model];
  }

  removeModel(name) {
    const normalized = normalizeModelName(name);
    this.models = this.models.filter((model) => model.name !== normalized);
    this.loaded.delete(normalized);
  }

  clearRequests() {
    this.requests.length = 0;
  }

  reset() {
    this.rules = [];
    this.loaded.clear();
    this.clearRequests();
  }

  unloadAll() {
    this.loaded.clear();
  }

  describeState() {
    return {
      url: this.url,
      version: this.version,
      models: this.models.map((model) => model.name),
      loaded: [...this.loaded.values()].map(({ model, numCtx, expiresAt }) => ({
        name: model.name,
        numCtx,
        expiresAt: new Date(expiresAt).toISOString(),
      })),
      rules: [...this.rules, ...this.fileRules].map((rule) => ({
        id: rule.id,
        source: rule.source,
        faults: rule.kinds,
        match: rule.description,
        remaining: Number.isFinite(rule.remaining) ? rule.remaining : 'always',
        hits: rule.hits,
      })),
      controlFileError: this.controlFile?.error,
    };
  }

  /** Resolves with the first logged request that satisfies `predicate`, now or after an update. */
  waitForRequest(predicate, { timeoutMs = 5000 } = {}) {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.requests.find(predicate);
        if (found !== undefined) {
          cleanup();
          resolve(found);
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        const seen = this.requests.map((entry) => `${entry.method} ${entry.path} -> ${entry.status ?? 'pending'}`);
        reject(new Error(`no request matched within ${timeoutMs} ms; requests seen: ${seen.join(', ') || 'none'}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.events.off('update', check);
      };
      this.events.on('update', check);
      check();
    });
  }

  /** Stops listening and closes every open connection, so new requests get ECONNREFUSED. */
  async refuseConnections() {
    const servers = [...this.servers];
    this.servers.clear();
    await Promise.all(
      servers.map(
        (server) =>
          new Promise((resolve) => {
            server.close(() => resolve());
            server.closeAllConnections();
          }),
      ),
    );
  }

  /**
   * Listens again on the same port after refuseConnections().
   * NOTE: another process may have taken the port meanwhile; listen then fails with EADDRINUSE.
   */
  async acceptConnections() {
    if (this.servers.size === 0 && this.closing === undefined) {
      await this.listen(this.port);
    }
  }

  async refuseConnectionsFor(ms) {
    await this.refuseConnections();
    await new Promise((resolve) => setTimeout(resolve, ms));
    await this.acceptConnections();
  }

  /** Aborts running requests and closes the server; safe to call more than once. */
  close() {
    this.closing ??= (async () => {
      for (const controller of this.activeRequests) {
        controller.abort();
      }
      await this.refuseConnections();
    })();
    return this.closing;
  }

  // ---- model loading, used by the handlers -----------------------------

  timingFor(plan) {
    const override = plan.latency ?? {};
    return {
      loadDelayMs: override.loadDelayMs ?? this.timing.loadDelayMs,
      promptDelayMsPerToken: override.promptDelayMsPerToken ?? this.timing.promptDelayMsPerToken,
      tokenDelayMs: override.tokenDelayMs ?? this.timing.tokenDelayMs,
    };
  }

  /**
   * Loads a model if it is not loaded, has expired or was loaded with another num_ctx, waiting
   * the load delay as the real server does. Returns the load time in nanoseconds.
   */
  async loadModel(model, numCtx, keepAliveMs, plan, signal, entry) {
    const started = process.hrtime.bigint();
    const current = this.loaded.get(model.name);
    const cold = current === undefined || current.expiresAt <= Date.now() || current.numCtx !== numCtx || plan.latency?.reload;
    if (cold) {
      entry.modelLoaded = true;
      this.loaded.delete(model.name);
      await pause(this.timingFor(plan).loadDelayMs, signal);
    }

    this.loaded.set(model.name, { model, numCtx, expiresAt: this.expiry(keepAliveMs) });
    return process.hrtime.bigint() - started;
  }

  expiry(keepAliveMs) {
    return Date.now() + (keepAliveMs < 0 ? FOREVER_MS : keepAliveMs);
  }

  /** Restarts the keep-alive timer after a generation, or unloads the model for keep_alive 0. */
  finishWithModel(model, keepAliveMs) {
    if (keepAliveMs === 0) {
      this.loaded.delete(model.name);
      return;
    }

    const current = this.loaded.get(model.name);
    if (current !== undefined) {
      current.expiresAt = this.expiry(keepAliveMs);
    }
  }

  // ---- request handling ------------------------------------------------

  emitUpdate() {
    this.events.emit('update');
  }

  refreshControlFile() {
    const content = this.controlFile?.refresh();
    if (content === undefined) {
      return;
    }

    try {
      this.fileRules = (content.faults ?? []).map((rule) => normalizeRule(rule, 'file'));
      this.fileAnswer = content.answer;
      this.fileThinking = content.thinking;
      if (content.models !== undefined) {
        this.setModels(content.models);
      }
    } catch (error) {
      this.controlFile.error = `control file ${this.controlFile.path}: ${error.message}`;
      this.log(this.controlFile.error);
    }
  }

  async handle(req, res) {
    const url = new URL(req.url ?? '/', 'http://fake-ollama.invalid');
    if (url.pathname === CONTROL_PREFIX || url.pathname.startsWith(`${CONTROL_PREFIX}/`)) {
      await handleControl(this, req, res, url.pathname);
      return;
    }

    const controller = new AbortController();
    this.activeRequests.add(controller);
    const entry = {
      id: this.nextRequestId++,
      method: req.method ?? 'GET',
      path: url.pathname,
      url: req.url ?? '/',
      headers: { ...req.headers },
      rawBody: '',
      body: undefined,
      receivedAt: Date.now(),
      respondedAt: undefined,
      finishedAt: undefined,
      status: undefined,
      faults: [],
      ruleId: undefined,
      modelLoaded: false,
      numCtx: undefined,
      promptTokensEstimate: undefined,
      promptEvalCount: undefined,
      promptTruncated: false,
      unknownOptions: [],
      linesWritten: 0,
      writes: 0,
      error: undefined,
      serverDropped: false,
      clientClosedEarly: false,
    };
    this.requests.push(entry);
    res.on('close', () => {
      entry.finishedAt = Date.now();
      if (!res.writableFinished && !entry.serverDropped) {
        entry.clientClosedEarly = true;
      }
      controller.abort();
      this.activeRequests.delete(controller);
      this.emitUpdate();
    });

    try {
      entry.rawBody = await readBody(req);
      entry.body = parseLoosely(entry.rawBody);
      this.emitUpdate();
      this.refreshControlFile();

      const stream = STREAMING_PATHS.has(entry.path) && typeof entry.body === 'object' ? (entry.body?.stream ?? true) : undefined;
      const selected = selectRule([...this.rules, ...this.fileRules], { ...entry, stream });
      const plan = planFaults(selected?.faults ?? []);
      entry.faults = plan.kinds;
      entry.ruleId = selected?.rule.id;
      await this.dispatch({ req, res, entry, rawBody: entry.rawBody, plan, rule: selected?.rule, signal: controller.signal });
    } catch (error) {
      this.handleFailure(error, res, entry);
    } finally {
      this.emitUpdate();
    }
  }

  handleFailure(error, res, entry) {
    if (error instanceof ClientGoneError || res.destroyed) {
      return;
    }

    if (error instanceof RequestError) {
      if (!res.headersSent) {
        sendError(res, entry, error.status, error.message);
        return;
      }
    } else {
      this.log(`fake-ollama: request ${entry.id} ${entry.method} ${entry.path} failed: ${error?.stack ?? error}`);
    }

    if (res.headersSent) {
      res.destroy();
    } else {
      sendError(res, entry, 500, `fake-ollama internal error: ${error?.message ?? error}`);
    }
  }

  async dispatch(ctx) {
    const { req, res, entry, plan } = ctx;
    if (plan.dropBeforeHeaders) {
      await dropConnection(res, entry);
      return;
    }

    if ((this.checkHost || plan.forbiddenHost) && !isAllowedHost(req.headers.host)) {
      sendComplete(res, entry, 403, undefined, '');
      return;
    }

    if (plan.reject) {
      await this.reject(ctx, plan.reject);
      return;
    }

    const methods = ROUTES[entry.path];
    if (methods === undefined) {
      sendComplete(res, entry, 404, TEXT_TYPE, '404 page not found');
      return;
    }

    const handler = methods[entry.method];
    if (handler === undefined) {
      sendComplete(res, entry, 405, TEXT_TYPE, '405 method not allowed');
      return;
    }

    await handler(this, ctx);
  }

  async reject(ctx, fault) {
    const { res, entry, signal } = ctx;
    await pause(fault.delayMs ?? 0, signal);
    switch (fault.kind) {
      case 'model_missing': {
        const sent = entry.body?.model || entry.body?.name || 'unknown';
        // /api/show reports the normalised name; chat and generate echo the name as sent.
        const name = entry.path === '/api/show' ? normalizeModelName(sent) : sent;
        sendError(res, entry, 404, notFoundMessage(name, fault.wording));
        return;
      }
      case 'http_error':
        sendError(res, entry, fault.status, fault.message);
        return;
      case 'http_error_text':
        entry.error = fault.body ?? fault.message;
        sendComplete(res, entry, fault.status, TEXT_TYPE, fault.body ?? fault.message);
        return;
      default:
        sendError(res, entry, 400, CONTEXT_ERROR);
    }
  }
}

/**
 * Starts a fake Ollama server on 127.0.0.1 (port 0 unless `options.port` is set).
 * See server.d.mts for the options and README.md for the behaviour.
 */
export async function startFakeOllama(options = {}) {
  const fake = new FakeOllama(options);
  await fake.listen(options.port ?? 0);
  return fake;
}

