import { describe, expect, it } from 'vitest';

import { EXCERPT_LENGTH, excerptOf, type ModelAnswer, parseReport, type ParseResult, scanObjects, stripThinkBlocks } from '../../src/report/parse.js';

const REPORT = {
  title: 'Parse model answers leniently',
  summary: 'Adds a parser that finds the report in fenced or wrapped answers.',
  changes: ['Add parseReport', 'Test fences, prose and think blocks'],
  rationale: 'Not stated in the commit.',
  impact_and_tests: 'New tests in test/report/parse.test.ts.',
  next_steps: [],
  tags: ['parser'],
};
const JSON_TEXT = JSON.stringify(REPORT);
const PRETTY_JSON = JSON.stringify(REPORT, null, 2);

function parse(content: string, extra: Partial<ModelAnswer> = {}): ParseResult {
  return parseReport({ content, doneReason: 'stop', ...extra });
}

function failureOf(result: ParseResult) {
  if (result.ok) {
    throw new Error('expected parsing to fail');
  }

  return result;
}

describe('parseReport accepts', () => {
  it('bare JSON', () => {
    const result = parse(JSON_TEXT);

    expect(result).toEqual({ ok: true, report: REPORT, adjustments: [] });
  });

  it('a ```json fence', () => {
    expect(parse('```json\n' + PRETTY_JSON + '\n```')).toMatchObject({ ok: true, report: REPORT });
  });

  it('a bare ``` fence with text after it', () => {
    expect(parse('```\n' + PRETTY_JSON + '\n```\n\nI hope this helps.')).toMatchObject({ ok: true, report: REPORT });
  });

  it('prose before and after', () => {
    const content = `Here is the report:\n${JSON_TEXT}\nLet me know if you need anything else.`;

    expect(parse(content)).toMatchObject({ ok: true, report: REPORT });
  });

  it('prose with a stray brace before the object', () => {
    const content = `I filled every field of the {report} as asked:\n${JSON_TEXT}`;

    expect(parse(content)).toMatchObject({ ok: true, report: REPORT });
  });

  it('an opening brace in prose that never closes', () => {
    const content = `The code uses { for blocks. Report:\n${JSON_TEXT}`;

    expect(parse(content)).toMatchObject({ ok: true, report: REPORT });
  });

  it('a think block before the JSON', () => {
    const content = `<think>\nThe diff adds a parser. I should mention {braces} "quotes".\n</think>\n\n${JSON_TEXT}`;

    expect(parse(content)).toMatchObject({ ok: true, report: REPORT });
  });

  it('a think block in capitals', () => {
    expect(parse(`<THINK>reasoning</THINK>${JSON_TEXT}`)).toMatchObject({ ok: true, report: REPORT });
  });

  it('a closing think tag whose opening was in the prompt', () => {
    expect(parse(`the user wants {"title": ""}\n</think>\n${JSON_TEXT}`)).toMatchObject({ ok: true, report: REPORT });
  });

  it('a byte order mark and leading whitespace', () => {
    expect(parse(`\uFEFF\n\n   \t${JSON_TEXT}`)).toMatchObject({ ok: true, report: REPORT });
  });

  it('runaway whitespace cut by the output limit', () => {
    const result = parse(`${JSON_TEXT}${' \n'.repeat(5000)}`, { doneReason: 'length' });

    expect(result).toMatchObject({ ok: true, report: REPORT });
  });

  it('braces and escaped quotes inside strings', () => {
    const report = { ...REPORT, summary: 'Handles "{" and "}" plus \\" in a string } {' };

    expect(parse(`Report: ${JSON.stringify(report)} done`)).toMatchObject({ ok: true, report });
  });

  it('trailing commas, with a note', () => {
    const content = PRETTY_JSON.replace('"parser"\n  ]', '"parser",\n  ]').replace(/\n}$/, ',\n}');
    const result = parse(content);

    expect(result).toEqual({ ok: true, report: REPORT, adjustments: ['removed 2 trailing commas'] });
  });

  it('a raw newline inside a string, with a note', () => {
    const content = JSON_TEXT.replace('Adds a parser', 'Adds\na parser');
    const result = parse(content);

    expect(result).toEqual({
      ok: true,
      report: { ...REPORT, summary: REPORT.summary.replace('Adds a parser', 'Adds\na parser') },
      adjustments: ['escaped 1 control character inside strings'],
    });
  });

  it('the first valid object of several', () => {
    const second = { ...REPORT, title: 'Second report' };

    expect(parse(`${JSON_TEXT}\n${JSON.stringify(second)}`)).toMatchObject({ ok: true, report: { title: REPORT.title } });
  });

  it('a valid object after an example that fails the schema', () => {
    expect(parse(`For example {"title": "x"}. The report:\n${JSON_TEXT}`)).toMatchObject({ ok: true, report: REPORT });
  });

  it('an object inside an array', () => {
    expect(parse(`[${JSON_TEXT}]`)).toMatchObject({ ok: true, report: REPORT });
  });

  it('an answer without done_reason, as old servers send', () => {
    expect(parseReport({ content: JSON_TEXT, doneReason: undefined })).toMatchObject({ ok: true });
  });

  it('validator adjustments in the result', () => {
    const result = parse(JSON.stringify({ ...REPORT, tags: ['Parser', 'parser'] }));

    expect(result).toMatchObject({ ok: true, adjustments: ['tags[1]: dropped the duplicate tag "parser"'] });
  });
});

