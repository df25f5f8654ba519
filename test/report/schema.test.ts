import { describe, expect, it } from 'vitest';

import {
  formatProblems,
  type Report,
  REPORT_FIELD_NAMES,
  REPORT_FIELDS,
  REPORT_SCHEMA_VERSION,
  reportJsonSchema,
  validateReport,
} from '../../src/report/schema.js';

function validReport(overrides: Partial<Record<keyof Report, unknown>> = {}): Record<string, unknown> {
  return {
    title: 'Add a retry to the chat client',
    summary: 'The chat client retries once when Ollama answers 503.',
    changes: ['Retry on 503 in streamChat', 'Add a test for the retry'],
    rationale: 'The message says busy servers made jobs fail.',
    impact_and_tests: 'Jobs survive a busy server; test/ollama/chat.test.ts covers it.',
    next_steps: ['Make the delay configurable'],
    tags: ['ollama', 'retry'],
    ...overrides,
  };
}

function problemsOf(value: unknown) {
  const result = validateReport(value);
  if (result.ok) {
    throw new Error('expected validation to fail');
  }

  return result.problems;
}

function reportOf(value: unknown) {
  const result = validateReport(value);
  if (!result.ok) {
    throw new Error(`expected validation to pass: ${formatProblems(result.problems)}`);
  }

  return result;
}

// Keywords the report schema may use, which Ollama's grammar conversion supports.
const ALLOWED_KEYWORDS = new Set(['type', 'properties', 'required', 'items', 'maxItems', 'minLength']);

function keywordsOf(schema: unknown, into = new Set<string>()): Set<string> {
  if (typeof schema !== 'object' || schema === null) {
    return into;
  }

  for (const [key, value] of Object.entries(schema)) {
    if (key === 'properties') {
      into.add(key);
      for (const property of Object.values(value as Record<string, unknown>)) {
        keywordsOf(property, into);
      }
    } else {
      into.add(key);
      if (key === 'items') {
        keywordsOf(value, into);
      }
    }
  }

  return into;
}

describe('reportJsonSchema', () => {
  it('lists the fields in order, all required', () => {
    const schema = reportJsonSchema();

    expect(Object.keys(schema.properties)).toEqual(['title', 'summary', 'changes', 'rationale', 'impact_and_tests', 'next_steps', 'tags']);
    expect(schema.required).toEqual(Object.keys(schema.properties));
  });

  it('uses only keywords Ollama supports', () => {
    const keywords = [...keywordsOf(reportJsonSchema())];

    expect(keywords.filter((keyword) => !ALLOWED_KEYWORDS.has(keyword))).toEqual([]);
  });

  it('survives a JSON round trip unchanged', () => {
    const schema = reportJsonSchema();

    expect(JSON.parse(JSON.stringify(schema))).toEqual(schema);
  });

  it('list fields carry the validator limit as maxItems', () => {
    const schema = reportJsonSchema();

    for (const name of REPORT_FIELD_NAMES) {
      const spec = REPORT_FIELDS[name];
      const property = schema.properties[name];
      if (spec.kind === 'list') {
        expect(property, name).toEqual({ type: 'array', items: { type: 'string' }, maxItems: spec.maxItems });
      } else {
        expect(property.type, name).toBe('string');
      }
    }
  });

  it('text fields that must not be empty have minLength 1', () => {
    const schema = reportJsonSchema();

    expect(schema.properties.title).toEqual({ type: 'string', minLength: 1 });
    expect(schema.properties.summary).toEqual({ type: 'string', minLength: 1 });
    expect(schema.properties.rationale).toEqual({ type: 'string' });
  });

  it('has a positive integer version', () => {
    expect(Number.isSafeInteger(REPORT_SCHEMA_VERSION)).toBe(true);
    expect(REPORT_SCHEMA_VERSION).toBeGreaterThan(0);
  });
});

describe('validateReport agreement with the schema', () => {
  it('flags every required field when it is missing', () => {
    for (const name of reportJsonSchema().required) {
      const input = validReport();
      delete input[name];

      expect(problemsOf(input), name).toEqual([{ field: name, message: 'is missing' }]);
    }
  });

  it('flags every field given the wrong JSON type', () => {
    const schema = reportJsonSchema();

    for (const name of schema.required) {
      const wrong = schema.properties[name].type === 'array' ? 'a string' : ['a list'];

      expect(problemsOf(validReport({ [name]: wrong }))[0]?.field, name).toBe(name);
    }
  });

  it('accepts a valid report after a JSON round trip', () => {
    const input = validReport();
    const result = reportOf(JSON.parse(JSON.stringify(input)));

    expect(result.report).toEqual(input);
    expect(result.adjustments).toEqual([]);
  });

  it('accepts the value built from the schema itself', () => {
    // The fake server builds its default response the same way.
    const value = Object.fromEntries(
      REPORT_FIELD_NAMES.map((name) => [name, REPORT_FIELDS[name].kind === 'list' ? [`example ${name}`] : `example ${name}`]),
    );

    expect(validateReport(value).ok).toBe(true);
  });

  it('re-validates its own output unchanged', () => {
    const first = reportOf(validReport({ title: '  Padded  ', tags: ['Ollama', 'ollama', ' Retry Logic '] }));
    const second = reportOf(JSON.parse(JSON.stringify(first.report)));

    expect(second.report).toEqual(first.report);
    expect(second.adjustments).toEqual([]);
  });
});

