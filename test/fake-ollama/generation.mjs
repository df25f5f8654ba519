// What the fake "model" writes: default answers, tokens, and the content faults that make the
// text look like the broken output real models produce.

export const DEFAULT_PROSE_ANSWER = 'The change updates the parser and adds tests for the new cases.';
export const DEFAULT_JSON_ANSWER = { summary: 'Fake answer from the test server.' };
export const DEFAULT_THINKING = 'The request asks for a report. Let me read the change first.';

/** Estimates tokens roughly: one token per four characters, rounded up. */
export function estimateTokens(text) {
  return Math.ceil(Array.from(text).length / 4);
}

/**
 * Splits text into token-like pieces: up to four letters or digits with an optional leading
 * space, single punctuation characters and whitespace runs. Joining the pieces gives the text
 * back exactly.
 */
export function tokenize(text) {
  return text.match(/ ?[\p{L}\p{N}_]{1,4}|[^\s\p{L}\p{N}_]|\s+/gu) ?? [];
}

function firstType(schema) {
  if (Array.isArray(schema.type)) {
    return schema.type.find((type) => type !== 'null') ?? 'null';
  }

  if (schema.type !== undefined) {
    return schema.type;
  }

  if (schema.properties) {
    return 'object';
  }

  return schema.items ? 'array' : 'string';
}

/** Builds a value that satisfies the flat JSON Schema subset Ollama handles well. */
export function valueForSchema(schema, key = 'value') {
  if (typeof schema !== 'object' || schema === null) {
    return `example ${key}`;
  }

  if ('const' in schema) {
    return schema.const;
  }

  if (Array.isArray(schema.enum) && schema.enum.length > 0) {
    return schema.enum[0];
  }

  const choice = schema.anyOf ?? schema.oneOf;
  if (Array.isArray(choice) && choice.length > 0) {
    return valueForSchema(choice.find((option) => option?.type !== 'null') ?? choice[0], key);
  }

  switch (firstType(schema)) {
    case 'object': {
      const result = {};
      for (const [property, propertySchema] of Object.entries(schema.properties ?? {})) {
        result[property] = valueForSchema(propertySchema, property);
      }
      return result;
    }
    case 'array': {
      const count = Math.max(1, schema.minItems ?? 1);
      return Array.from({ length: count }, () => valueForSchema(schema.items ?? {}, key));
    }
    case 'integer':
      return schema.minimum ?? 1;
    case 'number':
      return schema.minimum ?? 1.5;
    case 'boolean':
      return true;
    case 'null':
      return null;
    default: {
      const text = `example ${key}`;
      return text.padEnd(schema.minLength ?? 0, '.').slice(0, schema.maxLength ?? Infinity);
    }
  }
}

/** Returns the default answer for a request's `format`: schema value, small JSON object or prose. */
export function defaultAnswer(format) {
  if (typeof format === 'object' && format !== null) {
    return JSON.stringify(valueForSchema(format));
  }

  return format === 'json' ? JSON.stringify(DEFAULT_JSON_ANSWER) : DEFAULT_PROSE_ANSWER;
}

