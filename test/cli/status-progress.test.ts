import { describe, expect, it } from 'vitest';

import { describeProgress } from '../../src/cli/commands/status.js';

describe('describeProgress', () => {
  it.each([
    [{ phase: 'loading/prompt', call: 1, tokens: 0, tokensPerSecond: null }, 'loading/prompt, model call 1, 0 tokens'],
    [{ phase: 'generating', call: 2, tokens: 46, tokensPerSecond: 12.345 }, 'generating, model call 2, 46 tokens at 12.3 tokens/s'],
    [{ phase: 'generating', call: 3, part: { index: 2, count: 7 }, tokens: 10 }, 'generating, model call 3, part 2 of 7, 10 tokens'],
    [{ phase: 'waiting' }, 'waiting'],
    [{ phase: 'generating', call: 1, tokens: 1 }, 'generating, model call 1, 1 token'],
  ])('renders %j', (progress, expected) => {
    expect(describeProgress(progress)).toBe(expected);
  });

  it('shows other shapes as JSON', () => {
    expect(describeProgress({ percent: 40 })).toBe('{"percent":40}');
    expect(describeProgress(7)).toBe('7');
  });
});
