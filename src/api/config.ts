// `stepper config`: reads and writes the `stepper.*` keys of git config, checked against the
// registry in src/config/keys.ts. Every write goes through `git config`, so git's own file
// locking and quoting apply.
import { CONFIG_KEYS, type ConfigKey, type ConfigValueType, checkConfigValue, requireConfigKey } from '../config/keys.js';
import { InvalidOptionError, StepperError } from '../errors.js';
import { GitError } from '../git/errors.js';
import { type GitContext, runGit } from '../git/git.js';
import { findRepository, worktreeContext } from '../git/repository.js';
import { currentFolder } from '../git/current-folder.js';

/**
 * Scope of a value, as `git config --show-scope` names it. `local` is the repository's
 * config, `global` is ~/.gitconfig (or $XDG_CONFIG_HOME/git/config) and `system` is git's
 * system-wide file.
 */
export type ConfigScope = 'local' | 'global' | 'system' | 'worktree' | 'command' | 'unknown';

export interface ConfigEntry {
  /** Key in git's canonical lower case. */
  key: string;
  value: string;
  scope: ConfigScope;
  /** The file the value is in, such as `file:.git/config`, as `git config --show-origin` prints it. */
  origin: string;
  /** False for a `stepper.*` key that this stepper does not read, such as a misspelt one. */
  known: boolean;
}

export interface ConfigOptions {
  /** A folder of the repository. @default process.cwd() */
  cwd?: string;
  /** Read or write the user's global config only, which works outside a repository too. @default false */
  global?: boolean;
}

export interface ConfigValue {
  key: string;
  type: ConfigValueType;
  multiValued: boolean;
  defaultValue: string | null;
  description: string;
  /** Value in effect: the last one git finds for a single-valued key. Null when unset. */
  value: string | null;
  /** Every value set, in git's order (system, global, local). */
  entries: ConfigEntry[];
}

export interface SetConfigOptions extends ConfigOptions {
  /** Add one more value to a multi-valued key, not replacing the ones set. @default false */
  add?: boolean;
}

export interface SetConfigResult {
  key: string;
  /** The value as stored, which for a model name is trimmed. */
  value: string;
  scope: 'local' | 'global';
  /** Values of the key in that scope after the write. */
  values: string[];
}

export interface UnsetConfigResult {
  key: string;
  scope: 'local' | 'global';
  /** Values removed; 0 when the key was not set in that scope. */
  removed: number;
}

export interface ListConfigOptions extends ConfigOptions {
  /** Every key of the registry with its type, default and description, set or not. @default false */
  all?: boolean;
}

/** `git config` exits with 1 when a key is not set, and `--unset-all` with 5. */
const EXIT_KEY_NOT_SET = 1;
const EXIT_NOTHING_TO_UNSET = 5;

const SCOPES: readonly ConfigScope[] = ['local', 'global', 'system', 'worktree', 'command'];

/**
 * Reads one key: its registry entry, the value in effect and every value set with its scope.
 *
 * @throws StepperError with code INVALID_OPTION for a key outside the registry
 */
export async function getConfig(name: string, options: ConfigOptions = {}): Promise<ConfigValue> {
  const key = requireConfigKey(name);
  const context = await readContext(options);
  const entries = (await readEntries(context, options.global === true)).filter((entry) => entry.key === key.name);
  return describeKey(key, entries);
}

/**
 * Lists the `stepper.*` keys that are set, with their scope, or with `all` every key of the
 * registry, set or not.
 */
export async function listConfig(options: ListConfigOptions = {}): Promise<{ keys: ConfigValue[]; unknown: ConfigEntry[] }> {
  const context = await readContext(options);
  const entries = await readEntries(context, options.global === true);
  const keys = CONFIG_KEYS.map((key) => describeKey(key, entries.filter((entry) => entry.key === key.name))).filter(
    (key) => options.all === true || key.entries.length > 0,
  );
  return { keys, unknown: entries.filter((entry) => !entry.known) };
}

/**
 * Stores a value in the repository's config, or in the global one with `global`. A
 * single-valued key and, without `add`, a multi-valued one lose their other values in that scope.
 *
 * @throws StepperError (INVALID_OPTION) for an unknown key or a value its type rejects,
 *   InvalidOptionError for `add` on a single-valued key, NotARepositoryError outside a repository without `global`
 */
