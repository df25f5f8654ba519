/**
 * The commit report: one table of fields from which the JSON Schema sent to Ollama as `format`,
 * the TypeScript type, the validator and the field list in the prompt are all derived.
 */

export { REPORT_SCHEMA_VERSION } from './versions.js';

interface TextField {
  kind: 'text';
  /** Whether an empty string (after trimming) is rejected. */
  nonEmpty: boolean;
  /** Characters kept; longer text is cut at this length. */
  maxLength: number;
  /** Meaning of the field, shown in the prompt. */
  description: string;
}

interface ListField {
  kind: 'list';
  /** Items kept; later items are dropped. */
  maxItems: number;
  /** Characters kept per item. */
  maxItemLength: number;
  /** Lowercases items and removes duplicates, for tags. */
  normalizeAsTags?: boolean;
  description: string;
}

type FieldSpec = TextField | ListField;

/**
 * The report's fields in the order the model writes them. Constrained decoding follows the
 * order of `properties`, so the title and summary come first and survive a cut response best.
 * The limits keep a full report within OUTPUT_BUDGET_TOKENS (see context.ts).
 */
export const REPORT_FIELDS = {
  title: { kind: 'text', nonEmpty: true, maxLength: 100, description: 'one line, imperative mood, what the commit does' },
  summary: { kind: 'text', nonEmpty: true, maxLength: 400, description: '2 to 4 sentences: what changed and its effect' },
  changes: { kind: 'list', maxItems: 6, maxItemLength: 150, description: 'main changes, one short item each, most important first' },
  rationale: {
    kind: 'text',
    nonEmpty: false,
    maxLength: 360,
    description: 'why, only as the message or diff shows it; else say it is not stated',
  },
  impact_and_tests: {
    kind: 'text',
    nonEmpty: false,
    maxLength: 360,
    description: 'what is affected, and tests added or changed in the diff; say so if none',
  },
  next_steps: { kind: 'list', maxItems: 4, maxItemLength: 120, description: 'follow-up work the evidence points to; [] if none' },
  tags: {
    kind: 'list',
    maxItems: 6,
    maxItemLength: 24,
    normalizeAsTags: true,
    description: 'lowercase topic words, such as parser, tests, docs',
  },
} as const satisfies Record<string, FieldSpec>;

export type ReportField = keyof typeof REPORT_FIELDS;

/** Field names in schema order. */
export const REPORT_FIELD_NAMES = Object.keys(REPORT_FIELDS) as ReportField[];

/** A validated report: strings for text fields, string arrays for list fields. */
export type Report = {
  [K in ReportField]: (typeof REPORT_FIELDS)[K]['kind'] extends 'list' ? string[] : string;
};

/** One thing wrong with a model's response, worded for a repair prompt. */
export interface ReportProblem {
  /** The field path, such as `title` or `changes[2]`; `(response)` for the response as a whole. */
  field: string;
  message: string;
}

/**
 * The JSON Schema sent as `format`. It uses only `type`, `properties`, `required`, `items`,
 * `minLength` and `maxItems`, which Ollama's grammar conversion handles. Servers of the 0.5
 * series rejected `pattern`, and `$ref` or `anyOf` can turn constrained decoding off.
 * String lengths are not constrained here because a grammar would then stop a sentence
 * mid-word at the limit; the validator cuts long text instead.
 */
export interface ReportJsonSchema {
  type: 'object';
  properties: Record<ReportField, { type: 'string'; minLength?: number } | { type: 'array'; items: { type: 'string' }; maxItems: number }>;
  required: ReportField[];
}

export function reportJsonSchema(): ReportJsonSchema {
  const properties = {} as ReportJsonSchema['properties'];
  for (const name of REPORT_FIELD_NAMES) {
    const spec: FieldSpec = REPORT_FIELDS[name];
    if (spec.kind === 'list') {
      properties[name] = { type: 'array', items: { type: 'string' }, maxItems: spec.maxItems };
    } else {
      properties[name] = spec.nonEmpty ? { type: 'string', minLength: 1 } : { type: 'string' };
    }
  }

  return { type: 'object', properties, required: [...REPORT_FIELD_NAMES] };
}

