import { describe, expect, it } from 'vitest';

import { MIN_TOKEN_BUDGET } from '../../src/evidence/build.js';
import { chooseContext, ContextTooSmallError, isTruncatedPrompt, OUTPUT_BUDGET_TOKENS, UNKNOWN_CONTEXT_LENGTH } from '../../src/report/context.js';
import { PROMPT_FIXED_TOKENS } from '../../src/report/prompt.js';
import { REPORT_FIELD_NAMES, REPORT_FIELDS } from '../../src/report/schema.js';

const RESERVED = PROMPT_FIXED_TOKENS + OUTPUT_BUDGET_TOKENS;

describe('chooseContext', () => {
  const cases: Array<{ name: string; contextLength: number | undefined; evidenceTokens: number; maxNumCtx?: number; numCtx: number; fitsWhole: boolean }> = [
    { name: 'small commit', contextLength: 32768, evidenceTokens: 500, numCtx: 4096, fitsWhole: true },
    { name: 'exact fit in 4096', contextLength: 32768, evidenceTokens: 4096 - RESERVED, numCtx: 4096, fitsWhole: true },
    { name: 'one token over 4096', contextLength: 32768, evidenceTokens: 4096 - RESERVED + 1, numCtx: 8192, fitsWhole: true },
    { name: 'medium commit', contextLength: 32768, evidenceTokens: 10_000, numCtx: 16384, fitsWhole: true },
    { name: 'huge commit', contextLength: 131072, evidenceTokens: 2_000_000, numCtx: 32768, fitsWhole: false },
    { name: 'model capped at 8192', contextLength: 8192, evidenceTokens: 20_000, numCtx: 8192, fitsWhole: false },
    { name: 'odd model length', contextLength: 6000, evidenceTokens: 20_000, numCtx: 6000, fitsWhole: false },
    { name: 'user cap', contextLength: 131072, evidenceTokens: 20_000, maxNumCtx: 8192, numCtx: 8192, fitsWhole: false },
    { name: 'unknown length', contextLength: undefined, evidenceTokens: 50_000, numCtx: UNKNOWN_CONTEXT_LENGTH, fitsWhole: false },
    { name: 'empty evidence', contextLength: 32768, evidenceTokens: 0, numCtx: 4096, fitsWhole: true },
  ];

  for (const testCase of cases) {
    it(`${testCase.name}`, () => {
      const choice = chooseContext(testCase);

      expect(choice.numCtx).toBe(testCase.numCtx);
      expect(choice.evidenceTokenBudget).toBe(testCase.numCtx - RESERVED);
      expect(choice.fitsWhole).toBe(testCase.fitsWhole);
      expect(choice.numPredict).toBe(OUTPUT_BUDGET_TOKENS);
    });
  }

  it('rejects a 2048-token model', () => {
    // 2048 minus the reserved prompt and answer leaves less than the smallest evidence.
    expect(() => chooseContext({ contextLength: 2048, evidenceTokens: 100 })).toThrow(ContextTooSmallError);
  });

  it('names the tokens needed', () => {
    expect(() => chooseContext({ contextLength: 2048, evidenceTokens: 100 })).toThrow(`at least ${RESERVED + MIN_TOKEN_BUDGET} tokens are needed`);
  });

  it('accepts the smallest context that holds minimal evidence', () => {
    const choice = chooseContext({ contextLength: RESERVED + MIN_TOKEN_BUDGET, evidenceTokens: 100_000 });

    expect(choice.evidenceTokenBudget).toBe(MIN_TOKEN_BUDGET);
  });

  it('returns one of few sizes for many commit sizes', () => {
    const sizes = new Set<number>();
    for (let tokens = 0; tokens < 100_000; tokens += 997) {
      sizes.add(chooseContext({ contextLength: 32768, evidenceTokens: tokens }).numCtx);
    }

    expect([...sizes].sort((a, b) => a - b)).toEqual([4096, 8192, 16384, 32768]);
  });
});

describe('OUTPUT_BUDGET_TOKENS', () => {
  it('holds a report with every field at its limit', () => {
    const report = Object.fromEntries(
      REPORT_FIELD_NAMES.map((name) => {
        const spec = REPORT_FIELDS[name];
        return [name, spec.kind === 'list' ? Array(spec.maxItems).fill('w'.repeat(spec.maxItemLength)) : 'w'.repeat(spec.maxLength)];
      }),
    );

    expect(Math.ceil(Buffer.byteLength(JSON.stringify(report)) / 3)).toBeLessThanOrEqual(OUTPUT_BUDGET_TOKENS);
  });
});

describe('isTruncatedPrompt', () => {
  it('whole prompt counted below the estimate', () => {
    // 3 bytes per token overestimates: a whole prompt counts about 0.65 to 0.85 of it.
    expect(isTruncatedPrompt(3000, 2200, 8192)).toBe(false);
  });

  it('whole prompt counted exactly', () => {
    expect(isTruncatedPrompt(3000, 3000, 8192)).toBe(false);
  });

  it('count of about half the window', () => {
    // Ollama keeps about half of num_ctx when the prompt does not fit.
    expect(isTruncatedPrompt(20_000, 4098, 8192)).toBe(true);
  });

  it('count filling the window', () => {
    expect(isTruncatedPrompt(7000, 8192, 8192)).toBe(true);
  });

  it('implausibly low count', () => {
    expect(isTruncatedPrompt(4000, 700, 8192)).toBe(true);
  });

  it('small count in a large window', () => {
    // Far below the estimate but not window-sized: whitespace-heavy diffs tokenize this well.
    expect(isTruncatedPrompt(4000, 1500, 32768)).toBe(false);
  });

  it('missing count', () => {
    expect(isTruncatedPrompt(4000, undefined, 8192)).toBe(false);
  });

  it('zero estimate', () => {
    expect(isTruncatedPrompt(0, 10, 4096)).toBe(false);
  });
});