function parseObject(text) {
  try {
    const value = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

function wrongTypeFor(value) {
  if (typeof value === 'string') {
    return 42;
  }

  if (typeof value === 'number') {
    return 'forty-two';
  }

  if (typeof value === 'boolean') {
    return 'yes';
  }

  return Array.isArray(value) ? 'not a list' : 'not an object';
}

function violateSchema(text, schema, violation) {
  const object = parseObject(text) ?? (schema ? valueForSchema(schema) : { ...DEFAULT_JSON_ANSWER });
  const required = Array.isArray(schema?.required) ? schema.required : [];
  const keys = Object.keys(object);
  if (violation === 'wrong_type') {
    const key = required[0] ?? keys[0] ?? 'summary';
    object[key] = wrongTypeFor(object[key] ?? '');
  } else {
    delete object[required[0] ?? keys[0] ?? 'summary'];
  }

  return JSON.stringify(object);
}

function breakJson(text, variant) {
  const closing = text.lastIndexOf('}');
  switch (variant) {
    case 'missing_brace':
      return closing >= 0 ? text.slice(0, closing) + text.slice(closing + 1) : text.slice(0, -1);
    case 'unescaped_newline': {
      const broken = text.replace(/(:\s*"[^"\\]?)/, '$1\n');
      return broken === text ? breakJson(text, 'missing_brace') : broken;
    }
    default:
      return closing >= 0 ? `${text.slice(0, closing)},${text.slice(closing)}` : `${text},`;
  }
}

/**
 * Applies the faults that rewrite the answer text, in the order a real model would produce them:
 * first the JSON itself goes wrong, then it gets wrapped in a fence, prose or a think block.
 */
export function rewriteAnswer(text, faults, schema) {
  let result = text;
  for (const fault of faults) {
    if (fault.kind === 'ignore_format') {
      result = fault.text;
    } else if (fault.kind === 'schema_violation') {
      result = violateSchema(result, schema, fault.violation);
    } else if (fault.kind === 'malformed_json_output') {
      result = breakJson(result, fault.variant);
    }
  }

  for (const fault of faults) {
    if (fault.kind === 'fenced_json') {
      result = `\`\`\`json\n${result}\n\`\`\``;
    } else if (fault.kind === 'prose_wrapped_json') {
      result = `${fault.before}\n${result}\n${fault.after}`;
    } else if (fault.kind === 'think_tags') {
      result = `<think>\n${fault.reasoning}\n</think>\n\n${result}`;
    }
  }

  return result;
}

// The real runner ends a stream without a final line once one trimmed token repeats more than
// 30 times. Whitespace tokens all trim to "", so runaway whitespace trips it after 31 tokens.
const REPEAT_GUARD_TOKENS = 31;

/**
 * Decides the token pieces of one generation.
 * Returns `{ thinking, content, doneReason, endsWithoutDone }`; `content` pieces follow the
 * `thinking` pieces on the wire, and `num_predict` counts both, as on the real server.
 */
export function planPieces({ answer, thinking, numPredict, roomInContext, faults }) {
  let thinkingPieces = thinking === undefined ? [] : tokenize(thinking);
  let contentPieces = tokenize(answer);
  let doneReason = 'stop';
  let endsWithoutDone = false;
  let limit = numPredict >= 0 ? numPredict : Infinity;

  for (const fault of faults) {
    if (fault.kind === 'thinking_only') {
      const source = tokenize(fault.thinking ?? thinking ?? DEFAULT_THINKING);
      const count = Number.isFinite(limit) ? limit : (fault.pieces ?? source.length);
      thinkingPieces = Array.from({ length: count }, (_, index) => source[index % source.length]);
      contentPieces = [];
      doneReason = 'length';
    } else if (fault.kind === 'truncated_length') {
      const keep = fault.afterPieces ?? Math.floor(contentPieces.length / 2);
      contentPieces = contentPieces.slice(0, keep);
      doneReason = 'length';
    } else if (fault.kind === 'whitespace_runaway') {
      const room = Number.isFinite(limit) ? limit - thinkingPieces.length - contentPieces.length : fault.pieces;
      const count = fault.repeatGuard ? Math.min(REPEAT_GUARD_TOKENS, Math.max(room, 0)) : Math.max(room, 0);
      const runaway = Array.from({ length: count }, (_, index) => (index % 2 === 0 ? '\n' : ' '));
      contentPieces = [...contentPieces, ...runaway];
      endsWithoutDone = fault.repeatGuard && count >= REPEAT_GUARD_TOKENS;
      doneReason = 'length';
    }
  }

  limit = Math.min(limit, roomInContext);
  if (thinkingPieces.length + contentPieces.length > limit) {
    thinkingPieces = thinkingPieces.slice(0, limit);
    contentPieces = contentPieces.slice(0, Math.max(0, limit - thinkingPieces.length));
    doneReason = 'length';
  }

  return { thinking: thinkingPieces, content: contentPieces, doneReason, endsWithoutDone };
}
