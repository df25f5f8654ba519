import { InvalidArgumentError } from 'commander';

/**
 * Returns a commander parser that accepts a whole number of at least `minimum` for `option`.
 * Its errors read like InvalidOptionError's, so all number errors look alike.
 */
export function parseInteger(option: string, minimum = 0): (value: string) => number {
  return (value) => {
    const number = Number(value);
    if (/^\d+$/.test(value) && !Number.isSafeInteger(number)) {
      throw new InvalidArgumentError(`invalid ${option}: expected a whole number below 2^53, received ${JSON.stringify(value)}`);
    }

    if (!/^\d+$/.test(value) || number < minimum) {
      const range = minimum > 0 ? ` >= ${minimum}` : '';
      throw new InvalidArgumentError(`invalid ${option}: expected a whole number${range}, received ${JSON.stringify(value)}`);
    }

    return number;
  };
}

/** Returns only the parser's message from commander's text for a rejected option value. */
export function shortenArgumentError(text: string): string {
  const match = /^option '.*' argument '.*' is invalid\. (invalid -.*)$/s.exec(text);
  return match ? (match[1] as string) : text;
}