describe('parseReport rejects', () => {
  it('empty content as empty', () => {
    const failure = failureOf(parse(''));

    expect(failure.reason).toBe('empty');
    expect(failure.problems).toEqual([{ field: '(response)', message: 'the content is empty' }]);
  });

  it('whitespace only as empty', () => {
    expect(failureOf(parse(' \n\t ')).reason).toBe('empty');
  });

  it('a think block alone as empty', () => {
    expect(failureOf(parse('<think>I will now write the JSON.</think>\n')).reason).toBe('empty');
  });

  it('thinking only, cut by the limit, as truncated', () => {
    const failure = failureOf(parseReport({ content: '', thinking: 'Let me look at the diff. '.repeat(50), doneReason: 'length' }));

    expect(failure.reason).toBe('truncated');
    expect(failure.problems[0]?.message).toContain('thinking used up the output limit');
    expect(failure.excerpt.startsWith('Let me look at the diff.')).toBe(true);
  });

  it('thinking only, stopped normally, as empty', () => {
    const failure = failureOf(parseReport({ content: '', thinking: 'Done thinking.', doneReason: 'stop' }));

    expect(failure.reason).toBe('empty');
    expect(failure.problems[0]?.message).toBe('the content is empty and 14 characters of thinking were returned');
  });

  it('never takes JSON from thinking', () => {
    expect(failureOf(parseReport({ content: '', thinking: `Draft: ${JSON_TEXT}`, doneReason: 'stop' })).reason).toBe('empty');
  });

  it('an unterminated think block as empty', () => {
    expect(failureOf(parse(`<think>\nFirst draft: ${JSON_TEXT}\nHmm, the title`)).reason).toBe('empty');
  });

  it('an unterminated think block cut by the limit as truncated', () => {
    expect(failureOf(parse('<think>\nThe diff changes', { doneReason: 'length' })).reason).toBe('truncated');
  });

  it('JSON cut by the output limit as truncated', () => {
    const content = JSON_TEXT.slice(0, JSON_TEXT.length / 2);
    const failure = failureOf(parse(content, { doneReason: 'length' }));

    expect(failure.reason).toBe('truncated');
    expect(failure.problems[0]?.message).toContain('done_reason "length"');
  });

  it('JSON cut inside a string holding braces as truncated', () => {
    const content = `{"title": "Use {x} here", "summary": "The {y} part of`;

    expect(failureOf(parse(content, { doneReason: 'length' })).reason).toBe('truncated');
  });

  it('JSON cut without the output limit as invalid JSON', () => {
    const content = JSON_TEXT.slice(0, -1);
    const failure = failureOf(parse(content));

    expect(failure.reason).toBe('invalid-json');
    expect(failure.problems).toEqual([{ field: '(response)', message: 'the JSON object is not closed' }]);
  });

  it('prose cut by the limit before any JSON as truncated', () => {
    expect(failureOf(parse('Sure! Let me explain the commit first. It', { doneReason: 'length' })).reason).toBe('truncated');
  });

  it('prose without JSON as no-json', () => {
    const failure = failureOf(parse('The change updates the parser and adds tests for the new cases.'));

    expect(failure.reason).toBe('no-json');
    expect(failure.problems).toEqual([{ field: '(response)', message: 'contains no JSON object' }]);
  });

  it('balanced but broken JSON as invalid JSON', () => {
    const failure = failureOf(parse("{'title': 'single quotes'}"));

    expect(failure.reason).toBe('invalid-json');
    expect(failure.problems[0]?.message).toMatch(/^invalid JSON: /);
  });

  it('a missing required field as a schema problem', () => {
    const { title: _title, ...rest } = REPORT;
    const failure = failureOf(parse(JSON.stringify(rest)));

    expect(failure.reason).toBe('schema');
    expect(failure.problems).toEqual([{ field: 'title', message: 'is missing' }]);
  });

  it('a wrong type as a schema problem', () => {
    const failure = failureOf(parse(JSON.stringify({ ...REPORT, changes: 'one change' })));

    expect(failure.problems).toEqual([{ field: 'changes', message: 'must be an array of strings, got string' }]);
  });

  it('reports the first object when none validates', () => {
    const failure = failureOf(parse('{"title": ""} and {"summary": 1}'));

    expect(failure.problems[0]).toEqual({ field: 'title', message: 'must not be empty' });
  });
});

