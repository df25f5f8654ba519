// Control of a fake that runs in another process: the /__fake/ endpoint, the control file that
// is re-read before every request, and start-up options from environment variables.

import fs from 'node:fs';

import { JSON_TYPE } from './respond.mjs';

/** Path prefix of the control endpoint; the real server has nothing under it. */
export const CONTROL_PREFIX = '/__fake';

function sendControl(res, status, body) {
  res.writeHead(status, { 'Content-Type': JSON_TYPE });
  res.end(JSON.stringify(body));
}

async function readJson(req) {
  const chunks = [];
  for await (const chunk of req) {
    chunks.push(chunk);
  }

  const text = Buffer.concat(chunks).toString('utf8');
  return text.trim() === '' ? undefined : JSON.parse(text);
}

/**
 * Serves one control request. Routes under /__fake:
 * - GET /requests returns the request log, and DELETE /requests clears it.
 * - POST /faults adds one rule or an array of rules, and DELETE /faults removes them.
 * - PUT /models replaces the installed models, and POST /models adds or replaces one.
 * - PUT /answer sets `answer` and `thinking`.
 * - POST /refuse refuses connections for `ms` milliseconds, then accepts them again.
 * - GET /state returns version, models, loaded models and rules.
 * - POST /reset clears the rules, the log and the loaded models.
 */
export async function handleControl(server, req, res, path) {
  const route = `${req.method} ${path.slice(CONTROL_PREFIX.length)}`;
  try {
    const body = await readJson(req);
    switch (route) {
      case 'GET /requests':
        sendControl(res, 200, { requests: server.requests });
        return;
      case 'DELETE /requests':
        server.clearRequests();
        sendControl(res, 200, { cleared: true });
        return;
      case 'POST /faults': {
        const rules = [body ?? {}].flat().map((rule) => server.enqueue(rule));
        sendControl(res, 200, { ids: rules.map((rule) => rule.id) });
        return;
      }
      case 'DELETE /faults':
        server.clearFaults();
        sendControl(res, 200, { cleared: true });
        return;
      case 'PUT /models':
        server.setModels(body?.models ?? body ?? []);
        sendControl(res, 200, { models: server.models.map((model) => model.name) });
        return;
      case 'POST /models':
        server.addModel(body);
        sendControl(res, 200, { models: server.models.map((model) => model.name) });
        return;
      case 'PUT /answer':
        server.setAnswer(body?.answer);
        server.setThinking(body?.thinking);
        sendControl(res, 200, { updated: true });
        return;
      case 'POST /refuse': {
        const ms = body?.ms ?? 1000;
        if (!Number.isSafeInteger(ms) || ms < 0 || ms > 60_000) {
          sendControl(res, 400, { error: `ms must be an integer from 0 to 60000, got ${JSON.stringify(body?.ms)}` });
          return;
        }

        // Send this response first, because refusing closes every connection, this one included.
        res.once('finish', () => void server.refuseConnectionsFor(ms));
        sendControl(res, 200, { refusingForMs: ms });
        return;
      }
      case 'GET /state':
        sendControl(res, 200, server.describeState());
        return;
      case 'POST /reset':
        server.reset();
        sendControl(res, 200, { reset: true });
        return;
      default:
        sendControl(res, 404, { error: `unknown control route ${route}` });
    }
  } catch (error) {
    sendControl(res, 400, { error: error instanceof Error ? error.message : String(error) });
  }
}

/**
 * Tracks a JSON control file shaped `{ "faults": [rules], "answer": ..., "thinking": ..., "models": [...] }`.
 * The server calls `refresh()` before each request; a changed file replaces the rules it defined
 * (with fresh use counts) and any answer, thinking or models it sets. A missing file means no
 * rules. Writers should replace the file atomically (write a temporary file, then rename).
 */
export class ControlFile {
  constructor(path, log) {
    this.path = path;
    this.log = log;
    this.text = undefined;
    this.error = undefined;
  }

  /** Returns the parsed content when the file changed since the last call, else undefined. */
  refresh() {
    let text;
    try {
      text = fs.readFileSync(this.path, 'utf8');
    } catch (error) {
      if (error.code !== 'ENOENT') {
        throw error;
      }
      text = '';
    }

    if (text === this.text) {
      return undefined;
    }

    this.text = text;
    try {
      const content = text.trim() === '' ? {} : JSON.parse(text);
      this.error = undefined;
      return content;
    } catch (error) {
      this.error = `control file ${this.path} is not valid JSON: ${error.message}`;
      this.log(this.error);
      return undefined;
    }
  }
}

function parseJsonVariable(env, name) {
  try {
    return JSON.parse(env[name]);
  } catch (error) {
    throw new Error(`${name} is not valid JSON: ${error.message}`);
  }
}

/**
 * Reads start-up options from the environment:
 * FAKE_OLLAMA_CONFIG_FILE (path to a JSON options file), FAKE_OLLAMA_CONFIG (JSON options, which
 * override the file's), FAKE_OLLAMA_CONTROL_FILE (control file path), FAKE_OLLAMA_PORT and
 * FAKE_OLLAMA_VERSION.
 */
export function optionsFromEnv(env = process.env) {
  let options = {};
  if (env.FAKE_OLLAMA_CONFIG_FILE) {
    try {
      options = JSON.parse(fs.readFileSync(env.FAKE_OLLAMA_CONFIG_FILE, 'utf8'));
    } catch (error) {
      throw new Error(`FAKE_OLLAMA_CONFIG_FILE ${env.FAKE_OLLAMA_CONFIG_FILE} could not be read as JSON: ${error.message}`);
    }
  }

  if (env.FAKE_OLLAMA_CONFIG) {
    options = { ...options, ...parseJsonVariable(env, 'FAKE_OLLAMA_CONFIG') };
  }

  if (env.FAKE_OLLAMA_CONTROL_FILE) {
    options.controlFile = env.FAKE_OLLAMA_CONTROL_FILE;
  }

  if (env.FAKE_OLLAMA_PORT) {
    const port = Number(env.FAKE_OLLAMA_PORT);
    if (!Number.isSafeInteger(port) || port < 0 || port > 65_535) {
      throw new Error(`FAKE_OLLAMA_PORT must be a port number from 0 to 65535, got ${JSON.stringify(env.FAKE_OLLAMA_PORT)}`);
    }
    options.port = port;
  }

  if (env.FAKE_OLLAMA_VERSION) {
    options.version = env.FAKE_OLLAMA_VERSION;
  }

  return options;
}

