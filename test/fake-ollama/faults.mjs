// Fault rules: validation of the fault objects tests pass in, request matching, and the merged
// per-request plan the server follows.

import { DEFAULT_PROSE_ANSWER, DEFAULT_THINKING } from './generation.mjs';
import { normalizeModelName } from './models.mjs';

/** Error bodies of real failures, usable as `{ kind: 'http_error', preset }`. */
export const ERROR_PRESETS = {
  runner_crash: {
    status: 500,
    message:
      'model runner has unexpectedly stopped, this may be due to resource limitations or an internal error, check ollama server logs for details',
  },
  busy: { status: 503, message: 'server busy, please try again.  maximum pending requests exceeded' },
  load_timeout: { status: 500, message: 'timed out waiting for llama runner to start - progress 0.00 - ' },
  invalid_schema: { status: 500, message: 'invalid JSON schema in format' },
  bad_request: { status: 400, message: 'invalid request' },
  bad_gateway: { status: 502, message: 'bad gateway' },
};

export const MIDSTREAM_ERROR = 'an error was encountered while running the model: unexpected EOF';
export const CONTEXT_ERROR =
  'the prompt is longer than the context length currently available to the model; shorten the prompt, adjust the context length in settings, or use a model with a longer context length';

const NOT_FOUND_WORDINGS = {
  current: (name) => `model '${name}' not found`,
  legacy: (name) => `model '${name}' not found, try pulling it first`,
  scheduler: (name) => `model "${name}" not found, try pulling it first`,
};

/** Formats the 404 message for a missing model in one of the wordings real servers used. */
export function notFoundMessage(name, wording = 'current') {
  return NOT_FOUND_WORDINGS[wording](name);
}

const GENERATION_PATHS = ['/api/chat', '/api/generate'];

function count(value, field, kind, fallback) {
  const result = value ?? fallback;
  if (!Number.isSafeInteger(result) || result < 0) {
    throw new TypeError(`fault ${kind}: ${field} must be a non-negative integer, got ${JSON.stringify(value)}`);
  }

  return result;
}