describe('parseReport excerpt', () => {
  it('is the whole answer when short', () => {
    expect(failureOf(parse('No JSON here.')).excerpt).toBe('No JSON here.');
  });

  it('is bounded for a long answer', () => {
    const failure = failureOf(parse(`START ${'word '.repeat(2000)} END`));

    expect(Array.from(failure.excerpt).length).toBeLessThanOrEqual(EXCERPT_LENGTH);
    expect(failure.excerpt.startsWith('START')).toBe(true);
    expect(failure.excerpt.endsWith('END')).toBe(true);
  });
});

describe('parseReport scale', () => {
  it('handles many unmatched braces', () => {
    // Without the cap on starts this input would be scanned once per brace.
    const result = parse('{'.repeat(200_000));

    expect(failureOf(result).reason).toBe('invalid-json');
  });

  it('handles many small objects', () => {
    const result = parse('{"a":1} '.repeat(50_000));

    expect(failureOf(result).reason).toBe('schema');
  });
});

describe('stripThinkBlocks', () => {
  it('removes every closed block', () => {
    expect(stripThinkBlocks('a<think>x</think>b<think>y</think>c')).toBe('abc');
  });

  it('keeps text without tags', () => {
    expect(stripThinkBlocks('plain {"a": 1}')).toBe('plain {"a": 1}');
  });

  it('drops the rest after an unclosed tag', () => {
    expect(stripThinkBlocks('keep<think>drop')).toBe('keep');
  });

  it('keeps indexes right after non-ASCII text', () => {
    expect(stripThinkBlocks('İİİ<think>x</think>ok')).toBe('İİİok');
  });
});

describe('scanObjects', () => {
  it('skips nested objects', () => {
    expect(scanObjects('x {"a": {"b": 1}} y {"c": 2}').objects).toEqual(['{"a": {"b": 1}}', '{"c": 2}']);
  });

  it('marks an object that never closes', () => {
    expect(scanObjects('{"a": "}"').unclosed).toBe(true);
  });
});

describe('excerptOf', () => {
  it('collapses whitespace', () => {
    expect(excerptOf('a\n\n  b\tc')).toBe('a b c');
  });

  it('keeps head and tail within the limit', () => {
    const excerpt = excerptOf('x'.repeat(100) + 'y'.repeat(100), 50);

    expect(Array.from(excerpt)).toHaveLength(50);
    expect(excerpt).toMatch(/^x+ … y+$/);
  });
});
