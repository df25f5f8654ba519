// Decoding and validating request bodies with the status codes and messages of the real server.

import { decodeJsonBody, goQuote, jsonKind, parseGoDuration } from './go-format.mjs';
import { isVersionAtLeast } from './versions.mjs';

/** Keep-alive of a model when the request sets none (the server's OLLAMA_KEEP_ALIVE default). */
export const DEFAULT_KEEP_ALIVE_MS = 5 * 60_000;

/** A request the server rejects before generating, with the real status and message. */
export class RequestError extends Error {
  constructor(status, message) {
    super(message);
    this.name = 'RequestError';
    this.status = status;
  }
}

const COMMON_FIELDS = {
  model: 'string',
  stream: 'bool',
  format: 'any',
  keep_alive: 'duration',
  options: 'options',
  think: 'think',
  truncate: 'bool',
  shift: 'bool',
  logprobs: 'bool',
  top_logprobs: 'int',
};

const REQUEST_FIELDS = {
  ChatRequest: { ...COMMON_FIELDS, messages: 'messages', tools: 'tools' },
  GenerateRequest: {
    ...COMMON_FIELDS,
    prompt: 'string',
    suffix: 'string',
    system: 'string',
    template: 'string',
    context: 'ints',
    raw: 'bool',
    images: 'images',
  },
  ShowRequest: { model: 'string', name: 'string', system: 'string', template: 'string', verbose: 'bool', options: 'options' },
  PullRequest: { model: 'string', name: 'string', stream: 'bool', insecure: 'bool' },
};

const GO_TYPES = {
  string: 'string',
  bool: 'bool',
  int: 'int',
  ints: '[]int',
  messages: '[]api.Message',
  tools: 'api.Tools',
  images: '[]api.ImageData',
  options: 'map[string]interface {}',
};

const GO_REFLECT_TYPES = { bool: 'bool', object: 'map[string]interface {}', array: '[]interface {}', null: '<nil>' };

function unmarshalError(value, typeName, field, goType) {
  const kind = jsonKind(value);
  const described = kind === 'number' ? `number ${value}` : kind;
  return new RequestError(400, `json: cannot unmarshal ${described} into Go struct field ${typeName}.${field} of type ${goType}`);
}

function fieldMatches(kind, value) {
  switch (kind) {
    case 'string':
      return typeof value === 'string';
    case 'bool':
      return typeof value === 'boolean';
    case 'int':
      return Number.isInteger(value);
    case 'ints':
      return Array.isArray(value) && value.every((item) => Number.isInteger(item));
    case 'tools':
    case 'images':
      return Array.isArray(value);
    case 'options':
      return jsonKind(value) === 'object';
    default:
      return true;
  }
}

function checkMessages(messages) {
  if (!Array.isArray(messages)) {
    throw unmarshalError(messages, 'ChatRequest', 'messages', GO_TYPES.messages);
  }

  for (const message of messages) {
    if (jsonKind(message) !== 'object') {
      throw unmarshalError(message, 'ChatRequest', 'messages', 'api.Message');
    }

    for (const field of ['role', 'content', 'thinking']) {
      if (message[field] !== undefined && message[field] !== null && typeof message[field] !== 'string') {
        throw unmarshalError(message[field], 'ChatRequest', `messages.${field}`, 'string');
      }
    }
  }
}

/** Parses `keep_alive` like the server's Duration type. Returns milliseconds; negative means forever. */
function parseKeepAlive(value) {
  if (typeof value === 'number') {
    return value < 0 ? -1 : Math.trunc(value) * 1000;
  }

  if (typeof value === 'string') {
    try {
      const ms = parseGoDuration(value);
      return ms < 0 ? -1 : ms;
    } catch (error) {
      throw new RequestError(400, error.message);
    }
  }

  throw new RequestError(400, `Unsupported type: '${GO_REFLECT_TYPES[jsonKind(value)]}'`);
}

function checkThink(value) {
  if (typeof value === 'boolean') {
    return;
  }

  if (typeof value !== 'string') {
    throw new RequestError(400, 'think must be a boolean or string');
  }

  if (!['high', 'medium', 'low', 'max'].includes(value)) {
    throw new RequestError(
      400,
      `invalid think value: ${goQuote(value)} (must be "high", "medium", "low", "max", true, or false)`,
    );
  }
}

