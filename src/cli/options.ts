import { InvalidArgumentError } from 'commander';

/** Returns a commander parser that accepts a non-negative integer for `option`. */
export function parseInteger(option: string): (value: string) => number {
  return (value) => {
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) {
      throw new InvalidArgumentError(`${option} expects a whole number below 2^53, got ${JSON.stringify(value)}`);
    }

    return Number(value);
  };
}
