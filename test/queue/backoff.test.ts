import { describe, expect, it } from 'vitest';

import { InvalidOptionError } from '../../src/errors.js';
import { DEFAULT_BACKOFF, backoffDelay, resolveBackoff } from '../../src/queue/backoff.js';

const options = { delayMs: 10_000, maxDelayMs: 60_000, jitter: 0.5 };

describe('backoffDelay', () => {
  it('doubles from the first delay', () => {
    const delays = [1, 2, 3].map((attempt) => backoffDelay(attempt, options, () => 0));

    expect(delays).toEqual([10_000, 20_000, 40_000]);
  });

  it('stops at the maximum delay', () => {
    expect(backoffDelay(30, options, () => 0)).toBe(60_000);
  });

  it('takes up to the jitter fraction off', () => {
    expect(backoffDelay(1, options, () => 0.999_999)).toBe(5000);
    expect(backoffDelay(1, options, () => 0.5)).toBe(7500);
  });

  it('starts about 10 s by default', () => {
    const first = backoffDelay(1, DEFAULT_BACKOFF, Math.random);

    expect(first).toBeGreaterThanOrEqual(8000);
    expect(first).toBeLessThanOrEqual(10_000);
  });
});

describe('resolveBackoff', () => {
  it.each([
    [{ delayMs: 0 }, 'backoff.delayMs'],
    [{ maxDelayMs: -5 }, 'backoff.maxDelayMs'],
    [{ jitter: 1.5 }, 'backoff.jitter'],
    [{ jitter: Number.NaN }, 'backoff.jitter'],
    [{ delayMs: 1000, maxDelayMs: 999 }, 'backoff.maxDelayMs'],
  ])('rejects %o', (input, option) => {
    expect(() => resolveBackoff(input)).toThrow(InvalidOptionError);
    expect(() => resolveBackoff(input)).toThrow(option);
  });

  it('names delayMs when maxDelayMs is below it', () => {
    expect(() => resolveBackoff({ delayMs: 1000, maxDelayMs: 10 })).toThrow(
      'invalid backoff.maxDelayMs: expected at least backoff.delayMs (1000), received 10 (number)',
    );
  });

  it('accepts maxDelayMs equal to delayMs', () => {
    const resolved = resolveBackoff({ delayMs: 1000, maxDelayMs: 1000 });

    expect(backoffDelay(5, resolved, () => 0)).toBe(1000);
  });
});
