import { type Report, type ReportProblem, validateReport } from './schema.js';

/** A model's response, as streamChat collects it. */
export interface ModelAnswer {
  content: string;
  /** Text the server separated out as thinking; never read as the report. */
  thinking?: string;
  /** Ollama's done_reason: 'stop', 'length' and others; undefined from servers before 0.1.35. */
  doneReason?: string | undefined;
}

export type ParseFailureReason = 'empty' | 'no-json' | 'invalid-json' | 'schema' | 'truncated';

export type ParseResult =
  | {
      ok: true;
      report: Report;
      /** Repairs and cuts made on the way, such as a removed trailing comma; empty when none. */
      adjustments: string[];
    }
  | {
      ok: false;
      reason: ParseFailureReason;
      problems: ReportProblem[];
      /** The start and end of the response, at most EXCERPT_LENGTH characters, for logs and repair prompts. */
      excerpt: string;
    };

/** Characters of the model's response kept in a failure's excerpt. */
export const EXCERPT_LENGTH = 200;

// Objects tried per response. Prose with stray braces gives a few false starts, and a cap keeps the scan linear.
const MAX_CANDIDATES = 16;

/**
 * Extracts and validates the report in a model's response. It first removes a byte order mark
 * and `<think>` blocks, also one never closed or a closing tag whose opening was in the prompt.
 * It then takes the first balanced `{...}` that parses as JSON and validates, so fences and
 * prose around the object do not matter. Trailing commas and raw control characters inside strings
 * are repaired, because neither leaves doubt about what was meant. JSON that is cut off counts
 * as 'truncated' when done_reason is 'length' and as 'invalid-json' otherwise. A complete
 * object is accepted even with done_reason 'length', which is what runaway whitespace after it
 * produces. Thinking text is not searched, because its JSON is a draft, not the response.
 */
export function parseReport(answer: ModelAnswer): ParseResult {
  const content = stripThinkBlocks(answer.content.replace(/^\uFEFF/, ''));
  const cutByLength = answer.doneReason === 'length';

  if (content.trim() === '') {
    return emptyAnswer(answer, cutByLength);
  }

  const fail = (reason: ParseFailureReason, problems: ReportProblem[]): ParseResult => ({ ok: false, reason, problems, excerpt: excerptOf(content) });
  const scan = scanObjects(content);
  let firstSchemaProblems: ReportProblem[] | undefined;
  let firstSyntaxError: string | undefined;

  for (const candidate of scan.objects) {
    const parsed = parseLenient(candidate);
    if (!parsed.ok) {
      firstSyntaxError ??= parsed.error;
      continue;
    }

    const validation = validateReport(parsed.value);
    if (validation.ok) {
      return { ok: true, report: validation.report, adjustments: [...parsed.repairs, ...validation.adjustments] };
    }

    firstSchemaProblems ??= validation.problems;
  }

  if (firstSchemaProblems) {
    return fail('schema', firstSchemaProblems);
  }

  if (scan.unclosed) {
    const message = 'the JSON object is not closed';
    return cutByLength
      ? fail('truncated', [{ field: '(response)', message: `${message}: the response reached the output limit (done_reason "length")` }])
      : fail('invalid-json', [{ field: '(response)', message }]);
  }

  if (firstSyntaxError !== undefined) {
    return fail('invalid-json', [{ field: '(response)', message: `invalid JSON: ${firstSyntaxError}` }]);
  }

  if (cutByLength) {
    return fail('truncated', [{ field: '(response)', message: 'no JSON object before the response reached the output limit (done_reason "length")' }]);
  }

  return fail('no-json', [{ field: '(response)', message: 'contains no JSON object' }]);
}

function emptyAnswer(answer: ModelAnswer, cutByLength: boolean): ParseResult {
  const thinking = answer.thinking?.trim() ?? '';
  const excerpt = excerptOf(thinking);
  if (thinking !== '') {
    const message = `the content is empty and ${Array.from(thinking).length} characters of thinking were returned`;
    return cutByLength
      ? { ok: false, reason: 'truncated', problems: [{ field: '(response)', message: `${message}: thinking used up the output limit` }], excerpt }
      : { ok: false, reason: 'empty', problems: [{ field: '(response)', message }], excerpt };
  }

  return {
    ok: false,
    reason: cutByLength ? 'truncated' : 'empty',
    problems: [{ field: '(response)', message: cutByLength ? 'the content is empty and the output limit was reached' : 'the content is empty' }],
    excerpt,
  };
}

/**
 * Removes `<think>…</think>` blocks. An opening tag without a closing one removes the rest
 * of the text, because the model was still reasoning when it stopped. A closing tag before
 * any opening one removes the text before it, because some chat templates put the opening
 * tag in the prompt.
 */
export function stripThinkBlocks(text: string): string {
  const tags = findThinkTags(text);
  let position = 0;

  const firstClose = tags.find((tag) => tag.closing);
  if (firstClose && firstClose === tags[0]) {
    position = firstClose.end;
  }

  let output = '';
  while (position < text.length) {
    const open = tags.find((tag) => !tag.closing && tag.start >= position);
    if (!open) {
      output += text.slice(position);
      break;
    }

    output += text.slice(position, open.start);
    const close = tags.find((tag) => tag.closing && tag.start >= open.end);
    if (!close) {
      break;
    }

    position = close.end;
  }

  return output;
}

