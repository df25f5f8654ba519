import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';

import { parseInteger, shortenArgumentError } from '../../src/cli/options.js';

describe('parseInteger', () => {
  it.each([
    ['0', 0, 0],
    ['7', 1, 7],
    ['9007199254740991', 1, 9007199254740991],
  ])('accepts %j with minimum %d', (text, minimum, expected) => {
    expect(parseInteger('--limit', minimum)(text)).toBe(expected);
  });

  it.each([
    ['0', 1, 'invalid --limit: expected a whole number >= 1, received "0"'],
    ['-1', 1, 'invalid --limit: expected a whole number >= 1, received "-1"'],
    ['1.5', 0, 'invalid --limit: expected a whole number, received "1.5"'],
    ['', 0, 'invalid --limit: expected a whole number, received ""'],
    ['9007199254740992', 1, 'invalid --limit: expected a whole number below 2^53, received "9007199254740992"'],
  ])('rejects %j with minimum %d', (text, minimum, message) => {
    const parse = parseInteger('--limit', minimum);

    expect(() => parse(text)).toThrow(InvalidArgumentError);
    expect(() => parse(text)).toThrow(message);
  });
});

describe('shortenArgumentError', () => {
  it('keeps only the parser message of an invalid option value', () => {
    const text = `option '--limit <n>' argument 'it's invalid. no' is invalid. invalid --limit: expected a whole number, received "it's invalid. no"`;

    expect(shortenArgumentError(text)).toBe(`invalid --limit: expected a whole number, received "it's invalid. no"`);
  });

  it('leaves other commander errors as they are', () => {
    expect(shortenArgumentError(`unknown option '--bogus'`)).toBe(`unknown option '--bogus'`);
    expect(shortenArgumentError(`option '--priority <level>' argument 'x' is invalid. Allowed choices are high, low.`)).toBe(
      `option '--priority <level>' argument 'x' is invalid. Allowed choices are high, low.`,
    );
  });
});