export async function setConfig(name: string, value: string, options: SetConfigOptions = {}): Promise<SetConfigResult> {
  const key = requireConfigKey(name);
  const stored = checkConfigValue(key, value);
  if (options.add === true && !key.multiValued) {
    throw new InvalidOptionError('--add', `a multi-valued key (${CONFIG_KEYS.filter((entry) => entry.multiValued).map((entry) => entry.name).join(', ')})`, key.name);
  }

  const { context, scope } = await writeContext(options, 'set');
  const mode = options.add === true ? '--add' : '--replace-all';
  await runGit(context, ['config', `--${scope}`, mode, key.name, stored]);

  const values = (await readEntries(context, scope === 'global')).filter((entry) => entry.key === key.name && entry.scope === scope);
  return { key: key.name, value: stored, scope, values: values.map((entry) => entry.value) };
}

/**
 * Removes every value of a key from the repository's config, or from the global one with
 * `global`. A key that is not set there is no error, and `removed` is 0.
 */
export async function unsetConfig(name: string, options: ConfigOptions = {}): Promise<UnsetConfigResult> {
  const key = requireConfigKey(name);
  const { context, scope } = await writeContext(options, 'unset');
  const before = (await readEntries(context, scope === 'global')).filter((entry) => entry.key === key.name && entry.scope === scope);

  try {
    await runGit(context, ['config', `--${scope}`, '--unset-all', key.name]);
  } catch (error) {
    if (!(error instanceof GitError && error.exitCode === EXIT_NOTHING_TO_UNSET)) {
      throw error;
    }
  }

  return { key: key.name, scope, removed: before.length };
}

function describeKey(key: ConfigKey, entries: ConfigEntry[]): ConfigValue {
  const last = entries.at(-1);
  return {
    key: key.name,
    type: key.type,
    multiValued: key.multiValued,
    defaultValue: key.defaultValue,
    description: key.description,
    value: key.multiValued || last === undefined ? null : last.value,
    entries,
  };
}

/**
 * Returns where git reads config: the repository around `cwd`, or the folder itself outside
 * one, where git reads the global and system files only.
 */
async function readContext(options: ConfigOptions): Promise<GitContext> {
  const cwd = options.cwd ?? currentFolder();
  const repo = await findRepository(cwd);
  return repo ? worktreeContext(repo) : { cwd };
}

async function writeContext(options: ConfigOptions, verb: 'set' | 'unset'): Promise<{ context: GitContext; scope: 'local' | 'global' }> {
  const cwd = options.cwd ?? currentFolder();
  if (options.global === true) {
    return { context: await readContext(options), scope: 'global' };
  }

  const repo = await findRepository(cwd);
  if (!repo) {
    throw new StepperError(
      'NOT_A_REPOSITORY',
      `${cwd} is not in a git repository: stepper config ${verb} writes the repository's config, so run it inside one, or add --global for ~/.gitconfig`,
    );
  }

  return { context: worktreeContext(repo), scope: 'local' };
}

/**
 * Reads every `stepper.*` value with its scope and file. Each record of
 * `git config --null --show-scope --show-origin --get-regexp` is `scope NUL origin NUL key LF value NUL`,
 * and a key given without `=` has no LF and no value.
 */
async function readEntries(context: GitContext, globalOnly: boolean): Promise<ConfigEntry[]> {
  const args = ['config', ...(globalOnly ? ['--global'] : []), '--null', '--show-scope', '--show-origin', '--get-regexp', '^stepper\\.'];
  let output: string;
  try {
    output = await runGit(context, args);
  } catch (error) {
    if (error instanceof GitError && error.exitCode === EXIT_KEY_NOT_SET) {
      return [];
    }

    throw error;
  }

  const fields = output.split('\0');
  const entries: ConfigEntry[] = [];
  for (let index = 0; index + 2 < fields.length; index += 3) {
    const scopeName = fields[index] as string;
    const origin = fields[index + 1] as string;
    const keyAndValue = fields[index + 2] as string;
    const newline = keyAndValue.indexOf('\n');
    const key = (newline < 0 ? keyAndValue : keyAndValue.slice(0, newline)).toLowerCase();
    const value = newline < 0 ? '' : keyAndValue.slice(newline + 1);
    const scope = SCOPES.includes(scopeName as ConfigScope) ? (scopeName as ConfigScope) : 'unknown';
    entries.push({ key, value, scope, origin, known: CONFIG_KEYS.some((entry) => entry.name === key) });
  }

  return entries;
}
