// The one registry of the `stepper.*` git config keys. The code that reads a key names it
// through this module, and `stepper config` documents and checks values with it. This module
// loads nothing but the errors, because the git hook's path imports it.
import { InvalidOptionError, StepperError } from '../errors.js';

/** Kinds of value a key takes; `set` checks a value by its key's type. */
export type ConfigValueType = 'model' | 'pattern';

export interface ConfigKey {
  /** Full name in git's canonical lower case, such as `stepper.model`. */
  name: string;
  type: ConfigValueType;
  /** True for a key that git stores once per value, such as `stepper.exclude`. */
  multiValued: boolean;
  /** Value in effect when the key is unset, as text, or null when unset means none. */
  defaultValue: string | null;
  description: string;
}

export const MODEL_KEY = 'stepper.model';
export const EXCLUDE_KEY = 'stepper.exclude';

/** Every key stepper reads, sorted by name. */
export const CONFIG_KEYS: readonly ConfigKey[] = [
  {
    name: EXCLUDE_KEY,
    type: 'pattern',
    multiValued: true,
    defaultValue: null,
    description:
      'gitignore-style pattern of files the model is not shown, added to the built-in exclusions (lock files, build output, minified and binary files); one value per pattern',
  },
  {
    name: MODEL_KEY,
    type: 'model',
    multiValued: false,
    // Kept in step with DEFAULT_MODEL in src/ollama/model.ts, which a test checks.
    defaultValue: 'qwen2.5-coder:7b',
    description: 'Ollama model that writes the reports, used when neither --model nor STEPPER_MODEL names one',
  },
];

/** Describes each type for help text and error messages. */
export const CONFIG_TYPE_DESCRIPTIONS: Readonly<Record<ConfigValueType, string>> = {
  model: 'an Ollama model name such as qwen2.5-coder:7b ([namespace/]model[:tag])',
  pattern: 'a gitignore-style pattern on one line, such as *.snap or docs/generated/',
};

// The shape Ollama requires of a model name; chooseModel applies the same rule.
const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*(:\d+)?(\/[A-Za-z0-9][A-Za-z0-9._-]*)*(:[A-Za-z0-9_][A-Za-z0-9._-]*)?$/;
const MAX_MODEL_NAME_LENGTH = 350;

/** Returns the registry entry of `name`, which git compares without regard to case, or undefined. */
export function findConfigKey(name: string): ConfigKey | undefined {
  const lowerCase = name.toLowerCase();
  return CONFIG_KEYS.find((key) => key.name === lowerCase);
}

/**
 * Returns the registry entry of `name`.
 *
 * @throws StepperError with code INVALID_OPTION naming the known keys and the nearest one, for an unknown key
 */
export function requireConfigKey(name: string): ConfigKey {
  const key = findConfigKey(name);
  if (key) {
    return key;
  }

  const nearest = nearestKeyName(name);
  const known = CONFIG_KEYS.map((entry) => entry.name).join(', ');
  const hint = nearest === undefined ? '' : ` Did you mean ${nearest}?`;
  throw new StepperError('INVALID_OPTION', `unknown config key ${JSON.stringify(name)}: the known keys are ${known}.${hint} See stepper config list --all`);
}

/**
 * Checks `value` against the type of `key` and returns it as git should store it.
 *
 * @throws InvalidOptionError naming the key, the expected form and the value
 */
export function checkConfigValue(key: ConfigKey, value: string): string {
  const trimmed = value.trim();
  const valid = key.type === 'model' ? isModelName(trimmed) : isPattern(value);
  if (!valid) {
    throw new InvalidOptionError(`value of ${key.name}`, CONFIG_TYPE_DESCRIPTIONS[key.type], value);
  }

  return key.type === 'model' ? trimmed : value;
}

function isModelName(value: string): boolean {
  return value.length > 0 && value.length <= MAX_MODEL_NAME_LENGTH && MODEL_NAME.test(value);
}

function isPattern(value: string): boolean {
  // readExcludePatterns skips blank values, and a line break would split a pattern in two.
  return value.trim().length > 0 && !/[\n\r\0]/.test(value);
}

/** Edit distance up to which an unknown key is taken for a typo of a known one. */
const MAX_TYPO_DISTANCE = 2;

/**
 * Returns the known key whose variable part, the text after `stepper.`, is within
 * MAX_TYPO_DISTANCE edits of the one in `name`. A name without the section, such as
 * `modle`, is compared as a whole.
 */
function nearestKeyName(name: string): string | undefined {
  const lowerCase = name.toLowerCase();
  const variable = lowerCase.startsWith('stepper.') ? lowerCase.slice('stepper.'.length) : lowerCase;
  let best: { name: string; distance: number } | undefined;
  for (const key of CONFIG_KEYS) {
    const distance = editDistance(variable, key.name.slice('stepper.'.length));
    if (!best || distance < best.distance) {
      best = { name: key.name, distance };
    }
  }

  return best && best.distance <= MAX_TYPO_DISTANCE ? best.name : undefined;
}

/**
 * Damerau-Levenshtein distance (optimal string alignment): the fewest insertions,
 * deletions, substitutions and swaps of two adjacent characters that turn `a` into `b`.
 */
function editDistance(a: string, b: string): number {
  const rows: number[][] = [Array.from({ length: b.length + 1 }, (_, index) => index)];
  for (let i = 1; i <= a.length; i += 1) {
    const row = [i];
    for (let j = 1; j <= b.length; j += 1) {
      const above = rows[i - 1] as number[];
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let distance = Math.min((above[j] as number) + 1, (row[j - 1] as number) + 1, (above[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        distance = Math.min(distance, ((rows[i - 2] as number[])[j - 2] as number) + 1);
      }
      row.push(distance);
    }
    rows.push(row);
  }

  return (rows[a.length] as number[])[b.length] as number;
}