describe('validateReport', () => {
  it('rejects a value that is not an object', () => {
    for (const value of [null, [], 'text', 42]) {
      expect(problemsOf(value)[0]?.field).toBe('(response)');
    }
  });

  it('names the type it received', () => {
    expect(problemsOf(validReport({ title: 42 }))).toEqual([{ field: 'title', message: 'must be a string, got number' }]);
    expect(problemsOf(validReport({ changes: null }))).toEqual([{ field: 'changes', message: 'must be an array of strings, got null' }]);
  });

  it('rejects an empty title and summary', () => {
    const problems = problemsOf(validReport({ title: '   ', summary: '' }));

    expect(problems).toEqual([
      { field: 'title', message: 'must not be empty' },
      { field: 'summary', message: 'must not be empty' },
    ]);
  });

  it('accepts an empty rationale and empty lists', () => {
    const result = reportOf(validReport({ rationale: '', impact_and_tests: '', changes: [], next_steps: [], tags: [] }));

    expect(result.report.rationale).toBe('');
    expect(result.report.next_steps).toEqual([]);
  });

  it('indexes a non-string list item', () => {
    expect(problemsOf(validReport({ changes: ['ok', { text: 'no' }] }))).toEqual([{ field: 'changes[1]', message: 'must be a string, got object' }]);
  });

  it('reports every problem at once', () => {
    const problems = problemsOf({ title: '', summary: 3, changes: 'x' });

    expect(problems.map((problem) => problem.field)).toEqual(['title', 'summary', 'changes', 'rationale', 'impact_and_tests', 'next_steps', 'tags']);
  });

  it('trims text and items', () => {
    const result = reportOf(validReport({ title: '\n  Fix it \t', changes: ['  one  '] }));

    expect(result.report.title).toBe('Fix it');
    expect(result.report.changes).toEqual(['one']);
  });

  it('drops empty list items with a note', () => {
    const result = reportOf(validReport({ next_steps: ['', '  ', 'Do more'] }));

    expect(result.report.next_steps).toEqual(['Do more']);
    expect(result.adjustments).toContain('next_steps[0]: dropped an empty item');
  });

  it('cuts text at its limit', () => {
    const limit = REPORT_FIELDS.summary.maxLength;
    const result = reportOf(validReport({ summary: 'a'.repeat(limit + 50) }));

    expect(result.report.summary).toHaveLength(limit);
    expect(result.adjustments).toEqual([`summary: cut from ${limit + 50} to ${limit} characters`]);
  });

  it('cuts between code points, never inside a surrogate pair', () => {
    const limit = REPORT_FIELDS.title.maxLength;
    const result = reportOf(validReport({ title: '😀'.repeat(limit + 1) }));

    expect(Array.from(result.report.title)).toHaveLength(limit);
    expect(result.report.title.endsWith('😀')).toBe(true);
  });

  it('keeps the first items up to the limit', () => {
    const limit = REPORT_FIELDS.changes.maxItems;
    const changes = Array.from({ length: limit + 3 }, (_, index) => `change ${index}`);
    const result = reportOf(validReport({ changes }));

    expect(result.report.changes).toEqual(changes.slice(0, limit));
    expect(result.adjustments).toContain(`changes: kept the first ${limit} of ${limit + 3} items`);
  });

  it('normalizes and deduplicates tags', () => {
    const result = reportOf(validReport({ tags: ['Parser', '#tests', 'parser', 'Error Handling', 'TESTS'] }));

    expect(result.report.tags).toEqual(['parser', 'tests', 'error-handling']);
  });

  it('ignores keys outside the schema', () => {
    const result = reportOf(validReport({ confidence: 0.9 } as never));

    expect(Object.keys(result.report)).toEqual(REPORT_FIELD_NAMES);
  });
});

describe('formatProblems', () => {
  it('writes one line per problem', () => {
    expect(formatProblems([{ field: 'title', message: 'is missing' }, { field: 'tags[0]', message: 'must be a string, got number' }])).toBe(
      '- title: is missing\n- tags[0]: must be a string, got number',
    );
  });

  it('stops at the line limit and counts the rest', () => {
    const problems = Array.from({ length: 5 }, (_, index) => ({ field: `changes[${index}]`, message: 'must be a string, got number' }));

    expect(formatProblems(problems, 2).split('\n')).toEqual(['- changes[0]: must be a string, got number', '- changes[1]: must be a string, got number', '- and 3 more']);
  });
});