export type ReportValidation =
  | {
      ok: true;
      report: Report;
      /** Changes made to fit the limits, such as a cut summary or dropped items; empty when none. */
      adjustments: string[];
    }
  | { ok: false; problems: ReportProblem[] };

/**
 * Validates a parsed response against REPORT_FIELDS. Text is trimmed, over-long text and lists
 * are cut to their limits, empty list items are dropped, and tags are lowercased with spaces
 * turned into hyphens and duplicates removed. Keys outside the schema are ignored.
 */
export function validateReport(value: unknown): ReportValidation {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, problems: [{ field: '(response)', message: `must be a JSON object, got ${describeType(value)}` }] };
  }

  const input = value as Record<string, unknown>;
  const problems: ReportProblem[] = [];
  const adjustments: string[] = [];
  const report: Record<string, string | string[]> = {};

  for (const name of REPORT_FIELD_NAMES) {
    const spec: FieldSpec = REPORT_FIELDS[name];
    if (!Object.hasOwn(input, name)) {
      problems.push({ field: name, message: 'is missing' });
      continue;
    }

    const checked = spec.kind === 'list' ? checkList(name, spec, input[name], problems, adjustments) : checkText(name, spec, input[name], problems, adjustments);
    if (checked !== undefined) {
      report[name] = checked;
    }
  }

  return problems.length > 0 ? { ok: false, problems } : { ok: true, report: report as Report, adjustments };
}

/** Formats problems as a bulleted list, at most `maxLines` lines, for a repair prompt or an error. */
export function formatProblems(problems: readonly ReportProblem[], maxLines = 12): string {
  const lines = problems.slice(0, maxLines).map((problem) => `- ${problem.field}: ${problem.message}`);
  if (problems.length > maxLines) {
    lines.push(`- and ${problems.length - maxLines} more`);
  }

  return lines.join('\n');
}

function checkText(name: string, spec: TextField, value: unknown, problems: ReportProblem[], adjustments: string[]): string | undefined {
  if (typeof value !== 'string') {
    problems.push({ field: name, message: `must be a string, got ${describeType(value)}` });
    return undefined;
  }

  const text = value.trim();
  if (spec.nonEmpty && text === '') {
    problems.push({ field: name, message: 'must not be empty' });
    return undefined;
  }

  return cut(text, spec.maxLength, name, adjustments);
}

function checkList(name: string, spec: ListField, value: unknown, problems: ReportProblem[], adjustments: string[]): string[] | undefined {
  if (!Array.isArray(value)) {
    problems.push({ field: name, message: `must be an array of strings, got ${describeType(value)}` });
    return undefined;
  }

  const items: string[] = [];
  let failed = false;
  value.forEach((item: unknown, index) => {
    const field = `${name}[${index}]`;
    if (typeof item !== 'string') {
      problems.push({ field, message: `must be a string, got ${describeType(item)}` });
      failed = true;
      return;
    }

    const text = spec.normalizeAsTags ? normalizeTag(item) : item.trim();
    if (text === '') {
      adjustments.push(`${field}: dropped an empty item`);
      return;
    }

    const kept = cut(text, spec.maxItemLength, field, adjustments);
    if (spec.normalizeAsTags && items.includes(kept)) {
      adjustments.push(`${field}: dropped the duplicate tag "${kept}"`);
      return;
    }

    items.push(kept);
  });

  if (failed) {
    return undefined;
  }

  if (items.length > spec.maxItems) {
    adjustments.push(`${name}: kept the first ${spec.maxItems} of ${items.length} items`);
    items.length = spec.maxItems;
  }

  return items;
}

function normalizeTag(tag: string): string {
  return tag.trim().replace(/^#+/, '').trim().toLowerCase().replace(/\s+/g, '-');
}

// Cuts at a code point boundary, so a surrogate pair is never split.
function cut(text: string, maxLength: number, field: string, adjustments: string[]): string {
  const codePoints = Array.from(text);
  if (codePoints.length <= maxLength) {
    return text;
  }

  adjustments.push(`${field}: cut from ${codePoints.length} to ${maxLength} characters`);
  return codePoints.slice(0, maxLength).join('').trimEnd();
}

function describeType(value: unknown): string {
  if (value === null) {
    return 'null';
  }

  return Array.isArray(value) ? 'array' : typeof value;
}