function findThinkTags(text: string): Array<{ start: number; end: number; closing: boolean }> {
  // A literal pattern without quantifiers, so matching is linear in the text length.
  const pattern = /<(\/?)think>/gi;
  return Array.from(text.matchAll(pattern), (match) => ({ start: match.index, end: match.index + match[0].length, closing: match[1] === '/' }));
}

export interface ObjectScan {
  /** Balanced `{...}` substrings in order of their start, at most MAX_CANDIDATES. */
  objects: string[];
  /** Whether some `{` was never closed before the text ended. */
  unclosed: boolean;
}

/**
 * Finds balanced top-level `{...}` substrings with a single pass per start: it tracks depth
 * and whether it is inside a string (with escapes), so braces in strings do not count. The
 * search resumes after each balanced object, so nested objects are never returned on their
 * own. A start that never closes is retried from the next `{`, because a stray brace in prose
 * would otherwise hide the object after it.
 */
export function scanObjects(text: string): ObjectScan {
  const objects: string[] = [];
  let unclosed = false;
  let start = text.indexOf('{');

  for (let attempt = 0; start >= 0 && attempt < MAX_CANDIDATES; attempt += 1) {
    const end = findObjectEnd(text, start);
    if (end < 0) {
      unclosed = true;
      start = text.indexOf('{', start + 1);
      continue;
    }

    objects.push(text.slice(start, end + 1));
    start = text.indexOf('{', end + 1);
  }

  return { objects, unclosed };
}

// Returns the index of the `}` that closes the `{` at `start`, or -1 when the text ends first.
function findObjectEnd(text: string, start: number): number {
  let depth = 0;
  let inString = false;
  let escaped = false;

  for (let index = start; index < text.length; index += 1) {
    const char = text[index];
    if (inString) {
      if (escaped) {
        escaped = false;
      } else if (char === '\\') {
        escaped = true;
      } else if (char === '"') {
        inString = false;
      }
      continue;
    }

    if (char === '"') {
      inString = true;
    } else if (char === '{' || char === '[') {
      depth += 1;
    } else if (char === '}' || char === ']') {
      depth -= 1;
      if (depth === 0) {
        // A `]` here is a mismatch that JSON.parse reports, so the candidate still ends here.
        return index;
      }
    }
  }

  return -1;
}

type LenientParse = { ok: true; value: unknown; repairs: string[] } | { ok: false; error: string };

/** Parses JSON, and on failure retries once after removing trailing commas and escaping raw control characters in strings. */
export function parseLenient(text: string): LenientParse {
  try {
    return { ok: true, value: JSON.parse(text), repairs: [] };
  } catch (error) {
    const repaired = repairJson(text);
    if (repaired.repairs.length === 0) {
      return { ok: false, error: (error as Error).message };
    }

    try {
      return { ok: true, value: JSON.parse(repaired.text), repairs: repaired.repairs };
    } catch (secondError) {
      return { ok: false, error: (secondError as Error).message };
    }
  }
}

const CONTROL_ESCAPES: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function repairJson(text: string): { text: string; repairs: string[] } {
  let output = '';
  let inString = false;
  let escaped = false;
  let trailingCommas = 0;
  let controlCharacters = 0;

  for (let index = 0; index < text.length; index += 1) {
    const char = text[index] as string;
    if (inString) {
      if (escaped) {
        escaped = false;
      } else if (char === '\\') {
        escaped = true;
      } else if (char === '"') {
        inString = false;
      } else if (char < ' ') {
        controlCharacters += 1;
        output += CONTROL_ESCAPES[char] ?? `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`;
        continue;
      }
      output += char;
      continue;
    }

    if (char === '"') {
      inString = true;
    } else if (char === ',' && closesAfterWhitespace(text, index + 1)) {
      trailingCommas += 1;
      continue;
    }
    output += char;
  }

  const repairs: string[] = [];
  if (trailingCommas > 0) {
    repairs.push(`removed ${trailingCommas} trailing comma${trailingCommas === 1 ? '' : 's'}`);
  }
  if (controlCharacters > 0) {
    repairs.push(`escaped ${controlCharacters} control character${controlCharacters === 1 ? '' : 's'} inside strings`);
  }

  return { text: output, repairs };
}

function closesAfterWhitespace(text: string, from: number): boolean {
  for (let index = from; index < text.length; index += 1) {
    const char = text[index];
    if (char === '}' || char === ']') {
      return true;
    }
    if (char !== ' ' && char !== '\n' && char !== '\r' && char !== '\t') {
      return false;
    }
  }

  return false;
}

/** Shortens a response for a log or a repair prompt: whitespace runs collapsed, then head and tail. */
export function excerptOf(text: string, maxLength = EXCERPT_LENGTH): string {
  const flat = Array.from(text.replace(/\s+/g, ' ').trim());
  if (flat.length <= maxLength) {
    return flat.join('');
  }

  const marker = ' … ';
  const tail = Math.floor((maxLength - marker.length) / 3);
  const head = maxLength - marker.length - tail;
  return `${flat.slice(0, head).join('')}${marker}${flat.slice(flat.length - tail).join('')}`;
}