/**
 * Decodes and type-checks a body for one request type ("ChatRequest", "GenerateRequest", ...).
 * Returns the body with `keepAliveMs` added; throws RequestError with a 400 otherwise.
 * Fields the given server `version` did not know yet are dropped, as Go's decoder ignores them.
 */
export function decodeRequest(rawBody, typeName, version) {
  const decoded = decodeJsonBody(rawBody);
  if (decoded.error !== undefined) {
    throw new RequestError(400, decoded.error);
  }

  const body = decoded.value;
  if (jsonKind(body) !== 'object') {
    throw new RequestError(400, `json: cannot unmarshal ${jsonKind(body)} into Go value of type api.${typeName}`);
  }

  if (!isVersionAtLeast(version, '0.9.0')) {
    delete body.think;
  }

  if (!isVersionAtLeast(version, '0.12.6')) {
    delete body.truncate;
    delete body.shift;
  }

  const fields = REQUEST_FIELDS[typeName];
  for (const [field, kind] of Object.entries(fields)) {
    const value = body[field];
    if (value === undefined || value === null) {
      continue;
    }

    if (kind === 'messages') {
      checkMessages(value);
    } else if (kind === 'think') {
      checkThink(value);
    } else if (kind === 'duration') {
      body.keepAliveMs = parseKeepAlive(value);
    } else if (kind === 'any' && field === 'format' && jsonKind(value) === 'object' && !isVersionAtLeast(version, '0.5.0')) {
      // Before 0.5.0 `format` was a Go string, so a schema object failed to decode.
      throw unmarshalError(value, typeName, field, 'string');
    } else if (!fieldMatches(kind, value)) {
      throw unmarshalError(value, typeName, field, GO_TYPES[kind]);
    }
  }

  return body;
}

const OPTION_TYPES = {
  num_keep: 'integer',
  seed: 'integer',
  num_predict: 'integer',
  top_k: 'integer',
  repeat_last_n: 'integer',
  num_ctx: 'integer',
  num_batch: 'integer',
  num_gpu: 'integer',
  main_gpu: 'integer',
  num_thread: 'integer',
  temperature: 'float32',
  top_p: 'float32',
  min_p: 'float32',
  typical_p: 'float32',
  repeat_penalty: 'float32',
  presence_penalty: 'float32',
  frequency_penalty: 'float32',
  use_mmap: 'boolean',
  stop: 'array',
};

/**
 * Checks `options` as the scheduler does when it loads a runner: a wrongly typed value is a 500.
 * Returns the keys the current server does not know (it ignores them with a log line).
 */
export function checkOptions(options) {
  const unknown = [];
  for (const [key, value] of Object.entries(options ?? {})) {
    const type = OPTION_TYPES[key];
    if (type === undefined) {
      unknown.push(key);
      continue;
    }

    if (value === null) {
      continue;
    }

    let valid = typeof value === 'number';
    if (type === 'boolean') {
      valid = typeof value === 'boolean';
    } else if (type === 'array') {
      valid = Array.isArray(value);
    }

    if (!valid) {
      throw new RequestError(500, `option "${key}" must be of type ${type}`);
    }

    if (type === 'array' && !value.every((item) => typeof item === 'string')) {
      throw new RequestError(500, `option "${key}" must be of an array of strings`);
    }
  }

  return unknown;
}

/** Checks `format`: absent, "", "json" or a schema object pass; anything else is a 500 as on the server. */
export function checkFormat(format) {
  if (format === undefined || format === null || format === '' || format === 'json' || jsonKind(format) === 'object') {
    return;
  }

  const raw = JSON.stringify(format);
  throw new RequestError(500, `invalid format: ${goQuote(raw)}; expected "json" or a valid JSON Schema object`);
}

/** Returns true when a JSON Schema uses `pattern` anywhere (older servers rejected it). */
export function schemaUsesPattern(schema) {
  if (jsonKind(schema) === 'array') {
    return schema.some(schemaUsesPattern);
  }

  if (jsonKind(schema) !== 'object') {
    return false;
  }

  return Object.entries(schema).some(([key, value]) => (key === 'pattern' && typeof value === 'string') || schemaUsesPattern(value));
}
