import { getConfig, listConfig, setConfig, unsetConfig } from '../../api/config.js';
import { CommandExit } from '../exit.js';
import { paintFor } from '../render/paint.js';
import { renderConfigGet, renderConfigList, renderConfigSet, renderConfigUnset } from '../render/maintenance.js';

export interface ConfigCommandOptions {
  global?: boolean;
  json?: boolean;
}

/**
 * Prints the value in effect, or every value of a multi-valued key. An unset key prints
 * nothing and exits with 1, as `git config --get` does, except with --json, which prints the object.
 */
export async function runConfigGet(key: string, options: ConfigCommandOptions): Promise<void> {
  const value = await getConfig(key, { global: options.global });
  if (options.json) {
    process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
    return;
  }

  if (value.entries.length === 0) {
    throw new CommandExit(1);
  }

  process.stdout.write(renderConfigGet(value));
}

export async function runConfigSet(key: string, value: string, options: ConfigCommandOptions & { add?: boolean }): Promise<void> {
  const result = await setConfig(key, value, { global: options.global, add: options.add });
  process.stdout.write(options.json ? `${JSON.stringify(result, null, 2)}\n` : renderConfigSet(result));
}

export async function runConfigUnset(key: string, options: ConfigCommandOptions): Promise<void> {
  const result = await unsetConfig(key, { global: options.global });
  process.stdout.write(options.json ? `${JSON.stringify(result, null, 2)}\n` : renderConfigUnset(result));
}

/** Prints the keys that are set with their scope, or with --all every key with its documentation. */
export async function runConfigList(options: ConfigCommandOptions & { all?: boolean }): Promise<void> {
  const result = await listConfig({ global: options.global, all: options.all });
  if (options.json) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return;
  }

  const paint = await paintFor(process.stdout);
  process.stdout.write(renderConfigList(result.keys, result.unknown, options.all === true, paint));
}