function oneOf(value, field, kind, allowed) {
  const result = value ?? allowed[0];
  if (!allowed.includes(result)) {
    throw new TypeError(`fault ${kind}: ${field} must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
  }

  return result;
}

function httpErrorFault(input) {
  const preset = input.preset === undefined ? undefined : ERROR_PRESETS[input.preset];
  if (input.preset !== undefined && preset === undefined) {
    throw new TypeError(
      `fault ${input.kind}: unknown preset ${JSON.stringify(input.preset)}; expected one of ${Object.keys(ERROR_PRESETS).join(', ')}`,
    );
  }

  const status = input.status ?? preset?.status ?? 500;
  if (!Number.isSafeInteger(status) || status < 400 || status > 599) {
    throw new TypeError(`fault ${input.kind}: status must be an HTTP error status (400-599), got ${JSON.stringify(input.status)}`);
  }

  return {
    kind: input.kind,
    status,
    message: input.message ?? preset?.message ?? ERROR_PRESETS.runner_crash.message,
    body: input.body,
    delayMs: count(input.delayMs, 'delayMs', input.kind, 0),
  };
}

// Each entry validates one fault kind's parameters and fills in its defaults.
const FAULT_BUILDERS = {
  latency: (input) => ({
    kind: 'latency',
    loadDelayMs: input.loadDelayMs === undefined ? undefined : count(input.loadDelayMs, 'loadDelayMs', 'latency'),
    promptDelayMsPerToken:
      input.promptDelayMsPerToken === undefined
        ? undefined
        : count(input.promptDelayMsPerToken, 'promptDelayMsPerToken', 'latency'),
    tokenDelayMs: input.tokenDelayMs === undefined ? undefined : count(input.tokenDelayMs, 'tokenDelayMs', 'latency'),
    reload: input.reload === true,
  }),
  model_missing: (input) => ({
    kind: 'model_missing',
    wording: oneOf(input.wording, 'wording', 'model_missing', Object.keys(NOT_FOUND_WORDINGS)),
  }),
  http_error: httpErrorFault,
  http_error_text: httpErrorFault,
  error_midstream: (input) => ({
    kind: 'error_midstream',
    afterLines: count(input.afterLines, 'afterLines', 'error_midstream', 3),
    message: input.message ?? MIDSTREAM_ERROR,
  }),
  drop_after: (input) => ({ kind: 'drop_after', afterLines: count(input.afterLines, 'afterLines', 'drop_after', 3) }),
  drop_before_headers: () => ({ kind: 'drop_before_headers' }),
  slow_headers: (input) => ({ kind: 'slow_headers', delayMs: count(input.delayMs, 'delayMs', 'slow_headers', 1000) }),
  stall: (input) => ({
    kind: 'stall',
    afterLines: count(input.afterLines, 'afterLines', 'stall', 3),
    stallMs: count(input.stallMs, 'stallMs', 'stall', 1000),
  }),
  no_done: () => ({ kind: 'no_done' }),
  malformed_line: (input) => ({
    kind: 'malformed_line',
    afterLines: count(input.afterLines, 'afterLines', 'malformed_line', 1),
    text: input.text ?? '{"model":"m","mess',
  }),
  split_chunks: () => ({ kind: 'split_chunks' }),
  malformed_json_output: (input) => ({
    kind: 'malformed_json_output',
    variant: oneOf(input.variant, 'variant', 'malformed_json_output', ['trailing_comma', 'missing_brace', 'unescaped_newline']),
  }),
  fenced_json: () => ({ kind: 'fenced_json' }),
  prose_wrapped_json: (input) => ({
    kind: 'prose_wrapped_json',
    before: input.before ?? 'Here is the report:',
    after: input.after ?? 'Let me know if you need anything else.',
  }),
  think_tags: (input) => ({ kind: 'think_tags', reasoning: input.reasoning ?? DEFAULT_THINKING }),
  thinking_only: (input) => ({
    kind: 'thinking_only',
    thinking: input.thinking,
    pieces: input.pieces === undefined ? undefined : count(input.pieces, 'pieces', 'thinking_only'),
  }),
  truncated_length: (input) => ({
    kind: 'truncated_length',
    afterPieces: input.afterPieces === undefined ? undefined : count(input.afterPieces, 'afterPieces', 'truncated_length'),
  }),
  whitespace_runaway: (input) => ({
    kind: 'whitespace_runaway',
    pieces: count(input.pieces, 'pieces', 'whitespace_runaway', 64),
    repeatGuard: input.repeatGuard === true,
  }),
  schema_violation: (input) => ({
    kind: 'schema_violation',
    violation: oneOf(input.violation, 'violation', 'schema_violation', ['missing_required', 'wrong_type']),
  }),
  ignore_format: (input) => ({ kind: 'ignore_format', text: input.text ?? DEFAULT_PROSE_ANSWER }),
  silent_truncation: (input) => ({
    kind: 'silent_truncation',
    promptEvalCount:
      input.promptEvalCount === undefined ? undefined : count(input.promptEvalCount, 'promptEvalCount', 'silent_truncation'),
  }),
  context_error: () => ({ kind: 'context_error' }),
  omit_metrics: (input) => ({ kind: 'omit_metrics', fields: input.fields ?? ['prompt_eval_count'] }),
  final_line_has_text: () => ({ kind: 'final_line_has_text' }),
  busy_n: (input) => ({ kind: 'busy_n', count: count(input.count, 'count', 'busy_n', 1) }),
  flaky_every_n: (input) => {
    const every = count(input.every, 'every', 'flaky_every_n', 2);
    if (every < 1) {
      throw new TypeError('fault flaky_every_n: every must be at least 1');
    }

    const failure = normalizeFault(input.failure ?? { kind: 'http_error', preset: 'runner_crash' });
    if (failure.kind === 'busy_n' || failure.kind === 'flaky_every_n') {
      throw new TypeError(`fault flaky_every_n: failure cannot be ${failure.kind}`);
    }

    return { kind: 'flaky_every_n', every, failure };
  },
  forbidden_host: () => ({ kind: 'forbidden_host' }),
};

/** Names of every fault kind the fake implements. */
export const FAULT_KINDS = Object.keys(FAULT_BUILDERS);

/** Validates a fault object (or a bare kind name) and fills in its defaults. */
export function normalizeFault(input) {
  const fault = typeof input === 'string' ? { kind: input } : input;
  const build = FAULT_BUILDERS[fault?.kind];
  if (build === undefined) {
    throw new TypeError(`unknown fault kind ${JSON.stringify(fault?.kind)}; expected one of ${FAULT_KINDS.join(', ')}`);
  }

  return build(fault);
}

function normalizeMatcher(match) {
  if (typeof match === 'function') {
    return match;
  }

  const spec = match ?? {};
  const paths = spec.path === undefined ? GENERATION_PATHS : [spec.path].flat();
  const model = spec.model === undefined ? undefined : normalizeModelName(spec.model);
  return (request) =>
    (paths.includes('*') || paths.includes(request.path)) &&
    (spec.method === undefined || spec.method.toUpperCase() === request.method) &&
    (model === undefined || (typeof request.body?.model === 'string' && normalizeModelName(request.body.model) === model)) &&
    (spec.stream === undefined || spec.stream === request.stream) &&
    (spec.bodyIncludes === undefined || request.rawBody.includes(spec.bodyIncludes));
}

let nextRuleId = 1;

/**
 * Validates a rule from test code, the control endpoint or a control file.
 * A rule applies its faults and answer to the next `times` requests it matches.
 */
export function normalizeRule(input, source) {
  const faults = [input.fault ?? []].flat().map(normalizeFault);
  const busy = faults.find((fault) => fault.kind === 'busy_n');
  const flaky = faults.find((fault) => fault.kind === 'flaky_every_n');
  let times = input.times ?? 1;
  if (busy) {
    times = busy.count;
  } else if (flaky || times === 'always') {
    times = Infinity;
  }

  if (!(times === Infinity || (Number.isSafeInteger(times) && times >= 0))) {
    throw new TypeError(`rule times must be a non-negative integer or "always", got ${JSON.stringify(input.times)}`);
  }

  return {
    id: nextRuleId++,
    source,
    description: input.match === undefined || typeof input.match === 'function' ? undefined : input.match,
    matches: normalizeMatcher(input.match),
    faults: faults.map((fault) => (fault.kind === 'busy_n' ? { kind: 'http_error', ...ERROR_PRESETS.busy, delayMs: 0 } : fault)),
    kinds: faults.map((fault) => fault.kind),
    answer: input.answer,
    thinking: input.thinking,
    remaining: times,
    hits: 0,
    seen: 0,
  };
}

/**
 * Picks the first rule with uses left that matches the request and consumes one use.
 * A flaky rule that does not fail this time lets later rules match instead.
 * Returns `{ rule, faults }` or undefined.
 */
export function selectRule(rules, request) {
  for (const rule of rules) {
    if (rule.remaining <= 0 || !rule.matches(request)) {
      continue;
    }

    const flaky = rule.faults.find((fault) => fault.kind === 'flaky_every_n');
    if (flaky) {
      rule.seen += 1;
      if (rule.seen % flaky.every !== 0) {
        continue;
      }
    }

    rule.remaining -= 1;
    rule.hits += 1;
    const faults = rule.faults.flatMap((fault) => (fault.kind === 'flaky_every_n' ? [fault.failure] : [fault]));
    return { rule, faults };
  }

  return undefined;
}

const CONTENT_FAULTS = new Set([
  'malformed_json_output',
  'fenced_json',
  'prose_wrapped_json',
  'think_tags',
  'schema_violation',
  'ignore_format',
]);
const PIECE_FAULTS = new Set(['thinking_only', 'truncated_length', 'whitespace_runaway']);
const REJECTING_FAULTS = new Set(['model_missing', 'http_error', 'http_error_text', 'context_error']);

/** Merges the faults that apply to one request into the flags the handlers read. */
export function planFaults(faults) {
  const plan = {
    kinds: faults.map((fault) => fault.kind),
    latency: undefined,
    reject: undefined,
    forbiddenHost: false,
    dropBeforeHeaders: false,
    slowHeadersMs: 0,
    stall: undefined,
    dropAfterLines: undefined,
    errorMidstream: undefined,
    malformedLine: undefined,
    splitChunks: false,
    noDone: false,
    contentFaults: [],
    pieceFaults: [],
    omitFields: [],
    silentTruncation: undefined,
    finalLineHasText: false,
  };

  for (const fault of faults) {
    if (REJECTING_FAULTS.has(fault.kind)) {
      plan.reject ??= fault;
    } else if (CONTENT_FAULTS.has(fault.kind)) {
      plan.contentFaults.push(fault);
    } else if (PIECE_FAULTS.has(fault.kind)) {
      plan.pieceFaults.push(fault);
    }

    switch (fault.kind) {
      case 'latency':
        plan.latency = fault;
        break;
      case 'forbidden_host':
        plan.forbiddenHost = true;
        break;
      case 'drop_before_headers':
        plan.dropBeforeHeaders = true;
        break;
      case 'slow_headers':
        plan.slowHeadersMs = fault.delayMs;
        break;
      case 'stall':
        plan.stall = fault;
        break;
      case 'drop_after':
        plan.dropAfterLines = fault.afterLines;
        break;
      case 'error_midstream':
        plan.errorMidstream = fault;
        break;
      case 'malformed_line':
        plan.malformedLine = fault;
        break;
      case 'split_chunks':
        plan.splitChunks = true;
        break;
      case 'no_done':
        plan.noDone = true;
        break;
      case 'omit_metrics':
        plan.omitFields.push(...fault.fields);
        break;
      case 'silent_truncation':
        plan.silentTruncation = fault;
        break;
      case 'final_line_has_text':
        plan.finalLineHasText = true;
        break;
      default:
        break;
    }
  }

  return plan;
}
